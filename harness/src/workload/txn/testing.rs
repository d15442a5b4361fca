//! What the data models' unit tests share: options for a one-node run, histories
//! of given txns (serial or all concurrent), judging them, and histories from
//! stores that replicate late, so each data model's tests say only what differs.

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;

use super::gen::TxnGen;
use crate::history::{Entry, History, Kind};
use crate::rng::Rng;
use crate::workload::{Context, Options, Verdict, Workload};

/// A one-node run checked for `models`.
pub fn options(models: &[&str]) -> Options {
    Options {
        nodes: vec!["n0".into()],
        topology: crate::options::Topology::Grid,
        concurrency: 1,
        key_count: None,
        max_txn_length: 4,
        max_writes_per_key: 16,
        consistency_models: models
            .iter()
            .map(|m| clap::ValueEnum::from_str(m, false).expect("a model Elle knows"))
            .collect(),
        lin_kv_budget: crate::workload::LIN_KV_BUDGET,
    }
}

/// Txns as (kind, micro-ops), invoked all at once (`concurrent`: no real-time
/// order) or one after another.
pub fn history(txns: &[(Kind, Value)], concurrent: bool) -> History {
    let mut h = History::default();
    let n = txns.len();
    let entry = |index, kind, i: usize, v: &Value, invoke| Entry {
        index,
        process: i as u64,
        invoke,
        ..Entry::at(kind, "txn", v.clone(), index as u64 * 1000)
    };
    for (i, (kind, v)) in txns.iter().enumerate() {
        let (inv, done) = if concurrent {
            (i, n + i)
        } else {
            (2 * i, 2 * i + 1)
        };
        h.entries.push(entry(inv, Kind::Invoke, i, v, None));
        h.entries.push(entry(done, *kind, i, v, Some(inv)));
    }
    h.entries.sort_by_key(|e| e.index);
    h
}

/// The verdict of the workload `new` makes for `models` on `h`.
pub fn judge(
    new: fn(&Options) -> Result<Box<dyn Workload>>,
    models: &[&str],
    h: &History,
) -> Verdict {
    let w = new(&options(models)).unwrap();
    let nodes = vec!["n0".to_string()];
    w.check(h, &Context { nodes: &nodes })
}

/// The anomalies the verdict holds against the models.
pub fn types(v: &Verdict) -> Vec<String> {
    v.result["anomaly-types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

/// `n` txns from Elle's generator, each run whole on one of `replicas` stores in
/// turn, whose writes reach the other stores `lag` txns later: one store is
/// strict serializable, several lagging ones are not. A store holds an `S` per
/// key, which `write` (the data model's name for it) changes with `apply`.
pub fn replicated<S: Default + Clone + Serialize>(
    n: usize,
    replicas: usize,
    lag: usize,
    seed: u64,
    write: &str,
    apply: fn(&mut S, u64),
) -> Vec<(Kind, Value)> {
    let mut gen = TxnGen::new(None, 4, 16).unwrap();
    let mut rng = Rng::new(seed);
    let mut stores: Vec<HashMap<u64, S>> = vec![HashMap::new(); replicas];
    // (when, from which store, what)
    type Shipment = (usize, usize, Vec<(u64, u64)>);
    let mut shipped: Vec<Shipment> = Vec::new();
    let mut out = Vec::new();
    for i in 0..n {
        for (at, from, writes) in &shipped {
            if *at == i {
                for (r, store) in stores.iter_mut().enumerate() {
                    if r != *from {
                        for &(k, v) in writes {
                            apply(store.entry(k).or_default(), v);
                        }
                    }
                }
            }
        }
        let r = i % replicas;
        let mut writes = Vec::new();
        let mops: Vec<Value> = gen
            .next(&mut rng)
            .into_iter()
            .map(|m| {
                if m.write {
                    apply(stores[r].entry(m.key).or_default(), m.value);
                    writes.push((m.key, m.value));
                    json!([write, m.key, m.value])
                } else {
                    json!(["r", m.key, stores[r].get(&m.key)])
                }
            })
            .collect();
        shipped.push((i + lag, r, writes));
        out.push((Kind::Ok, Value::Array(mops)));
    }
    out
}
