//! # glomers: write Maelstrom nodes in Rust, run them as WebAssembly components
//!
//! A node is a [`Node`]: some state plus a handler per message type. The SDK answers
//! `init`, replies error 10 to unknown message types and error 12 to bodies that do
//! not decode, and turns a handler's `Err` into an error reply.
//!
//! ```
//! use glomers::prelude::*;
//!
//! #[derive(Deserialize)]
//! struct Echo { echo: Value }
//!
//! #[derive(Serialize)]
//! #[serde(tag = "type", rename = "echo_ok")]
//! struct EchoOk { echo: Value }
//!
//! fn node() -> Node<()> {
//!     Node::new(()).on("echo", |_, ctx, req: Request<Echo>| {
//!         ctx.reply(&req, EchoOk { echo: req.body.echo.clone() })
//!     })
//! }
//!
//! glomers::main!(node);
//! ```
//!
//! Each node's machinery (ids, pending RPCs, timers, tasks) is a value it owns: under
//! the host the component's one instance holds one; natively [`native::NativeNode`]
//! is one, so a simulation can run many nodes on one thread.

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExamples;

mod args;
mod error;
pub mod kv;
mod message;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
mod node;
mod runtime;
#[cfg(all(feature = "harness", not(target_arch = "wasm32")))]
pub mod simulate;
mod sys;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use args::{args, Args};
pub use error::{code, Error, Result};
pub use kv::Kv;
pub use message::{Request, Response};
pub use node::{AnyNode, Ctx, Node, TimerId};

/// Everything a challenge usually needs, in one `use`.
pub mod prelude {
    pub use crate::{Args, Ctx, Error, Kv, Node, Request, Response, Result};
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::{json, Value};
    pub use std::time::Duration;
}

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        // `handoff` includes `node`: every SDK node exports snapshot/restore (a node
        // without `.handoff()` snapshots nothing and starts fresh after a swap).
        world: "handoff",
        pub_export_macro: true,
        export_macro_name: "export_node",
        default_bindings_module: "glomers::bindings",
    });
}

/// The plumbing `main!` expands to: the component's one node lives in this slot.
#[doc(hidden)]
pub mod __rt {
    use crate::runtime::Runtime;
    use std::cell::OnceCell;

    thread_local! {
        static NODE: OnceCell<Runtime> = const { OnceCell::new() };
    }

    /// The export `on-message`: builds the node on first use, then dispatches.
    pub fn on_message<N: Into<crate::AnyNode>>(
        src: String,
        body: String,
        build: impl FnOnce() -> N,
    ) {
        NODE.with(|n| n.get_or_init(|| build().into().0).on_message(src, &body));
    }

    /// The export `snapshot`: the node's state for its next version, if it hands one over.
    pub fn snapshot() -> Option<Vec<u8>> {
        NODE.with(|n| n.get().and_then(Runtime::snapshot))
    }

    /// The export `restore`: builds the node, then takes over a previous version's state.
    pub fn restore<N: Into<crate::AnyNode>>(
        state: Vec<u8>,
        build: impl FnOnce() -> N,
    ) -> Result<(), String> {
        NODE.with(|n| n.get_or_init(|| build().into().0).restore(&state))
    }

    /// The export `on-timer` (a timer exists only once the node does).
    pub fn on_timer(id: u64) {
        NODE.with(|n| {
            if let Some(rt) = n.get() {
                rt.on_timer(id);
            }
        });
    }
}

/// Declares the component's node: `glomers::main!(node)` with `fn node() -> Node<S>`
/// (or anything `Into<AnyNode>`). It is built once, before the first message.
#[macro_export]
macro_rules! main {
    ($build:expr) => {
        struct GlomersNode;
        impl $crate::bindings::Guest for GlomersNode {
            fn on_message(src: String, body: String) {
                $crate::__rt::on_message(src, body, $build)
            }
            fn on_timer(id: u64) {
                $crate::__rt::on_timer(id)
            }
            fn snapshot() -> Option<Vec<u8>> {
                $crate::__rt::snapshot()
            }
            fn restore(state: Vec<u8>) -> Result<(), String> {
                $crate::__rt::restore(state, $build)
            }
        }
        $crate::bindings::export_node!(GlomersNode with_types_in $crate::bindings);
    };
}

/// A random u64: WASI random on wasm (seeded by the harness, real under `host run`);
/// natively, the next number of the running `NativeNode`'s seeded generator.
pub fn random_u64() -> u64 {
    sys::random_u64()
}
