//! The broadcast node in the real harness, natively (glomers::simulate): the same
//! workload, network, partitions and checker as `host test`, on many seeds in
//! seconds. The guest arguments and bars of each stage come from challenges.toml.

use crate::stage_args;
use glomers::simulate::{self, Outcome};

fn run(options: &str, stage: &str) -> Outcome {
    let args = stage_args(stage);
    let args: Vec<&str> = args.split_whitespace().collect();
    simulate::test("broadcast", options, crate::node, &args).expect("the harness runs")
}

fn assert_valid(o: &Outcome, what: &str) {
    assert!(
        o.is_valid(),
        "{what}: {:?}\nreplay: {}",
        o.problems,
        o.command
    );
}

/// Our bars of stage `name` ("d" or "e"): servers msgs-per-op, median and max ms.
fn bars(name: &str) -> (f64, f64, f64) {
    let stage = crate::stage(name);
    let ours = stage["ours"].as_table().expect("the stage has our bars");
    let get = |k: &str| {
        let v = &ours[k];
        v.as_float()
            .or_else(|| v.as_integer().map(|i| i as f64))
            .expect("a number")
    };
    (get("msgs-per-op"), get("median-ms"), get("max-ms"))
}

fn figure(o: &Outcome, quantile: &str) -> f64 {
    o.workload.figures["stable-latencies"][quantile]
        .as_f64()
        .unwrap_or_else(|| panic!("no stable latency {quantile}: {:?}", o.workload.figures))
}

#[test]
fn one_node_and_five_nodes_are_valid() {
    for (nodes, seed) in [(1, 1), (5, 2)] {
        let o = run(
            &format!("--node-count {nodes} --time-limit 20 --rate 10 --seed {seed}"),
            "abc",
        );
        assert_valid(&o, &format!("{nodes} nodes"));
        if nodes == 1 {
            assert_eq!(o.net.servers.msg_count, 0);
        }
    }
}

#[test]
fn stage_c_is_valid_under_partitions_on_100_seeds() {
    for seed in 1..=100 {
        let o = run(
            &format!("--node-count 5 --time-limit 20 --rate 10 --nemesis partition --seed {seed}"),
            "abc",
        );
        assert_valid(&o, &format!("3c seed {seed}"));
    }
}

fn efficient(stage: &str) {
    let (per_op, median, max) = bars(stage);
    for seed in 1..=10 {
        let base =
            format!("--node-count 25 --time-limit 20 --rate 100 --latency 100 --seed {seed}");
        let o = run(&base, stage);
        assert_valid(&o, &format!("3{stage} seed {seed}"));
        let got = (
            o.net.servers.msgs_per_op.unwrap_or(f64::INFINITY),
            figure(&o, "0.5"),
            figure(&o, "1"),
        );
        assert!(
            got.0 <= per_op && got.1 < median && got.2 < max,
            "3{stage} seed {seed}: {got:?} against the bars {:?}",
            (per_op, median, max)
        );
        let o = run(&format!("{base} --nemesis partition"), stage);
        assert_valid(&o, &format!("3{stage} under partitions, seed {seed}"));
    }
}

#[test]
fn stage_d_meets_its_bars_on_10_seeds() {
    efficient("d");
}

#[test]
fn stage_e_meets_its_bars_on_10_seeds() {
    efficient("e");
}

#[test]
fn every_stage_survives_frequent_partitions_with_one_hub_or_three() {
    for stage in ["abc", "d", "e"] {
        for hubs in [1, 3] {
            for seed in 1..=10 {
                let mut args = stage_args(stage);
                args.push_str(&format!(" --hubs {hubs}"));
                let args: Vec<&str> = args.split_whitespace().collect();
                let options = format!(
                    "--node-count 25 --time-limit 20 --rate 100 --latency 100 \
                     --nemesis partition --nemesis-interval 1 --seed {seed}"
                );
                let o = simulate::test("broadcast", &options, crate::node, &args)
                    .expect("the harness runs");
                assert_valid(&o, &format!("{stage} with {hubs} hubs, seed {seed}"));
            }
        }
    }
}

/// Tuning, not a check: runs the 3d/3e workload natively with `BROADCAST_ARGS` (the
/// guest arguments) on `BROADCAST_SEEDS` seeds (default 10), with
/// `BROADCAST_OPTIONS` appended to the harness options (say `--nemesis partition`),
/// and prints each seed's figures and the worst of them.
/// `BROADCAST_ARGS="--down-ms 350" cargo test -p broadcast --release tune -- --ignored --nocapture`
#[test]
#[ignore]
fn tune() {
    let args = std::env::var("BROADCAST_ARGS").unwrap_or_default();
    let extra = std::env::var("BROADCAST_OPTIONS").unwrap_or_default();
    let seeds: u64 = std::env::var("BROADCAST_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let argv: Vec<&str> = args.split_whitespace().collect();
    let (mut worst, mut valid) = ((0.0f64, 0.0f64, 0.0f64), 0);
    let mut per_op = Vec::new();
    for seed in 1..=seeds {
        let options = format!(
            "--node-count 25 --time-limit 20 --rate 100 --latency 100 --seed {seed} {extra}"
        );
        let o = simulate::test("broadcast", &options, crate::node, &argv).expect("runs");
        let m = o.net.servers.msgs_per_op.unwrap_or(f64::INFINITY);
        let (p50, p100) = (figure(&o, "0.5"), figure(&o, "1"));
        valid += usize::from(o.is_valid());
        per_op.push(m);
        worst = (worst.0.max(m), worst.1.max(p50), worst.2.max(p100));
        println!(
            "seed {seed:3} valid {} msgs/op {m:.3} p50 {p50} max {p100}",
            o.is_valid()
        );
    }
    per_op.sort_by(f64::total_cmp);
    println!(
        "{args} | {extra}: valid {valid}/{seeds}, msgs/op median {:.3} worst {:.3}, \
         worst p50 {}, worst max {}",
        per_op[per_op.len() / 2],
        worst.0,
        worst.1,
        worst.2
    );
}
