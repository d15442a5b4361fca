//! `Node`: a node's state plus its handlers, and `Ctx`: what a handler can do
//! (reply, send, rpc, timers, tasks). The shape follows Maelstrom's Go library:
//! `Handle` becomes `on`, `Reply` is `ctx.reply`, `RPC` is `ctx.rpc`, `SyncRPC` is
//! `ctx.call(..).await`, and `on_async` is a handler whose `Ok` is the reply.

use crate::error::{Error, Result};
use crate::message::{encode, variants, Incoming, Request, Response};
use crate::runtime::{App, Rt, Runtime};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::cell::{RefCell, RefMut};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

type Handler<S> = Box<dyn FnMut(&mut S, &Ctx<S>, Incoming<'_>) -> Result>;
type Hook<S> = Box<dyn FnMut(&mut S, &Ctx<S>)>;

/// How a node's state crosses a live swap: set by [`Node::handoff`].
struct Handoff<S> {
    save: fn(&S) -> std::result::Result<Value, String>,
    load: fn(Value) -> std::result::Result<S, String>,
}

fn save_json<S: Serialize>(s: &S) -> std::result::Result<Value, String> {
    serde_json::to_value(s).map_err(|e| e.to_string())
}

fn load_json<S: DeserializeOwned>(v: Value) -> std::result::Result<S, String> {
    serde_json::from_value(v).map_err(|e| format!("the state does not decode: {e}"))
}

/// A node under construction: its state and what it does with each message type.
///
/// ```
/// use glomers::prelude::*;
///
/// fn node() -> Node<()> {
///     Node::new(()).on("echo", |_, ctx, req: Request<Value>| {
///         ctx.reply(&req, json!({"type": "echo_ok", "echo": req.body["echo"]}))
///     })
/// }
/// glomers::main!(node);
/// ```
pub struct Node<S: 'static> {
    state: S,
    handlers: HashMap<String, Handler<S>>,
    fallback: Option<Handler<S>>,
    on_init: Vec<Hook<S>>,
    /// Periodic work (`every`): armed after `init` and again after a restore.
    on_start: Vec<Hook<S>>,
    on_restore: Vec<Hook<S>>,
    handoff: Option<Handoff<S>>,
}

impl<S: Serialize + DeserializeOwned + 'static> Node<S> {
    /// Hands the state to the next version in a live swap (the host swapping in a
    /// rebuilt .wasm): the new version starts with this state instead of a fresh one,
    /// skips `on_init` and runs its `on_restore` hooks; its `every` timers are armed
    /// again. The state travels as JSON, so the new version's state type may gain
    /// fields marked `#[serde(default)]`. What does not travel: in-flight tasks and
    /// RPC callbacks (an `on_async` handler awaiting a reply never finishes, as if the
    /// request were lost; keep retry work in the state and resend it from `every` or
    /// `on_restore`), and `after` timers (fields holding a `TimerId` should be
    /// `#[serde(skip)]` and re-armed in `on_restore`).
    pub fn handoff(mut self) -> Self {
        self.handoff = Some(Handoff {
            save: save_json::<S>,
            load: load_json::<S>,
        });
        self
    }
}

impl<S: 'static> Node<S> {
    /// A node with this initial state and no handlers yet.
    pub fn new(state: S) -> Self {
        Node {
            state,
            handlers: HashMap::new(),
            fallback: None,
            on_init: Vec::new(),
            on_start: Vec::new(),
            on_restore: Vec::new(),
            handoff: None,
        }
    }

    /// Handles messages of type `kind`; the body is decoded into `T` (a body that does
    /// not decode gets error 12, malformed-request).
    pub fn on<T, F>(mut self, kind: &str, mut f: F) -> Self
    where
        T: DeserializeOwned,
        F: FnMut(&mut S, &Ctx<S>, Request<T>) -> Result + 'static,
    {
        self.handlers.insert(
            kind.to_string(),
            Box::new(move |s, ctx, msg| f(s, ctx, msg.decode()?)),
        );
        self
    }

    /// Handles messages of type `kind` with an async function whose `Ok` value (any
    /// `Serialize` body carrying its `type`) is the reply and whose `Err` is the error
    /// reply. It gets the state first, for whatever must happen at once, and an owned
    /// `Ctx` to move into the future; between `.await`s the future reaches the state
    /// with `ctx.state()`.
    ///
    /// ```
    /// use glomers::prelude::*;
    ///
    /// #[derive(Deserialize)]
    /// struct Read { key: String }
    ///
    /// #[derive(Serialize)]
    /// #[serde(tag = "type", rename = "read_ok")]
    /// struct ReadOk { value: i64 }
    ///
    /// fn node() -> Node<()> {
    ///     Node::new(()).on_async("read", |_, ctx, req: Request<Read>| async move {
    ///         let value = Kv::lin(&ctx).read(&req.body.key).await?;
    ///         Ok(ReadOk { value })
    ///     })
    /// }
    /// # let _ = node;
    /// ```
    pub fn on_async<T, R, F, Fut>(self, kind: &str, mut f: F) -> Self
    where
        T: DeserializeOwned,
        R: Serialize,
        F: FnMut(&mut S, Ctx<S>, Request<T>) -> Fut + 'static,
        Fut: Future<Output = Result<R>> + 'static,
    {
        self.on(kind, move |s, ctx, req: Request<T>| {
            let (src, msg_id) = (req.src.clone(), req.msg_id);
            let fut = f(s, ctx.clone(), req);
            let c = ctx.clone();
            ctx.spawn(async move {
                let answer = fut.await;
                c.answer(&src, msg_id, answer);
            });
            Ok(())
        })
    }

    /// Handles every message type no `on` claimed, decoded into `T`: typically an
    /// enum tagged by `type` covering a whole message family. A type that is not one
    /// of its variants gets error 10 (not-supported), a body of a known type that does
    /// not decode error 12 (malformed-request).
    pub fn on_any<T, F>(mut self, mut f: F) -> Self
    where
        T: DeserializeOwned,
        F: FnMut(&mut S, &Ctx<S>, Request<T>) -> Result + 'static,
    {
        // The variants are read off `T` once, structurally (see `variants`).
        let known = variants::<T>();
        self.fallback = Some(Box::new(move |s, ctx, msg| {
            if let Some(known) = known {
                if !known.contains(&msg.kind) {
                    return Err(Error::not_supported(format!(
                        "unsupported message type {:?}",
                        msg.kind
                    )));
                }
            }
            f(s, ctx, msg.decode()?)
        }));
        self
    }

    /// Runs once the node knows its id (after `init` was answered): the place to
    /// start periodic work.
    pub fn on_init(mut self, f: impl FnMut(&mut S, &Ctx<S>) + 'static) -> Self {
        self.on_init.push(Box::new(f));
        self
    }

    /// Runs after this version took over a previous version's state in a live swap
    /// (see [`Node::handoff`]), in place of `on_init`: the place to re-arm `after`
    /// timers and resend what was in flight.
    pub fn on_restore(mut self, f: impl FnMut(&mut S, &Ctx<S>) + 'static) -> Self {
        self.on_restore.push(Box::new(f));
        self
    }

    /// Runs `f` every `period` once the node is initialised (or has taken over a
    /// previous version's state).
    pub fn every(mut self, period: Duration, f: impl FnMut(&mut S, &Ctx<S>) + 'static) -> Self {
        let f = Rc::new(RefCell::new(f));
        self.on_start.push(Box::new(move |_, ctx| {
            let f = f.clone();
            ctx.every(period, move |s, ctx| (f.borrow_mut())(s, ctx));
        }));
        self
    }

    fn into_runtime(self) -> Runtime {
        let inner = Rc::new(Inner {
            rt: Rt::default(),
            state: RefCell::new(self.state),
            handlers: RefCell::new(self.handlers),
            fallback: RefCell::new(self.fallback),
            on_init: RefCell::new(self.on_init),
            on_start: RefCell::new(self.on_start),
            on_restore: RefCell::new(self.on_restore),
            handoff: self.handoff,
        });
        Runtime::new(Box::new(Installed(inner)))
    }
}

/// A built node of any state type: what `main!`, `NativeNode` and `TestNode` take, so
/// a node whose design is chosen at start (by an argument) can return one of several
/// `Node<S>` types: `if flag { a::node().into() } else { b::node().into() }`.
pub struct AnyNode(pub(crate) Runtime);

impl<S: 'static> From<Node<S>> for AnyNode {
    fn from(n: Node<S>) -> Self {
        AnyNode(n.into_runtime())
    }
}

/// A built node: its machinery beside its state and handlers, in one allocation that
/// every `Ctx` shares, so a handler reaches its node's runtime without any global.
struct Inner<S> {
    rt: Rt,
    state: RefCell<S>,
    handlers: RefCell<HashMap<String, Handler<S>>>,
    fallback: RefCell<Option<Handler<S>>>,
    on_init: RefCell<Vec<Hook<S>>>,
    on_start: RefCell<Vec<Hook<S>>>,
    on_restore: RefCell<Vec<Hook<S>>>,
    handoff: Option<Handoff<S>>,
}

/// The node as the runtime sees it: a trait object, so the runtime is not generic over
/// the state type (one copy of its code in every component).
struct Installed<S>(Rc<Inner<S>>);

impl<S: 'static> App for Installed<S> {
    fn rt(&self) -> &Rt {
        &self.0.rt
    }

    fn dispatch(&self, msg: Incoming<'_>) {
        let ctx = Ctx {
            inner: self.0.clone(),
        };
        let src = msg.src.clone();
        let msg_id = msg.msg_id;
        let kind = msg.kind;
        let result = {
            let mut state = self.0.state.borrow_mut();
            let mut handlers = self.0.handlers.borrow_mut();
            match handlers.get_mut(kind) {
                Some(h) => h(&mut state, &ctx, msg),
                None => match self.0.fallback.borrow_mut().as_mut() {
                    Some(h) => h(&mut state, &ctx, msg),
                    None => Err(Error::not_supported(format!(
                        "this node does not handle messages of type {kind:?}"
                    ))),
                },
            }
        };
        if let Err(e) = result {
            match msg_id {
                Some(id) => self.0.rt.send_value(&src, &error_body(&e, id)),
                None => eprintln!("glomers: {kind} from {src} failed: {e}"),
            }
        }
    }

    fn after_init(&self) {
        self.run_hooks(&self.0.on_init);
        self.run_hooks(&self.0.on_start);
    }

    fn save_state(&self) -> Option<std::result::Result<Value, String>> {
        let h = self.0.handoff.as_ref()?;
        // Between calls nothing holds the state; `try_` only so a snapshot can never panic.
        Some(match self.0.state.try_borrow() {
            Ok(s) => (h.save)(&s),
            Err(_) => Err("the state is in use".into()),
        })
    }

    fn load_state(&self, state: Value) -> std::result::Result<(), String> {
        let h = self
            .0
            .handoff
            .as_ref()
            .ok_or("this version does not take state over (no `.handoff()`)")?;
        let s = (h.load)(state)?;
        *self.0.state.borrow_mut() = s;
        Ok(())
    }

    fn after_restore(&self) {
        self.run_hooks(&self.0.on_start);
        self.run_hooks(&self.0.on_restore);
    }
}

impl<S: 'static> Installed<S> {
    /// Runs each hook once (they are used up: `init` and a restore happen once).
    fn run_hooks(&self, hooks: &RefCell<Vec<Hook<S>>>) {
        let ctx = Ctx {
            inner: self.0.clone(),
        };
        let mut hooks = std::mem::take(&mut *hooks.borrow_mut());
        let mut state = self.0.state.borrow_mut();
        for h in hooks.iter_mut() {
            h(&mut state, &ctx);
        }
    }
}

fn error_body(e: &Error, in_reply_to: u64) -> Value {
    let mut b = e.to_body();
    b["in_reply_to"] = Value::from(in_reply_to);
    b
}

/// What a handler, callback or task can do. Cheap to clone; clone it into `async`
/// blocks and callbacks.
pub struct Ctx<S> {
    inner: Rc<Inner<S>>,
}

impl<S> Clone for Ctx<S> {
    fn clone(&self) -> Self {
        Ctx {
            inner: self.inner.clone(),
        }
    }
}

/// A timer that can be cancelled with [`Ctx::cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerId(u64);

impl<S: 'static> Ctx<S> {
    /// This node's id, e.g. "n1".
    pub fn id(&self) -> String {
        self.rt().node_id()
    }

    /// Every node's id, this one included, in the order `init` gave them.
    pub fn node_ids(&self) -> Vec<String> {
        self.rt().node_ids()
    }

    /// The other nodes' ids.
    pub fn peers(&self) -> Vec<String> {
        let me = self.id();
        self.node_ids().into_iter().filter(|n| *n != me).collect()
    }

    fn rt(&self) -> &Rt {
        &self.inner.rt
    }

    /// Replies to `req` with `body`, which carries its own `type`: `json!`, or any
    /// `Serialize` type, e.g. a struct with `#[serde(tag = "type", rename = "echo_ok")]`
    /// or an enum with `#[serde(tag = "type")]`. Sets `in_reply_to`.
    pub fn reply<T>(&self, req: &Request<T>, body: impl Serialize) -> Result {
        self.rt()
            .send_text(&req.src, &encode(body, "in_reply_to", req.msg_id)?);
        Ok(())
    }

    /// Replies to `req` with an error.
    pub fn reply_error<T>(&self, req: &Request<T>, e: &Error) {
        if let Some(id) = req.msg_id {
            self.rt().send_value(&req.src, &error_body(e, id));
        }
    }

    /// Answers a request with a handler's outcome: `Ok` is the reply, `Err` the error.
    fn answer(&self, src: &str, msg_id: Option<u64>, outcome: Result<impl Serialize>) {
        let sent = outcome.and_then(|body| {
            self.rt()
                .send_text(src, &encode(body, "in_reply_to", msg_id)?);
            Ok(())
        });
        if let Err(e) = sent {
            match msg_id {
                Some(id) => self.rt().send_value(src, &error_body(&e, id)),
                None => eprintln!("glomers: a request from {src} failed: {e}"),
            }
        }
    }

    /// Sends a message that expects no reply.
    pub fn send(&self, dest: &str, body: impl Serialize) -> Result {
        self.rt().send_text(dest, &encode(body, "msg_id", None)?);
        Ok(())
    }

    /// Sends a request and calls `cb` with the reply, or with a timeout error (code 0)
    /// when none came within `timeout`. Error replies arrive as `Err`.
    pub fn rpc(
        &self,
        dest: &str,
        body: impl Serialize,
        timeout: Duration,
        cb: impl FnOnce(&mut S, &Ctx<S>, Result<Response>) + 'static,
    ) -> Result {
        let msg_id = self.rt().next_msg_id();
        let body = encode(body, "msg_id", Some(msg_id))?;
        let ctx = self.clone();
        self.rt().rpc(
            dest,
            msg_id,
            &body,
            millis(timeout),
            Box::new(move |res| {
                let mut state = ctx.inner.state.borrow_mut();
                cb(&mut state, &ctx, res)
            }),
        );
        Ok(())
    }

    /// Sends a request and waits for its reply, for at most `timeout`.
    pub fn call(
        &self,
        dest: &str,
        body: impl Serialize,
        timeout: Duration,
    ) -> impl Future<Output = Result<Response>> + 'static {
        let slot = Slot::new();
        let msg_id = self.rt().next_msg_id();
        match encode(body, "msg_id", Some(msg_id)) {
            Ok(body) => {
                let s = slot.clone();
                self.rt().rpc(
                    dest,
                    msg_id,
                    &body,
                    millis(timeout),
                    Box::new(move |r| s.fill(r)),
                );
            }
            Err(e) => slot.fill(Err(e)),
        }
        slot
    }

    /// Calls `f` once, after `delay`.
    pub fn after(&self, delay: Duration, f: impl FnOnce(&mut S, &Ctx<S>) + 'static) -> TimerId {
        let ctx = self.clone();
        let mut f = Some(f);
        TimerId(self.rt().set_timer(
            millis(delay),
            Box::new(move |_| {
                if let Some(f) = f.take() {
                    f(&mut ctx.inner.state.borrow_mut(), &ctx)
                }
            }),
        ))
    }

    /// Calls `f` every `period` until cancelled.
    pub fn every(&self, period: Duration, mut f: impl FnMut(&mut S, &Ctx<S>) + 'static) -> TimerId {
        let ctx = self.clone();
        TimerId(self.rt().set_periodic(
            millis(period).max(1),
            Box::new(move |_| f(&mut ctx.inner.state.borrow_mut(), &ctx)),
        ))
    }

    /// Cancels a timer from `after` or `every`.
    pub fn cancel(&self, timer: TimerId) {
        self.rt().cancel_timer(timer.0);
    }

    /// A future that completes after `delay`.
    pub fn sleep(&self, delay: Duration) -> impl Future<Output = ()> + 'static {
        let slot: Slot<()> = Slot::new();
        let s = slot.clone();
        self.rt()
            .set_timer(millis(delay), Box::new(move |_| s.fill(())));
        slot
    }

    /// Runs a future to completion in the background (after the current handler
    /// returns). Use `ctx.state()` inside it, never across an `.await`.
    pub fn spawn(&self, fut: impl Future<Output = ()> + 'static) {
        self.rt().spawn(fut);
    }

    /// The node's state, for tasks and callbacks that were not handed `&mut S`.
    /// Panics if called from a handler, which already holds it: use its `&mut S`.
    pub fn state(&self) -> RefMut<'_, S> {
        self.inner.state.borrow_mut()
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

/// A one-shot value that a future waits for.
pub(crate) struct Slot<T>(Rc<RefCell<(Option<T>, Option<Waker>)>>);

impl<T> Clone for Slot<T> {
    fn clone(&self) -> Self {
        Slot(self.0.clone())
    }
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Self {
        Slot(Rc::new(RefCell::new((None, None))))
    }
    pub(crate) fn fill(&self, v: T) {
        let waker = {
            let mut s = self.0.borrow_mut();
            s.0 = Some(v);
            s.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Future for Slot<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<T> {
        let mut s = self.0.borrow_mut();
        match s.0.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
