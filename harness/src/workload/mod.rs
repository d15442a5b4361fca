//! Workloads: what clients ask of the nodes and how the answers are judged. Each
//! workload is one file implementing `Workload` (its generator, its RPCs, its
//! checker) and one arm in `new`; the event loop knows none of them.

mod broadcast;
mod counter;
mod echo;
mod g_set;
mod kafka;
mod lin_kv;
mod txn;
mod unique_ids;

use anyhow::Result;
use serde_json::{Map, Value};

use crate::history::{Entry, History};
use crate::options::{Model, Topology, Workload as Name};
pub use crate::problem::Problem;
use crate::rng::Rng;

/// An operation the generator asks a client to perform.
#[derive(Clone, Debug)]
pub struct Op {
    pub f: &'static str,
    pub value: Value,
}

impl Op {
    /// A read, which carries no value until its reply fills one in.
    pub fn read() -> Op {
        Op {
            f: "read",
            value: Value::Null,
        }
    }
}

/// Options a workload may use (the ones Maelstrom passes to workloads).
pub struct Options {
    pub nodes: Vec<String>,
    pub topology: Topology,
    /// Client threads (lin-kv splits them into groups, one key per group).
    pub concurrency: usize,
    /// txn-rw-register: active keys (Elle's default 10 when absent), ops per txn,
    /// writes per key, and the consistency models to check.
    pub key_count: Option<usize>,
    pub max_txn_length: usize,
    pub max_writes_per_key: usize,
    pub consistency_models: Vec<Model>,
    /// lin-kv: the steps one key's linearizability search may take.
    pub lin_kv_budget: u64,
}

/// lin-kv's default search budget, in steps (`--lin-kv-budget`).
pub const LIN_KV_BUDGET: u64 = 50_000_000;

/// Jepsen's three-valued validity; `False` dominates `Unknown`, which dominates `True`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Valid {
    True,
    Unknown,
    False,
}

impl Valid {
    pub fn from_bool(b: bool) -> Valid {
        if b {
            Valid::True
        } else {
            Valid::False
        }
    }
    pub fn merge(self, other: Valid) -> Valid {
        self.max(other)
    }
    pub fn json(self) -> Value {
        match self {
            Valid::True => Value::Bool(true),
            Valid::False => Value::Bool(false),
            Valid::Unknown => Value::String("unknown".into()),
        }
    }
}

impl std::fmt::Display for Valid {
    /// The verdict in a word, as the summary, the report and the store's index say
    /// it: `valid`, `invalid` or `unknown` (`{:#}`: shouted, `VALID`, for headlines).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = match (self, f.alternate()) {
            (Valid::True, false) => "valid",
            (Valid::False, false) => "invalid",
            (Valid::Unknown, false) => "unknown",
            (Valid::True, true) => "VALID",
            (Valid::False, true) => "INVALID",
            (Valid::Unknown, true) => "UNKNOWN",
        };
        f.write_str(word)
    }
}

impl serde::Serialize for Valid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Valid::True => s.serialize_bool(true),
            Valid::False => s.serialize_bool(false),
            Valid::Unknown => s.serialize_str("unknown"),
        }
    }
}

impl PartialOrd for Valid {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Valid {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let rank = |v: &Valid| match v {
            Valid::True => 0,
            Valid::Unknown => 1,
            Valid::False => 2,
        };
        rank(self).cmp(&rank(other))
    }
}

/// A checker's judgement.
pub struct Verdict {
    pub valid: Valid,
    /// The checker's figures, Maelstrom's keys (without "valid", added by the caller).
    pub result: Map<String, Value>,
    /// What went wrong, in sentences a user can act on, each with its moment.
    pub problems: Vec<Problem>,
    /// One-line figures for the summary.
    pub summary: Vec<String>,
}

/// What the checkers know about the run besides the history.
pub struct Context<'a> {
    pub nodes: &'a [String],
}

impl Context<'_> {
    pub fn node(&self, i: usize) -> &str {
        self.nodes.get(i).map(String::as_str).unwrap_or("?")
    }
}

pub trait Workload {
    /// A request each node gets once after `init`, before the clients start
    /// (broadcast's `topology`).
    fn setup(&self, _node: usize) -> Option<Value> {
        None
    }
    /// The next operation of the main phase, for the free client thread `thread`
    /// (which talks to node `thread % nodes`).
    fn next_op(&mut self, thread: usize, rng: &mut Rng) -> Op;
    /// The operation client thread `thread` performs once after the quiet period,
    /// if the workload has a final phase.
    fn final_op(&self, _thread: usize) -> Option<Op> {
        None
    }
    /// The request body for `op` (the client adds `msg_id`).
    fn request(&self, op: &Op) -> Value;
    /// The value an `ok` completion records, from the reply body (whose type was
    /// already checked; take what is kept out of it rather than copy it);
    /// `Err(why)`, leaving the body whole, if the reply is malformed.
    fn reply_value(&self, op: &Op, reply: &mut Value) -> Result<Value, String>;
    /// After thread `thread`'s final operation completed (and `completed` saw it),
    /// its next final operation and how long to wait before it (ns), if its final
    /// phase goes on (kafka polls until it has caught up with every acknowledged
    /// send). Workloads with one final operation per thread keep the default.
    fn next_final_op(&mut self, _thread: usize, _now: u64, _rng: &mut Rng) -> Option<(u64, Op)> {
        None
    }
    /// Whether an invocation of `f` is an operation of its own in msgs-per-op, as
    /// Maelstrom counts them; kafka's `commit_offsets` is not (Maelstrom's client
    /// commits inside the poll operation before it).
    fn counts_as_op(&self, _f: &str) -> bool {
        true
    }
    /// Operations that cannot have taken effect when they time out (reads).
    fn idempotent(&self, _f: &str) -> bool {
        false
    }
    /// Whether a client can go on after an indeterminate operation.
    fn reusable_clients(&self) -> bool {
        false
    }
    /// Thread `thread`'s operation completed (`invoked`, then `completion`), for a
    /// generator that keeps per-client state (kafka's poll positions).
    fn completed(&mut self, _thread: usize, _invoked: &Entry, _completion: &Entry) {}
    fn check(&self, history: &History, ctx: &Context) -> Verdict;
}

/// The workload `name`, for a test with `options`.
pub fn new(name: Name, options: &Options) -> Result<Box<dyn Workload>> {
    match name {
        Name::Broadcast => broadcast::new(options),
        Name::Echo => echo::new(options),
        Name::GCounter => counter::grow_only(options),
        Name::GSet => g_set::new(options),
        Name::Kafka => kafka::new(options),
        Name::LinKv => lin_kv::new(options),
        Name::PnCounter => counter::positive_negative(options),
        Name::TxnListAppend => txn::list_append(options),
        Name::TxnRwRegister => txn::rw_register(options),
        Name::UniqueIds => unique_ids::new(options),
    }
}

/// Seconds, for messages.
pub fn secs(ns: u64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_in_words_and_shouted() {
        let words = [Valid::True, Valid::False, Valid::Unknown].map(|v| format!("{v} {v:#}"));
        assert_eq!(words, ["valid VALID", "invalid INVALID", "unknown UNKNOWN"]);
        assert_eq!(
            Valid::True.merge(Valid::Unknown).merge(Valid::False),
            Valid::False
        );
    }
}
