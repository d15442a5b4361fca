//! The nemesis's kill and pause, end to end with the real challenges: a node that
//! keeps its state in seq-kv (g-counter) stays valid when nodes are killed, every one
//! at once included, and paused; a node that keeps its state only in memory
//! (broadcast) stays valid under pauses but loses values when every node is killed,
//! and is judged invalid for that reason, not for a fault of the harness. In process
//! and as `--bin` processes alike. Needs `make all fixtures` first.

mod common;

use common::{host, wasm, Outcome};
use serde_json::Value;
use std::path::PathBuf;

fn test(args: &[&str]) -> Outcome {
    common::test("nemesis", args)
}

/// The nemesis's operations with function `f`: (time, nodes named).
fn faults(o: &Outcome, f: &str) -> Vec<(f64, Vec<String>)> {
    o.json["nemesis"]
        .as_array()
        .unwrap_or_else(|| panic!("no nemesis in the JSON:\n{}", o.stdout))
        .iter()
        .filter(|e| e["f"] == f)
        .map(|e| {
            let nodes = e["value"].as_array().expect("a list of nodes");
            let nodes = nodes.iter().map(|n| n.as_str().unwrap().to_string());
            (e["time"].as_f64().unwrap(), nodes.collect())
        })
        .collect()
}

/// The nemesis's log tells a consistent story, and every node it killed or paused
/// came back before the end: a kill takes a running or paused node down, a start
/// brings back exactly the nodes that are down, a pause stops running nodes, a
/// resume restarts exactly the paused ones.
fn assert_all_restored(o: &Outcome) {
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum S {
        Up,
        Paused,
        Down,
    }
    let n = o.json["sim"]["nodes"].as_u64().unwrap() as usize;
    let mut state = vec![S::Up; n];
    for e in o.json["nemesis"].as_array().unwrap() {
        let Some(nodes) = e["value"].as_array() else {
            continue;
        };
        let nodes: Vec<usize> = nodes
            .iter()
            .map(|v| v.as_str().unwrap()[1..].parse().unwrap())
            .collect();
        let with = |s: S| (0..n).filter(|&i| state[i] == s).collect::<Vec<_>>();
        let (from, to): (&[S], S) = match e["f"].as_str().unwrap() {
            "kill" => (&[S::Up, S::Paused], S::Down),
            "pause" => (&[S::Up], S::Paused),
            "start" => {
                assert_eq!(nodes, with(S::Down), "{e}\n{}", o.stdout);
                (&[S::Down], S::Up)
            }
            "resume" => {
                assert_eq!(nodes, with(S::Paused), "{e}\n{}", o.stdout);
                (&[S::Paused], S::Up)
            }
            f => panic!("{f} with a list of nodes"),
        };
        for i in nodes {
            assert!(
                from.contains(&state[i]),
                "{e} on a node {:?}\n{}",
                state[i],
                o.stdout
            );
            state[i] = to;
        }
    }
    assert!(
        state.iter().all(|&s| s == S::Up),
        "left {state:?}\n{}",
        o.stdout
    );
}

fn g_counter(nemesis: &str, targets: Option<&str>, seed: u64) -> Outcome {
    let seed = seed.to_string();
    let wasm = wasm("challenges/g-counter.wasm");
    let mut args = vec![
        "-w",
        "g-counter",
        "--node-count",
        "3",
        "--rate",
        "100",
        "--time-limit",
        "20",
        "--nemesis",
        nemesis,
        "--nemesis-interval",
        "2",
        "--seed",
        &seed,
    ];
    if let Some(t) = targets {
        args.extend(["--nemesis-targets", t]);
    }
    args.push(&wasm);
    test(&args)
}

/// The final reads of a counter all agree (and there is one per client).
fn assert_final_reads_agree(o: &Outcome) {
    let reads = o.json["workload"]["final-reads"].as_array().unwrap();
    assert_eq!(reads.len(), 3, "{}", o.stdout);
    assert!(reads.iter().all(|r| *r == reads[0]), "{}", o.stdout);
}

#[test]
fn g_counter_in_seq_kv_stays_valid_under_kill_pause_and_partition() {
    let (mut kills, mut pauses) = (0, 0);
    for seed in 1..=10 {
        let o = g_counter("kill,pause,partition", None, seed);
        o.assert_valid();
        assert_final_reads_agree(&o);
        assert_all_restored(&o);
        kills += faults(&o, "kill").len();
        pauses += faults(&o, "pause").len();
        let nemesis = o.json["nemesis"].as_array().unwrap();
        assert!(
            nemesis.iter().any(|e| e["f"] == "start-partition"),
            "{}",
            o.stdout
        );
    }
    // Ten 20 s runs with a process fault every 2 s on average see plenty of both.
    assert!(
        kills >= 10 && pauses >= 10,
        "{kills} kills, {pauses} pauses"
    );
}

#[test]
fn g_counter_in_seq_kv_stays_valid_when_every_node_is_killed_at_once() {
    for seed in 1..=5 {
        let o = g_counter("kill", Some("all"), seed);
        o.assert_valid();
        assert_final_reads_agree(&o);
        let kills = faults(&o, "kill");
        assert!(kills.len() >= 2, "{}", o.stdout);
        let all = ["n0", "n1", "n2"].map(String::from).to_vec();
        assert!(kills.iter().all(|(_, nodes)| *nodes == all), "{}", o.stdout);
        assert_all_restored(&o);
        // The summary names each kill and its nodes.
        assert!(o.stdout.contains("kill n0 n1 n2 (all)"), "{}", o.stdout);
        // Adds were acknowledged after the first restart too, and the counter counts them.
        let total = o.json["workload"]["final-reads"][0].as_f64().unwrap();
        assert!(total > 0.0, "{}", o.stdout);
    }
}

fn broadcast(nemesis: &str, targets: &str, seed: u64) -> Outcome {
    let seed = seed.to_string();
    let wasm = wasm("challenges/broadcast.wasm");
    test(&[
        "-w",
        "broadcast",
        "--node-count",
        "5",
        "--rate",
        "20",
        "--time-limit",
        "20",
        "--latency",
        "20",
        "--nemesis",
        nemesis,
        "--nemesis-interval",
        "2",
        "--nemesis-targets",
        targets,
        "--seed",
        &seed,
        &wasm,
    ])
}

#[test]
fn broadcast_held_in_memory_stays_valid_under_pauses() {
    for seed in 1..=5 {
        let o = broadcast("pause", "one,minority,majority,all", seed);
        o.assert_valid();
        assert!(faults(&o, "pause").len() >= 2, "{}", o.stdout);
        assert_all_restored(&o);
        assert!(faults(&o, "kill").is_empty());
    }
}

#[test]
fn broadcast_held_in_memory_loses_values_when_every_node_is_killed() {
    let o = broadcast("kill", "all", 3);
    // Invalid for the values lost, not for anything the harness or the run did wrong.
    o.assert_invalid();
    let lost = o.json["workload"]["lost"].as_array().unwrap();
    assert!(!lost.is_empty(), "{}", o.stdout);
    let problems: Vec<&str> = o.json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(!problems.is_empty());
    assert!(
        problems
            .iter()
            .all(|p| p.contains("was lost") || p.contains("lost")),
        "{problems:#?}"
    );
    assert_eq!(o.json["crashes"]["count"], 0);
    // Each lost value was acknowledged, and then every node was killed.
    let logs = PathBuf::from(o.json["wall"]["logs"].as_str().unwrap());
    let history = std::fs::read_to_string(logs.join("history.jsonl")).unwrap();
    let acked: Vec<(f64, Value)> = history
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["f"] == "broadcast" && e["type"] == "ok")
        .map(|e| (e["time"].as_f64().unwrap(), e["value"].clone()))
        .collect();
    let kills = faults(&o, "kill");
    for v in lost {
        let (t, _) = acked
            .iter()
            .find(|(_, w)| w == v)
            .unwrap_or_else(|| panic!("lost value {v} was never acknowledged"));
        assert!(
            kills.iter().any(|(k, nodes)| k >= t && nodes.len() == 5),
            "value {v} acknowledged at {t} s and no kill of all nodes after it:\n{}",
            o.stdout
        );
    }
}

#[test]
fn a_seed_replays_a_run_with_kills_and_pauses_exactly() {
    let a = g_counter("kill,pause,partition", None, 42);
    let b = g_counter("kill,pause,partition", None, 42);
    assert_eq!(a.json["nemesis"], b.json["nemesis"]);
    assert_eq!(a.json["net"], b.json["net"]);
    assert_eq!(a.json["stats"], b.json["stats"]);
    assert_eq!(a.json["workload"], b.json["workload"]);
    let c = g_counter("kill,pause,partition", None, 43);
    assert_ne!(a.json["nemesis"], c.json["nemesis"]);
}

#[test]
fn bin_processes_are_killed_paused_restarted_and_g_counter_stays_valid() {
    let wasm = wasm("challenges/g-counter.wasm");
    let o = test(&[
        "-w",
        "g-counter",
        "--bin",
        host(),
        "--node-count",
        "3",
        "--rate",
        "20",
        "--time-limit",
        "8",
        // On the real clock the draws interleave by timing, so make faults frequent and
        // never empty: both kinds happen (unless 16 coin flips all come up the same).
        "--nemesis",
        "kill,pause",
        "--nemesis-interval",
        "0.5",
        "--nemesis-targets",
        "one,majority",
        "--seed",
        "5",
        "run",
        &wasm,
    ]);
    o.assert_valid();
    assert_eq!(o.json["sim"]["real-time"], true);
    assert_final_reads_agree(&o);
    assert_all_restored(&o);
    let killed = faults(&o, "kill");
    let paused = faults(&o, "pause");
    assert!(
        killed.iter().any(|(_, n)| !n.is_empty()) && paused.iter().any(|(_, n)| !n.is_empty()),
        "{}",
        o.stdout
    );
    // The killed node's log tells of its death and its new process.
    let logs = PathBuf::from(o.json["wall"]["logs"].as_str().unwrap());
    let (_, nodes) = killed.iter().find(|(_, n)| !n.is_empty()).unwrap();
    let log = std::fs::read_to_string(logs.join(format!("{}.log", nodes[0]))).unwrap();
    let died = log
        .find("the nemesis killed the node")
        .expect("a kill in the log");
    let born = log
        .rfind("the nemesis starts the node afresh")
        .expect("a restart");
    assert!(died < born, "{log}");
}
