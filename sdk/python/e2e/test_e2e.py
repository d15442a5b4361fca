"""End-to-end tests: the built Python components under the real host.

Needs GLOMERS_HOST (the host binary; `make python-test` sets it from $(HOST)) and the
components built by `make python`. Each test names what it runs.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import time
import tomllib
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import pytest

ROOT = Path(__file__).resolve().parents[3]
HOST = os.environ.get("GLOMERS_HOST", str(ROOT / "target/release/host"))
CHALLENGES = ROOT / "challenges/python"
FIXTURE = ROOT / "sdk/python/fixtures/py-misbehave.wasm"


def wasm(name: str) -> str:
    p = CHALLENGES / f"{name}.wasm"
    assert p.exists(), f"{p} is missing: run `make python` first"
    return str(p)


class Run:
    """`host run X.wasm args` with a line-oriented conversation on stdin/stdout."""

    def __init__(self, path: str, *args: str, options: Sequence[str] = ()) -> None:
        assert Path(HOST).exists(), f"no host binary at {HOST}"
        env = dict(os.environ, GLOMERS_LIVE_SWAP="0")
        self.p = subprocess.Popen(
            [HOST, "run", *options, path, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env,
        )
        self.out: "queue.Queue[str]" = queue.Queue()
        self.err: List[str] = []
        threading.Thread(target=self._pump, args=(self.p.stdout, self.out.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.p.stderr, self.err.append), daemon=True).start()
        self.next_id = 0

    @staticmethod
    def _pump(stream: Any, put: Any) -> None:
        for line in stream:
            put(line)

    def send(self, body: Dict[str, Any], src: str = "c1") -> int:
        self.next_id += 1
        body = {**body, "msg_id": self.next_id}
        self.p.stdin.write(json.dumps({"src": src, "dest": "n1", "body": body}) + "\n")
        self.p.stdin.flush()
        return self.next_id

    def reply(self, msg_id: int, timeout: float = 30.0) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no reply to {msg_id}; stderr:\n{''.join(self.err)[-3000:]}")
            try:
                line = self.out.get(timeout=left)
            except queue.Empty:
                continue
            msg = json.loads(line)
            if msg["body"].get("in_reply_to") == msg_id:
                return msg["body"]

    def init(self) -> None:
        r = self.reply(self.send({"type": "init", "node_id": "n1", "node_ids": ["n1"]}, src="c0"))
        assert r["type"] == "init_ok", r

    def close(self) -> str:
        self.p.stdin.close()
        try:
            self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
        return "".join(self.err)


def test_echo_under_host_run():
    r = Run(wasm("echo"))
    try:
        r.init()
        assert r.reply(r.send({"type": "echo", "echo": "hello"})) == {
            "type": "echo_ok", "echo": "hello", "in_reply_to": 2}
        assert r.reply(r.send({"type": "nope"}))["code"] == 10
        assert r.reply(r.send({"type": "echo"}))["code"] == 12
    finally:
        r.close()


def test_guest_arguments_reach_the_python_node():
    # kafka --lin-kv talks to lin-kv for a list; the default design answers at once.
    r = Run(wasm("kafka"), "--lin-kv")
    try:
        r.init()
        r.send({"type": "list_committed_offsets", "keys": ["k"]})
        line = json.loads(r.out.get(timeout=30))
        assert line["dest"] == "lin-kv", line
    finally:
        r.close()


def test_an_exception_traps_and_the_node_restarts_fresh():
    r = Run(str(FIXTURE))
    try:
        r.init()
        assert r.reply(r.send({"type": "count"}))["count"] == 1
        assert r.reply(r.send({"type": "count"}))["count"] == 2
        # A Maelstrom error on purpose is a plain error reply, not a crash.
        refused = r.reply(r.send({"type": "refuse"}))
        assert (refused["code"], refused["text"]) == (14, "refused on purpose")
        assert r.reply(r.send({"type": "count"}))["count"] == 3
        # Any other exception: the component traps, the host answers 13 and restarts.
        crashed = r.reply(r.send({"type": "crash"}))
        assert crashed["type"] == "error" and crashed["code"] == 13, crashed
        assert r.reply(r.send({"type": "count"}))["count"] == 1, "a fresh instance"
        # The same after an await, in a task resumed by a timer: no reply is owed to a
        # timer, the node restarts all the same.
        r.send({"type": "crash_later"})
        time.sleep(1.0)
        assert r.reply(r.send({"type": "count"}))["count"] == 1
    finally:
        err = r.close()
    assert "a bug in a handler" in err, err[-2000:]


def test_a_runaway_loop_hits_the_default_call_budget():
    r = Run(str(FIXTURE))
    try:
        r.init()
        t0 = time.monotonic()
        spun = r.reply(r.send({"type": "spin"}), timeout=60)
        took = time.monotonic() - t0
        assert spun["code"] == 13 and "2000 ms budget" in spun["text"], spun
        assert took < 30, took
        assert r.reply(r.send({"type": "echo", "echo": 1}))["echo"] == 1
    finally:
        err = r.close()
    assert "budget" in err, err[-2000:]


def test_memory_stays_under_the_default_cap():
    r = Run(str(FIXTURE))
    try:
        r.init()
        hog = r.reply(r.send({"type": "hog"}), timeout=60)
        assert hog["code"] == 13 and "256 MiB" in hog["text"], hog
        assert r.reply(r.send({"type": "echo", "echo": 2}))["echo"] == 2
    finally:
        err = r.close()
    assert "memory" in err, err[-2000:]


def host_test(name: str, options: str, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    cmd = [HOST, "test", *options.split(), wasm(name)]
    if args:
        cmd += ["--", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("name,options,args", [
    ("echo", "-w echo --node-count 1 --time-limit 10", ()),
    ("unique-ids", "-w unique-ids --time-limit 10 --rate 200 --node-count 3 --availability total --nemesis partition", ()),
    ("broadcast", "-w broadcast --node-count 5 --time-limit 10 --rate 10 --nemesis partition", ()),
    ("g-counter", "-w g-counter --node-count 3 --rate 100 --time-limit 10 --nemesis partition", ()),
    ("kafka", "-w kafka --node-count 1 --concurrency 2n --time-limit 10 --rate 200", ()),
    ("kafka", "-w kafka --node-count 2 --concurrency 2n --time-limit 10 --rate 200", ("--lin-kv",)),
])
def test_challenges_pass_host_test(name: str, options: str, args: tuple):
    r = host_test(name, options, *args)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]


# --- mixed clusters: `host test --upgrade` rolls Rust <-> Python one node at a time ---

RUST = Path(os.environ.get("GLOMERS_RUST_CHALLENGES", str(ROOT / "challenges")))


def rust(name: str) -> str:
    p = RUST / f"{name}.wasm"
    if not p.exists():
        pytest.skip(f"{p} is missing (build the Rust challenges: make challenges)")
    return str(p)


@pytest.mark.parametrize("name,options,args", [
    ("broadcast", "-w broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition", ()),
    ("broadcast", "-w broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100",
     ("--up-ms", "700", "--down-ms", "700", "--lead-ms", "300", "--rto-ms", "3500", "--ack-ms", "2000")),
    ("g-counter", "-w g-counter --node-count 3 --rate 100 --time-limit 20 --nemesis partition", ()),
    ("kafka", "-w kafka --node-count 2 --concurrency 2n --time-limit 10 --rate 300", ()),
    ("kafka", "-w kafka --node-count 2 --concurrency 2n --time-limit 10 --rate 300", ("--lin-kv",)),
])
@pytest.mark.parametrize("direction", ["rust-to-python", "python-to-rust"])
def test_a_cluster_rolls_between_rust_and_python_with_state(name: str, options: str, args: tuple, direction: str):
    py, rs = wasm(name), rust(name)
    start, to = (rs, py) if direction == "rust-to-python" else (py, rs)
    cmd = [HOST, "test", *options.split(), "--upgrade", to, start]
    if args:
        cmd += ["--", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    n = int(options.split("--node-count ")[1].split()[0])
    assert f"{n} of {n} switched, {n} with their state" in r.stdout, r.stdout[-3000:]


@pytest.mark.parametrize("name,options,args", [
    ("broadcast", "-w broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100", ("--down-ms", "150")),
    ("broadcast", "-w broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition", ()),
    ("g-counter", "-w g-counter --node-count 3 --rate 100 --time-limit 20 --nemesis partition", ()),
    ("kafka", "-w kafka --node-count 2 --concurrency 2n --time-limit 5 --rate 300", ()),
    ("kafka", "-w kafka --node-count 2 --concurrency 2n --time-limit 5 --rate 300", ("--lin-kv",)),
])
def test_the_python_port_behaves_exactly_like_rust_on_a_seed(name: str, options: str, args: tuple):
    """Same seed, same run: the harness is deterministic, so a faithful port sends the
    very same messages; the figures (message counts, latencies) must be equal."""
    figures = []
    for w in (wasm(name), rust(name)):
        cmd = [HOST, "test", *options.split(), "--seed", "3", w]
        if args:
            cmd += ["--", *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        figures.append([l for l in r.stdout.splitlines()
                        if l.strip().startswith(("net", "stable latency", "counter:", "kafka:"))])
    assert figures[0] == figures[1]


# --- the graded settings, from challenges/challenges.toml (their one home) -------------


def _graded() -> List[Any]:
    with open(ROOT / "challenges/challenges.toml", "rb") as f:
        grades = tomllib.load(f)["grade"]
    return [
        pytest.param(name, g, id=name)
        for name, g in grades.items()
        if "python" in g.get("languages", ["python"])
    ]


@pytest.mark.parametrize("name,grade", _graded())
def test_graded_setting_is_valid_and_meets_the_bars(name: str, grade: Dict[str, Any], tmp_path):
    result = tmp_path / "result.json"
    cmd = [HOST, "test", *grade["options"].split(), "--json", str(result), wasm(grade["component"])]
    if grade.get("args"):
        cmd += ["--", *grade["args"].split()]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    figures = json.loads(result.read_text())
    for bars in (grade.get("official"), grade.get("ours")):
        if not bars:
            continue
        servers = figures["net"]["servers"]["msgs-per-op"]
        stable = figures["workload"]["stable-latencies"]
        median, worst = stable["0.5"], stable["1"]
        assert servers <= bars["msgs-per-op"], (servers, bars)
        assert median < bars["median-ms"], (median, bars)
        assert worst < bars["max-ms"], (worst, bars)
