"""Native unit tests for one node, without wasm: a test double of the host.

:class:`TestNode` builds a node, answers its ``init``, feeds it messages and timer
firings on a virtual clock, and returns what it sent::

    t = TestNode.start(build, "n1", ["n1", "n2"])
    out = t.deliver("c1", {"type": "echo", "echo": 7, "msg_id": 1})
    assert out[0].body["echo"] == 7
    assert t.advance(500) == []       # fire the timers due in the next 500 ms

Every host call the SDK makes goes through :mod:`glomers._host`; a TestNode installs
its own backend there for the length of each call, so many TestNodes (a hub and a
leaf, say) can live in one test.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from . import _host
from .node import Node


@dataclass
class Sent:
    """One message the node sent."""

    dest: str
    body: Dict[str, Any]


class _Backend:
    def __init__(self, args: Sequence[str], seed: int) -> None:
        self.argv = list(args)
        self.rng = random.Random(seed)
        self.effects: List[Tuple[str, Any, Any]] = []

    def send(self, dest: str, body: str) -> None:
        self.effects.append(("send", dest, body))

    def set_timer(self, id: int, delay_ms: int) -> None:
        self.effects.append(("set", id, delay_ms))

    def cancel_timer(self, id: int) -> None:
        self.effects.append(("cancel", id, None))

    def args(self) -> List[str]:
        return list(self.argv)

    def random_u64(self) -> int:
        return self.rng.getrandbits(64)


_seeds = iter(range(1, 1 << 62))


class TestNode:
    """A node on this thread with a virtual clock for its timers."""

    __test__ = False  # not a pytest test class

    def __init__(self, build: Callable[[], Node], args: Sequence[str] = (), seed: Optional[int] = None) -> None:
        self.now_ms = 0
        self.timers: Dict[int, int] = {}  # id -> deadline
        self._backend = _Backend(args, next(_seeds) if seed is None else seed)
        self.node: Node = self._enter(build)

    @classmethod
    def start(
        cls, build: Callable[[], Node], id: str, ids: Iterable[str], args: Sequence[str] = ()
    ) -> "TestNode":
        """Builds the node with these guest arguments and answers its ``init`` (the
        ``init_ok`` is not returned)."""
        return cls(build, args).init(id, ids)

    def init(self, id: str, ids: Iterable[str]) -> "TestNode":
        self.deliver("c0", {"type": "init", "msg_id": 0, "node_id": id, "node_ids": list(ids)})
        return self

    def _enter(self, fn: Callable[..., Any], *a: Any) -> Any:
        saved = _host._backend
        _host.install(self._backend)
        try:
            return fn(*a)
        finally:
            _host.install(saved)

    def deliver(self, src: str, body: Dict[str, Any]) -> List[Sent]:
        """Delivers a message; returns what the node sent in response."""
        self._enter(self.node._on_message, src, json.dumps(body))
        return self._collect()

    def deliver_text(self, src: str, text: str) -> List[Sent]:
        """Delivers a body as raw text (to test bodies that are not JSON objects)."""
        self._enter(self.node._on_message, src, text)
        return self._collect()

    def fire(self, timer: int) -> List[Sent]:
        """Fires one timer now, armed or not (as the host may fire a stale id)."""
        self.timers.pop(timer, None)
        self._enter(self.node._on_timer, timer)
        return self._collect()

    def advance(self, ms: int) -> List[Sent]:
        """Moves the clock forward, firing due timers in order; returns what was sent."""
        until = self.now_ms + ms
        out: List[Sent] = []
        while True:
            due = [(at, tid) for tid, at in self.timers.items() if at <= until]
            if not due:
                break
            at, tid = min(due)
            del self.timers[tid]
            self.now_ms = at
            self._enter(self.node._on_timer, tid)
            out.extend(self._collect())
        self.now_ms = until
        return out

    def snapshot(self) -> Optional[bytes]:
        """What the node hands its next version (``None`` without handoff)."""
        return self._enter(self.node._snapshot)

    def upgrade(self, build: Callable[[], Node], args: Sequence[str] = ()) -> List[Sent]:
        """Swaps in a new version built by ``build``, as a live swap does: it takes over
        the old one's snapshot; armed timers stay armed, firing into the new version.
        Returns what it sent while taking over; raises ``ValueError`` with the reason
        when the state could not be carried (the node is then unchanged)."""
        snap = self.snapshot()
        if snap is None:
            raise ValueError("the old version hands no state over (no node.handoff(..)?)")
        return self.restore(build, snap, args)

    def restore(self, build: Callable[[], Node], snapshot: bytes, args: Sequence[str] = ()) -> List[Sent]:
        """Replaces the node with a fresh one built by ``build`` that takes over
        ``snapshot`` (from any language's SDK); raises ``ValueError`` if it refuses."""
        backend = _Backend(args, next(_seeds))
        saved_backend, self._backend = self._backend, backend
        try:
            node = self._enter(build)
            why = self._enter(node._restore, snapshot)
        except BaseException:
            self._backend = saved_backend
            raise
        if why is not None:
            self._backend = saved_backend
            raise ValueError(why)
        self.node = node
        return self._collect()

    def _collect(self) -> List[Sent]:
        sent: List[Sent] = []
        for kind, a, b in self._backend.effects:
            if kind == "send":
                sent.append(Sent(a, json.loads(b)))
            elif kind == "set":
                self.timers[a] = self.now_ms + b
            else:
                self.timers.pop(a, None)
        self._backend.effects.clear()
        return sent
