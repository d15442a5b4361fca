//! What one run recorded, as the event loop (`sim`) leaves it and the outcome
//! (`outcome`) reads it: its own room, so neither of the two imports the other.

use serde::Serialize;
use serde_json::Value;

use crate::history::History;
use crate::journal::Journal;
use crate::problem::Problem;
use crate::upgrade::Upgrades;
use crate::workload;

/// One crash of a node.
#[derive(Serialize, Clone, Debug)]
pub struct CrashRecord {
    pub node: String,
    /// Seconds since the run began.
    pub time: f64,
    /// Why, first line first, then the backtrace.
    pub error: String,
}

/// What the event loop leaves: the history and everything it counted, before the
/// checkers' figures are put together into an [`crate::Outcome`].
pub struct Record {
    pub history: History,
    pub verdict: workload::Verdict,
    pub net: crate::net::NetStats,
    pub stats: Value,
    pub stats_valid: bool,
    pub nemesis: Vec<crate::nemesis::Event>,
    /// What the rolling upgrade did, if the run had one.
    pub upgrades: Option<Upgrades>,
    pub crashes: Vec<CrashRecord>,
    pub crash_count: u64,
    /// Whether time was the real clock.
    pub real_time: bool,
    /// Failures of the run itself (a node that never answered init...): invalid.
    pub failures: Vec<Problem>,
    pub warnings: Vec<String>,
    pub end_ns: u64,
    pub events: u64,
    /// Every message, for the report.
    pub journal: Journal,
}
