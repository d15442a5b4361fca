//! # glomers: write Maelstrom nodes in Rust, run them as WebAssembly components
//!
//! A node is a [`Node`]: some state plus a handler per message type. The SDK answers
//! `init`, replies error 10 to unknown message types and error 12 to bodies that do
//! not decode, and turns a handler's `Err` into an error reply.
//!
//! ```ignore
//! use glomers::prelude::*;
//!
//! #[derive(Deserialize)]
//! struct Echo { echo: Value }
//!
//! glomers::main!(|| {
//!     Node::new(()).on("echo", |_, ctx, req: Request<Echo>| {
//!         ctx.reply(&req, json!({"type": "echo_ok", "echo": req.body.echo}))
//!     })
//! });
//! ```

mod error;
pub mod kv;
mod message;
mod node;
mod runtime;
mod sys;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use error::{code, Error, Result};
pub use kv::Kv;
pub use message::{Request, Response};
pub use node::{Ctx, Node, TimerId};

/// Everything a challenge usually needs, in one `use`.
pub mod prelude {
    pub use crate::{Ctx, Error, Kv, Node, Request, Response, Result};
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::{json, Value};
    pub use std::time::Duration;
}

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "node",
        pub_export_macro: true,
        export_macro_name: "export_node",
        default_bindings_module: "glomers::bindings",
    });
}

/// The plumbing `main!` expands to.
#[doc(hidden)]
pub mod __rt {
    /// The export `on-message`: builds the node on first use, then dispatches.
    pub fn on_message<S: 'static>(
        src: String,
        body: String,
        build: impl FnOnce() -> crate::Node<S>,
    ) {
        if !crate::runtime::installed() {
            build().install();
        }
        crate::runtime::on_message(src, &body);
    }
    /// The export `on-timer`.
    pub fn on_timer(id: u64) {
        crate::runtime::on_timer(id);
    }
}

/// Declares the component's node: `glomers::main!(|| Node::new(state).on(...))`.
/// The closure runs once, before the first message.
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
        }
        $crate::bindings::export_node!(GlomersNode with_types_in $crate::bindings);
    };
}

/// A random u64 from the host (WASI random: seeded by the harness, real under `host run`).
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // std seeds RandomState from WASI's random source; each new one differs.
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}
