//! The supervisor's scenarios under `host test`, with wasm nodes on virtual time:
//! a crash loop backs off and gives up, a new version that refuses the state starts
//! fresh, one that traps in `restore` leaves the old version serving, and a switch
//! while replies are awaited drops the callbacks. The same scenarios run as real
//! processes in run.rs and swap.rs (`host run`) and natively in
//! guest-sdk/src/simulate.rs (`glomers::simulate`); a panic in a handler under
//! `host test` is harness.rs's `crashes_are_reported_and_the_node_goes_on`.
//! Needs `make all fixtures` first.

mod common;

use common::{fixture, scratch, test, wasm, Outcome};
use serde_json::Value;
use std::path::Path;

/// A copy of a fixture under another path: what `--upgrade` rolls to.
fn copy_of(name: &str) -> String {
    let to = scratch("supervisor-copy").join(format!("{name}.wasm"));
    std::fs::copy(fixture(name), &to).unwrap();
    to.display().to_string()
}

fn log(o: &Outcome, node: &str) -> String {
    let dir = Path::new(o.json["wall"]["logs"].as_str().unwrap());
    std::fs::read_to_string(dir.join(format!("{node}.log"))).unwrap()
}

fn upgrades(o: &Outcome) -> &Vec<Value> {
    o.json["upgrade"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no upgrade in the result:\n{}", o.stdout))
}

#[test]
fn a_crash_loop_backs_off_answering_11_and_then_gives_up() {
    // A timer panics 20 ms after init, and every init replayed after it panics too.
    let o = test(
        "supervisor-loop",
        &[
            "-w",
            "echo",
            "--node-count",
            "1",
            "--time-limit",
            "3",
            "--rate",
            "5",
            "--max-crash-streak",
            "5",
            "--seed",
            "1",
            &fixture("misbehave"),
            "--",
            "--panic-on-tick",
            "--panic-in-init-after",
            "10",
        ],
    );
    o.assert_invalid();
    let log = log(&o, "n0");
    // The back-off doubles; the fifth crash in a row gives up.
    for wait in [100, 200, 400] {
        assert!(
            log.contains(&format!("retried at the first event after {wait} ms")),
            "{log}"
        );
    }
    assert_eq!(
        log.matches("is given up on: 5 crashes in a row").count(),
        1,
        "{log}"
    );
    // The call that crashed first lost its effects; requests while down were refused
    // definitely (error 11), and after the give-up nothing answers.
    let problems = o.problems();
    assert!(problems.contains("temporarily-unavailable"), "{problems}");
    assert!(problems.contains("net-timeout"), "{problems}");
    let fails = o.json["stats"]["fail-count"].as_u64().unwrap();
    assert!(fails >= 3, "one refusal per retry at least:\n{}", o.stdout);
}

#[test]
fn a_state_the_new_version_refuses_starts_it_fresh_with_init() {
    // misbehave hands its count over; echo takes no state and refuses it.
    let o = test(
        "supervisor-refused",
        &[
            "-w",
            "echo",
            "--node-count",
            "2",
            "--time-limit",
            "6",
            "--rate",
            "20",
            "--upgrade",
            &wasm("challenges/echo.wasm"),
            "--upgrade-at",
            "2",
            "--seed",
            "1",
            &fixture("misbehave"),
        ],
    );
    o.assert_valid();
    for u in upgrades(&o) {
        assert_eq!(u["state-carried"], false, "{u}");
        let why = u["fresh-because"].as_str().unwrap();
        assert!(
            why.starts_with("the new version's restore refused the state: this version does not take state over"),
            "{u}"
        );
    }
    assert_eq!(o.json["crashes"]["count"], 0);
}

#[test]
fn a_trap_in_restore_leaves_the_old_version_serving_and_fails_the_run() {
    let o = test(
        "supervisor-restore-trap",
        &[
            "-w",
            "echo",
            "--node-count",
            "2",
            "--time-limit",
            "6",
            "--rate",
            "20",
            "--upgrade",
            &copy_of("misbehave"),
            "--upgrade-at",
            "2",
            "--seed",
            "1",
            &fixture("misbehave"),
            "--",
            "--panic-on-restore",
        ],
    );
    o.assert_invalid();
    for u in upgrades(&o) {
        assert_eq!(u["how"], "failed", "{u}");
        let err = u["error"].as_str().unwrap();
        assert!(
            err.contains("the new version crashed (panic) in restore"),
            "{u}"
        );
    }
    // Not a crash of the node: the old version answered every echo.
    assert_eq!(o.json["crashes"]["count"], 0);
    assert_eq!(o.json["availability"]["ok-fraction"], 1.0, "{}", o.stdout);
}

#[test]
fn a_switch_while_replies_are_awaited_drops_the_callbacks_and_nothing_else() {
    // kv-echo answers an echo only after two round trips to lin-kv: at 100 echoes a
    // second with 20 ms latency, some are always awaiting a reply. It hands nothing
    // over, so each node starts the new version fresh.
    let o = test(
        "supervisor-mid-rpc",
        &[
            "-w",
            "echo",
            "--node-count",
            "2",
            "--time-limit",
            "6",
            "--rate",
            "100",
            "--latency",
            "20",
            "--upgrade",
            &copy_of("kv_echo"),
            "--upgrade-at",
            "2",
            "--seed",
            "1",
            &fixture("kv_echo"),
        ],
    );
    for u in upgrades(&o) {
        assert!(u["switched"].is_number(), "{u}");
    }
    assert_eq!(o.json["crashes"]["count"], 0);
    // The echoes in flight at a switch got no answer (indeterminate); every other
    // one was answered right, by one version or the other.
    let stats = &o.json["stats"];
    let info = stats["info-count"].as_u64().unwrap();
    assert!(info > 0, "nothing was in flight at a switch:\n{}", o.stdout);
    assert!(info <= 2 * 20, "{}", o.stdout);
    assert_eq!(stats["fail-count"], 0, "{}", o.stdout);
    assert_eq!(
        stats["ok-count"].as_u64().unwrap() + info,
        stats["count"].as_u64().unwrap()
    );
    let problems = o.problems();
    assert!(
        problems
            .lines()
            .all(|p| p.contains("net-timeout") || p.contains("timeout")),
        "{problems}"
    );
}
