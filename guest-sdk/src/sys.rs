//! The only place that meets the outside world. On wasm: the WIT imports, WASI's
//! random numbers and the process's arguments. Natively: each node records what it
//! asks of its host in its own effect list, and draws random numbers and reads its
//! arguments from its own environment, so many nodes can live on one thread and a
//! seed replays a run exactly.

/// Where a node's sends and timer requests go: one per node.
#[derive(Default)]
pub(crate) struct Host {
    #[cfg(not(target_arch = "wasm32"))]
    effects: std::cell::RefCell<Vec<protocol::Effect>>,
}

#[cfg(target_arch = "wasm32")]
impl Host {
    pub fn send(&self, dest: &str, body: &str) {
        crate::bindings::glomers::node::host::send(dest, body);
    }
    pub fn set_timer(&self, id: u64, delay_ms: u64) {
        crate::bindings::glomers::node::host::set_timer(id, delay_ms);
    }
    pub fn cancel_timer(&self, id: u64) {
        crate::bindings::glomers::node::host::cancel_timer(id);
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Host {
    pub fn send(&self, dest: &str, body: &str) {
        self.push(protocol::Effect::Send {
            dest: dest.to_string(),
            body: body.to_string(),
        });
    }
    pub fn set_timer(&self, id: u64, delay_ms: u64) {
        self.push(protocol::Effect::SetTimer { id, delay_ms });
    }
    pub fn cancel_timer(&self, id: u64) {
        self.push(protocol::Effect::CancelTimer { id });
    }
    fn push(&self, e: protocol::Effect) {
        self.effects.borrow_mut().push(e);
    }
    /// Moves everything recorded so far to the end of `out`.
    pub fn drain_into(&self, out: &mut Vec<protocol::Effect>) {
        out.append(&mut self.effects.borrow_mut());
    }
}

/// A random u64: WASI random on wasm (seeded by the harness, real under `host run`).
#[cfg(target_arch = "wasm32")]
pub fn random_u64() -> u64 {
    os_random()
}

/// The guest's arguments, without the program name.
#[cfg(target_arch = "wasm32")]
pub fn args() -> Vec<String> {
    std::env::args().skip(1).collect()
}

fn os_random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // std seeds RandomState from the platform's random source; each new one differs.
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use native_env::*;

/// Natively, the free functions `glomers::random_u64()` and `glomers::args()` (which
/// a node calls while it is built or handles something, with no `Ctx` at hand) read
/// the environment of the node running right now: `NativeNode` enters it for the
/// length of each call. The environment itself belongs to the node.
#[cfg(not(target_arch = "wasm32"))]
mod native_env {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    /// A node's arguments and its random number generator (`protocol::SplitMix64`'s
    /// state).
    pub(crate) struct Env {
        pub args: Vec<String>,
        rng: Cell<u64>,
    }

    impl Env {
        pub fn new(args: Vec<String>, seed: u64) -> Self {
            Env {
                args,
                rng: Cell::new(seed),
            }
        }
        pub fn next_u64(&self) -> u64 {
            let mut r = protocol::SplitMix64(self.rng.get());
            let v = r.next_u64();
            self.rng.set(r.0);
            v
        }
    }

    thread_local! {
        static CURRENT: RefCell<Option<Rc<Env>>> = const { RefCell::new(None) };
    }

    /// Makes `env` the running node's until the guard is dropped (then the previous
    /// one, if a node was driven from inside another's handler, is back).
    pub(crate) fn enter(env: &Rc<Env>) -> Entered {
        Entered(CURRENT.with(|c| c.replace(Some(env.clone()))))
    }

    pub(crate) struct Entered(Option<Rc<Env>>);

    impl Drop for Entered {
        fn drop(&mut self) {
            let prev = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = prev);
        }
    }

    /// The running node's next random number; outside any node, a fresh random one.
    pub fn random_u64() -> u64 {
        CURRENT
            .with(|c| c.borrow().as_ref().map(|e| e.next_u64()))
            .unwrap_or_else(super::os_random)
    }

    /// The running node's arguments; outside any node, none (a test binary's own
    /// arguments are not a node's).
    pub fn args() -> Vec<String> {
        CURRENT
            .with(|c| c.borrow().as_ref().map(|e| e.args.clone()))
            .unwrap_or_default()
    }
}
