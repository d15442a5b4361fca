//! Consistency models and the anomalies that rule each out, after Elle's tables
//! (a model prohibits its own anomalies and those of every model it implies),
//! restricted to the anomalies these checkers find. Models decided: read-
//! uncommitted, read-committed, repeatable-read, snapshot-isolation,
//! serializable, strict-serializable (Maelstrom's default). Other models Elle
//! knows are accepted; with no prohibited anomaly found they are `unknown`,
//! since they forbid anomalies not looked for here.
//!
//! Deviation from Elle, kept from before: internal inconsistency fails every
//! model, not only the serializable and snapshot ones.

use anyhow::{bail, Result};
use std::collections::BTreeSet;

use super::cycles::Levels;

const READ_UNCOMMITTED: &[&str] = &["G0", "cyclic-versions", "duplicate-elements", "internal"];
const READ_COMMITTED: &[&str] = &["G1a", "G1b", "G1c", "incompatible-order", "future-read"];
/// Elle's repeatable-read (via cursor stability) adds these...
const REPEATABLE_READ: &[&str] = &[
    "G-single-item",
    "G-nonadjacent-item",
    "G2-item",
    "lost-update",
];
/// ... snapshot isolation these (write skew, G2-item with adjacent rw, is allowed) ...
const SNAPSHOT_ISOLATION: &[&str] = &["G-single-item", "G-nonadjacent-item", "lost-update"];
/// ... and the strict models every cycle through real-time edges.
const REALTIME: &[&str] = &[
    "G0-realtime",
    "G1c-realtime",
    "G-single-item-realtime",
    "G-nonadjacent-item-realtime",
    "G2-item-realtime",
];

/// Models decided here, by Elle's names (and aliases).
const DECIDED: &[&str] = &[
    "read-uncommitted",
    "read-committed",
    "repeatable-read",
    "snapshot-isolation",
    "serializable",
    "conflict-serializable",
    "strict-serializable",
    "strong-serializable",
];

/// Models Elle knows that forbid anomalies not looked for here; they are taken
/// as at least read-committed.
const UNDECIDED: &[&str] = &[
    "cursor-stability",
    "monotonic-atomic-view",
    "monotonic-view",
    "monotonic-snapshot-read",
    "read-atomic",
    "strong-session-serializable",
    "strong-snapshot-isolation",
    "update-serializable",
    "consistent-view",
    "forward-consistent-view",
    "parallel-snapshot-isolation",
    "causal-cerone",
    "prefix",
    "update-atomic",
];

/// The models a test checks and what they prohibit.
pub struct Models {
    /// The models asked for (Maelstrom's default: strict-serializable).
    pub names: Vec<String>,
    prohibited: BTreeSet<&'static str>,
    /// Models asked for that are not decided here.
    pub undecided: Vec<String>,
}

impl Models {
    pub fn parse(asked: &[String]) -> Result<Models> {
        let names: Vec<String> = if asked.is_empty() {
            vec!["strict-serializable".to_string()]
        } else {
            asked.to_vec()
        };
        let mut prohibited: BTreeSet<&'static str> = READ_UNCOMMITTED.iter().copied().collect();
        let mut undecided = Vec::new();
        for m in &names {
            let add: &[&[&'static str]] = match m.as_str() {
                "read-uncommitted" => &[],
                "read-committed" => &[READ_COMMITTED],
                "repeatable-read" => &[READ_COMMITTED, REPEATABLE_READ],
                "snapshot-isolation" => &[READ_COMMITTED, SNAPSHOT_ISOLATION],
                "serializable" | "conflict-serializable" => &[READ_COMMITTED, REPEATABLE_READ],
                "strict-serializable" | "strong-serializable" => {
                    &[READ_COMMITTED, REPEATABLE_READ, REALTIME]
                }
                m if UNDECIDED.contains(&m) => {
                    undecided.push(m.to_string());
                    &[READ_COMMITTED]
                }
                m => bail!(
                    "unknown consistency model {m:?}; this harness decides {} and knows {}",
                    DECIDED.join(", "),
                    UNDECIDED.join(", ")
                ),
            };
            prohibited.extend(add.iter().flat_map(|a| a.iter().copied()));
        }
        Ok(Models {
            names,
            prohibited,
            undecided,
        })
    }

    /// Whether an anomaly of this name rules out a model asked for.
    pub fn prohibits(&self, anomaly: &str) -> bool {
        self.prohibited.contains(anomaly)
    }

    /// The anomalies looked for, for messages.
    pub fn prohibited(&self) -> Vec<&'static str> {
        self.prohibited.iter().copied().collect()
    }

    /// The cycle searches these models need.
    pub fn levels(&self) -> Levels {
        Levels {
            single: self.prohibits("G-single-item"),
            g2: self.prohibits("G2-item"),
            realtime: self.prohibits("G0-realtime"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(m: &[&str]) -> Models {
        Models::parse(&m.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn each_model_prohibits_what_elle_says() {
        let rc = models(&["read-committed"]);
        assert!(rc.prohibits("G1c") && !rc.prohibits("G-single-item"));
        let si = models(&["snapshot-isolation"]);
        assert!(si.prohibits("G-single-item") && si.prohibits("lost-update"));
        assert!(!si.prohibits("G2-item"), "write skew is allowed under SI");
        let ser = models(&["serializable"]);
        assert!(ser.prohibits("G2-item") && !ser.prohibits("G2-item-realtime"));
        let default = models(&[]);
        assert_eq!(default.names, ["strict-serializable"]);
        assert!(default.prohibits("G0-realtime") && default.prohibits("G2-item"));
        assert!(!models(&["read-uncommitted"]).prohibits("G1a"));
        assert_eq!(
            models(&["cursor-stability"]).undecided,
            ["cursor-stability"]
        );
        assert!(Models::parse(&["bogus".to_string()]).is_err());
    }
}
