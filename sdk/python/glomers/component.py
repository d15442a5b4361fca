"""The component's exports: what componentize-py calls, forwarded to the node.

A challenge module ends with ``WitWorld = glomers.serve(build)``; componentize-py
looks for the class ``WitWorld`` in the app module. ``build`` (a function returning
the :class:`Node`) runs on the first call, at run time: the module itself is imported
when the component is *built* (componentize-py pre-initialises the interpreter), so
anything that depends on the run (guest arguments, random numbers, the clock) must
happen in ``build`` or later, never at import.

Crashes: an exception other than :class:`glomers.Error` that escapes a handler,
callback or task escapes the export call. componentize-py turns that into a trap (it
prints the traceback to stderr and aborts), which the host treats as a crash: error 13
to the request, the call's sends dropped, a fresh instance replayed with ``init``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

from .node import Node

_node: Optional[Node] = None
_build: Optional[Callable[[], Node]] = None


def _get() -> Node:
    global _node
    if _node is None:
        assert _build is not None, "glomers.serve(build) was not called"
        _node = _build()
    return _node


def serve(build: Union[Callable[[], Node], Node]) -> Any:
    """The class componentize-py exports for this node (assign it to ``WitWorld``);
    ``None`` natively, outside a component build."""
    global _build
    _build = (lambda: build) if isinstance(build, Node) else build

    try:
        import wit_world  # type: ignore[import-not-found]
        from componentize_py_types import Err  # type: ignore[import-not-found]
    except ImportError:
        # Natively (tests): there is no component to export from.
        return None
    from . import _host

    _host.bind_component()

    class WitWorld(wit_world.WitWorld):  # type: ignore[misc]
        def on_message(self, src: str, body: str) -> None:
            _get()._on_message(src, body)

        def on_timer(self, id: int) -> None:
            _get()._on_timer(id)

        def snapshot(self) -> Optional[bytes]:
            return _get()._snapshot()

        def restore(self, state: bytes) -> None:
            why = _get()._restore(state)
            if why is not None:
                raise Err(why)

    return WitWorld
