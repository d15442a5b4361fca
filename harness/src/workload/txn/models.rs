//! Consistency models and the anomalies that rule each out, after Elle's tables
//! (a model prohibits its own anomalies and those of every model it implies),
//! restricted to the anomalies these checkers find. Models decided: read-
//! uncommitted, read-committed, repeatable-read, snapshot-isolation,
//! serializable, strict-serializable (Maelstrom's default), and their strong
//! (real-time order: strong-read-committed, strong-snapshot-isolation) and
//! strong-session (process order: strong-session-read-committed,
//! strong-session-snapshot-isolation, strong-session-serializable) forms, which
//! prohibit the model's cycles also through those order edges. Other models Elle
//! knows (`options::Model`) are accepted; with no prohibited anomaly found they
//! are `unknown`, since they forbid anomalies not looked for here.
//!
//! Deviation from Elle, kept from before: internal inconsistency fails every
//! model, not only the serializable and snapshot ones.

use std::collections::BTreeSet;

use super::cycles::Levels;
use crate::options::Model;

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

/// The strong-session models' cycles through process order, by what they extend.
const PROCESS_RC: &[&str] = &["G0-process", "G1c-process"];
const PROCESS_SI: &[&str] = &["G-single-item-process", "G-nonadjacent-item-process"];
const PROCESS_SER: &[&str] = &["G2-item-process"];
/// The strong models' cycles through real time, by what they extend.
const REALTIME_RC: &[&str] = &["G0-realtime", "G1c-realtime"];
const REALTIME_SI: &[&str] = &["G-single-item-realtime", "G-nonadjacent-item-realtime"];

/// The models a test checks and what they prohibit.
pub struct Models {
    /// The models asked for (Maelstrom's default: strict-serializable).
    pub names: Vec<String>,
    prohibited: BTreeSet<&'static str>,
    /// Models asked for that are not decided here.
    pub undecided: Vec<String>,
}

impl Models {
    /// The models asked for (`--consistency-models`; strict-serializable, Maelstrom's
    /// default, when none is).
    pub fn new(asked: &[Model]) -> Models {
        let asked = match asked {
            [] => &[Model::StrictSerializable][..],
            _ => asked,
        };
        let mut prohibited: BTreeSet<&'static str> = READ_UNCOMMITTED.iter().copied().collect();
        let mut undecided = Vec::new();
        for &m in asked {
            let add: &[&[&'static str]] = match m {
                Model::ReadUncommitted => &[],
                Model::ReadCommitted => &[READ_COMMITTED],
                Model::RepeatableRead => &[READ_COMMITTED, REPEATABLE_READ],
                Model::SnapshotIsolation => &[READ_COMMITTED, SNAPSHOT_ISOLATION],
                Model::Serializable | Model::ConflictSerializable => {
                    &[READ_COMMITTED, REPEATABLE_READ]
                }
                Model::StrictSerializable | Model::StrongSerializable => {
                    &[READ_COMMITTED, REPEATABLE_READ, REALTIME]
                }
                Model::StrongReadCommitted => &[READ_COMMITTED, REALTIME_RC],
                Model::StrongSnapshotIsolation => {
                    &[READ_COMMITTED, SNAPSHOT_ISOLATION, REALTIME_RC, REALTIME_SI]
                }
                Model::StrongSessionReadCommitted => &[READ_COMMITTED, PROCESS_RC],
                Model::StrongSessionSnapshotIsolation => {
                    &[READ_COMMITTED, SNAPSHOT_ISOLATION, PROCESS_RC, PROCESS_SI]
                }
                Model::StrongSessionSerializable => &[
                    READ_COMMITTED,
                    REPEATABLE_READ,
                    PROCESS_RC,
                    PROCESS_SI,
                    PROCESS_SER,
                ],
                // They forbid anomalies not looked for here: at least read-committed,
                // and `unknown` when nothing prohibited is found.
                _ => {
                    undecided.push(m.to_string());
                    &[READ_COMMITTED]
                }
            };
            prohibited.extend(add.iter().flat_map(|a| a.iter().copied()));
        }
        Models {
            names: asked.iter().map(Model::to_string).collect(),
            prohibited,
            undecided,
        }
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
            process: self.prohibits("G0-process"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(m: &[&str]) -> Models {
        use clap::ValueEnum;
        let m: Vec<Model> = m
            .iter()
            .map(|s| Model::from_str(s, false).unwrap())
            .collect();
        Models::new(&m)
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
    }
}
