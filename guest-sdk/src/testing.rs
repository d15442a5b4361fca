//! Native unit tests for one node: feed it messages and timer firings, and look at
//! what it sent. A `NativeNode` with a virtual clock for its timers; no wasm, no
//! host: `cargo test` in the challenge's crate.
//!
//! ```
//! use glomers::prelude::*;
//! use glomers::testing::TestNode;
//!
//! fn node() -> Node<()> {
//!     Node::new(()).on("echo", |_, ctx, req: Request<Value>| {
//!         ctx.reply(&req, json!({"type": "echo_ok", "echo": req.body["echo"]}))
//!     })
//! }
//!
//! let mut t = TestNode::start(node, "n1", &["n1", "n2"]);
//! let out = t.deliver("c1", json!({"type": "echo", "echo": 7, "msg_id": 1}));
//! assert_eq!(out[0].body["echo"], 7);
//! ```

use crate::native::{Effect, NativeNode};
use crate::node::AnyNode;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// One message the node sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub dest: String,
    pub body: Value,
}

/// A node running natively on this thread, with a virtual clock for its timers.
pub struct TestNode {
    node: NativeNode,
    now_ms: u64,
    /// timer id -> deadline
    timers: BTreeMap<u64, u64>,
    effects: Vec<Effect>,
}

/// Each `start` gets its own seed, so a node started twice (a restart) draws
/// different random numbers, as it would under the host.
static SEEDS: AtomicU64 = AtomicU64::new(1);

impl TestNode {
    /// Builds the node (no arguments) and answers its `init` (the init_ok is not
    /// returned).
    pub fn start<N: Into<AnyNode>>(build: impl FnOnce() -> N, id: &str, ids: &[&str]) -> Self {
        let seed = SEEDS.fetch_add(1, Ordering::Relaxed);
        Self::with_args(build, &[], seed).init(id, ids)
    }

    /// Builds the node with these guest arguments and random seed; it is not
    /// initialised yet (see `init`).
    pub fn with_args<N: Into<AnyNode>>(
        build: impl FnOnce() -> N,
        args: &[&str],
        seed: u64,
    ) -> Self {
        TestNode {
            node: NativeNode::new(build, args, seed),
            now_ms: 0,
            timers: BTreeMap::new(),
            effects: Vec::new(),
        }
    }

    /// Answers the node's `init` (the init_ok is not returned).
    pub fn init(mut self, id: &str, ids: &[&str]) -> Self {
        self.deliver(
            "c0",
            json!({"type": "init", "msg_id": 0, "node_id": id, "node_ids": ids}),
        );
        self
    }

    /// Swaps in a new version built by `build`, as a live swap does: it takes over the
    /// old version's state (`.handoff()` on both) and the timers armed stay armed
    /// (firing into the new version). Returns what it sent while taking over, or why
    /// the state could not be carried (the node is then unchanged).
    pub fn upgrade<N: Into<AnyNode>>(
        &mut self,
        build: impl FnOnce() -> N,
    ) -> Result<Vec<Sent>, String> {
        let state = self
            .node
            .snapshot()
            .ok_or("the old version hands no state over (no `.handoff()`?)")?;
        let seed = SEEDS.fetch_add(1, Ordering::Relaxed);
        self.node = NativeNode::restore(build, &[] as &[&str], seed, &state, &mut self.effects)?;
        Ok(self.collect())
    }

    /// Delivers a message and returns what the node sent in response.
    pub fn deliver(&mut self, src: &str, body: Value) -> Vec<Sent> {
        self.node
            .on_message(src, &body.to_string(), &mut self.effects);
        self.collect()
    }

    /// Moves the clock forward, firing due timers in order; returns what was sent.
    pub fn advance(&mut self, ms: u64) -> Vec<Sent> {
        let until = self.now_ms + ms;
        let mut out = Vec::new();
        loop {
            let next = self
                .timers
                .iter()
                .filter(|(_, &at)| at <= until)
                .min_by_key(|(&id, &at)| (at, id))
                .map(|(&id, &at)| (id, at));
            let Some((id, at)) = next else { break };
            self.timers.remove(&id);
            self.now_ms = at;
            self.node.on_timer(id, &mut self.effects);
            out.extend(self.collect());
        }
        self.now_ms = until;
        out
    }

    fn collect(&mut self) -> Vec<Sent> {
        let mut sent = Vec::new();
        for e in self.effects.drain(..) {
            match e {
                Effect::Send { dest, body } => sent.push(Sent {
                    dest,
                    body: serde_json::from_str(&body).unwrap_or(Value::Null),
                }),
                Effect::SetTimer { id, delay_ms } => {
                    self.timers.insert(id, self.now_ms + delay_ms);
                }
                Effect::CancelTimer { id } => {
                    self.timers.remove(&id);
                }
                // A bare node never starts over by itself; were it told to, its
                // timers would be gone.
                Effect::Restarted => self.timers.clear(),
            }
        }
        sent
    }
}
