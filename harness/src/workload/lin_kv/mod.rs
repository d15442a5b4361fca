//! lin-kv, Maelstrom's linearizable key-value store (the workload of its Raft
//! chapter): clients `read`, `write` and compare-and-set (`cas`) integer values
//! 0..=4 on a few keys, and every key's history must be linearizable as a register
//! (Knossos' cas-register). As Jepsen's independent generator, the client threads
//! are split into groups of 2 per node, each working on one key at a time: half of
//! a group reads, the other half writes or cas-es (one write to two cas). A group
//! moves to a fresh key once 20 processes have touched its key (each indeterminate
//! operation makes its thread a new process). `--key-count K` splits the threads
//! into K groups instead.
//!
//! The checker decomposes the history by key and searches each key's history for a
//! linearization (`linearizable`); a key whose search exceeds its budget is
//! reported as unknown, with the reason, rather than hanging the run.

mod linearizable;
mod search;
mod wgl;

use anyhow::Result;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Instant;

use super::{secs, Context, Op, Problem, Valid, Verdict, Workload};
use crate::history::{Entry, History, Kind};
use crate::rng::Rng;
use search::{Answer, Budget, Model, Operation};

/// Jepsen's `process-limit`: processes that may touch one key before it retires.
const PROCESS_LIMIT: usize = 20;
/// Values are drawn from 0..VALUES, as Jepsen's register tests.
const VALUES: u64 = 5;

/// One group of client threads and the key it works on.
struct Group {
    key: u64,
    /// Processes that have touched `key`: the group's threads plus one per
    /// indeterminate operation on it.
    processes: usize,
}

pub struct LinKv {
    concurrency: usize,
    /// Threads per group, and how many of them read.
    group_size: usize,
    readers: usize,
    groups: Vec<Group>,
    next_key: u64,
    /// Steps one key's search may take (`--lin-kv-budget`).
    budget: u64,
}

pub fn new(o: &super::Options) -> Result<Box<dyn Workload>> {
    let mut w = LinKv::new(o.concurrency, o.nodes.len(), o.key_count);
    w.budget = o.lin_kv_budget;
    Ok(Box::new(w))
}

impl LinKv {
    fn new(concurrency: usize, nodes: usize, key_count: Option<usize>) -> LinKv {
        let concurrency = concurrency.max(1);
        let groups = key_count
            .unwrap_or(concurrency / (2 * nodes.max(1)))
            .clamp(1, concurrency);
        let group_size = concurrency.div_ceil(groups);
        LinKv {
            concurrency,
            group_size,
            // A lone thread must both read and write.
            readers: if group_size >= 2 { group_size / 2 } else { 0 },
            groups: (0..groups as u64)
                .map(|key| Group {
                    key,
                    processes: group_size,
                })
                .collect(),
            next_key: groups as u64,
            budget: super::LIN_KV_BUDGET,
        }
    }

    fn group_of(&self, thread: usize) -> usize {
        (thread / self.group_size).min(self.groups.len() - 1)
    }
}

impl Workload for LinKv {
    fn next_op(&mut self, thread: usize, rng: &mut Rng) -> Op {
        let g = self.group_of(thread);
        let key = self.groups[g].key;
        let member = thread % self.group_size;
        let read = if self.readers == 0 {
            rng.below(4) == 0
        } else {
            member < self.readers
        };
        if read {
            return Op {
                f: "read",
                value: json!({"key": key}),
            };
        }
        let v = rng.below(VALUES);
        if rng.below(3) == 0 {
            Op {
                f: "write",
                value: json!({"key": key, "value": v}),
            }
        } else {
            Op {
                f: "cas",
                value: json!({"key": key, "from": rng.below(VALUES), "to": v}),
            }
        }
    }

    fn request(&self, op: &Op) -> Value {
        let mut body = op.value.clone();
        body["type"] = json!(op.f);
        body
    }

    fn reply_value(&self, op: &Op, reply: &mut Value) -> Result<Value, String> {
        match op.f {
            "read" => match reply.get_mut("value") {
                Some(v) => Ok(json!({"key": op.value["key"], "value": v.take()})),
                None => Err("a read_ok must have a \"value\"".into()),
            },
            _ => Ok(op.value.clone()),
        }
    }

    fn idempotent(&self, f: &str) -> bool {
        f == "read"
    }

    fn completed(&mut self, thread: usize, invoked: &Entry, e: &Entry) {
        if e.kind != Kind::Info || thread >= self.concurrency {
            return;
        }
        let g = self.group_of(thread);
        let group = &mut self.groups[g];
        if invoked.value["key"].as_u64() != Some(group.key) {
            return;
        }
        group.processes += 1;
        if group.processes >= PROCESS_LIMIT {
            group.key = self.next_key;
            group.processes = self.group_size;
            self.next_key += 1;
        }
    }

    fn check(&self, history: &History, ctx: &Context) -> Verdict {
        check(history, ctx, Budget::of_steps(self.budget))
    }
}

/// Knossos' cas-register: the state is the key's value (`None` before any write).
struct Register;

#[derive(Clone, Debug, PartialEq)]
enum RegOp {
    /// A read that returned this value; `None` for a null value, which Knossos
    /// takes as "unknown" and lets match any state.
    Read(Option<Value>),
    Write(i64),
    Cas(i64, i64),
}

impl Model for Register {
    type State = Option<i64>;
    type Op = RegOp;
    fn init(&self) -> Option<i64> {
        None
    }
    fn step(&self, state: &Option<i64>, op: &RegOp) -> Option<Option<i64>> {
        match op {
            RegOp::Read(None) => Some(*state),
            RegOp::Read(Some(v)) => (state.is_some() && v.as_i64() == *state).then_some(*state),
            RegOp::Write(v) => Some(Some(*v)),
            RegOp::Cas(from, to) => (*state == Some(*from)).then_some(Some(*to)),
        }
    }
}

/// One key's operations, numbered in call order, with their history entries.
struct KeyHistory<'a> {
    ops: Vec<Operation<RegOp>>,
    entries: Vec<(&'a Entry, Option<&'a Entry>)>,
}

/// The history by key: ok operations, and indeterminate writes and cas (which may
/// have happened); failed ones did not happen, and an indeterminate read says nothing.
fn by_key(history: &History) -> BTreeMap<String, KeyHistory<'_>> {
    let done = history.completion_of();
    let mut keys: BTreeMap<String, KeyHistory> = BTreeMap::new();
    for inv in history.invocations() {
        let c = done.get(&inv.index).copied();
        let ok = c.filter(|c| c.kind == Kind::Ok);
        if c.is_some_and(|c| c.kind == Kind::Fail) || (inv.f == "read" && ok.is_none()) {
            continue;
        }
        let v = &inv.value;
        let op = match inv.f {
            "read" => {
                let read = ok.map(|c| c.value["value"].clone()).unwrap_or(Value::Null);
                RegOp::Read((!read.is_null()).then_some(read))
            }
            "write" => match v["value"].as_i64() {
                Some(x) => RegOp::Write(x),
                None => continue,
            },
            _ => match (v["from"].as_i64(), v["to"].as_i64()) {
                (Some(f), Some(t)) => RegOp::Cas(f, t),
                _ => continue,
            },
        };
        let k = keys.entry(v["key"].to_string()).or_insert(KeyHistory {
            ops: Vec::new(),
            entries: Vec::new(),
        });
        k.ops.push(Operation {
            call: inv.index,
            ret: ok.map(|c| c.index),
            op,
        });
        k.entries.push((inv, ok));
    }
    keys
}

fn describe(entries: &(&Entry, Option<&Entry>), ctx: &Context) -> String {
    let (inv, ok) = entries;
    let what = match inv.f {
        "read" => format!(
            "read {}",
            ok.map_or("?".to_string(), |c| c.value["value"].to_string())
        ),
        "write" => format!("write {}", inv.value["value"]),
        _ => format!("cas {} -> {}", inv.value["from"], inv.value["to"]),
    };
    let when = match ok {
        Some(c) => format!("{} to {}", secs(inv.time), secs(c.time)),
        None => format!("from {}, indeterminate", secs(inv.time)),
    };
    format!(
        "{what} (process {} through {}, {when})",
        inv.process,
        ctx.node(inv.node)
    )
}

fn check(history: &History, ctx: &Context, budget: Budget) -> Verdict {
    let started = Instant::now();
    let keys = by_key(history);
    let mut failures = Vec::new();
    let mut unknown = Vec::new();
    let mut problems = Vec::new();
    let mut results = Map::new();
    let mut ops = 0;
    for (key, k) in &keys {
        ops += k.ops.len();
        let (valid, detail) = match linearizable::check(&Register, &k.ops, budget) {
            Answer::Linearizable => (Valid::True, json!({})),
            Answer::NotLinearizable(c) => {
                failures.push(key.clone());
                let name = |i: usize| describe(&k.entries[i], ctx);
                let value = |s: &Option<i64>| s.map_or("no value".to_string(), |v| v.to_string());
                let states: Vec<String> = c.states.iter().map(value).collect();
                let last: Vec<String> = c.last.iter().map(|&i| name(i)).collect();
                let concurrent: Vec<String> = c.concurrent.iter().map(|&i| name(i)).collect();
                if problems.len() < 5 {
                    let before = match last.last() {
                        Some(op) => format!(
                            "after {} operations took effect, the last {op}",
                            c.completed
                        ),
                        None => "before any operation completed".to_string(),
                    };
                    let others = if concurrent.is_empty() {
                        "no other operation was pending".to_string()
                    } else {
                        format!(
                            "no order of the operations pending with it explains it: {}",
                            concurrent.join("; ")
                        )
                    };
                    let text = format!(
                        "key {key} is not linearizable: {} cannot have taken effect; {before}, the key could only hold {}, and {others}",
                        name(c.stuck),
                        states.join(" or "),
                    );
                    let stuck = k.entries[c.stuck].0;
                    problems.push(Problem::new(text).at(stuck.time).node(ctx.node(stuck.node)));
                }
                (
                    Valid::False,
                    json!({"op": name(c.stuck), "states": c.states, "completed": c.completed, "last": last, "concurrent": concurrent}),
                )
            }
            Answer::Unknown(why) => {
                unknown.push(key.clone());
                if problems.len() < 5 {
                    problems.push(Problem::new(format!(
                        "key {key}: linearizability unknown: {why} (the search budget, --lin-kv-budget, is {} steps; a larger one searches further)",
                        budget.steps
                    )));
                }
                (Valid::Unknown, json!({"why": why}))
            }
        };
        let mut r = json!({"valid": valid, "op-count": k.ops.len()});
        if let (Some(r), Value::Object(d)) = (r.as_object_mut(), detail) {
            r.extend(d);
        }
        results.insert(key.clone(), r);
    }
    let valid = if !failures.is_empty() {
        Valid::False
    } else if !unknown.is_empty() {
        Valid::Unknown
    } else {
        Valid::True
    };
    let ms = started.elapsed().as_millis();
    let mut result = Map::new();
    result.insert("failures".into(), json!(failures));
    result.insert("unknown".into(), json!(unknown));
    result.insert("key-count".into(), json!(keys.len()));
    result.insert("op-count".into(), json!(ops));
    result.insert("results".into(), Value::Object(results));
    Verdict {
        valid,
        summary: vec![format!(
            "lin-kv: {ops} operations over {} keys checked in {ms} ms; {} not linearizable, {} unknown",
            keys.len(),
            failures.len(),
            unknown.len()
        )],
        result,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a history from (process, f, invoke time, completion time, kind,
    /// invoked value, ok value); a completion time of `None` leaves the op open.
    struct H(History);

    impl H {
        fn new() -> H {
            H(History::default())
        }
        fn push(
            &mut self,
            kind: Kind,
            p: u64,
            f: &'static str,
            t: u64,
            v: Value,
            inv: Option<usize>,
        ) -> usize {
            self.0.push(Entry {
                process: p,
                node: p as usize % 2,
                invoke: inv,
                ..Entry::at(kind, f, v, t * 1_000_000)
            })
        }
        fn invoke(&mut self, p: u64, f: &'static str, t: u64, v: Value) -> usize {
            self.push(Kind::Invoke, p, f, t, v, None)
        }
        fn ok(&mut self, i: usize, t: u64, v: Value) {
            let (p, f) = (self.0.entries[i].process, self.0.entries[i].f);
            self.push(Kind::Ok, p, f, t, v, Some(i));
        }
        fn end(&mut self, i: usize, kind: Kind, t: u64) {
            let e = &self.0.entries[i];
            let (p, f, v) = (e.process, e.f, e.value.clone());
            self.push(kind, p, f, t, v, Some(i));
        }
        fn write(&mut self, p: u64, t: u64, k: u64, v: i64) -> usize {
            self.invoke(p, "write", t, json!({"key": k, "value": v}))
        }
        fn read(&mut self, p: u64, t: u64, k: u64) -> usize {
            self.invoke(p, "read", t, json!({"key": k}))
        }
        fn read_ok(&mut self, i: usize, t: u64, v: Value) {
            let k = self.0.entries[i].value["key"].clone();
            self.ok(i, t, json!({"key": k, "value": v}));
        }
        fn done(&mut self, i: usize, t: u64) {
            let v = self.0.entries[i].value.clone();
            self.ok(i, t, v);
        }
        fn verdict(&self) -> Verdict {
            let nodes = ["n0".to_string(), "n1".to_string()];
            check(&self.0, &Context { nodes: &nodes }, Budget::default())
        }
    }

    #[test]
    fn a_linearizable_history_over_two_keys() {
        let mut h = H::new();
        let w = h.write(0, 1, 1, 3);
        let w2 = h.write(1, 1, 2, 4);
        h.done(w, 2);
        h.done(w2, 3);
        let c = h.invoke(0, "cas", 4, json!({"key": 1, "from": 3, "to": 0}));
        let r = h.read(1, 5, 1);
        // The read overlaps the cas: either value will do.
        h.read_ok(r, 6, json!(3));
        h.done(c, 7);
        let r = h.read(1, 8, 2);
        h.read_ok(r, 9, json!(4));
        let v = h.verdict();
        assert_eq!(v.valid, Valid::True, "{:?}", v.problems);
        assert_eq!(v.result["key-count"], 2);
    }

    #[test]
    fn a_stale_read_names_the_key_and_the_ops() {
        let mut h = H::new();
        let w = h.write(0, 1, 7, 1);
        h.done(w, 2);
        let w = h.write(0, 3, 7, 2);
        h.done(w, 4);
        let r = h.read(1, 5, 7);
        h.read_ok(r, 6, json!(1));
        let v = h.verdict();
        assert_eq!(v.valid, Valid::False);
        assert_eq!(v.result["failures"], json!(["7"]));
        let p = &v.problems[0].text;
        assert!(
            p.starts_with("key 7 is not linearizable: read 1 (process 1 through n1"),
            "{p}"
        );
        assert!(p.contains("the last write 2 (process 0 through n0"), "{p}");
        assert!(p.contains("could only hold 2"), "{p}");
    }

    #[test]
    fn a_lost_cas_is_not_linearizable() {
        let mut h = H::new();
        let w = h.write(0, 1, 0, 1);
        h.done(w, 2);
        let c = h.invoke(0, "cas", 3, json!({"key": 0, "from": 1, "to": 2}));
        h.done(c, 4);
        let r = h.read(1, 5, 0);
        h.read_ok(r, 6, json!(1));
        assert_eq!(h.verdict().valid, Valid::False);
    }

    #[test]
    fn failed_ops_did_not_happen_and_indeterminate_ones_may_have() {
        // A cas that failed definitely cannot explain a read of its value...
        let mut h = H::new();
        let w = h.write(0, 1, 0, 1);
        h.done(w, 2);
        let c = h.invoke(0, "cas", 3, json!({"key": 0, "from": 1, "to": 2}));
        h.end(c, Kind::Fail, 4);
        let r = h.read(1, 5, 0);
        h.read_ok(r, 6, json!(2));
        assert_eq!(h.verdict().valid, Valid::False);
        // ... an indeterminate one can, and so can its absence.
        for seen in [2, 1] {
            let mut h = H::new();
            let w = h.write(0, 1, 0, 1);
            h.done(w, 2);
            let c = h.invoke(0, "cas", 3, json!({"key": 0, "from": 1, "to": 2}));
            h.end(c, Kind::Info, 4);
            let r = h.read(1, 5, 0);
            h.read_ok(r, 6, json!(seen));
            assert_eq!(h.verdict().valid, Valid::True, "read {seen}");
        }
        // A write still open at the end of the history also may or may not happen.
        let mut h = H::new();
        let w = h.write(0, 1, 0, 1);
        h.done(w, 2);
        h.write(0, 3, 0, 4);
        let r = h.read(1, 5, 0);
        h.read_ok(r, 6, json!(1));
        assert_eq!(h.verdict().valid, Valid::True);
    }

    #[test]
    fn a_read_before_any_write_sees_nothing() {
        let mut h = H::new();
        let r = h.read(1, 1, 0);
        h.read_ok(r, 2, json!(3));
        let w = h.write(0, 3, 0, 3);
        h.done(w, 4);
        assert_eq!(h.verdict().valid, Valid::False);
    }

    #[test]
    fn an_exhausted_search_is_unknown_with_a_reason() {
        let mut h = H::new();
        let writes: Vec<usize> = (0..12).map(|i| h.write(i, 1, 0, i as i64)).collect();
        for w in writes {
            h.done(w, 2);
        }
        let r = h.read(99, 3, 0);
        h.read_ok(r, 4, json!(99));
        let nodes = ["n0".to_string(), "n1".to_string()];
        let tiny = Budget {
            steps: 500,
            configurations: 1000,
        };
        let v = check(&h.0, &Context { nodes: &nodes }, tiny);
        assert_eq!(v.valid, Valid::Unknown);
        assert!(
            v.problems[0]
                .text
                .starts_with("key 0: linearizability unknown: "),
            "{:?}",
            v.problems
        );
        assert_eq!(v.result["unknown"], json!(["0"]));
    }

    #[test]
    fn threads_split_into_groups_of_readers_and_writers() {
        // 3 nodes, concurrency 12: two groups of 6, 3 readers each.
        let mut w = LinKv::new(12, 3, None);
        let mut rng = Rng::new(3);
        assert_eq!((w.groups.len(), w.group_size, w.readers), (2, 6, 3));
        assert_eq!(w.next_op(0, &mut rng).f, "read");
        assert_eq!(w.next_op(6, &mut rng).value["key"], 1);
        assert_ne!(w.next_op(4, &mut rng).f, "read");
        // A key retires once 20 processes touched it: 6 threads + 14 crashes.
        let mut h = H::new();
        let i = h.write(4, 1, 0, 1);
        h.end(i, Kind::Info, 2);
        for _ in 0..14 {
            w.completed(4, &h.0.entries[0], &h.0.entries[1]);
        }
        assert_eq!(w.groups[0].key, 2);
        assert_eq!(w.groups[1].key, 1);
    }
}
