"""Native tests of the Python challenges, through the SDK's test double (no wasm).

The handoff tests restore snapshots laid out exactly as the Rust challenges write them
(docs/handoff.md), and check that the Python nodes write the same shape.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

import broadcast
import echo
import g_counter
import kafka
import unique_ids
from glomers.testing import Sent, TestNode


def ids(n: int) -> List[str]:
    return [f"n{i}" for i in range(n)]


def envelope(node_id: str, node_ids: List[str], state: Any, msg: int = 10, timer: int = 20) -> bytes:
    return json.dumps({"glomers_snapshot": 1, "node_id": node_id, "node_ids": node_ids,
                       "next_msg_id": msg, "next_timer_id": timer, "state": state}).encode()


# --- echo, unique-ids -----------------------------------------------------------------


def test_echo_echoes_and_refuses_what_it_does_not_know():
    t = TestNode.start(echo.build, "n1", ["n1"])
    out = t.deliver("c1", {"type": "echo", "echo": "hi", "msg_id": 4})
    assert out == [Sent("c1", {"type": "echo_ok", "echo": "hi", "in_reply_to": 4})]
    assert t.deliver("c1", {"type": "frobnicate", "msg_id": 5})[0].body["code"] == 10
    assert t.deliver("c1", {"type": "echo", "msg_id": 6})[0].body["code"] == 12


def test_unique_ids_are_unique_across_nodes_and_restarts():
    seen = set()
    for node in ["n1", "n2", "n1"]:
        t = TestNode.start(unique_ids.build, node, ["n1", "n2"])
        for i in range(1000):
            out = t.deliver("c1", {"type": "generate", "msg_id": i})
            assert len(out) == 1 and out[0].body["type"] == "generate_ok"
            seen.add(out[0].body["id"])
        assert t.advance(10_000) == []
    assert len(seen) == 3000


def test_unique_ids_have_the_rust_layout():
    t = TestNode.start(unique_ids.build, "n3", ["n3"])
    node_part, boot, n = t.deliver("c1", {"type": "generate", "msg_id": 1})[0].body["id"].split("-")
    assert node_part == "n3" and int(boot, 16) >= 0 and n == "1"


# --- broadcast ------------------------------------------------------------------------


def bnode(args: List[str] = ()):
    return lambda: broadcast.node_with(broadcast.Config.from_args(broadcast.glomers.Args(list(args))))


def test_single_node_reads_what_was_broadcast():
    t = TestNode.start(bnode(), "n0", ["n0"])
    out = t.deliver("c1", {"type": "topology", "topology": {"n0": []}, "msg_id": 1})
    assert out[0].body["type"] == "topology_ok"
    for i, v in enumerate([3, 1, 3, 2]):
        out = t.deliver("c1", {"type": "broadcast", "message": v, "msg_id": 10 + i})
        assert len(out) == 1 and out[0].body["type"] == "broadcast_ok"
    assert t.deliver("c1", {"type": "read", "msg_id": 20})[0].body["messages"] == [3, 1, 2]
    assert t.advance(60_000) == []


def test_a_leaf_sends_up_to_the_hub_and_the_hub_batches_down():
    leaf = TestNode.start(bnode(), "n2", ids(4))
    out = leaf.deliver("c1", {"type": "broadcast", "message": 7, "msg_id": 1})
    up = [s for s in out if s.dest == "n0"]
    assert len(up) == 1
    assert up[0].body == {"type": "gossip", "seq": 0, "up": [7]}
    hub = TestNode.start(bnode(), "n0", ids(4))
    assert hub.deliver("n2", up[0].body) == []
    out = hub.advance(100)
    assert sorted(s.dest for s in out) == ["n1", "n3"]
    assert all(s.body["down"] == [7] for s in out)
    out = hub.advance(1000)
    assert len(out) == 1 and out[0].dest == "n2"
    assert out[0].body == {"type": "gossip", "acks": [0]}


def test_malformed_gossip_is_refused_not_crashed():
    t = TestNode.start(bnode(), "n0", ["n0", "n1"])
    out = t.deliver("n1", {"type": "gossip", "up": "nope", "msg_id": 3})
    assert out[0].body["code"] == 12


def test_arguments_are_parsed_like_rust():
    a = broadcast.glomers.Args(["--", "--down-ms=250", "--hubs", "0", "--rto-ms", "soon", "stray",
                                "--frob", "1", "--up-ms", "5"])
    c = broadcast.Config.from_args(a)
    assert (c.down_ms, c.hubs, c.rto_ms, c.up_ms) == (250, 1, 2000, 5)
    assert len(a.finish()) == 4
    c = broadcast.Config.from_args(broadcast.glomers.Args(["--batch-ms", "300"]))
    assert c.down_ms == 300


def test_a_hub_batch_sets_the_uplink_phase():
    cfg = broadcast.Config.from_args(broadcast.glomers.Args("--up-ms 800 --down-ms 800 --lead-ms 250".split()))
    leaf = broadcast.Core(cfg, "n1", ids(3))
    assert leaf.start() == [("arm_up", 800)]
    assert len(leaf.broadcast(1)) == 1
    outs = leaf.receive("n0", broadcast.Gossip(seq=0, down=[2]))
    assert outs == [("arm_up", 550)]
    assert leaf.broadcast(3) == [] and leaf.broadcast(4) == []
    outs = leaf.flush_up()
    sends = [o for o in outs if o[0] == "send"]
    assert len(sends) == 1 and sends[0][2].up == [3, 4]
    assert ("arm_up", 800) in outs


def test_a_silent_hub_is_bypassed_until_heard_from():
    leaf = broadcast.Core(broadcast.Config(), "n2", ids(5))
    assert leaf.broadcast(1)[0][1] == "n0"
    outs = [o for _ in range(20) for o in leaf.tick()]
    assert [(o[1], o[2].up) for o in outs] == [("n1", [1])]
    assert leaf.broadcast(2)[0][1] == "n1"
    leaf.receive("n0", broadcast.Gossip(seq=0, down=[3]))
    assert leaf.broadcast(4)[0][1] == "n0"


# A broadcast snapshot as the Rust node writes it (serde_json of App), by hand.
RUST_BROADCAST_STATE: Dict[str, Any] = {
    "cfg": {"down_ms": 100, "up_ms": 0, "lead_ms": 0, "tick_ms": 100, "rto_ms": 2000, "ack_ms": 1000, "hubs": 3},
    "core": {
        "cfg": {"down_ms": 100, "up_ms": 0, "lead_ms": 0, "tick_ms": 100, "rto_ms": 2000, "ack_ms": 1000, "hubs": 3},
        "me": "n2",
        "hubs": ["n0", "n1", "n2"],
        "now": 300,
        "seen": [7, 5],
        "values": [5, 7],
        "links": {
            "n0": {"up": [], "down": [], "next_seq": 1,
                   "inflight": {"0": {"sent_at": 200, "up": [7], "down": []}},
                   "owed": [4], "owed_since": 250, "failures": 0},
            "n1": {"up": [], "down": [], "next_seq": 0, "inflight": {}, "owed": [],
                   "owed_since": None, "failures": 0},
            "n3": {"up": [], "down": [], "next_seq": 0, "inflight": {}, "owed": [],
                   "owed_since": None, "failures": 0},
        },
        "synced": False,
    },
}


def test_broadcast_restores_a_rust_snapshot_and_writes_the_same_shape():
    t = TestNode(bnode())
    t.restore(bnode(), envelope("n2", ids(4), RUST_BROADCAST_STATE))
    assert t.deliver("c1", {"type": "read", "msg_id": 1})[0].body["messages"] == [5, 7]
    snap = json.loads(t.snapshot())
    state = snap["state"]
    assert sorted(state["core"].pop("seen")) == [5, 7]
    expected = json.loads(json.dumps(RUST_BROADCAST_STATE))
    expected["core"].pop("seen")
    assert state == expected
    assert (snap["next_msg_id"], snap["next_timer_id"]) == (10, 22), "ids go on past the old ones"
    # The owed ack goes alone once overdue; the batch in flight, unacknowledged within
    # rto, goes up to the next hub instead, as the Rust node would do.
    resent = t.advance(2000)
    assert [(s.dest, s.body) for s in resent] == [
        ("n0", {"type": "gossip", "acks": [4]}),
        ("n1", {"type": "gossip", "seq": 0, "up": [7]}),
    ]


def test_values_and_batches_in_flight_cross_a_python_live_swap():
    leaf = TestNode.start(bnode(), "n2", ids(4))
    out = leaf.deliver("c1", {"type": "broadcast", "message": 7, "msg_id": 1})
    assert any(s.dest == "n0" for s in out)
    leaf.upgrade(bnode())
    assert leaf.deliver("c1", {"type": "read", "msg_id": 2})[0].body["messages"] == [7]
    resent = leaf.advance(10_000)
    assert any(s.dest.startswith("n") and s.body.get("up") == [7] for s in resent), resent


# --- g-counter ------------------------------------------------------------------------


def kv_request(out: List[Sent], kind: str) -> Dict[str, Any]:
    assert len(out) == 1, out
    assert out[0].dest == "seq-kv" and out[0].body["type"] == kind, out
    return out[0].body


def answer(t: TestNode, req: Dict[str, Any], body: Dict[str, Any]) -> List[Sent]:
    return t.deliver("seq-kv", {**body, "in_reply_to": req["msg_id"]})


def test_an_add_is_acknowledged_only_once_its_key_holds_it():
    t = TestNode.start(g_counter.build, "n0", ids(3))
    read = kv_request(t.deliver("c1", {"type": "add", "delta": 3, "msg_id": 1}), "read")
    assert read["key"] == "count-n0"
    cas = kv_request(answer(t, read, {"type": "error", "code": 20}), "cas")
    assert cas["from"] == [0, ""] and cas["to"][0] == 3 and cas["create_if_not_exists"] is True
    out = answer(t, cas, {"type": "cas_ok"})
    assert [s.body for s in out] == [{"type": "add_ok", "in_reply_to": 1}]
    nxt = kv_request(t.deliver("c1", {"type": "add", "delta": 4, "msg_id": 2}), "cas")
    assert nxt["from"] == cas["to"] and nxt["to"][0] == 7 and nxt["to"][1] != cas["to"][1]


def test_adds_during_a_cas_share_the_next_and_a_timeout_is_recognised():
    t = TestNode.start(g_counter.build, "n0", ids(3))
    read = kv_request(t.deliver("c1", {"type": "add", "delta": 1, "msg_id": 1}), "read")
    first = kv_request(answer(t, read, {"type": "error", "code": 20}), "cas")
    assert t.deliver("c1", {"type": "add", "delta": 2, "msg_id": 2}) == []
    assert t.deliver("c1", {"type": "add", "delta": 4, "msg_id": 3}) == []
    out = answer(t, first, {"type": "cas_ok"})
    assert [s.body["in_reply_to"] for s in out if s.dest == "c1"] == [1]
    second = kv_request([s for s in out if s.dest == "seq-kv"], "cas")
    assert second["to"][0] == 7
    # The cas times out (it did happen): the key is read back and shows our tag.
    out = t.advance(1050)
    read = kv_request(out, "read")
    out = answer(t, read, {"type": "read_ok", "value": second["to"]})
    assert sorted(s.body["in_reply_to"] for s in out) == [2, 3]


def test_a_negative_delta_is_malformed():
    t = TestNode.start(g_counter.build, "n0", ids(1))
    assert t.deliver("c1", {"type": "add", "delta": -1, "msg_id": 1})[0].body["code"] == 12


def test_a_read_writes_the_barrier_then_reads_every_key():
    t = TestNode.start(g_counter.build, "n0", ids(2))
    w = kv_request(t.deliver("c1", {"type": "read", "msg_id": 1}), "write")
    assert w["key"] == "barrier-n0"
    r0 = kv_request(answer(t, w, {"type": "write_ok"}), "read")
    assert r0["key"] == "count-n0"
    r1 = kv_request(answer(t, r0, {"type": "read_ok", "value": [2, "x"]}), "read")
    assert r1["key"] == "count-n1"
    out = answer(t, r1, {"type": "read_ok", "value": [5, "y"]})
    assert out[0].body == {"type": "read_ok", "value": 7, "in_reply_to": 1}


RUST_COUNTER_STATE = {
    "boot": 18446744073709551557,
    "next_tag": 5,
    "mine": [7, "n0-fffffffffffffffc5-5"],
    "unflushed": 2,
    "adds": [{"src": "c4", "msg_id": 12, "body": {"delta": 2}}],
    "flushing": True,
    "seen": {"n0": 7, "n1": 3},
    "reads": [{"src": "c2", "msg_id": 9, "body": {"type": "read", "msg_id": 9}}],
    "refreshing": True,
}


def test_g_counter_restores_a_rust_snapshot_resumes_and_writes_the_same_shape():
    t = TestNode(g_counter.build)
    out = t.restore(g_counter.build, envelope("n0", ids(2), RUST_COUNTER_STATE))
    snap = json.loads(t.snapshot())
    # Straight after restore: own key forgotten (read back first), tasks resumed.
    assert snap["state"]["boot"] == RUST_COUNTER_STATE["boot"], "a u64 kept exact"
    assert set(snap["state"]) == set(RUST_COUNTER_STATE)
    assert snap["state"]["adds"] == RUST_COUNTER_STATE["adds"] or snap["state"]["adds"] == []
    kinds = sorted(s.body["type"] for s in out)
    assert kinds == ["read", "write"], out
    read = next(s.body for s in out if s.body["type"] == "read")
    assert read["key"] == "count-n0"
    cas = kv_request(answer(t, read, {"type": "read_ok", "value": [7, "old"]}), "cas")
    assert cas["from"] == [7, "old"] and cas["to"][0] == 9
    assert cas["to"][1].startswith("n0-ffffffffffffffc5-")
    out = answer(t, cas, {"type": "cas_ok"})
    assert [s.body for s in out if s.dest == "c4"] == [{"type": "add_ok", "in_reply_to": 12}]


def test_g_counter_state_has_the_rust_shape_before_a_swap():
    t = TestNode.start(g_counter.build, "n0", ids(2))
    t.deliver("c1", {"type": "add", "delta": 5, "msg_id": 1})
    t.deliver("c2", {"type": "read", "msg_id": 2})
    state = json.loads(t.snapshot())["state"]
    assert list(state) == list(RUST_COUNTER_STATE)
    assert state["adds"] == [] and state["unflushed"] == 0 and state["flushing"] is True
    t.deliver("c1", {"type": "add", "delta": 4, "msg_id": 3})
    state = json.loads(t.snapshot())["state"]
    assert state["adds"] == [{"src": "c1", "msg_id": 3, "body": {"delta": 4}}]
    assert state["unflushed"] == 4 and state["mine"] is None


# --- kafka ----------------------------------------------------------------------------


def one(out: List[Sent]) -> Dict[str, Any]:
    assert len(out) == 1, out
    return out[0].body


def test_owner_is_fnv1a_like_rust():
    # FNV-1a 64 of "" is the offset basis; of "a" the published test vector.
    assert kafka.owner("", ["a", "b", "c"]) == ["a", "b", "c"][0xCBF29CE484222325 % 3]
    assert kafka.owner("a", ["x"] * 1) == "x"
    h = 0xAF63DC4C8601EC8C  # FNV-1a 64 of "a"
    assert kafka.owner("a", ids(7)) == ids(7)[h % 7]


def test_a_single_node_hands_out_offsets_and_polls():
    t = TestNode.start(kafka.build, "n0", ["n0"])
    for i, m in enumerate([10, 11, 12]):
        assert one(t.deliver("c1", {"type": "send", "key": "k", "msg": m, "msg_id": i + 1}))["offset"] == i
    out = t.deliver("c1", {"type": "poll", "offsets": {"k": 1, "other": 0}, "msg_id": 9})
    assert one(out)["msgs"] == {"k": [[1, 11], [2, 12]]}
    for mid, o in [(10, 5), (11, 3)]:
        assert one(t.deliver("c1", {"type": "commit_offsets", "offsets": {"k": o}, "msg_id": mid}))["type"] == "commit_offsets_ok"
    out = t.deliver("c1", {"type": "list_committed_offsets", "keys": ["k", "x"], "msg_id": 12})
    assert one(out)["offsets"] == {"k": 5}


def test_requests_for_another_owners_key_are_forwarded():
    names = ["n0", "n1"]
    key = next(str(i) for i in range(100) if kafka.owner(str(i), names) == "n1")
    mine = next(str(i) for i in range(100) if kafka.owner(str(i), names) == "n0")
    t = TestNode.start(kafka.build, "n0", names)
    out = t.deliver("c1", {"type": "send", "key": key, "msg": 7, "msg_id": 1})
    assert len(out) == 1 and out[0].dest == "n1"
    fwd = out[0].body
    assert (fwd["type"], fwd["key"], fwd["msg"]) == ("send", key, 7)
    out = t.deliver("n1", {"type": "send_ok", "offset": 4, "in_reply_to": fwd["msg_id"]})
    assert out[0].dest == "c1" and out[0].body == {"type": "send_ok", "offset": 4, "in_reply_to": 1}
    t.deliver("c1", {"type": "send", "key": mine, "msg": 8, "msg_id": 2})
    out = t.deliver("c1", {"type": "poll", "offsets": {key: 0, mine: 0}, "msg_id": 3})
    assert out[0].dest == "n1" and out[0].body["offsets"] == {key: 0}
    out = t.deliver("n1", {"type": "poll_ok", "msgs": {key: [[4, 7]]}, "in_reply_to": out[0].body["msg_id"]})
    assert one(out)["msgs"] == {key: [[4, 7]], mine: [[0, 8]]}
    # A forward that gets no answer is a timeout (indefinite: the owner may have it).
    t.deliver("c1", {"type": "send", "key": key, "msg": 9, "msg_id": 4})
    out = t.advance(1000)
    assert one(out)["code"] == 0 and out[0].body["in_reply_to"] == 4


def test_kafka_restores_a_rust_snapshot_and_writes_the_same_shape():
    state = {"logs": {"k": [10, 11]}, "committed": {"k": 1}}
    t = TestNode(kafka.build)
    t.restore(kafka.build, envelope("n0", ["n0"], state))
    assert one(t.deliver("c1", {"type": "send", "key": "k", "msg": 12, "msg_id": 4}))["offset"] == 2
    assert one(t.deliver("c1", {"type": "poll", "offsets": {"k": 0}, "msg_id": 5}))["msgs"] == {"k": [[0, 10], [1, 11], [2, 12]]}
    assert one(t.deliver("c1", {"type": "list_committed_offsets", "keys": ["k"], "msg_id": 6}))["offsets"] == {"k": 1}
    assert json.loads(t.snapshot())["state"] == {"logs": {"k": [10, 11, 12]}, "committed": {"k": 1}}


def test_lin_kv_send_reads_the_log_then_appends_by_cas():
    t = TestNode.start(kafka.build, "n0", ["n0", "n1"], args=["--lin-kv"])
    out = t.deliver("c1", {"type": "send", "key": "k", "msg": 9, "msg_id": 1})
    assert (out[0].dest, out[0].body["type"], out[0].body["key"]) == ("lin-kv", "read", "log-k")
    out = t.deliver("lin-kv", {"type": "read_ok", "value": [5, 6], "in_reply_to": out[0].body["msg_id"]})
    assert out[0].body["type"] == "cas"
    assert (out[0].body["from"], out[0].body["to"]) == ([5, 6], [5, 6, 9])
    out = t.deliver("lin-kv", {"type": "cas_ok", "in_reply_to": out[0].body["msg_id"]})
    assert out[0].dest == "c1" and out[0].body == {"type": "send_ok", "offset": 2, "in_reply_to": 1}
    # Its snapshot carries no state (Rust's `()`), and it takes Rust's null.
    assert json.loads(t.snapshot())["state"] is None
    t.restore(kafka.build, envelope("n0", ["n0", "n1"], None), args=["--lin-kv"])
    out = t.deliver("c1", {"type": "list_committed_offsets", "keys": ["k"], "msg_id": 2})
    assert out[0].dest == "lin-kv" and out[0].body["key"] == "committed-k"
    assert out[0].body["msg_id"] == 11


def test_lin_kv_commit_creates_then_raises():
    t = TestNode.start(kafka.build, "n0", ["n0"], args=["--lin-kv"])
    out = t.deliver("c1", {"type": "commit_offsets", "offsets": {"k": 3}, "msg_id": 1})
    out = t.deliver("lin-kv", {"type": "error", "code": 20, "in_reply_to": out[0].body["msg_id"]})
    cas = out[0].body
    assert (cas["key"], cas["from"], cas["to"], cas["create_if_not_exists"]) == ("committed-k", -1, 3, True)
    out = t.deliver("lin-kv", {"type": "cas_ok", "in_reply_to": cas["msg_id"]})
    assert out[0].body == {"type": "commit_offsets_ok", "in_reply_to": 1}
