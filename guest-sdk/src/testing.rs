//! Native unit tests for nodes: feed a node messages and timer firings, and look at
//! what it sent. No wasm, no host: `cargo test` in the challenge's crate.
//!
//! ```ignore
//! let mut t = TestNode::start(node, "n1", &["n1", "n2"]);
//! let out = t.deliver("c1", json!({"type": "echo", "echo": 7, "msg_id": 1}));
//! assert_eq!(out[0].body["echo"], 7);
//! ```

use crate::sys::{self, Effect};
use crate::Node;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One message the node sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub dest: String,
    pub body: Value,
}

/// A node running natively on this thread, with a virtual clock for its timers.
pub struct TestNode {
    now_ms: u64,
    /// timer id -> deadline
    timers: BTreeMap<u64, u64>,
}

impl TestNode {
    /// Builds the node and answers its `init` (the init_ok is not returned).
    pub fn start<S: 'static>(build: impl FnOnce() -> Node<S>, id: &str, ids: &[&str]) -> Self {
        crate::runtime::reset();
        build().install();
        let mut t = TestNode {
            now_ms: 0,
            timers: BTreeMap::new(),
        };
        t.deliver(
            "c0",
            json!({"type": "init", "msg_id": 0, "node_id": id, "node_ids": ids}),
        );
        t
    }

    /// Delivers a message and returns what the node sent in response.
    pub fn deliver(&mut self, src: &str, body: Value) -> Vec<Sent> {
        crate::runtime::on_message(src.to_string(), &body.to_string());
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
            crate::runtime::on_timer(id);
            out.extend(self.collect());
        }
        self.now_ms = until;
        out
    }

    fn collect(&mut self) -> Vec<Sent> {
        let mut sent = Vec::new();
        for e in sys::take() {
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
            }
        }
        sent
    }
}
