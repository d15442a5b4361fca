//! Challenge 4: a grow-only counter kept in Maelstrom's seq-kv.
//!
//! Each node owns one key, `count-<node>`, and is its only writer: the counter is the
//! sum of every node's key. A node reads its key once when it starts (it may be a
//! restart), then knows it, so its compare-and-sets never conflict unless that read
//! was stale. Adds are batched: while one compare-and-set is in flight new adds wait
//! for the next one, and an `add_ok` goes out only once a compare-and-set carrying
//! its delta succeeded, so every acknowledged add is in the store.
//!
//! A key holds `[count, tag]`, the tag naming the batch that last raised it. A
//! compare-and-set that timed out may still have happened; reading the key back and
//! finding the batch's tag says it did, so a retry never counts a batch twice, and a
//! late duplicate fails because its `from` is gone for good (counts only grow).
//!
//! seq-kv is only sequentially consistent: a read may return an older state, as long
//! as it is not older than what this node has already seen. Reading the peers' keys
//! straight away could miss adds acknowledged long before, and a final read would be
//! wrong. So a `read` first writes a fresh value to this node's `barrier-<node>` key:
//! a change lands on the newest state, after which seq-kv may show this node nothing
//! older, so the reads that follow include every add acknowledged before the barrier
//! (without it, 14 of 30 seeds of the graded run ended with a stale final read).
//! Counts only grow, so the node also keeps the highest count it saw per key and never
//! reports less. Reads that arrive while one round is in flight wait for the next
//! (started after they arrived), so a burst of reads shares one round.
//!
//! Partitions cut nodes off from each other, never from seq-kv, and these nodes never
//! talk to each other, so partitions change nothing.

use glomers::prelude::*;
use std::collections::HashMap;

/// How long to wait before retrying after seq-kv failed in a way that is not a plain
/// conflict, so a struggling service is not hammered.
const BACKOFF: Duration = Duration::from_millis(50);

/// What a node's key holds: its count and the tag of the batch that last raised it.
type Entry = (u64, String);

fn count_key(node: &str) -> String {
    format!("count-{node}")
}

fn barrier_key(node: &str) -> String {
    format!("barrier-{node}")
}

/// Maelstrom's clients take the counter as a signed 64-bit number.
const MAX: u64 = i64::MAX as u64;

#[derive(Serialize, Deserialize)]
struct Add {
    /// Unsigned: a grow-only counter takes no negative delta (error 12).
    delta: u64,
}

/// Crosses a live swap (`handoff`) whole, unanswered requests included; the tasks
/// serving them do not, so `resume` starts them again.
#[derive(Serialize, Deserialize)]
struct Counter {
    /// Drawn at start, so tags stay unique across restarts of this node.
    boot: u64,
    next_tag: u64,
    /// This node's key as last written or read back; `None` until known.
    mine: Option<Entry>,
    /// The sum of the adds waiting for the next compare-and-set, and their requests.
    unflushed: u64,
    adds: Vec<Request<Add>>,
    flushing: bool,
    /// The highest count seen under each node's key.
    seen: HashMap<String, u64>,
    reads: Vec<Request<Value>>,
    refreshing: bool,
}

impl Counter {
    fn tag(&mut self, me: &str) -> String {
        self.next_tag += 1;
        format!("{me}-{:x}-{}", self.boot, self.next_tag)
    }

    fn total(&self, me: &str) -> u64 {
        let own = self.mine.as_ref().map_or(0, |m| m.0);
        let own = own.max(self.seen.get(me).copied().unwrap_or(0));
        self.seen
            .iter()
            .filter(|(node, _)| *node != me)
            .fold(own, |sum, (_, &n)| sum.saturating_add(n))
            .min(MAX)
    }
}

fn node() -> Node<Counter> {
    let counter = Counter {
        boot: glomers::random_u64(),
        next_tag: 0,
        mine: None,
        unflushed: 0,
        adds: Vec::new(),
        flushing: false,
        seen: HashMap::new(),
        reads: Vec::new(),
        refreshing: false,
    };
    Node::new(counter)
        .handoff()
        .on_restore(resume)
        .on("add", |s, ctx, req: Request<Add>| {
            let delta = req.body.delta;
            if delta == 0 {
                return ctx.reply(&req, json!({"type": "add_ok"}));
            }
            let committed = s.mine.as_ref().map_or(0, |m| m.0);
            match s.unflushed.checked_add(delta) {
                Some(u) if u.saturating_add(committed) <= MAX => s.unflushed = u,
                _ => return Err(Error::malformed("the counter would pass 2^63 - 1")),
            }
            s.adds.push(req);
            if !s.flushing {
                s.flushing = true;
                ctx.spawn(flush(ctx.clone()));
            }
            Ok(())
        })
        .on("read", |s, ctx, req: Request<Value>| {
            s.reads.push(req);
            if !s.refreshing {
                s.refreshing = true;
                ctx.spawn(refresh(ctx.clone()));
            }
            Ok(())
        })
}

/// After a live swap: the old version's tasks are gone. The batch a flush had in
/// flight may or may not have landed (its adds stay unanswered, as after a timeout),
/// so this node's key is read back before the next compare-and-set; waiting adds and
/// reads get a task again.
fn resume(s: &mut Counter, ctx: &Ctx<Counter>) {
    s.mine = None;
    s.flushing = !s.adds.is_empty();
    if s.flushing {
        ctx.spawn(flush(ctx.clone()));
    }
    s.refreshing = !s.reads.is_empty();
    if s.refreshing {
        ctx.spawn(refresh(ctx.clone()));
    }
}

/// Moves waiting adds into this node's key, one compare-and-set per batch, until none wait.
async fn flush(ctx: Ctx<Counter>) {
    let kv = Kv::seq(&ctx);
    let me = ctx.id();
    let key = count_key(&me);
    loop {
        let (delta, adds, tag) = {
            let mut s = ctx.state();
            if s.adds.is_empty() {
                s.flushing = false;
                return;
            }
            let tag = s.tag(&me);
            (
                std::mem::take(&mut s.unflushed),
                std::mem::take(&mut s.adds),
                tag,
            )
        };
        loop {
            let known = ctx.state().mine.clone();
            let from = match known {
                Some(e) => e,
                None => match kv.read_or(&key, (0, String::new())).await {
                    Ok(e) => e,
                    Err(_) => {
                        ctx.sleep(BACKOFF).await;
                        continue;
                    }
                },
            };
            if from.1 == tag {
                // An earlier attempt that timed out did happen.
                ctx.state().mine = Some(from);
                break;
            }
            let to = (from.0.saturating_add(delta), tag.clone());
            match kv.cas(&key, &from, &to, true).await {
                Ok(()) => {
                    ctx.state().mine = Some(to);
                    break;
                }
                Err(e) => {
                    // Whatever happened, the key is no longer known: read it back.
                    ctx.state().mine = None;
                    if e.code != glomers::code::PRECONDITION_FAILED {
                        ctx.sleep(BACKOFF).await;
                    }
                }
            }
        }
        for req in &adds {
            let _ = ctx.reply(req, json!({"type": "add_ok"}));
        }
    }
}

/// Serves waiting reads, one barrier and one read per key per round, until none wait.
async fn refresh(ctx: Ctx<Counter>) {
    let kv = Kv::seq(&ctx);
    let me = ctx.id();
    loop {
        let reads = {
            let mut s = ctx.state();
            if s.reads.is_empty() {
                s.refreshing = false;
                return;
            }
            std::mem::take(&mut s.reads)
        };
        loop {
            let nonce = ctx.state().tag(&me);
            match kv.write(barrier_key(&me), nonce).await {
                Ok(()) => break,
                Err(_) => ctx.sleep(BACKOFF).await,
            }
        }
        for node in ctx.node_ids() {
            // This node's own count is known here unless it restarted.
            if node == me && ctx.state().mine.is_some() {
                continue;
            }
            let entry: Entry = loop {
                match kv.read_or(count_key(&node), (0, String::new())).await {
                    Ok(e) => break e,
                    Err(_) => ctx.sleep(BACKOFF).await,
                }
            };
            let mut s = ctx.state();
            let seen = s.seen.entry(node).or_default();
            *seen = (*seen).max(entry.0);
        }
        let total = ctx.state().total(&me);
        for req in &reads {
            let _ = ctx.reply(req, json!({"type": "read_ok", "value": total}));
        }
    }
}

glomers::main!(node);

#[cfg(test)]
mod tests {
    use glomers::testing::{Sent, TestNode};
    use serde_json::{json, Value};

    fn start(me: &str) -> TestNode {
        TestNode::start(super::node, me, &["n0", "n1", "n2"])
    }

    /// The one message in `out`, which must be a request to seq-kv of this type.
    fn kv_request<'a>(out: &'a [Sent], kind: &str) -> &'a Value {
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].dest, "seq-kv");
        assert_eq!(out[0].body["type"], kind, "{out:?}");
        &out[0].body
    }

    /// seq-kv's answer to `req`.
    fn answer(t: &mut TestNode, req: &Value, mut body: Value) -> Vec<Sent> {
        body["in_reply_to"] = req["msg_id"].clone();
        t.deliver("seq-kv", body)
    }

    fn add(t: &mut TestNode, msg_id: u64, delta: i64) -> Vec<Sent> {
        t.deliver(
            "c1",
            json!({"type": "add", "delta": delta, "msg_id": msg_id}),
        )
    }

    /// An add on a node that does not know its key yet: it reads the key (answered
    /// with `stored`, or key-does-not-exist for null) and returns the cas that follows.
    fn first_add(t: &mut TestNode, msg_id: u64, delta: i64, stored: Value) -> Value {
        let out = add(t, msg_id, delta);
        let read = kv_request(&out, "read").clone();
        assert_eq!(read["key"], "count-n0");
        let value = if stored.is_null() {
            json!({"type": "error", "code": 20})
        } else {
            json!({"type": "read_ok", "value": stored})
        };
        let out = answer(t, &read, value);
        kv_request(&out, "cas").clone()
    }

    fn replies_to(out: &[Sent], kind: &str) -> Vec<u64> {
        out.iter()
            .filter(|s| s.dest == "c1" && s.body["type"] == kind)
            .filter_map(|s| s.body["in_reply_to"].as_u64())
            .collect()
    }

    #[test]
    fn an_add_is_acknowledged_only_once_its_key_holds_it() {
        let mut t = start("n0");
        let cas = first_add(&mut t, 1, 3, Value::Null);
        assert_eq!(cas["key"], "count-n0");
        assert_eq!(cas["from"], json!([0, ""]));
        assert_eq!(cas["to"][0], 3);
        assert_eq!(cas["create_if_not_exists"], true);
        let out = answer(&mut t, &cas, json!({"type": "cas_ok"}));
        assert_eq!(replies_to(&out, "add_ok"), vec![1]);

        // The next add starts from what this node wrote, without reading it back.
        let out = add(&mut t, 2, 4);
        let next = kv_request(&out, "cas").clone();
        assert_eq!(next["from"], cas["to"]);
        assert_eq!(next["to"][0], 7);
        assert_ne!(next["to"][1], cas["to"][1]);
    }

    #[test]
    fn adds_during_a_compare_and_set_share_the_next_one() {
        let mut t = start("n0");
        let first = first_add(&mut t, 1, 1, Value::Null);
        assert!(add(&mut t, 2, 2).is_empty());
        assert!(add(&mut t, 3, 4).is_empty());
        let out = answer(&mut t, &first, json!({"type": "cas_ok"}));
        assert_eq!(replies_to(&out, "add_ok"), vec![1]);
        let second = out
            .iter()
            .find(|s| s.dest == "seq-kv")
            .unwrap()
            .body
            .clone();
        assert_eq!(
            (second["from"][0].clone(), second["to"][0].clone()),
            (json!(1), json!(7))
        );
        let out = answer(&mut t, &second, json!({"type": "cas_ok"}));
        assert_eq!(replies_to(&out, "add_ok"), vec![2, 3]);
    }

    #[test]
    fn zero_needs_no_store_and_negative_deltas_are_malformed() {
        let mut t = start("n0");
        assert_eq!(replies_to(&add(&mut t, 1, 0), "add_ok"), vec![1]);
        let out = add(&mut t, 2, -1);
        assert_eq!(out[0].body["code"], 12);
        assert!(t.advance(5_000).is_empty());
    }

    #[test]
    fn a_restarted_node_builds_on_its_key_and_retries_on_a_conflict() {
        let mut t = start("n0");
        let cas = first_add(&mut t, 1, 2, json!([5, "old"]));
        assert_eq!(cas["from"], json!([5, "old"]));
        assert_eq!(cas["to"][0], 7);
        // That read was stale: the key had moved on.
        let out = answer(
            &mut t,
            &cas,
            json!({"type": "error", "code": 22, "text": "current value is [6, \"newer\"]"}),
        );
        let read = kv_request(&out, "read").clone();
        assert_eq!(read["key"], "count-n0");
        let out = answer(
            &mut t,
            &read,
            json!({"type": "read_ok", "value": [6, "newer"]}),
        );
        let retry = kv_request(&out, "cas").clone();
        assert_eq!(retry["from"], json!([6, "newer"]));
        assert_eq!(retry["to"], json!([8, cas["to"][1]]));
        let out = answer(&mut t, &retry, json!({"type": "cas_ok"}));
        assert_eq!(replies_to(&out, "add_ok"), vec![1]);
    }

    #[test]
    fn a_timed_out_compare_and_set_that_happened_is_not_repeated() {
        let mut t = start("n0");
        let cas = first_add(&mut t, 1, 3, Value::Null);
        // No answer: the SDK's 1 s timeout, then the back-off, then a read of the key.
        let out = t.advance(1_000);
        assert!(out.is_empty(), "{out:?}");
        let out = t.advance(50);
        let read = kv_request(&out, "read").clone();
        let out = answer(
            &mut t,
            &read,
            json!({"type": "read_ok", "value": cas["to"]}),
        );
        assert_eq!(replies_to(&out, "add_ok"), vec![1]);
        assert!(out.iter().all(|s| s.dest != "seq-kv"));
        // And the next add builds on it.
        let next = kv_request(&add(&mut t, 2, 1), "cas").clone();
        assert_eq!(next["from"], cas["to"]);
    }

    #[test]
    fn a_timed_out_compare_and_set_that_did_not_happen_is_retried() {
        let mut t = start("n0");
        let cas = first_add(&mut t, 1, 3, Value::Null);
        let out = t.advance(1_050);
        let read = kv_request(&out, "read").clone();
        let out = answer(&mut t, &read, json!({"type": "error", "code": 20}));
        let retry = kv_request(&out, "cas").clone();
        assert_eq!(
            (retry["from"].clone(), retry["to"].clone()),
            (json!([0, ""]), cas["to"].clone())
        );
    }

    #[test]
    fn a_read_writes_a_barrier_then_sums_every_key() {
        let mut t = start("n0");
        let cas = first_add(&mut t, 1, 3, Value::Null);
        answer(&mut t, &cas, json!({"type": "cas_ok"}));

        let out = t.deliver("c1", json!({"type": "read", "msg_id": 2}));
        let barrier = kv_request(&out, "write").clone();
        assert_eq!(barrier["key"], "barrier-n0");
        let out = answer(&mut t, &barrier, json!({"type": "write_ok"}));
        // Its own key it knows; only the peers' are read, after the barrier.
        let r1 = kv_request(&out, "read").clone();
        assert_eq!(r1["key"], "count-n1");
        let out = answer(
            &mut t,
            &r1,
            json!({"type": "read_ok", "value": [10, "n1-a-4"]}),
        );
        let r2 = kv_request(&out, "read").clone();
        assert_eq!(r2["key"], "count-n2");
        let out = answer(&mut t, &r2, json!({"type": "error", "code": 20}));
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].body,
            json!({"type": "read_ok", "value": 13, "in_reply_to": 2})
        );
    }

    #[test]
    fn a_node_that_never_added_reads_its_own_key_too() {
        let mut t = start("n0");
        let out = t.deliver("c1", json!({"type": "read", "msg_id": 1}));
        let barrier = kv_request(&out, "write").clone();
        let mut out = answer(&mut t, &barrier, json!({"type": "write_ok"}));
        for (node, n) in [("n0", 4), ("n1", 2), ("n2", 1)] {
            let r = kv_request(&out, "read").clone();
            assert_eq!(r["key"], format!("count-{node}"));
            out = answer(&mut t, &r, json!({"type": "read_ok", "value": [n, "t"]}));
        }
        assert_eq!(
            out[0].body,
            json!({"type": "read_ok", "value": 7, "in_reply_to": 1})
        );
    }

    #[test]
    fn reads_never_go_back_and_a_burst_shares_the_next_round() {
        let mut t = start("n0");
        let cas = first_add(&mut t, 9, 1, Value::Null);
        answer(&mut t, &cas, json!({"type": "cas_ok"}));
        let round = |t: &mut TestNode, n1: u64, first: Vec<Sent>| {
            let barrier = kv_request(&first, "write").clone();
            let next = answer(t, &barrier, json!({"type": "write_ok"}));
            let r = kv_request(&next, "read").clone();
            let next = answer(t, &r, json!({"type": "read_ok", "value": [n1, "x"]}));
            let r = kv_request(&next, "read").clone();
            answer(t, &r, json!({"type": "error", "code": 20}))
        };
        let first = t.deliver("c1", json!({"type": "read", "msg_id": 1}));
        // Two reads arrive while the first round is under way.
        assert!(t
            .deliver("c1", json!({"type": "read", "msg_id": 2}))
            .is_empty());
        assert!(t
            .deliver("c1", json!({"type": "read", "msg_id": 3}))
            .is_empty());
        let out = round(&mut t, 8, first);
        assert_eq!(replies_to(&out, "read_ok"), vec![1]);
        assert_eq!(out[0].body["value"], 9);
        // The reads 2 and 3 share one new round, which sees a stale n1 (5 < 8).
        let second: Vec<Sent> = out.into_iter().filter(|s| s.dest == "seq-kv").collect();
        let out = round(&mut t, 5, second);
        assert_eq!(replies_to(&out, "read_ok"), vec![2, 3]);
        assert!(out.iter().all(|s| s.body["value"] == 9));
    }
}

#[cfg(test)]
mod handoff_tests {
    use glomers::testing::{Sent, TestNode};
    use serde_json::{json, Value};

    fn to_kv(out: &[Sent]) -> &Value {
        let kv: Vec<&Sent> = out.iter().filter(|s| s.dest == "seq-kv").collect();
        assert_eq!(kv.len(), 1, "{out:?}");
        &kv[0].body
    }

    #[test]
    fn waiting_adds_cross_a_live_swap_and_are_flushed_by_the_new_version() {
        let mut t = TestNode::start(super::node, "n0", &["n0"]);
        let out = t.deliver("c1", json!({"type": "add", "delta": 5, "msg_id": 1}));
        let old_read = to_kv(&out)["msg_id"].clone();
        // Waits for the next batch: in the state, so it crosses the swap.
        assert!(t
            .deliver("c1", json!({"type": "add", "delta": 3, "msg_id": 2}))
            .is_empty());
        let out = t.upgrade(super::node).unwrap();
        // The new version reads its key back first (the old batch may have landed).
        let read = to_kv(&out).clone();
        assert_eq!(read["type"], "read");
        // The old version's read finds nobody waiting in the new one.
        let late = json!({"type": "read_ok", "value": [0, ""], "in_reply_to": old_read});
        assert!(t.deliver("seq-kv", late).is_empty());
        let out = t.deliver(
            "seq-kv",
            json!({"type": "read_ok", "value": [5, "n0-x-1"], "in_reply_to": read["msg_id"]}),
        );
        let cas = to_kv(&out).clone();
        assert_eq!(cas["type"], "cas");
        assert_eq!(cas["from"], json!([5, "n0-x-1"]));
        assert_eq!(cas["to"][0], 8, "{cas}");
        let out = t.deliver(
            "seq-kv",
            json!({"type": "cas_ok", "in_reply_to": cas["msg_id"]}),
        );
        let acks: Vec<&Sent> = out.iter().filter(|s| s.dest == "c1").collect();
        assert_eq!(acks.len(), 1, "{out:?}");
        assert_eq!(acks[0].body["in_reply_to"], 2, "only the add that waited");
    }
}
