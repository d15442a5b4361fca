//! Echo: clients send `echo` with a payload; every reply must carry the same payload.

use anyhow::Result;
use serde_json::{json, Map, Value};

use super::{secs, Context, Op, Problem, Valid, Verdict, Workload};
use crate::history::{History, Kind};
use crate::rng::Rng;

pub struct Echo;

pub fn new(_: &super::Options) -> Result<Box<dyn Workload>> {
    Ok(Box::new(Echo))
}

impl Workload for Echo {
    fn next_op(&mut self, _: usize, rng: &mut Rng) -> Op {
        Op {
            f: "echo",
            value: json!(format!("Please echo {}", rng.below(128))),
        }
    }

    fn request(&self, op: &Op) -> Value {
        json!({"type": "echo", "echo": op.value})
    }

    fn reply_value(&self, _: &Op, reply: &mut Value) -> Result<Value, String> {
        reply
            .get_mut("echo")
            .map(Value::take)
            .ok_or_else(|| "an echo_ok must have an \"echo\" field".to_string())
    }

    /// Every invocation's completion must be an `ok` carrying the payload it sent;
    /// an error or a timeout is a mismatch too, as in Maelstrom.
    fn check(&self, history: &History, ctx: &Context) -> Verdict {
        let completions = history.completion_of();
        let mut errors = Vec::new();
        let mut problems = Vec::new();
        let mut count = 0u64;
        for inv in history.invocations() {
            count += 1;
            let Some(c) = completions.get(&inv.index) else {
                continue;
            };
            if c.kind == Kind::Ok && c.value == inv.value {
                continue;
            }
            let received = if c.kind == Kind::Ok {
                c.value.clone()
            } else {
                json!({"type": c.kind.name(), "error": c.error})
            };
            if problems.len() < 5 {
                let got = if c.kind == Kind::Ok {
                    format!("echo {}", c.value)
                } else {
                    format!(
                        "{} ({})",
                        c.kind.name(),
                        c.error.clone().unwrap_or(Value::Null)
                    )
                };
                let text = format!(
                    "{} answered the echo {} sent at {} with {got}",
                    ctx.node(inv.node),
                    inv.value,
                    secs(inv.time)
                );
                problems.push(Problem::new(text).at(inv.time).node(ctx.node(inv.node)));
            }
            errors.push(json!({"expected": inv.value, "received": received, "node": ctx.node(inv.node), "time": inv.time as f64 / 1e9}));
        }
        let mut result = Map::new();
        result.insert("error-count".into(), json!(errors.len()));
        let shown: Vec<Value> = errors.iter().take(10).cloned().collect();
        result.insert("errors".into(), json!(shown));
        if errors.len() > problems.len() {
            problems.push(Problem::new(format!(
                "{} echoes went wrong in all",
                errors.len()
            )));
        }
        Verdict {
            valid: Valid::from_bool(errors.is_empty()),
            summary: vec![format!(
                "echo: {count} requests, {} wrong or missing replies",
                errors.len()
            )],
            result,
            problems,
        }
    }
}
