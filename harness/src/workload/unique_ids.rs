//! Unique ids: clients ask for `generate`; every id returned must be distinct.

use anyhow::Result;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use super::{secs, Context, Op, Problem, Valid, Verdict, Workload};
use crate::history::{History, Kind};
use crate::rng::Rng;

pub struct UniqueIds;

/// How often an id was generated, and the first few (node, time) it was seen at.
type Sightings = (u64, Vec<(usize, u64)>);

pub fn new(_: &super::Options) -> Result<Box<dyn Workload>> {
    Ok(Box::new(UniqueIds))
}

impl Workload for UniqueIds {
    fn next_op(&mut self, _: usize, _: &mut Rng) -> Op {
        Op {
            f: "generate",
            value: Value::Null,
        }
    }

    fn request(&self, _: &Op) -> Value {
        json!({"type": "generate"})
    }

    fn reply_value(&self, _: &Op, reply: &mut Value) -> Result<Value, String> {
        reply
            .get_mut("id")
            .map(Value::take)
            .ok_or_else(|| "a generate_ok must have an \"id\" field".to_string())
    }

    fn reusable_clients(&self) -> bool {
        true
    }

    fn check(&self, history: &History, ctx: &Context) -> Verdict {
        let attempted = history.invocations().filter(|e| e.f == "generate").count();
        // Canonical JSON text of each id -> how often, and where it was seen.
        let mut seen: BTreeMap<String, Sightings> = BTreeMap::new();
        let mut acked = 0u64;
        let mut numbers = Vec::new();
        let mut strings = Vec::new();
        for c in history.completions() {
            if c.kind != Kind::Ok || c.f != "generate" {
                continue;
            }
            acked += 1;
            match &c.value {
                Value::Number(n) => numbers.push(n.clone()),
                Value::String(s) => strings.push(s.clone()),
                _ => {}
            }
            let e = seen.entry(c.value.to_string()).or_default();
            e.0 += 1;
            if e.1.len() < 3 {
                e.1.push((c.node, c.time));
            }
        }
        let mut dups: Vec<(&String, &Sightings)> =
            seen.iter().filter(|(_, (n, _))| *n > 1).collect();
        dups.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
        let problems = dups
            .iter()
            .take(5)
            .map(|(id, (n, wh))| {
                let by: Vec<String> = wh
                    .iter()
                    .map(|&(node, t)| format!("{} at {}", ctx.node(node), secs(t)))
                    .collect();
                let mut p = Problem::new(format!(
                    "id {id} was generated {n} times: by {}",
                    by.join(", ")
                ));
                // About the first time it was generated.
                if let Some(&(node, t)) = wh.first() {
                    p = p.at(t).node(ctx.node(node));
                }
                p
            })
            .collect();
        let range = if numbers.len() as u64 == acked && acked > 0 {
            // Compared as numbers, printed as they came: 64-bit ids stay integers.
            let key = |n: &&serde_json::Number| n.as_f64().unwrap_or(f64::NAN);
            let lo = numbers.iter().min_by(|a, b| key(a).total_cmp(&key(b)));
            let hi = numbers.iter().max_by(|a, b| key(a).total_cmp(&key(b)));
            json!([lo, hi])
        } else if strings.len() as u64 == acked && acked > 0 {
            json!([strings.iter().min(), strings.iter().max()])
        } else {
            Value::Null
        };
        let mut result = Map::new();
        result.insert("attempted-count".into(), json!(attempted));
        result.insert("acknowledged-count".into(), json!(acked));
        result.insert("duplicated-count".into(), json!(dups.len()));
        let shown: Map<String, Value> = dups
            .iter()
            .take(48)
            .map(|(id, (n, _))| ((*id).clone(), json!(n)))
            .collect();
        result.insert("duplicated".into(), Value::Object(shown));
        result.insert("range".into(), range);
        Verdict {
            valid: Valid::from_bool(dups.is_empty()),
            summary: vec![format!(
                "unique-ids: {attempted} attempted, {acked} acknowledged, {} duplicated",
                dups.len()
            )],
            result,
            problems,
        }
    }
}
