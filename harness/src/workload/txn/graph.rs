//! The dependency graph over transactions, shared by rw-register and list-append:
//! each workload infers its own ww, wr and rw dependencies from what its data
//! reveals about version orders, and adds them here with the facts that justify
//! them, so the cycle search and the explanations need not know the data model.
//! The real-time order (for the strict models) comes from the history alone.

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
}

impl Rel {
    pub fn bit(self) -> u8 {
        match self {
            Rel::Ww => 1,
            Rel::Wr => 2,
            Rel::Rw => 4,
            Rel::Realtime => 8,
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
}

impl Dep {
    pub fn rel(&self) -> Rel {
        match self {
            Dep::Wr { .. } => Rel::Wr,
            Dep::Ww { .. } => Rel::Ww,
            Dep::Rw { .. } => Rel::Rw,
            Dep::Realtime => Rel::Realtime,
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
