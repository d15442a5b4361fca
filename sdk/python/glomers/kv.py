"""Clients for Maelstrom's key-value services, as in Maelstrom's own libraries:
``SeqKV`` (sequentially consistent), ``LinKV`` (linearizable), ``LWWKV``
(last-write-wins). Every operation is awaitable (in an ``async def`` handler or task).
"""

from __future__ import annotations

from typing import Any

from .errors import (
    KEY_DOES_NOT_EXIST,
    PRECONDITION_FAILED,
    TEMPORARILY_UNAVAILABLE,
    TIMEOUT,
    Error,
)
from .node import DEFAULT_TIMEOUT_MS, Node

_MISSING = object()


class KV:
    """A handle on one key-value service (any service speaking Maelstrom's KV protocol)."""

    def __init__(self, node: Node, service: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        self.node = node
        self.service = service
        self.timeout_ms = timeout_ms

    async def read(self, key: Any, default: Any = _MISSING) -> Any:
        """The value at ``key``. A missing key raises :class:`Error` 20
        (key-does-not-exist), or returns ``default`` when one is given."""
        try:
            r = await self.node.call(self.service, {"type": "read", "key": key}, self.timeout_ms)
        except Error as e:
            if e.code == KEY_DOES_NOT_EXIST and default is not _MISSING:
                return default
            raise
        return r.body.get("value")

    async def write(self, key: Any, value: Any) -> None:
        """Writes ``value`` at ``key``."""
        await self.node.call(
            self.service, {"type": "write", "key": key, "value": value}, self.timeout_ms
        )

    async def cas(self, key: Any, from_: Any, to: Any, create_if_not_exists: bool = False) -> None:
        """Sets ``key`` to ``to`` if it holds ``from_``; with ``create_if_not_exists``
        a missing key counts as holding ``from_``. A mismatch raises :class:`Error` 22
        (precondition-failed)."""
        await self.node.call(
            self.service,
            {
                "type": "cas",
                "key": key,
                "from": from_,
                "to": to,
                "create_if_not_exists": create_if_not_exists,
            },
            self.timeout_ms,
        )


class SeqKV(KV):
    """The sequentially consistent store, ``seq-kv``."""

    def __init__(self, node: Node, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        super().__init__(node, "seq-kv", timeout_ms)


class LinKV(KV):
    """The linearizable store, ``lin-kv``."""

    def __init__(self, node: Node, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        super().__init__(node, "lin-kv", timeout_ms)


class LWWKV(KV):
    """The last-write-wins store, ``lww-kv``."""

    def __init__(self, node: Node, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        super().__init__(node, "lww-kv", timeout_ms)


def is_retryable(e: Error) -> bool:
    """True for the errors after which a compare-and-set loop should read and retry."""
    return e.code in (PRECONDITION_FAILED, KEY_DOES_NOT_EXIST, TIMEOUT, TEMPORARILY_UNAVAILABLE)
