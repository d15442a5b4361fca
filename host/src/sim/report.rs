//! The result of a run: the JSON document (Maelstrom's figures under Maelstrom's
//! names, plus the seed and the command that replays the run) and the summary a
//! person reads, which says what failed in words they can act on.

use serde_json::{json, Map, Value};
use std::path::Path;
use std::time::Duration;

use super::client::{History, Kind};
use super::config::{Availability, Config, Target};
use super::workload::Valid;
use super::Outcome;

/// The whole result. Everything but `wall` depends only on the options and the seed
/// (for in-process nodes).
pub fn result(cfg: &Config, o: &Outcome, wall: Duration, store: &Path) -> Value {
    let invokes = o.history.invocations().count() as u64;
    let oks = o
        .history
        .completions()
        .filter(|c| c.kind == Kind::Ok)
        .count() as u64;
    let ok_fraction = if invokes == 0 {
        1.0
    } else {
        oks as f64 / invokes as f64
    };
    let availability_valid = match cfg.availability {
        None => true,
        Some(Availability::Total) => oks == invokes,
        Some(Availability::Fraction(f)) => ok_fraction >= f,
    };
    let mut problems: Vec<String> = o.failures.clone();
    problems.extend(o.verdict.problems.iter().cloned());
    if !availability_valid {
        problems.push(format!(
            "availability: only {oks} of {invokes} requests succeeded ({:.2}%), below the required {}",
            100.0 * ok_fraction,
            match cfg.availability {
                Some(Availability::Fraction(f)) => format!("{:.2}%", 100.0 * f),
                _ => "100% (total)".into(),
            }
        ));
    }
    if !o.stats_valid {
        if let Some(by_f) = o.stats["by-f"].as_object() {
            for (f, s) in by_f {
                if s["ok-count"] == json!(0) {
                    problems.push(format!("no {f} request ever succeeded"));
                }
            }
        }
    }
    let valid = o
        .verdict
        .valid
        .merge(Valid::from_bool(availability_valid))
        .merge(Valid::from_bool(o.stats_valid))
        .merge(Valid::from_bool(o.failures.is_empty()));

    let mut workload = Map::new();
    workload.insert("valid".into(), o.verdict.valid.json());
    workload.extend(o.verdict.result.clone());

    let mut r = Map::new();
    r.insert("valid".into(), valid.json());
    r.insert("seed".into(), json!(cfg.seed));
    r.insert("command".into(), json!(cfg.command));
    r.insert("workload".into(), Value::Object(workload));
    r.insert("net".into(), o.net.clone());
    r.insert(
        "availability".into(),
        json!({"valid": availability_valid, "ok-fraction": ok_fraction}),
    );
    r.insert("stats".into(), o.stats.clone());
    if cfg.partitions {
        r.insert("nemesis".into(), json!(o.nemesis));
    }
    r.insert(
        "crashes".into(),
        json!({"count": o.crash_count, "first": o.crashes}),
    );
    r.insert("problems".into(), json!(problems));
    r.insert("warnings".into(), json!(o.warnings));
    r.insert(
        "sim".into(),
        json!({
            "nodes": cfg.nodes.len(),
            "clients": cfg.concurrency,
            "seconds": o.end_ns as f64 / 1e9,
            "events": o.events,
            "real-time": cfg.wall_clock(),
        }),
    );
    r.insert(
        "wall".into(),
        json!({"seconds": wall.as_secs_f64(), "logs": store.display().to_string()}),
    );
    Value::Object(r)
}

fn per_op(net: &Value, kind: &str) -> String {
    let k = &net[kind];
    match k["msgs-per-op"].as_f64() {
        Some(m) => format!("{kind} {} msgs ({m:.2}/op)", k["msg-count"]),
        None => format!("{kind} {} msgs", k["msg-count"]),
    }
}

/// Prints the summary; a closed stdout (`| head`) is not an error.
pub fn print_summary(cfg: &Config, o: &Outcome, r: &Value, store: &Path) {
    use std::io::Write;
    let text = summary(cfg, o, r, store);
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn summary(cfg: &Config, o: &Outcome, r: &Value, store: &Path) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    // Writing to a String cannot fail.
    macro_rules! say {
        ($($t:tt)*) => {
            let _ = writeln!(out, $($t)*);
        };
    }
    let node = match &cfg.target {
        Target::Wasm { path, .. } => path.display().to_string(),
        Target::Bin { program, .. } => format!("--bin {}", program.display()),
    };
    say!(
        "host test -w {}: {} nodes of {node}, {} clients, seed {}",
        cfg.workload,
        cfg.nodes.len(),
        cfg.concurrency,
        cfg.seed
    );
    let s = &r["stats"];
    say!(
        "  ops      {} completed: {} ok, {} fail, {} info; {:.2}% ok",
        s["count"],
        s["ok-count"],
        s["fail-count"],
        s["info-count"],
        100.0 * r["availability"]["ok-fraction"].as_f64().unwrap_or(0.0)
    );
    say!(
        "  net      {}; {}; {}",
        per_op(&r["net"], "all"),
        per_op(&r["net"], "clients"),
        per_op(&r["net"], "servers")
    );
    for line in &o.verdict.summary {
        say!("  {line}");
    }
    if cfg.partitions {
        let parts = o
            .nemesis
            .iter()
            .filter(|e| e["f"] == "start-partition")
            .count();
        say!("  nemesis  {parts} partitions (shapes and grudges in the JSON)");
    }
    if o.crash_count > 0 {
        say!("  crashes  {} (the nodes restarted); first:", o.crash_count);
        for c in o.crashes.iter().take(3) {
            // The cause only; the backtrace is in the JSON and the node's log.
            let node = c["node"].as_str().unwrap_or("?");
            let error = c["error"].as_str().unwrap_or("");
            say!(
                "    {node} at {:.3} s: {} (backtrace in {node}.log)",
                c["time"].as_f64().unwrap_or(0.0),
                error.lines().next().unwrap_or("").trim()
            );
        }
    }
    for w in &o.warnings {
        say!("  warning: {w}");
    }
    let secs = r["sim"]["seconds"].as_f64().unwrap_or(0.0);
    let wall = r["wall"]["seconds"].as_f64().unwrap_or(0.0);
    if !cfg.wall_clock() {
        say!(
            "  time     {secs:.1} s simulated in {wall:.2} s ({:.0}x real time)",
            secs / wall.max(1e-9)
        );
    } else {
        say!("  time     {wall:.1} s");
    }
    say!("  logs     {}/", store.display());
    match &r["valid"] {
        Value::Bool(true) => {
            say!("VALID (seed {})", cfg.seed);
        }
        v => {
            let word = if v == &json!("unknown") {
                "UNKNOWN"
            } else {
                "INVALID"
            };
            say!("{word} (seed {}):", cfg.seed);
            for p in r["problems"].as_array().into_iter().flatten() {
                say!("  - {}", p.as_str().unwrap_or(""));
            }
        }
    }
    say!("replay: {}", cfg.command);
    out
}

/// The client history, one operation per line, next to the node logs.
pub fn write_history(h: &History, nodes: &[String], path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let file = std::fs::File::create(path)?;
    let mut w = std::io::BufWriter::new(file);
    for e in &h.entries {
        let line = json!({
            "index": e.index,
            "type": e.kind.name(),
            "process": e.process,
            "node": nodes.get(e.node),
            "f": e.f,
            "value": e.value,
            "time": e.time as f64 / 1e9,
            "error": e.error,
            "final": e.is_final,
        });
        writeln!(w, "{line}")?;
    }
    w.flush()?;
    Ok(())
}
