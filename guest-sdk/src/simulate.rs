//! SDK nodes in the real harness, natively: the same workloads, network, nemesis
//! and checkers as `host test`, with each node a [`NativeNode`] instead of a wasm
//! instance, on the simulation's clock and seeds. A challenge's `cargo test` runs
//! whole Maelstrom tests on many seeds in milliseconds. Opt-in (feature
//! `harness`), so the SDK a guest links knows nothing of the harness.
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
use harness::{Crash, Input, NodeSpec};
use std::panic::{catch_unwind, AssertUnwindSafe};

pub use harness::{Builder, Outcome, Valid};

/// One SDK node as the harness drives it. A panic in a handler is a crash, as a
/// trap is for a wasm node: the node starts over from `build`, is replayed its
/// `init`, and its timers are gone.
pub struct SimNode<F> {
    build: F,
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
            args: args.to_vec(),
            seed,
            node,
            init: None,
            crashes: 0,
            effects: Vec::new(),
        }
    }

    fn restart(&mut self) {
        // A new life draws new random numbers, as a restarted process would.
        self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        self.node = NativeNode::new(&self.build, &self.args, self.seed);
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
                effects.extend(self.effects.drain(..).map(|e| match e {
                    Effect::Send { dest, body } => harness::Effect::Send { dest, body },
                    Effect::SetTimer { id, delay_ms } => harness::Effect::SetTimer { id, delay_ms },
                    Effect::CancelTimer { id } => harness::Effect::CancelTimer { id },
                }));
                Ok(())
            }
            Err(panic) => {
                // All or nothing, as for a wasm node: a crashed call's sends are dropped.
                self.crashes += 1;
                self.restart();
                effects.push(harness::Effect::Restarted);
                let reason = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("a handler panicked");
                Err(Crash {
                    reason: format!("panicked: {reason}"),
                })
            }
        }
    }

    fn crashes(&self) -> u64 {
        self.crashes
    }
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

/// Runs `host test -w WORKLOAD OPTIONS` with `build` as every node, natively; the
/// run's files go under the system's temporary directory unless OPTIONS name a
/// `--store`.
pub fn test<N, F>(workload: &str, options: &str, build: F, args: &[&str]) -> anyhow::Result<Outcome>
where
    N: Into<AnyNode> + 'static,
    F: Fn() -> N + Clone + 'static,
{
    let mut b = Builder::new(workload);
    if !options.split_whitespace().any(|w| w == "--store") {
        b = b.store(std::env::temp_dir().join("glomers-simulate"));
    }
    b.options(options)
        .nodes("native SDK node", nodes(build, args))
        .run()
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
