//! `host test --seeds`, `--shard` and `--merge` against the real binary, and the
//! Maelstrom logging options: a sweep runs every seed of its range once, shards
//! split it exactly, an invalid seed is named with a command that replays it.
//! Needs `make all fixtures` first.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn host() -> &'static str {
    env!("CARGO_BIN_EXE_host")
}

fn wasm(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    assert!(
        p.exists(),
        "{} is missing: run `make all fixtures` first",
        p.display()
    );
    p.display().to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glomers-seeds-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(host()).args(args).output().unwrap()
}

fn seeds_of(summary: &Value) -> Vec<u64> {
    summary["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seed"].as_u64().unwrap())
        .collect()
}

#[test]
fn shards_split_a_sweep_exactly_and_merge_back() {
    let dir = scratch("shards");
    let store = dir.join("store").display().to_string();
    let echo = wasm("challenges/echo.wasm");
    let mut seen = Vec::new();
    let mut files = Vec::new();
    for (shard, expect) in [("1/2", [1, 3, 5, 7]), ("2/2", [2, 4, 6, 8])] {
        let json = dir.join(format!("{}.json", &shard[..1]));
        let out = run(&[
            "test",
            "-w",
            "echo",
            "--node-count",
            "1",
            "--time-limit",
            "2",
            "--seeds",
            "1..8",
            "--shard",
            shard,
            "--store",
            &store,
            "--json",
            json.to_str().unwrap(),
            &echo,
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(stdout.contains("4 valid, 0 invalid"), "{stdout}");
        let summary: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(seeds_of(&summary), expect);
        assert!(summary["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["valid"] == "valid"));
        seen.extend(expect);
        files.push(json);
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=8).collect::<Vec<_>>());
    let merged = dir.join("merged.json");
    let out = run(&[
        "test",
        "--merge",
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
        "--json",
        merged.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("8 seeds (seeds 1..8): 8 valid"), "{stdout}");
    let m: Value = serde_json::from_slice(&std::fs::read(&merged).unwrap()).unwrap();
    assert_eq!(seeds_of(&m), (1..=8).collect::<Vec<_>>());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_invalid_seed_is_named_with_a_command_that_replays_it() {
    let dir = scratch("invalid");
    let store = dir.join("store").display().to_string();
    let flood = wasm("target/wasm32-wasip2/guest/broadcast_flood.wasm");
    let out = run(&[
        "test",
        "-w",
        "broadcast",
        "--node-count",
        "3",
        "--time-limit",
        "3",
        "--rate",
        "10",
        "--seeds",
        "3",
        "--store",
        &store,
        &flood,
        "--",
        "--forget",
        "3",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("0 valid, 3 invalid"), "{stdout}");
    let replay = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay: "))
        .unwrap_or_else(|| panic!("no replay line: {stdout}"));
    assert!(replay.contains(" --seed "), "{replay}");
    // The replay command, run as printed (minus the program), is invalid again.
    let words: Vec<&str> = replay.split_whitespace().skip(1).collect();
    let mut words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    words.extend(["--store".to_string(), store.clone()]);
    let again = Command::new(host()).args(&words).output().unwrap();
    let text = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(1), "{text}");
    assert!(text.contains("lost"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn log_net_send_and_recv_show_each_message_on_stderr() {
    let dir = scratch("lognet");
    let store = dir.join("store").display().to_string();
    let echo = wasm("challenges/echo.wasm");
    let out = run(&[
        "test",
        "-w",
        "echo",
        "--node-count",
        "1",
        "--time-limit",
        "2",
        "--seed",
        "1",
        "--log-net-send",
        "--log-net-recv",
        "--store",
        &store,
        &echo,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let sends = stderr.lines().filter(|l| l.contains(" :send {")).count();
    let recvs = stderr.lines().filter(|l| l.contains(" :recv {")).count();
    assert!(
        sends > 2 && sends == recvs,
        "{sends} sends, {recvs} receives:\n{stderr}"
    );
    assert!(stderr.contains(r#""type":"echo_ok""#), "{stderr}");
    // Without the options, none of it.
    let quiet = run(&[
        "test",
        "-w",
        "echo",
        "--node-count",
        "1",
        "--time-limit",
        "2",
        "--seed",
        "1",
        "--store",
        &store,
        &echo,
    ]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains(":send {"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn log_stderr_echoes_each_nodes_stderr_after_its_name() {
    let dir = scratch("logstderr");
    let store = dir.join("store").display().to_string();
    let node = wasm("challenges/broadcast.wasm");
    // An argument no knob claims is reported on the guest's stderr at start.
    let run_with = |extra: &[&str]| {
        let mut v = vec![
            "test",
            "-w",
            "broadcast",
            "--node-count",
            "2",
            "--time-limit",
            "1",
            "--seed",
            "1",
            "--store",
            &store,
        ];
        v.extend_from_slice(extra);
        v.extend([node.as_str(), "--", "--no-such-knob", "1"]);
        run(&v)
    };
    let out = run_with(&["--log-stderr"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for node in ["n0", "n1"] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&format!(" {node} stderr: ")) && l.contains("no-such-knob")),
            "{stderr}"
        );
    }
    let quiet = run_with(&[]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains(" stderr: "));
    let _ = std::fs::remove_dir_all(&dir);
}
