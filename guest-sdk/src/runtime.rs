//! A node's machinery behind the export calls: its ids, pending RPCs, timers and
//! async tasks, held in one value per node (`Rt`), so a test or a simulation can hold
//! many nodes on one thread, each with its own. `Runtime` is that value together with
//! the user's node; on wasm the component's single instance keeps one in a slot (the
//! component model hands a guest free functions), natively `NativeNode` owns one.
//!
//! User code runs only while no `RefCell` here is borrowed: callbacks and tasks are
//! taken out before they run and put back after, so they may call back in freely.

use crate::error::Error;
use crate::message::{Head, Incoming, Response};
use crate::sys::Host;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};

pub(crate) type RpcCallback = Box<dyn FnOnce(Result<Response, Error>)>;
pub(crate) type TimerCallback = Box<dyn FnMut(&Rt)>;
type Task = Pin<Box<dyn Future<Output = ()>>>;

/// What the runtime calls into for the user's node.
pub(crate) trait App {
    /// The node's machinery.
    fn rt(&self) -> &Rt;
    /// Handles a request that is not a reply and not `init`.
    fn dispatch(&self, msg: Incoming<'_>);
    /// Runs after `init` has been answered.
    fn after_init(&self);
    /// The user's state for a handoff; `None` if the node does not hand it over.
    fn save_state(&self) -> Option<Result<Value, String>>;
    /// Takes over a previous version's state (from `save_state`).
    fn load_state(&self, state: Value) -> Result<(), String>;
    /// Runs after a restore: re-arms periodic work, then the user's `on_restore`.
    fn after_restore(&self);
}

/// What a node hands its next version in a live swap: the SDK's own bookkeeping and
/// the user's state. JSON, so a version whose state gained a `#[serde(default)]`
/// field reads an older version's snapshot.
#[derive(serde::Serialize, serde::Deserialize)]
struct Snapshot {
    /// This layout's version; a later SDK that changes it reads older ones too.
    glomers_snapshot: u32,
    node_id: String,
    node_ids: Vec<String>,
    /// Continued, so replies to the old version's requests match no new request.
    next_msg_id: u64,
    /// Continued, so the old version's timers (still armed in the host) fire into
    /// ids the new version never hands out: they are ignored.
    next_timer_id: u64,
    state: Value,
}

const SNAPSHOT_FORMAT: u32 = 1;

#[derive(Default)]
struct Core {
    node_id: String,
    node_ids: Vec<String>,
    next_msg_id: u64,
    next_timer_id: u64,
    /// msg_id -> (callback, timeout timer id)
    pending: HashMap<u64, (RpcCallback, u64)>,
    /// id -> (period for repeating timers, callback)
    timers: HashMap<u64, (Option<u64>, TimerCallback)>,
    /// The timer whose callback is running, and whether that callback cancelled it.
    firing: Option<(u64, bool)>,
    /// id -> (task, its waker, made once)
    tasks: HashMap<u64, (Task, Waker)>,
    next_task_id: u64,
}

/// Task ids woken and waiting to be polled. Behind `Arc<Mutex>` only because a
/// `Waker` must be `Send + Sync`; a node is single-threaded, so the lock is never
/// contended.
#[derive(Default)]
struct Ready(Mutex<VecDeque<u64>>);

impl Ready {
    fn push(&self, id: u64) {
        if let Ok(mut q) = self.0.lock() {
            q.push_back(id);
        }
    }
    fn pop(&self) -> Option<u64> {
        self.0.lock().ok()?.pop_front()
    }
}

/// Waking a task queues its id, to be polled before the current call returns.
struct TaskWaker {
    id: u64,
    ready: Arc<Ready>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.ready.push(self.id);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.push(self.id);
    }
}

/// One node's machinery.
#[derive(Default)]
pub(crate) struct Rt {
    core: RefCell<Core>,
    ready: Arc<Ready>,
    pub(crate) host: Host,
}

impl Rt {
    pub(crate) fn node_id(&self) -> String {
        self.core.borrow().node_id.clone()
    }

    pub(crate) fn node_ids(&self) -> Vec<String> {
        self.core.borrow().node_ids.clone()
    }

    pub(crate) fn send_value(&self, dest: &str, body: &Value) {
        // Straight into a byte buffer: `Display` goes through the formatting machinery,
        // which cost a tenth of echo's time under `host run`. A Value always serialises.
        self.host
            .send(dest, &serde_json::to_string(body).unwrap_or_default());
    }

    pub(crate) fn send_text(&self, dest: &str, body: &str) {
        self.host.send(dest, body);
    }

    pub(crate) fn next_msg_id(&self) -> u64 {
        let mut c = self.core.borrow_mut();
        c.next_msg_id += 1;
        c.next_msg_id
    }

    /// Sends `body`, which carries `msg_id` (from `next_msg_id`); `cb` gets the reply,
    /// or a timeout error after `timeout_ms`.
    pub(crate) fn rpc(
        &self,
        dest: &str,
        msg_id: u64,
        body: &str,
        timeout_ms: u64,
        cb: RpcCallback,
    ) {
        let dest_owned = dest.to_string();
        let timer = self.set_timer(
            timeout_ms,
            Box::new(move |rt: &Rt| {
                let entry = rt.core.borrow_mut().pending.remove(&msg_id);
                if let Some((cb, _)) = entry {
                    cb(Err(Error::timeout(format!(
                        "no reply from {dest_owned} within {timeout_ms} ms"
                    ))));
                }
            }),
        );
        self.core.borrow_mut().pending.insert(msg_id, (cb, timer));
        self.send_text(dest, body);
    }

    /// Arms a one-shot timer.
    pub(crate) fn set_timer(&self, delay_ms: u64, cb: TimerCallback) -> u64 {
        self.arm(delay_ms, None, cb)
    }

    /// Arms a timer that fires every `period_ms` until cancelled.
    pub(crate) fn set_periodic(&self, period_ms: u64, cb: TimerCallback) -> u64 {
        self.arm(period_ms, Some(period_ms), cb)
    }

    fn arm(&self, delay_ms: u64, period: Option<u64>, cb: TimerCallback) -> u64 {
        let id = {
            let mut c = self.core.borrow_mut();
            c.next_timer_id += 1;
            let id = c.next_timer_id;
            c.timers.insert(id, (period, cb));
            id
        };
        self.host.set_timer(id, delay_ms);
        id
    }

    pub(crate) fn cancel_timer(&self, id: u64) {
        let removed = {
            let mut c = self.core.borrow_mut();
            match c.firing {
                Some((f, ref mut cancelled)) if f == id => {
                    *cancelled = true;
                    Some(None)
                }
                _ => c.timers.remove(&id).map(Some),
            }
        };
        // The callback is dropped here, with nothing borrowed.
        if removed.is_some() {
            self.host.cancel_timer(id);
        }
    }

    pub(crate) fn spawn(&self, fut: impl Future<Output = ()> + 'static) {
        let id = {
            let mut c = self.core.borrow_mut();
            c.next_task_id += 1;
            let id = c.next_task_id;
            let waker = Waker::from(Arc::new(TaskWaker {
                id,
                ready: self.ready.clone(),
            }));
            c.tasks.insert(id, (Box::pin(fut), waker));
            id
        };
        self.ready.push(id);
    }

    /// A message arrived.
    fn on_message(&self, app: &dyn App, src: String, text: &str) {
        let head: Head = match serde_json::from_str(text) {
            Ok(h) if text.trim_start().starts_with('{') => h,
            _ => {
                eprintln!("glomers: dropping a message from {src} whose body is not a JSON object with a numeric msg_id: {text}");
                return;
            }
        };
        let kind = head.kind.as_deref().unwrap_or("");
        if let Some(re) = head.in_reply_to {
            // A reply that arrives after its timeout has nobody waiting, and is dropped.
            let entry = self.core.borrow_mut().pending.remove(&re);
            if let Some((cb, timer)) = entry {
                self.cancel_timer(timer);
                cb(response(src, text));
            }
        } else if kind == "init" {
            self.init(app, src, head.msg_id, text);
        } else {
            app.dispatch(Incoming {
                src,
                msg_id: head.msg_id,
                kind,
                text,
            });
        }
        self.run_tasks();
    }

    fn init(&self, app: &dyn App, src: String, msg_id: Option<u64>, text: &str) {
        let body: Value = serde_json::from_str(text).unwrap_or_default();
        let id = body
            .get("node_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let ids = body
            .get("node_ids")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        {
            let mut c = self.core.borrow_mut();
            c.node_id = id;
            c.node_ids = ids;
        }
        let reply = serde_json::json!({"type": "init_ok", "in_reply_to": msg_id});
        self.send_value(&src, &reply);
        app.after_init();
    }

    /// A timer fired.
    fn on_timer(&self, id: u64) {
        let entry = {
            let mut c = self.core.borrow_mut();
            let e = c.timers.remove(&id);
            if e.is_some() {
                c.firing = Some((id, false));
            }
            e
        };
        if let Some((period, mut cb)) = entry {
            cb(self);
            let cancelled = self.core.borrow_mut().firing.take().is_some_and(|(_, x)| x);
            if let (Some(p), false) = (period, cancelled) {
                self.core.borrow_mut().timers.insert(id, (period, cb));
                self.host.set_timer(id, p);
            }
        }
        self.run_tasks();
    }

    fn run_tasks(&self) {
        while let Some(id) = self.ready.pop() {
            let Some((mut task, waker)) = self.core.borrow_mut().tasks.remove(&id) else {
                continue;
            };
            let mut cx = Context::from_waker(&waker);
            if task.as_mut().poll(&mut cx).is_pending() {
                self.core.borrow_mut().tasks.insert(id, (task, waker));
            }
        }
    }

    /// The handoff snapshot; `None` if the node has none (no `handoff()`, not yet
    /// initialised, or its state failed to serialise, which is reported on stderr).
    fn snapshot(&self, app: &dyn App) -> Option<Vec<u8>> {
        let state = match app.save_state()? {
            Ok(state) => state,
            Err(e) => {
                eprintln!("glomers: cannot hand the state over (it starts fresh): {e}");
                return None;
            }
        };
        let c = self.core.borrow();
        if c.node_id.is_empty() {
            return None;
        }
        let snap = Snapshot {
            glomers_snapshot: SNAPSHOT_FORMAT,
            node_id: c.node_id.clone(),
            node_ids: c.node_ids.clone(),
            next_msg_id: c.next_msg_id,
            next_timer_id: c.next_timer_id,
            state,
        };
        serde_json::to_vec(&snap).ok()
    }

    /// Takes over from a previous version's `snapshot`, in place of `init`.
    fn restore(&self, app: &dyn App, bytes: &[u8]) -> Result<(), String> {
        let snap: Snapshot =
            serde_json::from_slice(bytes).map_err(|e| format!("not a glomers snapshot: {e}"))?;
        if snap.glomers_snapshot != SNAPSHOT_FORMAT {
            return Err(format!(
                "snapshot format {} (this SDK reads {SNAPSHOT_FORMAT})",
                snap.glomers_snapshot
            ));
        }
        app.load_state(snap.state)?;
        {
            let mut c = self.core.borrow_mut();
            c.node_id = snap.node_id;
            c.node_ids = snap.node_ids;
            c.next_msg_id = c.next_msg_id.max(snap.next_msg_id);
            c.next_timer_id = c.next_timer_id.max(snap.next_timer_id);
        }
        app.after_restore();
        self.run_tasks();
        Ok(())
    }

    /// Drops every callback and task: they hold handles on the node, which holds
    /// this, so without it a dropped node would never be freed.
    fn clear(&self) {
        let (pending, timers, tasks) = {
            let mut c = self.core.borrow_mut();
            (
                std::mem::take(&mut c.pending),
                std::mem::take(&mut c.timers),
                std::mem::take(&mut c.tasks),
            )
        };
        drop((pending, timers, tasks));
    }
}

fn response(src: String, text: &str) -> Result<Response, Error> {
    let body: Value = serde_json::from_str(text)?;
    if body.get("type").and_then(Value::as_str) == Some("error") {
        let code = body
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(crate::code::CRASH);
        let text = body
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        Err(Error::new(code, text))
    } else {
        Ok(Response { src, body })
    }
}

/// A built node and its machinery: what the export calls (or `NativeNode`) drive.
pub(crate) struct Runtime {
    app: Box<dyn App>,
}

impl Runtime {
    pub(crate) fn new(app: Box<dyn App>) -> Self {
        Runtime { app }
    }

    pub(crate) fn on_message(&self, src: String, text: &str) {
        self.app.rt().on_message(&*self.app, src, text);
    }

    pub(crate) fn on_timer(&self, id: u64) {
        self.app.rt().on_timer(id);
    }

    pub(crate) fn snapshot(&self) -> Option<Vec<u8>> {
        self.app.rt().snapshot(&*self.app)
    }

    pub(crate) fn restore(&self, bytes: &[u8]) -> Result<(), String> {
        self.app.rt().restore(&*self.app, bytes)
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn host(&self) -> &Host {
        &self.app.rt().host
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.app.rt().clear();
    }
}
