//! Maelstrom's built-in services, reachable by every node under their names as any
//! other node is (messages to and from them wait the network latency and count as
//! server traffic; partitions never cut them off):
//! - `lin-kv`: a linearizable key-value store (read, write, cas);
//! - `seq-kv`: the same store, sequentially consistent: an operation that changes
//!   nothing may see any of the last 32 states no older than the one this caller
//!   last saw, so reads can be stale but never go back in time for one caller;
//! - `lww-kv`: two last-write-wins replicas with Lamport clocks, one picked at random
//!   per request, merging one into the other before every request;
//! - `lin-tso`: a timestamp oracle handing out 0, 1, 2, ...

use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};

use super::rng::Rng;

pub const NAMES: [&str; 4] = ["lin-kv", "seq-kv", "lww-kv", "lin-tso"];

/// A key-value map; keys are any JSON, held as their JSON text.
type Kv = BTreeMap<String, Value>;
/// A last-write-wins replica: its Lamport clock, and each key's (timestamp, value).
type Replica = (u64, BTreeMap<String, (u64, Value)>);

enum Service {
    Lin(Kv),
    Seq {
        states: VecDeque<Kv>,
        /// Index of the newest state (the oldest kept is `last - states.len() + 1`).
        last: u64,
        seen: HashMap<String, u64>,
    },
    Lww {
        replicas: [Replica; 2],
    },
    Tso(u64),
}

const SEQ_STATES: usize = 32;

pub struct Services(Vec<Service>);

impl Default for Services {
    fn default() -> Self {
        Services(vec![
            Service::Lin(Kv::new()),
            Service::Seq {
                states: VecDeque::from([Kv::new()]),
                last: 0,
                seen: HashMap::new(),
            },
            Service::Lww {
                replicas: Default::default(),
            },
            Service::Tso(0),
        ])
    }
}

fn error(code: u64, text: String) -> Value {
    json!({"type": "error", "code": code, "text": text})
}

fn not_found() -> Value {
    error(20, "key does not exist".into())
}

/// One request against a plain map: the reply, and whether the map changed.
fn kv(m: &mut Kv, body: &Map<String, Value>) -> (Value, bool) {
    let key = body.get("key").unwrap_or(&Value::Null).to_string();
    let field = |f: &str| body.get(f).cloned().unwrap_or(Value::Null);
    match body.get("type").and_then(Value::as_str) {
        Some("read") => match m.get(&key) {
            Some(v) => (json!({"type": "read_ok", "value": v}), false),
            None => (not_found(), false),
        },
        Some("write") => {
            let v = field("value");
            let changed = m.get(&key) != Some(&v);
            m.insert(key, v);
            (json!({"type": "write_ok"}), changed)
        }
        Some("cas") => match m.get(&key) {
            Some(cur) if *cur == field("from") => {
                let to = field("to");
                let changed = *cur != to;
                m.insert(key, to);
                (json!({"type": "cas_ok"}), changed)
            }
            Some(cur) => (
                error(22, format!("current value {cur} is not {}", field("from"))),
                false,
            ),
            None if body.get("create_if_not_exists") == Some(&Value::Bool(true)) => {
                m.insert(key, field("to"));
                (json!({"type": "cas_ok"}), true)
            }
            None => (not_found(), false),
        },
        other => (unsupported(other), false),
    }
}

fn unsupported(kind: Option<&str>) -> Value {
    error(
        10,
        format!("this service does not support messages of type {kind:?}"),
    )
}

impl Services {
    /// The index of the service called `name`.
    pub fn index(name: &str) -> Option<usize> {
        NAMES.iter().position(|n| *n == name)
    }

    /// Handles a request from `src`; returns the reply body (with `in_reply_to`).
    pub fn handle(
        &mut self,
        service: usize,
        src: &str,
        body: &str,
        rng: &mut Rng,
    ) -> Option<String> {
        let body: Map<String, Value> = serde_json::from_str(body).ok()?;
        let mut reply = match &mut self.0[service] {
            Service::Lin(m) => kv(m, &body).0,
            Service::Seq { states, last, seen } => {
                let oldest = *last + 1 - states.len() as u64;
                let floor = seen.get(src).copied().unwrap_or(0).max(oldest);
                let at = floor + rng.below(*last - floor + 1);
                let mut view = states[(at - oldest) as usize].clone();
                let (reply, changed) = kv(&mut view, &body);
                if !changed {
                    seen.insert(src.to_string(), at);
                    reply
                } else {
                    // A change applies to the newest state and becomes the newest.
                    let mut newest = states[states.len() - 1].clone();
                    let (reply, _) = kv(&mut newest, &body);
                    states.push_back(newest);
                    if states.len() > SEQ_STATES {
                        states.pop_front();
                    }
                    *last += 1;
                    seen.insert(src.to_string(), *last);
                    reply
                }
            }
            Service::Lww { replicas } => {
                let from = rng.below(2) as usize;
                let to = rng.below(2) as usize;
                if from != to {
                    let (clock, m) = replicas[from].clone();
                    let dest = &mut replicas[to];
                    dest.0 = dest.0.max(clock);
                    for (k, (ts, v)) in m {
                        match dest.1.get(&k) {
                            Some((t, _)) if *t >= ts => {}
                            _ => {
                                dest.1.insert(k, (ts, v));
                            }
                        }
                    }
                }
                let (clock, m) = &mut replicas[rng.below(2) as usize];
                let key = body.get("key").unwrap_or(&Value::Null).to_string();
                let field = |f: &str| body.get(f).cloned().unwrap_or(Value::Null);
                match body.get("type").and_then(Value::as_str) {
                    Some("read") => match m.get(&key) {
                        Some((_, v)) => json!({"type": "read_ok", "value": v}),
                        None => not_found(),
                    },
                    Some("write") => {
                        m.insert(key, (*clock, field("value")));
                        *clock += 1;
                        json!({"type": "write_ok"})
                    }
                    Some("cas") => match m.get(&key) {
                        Some((_, cur)) if *cur == field("from") => {
                            m.insert(key, (*clock, field("to")));
                            *clock += 1;
                            json!({"type": "cas_ok"})
                        }
                        Some((_, cur)) => {
                            error(22, format!("current value {cur} is not {}", field("from")))
                        }
                        None => not_found(),
                    },
                    other => unsupported(other),
                }
            }
            Service::Tso(ts) => match body.get("type").and_then(Value::as_str) {
                Some("ts") => {
                    *ts += 1;
                    json!({"type": "ts_ok", "ts": *ts - 1})
                }
                other => unsupported(other),
            },
        };
        // A message without msg_id expects no reply.
        let msg_id = body.get("msg_id")?.clone();
        reply["in_reply_to"] = msg_id;
        Some(reply.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(s: &mut Services, name: &str, src: &str, body: Value, rng: &mut Rng) -> Value {
        let i = Services::index(name).unwrap();
        serde_json::from_str(&s.handle(i, src, &body.to_string(), rng).unwrap()).unwrap()
    }

    #[test]
    fn lin_kv_reads_writes_and_cas() {
        let (mut s, mut r) = (Services::default(), Rng::new(1));
        let read = json!({"type": "read", "key": "x", "msg_id": 1});
        assert_eq!(
            call(&mut s, "lin-kv", "n0", read.clone(), &mut r)["code"],
            20
        );
        call(
            &mut s,
            "lin-kv",
            "n0",
            json!({"type": "write", "key": "x", "value": 1, "msg_id": 2}),
            &mut r,
        );
        let bad = call(
            &mut s,
            "lin-kv",
            "n1",
            json!({"type": "cas", "key": "x", "from": 2, "to": 3, "msg_id": 3}),
            &mut r,
        );
        assert_eq!(
            (bad["code"].clone(), bad["in_reply_to"].clone()),
            (json!(22), json!(3))
        );
        call(
            &mut s,
            "lin-kv",
            "n1",
            json!({"type": "cas", "key": "x", "from": 1, "to": 3, "msg_id": 4}),
            &mut r,
        );
        assert_eq!(call(&mut s, "lin-kv", "n0", read, &mut r)["value"], 3);
        let created = call(
            &mut s,
            "lin-kv",
            "n0",
            json!({"type": "cas", "key": "y", "from": 0, "to": 1, "create_if_not_exists": true, "msg_id": 5}),
            &mut r,
        );
        assert_eq!(created["type"], "cas_ok");
    }

    #[test]
    fn seq_kv_reads_may_be_stale_but_never_go_back_for_a_caller() {
        let (mut s, mut r) = (Services::default(), Rng::new(4));
        for v in 1..=20 {
            call(
                &mut s,
                "seq-kv",
                "n0",
                json!({"type": "write", "key": "k", "value": v, "msg_id": v}),
                &mut r,
            );
        }
        let mut stale = false;
        let mut last = 0;
        for i in 0..200 {
            let got = call(
                &mut s,
                "seq-kv",
                "n1",
                json!({"type": "read", "key": "k", "msg_id": i}),
                &mut r,
            );
            let v = got["value"].as_u64().unwrap_or(0);
            assert!(v >= last, "went back from {last} to {v}");
            stale |= v < 20;
            last = v;
        }
        assert!(stale, "never a stale read");
        assert_eq!(last, 20, "never caught up");
        // The writer sees its own write.
        let own = call(
            &mut s,
            "seq-kv",
            "n0",
            json!({"type": "read", "key": "k", "msg_id": 1}),
            &mut r,
        );
        assert_eq!(own["value"], 20);
    }

    #[test]
    fn tso_counts_up() {
        let (mut s, mut r) = (Services::default(), Rng::new(1));
        for t in 0..3 {
            assert_eq!(
                call(
                    &mut s,
                    "lin-tso",
                    "n0",
                    json!({"type": "ts", "msg_id": 9}),
                    &mut r
                )["ts"],
                t
            );
        }
    }
}
