"""The SDK's native tests: a node driven through the test double of the host."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import pytest

import glomers
from glomers import Args, Error, LinKV, Node, SeqKV, errors
from glomers.testing import TestNode


def echo_node() -> Node:
    node = Node()

    @node.handler
    def echo(req):
        node.reply(req, {"type": "echo_ok", "echo": req.body["echo"]})

    return node


def test_init_is_answered_by_the_sdk_and_echo_replies():
    t = TestNode(echo_node)
    out = t.deliver("c0", {"type": "init", "msg_id": 7, "node_id": "n1", "node_ids": ["n1", "n2"]})
    assert out[0].dest == "c0"
    assert out[0].body == {"type": "init_ok", "in_reply_to": 7}
    assert t.node.node_id == "n1" and t.node.peers == ["n2"]
    out = t.deliver("c1", {"type": "echo", "echo": "hi", "msg_id": 4})
    assert out == [glomers.testing.Sent("c1", {"type": "echo_ok", "echo": "hi", "in_reply_to": 4})]


def test_unknown_types_get_not_supported():
    t = TestNode.start(echo_node, "n1", ["n1"])
    out = t.deliver("c1", {"type": "frobnicate", "msg_id": 5})
    assert out[0].body["type"] == "error"
    assert out[0].body["code"] == errors.NOT_SUPPORTED
    assert out[0].body["in_reply_to"] == 5


def test_bodies_that_are_not_objects_are_dropped():
    t = TestNode.start(echo_node, "n1", ["n1"])
    assert t.deliver_text("c1", "[1, 2]") == []
    assert t.deliver_text("c1", "not json") == []
    assert t.deliver_text("c1", '{"type": "echo", "msg_id": "x"}') == []


@dataclass
class Add:
    delta: int
    note: Optional[str] = None

    def __post_init__(self) -> None:
        if self.delta < 0:
            raise ValueError("delta must not be negative")


def typed_node() -> Node:
    node = Node()

    @node.on("add", body=Add)
    def add(req):
        return {"type": "add_ok", "delta": req.body.delta}

    return node


def test_bodies_decode_into_dataclasses_or_get_malformed_request():
    t = TestNode.start(typed_node, "n1", ["n1"])
    out = t.deliver("c1", {"type": "add", "delta": 3, "extra": True, "msg_id": 1})
    assert out[0].body == {"type": "add_ok", "delta": 3, "in_reply_to": 1}
    for bad in ({}, {"delta": "3"}, {"delta": 1.5}, {"delta": True}, {"delta": -1}, {"delta": 1, "note": 3}):
        out = t.deliver("c1", {"type": "add", "msg_id": 2, **bad})
        assert out[0].body["code"] == errors.MALFORMED_REQUEST, bad
        assert out[0].body["in_reply_to"] == 2


def raising_node() -> Node:
    node = Node()

    @node.handler
    def refuse(req):
        raise Error.key_does_not_exist("no such key")

    @node.handler
    def crash(req):
        raise RuntimeError("a bug")

    @node.handler
    async def crash_later(req):
        await node.sleep(10)
        raise KeyError("a bug after an await")

    @node.handler
    def quiet(req):
        raise Error.abort("nobody to tell")

    return node


def test_a_raised_maelstrom_error_is_the_error_reply():
    t = TestNode.start(raising_node, "n1", ["n1"])
    out = t.deliver("c1", {"type": "refuse", "msg_id": 3})
    assert out[0].body == {"type": "error", "code": 20, "text": "no such key", "in_reply_to": 3}
    # Without a msg_id there is nobody to answer: logged only.
    assert t.deliver("c1", {"type": "quiet"}) == []


def test_any_other_exception_escapes_so_the_component_traps():
    t = TestNode.start(raising_node, "n1", ["n1"])
    with pytest.raises(RuntimeError):
        t.deliver("c1", {"type": "crash", "msg_id": 3})
    t = TestNode.start(raising_node, "n1", ["n1"])
    assert t.deliver("c1", {"type": "crash_later", "msg_id": 3}) == []
    with pytest.raises(KeyError):
        t.advance(10)


def asking_node() -> Node:
    node = Node()

    @node.handler
    async def ask(req):
        r = await node.call("n2", {"type": "question"}, timeout_ms=500)
        return {"type": "ask_ok", "answer": r.body["answer"]}

    @node.handler
    def ask_cb(req):
        def done(r):
            if isinstance(r, Error):
                node.reply_error(req, r)
            else:
                node.reply(req, {"type": "ask_cb_ok", "answer": r.body["answer"], "from": r.src})

        node.rpc("n2", {"type": "question"}, done, timeout_ms=300)

    @node.handler
    async def fan(req):
        calls = [node.call(p, {"type": "question"}) for p in node.peers]
        answers = await glomers.gather(*calls)
        return {"type": "fan_ok", "answers": [a.body["answer"] for a in answers]}

    return node


def test_an_async_handler_awaits_a_call_and_returns_the_reply():
    t = TestNode.start(asking_node, "n1", ["n1", "n2"])
    out = t.deliver("c1", {"type": "ask", "msg_id": 1})
    assert len(out) == 1 and out[0].dest == "n2"
    q = out[0].body
    assert q["type"] == "question" and isinstance(q["msg_id"], int)
    out = t.deliver("n2", {"type": "question_ok", "answer": 42, "in_reply_to": q["msg_id"]})
    assert out[0].dest == "c1"
    assert out[0].body == {"type": "ask_ok", "answer": 42, "in_reply_to": 1}
    # The timeout timer was cancelled: nothing fires later.
    assert t.advance(10_000) == []
    # A duplicate reply finds nobody waiting.
    assert t.deliver("n2", {"type": "question_ok", "answer": 1, "in_reply_to": q["msg_id"]}) == []


def test_an_error_reply_raises_in_the_caller_and_becomes_its_error_reply():
    t = TestNode.start(asking_node, "n1", ["n1", "n2"])
    q = t.deliver("c1", {"type": "ask", "msg_id": 1})[0].body
    out = t.deliver("n2", {"type": "error", "code": 11, "text": "busy", "in_reply_to": q["msg_id"]})
    assert out[0].body == {"type": "error", "code": 11, "text": "busy", "in_reply_to": 1}


def test_a_missing_reply_is_a_timeout_after_the_given_time():
    t = TestNode.start(asking_node, "n1", ["n1", "n2"])
    t.deliver("c1", {"type": "ask", "msg_id": 1})
    assert t.advance(499) == []
    out = t.advance(1)
    assert out[0].body["code"] == errors.TIMEOUT and out[0].body["in_reply_to"] == 1
    # The callback style, with its own timeout.
    out = t.deliver("c1", {"type": "ask_cb", "msg_id": 2})
    q = out[0].body
    assert t.advance(299) == []
    out = t.advance(1)
    assert out[0].body["code"] == 0 and out[0].body["in_reply_to"] == 2
    # A late reply is dropped.
    assert t.deliver("n2", {"type": "question_ok", "answer": 1, "in_reply_to": q["msg_id"]}) == []


def test_rpc_callbacks_get_the_reply():
    t = TestNode.start(asking_node, "n1", ["n1", "n2"])
    q = t.deliver("c1", {"type": "ask_cb", "msg_id": 2})[0].body
    out = t.deliver("n2", {"type": "question_ok", "answer": "yes", "in_reply_to": q["msg_id"]})
    assert out[0].body == {"type": "ask_cb_ok", "answer": "yes", "from": "n2", "in_reply_to": 2}


def test_calls_are_in_flight_at_once_and_gathered():
    t = TestNode.start(asking_node, "n1", ["n1", "n2", "n3"])
    out = t.deliver("c1", {"type": "fan", "msg_id": 9})
    assert sorted(s.dest for s in out) == ["n2", "n3"]
    ids = {s.dest: s.body["msg_id"] for s in out}
    assert len(set(ids.values())) == 2
    assert t.deliver("n3", {"type": "question_ok", "answer": 3, "in_reply_to": ids["n3"]}) == []
    out = t.deliver("n2", {"type": "question_ok", "answer": 2, "in_reply_to": ids["n2"]})
    assert out[0].body == {"type": "fan_ok", "answers": [2, 3], "in_reply_to": 9}


def timer_node() -> Node:
    node = Node()
    log: List[Any] = []
    node.log = log  # type: ignore[attr-defined]
    node.every(100, lambda: log.append("tick"))

    @node.on_init
    def started():
        log.append("init")

    @node.handler
    def once(req):
        node.after(50, lambda: node.send("c9", {"type": "later"}))

    @node.handler
    def stop_after_two(req):
        count = [0]

        def fire():
            count[0] += 1
            node.send("c9", {"type": "beat", "n": count[0]})
            if count[0] == 2:
                node.cancel(tid)

        tid = node.every(30, fire)

    @node.handler
    def cancel_it(req):
        tid = node.after(10, lambda: node.send("c9", {"type": "never"}))
        node.cancel(tid)

    @node.handler
    async def nap(req):
        await node.sleep(70)
        return {"type": "nap_ok"}

    return node


def test_timers_after_every_cancel_and_sleep():
    t = TestNode.start(timer_node, "n1", ["n1"])
    log = t.node.log  # type: ignore[attr-defined]
    assert log == ["init"]
    t.advance(250)
    assert log == ["init", "tick", "tick"]
    assert t.deliver("c1", {"type": "once", "msg_id": 1}) == []
    out = t.advance(50)
    assert [s.body["type"] for s in out] == ["later"]
    t.deliver("c1", {"type": "stop_after_two", "msg_id": 2})
    out = [s for s in t.advance(200) if s.body["type"] == "beat"]
    assert [s.body["n"] for s in out] == [1, 2]
    t.deliver("c1", {"type": "cancel_it", "msg_id": 3})
    assert [s for s in t.advance(100) if s.body["type"] == "never"] == []
    assert t.deliver("c1", {"type": "nap", "msg_id": 4}) == []
    assert t.advance(69) == []
    assert t.advance(1)[0].body == {"type": "nap_ok", "in_reply_to": 4}
    # A timer id this version never handed out (an old version's) is ignored.
    assert t.fire(10_000) == []


def kv_node() -> Node:
    node = Node()

    @node.handler
    async def bump(req):
        kv = SeqKV(node)
        while True:
            now = await kv.read("counter", 0)
            try:
                await kv.cas("counter", now, now + 1, create_if_not_exists=True)
                return {"type": "bump_ok", "value": now + 1}
            except Error as e:
                if not glomers.is_retryable(e):
                    raise

    @node.handler
    async def get(req):
        return {"type": "get_ok", "value": await LinKV(node).read(req.body["key"])}

    return node


def test_kv_clients_speak_maelstroms_kv_protocol():
    t = TestNode.start(kv_node, "n1", ["n1"])
    out = t.deliver("c1", {"type": "bump", "msg_id": 1})
    read = out[0].body
    assert out[0].dest == "seq-kv" and read["type"] == "read" and read["key"] == "counter"
    out = t.deliver("seq-kv", {"type": "error", "code": 20, "in_reply_to": read["msg_id"]})
    cas = out[0].body
    assert {k: cas[k] for k in ("type", "key", "from", "to", "create_if_not_exists")} == {
        "type": "cas", "key": "counter", "from": 0, "to": 1, "create_if_not_exists": True}
    out = t.deliver("seq-kv", {"type": "error", "code": 22, "in_reply_to": cas["msg_id"]})
    read = out[0].body
    out = t.deliver("seq-kv", {"type": "read_ok", "value": 5, "in_reply_to": read["msg_id"]})
    cas = out[0].body
    assert (cas["from"], cas["to"]) == (5, 6)
    out = t.deliver("seq-kv", {"type": "cas_ok", "in_reply_to": cas["msg_id"]})
    assert out[0].body == {"type": "bump_ok", "value": 6, "in_reply_to": 1}
    out = t.deliver("c1", {"type": "get", "key": "k", "msg_id": 2})
    assert out[0].dest == "lin-kv"
    out = t.deliver("lin-kv", {"type": "error", "code": 20, "text": "nope", "in_reply_to": out[0].body["msg_id"]})
    assert out[0].body["code"] == 20 and out[0].body["in_reply_to"] == 2


def test_guest_arguments():
    a = Args(["--", "seq-kv", "--n=3", "--n", "4", "--on", "--m", "x"])
    assert a.value("--n") == 4
    assert a.flag("--on") and not a.flag("--off")
    assert a.value("--m", str) == "x"
    assert a.positional() == "seq-kv" and a.positional() is None
    assert a.finish() == []
    a = Args(["--n", "soon", "--k", "--stray", "word", "--neg", "-1"])
    assert a.value_or("--n", 7) == 7
    assert a.value("--k") is None
    assert a.value_or("--neg", 3) == 3
    problems = a.finish()
    assert len(problems) == 5, problems
    assert "--n 'soon'" in problems[0] and "--k needs a value" in problems[1]


def test_a_node_reads_its_arguments_from_the_host():
    def build() -> Node:
        node = Node()
        period = Args().value_or("--period-ms", 100)

        @node.handler
        def period_ms(req):
            return {"type": "period_ms_ok", "value": period}

        return node

    t = TestNode.start(build, "n1", ["n1"], args=["--period-ms", "250"])
    assert t.deliver("c1", {"type": "period_ms", "msg_id": 1})[0].body["value"] == 250


# --- handoff ------------------------------------------------------------------------


def counting_node() -> Node:
    node = Node()
    state: Dict[str, Any] = {"n": 0, "resumed": False}
    node.state = state  # type: ignore[attr-defined]

    def load(v: Any) -> None:
        if not isinstance(v, dict) or not isinstance(v.get("n"), int):
            raise ValueError(f"not a count: {v!r}")
        state["n"] = v["n"]

    node.handoff(lambda: {"n": state["n"]}, load)

    @node.on_restore
    def resumed():
        state["resumed"] = True

    @node.handler
    def add(req):
        state["n"] += 1
        return {"type": "add_ok"}

    @node.handler
    def read(req):
        return {"type": "read_ok", "n": state["n"], "resumed": state["resumed"]}

    @node.handler
    async def ask(req):
        await node.call("n2", {"type": "q"})
        return {"type": "ask_ok"}

    node.every(1000, lambda: None)
    return node


def test_snapshot_has_the_rust_sdks_envelope_and_ids_continue():
    t = TestNode.start(counting_node, "n1", ["n1", "n2"])
    t.deliver("c1", {"type": "add", "msg_id": 1})
    q = t.deliver("c1", {"type": "ask", "msg_id": 2})[0].body
    snap = json.loads(t.snapshot())
    assert snap == {
        "glomers_snapshot": 1,
        "node_id": "n1",
        "node_ids": ["n1", "n2"],
        "next_msg_id": q["msg_id"],
        "next_timer_id": snap["next_timer_id"],
        "state": {"n": 1},
    }
    assert snap["next_timer_id"] == 2  # the every timer, the call's timeout
    t.upgrade(counting_node)
    out = t.deliver("c1", {"type": "read", "msg_id": 3})
    assert out[0].body == {"type": "read_ok", "n": 1, "resumed": True, "in_reply_to": 3}
    # The reply to the old version's request matches nothing in the new one.
    assert t.deliver("n2", {"type": "q_ok", "in_reply_to": q["msg_id"]}) == []
    q2 = t.deliver("c1", {"type": "ask", "msg_id": 4})[0].body
    assert q2["msg_id"] > q["msg_id"]
    # Old timers fire into ids the new version does not know: ignored (the call's
    # timeout here), while the new version's own `every` was re-armed with a new id.
    assert max(t.timers) > snap["next_timer_id"]
    assert t.fire(2) == []


def test_restore_takes_a_snapshot_written_by_hand_in_rusts_layout():
    text = json.dumps({"glomers_snapshot": 1, "node_id": "n3", "node_ids": ["n1", "n2", "n3"],
                       "next_msg_id": 40, "next_timer_id": 17, "state": {"n": 9}}).encode()
    t = TestNode(counting_node)
    t.restore(counting_node, text)
    assert t.node.node_id == "n3"
    assert t.deliver("c1", {"type": "read", "msg_id": 1})[0].body["n"] == 9
    q = t.deliver("c1", {"type": "ask", "msg_id": 2})[0].body
    assert q["msg_id"] == 41
    assert min(t.timers) == 18


@pytest.mark.parametrize("bad", [
    b"nope",
    b"[]",
    json.dumps({"glomers_snapshot": 2, "node_id": "n1", "node_ids": [], "next_msg_id": 0,
                "next_timer_id": 0, "state": {"n": 1}}).encode(),
    json.dumps({"glomers_snapshot": 1, "node_id": "n1", "node_ids": [], "next_msg_id": 0,
                "next_timer_id": 0, "state": "garbage"}).encode(),
])
def test_restore_refuses_what_it_cannot_read(bad: bytes):
    t = TestNode.start(counting_node, "n1", ["n1"])
    with pytest.raises(ValueError):
        t.restore(counting_node, bad)


def test_a_node_without_handoff_snapshots_nothing():
    t = TestNode.start(echo_node, "n1", ["n1"])
    assert t.snapshot() is None
    assert TestNode(counting_node).snapshot() is None, "not initialised yet"


def misc_node() -> Node:
    node = Node()
    seen: List[str] = []
    node.seen = seen  # type: ignore[attr-defined]

    @node.every(200)
    def beat():
        seen.append("beat")

    @node.on_any
    def anything(req):
        if req.type != "known_elsewhere":
            raise Error.not_supported(f"no {req.type}")
        return {"type": "known_elsewhere_ok"}

    @node.handler
    async def fails_quietly(req):
        raise Error.abort("no msg_id, nobody to tell")

    @node.handler
    def background(req):
        async def work():
            await node.sleep(10)
            raise Error.timeout("a background task gave up")

        node.spawn(work())
        return {"type": "background_ok"}

    @node.handler
    def not_a_dict(req):
        return ["not", "an", "object"]

    @node.handler
    def ask(req):
        def done(r):
            assert isinstance(r, Error)
            node.reply(req, {"type": "ask_ok", "code": r.code, "text": r.text})

        node.rpc("n2", {"type": "q"}, done)

    return node


def test_on_any_takes_the_rest_and_may_refuse():
    t = TestNode.start(misc_node, "n1", ["n1", "n2"])
    assert t.deliver("c1", {"type": "known_elsewhere", "msg_id": 1})[0].body["type"] == "known_elsewhere_ok"
    assert t.deliver("c1", {"type": "other", "msg_id": 2})[0].body["code"] == 10


def test_every_as_a_decorator_is_armed_at_init():
    t = TestNode.start(misc_node, "n1", ["n1", "n2"])
    t.advance(450)
    assert t.node.seen == ["beat", "beat"]  # type: ignore[attr-defined]


def test_errors_with_nobody_to_answer_are_logged_not_crashes(capsys):
    t = TestNode.start(misc_node, "n1", ["n1", "n2"])
    assert t.deliver("c1", {"type": "fails_quietly"}) == []
    assert t.deliver("c1", {"type": "background", "msg_id": 1})[0].body["type"] == "background_ok"
    assert t.advance(10) == []
    err = capsys.readouterr().err
    assert "nobody to tell" in err and "gave up" in err


def test_a_reply_that_is_not_an_object_is_a_bug_so_it_crashes():
    t = TestNode.start(misc_node, "n1", ["n1", "n2"])
    with pytest.raises(TypeError):
        t.deliver("c1", {"type": "not_a_dict", "msg_id": 1})


def test_an_error_reply_without_a_usable_code_is_a_crash_code():
    t = TestNode.start(misc_node, "n1", ["n1", "n2"])
    q = t.deliver("c1", {"type": "ask", "msg_id": 1})[0].body
    out = t.deliver("n2", {"type": "error", "code": "x", "in_reply_to": q["msg_id"]})
    assert out[0].body == {"type": "ask_ok", "code": 13, "text": "", "in_reply_to": 1}


def test_definite_codes_are_maelstroms():
    assert [c for c in range(2000) if errors.is_definite(c)] == [1, 10, 11, 12, 14, 20, 21, 22, 30]
    assert errors.name(22) == "precondition-failed" and errors.name(1005) == "unknown"
    assert not Error.timeout().definite and Error.txn_conflict().definite


def test_an_error_raised_in_an_rpc_callback_or_timer_is_logged(capsys):
    def build() -> Node:
        node = Node()

        @node.handler
        def go(req):
            def done(r):
                raise Error.abort("the callback gave up")

            node.rpc("n2", {"type": "q"}, done)
            node.after(5, lambda: (_ for _ in ()).throw(Error.abort("the timer gave up")))

        return node

    t = TestNode.start(build, "n1", ["n1", "n2"])
    q = t.deliver("c1", {"type": "go", "msg_id": 1})[0].body
    assert t.deliver("n2", {"type": "q_ok", "in_reply_to": q["msg_id"]}) == []
    assert t.advance(10) == []
    err = capsys.readouterr().err
    assert "the callback gave up" in err and "the timer gave up" in err
