//! Client processes, which write the history, as Jepsen's workers: each worker
//! thread talks to one node (thread k to node k mod n) and has at most one request
//! outstanding. A reply completes the operation (`ok`, or `fail`/`info` for an
//! error, by whether the error is definite); no reply within the timeout makes it
//! `fail` if the operation is idempotent, else `info` (indeterminate). A worker whose
//! operation ended indeterminate becomes a new process with a new client id, unless
//! the workload's clients are reusable.

use serde_json::{json, Value};
use std::collections::HashMap;

use crate::history::{Entry, History, Kind};
use crate::net::Addr;
use crate::rng::Rng;
use crate::workload::{Op, Workload};

/// How long a client waits for a reply, as Maelstrom's RPC default.
pub const TIMEOUT_NS: u64 = 5_000_000_000;

struct Pending {
    msg_id: u64,
    invoke: usize,
    op: Op,
}

pub struct Worker {
    pub node: usize,
    pub process: u64,
    pub client: u64,
    next_msg_id: u64,
    pending: Option<Pending>,
}

/// What a client sends: from, to, body.
pub struct Request {
    pub src: Addr,
    pub dest: Addr,
    pub body: String,
    pub msg_id: u64,
}

/// A malformed reply, for the report.
pub struct Malformed {
    pub node: usize,
    pub time: u64,
    pub why: String,
}

pub struct Clients {
    pub workers: Vec<Worker>,
    by_client: HashMap<u64, usize>,
    pub history: History,
    pub malformed: Vec<Malformed>,
    pub malformed_count: u64,
}

impl Clients {
    /// `concurrency` workers over `nodes` nodes; client ids come from `next_client`.
    pub fn new(concurrency: usize, nodes: usize, next_client: &mut u64) -> Clients {
        let mut by_client = HashMap::new();
        let workers = (0..concurrency)
            .map(|t| {
                let client = *next_client;
                *next_client += 1;
                by_client.insert(client, t);
                Worker {
                    node: t % nodes.max(1),
                    process: t as u64,
                    client,
                    next_msg_id: 1,
                    pending: None,
                }
            })
            .collect();
        Clients {
            workers,
            by_client,
            history: History::default(),
            malformed: Vec::new(),
            malformed_count: 0,
        }
    }

    pub fn thread_of(&self, client: u64) -> Option<usize> {
        self.by_client.get(&client).copied()
    }

    pub fn free_threads(&self) -> Vec<usize> {
        (0..self.workers.len())
            .filter(|&t| self.workers[t].pending.is_none())
            .collect()
    }

    pub fn all_free(&self) -> bool {
        self.workers.iter().all(|w| w.pending.is_none())
    }

    pub fn random_free(&self, rng: &mut Rng) -> Option<usize> {
        let free = self.free_threads();
        if free.is_empty() {
            None
        } else {
            Some(free[rng.below(free.len() as u64) as usize])
        }
    }

    /// Starts `op` on `thread`: records the invocation and returns the request.
    pub fn invoke(
        &mut self,
        thread: usize,
        op: Op,
        is_final: bool,
        now: u64,
        workload: &dyn Workload,
    ) -> Request {
        let w = &mut self.workers[thread];
        let msg_id = w.next_msg_id;
        w.next_msg_id += 1;
        let mut body = workload.request(&op);
        body["msg_id"] = json!(msg_id);
        let index = self.history.entries.len();
        self.history.entries.push(Entry {
            index,
            kind: Kind::Invoke,
            process: w.process,
            node: w.node,
            f: op.f,
            value: op.value.clone(),
            time: now,
            error: None,
            is_final,
            invoke: None,
        });
        w.pending = Some(Pending {
            msg_id,
            invoke: index,
            op,
        });
        Request {
            src: Addr::Client(w.client),
            dest: Addr::Node(w.node),
            body: body.to_string(),
            msg_id,
        }
    }

    /// A message reached client `client`; true if it completed an operation.
    pub fn on_reply(
        &mut self,
        client: u64,
        body: &str,
        now: u64,
        workload: &dyn Workload,
        next_client: &mut u64,
    ) -> bool {
        let Some(thread) = self.thread_of(client) else {
            return false;
        };
        let Ok(mut body) = serde_json::from_str::<Value>(body) else {
            return false;
        };
        let Some(p) = &self.workers[thread].pending else {
            return false;
        };
        // Replies to requests the client gave up on are ignored, as Maelstrom does.
        if body.get("in_reply_to").and_then(Value::as_u64) != Some(p.msg_id) {
            return false;
        }
        let f = p.op.f;
        let kind = body.get("type").and_then(Value::as_str).unwrap_or("");
        let (outcome, value, error) = if kind == "error" {
            let code = body.get("code").and_then(Value::as_u64);
            let definite = code
                .and_then(|c| u32::try_from(c).ok())
                .is_some_and(protocol::is_definite);
            let text = body.get("text").cloned().unwrap_or(Value::Null);
            let name = code
                .and_then(|c| u32::try_from(c).ok())
                .map_or("unknown", protocol::name);
            let outcome = if definite || workload.idempotent(f) {
                Kind::Fail
            } else {
                Kind::Info
            };
            (outcome, p.op.value.clone(), Some(json!([name, text])))
        } else {
            let expected = format!(
                "{}_ok",
                workload.request(&p.op)["type"].as_str().unwrap_or(f)
            );
            let checked = if kind == expected {
                workload.reply_value(&p.op, &mut body)
            } else {
                Err(format!("expected a reply of type {expected:?}"))
            };
            match checked {
                Ok(v) => (Kind::Ok, v, None),
                Err(why) => {
                    // Maelstrom's client throws on a malformed reply: the op is indeterminate.
                    self.malformed_count += 1;
                    if self.malformed.len() < 10 {
                        self.malformed.push(Malformed {
                            node: self.workers[thread].node,
                            time: now,
                            why: format!("{why}, got {body}"),
                        });
                    }
                    (
                        Kind::Info,
                        p.op.value.clone(),
                        Some(json!(["malformed-rpc-response", why])),
                    )
                }
            }
        };
        self.complete(thread, outcome, value, error, now, workload, next_client);
        true
    }

    /// The timeout of request `msg_id` on `thread` expired; true if it completed an op.
    pub fn on_timeout(
        &mut self,
        thread: usize,
        msg_id: u64,
        now: u64,
        workload: &dyn Workload,
        next_client: &mut u64,
    ) -> bool {
        let Some(p) = &self.workers[thread].pending else {
            return false;
        };
        if p.msg_id != msg_id {
            return false;
        }
        let outcome = if workload.idempotent(p.op.f) {
            Kind::Fail
        } else {
            Kind::Info
        };
        let value = p.op.value.clone();
        self.complete(
            thread,
            outcome,
            value,
            Some(json!("net-timeout")),
            now,
            workload,
            next_client,
        );
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn complete(
        &mut self,
        thread: usize,
        kind: Kind,
        value: Value,
        error: Option<Value>,
        now: u64,
        workload: &dyn Workload,
        next_client: &mut u64,
    ) {
        let concurrency = self.workers.len() as u64;
        let w = &mut self.workers[thread];
        let Some(p) = w.pending.take() else { return };
        let is_final = self.history.entries[p.invoke].is_final;
        let index = self.history.entries.len();
        self.history.entries.push(Entry {
            index,
            kind,
            process: w.process,
            node: w.node,
            f: p.op.f,
            value,
            time: now,
            error,
            is_final,
            invoke: Some(p.invoke),
        });
        if kind == Kind::Info && !workload.reusable_clients() {
            // The process crashed: its thread goes on as a new process with a new client.
            w.process += concurrency;
            self.by_client.remove(&w.client);
            w.client = *next_client;
            *next_client += 1;
            w.next_msg_id = 1;
            self.by_client.insert(w.client, thread);
        }
    }

    /// The operations msgs-per-op divides by: invocations, as Maelstrom counts
    /// them (the workload says which invocations are part of the one before).
    pub fn op_count(&self, workload: &dyn Workload) -> u64 {
        self.history
            .invocations()
            .filter(|e| workload.counts_as_op(e.f))
            .count() as u64
    }

    /// Counts of completions by outcome, overall and per function, as Jepsen's stats.
    pub fn stats_json(&self) -> (Value, bool) {
        crate::history::stats(&self.history)
    }
}
