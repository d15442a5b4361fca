//! Kafka, Maelstrom's append-only logs: clients `send` messages to keys and get an
//! offset back, `poll` from the offsets they hold, `commit_offsets` what they polled
//! and, to (re)assign themselves keys, `list_committed_offsets`. Maelstrom's client
//! does a poll and its commit in one operation; here every RPC is one history entry
//! (the thread's next op is the commit its last poll owes), so the generator keeps
//! each client thread's poll positions and learns them from completions
//! (`completed`), and a commit does not count as an operation of its own in
//! msgs-per-op (`counts_as_op`), so the figure divides by what Maelstrom divides by.
//!
//! After the quiet period every thread makes final polls as Jepsen's kafka workload
//! does: from offset 0 of every key, again and again (a fraction of a second apart)
//! until it has read up to the highest offset any acknowledged send or poll of the
//! main phase reached on every key. A node may return any bounded batch per poll.
//! Maelstrom clips the final polls to 10 s in all; here a thread stops only once it
//! has caught up or its polls have made no progress for 10 s, so a correct node
//! that is merely slow to hand out a long log is never called lossy.
//!
//! The checker (`check`) follows Jepsen's kafka checker, one pass per anomaly family.

mod check;

use anyhow::Result;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

use super::{Context, Op, Verdict, Workload};
use crate::history::{Entry, History, Kind};
use crate::rng::Rng;

/// Active keys at once, and how many sends a key takes before it is retired for a
/// fresh one (as Jepsen's list-append generator feeding its kafka workload).
const KEY_COUNT: usize = 10;
const MAX_WRITES_PER_KEY: u64 = 1024;
/// The chance that an operation is an assign (Jepsen's `sub-p`, 1/64).
const ASSIGN_ONE_IN: u64 = 64;
/// Final polls of a thread are staggered uniformly over [0, 400 ms), as Jepsen's
/// (`gen/stagger 1/5`), and stop after this long without progress.
const FINAL_POLL_GAP_NS: u64 = 400_000_000;
const FINAL_PATIENCE_NS: u64 = 10_000_000_000;

#[derive(Default)]
struct Thread {
    /// Assigned keys and the offset to poll next for each.
    offsets: BTreeMap<String, i64>,
    /// The offsets the last poll reached, to commit before anything else.
    commit: Option<BTreeMap<String, i64>>,
}

/// One thread's final polls.
struct FinalPolls {
    /// The offset to poll next, per key (every key, from 0).
    offsets: BTreeMap<String, i64>,
    /// The offsets still to reach: the main phase's highest per key.
    waiting: BTreeMap<String, i64>,
    /// When a poll last advanced (or the final polls began).
    progress_at: u64,
    /// The offsets the last poll reached, to commit before polling again.
    commit: Option<BTreeMap<String, i64>>,
}

pub struct Kafka {
    active: Vec<(u64, u64)>,
    next_key: u64,
    next_msg: u64,
    threads: HashMap<usize, Thread>,
    /// The highest offset per key an acknowledged send or poll of the main phase
    /// reached: what the final polls must catch up with.
    max_offsets: BTreeMap<String, i64>,
    finals: HashMap<usize, FinalPolls>,
}

pub fn new(_: &super::Options) -> Result<Box<dyn Workload>> {
    Ok(Box::new(Kafka::new(KEY_COUNT as u64)))
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

/// The highest offset per key of a poll's `msgs`.
fn reached(msgs: &Value) -> BTreeMap<String, i64> {
    parse_msgs(msgs)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, pairs)| Some((k, pairs.iter().map(|p| p.0).max()?)))
        .collect()
}

fn from_zero(keys: Vec<String>) -> BTreeMap<String, i64> {
    keys.into_iter().map(|k| (k, 0)).collect()
}

impl Kafka {
    fn new(keys: u64) -> Kafka {
        Kafka {
            active: (0..keys).map(|k| (k, 0)).collect(),
            next_key: keys,
            next_msg: 1,
            threads: HashMap::new(),
            max_offsets: BTreeMap::new(),
            finals: HashMap::new(),
        }
    }

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
        Some(Op {
            f: "poll",
            value: json!(from_zero(self.all_keys())),
        })
    }

    /// The commit a final poll owes, then the next poll, until caught up or stuck.
    fn next_final_op(&mut self, thread: usize, now: u64, rng: &mut Rng) -> Option<(u64, Op)> {
        let f = self.finals.get_mut(&thread)?;
        if let Some(offsets) = f.commit.take() {
            let op = Op {
                f: "commit_offsets",
                value: json!(offsets),
            };
            return Some((0, op));
        }
        if f.waiting.is_empty() || now.saturating_sub(f.progress_at) >= FINAL_PATIENCE_NS {
            return None;
        }
        let op = Op {
            f: "poll",
            value: json!(f.offsets),
        };
        Some((rng.below(FINAL_POLL_GAP_NS), op))
    }

    fn counts_as_op(&self, f: &str) -> bool {
        f != "commit_offsets"
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
        if e.is_final {
            self.final_completed(thread, invoked, e);
            return;
        }
        match e.kind {
            Kind::Info => {
                // The client crashed: a fresh one starts with no keys assigned.
                self.threads.remove(&thread);
            }
            Kind::Ok if e.f == "send" => {
                if let (Some(k), Some(o)) = (e.value["key"].as_str(), e.value["offset"].as_i64()) {
                    let top = self.max_offsets.entry(k.to_string()).or_insert(o);
                    *top = (*top).max(o);
                }
            }
            Kind::Ok if e.f == "poll" => {
                let reached = reached(&e.value);
                for (k, &max) in &reached {
                    let top = self.max_offsets.entry(k.clone()).or_insert(max);
                    *top = (*top).max(max);
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
        check::check(history, ctx)
    }
}

impl Kafka {
    /// A final operation of `thread` completed: advance its polls, note progress.
    fn final_completed(&mut self, thread: usize, invoked: &Entry, e: &Entry) {
        let keys = self.all_keys();
        let targets = &self.max_offsets;
        let f = self.finals.entry(thread).or_insert_with(|| FinalPolls {
            offsets: from_zero(keys.clone()),
            waiting: targets.clone(),
            progress_at: invoked.time,
            commit: None,
        });
        match e.kind {
            Kind::Info => {
                // A fresh client replaces the crashed one and reads from 0 again.
                f.offsets = from_zero(keys);
                f.commit = None;
            }
            Kind::Ok if e.f == "poll" => {
                let reached = reached(&e.value);
                for (k, &max) in &reached {
                    let next = f.offsets.entry(k.clone()).or_insert(0);
                    if max + 1 > *next {
                        *next = max + 1;
                        f.progress_at = e.time;
                    }
                    if f.waiting.get(k).is_some_and(|&target| target <= max) {
                        f.waiting.remove(k);
                    }
                }
                if !reached.is_empty() {
                    f.commit = Some(reached);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check::tests::{history, poll, send};
    use super::*;

    fn finalize(h: &mut History) {
        for e in &mut h.entries {
            e.is_final = true;
        }
    }

    /// A node that returns two messages per key per poll: the final polls go on,
    /// each committing what it read, until they reach the highest acknowledged
    /// offset, then stop.
    #[test]
    fn final_polls_go_on_until_caught_up() {
        let mut w = Kafka::new(1);
        let mut rng = Rng::new(1);
        let main = history(&[
            send(0, "0", 1, 0),
            send(0, "0", 2, 1),
            send(0, "0", 3, 2),
            send(0, "0", 4, 3),
        ]);
        for pair in main.entries.chunks(2) {
            w.completed(0, &pair[0], &pair[1]);
        }
        assert_eq!(w.max_offsets["0"], 3);
        let first = w.final_op(1).expect("a final poll");
        assert_eq!(first.value, json!({"0": 0}));
        let mut h = history(&[
            poll(1, json!({"0": [[0, 1], [1, 2]]})),
            (1, "commit_offsets", json!({"0": 1}), json!({"0": 1})),
            poll(1, json!({"0": [[2, 3], [3, 4]]})),
            (1, "commit_offsets", json!({"0": 3}), json!({"0": 3})),
        ]);
        finalize(&mut h);
        let e = &h.entries;
        w.completed(1, &e[0], &e[1]);
        let (wait, op) = w.next_final_op(1, e[1].time, &mut rng).expect("a commit");
        assert_eq!(
            (wait, op.f, op.value),
            (0, "commit_offsets", json!({"0": 1}))
        );
        w.completed(1, &e[2], &e[3]);
        let (wait, op) = w.next_final_op(1, e[3].time, &mut rng).expect("a poll");
        assert!(wait < FINAL_POLL_GAP_NS);
        assert_eq!((op.f, op.value), ("poll", json!({"0": 2})));
        w.completed(1, &e[4], &e[5]);
        let (_, op) = w.next_final_op(1, e[5].time, &mut rng).expect("a commit");
        assert_eq!(op.f, "commit_offsets");
        w.completed(1, &e[6], &e[7]);
        assert!(
            w.next_final_op(1, e[7].time, &mut rng).is_none(),
            "caught up"
        );
    }

    /// A node that never returns what it acknowledged: the final polls give up
    /// after 10 s without progress, rather than poll forever.
    #[test]
    fn final_polls_give_up_without_progress() {
        let mut w = Kafka::new(1);
        let mut rng = Rng::new(1);
        let main = history(&[send(0, "0", 1, 0)]);
        w.completed(0, &main.entries[0], &main.entries[1]);
        let mut h = history(&[poll(1, json!({}))]);
        finalize(&mut h);
        let e = &h.entries;
        w.completed(1, &e[0], &e[1]);
        assert!(w.next_final_op(1, e[1].time, &mut rng).is_some());
        let late = e[0].time + FINAL_PATIENCE_NS;
        assert!(w.next_final_op(1, late, &mut rng).is_none());
    }

    #[test]
    fn commits_are_part_of_the_poll_operation() {
        let w = Kafka::new(1);
        assert!(!w.counts_as_op("commit_offsets"));
        assert!(w.counts_as_op("poll") && w.counts_as_op("send") && w.counts_as_op("assign"));
    }

    #[test]
    fn polls_advance_and_are_committed_and_assign_keeps_positions() {
        let mut w = Kafka::new(1);
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
