//! Explanations a person can check by hand: each transaction of a cycle gets a
//! name (T1, T2, ...), each edge the facts that force its order (which key,
//! which values, which kind of dependency), and then the transactions in full.
//! The workload supplies the words for its data model.

use super::cycles::Cycle;
use super::graph::{Dep, TxnId};

/// What a workload says about its transactions and dependencies.
pub trait Describe {
    /// A transaction in full: its micro-ops, process, node, outcome, time.
    fn txn(&self, t: TxnId) -> String;
    /// Why `a` precedes `b` (named `a_name`, `b_name`) by `dep`.
    fn dep(&self, dep: &Dep, a_name: &str, b_name: &str) -> String;
}

/// The words for a real-time edge, the same in every workload.
pub fn realtime(a_name: &str, b_name: &str) -> String {
    format!("{a_name} completed before {b_name} was invoked (real time)")
}

/// The words for a process-order edge, the same in every workload.
pub fn process(a_name: &str, b_name: &str) -> String {
    format!("{a_name} came before {b_name} in the same process (session order)")
}

/// "a cycle of N txns (G-single-item): T1 ...; T2 ...; so ... T1 = ..."
pub fn cycle(d: &dyn Describe, c: &Cycle) -> String {
    let name = |t: TxnId| {
        let pos = c.steps.iter().position(|s| s.0 == t).unwrap_or(0);
        format!("T{}", pos + 1)
    };
    let steps: Vec<String> = c
        .steps
        .iter()
        .map(|(a, b, dep)| match dep {
            Dep::Realtime => realtime(&name(*a), &name(*b)),
            Dep::Process => process(&name(*a), &name(*b)),
            _ => d.dep(dep, &name(*a), &name(*b)),
        })
        .collect();
    let mut seen = Vec::new();
    let txns: Vec<String> = c
        .steps
        .iter()
        .filter(|(a, _, _)| {
            let new = !seen.contains(a);
            seen.push(*a);
            new
        })
        .map(|&(a, _, _)| format!("{} = {}", name(a), d.txn(a)))
        .collect();
    format!(
        "a cycle of {} txns: {}; so each must follow the one before it, and T1 follows \
         itself. {}",
        txns.len(),
        steps.join("; "),
        txns.join("; ")
    )
}
