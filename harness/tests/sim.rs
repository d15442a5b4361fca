//! The harness driven from Rust, with tiny nodes written against its `Node` trait:
//! the typed outcome of whole runs, without wasm or processes.

use harness::{Builder, Crash, Effect, Input, Node, NodeSpec, Valid, Workload};
use serde_json::{json, Value};

/// Answers `init` and `echo`; with `loopback`, also pings itself forever.
struct Echo {
    id: String,
    loopback: bool,
}

impl Node for Echo {
    fn handle(&mut self, _: u64, input: Input<'_>, out: &mut Vec<Effect>) -> Result<(), Crash> {
        let Input::Message { src, body } = input else {
            return Ok(());
        };
        let body: Value = serde_json::from_str(body).map_err(|e| Crash {
            reason: e.to_string(),
        })?;
        let reply = |b: Value| Effect::Send {
            dest: src.to_string(),
            body: b.to_string(),
        };
        match body["type"].as_str() {
            Some("init") => {
                self.id = body["node_id"].as_str().unwrap_or("").to_string();
                out.push(reply(
                    json!({"type": "init_ok", "in_reply_to": body["msg_id"]}),
                ));
                if self.loopback {
                    out.push(Effect::Send {
                        dest: self.id.clone(),
                        body: json!({"type": "ping"}).to_string(),
                    });
                }
            }
            Some("echo") => out.push(reply(json!({
                "type": "echo_ok", "echo": body["echo"], "in_reply_to": body["msg_id"]
            }))),
            Some("ping") => out.push(reply(json!({"type": "ping"}))),
            _ => {}
        }
        Ok(())
    }
}

fn echo(loopback: bool) -> impl FnMut(&NodeSpec) -> anyhow::Result<Box<dyn Node>> {
    move |_| {
        Ok(Box::new(Echo {
            id: String::new(),
            loopback,
        }))
    }
}

fn store() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("glomers-harness-sim-{}", std::process::id()))
}

#[test]
fn an_echo_node_is_valid_and_the_outcome_is_typed() {
    let o = Builder::new(Workload::Echo)
        .node_count(2)
        .rate(50.0)
        .time_limit(5.0)
        .seed(3)
        .store(store())
        .nodes("echo", echo(false))
        .run()
        .unwrap();
    assert_eq!(o.valid, Valid::True, "{:?}", o.problems);
    let ops = o.history.invocations().count() as u64;
    assert!(ops > 150, "{ops} ops at 50/s over 5 s");
    // Each op is a request and a reply (besides each node's init and init_ok), and
    // nodes never talk to each other.
    assert_eq!(o.net.clients.msg_count, 2 * ops + 2 * 2);
    assert_eq!(o.net.servers.msg_count, 0);
    assert_eq!(o.to_json()["valid"], json!(true));
    assert_eq!(o.seed, 3);
    assert!(o.command.contains("--seed 3"), "{}", o.command);
    done(&o);
}

/// A run that passed its test leaves nothing behind (a livelock journals a million
/// messages).
fn done(o: &harness::Outcome) {
    let _ = std::fs::remove_dir_all(&o.wall.logs);
}

#[test]
fn one_seed_replays_a_run_exactly() {
    let run = |seed| {
        let o = Builder::new(Workload::Echo)
            .node_count(3)
            .rate(100.0)
            .time_limit(3.0)
            .latency(5)
            .options("--latency-dist exponential")
            .seed(seed)
            .store(store())
            .nodes("echo", echo(false))
            .run()
            .unwrap();
        let h: Vec<(u64, u64, String)> = o
            .history
            .entries
            .iter()
            .map(|e| (e.time, e.process, e.value.to_string()))
            .collect();
        done(&o);
        (h, o.net.all.msg_count)
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9).0, run(10).0);
}

#[test]
fn a_livelock_at_zero_latency_ends_the_run_with_a_reason() {
    let o = Builder::new(Workload::Echo)
        .node_count(1)
        .time_limit(5.0)
        .seed(1)
        .store(store())
        .nodes("loopback", echo(true))
        .run()
        .unwrap();
    assert_eq!(o.valid, Valid::False);
    let why: Vec<String> = o.problems.iter().map(|p| p.to_string()).collect();
    let why = why.join("\n");
    // The livelock is about the instant time stopped at.
    assert!(o.problems.iter().any(|p| p.at.is_some()), "{why}");
    assert!(why.contains("livelock"), "{why}");
    assert!(why.contains("n0 -> n0"), "{why}");
    done(&o);
}
