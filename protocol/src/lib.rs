//! Facts of Maelstrom's protocol that more than one crate needs: the error codes,
//! their names and whether each is definite. The SDK replies with them and the
//! harness judges operations by them, so they must agree: this is their one home.
//! No dependencies, so it builds for guests and hosts alike. Also here, for the same
//! reason: [`Effect`], what a node asks of whoever runs it, which the SDK's native
//! runtime produces and the harness and the host consume; and [`SplitMix64`], the one
//! seeded generator all of them draw from.

mod effect;
mod splitmix;
pub use effect::Effect;
pub use splitmix::{SplitMix64, GOLDEN_GAMMA};

/// Maelstrom's standard error codes, as defined by `deferror` in Maelstrom's
/// `client.clj`, `workload/lin_kv.clj` and `workload/txn_list_append.clj` (its
/// `doc/protocol.md` is generated from them).
///
/// Definite: 1, 10, 11, 12, 14, 20, 21, 22, 30. Indefinite: 0 (timeout), 13 (crash),
/// and every code Maelstrom does not define (its client treats an unknown code as
/// indefinite; codes from 1000 up are free for a node's own use).
pub mod code {
    /// Definite: no. The operation did not complete within a timeout; it may or may
    /// not have happened.
    pub const TIMEOUT: u32 = 0;
    /// Definite: yes. The destination node does not exist.
    pub const NODE_NOT_FOUND: u32 = 1;
    /// Definite: yes. The node does not support this kind of request.
    pub const NOT_SUPPORTED: u32 = 10;
    /// Definite: yes. The operation cannot be performed at this time (not
    /// initialised, no quorum...). Never use it when the operation may have happened.
    pub const TEMPORARILY_UNAVAILABLE: u32 = 11;
    /// Definite: yes. The request did not conform to what the node expects, and could
    /// not possibly have been processed.
    pub const MALFORMED_REQUEST: u32 = 12;
    /// Definite: no. A general, indefinite error: the node crashed, or something
    /// happened that cannot be classified; the outcome is unknown.
    pub const CRASH: u32 = 13;
    /// Definite: yes. A general, definite error: the operation has not taken place.
    pub const ABORT: u32 = 14;
    /// Definite: yes. The key does not exist.
    pub const KEY_DOES_NOT_EXIST: u32 = 20;
    /// Definite: yes. The key already exists and the node will not overwrite it.
    pub const KEY_ALREADY_EXISTS: u32 = 21;
    /// Definite: yes. A precondition (such as a compare-and-set's `from`) failed.
    pub const PRECONDITION_FAILED: u32 = 22;
    /// Definite: yes. The transaction was aborted because of a conflict.
    pub const TXN_CONFLICT: u32 = 30;

    /// Whether an error with this code means the operation certainly did not happen.
    pub const fn is_definite(code: u32) -> bool {
        matches!(
            code,
            NODE_NOT_FOUND
                | NOT_SUPPORTED
                | TEMPORARILY_UNAVAILABLE
                | MALFORMED_REQUEST
                | ABORT
                | KEY_DOES_NOT_EXIST
                | KEY_ALREADY_EXISTS
                | PRECONDITION_FAILED
                | TXN_CONFLICT
        )
    }

    /// Maelstrom's name for a code ("unknown" for codes it does not define).
    pub const fn name(code: u32) -> &'static str {
        match code {
            TIMEOUT => "timeout",
            NODE_NOT_FOUND => "node-not-found",
            NOT_SUPPORTED => "not-supported",
            TEMPORARILY_UNAVAILABLE => "temporarily-unavailable",
            MALFORMED_REQUEST => "malformed-request",
            CRASH => "crash",
            ABORT => "abort",
            KEY_DOES_NOT_EXIST => "key-does-not-exist",
            KEY_ALREADY_EXISTS => "key-already-exists",
            PRECONDITION_FAILED => "precondition-failed",
            TXN_CONFLICT => "txn-conflict",
            _ => "unknown",
        }
    }
}

/// Maelstrom's name for `code`, or "unknown" for a code it does not define.
pub fn name(code: u32) -> &'static str {
    code::name(code)
}

/// Whether an error with `code` means the operation certainly did not take place.
/// Codes Maelstrom does not define are indefinite, as it treats them.
pub fn is_definite(code: u32) -> bool {
    code::is_definite(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_timeouts_crashes_and_unknown_codes_are_indefinite() {
        let indefinite: Vec<u32> = (0..100).filter(|&c| !is_definite(c)).collect();
        assert_eq!(
            indefinite.iter().take(2).copied().collect::<Vec<_>>(),
            [0, 2]
        );
        assert!(!is_definite(code::CRASH));
        assert!(is_definite(code::TXN_CONFLICT));
        assert_eq!(name(code::PRECONDITION_FAILED), "precondition-failed");
        assert_eq!(name(1000), "unknown");
    }
}
