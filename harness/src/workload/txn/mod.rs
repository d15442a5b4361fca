//! Maelstrom's transactional workloads, judged as Elle judges them. Each data
//! model (rw-register, list-append) has its generator, its RPCs and what its
//! values reveal about version orders; the rest is shared: the dependency graph
//! ([`graph`]), the cycle search ([`cycles`]), the explanations ([`explain`]),
//! the consistency models ([`models`]), Elle's transaction generator ([`gen`]),
//! and here the txns as both data models see them, the end of the check that
//! does not depend on the data model, and the verdict.

pub mod cycles;
pub mod explain;
pub mod gen;
pub mod graph;
pub mod list_append;
pub mod models;
pub mod rw_register;
#[cfg(test)]
mod testing;

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use super::{secs, Context, Op, Problem, Valid, Verdict};
use crate::history::{Entry, History, Kind};
use crate::rng::Rng;
use explain::Describe;
use gen::TxnGen;
use graph::{Graph, Rel, TxnId};
use models::Models;

pub use list_append::new as list_append;
pub use rw_register::new as rw_register;

/// How many cases of each anomaly the problems list (the JSON has them all).
const SHOWN: usize = 3;

/// What a checker found, before the models judge it.
pub struct Findings {
    /// Anomaly name -> each case explained (a cycle about its first txn's moment).
    pub anomalies: BTreeMap<String, Vec<Problem>>,
    /// ok, failed and indeterminate txns.
    pub counts: (usize, usize, usize),
    /// Dependencies inferred, by kind ("wr", "ww", "rw", "realtime").
    pub dependencies: Vec<(&'static str, usize)>,
    /// The anomalies other than cycles this workload looks for.
    pub checked: &'static [&'static str],
}

/// A completed txn, with its micro-ops in its data model's form.
pub struct Txn<'a, M> {
    /// How it completed: ok, failed or indeterminate.
    pub kind: Kind,
    /// Its completion in the history.
    pub entry: &'a Entry,
    /// Its micro-ops, as the data model reads them.
    pub mops: Vec<M>,
}

/// The history's txns in completion order (a txn's place is its `TxnId`);
/// `mops` reads a completion's micro-ops.
pub fn txns<M>(history: &History, mops: impl Fn(&Entry) -> Vec<M>) -> Vec<Txn<'_, M>> {
    history
        .completions()
        .filter(|c| c.f == "txn")
        .map(|c| Txn {
            kind: c.kind,
            entry: c,
            mops: mops(c),
        })
        .collect()
}

/// The txns that completed ok, with their ids.
pub fn oks<'b, 'a, M>(
    txns: &'b [Txn<'a, M>],
) -> impl Iterator<Item = (TxnId, &'b Txn<'a, M>)> + 'b {
    txns.iter().enumerate().filter(|(_, t)| t.kind == Kind::Ok)
}

/// A case of an anomaly about txn `t`: at its moment (its completion), on its node.
pub fn about<M>(t: &Txn<M>, ctx: &Context, text: String) -> Problem {
    Problem::new(text)
        .at(t.entry.time)
        .node(ctx.node(t.entry.node))
}

/// A txn in full for an explanation, given its micro-ops in words.
pub fn describe<M>(t: &Txn<M>, mops: &[String], ctx: &Context) -> String {
    format!(
        "txn [{}] (process {} on {}, {} at {})",
        mops.join(" "),
        t.entry.process,
        ctx.node(t.entry.node),
        t.kind.name(),
        secs(t.entry.time)
    )
}

/// A txn request from Elle's generator: each micro-op `[write, k, v]` or
/// `["r", k, null]`, `write` being the data model's name for a write.
pub fn next_txn(gen: &mut TxnGen, rng: &mut Rng, write: &str) -> Op {
    let txn: Vec<Value> = gen
        .next(rng)
        .into_iter()
        .map(|m| {
            if m.write {
                json!([write, m.key, m.value])
            } else {
                json!(["r", m.key, null])
            }
        })
        .collect();
    Op {
        f: "txn",
        value: Value::Array(txn),
    }
}

/// What a data model's analysis gives the end of the check they share.
pub trait Analyzed<'a>: Describe {
    /// A micro-op in the data model's form.
    type Mop;
    /// Every completed txn, by `TxnId`.
    fn txns(&self) -> &[Txn<'a, Self::Mop>];
    /// The dependencies the data model inferred.
    fn graph(&mut self) -> &mut Graph;
}

/// The end of every data model's check: real-time edges when a model asks for
/// them, the cycles explained and added to what the data model `found`, and the
/// counts. `checked` names the anomalies other than cycles it looked for.
pub fn findings<'a, A: Analyzed<'a>>(
    a: &mut A,
    mut found: BTreeMap<String, Vec<Problem>>,
    history: &History,
    models: &Models,
    checked: &'static [&'static str],
) -> Findings {
    let levels = models.levels();
    let completion: Vec<usize> = a.txns().iter().map(|t| t.entry.index).collect();
    if levels.realtime {
        a.graph().add_realtime(history, &completion);
    }
    if levels.process {
        a.graph().add_process(history, &completion);
    }
    for c in cycles::search(a.graph(), levels) {
        let mut case = Problem::new(explain::cycle(a, &c));
        if let Some(t) = c.steps.first().and_then(|s| a.txns().get(s.0)) {
            case = case.at(t.entry.time);
        }
        found.entry(c.anomaly).or_default().push(case);
    }
    let count = |k: Kind| a.txns().iter().filter(|t| t.kind == k).count();
    let counts = (count(Kind::Ok), count(Kind::Fail), count(Kind::Info));
    let graph = a.graph();
    Findings {
        anomalies: found,
        counts,
        dependencies: [
            ("wr", Rel::Wr),
            ("ww", Rel::Ww),
            ("rw", Rel::Rw),
            ("realtime", Rel::Realtime),
            ("process", Rel::Process),
        ]
        .into_iter()
        .filter(|&(_, r)| match r {
            Rel::Realtime => levels.realtime,
            Rel::Process => levels.process,
            _ => true,
        })
        .map(|(name, r)| (name, graph.count(r)))
        .collect(),
        checked,
    }
}

/// Whether an anomaly is a kind of cycle (looked for in every workload).
fn is_cycle(anomaly: &str) -> bool {
    ["G0", "G1c", "G-single", "G-nonadjacent", "G2"]
        .iter()
        .any(|c| anomaly.starts_with(c))
}

/// The verdict: invalid if a prohibited anomaly was found; unknown if a model
/// asked for is not decided here, or if no txn completed ok (Elle's
/// empty-transaction-graph: a graph without txns proves nothing); else valid.
pub fn verdict(name: &str, models: &Models, f: Findings) -> Verdict {
    let mut anomalies = Map::new();
    let mut types = Vec::new();
    let mut allowed = Vec::new();
    let mut problems = Vec::new();
    for (anomaly, cases) in &f.anomalies {
        anomalies.insert(anomaly.clone(), json!(cases));
        if models.prohibits(anomaly) {
            types.push(anomaly.clone());
            for c in cases.iter().take(SHOWN) {
                problems.push(Problem {
                    text: format!("{anomaly}: {}", c.text),
                    ..c.clone()
                });
            }
            if cases.len() > SHOWN {
                problems.push(Problem::new(format!(
                    "{anomaly}: ... {} cases in all",
                    cases.len()
                )));
            }
        } else {
            allowed.push(format!("{anomaly} ({})", cases.len()));
        }
    }
    let (ok, fail, info) = f.counts;
    let empty = ok == 0 && types.is_empty();
    let valid = if !types.is_empty() {
        Valid::False
    } else if !models.undecided.is_empty() || empty {
        Valid::Unknown
    } else {
        Valid::True
    };
    if empty {
        problems.push(Problem::new(format!(
            "empty-transaction-graph: no txn completed ok ({fail} failed, {info} \
             indeterminate), so the dependency graph has no txn in it and proves \
             nothing: validity unknown, as Elle and Maelstrom say"
        )));
    }
    let deps: Map<String, Value> = f
        .dependencies
        .iter()
        .map(|&(k, n)| (k.to_string(), json!(n)))
        .collect();
    let mut result = Map::new();
    result.insert("consistency-models".into(), json!(models.names));
    let mut anomaly_types = types.clone();
    if empty {
        anomaly_types.push("empty-transaction-graph".into());
    }
    result.insert("anomaly-types".into(), json!(anomaly_types));
    result.insert("anomalies".into(), Value::Object(anomalies));
    result.insert(
        "txn-count".into(),
        json!({"ok": ok, "fail": fail, "info": info}),
    );
    result.insert("dependencies".into(), Value::Object(deps));
    let deps: Vec<String> = f
        .dependencies
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    let mut summary = vec![format!(
        "{name}: {ok} ok, {fail} failed, {info} indeterminate txns; dependencies \
         inferred (wr: read another's write, ww: overwrote it, rw: overwrote what another \
         read, realtime: began after another ended): {}; checked for {}",
        deps.join(", "),
        models.names.join(", ")
    )];
    if empty {
        summary.push(format!("{name}: no txn completed ok: validity unknown"));
    } else if types.is_empty() {
        let looked_for: Vec<&str> = models
            .prohibited()
            .into_iter()
            .filter(|a| is_cycle(a) || f.checked.contains(a))
            .collect();
        summary.push(format!(
            "{name}: no prohibited anomaly ({})",
            looked_for.join(", ")
        ));
    } else {
        summary.push(format!(
            "{name}: prohibited anomalies: {}",
            types.join(", ")
        ));
    }
    if !allowed.is_empty() {
        summary.push(format!(
            "{name}: allowed by the model(s): {}",
            allowed.join(", ")
        ));
    }
    if !models.undecided.is_empty() && types.is_empty() {
        problems.push(Problem::new(format!(
            "{} forbid anomalies this harness does not look for: validity unknown",
            models.undecided.join(", ")
        )));
    }
    Verdict {
        valid,
        result,
        problems,
        summary,
    }
}

/// The value of a `txn_ok`: its micro-ops, checked against those requested (same
/// function and key; a `write` echoes its value; a read's value `fits`, which
/// `shape` names for the message).
pub fn reply_txn(
    op: &Op,
    reply: &mut Value,
    write: &str,
    fits: fn(&Value) -> bool,
    shape: &str,
) -> Result<Value, String> {
    let asked = op.value.as_array().map(Vec::as_slice).unwrap_or(&[]);
    let Some(got) = reply.get_mut("txn").map(Value::take) else {
        return Err("a txn_ok must have a \"txn\"".into());
    };
    let ok = match got.as_array() {
        Some(got) if got.len() == asked.len() => {
            got.iter()
                .zip(asked)
                .enumerate()
                .try_for_each(|(i, (g, a))| {
                    let same_fk = g.get(0) == a.get(0) && g.get(1) == a.get(1);
                    let v = g.get(2);
                    let well_formed = g.as_array().is_some_and(|m| m.len() == 3);
                    let right = if a.get(0).and_then(Value::as_str) == Some(write) {
                        v == a.get(2)
                    } else {
                        v.is_some_and(fits)
                    };
                    if well_formed && same_fk && right {
                        Ok(())
                    } else {
                        Err(format!(
                            "micro-op {i} of the txn_ok is {g}, for the requested {a} \
                             (a read must return {shape}, a {write:?} its own value)"
                        ))
                    }
                })
        }
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
