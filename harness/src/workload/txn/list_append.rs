//! Maelstrom's txn-list-append (its Datomic chapter): clients send `txn` requests
//! of micro-ops `["append", k, v]` and `["r", k, null]`, and expect `txn_ok` with
//! each read filled in with the key's whole list. The generator is Elle's (see
//! [`super::gen`]; values appended are unique per key). The checker is Elle's
//! list-append checker: since every read shows the order of all the appends
//! before it, the version order of a key is its longest read, once every read is
//! checked to be a prefix of it (else: incompatible-order). From it:
//! - wr: T1 appended the last element T2 read;
//! - ww: T1 appended the element right before T2's append (an append never read
//!   comes after every element read);
//! - rw: T1 read the list up to the element right before T2's append (or empty).
//!
//! Besides cycles (shared with rw-register): G1a (a read shows a failed
//! append), G1b (a read ends in an element its txn appended to again later),
//! internal inconsistency, future reads, duplicate elements and lost updates.
//! Elle's dirty update (a failed append followed by a committed one in a key's
//! order) needs no check of its own here: the order is a read, and a read that
//! shows a failed append is already G1a.

use anyhow::Result;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

use super::explain::{self, Describe};
use super::gen::TxnGen;
use super::graph::{Dep, Graph, TxnId};
use super::models::Models;
use super::{verdict, Findings};
use crate::history::{History, Kind};
use crate::rng::Rng;
use crate::workload::{Context, Op, Problem, Verdict, Workload};

pub struct ListAppend {
    gen: TxnGen,
    models: Models,
}

pub fn new(o: &crate::workload::Options) -> Result<Box<dyn Workload>> {
    Ok(Box::new(ListAppend {
        gen: TxnGen::new(o.key_count, o.max_txn_length, o.max_writes_per_key)?,
        models: Models::new(&o.consistency_models),
    }))
}

/// A read returns null (a key never appended to) or a list of integers.
fn is_list(v: &Value) -> bool {
    v.is_null() || v.as_array().is_some_and(|a| a.iter().all(Value::is_i64))
}

impl Workload for ListAppend {
    fn next_op(&mut self, _: usize, rng: &mut Rng) -> Op {
        super::next_txn(&mut self.gen, rng, "append")
    }

    fn request(&self, op: &Op) -> Value {
        json!({"type": "txn", "txn": op.value})
    }

    fn reply_value(&self, op: &Op, reply: &mut Value) -> Result<Value, String> {
        super::reply_txn(op, reply, "append", is_list, "null or a list of integers")
    }

    fn check(&self, history: &History, ctx: &Context) -> Verdict {
        let a = Analysis::new(history, ctx);
        verdict("txn", &self.models, a.findings(history, &self.models))
    }
}

#[derive(Clone, Debug)]
enum Mop {
    Append(i64, i64),
    /// A read; `None` when the txn did not complete ok (no value known).
    Read(i64, Option<Vec<i64>>),
}

type Txn<'a> = super::Txn<'a, Mop>;

fn mops_of(v: &Value, ok: bool) -> Vec<Mop> {
    let list = |v: &Value| -> Option<Vec<i64>> {
        match v {
            Value::Null => Some(Vec::new()),
            v => v.as_array()?.iter().map(Value::as_i64).collect(),
        }
    };
    v.as_array()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| {
                    let k = m.get(1)?.as_i64()?;
                    match m.get(0)?.as_str()? {
                        "append" => Some(Mop::Append(k, m.get(2)?.as_i64()?)),
                        _ => Some(Mop::Read(
                            k,
                            if ok { m.get(2).and_then(list) } else { None },
                        )),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn fmt_list(l: &[i64]) -> String {
    let items: Vec<String> = l.iter().map(|e| e.to_string()).collect();
    format!("[{}]", items.join(" "))
}

struct Analysis<'a> {
    ctx: &'a Context<'a>,
    txns: Vec<Txn<'a>>,
    graph: Graph,
    /// Per key, the longest read: the version order.
    order: HashMap<i64, Vec<i64>>,
    incompatible: Vec<Problem>,
}

impl<'a> Analysis<'a> {
    fn new(history: &'a History, ctx: &'a Context<'a>) -> Analysis<'a> {
        let txns = super::txns(history, |c| mops_of(&c.value, c.kind == Kind::Ok));
        let mut a = Analysis {
            ctx,
            graph: Graph::new(txns.len()),
            txns,
            order: HashMap::new(),
            incompatible: Vec::new(),
        };
        a.version_orders();
        a.build_graph();
        a
    }

    fn reads(&self) -> impl Iterator<Item = (TxnId, i64, &Vec<i64>)> + '_ {
        self.txns.iter().enumerate().flat_map(|(i, t)| {
            t.mops.iter().filter_map(move |m| match m {
                Mop::Read(k, Some(l)) => Some((i, *k, l)),
                _ => None,
            })
        })
    }

    /// Appends of txns that may have taken effect (ok or indeterminate).
    fn appends(&self) -> impl Iterator<Item = (TxnId, i64, i64)> + '_ {
        self.txns
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind != Kind::Fail)
            .flat_map(|(i, t)| {
                t.mops.iter().filter_map(move |m| match m {
                    Mop::Append(k, v) => Some((i, *k, *v)),
                    _ => None,
                })
            })
    }

    /// Each key's longest read, after checking that every read is a prefix of
    /// the next longer one.
    fn version_orders(&mut self) {
        let mut values: BTreeMap<i64, Vec<&Vec<i64>>> = BTreeMap::new();
        for (_, k, l) in self.reads() {
            if !l.is_empty() {
                values.entry(k).or_default().push(l);
            }
        }
        let mut order = HashMap::new();
        let mut incompatible = Vec::new();
        for (k, mut ls) in values {
            ls.sort_by_key(|l| l.len());
            ls.dedup();
            for w in ls.windows(2) {
                if !w[1].starts_with(w[0]) {
                    incompatible.push(Problem::new(format!(
                        "key {k} was read as {} and as {}: neither is a prefix of the \
                         other, so no one order of appends explains both",
                        fmt_list(w[0]),
                        fmt_list(w[1])
                    )));
                    break;
                }
            }
            if let Some(longest) = ls.last() {
                // A duplicated element (its own anomaly) is placed where it first
                // appears, so it orders nothing twice (no spurious G0).
                order.insert(k, first_occurrences(longest));
            }
        }
        self.order = order;
        self.incompatible = incompatible;
    }

    fn build_graph(&mut self) {
        let mut writer: HashMap<(i64, i64), TxnId> = HashMap::new();
        for (i, k, v) in self.appends() {
            writer.insert((k, v), i);
        }
        // Who read each state, named by its last element (None: empty).
        let mut readers: HashMap<(i64, Option<i64>), Vec<TxnId>> = HashMap::new();
        let mut wr = Vec::new();
        for (i, k, l) in self.reads() {
            // The state read is named by its last new element ([1 2 1] read 2 last).
            let last_new = first_occurrences(l).last().copied();
            readers.entry((k, last_new)).or_default().push(i);
            if let Some(last) = last_new {
                if let Some(&w) = writer.get(&(k, last)) {
                    wr.push((
                        w,
                        i,
                        Dep::Wr {
                            key: k,
                            value: last,
                        },
                    ));
                }
            }
        }
        let index: HashMap<i64, HashMap<i64, usize>> = self
            .order
            .iter()
            .map(|(&k, l)| (k, l.iter().enumerate().map(|(i, &e)| (e, i)).collect()))
            .collect();
        let mut edges = wr;
        for (t, k, v) in self.appends() {
            let order = self.order.get(&k).map(Vec::as_slice).unwrap_or(&[]);
            // The element right before this append: its place in the order, or
            // after everything read if never read.
            let prev = match index.get(&k).and_then(|ix| ix.get(&v)) {
                Some(&0) => None,
                Some(&i) => order.get(i - 1).copied(),
                None => order.last().copied(),
            };
            if let Some(p) = prev {
                if let Some(&w) = writer.get(&(k, p)) {
                    edges.push((
                        w,
                        t,
                        Dep::Ww {
                            key: k,
                            from: p,
                            to: v,
                        },
                    ));
                }
            }
            for &r in readers.get(&(k, prev)).into_iter().flatten() {
                edges.push((
                    r,
                    t,
                    Dep::Rw {
                        key: k,
                        from: prev,
                        to: v,
                    },
                ));
            }
        }
        for (a, b, d) in edges {
            self.graph.add(a, b, d);
        }
    }

    /// A case of an anomaly about txn `i`, at its moment.
    fn about(&self, i: TxnId, text: String) -> Problem {
        super::about(&self.txns[i], self.ctx, text)
    }

    fn oks(&self) -> impl Iterator<Item = (TxnId, &Txn<'a>)> + '_ {
        super::oks(&self.txns)
    }

    fn findings(mut self, history: &History, models: &Models) -> Findings {
        let mut found: BTreeMap<String, Vec<Problem>> = BTreeMap::new();
        let [g1a, g1b] = self.g1ab();
        let (internal, future) = self.internal();
        for (name, cases) in [
            ("incompatible-order", std::mem::take(&mut self.incompatible)),
            ("duplicate-elements", self.duplicates()),
            ("internal", internal),
            ("future-read", future),
            ("G1a", g1a),
            ("G1b", g1b),
            ("lost-update", self.lost_updates()),
        ] {
            if !cases.is_empty() {
                found.insert(name.into(), cases);
            }
        }
        super::findings(
            &mut self,
            found,
            history,
            models,
            &[
                "incompatible-order",
                "duplicate-elements",
                "internal",
                "future-read",
                "G1a",
                "G1b",
                "lost-update",
            ],
        )
    }

    fn duplicates(&self) -> Vec<Problem> {
        self.reads()
            .filter_map(|(i, k, l)| {
                let mut seen = HashSet::new();
                let dups: Vec<String> = l
                    .iter()
                    .filter(|e| !seen.insert(**e))
                    .map(|e| e.to_string())
                    .collect();
                (!dups.is_empty()).then(|| {
                    self.about(
                        i,
                        format!(
                            "{} read key {k} = {}, with {} more than once (each element is \
                         appended once)",
                            self.txn(i),
                            fmt_list(l),
                            dups.join(", ")
                        ),
                    )
                })
            })
            .collect()
    }

    /// Reads that disagree with the txn's own earlier reads and appends, and
    /// reads that show an element the txn appends only later.
    fn internal(&self) -> (Vec<Problem>, Vec<Problem>) {
        let mut internal = Vec::new();
        let mut future = Vec::new();
        for (i, t) in self.oks() {
            // Per key: the known state (whole, or only its tail after appends to
            // an unread key).
            let mut state: HashMap<i64, (bool, Vec<i64>)> = HashMap::new();
            for (j, m) in t.mops.iter().enumerate() {
                match m {
                    Mop::Append(k, v) => state.entry(*k).or_insert((false, vec![])).1.push(*v),
                    Mop::Read(k, Some(l)) => {
                        let later = t.mops[j + 1..].iter().find_map(|m| match m {
                            Mop::Append(k2, v) if k2 == k && l.contains(v) => Some(*v),
                            _ => None,
                        });
                        if let Some(v) = later {
                            future.push(self.about(
                                i,
                                format!(
                                    "{} read key {k} = {}, which holds {v}, an element it \
                                 appends only later",
                                    self.txn(i),
                                    fmt_list(l)
                                ),
                            ));
                        }
                        if let Some((whole, s)) = state.get(k) {
                            let fits = if *whole { l == s } else { l.ends_with(s) };
                            if !fits {
                                let expected = if *whole {
                                    fmt_list(s)
                                } else {
                                    format!("a list ending in {}", fmt_list(s))
                                };
                                internal.push(self.about(
                                    i,
                                    format!(
                                        "{} read key {k} = {}, but by its own earlier micro-ops \
                                     it should have read {expected}",
                                        self.txn(i),
                                        fmt_list(l)
                                    ),
                                ));
                            }
                        }
                        state.insert(*k, (true, l.clone()));
                    }
                    Mop::Read(_, None) => {}
                }
            }
        }
        (internal, future)
    }

    /// G1a and G1b.
    fn g1ab(&self) -> [Vec<Problem>; 2] {
        let mut failed: HashMap<(i64, i64), TxnId> = HashMap::new();
        let mut intermediate: HashMap<(i64, i64), TxnId> = HashMap::new();
        for (i, t) in self.txns.iter().enumerate() {
            let mut last: HashMap<i64, i64> = HashMap::new();
            for m in &t.mops {
                if let Mop::Append(k, v) = *m {
                    if t.kind == Kind::Fail {
                        failed.insert((k, v), i);
                    } else if let Some(prev) = last.insert(k, v) {
                        intermediate.insert((k, prev), i);
                    }
                }
            }
        }
        let mut g1a = Vec::new();
        let mut g1b = Vec::new();
        for (i, k, l) in self.reads() {
            for e in l {
                if let Some(&w) = failed.get(&(k, *e)) {
                    g1a.push(self.about(
                        i,
                        format!(
                            "{} read key {k} = {}, which holds {e}, appended only by {}, \
                         and that txn failed (aborted read)",
                            self.txn(i),
                            fmt_list(l),
                            self.txn(w)
                        ),
                    ));
                }
            }
            if let Some(&w) = l.last().and_then(|e| intermediate.get(&(k, *e))) {
                if w != i {
                    g1b.push(self.about(
                        i,
                        format!(
                            "{} read key {k} = {}, ending in an element that {} appended and \
                         then appended to again in the same txn (intermediate read)",
                            self.txn(i),
                            fmt_list(l),
                            self.txn(w)
                        ),
                    ));
                }
            }
        }
        [g1a, g1b]
    }

    /// Two committed txns read the same state of a key and both appended to it.
    fn lost_updates(&self) -> Vec<Problem> {
        let mut by_read: BTreeMap<(i64, Vec<i64>), Vec<TxnId>> = BTreeMap::new();
        for (i, t) in self.oks() {
            let mut read: HashMap<i64, &Vec<i64>> = HashMap::new();
            let mut wrote = HashSet::new();
            for m in &t.mops {
                match m {
                    Mop::Read(k, Some(l)) => {
                        read.entry(*k).or_insert(l);
                    }
                    Mop::Append(k, _) if wrote.insert(*k) => {
                        if let Some(l) = read.get(k) {
                            by_read.entry((*k, (*l).clone())).or_default().push(i);
                        }
                    }
                    _ => {}
                }
            }
        }
        by_read
            .into_iter()
            .filter(|(_, ts)| ts.len() > 1)
            .map(|((k, l), ts)| {
                let txns: Vec<String> = ts.iter().map(|&t| self.txn(t)).collect();
                let text = format!(
                    "{} txns read key {k} = {} and each then appended to it, so one of \
                     them appended to a state the other had already changed: {}",
                    ts.len(),
                    fmt_list(&l),
                    txns.join("; ")
                );
                self.about(ts[0], text)
            })
            .collect()
    }
}

impl<'a> super::Analyzed<'a> for Analysis<'a> {
    type Mop = Mop;
    fn txns(&self) -> &[Txn<'a>] {
        &self.txns
    }
    fn graph(&mut self) -> &mut Graph {
        &mut self.graph
    }
}

impl Describe for Analysis<'_> {
    fn txn(&self, t: TxnId) -> String {
        let t = &self.txns[t];
        let mops: Vec<String> = t
            .mops
            .iter()
            .map(|m| match m {
                Mop::Append(k, v) => format!("[append {k} {v}]"),
                Mop::Read(k, Some(l)) => format!("[r {k} {}]", fmt_list(l)),
                Mop::Read(k, None) => format!("[r {k} ?]"),
            })
            .collect();
        super::describe(t, &mops, self.ctx)
    }

    fn dep(&self, dep: &Dep, a: &str, b: &str) -> String {
        match *dep {
            Dep::Wr { key, value } => {
                format!("{a} appended {value} to key {key}, which {b} read (wr)")
            }
            Dep::Ww { key, from, to } => {
                format!("{a} appended {from} to key {key}, and {b} appended {to} after it (ww)")
            }
            Dep::Rw {
                key,
                from: None,
                to,
            } => format!(
                "{a} read key {key} empty, and {b} appended {to} to it, which {a} did \
                 not see (rw)"
            ),
            Dep::Rw {
                key,
                from: Some(from),
                to,
            } => format!(
                "{a} read key {key} up to {from}, and {b} appended {to} after {from}, \
                 which {a} did not see (rw)"
            ),
            Dep::Realtime => explain::realtime(a, b),
            Dep::Process => explain::process(a, b),
        }
    }
}

/// `l` with each element only where it first appears.
fn first_occurrences(l: &[i64]) -> Vec<i64> {
    let mut seen = std::collections::HashSet::new();
    l.iter().copied().filter(|e| seen.insert(*e)).collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{self, history, types};
    use super::*;
    use crate::workload::Valid;

    /// Appends from stores that replicate late (see `testing::replicated`).
    fn appended(n: usize, replicas: usize, lag: usize) -> Vec<(Kind, Value)> {
        testing::replicated(n, replicas, lag, 9, "append", |l: &mut Vec<u64>, e| {
            l.push(e)
        })
    }

    fn judge(models: &[&str], txns: &[(Kind, Value)], concurrent: bool) -> Verdict {
        testing::judge(new, models, &history(txns, concurrent))
    }

    const ALL: &[&str] = &["strict-serializable"];

    #[test]
    fn a_serial_history_is_strict_serializable() {
        let txns = [
            (Kind::Ok, json!([["append", 1, 1], ["r", 1, [1]]])),
            (
                Kind::Ok,
                json!([["r", 1, [1]], ["append", 1, 2], ["append", 2, 1]]),
            ),
            (Kind::Fail, json!([["append", 2, 9]])),
            (
                Kind::Ok,
                json!([["r", 2, [1]], ["r", 1, [1, 2]], ["r", 3, null]]),
            ),
            (Kind::Ok, json!([["append", 1, 3]])),
        ];
        let v = judge(ALL, &txns, false);
        assert_eq!(v.valid, Valid::True, "{:?}", v.problems);
        // wr: T1 -> T2 (key 1), T2 -> T4 (keys 1 and 2); ww: T1 -> T2, T2 -> T5 (3
        // was never read, so it comes after 2); rw: T1 read [1] before T2's 2, T4
        // read [1 2] before T5's 3.
        assert_eq!(v.result["dependencies"]["wr"], json!(3));
        assert_eq!(v.result["dependencies"]["ww"], json!(2));
        assert_eq!(v.result["dependencies"]["rw"], json!(2));
        // Generated txns are well formed.
        let mut w = ListAppend {
            gen: TxnGen::new(None, 4, 16).unwrap(),
            models: Models::new(&[]),
        };
        let mut rng = Rng::new(1);
        let op = w.next_op(0, &mut rng);
        let mops = mops_of(&op.value, true);
        assert!(!mops.is_empty());
        assert!((0..50)
            .flat_map(|_| mops_of(&w.next_op(0, &mut rng).value, true))
            .any(|m| matches!(m, Mop::Read(..))));
    }

    #[test]
    fn a_skipped_element_is_an_incompatible_order() {
        let txns = [
            (Kind::Ok, json!([["append", 1, 1]])),
            (Kind::Ok, json!([["append", 1, 2]])),
            (Kind::Ok, json!([["r", 1, [1, 2]]])),
            (Kind::Ok, json!([["r", 1, [2]]])),
        ];
        let v = judge(&["read-committed"], &txns, true);
        assert_eq!(types(&v), ["incompatible-order"]);
        assert!(
            v.problems[0].text.contains("[2] and as [1 2]"),
            "{:?}",
            v.problems
        );
        assert_eq!(judge(&["read-uncommitted"], &txns, true).valid, Valid::True);
    }

    #[test]
    fn aborted_intermediate_duplicate_and_internal_reads() {
        let txns = [
            (Kind::Fail, json!([["append", 1, 1]])),
            (Kind::Ok, json!([["append", 2, 1], ["append", 2, 2]])),
            (Kind::Ok, json!([["r", 1, [1]], ["r", 2, [1]]])),
        ];
        let v = judge(&["read-committed"], &txns, true);
        assert_eq!(types(&v), ["G1a", "G1b"]);
        let v = judge(
            &["read-uncommitted"],
            &[
                (Kind::Ok, json!([["append", 1, 1]])),
                (Kind::Ok, json!([["r", 1, [1, 1]]])),
                (
                    Kind::Ok,
                    json!([["r", 2, [5]], ["append", 2, 6], ["r", 2, [5]]]),
                ),
            ],
            true,
        );
        assert_eq!(types(&v), ["duplicate-elements", "internal"]);
        // A duplicate between two appenders' elements orders them once, not both
        // ways: no G0 beside it.
        let v = judge(
            &["read-uncommitted"],
            &[
                (Kind::Ok, json!([["append", 1, 1]])),
                (Kind::Ok, json!([["append", 1, 2]])),
                (Kind::Ok, json!([["r", 1, [1, 2, 1]]])),
            ],
            true,
        );
        assert_eq!(types(&v), ["duplicate-elements"]);
        let v = judge(
            &["read-committed"],
            &[(Kind::Ok, json!([["r", 1, [7]], ["append", 1, 7]]))],
            true,
        );
        assert_eq!(types(&v), ["future-read"]);
    }

    #[test]
    fn cycles_of_each_kind() {
        // G0: the two txns' appends to keys 1 and 2 are ordered both ways.
        let g0 = [
            (Kind::Ok, json!([["append", 1, 1], ["append", 2, 2]])),
            (Kind::Ok, json!([["append", 1, 2], ["append", 2, 1]])),
            (Kind::Ok, json!([["r", 1, [1, 2]], ["r", 2, [1, 2]]])),
        ];
        let v = judge(&["read-uncommitted"], &g0, true);
        assert_eq!(types(&v), ["G0"]);
        assert!(v.problems[0].text.contains("(ww)"), "{:?}", v.problems);
        // A cycle is about its first txn (T1), whose moment the report links to.
        let t1 = v.problems[0].at.expect("a cycle has a moment");
        let h = history(&g0, true);
        assert!(h.completions().any(|c| c.time == t1), "{t1}");
        // G1c: each reads the other's append.
        let g1c = [
            (Kind::Ok, json!([["append", 1, 1], ["r", 2, [1]]])),
            (Kind::Ok, json!([["append", 2, 1], ["r", 1, [1]]])),
        ];
        assert_eq!(types(&judge(&["read-committed"], &g1c, true)), ["G1c"]);
        // G-single: T2 sees T1's append to 1 but not to 2.
        let single = [
            (Kind::Ok, json!([["append", 1, 1], ["append", 2, 1]])),
            (Kind::Ok, json!([["r", 1, [1]], ["r", 2, null]])),
        ];
        assert_eq!(judge(&["read-committed"], &single, true).valid, Valid::True);
        let v = judge(&["snapshot-isolation"], &single, true);
        assert_eq!(types(&v), ["G-single-item"]);
        assert!(
            v.problems[0].text.contains("did not see (rw)"),
            "{:?}",
            v.problems
        );
        // Write skew: G2-item, allowed by snapshot isolation.
        let skew = [
            (
                Kind::Ok,
                json!([["r", 1, null], ["r", 2, null], ["append", 1, 1]]),
            ),
            (
                Kind::Ok,
                json!([["r", 1, null], ["r", 2, null], ["append", 2, 1]]),
            ),
        ];
        assert_eq!(
            judge(&["snapshot-isolation"], &skew, true).valid,
            Valid::True
        );
        assert_eq!(types(&judge(&["serializable"], &skew, true)), ["G2-item"]);
        // A stale read after the append completed: only the strict models mind.
        let stale = [
            (Kind::Ok, json!([["append", 1, 1]])),
            (Kind::Ok, json!([["r", 1, null]])),
        ];
        assert_eq!(judge(&["serializable"], &stale, false).valid, Valid::True);
        assert_eq!(
            types(&judge(ALL, &stale, false)),
            ["G-single-item-realtime"]
        );
        assert_eq!(judge(ALL, &stale, true).valid, Valid::True);
    }

    #[test]
    fn a_lost_append_is_caught() {
        // T1 and T2 both read [1] and append; T3 sees only T2's: T1's append is lost.
        let txns = [
            (Kind::Ok, json!([["append", 1, 1]])),
            (Kind::Ok, json!([["r", 1, [1]], ["append", 1, 2]])),
            (Kind::Ok, json!([["r", 1, [1]], ["append", 1, 3]])),
            (Kind::Ok, json!([["r", 1, [1, 3]]])),
        ];
        let v = judge(&["serializable"], &txns, false);
        assert_eq!(v.valid, Valid::False);
        assert!(
            types(&v).contains(&"lost-update".to_string()),
            "{:?}",
            types(&v)
        );
        assert_eq!(judge(&["read-committed"], &txns, false).valid, Valid::True);
    }

    #[test]
    fn a_serial_store_is_strict_serializable_and_diverging_replicas_are_not() {
        let v = judge(ALL, &appended(3000, 1, 0), false);
        assert_eq!(v.valid, Valid::True, "{:?}", v.problems);
        // Replicas apply each other's appends late, so their lists diverge.
        let txns = appended(3000, 2, 3);
        let v = judge(&["read-committed"], &txns, false);
        assert!(
            types(&v).contains(&"incompatible-order".to_string()),
            "{:?}",
            types(&v)
        );
        assert_eq!(
            judge(&["read-committed"], &txns, false).problems,
            v.problems
        );
    }
}
