"""The node: handlers per message type, replies, RPCs, timers, and a tiny event loop.

The shape follows Maelstrom's Python library: ``node.on("echo", handler)`` (or the
``@node.handler`` decorator, named after the function), ``node.reply(req, body)``,
``node.rpc(dest, body, callback)``, and ``await node.call(dest, body)`` inside an
``async def`` handler. There are no threads and no asyncio: the host calls the node
once per message or timer firing, and before each call returns the SDK runs every
task that became ready (an RPC reply arrived, a timer fired). Handlers, callbacks
and tasks therefore never run at the same time, and state needs no locks.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
import typing
from collections import deque
from typing import (
    Any,
    Awaitable,
    Callable,
    Deque,
    Dict,
    Generator,
    Generic,
    Iterable,
    List,
    Optional,
    Tuple,
    TypeVar,
    Union,
)

from . import _host
from .errors import CRASH, Error

T = TypeVar("T")
Body = Dict[str, Any]

SNAPSHOT_FORMAT = 1
"""The version of the handoff envelope (docs/handoff.md); the Rust SDK writes 1."""

DEFAULT_TIMEOUT_MS = 1000


def _dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _log(text: str) -> None:
    print(text, file=sys.stderr)


class Message(Generic[T]):
    """A message a handler gets: its sender, ``msg_id`` (to reply to) and body.

    ``body`` is the decoded body: the JSON object as a ``dict``, or an instance of the
    dataclass the handler was registered with. ``raw`` is always the dict.
    """

    __slots__ = ("src", "msg_id", "body", "raw")

    def __init__(self, src: str, msg_id: Optional[int], body: T, raw: Body) -> None:
        self.src = src
        self.msg_id = msg_id
        self.body = body
        self.raw = raw

    @property
    def type(self) -> str:
        """The message's ``type`` field."""
        t = self.raw.get("type")
        return t if isinstance(t, str) else ""

    def to_json(self) -> Body:
        """``{"src", "msg_id", "body"}``: the layout of the Rust SDK's ``Request``, so
        a request kept in a node's state crosses a live swap to either language."""
        body = self.body
        if dataclasses.is_dataclass(body) and not isinstance(body, type):
            body = dataclasses.asdict(body)
        return {"src": self.src, "msg_id": self.msg_id, "body": body}

    @classmethod
    def from_json(cls, v: Body, body_type: Optional[type] = None) -> "Message[Any]":
        """The inverse of :meth:`to_json`."""
        raw = v.get("body")
        raw = raw if isinstance(raw, dict) else {}
        body = decode(raw, body_type) if body_type is not None else raw
        return cls(v["src"], v.get("msg_id"), body, raw)

    def __repr__(self) -> str:
        return f"Message(src={self.src!r}, msg_id={self.msg_id!r}, body={self.body!r})"


Request = Message
Response = Message


# --- decoding bodies into dataclasses (error 12 when they do not fit) -----------------


def _check(value: Any, tp: Any, path: str) -> Any:
    if tp is Any or tp is object:
        return value
    origin = typing.get_origin(tp)
    if origin is Union:
        args = typing.get_args(tp)
        for a in args:
            try:
                return _check(value, a, path)
            except Error:
                pass
        raise Error.malformed(f"{path}: {value!r} is not a {tp}")
    if tp is type(None):
        if value is None:
            return None
        raise Error.malformed(f"{path}: expected null, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise Error.malformed(f"{path}: expected a boolean, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise Error.malformed(f"{path}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        raise Error.malformed(f"{path}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise Error.malformed(f"{path}: expected a string, got {value!r}")
    if tp is list or origin is list:
        if not isinstance(value, list):
            raise Error.malformed(f"{path}: expected an array, got {value!r}")
        args = typing.get_args(tp)
        if args:
            return [_check(x, args[0], f"{path}[{i}]") for i, x in enumerate(value)]
        return value
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise Error.malformed(f"{path}: expected an object, got {value!r}")
        args = typing.get_args(tp)
        if args:
            return {k: _check(x, args[1], f"{path}.{k}") for k, x in value.items()}
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise Error.malformed(f"{path}: expected an object, got {value!r}")
        return decode(value, tp)
    return value


_PLANS: Dict[type, List[Tuple[str, Any, bool]]] = {}


def _plan(body_type: type) -> List[Tuple[str, Any, bool]]:
    """Each init field's (name, type, required), worked out once per dataclass
    (``typing.get_type_hints`` is far too slow to run per message)."""
    plan = _PLANS.get(body_type)
    if plan is None:
        if not dataclasses.is_dataclass(body_type):
            raise TypeError(f"{body_type!r} is not a dataclass")
        hints = typing.get_type_hints(body_type)
        plan = [
            (
                f.name,
                hints.get(f.name, Any),
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,  # type: ignore[misc]
            )
            for f in dataclasses.fields(body_type)
            if f.init
        ]
        _PLANS[body_type] = plan
    return plan


def decode(raw: Body, body_type: type) -> Any:
    """Decodes a body into ``body_type`` (a dataclass), as serde does in Rust: every
    field without a default must be present and of its annotated type; unknown fields
    are ignored. A mismatch, or a ``ValueError``/``TypeError`` from the dataclass's
    ``__post_init__``, is :class:`Error` 12 (malformed-request)."""
    kwargs: Dict[str, Any] = {}
    for name, tp, required in _plan(body_type):
        if name in raw:
            kwargs[name] = _check(raw[name], tp, name)
        elif required:
            raise Error.malformed(f"missing field `{name}`")
    try:
        return body_type(**kwargs)
    except (ValueError, TypeError) as e:
        raise Error.malformed(str(e)) from None


# --- the event loop: futures and tasks ------------------------------------------------


class Future(Generic[T]):
    """A value that will be there later: an RPC's reply, a timer, a task's result.
    ``await`` it in an ``async def`` handler or task."""

    __slots__ = ("_done", "_value", "_error", "_callbacks")

    def __init__(self) -> None:
        self._done = False
        self._value: Any = None
        self._error: Optional[BaseException] = None
        self._callbacks: List[Callable[["Future[T]"], None]] = []

    def done(self) -> bool:
        return self._done

    def result(self) -> T:
        """The value, or raises the error; only once done."""
        if not self._done:
            raise RuntimeError("the future is not done yet")
        if self._error is not None:
            raise self._error
        return self._value

    def set_result(self, value: T) -> None:
        if not self._done:
            self._done, self._value = True, value
            self._fire()

    def set_exception(self, error: BaseException) -> None:
        if not self._done:
            self._done, self._error = True, error
            self._fire()

    def add_done_callback(self, fn: Callable[["Future[T]"], None]) -> None:
        if self._done:
            fn(self)
        else:
            self._callbacks.append(fn)

    def _fire(self) -> None:
        cbs, self._callbacks = self._callbacks, []
        for cb in cbs:
            cb(self)

    def __await__(self) -> Generator["Future[T]", None, T]:
        if not self._done:
            yield self
        return self.result()


class Task(Future[T]):
    """A coroutine the node runs: each time what it awaits is done, it is run on (before
    the current host call returns). Awaitable for its result."""

    __slots__ = ("_coro", "_node", "_background")

    def __init__(self, node: "Node", coro: Awaitable[T], background: bool) -> None:
        super().__init__()
        self._coro = coro
        self._node = node
        self._background = background

    def _step(self) -> None:
        try:
            waited = self._coro.send(None)  # type: ignore[attr-defined]
        except StopIteration as s:
            self.set_result(s.value)
            return
        except Error as e:
            if self._background and not self._callbacks:
                _log(f"glomers: a task failed: {e}")
            self.set_exception(e)
            return
        # Anything else propagates: out of the export call, so the component traps.
        if not isinstance(waited, Future):
            raise TypeError(
                f"a glomers task awaited {waited!r}: only glomers futures (node.call, "
                "node.sleep, tasks) can be awaited; there is no asyncio here"
            )
        waited.add_done_callback(lambda _f: self._node._ready.append(self))


async def gather(*aws: Awaitable[Any]) -> List[Any]:
    """Waits for every awaitable, in order, and returns their results; the first error
    raises. RPCs started with ``node.call`` are in flight from the moment of the call,
    so ``await gather(*(node.call(d, b) for d in dests))`` runs them all at once."""
    return [await a for a in aws]


# --- the node -------------------------------------------------------------------------

Handler = Callable[[Message[Any]], Any]
RpcCallback = Callable[[Union[Message[Any], Error]], Any]
Hook = Callable[[], Any]


class Node:
    """A Maelstrom node: what it does with each message type, plus its machinery
    (ids, pending RPCs, timers, tasks).

    >>> node = Node()
    >>> @node.handler
    ... def echo(req):
    ...     node.reply(req, {"type": "echo_ok", "echo": req.body["echo"]})
    """

    def __init__(self) -> None:
        self.node_id: str = ""
        self.node_ids: List[str] = []
        self._handlers: Dict[str, Tuple[Handler, Optional[type]]] = {}
        self._fallback: Optional[Tuple[Handler, Optional[type]]] = None
        self._on_init: List[Hook] = []
        self._on_start: List[Hook] = []
        self._on_restore: List[Hook] = []
        self._handoff: Optional[Tuple[Callable[[], Any], Callable[[Any], None]]] = None
        self._next_msg_id = 0
        self._next_timer_id = 0
        self._pending: Dict[int, Tuple[RpcCallback, int]] = {}
        self._timers: Dict[int, Tuple[Optional[int], Callable[[], Any]]] = {}
        self._firing: Optional[List[Any]] = None  # [timer id, cancelled]
        self._ready: Deque[Task[Any]] = deque()
        self._started = False

    # -- who we are ---------------------------------------------------------------------

    @property
    def peers(self) -> List[str]:
        """Every other node's id."""
        return [n for n in self.node_ids if n != self.node_id]

    # -- registering handlers -----------------------------------------------------------

    def on(
        self, type: str, handler: Optional[Handler] = None, *, body: Optional[type] = None
    ) -> Any:
        """Handles messages of ``type`` with ``handler(req)``; as a decorator when
        ``handler`` is left out.

        With ``body=SomeDataclass`` the body is decoded into it (a body that does not
        fit gets error 12, malformed-request) and ``req.body`` is the instance.

        The handler may reply itself (:meth:`reply`) or return the reply body. An
        ``async def`` handler is run as a task: it may ``await node.call(..)``, and
        its return value is the reply. Raising :class:`Error` replies with that
        error; any other exception crashes the node (the component traps).
        """

        def register(fn: Handler) -> Handler:
            self._handlers[type] = (fn, body)
            return fn

        return register if handler is None else register(handler)

    def handler(self, fn: Handler) -> Handler:
        """Decorator: handles the message type named like the function."""
        self._handlers[fn.__name__] = (fn, None)
        return fn

    def on_any(self, handler: Optional[Handler] = None) -> Any:
        """Handles every message type no :meth:`on` claimed (it may raise
        ``Error.not_supported`` for types it does not know either)."""

        def register(fn: Handler) -> Handler:
            self._fallback = (fn, None)
            return fn

        return register if handler is None else register(handler)

    def on_init(self, fn: Hook) -> Hook:
        """Decorator: runs once the node knows its id (after ``init`` was answered)."""
        self._on_init.append(fn)
        return fn

    def on_restore(self, fn: Hook) -> Hook:
        """Decorator: runs after this version took over a previous version's state in a
        live swap, in place of the ``on_init`` hooks."""
        self._on_restore.append(fn)
        return fn

    def handoff(self, save: Callable[[], Any], load: Callable[[Any], None]) -> None:
        """Hands the node's state to its next version in a live swap. ``save()``
        returns the state as JSON-able data (what the Rust challenge's state type
        serialises to, for a node that must swap with its Rust twin; see
        docs/handoff.md); ``load(data)`` takes it over in the new version (raise
        ``ValueError`` if it cannot: the host then starts it fresh)."""
        self._handoff = (save, load)

    # -- sending ------------------------------------------------------------------------

    def send(self, dest: str, body: Body) -> None:
        """Sends a message that expects no reply."""
        _host.send(dest, _dumps(_object(body)))

    def reply(self, req: Message[Any], body: Body) -> None:
        """Replies to ``req`` with ``body`` (which carries its ``type``); sets
        ``in_reply_to``."""
        body = _object(body)
        if req.msg_id is not None:
            body = dict(body)
            body["in_reply_to"] = req.msg_id
        _host.send(req.src, _dumps(body))

    def reply_error(self, req: Message[Any], error: Error) -> None:
        """Replies to ``req`` with an error."""
        if req.msg_id is not None:
            self._send_error(req.src, req.msg_id, error)

    def _send_error(self, dest: str, msg_id: int, error: Error) -> None:
        body = error.to_body()
        body["in_reply_to"] = msg_id
        _host.send(dest, _dumps(body))

    def rpc(
        self,
        dest: str,
        body: Body,
        callback: RpcCallback,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> int:
        """Sends a request and calls ``callback(result)`` with the reply (a
        :class:`Message`) or an :class:`Error`: an error reply, or a timeout (code 0)
        when no reply came within ``timeout_ms``. Returns the request's msg_id."""
        self._next_msg_id += 1
        msg_id = self._next_msg_id
        body = dict(_object(body))
        body["msg_id"] = msg_id

        def expired() -> None:
            entry = self._pending.pop(msg_id, None)
            if entry is not None:
                self._callback(
                    entry[0], Error.timeout(f"no reply from {dest} within {timeout_ms} ms")
                )

        timer = self._arm(timeout_ms, None, expired)
        self._pending[msg_id] = (callback, timer)
        _host.send(dest, _dumps(body))
        return msg_id

    def call(
        self, dest: str, body: Body, timeout_ms: int = DEFAULT_TIMEOUT_MS
    ) -> Future[Message[Body]]:
        """Sends a request now and returns a future for its reply: ``await`` it for
        the reply :class:`Message`; an error reply or a timeout raises :class:`Error`."""
        fut: Future[Message[Body]] = Future()

        def done(r: Union[Message[Any], Error]) -> None:
            if isinstance(r, Error):
                fut.set_exception(r)
            else:
                fut.set_result(r)

        self.rpc(dest, body, done, timeout_ms)
        return fut

    def _callback(self, cb: Callable[..., Any], *args: Any) -> None:
        """Runs a callback with nobody to reply to (an RPC callback, a timer, a hook):
        an :class:`Error` it raises can only be logged; anything else crashes."""
        try:
            out = cb(*args)
        except Error as e:
            _log(f"glomers: a callback failed: {e}")
            return
        if inspect.iscoroutine(out):
            self.spawn(out)

    # -- timers and tasks ---------------------------------------------------------------

    def after(self, delay_ms: int, fn: Callable[[], Any]) -> int:
        """Calls ``fn()`` once, after ``delay_ms``; returns the timer's id."""
        return self._arm(delay_ms, None, fn)

    def every(self, period_ms: int, fn: Optional[Callable[[], Any]] = None) -> Any:
        """Calls ``fn()`` every ``period_ms`` until cancelled. Before the node is
        initialised (while it is being built), the timer is armed once ``init`` has
        been answered, and again after a live swap; it then returns ``None``. Usable
        as a decorator: ``@node.every(100)``."""
        if fn is None:
            return lambda f: (self.every(period_ms, f), f)[1]
        period = max(1, int(period_ms))
        if not self._started:
            self._on_start.append(lambda: self._arm(period, period, fn))
            return None
        return self._arm(period, period, fn)

    def cancel(self, timer: Optional[int]) -> None:
        """Cancels a timer from :meth:`after` or :meth:`every` (``None`` is ignored)."""
        if timer is None:
            return
        if self._firing is not None and self._firing[0] == timer:
            self._firing[1] = True
            _host.cancel_timer(timer)
            return
        if self._timers.pop(timer, None) is not None:
            _host.cancel_timer(timer)

    def sleep(self, delay_ms: int) -> Future[None]:
        """A future done after ``delay_ms``."""
        fut: Future[None] = Future()
        self._arm(delay_ms, None, lambda: fut.set_result(None))
        return fut

    def spawn(self, coro: Awaitable[T]) -> Task[T]:
        """Runs a coroutine in the background (it starts before the current call
        returns). An :class:`Error` it raises is logged; any other exception crashes
        the node."""
        task: Task[T] = Task(self, coro, background=True)
        self._ready.append(task)
        return task

    def _arm(self, delay_ms: int, period: Optional[int], fn: Callable[[], Any]) -> int:
        self._next_timer_id += 1
        tid = self._next_timer_id
        self._timers[tid] = (period, fn)
        _host.set_timer(tid, max(0, int(delay_ms)))
        return tid

    # -- what the host calls ------------------------------------------------------------

    def _on_message(self, src: str, text: str) -> None:
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        msg_id = body.get("msg_id") if isinstance(body, dict) else None
        irt = body.get("in_reply_to") if isinstance(body, dict) else None
        kind = body.get("type", "") if isinstance(body, dict) else None
        if (
            not isinstance(body, dict)
            or not _opt_u64(msg_id)
            or not _opt_u64(irt)
            or not isinstance(kind, (str, type(None)))
        ):
            _log(
                f"glomers: dropping a message from {src} whose body is not a JSON "
                f"object with a numeric msg_id: {text}"
            )
            return
        kind = kind or ""
        if irt is not None:
            # A reply that arrives after its timeout has nobody waiting: dropped.
            entry = self._pending.pop(irt, None)
            if entry is not None:
                cb, timer = entry
                self.cancel(timer)
                self._callback(cb, _response(src, body))
        elif kind == "init":
            self._init(src, msg_id, body)
        else:
            self._dispatch(src, msg_id, kind, body)
        self._run_tasks()

    def _init(self, src: str, msg_id: Optional[int], body: Body) -> None:
        nid = body.get("node_id")
        ids = body.get("node_ids")
        self.node_id = nid if isinstance(nid, str) else ""
        self.node_ids = [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []
        _host.send(src, _dumps({"type": "init_ok", "in_reply_to": msg_id}))
        self._started = True
        self._run_hooks(self._on_init)
        self._run_hooks(self._on_start)

    def _run_hooks(self, hooks: List[Hook]) -> None:
        taken = list(hooks)
        hooks.clear()
        for h in taken:
            self._callback(h)

    def _dispatch(self, src: str, msg_id: Optional[int], kind: str, raw: Body) -> None:
        entry = self._handlers.get(kind) or self._fallback
        try:
            if entry is None:
                raise Error.not_supported(f"this node does not handle messages of type {kind!r}")
            fn, body_type = entry
            body = decode(raw, body_type) if body_type is not None else raw
            req: Message[Any] = Message(src, msg_id, body, raw)
            out = fn(req)
            if inspect.iscoroutine(out):
                task = Task(self, self._answer(req, out), background=False)
                self._ready.append(task)
            elif out is not None:
                self.reply(req, out)
        except Error as e:
            if msg_id is not None:
                self._send_error(src, msg_id, e)
            else:
                _log(f"glomers: {kind} from {src} failed: {e}")

    async def _answer(self, req: Message[Any], coro: Awaitable[Any]) -> None:
        try:
            out = await coro
        except Error as e:
            if req.msg_id is not None:
                self._send_error(req.src, req.msg_id, e)
            else:
                _log(f"glomers: a request from {req.src} failed: {e}")
            return
        if out is not None:
            self.reply(req, out)

    def _on_timer(self, tid: int) -> None:
        entry = self._timers.pop(tid, None)
        if entry is not None:
            period, fn = entry
            self._firing = [tid, False]
            try:
                self._callback(fn)
            finally:
                cancelled = self._firing[1]
                self._firing = None
            if period is not None and not cancelled:
                self._timers[tid] = (period, fn)
                _host.set_timer(tid, period)
        self._run_tasks()

    def _run_tasks(self) -> None:
        ready = self._ready
        while ready:
            ready.popleft()._step()

    # -- handoff ------------------------------------------------------------------------

    def _snapshot(self) -> Optional[bytes]:
        if self._handoff is None or not self.node_id:
            return None
        try:
            state = self._handoff[0]()
            snap = {
                "glomers_snapshot": SNAPSHOT_FORMAT,
                "node_id": self.node_id,
                "node_ids": self.node_ids,
                "next_msg_id": self._next_msg_id,
                "next_timer_id": self._next_timer_id,
                "state": state,
            }
            return _dumps(snap).encode()
        except (TypeError, ValueError) as e:
            _log(f"glomers: cannot hand the state over (it starts fresh): {e}")
            return None

    def _restore(self, data: bytes) -> Optional[str]:
        """Takes over a previous version's snapshot; returns why not, or ``None``."""
        try:
            snap = json.loads(data)
        except ValueError as e:
            return f"not a glomers snapshot: {e}"
        if not isinstance(snap, dict):
            return "not a glomers snapshot: not a JSON object"
        for field in ("glomers_snapshot", "node_id", "node_ids", "next_msg_id", "next_timer_id", "state"):
            if field not in snap:
                return f"not a glomers snapshot: missing field `{field}`"
        if snap["glomers_snapshot"] != SNAPSHOT_FORMAT:
            return f"snapshot format {snap['glomers_snapshot']} (this SDK reads {SNAPSHOT_FORMAT})"
        if self._handoff is None:
            return "this version does not take state over (no node.handoff(..))"
        try:
            self._handoff[1](snap["state"])
        except (ValueError, TypeError, KeyError, Error) as e:
            return f"the state does not decode: {e!r}"
        self.node_id = str(snap["node_id"])
        self.node_ids = [str(i) for i in snap["node_ids"]]
        self._next_msg_id = max(self._next_msg_id, int(snap["next_msg_id"]))
        self._next_timer_id = max(self._next_timer_id, int(snap["next_timer_id"]))
        self._started = True
        self._on_init.clear()
        self._run_hooks(self._on_start)
        self._run_hooks(self._on_restore)
        self._run_tasks()
        return None


def _opt_u64(v: Any) -> bool:
    return v is None or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 64)


def _object(body: Any) -> Body:
    if not isinstance(body, dict):
        raise TypeError(f"a message body must be a dict (a JSON object), not {body!r}")
    return body


def _response(src: str, body: Body) -> Union[Message[Body], Error]:
    if body.get("type") == "error":
        code = body.get("code")
        if not (isinstance(code, int) and not isinstance(code, bool) and 0 <= code < 1 << 32):
            code = CRASH
        text = body.get("text")
        return Error(code, text if isinstance(text, str) else "")
    return Message(src, body.get("msg_id"), body, body)
