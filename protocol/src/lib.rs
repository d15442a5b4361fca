//! Facts of Maelstrom's protocol that more than one crate needs: the error codes,
//! their names and whether each is definite. The SDK replies with them and the
//! harness judges operations by them, so they must agree: this is their one home.
//! No dependencies, so it builds for guests and hosts alike.

/// Maelstrom's standard error codes (Maelstrom's `doc/protocol.md`).
pub mod code {
    /// The request timed out; the operation may or may not have happened.
    pub const TIMEOUT: u32 = 0;
    /// The destination node does not exist.
    pub const NODE_NOT_FOUND: u32 = 1;
    /// The node does not support this kind of request.
    pub const NOT_SUPPORTED: u32 = 10;
    /// The operation definitely did not happen; try again later.
    pub const TEMPORARILY_UNAVAILABLE: u32 = 11;
    /// The request was malformed.
    pub const MALFORMED_REQUEST: u32 = 12;
    /// The node crashed while handling the request; the outcome is unknown.
    pub const CRASH: u32 = 13;
    /// The operation definitely did not happen (aborted).
    pub const ABORT: u32 = 14;
    /// The key does not exist.
    pub const KEY_DOES_NOT_EXIST: u32 = 20;
    /// The key already exists.
    pub const KEY_ALREADY_EXISTS: u32 = 21;
    /// A precondition (such as a compare-and-set's `from`) failed.
    pub const PRECONDITION_FAILED: u32 = 22;
    /// A transaction conflicted and was aborted.
    pub const TXN_CONFLICT: u32 = 30;
}

/// Each standard code, its name as Maelstrom prints it, and whether it is definite
/// (the operation certainly did not happen).
const CODES: &[(u32, &str, bool)] = &[
    (code::TIMEOUT, "timeout", false),
    (code::NODE_NOT_FOUND, "node-not-found", true),
    (code::NOT_SUPPORTED, "not-supported", true),
    (
        code::TEMPORARILY_UNAVAILABLE,
        "temporarily-unavailable",
        true,
    ),
    (code::MALFORMED_REQUEST, "malformed-request", true),
    (code::CRASH, "crash", false),
    (code::ABORT, "abort", true),
    (code::KEY_DOES_NOT_EXIST, "key-does-not-exist", true),
    (code::KEY_ALREADY_EXISTS, "key-already-exists", true),
    (code::PRECONDITION_FAILED, "precondition-failed", true),
    (code::TXN_CONFLICT, "txn-conflict", true),
];

/// Maelstrom's name for `code`, or "unknown" for a code it does not define.
pub fn name(code: u32) -> &'static str {
    CODES
        .iter()
        .find(|c| c.0 == code)
        .map_or("unknown", |c| c.1)
}

/// Whether an error with `code` means the operation certainly did not take place.
/// Codes Maelstrom does not define are indefinite, as it treats them.
pub fn is_definite(code: u32) -> bool {
    CODES.iter().find(|c| c.0 == code).is_some_and(|c| c.2)
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
