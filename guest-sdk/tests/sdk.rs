//! The SDK's behaviour as a node author meets it, driven natively through
//! `glomers::testing::TestNode` (virtual time, no wasm).

use glomers::prelude::*;
use glomers::testing::TestNode;

#[derive(Default)]
struct State {
    ticks: u64,
    replies: Vec<Result<Value, u32>>,
}

fn node() -> Node<State> {
    Node::new(State::default())
        .on("ask", |_, ctx, req: Request<Value>| {
            let dest = req.body["dest"].as_str().unwrap_or("n2").to_string();
            ctx.rpc(
                &dest,
                json!({"type": "question"}),
                Duration::from_millis(500),
                |s, _, r| {
                    s.replies.push(r.map(|r| r.body).map_err(|e| e.code));
                },
            )?;
            ctx.reply(&req, json!({"type": "ask_ok"}))
        })
        .on("ask_async", |_, ctx, req: Request<Value>| {
            let c = ctx.clone();
            ctx.spawn(async move {
                let r = c
                    .call(
                        "n2",
                        json!({"type": "question"}),
                        Duration::from_millis(300),
                    )
                    .await;
                let _ = c.reply(&req, json!({"type": "ask_async_ok", "ok": r.is_ok()}));
            });
            Ok(())
        })
        .on("kv_incr", |_, ctx, req: Request<Value>| {
            let c = ctx.clone();
            ctx.spawn(async move {
                let kv = Kv::seq(&c);
                let v: i64 = kv.read_or("k", 0).await.unwrap_or(-1);
                let ok = kv.cas("k", v, v + 1, true).await.is_ok();
                let _ = c.reply(&req, json!({"type": "kv_incr_ok", "read": v, "ok": ok}));
            });
            Ok(())
        })
        .on("ticks", |s, ctx, req: Request<Value>| {
            ctx.reply(
                &req,
                json!({"type": "ticks_ok", "ticks": s.ticks, "replies": s.replies.len()}),
            )
        })
        .on("fail", |_, _, _: Request<Value>| {
            Err(Error::txn_conflict("nope"))
        })
        .on("typed", |_, ctx, req: Request<Typed>| {
            ctx.reply(&req, json!({"type": "typed_ok", "n": req.body.n}))
        })
        .every(Duration::from_millis(100), |s, _| s.ticks += 1)
}

#[derive(Deserialize)]
struct Typed {
    n: u32,
}

fn start() -> TestNode {
    TestNode::start(node, "n1", &["n1", "n2"])
}

#[test]
fn rpc_callback_gets_the_reply_and_the_handler_replies_at_once() {
    let mut t = start();
    let out = t.deliver("c1", json!({"type": "ask", "msg_id": 1}));
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].dest, "n2");
    let id = out[0].body["msg_id"].as_u64().unwrap();
    assert_eq!(out[1].body["type"], "ask_ok");
    t.deliver("n2", json!({"type": "answer", "in_reply_to": id, "x": 5}));
    let out = t.deliver("c1", json!({"type": "ticks", "msg_id": 2}));
    assert_eq!(out[0].body["replies"], 1);
}

#[test]
fn rpc_times_out_with_code_0_and_a_late_reply_is_dropped() {
    let mut t = start();
    let out = t.deliver("c1", json!({"type": "ask", "msg_id": 1}));
    let id = out[0].body["msg_id"].as_u64().unwrap();
    t.advance(499);
    assert_eq!(
        t.deliver("c1", json!({"type": "ticks", "msg_id": 2}))[0].body["replies"],
        0
    );
    t.advance(1);
    assert_eq!(
        t.deliver("c1", json!({"type": "ticks", "msg_id": 3}))[0].body["replies"],
        1
    );
    assert!(t
        .deliver("n2", json!({"type": "answer", "in_reply_to": id}))
        .is_empty());
    assert_eq!(
        t.deliver("c1", json!({"type": "ticks", "msg_id": 4}))[0].body["replies"],
        1
    );
}

#[test]
fn async_call_completes_on_reply_and_on_timeout() {
    let mut t = start();
    let out = t.deliver("c1", json!({"type": "ask_async", "msg_id": 7}));
    let id = out[0].body["msg_id"].as_u64().unwrap();
    let out = t.deliver("n2", json!({"type": "answer", "in_reply_to": id}));
    assert_eq!(
        out[0].body,
        json!({"type": "ask_async_ok", "ok": true, "in_reply_to": 7})
    );

    t.deliver("c1", json!({"type": "ask_async", "msg_id": 8}));
    let out = t.advance(300);
    assert_eq!(
        out[0].body,
        json!({"type": "ask_async_ok", "ok": false, "in_reply_to": 8})
    );
}

#[test]
fn kv_client_reads_then_compare_and_sets() {
    let mut t = start();
    let out = t.deliver("c1", json!({"type": "kv_incr", "msg_id": 1}));
    assert_eq!(out[0].dest, "seq-kv");
    assert_eq!(out[0].body["type"], "read");
    let id = out[0].body["msg_id"].as_u64().unwrap();
    let out = t.deliver(
        "seq-kv",
        json!({"type": "error", "code": 20, "in_reply_to": id}),
    );
    assert_eq!(out[0].body["type"], "cas");
    assert_eq!(out[0].body["from"], 0);
    assert_eq!(out[0].body["to"], 1);
    assert_eq!(out[0].body["create_if_not_exists"], true);
    let id = out[0].body["msg_id"].as_u64().unwrap();
    let out = t.deliver("seq-kv", json!({"type": "cas_ok", "in_reply_to": id}));
    assert_eq!(
        out[0].body,
        json!({"type": "kv_incr_ok", "read": 0, "ok": true, "in_reply_to": 1})
    );
}

#[test]
fn periodic_timers_fire_every_period() {
    let mut t = start();
    t.advance(1000);
    let out = t.deliver("c1", json!({"type": "ticks", "msg_id": 1}));
    assert_eq!(out[0].body["ticks"], 10);
}

#[test]
fn errors_unknown_types_and_bad_bodies_get_maelstrom_codes() {
    let mut t = start();
    let out = t.deliver("c1", json!({"type": "fail", "msg_id": 1}));
    assert_eq!(
        (
            out[0].body["code"].as_u64(),
            out[0].body["in_reply_to"].as_u64()
        ),
        (Some(30), Some(1))
    );
    let out = t.deliver("c1", json!({"type": "what", "msg_id": 2}));
    assert_eq!(out[0].body["code"], 10);
    let out = t.deliver("c1", json!({"type": "typed", "n": "x", "msg_id": 3}));
    assert_eq!(out[0].body["code"], 12);
    let out = t.deliver("c1", json!({"type": "typed", "n": 4, "msg_id": 4}));
    assert_eq!(out[0].body["n"], 4);
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Family {
    Ping { n: u32 },
    Stop,
}

#[test]
fn a_tagged_enum_handles_a_message_family() {
    let build = || {
        Node::new(0u32).on_any(|count, ctx, req: Request<Family>| match req.body {
            Family::Ping { n } => {
                *count += n;
                ctx.reply(&req, json!({"type": "pong", "total": *count}))
            }
            Family::Stop => ctx.reply(&req, json!({"type": "stop_ok"})),
        })
    };
    let mut t = TestNode::start(build, "n1", &["n1"]);
    assert_eq!(
        t.deliver("c1", json!({"type": "ping", "n": 2, "msg_id": 1}))[0].body["total"],
        2
    );
    assert_eq!(
        t.deliver("c1", json!({"type": "stop", "msg_id": 2}))[0].body["type"],
        "stop_ok"
    );
    assert_eq!(
        t.deliver("c1", json!({"type": "jump", "msg_id": 3}))[0].body["code"],
        10
    );
    assert_eq!(
        t.deliver("c1", json!({"type": "ping", "msg_id": 4}))[0].body["code"],
        12
    );
}

#[test]
fn a_periodic_timer_can_cancel_itself() {
    let build = || {
        Node::new((0u32, None::<glomers::TimerId>))
            .on_init(|s, ctx| {
                s.1 = Some(ctx.every(Duration::from_millis(10), |s, ctx| {
                    s.0 += 1;
                    if s.0 == 3 {
                        if let Some(id) = s.1 {
                            ctx.cancel(id);
                        }
                    }
                }));
            })
            .on("n", |s, ctx, req: Request<Value>| {
                ctx.reply(&req, json!({"type": "n_ok", "n": s.0}))
            })
    };
    let mut t = TestNode::start(build, "n1", &["n1"]);
    t.advance(100);
    assert_eq!(
        t.deliver("c1", json!({"type": "n", "msg_id": 1}))[0].body["n"],
        3
    );
}
