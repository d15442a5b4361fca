//! Challenge 5: a Kafka-style log (5a single node, 5b multi-node, 5c efficient).
//!
//! Two designs, each whole in its own module, picked at start by a guest argument:
//! - [`owners`] (the default; 5a, 5c): every key has one owner node, which alone holds
//!   the key's log and committed offset in memory; other nodes forward to it.
//! - [`lin_kv`] (`--lin-kv`; 5b, the baseline 5c is measured against): nothing is kept
//!   in the node; logs and committed offsets live in lin-kv, changed by compare-and-set.
//!
//! This module holds what both speak: the requests and the typed replies.

mod lin_kv;
mod owners;

use glomers::prelude::*;
use glomers::AnyNode;
use std::collections::BTreeMap;

/// How long a forwarded request or a lin-kv operation may take.
const RPC_TIMEOUT: Duration = Duration::from_millis(1000);

type Map = serde_json::Map<String, Value>;

#[derive(Deserialize)]
struct Send {
    key: String,
    msg: Value,
}

#[derive(Deserialize)]
struct Offsets {
    offsets: BTreeMap<String, i64>,
}

#[derive(Deserialize)]
struct Keys {
    keys: Vec<String>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename = "send_ok")]
struct SendOk {
    offset: u64,
}

#[derive(Serialize)]
#[serde(tag = "type", rename = "poll_ok")]
struct PollOk {
    /// key -> `[offset, msg]` pairs
    msgs: Map,
}

#[derive(Serialize)]
#[serde(tag = "type", rename = "commit_offsets_ok")]
struct CommitOffsetsOk {}

#[derive(Serialize)]
#[serde(tag = "type", rename = "list_committed_offsets_ok")]
struct ListCommittedOffsetsOk {
    /// key -> committed offset
    offsets: Map,
}

/// `[offset, msg]` pairs of `log` from offset `from` on.
fn entries(log: &[Value], from: i64) -> Vec<Value> {
    let from = usize::try_from(from.max(0)).unwrap_or(usize::MAX);
    log.iter()
        .enumerate()
        .skip(from)
        .map(|(o, m)| json!([o, m]))
        .collect()
}

fn node() -> AnyNode {
    let mut args = Args::new();
    let lin_kv = args.flag("--lin-kv");
    args.finish();
    if lin_kv {
        lin_kv::node().into()
    } else {
        owners::node().into()
    }
}

glomers::main!(node);
