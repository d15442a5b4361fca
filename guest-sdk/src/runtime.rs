//! The node's machinery behind the export calls: ids, pending RPCs, timers and the
//! async tasks. It lives in thread-locals because the component model gives a guest
//! free functions, and no user code ever runs while one of them is borrowed.

use crate::error::Error;
use crate::message::{Head, Incoming, Response};
use crate::sys;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, RawWaker, RawWakerVTable, Waker};

pub(crate) type RpcCallback = Box<dyn FnOnce(Result<Response, Error>)>;
pub(crate) type TimerCallback = Box<dyn FnMut()>;
type Task = Pin<Box<dyn Future<Output = ()>>>;

/// What the SDK calls into for the user's node (built on the first message).
pub(crate) trait Dispatch {
    /// Handles a request that is not a reply and not `init`.
    fn dispatch(&self, msg: Incoming<'_>);
    /// Runs after `init` has been answered.
    fn after_init(&self);
}

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
    tasks: HashMap<u64, Task>,
    next_task_id: u64,
}

thread_local! {
    static CORE: RefCell<Core> = RefCell::new(Core::default());
    static READY: RefCell<VecDeque<u64>> = const { RefCell::new(VecDeque::new()) };
    static NODE: RefCell<Option<Rc<dyn Dispatch>>> = const { RefCell::new(None) };
}

fn with_core<R>(f: impl FnOnce(&mut Core) -> R) -> R {
    CORE.with(|c| f(&mut c.borrow_mut()))
}

pub(crate) fn node_id() -> String {
    with_core(|c| c.node_id.clone())
}

pub(crate) fn node_ids() -> Vec<String> {
    with_core(|c| c.node_ids.clone())
}

pub(crate) fn send_value(dest: &str, body: &Value) {
    // Straight into a byte buffer: `Display` goes through the formatting machinery,
    // which cost a tenth of echo's time under `host run`. A Value always serialises.
    sys::send(dest, &serde_json::to_string(body).unwrap_or_default());
}

pub(crate) fn send_text(dest: &str, body: &str) {
    sys::send(dest, body);
}

pub(crate) fn next_msg_id() -> u64 {
    with_core(|c| {
        c.next_msg_id += 1;
        c.next_msg_id
    })
}

/// Sends `body`, which carries `msg_id` (from `next_msg_id`); `cb` gets the reply, or
/// a timeout error after `timeout_ms`.
pub(crate) fn rpc(dest: &str, msg_id: u64, body: &str, timeout_ms: u64, cb: RpcCallback) {
    let dest_owned = dest.to_string();
    let timer = set_timer(
        timeout_ms,
        Box::new(move || {
            if let Some((cb, _)) = with_core(|c| c.pending.remove(&msg_id)) {
                cb(Err(Error::timeout(format!(
                    "no reply from {dest_owned} within {timeout_ms} ms"
                ))));
            }
        }),
    );
    with_core(|c| c.pending.insert(msg_id, (cb, timer)));
    send_text(dest, body);
}

/// Arms a one-shot timer.
pub(crate) fn set_timer(delay_ms: u64, cb: TimerCallback) -> u64 {
    arm(delay_ms, None, cb)
}

/// Arms a timer that fires every `period_ms` until cancelled.
pub(crate) fn set_periodic(period_ms: u64, cb: TimerCallback) -> u64 {
    arm(period_ms, Some(period_ms), cb)
}

fn arm(delay_ms: u64, period: Option<u64>, cb: TimerCallback) -> u64 {
    let id = with_core(|c| {
        c.next_timer_id += 1;
        c.timers.insert(c.next_timer_id, (period, cb));
        c.next_timer_id
    });
    sys::set_timer(id, delay_ms);
    id
}

pub(crate) fn cancel_timer(id: u64) {
    let known = with_core(|c| match c.firing {
        Some((f, ref mut cancelled)) if f == id => {
            *cancelled = true;
            true
        }
        _ => c.timers.remove(&id).is_some(),
    });
    if known {
        sys::cancel_timer(id);
    }
}

pub(crate) fn spawn(fut: impl Future<Output = ()> + 'static) {
    let id = with_core(|c| {
        c.next_task_id += 1;
        c.tasks.insert(c.next_task_id, Box::pin(fut));
        c.next_task_id
    });
    READY.with(|r| r.borrow_mut().push_back(id));
}

/// Installs the user's node; called once, before the first message.
pub(crate) fn install(node: Rc<dyn Dispatch>) {
    NODE.with(|n| *n.borrow_mut() = Some(node));
}

pub(crate) fn installed() -> bool {
    NODE.with(|n| n.borrow().is_some())
}

fn node() -> Option<Rc<dyn Dispatch>> {
    NODE.with(|n| n.borrow().clone())
}

/// The export `on-message`.
pub(crate) fn on_message(src: String, text: &str) {
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
        if let Some((cb, timer)) = with_core(|c| c.pending.remove(&re)) {
            cancel_timer(timer);
            cb(response(src, text));
        }
    } else if kind == "init" {
        init(src, head.msg_id, text);
    } else if let Some(node) = node() {
        node.dispatch(Incoming {
            src,
            msg_id: head.msg_id,
            kind,
            text,
        });
    }
    run_tasks();
}

fn response(src: String, text: &str) -> Result<Response, Error> {
    let body: Value = serde_json::from_str(text)?;
    if body.get("type").and_then(Value::as_str) == Some("error") {
        let code = body.get("code").and_then(Value::as_u64).unwrap_or(13) as u32;
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

fn init(src: String, msg_id: Option<u64>, text: &str) {
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
    with_core(|c| {
        c.node_id = id;
        c.node_ids = ids;
    });
    let reply = serde_json::json!({"type": "init_ok", "in_reply_to": msg_id});
    send_value(&src, &reply);
    if let Some(node) = node() {
        node.after_init();
    }
}

/// The export `on-timer`.
pub(crate) fn on_timer(id: u64) {
    let entry = with_core(|c| {
        let e = c.timers.remove(&id);
        if e.is_some() {
            c.firing = Some((id, false));
        }
        e
    });
    if let Some((period, mut cb)) = entry {
        cb();
        let cancelled = with_core(|c| c.firing.take().is_some_and(|(_, x)| x));
        if let (Some(p), false) = (period, cancelled) {
            with_core(|c| c.timers.insert(id, (period, cb)));
            sys::set_timer(id, p);
        }
    }
    run_tasks();
}

fn run_tasks() {
    while let Some(id) = READY.with(|r| r.borrow_mut().pop_front()) {
        let Some(mut task) = with_core(|c| c.tasks.remove(&id)) else {
            continue;
        };
        let waker = task_waker(id);
        let mut cx = Context::from_waker(&waker);
        if task.as_mut().poll(&mut cx).is_pending() {
            with_core(|c| c.tasks.insert(id, task));
        }
    }
}

// A waker is a task id: waking queues the task to be polled before the export call returns.
fn task_waker(id: u64) -> Waker {
    fn clone(p: *const ()) -> RawWaker {
        RawWaker::new(p, &VTABLE)
    }
    fn wake(p: *const ()) {
        READY.with(|r| r.borrow_mut().push_back(p as u64));
    }
    fn drop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop);
    // SAFETY: the data is a plain integer, never dereferenced; the guest is single-threaded.
    unsafe { Waker::from_raw(RawWaker::new(id as *const (), &VTABLE)) }
}

/// Forgets everything (native tests start each node afresh).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn reset() {
    CORE.with(|c| *c.borrow_mut() = Core::default());
    READY.with(|r| r.borrow_mut().clear());
    NODE.with(|n| *n.borrow_mut() = None);
    let _ = sys::take();
}
