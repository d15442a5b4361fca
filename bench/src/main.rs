//! `make bench`: the figures the project's bars are about, measured side by side in
//! one run and printed as a table, each bar with PASS or FAIL. These are measurements,
//! not tests: a FAIL is a figure to investigate, and the exit status only says whether
//! every measurement could be taken.
//!
//! `bench native-echo` and `bench native-echo-tuned` are the native echo nodes the
//! throughput is compared with (a plain one, and a hand-tuned one built with LTO); the
//! bench starts them by running its own executable, so they are always built and
//! current.

mod checkers;
mod frontier;
mod harness;
mod languages;
mod memory;
mod native_echo;
mod native_echo_tuned;
mod nodes;
mod report;
mod startup;
mod swap;
mod throughput;

use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use nodes::Node;

/// Echo requests piped through each node per run.
const MESSAGES: u64 = 200_000;
/// Runs per throughput figure and per warm start-up figure.
const RUNS: usize = 5;
/// Nodes in the start-up measurement: challenge 3d's cluster.
const CLUSTER: usize = 25;

fn main() -> ExitCode {
    let native: Option<fn() -> Result<()>> = match std::env::args().nth(1).as_deref() {
        Some("native-echo") => Some(native_echo::main),
        Some("native-echo-tuned") => Some(native_echo_tuned::main),
        _ => None,
    };
    if let Some(main) = native {
        return match main() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("native-echo: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let mut table = Table::default();
    table.header();
    let all: [fn(&mut Table) -> Result<()>; 8] = [
        efficiency,
        echo_throughput,
        startup,
        rss,
        live_swap,
        harness,
        checker_speed,
        languages,
    ];
    // `bench swap`, `bench echo`, `bench efficiency`, `bench languages`: one section alone.
    let sections: &[fn(&mut Table) -> Result<()>] = match std::env::args().nth(1).as_deref() {
        Some("swap") => &[live_swap],
        Some("echo") => &[echo_throughput],
        Some("efficiency") => &[efficiency],
        Some("languages") => &[languages],
        _ => &all,
    };
    for section in sections {
        if let Err(e) = section(&mut table) {
            table.error(&e);
        }
    }
    if table.errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn echo_throughput(t: &mut Table) -> Result<()> {
    t.section(&format!(
        "echo throughput: {} messages piped in, best of {RUNS}",
        group(MESSAGES)
    ));
    let echo = nodes::challenge("echo")
        .ok_or_else(|| anyhow::anyhow!("challenges/echo.wasm is missing: run `make all`"))?;
    let cache = nodes::Scratch::new("throughput")?;
    let input: Arc<[u8]> = throughput::echo_requests(MESSAGES).into();
    let me = std::env::current_exe()?;
    let (mut native, mut tuned, mut wasm) = (0f64, 0f64, 0f64);
    // Alternating, so a noisy moment on the machine hurts all alike.
    for _ in 0..RUNS {
        let node = Node::start(&me, &["native-echo"], None)?;
        native = native.max(throughput::run(node, input.clone(), MESSAGES)?);
        let node = Node::start(&me, &["native-echo-tuned"], None)?;
        tuned = tuned.max(throughput::run(node, input.clone(), MESSAGES)?);
        let node = Node::host_run(&echo, &cache)?;
        wasm = wasm.max(throughput::run(node, input.clone(), MESSAGES)?);
    }
    let rate = |r: f64| format!("{} msg/s", group(r as u64));
    t.row(
        "native Rust echo node (serde_json Value)",
        &rate(native),
        None,
    );
    t.row("native, hand-tuned (RawValue, LTO)", &rate(tuned), None);
    t.row("host run challenges/echo.wasm", &rate(wasm), None);
    let ratio = wasm / native * 100.0;
    t.row("wasm / native", &format!("{ratio:.1} %"), None);
    let ratio = wasm / tuned * 100.0;
    t.row(
        "wasm / hand-tuned native",
        &format!("{ratio:.1} %"),
        Some((">= 50 %", ratio >= 50.0)),
    );
    Ok(())
}

/// Servers msgs/op of the graded 3d, 3e and 5c settings against our bars and the best
/// published figures.
fn efficiency(t: &mut Table) -> Result<()> {
    t.section("efficiency: host test, graded settings (challenges.toml), seed 1: servers msgs/op @ stable latency median/max ms");
    let scratch = nodes::Scratch::new("efficiency")?;
    for case in frontier::CASES {
        let Some(f) = frontier::run(case, &scratch)? else {
            t.note(&format!(
                "{}: not available (its component is not built)",
                case.grade
            ));
            continue;
        };
        let figure = match f.latency {
            Some((p50, max)) => format!("{:.2} @ {p50:.0}/{max:.0}", f.msgs_per_op),
            None => format!("{:.2}", f.msgs_per_op),
        };
        let bar = f.bars.map(|(per_op, median, max)| {
            let lat = match (median, max) {
                (Some(m), Some(x)) => format!(" @ <{m:.0}/<{x:.0}"),
                _ => String::new(),
            };
            let met = f.valid
                && f.msgs_per_op <= per_op
                && f.latency.is_none_or(|(p50, worst)| {
                    median.is_none_or(|m| p50 < m) && max.is_none_or(|x| worst < x)
                });
            (format!("<= {per_op}{lat}"), met)
        });
        let label = if f.valid {
            case.grade.to_string()
        } else {
            format!("{} (INVALID)", case.grade)
        };
        t.row(&label, &figure, bar.as_ref().map(|(b, m)| (b.as_str(), *m)));
        t.note(&format!(
            "    published best {}; guest args: {}",
            case.published,
            if f.args.is_empty() { "none" } else { &f.args }
        ));
    }
    Ok(())
}

/// The component the cluster figures use: broadcast once it exists.
fn cluster_wasm() -> Result<(PathBuf, &'static str)> {
    if let Some(p) = nodes::challenge("broadcast") {
        return Ok((p, "broadcast.wasm"));
    }
    match nodes::challenge("echo") {
        Some(p) => Ok((p, "echo.wasm (no broadcast.wasm yet)")),
        None => anyhow::bail!("challenges/echo.wasm is missing: run `make all`"),
    }
}

fn startup(t: &mut Table) -> Result<()> {
    let (wasm, name) = cluster_wasm()?;
    t.section(&format!(
        "start-up: {CLUSTER} x host run {name} started together, until every init_ok"
    ));
    let cache = nodes::Scratch::new("startup")?;
    let cold = startup::cluster(&wasm, CLUSTER, &cache)?;
    t.row("first run ever (empty cache)", &millis(cold), None);
    let mut warm = (0..RUNS)
        .map(|_| startup::cluster(&wasm, CLUSTER, &cache))
        .collect::<Result<Vec<_>>>()?;
    warm.sort();
    let median = warm[warm.len() / 2];
    t.row(
        &format!("warm (median of {RUNS}; best {})", millis(warm[0])),
        &millis(median),
        Some(("< 100 ms", median < Duration::from_millis(100))),
    );
    Ok(())
}

fn rss(t: &mut Table) -> Result<()> {
    let (wasm, name) = cluster_wasm()?;
    t.section(&format!("memory: one idle host run {name} after init"));
    let cache = nodes::Scratch::new("rss")?;
    // Warm the cache first: an idle node in production did not just compile.
    memory::idle_rss(&wasm, &cache)?;
    let bytes = memory::idle_rss(&wasm, &cache)?;
    let mb = bytes as f64 / 1e6;
    t.row(
        "VmRSS",
        &format!("{mb:.1} MB"),
        Some(("< 15 MB", mb < 15.0)),
    );
    Ok(())
}

fn live_swap(t: &mut Table) -> Result<()> {
    let Some(wasm) = nodes::challenge("broadcast") else {
        t.note("live swap: not measured (challenges/broadcast.wasm is not built yet)");
        return Ok(());
    };
    t.section("live swap: host run broadcast.wasm answering a read every ms, its file replaced");
    let dir = nodes::Scratch::new("swap")?;
    for (warm, name) in [(true, "warm"), (false, "cold")] {
        let f = swap::measure(&wasm, &dir, warm)?;
        t.row(
            &format!("{name} cache: the switch (host's figure)"),
            &millis(f.pause),
            None,
        );
        t.row(
            &format!(
                "{name}: longest request wait (before {})",
                millis(f.baseline_wait)
            ),
            &millis(f.worst_wait),
            None,
        );
        t.row(
            &format!("{name}: file replaced -> new version serves"),
            &millis(f.to_new_version),
            None,
        );
    }
    Ok(())
}

/// The same node in every guest language, side by side.
fn languages(t: &mut Table) -> Result<()> {
    t.section(&format!(
        "languages: echo.wasm (size, first compile into an empty cache, {CLUSTER} started warm, \
         idle RSS, echo through host run) and broadcast.wasm (25-node 3d, seed 1) in each"
    ));
    let (figures, missing) = languages::measure(CLUSTER)?;
    for line in languages::lines(&figures) {
        t.note(&line);
    }
    for m in missing {
        t.note(&m);
    }
    Ok(())
}

/// Checker speed on big histories: a few seconds each is the bar.
fn checker_speed(t: &mut Table) -> Result<()> {
    t.section("checker speed: host test on a correct fixture, seed 1, timed whole (simulation + check + report)");
    let scratch = nodes::Scratch::new("checkers")?;
    for case in checkers::CASES {
        match checkers::run(case, &scratch)? {
            None => t.note(&format!(
                "{}: not available (run `make fixtures` first)",
                case.name
            )),
            Some(r) => {
                let secs = r.wall.as_secs_f64();
                t.row(
                    &match r.valid.as_str() {
                        "valid" => format!("{} ({} ops)", case.name, group(r.ops)),
                        v => format!("{} ({} ops, {v})", case.name, group(r.ops)),
                    },
                    &format!("{secs:.1} s"),
                    Some(("< 10 s", secs < 10.0 && r.valid == "valid")),
                );
            }
        }
    }
    Ok(())
}

fn harness(t: &mut Table) -> Result<()> {
    t.section("harness: host test -w broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100 --seed 1");
    let Some(wasm) = nodes::challenge("broadcast") else {
        t.note("harness: not available (challenges/broadcast.wasm is not built yet)");
        return Ok(());
    };
    let cache = nodes::Scratch::new("harness")?;
    let outcome = harness::broadcast_3d(&wasm, &cache)?;
    match outcome {
        harness::Outcome::Ran {
            simulated_secs,
            wall,
            valid,
        } => {
            let speed = simulated_secs / wall.as_secs_f64();
            let verdict = if valid { "valid" } else { "INVALID" };
            t.row(
                &format!(
                    "{simulated_secs:.1} simulated s in {:.2} wall s ({verdict})",
                    wall.as_secs_f64()
                ),
                &format!("{speed:.0} x real time"),
                None,
            );
        }
        harness::Outcome::NotAvailable(why) => {
            t.note(&format!("harness: not available ({why})"));
            return Ok(());
        }
    }
    let r = report::measure(&cache.join("store"))?;
    t.section(&format!(
        "report.html of that run ({} messages)",
        group(r.messages as u64)
    ));
    let mb = r.bytes as f64 / 1e6;
    t.row("size", &format!("{mb:.2} MB"), Some(("< 5 MB", mb < 5.0)));
    t.row(
        "written by the harness",
        &format!("{:.0} ms", r.written_ms),
        None,
    );
    match r.render_ms {
        Some(ms) => t.row(
            "drawn by headless Chromium",
            &format!("{ms:.0} ms"),
            Some(("< 2000 ms", ms < 2000.0)),
        ),
        None => t.note("drawn: not measured (no chromium on the PATH; apt-get install chromium)"),
    }
    Ok(())
}

/// The printed table; rows appear as they are measured.
#[derive(Default)]
struct Table {
    errors: usize,
}

const LABEL: usize = 48;
const FIGURE: usize = 18;

impl Table {
    fn header(&self) {
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!("glomers bench ({cpus} CPUs)");
        println!("{:<LABEL$} {:>FIGURE$}  {:<9} result", "", "figure", "bar");
    }
    fn section(&self, title: &str) {
        println!("\n{title}");
    }
    fn row(&self, label: &str, figure: &str, bar: Option<(&str, bool)>) {
        let (bar, verdict) = match bar {
            Some((bar, true)) => (bar, "PASS"),
            Some((bar, false)) => (bar, "FAIL"),
            None => ("", ""),
        };
        println!(
            "  {label:<w$} {figure:>FIGURE$}  {bar:<9} {verdict}",
            w = LABEL - 2
        );
    }
    fn note(&self, text: &str) {
        println!("  {text}");
    }
    fn error(&mut self, e: &anyhow::Error) {
        self.errors += 1;
        println!("  error: {e:#}");
    }
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// 1234567 -> "1,234,567".
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
