//! The report as a person sees it: headless Chromium opens `report.html` of real
//! runs with `#selftest`, and the page writes what it drew into the DOM; this checks
//! that against the files the run left (`messages.jsonl`, `history.jsonl`, the
//! JSON result): no script errors, one arrow per message in the diagram's window,
//! a point per operation, a bar per fault, and hovering an arrow shows that
//! message's body. A screenshot of each report is left in its run's directory for a
//! person to look at. Needs `make all fixtures` and Chromium (`make browser`, which
//! `make test` runs, installs Debian's); without it, it fails saying so.

mod common;

use common::{fixture, host, scratch, wasm};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whether a message, in the air from `sent` to `arrived`, shows in the window
/// `[a, b]`: some of its flight is inside it (the rule the page draws by).
fn in_window(sent: u64, arrived: u64, a: u64, b: u64) -> bool {
    sent <= b && arrived >= a
}

/// The browser: Chromium on the PATH. A test installs nothing: `make browser` does.
fn chromium() -> PathBuf {
    let find = || {
        ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .find_map(|name| {
                std::env::var_os("PATH").and_then(|paths| {
                    std::env::split_paths(&paths)
                        .map(|d| d.join(name))
                        .find(|p| p.is_file())
                })
            })
    };
    find().unwrap_or_else(|| {
        panic!(
            "the browser test needs Chromium (chromium, chromium-browser or google-chrome on \
             the PATH) and found none: run `make browser` (Debian's chromium package)"
        )
    })
}

/// Runs Chromium headless on `url` with `extra` arguments; its stdout.
fn browse(url: &str, extra: &[String]) -> String {
    let profile = scratch("report-profile");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish with {url} within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(&profile);
    reader.join().unwrap()
}

/// What the page says it drew, from its `#selftest` element.
fn selftest(report: &Path) -> Value {
    let dom = browse(
        &format!("file://{}#selftest", report.display()),
        &["--dump-dom".into()],
    );
    let start = dom
        .find("<pre id=\"selftest\"")
        .and_then(|i| dom[i..].find('>').map(|j| i + j + 1))
        .unwrap_or_else(|| {
            panic!(
                "no #selftest element in the page:\n{}",
                &dom[..dom.len().min(2000)]
            )
        });
    let end = start + dom[start..].find("</pre>").expect("end of #selftest");
    let text = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("#selftest is not JSON ({e}): {text}"))
}

/// Leaves a screenshot of the report beside it.
fn screenshot(report: &Path) -> PathBuf {
    let png = report.with_file_name("report.png");
    browse(
        &format!("file://{}", report.display()),
        &[format!("--screenshot={}", png.display())],
    );
    let bytes =
        std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png.display()));
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "a blank screenshot?"
    );
    png
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Seconds in the files to the page's whole microseconds.
fn us(secs: &Value) -> u64 {
    (secs.as_f64().unwrap() * 1e9).round() as u64 / 1000
}

/// A run of `host test ARGS` in a fresh store: its directory and JSON result.
fn run(args: &[&str]) -> (PathBuf, Value) {
    let o = common::test("report-run", args);
    // The report's directory stays: its screenshot is for a person to look at.
    let (dir, stdout, result) = (o.dir.clone(), o.stdout.clone(), o.json.clone());
    std::mem::forget(o);
    let run_dir = PathBuf::from(result["wall"]["logs"].as_str().unwrap());
    // The run's directory holds the whole result, as --json writes it.
    let kept: Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("results.json")).unwrap())
            .unwrap();
    assert_eq!(kept, result);
    let report = run_dir.join("report.html");
    assert!(
        stdout.contains(&format!("report: {}", report.display())),
        "the summary names the report beside the replay command:\n{stdout}"
    );
    let index =
        std::fs::read_to_string(dir.join("store").join("index.html")).expect("store/index.html");
    let rel = run_dir.strip_prefix(dir.join("store")).unwrap();
    assert!(
        index.contains(&format!("{}/report.html", rel.display())),
        "the index links the run"
    );
    (run_dir, result)
}

/// Checks what the page drew against the run's files; returns the self-test.
fn check_report(run_dir: &Path, result: &Value) -> Value {
    let report = run_dir.join("report.html");
    let t = selftest(&report);
    assert_eq!(t["errors"], serde_json::json!([]), "script errors: {t}");

    // One arrow per message whose flight overlaps the window, counted from the journal.
    let msgs = lines(&run_dir.join("messages.jsonl"));
    assert_eq!(t["messages"], msgs.len());
    let (a, b) = (
        t["window"][0].as_u64().unwrap(),
        t["window"][1].as_u64().unwrap(),
    );
    let in_win = msgs
        .iter()
        .filter(|m| {
            let arrived = if m["recv"].is_null() {
                u64::MAX
            } else {
                us(&m["recv"])
            };
            in_window(us(&m["send"]), arrived, a, b)
        })
        .count();
    assert!(in_win > 0, "an empty first window: {t}");
    assert_eq!(
        t["arrows"], in_win,
        "arrows drawn vs messages in [{a}, {b}] µs"
    );

    // A point per completed operation, a bar per fault.
    let history = lines(&run_dir.join("history.jsonl"));
    let completed = history.iter().filter(|e| e["type"] != "invoke").count();
    assert!(completed > 0);
    assert_eq!(t["points"], completed);
    let starts = result["nemesis"].as_array().map_or(0, |n| {
        n.iter().filter(|e| e["f"] == "start-partition").count()
    });
    assert_eq!(t["faults"], starts);

    // Hovering the first arrow shows that message's body.
    let i = t["hoverIndex"].as_u64().expect("hovering found an arrow") as usize;
    let shown: Value = serde_json::from_str(t["hoverBody"].as_str().unwrap()).unwrap();
    assert_eq!(shown, msgs[i]["body"], "the hovered body is the message's");
    let hover = t["hover"].as_str().unwrap();
    let kind = msgs[i]["body"]["type"].as_str().unwrap_or("?");
    let route = format!(
        "{} → {}",
        msgs[i]["src"].as_str().unwrap(),
        msgs[i]["dest"].as_str().unwrap()
    );
    assert!(
        hover.contains(kind) && hover.contains(&route),
        "{route} {kind}: {t}"
    );
    t
}

#[test]
fn a_partitioned_broadcast_losing_values_is_drawn_whole() {
    // Forgets every value v % 4 == 3 under partitions: invalid, with faults and drops.
    let (dir, result) = run(&[
        "-w",
        "broadcast",
        "--node-count",
        "5",
        "--time-limit",
        "10",
        "--rate",
        "20",
        "--latency",
        "50",
        "--nemesis",
        "partition",
        "--nemesis-interval",
        "2",
        "--seed",
        "3",
        &fixture("broadcast_flood"),
        "--",
        "--forget",
        "4",
    ]);
    assert_eq!(result["valid"], false);
    let t = check_report(&dir, &result);
    assert!(t["faults"].as_u64().unwrap() > 0, "{t}");
    let msgs = lines(&dir.join("messages.jsonl"));
    assert!(
        msgs.iter().any(|m| m["fate"] == "dropped"),
        "partitions drop messages"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    // Each reason's moments are links into the pictures.
    assert!(
        html.contains("class=\"moment\""),
        "reasons link their moments"
    );
    assert!(html.contains("INVALID"));
    // Following the first reason's first moment (value 3 broadcast to n1 at 0.514 s)
    // marks it, brings it into the window, and lights the messages carrying the value.
    let m = &t["moment"];
    let at = m["t"].as_u64().expect("a moment to follow");
    assert_eq!(m["marker"], at);
    assert!(
        m["window"][0].as_u64().unwrap() <= at && at <= m["window"][1].as_u64().unwrap(),
        "{m}"
    );
    assert!(
        m["lit"].as_u64().unwrap() > 0,
        "no message carries the lost value: {m}"
    );
    let png = screenshot(&dir.join("report.html"));
    eprintln!("screenshot: {}", png.display());
}

#[test]
fn a_25_node_broadcast_report_opens_in_under_two_seconds_and_stays_small() {
    let (dir, result) = run(&[
        "-w",
        "broadcast",
        "--node-count",
        "25",
        "--time-limit",
        "20",
        "--rate",
        "100",
        "--latency",
        "100",
        "--seed",
        "1",
        &wasm("challenges/broadcast.wasm"),
    ]);
    let t = check_report(&dir, &result);
    let render = t["renderMs"].as_f64().unwrap();
    assert!(render < 2000.0, "rendered in {render:.0} ms");
    let size = std::fs::metadata(dir.join("report.html")).unwrap().len();
    assert!(size < 5_000_000, "report.html is {size} bytes");
    screenshot(&dir.join("report.html"));
}

#[test]
fn bin_runs_get_a_report_too() {
    let (dir, result) = run(&[
        "-w",
        "echo",
        "--bin",
        host(),
        "--node-count",
        "2",
        "--time-limit",
        "2",
        "run",
        &wasm("challenges/echo.wasm"),
    ]);
    assert_eq!(result["sim"]["real-time"], true);
    check_report(&dir, &result);
}
