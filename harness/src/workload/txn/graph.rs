//! The dependency graph over transactions, shared by rw-register and list-append:
//! each workload infers its own ww, wr and rw dependencies from what its data
//! reveals about version orders, and adds them here with the facts that justify
//! them, so the cycle search and the explanations need not know the data model.
//! The real-time order (for the strict models) and the process order (for the
//! strong-session models) come from the history alone.

use crate::history::{History, Kind};

/// A transaction's place in the graph (an index into the workload's txn list).
pub type TxnId = usize;

/// The kinds of edge, as Elle names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rel {
    Ww,
    Wr,
    Rw,
    Realtime,
    Process,
}

impl Rel {
    pub fn bit(self) -> u8 {
        match self {
            Rel::Ww => 1,
            Rel::Wr => 2,
            Rel::Rw => 4,
            Rel::Realtime => 8,
            Rel::Process => 16,
        }
    }
}

/// Why the source of an edge must precede its target. Values are register
/// values (rw-register) or appended elements (list-append).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dep {
    /// The source wrote `key = value` (appended `value`), which the target read.
    Wr { key: i64, value: i64 },
    /// The source's write `from` of `key` comes before the target's write `to`.
    Ww { key: i64, from: i64, to: i64 },
    /// The source read `key` at `from` (`None`: the initial state), and the
    /// target's write `to` comes after it in the version order.
    Rw {
        key: i64,
        from: Option<i64>,
        to: i64,
    },
    /// The source completed before the target was invoked.
    Realtime,
    /// The source came before the target in the same process (session).
    Process,
}

impl Dep {
    pub fn rel(&self) -> Rel {
        match self {
            Dep::Wr { .. } => Rel::Wr,
            Dep::Ww { .. } => Rel::Ww,
            Dep::Rw { .. } => Rel::Rw,
            Dep::Realtime => Rel::Realtime,
            Dep::Process => Rel::Process,
        }
    }
}

/// Transactions and the dependencies between them.
pub struct Graph {
    /// How many transactions (vertices).
    pub n: usize,
    /// Every edge: source, target, why.
    pub edges: Vec<(TxnId, TxnId, Dep)>,
    /// Edge indices by source.
    out: Vec<Vec<u32>>,
}

impl Graph {
    pub fn new(n: usize) -> Graph {
        Graph {
            n,
            edges: Vec::new(),
            out: vec![Vec::new(); n],
        }
    }

    /// Adds `a -> b`; a transaction never depends on itself, so self-edges are dropped.
    pub fn add(&mut self, a: TxnId, b: TxnId, dep: Dep) {
        if a != b && a < self.n && b < self.n {
            self.out[a].push(self.edges.len() as u32);
            self.edges.push((a, b, dep));
        }
    }

    /// The edges leaving `a` whose kind is in `mask` (`Rel::bit`s), with their
    /// indices in `edges`.
    pub fn out(
        &self,
        a: TxnId,
        mask: u8,
    ) -> impl Iterator<Item = (usize, &(TxnId, TxnId, Dep))> + '_ {
        self.out[a]
            .iter()
            .map(|&e| (e as usize, &self.edges[e as usize]))
            .filter(move |(_, (_, _, d))| d.rel().bit() & mask != 0)
    }

    /// How many edges of kind `rel`.
    pub fn count(&self, rel: Rel) -> usize {
        self.edges.iter().filter(|(_, _, d)| d.rel() == rel).count()
    }

    /// Process-order edges, as Elle's session models have them: each ok txn of a
    /// process -> that process's next ok txn. `completion[t]` is the history index
    /// of txn `t`'s completion.
    pub fn add_process(&mut self, history: &History, completion: &[usize]) {
        let mut by_completion: Vec<(usize, TxnId)> = completion
            .iter()
            .enumerate()
            .filter(|(_, &c)| history.entries.get(c).is_some_and(|e| e.kind == Kind::Ok))
            .map(|(t, &c)| (c, t))
            .collect();
        by_completion.sort_unstable();
        let mut last: std::collections::HashMap<u64, TxnId> = std::collections::HashMap::new();
        for (c, t) in by_completion {
            let process = history.entries[c].process;
            if let Some(prev) = last.insert(process, t) {
                self.add(prev, t, Dep::Process);
            }
        }
    }

    /// Real-time edges, as Elle computes them: `a -> b` when `a` completed ok
    /// before `b` was invoked, reduced to the ops that completed since the last
    /// ok completion that follows them (the rest follow transitively).
    /// `completion[t]` is the history index of txn `t`'s completion.
    pub fn add_realtime(&mut self, history: &History, completion: &[usize]) {
        let mut by_completion = std::collections::HashMap::new();
        for (t, &c) in completion.iter().enumerate() {
            by_completion.insert(c, t);
        }
        let by_invoke: std::collections::HashMap<usize, TxnId> = completion
            .iter()
            .enumerate()
            .filter_map(|(t, &c)| Some((history.entries.get(c)?.invoke?, t)))
            .collect();
        // Completed txns not known to precede another completed txn.
        let mut frontier: Vec<TxnId> = Vec::new();
        let mut preds: Vec<Vec<TxnId>> = vec![Vec::new(); self.n];
        for e in &history.entries {
            match e.kind {
                Kind::Invoke => {
                    if let Some(&t) = by_invoke.get(&e.index) {
                        for &a in &frontier {
                            self.add(a, t, Dep::Realtime);
                        }
                        preds[t] = frontier.clone();
                    }
                }
                Kind::Ok => {
                    if let Some(&t) = by_completion.get(&e.index) {
                        let before = std::mem::take(&mut preds[t]);
                        frontier.retain(|a| !before.contains(a));
                        frontier.push(t);
                    }
                }
                _ => {}
            }
        }
    }
}
