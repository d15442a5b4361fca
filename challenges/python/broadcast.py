"""Challenge 3a-3e: broadcast, the Rust design (challenges/broadcast/src/core.rs)
ported message for message and field for field, so Python and Rust nodes can share a
cluster and hand their state to each other (docs/handoff.md).

Shape: a star. A value broadcast at a leaf goes "up" to the hub (at once, or in a
batch); the hub sends it "down" to everyone else in one batch per period. Every batch
travels over a reliable link: it carries a per-link sequence number, the receiver
acknowledges it on the next message it sends that way (or alone after ``ack_ms``),
and the sender resends a batch not acknowledged within ``rto_ms``. Hubs are the first
``hubs`` nodes of ``init``: a leaf whose hub stops answering sends up to the next one.

Guest arguments (the stages differ only by these): ``--down-ms`` (alias
``--batch-ms``), ``--up-ms``, ``--lead-ms``, ``--tick-ms``, ``--rto-ms``, ``--ack-ms``,
``--hubs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

import glomers


# --- the knobs ------------------------------------------------------------------------


@dataclass
class Config:
    down_ms: int = 100
    up_ms: int = 0
    lead_ms: int = 0
    tick_ms: int = 100
    rto_ms: int = 2000
    ack_ms: int = 1000
    hubs: int = 3

    @classmethod
    def from_args(cls, args: glomers.Args) -> "Config":
        d = cls()
        batch = args.value("--batch-ms")
        down = args.value("--down-ms")
        return cls(
            down_ms=max(1, down if down is not None else batch if batch is not None else d.down_ms),
            up_ms=args.value_or("--up-ms", d.up_ms),
            lead_ms=args.value_or("--lead-ms", d.lead_ms),
            tick_ms=max(1, args.value_or("--tick-ms", d.tick_ms)),
            rto_ms=max(1, args.value_or("--rto-ms", d.rto_ms)),
            ack_ms=args.value_or("--ack-ms", d.ack_ms),
            hubs=max(1, args.value_or("--hubs", d.hubs)),
        )

    def to_json(self) -> Dict[str, int]:
        return {
            "down_ms": self.down_ms,
            "up_ms": self.up_ms,
            "lead_ms": self.lead_ms,
            "tick_ms": self.tick_ms,
            "rto_ms": self.rto_ms,
            "ack_ms": self.ack_ms,
            "hubs": self.hubs,
        }

    @classmethod
    def from_json(cls, v: Dict[str, Any]) -> "Config":
        return cls(**{k: _int(v[k]) for k in cls().to_json()})


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"expected an integer, got {v!r}")
    return v


def _ints(v: Any) -> List[int]:
    if not isinstance(v, list):
        raise ValueError(f"expected an array, got {v!r}")
    return [_int(x) for x in v]


# --- the one inter-node message -------------------------------------------------------


@dataclass
class Gossip:
    """A batch (with ``seq``) and/or acknowledgements. On the wire each field is left
    out when None/empty, as serde's ``skip_serializing_if`` does in Rust."""

    seq: Optional[int] = None
    up: List[int] = field(default_factory=list)
    down: List[int] = field(default_factory=list)
    acks: List[int] = field(default_factory=list)

    def to_body(self) -> Dict[str, Any]:
        b: Dict[str, Any] = {"type": "gossip"}
        if self.seq is not None:
            b["seq"] = self.seq
        if self.up:
            b["up"] = self.up
        if self.down:
            b["down"] = self.down
        if self.acks:
            b["acks"] = self.acks
        return b


# What the node must do: ("send", dest, Gossip) or ("arm_up", ms).
Out = Union[Tuple[str, str, Gossip], Tuple[str, int]]


class Batch:
    __slots__ = ("sent_at", "up", "down")

    def __init__(self, sent_at: int, up: List[int], down: List[int]) -> None:
        self.sent_at, self.up, self.down = sent_at, up, down

    def to_json(self) -> Dict[str, Any]:
        return {"sent_at": self.sent_at, "up": self.up, "down": self.down}

    @classmethod
    def from_json(cls, v: Dict[str, Any]) -> "Batch":
        return cls(_int(v["sent_at"]), _ints(v["up"]), _ints(v["down"]))


class Link:
    """Our side of the link to one peer."""

    __slots__ = ("up", "down", "next_seq", "inflight", "owed", "owed_since", "failures")

    def __init__(self) -> None:
        self.up: List[int] = []
        self.down: List[int] = []
        self.next_seq = 0
        self.inflight: Dict[int, Batch] = {}  # seq -> batch, in seq order
        self.owed: List[int] = []
        self.owed_since: Optional[int] = None
        self.failures = 0  # timeouts since we last heard from the peer

    def has_data(self) -> bool:
        return bool(self.up) or bool(self.down)

    def stalled(self) -> bool:
        """A peer that timed out and has not been heard from since gets one batch in
        flight at a time."""
        return self.failures > 0 and bool(self.inflight)

    def to_json(self) -> Dict[str, Any]:
        return {
            "up": self.up,
            "down": self.down,
            "next_seq": self.next_seq,
            # serde writes a BTreeMap<u64, _> as an object keyed by the numbers as text.
            "inflight": {str(s): b.to_json() for s, b in sorted(self.inflight.items())},
            "owed": self.owed,
            "owed_since": self.owed_since,
            "failures": self.failures,
        }

    @classmethod
    def from_json(cls, v: Dict[str, Any]) -> "Link":
        l = cls()
        l.up = _ints(v["up"])
        l.down = _ints(v["down"])
        l.next_seq = _int(v["next_seq"])
        l.inflight = {int(s): Batch.from_json(b) for s, b in sorted(v["inflight"].items(), key=lambda kv: int(kv[0]))}
        l.owed = _ints(v["owed"])
        l.owed_since = None if v["owed_since"] is None else _int(v["owed_since"])
        l.failures = _int(v["failures"])
        return l


def _sorted_unique(xs: List[int]) -> List[int]:
    return sorted(set(xs))


class Core:
    """The protocol as a pure state machine (no timers, no SDK), as in Rust."""

    def __init__(self, cfg: Config, me: str, nodes: List[str]) -> None:
        self.cfg = cfg
        self.me = me
        self.hubs: List[str] = list(nodes[: cfg.hubs])
        self.now = 0
        self.seen: set = set()
        self.values: List[int] = []
        # A BTreeMap in Rust: kept in key order, so iterations match.
        self.links: Dict[str, Link] = {n: Link() for n in sorted(nodes) if n != me}
        self.synced = False

    # -- handoff layout (docs/handoff.md) ----------------------------------------------

    def to_json(self) -> Dict[str, Any]:
        return {
            "cfg": self.cfg.to_json(),
            "me": self.me,
            "hubs": self.hubs,
            "now": self.now,
            "seen": list(self.seen),
            "values": self.values,
            "links": {p: l.to_json() for p, l in self.links.items()},
            "synced": self.synced,
        }

    @classmethod
    def from_json(cls, v: Dict[str, Any]) -> "Core":
        c = cls.__new__(cls)
        c.cfg = Config.from_json(v["cfg"])
        c.me = str(v["me"])
        c.hubs = [str(h) for h in v["hubs"]]
        c.now = _int(v["now"])
        c.seen = set(_ints(v["seen"]))
        c.values = _ints(v["values"])
        c.links = {p: Link.from_json(l) for p, l in sorted(v["links"].items())}
        if not isinstance(v["synced"], bool):
            raise ValueError("synced is not a boolean")
        c.synced = v["synced"]
        return c

    # -- the protocol ------------------------------------------------------------------

    def start(self) -> List[Out]:
        """What to arm once the node is running."""
        return [("arm_up", self.cfg.up_ms)] if self.cfg.up_ms > 0 else []

    def broadcast(self, v: int) -> List[Out]:
        """A client broadcast ``v`` here."""
        if not self._learn(v):
            return []
        hub = self._route_up([v])
        at_once = self.cfg.up_ms == 0 or (self.cfg.lead_ms > 0 and not self.synced)
        if hub is not None and at_once and not self.links[hub].stalled():
            out = self._send(hub)
            return [out] if out is not None else []
        return []

    def receive(self, frm: str, g: Gossip) -> List[Out]:
        """A gossip message arrived from ``frm``."""
        link = self.links.get(frm)
        if link is None:
            glomers.node._log(f"broadcast: gossip from unknown node {frm}")
            return []
        link.failures = 0
        for a in g.acks:
            link.inflight.pop(a, None)
        if g.seq is not None:
            link.owed.append(g.seq)
            if link.owed_since is None:
                link.owed_since = self.now
        for v in g.up:
            if self._learn(v):
                self._fan_out(v, frm)
        for v in g.down:
            self._learn(v)
        c = self.cfg
        if g.down and c.up_ms > 0 and c.lead_ms > 0 and self._hub() == frm:
            self.synced = True
            return [("arm_up", max(1, max(0, c.down_ms - c.lead_ms)))]
        return []

    def flush_down(self) -> List[Out]:
        """The hub period: every pending down batch (and, with immediate uplinks, up
        values that had to wait for a stalled link)."""
        up_too = self.cfg.up_ms == 0
        peers = [
            p
            for p, l in self.links.items()
            if (l.down or (up_too and l.up)) and not l.stalled()
        ]
        return [o for o in (self._send(p) for p in peers) if o is not None]

    def flush_up(self) -> List[Out]:
        """The uplink timer: every pending up batch, and re-arm."""
        peers = [p for p, l in self.links.items() if l.up and not l.stalled()]
        out: List[Out] = [o for o in (self._send(p) for p in peers) if o is not None]
        if self.cfg.up_ms > 0:
            out.append(("arm_up", self.cfg.up_ms))
        return out

    def tick(self) -> List[Out]:
        """Advances the clock by ``tick_ms``: resends what timed out, sends overdue acks."""
        self.now += self.cfg.tick_ms
        now, rto, ack_ms = self.now, self.cfg.rto_ms, self.cfg.ack_ms
        resend: List[str] = []
        reroute: List[int] = []
        for p, l in self.links.items():
            if not any(max(0, now - b.sent_at) >= rto for b in l.inflight.values()):
                continue
            l.failures += 1
            taken, l.inflight = l.inflight, {}
            for _, b in sorted(taken.items()):
                l.down.extend(b.down)
                reroute.extend(b.up)
            resend.append(p)
        if reroute:
            hub = self._route_up(reroute)
            if hub is not None:
                resend.append(hub)
        out: List[Out] = [o for o in (self._send(p) for p in sorted(set(resend))) if o is not None]
        for p, l in self.links.items():
            if l.owed_since is not None and max(0, now - l.owed_since) >= ack_ms:
                l.owed_since = None
                acks, l.owed = l.owed, []
                out.append(("send", p, Gossip(acks=acks)))
        return out

    def _learn(self, v: int) -> bool:
        if v in self.seen:
            return False
        self.seen.add(v)
        self.values.append(v)
        return True

    def _hub(self) -> str:
        for h in self.hubs:
            if h == self.me or (h in self.links and self.links[h].failures == 0):
                return h
        return self.hubs[0] if self.hubs else self.me

    def _route_up(self, vals: List[int]) -> Optional[str]:
        hub = self._hub()
        link = self.links.get(hub)
        if link is not None:
            link.up.extend(vals)
            return hub
        for v in vals:
            self._fan_out(v, None)
        return None

    def _fan_out(self, v: int, skip: Optional[str]) -> None:
        for p, l in self.links.items():
            if p != skip:
                l.down.append(v)

    def _send(self, peer: str) -> Optional[Out]:
        l = self.links.get(peer)
        if l is None or not l.has_data():
            return None
        up, l.up = _sorted_unique(l.up), []
        down, l.down = _sorted_unique(l.down), []
        seq = l.next_seq
        l.next_seq += 1
        l.inflight[seq] = Batch(self.now, list(up), list(down))
        l.owed_since = None
        acks, l.owed = l.owed, []
        return ("send", peer, Gossip(seq=seq, up=up, down=down, acks=acks))


# --- the node -------------------------------------------------------------------------


@dataclass
class BroadcastBody:
    message: int


class App:
    """The node's state: ``{"cfg", "core"}`` as Rust's ``App`` (the uplink timer does
    not travel)."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.core: Optional[Core] = None
        self.up_timer: Optional[int] = None

    def to_json(self) -> Dict[str, Any]:
        return {"cfg": self.cfg.to_json(), "core": None if self.core is None else self.core.to_json()}

    def load(self, v: Any) -> None:
        if not isinstance(v, dict):
            raise ValueError(f"not a broadcast state: {v!r}")
        cfg = Config.from_json(v["cfg"])
        core = None if v["core"] is None else Core.from_json(v["core"])
        self.cfg, self.core = cfg, core


def node_with(cfg: Config) -> glomers.Node:
    node = glomers.Node()
    app = App(cfg)
    node.app = app  # type: ignore[attr-defined]  # for tests

    def not_ready() -> glomers.Error:
        return glomers.Error.temporarily_unavailable("not initialised yet")

    def apply(outs: List[Out]) -> None:
        for o in outs:
            if o[0] == "send":
                node.send(o[1], o[2].to_body())  # type: ignore[index, union-attr]
            else:
                node.cancel(app.up_timer)
                app.up_timer = node.after(o[1], flush_up)  # type: ignore[arg-type]

    def flush_up() -> None:
        app.up_timer = None
        apply(app.core.flush_up() if app.core else [])

    node.handoff(app.to_json, app.load)

    @node.on_restore
    def restored() -> None:
        apply(app.core.start() if app.core else [])

    @node.on_init
    def started() -> None:
        app.core = Core(app.cfg, node.node_id, node.node_ids)
        apply(app.core.start())

    node.every(cfg.down_ms, lambda: apply(app.core.flush_down() if app.core else []))
    node.every(cfg.tick_ms, lambda: apply(app.core.tick() if app.core else []))

    @node.handler
    def topology(req: glomers.Message) -> Dict[str, Any]:
        # We choose our own overlay (a star with fallback hubs).
        return {"type": "topology_ok"}

    @node.on("broadcast", body=BroadcastBody)
    def broadcast(req: glomers.Message[BroadcastBody]) -> Dict[str, Any]:
        if app.core is None:
            raise not_ready()
        apply(app.core.broadcast(req.body.message))
        return {"type": "broadcast_ok"}

    @node.handler
    def read(req: glomers.Message) -> Dict[str, Any]:
        if app.core is None:
            raise not_ready()
        return {"type": "read_ok", "messages": app.core.values}

    @node.on("gossip", body=Gossip)
    def gossip(req: glomers.Message[Gossip]) -> None:
        if app.core is None:
            raise not_ready()
        apply(app.core.receive(req.src, req.body))

    return node


def build() -> glomers.Node:
    args = glomers.Args()
    cfg = Config.from_args(args)
    args.finish()
    return node_with(cfg)


WitWorld = glomers.serve(build)
