//! The summary a person reads after a run: what ran, Maelstrom's figures, and what
//! failed in words they can act on, ending with the command that replays the run.

use std::fmt::Write as _;

use crate::net::NetCounts;
use crate::outcome::Outcome;
use crate::workload::Valid;

/// Prints the summary; a closed stdout (`| head`) is not an error.
pub fn print(o: &Outcome) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text(o).as_bytes());
}

fn per_op(kind: &str, k: &NetCounts) -> String {
    match k.msgs_per_op {
        Some(m) => format!("{kind} {} msgs ({m:.2}/op)", k.msg_count),
        None => format!("{kind} {} msgs", k.msg_count),
    }
}

/// The summary's text.
pub fn text(o: &Outcome) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    macro_rules! say {
        ($($t:tt)*) => {
            let _ = writeln!(out, $($t)*);
        };
    }
    say!(
        "host test -w {}: {} nodes of {}, {} clients, seed {}",
        o.about.workload,
        o.about.node_count,
        o.about.node,
        o.sim.clients,
        o.seed
    );
    let s = &o.stats;
    say!(
        "  ops      {} completed: {} ok, {} fail, {} info; {:.2}% ok",
        s["count"],
        s["ok-count"],
        s["fail-count"],
        s["info-count"],
        100.0 * o.availability.ok_fraction
    );
    say!(
        "  net      {}; {}; {}",
        per_op("all", &o.net.all),
        per_op("clients", &o.net.clients),
        per_op("servers", &o.net.servers)
    );
    for line in &o.summary {
        say!("  {line}");
    }
    if let Some(nemesis) = &o.nemesis {
        let parts = nemesis
            .iter()
            .filter(|e| e["f"] == "start-partition")
            .count();
        say!("  nemesis  {parts} partitions (shapes and grudges in the JSON)");
    }
    if o.crashes.count > 0 {
        say!(
            "  crashes  {} (the nodes restarted); first:",
            o.crashes.count
        );
        for c in o.crashes.first.iter().take(3) {
            // The cause only; the backtrace is in the JSON and the node's log.
            say!(
                "    {} at {:.3} s: {} (backtrace in {}.log)",
                c.node,
                c.time,
                c.error.lines().next().unwrap_or("").trim(),
                c.node
            );
        }
    }
    for w in &o.warnings {
        say!("  warning: {w}");
    }
    let (secs, wall) = (o.sim.seconds, o.wall.seconds);
    if !o.sim.real_time {
        say!(
            "  time     {secs:.1} s simulated in {wall:.2} s ({:.0}x real time)",
            secs / wall.max(1e-9)
        );
    } else {
        say!("  time     {wall:.1} s");
    }
    say!("  logs     {}/", o.wall.logs.display());
    match o.valid {
        Valid::True => {
            say!("VALID (seed {})", o.seed);
        }
        v => {
            let word = if v == Valid::Unknown {
                "UNKNOWN"
            } else {
                "INVALID"
            };
            say!("{word} (seed {}):", o.seed);
            for p in &o.problems {
                say!("  - {p}");
            }
        }
    }
    let report = o.wall.logs.join(crate::report::REPORT);
    if report.exists() {
        say!("report: {}", report.display());
    }
    say!("replay: {}", o.command);
    out
}
