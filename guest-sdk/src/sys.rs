//! The only place that calls the host: on wasm, the WIT imports; natively, a
//! thread-local record so nodes can be unit-tested with `cargo test`.

#[cfg(target_arch = "wasm32")]
mod imp {
    use crate::bindings::glomers::node::host;

    pub fn send(dest: &str, body: &str) {
        host::send(dest, body);
    }
    pub fn set_timer(id: u64, delay_ms: u64) {
        host::set_timer(id, delay_ms);
    }
    pub fn cancel_timer(id: u64) {
        host::cancel_timer(id);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::cell::RefCell;

    /// What a node asked of the host, recorded for native tests.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Effect {
        Send { dest: String, body: String },
        SetTimer { id: u64, delay_ms: u64 },
        CancelTimer { id: u64 },
    }

    thread_local! {
        static EFFECTS: RefCell<Vec<Effect>> = const { RefCell::new(Vec::new()) };
    }

    pub fn send(dest: &str, body: &str) {
        push(Effect::Send {
            dest: dest.to_string(),
            body: body.to_string(),
        });
    }
    pub fn set_timer(id: u64, delay_ms: u64) {
        push(Effect::SetTimer { id, delay_ms });
    }
    pub fn cancel_timer(id: u64) {
        push(Effect::CancelTimer { id });
    }
    fn push(e: Effect) {
        EFFECTS.with(|v| v.borrow_mut().push(e));
    }
    /// Takes every effect recorded so far.
    pub fn take() -> Vec<Effect> {
        EFFECTS.with(|v| std::mem::take(&mut *v.borrow_mut()))
    }
}

pub use imp::*;
