//! What both linearizability searches (`linearizable`, `wgl`) share: the sequential
//! model, the history's operations, the budget and the answer. Its own room, so the
//! two searches import it and not each other.

use std::hash::Hash;

/// A sequential specification: what each operation does to the state, if it can
/// happen in that state at all.
pub trait Model {
    type State: Clone + Eq + Hash;
    type Op: PartialEq;
    fn init(&self) -> Self::State;
    /// The state after `op`, or `None` if `op` cannot happen in `state` (a read of
    /// another value, a compare-and-set whose expected value is not there).
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;
}

/// One operation of the history, with its place in real-time order.
pub struct Operation<O> {
    /// Position of the invocation in the history (any increasing numbering).
    pub call: usize,
    /// Position of the completion; `None` if indeterminate (it may never happen).
    pub ret: Option<usize>,
    pub op: O,
}

/// How much the search may do before it answers `Unknown`.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Steps (one operation applied to one configuration each).
    pub steps: u64,
    /// Configurations alive at once, or explored for one completion.
    pub configurations: usize,
}

impl Budget {
    /// `steps` steps (`--lin-kv-budget`), and one configuration alive at once for
    /// every 50 of them.
    pub fn of_steps(steps: u64) -> Budget {
        Budget {
            steps,
            configurations: usize::try_from(steps / 50).unwrap_or(usize::MAX).max(1),
        }
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::of_steps(crate::workload::LIN_KV_BUDGET)
    }
}

/// Why no linearization exists.
#[derive(Debug)]
pub struct Counterexample<S> {
    /// The operation whose completion came when no configuration could linearize it.
    pub stuck: usize,
    /// The states the object could be in just before that completion (before
    /// any of the operations still pending then).
    pub states: Vec<S>,
    /// How many operations had completed before.
    pub completed: usize,
    /// The last operations to complete before it (at most `LAST`), in order.
    pub last: Vec<usize>,
    /// Operations pending then, besides `stuck` (at most `LAST`): none of their
    /// orders could explain it.
    pub concurrent: Vec<usize>,
}

/// How many operations a counterexample names around the point of failure.
pub const LAST: usize = 8;

#[derive(Debug)]
pub enum Answer<S> {
    Linearizable,
    NotLinearizable(Counterexample<S>),
    Unknown(String),
}
