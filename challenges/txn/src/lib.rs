//! Challenge 6: totally available transactions over a key-value map (6a, 6b, 6c).
//!
//! Every txn runs whole on the node that got it: handlers never run concurrently, so
//! a txn sees one committed state, never another txn half done. Its writes are
//! buffered (its own reads see them) and only each key's final write is committed,
//! all at once, under one tag `(lamport clock, node)`; the client gets `txn_ok`
//! straight away, so the node answers under any partition (total availability).
//!
//! Replication is of whole write sets, never parts: each node logs the write sets it
//! committed and sends its peers, every `SYNC`, those they have not acknowledged.
//! A peer applies a set key by key, last writer (highest tag) wins, which is
//! idempotent and commutative, so resending after a partition is harmless.
//!
//! Why this is read-committed: nothing is ever aborted (no G1a), no intermediate
//! write leaves its txn (no G1b), and a txn's writes become visible only after it
//! ran, so every wr dependency points forward in time; a txn that read v1 and wrote
//! v2 had its clock raised past v1's tag, so v2 wins over v1 everywhere and every ww
//! dependency points forward too: no cycle (no G0, no G1c).

use glomers::prelude::*;
use std::collections::HashMap;

/// How often unacknowledged write sets go to each peer.
const SYNC: Duration = Duration::from_millis(100);
/// The most write sets in one replicate message.
const MAX_BATCH: usize = 1000;

/// A commit's tag: Lamport clock, then node id to break ties.
type Tag = (u64, String);

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct WriteSet {
    tag: Tag,
    /// Final writes: (key, value), keys as their JSON text.
    writes: Vec<(Value, Value)>,
}

/// All of it crosses a live swap (`handoff`): the data, the log and what peers acked.
#[derive(Default, Serialize, Deserialize)]
struct Store {
    clock: u64,
    /// Key (as JSON text) -> (value, tag of its writer).
    kv: HashMap<String, (Value, Tag)>,
    /// Write sets this node committed, in order, numbered from `log_base`.
    log: Vec<WriteSet>,
    log_base: u64,
    /// The highest log number each peer acknowledged.
    acked: HashMap<String, u64>,
}

impl Store {
    fn apply(&mut self, set: &WriteSet) {
        self.clock = self.clock.max(set.tag.0);
        for (k, v) in &set.writes {
            let key = k.to_string();
            let newer = self.kv.get(&key).is_none_or(|(_, t)| *t < set.tag);
            if newer {
                self.kv.insert(key, (v.clone(), set.tag.clone()));
            }
        }
    }

    /// Runs a txn: fills in its reads, commits its final writes; returns the result
    /// and the committed write set, if it wrote anything.
    fn run(&mut self, me: &str, txn: Vec<(String, Value, Value)>) -> Result<Vec<Value>> {
        let mut own: HashMap<String, Value> = HashMap::new();
        let mut writes: Vec<(Value, Value)> = Vec::new();
        let mut out = Vec::with_capacity(txn.len());
        for (f, k, v) in txn {
            let key = k.to_string();
            match f.as_str() {
                "r" => {
                    let seen = match own.get(&key) {
                        Some(v) => v.clone(),
                        None => self.kv.get(&key).map_or(Value::Null, |(v, _)| v.clone()),
                    };
                    out.push(json!(["r", k, seen]));
                }
                "w" => {
                    if own.insert(key, v.clone()).is_none() {
                        writes.push((k.clone(), v.clone()));
                    } else if let Some(w) = writes.iter_mut().find(|(wk, _)| *wk == k) {
                        w.1 = v.clone();
                    }
                    out.push(json!(["w", k, v]));
                }
                f => return Err(Error::malformed(format!("unknown micro-op {f:?}"))),
            }
        }
        if !writes.is_empty() {
            self.clock += 1;
            let set = WriteSet {
                tag: (self.clock, me.to_string()),
                writes,
            };
            self.apply(&set);
            self.log.push(set);
        }
        Ok(out)
    }

    /// Drops write sets every peer has acknowledged.
    fn trim(&mut self, peers: &[String]) {
        let upto = peers
            .iter()
            .map(|p| self.acked.get(p).copied().unwrap_or(0))
            .min()
            .unwrap_or(self.log_base + self.log.len() as u64);
        if upto > self.log_base {
            let n = ((upto - self.log_base) as usize).min(self.log.len());
            self.log.drain(..n);
            self.log_base += n as u64;
        }
    }
}

#[derive(Deserialize)]
struct Txn {
    txn: Vec<(String, Value, Value)>,
}

#[derive(Deserialize)]
struct Replicate {
    /// The log number of the first set.
    from: u64,
    sets: Vec<WriteSet>,
}

#[derive(Deserialize)]
struct ReplicateOk {
    upto: u64,
}

fn sync(s: &mut Store, ctx: &Ctx<Store>) {
    let peers = ctx.peers();
    s.trim(&peers);
    let end = s.log_base + s.log.len() as u64;
    for p in peers {
        let from = s.acked.get(&p).copied().unwrap_or(0).max(s.log_base);
        if from >= end {
            continue;
        }
        let i = (from - s.log_base) as usize;
        let sets = &s.log[i..(i + MAX_BATCH).min(s.log.len())];
        // A send can only fail on a body that does not serialize; ours always do.
        let _ = ctx.send(&p, json!({"type": "replicate", "from": from, "sets": sets}));
    }
}

fn node() -> Node<Store> {
    Node::new(Store::default())
        .handoff()
        .on("txn", |s, ctx, req: Request<Txn>| {
            let txn = req.body.txn.clone();
            let done = s.run(&ctx.id(), txn)?;
            ctx.reply(&req, json!({"type": "txn_ok", "txn": done}))
        })
        .on("replicate", |s, ctx, req: Request<Replicate>| {
            for set in &req.body.sets {
                s.apply(set);
            }
            let upto = req.body.from + req.body.sets.len() as u64;
            ctx.send(&req.src, json!({"type": "replicate_ok", "upto": upto}))
        })
        .on("replicate_ok", |s, _, req: Request<ReplicateOk>| {
            let acked = s.acked.entry(req.src.clone()).or_insert(0);
            *acked = (*acked).max(req.body.upto);
            Ok(())
        })
        .every(SYNC, sync)
}

glomers::main!(node);

#[cfg(test)]
mod tests {
    use glomers::testing::TestNode;
    use serde_json::{json, Value};

    fn txn(t: &mut TestNode, id: u64, ops: Value) -> Value {
        let out = t.deliver("c1", json!({"type": "txn", "msg_id": id, "txn": ops}));
        let reply = out.iter().find(|s| s.dest == "c1").expect("a reply");
        reply.body.clone()
    }

    #[test]
    fn a_txn_reads_its_own_writes_and_commits_only_final_ones() {
        let mut t = TestNode::start(super::node, "n0", &["n0"]);
        let r = txn(
            &mut t,
            1,
            json!([
                ["r", 1, null],
                ["w", 1, 5],
                ["r", 1, null],
                ["w", 1, 6],
                ["w", 2, 7]
            ]),
        );
        assert_eq!(r["type"], "txn_ok");
        assert_eq!(
            r["txn"],
            json!([
                ["r", 1, null],
                ["w", 1, 5],
                ["r", 1, 5],
                ["w", 1, 6],
                ["w", 2, 7]
            ])
        );
        let r = txn(
            &mut t,
            2,
            json!([["r", 1, null], ["r", 2, null], ["r", 3, null]]),
        );
        assert_eq!(r["txn"], json!([["r", 1, 6], ["r", 2, 7], ["r", 3, null]]));
    }

    #[test]
    fn the_store_crosses_a_live_swap() {
        let mut t = TestNode::start(super::node, "n0", &["n0"]);
        txn(&mut t, 1, json!([["w", 1, 5], ["w", 2, 6]]));
        t.upgrade(super::node).unwrap();
        let r = txn(&mut t, 2, json!([["r", 1, null], ["r", 2, null]]));
        assert_eq!(r["txn"], json!([["r", 1, 5], ["r", 2, 6]]));
        // Later commits are ordered after the carried ones (the clock crossed too).
        txn(&mut t, 3, json!([["w", 1, 7]]));
        let r = txn(&mut t, 4, json!([["r", 1, null]]));
        assert_eq!(r["txn"], json!([["r", 1, 7]]));
    }

    #[test]
    fn bad_micro_ops_are_refused() {
        let mut t = TestNode::start(super::node, "n0", &["n0"]);
        let r = txn(&mut t, 1, json!([["x", 1, null]]));
        assert_eq!(
            (r["type"].clone(), r["code"].clone()),
            (json!("error"), json!(12))
        );
        let r = txn(&mut t, 2, json!([["r", 1]]));
        assert_eq!(r["code"], 12);
    }

    #[test]
    fn write_sets_replicate_whole_until_acknowledged_and_last_writer_wins() {
        // One node per thread: n0 is real, n1 is played by the test.
        let mut a = TestNode::start(super::node, "n0", &["n0", "n1"]);
        txn(&mut a, 1, json!([["w", 1, 1], ["w", 1, 2], ["w", 2, 1]]));
        let out = a.advance(100);
        let rep = out.iter().find(|s| s.body["type"] == "replicate").unwrap();
        assert_eq!(rep.dest, "n1");
        assert_eq!(
            rep.body["sets"],
            json!([{"tag": [1, "n0"], "writes": [[1, 2], [2, 1]]}])
        );
        // Unacknowledged sets are resent; acknowledged ones are not.
        assert!(a.advance(100).iter().any(|s| s.body["type"] == "replicate"));
        a.deliver("n1", json!({"type": "replicate_ok", "upto": 1}));
        assert!(!a.advance(100).iter().any(|s| s.body["type"] == "replicate"));
        // n1's set with the same clock wins the tie on key 1; an older one loses.
        let acks = a.deliver(
            "n1",
            json!({"type": "replicate", "from": 0, "sets": [
                {"tag": [1, "n1"], "writes": [[1, 9]]},
                {"tag": [0, "n1"], "writes": [[2, 8]]}]}),
        );
        assert_eq!(acks[0].body, json!({"type": "replicate_ok", "upto": 2}));
        let r = txn(
            &mut a,
            2,
            json!([["r", 1, null], ["r", 2, null], ["w", 1, 3]]),
        );
        assert_eq!(r["txn"], json!([["r", 1, 9], ["r", 2, 1], ["w", 1, 3]]));
        // The new write is tagged past what it read, so it wins everywhere.
        let out = a.advance(100);
        let rep = out.iter().find(|s| s.body["type"] == "replicate").unwrap();
        assert_eq!(rep.body["from"], 1);
        assert_eq!(rep.body["sets"][0]["tag"], json!([2, "n0"]));
    }
}
