//! A node as a plain native value, for simulations that hold many nodes on one
//! thread: give it a message or a timer firing, get back what it asked of its host.
//! No wasm, no host: the same handlers, ids, RPCs, timers and tasks as under the
//! glomers host, but clock and scheduling belong to whoever drives it. Its random
//! numbers come from its own seeded generator (so a seed replays a run exactly) and
//! its arguments from `new`, never from the test process.
//!
//! ```
//! use glomers::native::{Effect, NativeNode};
//! use glomers::prelude::*;
//!
//! fn node() -> Node<()> {
//!     Node::new(()).on("echo", |_, ctx, req: Request<Value>| {
//!         ctx.reply(&req, json!({"type": "echo_ok", "echo": req.body["echo"]}))
//!     })
//! }
//!
//! let mut n = NativeNode::new(node, &[] as &[&str], 42);
//! let mut out = Vec::new();
//! n.on_message("c0", r#"{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}"#, &mut out);
//! n.on_message("c1", r#"{"type":"echo","msg_id":2,"echo":7}"#, &mut out);
//! assert!(matches!(&out[1], Effect::Send { dest, body } if dest == "c1" && body.contains("echo_ok")));
//! ```

use crate::node::AnyNode;
use crate::runtime::Runtime;
use crate::sys::{self, Env};
use std::rc::Rc;

/// What a node asked of its host during one call: the harness's and the host's own
/// type (from `glomers-protocol`), so a simulation takes it as it comes. A native
/// node never produces `Effect::Restarted`: that is its supervisor's to say.
pub use protocol::Effect;

/// One node, driven by calls.
pub struct NativeNode {
    rt: Runtime,
    env: Rc<Env>,
}

impl NativeNode {
    /// Builds the node (`build` is what the challenge gives `main!`) with these guest
    /// arguments (`glomers::args()` inside it) and this seed for `glomers::random_u64()`.
    /// It knows its id once it is delivered `init`, as under Maelstrom.
    pub fn new<N: Into<AnyNode>>(
        build: impl FnOnce() -> N,
        args: &[impl AsRef<str>],
        seed: u64,
    ) -> Self {
        let env = Rc::new(Env::new(
            args.iter().map(|a| a.as_ref().to_string()).collect(),
            seed,
        ));
        let rt = {
            let _entered = sys::enter(&env);
            build().into().0
        };
        NativeNode { rt, env }
    }

    /// Delivers a message from `src` (its body as JSON text); appends what the node
    /// sent and armed to `effects`.
    pub fn on_message(&mut self, src: &str, body: &str, effects: &mut Vec<Effect>) {
        {
            let _entered = sys::enter(&self.env);
            self.rt.on_message(src.to_string(), body);
        }
        self.rt.host().drain_into(effects);
    }

    /// Fires timer `id` (as armed by an `Effect::SetTimer`); appends what the node
    /// sent and armed to `effects`.
    pub fn on_timer(&mut self, id: u64, effects: &mut Vec<Effect>) {
        {
            let _entered = sys::enter(&self.env);
            self.rt.on_timer(id);
        }
        self.rt.host().drain_into(effects);
    }

    /// What this node would hand its next version in a live swap (the `snapshot`
    /// export): `None` without `.handoff()` or before `init`.
    pub fn snapshot(&self) -> Option<Vec<u8>> {
        let _entered = sys::enter(&self.env);
        self.rt.snapshot()
    }

    /// Builds a node as `new` does and has it take over `state` (from `snapshot`) in
    /// place of `init`, as the `restore` export does in a live swap; what it armed or
    /// sent while taking over goes to `effects`. `Err` says why it refused the state.
    pub fn restore<N: Into<AnyNode>>(
        build: impl FnOnce() -> N,
        args: &[impl AsRef<str>],
        seed: u64,
        state: &[u8],
        effects: &mut Vec<Effect>,
    ) -> Result<Self, String> {
        let mut node = NativeNode::new(build, args, seed);
        node.take_over(state, effects)?;
        Ok(node)
    }

    /// Has this node, freshly built and not yet given `init`, take over `state` (from
    /// `snapshot`) in place of `init`: `restore` on a node already built.
    pub fn take_over(&mut self, state: &[u8], effects: &mut Vec<Effect>) -> Result<(), String> {
        {
            let _entered = sys::enter(&self.env);
            self.rt.restore(state)?;
        }
        self.rt.host().drain_into(effects);
        Ok(())
    }
}
