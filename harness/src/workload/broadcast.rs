//! Broadcast: every node first gets a `topology` (neighbours to use), then clients
//! mix `broadcast` of fresh integers with `read`s, and after a quiet period every
//! client reads once more. Judged as Jepsen's set-full: a value is stable once every
//! later-starting read contains it, lost if a read that began after it was known
//! missed it and no later read saw it again, never-read otherwise. Lost values make
//! the run invalid; no stable value at all makes it unknown.

use anyhow::Result;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

use super::{secs, Context, Op, Options, Problem, Valid, Verdict, Workload};
use crate::history::{Entry, History, Kind};
use crate::options::Topology;
use crate::rng::Rng;

pub struct Broadcast {
    topology: BTreeMap<String, Vec<String>>,
    nodes: Vec<String>,
    next_value: u64,
}

pub fn new(options: &Options) -> Result<Box<dyn Workload>> {
    Ok(Box::new(Broadcast {
        topology: topology(options.topology, &options.nodes),
        nodes: options.nodes.clone(),
        next_value: 0,
    }))
}

/// Each node's neighbours under the topology, as Maelstrom computes them.
pub fn topology(shape: Topology, nodes: &[String]) -> BTreeMap<String, Vec<String>> {
    let n = nodes.len();
    let pick =
        |ix: Vec<usize>| -> Vec<String> { ix.into_iter().map(|i| nodes[i].clone()).collect() };
    let mut t = BTreeMap::new();
    match shape {
        Topology::Grid => {
            let side = (n as f64).sqrt().ceil() as i64;
            let at = |i: i64, j: i64| -> Option<usize> {
                if i < 0 || j < 0 || j >= side {
                    return None;
                }
                let idx = (i * side + j) as usize;
                (idx < n).then_some(idx)
            };
            for i in 0..side {
                for j in 0..side {
                    if let Some(me) = at(i, j) {
                        let nb = [at(i + 1, j), at(i - 1, j), at(i, j + 1), at(i, j - 1)];
                        t.insert(nodes[me].clone(), pick(nb.into_iter().flatten().collect()));
                    }
                }
            }
        }
        Topology::Line => {
            if n >= 2 {
                for (i, me) in nodes.iter().enumerate() {
                    let mut nb = Vec::new();
                    if i > 0 {
                        nb.push(i - 1);
                    }
                    if i + 1 < n {
                        nb.push(i + 1);
                    }
                    t.insert(me.clone(), pick(nb));
                }
            }
        }
        Topology::Total => {
            for (i, me) in nodes.iter().enumerate() {
                t.insert(me.clone(), pick((0..n).filter(|&j| j != i).collect()));
            }
        }
        Topology::Tree2 | Topology::Tree3 | Topology::Tree4 => {
            let b = match shape {
                Topology::Tree3 => 3,
                Topology::Tree4 => 4,
                _ => 2,
            };
            // Tiers of 1, b, b², ... nodes in order: node i's children are b·i+1 ..= b·i+b.
            for (i, me) in nodes.iter().enumerate() {
                let mut nb = Vec::new();
                if i > 0 {
                    nb.push((i - 1) / b);
                }
                nb.extend((b * i + 1..=b * i + b).filter(|&c| c < n));
                t.insert(me.clone(), pick(nb));
            }
        }
    }
    t
}

impl Workload for Broadcast {
    fn setup(&self, _node: usize) -> Option<Value> {
        Some(json!({"type": "topology", "topology": self.topology}))
    }

    fn next_op(&mut self, _: usize, rng: &mut Rng) -> Op {
        if rng.below(2) == 0 {
            let v = self.next_value;
            self.next_value += 1;
            Op {
                f: "broadcast",
                value: json!(v),
            }
        } else {
            Op::read()
        }
    }

    fn final_op(&self, _: usize) -> Option<Op> {
        Some(Op::read())
    }

    fn request(&self, op: &Op) -> Value {
        match op.f {
            "broadcast" => json!({"type": "broadcast", "message": op.value}),
            _ => json!({"type": "read"}),
        }
    }

    fn reply_value(&self, op: &Op, reply: &mut Value) -> Result<Value, String> {
        match op.f {
            "broadcast" => Ok(op.value.clone()),
            _ => match reply.get_mut("messages") {
                Some(m @ Value::Array(_)) => Ok(m.take()),
                _ => Err("a read_ok must have a \"messages\" array".to_string()),
            },
        }
    }

    fn idempotent(&self, f: &str) -> bool {
        f == "read"
    }

    fn check(&self, history: &History, ctx: &Context) -> Verdict {
        check(history, ctx, self.nodes.len())
    }
}

/// Where a read began: its invocation.
#[derive(Clone, Copy)]
struct At {
    index: usize,
    time: u64,
    node: usize,
}

impl At {
    fn of(e: &Entry) -> At {
        At {
            index: e.index,
            time: e.time,
            node: e.node,
        }
    }
}

/// The integers one read returned: a bitset for the small dense values the
/// generator hands out, a hash set for anything else.
#[derive(Default)]
struct Seen {
    bits: Vec<u64>,
    other: HashSet<u64>,
}

impl Seen {
    const DENSE: u64 = 1 << 24;

    /// False if `v` was already there.
    fn insert(&mut self, v: u64) -> bool {
        if v >= Self::DENSE {
            return self.other.insert(v);
        }
        let (w, b) = ((v / 64) as usize, v % 64);
        if w >= self.bits.len() {
            self.bits.resize(w + 1, 0);
        }
        let fresh = self.bits[w] & (1 << b) == 0;
        self.bits[w] |= 1 << b;
        fresh
    }

    fn contains(&self, v: u64) -> bool {
        if v >= Self::DENSE {
            return self.other.contains(&v);
        }
        self.bits
            .get((v / 64) as usize)
            .is_some_and(|w| w & (1 << (v % 64)) != 0)
    }
}

#[derive(Default)]
struct Element {
    added: Option<At>,
    /// When it was first known to exist: the add's completion or the first read seeing it.
    known: Option<At>,
    last_present: Option<At>,
    last_absent: Option<At>,
}

fn ms(ns: u64) -> u64 {
    ns / 1_000_000
}

fn check(history: &History, ctx: &Context, node_count: usize) -> Verdict {
    // Elements in the order their broadcasts began; every ok read visits them all,
    // so they sit in a vector and each read's values in a bitset.
    let mut tracked: Vec<(u64, Element)> = Vec::new();
    let mut slot: HashMap<u64, usize> = HashMap::new();
    let mut dups: BTreeMap<String, usize> = BTreeMap::new();
    let mut final_reads: Vec<(usize, Seen)> = Vec::new();
    for e in &history.entries {
        match (e.f, e.kind) {
            ("broadcast", Kind::Invoke) => {
                if let Some(v) = e.value.as_u64() {
                    let el = Element {
                        added: Some(At::of(e)),
                        ..Default::default()
                    };
                    match slot.get(&v) {
                        Some(&i) => tracked[i].1 = el,
                        None => {
                            slot.insert(v, tracked.len());
                            tracked.push((v, el));
                        }
                    }
                }
            }
            ("broadcast", Kind::Ok) => {
                if let Some(&i) = e.value.as_u64().and_then(|v| slot.get(&v)) {
                    tracked[i].1.known.get_or_insert(At::of(e));
                }
            }
            ("read", Kind::Ok) => {
                let Some(inv) = e.invoke.map(|i| At::of(&history.entries[i])) else {
                    continue;
                };
                let values = e.value.as_array().map(Vec::as_slice).unwrap_or(&[]);
                let mut seen = Seen::default();
                let mut repeated = false;
                for m in values {
                    match m.as_u64() {
                        Some(v) => repeated |= !seen.insert(v),
                        None => repeated = true,
                    }
                }
                if repeated {
                    // Rare: count exactly, by JSON text, as Jepsen keys them.
                    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
                    for m in values {
                        *counts.entry(m.to_string()).or_default() += 1;
                    }
                    for (k, c) in counts.into_iter().filter(|(_, c)| *c > 1) {
                        let d = dups.entry(k).or_default();
                        *d = (*d).max(c);
                    }
                }
                for (v, el) in tracked.iter_mut() {
                    if seen.contains(*v) {
                        el.known.get_or_insert(At::of(e));
                        if el.last_present.is_none_or(|p| p.index < inv.index) {
                            el.last_present = Some(inv);
                        }
                    } else if el.last_absent.is_none_or(|a| a.index < inv.index) {
                        el.last_absent = Some(inv);
                    }
                }
                if e.is_final {
                    final_reads.push((e.node, seen));
                }
            }
            _ => {}
        }
    }
    let elements: BTreeMap<u64, Element> = tracked.into_iter().collect();

    let idx = |a: Option<At>| a.map(|a| a.index as i64).unwrap_or(-1);
    let mut stable = Vec::new();
    let mut lost = Vec::new();
    let mut never_read = Vec::new();
    let mut stale: Vec<(u64, u64)> = Vec::new();
    let mut stable_latencies = Vec::new();
    let mut lost_latencies = Vec::new();
    let mut problems = Vec::new();
    for (&v, el) in &elements {
        let known_time = el.known.map(|k| k.time).unwrap_or(0);
        let is_stable = el.last_present.is_some() && idx(el.last_absent) < idx(el.last_present);
        let is_lost = el.known.is_some()
            && el.last_absent.is_some()
            && idx(el.last_present) < idx(el.last_absent)
            && idx(el.known) < idx(el.last_absent);
        if is_stable {
            let stable_time = el.last_absent.map(|a| a.time + 1).unwrap_or(0);
            let lat = ms(stable_time.saturating_sub(known_time));
            stable.push(v);
            stable_latencies.push(lat);
            if lat > 0 {
                stale.push((v, lat));
            }
        } else if is_lost {
            let lost_time = el.last_present.map(|p| p.time + 1).unwrap_or(0);
            lost.push(v);
            lost_latencies.push(ms(lost_time.saturating_sub(known_time)));
            if problems.len() < 8 {
                problems.push(describe_lost(v, el, &final_reads, ctx));
            }
        } else {
            never_read.push(v);
        }
    }
    if lost.len() > 8 {
        problems.push(Problem::new(format!(
            "{} values were lost in all",
            lost.len()
        )));
    }

    let valid = if !lost.is_empty() {
        Valid::False
    } else if stable.is_empty() {
        problems.push(Problem::new(
            "no broadcast value ever became stable: no value was both acknowledged and then seen \
             by every later read (did any broadcast or read succeed?)",
        ));
        Valid::Unknown
    } else {
        Valid::True
    };

    let mut worst: Vec<(u64, u64)> = stale.clone();
    worst.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let worst_stale: Vec<Value> = worst
        .iter()
        .take(8)
        .map(|&(v, lat)| {
            let el = &elements[&v];
            json!({
                "element": v,
                "stable-latency": lat,
                "known-time": el.known.map(|k| k.time as f64 / 1e9),
                "last-absent": el.last_absent.map(|a| json!({"node": ctx.node(a.node), "time": a.time as f64 / 1e9})),
            })
        })
        .collect();

    let mut r = Map::new();
    r.insert("attempt-count".into(), json!(elements.len()));
    r.insert("stable-count".into(), json!(stable.len()));
    r.insert("lost-count".into(), json!(lost.len()));
    r.insert("lost".into(), json!(lost));
    r.insert("never-read-count".into(), json!(never_read.len()));
    r.insert("never-read".into(), json!(never_read));
    r.insert("stale-count".into(), json!(stale.len()));
    r.insert(
        "stale".into(),
        json!(stale.iter().map(|s| s.0).collect::<Vec<_>>()),
    );
    r.insert("worst-stale".into(), json!(worst_stale));
    r.insert("duplicated-count".into(), json!(dups.len()));
    r.insert("duplicated".into(), json!(dups));
    if let Some(q) = quantiles(&stable_latencies) {
        r.insert("stable-latencies".into(), q);
    }
    if let Some(q) = quantiles(&lost_latencies) {
        r.insert("lost-latencies".into(), q);
    }

    let mut summary = vec![format!(
        "broadcast: {} values over {node_count} node{}: {} stable, {} lost, {} never read, {} stale \
         (missed by a read after being acknowledged, while spreading: normal)",
        elements.len(),
        if node_count == 1 { "" } else { "s" },
        stable.len(),
        lost.len(),
        never_read.len(),
        stale.len()
    )];
    if let Some(q) = r.get("stable-latencies") {
        summary.push(format!(
            "stable latency (from a broadcast's acknowledgement until every read has it), ms: \
             min {}, median {}, p95 {}, p99 {}, max {}",
            q["0"], q["0.5"], q["0.95"], q["0.99"], q["1"]
        ));
    }
    if !dups.is_empty() {
        summary.push(format!(
            "note: {} values appeared more than once in a single read (Maelstrom does not judge this)",
            dups.len()
        ));
    }
    Verdict {
        valid,
        result: r,
        problems,
        summary,
    }
}

/// Why value `v` counts as lost, about the moment it was broadcast (or first
/// known) and the node it was broadcast to.
fn describe_lost(v: u64, el: &Element, final_reads: &[(usize, Seen)], ctx: &Context) -> Problem {
    let mut s = format!("value {v} was lost: ");
    if let Some(a) = el.added {
        s += &format!("broadcast to {} at {}", ctx.node(a.node), secs(a.time));
    }
    if let Some(k) = el.known {
        s += &format!(", known to exist at {}", secs(k.time));
    }
    match el.last_present {
        Some(p) => {
            s += &format!(
                "; last seen by {}'s read at {}",
                ctx.node(p.node),
                secs(p.time)
            )
        }
        None => s += "; no read ever contained it",
    }
    if let Some(a) = el.last_absent {
        s += &format!(
            "; missing from {}'s read at {}",
            ctx.node(a.node),
            secs(a.time)
        );
    }
    let mut missing: Vec<&str> = final_reads
        .iter()
        .filter(|(_, seen)| !seen.contains(v))
        .map(|(n, _)| ctx.node(*n))
        .collect();
    missing.dedup();
    if !missing.is_empty() {
        s += &format!("; the final reads of {} lack it", missing.join(", "));
    }
    let first = [el.added, el.known, el.last_present, el.last_absent];
    let mut p = Problem::new(s);
    p.at = first.iter().flatten().map(|a| a.time).next();
    p.node = el.added.map(|a| ctx.node(a.node).to_string());
    p
}

/// Maelstrom's quantile map of `values` (in any order), by the shared formula.
fn quantiles(values: &[u64]) -> Option<Value> {
    let mut v = values.to_vec();
    v.sort_unstable();
    crate::stats::quantiles(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn grid_of_five() {
        let t = topology(Topology::Grid, &names(5));
        // side 3: n0 n1 n2 / n3 n4
        assert_eq!(t["n0"], vec!["n3", "n1"]);
        assert_eq!(t["n1"], vec!["n4", "n2", "n0"]);
        assert_eq!(t["n4"], vec!["n1", "n3"]);
    }

    #[test]
    fn trees_and_lines() {
        let t = topology(Topology::Tree2, &names(6));
        assert_eq!(t["n0"], vec!["n1", "n2"]);
        assert_eq!(t["n1"], vec!["n0", "n3", "n4"]);
        assert_eq!(t["n2"], vec!["n0", "n5"]);
        let l = topology(Topology::Line, &names(3));
        assert_eq!(l["n1"], vec!["n0", "n2"]);
        assert!(topology(Topology::Line, &names(1)).is_empty());
        assert_eq!(topology(Topology::Total, &names(3))["n2"], vec!["n0", "n1"]);
    }

    /// A history, one (kind, f, value, second, node) per entry; a completion
    /// completes the latest open invocation on the same node.
    fn history(ops: &[(Kind, &'static str, Value, u64, usize)]) -> History {
        let mut h = History::default();
        let mut open: Vec<(usize, usize)> = Vec::new();
        for (kind, f, value, sec, node) in ops.iter().cloned() {
            let index = h.entries.len();
            let invoke = if kind == Kind::Invoke {
                open.push((node, index));
                None
            } else {
                let at = open.iter().rposition(|(n, _)| *n == node).unwrap();
                Some(open.remove(at).1)
            };
            h.push(Entry {
                process: node as u64,
                node,
                invoke,
                ..Entry::at(kind, f, value, sec * 1_000_000_000)
            });
        }
        h
    }

    #[test]
    fn set_full_finds_lost_stable_stale_never_read_and_duplicates() {
        use Kind::*;
        let h = history(&[
            (Invoke, "broadcast", json!(0), 0, 0),
            (Ok, "broadcast", json!(0), 1, 0),
            (Invoke, "broadcast", json!(1), 2, 0),
            (Ok, "broadcast", json!(1), 3, 0),
            (Invoke, "read", Value::Null, 4, 1),
            (Ok, "read", json!([0]), 5, 1),
            (Invoke, "read", Value::Null, 6, 0),
            (Ok, "read", json!([0, 1, 1]), 7, 0),
            (Invoke, "broadcast", json!(2), 8, 2),
            (Info, "broadcast", json!(2), 9, 2),
            (Invoke, "read", Value::Null, 10, 1),
            (Ok, "read", json!([1]), 11, 1),
        ]);
        let nodes = names(3);
        let v = check(&h, &Context { nodes: &nodes }, 3);
        assert_eq!(v.valid, Valid::False);
        let r = Value::Object(v.result);
        assert_eq!(r["lost"], json!([0]));
        assert_eq!(r["stable-count"], 1);
        assert_eq!(r["stale"], json!([1]));
        // Stable from just after the last read missing it (4 s) minus known (3 s).
        assert_eq!(r["stable-latencies"]["1"], 1000);
        assert_eq!(r["never-read"], json!([2]));
        assert_eq!(r["duplicated"], json!({"1": 2}));
        assert!(
            v.problems[0].text.starts_with("value 0 was lost"),
            "{:?}",
            v.problems
        );
        assert!(v.problems[0]
            .text
            .contains("missing from n1's read at 10.000 s"));
    }

    #[test]
    fn nothing_stable_is_unknown() {
        use Kind::*;
        let h = history(&[
            (Invoke, "broadcast", json!(0), 0, 0),
            (Info, "broadcast", json!(0), 5, 0),
        ]);
        let nodes = names(1);
        assert_eq!(
            check(&h, &Context { nodes: &nodes }, 1).valid,
            Valid::Unknown
        );
    }

    #[test]
    fn quantiles_as_jepsen() {
        let q = quantiles(&[5, 1, 3, 2, 4]).unwrap();
        assert_eq!(q, json!({"0": 1, "0.5": 3, "0.95": 5, "0.99": 5, "1": 5}));
    }
}
