//! Maelstrom's error codes and the error type handlers return: the one home of the
//! codes, their names and which are definite (the host mirrors this table).
//!
//! A handler that returns `Err(e)` makes the SDK reply `{"type":"error","code":..}` to
//! the request, so the code decides how a client judges the operation: a *definite*
//! error says the operation certainly did not happen (and never will), an indefinite
//! one that it may have happened, or may still.

use std::fmt;

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

/// An error with a Maelstrom code, as replied to clients or received from an RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: u32,
    pub text: String,
}

impl Error {
    pub fn new(code: u32, text: impl Into<String>) -> Self {
        Error {
            code,
            text: text.into(),
        }
    }
    pub fn timeout(text: impl Into<String>) -> Self {
        Self::new(code::TIMEOUT, text)
    }
    pub fn node_not_found(text: impl Into<String>) -> Self {
        Self::new(code::NODE_NOT_FOUND, text)
    }
    pub fn not_supported(text: impl Into<String>) -> Self {
        Self::new(code::NOT_SUPPORTED, text)
    }
    pub fn temporarily_unavailable(text: impl Into<String>) -> Self {
        Self::new(code::TEMPORARILY_UNAVAILABLE, text)
    }
    pub fn malformed(text: impl Into<String>) -> Self {
        Self::new(code::MALFORMED_REQUEST, text)
    }
    pub fn crash(text: impl Into<String>) -> Self {
        Self::new(code::CRASH, text)
    }
    pub fn abort(text: impl Into<String>) -> Self {
        Self::new(code::ABORT, text)
    }
    pub fn key_does_not_exist(text: impl Into<String>) -> Self {
        Self::new(code::KEY_DOES_NOT_EXIST, text)
    }
    pub fn key_already_exists(text: impl Into<String>) -> Self {
        Self::new(code::KEY_ALREADY_EXISTS, text)
    }
    pub fn precondition_failed(text: impl Into<String>) -> Self {
        Self::new(code::PRECONDITION_FAILED, text)
    }
    pub fn txn_conflict(text: impl Into<String>) -> Self {
        Self::new(code::TXN_CONFLICT, text)
    }

    /// True when the operation certainly did not take place (see [`code`]).
    pub fn is_definite(&self) -> bool {
        code::is_definite(self.code)
    }

    /// The body of an error reply.
    pub(crate) fn to_body(&self) -> serde_json::Value {
        serde_json::json!({"type": "error", "code": self.code, "text": self.text})
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error {}: {}", self.code, self.text)
    }
}

impl std::error::Error for Error {}

/// Bodies that fail to decode are malformed requests.
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::malformed(e.to_string())
    }
}

/// What handlers return.
pub type Result<T = (), E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::code;

    #[test]
    fn definite_codes_are_maelstroms() {
        let definite: Vec<u32> = (0..2000).filter(|&c| code::is_definite(c)).collect();
        assert_eq!(definite, [1, 10, 11, 12, 14, 20, 21, 22, 30]);
        assert!(!code::is_definite(code::TIMEOUT));
        assert!(!code::is_definite(code::CRASH));
        assert_eq!(code::name(22), "precondition-failed");
        assert_eq!(code::name(1005), "unknown");
    }
}
