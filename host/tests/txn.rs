//! `host test` on the transactional workloads, end to end: a node that is only
//! read-committed (challenges/txn with two nodes: each runs a txn on its own copy
//! and ships the writes afterwards, last writer wins) must be judged invalid under
//! serializable with an explained cycle, and valid under read-committed; the same
//! node alone runs txns one at a time and must be valid under every model. Needs
//! `make all fixtures` first.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A .wasm of the repository, which must have been built.
fn wasm(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    assert!(
        p.exists(),
        "{} is missing: run `make all fixtures` first",
        p.display()
    );
    p.display().to_string()
}

fn scratch() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "glomers-txn-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Outcome {
    code: i32,
    json: Value,
    stdout: String,
}

/// Runs `host test ARGS` with the store and the JSON in a scratch directory.
fn test(args: &[&str]) -> Outcome {
    let dir = scratch();
    let json = dir.join("result.json");
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .arg("test")
        .arg("--store")
        .arg(dir.join("store"))
        .arg("--json")
        .arg(&json)
        .args(args)
        .output()
        .expect("run host test");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    assert!(
        !json.is_null(),
        "no JSON result\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Outcome {
        code: out.status.code().unwrap_or(-1),
        json,
        stdout,
    }
}

/// The challenge's txn node on `nodes` nodes, as the brief's command line.
fn txn(nodes: &str, models: Option<&str>, seed: u64) -> Outcome {
    let seed = seed.to_string();
    let mut args = vec![
        "-w",
        "txn-rw-register",
        "--node-count",
        nodes,
        "--concurrency",
        "2n",
        "--time-limit",
        "20",
        "--rate",
        "1000",
        "--seed",
        &seed,
    ];
    if let Some(m) = models {
        args.extend(["--consistency-models", m]);
    }
    let wasm = wasm("challenges/txn.wasm");
    args.push(&wasm);
    test(&args)
}

fn types(o: &Outcome) -> Vec<String> {
    o.json["workload"]["anomaly-types"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn problems(o: &Outcome) -> String {
    o.json["problems"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[test]
fn a_read_committed_node_is_invalid_under_serializable_with_the_cycle_explained() {
    for seed in [1, 2] {
        let o = txn("2", Some("serializable"), seed);
        assert_eq!(
            (o.code, &o.json["valid"]),
            (1, &Value::Bool(false)),
            "{}",
            o.stdout
        );
        let t = types(&o);
        assert!(
            t.iter().any(|a| a == "G2-item" || a == "G-single-item"),
            "{t:?}"
        );
        assert!(t.iter().all(|a| !a.ends_with("-realtime")), "{t:?}");
        let why = problems(&o);
        // The cycle names its transactions and, for each edge, the key, the values
        // and the kind of dependency.
        assert!(
            why.contains("a cycle of")
                && why.contains("(rw)")
                && why.contains("T1 = txn [")
                && why.contains("read key"),
            "{why}"
        );
        let o = txn("2", Some("read-committed"), seed);
        assert_eq!(
            (o.code, &o.json["valid"]),
            (0, &Value::Bool(true)),
            "{}",
            o.stdout
        );
    }
}

#[test]
fn one_node_running_txns_one_at_a_time_is_strict_serializable() {
    for (models, seed) in [
        (Some("strict-serializable"), 1),
        (Some("serializable"), 2),
        (None, 3),
    ] {
        let o = txn("1", models, seed);
        assert_eq!(
            (o.code, &o.json["valid"]),
            (0, &Value::Bool(true)),
            "{models:?}:\n{}",
            o.stdout
        );
        let deps = &o.json["workload"]["dependencies"];
        assert!(deps["rw"].as_u64() > Some(1000), "{deps}");
    }
    // Maelstrom's default model is strict-serializable, with real-time edges.
    let o = txn("1", None, 3);
    assert_eq!(
        o.json["workload"]["consistency-models"],
        serde_json::json!(["strict-serializable"])
    );
    assert!(o.json["workload"]["dependencies"]["realtime"].as_u64() > Some(1000));
}

/// The list-append fixture (one node, txns applied whole one at a time).
fn list_append(seed: u64, guest: &[&str]) -> Outcome {
    let seed = seed.to_string();
    let wasm = wasm("target/wasm32-wasip2/guest/list_append.wasm");
    let mut args = vec![
        "-w",
        "txn-list-append",
        "--node-count",
        "1",
        "--concurrency",
        "2n",
        "--time-limit",
        "10",
        "--rate",
        "1000",
        "--seed",
        &seed,
        &wasm,
    ];
    if !guest.is_empty() {
        args.push("--");
        args.extend(guest);
    }
    test(&args)
}

#[test]
fn a_correct_list_append_node_is_strict_serializable_and_a_lossy_one_is_not() {
    let o = list_append(1, &[]);
    assert_eq!(
        (o.code, &o.json["valid"]),
        (0, &Value::Bool(true)),
        "{}",
        o.stdout
    );
    assert_eq!(
        o.json["workload"]["consistency-models"],
        serde_json::json!(["strict-serializable"])
    );
    let deps = &o.json["workload"]["dependencies"];
    for kind in ["wr", "ww", "rw", "realtime"] {
        assert!(deps[kind].as_u64() > Some(1000), "{deps}");
    }
    // Every 10th append acknowledged and dropped: later txns read lists without
    // it, so some txn must both precede and follow another.
    let o = list_append(1, &["--lose", "10"]);
    assert_eq!(
        (o.code, &o.json["valid"]),
        (1, &Value::Bool(false)),
        "{}",
        o.stdout
    );
    let t = types(&o);
    assert!(t.iter().any(|a| a.starts_with("G")), "{t:?}");
    assert!(problems(&o).contains("which T"), "{}", problems(&o));
}
