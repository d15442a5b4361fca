//! Kafka's checker, organised as Jepsen's kafka checker is: one shared analysis of
//! the history (what each offset of each key holds, what was read), then one pass
//! per anomaly family, each of which reads the analysis and reports into `Found`.
//! A family can be read, tested and changed alone:
//! - `inconsistent_offsets`: one offset holding two messages;
//! - `duplicates`: one message at two offsets;
//! - `poll_order`: offsets going backwards or jumping over known ones, within one
//!   poll (int-nonmonotonic-poll, int-poll-skip) or between one client's polls
//!   (nonmonotonic-poll, poll-skip);
//! - `nonmonotonic_sends`: one client's sends to a key getting decreasing offsets;
//! - `lost_or_unseen`: acknowledged sends no poll returned, lost if a later offset
//!   of the key was read (lost-write), else unseen even by the final polls;
//! - `committed_offsets`: a listed committed offset no client committed
//!   (uncommitted-offset) or lower than a commit acknowledged before the list began
//!   (nonmonotonic-committed; stricter than Maelstrom, which lets a fresh assign
//!   start lower).

use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{offsets_map, parse_msgs};
use crate::history::{Entry, History, Kind};
use crate::workload::{secs, Context, Problem, Valid, Verdict};

/// The anomaly kinds, in report order; every one makes a run invalid.
pub(super) const KINDS: &[&str] = &[
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

/// At most this many examples per kind in the result, and sentences in all.
const EXAMPLES_PER_KIND: usize = 8;
const PROBLEMS: usize = 12;

#[derive(Default)]
struct Found {
    by_kind: BTreeMap<&'static str, (u64, Vec<Value>)>,
    problems: Vec<Problem>,
}

impl Found {
    /// One case of `kind`; `sentence` says it, when there is room for one more.
    fn add<P: Into<Problem>>(
        &mut self,
        kind: &'static str,
        err: Value,
        sentence: impl FnOnce() -> P,
    ) {
        let e = self.by_kind.entry(kind).or_default();
        e.0 += 1;
        if e.1.len() < EXAMPLES_PER_KIND {
            e.1.push(err);
            if self.problems.len() < PROBLEMS {
                self.problems.push(sentence().into());
            }
        }
    }
}

/// A message as a comparable string (messages are any JSON).
fn m(v: &Value) -> String {
    v.to_string()
}

/// What every pass shares: the offsets known per key (from acknowledged sends and
/// polls) with the messages seen at each, the offsets of each message, and the
/// offsets some poll returned.
#[derive(Default)]
struct Analysis {
    known: HashMap<String, BTreeMap<i64, BTreeSet<String>>>,
    placed: HashMap<(String, String), BTreeSet<i64>>,
    read: HashMap<String, BTreeSet<i64>>,
    sends: u64,
    polls: u64,
}

impl Analysis {
    fn new(history: &History) -> Analysis {
        let mut a = Analysis::default();
        for c in history.completions().filter(|c| c.kind == Kind::Ok) {
            match c.f {
                "send" => {
                    a.sends += 1;
                    if let Some((k, o)) = sent(c) {
                        a.note(k, o, &c.value["msg"]);
                    }
                }
                "poll" => {
                    a.polls += 1;
                    for (k, pairs) in parse_msgs(&c.value).unwrap_or_default() {
                        for (o, msg) in pairs {
                            a.note(&k, o, &msg);
                            a.read.entry(k.clone()).or_default().insert(o);
                        }
                    }
                }
                _ => {}
            }
        }
        a
    }

    fn note(&mut self, k: &str, o: i64, msg: &Value) {
        self.known
            .entry(k.to_string())
            .or_default()
            .entry(o)
            .or_default()
            .insert(m(msg));
        self.placed
            .entry((k.to_string(), m(msg)))
            .or_default()
            .insert(o);
    }

    /// Known offsets of `k` strictly between `lo` and `hi` (at most 16).
    fn skipped(&self, k: &str, lo: i64, hi: i64) -> Vec<i64> {
        match self.known.get(k) {
            Some(offs) if lo + 1 < hi => offs.range(lo + 1..hi).map(|(o, _)| *o).take(16).collect(),
            _ => Vec::new(),
        }
    }
}

/// An acknowledged send's key and offset.
fn sent(c: &Entry) -> Option<(&str, i64)> {
    Some((c.value["key"].as_str()?, c.value["offset"].as_i64()?))
}

pub(super) fn check(history: &History, ctx: &Context) -> Verdict {
    let a = Analysis::new(history);
    let mut found = Found::default();
    inconsistent_offsets(&a, &mut found);
    duplicates(&a, &mut found);
    poll_order(&a, history, ctx, &mut found);
    nonmonotonic_sends(history, ctx, &mut found);
    lost_or_unseen(&a, history, ctx, &mut found);
    committed_offsets(history, ctx, &mut found);
    verdict(&a, history, found)
}

fn inconsistent_offsets(a: &Analysis, found: &mut Found) {
    for (k, offsets) in &a.known {
        for (o, msgs) in offsets.iter().filter(|(_, msgs)| msgs.len() > 1) {
            found.add(
                "inconsistent-offsets",
                json!({"key": k, "offset": o, "values": msgs}),
                || {
                    let list: Vec<&str> = msgs.iter().map(String::as_str).collect();
                    format!(
                        "key {k:?} offset {o} holds several messages: {}",
                        list.join(", ")
                    )
                },
            );
        }
    }
}

fn duplicates(a: &Analysis, found: &mut Found) {
    for ((k, msg), offsets) in a.placed.iter().filter(|(_, o)| o.len() > 1) {
        found.add(
            "duplicate",
            json!({"key": k, "value": msg, "offsets": offsets, "count": offsets.len()}),
            || format!("message {msg} of key {k:?} sits at several offsets: {offsets:?}"),
        );
    }
}

/// Within each poll, offsets must increase without jumping over known ones; between
/// one process's polls of a key (since its last assign), the next poll must start
/// past where the last one reached, again without a jump. The final polls read from
/// 0, as after an assign: a process's first final poll starts afresh.
fn poll_order(a: &Analysis, history: &History, ctx: &Context, found: &mut Found) {
    let mut last_poll: HashMap<u64, HashMap<String, i64>> = HashMap::new();
    let mut in_final: HashSet<u64> = HashSet::new();
    for c in history.completions().filter(|c| c.kind == Kind::Ok) {
        match c.f {
            "assign" => {
                last_poll.remove(&c.process);
            }
            "poll" => {
                if c.is_final && in_final.insert(c.process) {
                    last_poll.remove(&c.process);
                }
                let who = ctx.node(c.node);
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
                                || Problem::new(format!("process {}'s poll of key {k:?} through {who} at {} began at offset {first}, but its previous poll already reached {prev}", c.process, secs(c.time))).at(c.time).node(who),
                            );
                        } else {
                            let s = a.skipped(&k, prev, first);
                            if !s.is_empty() {
                                found.add(
                                    "poll-skip",
                                    json!({"key": k, "process": c.process, "prev": prev, "offset": first, "skipped": s}),
                                    || Problem::new(format!("process {}'s poll of key {k:?} through {who} at {} jumped from offset {prev} to {first}, skipping known offsets {s:?}", c.process, secs(c.time))).at(c.time).node(who),
                                );
                            }
                        }
                    }
                    for w in pairs.windows(2) {
                        let (lo, hi) = (w[0].0, w[1].0);
                        if hi <= lo {
                            found.add(
                                "int-nonmonotonic-poll",
                                json!({"key": k, "process": c.process, "prev": lo, "offset": hi}),
                                || Problem::new(format!("a poll of key {k:?} through {who} at {} returned offset {hi} after {lo}", secs(c.time))).at(c.time).node(who),
                            );
                        } else {
                            let s = a.skipped(&k, lo, hi);
                            if !s.is_empty() {
                                found.add(
                                    "int-poll-skip",
                                    json!({"key": k, "process": c.process, "prev": lo, "offset": hi, "skipped": s}),
                                    || Problem::new(format!("a poll of key {k:?} through {who} at {} went from offset {lo} to {hi}, skipping known offsets {s:?}", secs(c.time))).at(c.time).node(who),
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
}

/// One process's acknowledged sends to a key get increasing offsets.
fn nonmonotonic_sends(history: &History, ctx: &Context, found: &mut Found) {
    let mut last_send: HashMap<u64, HashMap<String, i64>> = HashMap::new();
    for c in history
        .completions()
        .filter(|c| c.kind == Kind::Ok && c.f == "send")
    {
        let Some((k, o)) = sent(c) else { continue };
        let mine = last_send.entry(c.process).or_default();
        if let Some(&prev) = mine.get(k) {
            if o <= prev {
                let who = ctx.node(c.node);
                found.add(
                    "nonmonotonic-send",
                    json!({"key": k, "process": c.process, "prev": prev, "offset": o}),
                    || Problem::new(format!("process {} sent to key {k:?} through {who} and got offset {o} at {}, after an earlier send of its own got {prev}", c.process, secs(c.time))).at(c.time).node(who),
                );
            }
        }
        mine.insert(k.to_string(), o);
    }
}

/// Acknowledged sends nobody read: lost if a later offset of the key was read,
/// else unseen (the final polls, which read every key until they caught up with
/// every acknowledged send, never returned them either).
fn lost_or_unseen(a: &Analysis, history: &History, ctx: &Context, found: &mut Found) {
    for c in history
        .completions()
        .filter(|c| c.kind == Kind::Ok && c.f == "send")
    {
        let Some((k, o)) = sent(c) else { continue };
        let r = a.read.get(k);
        if r.is_some_and(|r| r.contains(&o)) {
            continue;
        }
        let who = ctx.node(c.node);
        match r.and_then(|r| r.last()) {
            Some(&top) if top > o => found.add(
                "lost-write",
                json!({"key": k, "offset": o, "value": c.value["msg"], "max-read-offset": top, "node": who, "time": c.time as f64 / 1e9}),
                || Problem::new(format!("{who} acknowledged message {} to key {k:?} at offset {o} at {}, but no poll ever returned it although polls reached offset {top}", c.value["msg"], secs(c.time))).at(c.time).node(who),
            ),
            _ => found.add(
                "unseen",
                json!({"key": k, "offset": o, "value": c.value["msg"], "node": who, "time": c.time as f64 / 1e9}),
                || Problem::new(format!("{who} acknowledged message {} to key {k:?} at offset {o} at {}, but no poll returned it, not even the final polls, which read every key from offset 0 until they stopped making progress", c.value["msg"], secs(c.time))).at(c.time).node(who),
            ),
        }
    }
}

/// A committed offset a node lists must have been asked for by some client, and
/// must not be below a commit acknowledged before the list began.
fn committed_offsets(history: &History, ctx: &Context, found: &mut Found) {
    let e = &history.entries;
    // Per key: (invoked at, acknowledged at, offset) of every commit.
    let mut commits: HashMap<String, Vec<(u64, Option<u64>, i64)>> = HashMap::new();
    for c in history.completions().filter(|c| c.f == "commit_offsets") {
        let inv = c.invoke.and_then(|i| e.get(i));
        let invoked_at = inv.map_or(c.time, |i| i.time);
        let done = (c.kind == Kind::Ok).then_some(c.time);
        for (k, o) in offsets_map(inv.map_or(&c.value, |i| &i.value)) {
            commits.entry(k).or_default().push((invoked_at, done, o));
        }
    }
    for c in history
        .completions()
        .filter(|c| c.kind == Kind::Ok && c.f == "assign")
    {
        let invoked_at = c.invoke.and_then(|i| e.get(i)).map_or(c.time, |i| i.time);
        let who = ctx.node(c.node);
        for (k, listed) in offsets_map(&c.value) {
            let cs = commits.get(&k).map(Vec::as_slice).unwrap_or(&[]);
            let asked = cs.iter().filter(|x| x.0 <= c.time).map(|x| x.2).max();
            let acked = cs
                .iter()
                .filter(|x| x.1.is_some_and(|t| t < invoked_at))
                .map(|x| x.2)
                .max();
            if listed > asked.unwrap_or(0).max(0) {
                found.add(
                    "uncommitted-offset",
                    json!({"key": k, "offset": listed, "max-committed": asked, "node": who, "time": c.time as f64 / 1e9}),
                    || Problem::new(format!("{who} listed {listed} as key {k:?}'s committed offset at {}, but no client had asked to commit past {}", secs(c.time), asked.map_or("nothing".to_string(), |a| a.to_string()))).at(c.time).node(who),
                );
            } else if let Some(a) = acked.filter(|&a| listed < a) {
                found.add(
                    "nonmonotonic-committed",
                    json!({"key": k, "offset": listed, "acknowledged": a, "node": who, "time": c.time as f64 / 1e9}),
                    || Problem::new(format!("{who} listed {listed} as key {k:?}'s committed offset at {}, but a commit of offset {a} was acknowledged before the list began", secs(c.time))).at(c.time).node(who),
                );
            }
        }
    }
}

/// Jepsen's result map (error types, counts, examples) and Maelstrom's figures.
fn verdict(a: &Analysis, history: &History, mut found: Found) -> Verdict {
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
    result.insert("send-count".into(), json!(a.sends));
    result.insert("poll-count".into(), json!(a.polls));
    let (lat, send_lat) = (latencies(history, None), latencies(history, Some("send")));
    result.insert("latency".into(), quantiles(&lat));
    result.insert("send-latency".into(), quantiles(&send_lat));
    let anomalies = if types.is_empty() {
        "no anomalies".to_string()
    } else {
        let each: Vec<String> = types
            .iter()
            .map(|t| format!("{t} {}", counts[*t]))
            .collect();
        each.join(", ")
    };
    let summary = vec![
        format!(
            "kafka: {} acknowledged sends, {} polls over {} keys; {anomalies}",
            a.sends,
            a.polls,
            a.known.len()
        ),
        format!(
            "latency  of ok operations, ms: {}; of ok sends alone: {}",
            describe(&lat),
            describe(&send_lat)
        ),
    ];
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

/// The quantiles in words (the JSON keys them "0", "0.5", ... "1", as Maelstrom does).
fn describe(sorted: &[f64]) -> String {
    let words = ["min", "median", "p95", "p99", "max"];
    crate::stats::QUANTILES
        .iter()
        .zip(words)
        .map(|((_, q), word)| {
            let v = crate::stats::quantile(sorted, *q).unwrap_or(0.0);
            format!("{word} {v:.1}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A history of sequential operations: (process, f, invoked value, ok value).
    pub(crate) fn history(ops: &[(u64, &'static str, Value, Value)]) -> History {
        let mut h = History::default();
        for (t, (process, f, inv, ok)) in ops.iter().enumerate() {
            for (kind, value) in [(Kind::Invoke, inv), (Kind::Ok, ok)] {
                let time = (2 * t + usize::from(kind == Kind::Ok)) as u64 * 1_000_000;
                let invoke = (kind == Kind::Ok).then(|| h.entries.len() - 1);
                h.push(Entry {
                    process: *process,
                    invoke,
                    ..Entry::at(kind, f, value.clone(), time)
                });
            }
        }
        h
    }

    pub(crate) fn send(
        p: u64,
        k: &str,
        msg: i64,
        offset: i64,
    ) -> (u64, &'static str, Value, Value) {
        (
            p,
            "send",
            json!({"key": k, "msg": msg}),
            json!({"key": k, "msg": msg, "offset": offset}),
        )
    }

    pub(crate) fn poll(p: u64, msgs: Value) -> (u64, &'static str, Value, Value) {
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
    fn each_family_alone() {
        // One message at two offsets, sends going back, a poll jumping over a known offset.
        let h = history(&[
            send(0, "a", 1, 0),
            send(0, "a", 2, 1),
            send(0, "a", 3, 2),
            send(1, "b", 7, 3),
            send(1, "b", 8, 1),
            poll(2, json!({"a": [[0, 1]], "b": [[1, 8], [3, 7], [4, 7]]})),
            poll(2, json!({"a": [[2, 3]]})),
        ]);
        let c = counts(&h);
        assert_eq!(c["duplicate"], 1, "{c}");
        assert_eq!(c["nonmonotonic-send"], 1, "{c}");
        assert_eq!(c["poll-skip"], 1, "{c}");
        // Offset 1 of "a" was skipped by the second poll and never read: lost.
        assert_eq!(c["lost-write"], 1, "{c}");
        assert_eq!(c["unseen"], 0, "{c}");
    }

    /// Final polls go on from where the last one reached: only a process's first
    /// final poll starts afresh from 0, so a bounded batch per poll is in order.
    #[test]
    fn consecutive_final_polls_are_one_read() {
        let mut h = history(&[
            send(0, "a", 1, 0),
            send(0, "a", 2, 1),
            send(0, "a", 3, 2),
            poll(1, json!({"a": [[0, 1], [1, 2], [2, 3]]})),
            poll(1, json!({"a": [[0, 1], [1, 2]]})),
            poll(1, json!({"a": [[2, 3]]})),
        ]);
        for e in &mut h.entries[8..] {
            e.is_final = true;
        }
        let c = counts(&h);
        assert!(KINDS.iter().all(|k| c[*k] == 0), "{c}");
        // A final poll that goes back to 0 after the first is nonmonotonic.
        let mut h = history(&[
            send(0, "a", 1, 0),
            send(0, "a", 2, 1),
            poll(1, json!({"a": [[0, 1]]})),
            poll(1, json!({"a": [[0, 1], [1, 2]]})),
        ]);
        for e in &mut h.entries[4..] {
            e.is_final = true;
        }
        assert_eq!(counts(&h)["nonmonotonic-poll"], 1);
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
}
