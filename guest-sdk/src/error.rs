//! The error type handlers return, with Maelstrom's error codes (whose one home is
//! the `glomers-protocol` crate, shared with the harness).
//!
//! A handler that returns `Err(e)` makes the SDK reply `{"type":"error","code":..}` to
//! the request, so the code decides how a client judges the operation: a *definite*
//! error says the operation certainly did not happen (and never will), an indefinite
//! one that it may have happened, or may still.

use std::fmt;

/// Maelstrom's standard error codes, which are definite, and their names: one home
/// (`glomers-protocol`) shared with the harness that judges them.
pub use protocol::code;

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
