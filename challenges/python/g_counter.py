"""Challenge 4: a grow-only counter kept in Maelstrom's seq-kv, the Rust design
(challenges/g-counter/src/lib.rs) ported with the same keys and the same state layout.

Each node owns one key, ``count-<node>``, holding ``[count, tag]``, and is its only
writer; the counter is the sum of every node's key. Adds are batched: while one
compare-and-set is in flight new adds wait for the next, and ``add_ok`` goes out only
once a compare-and-set carrying the delta succeeded. The tag names the batch that last
raised the key, so a retry after a timeout that did happen is recognised. A ``read``
first writes ``barrier-<node>`` (seq-kv then shows nothing older), reads every key and
never reports less than it saw before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import glomers
from glomers import Error, Message, SeqKV
from glomers.errors import PRECONDITION_FAILED

BACKOFF_MS = 50
MAX = (1 << 63) - 1  # Maelstrom's clients take the counter as a signed 64-bit number
U64 = (1 << 64) - 1

Entry = Tuple[int, str]


def count_key(node: str) -> str:
    return f"count-{node}"


def barrier_key(node: str) -> str:
    return f"barrier-{node}"


@dataclass
class Add:
    delta: int

    def __post_init__(self) -> None:
        # Unsigned, as Rust's u64: a grow-only counter takes no negative delta.
        if not 0 <= self.delta <= U64:
            raise ValueError(f"invalid value: integer `{self.delta}`, expected u64")


def _entry(v: Any) -> Entry:
    """A key's value, ``[count, tag]``; anything else fails like a bad read."""
    if (
        isinstance(v, list)
        and len(v) == 2
        and isinstance(v[0], int)
        and not isinstance(v[0], bool)
        and 0 <= v[0] <= U64
        and isinstance(v[1], str)
    ):
        return (v[0], v[1])
    raise Error.malformed(f"not a count entry: {v!r}")


class Counter:
    """The node's state; crosses a live swap whole, unanswered requests included."""

    def __init__(self, boot: int) -> None:
        self.boot = boot
        self.next_tag = 0
        self.mine: Optional[Entry] = None
        self.unflushed = 0
        self.adds: List[Message[Add]] = []
        self.flushing = False
        self.seen: Dict[str, int] = {}
        self.reads: List[Message[Any]] = []
        self.refreshing = False

    def tag(self, me: str) -> str:
        self.next_tag += 1
        return f"{me}-{self.boot:x}-{self.next_tag}"

    def total(self, me: str) -> int:
        own = self.mine[0] if self.mine is not None else 0
        own = max(own, self.seen.get(me, 0))
        total = own
        for node, n in self.seen.items():
            if node != me:
                total = min(total + n, U64)
        return min(total, MAX)

    def to_json(self) -> Dict[str, Any]:
        return {
            "boot": self.boot,
            "next_tag": self.next_tag,
            "mine": None if self.mine is None else [self.mine[0], self.mine[1]],
            "unflushed": self.unflushed,
            "adds": [r.to_json() for r in self.adds],
            "flushing": self.flushing,
            "seen": dict(self.seen),
            "reads": [r.to_json() for r in self.reads],
            "refreshing": self.refreshing,
        }

    def load(self, v: Any) -> None:
        if not isinstance(v, dict):
            raise ValueError(f"not a g-counter state: {v!r}")
        for k in ("boot", "next_tag", "unflushed"):
            if not isinstance(v[k], int) or isinstance(v[k], bool) or v[k] < 0:
                raise ValueError(f"{k}: {v[k]!r}")
        mine = None if v["mine"] is None else _entry(v["mine"])
        adds = [Message.from_json(r, Add) for r in v["adds"]]
        reads = [Message.from_json(r) for r in v["reads"]]
        seen = {str(k): int(n) for k, n in v["seen"].items()}
        self.boot, self.next_tag, self.unflushed = v["boot"], v["next_tag"], v["unflushed"]
        self.mine, self.adds, self.reads, self.seen = mine, adds, reads, seen
        self.flushing, self.refreshing = bool(v["flushing"]), bool(v["refreshing"])


def build() -> glomers.Node:
    node = glomers.Node()
    s = Counter(glomers.random_u64())
    node.counter = s  # type: ignore[attr-defined]  # for tests
    kv = SeqKV(node)

    node.handoff(s.to_json, s.load)

    @node.on_restore
    def resume() -> None:
        # The old version's tasks are gone: the batch it had in flight may or may not
        # have landed, so this node's key is read back before the next cas.
        s.mine = None
        s.flushing = bool(s.adds)
        if s.flushing:
            node.spawn(flush())
        s.refreshing = bool(s.reads)
        if s.refreshing:
            node.spawn(refresh())

    @node.on("add", body=Add)
    def add(req: Message[Add]) -> Optional[Dict[str, Any]]:
        delta = req.body.delta
        if delta == 0:
            return {"type": "add_ok"}
        committed = s.mine[0] if s.mine is not None else 0
        u = s.unflushed + delta
        if u > U64 or u + committed > MAX:
            raise Error.malformed("the counter would pass 2^63 - 1")
        s.unflushed = u
        s.adds.append(req)
        if not s.flushing:
            s.flushing = True
            node.spawn(flush())
        return None

    @node.handler
    def read(req: Message[Any]) -> None:
        s.reads.append(req)
        if not s.refreshing:
            s.refreshing = True
            node.spawn(refresh())

    async def flush() -> None:
        """Moves waiting adds into this node's key, one cas per batch."""
        me = node.node_id
        key = count_key(me)
        while True:
            if not s.adds:
                s.flushing = False
                return
            tag = s.tag(me)
            delta, s.unflushed = s.unflushed, 0
            adds, s.adds = s.adds, []
            while True:
                frm = s.mine
                if frm is None:
                    try:
                        frm = _entry(await kv.read(key, [0, ""]))
                    except Error:
                        await node.sleep(BACKOFF_MS)
                        continue
                if frm[1] == tag:
                    # An earlier attempt that timed out did happen.
                    s.mine = frm
                    break
                to = (min(frm[0] + delta, U64), tag)
                try:
                    await kv.cas(key, [frm[0], frm[1]], [to[0], to[1]], True)
                    s.mine = to
                    break
                except Error as e:
                    # Whatever happened, the key is no longer known: read it back.
                    s.mine = None
                    if e.code != PRECONDITION_FAILED:
                        await node.sleep(BACKOFF_MS)
            for r in adds:
                node.reply(r, {"type": "add_ok"})

    async def refresh() -> None:
        """Serves waiting reads: one barrier and one read per key per round."""
        me = node.node_id
        while True:
            if not s.reads:
                s.refreshing = False
                return
            reads, s.reads = s.reads, []
            while True:
                try:
                    await kv.write(barrier_key(me), s.tag(me))
                    break
                except Error:
                    await node.sleep(BACKOFF_MS)
            for n in node.node_ids:
                if n == me and s.mine is not None:
                    continue
                while True:
                    try:
                        entry = _entry(await kv.read(count_key(n), [0, ""]))
                        break
                    except Error:
                        await node.sleep(BACKOFF_MS)
                s.seen[n] = max(s.seen.get(n, 0), entry[0])
            total = s.total(me)
            for r in reads:
                node.reply(r, {"type": "read_ok", "value": total})

    return node


WitWorld = glomers.serve(build)
