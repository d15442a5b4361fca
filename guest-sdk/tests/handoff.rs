//! State handoff across a live swap, natively: what travels (the state, ids, the
//! periodic work) and what does not (RPC callbacks, the old version's timers).

use glomers::prelude::*;
use glomers::testing::TestNode;

#[derive(Serialize, Deserialize, Default)]
struct V1 {
    count: u64,
}

#[derive(Serialize, Deserialize, Default)]
struct V2 {
    count: u64,
    /// New in this version: absent from a V1 snapshot.
    #[serde(default)]
    label: String,
    #[serde(default)]
    ticks: u64,
}

fn v1() -> Node<V1> {
    Node::new(V1::default())
        .handoff()
        .on("add", |s, ctx, req: Request<Value>| {
            s.count += req.body["n"].as_u64().unwrap_or(0);
            ctx.reply(&req, json!({"type": "add_ok"}))
        })
        .on("ask", |_, ctx, req: Request<Value>| {
            ctx.rpc(
                "n2",
                json!({"type": "question"}),
                Duration::from_secs(5),
                |s, _, _| {
                    s.count += 1000;
                },
            )?;
            ctx.reply(&req, json!({"type": "ask_ok"}))
        })
        .every(Duration::from_millis(100), |_, ctx| {
            let _ = ctx.send("n2", json!({"type": "v1_tick"}));
        })
}

fn v2() -> Node<V2> {
    Node::new(V2 {
        label: "fresh".into(),
        ..Default::default()
    })
    .handoff()
    .on("read", |s, ctx, req: Request<Value>| {
        ctx.reply(
            &req,
            json!({"type": "read_ok", "count": s.count, "label": s.label, "ticks": s.ticks}),
        )
    })
    .every(Duration::from_millis(100), |s, ctx| {
        s.ticks += 1;
        let _ = ctx.send("n2", json!({"type": "v2_tick"}));
    })
    .on_restore(|s, _| s.label = "restored".into())
}

fn v2_without_handoff() -> Node<V2> {
    Node::new(V2::default())
}

#[test]
fn state_carries_over_to_a_version_whose_state_gained_a_defaulted_field() {
    let mut t = TestNode::start(v1, "n1", &["n1", "n2"]);
    t.deliver("c1", json!({"type": "add", "n": 5, "msg_id": 1}));
    t.deliver("c1", json!({"type": "add", "n": 7, "msg_id": 2}));
    // An RPC in flight across the swap: its callback does not travel.
    let asked = t.deliver("c1", json!({"type": "ask", "msg_id": 3}));
    let question = asked.iter().find(|m| m.dest == "n2").unwrap();
    let question_id = question.body["msg_id"].as_u64().unwrap();
    t.upgrade(v2).unwrap();
    // The reply reaches the new version, which has nobody waiting: ignored.
    let out = t.deliver(
        "n2",
        json!({"type": "question_ok", "in_reply_to": question_id}),
    );
    assert!(out.is_empty(), "{out:?}");
    let r = t.deliver("c1", json!({"type": "read", "msg_id": 4}));
    assert_eq!(r[0].body["count"], 12, "{:?}", r[0]);
    assert_eq!(r[0].body["label"], "restored");
    // The new version's periodic work is armed; the old version's timer still fires
    // (the host owns it) but finds nothing to run in the new version.
    let ticks = t.advance(250);
    assert!(
        ticks.iter().all(|m| m.body["type"] != "v1_tick"),
        "{ticks:?}"
    );
    assert_eq!(
        ticks.iter().filter(|m| m.body["type"] == "v2_tick").count(),
        2,
        "{ticks:?}"
    );
    // The node kept its id: replies come from it, to the right client.
    let r = t.deliver("c1", json!({"type": "read", "msg_id": 5}));
    assert_eq!(r[0].body["ticks"], 2);
    assert_eq!(r[0].body["in_reply_to"], 5);
}

#[test]
fn a_version_without_handoff_refuses_the_state() {
    let mut t = TestNode::start(v1, "n1", &["n1"]);
    t.deliver("c1", json!({"type": "add", "n": 5, "msg_id": 1}));
    let why = t.upgrade(v2_without_handoff).unwrap_err();
    assert!(why.contains("handoff"), "{why}");
}

#[test]
fn an_old_version_without_handoff_has_nothing_to_hand_over() {
    let mut t = TestNode::start(v2_without_handoff, "n1", &["n1"]);
    assert!(t.upgrade(v2).is_err());
}

#[test]
fn a_state_of_another_shape_is_refused_with_a_reason() {
    #[derive(Serialize, Deserialize, Default)]
    struct Other {
        count: String,
    }
    let mut t = TestNode::start(v1, "n1", &["n1"]);
    let why = t
        .upgrade(|| Node::new(Other::default()).handoff())
        .unwrap_err();
    assert!(why.contains("does not decode"), "{why}");
}
