"""Guest arguments, the tuning knobs a node is started with (``host run node.wasm --
--down-ms 150``), parsed as the Rust SDK's ``glomers::Args`` does.

Options are ``--name value`` or ``--name=value``, flags are ``--name``, a lone ``--``
is skipped, plain words are positional. A bad value or an unknown argument is reported
on stderr and otherwise ignored (the knob keeps its default).
"""

from __future__ import annotations

import sys
from typing import Callable, Iterable, List, Optional, TypeVar

from . import _host

T = TypeVar("T")


def args() -> List[str]:
    """This node's guest arguments (without the program name)."""
    return _host.args()


def _u64(text: str) -> int:
    v = int(text, 10)
    if v < 0 or v >= 1 << 64 or not text.strip().isdigit():
        raise ValueError(f"invalid digit found in string")
    return v


class Args:
    """The arguments not yet claimed, and what was wrong with those already looked at."""

    def __init__(self, argv: Optional[Iterable[str]] = None) -> None:
        self.rest: List[str] = [a for a in (args() if argv is None else argv) if a != "--"]
        self.problems: List[str] = []

    def flag(self, name: str) -> bool:
        """Whether the flag ``name`` (e.g. ``"--lin-kv"``) was given."""
        before = len(self.rest)
        self.rest = [a for a in self.rest if a != name]
        return len(self.rest) < before

    def value(self, name: str, parse: Callable[[str], T] = _u64) -> Optional[T]:  # type: ignore[assignment]
        """The value of option ``name``, parsed by ``parse`` (an unsigned integer by
        default), if given; the last one wins. A value that does not parse is reported
        and ignored."""
        found: Optional[List[Optional[str]]] = None
        i = 0
        while i < len(self.rest):
            arg = self.rest[i]
            if arg.startswith(name + "="):
                del self.rest[i]
                found = [arg[len(name) + 1 :]]
            elif arg == name:
                del self.rest[i]
                if i < len(self.rest) and not self.rest[i].startswith("--"):
                    found = [self.rest.pop(i)]
                else:
                    found = [None]
            else:
                i += 1
        if found is None:
            return None
        v = found[0]
        if v is None:
            self.problems.append(f"{name} needs a value")
            return None
        try:
            return parse(v)
        except (ValueError, TypeError) as e:
            self.problems.append(f"{name} {v!r}: {e}; ignoring it")
            return None

    def value_or(self, name: str, default: T, parse: Callable[[str], T] = _u64) -> T:  # type: ignore[assignment]
        """The value of option ``name``, or ``default`` when absent or unparsable."""
        v = self.value(name, parse)
        return default if v is None else v

    def positional(self) -> Optional[str]:
        """The next plain word (not an option), if any."""
        for i, a in enumerate(self.rest):
            if not a.startswith("--"):
                return self.rest.pop(i)
        return None

    def finish(self) -> List[str]:
        """Reports every problem and every unclaimed argument on stderr; returns them."""
        for a in self.rest:
            self.problems.append(f"unknown argument {a!r}, ignored")
        self.rest = []
        for p in self.problems:
            print(f"glomers: guest argument {p}", file=sys.stderr)
        return self.problems
