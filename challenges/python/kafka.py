"""Challenge 5: a Kafka-style log, the two Rust designs (challenges/kafka/src) ported
with the same messages, lin-kv keys and state layout.

- default (5a, 5c): every key has one owner, ``node_ids[fnv1a64(key) % n]``, which
  alone holds the key's log and committed offset; other nodes forward to it (one RPC
  per owner involved, all in flight at once) and merge the answers.
- ``--lin-kv`` (5b): nothing is kept in the node. Each key's log is one lin-kv value
  ``log-<key>`` appended to by compare-and-set, committed offsets are
  ``committed-<key>``, raised by compare-and-set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import glomers
from glomers import Error, LinKV, Message, Node, is_retryable
from glomers.errors import KEY_DOES_NOT_EXIST, TIMEOUT

RPC_TIMEOUT_MS = 1000


@dataclass
class Send:
    key: str
    msg: Any


@dataclass
class Offsets:
    offsets: Dict[str, int]


@dataclass
class Keys:
    keys: List[str]


def entries(log: List[Any], frm: int) -> List[List[Any]]:
    """``[offset, msg]`` pairs of ``log`` from offset ``frm`` on."""
    return [[o, m] for o, m in enumerate(log) if o >= max(frm, 0)]


def owner(key: str, ids: List[str]) -> Optional[str]:
    """FNV-1a 64 over the key's UTF-8 bytes: stable across nodes, runs and languages."""
    h = 0xCBF29CE484222325
    for b in key.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return ids[h % max(len(ids), 1)] if ids else None


# --- 5a / 5c: owners ------------------------------------------------------------------


class Owned:
    """The logs and committed offsets of the keys this node owns."""

    def __init__(self) -> None:
        self.logs: Dict[str, List[Any]] = {}
        self.committed: Dict[str, int] = {}

    def append(self, key: str, msg: Any) -> int:
        log = self.logs.setdefault(key, [])
        log.append(msg)
        return len(log) - 1

    def poll(self, offsets: Dict[str, int]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for k in sorted(offsets):
            log = self.logs.get(k)
            if log is not None:
                pairs = entries(log, offsets[k])
                if pairs:
                    out[k] = pairs
        return out

    def to_json(self) -> Dict[str, Any]:
        return {"logs": self.logs, "committed": self.committed}

    def load(self, v: Any) -> None:
        if not isinstance(v, dict):
            raise ValueError(f"not a kafka state: {v!r}")
        logs, committed = v["logs"], v["committed"]
        if not isinstance(logs, dict) or not all(isinstance(l, list) for l in logs.values()):
            raise ValueError("logs: not an object of arrays")
        if not isinstance(committed, dict) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in committed.values()
        ):
            raise ValueError("committed: not an object of integers")
        self.logs, self.committed = logs, committed


def owners_node() -> Node:
    node = Node()
    s = Owned()
    node.handoff(s.to_json, s.load)

    def split(keys: List[Tuple[str, Any]]) -> Tuple[List[Tuple[str, Any]], Dict[str, List[Tuple[str, Any]]]]:
        """Groups keyed items by owner: this node's own, and everyone else's."""
        mine: List[Tuple[str, Any]] = []
        theirs: Dict[str, List[Tuple[str, Any]]] = {}
        for k, v in keys:
            o = owner(k, node.node_ids)
            if o is not None and o != node.node_id:
                theirs.setdefault(o, []).append((k, v))
            else:
                mine.append((k, v))
        return mine, {o: theirs[o] for o in sorted(theirs)}

    async def gather(bodies: List[Tuple[str, Dict[str, Any]]], field: str, merged: Dict[str, Any]) -> Dict[str, Any]:
        calls = [node.call(dest, body, RPC_TIMEOUT_MS) for dest, body in bodies]
        for call in calls:
            r = await call
            m = r.body.get(field)
            if isinstance(m, dict):
                merged.update(m)
        return merged

    @node.on("send", body=Send)
    async def send(req: Message[Send]) -> Dict[str, Any]:
        o = owner(req.body.key, node.node_ids)
        if o is None or o == node.node_id:
            return {"type": "send_ok", "offset": s.append(req.body.key, req.body.msg)}
        r = await node.call(o, {"type": "send", "key": req.body.key, "msg": req.body.msg}, RPC_TIMEOUT_MS)
        offset = r.body.get("offset")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            # The owner may have appended it: an indefinite error.
            raise Error.crash(f"{o} answered a send without an offset")
        return {"type": "send_ok", "offset": offset}

    @node.on("poll", body=Offsets)
    async def poll(req: Message[Offsets]) -> Dict[str, Any]:
        mine, theirs = split(sorted(req.body.offsets.items()))
        msgs = s.poll(dict(mine))
        bodies = [(o, {"type": "poll", "offsets": dict(part)}) for o, part in theirs.items()]
        return {"type": "poll_ok", "msgs": await gather(bodies, "msgs", msgs)}

    @node.on("commit_offsets", body=Offsets)
    async def commit_offsets(req: Message[Offsets]) -> Dict[str, Any]:
        mine, theirs = split(sorted(req.body.offsets.items()))
        for k, o in mine:
            s.committed[k] = max(s.committed.get(k, o), o)
        bodies = [(o, {"type": "commit_offsets", "offsets": dict(part)}) for o, part in theirs.items()]
        await gather(bodies, "offsets", {})
        return {"type": "commit_offsets_ok"}

    @node.on("list_committed_offsets", body=Keys)
    async def list_committed_offsets(req: Message[Keys]) -> Dict[str, Any]:
        mine, theirs = split([(k, None) for k in req.body.keys])
        offsets = {k: s.committed[k] for k, _ in mine if k in s.committed}
        bodies = [
            (o, {"type": "list_committed_offsets", "keys": [k for k, _ in part]})
            for o, part in theirs.items()
        ]
        return {"type": "list_committed_offsets_ok", "offsets": await gather(bodies, "offsets", offsets)}

    return node


# --- 5b: everything in lin-kv ---------------------------------------------------------


def log_key(k: str) -> str:
    return f"log-{k}"


def commit_key(k: str) -> str:
    return f"committed-{k}"


def lin_kv_node() -> Node:
    node = Node()
    kv = LinKV(node, RPC_TIMEOUT_MS)

    def load(v: Any) -> None:
        # Nothing lives in the node (Rust's state is `()`, written as null).
        pass

    node.handoff(lambda: None, load)

    @node.on("send", body=Send)
    async def send(req: Message[Send]) -> Dict[str, Any]:
        key, msg = log_key(req.body.key), req.body.msg
        # After a cas that timed out, the log may already hold the message.
        maybe_from: Optional[int] = None
        while True:
            try:
                log = await kv.read(key, [])
            except Error as e:
                if is_retryable(e):
                    continue
                raise
            if not isinstance(log, list):
                raise Error.malformed(f"{key} is not a log")
            if maybe_from is not None:
                frm, maybe_from = maybe_from, None
                for i, m in enumerate(log[frm:]):
                    if m == msg:
                        return {"type": "send_ok", "offset": frm + i}
            try:
                await kv.cas(key, log, log + [msg], True)
                return {"type": "send_ok", "offset": len(log)}
            except Error as e:
                if e.code == TIMEOUT:
                    maybe_from = len(log)
                elif not is_retryable(e):
                    raise

    @node.on("poll", body=Offsets)
    async def poll(req: Message[Offsets]) -> Dict[str, Any]:
        calls = [
            (k, frm, node.call("lin-kv", {"type": "read", "key": log_key(k)}, RPC_TIMEOUT_MS))
            for k, frm in sorted(req.body.offsets.items())
        ]
        msgs: Dict[str, Any] = {}
        for k, frm, call in calls:
            try:
                r = await call
            except Error as e:
                if e.code == KEY_DOES_NOT_EXIST:
                    continue
                raise
            log = r.body.get("value")
            pairs = entries(log if isinstance(log, list) else [], frm)
            if pairs:
                msgs[k] = pairs
        return {"type": "poll_ok", "msgs": msgs}

    @node.on("commit_offsets", body=Offsets)
    async def commit_offsets(req: Message[Offsets]) -> Dict[str, Any]:
        for k, o in sorted(req.body.offsets.items()):
            key = commit_key(k)
            while True:
                try:
                    cur: Optional[int] = await kv.read(key)
                except Error as e:
                    if e.code == KEY_DOES_NOT_EXIST:
                        cur = None
                    elif is_retryable(e):
                        continue
                    else:
                        raise
                if cur is not None and not (isinstance(cur, int) and not isinstance(cur, bool)):
                    raise Error.malformed(f"{key} is not an offset")
                if cur is not None and cur >= o:
                    break
                try:
                    if cur is not None:
                        await kv.cas(key, cur, o, False)
                    else:
                        await kv.cas(key, -1, o, True)
                    break
                except Error as e:
                    if not is_retryable(e):
                        raise
        return {"type": "commit_offsets_ok"}

    @node.on("list_committed_offsets", body=Keys)
    async def list_committed_offsets(req: Message[Keys]) -> Dict[str, Any]:
        calls = [
            (k, node.call("lin-kv", {"type": "read", "key": commit_key(k)}, RPC_TIMEOUT_MS))
            for k in req.body.keys
        ]
        offsets: Dict[str, Any] = {}
        for k, call in calls:
            try:
                r = await call
            except Error as e:
                if e.code == KEY_DOES_NOT_EXIST:
                    continue
                raise
            c = r.body.get("value")
            if isinstance(c, int) and not isinstance(c, bool):
                offsets[k] = c
        return {"type": "list_committed_offsets_ok", "offsets": offsets}

    return node


def build() -> Node:
    args = glomers.Args()
    lin_kv = args.flag("--lin-kv")
    args.finish()
    return lin_kv_node() if lin_kv else owners_node()


WitWorld = glomers.serve(build)
