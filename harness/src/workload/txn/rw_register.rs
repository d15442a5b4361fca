//! Maelstrom's txn-rw-register: clients send `txn` requests of micro-ops
//! (`["r", k, null]`, `["w", k, v]`) and expect `txn_ok` with the reads filled in.
//! The generator is Elle's (see [`super::gen`]). The checker is Elle's
//! rw-register checker as Maelstrom configures it (`wfr-keys?`), kept sound: it
//! infers only version orders the history proves, given unique writes:
//! - nil (the initial state) precedes every value of a key;
//! - writes follow reads: a txn that read k = v1 and wrote k = v2 puts v1 before v2.
//!
//! From these: wr (T1 wrote what T2 read), ww (T2 read T1's v1 and wrote v2) and
//! rw (T1 read v1, or nil, and T2 wrote a later v2) edges; the cycle search and
//! the models are shared with list-append. Besides cycles: G1a (a read of a
//! failed txn's write), G1b (a read of a value its writer later overwrote),
//! internal inconsistency, lost updates (two txns read the same version of a key
//! and both wrote it) and cyclic version orders. Deviation from Elle: internal
//! inconsistency fails every model, not only the serializable ones.

use anyhow::Result;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

use super::cycles;
use super::explain::{self, Describe};
use super::gen::TxnGen;
use super::graph::{Dep, Graph, TxnId};
use super::models::Models;
use super::{verdict, Findings};
use crate::history::{History, Kind};
use crate::rng::Rng;
use crate::workload::{Context, Op, Problem, Verdict, Workload};

pub struct TxnRw {
    gen: TxnGen,
    models: Models,
}

pub fn new(o: &crate::workload::Options) -> Result<Box<dyn Workload>> {
    Ok(Box::new(TxnRw {
        gen: TxnGen::new(o.key_count, o.max_txn_length, o.max_writes_per_key)?,
        models: Models::new(&o.consistency_models),
    }))
}

impl Workload for TxnRw {
    fn next_op(&mut self, _: usize, rng: &mut Rng) -> Op {
        super::next_txn(&mut self.gen, rng, "w")
    }

    fn request(&self, op: &Op) -> Value {
        json!({"type": "txn", "txn": op.value})
    }

    fn reply_value(&self, op: &Op, reply: &mut Value) -> Result<Value, String> {
        super::reply_txn(
            op,
            reply,
            "w",
            |v| v.is_null() || v.is_i64(),
            "null or an integer",
        )
    }

    fn check(&self, history: &History, ctx: &Context) -> Verdict {
        let a = Analysis::new(history, ctx);
        verdict("txn", &self.models, a.findings(history, &self.models))
    }
}

#[derive(Clone, Copy)]
struct Mop {
    write: bool,
    k: i64,
    v: Option<i64>,
}

type Txn<'a> = super::Txn<'a, Mop>;

fn mops_of(v: &Value) -> Vec<Mop> {
    v.as_array()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| {
                    Some(Mop {
                        write: m.get(0)?.as_str()? == "w",
                        k: m.get(1)?.as_i64()?,
                        v: m.get(2).and_then(Value::as_i64),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Reads of keys before any write to them in the txn: the first per key.
fn ext_reads(mops: &[Mop]) -> Vec<(i64, Option<i64>)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for m in mops {
        if seen.insert(m.k) && !m.write {
            out.push((m.k, m.v));
        }
    }
    out
}

/// The final write of each key the txn writes.
fn ext_writes(mops: &[Mop]) -> BTreeMap<i64, i64> {
    mops.iter()
        .filter(|m| m.write)
        .filter_map(|m| Some((m.k, m.v?)))
        .collect()
}

fn fmt_v(v: Option<i64>) -> String {
    v.map_or("nil".into(), |v| v.to_string())
}

struct Analysis<'a> {
    ctx: &'a Context<'a>,
    txns: Vec<Txn<'a>>,
    graph: Graph,
    cyclic_versions: Vec<Problem>,
}

impl<'a> Analysis<'a> {
    fn new(history: &'a History, ctx: &'a Context<'a>) -> Analysis<'a> {
        let txns = super::txns(history, |c| mops_of(&c.value));
        let mut a = Analysis {
            ctx,
            graph: Graph::new(txns.len()),
            txns,
            cyclic_versions: Vec::new(),
        };
        a.build_graph();
        a
    }

    /// A case of an anomaly about txn `i`, at its moment.
    fn about(&self, i: TxnId, text: String) -> Problem {
        super::about(&self.txns[i], self.ctx, text)
    }

    fn oks(&self) -> impl Iterator<Item = (TxnId, &Txn<'a>)> + '_ {
        super::oks(&self.txns)
    }

    fn build_graph(&mut self) {
        // Who wrote each (key, value), finally, among ok txns (Elle's ext-index);
        // who read each (key, value or nil) first.
        let mut writer: HashMap<(i64, i64), TxnId> = HashMap::new();
        let mut writers: HashMap<i64, Vec<(i64, TxnId)>> = HashMap::new();
        // Ordered maps wherever edges are made in iteration order: a seed replays
        // the same explanations.
        let mut readers: BTreeMap<(i64, Option<i64>), Vec<TxnId>> = BTreeMap::new();
        // Version orders from writes-follow-reads: a txn that read k = v1 and wrote
        // k = v2 puts v1 before v2.
        let mut versions: BTreeMap<i64, BTreeMap<i64, Vec<i64>>> = BTreeMap::new();
        let mut wfr = Vec::new();
        for (i, t) in self.oks() {
            let writes = ext_writes(&t.mops);
            for (&k, &v) in &writes {
                writer.insert((k, v), i);
                writers.entry(k).or_default().push((v, i));
            }
            for (k, v) in ext_reads(&t.mops) {
                readers.entry((k, v)).or_default().push(i);
                if let (Some(v1), Some(&v2)) = (v, writes.get(&k)) {
                    let next = versions.entry(k).or_default().entry(v1).or_default();
                    next.push(v2);
                    wfr.push((k, v1, v2));
                }
            }
        }
        for (k, g) in &versions {
            if let Some(cycle) = version_cycle(g) {
                let vs: Vec<String> = cycle.iter().map(|v| v.to_string()).collect();
                self.cyclic_versions.push(Problem::new(format!(
                    "the version order of key {k} is cyclic: txns that read one value and \
                     then wrote the next order its values {} -> {}",
                    vs.join(" -> "),
                    vs[0]
                )));
            }
        }
        // As Elle, a source of version orders that makes them cyclic is dropped.
        if !self.cyclic_versions.is_empty() {
            wfr.clear();
        }
        let g = &mut self.graph;
        for (&(k, v), rs) in &readers {
            let Some(v) = v else { continue };
            if let Some(&w) = writer.get(&(k, v)) {
                for &r in rs {
                    g.add(w, r, Dep::Wr { key: k, value: v });
                }
            }
        }
        // nil precedes every value: a txn that read nil precedes every writer.
        for (&(k, v), rs) in &readers {
            if v.is_some() {
                continue;
            }
            for &(to, w) in writers.get(&k).into_iter().flatten() {
                for &r in rs {
                    g.add(
                        r,
                        w,
                        Dep::Rw {
                            key: k,
                            from: None,
                            to,
                        },
                    );
                }
            }
        }
        for (k, v1, v2) in wfr {
            let Some(&w2) = writer.get(&(k, v2)) else {
                continue;
            };
            // The writer of v1 precedes the writer of v2 (which read v1) ...
            if let Some(&w1) = writer.get(&(k, v1)) {
                g.add(
                    w1,
                    w2,
                    Dep::Ww {
                        key: k,
                        from: v1,
                        to: v2,
                    },
                );
            }
            // ... and so does every other reader of v1.
            for &r in readers.get(&(k, Some(v1))).into_iter().flatten() {
                g.add(
                    r,
                    w2,
                    Dep::Rw {
                        key: k,
                        from: Some(v1),
                        to: v2,
                    },
                );
            }
        }
    }

    fn findings(mut self, history: &History, models: &Models) -> Findings {
        let mut found: BTreeMap<String, Vec<Problem>> = BTreeMap::new();
        if !self.cyclic_versions.is_empty() {
            found.insert("cyclic-versions".into(), self.cyclic_versions.clone());
        }
        for (name, cases) in [
            ("internal", self.internal()),
            ("lost-update", self.lost_updates()),
        ]
        .into_iter()
        .chain(self.g1ab())
        {
            if !cases.is_empty() {
                found.insert(name.into(), cases);
            }
        }
        super::findings(
            &mut self,
            found,
            history,
            models,
            &["cyclic-versions", "internal", "G1a", "G1b", "lost-update"],
        )
    }

    fn internal(&self) -> Vec<Problem> {
        let mut internal = Vec::new();
        for (i, t) in self.oks() {
            let mut state: HashMap<i64, Option<i64>> = HashMap::new();
            for m in &t.mops {
                match (m.write, state.get(&m.k)) {
                    (false, Some(&expected)) if expected != m.v => {
                        internal.push(self.about(
                            i,
                            format!(
                                "{} read key {} = {}, but by its own earlier micro-ops it \
                             should have read {}",
                                self.txn(i),
                                m.k,
                                fmt_v(m.v),
                                fmt_v(expected)
                            ),
                        ));
                        break;
                    }
                    _ => {
                        state.insert(m.k, m.v);
                    }
                }
            }
        }
        internal
    }

    /// G1a and G1b.
    fn g1ab(&self) -> [(&'static str, Vec<Problem>); 2] {
        let mut failed: HashMap<(i64, i64), TxnId> = HashMap::new();
        let mut intermediate: HashMap<(i64, i64), TxnId> = HashMap::new();
        for (i, t) in self.txns.iter().enumerate() {
            let mut last: HashMap<i64, i64> = HashMap::new();
            for m in t.mops.iter().filter(|m| m.write) {
                let Some(v) = m.v else { continue };
                if t.kind == Kind::Fail {
                    failed.insert((m.k, v), i);
                } else if let Some(prev) = last.insert(m.k, v) {
                    intermediate.insert((m.k, prev), i);
                }
            }
        }
        let mut g1a = Vec::new();
        let mut g1b = Vec::new();
        for (i, t) in self.oks() {
            for m in t.mops.iter().filter(|m| !m.write) {
                let Some(v) = m.v else { continue };
                if let Some(&w) = failed.get(&(m.k, v)) {
                    g1a.push(self.about(
                        i,
                        format!(
                            "{} read key {} = {v}, which only {} wrote, and that txn failed \
                         (aborted read)",
                            self.txn(i),
                            m.k,
                            self.txn(w)
                        ),
                    ));
                }
                if let Some(&w) = intermediate.get(&(m.k, v)) {
                    if w != i {
                        g1b.push(self.about(
                            i,
                            format!(
                                "{} read key {} = {v}, which {} wrote and then overwrote in the \
                             same txn (intermediate read)",
                                self.txn(i),
                                m.k,
                                self.txn(w)
                            ),
                        ));
                    }
                }
            }
        }
        [("G1a", g1a), ("G1b", g1b)]
    }

    /// Elle's lost update: two committed txns read the same version of a key
    /// (nil included) and both wrote it; in any serial order the later one would
    /// have read the earlier one's write.
    fn lost_updates(&self) -> Vec<Problem> {
        let mut by_read: BTreeMap<(i64, Option<i64>), Vec<TxnId>> = BTreeMap::new();
        for (i, t) in self.oks() {
            let writes = ext_writes(&t.mops);
            for (k, v) in ext_reads(&t.mops) {
                if writes.contains_key(&k) {
                    by_read.entry((k, v)).or_default().push(i);
                }
            }
        }
        by_read
            .into_iter()
            .filter(|(_, ts)| ts.len() > 1)
            .map(|((k, v), ts)| {
                let txns: Vec<String> = ts.iter().map(|&t| self.txn(t)).collect();
                let text = format!(
                    "{} txns read key {k} = {} and each then wrote key {k}, so one of them \
                     overwrote a version the other had already replaced: {}",
                    ts.len(),
                    fmt_v(v),
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
            .map(|m| {
                format!(
                    "[{} {} {}]",
                    if m.write { "w" } else { "r" },
                    m.k,
                    fmt_v(m.v)
                )
            })
            .collect();
        super::describe(t, &mops, self.ctx)
    }

    fn dep(&self, dep: &Dep, a: &str, b: &str) -> String {
        match *dep {
            Dep::Wr { key, value } => {
                format!("{a} wrote key {key} = {value}, which {b} read (wr)")
            }
            Dep::Ww { key, from, to } => {
                format!("{a} wrote key {key} = {from}, and {b} read it and then wrote {to} (ww)")
            }
            Dep::Rw {
                key,
                from: None,
                to,
            } => format!(
                "{a} read key {key} = nil, its initial state, and {b} wrote {key} = {to}, \
                 so {b} came after {a} (rw)"
            ),
            Dep::Rw {
                key,
                from: Some(from),
                to,
            } => format!(
                "{a} read key {key} = {from}, and {b} overwrote it: {b} read {from} too \
                 and then wrote {to} (rw)"
            ),
            Dep::Realtime => explain::realtime(a, b),
            Dep::Process => explain::process(a, b),
        }
    }
}

/// A cycle of values in one key's version graph, if there is one.
fn version_cycle(g: &BTreeMap<i64, Vec<i64>>) -> Option<Vec<i64>> {
    let mut ids: HashMap<i64, usize> = HashMap::new();
    let mut vals = Vec::new();
    for (&a, bs) in g {
        for &v in std::iter::once(&a).chain(bs) {
            ids.entry(v).or_insert_with(|| {
                vals.push(v);
                vals.len() - 1
            });
        }
    }
    let mut vg = Graph::new(vals.len());
    for (&a, bs) in g {
        for &b in bs {
            let order = Dep::Ww {
                key: 0,
                from: a,
                to: b,
            };
            vg.add(ids[&a], ids[&b], order);
        }
    }
    let c = cycles::search(&vg, cycles::Levels::default())
        .into_iter()
        .next()?;
    Some(c.steps.iter().map(|&(a, _, _)| vals[a]).collect())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{self, history, types};
    use super::*;
    use crate::workload::Valid;

    fn judge(models: &[&str], txns: &[(Kind, Value)]) -> Verdict {
        testing::judge(new, models, &history(txns, false))
    }

    /// The same txns, all invoked before any completes (no real-time order).
    fn concurrent(txns: &[(Kind, Value)]) -> History {
        history(txns, true)
    }

    /// Writes from stores that replicate late (see `testing::replicated`).
    fn written(n: usize, replicas: usize, lag: usize, seed: u64) -> Vec<(Kind, Value)> {
        testing::replicated(n, replicas, lag, seed, "w", |v: &mut u64, w| *v = w)
    }

    fn judge_history(models: &[&str], h: &History) -> Verdict {
        testing::judge(new, models, h)
    }

    fn found(v: &Verdict) -> Vec<String> {
        v.result["anomalies"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn a_serial_history_is_valid_under_every_model() {
        let txns = [
            (Kind::Ok, json!([["r", 1, null], ["w", 1, 1]])),
            (Kind::Ok, json!([["r", 1, 1], ["w", 1, 2], ["r", 1, 2]])),
            (Kind::Fail, json!([["w", 2, 1]])),
            (Kind::Ok, json!([["r", 2, null], ["r", 1, 2]])),
        ];
        for m in ["read-committed", "serializable", "strict-serializable"] {
            let v = judge(&[m], &txns);
            assert_eq!(v.valid, Valid::True, "{m}: {:?}", v.problems);
        }
        let v = judge(&["serializable"], &txns);
        assert_eq!(v.result["dependencies"], json!({"wr": 2, "ww": 1, "rw": 1}));
        // Maelstrom's default is strict-serializable, which adds real-time edges.
        let v = judge(&[], &txns);
        assert_eq!(
            v.result["consistency-models"],
            json!(["strict-serializable"])
        );
        // T1 -> T2 -> the failed T3, and T2 -> T4 (T3 failed).
        assert_eq!(v.result["dependencies"]["realtime"], json!(3));
    }

    #[test]
    fn aborted_and_intermediate_reads_fail_read_committed_only() {
        let txns = [
            (Kind::Fail, json!([["w", 1, 1]])),
            (Kind::Ok, json!([["w", 2, 1], ["w", 2, 2]])),
            (Kind::Ok, json!([["r", 1, 1], ["r", 2, 1]])),
        ];
        let v = judge(&["read-committed"], &txns);
        assert_eq!(v.valid, Valid::False);
        assert_eq!(types(&v), ["G1a", "G1b"]);
        assert!(v.problems[0].text.contains("failed"), "{:?}", v.problems);
        // About the txn that read, the third: at its completion, on its node.
        let reader = history(&txns, false).completions().nth(2).unwrap().time;
        assert_eq!(v.problems[0].at, Some(reader));
        assert_eq!(v.problems[0].node.as_deref(), Some("n0"));
        // The JSON's anomalies stay sentences.
        assert!(v.result["anomalies"]["G1a"][0].is_string());
        assert_eq!(judge(&["read-uncommitted"], &txns).valid, Valid::True);
    }

    #[test]
    fn write_cycles_are_g0_and_read_cycles_g1c() {
        // T1 read y = 1 (T2's) and overwrote it; T2 read x = 1 (T1's) and overwrote it.
        let g0 = [
            (Kind::Ok, json!([["r", 2, 1], ["w", 1, 1], ["w", 2, 2]])),
            (Kind::Ok, json!([["r", 1, 1], ["w", 2, 1], ["w", 1, 2]])),
        ];
        let v = judge(&["read-uncommitted"], &g0);
        assert_eq!(v.valid, Valid::False);
        assert!(types(&v).contains(&"G0".to_string()), "{:?}", types(&v));
        // Each reads the other's write: a wr cycle, fine under read-uncommitted.
        let g1c = [
            (Kind::Ok, json!([["w", 1, 1], ["r", 2, 1]])),
            (Kind::Ok, json!([["w", 2, 1], ["r", 1, 1]])),
        ];
        assert_eq!(judge(&["read-uncommitted"], &g1c).valid, Valid::True);
        let v = judge(&["read-committed"], &g1c);
        assert_eq!(types(&v), ["G1c"]);
        assert!(
            v.problems[0].text.contains("T1 wrote key"),
            "{:?}",
            v.problems
        );
    }

    #[test]
    fn internal_inconsistency_and_cyclic_versions_are_invalid() {
        let v = judge(
            &["read-uncommitted"],
            &[(Kind::Ok, json!([["w", 1, 5], ["r", 1, 4]]))],
        );
        assert_eq!(types(&v), ["internal"]);
        let v = judge(
            &["read-uncommitted"],
            &[
                (Kind::Ok, json!([["r", 1, 1], ["w", 1, 2]])),
                (Kind::Ok, json!([["r", 1, 2], ["w", 1, 1]])),
            ],
        );
        assert!(types(&v).contains(&"cyclic-versions".to_string()));
    }

    /// Two nodes each run a txn on their own copy and ship the writes later:
    /// both read x = nil and wrote x, concurrently.
    #[test]
    fn a_lost_update_is_read_committed_but_not_serializable() {
        let h = concurrent(&[
            (Kind::Ok, json!([["r", 1, null], ["w", 1, 1]])),
            (Kind::Ok, json!([["r", 1, null], ["w", 1, 2]])),
        ]);
        assert_eq!(judge_history(&["read-committed"], &h).valid, Valid::True);
        let v = judge_history(&["serializable"], &h);
        assert_eq!(v.valid, Valid::False);
        assert_eq!(types(&v), ["G2-item", "lost-update"]);
        let g2 = &v.result["anomalies"]["G2-item"][0];
        let g2 = g2.as_str().unwrap();
        assert!(
            g2.contains("T1 read key 1 = nil") && g2.contains("(rw)"),
            "{g2}"
        );
        // Snapshot isolation forbids lost updates too, though it allows G2-item.
        let v = judge_history(&["snapshot-isolation"], &h);
        assert_eq!(types(&v), ["lost-update"]);
    }

    #[test]
    fn a_fractured_read_is_g_single() {
        // T2 sees T1's write of x but not its write of y.
        let h = concurrent(&[
            (Kind::Ok, json!([["w", 1, 1], ["w", 2, 1]])),
            (Kind::Ok, json!([["r", 1, 1], ["r", 2, null]])),
        ]);
        assert_eq!(judge_history(&["read-committed"], &h).valid, Valid::True);
        for m in ["snapshot-isolation", "repeatable-read", "serializable"] {
            let v = judge_history(&[m], &h);
            assert_eq!(types(&v), ["G-single-item"], "{m}");
            let text = v.problems[0].text.as_str();
            assert!(text.contains("(wr)") && text.contains("(rw)"), "{text}");
        }
    }

    #[test]
    fn write_skew_is_snapshot_isolation_but_not_serializable() {
        let h = concurrent(&[
            (
                Kind::Ok,
                json!([["r", 1, null], ["r", 2, null], ["w", 1, 1]]),
            ),
            (
                Kind::Ok,
                json!([["r", 1, null], ["r", 2, null], ["w", 2, 1]]),
            ),
        ]);
        let v = judge_history(&["snapshot-isolation"], &h);
        assert_eq!(v.valid, Valid::True, "{:?}", v.problems);
        let v = judge_history(&["serializable"], &h);
        assert_eq!(types(&v), ["G2-item"]);
    }

    #[test]
    fn a_stale_read_is_serializable_but_not_strict() {
        // T2 starts after T1 committed x = 1, yet reads nil.
        let txns = [
            (Kind::Ok, json!([["w", 1, 1]])),
            (Kind::Ok, json!([["r", 1, null]])),
        ];
        assert_eq!(judge(&["serializable"], &txns).valid, Valid::True);
        let v = judge(&["strict-serializable"], &txns);
        assert_eq!(types(&v), ["G-single-item-realtime"]);
        assert!(v.problems[0].text.contains("real time"), "{:?}", v.problems);
        // Concurrent, the same txns are strict serializable (T2 first).
        let h = concurrent(&txns);
        assert_eq!(judge_history(&[], &h).valid, Valid::True);
    }

    /// `txns` one after another, all by process 0 (one session).
    fn one_session(txns: &[(Kind, Value)]) -> History {
        let mut h = history(txns, false);
        for e in &mut h.entries {
            e.process = 0;
        }
        h
    }

    #[test]
    fn a_stale_read_in_one_session_is_not_strong_session() {
        // One process commits x = 1, then reads nil: G-single-item through process order.
        let txns = [
            (Kind::Ok, json!([["w", 1, 1]])),
            (Kind::Ok, json!([["r", 1, null]])),
        ];
        let h = one_session(&txns);
        for (models, expected) in [
            (&["serializable"][..], vec![]),
            (&["strong-session-read-committed"], vec![]),
            (&["PL-SI"], vec![]),
            (
                &["strong-session-snapshot-isolation"],
                vec!["G-single-item-process"],
            ),
            (
                &["strong-session-serializable"],
                vec!["G-single-item-process"],
            ),
        ] {
            let v = judge_history(models, &h);
            assert_eq!(types(&v), expected, "{models:?}: {:?}", v.problems);
            let valid = if expected.is_empty() {
                Valid::True
            } else {
                Valid::False
            };
            assert_eq!(v.valid, valid, "{models:?}");
        }
        let v = judge_history(&["strong-session-snapshot-isolation"], &h);
        assert!(
            v.problems[0].text.contains("same process"),
            "{:?}",
            v.problems
        );
        assert_eq!(v.result["dependencies"]["process"], 1);
        // Two processes, one after the other: real time orders them, the sessions do not.
        let two = history(&txns, false);
        let v = judge_history(&["strong-session-snapshot-isolation"], &two);
        assert_eq!(v.valid, Valid::True, "{:?}", v.problems);
        let v = judge_history(&["strong-snapshot-isolation"], &two);
        assert_eq!(types(&v), ["G-single-item-realtime"]);
        // Concurrent in two processes: T2 may come first under every model.
        let v = judge_history(&["strong-snapshot-isolation"], &concurrent(&txns));
        assert_eq!(v.valid, Valid::True);
    }

    #[test]
    fn reading_a_later_write_is_not_strong_read_committed() {
        // T1 reads x = 1, which T2 writes only after T1 ended: G1c through order edges.
        let txns = [
            (Kind::Ok, json!([["r", 1, 1]])),
            (Kind::Ok, json!([["w", 1, 1]])),
        ];
        let session = one_session(&txns);
        assert_eq!(
            judge_history(&["read-committed"], &session).valid,
            Valid::True
        );
        let v = judge_history(&["strong-session-read-committed"], &session);
        assert_eq!(types(&v), ["G1c-process"]);
        let v = judge_history(&["strong-read-committed"], &history(&txns, false));
        assert_eq!(types(&v), ["G1c-realtime"]);
        // Concurrent, T2 may have come first.
        let v = judge_history(&["strong-read-committed"], &concurrent(&txns));
        assert_eq!(v.valid, Valid::True);
    }

    #[test]
    fn nothing_ok_is_unknown_not_valid() {
        for txns in [vec![], vec![(Kind::Fail, json!([["w", 1, 1]]))]] {
            let v = judge(&[], &txns);
            assert_eq!(v.valid, Valid::Unknown, "{txns:?}");
            assert_eq!(types(&v), ["empty-transaction-graph"]);
            assert!(
                v.problems[0].text.contains("proves nothing"),
                "{:?}",
                v.problems
            );
        }
        // Indeterminate txns alone prove nothing either.
        let v = judge(&[], &[(Kind::Info, json!([["w", 1, 1]]))]);
        assert_eq!(v.valid, Valid::Unknown);
    }

    #[test]
    fn allowed_anomalies_are_reported_but_do_not_invalidate() {
        let h = concurrent(&[
            (Kind::Ok, json!([["r", 1, null], ["w", 1, 1]])),
            (Kind::Ok, json!([["r", 1, null], ["w", 1, 2]])),
        ]);
        let v = judge_history(&["read-committed"], &h);
        assert_eq!(found(&v), ["lost-update"]);
        assert!(types(&v).is_empty());
    }

    #[test]
    fn undecided_models_are_unknown_and_strange_ones_refused() {
        assert_eq!(judge(&["cursor-stability"], &[]).valid, Valid::Unknown);
        // A model Elle does not know is refused by the option's parser.
        assert!(crate::TestArgs::parse(["--consistency-models", "bogus"]).is_err());
    }

    #[test]
    fn a_serial_store_is_strict_serializable_and_replicas_only_read_committed() {
        let serial = history(&written(3000, 1, 0, 5), false);
        let v = judge_history(&["strict-serializable"], &serial);
        assert_eq!(v.valid, Valid::True, "{:?}", v.problems);
        // Two stores that ship their writes 3 txns later, run in turn.
        let lww = history(&written(3000, 2, 3, 5), false);
        assert_eq!(judge_history(&["read-committed"], &lww).valid, Valid::True);
        let v = judge_history(&["serializable"], &lww);
        assert_eq!(v.valid, Valid::False);
        assert!(
            types(&v)
                .iter()
                .any(|t| t == "G2-item" || t == "G-single-item"),
            "{:?}",
            types(&v)
        );
        // The same history, the same explanations.
        assert_eq!(judge_history(&["serializable"], &lww).problems, v.problems);
    }
}
