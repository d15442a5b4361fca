//! 5a and 5c: every key has one owner, `node_ids[hash(key) % n]`, which alone holds
//! the key's log and committed offset in memory. It hands out offsets by appending,
//! so offsets are unique and increasing with no coordination at all; a node that is
//! asked about a key it does not own forwards that part of the request to the owner
//! (one RPC per owner involved, all in flight at once) and merges the answers. On one
//! node nothing is ever forwarded. There is no replication: the graded runs have no
//! partitions and no crashes, and the point of 5c is fewer messages.

use crate::{
    entries, CommitOffsetsOk, Keys, ListCommittedOffsetsOk, Map, Offsets, PollOk, Send, SendOk,
    RPC_TIMEOUT,
};
use glomers::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// Crosses a live swap whole (`handoff`): the logs and the committed offsets.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct Owned {
    logs: HashMap<String, Vec<Value>>,
    committed: HashMap<String, i64>,
}

impl Owned {
    fn append(&mut self, key: &str, msg: Value) -> u64 {
        let log = self.logs.entry(key.to_string()).or_default();
        log.push(msg);
        log.len() as u64 - 1
    }

    fn poll(&self, offsets: &BTreeMap<String, i64>) -> Map {
        let mut out = Map::new();
        for (k, &from) in offsets {
            if let Some(log) = self.logs.get(k) {
                let pairs = entries(log, from);
                if !pairs.is_empty() {
                    out.insert(k.clone(), Value::Array(pairs));
                }
            }
        }
        out
    }
}

/// FNV-1a: stable across nodes and runs, unlike std's hasher.
pub(crate) fn owner(key: &str, ids: &[String]) -> Option<String> {
    let h = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    ids.get((h % ids.len().max(1) as u64) as usize).cloned()
}

/// Items keyed by a Kafka key.
type Part<T> = Vec<(String, T)>;

/// Groups keys by owner: this node's own, and everyone else's.
fn split<'a, T>(
    ctx: &Ctx<Owned>,
    items: impl IntoIterator<Item = (&'a String, T)>,
) -> (Part<T>, BTreeMap<String, Part<T>>) {
    let (me, ids) = (ctx.id(), ctx.node_ids());
    let mut mine = Vec::new();
    let mut theirs: BTreeMap<String, Part<T>> = BTreeMap::new();
    for (k, v) in items {
        match owner(k, &ids) {
            Some(o) if o != me => theirs.entry(o).or_default().push((k.clone(), v)),
            _ => mine.push((k.clone(), v)),
        }
    }
    (mine, theirs)
}

/// Sends one request per other owner (all at once) and merges the `field` maps of
/// their answers into `merged` (this node's own part). The first failure is the
/// answer instead.
async fn gather(
    ctx: &Ctx<Owned>,
    bodies: Vec<(String, Value)>,
    field: &str,
    mut merged: Map,
) -> Result<Map> {
    let calls: Vec<_> = bodies
        .into_iter()
        .map(|(dest, body)| ctx.call(&dest, body, RPC_TIMEOUT))
        .collect();
    for call in calls {
        let r = call.await?;
        if let Some(m) = r.body.get(field).and_then(Value::as_object) {
            merged.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    Ok(merged)
}

/// The node: each handler answers its own keys at once and forwards the rest.
pub(crate) fn node() -> Node<Owned> {
    Node::new(Owned::default())
        .handoff()
        .on_async("send", |s, ctx, req: Request<Send>| {
            // Appended here and now if this node owns the key, else forwarded.
            let local = match owner(&req.body.key, &ctx.node_ids()) {
                Some(o) if o != ctx.id() => Err(o),
                _ => Ok(s.append(&req.body.key, req.body.msg.clone())),
            };
            async move {
                let owner = match local {
                    Ok(offset) => return Ok(SendOk { offset }),
                    Err(owner) => owner,
                };
                let body = json!({"type": "send", "key": req.body.key, "msg": req.body.msg});
                let r = ctx.call(&owner, body, RPC_TIMEOUT).await?;
                let offset = r
                    .body
                    .get("offset")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| {
                        // The owner may have appended it: an indefinite error.
                        Error::crash(format!("{owner} answered a send without an offset"))
                    })?;
                Ok(SendOk { offset })
            }
        })
        .on_async("poll", |s, ctx, req: Request<Offsets>| {
            let (mine, theirs) = split(&ctx, req.body.offsets.iter().map(|(k, o)| (k, *o)));
            let msgs = s.poll(&mine.into_iter().collect());
            let bodies = theirs
                .into_iter()
                .map(|(o, part)| {
                    let offsets: BTreeMap<String, i64> = part.into_iter().collect();
                    (o, json!({"type": "poll", "offsets": offsets}))
                })
                .collect();
            async move {
                let msgs = gather(&ctx, bodies, "msgs", msgs).await?;
                Ok(PollOk { msgs })
            }
        })
        .on_async("commit_offsets", |s, ctx, req: Request<Offsets>| {
            let (mine, theirs) = split(&ctx, req.body.offsets.iter().map(|(k, o)| (k, *o)));
            for (k, o) in mine {
                let c = s.committed.entry(k).or_insert(o);
                *c = (*c).max(o);
            }
            let bodies = theirs
                .into_iter()
                .map(|(o, part)| {
                    let offsets: BTreeMap<String, i64> = part.into_iter().collect();
                    (o, json!({"type": "commit_offsets", "offsets": offsets}))
                })
                .collect();
            async move {
                gather(&ctx, bodies, "offsets", Map::new()).await?;
                Ok(CommitOffsetsOk {})
            }
        })
        .on_async("list_committed_offsets", |s, ctx, req: Request<Keys>| {
            let (mine, theirs) = split(&ctx, req.body.keys.iter().map(|k| (k, ())));
            let mut offsets = Map::new();
            for (k, ()) in mine {
                if let Some(c) = s.committed.get(&k) {
                    offsets.insert(k, json!(c));
                }
            }
            let bodies = theirs
                .into_iter()
                .map(|(o, part)| {
                    let keys: Vec<String> = part.into_iter().map(|(k, ())| k).collect();
                    (o, json!({"type": "list_committed_offsets", "keys": keys}))
                })
                .collect();
            async move {
                let offsets = gather(&ctx, bodies, "offsets", offsets).await?;
                Ok(ListCommittedOffsetsOk { offsets })
            }
        })
}

#[cfg(test)]
mod tests {
    use glomers::testing::{Sent, TestNode};
    use serde_json::{json, Value};

    fn one(out: &[Sent]) -> &Value {
        assert_eq!(out.len(), 1, "{out:?}");
        &out[0].body
    }

    #[test]
    fn a_single_node_hands_out_offsets_and_polls_from_them() {
        let mut t = TestNode::start(super::node, "n0", &["n0"]);
        for (i, msg) in [10, 11, 12].into_iter().enumerate() {
            let out = t.deliver(
                "c1",
                json!({"type": "send", "key": "k", "msg": msg, "msg_id": i + 1}),
            );
            assert_eq!(one(&out)["offset"], i, "{out:?}");
        }
        let out = t.deliver(
            "c1",
            json!({"type": "poll", "offsets": {"k": 1, "other": 0}, "msg_id": 9}),
        );
        assert_eq!(one(&out)["msgs"], json!({"k": [[1, 11], [2, 12]]}));
    }

    #[test]
    fn logs_and_committed_offsets_cross_a_live_swap() {
        let mut t = TestNode::start(super::node, "n0", &["n0"]);
        for (i, msg) in [10, 11].into_iter().enumerate() {
            t.deliver(
                "c1",
                json!({"type": "send", "key": "k", "msg": msg, "msg_id": i + 1}),
            );
        }
        t.deliver(
            "c1",
            json!({"type": "commit_offsets", "offsets": {"k": 1}, "msg_id": 3}),
        );
        t.upgrade(super::node).unwrap();
        let out = t.deliver(
            "c1",
            json!({"type": "send", "key": "k", "msg": 12, "msg_id": 4}),
        );
        assert_eq!(one(&out)["offset"], 2, "offsets go on where they were");
        let out = t.deliver(
            "c1",
            json!({"type": "poll", "offsets": {"k": 0}, "msg_id": 5}),
        );
        assert_eq!(one(&out)["msgs"], json!({"k": [[0, 10], [1, 11], [2, 12]]}));
        let out = t.deliver(
            "c1",
            json!({"type": "list_committed_offsets", "keys": ["k"], "msg_id": 6}),
        );
        assert_eq!(one(&out)["offsets"], json!({"k": 1}));
    }

    #[test]
    fn committed_offsets_only_grow() {
        let mut t = TestNode::start(super::node, "n0", &["n0"]);
        for (id, o) in [(1, 5), (2, 3)] {
            let out = t.deliver(
                "c1",
                json!({"type": "commit_offsets", "offsets": {"k": o}, "msg_id": id}),
            );
            assert_eq!(one(&out)["type"], "commit_offsets_ok");
        }
        let out = t.deliver(
            "c1",
            json!({"type": "list_committed_offsets", "keys": ["k", "x"], "msg_id": 3}),
        );
        assert_eq!(one(&out)["offsets"], json!({"k": 5}));
    }

    #[test]
    fn requests_for_another_owners_key_are_forwarded_to_it() {
        let ids = ["n0", "n1"];
        // A key n1 owns.
        let key = (0..100)
            .map(|i| i.to_string())
            .find(|k| super::owner(k, &ids.map(String::from)).as_deref() == Some("n1"))
            .expect("some key is n1's");
        let mut t = TestNode::start(super::node, "n0", &ids);
        let out = t.deliver(
            "c1",
            json!({"type": "send", "key": key, "msg": 7, "msg_id": 1}),
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].dest, "n1");
        let fwd = out[0].body.clone();
        assert_eq!((&fwd["type"], &fwd["key"]), (&json!("send"), &json!(key)));
        let out = t.deliver(
            "n1",
            json!({"type": "send_ok", "offset": 4, "in_reply_to": fwd["msg_id"]}),
        );
        assert_eq!(out[0].dest, "c1");
        assert_eq!(
            (&out[0].body["offset"], &out[0].body["in_reply_to"]),
            (&json!(4), &json!(1))
        );
        // A poll of its key and one of n0's: n0 answers its part, n1 the other.
        let mine = (0..100)
            .map(|i| i.to_string())
            .find(|k| super::owner(k, &ids.map(String::from)).as_deref() == Some("n0"))
            .expect("some key is n0's");
        t.deliver(
            "c1",
            json!({"type": "send", "key": mine, "msg": 8, "msg_id": 2}),
        );
        let out = t.deliver(
            "c1",
            json!({"type": "poll", "offsets": {key.clone(): 0, mine.clone(): 0}, "msg_id": 3}),
        );
        assert_eq!(out[0].dest, "n1");
        assert_eq!(out[0].body["offsets"], json!({key.clone(): 0}));
        let out = t.deliver(
            "n1",
            json!({"type": "poll_ok", "msgs": {key.clone(): [[4, 7]]}, "in_reply_to": out[0].body["msg_id"]}),
        );
        assert_eq!(one(&out)["msgs"], json!({key: [[4, 7]], mine: [[0, 8]]}));
    }

    #[test]
    fn a_failed_forward_is_the_error_reply() {
        let ids = ["n0", "n1"];
        let key = (0..100)
            .map(|i| i.to_string())
            .find(|k| super::owner(k, &ids.map(String::from)).as_deref() == Some("n1"))
            .expect("some key is n1's");
        let mut t = TestNode::start(super::node, "n0", &ids);
        t.deliver(
            "c1",
            json!({"type": "send", "key": key, "msg": 7, "msg_id": 1}),
        );
        let out = t.advance(1000);
        assert_eq!(
            one(&out)["code"],
            0,
            "a timeout: the owner may have appended it"
        );
        assert_eq!(out[0].body["in_reply_to"], 1);
    }
}
