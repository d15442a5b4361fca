//! Maelstrom's error codes and the error type handlers return.
//!
//! A handler that returns `Err(e)` makes the SDK reply `{"type":"error","code":..}` to
//! the request, so the code decides how a client judges the operation (definite or not).

use std::fmt;

/// Maelstrom's standard error codes (see Maelstrom's protocol documentation).
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
    pub fn precondition_failed(text: impl Into<String>) -> Self {
        Self::new(code::PRECONDITION_FAILED, text)
    }
    pub fn txn_conflict(text: impl Into<String>) -> Self {
        Self::new(code::TXN_CONFLICT, text)
    }

    /// True when the operation certainly did not take place (Maelstrom's definite
    /// errors); timeouts and crashes are indefinite.
    pub fn is_definite(&self) -> bool {
        !matches!(self.code, code::TIMEOUT | code::CRASH) && self.code < 1000
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
