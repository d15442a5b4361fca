//! Counters, Maelstrom's g-counter and pn-counter: clients mix `add` (a delta) with
//! `read`, and after the quiet period every client reads once more. Every final
//! read must equal the sum of the acknowledged adds plus the deltas of any subset of
//! the indeterminate ones. g-counter only adds deltas 0..=4 (Maelstrom draws
//! -5..=4 and skips the negative ones, so reads are twice as common as adds).

use anyhow::Result;
use serde_json::{json, Map, Value};

use super::{secs, Context, Op, Problem, Valid, Verdict, Workload};
use crate::history::{History, Kind};
use crate::rng::Rng;

pub struct Counter {
    /// pn-counter: negative deltas too.
    negative: bool,
}

pub fn grow_only(_: &super::Options) -> Result<Box<dyn Workload>> {
    Ok(Box::new(Counter { negative: false }))
}

pub fn positive_negative(_: &super::Options) -> Result<Box<dyn Workload>> {
    Ok(Box::new(Counter { negative: true }))
}

impl Workload for Counter {
    fn next_op(&mut self, _: usize, rng: &mut Rng) -> Op {
        loop {
            if rng.below(2) == 1 {
                return Op::read();
            }
            let delta = rng.below(10) as i64 - 5;
            if self.negative || delta >= 0 {
                return Op {
                    f: "add",
                    value: json!(delta),
                };
            }
        }
    }

    fn final_op(&self, _: usize) -> Option<Op> {
        Some(Op::read())
    }

    fn request(&self, op: &Op) -> Value {
        match op.f {
            "add" => json!({"type": "add", "delta": op.value}),
            _ => json!({"type": "read"}),
        }
    }

    fn reply_value(&self, op: &Op, reply: &mut Value) -> Result<Value, String> {
        match op.f {
            "add" => Ok(op.value.clone()),
            _ => match reply.get("value") {
                Some(v) if v.is_i64() => Ok(v.clone()),
                _ => Err("a read_ok must have an integer \"value\"".to_string()),
            },
        }
    }

    fn check(&self, history: &History, ctx: &Context) -> Verdict {
        let mut definite = 0i64;
        let mut possible = Vec::new();
        for c in history.completions().filter(|c| c.f == "add") {
            let delta = c.value.as_i64().unwrap_or(0);
            match c.kind {
                Kind::Ok => definite += delta,
                Kind::Info => possible.push(delta),
                _ => {}
            }
        }
        let acceptable = acceptable(definite, &possible);
        let contains = |v: i64| acceptable.iter().any(|&(lo, hi)| lo <= v && v <= hi);
        let mut final_reads = Vec::new();
        let mut errors = Vec::new();
        let mut problems = Vec::new();
        for r in history.completions() {
            if !(r.is_final && r.kind == Kind::Ok && r.f == "read") {
                continue;
            }
            let v = r.value.as_i64().unwrap_or(i64::MIN);
            final_reads.push(json!(v));
            if !contains(v) {
                errors.push(
                    json!({"node": ctx.node(r.node), "time": r.time as f64 / 1e9, "value": v}),
                );
                if problems.len() < 5 {
                    let text = format!(
                        "{}'s final read at {} returned {v}, but the counter can only be {} \
                         (acknowledged adds sum to {definite}; {} adds are indeterminate)",
                        ctx.node(r.node),
                        secs(r.time),
                        describe(&acceptable),
                        possible.len()
                    );
                    problems.push(Problem::new(text).at(r.time).node(ctx.node(r.node)));
                }
            }
        }
        let mut result = Map::new();
        result.insert("errors".into(), json!(errors));
        result.insert("final-reads".into(), json!(final_reads));
        result.insert(
            "acceptable".into(),
            json!(acceptable
                .iter()
                .map(|&(lo, hi)| [lo, hi])
                .collect::<Vec<_>>()),
        );
        Verdict {
            valid: Valid::from_bool(errors.is_empty()),
            summary: vec![format!(
                "counter: final reads (one per client) {}; acceptable values {}",
                final_reads
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                describe(&acceptable)
            )],
            result,
            problems,
        }
    }
}

/// Every sum of `definite` and a subset of `possible`, as sorted disjoint
/// inclusive ranges (adjacent ones merged).
fn acceptable(definite: i64, possible: &[i64]) -> Vec<(i64, i64)> {
    let mut ranges = vec![(definite, definite)];
    for &d in possible {
        let shifted: Vec<(i64, i64)> = ranges.iter().map(|&(lo, hi)| (lo + d, hi + d)).collect();
        ranges.extend(shifted);
        ranges.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1 + 1 => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        ranges = merged;
    }
    ranges
}

fn describe(ranges: &[(i64, i64)]) -> String {
    ranges
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}..={hi}")
            }
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acceptable_sums_cover_every_subset_of_indeterminate_adds() {
        assert_eq!(acceptable(5, &[]), vec![(5, 5)]);
        assert_eq!(acceptable(5, &[3]), vec![(5, 5), (8, 8)]);
        assert_eq!(acceptable(5, &[1, 1]), vec![(5, 7)]);
        assert_eq!(
            acceptable(0, &[-2, 10]),
            vec![(-2, -2), (0, 0), (8, 8), (10, 10)]
        );
    }

    #[test]
    fn g_counter_never_adds_negative_deltas() {
        let mut c = Counter { negative: false };
        let mut rng = Rng::new(1);
        let ops: Vec<Op> = (0..1000).map(|_| c.next_op(0, &mut rng)).collect();
        let adds: Vec<i64> = ops
            .iter()
            .filter(|o| o.f == "add")
            .map(|o| o.value.as_i64().unwrap())
            .collect();
        assert!(adds.iter().all(|d| (0..=4).contains(d)));
        assert!(adds.len() > 250 && adds.len() < 420, "{} adds", adds.len());
    }
}
