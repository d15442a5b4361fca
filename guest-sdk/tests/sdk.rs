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
        .on_async("ask_async", |_, ctx, _: Request<Value>| async move {
            let r = ctx
                .call(
                    "n2",
                    json!({"type": "question"}),
                    Duration::from_millis(300),
                )
                .await;
            Ok(json!({"type": "ask_async_ok", "ok": r.is_ok()}))
        })
        .on_async("kv_incr", |_, ctx, _: Request<Value>| async move {
            let kv = Kv::seq(&ctx);
            let v: i64 = kv.read_or("k", 0).await.unwrap_or(-1);
            let ok = kv.cas("k", v, v + 1, true).await.is_ok();
            Ok(json!({"type": "kv_incr_ok", "read": v, "ok": ok}))
        })
        .on_async("relay", |_, ctx, req: Request<Value>| async move {
            // The reply is the answer's `n`; an error reply from n2 is this one's.
            let r = ctx
                .call("n2", json!({"type": "question"}), Duration::from_secs(1))
                .await?;
            let n = r.body["n"].as_u64().ok_or_else(|| Error::crash("no n"))?;
            Ok(Relayed::RelayOk { n, from: req.src })
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

/// A typed reply: an enum whose variants are tagged by `type`.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Relayed {
    RelayOk { n: u64, from: String },
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

#[test]
fn an_async_handlers_ok_is_the_reply_and_its_err_the_error_reply() {
    let mut t = start();
    let out = t.deliver("c1", json!({"type": "relay", "msg_id": 5}));
    let id = out[0].body["msg_id"].as_u64().unwrap();
    let out = t.deliver("n2", json!({"type": "answer", "n": 8, "in_reply_to": id}));
    assert_eq!(
        out[0].body,
        json!({"type": "relay_ok", "n": 8, "from": "c1", "in_reply_to": 5})
    );
    assert_eq!(out[0].dest, "c1");

    let out = t.deliver("c1", json!({"type": "relay", "msg_id": 6}));
    let id = out[0].body["msg_id"].as_u64().unwrap();
    let out = t.deliver(
        "n2",
        json!({"type": "error", "code": 22, "text": "no", "in_reply_to": id}),
    );
    assert_eq!(
        out[0].body,
        json!({"type": "error", "code": 22, "text": "no", "in_reply_to": 6})
    );

    t.deliver("c1", json!({"type": "relay", "msg_id": 7}));
    let out = t.advance(1000);
    assert_eq!(
        (&out[0].body["code"], &out[0].body["in_reply_to"]),
        (&json!(0), &json!(7))
    );
}

fn first_send(out: &[glomers::native::Effect]) -> Option<(String, String)> {
    out.iter().find_map(|e| match e {
        glomers::native::Effect::Send { dest, body } => Some((dest.clone(), body.clone())),
        _ => None,
    })
}

#[test]
fn many_nodes_live_on_one_thread_each_with_its_own_ids_rpcs_and_timers() {
    use glomers::native::{Effect, NativeNode};
    let init = |me: &str| {
        json!({"type": "init", "msg_id": 1, "node_id": me, "node_ids": ["n1", "n2"]}).to_string()
    };
    let mut a = NativeNode::new(node, &[] as &[&str], 1);
    let mut b = NativeNode::new(node, &[] as &[&str], 2);
    let mut out = Vec::new();
    a.on_message("c0", &init("n1"), &mut out);
    b.on_message("c0", &init("n2"), &mut out);
    out.clear();
    // n1 asks n2 (whose "question" handler does not exist: error 10 comes back).
    a.on_message("c1", r#"{"type":"relay","msg_id":3}"#, &mut out);
    let Some((dest, body)) = first_send(&out) else {
        panic!("{out:?}")
    };
    assert_eq!(dest, "n2");
    out.clear();
    b.on_message("n1", &body, &mut out);
    let Some((dest, body)) = first_send(&out) else {
        panic!("{out:?}")
    };
    assert_eq!(dest, "n1");
    assert!(body.contains(r#""code":10"#), "{body}");
    out.clear();
    a.on_message("n2", &body, &mut out);
    let sent = first_send(&out).expect("a reply to c1");
    assert_eq!(sent.0, "c1");
    assert!(sent.1.contains(r#""code":10"#), "{out:?}");
    assert!(
        out.contains(&Effect::CancelTimer { id: 2 }),
        "the answered RPC's timeout timer is cancelled: {out:?}"
    );
    // Both armed their own periodic timer, with their own ids.
    let mut timers = Vec::new();
    NativeNode::new(node, &[] as &[&str], 3).on_message("c0", &init("n1"), &mut timers);
    assert!(timers.iter().any(|e| matches!(
        e,
        Effect::SetTimer {
            id: 1,
            delay_ms: 100
        }
    )));
}

/// A node that reports its random numbers and arguments.
fn reporter() -> Node<Vec<u64>> {
    let drawn_at_start = vec![glomers::random_u64()];
    Node::new(drawn_at_start).on("report", |s, ctx, req: Request<Value>| {
        s.push(glomers::random_u64());
        ctx.reply(
            &req,
            json!({"type": "report_ok", "random": s, "args": glomers::args()}),
        )
    })
}

fn report(seed: u64, args: &[&str]) -> Value {
    let mut t = TestNode::with_args(reporter, args, seed).init("n1", &["n1"]);
    t.deliver("c1", json!({"type": "report", "msg_id": 1}))
        .remove(0)
        .body
}

#[test]
fn random_numbers_come_from_the_nodes_seed_and_arguments_from_the_node() {
    let a = report(7, &["--x", "1"]);
    assert_eq!(a, report(7, &["--x", "1"]), "a seed replays exactly");
    assert_ne!(a["random"], report(8, &[])["random"]);
    assert_eq!(a["args"], json!(["--x", "1"]));
    assert_ne!(a["random"][0], a["random"][1]);
}

#[test]
fn an_on_any_enum_reads_unknown_types_from_its_variants_not_from_error_text() {
    // A variant whose body fails with serde's "unknown variant" text inside a known
    // type must still be malformed (12), not unsupported (10).
    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Fast,
    }
    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Cmd {
        Set { mode: Mode },
    }
    let build = || {
        Node::new(()).on_any(|_, ctx, req: Request<Cmd>| match req.body {
            Cmd::Set { mode: Mode::Fast } => ctx.reply(&req, json!({"type": "set_ok"})),
        })
    };
    let mut t = TestNode::start(build, "n1", &["n1"]);
    let code = |t: &mut TestNode, body: Value| t.deliver("c1", body)[0].body["code"].clone();
    assert_eq!(
        code(&mut t, json!({"type": "set", "mode": "slow", "msg_id": 1})),
        12
    );
    assert_eq!(code(&mut t, json!({"type": "get", "msg_id": 2})), 10);
    assert_eq!(
        t.deliver("c1", json!({"type": "set", "mode": "fast", "msg_id": 3}))[0].body["type"],
        "set_ok"
    );
}
