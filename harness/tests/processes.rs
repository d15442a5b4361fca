//! `--bin` nodes that misbehave as processes: the harness stays bounded and says why.

use harness::{Builder, Workload};

fn store() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("glomers-harness-proc-{}", std::process::id()))
}

#[test]
fn processes_that_exit_at_once_are_a_harness_error_without_waiting() {
    let r = Builder::new(Workload::Echo)
        .option("--bin", "/bin/true")
        .store(store())
        .run();
    let Err(e) = r else {
        panic!("a test of processes that all exited was judged")
    };
    // At once, from the processes' end: not "did not answer init" after its timeout.
    assert!(e.to_string().contains("could not start"), "{e}");
    assert!(e.to_string().contains("closed its stdout"), "{e}");
}

#[test]
fn a_process_flooding_stdout_stops_the_run_in_bounded_memory() {
    let Err(e) = Builder::new(Workload::Echo)
        .option("--bin", "/usr/bin/yes")
        .store(store())
        .run()
    else {
        panic!("a node that never spoke the protocol was judged")
    };
    let why = e.to_string();
    assert!(why.contains("not a Maelstrom message"), "{why}");
    // The fault quotes the start of a line, not all of what was written.
    assert!(why.len() < 5 * 500, "{why}");
}
