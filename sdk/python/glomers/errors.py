"""Maelstrom's error codes and the error type handlers raise.

A handler that raises :class:`Error` makes the SDK reply ``{"type": "error", "code":
.., "text": ..}`` to the request. Any *other* exception is a crash: it escapes the
export call, the component traps, and the host answers error 13 and restarts the node.
"""

from __future__ import annotations

from typing import Any, Dict

TIMEOUT = 0
NODE_NOT_FOUND = 1
NOT_SUPPORTED = 10
TEMPORARILY_UNAVAILABLE = 11
MALFORMED_REQUEST = 12
CRASH = 13
ABORT = 14
KEY_DOES_NOT_EXIST = 20
KEY_ALREADY_EXISTS = 21
PRECONDITION_FAILED = 22
TXN_CONFLICT = 30

_NAMES = {
    TIMEOUT: "timeout",
    NODE_NOT_FOUND: "node-not-found",
    NOT_SUPPORTED: "not-supported",
    TEMPORARILY_UNAVAILABLE: "temporarily-unavailable",
    MALFORMED_REQUEST: "malformed-request",
    CRASH: "crash",
    ABORT: "abort",
    KEY_DOES_NOT_EXIST: "key-does-not-exist",
    KEY_ALREADY_EXISTS: "key-already-exists",
    PRECONDITION_FAILED: "precondition-failed",
    TXN_CONFLICT: "txn-conflict",
}

_DEFINITE = frozenset(
    {
        NODE_NOT_FOUND,
        NOT_SUPPORTED,
        TEMPORARILY_UNAVAILABLE,
        MALFORMED_REQUEST,
        ABORT,
        KEY_DOES_NOT_EXIST,
        KEY_ALREADY_EXISTS,
        PRECONDITION_FAILED,
        TXN_CONFLICT,
    }
)


def name(code: int) -> str:
    """Maelstrom's name for ``code`` ("unknown" for codes it does not define)."""
    return _NAMES.get(code, "unknown")


def is_definite(code: int) -> bool:
    """Whether an error with ``code`` means the operation certainly did not happen.
    Timeouts, crashes and codes Maelstrom does not define are indefinite."""
    return code in _DEFINITE


class Error(Exception):
    """A Maelstrom error: raised by a handler it becomes the error reply; an RPC whose
    reply is of type ``error`` (or that timed out, code 0) raises it."""

    def __init__(self, code: int, text: str = "") -> None:
        super().__init__(f"error {code} ({name(code)}): {text}")
        self.code = code
        self.text = text

    @property
    def definite(self) -> bool:
        """True when the operation certainly did not take place."""
        return is_definite(self.code)

    def to_body(self) -> Dict[str, Any]:
        """The body of the error reply."""
        return {"type": "error", "code": self.code, "text": self.text}

    @classmethod
    def timeout(cls, text: str = "") -> "Error":
        return cls(TIMEOUT, text)

    @classmethod
    def node_not_found(cls, text: str = "") -> "Error":
        return cls(NODE_NOT_FOUND, text)

    @classmethod
    def not_supported(cls, text: str = "") -> "Error":
        return cls(NOT_SUPPORTED, text)

    @classmethod
    def temporarily_unavailable(cls, text: str = "") -> "Error":
        return cls(TEMPORARILY_UNAVAILABLE, text)

    @classmethod
    def malformed(cls, text: str = "") -> "Error":
        return cls(MALFORMED_REQUEST, text)

    @classmethod
    def crash(cls, text: str = "") -> "Error":
        return cls(CRASH, text)

    @classmethod
    def abort(cls, text: str = "") -> "Error":
        return cls(ABORT, text)

    @classmethod
    def key_does_not_exist(cls, text: str = "") -> "Error":
        return cls(KEY_DOES_NOT_EXIST, text)

    @classmethod
    def key_already_exists(cls, text: str = "") -> "Error":
        return cls(KEY_ALREADY_EXISTS, text)

    @classmethod
    def precondition_failed(cls, text: str = "") -> "Error":
        return cls(PRECONDITION_FAILED, text)

    @classmethod
    def txn_conflict(cls, text: str = "") -> "Error":
        return cls(TXN_CONFLICT, text)


RPCError = Error
"""Maelstrom's Python library calls it RPCError."""
