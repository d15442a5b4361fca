//! Challenge 3a–3e: broadcast. The protocol lives in `core` as a pure state machine;
//! this module only ties it to Maelstrom's messages and the SDK's timers.

mod core;
#[cfg(test)]
mod harness_tests;

use crate::core::{Config, Core, Gossip, Out};
use glomers::prelude::*;
use glomers::TimerId;

#[derive(Deserialize)]
struct Broadcast {
    message: i64,
}

/// Replies to clients, typed: serde writes each variant's `type` tag.
#[derive(Serialize)]
#[serde(tag = "type")]
enum Reply<'a> {
    #[serde(rename = "topology_ok")]
    Topology,
    #[serde(rename = "broadcast_ok")]
    Broadcast,
    #[serde(rename = "read_ok")]
    Read { messages: &'a [i64] },
}

/// The one message between nodes, as it goes on the wire.
#[derive(Serialize)]
#[serde(tag = "type", rename = "gossip")]
struct GossipMsg<'a> {
    #[serde(flatten)]
    gossip: &'a Gossip,
}

#[derive(Serialize, Deserialize)]
struct App {
    cfg: Config,
    /// Built at `init`, when the node learns who it and its peers are.
    core: Option<Core>,
    /// Not carried across a live swap (the timer's callback is the old version's):
    /// `on_restore` arms the uplink afresh.
    #[serde(skip)]
    up_timer: Option<TimerId>,
}

fn not_ready() -> Error {
    Error::temporarily_unavailable("not initialised yet")
}

/// Carries out what the core asked for.
fn apply(app: &mut App, ctx: &Ctx<App>, outs: Vec<Out>) -> Result {
    for o in outs {
        match o {
            Out::Send(dest, g) => ctx.send(&dest, GossipMsg { gossip: &g })?,
            Out::ArmUp(ms) => {
                if let Some(t) = app.up_timer.take() {
                    ctx.cancel(t);
                }
                app.up_timer = Some(ctx.after(Duration::from_millis(ms), |app, ctx| {
                    app.up_timer = None;
                    let outs = app.core.as_mut().map(Core::flush_up).unwrap_or_default();
                    report(apply(app, ctx, outs));
                }));
            }
        }
    }
    Ok(())
}

/// Timer callbacks have nobody to reply to: their errors can only be logged.
fn report(r: Result) {
    if let Err(e) = r {
        eprintln!("broadcast: {e}");
    }
}

fn node_with(cfg: Config) -> Node<App> {
    let (down, tick) = (cfg.down_ms, cfg.tick_ms);
    let app = App {
        cfg,
        core: None,
        up_timer: None,
    };
    Node::new(app)
        .handoff()
        .on_restore(|app, ctx| {
            let outs = app.core.as_ref().map(Core::start).unwrap_or_default();
            report(apply(app, ctx, outs));
        })
        .on_init(|app, ctx| {
            let core = Core::new(app.cfg.clone(), &ctx.id(), &ctx.node_ids());
            let outs = core.start();
            app.core = Some(core);
            report(apply(app, ctx, outs));
        })
        .every(Duration::from_millis(down), |app, ctx| {
            let outs = app.core.as_mut().map(Core::flush_down).unwrap_or_default();
            report(apply(app, ctx, outs));
        })
        .every(Duration::from_millis(tick), |app, ctx| {
            let outs = app.core.as_mut().map(Core::tick).unwrap_or_default();
            report(apply(app, ctx, outs));
        })
        .on("topology", |_, ctx, req: Request<Value>| {
            // We choose our own overlay (a star with fallback hubs), see `core`.
            ctx.reply(&req, Reply::Topology)
        })
        .on("broadcast", |app, ctx, req: Request<Broadcast>| {
            let outs = app
                .core
                .as_mut()
                .ok_or_else(not_ready)?
                .broadcast(req.body.message);
            apply(app, ctx, outs)?;
            ctx.reply(&req, Reply::Broadcast)
        })
        .on("read", |app, ctx, req: Request<Value>| {
            let core = app.core.as_ref().ok_or_else(not_ready)?;
            ctx.reply(
                &req,
                Reply::Read {
                    messages: core.values(),
                },
            )
        })
        .on("gossip", |app, ctx, req: Request<Gossip>| {
            let outs = app
                .core
                .as_mut()
                .ok_or_else(not_ready)?
                .receive(&req.src, req.body);
            apply(app, ctx, outs)
        })
}

fn node() -> Node<App> {
    let mut args = Args::new();
    let cfg = Config::from_args(&mut args);
    args.finish();
    node_with(cfg)
}

glomers::main!(node);

/// Stage `name`'s graded setting ("abc", "d" or "e"; 3a-3c share their arguments)
/// from challenges/challenges.toml, the one home of the graded settings.
#[cfg(test)]
pub(crate) fn stage(name: &str) -> toml::Table {
    let spec: toml::Table = include_str!("../../challenges.toml")
        .parse()
        .expect("challenges/challenges.toml is TOML");
    let grade = format!("broadcast-{}", if name == "abc" { "c" } else { name });
    spec["grade"][grade.as_str()]
        .as_table()
        .unwrap_or_else(|| panic!("no [grade.{grade}] in challenges.toml"))
        .clone()
}

/// The guest arguments stage `name` is graded with.
#[cfg(test)]
pub(crate) fn stage_args(name: &str) -> String {
    let stage = stage(name);
    stage
        .get("args")
        .and_then(|a| a.as_str())
        .unwrap_or("")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use glomers::testing::TestNode;
    use serde_json::json;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn single_node_reads_what_was_broadcast() {
        let mut t = TestNode::start(|| node_with(Config::default()), "n0", &["n0"]);
        let out = t.deliver(
            "c1",
            json!({"type": "topology", "topology": {"n0": []}, "msg_id": 1}),
        );
        assert_eq!(out[0].body["type"], "topology_ok");
        for (i, v) in [3, 1, 3, 2].into_iter().enumerate() {
            let out = t.deliver(
                "c1",
                json!({"type": "broadcast", "message": v, "msg_id": 10 + i}),
            );
            assert_eq!(out.len(), 1, "a lone node talks to nobody but the client");
            assert_eq!(out[0].body["type"], "broadcast_ok");
        }
        let out = t.deliver("c1", json!({"type": "read", "msg_id": 20}));
        assert_eq!(out[0].body["messages"], json!([3, 1, 2]));
        assert!(t.advance(60_000).is_empty());
    }

    #[test]
    fn values_and_batches_in_flight_cross_a_live_swap() {
        let names = ids(4);
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let build = || node_with(Config::default());
        let mut leaf = TestNode::start(build, "n2", &refs);
        let out = leaf.deliver(
            "c1",
            json!({"type": "broadcast", "message": 7, "msg_id": 1}),
        );
        assert!(out.iter().any(|s| s.dest == "n0"), "{out:?}");
        // Swapped before the hub acknowledged the batch.
        leaf.upgrade(build).unwrap();
        let out = leaf.deliver("c1", json!({"type": "read", "msg_id": 2}));
        assert_eq!(out[0].body["messages"], json!([7]));
        // Nobody acknowledges (the test plays no peer): the new version keeps
        // spreading the value from the carried state, as the old one would have.
        let resent = leaf.advance(10_000);
        assert!(
            resent
                .iter()
                .any(|s| s.dest.starts_with('n') && s.body["up"] == json!([7])),
            "{resent:?}"
        );
    }

    #[test]
    fn a_leaf_sends_up_to_the_hub_and_the_hub_batches_down() {
        let names = ids(4);
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut leaf = TestNode::start(|| node_with(Config::default()), "n2", &refs);
        let out = leaf.deliver(
            "c1",
            json!({"type": "broadcast", "message": 7, "msg_id": 1}),
        );
        let up: Vec<_> = out.iter().filter(|s| s.dest == "n0").collect();
        assert_eq!(up.len(), 1);
        assert_eq!(up[0].body["type"], "gossip");
        assert_eq!(up[0].body["up"], json!([7]));

        let mut hub = TestNode::start(|| node_with(Config::default()), "n0", &refs);
        let out = hub.deliver("n2", up[0].body.clone());
        assert!(out.is_empty(), "the hub waits for its period");
        let out = hub.advance(100);
        let mut dests: Vec<&str> = out.iter().map(|s| s.dest.as_str()).collect();
        dests.sort();
        assert_eq!(dests, ["n1", "n3"], "everyone but the value's source");
        assert!(out.iter().all(|s| s.body["down"] == json!([7])));

        // The leaf's batch is acknowledged alone, as the hub had nothing else for it.
        let out = hub.advance(1000);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].dest, "n2");
        assert_eq!(out[0].body["acks"], json!([0]));
        assert!(out[0].body.get("seq").is_none());
    }

    #[test]
    fn malformed_gossip_is_refused_not_panicked() {
        let mut t = TestNode::start(|| node_with(Config::default()), "n0", &["n0", "n1"]);
        let out = t.deliver("n1", json!({"type": "gossip", "up": "nope", "msg_id": 3}));
        assert_eq!(out[0].body["code"], 12);
    }
}
