//! What a node asks of whoever runs it during one call (a message, a timer firing):
//! the one vocabulary shared by the SDK's native runtime, the harness, the host's
//! supervisor and its drivers, so no layer converts between copies of it.

/// One thing a node asked for while handling one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A message to `dest`; `body` is a JSON object text (on one line once the host
    /// has checked it).
    Send { dest: String, body: String },
    /// Fire timer `id` after `delay_ms` (replacing an armed timer of that id).
    SetTimer { id: u64, delay_ms: u64 },
    /// Forget timer `id`.
    CancelTimer { id: u64 },
    /// The node started over in a fresh instance (after a crash, or a swap that
    /// could not carry its state): every timer it had armed is gone.
    Restarted,
}
