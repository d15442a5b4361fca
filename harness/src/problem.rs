//! One reason a run is not valid, typed: made by the checkers and the event loop,
//! read by the outcome, the summary and the report. A leaf, so all of them can use it.

use serde::{Serialize, Serializer};

/// One reason a run is not valid: a sentence a user can act on, made where the
/// reason is found, with the moment and the node it is about, so that the report
/// links the moment without reading it back out of the sentence. In the JSON it is
/// the sentence alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub text: String,
    /// The moment to look at first, in ns since the run began.
    pub at: Option<u64>,
    /// The node it concerns, when it concerns one.
    pub node: Option<String>,
}

impl Problem {
    /// A reason with no moment or node of its own.
    pub fn new(text: impl Into<String>) -> Problem {
        Problem {
            text: text.into(),
            at: None,
            node: None,
        }
    }

    /// The same, about the moment `ns`.
    pub fn at(mut self, ns: u64) -> Problem {
        self.at = Some(ns);
        self
    }

    /// The same, about `node`.
    pub fn node(mut self, node: impl Into<String>) -> Problem {
        self.node = Some(node.into());
        self
    }
}

impl From<String> for Problem {
    fn from(text: String) -> Problem {
        Problem::new(text)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Problem {
    /// The sentence: the JSON's `problems` stay a list of strings.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}
