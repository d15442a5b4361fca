//! SDK nodes in the real harness, natively: the same workloads, network, nemesis
//! and checkers as `host test`, with each node a [`NativeNode`] instead of a wasm
//! instance, on the simulation's clock and seeds. A challenge's `cargo test` runs
//! whole Maelstrom tests on many seeds in milliseconds. Opt-in (feature
//! `harness`), so the SDK a guest links knows nothing of the harness. With
//! [`upgrading`] and `--upgrade`, the harness's rolling upgrade switches each node
//! to a second build function, carrying its state as a live swap does.
//!
//! ```
//! use glomers::prelude::*;
//!
//! fn node() -> Node<()> {
//!     Node::new(()).on("echo", |_, ctx, req: Request<Value>| {
//!         ctx.reply(&req, json!({"type": "echo_ok", "echo": req.body["echo"]}))
//!     })
//! }
//!
//! let outcome = glomers::simulate::test("echo", "--node-count 3 --time-limit 5 --seed 1", node, &[])?;
//! assert!(outcome.is_valid(), "{:?}", outcome.problems);
//! # anyhow::Ok(())
//! ```

use crate::native::{Effect, NativeNode};
use crate::node::AnyNode;
use harness::{Crash, Input, NodeSpec, UpgradeInfo};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Instant;

pub use harness::{Builder, Outcome, Valid};

/// One SDK node as the harness drives it. A panic in a handler is a crash, as a
/// trap is for a wasm node: the node starts over from `build`, is replayed its
/// `init`, and its timers are gone.
pub struct SimNode<F> {
    build: F,
    /// The version an upgrade switches to.
    next: Option<Rc<dyn Fn() -> AnyNode>>,
    /// Whether it runs `next` (a crash then starts it over from `next`).
    upgraded: bool,
    args: Vec<String>,
    seed: u64,
    node: NativeNode,
    init: Option<(String, String)>,
    crashes: u64,
    effects: Vec<Effect>,
}

impl<N: Into<AnyNode>, F: Fn() -> N> SimNode<F> {
    pub fn new(build: F, args: &[String], seed: u64) -> Self {
        let node = NativeNode::new(&build, args, seed);
        SimNode {
            build,
            next: None,
            upgraded: false,
            args: args.to_vec(),
            seed,
            node,
            init: None,
            crashes: 0,
            effects: Vec::new(),
        }
    }

    /// A node that can be upgraded to `next` (`--upgrade`); as `next` already if
    /// `upgraded` (the roll reached it while it was down).
    pub fn upgrading(mut self, next: Rc<dyn Fn() -> AnyNode>, upgraded: bool) -> Self {
        if upgraded {
            self.node = NativeNode::new(|| next(), &self.args, self.seed);
        }
        self.next = Some(next);
        self.upgraded = upgraded;
        self
    }

    /// A new instance of the version it runs.
    fn fresh(&self) -> NativeNode {
        match (&self.next, self.upgraded) {
            (Some(next), true) => NativeNode::new(|| next(), &self.args, self.seed),
            _ => NativeNode::new(&self.build, &self.args, self.seed),
        }
    }

    /// A new life draws new random numbers, as a restarted process would.
    fn next_seed(&mut self) {
        self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    }

    fn restart(&mut self) {
        self.next_seed();
        self.node = self.fresh();
        if let Some((src, body)) = &self.init {
            let mut ignored = Vec::new();
            let node = &mut self.node;
            // A node that panics in init again stays as it is; the next event tells.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                node.on_message(src, body, &mut ignored)
            }));
        }
    }
}

impl<N: Into<AnyNode>, F: Fn() -> N> harness::Node for SimNode<F> {
    fn handle(
        &mut self,
        _now_ns: u64,
        input: Input<'_>,
        effects: &mut Vec<harness::Effect>,
    ) -> Result<(), Crash> {
        self.effects.clear();
        let node = &mut self.node;
        let out = &mut self.effects;
        let r = catch_unwind(AssertUnwindSafe(|| match input {
            Input::Message { src, body } => node.on_message(src, body, out),
            Input::Timer { id } => node.on_timer(id, out),
        }));
        if let (Input::Message { src, body }, None) = (input, &self.init) {
            if is_init(body) {
                self.init = Some((src.to_string(), body.to_string()));
            }
        }
        match r {
            Ok(()) => {
                effects.extend(self.effects.drain(..).map(harness_effect));
                Ok(())
            }
            Err(panic) => {
                // All or nothing, as for a wasm node: a crashed call's sends are dropped.
                self.crashes += 1;
                self.restart();
                effects.push(harness::Effect::Restarted);
                Err(Crash {
                    reason: format!("panicked: {}", panic_text(&panic)),
                })
            }
        }
    }

    fn crashes(&self) -> u64 {
        self.crashes
    }

    /// As a live swap: the old version's snapshot restored into the new one; without
    /// a snapshot (no `.handoff()`, or a restore that refuses it) the new version
    /// starts afresh with the replayed `init`. A panic while taking over leaves the
    /// old version running.
    fn upgrade(
        &mut self,
        _now_ns: u64,
        effects: &mut Vec<harness::Effect>,
    ) -> Result<UpgradeInfo, String> {
        let Some(next) = self.next.clone().filter(|_| !self.upgraded) else {
            return Err("this node has no newer version to switch to".into());
        };
        let started = Instant::now();
        let seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let mut out = Vec::new();
        let mut fresh_because = None;
        let restored = match self.node.snapshot() {
            Some(state) => {
                let args = &self.args;
                let r = catch_unwind(AssertUnwindSafe(|| {
                    NativeNode::restore(|| next(), args, seed, &state, &mut out)
                }));
                match r {
                    Ok(Ok(node)) => Some(node),
                    Ok(Err(why)) => {
                        fresh_because = Some(format!(
                            "the new version's restore refused the state: {why}"
                        ));
                        None
                    }
                    Err(panic) => {
                        return Err(format!(
                            "the new version panicked in restore: {}",
                            panic_text(&panic)
                        ))
                    }
                }
            }
            None => {
                fresh_because = Some("the old version hands no state over (no .handoff())".into());
                None
            }
        };
        let state_carried = restored.is_some();
        let node = match restored {
            Some(node) => node,
            None => {
                out.clear();
                let mut node = NativeNode::new(|| next(), &self.args, seed);
                if let Some((src, body)) = &self.init {
                    let r = catch_unwind(AssertUnwindSafe(|| node.on_message(src, body, &mut out)));
                    if let Err(panic) = r {
                        return Err(format!(
                            "the new version panicked handling the replayed init: {}",
                            panic_text(&panic)
                        ));
                    }
                    // Its init_ok went out long ago; the timers it armed stay.
                    out.retain(|e| !matches!(e, Effect::Send { .. }));
                }
                effects.push(harness::Effect::Restarted);
                node
            }
        };
        self.node = node;
        self.seed = seed;
        self.upgraded = true;
        effects.extend(out.into_iter().map(harness_effect));
        Ok(UpgradeInfo {
            from: "build".into(),
            to: "upgrade".into(),
            state_carried,
            fresh_because: fresh_because.filter(|_| !state_carried),
            pause: started.elapsed(),
        })
    }
}

fn harness_effect(e: Effect) -> harness::Effect {
    match e {
        Effect::Send { dest, body } => harness::Effect::Send { dest, body },
        Effect::SetTimer { id, delay_ms } => harness::Effect::SetTimer { id, delay_ms },
        Effect::CancelTimer { id } => harness::Effect::CancelTimer { id },
    }
}

/// What a panic said, if it said it in words.
fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> &str {
    panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a handler panicked")
}

/// The harness's node factory for `build` with guest arguments `args`: every node
/// (and every restart after a kill) a fresh native node with the simulation's seed.
pub fn nodes<N, F>(build: F, args: &[&str]) -> harness::NodeFactory
where
    N: Into<AnyNode> + 'static,
    F: Fn() -> N + Clone + 'static,
{
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    Box::new(move |spec: &NodeSpec| {
        Ok(Box::new(SimNode::new(build.clone(), &args, spec.seed)) as Box<dyn harness::Node>)
    })
}

/// As [`nodes`], with `next` as the version a rolling upgrade (`--upgrade LABEL`)
/// switches each node to: its state carried over if both versions `.handoff()`.
pub fn upgrading<N, F, M, G>(build: F, next: G, args: &[&str]) -> harness::NodeFactory
where
    N: Into<AnyNode> + 'static,
    F: Fn() -> N + Clone + 'static,
    M: Into<AnyNode> + 'static,
    G: Fn() -> M + 'static,
{
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let next: Rc<dyn Fn() -> AnyNode> = Rc::new(move || next().into());
    Box::new(move |spec: &NodeSpec| {
        let node =
            SimNode::new(build.clone(), &args, spec.seed).upgrading(next.clone(), spec.upgraded);
        Ok(Box::new(node) as Box<dyn harness::Node>)
    })
}

/// Runs `host test -w WORKLOAD OPTIONS` with `build` as every node, natively. The
/// run's files (logs, history, report) go under the system's temporary directory
/// unless OPTIONS name a `--store`, and there they are kept only for a run that is not
/// valid (its summary names the directory): a test of hundreds of seeds leaves only
/// what a person needs to look at.
pub fn test<N, F>(workload: &str, options: &str, build: F, args: &[&str]) -> anyhow::Result<Outcome>
where
    N: Into<AnyNode> + 'static,
    F: Fn() -> N + Clone + 'static,
{
    let own_store = options.split_whitespace().any(|w| w == "--store");
    let mut b = Builder::named(workload)?;
    if !own_store {
        b = b.store(std::env::temp_dir().join("glomers-simulate"));
    }
    let outcome = b
        .options(options)
        .nodes("native SDK node", nodes(build, args))
        .run()?;
    if !own_store && outcome.is_valid() {
        let _ = std::fs::remove_dir_all(&outcome.wall.logs);
    }
    Ok(outcome)
}

/// Whether a message body is Maelstrom's `init`.
fn is_init(body: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(rename = "type", borrow)]
        kind: Option<&'a str>,
    }
    serde_json::from_str::<Head>(body).is_ok_and(|h| h.kind == Some("init"))
}

#[cfg(test)]
mod tests {
    // A flooding broadcast whose set lives in memory: a rolling upgrade keeps it
    // valid only if the set crosses the switch.
    use crate::prelude::*;
    use std::collections::BTreeSet;

    #[derive(Serialize, Deserialize, Default)]
    struct Seen {
        values: BTreeSet<u64>,
    }

    fn flood(handoff: bool) -> Node<Seen> {
        let node = Node::new(Seen::default())
            .on("topology", |_, ctx, req: Request<Value>| {
                ctx.reply(&req, json!({"type": "topology_ok"}))
            })
            .on("broadcast", |s, ctx, req: Request<Value>| {
                let v = req.body["message"].as_u64().unwrap_or(0);
                if s.values.insert(v) {
                    for peer in ctx.peers() {
                        ctx.send(&peer, json!({"type": "gossip", "message": v}))?;
                    }
                }
                ctx.reply(&req, json!({"type": "broadcast_ok"}))
            })
            .on("gossip", |s, _, req: Request<Value>| {
                s.values.insert(req.body["message"].as_u64().unwrap_or(0));
                Ok(())
            })
            .on("read", |s, ctx, req: Request<Value>| {
                ctx.reply(&req, json!({"type": "read_ok", "messages": s.values}))
            });
        if handoff {
            node.handoff()
        } else {
            node
        }
    }

    fn run(next_hands_over: bool, seed: u64) -> super::Outcome {
        let next = move || flood(next_hands_over);
        super::Builder::new(harness::Workload::Broadcast)
            .options("--node-count 3 --time-limit 10 --rate 20 --upgrade v2 --upgrade-at 2")
            .seed(seed)
            .store(std::env::temp_dir().join("glomers-simulate-upgrade"))
            .nodes("flood", super::upgrading(|| flood(true), next, &[]))
            .run()
            .unwrap()
    }

    #[test]
    fn the_state_crosses_a_rolling_upgrade_when_both_versions_hand_over() {
        for seed in 1..=20 {
            let o = run(true, seed);
            assert!(o.is_valid(), "seed {seed}: {:?}", o.problems);
            let u = o.upgrade.as_ref().unwrap();
            assert_eq!(u.counts(), (3, 3), "seed {seed}: {u:?}");
        }
    }

    #[test]
    fn a_new_version_without_handoff_starts_afresh_and_loses_what_it_knew() {
        let o = run(false, 1);
        let u = o.upgrade.as_ref().unwrap();
        assert_eq!(u.counts(), (3, 0));
        assert!(
            u.nodes.iter().all(|n| n
                .fresh_because
                .as_deref()
                .is_some_and(|w| w.contains("does not take state over"))),
            "{u:?}"
        );
        assert!(
            !o.is_valid(),
            "the values broadcast before the switch are gone"
        );
    }
}
