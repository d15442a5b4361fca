//! Kafka, Maelstrom's append-only logs: clients `send` messages to keys and get an
//! offset back, `poll` from the offsets they hold, `commit_offsets` what they polled
//! and, to (re)assign themselves keys, `list_committed_offsets`. Maelstrom's client
//! does a poll and its commit in one operation; here every RPC is one operation (the
//! thread's next op is the commit its last poll owes), so the generator keeps each
//! client thread's poll positions and learns them from completions (`completed`).
//!
//! The checker follows Jepsen's kafka checker (the anomalies Maelstrom reports for
//! this workload without transactions): one offset holding two messages
//! (inconsistent-offsets), one message at two offsets (duplicate), an acknowledged
//! send skipped by a later poll or never read by anyone although later offsets were
//! (lost-write), offsets going backwards or jumping over known ones within a poll
//! (int-nonmonotonic-poll, int-poll-skip) or between one client's polls
//! (nonmonotonic-poll, poll-skip), one client's sends to a key getting decreasing
//! offsets (nonmonotonic-send), and acknowledged sends no poll ever returned, even
//! the final ones that read every key from 0 (unseen). It also checks committed
//! offsets: a listed committed offset no client committed (uncommitted-offset) or
//! lower than a commit acknowledged before the list began (nonmonotonic-committed;
//! stricter than Maelstrom, which lets a fresh assign start lower).

use anyhow::Result;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{secs, Context, Op, Valid, Verdict, Workload};
use crate::history::{Entry, History, Kind};
use crate::rng::Rng;

/// Active keys at once, and how many sends a key takes before it is retired for a
/// fresh one (as Jepsen's list-append generator feeding its kafka workload).
const KEY_COUNT: usize = 10;
const MAX_WRITES_PER_KEY: u64 = 1024;
/// The chance that an operation is an assign (Jepsen's `sub-p`, 1/64).
const ASSIGN_ONE_IN: u64 = 64;

#[derive(Default)]
struct Thread {
    /// Assigned keys and the offset to poll next for each.
    offsets: BTreeMap<String, i64>,
    /// The offsets the last poll reached, to commit before anything else.
    commit: Option<BTreeMap<String, i64>>,
}

pub struct Kafka {
    active: Vec<(u64, u64)>,
    next_key: u64,
    next_msg: u64,
    threads: HashMap<usize, Thread>,
}

pub fn new(_: &super::Options) -> Result<Box<dyn Workload>> {
    Ok(Box::new(Kafka {
        active: (0..KEY_COUNT as u64).map(|k| (k, 0)).collect(),
        next_key: KEY_COUNT as u64,
        next_msg: 1,
        threads: HashMap::new(),
    }))
}

fn offsets_map(v: &Value) -> BTreeMap<String, i64> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, o)| Some((k.clone(), o.as_i64()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// A poll_ok's `msgs` as key -> [(offset, msg)], if well formed.
fn parse_msgs(v: &Value) -> Result<BTreeMap<String, Vec<(i64, Value)>>, String> {
    let m = v
        .as_object()
        .ok_or("a poll_ok must have an object \"msgs\"")?;
    let mut out = BTreeMap::new();
    for (k, pairs) in m {
        let pairs = pairs
            .as_array()
            .ok_or(format!("msgs[{k:?}] must be an array of [offset, msg]"))?;
        let mut list = Vec::with_capacity(pairs.len());
        for p in pairs {
            match p.as_array().map(Vec::as_slice) {
                Some([o, msg]) if o.is_i64() => list.push((o.as_i64().unwrap_or(0), msg.clone())),
                _ => return Err(format!("msgs[{k:?}] holds {p}, not an [offset, msg] pair")),
            }
        }
        out.insert(k.clone(), list);
    }
    Ok(out)
}

impl Kafka {
    fn thread(&mut self, t: usize) -> &mut Thread {
        self.threads.entry(t).or_default()
    }

    fn send(&mut self, rng: &mut Rng) -> Op {
        let i = rng.below(self.active.len() as u64) as usize;
        let (key, writes) = self.active[i];
        if writes + 1 >= MAX_WRITES_PER_KEY {
            self.active[i] = (self.next_key, 0);
            self.next_key += 1;
        } else {
            self.active[i].1 += 1;
        }
        let msg = self.next_msg;
        self.next_msg += 1;
        Op {
            f: "send",
            value: json!({"key": key.to_string(), "msg": msg}),
        }
    }

    fn all_keys(&self) -> Vec<String> {
        let top = self.active.iter().map(|(k, _)| *k).max().unwrap_or(0);
        (0..=top.max(self.next_key.saturating_sub(1)))
            .map(|k| k.to_string())
            .collect()
    }
}

impl Workload for Kafka {
    fn next_op(&mut self, thread: usize, rng: &mut Rng) -> Op {
        if let Some(offsets) = self.thread(thread).commit.take() {
            return Op {
                f: "commit_offsets",
                value: json!(offsets),
            };
        }
        if rng.below(ASSIGN_ONE_IN) == 0 {
            // One key; a third of the time every active key, to catch up on them all.
            let keys: Vec<String> = if rng.below(3) == 0 {
                self.active.iter().map(|(k, _)| k.to_string()).collect()
            } else {
                let i = rng.below(self.active.len() as u64) as usize;
                vec![self.active[i].0.to_string()]
            };
            return Op {
                f: "assign",
                value: json!(keys),
            };
        }
        if rng.below(2) == 0 {
            self.send(rng)
        } else {
            Op {
                f: "poll",
                value: json!(self.thread(thread).offsets),
            }
        }
    }

    /// After the quiet period every thread reads every key from the start.
    fn final_op(&self, _: usize) -> Option<Op> {
        let offsets: Map<String, Value> =
            self.all_keys().into_iter().map(|k| (k, json!(0))).collect();
        Some(Op {
            f: "poll",
            value: Value::Object(offsets),
        })
    }

    fn request(&self, op: &Op) -> Value {
        match op.f {
            "send" => json!({"type": "send", "key": op.value["key"], "msg": op.value["msg"]}),
            "poll" => json!({"type": "poll", "offsets": op.value}),
            "commit_offsets" => json!({"type": "commit_offsets", "offsets": op.value}),
            _ => json!({"type": "list_committed_offsets", "keys": op.value}),
        }
    }

    fn reply_value(&self, op: &Op, reply: &mut Value) -> Result<Value, String> {
        match op.f {
            "send" => match reply.get("offset").and_then(Value::as_i64) {
                Some(o) => Ok(json!({"key": op.value["key"], "msg": op.value["msg"], "offset": o})),
                None => Err("a send_ok must have an integer \"offset\"".into()),
            },
            "poll" => {
                let msgs = reply.get("msgs").unwrap_or(&Value::Null);
                parse_msgs(msgs)?;
                Ok(reply
                    .get_mut("msgs")
                    .map(Value::take)
                    .unwrap_or(Value::Null))
            }
            "commit_offsets" => Ok(op.value.clone()),
            _ => match reply.get_mut("offsets") {
                Some(v) if v.as_object().is_some_and(|m| m.values().all(Value::is_i64)) => {
                    Ok(v.take())
                }
                _ => Err("a list_committed_offsets_ok must map keys to integer \"offsets\"".into()),
            },
        }
    }

    fn idempotent(&self, f: &str) -> bool {
        f == "assign"
    }

    fn completed(&mut self, thread: usize, invoked: &Entry, e: &Entry) {
        match e.kind {
            Kind::Info => {
                // The client crashed: a fresh one starts with no keys assigned.
                self.threads.remove(&thread);
            }
            Kind::Ok if e.f == "poll" && !e.is_final => {
                let msgs = parse_msgs(&e.value).unwrap_or_default();
                let mut reached = BTreeMap::new();
                for (k, pairs) in msgs {
                    if let Some(max) = pairs.iter().map(|p| p.0).max() {
                        reached.insert(k, max);
                    }
                }
                let t = self.thread(thread);
                for (k, &max) in &reached {
                    let next = t.offsets.entry(k.clone()).or_insert(0);
                    *next = (*next).max(max + 1);
                }
                if !reached.is_empty() {
                    t.commit = Some(reached);
                }
            }
            Kind::Ok if e.f == "assign" => {
                let committed = offsets_map(&e.value);
                let keys: Vec<String> = invoked
                    .value
                    .as_array()
                    .map(|ks| {
                        ks.iter()
                            .filter_map(|k| Some(k.as_str()?.to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                let t = self.thread(thread);
                // As Jepsen's client: keep a position already held, else start at the
                // committed offset, else at 0.
                let old = std::mem::take(&mut t.offsets);
                for k in keys {
                    let at = old.get(&k).or(committed.get(&k)).copied().unwrap_or(0);
                    t.offsets.insert(k, at);
                }
            }
            _ => {}
        }
    }

    fn check(&self, history: &History, ctx: &Context) -> Verdict {
        check(history, ctx)
    }
}

/// The anomaly kinds, in report order; every one makes a run invalid.
const KINDS: &[&str] = &[
    "inconsistent-offsets",
    "duplicate",
    "lost-write",
    "int-nonmonotonic-poll",
    "int-poll-skip",
    "nonmonotonic-poll",
    "poll-skip",
    "nonmonotonic-send",
    "unseen",
    "uncommitted-offset",
    "nonmonotonic-committed",
];

#[derive(Default)]
struct Found {
    by_kind: BTreeMap<&'static str, (u64, Vec<Value>)>,
    problems: Vec<String>,
}

impl Found {
    fn add(&mut self, kind: &'static str, err: Value, sentence: impl FnOnce() -> String) {
        let e = self.by_kind.entry(kind).or_default();
        e.0 += 1;
        if e.1.len() < 8 {
            e.1.push(err);
            if self.problems.len() < 12 {
                self.problems.push(sentence());
            }
        }
    }
}

/// A message as a comparable string (messages are any JSON).
fn m(v: &Value) -> String {
    v.to_string()
}

fn check(history: &History, ctx: &Context) -> Verdict {
    let e = &history.entries;
    let mut found = Found::default();
    // Every known offset per key and the messages seen at it; the offsets of each message.
    let mut known: HashMap<String, BTreeMap<i64, BTreeSet<String>>> = HashMap::new();
    let mut placed: HashMap<(String, String), BTreeSet<i64>> = HashMap::new();
    let mut read: HashMap<String, BTreeSet<i64>> = HashMap::new();
    let mut note = |k: &str, o: i64, msg: &Value| {
        known
            .entry(k.to_string())
            .or_default()
            .entry(o)
            .or_default()
            .insert(m(msg));
        placed.entry((k.to_string(), m(msg))).or_default().insert(o);
    };
    let (mut sends, mut polls) = (0u64, 0u64);
    for c in history.completions().filter(|c| c.kind == Kind::Ok) {
        match c.f {
            "send" => {
                sends += 1;
                if let (Some(k), Some(o)) = (c.value["key"].as_str(), c.value["offset"].as_i64()) {
                    note(k, o, &c.value["msg"]);
                }
            }
            "poll" => {
                polls += 1;
                for (k, pairs) in parse_msgs(&c.value).unwrap_or_default() {
                    for (o, msg) in pairs {
                        note(&k, o, &msg);
                        read.entry(k.clone()).or_default().insert(o);
                    }
                }
            }
            _ => {}
        }
    }
    for (k, offsets) in &known {
        for (o, msgs) in offsets {
            if msgs.len() > 1 {
                found.add(
                    "inconsistent-offsets",
                    json!({"key": k, "offset": o, "values": msgs}),
                    || {
                        format!(
                            "key {k:?} offset {o} holds several messages: {}",
                            msgs.iter().cloned().collect::<Vec<_>>().join(", ")
                        )
                    },
                );
            }
        }
    }
    for ((k, msg), offsets) in &placed {
        if offsets.len() > 1 {
            found.add(
                "duplicate",
                json!({"key": k, "value": msg, "offsets": offsets, "count": offsets.len()}),
                || format!("message {msg} of key {k:?} sits at several offsets: {offsets:?}"),
            );
        }
    }
    let skipped = |k: &str, lo: i64, hi: i64| -> Vec<i64> {
        match known.get(k) {
            Some(offs) if lo + 1 < hi => offs.range(lo + 1..hi).map(|(o, _)| *o).take(16).collect(),
            _ => Vec::new(),
        }
    };
    // Per process: the last offset polled per key (since its last assign) and sent per key.
    let mut last_poll: HashMap<u64, HashMap<String, i64>> = HashMap::new();
    let mut last_send: HashMap<u64, HashMap<String, i64>> = HashMap::new();
    let mut commits: HashMap<String, Vec<(u64, Option<u64>, i64)>> = HashMap::new();
    let mut lists = Vec::new();
    for c in history.completions() {
        let inv = c.invoke.and_then(|i| e.get(i));
        let invoked_at = inv.map_or(c.time, |i| i.time);
        let who = ctx.node(c.node);
        match (c.f, c.kind) {
            ("commit_offsets", kind) => {
                let done = (kind == Kind::Ok).then_some(c.time);
                let value = inv.map_or(&c.value, |i| &i.value);
                for (k, o) in offsets_map(value) {
                    commits.entry(k).or_default().push((invoked_at, done, o));
                }
            }
            ("assign", Kind::Ok) => {
                last_poll.remove(&c.process);
                lists.push((invoked_at, c));
            }
            ("send", Kind::Ok) => {
                let (Some(k), Some(o)) = (c.value["key"].as_str(), c.value["offset"].as_i64())
                else {
                    continue;
                };
                if let Some(&prev) = last_send.get(&c.process).and_then(|l| l.get(k)) {
                    if o <= prev {
                        found.add(
                            "nonmonotonic-send",
                            json!({"key": k, "process": c.process, "prev": prev, "offset": o}),
                            || format!("process {} sent to key {k:?} through {who} and got offset {o} at {}, after an earlier send of its own got {prev}", c.process, secs(c.time)),
                        );
                    }
                }
                last_send
                    .entry(c.process)
                    .or_default()
                    .insert(k.to_string(), o);
            }
            ("poll", Kind::Ok) => {
                if c.is_final {
                    // A final poll reads from 0, as after an assign.
                    last_poll.remove(&c.process);
                }
                let mine = last_poll.entry(c.process).or_default();
                for (k, pairs) in parse_msgs(&c.value).unwrap_or_default() {
                    let Some(&(first, _)) = pairs.first() else {
                        continue;
                    };
                    if let Some(&prev) = mine.get(&k) {
                        if first <= prev {
                            found.add(
                                "nonmonotonic-poll",
                                json!({"key": k, "process": c.process, "prev": prev, "offset": first, "delta": first - prev}),
                                || format!("process {}'s poll of key {k:?} through {who} at {} began at offset {first}, but its previous poll already reached {prev}", c.process, secs(c.time)),
                            );
                        } else {
                            let s = skipped(&k, prev, first);
                            if !s.is_empty() {
                                found.add(
                                    "poll-skip",
                                    json!({"key": k, "process": c.process, "prev": prev, "offset": first, "skipped": s}),
                                    || format!("process {}'s poll of key {k:?} through {who} at {} jumped from offset {prev} to {first}, skipping known offsets {s:?}", c.process, secs(c.time)),
                                );
                            }
                        }
                    }
                    for w in pairs.windows(2) {
                        let (a, b) = (w[0].0, w[1].0);
                        if b <= a {
                            found.add(
                                "int-nonmonotonic-poll",
                                json!({"key": k, "process": c.process, "prev": a, "offset": b}),
                                || format!("a poll of key {k:?} through {who} at {} returned offset {b} after {a}", secs(c.time)),
                            );
                        } else {
                            let s = skipped(&k, a, b);
                            if !s.is_empty() {
                                found.add(
                                    "int-poll-skip",
                                    json!({"key": k, "process": c.process, "prev": a, "offset": b, "skipped": s}),
                                    || format!("a poll of key {k:?} through {who} at {} went from offset {a} to {b}, skipping known offsets {s:?}", secs(c.time)),
                                );
                            }
                        }
                    }
                    let top = pairs.iter().map(|p| p.0).max().unwrap_or(first);
                    let slot = mine.entry(k).or_insert(top);
                    *slot = (*slot).max(top);
                }
            }
            _ => {}
        }
    }
    // Acknowledged sends nobody read: lost if a later offset of the key was read.
    for c in history
        .completions()
        .filter(|c| c.kind == Kind::Ok && c.f == "send")
    {
        let (Some(k), Some(o)) = (c.value["key"].as_str(), c.value["offset"].as_i64()) else {
            continue;
        };
        let r = read.get(k);
        if r.is_some_and(|r| r.contains(&o)) {
            continue;
        }
        let who = ctx.node(c.node);
        match r.and_then(|r| r.last()) {
            Some(&top) if top > o => found.add(
                "lost-write",
                json!({"key": k, "offset": o, "value": c.value["msg"], "max-read-offset": top, "node": who, "time": c.time as f64 / 1e9}),
                || format!("{who} acknowledged message {} to key {k:?} at offset {o} at {}, but no poll ever returned it although polls reached offset {top}", c.value["msg"], secs(c.time)),
            ),
            _ => found.add(
                "unseen",
                json!({"key": k, "offset": o, "value": c.value["msg"], "node": who, "time": c.time as f64 / 1e9}),
                || format!("{who} acknowledged message {} to key {k:?} at offset {o} at {}, but no poll returned it, not even the final polls from offset 0", c.value["msg"], secs(c.time)),
            ),
        }
    }
    for (invoked_at, c) in lists {
        for (k, listed) in offsets_map(&c.value) {
            let cs = commits.get(&k).map(Vec::as_slice).unwrap_or(&[]);
            let asked = cs.iter().filter(|x| x.0 <= c.time).map(|x| x.2).max();
            let acked = cs
                .iter()
                .filter(|x| x.1.is_some_and(|t| t < invoked_at))
                .map(|x| x.2)
                .max();
            let who = ctx.node(c.node);
            if listed > asked.unwrap_or(0).max(0) {
                found.add(
                    "uncommitted-offset",
                    json!({"key": k, "offset": listed, "max-committed": asked, "node": who, "time": c.time as f64 / 1e9}),
                    || format!("{who} listed {listed} as key {k:?}'s committed offset at {}, but no client had asked to commit past {}", secs(c.time), asked.map_or("nothing".to_string(), |a| a.to_string())),
                );
            } else if let Some(a) = acked.filter(|&a| listed < a) {
                found.add(
                    "nonmonotonic-committed",
                    json!({"key": k, "offset": listed, "acknowledged": a, "node": who, "time": c.time as f64 / 1e9}),
                    || format!("{who} listed {listed} as key {k:?}'s committed offset at {}, but a commit of offset {a} was acknowledged before the list began", secs(c.time)),
                );
            }
        }
    }
    let mut result = Map::new();
    let types: Vec<&str> = KINDS
        .iter()
        .copied()
        .filter(|k| found.by_kind.contains_key(k))
        .collect();
    result.insert("error-types".into(), json!(types));
    result.insert("bad-error-types".into(), json!(types));
    let mut counts = Map::new();
    for kind in KINDS {
        let (n, errs) = found.by_kind.remove(kind).unwrap_or_default();
        counts.insert((*kind).into(), json!(n));
        if n > 0 {
            result.insert((*kind).into(), json!({"count": n, "errs": errs}));
        }
    }
    result.insert("counts".into(), Value::Object(counts.clone()));
    result.insert("send-count".into(), json!(sends));
    result.insert("poll-count".into(), json!(polls));
    let (lat, send_lat) = (latencies(history, None), latencies(history, Some("send")));
    result.insert("latency".into(), quantiles(&lat));
    result.insert("send-latency".into(), quantiles(&send_lat));
    let keys = known.len();
    let mut summary = vec![format!(
        "kafka: {sends} acknowledged sends, {polls} polls over {keys} keys; {}",
        if types.is_empty() {
            "no anomalies".to_string()
        } else {
            types
                .iter()
                .map(|t| format!("{t} {}", counts[*t]))
                .collect::<Vec<_>>()
                .join(", ")
        }
    )];
    summary.push(format!(
        "latency  ok ops (ms) {}; sends {}",
        describe(&lat),
        describe(&send_lat)
    ));
    Verdict {
        valid: Valid::from_bool(types.is_empty()),
        result,
        problems: found.problems,
        summary,
    }
}

/// Sorted latencies in ms of the main phase's `ok` operations (of `f` only, if given).
fn latencies(history: &History, f: Option<&str>) -> Vec<f64> {
    let e = &history.entries;
    let mut v: Vec<f64> = history
        .completions()
        .filter(|c| c.kind == Kind::Ok && !c.is_final && f.is_none_or(|f| c.f == f))
        .filter_map(|c| {
            let i = e.get(c.invoke?)?;
            Some(c.time.saturating_sub(i.time) as f64 / 1e6)
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Maelstrom's quantile map of `sorted`, by the shared formula; zeros when empty.
fn quantiles(sorted: &[f64]) -> Value {
    crate::stats::quantiles(sorted).unwrap_or_else(|| {
        crate::stats::QUANTILES
            .iter()
            .map(|(name, _)| ((*name).to_string(), json!(0.0)))
            .collect::<Map<_, _>>()
            .into()
    })
}

fn describe(sorted: &[f64]) -> String {
    crate::stats::QUANTILES
        .iter()
        .map(|(name, q)| {
            let v = crate::stats::quantile(sorted, *q).unwrap_or(0.0);
            format!("{name}: {v:.1}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A history of sequential operations: (process, f, invoked value, ok value).
    fn history(ops: &[(u64, &'static str, Value, Value)]) -> History {
        let mut h = History::default();
        for (t, (process, f, inv, ok)) in ops.iter().enumerate() {
            for (kind, value) in [(Kind::Invoke, inv), (Kind::Ok, ok)] {
                let index = h.entries.len();
                h.entries.push(Entry {
                    index,
                    kind,
                    process: *process,
                    node: 0,
                    f,
                    value: value.clone(),
                    time: (2 * t + usize::from(kind == Kind::Ok)) as u64 * 1_000_000,
                    error: None,
                    is_final: false,
                    invoke: (kind == Kind::Ok).then(|| index - 1),
                });
            }
        }
        h
    }

    fn send(p: u64, k: &str, msg: i64, offset: i64) -> (u64, &'static str, Value, Value) {
        (
            p,
            "send",
            json!({"key": k, "msg": msg}),
            json!({"key": k, "msg": msg, "offset": offset}),
        )
    }

    fn poll(p: u64, msgs: Value) -> (u64, &'static str, Value, Value) {
        (p, "poll", json!({}), msgs)
    }

    fn counts(h: &History) -> Value {
        let nodes = ["n0".to_string()];
        check(h, &Context { nodes: &nodes }).result["counts"].clone()
    }

    #[test]
    fn a_correct_log_has_no_anomalies() {
        let h = history(&[
            send(0, "a", 1, 0),
            send(1, "a", 2, 1),
            poll(0, json!({"a": [[0, 1], [1, 2]]})),
            send(0, "a", 3, 2),
            poll(0, json!({"a": [[2, 3]]})),
        ]);
        let c = counts(&h);
        assert!(KINDS.iter().all(|k| c[*k] == 0), "{c}");
    }

    #[test]
    fn each_anomaly_is_counted() {
        let h = history(&[
            send(0, "a", 1, 0),
            send(0, "a", 2, 1),
            send(0, "a", 3, 2),
            send(1, "a", 4, 2),
            send(1, "b", 5, 0),
            // Skips offset 1 inside a poll, and 2 holds two messages.
            poll(2, json!({"a": [[0, 1], [2, 3]]})),
            poll(3, json!({"a": [[2, 4]]})),
            // Goes backwards from its last poll.
            poll(2, json!({"a": [[0, 1]]})),
        ]);
        let c = counts(&h);
        assert_eq!(c["inconsistent-offsets"], 1, "{c}");
        assert_eq!(c["int-poll-skip"], 1, "{c}");
        assert_eq!(c["lost-write"], 1, "{c}");
        assert_eq!(c["nonmonotonic-poll"], 1, "{c}");
        assert_eq!(c["nonmonotonic-send"], 0, "{c}");
        assert_eq!(c["unseen"], 1, "{c}");
    }

    #[test]
    fn committed_offsets_must_not_go_back_or_invent() {
        let h = history(&[
            (0, "commit_offsets", json!({"a": 5}), json!({"a": 5})),
            (1, "assign", json!(["a"]), json!({"a": 3})),
            (1, "assign", json!(["a"]), json!({"a": 9})),
            (1, "assign", json!(["a"]), json!({"a": 5})),
        ]);
        let c = counts(&h);
        assert_eq!(c["nonmonotonic-committed"], 1, "{c}");
        assert_eq!(c["uncommitted-offset"], 1, "{c}");
    }

    #[test]
    fn polls_advance_and_are_committed_and_assign_keeps_positions() {
        let mut w = Kafka {
            active: vec![(0, 0)],
            next_key: 1,
            next_msg: 1,
            threads: HashMap::new(),
        };
        let h = history(&[
            (0, "assign", json!(["0", "1"]), json!({"1": 4})),
            poll(0, json!({"0": [[0, 1], [1, 2]]})),
        ]);
        let e = &h.entries;
        w.completed(0, &e[0], &e[1]);
        assert_eq!(
            w.threads[&0].offsets,
            BTreeMap::from([("0".into(), 0), ("1".into(), 4)])
        );
        w.completed(0, &e[2], &e[3]);
        let mut rng = Rng::new(1);
        let op = w.next_op(0, &mut rng);
        assert_eq!(
            (op.f, op.value.clone()),
            ("commit_offsets", json!({"0": 1}))
        );
        assert_eq!(w.threads[&0].offsets["0"], 2);
        w.completed(0, &e[0], &e[1]);
        assert_eq!(
            w.threads[&0].offsets["0"], 2,
            "assign keeps a held position"
        );
    }
}
