//! `host check` as a user runs it: a history file or a run's directory in, the
//! verdict on stdout, results.json and report.html beside the history, and the exit
//! status 0 valid, 1 invalid or unknown, 2 error. Needs no wasm.

mod common;

use common::{host, scratch};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn check(args: &[&str]) -> Output {
    Command::new(host())
        .arg("check")
        .args(args)
        .output()
        .expect("run host check")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const LOST: &str = r#"{:type :invoke, :f :broadcast, :value 1, :process 0, :time 10, :index 0}
{:type :ok, :f :broadcast, :value 1, :process 0, :time 20, :index 1}
{:type :invoke, :f :broadcast, :value 2, :process 1, :time 30, :index 2}
{:type :ok, :f :broadcast, :value 2, :process 1, :time 40, :index 3}
{:type :invoke, :f :read, :value nil, :process 0, :time 5000000000, :index 4, :final? true}
{:type :ok, :f :read, :value [1], :process 0, :time 5000000100, :index 5, :final? true}
"#;

#[test]
fn a_maelstrom_store_directory_is_checked_and_reported_beside_it() {
    let root = scratch("check-store");
    let run = root.join("store/broadcast/20240101T000000.000Z");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("history.edn"), LOST).unwrap();
    let o = check(&[run.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("host check -w broadcast"), "{out}");
    assert!(out.contains("INVALID"), "{out}");
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["valid"], false);
    assert_eq!(results["workload"]["valid"], false);
    let first = results["problems"][0].as_str().unwrap();
    assert!(out.contains(first), "the first problem is printed: {out}");
    assert!(Path::new(&run.join("report.html")).is_file());

    // Healed: the final read has both values.
    std::fs::write(run.join("history.edn"), LOST.replace("[1]", "#{1 2}")).unwrap();
    let store = root.join("out");
    let o = check(&[
        "--store",
        store.to_str().unwrap(),
        run.join("history.edn").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(store.join("results.json").is_file() && store.join("report.html").is_file());
}

#[test]
fn lin_kv_unknown_names_its_budget_and_exits_1() {
    let dir = scratch("check-budget");
    // Many concurrent writes and reads on one register: a budget of 1 step gives up.
    let mut h = String::new();
    for p in 0..6 {
        h.push_str(&format!(
            "{{:type :invoke, :f :write, :value {p}, :process {p}, :time {p}}}\n"
        ));
    }
    for p in 0..6 {
        h.push_str(&format!(
            "{{:type :ok, :f :write, :value {p}, :process {p}, :time {}}}\n",
            100 + p
        ));
    }
    let path = dir.join("history.edn");
    std::fs::write(&path, h).unwrap();
    let p = path.to_str().unwrap();
    let o = check(&["-w", "lin-kv", "--lin-kv-budget", "1", p]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("UNKNOWN") && out.contains("--lin-kv-budget"),
        "{out}"
    );
    // With the default budget the writes linearize in any order.
    let o = check(&["-w", "lin-kv", p]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn our_own_history_round_trips_through_host_check() {
    let dir = scratch("check-jsonl");
    let run = dir.join("store/g-counter/20261206T000000-seed1");
    std::fs::create_dir_all(&run).unwrap();
    let lines = [
        r#"{"index":0,"type":"invoke","process":0,"node":"n0","f":"add","value":2,"time":0.001,"error":null,"final":false,"invoke":null}"#,
        r#"{"index":1,"type":"ok","process":0,"node":"n0","f":"add","value":2,"time":0.002,"error":null,"final":false,"invoke":0}"#,
        r#"{"index":2,"type":"invoke","process":1,"node":"n1","f":"read","value":null,"time":1.0,"error":null,"final":true,"invoke":null}"#,
        r#"{"index":3,"type":"ok","process":1,"node":"n1","f":"read","value":2,"time":1.001,"error":null,"final":true,"invoke":2}"#,
    ];
    std::fs::write(run.join("history.jsonl"), lines.join("\n") + "\n").unwrap();
    let o = check(&[run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    std::fs::write(
        run.join("history.jsonl"),
        lines
            .join("\n")
            .replace(r#""value":2,"time":1.001"#, r#""value":3,"time":1.001"#),
    )
    .unwrap();
    let o = check(&[run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("n1"),
        "the problem names the node: {}",
        text(&o)
    );
}

#[test]
fn errors_exit_2() {
    let dir = scratch("check-errors");
    let o = check(&[dir.join("missing.edn").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let bad = dir.join("bad.edn");
    std::fs::write(&bad, "{:type :invoke, :f :read").unwrap();
    let o = check(&["-w", "lin-kv", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("operation 1"), "{}", text(&o));
    let o = check(&[dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("no history.jsonl or history.edn"),
        "{}",
        text(&o)
    );
}
