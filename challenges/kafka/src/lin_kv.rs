//! 5b, with `--lin-kv` (the baseline 5c is measured against): nothing is kept in the
//! node. Each key's whole log is one lin-kv value, appended to by compare-and-set (the
//! offset is the index), polls read it, and committed offsets are lin-kv values raised
//! by compare-and-set. Any node can serve any key, at the price of two or more service
//! round trips per send.

use crate::{
    entries, CommitOffsetsOk, Keys, ListCommittedOffsetsOk, Map, Offsets, PollOk, Send, SendOk,
    RPC_TIMEOUT,
};
use glomers::code::KEY_DOES_NOT_EXIST;
use glomers::kv::is_retryable;
use glomers::prelude::*;

fn log_key(k: &str) -> String {
    format!("log-{k}")
}

fn commit_key(k: &str) -> String {
    format!("committed-{k}")
}

/// The node: no state, every handler a conversation with lin-kv.
pub(crate) fn node() -> Node<()> {
    // Everything lives in lin-kv: nothing to carry, but the ids and counters are.
    Node::new(())
        .handoff()
        .on_async("send", |_, ctx, req| send(ctx, req))
        .on_async("poll", |_, ctx, req| poll(ctx, req))
        .on_async("commit_offsets", |_, ctx, req| commit(ctx, req))
        .on_async("list_committed_offsets", |_, ctx, req| list(ctx, req))
}

/// Appends to the key's log by compare-and-set; the index is the offset.
async fn send(ctx: Ctx<()>, req: Request<Send>) -> Result<SendOk> {
    let kv = Kv::lin(&ctx);
    let key = log_key(&req.body.key);
    let msg = req.body.msg;
    // After a compare-and-set that timed out, the log may already hold the message.
    let mut maybe_from: Option<usize> = None;
    loop {
        let log: Vec<Value> = match kv.read_or(&key, Vec::new()).await {
            Ok(log) => log,
            Err(e) if is_retryable(&e) => continue,
            Err(e) => return Err(e),
        };
        if let Some(from) = maybe_from.take() {
            if let Some(i) = log.iter().skip(from).position(|m| *m == msg) {
                return Ok(SendOk {
                    offset: (from + i) as u64,
                });
            }
        }
        let mut new = log.clone();
        new.push(msg.clone());
        match kv.cas(&key, &log, &new, true).await {
            Ok(()) => {
                return Ok(SendOk {
                    offset: log.len() as u64,
                })
            }
            Err(e) if e.code == glomers::code::TIMEOUT => maybe_from = Some(log.len()),
            Err(e) if is_retryable(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads every polled key's log from lin-kv, all reads in flight at once.
async fn poll(ctx: Ctx<()>, req: Request<Offsets>) -> Result<PollOk> {
    let calls: Vec<_> = req
        .body
        .offsets
        .iter()
        .map(|(k, &from)| {
            let body = json!({"type": "read", "key": log_key(k)});
            (k.clone(), from, ctx.call("lin-kv", body, RPC_TIMEOUT))
        })
        .collect();
    let mut msgs = Map::new();
    for (k, from, call) in calls {
        match call.await {
            Ok(r) => {
                let log: Vec<Value> = r
                    .body
                    .get("value")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let pairs = entries(&log, from);
                if !pairs.is_empty() {
                    msgs.insert(k, Value::Array(pairs));
                }
            }
            Err(e) if e.code == KEY_DOES_NOT_EXIST => {}
            Err(e) => return Err(e),
        }
    }
    Ok(PollOk { msgs })
}

/// Raises each key's committed offset in lin-kv (never lowers it).
async fn commit(ctx: Ctx<()>, req: Request<Offsets>) -> Result<CommitOffsetsOk> {
    let kv = Kv::lin(&ctx);
    for (k, &o) in &req.body.offsets {
        let key = commit_key(k);
        loop {
            let cur: Option<i64> = match kv.read(&key).await {
                Ok(c) => Some(c),
                Err(e) if e.code == KEY_DOES_NOT_EXIST => None,
                Err(e) if is_retryable(&e) => continue,
                Err(e) => return Err(e),
            };
            if cur.is_some_and(|c| c >= o) {
                break;
            }
            let r = match cur {
                Some(c) => kv.cas(&key, c, o, false).await,
                None => kv.cas(&key, -1, o, true).await,
            };
            match r {
                Ok(()) => break,
                Err(e) if is_retryable(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(CommitOffsetsOk {})
}

/// Reads the committed offsets of the keys from lin-kv, all at once.
async fn list(ctx: Ctx<()>, req: Request<Keys>) -> Result<ListCommittedOffsetsOk> {
    let calls: Vec<_> = req
        .body
        .keys
        .iter()
        .map(|k| {
            let body = json!({"type": "read", "key": commit_key(k)});
            (k.clone(), ctx.call("lin-kv", body, RPC_TIMEOUT))
        })
        .collect();
    let mut offsets = Map::new();
    for (k, call) in calls {
        match call.await {
            Ok(r) => {
                if let Some(c) = r.body.get("value").and_then(Value::as_i64) {
                    offsets.insert(k, json!(c));
                }
            }
            Err(e) if e.code == KEY_DOES_NOT_EXIST => {}
            Err(e) => return Err(e),
        }
    }
    Ok(ListCommittedOffsetsOk { offsets })
}

#[cfg(test)]
mod tests {
    use glomers::testing::TestNode;
    use serde_json::json;

    #[test]
    fn a_send_reads_the_log_then_appends_by_compare_and_set() {
        let mut t = TestNode::start(super::node, "n0", &["n0", "n1"]);
        let out = t.deliver(
            "c1",
            json!({"type": "send", "key": "k", "msg": 9, "msg_id": 1}),
        );
        assert_eq!(
            (out[0].dest.as_str(), &out[0].body["type"]),
            ("lin-kv", &json!("read"))
        );
        assert_eq!(out[0].body["key"], "log-k");
        let out = t.deliver(
            "lin-kv",
            json!({"type": "read_ok", "value": [5, 6], "in_reply_to": out[0].body["msg_id"]}),
        );
        assert_eq!(out[0].body["type"], "cas");
        assert_eq!(
            (&out[0].body["from"], &out[0].body["to"]),
            (&json!([5, 6]), &json!([5, 6, 9]))
        );
        let out = t.deliver(
            "lin-kv",
            json!({"type": "cas_ok", "in_reply_to": out[0].body["msg_id"]}),
        );
        assert_eq!(out[0].dest, "c1");
        assert_eq!(
            out[0].body,
            json!({"type": "send_ok", "offset": 2, "in_reply_to": 1})
        );
    }

    #[test]
    fn the_kafka_node_picks_this_design_with_lin_kv() {
        let mut t = TestNode::with_args(crate::node, &["--lin-kv"], 1).init("n0", &["n0"]);
        let out = t.deliver(
            "c1",
            json!({"type": "list_committed_offsets", "keys": ["k"], "msg_id": 1}),
        );
        assert_eq!(out[0].dest, "lin-kv");
        let mut t = TestNode::with_args(crate::node, &[], 1).init("n0", &["n0"]);
        let out = t.deliver(
            "c1",
            json!({"type": "list_committed_offsets", "keys": ["k"], "msg_id": 1}),
        );
        assert_eq!(out[0].dest, "c1", "owners answer their own keys");
    }
}
