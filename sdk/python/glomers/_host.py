"""The node's only door to the host: every SDK call into the host goes through here.

Under the component, the functions below call the WIT imports (``glomers:node/host``)
and WASI (arguments, random numbers). The native test double
(:mod:`glomers.testing`) replaces the backend with :func:`install`, so no test needs
wasm.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional, Protocol


class Backend(Protocol):
    """What the SDK needs from a host."""

    def send(self, dest: str, body: str) -> None: ...
    def set_timer(self, id: int, delay_ms: int) -> None: ...
    def cancel_timer(self, id: int) -> None: ...
    def args(self) -> List[str]: ...
    def random_u64(self) -> int: ...


class _Component:
    """The real host: the component's imports (the module ``wit_world.imports.host``,
    which only exists in a component build; :func:`glomers.serve` binds it while the
    component is built, since modules first imported at run time are not found)."""

    def __init__(self, host: object) -> None:
        self._host = host

    def send(self, dest: str, body: str) -> None:
        self._host.send(dest, body)

    def set_timer(self, id: int, delay_ms: int) -> None:
        self._host.set_timer(id, delay_ms)

    def cancel_timer(self, id: int) -> None:
        self._host.cancel_timer(id)

    def args(self) -> List[str]:
        return _wasi_args()

    def random_u64(self) -> int:
        # os.urandom reads WASI's random source at call time. (The `random` module's
        # generator was seeded when the component was built and would repeat.)
        return int.from_bytes(os.urandom(8), "little")


def _wasi_args() -> List[str]:
    """The guest arguments, without the program name: componentize-py sets
    ``sys.argv`` from WASI's ``get-arguments`` when the component starts (not the
    build's; checked under ``host run``)."""
    return list(sys.argv[1:])


_backend: Optional[Backend] = None


def install(backend: Optional[Backend]) -> None:
    """Routes every host call to ``backend`` (``None``: back to the component)."""
    global _backend
    _backend = backend


def bind_component() -> None:
    """Binds the component's imports (called by :func:`glomers.serve` at build time)."""
    from wit_world.imports import host  # type: ignore[import-not-found]

    install(_Component(host))


def _b() -> Backend:
    if _backend is None:
        raise RuntimeError("no host: glomers.serve(..) binds the component's imports, "
                           "glomers.testing.TestNode a test double")
    return _backend


def send(dest: str, body: str) -> None:
    _b().send(dest, body)


def set_timer(id: int, delay_ms: int) -> None:
    _b().set_timer(id, delay_ms)


def cancel_timer(id: int) -> None:
    _b().cancel_timer(id)


def args() -> List[str]:
    return _b().args()


def random_u64() -> int:
    return _b().random_u64()
