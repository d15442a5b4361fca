//! `host test` end to end on the workloads whose checkers decide more than a
//! value: kafka's final polls, lin-kv's linearizability and g-set's lost elements,
//! each on a fixture node whose verdict is known (correct ones must pass, broken
//! ones must fail for their reason). Needs `make all fixtures` first.

mod common;

use common::{fixture, Outcome};

/// Runs `host test ARGS`, and removes its scratch directory: nothing here reads it.
fn test(args: &[&str]) -> Outcome {
    let o = common::test("workloads", args);
    let _ = std::fs::remove_dir_all(&o.dir);
    o
}

/// kafka-broken as a correct log whose polls hand out at most `batch` messages
/// per key.
fn kafka(batch: &str) -> Outcome {
    let wasm = fixture("kafka_broken");
    test(&[
        "-w",
        "kafka",
        "--node-count",
        "1",
        "--concurrency",
        "2n",
        "--time-limit",
        "5",
        "--rate",
        "500",
        "--seed",
        "1",
        &wasm,
        "--",
        "--batch",
        batch,
    ])
}

/// A correct log that hands out at most 10 (or 3) messages per key per poll: the
/// final polls go on until they have caught up, so nothing is unseen.
#[test]
fn kafka_bounded_polls_are_valid() {
    for batch in ["10", "3"] {
        let o = kafka(batch);
        o.assert_valid();
        let counts = &o.json["workload"]["counts"];
        let kinds = counts.as_object().expect("anomaly counts");
        assert!(kinds.values().all(|n| n == 0), "{counts}\n{}", o.stdout);
        // Some key holds far more than one batch, so it took several final polls.
        let sends = o.json["workload"]["send-count"].as_u64().unwrap();
        assert!(sends > 500, "{}", o.stdout);
    }
}

/// msgs-per-op divides by Maelstrom's operations: a poll and the commit after it
/// are one operation, so the client messages per op exceed 2 (a request and a
/// reply) by the share of commits.
#[test]
fn kafka_commits_are_part_of_their_poll_in_msgs_per_op() {
    let o = kafka("10");
    o.assert_valid();
    let by_f = &o.json["stats"]["by-f"];
    let count = |f: &str| by_f[f]["count"].as_f64().unwrap_or(0.0);
    let ops = count("send") + count("poll") + count("assign");
    let commits = count("commit_offsets");
    assert!(commits > 100.0, "{}", o.stdout);
    let per_op = o.json["net"]["clients"]["msgs-per-op"].as_f64().unwrap();
    let expected = 2.0 * (ops + commits) / ops;
    assert!(
        (per_op - expected).abs() < 0.01,
        "clients msgs-per-op {per_op}, expected {expected}\n{}",
        o.stdout
    );
}

fn lin_kv(target: &str, extra: &[&str]) -> Outcome {
    let wasm = fixture("kv_proxy");
    let mut args = vec![
        "-w",
        "lin-kv",
        "--node-count",
        "3",
        "--concurrency",
        "2n",
        "--time-limit",
        "10",
        "--rate",
        "100",
        "--latency",
        "5",
        "--seed",
        "1",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[&wasm, "--", target]);
    test(&args)
}

#[test]
fn lin_kv_through_the_lin_kv_service_is_linearizable() {
    for extra in [
        &[][..],
        &["--nemesis", "partition", "--nemesis-interval", "2"],
    ] {
        let o = lin_kv("lin-kv", extra);
        o.assert_valid();
        let ops = o.json["workload"]["op-count"].as_u64().unwrap();
        assert!(ops > 300, "{}", o.stdout);
    }
}

/// A node per map, or a store that is only sequential or last-writer-wins, lets
/// a read miss a write another node acknowledged: the checker names the key and
/// the operation that cannot have taken effect.
#[test]
fn lin_kv_through_weaker_stores_is_not_linearizable() {
    for target in ["local", "seq-kv", "lww-kv"] {
        let o = lin_kv(target, &[]);
        o.assert_invalid();
        let failures = o.json["workload"]["failures"].as_array().unwrap();
        assert!(!failures.is_empty(), "{target}: {}", o.stdout);
        let p = o.problems();
        assert!(
            p.contains("is not linearizable: ") && p.contains("cannot have taken effect"),
            "{target}: {p}"
        );
    }
}

fn g_set(guest: &[&str]) -> Outcome {
    let wasm = fixture("g_set_gossip");
    let args = vec![
        "-w",
        "g-set",
        "--node-count",
        "3",
        "--time-limit",
        "10",
        "--rate",
        "20",
        "--latency",
        "50",
        "--seed",
        "1",
        &wasm,
    ];
    test(&common::with_guest(args, guest))
}

#[test]
fn g_set_gossip_is_valid_and_a_lonely_set_loses_adds() {
    let o = g_set(&[]);
    o.assert_valid();
    let w = &o.json["workload"];
    assert_eq!(w["lost-count"], 0, "{}", o.stdout);
    assert_eq!(w["stable-count"], w["attempt-count"], "{}", o.stdout);
    let o = g_set(&["--lonely"]);
    o.assert_invalid();
    let lost = o.json["workload"]["lost-count"].as_u64().unwrap();
    assert!(lost > 10, "{}", o.stdout);
    assert!(o.problems().contains("was lost"), "{}", o.stdout);
}
