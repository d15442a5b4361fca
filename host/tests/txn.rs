//! `host test` on the transactional workloads, end to end: a node that is only
//! read-committed (challenges/txn with two nodes: each runs a txn on its own copy
//! and ships the writes afterwards, last writer wins) must be judged invalid under
//! serializable with an explained cycle, and valid under read-committed; the same
//! node alone runs txns one at a time and must be valid under every model. Needs
//! `make all fixtures` first.

mod common;

use common::{fixture, wasm, Outcome};
use serde_json::Value;

fn test(args: &[&str]) -> Outcome {
    common::test("txn", args)
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

#[test]
fn a_read_committed_node_is_invalid_under_serializable_with_the_cycle_explained() {
    for seed in [1, 2] {
        let o = txn("2", Some("serializable"), seed);
        o.assert_invalid();
        let t = types(&o);
        assert!(
            t.iter().any(|a| a == "G2-item" || a == "G-single-item"),
            "{t:?}"
        );
        assert!(t.iter().all(|a| !a.ends_with("-realtime")), "{t:?}");
        let why = o.problems();
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
        o.assert_valid();
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
    let wasm = fixture("list_append");
    let args = vec![
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
    test(&common::with_guest(args, guest))
}

#[test]
fn a_correct_list_append_node_is_strict_serializable_and_a_lossy_one_is_not() {
    let o = list_append(1, &[]);
    o.assert_valid();
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
    o.assert_invalid();
    let t = types(&o);
    assert!(t.iter().any(|a| a.starts_with("G")), "{t:?}");
    assert!(o.problems().contains("which T"), "{}", o.problems());
}
