//! g-set, Maelstrom's grow-only set: clients `add` the integers 0, 1, 2, ... in
//! turn, mixed half and half with `read`s of the whole set, and every client reads
//! once more after the quiet period. Judged as Jepsen's set-full checker does: per
//! element, from when it was known to be in the set (its add acknowledged, or a read
//! returned it, whichever came first), it is
//! - stable if some read returned it after the last read that missed it began;
//!   stale as well if a read begun after it was known missed it (allowed: g-set
//!   is not required to be linearizable);
//! - lost if, after it was known, a read missed it and no read begun since
//!   returned it: invalid;
//! - never read otherwise (no read after it was known).
//!
//! The run is invalid if an element is lost or a read returned an element nobody
//! tried to add (unexpected; Jepsen's set-full does not look, but no correct node
//! does it), unknown if no element is stable.

use anyhow::Result;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

use super::{secs, Context, Op, Problem, Valid, Verdict, Workload};
use crate::history::{History, Kind};
use crate::rng::Rng;

pub struct GSet {
    next: u64,
}

pub fn new(_: &super::Options) -> Result<Box<dyn Workload>> {
    Ok(Box::new(GSet { next: 0 }))
}

impl Workload for GSet {
    fn next_op(&mut self, _: usize, rng: &mut Rng) -> Op {
        if rng.below(2) == 0 {
            return Op::read();
        }
        let element = self.next;
        self.next += 1;
        Op {
            f: "add",
            value: json!(element),
        }
    }

    fn final_op(&self, _: usize) -> Option<Op> {
        Some(Op::read())
    }

    fn request(&self, op: &Op) -> Value {
        match op.f {
            "add" => json!({"type": "add", "element": op.value}),
            _ => json!({"type": "read"}),
        }
    }

    fn reply_value(&self, op: &Op, reply: &mut Value) -> Result<Value, String> {
        match op.f {
            "add" => Ok(op.value.clone()),
            _ => match reply.get_mut("value") {
                Some(v) if v.is_array() => Ok(v.take()),
                _ => Err("a read_ok must have an array \"value\"".into()),
            },
        }
    }

    fn idempotent(&self, f: &str) -> bool {
        f == "read"
    }

    fn check(&self, history: &History, ctx: &Context) -> Verdict {
        check(history, ctx)
    }
}

/// What the history says of one element.
#[derive(Default, Clone, Copy)]
struct Element {
    /// History index of its add's invocation.
    added: usize,
    /// (index, time) of the first of its add's ok completion and the first read
    /// completion that returned it.
    known: Option<(usize, u64)>,
    /// The latest-invoked read that returned it, and the latest that missed it:
    /// (invocation index, invocation time).
    last_present: Option<(usize, u64)>,
    last_absent: Option<(usize, u64)>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Outcome {
    Stable,
    Lost,
    NeverRead,
}

impl Element {
    fn outcome(&self) -> Outcome {
        let idx = |x: Option<(usize, u64)>| x.map(|(i, _)| i as i64).unwrap_or(-1);
        let (present, absent) = (idx(self.last_present), idx(self.last_absent));
        if self.last_present.is_some() && absent < present {
            Outcome::Stable
        } else if self.last_absent.is_some()
            && present < absent
            && idx(self.known) < absent
            && self.known.is_some()
        {
            Outcome::Lost
        } else {
            Outcome::NeverRead
        }
    }

    /// ms from known to stable (after the last read that missed it began), as Jepsen.
    fn stable_latency(&self) -> u64 {
        let known = self.known.map_or(0, |k| k.1);
        let stable = self.last_absent.map_or(0, |(_, t)| t + 1);
        stable.saturating_sub(known) / 1_000_000
    }

    /// ms from known to lost (after the last read that returned it began).
    fn lost_latency(&self) -> u64 {
        let known = self.known.map_or(0, |k| k.1);
        let lost = self.last_present.map_or(0, |(_, t)| t + 1);
        lost.saturating_sub(known) / 1_000_000
    }
}

/// Jepsen's frequency distribution: the value at floor(n * q) of the sorted values.
fn distribution(mut v: Vec<u64>) -> Value {
    v.sort_unstable();
    let n = v.len();
    let at = |q: f64| v[((n as f64 * q).floor() as usize).min(n - 1)];
    json!({"0": at(0.0), "0.5": at(0.5), "0.95": at(0.95), "0.99": at(0.99), "1": at(1.0)})
}

fn check(history: &History, ctx: &Context) -> Verdict {
    let e = &history.entries;
    // Elements in the order their adds were invoked; `rank` is that order.
    let mut elements: Vec<(u64, Element)> = Vec::new();
    let mut rank: HashMap<u64, usize> = HashMap::new();
    for inv in history.invocations().filter(|i| i.f == "add") {
        if let Some(x) = inv.value.as_u64() {
            rank.entry(x).or_insert_with(|| {
                elements.push((
                    x,
                    Element {
                        added: inv.index,
                        ..Element::default()
                    },
                ));
                elements.len() - 1
            });
        }
    }
    let mut unexpected: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    let mut reads = Vec::new();
    for c in history.completions().filter(|c| c.kind == Kind::Ok) {
        match c.f {
            "add" => {
                if let Some(&r) = c.value.as_u64().and_then(|x| rank.get(&x)) {
                    let el = &mut elements[r].1;
                    el.known = el.known.or(Some((c.index, c.time)));
                }
            }
            "read" => reads.push(c),
            _ => {}
        }
    }
    // Each read, in the order of the history, against every element whose add was
    // invoked before the read completed (as Jepsen's reduction over the history).
    let mut present = vec![false; elements.len()];
    for c in &reads {
        let Some(inv) = c.invoke.and_then(|i| e.get(i)) else {
            continue;
        };
        let at = (inv.index, inv.time);
        let items = c.value.as_array().map(Vec::as_slice).unwrap_or(&[]);
        let mut hits = Vec::with_capacity(items.len());
        for v in items {
            match v.as_u64().and_then(|x| rank.get(&x)) {
                Some(&r) if elements[r].1.added < c.index => hits.push(r),
                Some(_) => {}
                None => {
                    unexpected.entry(v.to_string()).or_insert((c.node, c.time));
                }
            }
        }
        for &r in &hits {
            present[r] = true;
            let el = &mut elements[r].1;
            el.known = el.known.or(Some((c.index, c.time)));
            if el.last_present.is_none_or(|(i, _)| i < at.0) {
                el.last_present = Some(at);
            }
        }
        for (r, (_, el)) in elements.iter_mut().enumerate() {
            if el.added >= c.index {
                continue;
            }
            if !present[r] && el.last_absent.is_none_or(|(i, _)| i < at.0) {
                el.last_absent = Some(at);
            }
        }
        for &r in &hits {
            present[r] = false;
        }
    }
    let mut by: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let (mut stable_lat, mut lost_lat, mut stale) = (Vec::new(), Vec::new(), Vec::new());
    let mut problems = Vec::new();
    for (x, el) in &elements {
        match el.outcome() {
            Outcome::Stable => {
                by.entry("stable").or_default().push(*x);
                let l = el.stable_latency();
                stable_lat.push(l);
                if l > 0 {
                    stale.push((l, *x));
                }
            }
            Outcome::Lost => {
                by.entry("lost").or_default().push(*x);
                lost_lat.push(el.lost_latency());
                if problems.len() < 5 {
                    let (known_at, missed_at) = (
                        el.known.map_or(0, |k| k.1),
                        el.last_absent.map_or(0, |a| a.1),
                    );
                    let missed_by = el
                        .last_absent
                        .and_then(|(i, _)| e.get(i))
                        .map_or(0, |i| i.node);
                    let text = format!(
                        "element {x} was lost: known to be in the set at {}, yet the read through {} begun at {} missed it and no read begun since returned it",
                        secs(known_at),
                        ctx.node(missed_by),
                        secs(missed_at)
                    );
                    problems.push(Problem::new(text).at(known_at).node(ctx.node(missed_by)));
                }
            }
            Outcome::NeverRead => by.entry("never-read").or_default().push(*x),
        }
    }
    for (v, (node, t)) in unexpected.iter().take(5) {
        let text = format!(
            "a read through {} at {} returned {v}, which no client tried to add",
            ctx.node(*node),
            secs(*t)
        );
        problems.push(Problem::new(text).at(*t).node(ctx.node(*node)));
    }
    stale.sort_unstable_by(|a, b| b.cmp(a));
    let count = |k: &str| by.get(k).map_or(0, Vec::len);
    let (stable, lost, never_read) = (count("stable"), count("lost"), count("never-read"));
    let valid = if lost > 0 || !unexpected.is_empty() {
        Valid::False
    } else if stable == 0 {
        Valid::Unknown
    } else {
        Valid::True
    };
    if valid == Valid::Unknown {
        problems.push(Problem::new(
            "no element was ever stably in the set: nothing to judge",
        ));
    }
    let mut result = Map::new();
    result.insert("attempt-count".into(), json!(elements.len()));
    result.insert("stable-count".into(), json!(stable));
    result.insert("lost-count".into(), json!(lost));
    result.insert(
        "lost".into(),
        json!(by.get("lost").cloned().unwrap_or_default()),
    );
    result.insert("never-read-count".into(), json!(never_read));
    result.insert(
        "never-read".into(),
        json!(by.get("never-read").cloned().unwrap_or_default()),
    );
    result.insert("stale-count".into(), json!(stale.len()));
    let mut stale_elements: Vec<u64> = stale.iter().map(|s| s.1).collect();
    stale_elements.sort_unstable();
    result.insert("stale".into(), json!(stale_elements));
    result.insert(
        "worst-stale".into(),
        json!(stale
            .iter()
            .take(8)
            .map(|(l, x)| json!({"element": x, "stable-latency": l}))
            .collect::<Vec<_>>()),
    );
    result.insert("unexpected-count".into(), json!(unexpected.len()));
    result.insert(
        "unexpected".into(),
        json!(unexpected.keys().collect::<Vec<_>>()),
    );
    if !stable_lat.is_empty() {
        result.insert("stable-latencies".into(), distribution(stable_lat));
    }
    if !lost_lat.is_empty() {
        result.insert("lost-latencies".into(), distribution(lost_lat));
    }
    Verdict {
        valid,
        summary: vec![format!(
            "g-set: {} elements attempted: {stable} stable ({} stale: missed by a read after being \
             acknowledged, while spreading: normal), {lost} lost, {never_read} never read, {} unexpected",
            elements.len(),
            stale.len(),
            unexpected.len()
        )],
        result,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Entry;

    /// Builds a history entry by entry, in the order given (times in ms).
    #[derive(Default)]
    struct H(History);

    impl H {
        fn push(
            &mut self,
            kind: Kind,
            f: &'static str,
            t: u64,
            v: Value,
            inv: Option<usize>,
        ) -> usize {
            let e = Entry::at(kind, f, v, t * 1_000_000);
            self.0.push(Entry { invoke: inv, ..e })
        }
        fn add(&mut self, t: u64, x: u64) -> usize {
            self.push(Kind::Invoke, "add", t, json!(x), None)
        }
        fn read(&mut self, t: u64) -> usize {
            self.push(Kind::Invoke, "read", t, Value::Null, None)
        }
        fn ok(&mut self, i: usize, t: u64, v: Value) {
            let f = self.0.entries[i].f;
            let v = if f == "add" {
                self.0.entries[i].value.clone()
            } else {
                v
            };
            self.push(Kind::Ok, f, t, v, Some(i));
        }
        /// An add at `t` of `x`, acknowledged at `t + 1`.
        fn added(&mut self, t: u64, x: u64) {
            let i = self.add(t, x);
            self.ok(i, t + 1, Value::Null);
        }
        /// A read at `t` that returned `v` at `t + 1`.
        fn read_ok(&mut self, t: u64, v: Value) {
            let i = self.read(t);
            self.ok(i, t + 1, v);
        }
        fn verdict(&self) -> Verdict {
            let nodes = ["n0".to_string()];
            check(&self.0, &Context { nodes: &nodes })
        }
    }

    #[test]
    fn a_correct_set_is_stable() {
        let mut h = H::default();
        h.added(1, 0);
        h.added(3, 1);
        h.read_ok(5, json!([0, 1]));
        let v = h.verdict();
        assert_eq!(v.valid, Valid::True, "{:?}", v.problems);
        assert_eq!(v.result["stable-count"], 2);
        assert_eq!(v.result["stale-count"], 0);
    }

    #[test]
    fn a_lost_add_is_invalid() {
        let mut h = H::default();
        h.added(1, 0);
        h.added(3, 1);
        h.read_ok(5, json!([0, 1]));
        h.read_ok(7, json!([0]));
        let v = h.verdict();
        assert_eq!(v.valid, Valid::False);
        assert_eq!(v.result["lost"], json!([1]));
        assert!(
            v.problems[0].text.starts_with("element 1 was lost"),
            "{:?}",
            v.problems
        );
        // An acknowledged add no read ever returned, though a read began after: lost.
        let mut h = H::default();
        let (a, b) = (h.add(1, 0), h.add(1, 1));
        h.ok(a, 2, Value::Null);
        h.ok(b, 2, Value::Null);
        h.read_ok(3, json!([0]));
        assert_eq!(h.verdict().result["lost"], json!([1]));
    }

    #[test]
    fn a_late_element_is_stale_but_valid() {
        let mut h = H::default();
        h.added(1, 0);
        h.read_ok(10, json!([]));
        h.read_ok(20, json!([0]));
        let v = h.verdict();
        assert_eq!(v.valid, Valid::True, "{:?}", v.problems);
        assert_eq!(v.result["stale"], json!([0]));
        assert_eq!(v.result["worst-stale"][0]["stable-latency"], 8);
    }

    #[test]
    fn concurrent_and_indeterminate_adds() {
        // A read concurrent with an add may miss it; an add that never completed
        // and was never read is never-read, not lost; one a read returned is known.
        let mut h = H::default();
        let a = h.add(1, 0);
        h.read_ok(2, json!([]));
        h.add(4, 1);
        h.add(4, 2);
        h.ok(a, 5, Value::Null);
        h.read_ok(6, json!([0, 2]));
        let v = h.verdict();
        assert_eq!(v.valid, Valid::True, "{:?}", v.problems);
        assert_eq!(v.result["never-read"], json!([1]));
        assert_eq!(v.result["stable-count"], 2);
        assert_eq!(v.result["stale-count"], 0);
        // But once read, an indeterminate add may not vanish.
        h.read_ok(8, json!([0]));
        assert_eq!(h.verdict().result["lost"], json!([2]));
    }

    #[test]
    fn unexpected_elements_and_empty_runs() {
        let mut h = H::default();
        h.added(1, 0);
        h.read_ok(3, json!([0, 42]));
        let v = h.verdict();
        assert_eq!(v.valid, Valid::False);
        assert_eq!(v.result["unexpected"], json!(["42"]));
        let mut h = H::default();
        h.add(1, 0);
        assert_eq!(h.verdict().valid, Valid::Unknown);
    }
}
