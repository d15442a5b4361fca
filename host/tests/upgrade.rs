//! `host test --upgrade NEW.wasm`, end to end with the real challenges: each stateful
//! challenge stays valid while the cluster rolls, node by node, to a rebuilt copy of
//! itself, on many seeds each (`common::test_seeds`), every node carrying its state
//! across; a node killed when its turn comes starts again as the new version; a new version that cannot
//! load is refused before the run; an old-world component (no handoff) is switched
//! by starting it afresh, and the summary says its state was not carried; a version
//! that cannot take over fails the run, saying why. Needs `make all fixtures` first.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

fn host() -> &'static str {
    env!("CARGO_BIN_EXE_host")
}

/// A .wasm of the repository, which must have been built.
fn wasm(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    assert!(
        p.exists(),
        "{} is missing: run `make all fixtures` first",
        p.display()
    );
    p
}

fn scratch() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "glomers-upgrade-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A rebuilt version of `rel`: the same component under another path, so the
/// harness loads it afresh as the new version.
fn rebuilt(rel: &str) -> String {
    let to = scratch().join(Path::new(rel).file_name().unwrap());
    std::fs::copy(wasm(rel), &to).unwrap();
    to.display().to_string()
}

struct Outcome {
    code: i32,
    json: Value,
    stdout: String,
    stderr: String,
    dir: PathBuf,
}

/// Runs `host test ARGS`, with the store and the JSON in a scratch directory.
fn test(args: &[&str]) -> Outcome {
    let dir = scratch();
    let json = dir.join("result.json");
    let out = Command::new(host())
        .arg("test")
        .arg("--store")
        .arg(dir.join("store"))
        .arg("--json")
        .arg(&json)
        .args(args)
        .output()
        .expect("run host test");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or(-1);
    let json = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    Outcome {
        code,
        json,
        stdout,
        stderr,
        dir,
    }
}

/// Each node's upgrade record, in the roll's order.
fn nodes(o: &Outcome) -> &Vec<Value> {
    o.json["upgrade"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no upgrade in the JSON:\n{}\n{}", o.stdout, o.stderr))
}

/// Runs `workload` with `options` on seeds 1..=N (`common::test_seeds`), rolling from
/// `rel` to a rebuilt copy of it: every run valid, every node switched, its state
/// carried.
fn valid_across_the_roll(rel: &str, options: &[&str], guest_args: &[&str]) {
    let old = wasm(rel).display().to_string();
    let new = rebuilt(rel);
    for seed in 1..=common::test_seeds() {
        let seed = seed.to_string();
        let mut args: Vec<&str> = options.to_vec();
        args.extend(["--upgrade", &new, "--seed", &seed, &old]);
        if !guest_args.is_empty() {
            args.push("--");
            args.extend_from_slice(guest_args);
        }
        let o = test(&args);
        assert_eq!(
            (o.code, &o.json["valid"]),
            (0, &Value::Bool(true)),
            "seed {seed} invalid across the upgrade:\n{}\n{}",
            o.stdout,
            o.stderr
        );
        let count = o.json["sim"]["nodes"].as_u64().unwrap() as usize;
        let ups = nodes(&o);
        assert_eq!(ups.len(), count, "seed {seed}:\n{}", o.stdout);
        for u in ups {
            assert_eq!(u["how"], "live", "seed {seed}: {u}\n{}", o.stdout);
            assert_eq!(u["state-carried"], true, "seed {seed}: {u}\n{}", o.stdout);
            // A copy: the same content hash on both sides.
            assert_eq!(u["from"], u["to"], "seed {seed}: {u}");
        }
        // The roll happened inside the client phase, so the history spans both versions.
        let first = ups[0]["switched"].as_f64().unwrap();
        let last = ups[count - 1]["switched"].as_f64().unwrap();
        let ops_before = o.json["stats"]["count"].as_u64().unwrap();
        assert!(first < last && ops_before > 0, "seed {seed}:\n{}", o.stdout);
        std::fs::remove_dir_all(&o.dir).ok();
    }
}

#[test]
fn broadcast_3c_stays_valid_across_a_rolling_upgrade_under_partitions_on_many_seeds() {
    valid_across_the_roll(
        "challenges/broadcast.wasm",
        &[
            "-w",
            "broadcast",
            "--node-count",
            "5",
            "--time-limit",
            "20",
            "--rate",
            "10",
            "--nemesis",
            "partition",
        ],
        &[],
    );
}

#[test]
fn g_counter_stays_valid_across_a_rolling_upgrade_under_partitions_on_many_seeds() {
    valid_across_the_roll(
        "challenges/g-counter.wasm",
        &[
            "-w",
            "g-counter",
            "--node-count",
            "3",
            "--rate",
            "100",
            "--time-limit",
            "20",
            "--nemesis",
            "partition",
        ],
        &[],
    );
}

#[test]
fn kafka_stays_valid_across_a_rolling_upgrade_on_many_seeds() {
    // 5c's cluster (each key owned by a node) at a fifth of its rate, to keep many seeds quick.
    valid_across_the_roll(
        "challenges/kafka.wasm",
        &[
            "-w",
            "kafka",
            "--node-count",
            "2",
            "--concurrency",
            "2n",
            "--time-limit",
            "20",
            "--rate",
            "200",
        ],
        &[],
    );
}

#[test]
fn txn_stays_valid_across_a_rolling_upgrade_under_partitions_on_many_seeds() {
    // 6c's options at a fifth of its rate, to keep many seeds quick.
    valid_across_the_roll(
        "challenges/txn.wasm",
        &[
            "-w",
            "txn-rw-register",
            "--node-count",
            "2",
            "--concurrency",
            "2n",
            "--time-limit",
            "20",
            "--rate",
            "200",
            "--availability",
            "total",
            "--nemesis",
            "partition",
            "--consistency-models",
            "read-committed",
        ],
        &[],
    );
}

#[test]
fn a_node_killed_at_its_turn_starts_again_as_the_new_version() {
    // g-counter keeps its counts in seq-kv, so kills lose nothing it acknowledged.
    let old = wasm("challenges/g-counter.wasm").display().to_string();
    let new = rebuilt("challenges/g-counter.wasm");
    let mut started = 0;
    for seed in 1..=20u64 {
        let seed = seed.to_string();
        let o = test(&[
            "-w",
            "g-counter",
            "--node-count",
            "3",
            "--rate",
            "100",
            "--time-limit",
            "20",
            "--nemesis",
            "kill",
            "--nemesis-interval",
            "2",
            "--upgrade",
            &new,
            "--upgrade-at",
            "4",
            "--seed",
            &seed,
            &old,
        ]);
        assert_eq!(o.code, 0, "seed {seed}:\n{}\n{}", o.stdout, o.stderr);
        for u in nodes(&o) {
            // The final heal starts every killed node, so every node ends on the new version.
            assert!(u["switched"].as_f64().is_some(), "seed {seed}: {u}");
            if u["how"] == "started" {
                started += 1;
                assert_eq!(u["state-carried"], false, "{u}");
                assert!(u["switched"].as_f64() > u["turn"].as_f64(), "{u}");
                let log = std::fs::read_to_string(
                    Path::new(o.json["wall"]["logs"].as_str().unwrap())
                        .join(format!("{}.log", u["node"].as_str().unwrap())),
                )
                .unwrap();
                assert!(
                    log.contains("starts the node afresh, as the new version"),
                    "{log}"
                );
            } else {
                assert_eq!(u["how"], "live", "seed {seed}: {u}");
            }
        }
        std::fs::remove_dir_all(&o.dir).ok();
    }
    assert!(started > 0, "no node was down at its turn in 20 seeds");
}

#[test]
fn a_new_version_that_cannot_load_is_refused_before_the_run() {
    let dir = scratch();
    let corrupt = dir.join("corrupt.wasm");
    let mut bytes = std::fs::read(wasm("challenges/g-counter.wasm")).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&corrupt, bytes).unwrap();
    let old = wasm("challenges/g-counter.wasm").display().to_string();
    for new in [
        corrupt.display().to_string(),
        dir.join("absent.wasm").display().to_string(),
    ] {
        let o = test(&[
            "-w",
            "g-counter",
            "--time-limit",
            "5",
            "--upgrade",
            &new,
            &old,
        ]);
        assert_eq!(o.code, 2, "{}\n{}", o.stdout, o.stderr);
        assert_eq!(o.json, Value::Null, "a run was judged:\n{}", o.stdout);
        assert!(
            o.stderr.contains("--upgrade") && o.stderr.contains(&new),
            "{}",
            o.stderr
        );
    }
}

#[test]
fn an_old_world_component_is_switched_by_starting_afresh_and_the_summary_says_so() {
    let old_world = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/echo-0.1.0.wasm")
        .display()
        .to_string();
    let echo = wasm("challenges/echo.wasm").display().to_string();
    // Both ways: from the old world to the new, and back.
    for (from, to) in [(&old_world, &echo), (&echo, &old_world)] {
        let o = test(&[
            "-w",
            "echo",
            "--node-count",
            "3",
            "--time-limit",
            "10",
            "--rate",
            "20",
            "--upgrade",
            to,
            "--seed",
            "1",
            from,
        ]);
        assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
        for u in nodes(&o) {
            assert_eq!(
                (&u["how"], &u["state-carried"]),
                (&"live".into(), &false.into())
            );
            assert!(
                u["fresh-because"]
                    .as_str()
                    .is_some_and(|w| w.contains("no handoff")),
                "{u}"
            );
        }
        assert!(
            o.stdout.contains("3 of 3 switched, 0 with their state")
                && o.stdout.contains("state not carried"),
            "{}",
            o.stdout
        );
    }
}

#[test]
fn a_version_that_cannot_take_over_fails_the_run_and_says_why() {
    // The old-world echo cannot hand its state over, so the new version starts
    // afresh with the replayed init, on which this one panics.
    let old_world = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/echo-0.1.0.wasm")
        .display()
        .to_string();
    let panics = wasm("target/wasm32-wasip2/guest/misbehave.wasm")
        .display()
        .to_string();
    let o = test(&[
        "-w",
        "echo",
        "--node-count",
        "2",
        "--time-limit",
        "10",
        "--rate",
        "20",
        "--upgrade",
        &panics,
        "--seed",
        "1",
        &old_world,
        "--",
        "--panic-on-init",
    ]);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    for u in nodes(&o) {
        assert_eq!(u["how"], "failed", "{u}");
        assert!(u["switched"].is_null(), "{u}");
    }
    let problems = o.json["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{}", o.stdout);
    assert!(
        problems.iter().all(|p| {
            let p = p.as_str().unwrap();
            p.contains("could not switch to") && p.contains("replayed init")
        }),
        "{}",
        o.stdout
    );
    // The old version kept serving: every echo was answered.
    assert_eq!(o.json["availability"]["ok-fraction"], 1.0, "{}", o.stdout);
}
