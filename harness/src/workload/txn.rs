//! Maelstrom's txn-rw-register: clients send `txn` requests of micro-ops
//! (`["r", k, null]`, `["w", k, v]`) and expect `txn_ok` with the reads filled in.
//! The generator is Jepsen's rw-register generator as Maelstrom configures it
//! (Elle's `wr-txns`: exponential key choice over `--key-count` active keys, 1 to
//! `--max-txn-length` ops, each key retired after a Zipf-drawn number of writes up
//! to `--max-writes-per-key`, writes unique per key). The checker is the part of
//! Elle that decides read-uncommitted and read-committed, kept sound (it reports
//! only what the history proves): G1a (a read of a failed txn's write), G1b (a
//! read of a value its writer later overwrote), internal inconsistency, and cycles
//! over the dependencies Elle infers with `wfr-keys?` (as Maelstrom configures it):
//! wr from unique writes, ww from "a txn that read v1 and then wrote v2 puts v1
//! before v2". A ww-only cycle is G0; a cycle with a wr edge is G1c. Deviation
//! from Elle: internal inconsistency fails every model here, not only the
//! serializable ones; models stronger than read-committed are judged `unknown`
//! when no anomaly is found, since their G-single/G2 are not looked for.

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

use super::{secs, Context, Op, Valid, Verdict, Workload};
use crate::history::{Entry, History, Kind};
use crate::rng::Rng;

/// The models this checker decides fully, and the stronger ones it knows by name.
const DECIDED: &[&str] = &["read-uncommitted", "read-committed"];
const STRONGER: &[&str] = &[
    "cursor-stability",
    "monotonic-atomic-view",
    "monotonic-view",
    "monotonic-snapshot-read",
    "read-atomic",
    "repeatable-read",
    "snapshot-isolation",
    "serializable",
    "strict-serializable",
    "strong-serializable",
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

pub struct TxnRw {
    min_len: u64,
    max_len: u64,
    max_writes_per_key: u64,
    key_count: usize,
    /// G1a, G1b, G1c are prohibited (read-committed or stronger).
    forbid_g1: bool,
    /// Some model asked for is stronger than what is checked.
    stronger: bool,
    models: Vec<String>,
    // Generator state, as Elle's: the active keys, how many writes each may take,
    // and the next value to write per key.
    active: Vec<u64>,
    max_writes: Vec<u64>,
    next_value: HashMap<u64, u64>,
    started: bool,
}

pub fn new(o: &super::Options) -> Result<Box<dyn Workload>> {
    let models: Vec<String> = if o.consistency_models.is_empty() {
        vec!["strict-serializable".to_string()]
    } else {
        o.consistency_models.clone()
    };
    let mut forbid_g1 = false;
    let mut stronger = false;
    for m in &models {
        match m.as_str() {
            "read-uncommitted" => {}
            "read-committed" => forbid_g1 = true,
            m if STRONGER.contains(&m) => {
                forbid_g1 = true;
                stronger = true;
            }
            m => bail!(
                "unknown consistency model {m:?}; this harness decides {} and knows {}",
                DECIDED.join(", "),
                STRONGER.join(", ")
            ),
        }
    }
    if o.max_txn_length == 0 || o.max_writes_per_key == 0 || o.key_count == Some(0) {
        bail!("--key-count, --max-txn-length and --max-writes-per-key must be positive");
    }
    Ok(Box::new(TxnRw {
        min_len: 1,
        max_len: o.max_txn_length as u64,
        max_writes_per_key: o.max_writes_per_key as u64,
        key_count: o.key_count.unwrap_or(10),
        forbid_g1,
        stronger,
        models,
        active: Vec::new(),
        max_writes: Vec::new(),
        next_value: HashMap::new(),
        started: false,
    }))
}

/// Jepsen's `zipf n`: an integer in [0, n), P(i) proportional to 1/(i+1)^1.0001.
fn zipf(rng: &mut Rng, n: u64) -> u64 {
    let w = |i: u64| 1.0 / ((i + 1) as f64).powf(1.0001);
    let total: f64 = (0..n).map(w).sum();
    let mut x = rng.unit() * total;
    for i in 0..n {
        x -= w(i);
        if x < 0.0 {
            return i;
        }
    }
    n.saturating_sub(1)
}

impl TxnRw {
    /// Elle's exponential key choice: key i is 2^i times as likely as key 0.
    fn key_index(&self, rng: &mut Rng) -> usize {
        let n = self.active.len() as i32;
        let scale = 2.0 * (2f64.powi(n) - 1.0);
        let i = ((rng.unit() * scale + 2.0).log2() - 1.0).floor();
        (i.max(0.0) as usize).min(self.active.len() - 1)
    }

    fn fresh_key(&mut self, i: usize, rng: &mut Rng) {
        let old = self.active[i];
        let k = self.active.iter().copied().max().unwrap_or(0) + 1;
        self.next_value.remove(&old);
        self.active[i] = k;
        self.max_writes[i] = 1 + zipf(rng, self.max_writes_per_key);
    }
}

impl Workload for TxnRw {
    fn next_op(&mut self, _: usize, rng: &mut Rng) -> Op {
        if !self.started {
            self.started = true;
            self.active = (0..self.key_count as u64).collect();
            self.max_writes = (0..self.key_count)
                .map(|_| 1 + zipf(rng, self.max_writes_per_key))
                .collect();
        }
        let mut left = self.min_len + rng.below(self.max_len - self.min_len + 1);
        let mut txn = Vec::new();
        while left > 0 {
            let write = rng.below(2) == 1;
            let i = self.key_index(rng);
            let k = self.active[i];
            if !write {
                txn.push(json!(["r", k, null]));
                left -= 1;
                continue;
            }
            let v = self.next_value.get(&k).copied().unwrap_or(1);
            if self.max_writes[i] < v {
                self.fresh_key(i, rng);
                continue;
            }
            self.next_value.insert(k, v + 1);
            txn.push(json!(["w", k, v]));
            left -= 1;
        }
        Op {
            f: "txn",
            value: Value::Array(txn),
        }
    }

    fn request(&self, op: &Op) -> Value {
        json!({"type": "txn", "txn": op.value})
    }

    fn reply_value(&self, op: &Op, reply: &mut Value) -> Result<Value, String> {
        let asked = op.value.as_array().map(Vec::as_slice).unwrap_or(&[]);
        let Some(got) = reply.get_mut("txn").map(Value::take) else {
            return Err("a txn_ok must have a \"txn\"".into());
        };
        let ok = match got.as_array() {
            Some(got) if got.len() == asked.len() => got
                .iter()
                .zip(asked)
                .enumerate()
                .try_for_each(|(i, (g, a))| {
                    let same_fk = g.get(0) == a.get(0) && g.get(1) == a.get(1);
                    let v = g.get(2);
                    let shape = g.as_array().is_some_and(|m| m.len() == 3);
                    let fits = match a.get(0).and_then(Value::as_str) {
                        Some("w") => v == a.get(2),
                        _ => v.is_some_and(|v| v.is_null() || v.is_i64()),
                    };
                    if shape && same_fk && fits {
                        Ok(())
                    } else {
                        Err(format!(
                            "micro-op {i} of the txn_ok is {g}, for the requested {a} \
                             (a read must return null or an integer, a write its value)"
                        ))
                    }
                }),
            _ => Err(format!(
                "a txn_ok's \"txn\" must be an array of the {} micro-ops requested",
                asked.len()
            )),
        };
        match ok {
            Ok(()) => Ok(got),
            Err(why) => {
                reply["txn"] = got;
                Err(why)
            }
        }
    }

    fn check(&self, history: &History, ctx: &Context) -> Verdict {
        let a = Analysis::new(history, ctx);
        let found = a.anomalies();
        let prohibited = |name: &str| match name {
            "G0" | "cyclic-versions" | "internal" => true,
            _ => self.forbid_g1,
        };
        let mut anomalies = Map::new();
        let mut types = Vec::new();
        let mut allowed = Vec::new();
        let mut problems = Vec::new();
        for (name, cases) in &found {
            let list: Vec<Value> = cases.iter().map(|c| json!(c)).collect();
            anomalies.insert(name.to_string(), json!(list));
            if prohibited(name) {
                types.push(json!(name));
                for c in cases.iter().take(3) {
                    problems.push(format!("{name}: {c}"));
                }
                if cases.len() > 3 {
                    problems.push(format!("{name}: ... {} cases in all", cases.len()));
                }
            } else {
                allowed.push(format!("{name} ({})", cases.len()));
            }
        }
        let valid = if !types.is_empty() {
            Valid::False
        } else if self.stronger {
            Valid::Unknown
        } else {
            Valid::True
        };
        let counts = |k: Kind| a.txns.iter().filter(|t| t.kind == k).count();
        let (ok, fail, info) = (counts(Kind::Ok), counts(Kind::Fail), counts(Kind::Info));
        let mut result = Map::new();
        result.insert("consistency-models".into(), json!(self.models));
        result.insert("anomaly-types".into(), json!(types));
        result.insert("anomalies".into(), Value::Object(anomalies));
        result.insert(
            "txn-count".into(),
            json!({"ok": ok, "fail": fail, "info": info}),
        );
        result.insert(
            "dependencies".into(),
            json!({"wr": a.wr_edges, "ww": a.ww_edges}),
        );
        let mut summary = vec![format!(
            "txn: {ok} ok, {fail} failed, {info} indeterminate txns; {} wr and {} ww \
             dependencies inferred; checked for {}",
            a.wr_edges,
            a.ww_edges,
            self.models.join(", ")
        )];
        if types.is_empty() {
            summary.push("txn: no prohibited anomaly (G0, G1a, G1b, G1c, internal)".into());
        } else {
            summary.push(format!(
                "txn: prohibited anomalies: {}",
                types
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !allowed.is_empty() {
            summary.push(format!(
                "txn: allowed by the model(s): {}",
                allowed.join(", ")
            ));
        }
        if self.stronger && types.is_empty() {
            problems.push(
                "the models asked for forbid more than G0/G1 (G-single, G2), which this \
                 harness does not look for: validity unknown"
                    .into(),
            );
        }
        Verdict {
            valid,
            result,
            problems,
            summary,
        }
    }
}

#[derive(Clone, Copy)]
struct Mop {
    write: bool,
    k: i64,
    v: Option<i64>,
}

struct Txn<'a> {
    kind: Kind,
    entry: &'a Entry,
    mops: Vec<Mop>,
}

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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dep {
    /// The source wrote k = v, which the target read.
    Wr(i64, i64),
    /// The source wrote k = v, the target read it and then wrote k = v2.
    Ww(i64, i64, i64),
}

struct Analysis<'a> {
    ctx: &'a Context<'a>,
    txns: Vec<Txn<'a>>,
    /// Dependency edges between txns (indices into `txns`).
    out: Vec<Vec<(usize, Dep)>>,
    wr_edges: usize,
    ww_edges: usize,
    cyclic_versions: Vec<String>,
}

fn fmt_v(v: Option<i64>) -> String {
    v.map_or("nil".into(), |v| v.to_string())
}

impl<'a> Analysis<'a> {
    fn new(history: &'a History, ctx: &'a Context<'a>) -> Analysis<'a> {
        let txns: Vec<Txn> = history
            .completions()
            .filter(|c| c.f == "txn")
            .map(|c| Txn {
                kind: c.kind,
                entry: c,
                mops: mops_of(&c.value),
            })
            .collect();
        let mut a = Analysis {
            ctx,
            out: vec![Vec::new(); txns.len()],
            txns,
            wr_edges: 0,
            ww_edges: 0,
            cyclic_versions: Vec::new(),
        };
        a.build_graph();
        a
    }

    fn describe(&self, t: usize) -> String {
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
        format!(
            "txn [{}] (process {} on {}, {} at {})",
            mops.join(" "),
            t.entry.process,
            self.ctx.node(t.entry.node),
            t.kind.name(),
            secs(t.entry.time)
        )
    }

    fn build_graph(&mut self) {
        // Who wrote each (key, value), finally, among ok txns (Elle's ext-index).
        let mut writer: HashMap<(i64, i64), usize> = HashMap::new();
        for (i, t) in self.txns.iter().enumerate() {
            if t.kind == Kind::Ok {
                for (k, v) in ext_writes(&t.mops) {
                    writer.insert((k, v), i);
                }
            }
        }
        // Version orders from writes-follow-reads: a txn that read k = v1 and wrote
        // k = v2 puts v1 before v2. nil precedes everything and has no writer, so
        // it adds no txn dependency and cannot close a cycle.
        let mut versions: BTreeMap<i64, HashMap<i64, Vec<i64>>> = BTreeMap::new();
        let mut wfr = Vec::new();
        for (i, t) in self.txns.iter().enumerate() {
            if t.kind != Kind::Ok {
                continue;
            }
            let writes = ext_writes(&t.mops);
            for (k, v) in ext_reads(&t.mops) {
                if let (Some(v1), Some(&v2)) = (v, writes.get(&k)) {
                    versions
                        .entry(k)
                        .or_default()
                        .entry(v1)
                        .or_default()
                        .push(v2);
                    wfr.push((i, k, v1, v2));
                }
            }
        }
        for (k, g) in &versions {
            if let Some(cycle) = version_cycle(g) {
                let vs: Vec<String> = cycle.iter().map(|v| v.to_string()).collect();
                self.cyclic_versions.push(format!(
                    "the version order of key {k} is cyclic: txns that read one value and \
                     then wrote the next order its values {} -> {}",
                    vs.join(" -> "),
                    vs[0]
                ));
            }
        }
        // As Elle, a source of version orders that makes them cyclic is dropped.
        if !self.cyclic_versions.is_empty() {
            wfr.clear();
        }
        for (i, t) in self.txns.iter().enumerate() {
            if t.kind != Kind::Ok {
                continue;
            }
            for (k, v) in ext_reads(&t.mops) {
                let Some(v) = v else { continue };
                if let Some(&w) = writer.get(&(k, v)) {
                    if w != i {
                        self.out[w].push((i, Dep::Wr(k, v)));
                        self.wr_edges += 1;
                    }
                }
            }
        }
        for (_, k, v1, v2) in wfr {
            // The writer of v1 precedes every writer of v2; the reader itself is one.
            if let (Some(&w1), Some(&w2)) = (writer.get(&(k, v1)), writer.get(&(k, v2))) {
                if w1 != w2 {
                    self.out[w1].push((w2, Dep::Ww(k, v1, v2)));
                    self.ww_edges += 1;
                }
            }
        }
    }

    fn anomalies(&self) -> BTreeMap<&'static str, Vec<String>> {
        let mut found: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        if !self.cyclic_versions.is_empty() {
            found.insert("cyclic-versions", self.cyclic_versions.clone());
        }
        let mut internal = Vec::new();
        let mut failed: HashMap<(i64, i64), usize> = HashMap::new();
        let mut intermediate: HashMap<(i64, i64), usize> = HashMap::new();
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
            if t.kind == Kind::Ok {
                let mut state: HashMap<i64, Option<i64>> = HashMap::new();
                for m in &t.mops {
                    match (m.write, state.get(&m.k)) {
                        (false, Some(&expected)) if expected != m.v => {
                            internal.push(format!(
                                "{} read key {} = {}, but by its own earlier micro-ops it \
                                 should have read {}",
                                self.describe(i),
                                m.k,
                                fmt_v(m.v),
                                fmt_v(expected)
                            ));
                            break;
                        }
                        _ => {
                            state.insert(m.k, m.v);
                        }
                    }
                }
            }
        }
        let mut g1a = Vec::new();
        let mut g1b = Vec::new();
        for (i, t) in self.txns.iter().enumerate() {
            if t.kind != Kind::Ok {
                continue;
            }
            for m in t.mops.iter().filter(|m| !m.write) {
                let Some(v) = m.v else { continue };
                if let Some(&w) = failed.get(&(m.k, v)) {
                    g1a.push(format!(
                        "{} read key {} = {v}, which only {} wrote, and that txn failed \
                         (aborted read)",
                        self.describe(i),
                        m.k,
                        self.describe(w)
                    ));
                }
                if let Some(&w) = intermediate.get(&(m.k, v)) {
                    if w != i {
                        g1b.push(format!(
                            "{} read key {} = {v}, which {} wrote and then overwrote in the \
                             same txn (intermediate read)",
                            self.describe(i),
                            m.k,
                            self.describe(w)
                        ));
                    }
                }
            }
        }
        for (name, cases) in [("internal", internal), ("G1a", g1a), ("G1b", g1b)] {
            if !cases.is_empty() {
                found.insert(name, cases);
            }
        }
        let (g0, g1c) = self.cycles();
        if !g0.is_empty() {
            found.insert("G0", g0);
        }
        if !g1c.is_empty() {
            found.insert("G1c", g1c);
        }
        found
    }

    /// G0 cycles (ww only), then G1c cycles (ww and wr, with a wr edge), one per
    /// strongly connected component.
    fn cycles(&self) -> (Vec<String>, Vec<String>) {
        let n = self.txns.len();
        let ww: Vec<Vec<(usize, Dep)>> = self
            .out
            .iter()
            .map(|es| {
                es.iter()
                    .copied()
                    .filter(|(_, d)| matches!(d, Dep::Ww(..)))
                    .collect()
            })
            .collect();
        let mut g0 = Vec::new();
        for scc in sccs(n, &ww) {
            if let Some(cycle) = cycle_in(&ww, &scc, None) {
                g0.push(self.explain(&cycle));
            }
        }
        let mut g1c = Vec::new();
        for scc in sccs(n, &self.out) {
            let member: HashSet<usize> = scc.iter().copied().collect();
            let wr = scc.iter().find_map(|&u| {
                self.out[u]
                    .iter()
                    .find(|(v, d)| matches!(d, Dep::Wr(..)) && member.contains(v))
                    .map(|&(v, d)| (u, v, d))
            });
            if let Some(edge) = wr {
                if let Some(cycle) = cycle_in(&self.out, &scc, Some(edge)) {
                    g1c.push(self.explain(&cycle));
                }
            }
        }
        (g0, g1c)
    }

    fn explain(&self, cycle: &[(usize, usize, Dep)]) -> String {
        let steps: Vec<String> = cycle
            .iter()
            .map(|&(a, b, d)| {
                let name = |x: usize| {
                    let pos = cycle.iter().position(|e| e.0 == x).unwrap_or(0);
                    format!("T{}", pos + 1)
                };
                match d {
                    Dep::Wr(k, v) => {
                        format!("{} wrote key {k} = {v}, which {} read", name(a), name(b))
                    }
                    Dep::Ww(k, v1, v2) => format!(
                        "{} wrote key {k} = {v1}, and {} read it and then wrote {v2}",
                        name(a),
                        name(b)
                    ),
                }
            })
            .collect();
        let txns: Vec<String> = cycle
            .iter()
            .enumerate()
            .map(|(j, &(a, _, _))| format!("T{} = {}", j + 1, self.describe(a)))
            .collect();
        format!(
            "a cycle of {} txns: {}; so each must follow the one before it, and T1 follows \
             itself. {}",
            cycle.len(),
            steps.join("; "),
            txns.join("; ")
        )
    }
}

/// A cycle of values in one key's version graph, if there is one.
fn version_cycle(g: &HashMap<i64, Vec<i64>>) -> Option<Vec<i64>> {
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
    let mut adj: Vec<Vec<(usize, Dep)>> = vec![Vec::new(); vals.len()];
    for (&a, bs) in g {
        for &b in bs {
            adj[ids[&a]].push((ids[&b], Dep::Wr(0, 0)));
        }
    }
    for scc in sccs(vals.len(), &adj) {
        if let Some(c) = cycle_in(&adj, &scc, None) {
            return Some(c.iter().map(|&(a, _, _)| vals[a]).collect());
        }
    }
    None
}

/// Strongly connected components with more than one node (Tarjan, iterative).
fn sccs(n: usize, adj: &[Vec<(usize, Dep)>]) -> Vec<Vec<usize>> {
    const NONE: usize = usize::MAX;
    let mut index = vec![NONE; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut out = Vec::new();
    for root in 0..n {
        if index[root] != NONE {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (u, ref mut e)) = call.last_mut() {
            if let Some(&(v, _)) = adj[u].get(*e) {
                *e += 1;
                if index[v] == NONE {
                    index[v] = next;
                    low[v] = next;
                    next += 1;
                    stack.push(v);
                    on_stack[v] = true;
                    call.push((v, 0));
                } else if on_stack[v] {
                    low[u] = low[u].min(index[v]);
                }
            } else {
                call.pop();
                if let Some(&(p, _)) = call.last() {
                    low[p] = low[p].min(low[u]);
                }
                if low[u] == index[u] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp.push(w);
                        if w == u {
                            break;
                        }
                    }
                    if comp.len() > 1 {
                        comp.sort_unstable();
                        out.push(comp);
                    }
                }
            }
        }
    }
    out
}

/// A shortest cycle inside `scc`: through `edge` if given, else through the
/// component's first node. Each step is (from, to, dependency).
fn cycle_in(
    adj: &[Vec<(usize, Dep)>],
    scc: &[usize],
    edge: Option<(usize, usize, Dep)>,
) -> Option<Vec<(usize, usize, Dep)>> {
    let member: HashSet<usize> = scc.iter().copied().collect();
    // Find a path from `start` to `goal` by BFS within the component.
    let (start, goal, first) = match edge {
        Some((a, b, d)) => (b, a, Some((a, b, d))),
        None => {
            let s = *scc.first()?;
            (s, s, None)
        }
    };
    let mut prev: HashMap<usize, (usize, Dep)> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut reached = start == goal && first.is_some();
    while let Some(u) = queue.pop_front() {
        if reached {
            break;
        }
        for &(v, d) in &adj[u] {
            if !member.contains(&v) || prev.contains_key(&v) || (v == start && first.is_some()) {
                continue;
            }
            prev.insert(v, (u, d));
            if v == goal {
                reached = true;
                break;
            }
            queue.push_back(v);
        }
    }
    if !reached {
        return None;
    }
    let mut path = Vec::new();
    let mut at = goal;
    loop {
        if first.is_some() && at == start {
            break;
        }
        let &(p, d) = prev.get(&at)?;
        path.push((p, at, d));
        at = p;
        if first.is_none() && at == start {
            break;
        }
    }
    path.reverse();
    if let Some(e) = first {
        path.insert(0, e);
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Options;

    fn options(models: &[&str]) -> Options {
        Options {
            nodes: vec!["n0".into()],
            topology: "grid".into(),
            concurrency: 1,
            key_count: None,
            max_txn_length: 4,
            max_writes_per_key: 16,
            consistency_models: models.iter().map(|m| m.to_string()).collect(),
        }
    }

    /// A history of completed txns: (kind, txn as [f, k, v] triples).
    fn history(txns: &[(Kind, Value)]) -> History {
        let mut h = History::default();
        for (i, (kind, v)) in txns.iter().enumerate() {
            for k in [Kind::Invoke, *kind] {
                let index = h.entries.len();
                h.entries.push(Entry {
                    index,
                    kind: k,
                    process: i as u64,
                    node: 0,
                    f: "txn",
                    value: v.clone(),
                    time: index as u64 * 1000,
                    error: None,
                    is_final: false,
                    invoke: (k != Kind::Invoke).then(|| index - 1),
                });
            }
        }
        h
    }

    fn judge(models: &[&str], txns: &[(Kind, Value)]) -> Verdict {
        let w = new(&options(models)).unwrap();
        let nodes = vec!["n0".to_string()];
        w.check(&history(txns), &Context { nodes: &nodes })
    }

    fn types(v: &Verdict) -> Vec<String> {
        v.result["anomaly-types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_serial_history_is_valid() {
        let v = judge(
            &["read-committed"],
            &[
                (Kind::Ok, json!([["r", 1, null], ["w", 1, 1]])),
                (Kind::Ok, json!([["r", 1, 1], ["w", 1, 2], ["r", 1, 2]])),
                (Kind::Fail, json!([["w", 2, 1]])),
                (Kind::Ok, json!([["r", 2, null], ["r", 1, 2]])),
            ],
        );
        assert_eq!(v.valid, Valid::True, "{:?}", v.problems);
        assert_eq!(v.result["dependencies"], json!({"wr": 2, "ww": 1}));
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
        assert!(v.problems[0].contains("failed"), "{:?}", v.problems);
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
        assert!(v.problems[0].contains("T1 wrote key"), "{:?}", v.problems);
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

    #[test]
    fn stronger_models_are_unknown_and_strange_ones_refused() {
        assert_eq!(judge(&["serializable"], &[]).valid, Valid::Unknown);
        assert!(new(&options(&["bogus"])).is_err());
    }

    #[test]
    fn the_generator_writes_unique_values_per_key() {
        let mut w = TxnRw {
            min_len: 1,
            max_len: 4,
            max_writes_per_key: 16,
            key_count: 10,
            forbid_g1: false,
            stronger: false,
            models: vec![],
            active: vec![],
            max_writes: vec![],
            next_value: HashMap::new(),
            started: false,
        };
        let mut rng = Rng::new(3);
        let mut seen = HashSet::new();
        let mut lens = [0; 5];
        let mut keys = HashSet::new();
        for _ in 0..5000 {
            let op = w.next_op(0, &mut rng);
            let mops = mops_of(&op.value);
            lens[mops.len()] += 1;
            for m in mops {
                keys.insert(m.k);
                if m.write {
                    assert!(seen.insert((m.k, m.v)), "{:?} written twice", (m.k, m.v));
                    assert!(m.v.unwrap() <= 16);
                }
            }
        }
        assert_eq!(lens[0], 0);
        assert!(lens[1..].iter().all(|&n| n > 1000), "{lens:?}");
        assert!(
            keys.len() > 50,
            "keys retire and fresh ones come: {}",
            keys.len()
        );
    }
}
