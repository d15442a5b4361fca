//! ONE node: a component instance, fed one event at a time (a message, a timer
//! firing), yielding what it asked the host to do. Both drivers (`host run` on real
//! time, `host test` on virtual time) go through here, so a guest behaves, fails and
//! restarts the same way under Maelstrom and under the harness.
//!
//! Policy for a guest that misbehaves (README, "When a node misbehaves"):
//! - A call is all or nothing: what a guest asks for (sends, timers) takes effect when
//!   the call returns, so a call that crashes has no effect at all. A request is
//!   answered by the guest or, when the call crashed, by one error 13, never both.
//! - A call is bounded in time (the budget, which also covers time blocked in a sleep
//!   or poll: a wait longer than what is left of the budget traps at once), in memory
//!   (the limiter) and in what it may emit (sends and bytes; past them it traps).
//! - A crash is reported by its kind (panic, budget, blocked, memory limit, stack
//!   overflow, out-of-bounds access, flood), and the node continues in a fresh
//!   instance that is replayed the original `init`, as a crashed process restarts.
//! - Crash loops: if the restart itself fails (the replayed `init` traps), the node is
//!   down and retried at the first event after a doubling back-off; requests meanwhile
//!   get error 11 (not performed). After `max_crash_streak` crashes in a row with no
//!   call completing in between, the node gives up for good (`AfterCrash::GaveUp`):
//!   later events are ignored and the driver should stop the node.

use anyhow::Result;
use serde::de::IgnoredAny;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::component::{HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{ResourceLimiter, Store};
use wasmtime_wasi::clocks::WasiClocksView;
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::{DynPollable, OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use crate::component::{engine, Loaded, EPOCH_TICK};
use crate::log::snippet;

mod bindings {
    // Trappable, so that `send` can stop a guest that floods the host.
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "node",
        imports: { default: trappable },
    });
}

/// The `handoff` world: `node` plus `snapshot` and `restore`. Its imports are the
/// `node` world's, so one linker serves both.
mod handoff_bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "handoff",
        imports: { default: trappable },
        with: { "glomers:node/host": super::bindings::glomers::node::host },
    });
}

/// A component linked and ready to instantiate, by the world it implements.
#[derive(Clone)]
pub enum Pre {
    /// `glomers:node/node`: no state handoff.
    Plain(bindings::NodePre<HostState>),
    /// `glomers:node/handoff`: can take a snapshot and restore one.
    Handoff(handoff_bindings::HandoffPre<HostState>),
}

impl Pre {
    /// Links `pre` with the richest world the component implements.
    pub fn new(pre: wasmtime::component::InstancePre<HostState>) -> Result<Pre> {
        match handoff_bindings::HandoffPre::new(pre.clone()) {
            Ok(p) => Ok(Pre::Handoff(p)),
            Err(_) => Ok(Pre::Plain(bindings::NodePre::new(pre)?)),
        }
    }

    /// Whether the component exports `snapshot` and `restore`.
    pub fn handoff(&self) -> bool {
        matches!(self, Pre::Handoff(_))
    }

    fn instantiate(&self, store: &mut Store<HostState>) -> Result<Instance> {
        Ok(match self {
            Pre::Plain(p) => Instance::Plain(p.instantiate(store)?),
            Pre::Handoff(p) => Instance::Handoff(p.instantiate(store)?),
        })
    }
}

/// A node's instance, of either world.
enum Instance {
    Plain(bindings::Node),
    Handoff(handoff_bindings::Handoff),
}

impl Instance {
    fn call_on_message(
        &self,
        store: &mut Store<HostState>,
        src: &str,
        body: &str,
    ) -> wasmtime::Result<()> {
        match self {
            Instance::Plain(i) => i.call_on_message(store, src, body),
            Instance::Handoff(i) => i.call_on_message(store, src, body),
        }
    }

    fn call_on_timer(&self, store: &mut Store<HostState>, id: u64) -> wasmtime::Result<()> {
        match self {
            Instance::Plain(i) => i.call_on_timer(store, id),
            Instance::Handoff(i) => i.call_on_timer(store, id),
        }
    }
}

/// What a node asked of the host during one call.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A message to `dest`; `body` is a JSON object text on one line.
    Send {
        dest: String,
        body: String,
    },
    SetTimer {
        id: u64,
        delay_ms: u64,
    },
    CancelTimer {
        id: u64,
    },
    /// The node's instance was discarded after a trap: every timer it had armed is gone.
    Restarted,
}

/// Where a node's clocks and random numbers come from.
#[derive(Clone)]
pub enum Environment {
    /// The machine's clocks and the OS's randomness (`host run`).
    Real,
    /// A simulation's virtual clock (nanoseconds since the run began) and a seed.
    Simulated { clock: Arc<AtomicU64>, seed: u64 },
}

/// Where a node's stderr (and stdout, which must never reach Maelstrom) goes.
#[derive(Clone)]
pub enum Logs {
    Inherit,
    Discard,
    File(PathBuf),
}

/// How a node runs.
#[derive(Clone)]
pub struct NodeOptions {
    /// WASI arguments; the guest sees them after its own name.
    pub args: Vec<String>,
    pub environment: Environment,
    pub logs: Logs,
    /// The most linear memory the guest may grow to.
    pub max_memory: usize,
    /// How long one call into the guest may run (or wait) before it is stopped.
    pub call_budget: Duration,
    /// The most messages one call may send.
    pub max_sends_per_call: usize,
    /// The most bytes (destinations and bodies) one call may send.
    pub max_send_bytes_per_call: usize,
    /// Crashes in a row, with no call completing in between, before the node gives up.
    pub max_crash_streak: u32,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            args: Vec::new(),
            environment: Environment::Real,
            logs: Logs::Inherit,
            max_memory: 256 << 20,
            call_budget: Duration::from_secs(2),
            max_sends_per_call: 100_000,
            max_send_bytes_per_call: 64 << 20,
            max_crash_streak: 10,
        }
    }
}

/// Timer operations one call may make: each is a few bytes in the host, so this only
/// stops a guest that arms timers in an endless loop from eating the host's memory.
const MAX_TIMER_OPS_PER_CALL: usize = 1_000_000;
/// Table elements a guest may grow to (its function tables are host memory).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;
/// The first wait before retrying a node whose restart failed; it doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Why the host stopped a call: the faults it detects itself (wasm traps are
/// `wasmtime::Trap`s). Each becomes the call's error, so the crash names it.
#[derive(Debug)]
pub enum GuestFault {
    /// A sleep or poll longer than what was left of the call's budget.
    Blocked {
        wait: Duration,
        left: Duration,
    },
    TooManySends {
        limit: usize,
    },
    TooManySendBytes {
        limit: usize,
    },
    TooManyTimerOps {
        limit: usize,
    },
    /// Growing linear memory past the limit.
    MemoryLimit {
        desired: usize,
    },
    TableLimit {
        desired: usize,
    },
}

impl std::fmt::Display for GuestFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuestFault::Blocked { wait, left } => write!(
                f,
                "it asked to wait {} ms with {} ms of its budget left",
                wait.as_millis(),
                left.as_millis()
            ),
            GuestFault::TooManySends { limit } => {
                write!(f, "it sent more than {limit} messages in one call")
            }
            GuestFault::TooManySendBytes { limit } => {
                write!(f, "it sent more than {limit} bytes in one call")
            }
            GuestFault::TooManyTimerOps { limit } => {
                write!(
                    f,
                    "it set or cancelled timers more than {limit} times in one call"
                )
            }
            GuestFault::MemoryLimit { desired } => {
                write!(f, "it tried to grow its memory to {} MiB", desired >> 20)
            }
            GuestFault::TableLimit { desired } => {
                write!(f, "it tried to grow a table to {desired} elements")
            }
        }
    }
}

impl std::error::Error for GuestFault {}

/// What kind of failure a crash was, for reports and for drivers that count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashKind {
    /// A panic or abort (wasm `unreachable`).
    Panic,
    /// Ran past the call budget.
    Budget,
    /// Asked to sleep or poll past the call budget.
    Blocked,
    /// Grew past the memory (or table) limit.
    MemoryLimit,
    StackOverflow,
    /// Read or wrote outside its linear memory (or a table).
    OutOfBounds,
    /// Sent (or armed timers) past what one call may.
    Flood,
    /// Another wasm trap (division by zero, a bad indirect call, ...).
    Trap(wasmtime::Trap),
    /// Not a trap: e.g. the instance could not be created.
    Other,
}

/// A short name, for reports.
impl std::fmt::Display for CrashKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CrashKind::Panic => f.write_str("panic"),
            CrashKind::Budget => f.write_str("over its time budget"),
            CrashKind::Blocked => f.write_str("blocked"),
            CrashKind::MemoryLimit => f.write_str("over its memory limit"),
            CrashKind::StackOverflow => f.write_str("stack overflow"),
            CrashKind::OutOfBounds => f.write_str("out-of-bounds access"),
            CrashKind::Flood => f.write_str("flood"),
            CrashKind::Trap(trap) => write!(f, "trap: {trap}"),
            CrashKind::Other => f.write_str("failure"),
        }
    }
}

/// What became of a node after a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterCrash {
    /// Running again in a fresh instance.
    Restarted,
    /// The restart failed; it is retried at the first event after `retry_in`, and
    /// requests until then are answered with error 11.
    Down { retry_in: Duration },
    /// Too many crashes in a row: the node is dead and ignores every later event.
    GaveUp { crashes: u32 },
}

/// A guest call that crashed, and what became of the node.
#[derive(Debug)]
pub struct Crash {
    pub kind: CrashKind,
    pub error: anyhow::Error,
    pub after: AfterCrash,
}

impl Crash {
    /// "restarted", "down ..." or "gave up ...", to follow "the node crashed and".
    pub fn outcome(&self) -> String {
        match self.after {
            AfterCrash::Restarted => "was restarted".into(),
            AfterCrash::Down { retry_in } => format!(
                "could not restart (it is down; retried at the first event after {} ms)",
                retry_in.as_millis()
            ),
            AfterCrash::GaveUp { crashes } => {
                format!("is given up on: {crashes} crashes in a row without completing a call")
            }
        }
    }
}

/// The cause, then the wasm backtrace and trap, one per line (no host stack).
impl std::fmt::Display for Crash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, cause) in self.error.chain().enumerate() {
            if i > 0 {
                f.write_str("\n  ")?;
            }
            write!(f, "{}", cause.to_string().replace('\n', "\n  "))?;
        }
        Ok(())
    }
}

/// The error a driver stops with when a node gave up (`host run` exits with status 1).
#[derive(Debug)]
pub struct GaveUp {
    pub crashes: u32,
}

impl std::fmt::Display for GaveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "giving up on the node: it crashed {} times in a row without completing a call \
             (the crashes are reported above)",
            self.crashes
        )
    }
}

impl std::error::Error for GaveUp {}

/// Where a node's output and the host's notes about it go. A write that fails is
/// dropped: a guest must never crash, nor the host stop, because a log reader left.
#[derive(Clone)]
pub struct Sink(Option<Arc<Mutex<Box<dyn Write + Send>>>>);

impl Sink {
    fn open(logs: &Logs) -> Result<Sink> {
        Ok(Sink(match logs {
            Logs::Inherit => Some(Arc::new(Mutex::new(Box::new(std::io::stderr())))),
            Logs::Discard => None,
            Logs::File(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                Some(Arc::new(Mutex::new(Box::new(file))))
            }
        }))
    }

    fn write(&self, bytes: &[u8]) {
        if let Some(w) = &self.0 {
            let mut w = w.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let _ = w.write_all(bytes);
        }
    }

    fn line(&self, args: std::fmt::Arguments) {
        let mut text = args.to_string();
        text.push('\n');
        self.write(text.as_bytes());
    }
}

impl wasmtime_wasi::cli::IsTerminal for Sink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for Sink {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for Sink {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        Sink::write(self, &bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 << 10)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Sink {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for Sink {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Sink::write(&self, buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// What the current call has used of its allowances.
struct CallState {
    started: Instant,
    budget: Duration,
    /// Virtual time slept in this call (simulations only: a sleep there takes no
    /// real time, so it is counted here against the budget instead).
    slept: Duration,
    sends: usize,
    send_bytes: usize,
    timer_ops: usize,
}

impl CallState {
    fn new(budget: Duration) -> CallState {
        CallState {
            started: Instant::now(),
            budget,
            slept: Duration::ZERO,
            sends: 0,
            send_bytes: 0,
            timer_ops: 0,
        }
    }
}

/// The guest's memory and table limits; a refusal is a typed fault, so the crash
/// report can say "memory limit" by kind rather than by the words of an error.
struct Limiter {
    max_memory: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            return Err(GuestFault::MemoryLimit { desired }.into());
        }
        Ok(maximum.is_none_or(|max| desired <= max))
    }
    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            return Err(GuestFault::TableLimit { desired }.into());
        }
        Ok(maximum.is_none_or(|max| desired <= max))
    }
}

pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    effects: Vec<Effect>,
    call: CallState,
    max_sends: usize,
    max_send_bytes: usize,
    log: Sink,
    /// The node's view of virtual time, in simulations.
    sim: Option<Arc<SimClock>>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl bindings::glomers::node::host::Host for HostState {
    fn send(&mut self, dest: String, mut body: String) -> wasmtime::Result<()> {
        // Counted before anything is kept, so a flood of bad sends is stopped too.
        self.call.sends += 1;
        self.call.send_bytes = self.call.send_bytes.saturating_add(dest.len() + body.len());
        if self.call.sends > self.max_sends {
            return Err(GuestFault::TooManySends {
                limit: self.max_sends,
            }
            .into());
        }
        if self.call.send_bytes > self.max_send_bytes {
            return Err(GuestFault::TooManySendBytes {
                limit: self.max_send_bytes,
            }
            .into());
        }
        let trimmed = body.trim_start();
        if !trimmed.starts_with('{') || serde_json::from_str::<IgnoredAny>(&body).is_err() {
            self.log.line(format_args!(
                "host: dropped a send to {}: the body is not a JSON object: {}",
                snippet(&dest),
                snippet(&body)
            ));
            return Ok(());
        }
        // Maelstrom reads one message per line. A valid JSON text has no raw line
        // breaks inside strings, so any here are whitespace between tokens: blanking
        // them keeps the message on one line and its meaning unchanged.
        if memchr::memchr2(b'\n', b'\r', body.as_bytes()).is_some() {
            body = body.replace(['\n', '\r'], " ");
        }
        self.effects.push(Effect::Send { dest, body });
        Ok(())
    }
    fn set_timer(&mut self, id: u64, delay_ms: u64) -> wasmtime::Result<()> {
        self.count_timer_op()?;
        self.effects.push(Effect::SetTimer { id, delay_ms });
        Ok(())
    }
    fn cancel_timer(&mut self, id: u64) -> wasmtime::Result<()> {
        self.count_timer_op()?;
        self.effects.push(Effect::CancelTimer { id });
        Ok(())
    }
}

impl HostState {
    fn count_timer_op(&mut self) -> wasmtime::Result<()> {
        self.call.timer_ops += 1;
        if self.call.timer_ops > MAX_TIMER_OPS_PER_CALL {
            return Err(GuestFault::TooManyTimerOps {
                limit: MAX_TIMER_OPS_PER_CALL,
            }
            .into());
        }
        Ok(())
    }

    /// A pollable that is ready `nanos` from now, if the call's budget allows the wait.
    /// Real time: the wait really happens and counts against the budget as the epoch
    /// keeps ticking. Virtual time: it is ready at once, the node's clock moves on by
    /// the wait, and the wait counts against the budget, so a sleeping guest never
    /// stalls a simulation in real time and fails the same way under both.
    fn subscribe(&mut self, nanos: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let wait = Duration::from_nanos(nanos);
        let used = self.call.started.elapsed() + self.call.slept;
        let left = self.call.budget.saturating_sub(used);
        if wait > left {
            return Err(GuestFault::Blocked { wait, left }.into());
        }
        match &self.sim {
            Some(clock) => {
                clock.advance(nanos);
                self.call.slept += wait;
                monotonic_clock::Host::subscribe_duration(&mut self.clocks(), 0)
            }
            None => monotonic_clock::Host::subscribe_duration(&mut self.clocks(), nanos),
        }
    }
}

/// `wasi:clocks/monotonic-clock` with the waits bounded by the call budget (WASI's own
/// would block the host for as long as the guest asks, out of the budget's reach).
impl monotonic_clock::Host for HostState {
    fn now(&mut self) -> wasmtime::Result<monotonic_clock::Instant> {
        monotonic_clock::Host::now(&mut self.clocks())
    }
    fn resolution(&mut self) -> wasmtime::Result<monotonic_clock::Duration> {
        monotonic_clock::Host::resolution(&mut self.clocks())
    }
    fn subscribe_instant(
        &mut self,
        when: monotonic_clock::Instant,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        let now = monotonic_clock::Host::now(&mut self.clocks())?;
        self.subscribe(when.saturating_sub(now))
    }
    fn subscribe_duration(
        &mut self,
        duration: monotonic_clock::Duration,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.subscribe(duration)
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    bindings::Node::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    // Replaces the monotonic clock WASI's linker functions just defined.
    linker.allow_shadowing(true);
    monotonic_clock::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Whether the node can take events.
enum State {
    Up,
    /// The last restart failed; retry at the first event at or after `retry_at`.
    Down {
        retry_at: Duration,
    },
    GaveUp,
}

/// One running node.
pub struct Node {
    loaded: Loaded,
    options: NodeOptions,
    store: Store<HostState>,
    instance: Instance,
    /// Live swaps so far (each new instance gets its own seed, as a restart does).
    swaps: u64,
    /// The `init` message, replayed into a fresh instance after a crash.
    init: Option<(String, String)>,
    id: Option<String>,
    crashes: u64,
    /// Crashes since the last call that completed.
    streak: u32,
    state: State,
    log: Sink,
    /// When the node started, for back-off on real time.
    born: Instant,
}

impl Node {
    pub fn new(loaded: &Loaded, options: NodeOptions) -> Result<Node> {
        let log = Sink::open(&options.logs)?;
        let (store, instance) = instantiate(loaded, &options, &log, 0)?;
        Ok(Node {
            loaded: loaded.clone(),
            options,
            store,
            instance,
            swaps: 0,
            init: None,
            id: None,
            crashes: 0,
            streak: 0,
            state: State::Up,
            log,
            born: Instant::now(),
        })
    }

    /// This node's id, once `init` has told it.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// How many times the guest crashed (including restarts that failed).
    pub fn crashes(&self) -> u64 {
        self.crashes
    }

    /// True once the node has given up after a crash loop: it ignores every event.
    pub fn gave_up(&self) -> bool {
        matches!(self.state, State::GaveUp)
    }

    /// Delivers a message; what the node did is appended to `out`.
    pub fn on_message(
        &mut self,
        src: &str,
        body: &str,
        out: &mut Vec<Effect>,
    ) -> Result<(), Crash> {
        if self.init.is_none() {
            self.learn_init(src, body);
        }
        let was_dead = self.gave_up();
        let ready = self.ready(out);
        if !matches!(ready, Ok(true)) {
            // Not performed, and it never will be: a definite error, unlike a crash's 13.
            // A node that had given up is dead and answers nothing, as a dead process.
            if !was_dead {
                let text = "the node is down after crashing; it is retried after a back-off";
                if let Some(reply) = error_reply(body, 11, text) {
                    out.push(Effect::Send {
                        dest: src.to_string(),
                        body: reply,
                    });
                }
            }
            return ready.map(|_| ());
        }
        self.arm();
        let r = self.instance.call_on_message(&mut self.store, src, body);
        self.finish(r, out, Some((src, body)))
    }

    /// Fires timer `id`; what the node did is appended to `out`.
    pub fn on_timer(&mut self, id: u64, out: &mut Vec<Effect>) -> Result<(), Crash> {
        if !self.ready(out)? {
            return Ok(());
        }
        self.arm();
        let r = self.instance.call_on_timer(&mut self.store, id);
        self.finish(r, out, None)
    }

    /// Whether an event can be delivered: the node is up, or down and due for a retry
    /// that succeeds. A retry that fails is a crash of its own.
    fn ready(&mut self, out: &mut Vec<Effect>) -> Result<bool, Crash> {
        match self.state {
            State::Up => Ok(true),
            State::GaveUp => Ok(false),
            State::Down { retry_at } if self.now() < retry_at => Ok(false),
            State::Down { .. } => match self.restart(out) {
                Ok(()) => {
                    self.state = State::Up;
                    Ok(true)
                }
                Err((kind, error)) => Err(self.crashed(kind, error, false)),
            },
        }
    }

    fn learn_init(&mut self, src: &str, body: &str) {
        #[derive(serde::Deserialize)]
        struct Init {
            #[serde(rename = "type")]
            kind: String,
            node_id: Option<String>,
        }
        if let Ok(init) = serde_json::from_str::<Init>(body) {
            if init.kind == "init" {
                self.id = init.node_id;
                self.init = Some((src.to_string(), body.to_string()));
            }
        }
    }

    /// Starts a call's allowances afresh.
    fn arm(&mut self) {
        arm(&mut self.store, &self.options);
    }

    /// The node's clock, for back-off: real or virtual, as its environment is.
    fn now(&self) -> Duration {
        match &self.options.environment {
            Environment::Real => self.born.elapsed(),
            Environment::Simulated { clock, .. } => {
                Duration::from_nanos(clock.load(Ordering::Relaxed))
            }
        }
    }

    fn finish(
        &mut self,
        r: wasmtime::Result<()>,
        out: &mut Vec<Effect>,
        request: Option<(&str, &str)>,
    ) -> Result<(), Crash> {
        let Err(error) = r else {
            out.append(&mut self.store.data_mut().effects);
            self.streak = 0;
            return Ok(());
        };
        // A crashed call has no effect: its sends (an init_ok, say) would otherwise
        // go out beside the error 13 below, and its flood would reach the driver.
        self.store.data_mut().effects.clear();
        let (kind, error) = describe(error, &self.options);
        if let Some((src, body)) = request {
            let text = format!("node crashed: {error}");
            if let Some(reply) = error_reply(body, 13, &text) {
                out.push(Effect::Send {
                    dest: src.to_string(),
                    body: reply,
                });
            }
        }
        out.push(Effect::Restarted);
        let mut crash = self.crashed(kind, error, true);
        if crash.after == AfterCrash::Restarted {
            if let Err((kind, e)) = self.restart(out) {
                // The crash that matters now is the restart's; the first is its context.
                let first = crash.error;
                crash = self.crashed(kind, e, false);
                crash.error = crash
                    .error
                    .context(format!("after the call crashed: {first}"));
            }
        }
        Err(crash)
    }

    /// Counts a crash and decides what becomes of the node. `restart_next`: the caller
    /// is about to restart it (the node stays up if that works).
    fn crashed(&mut self, kind: CrashKind, error: anyhow::Error, restart_next: bool) -> Crash {
        self.crashes += 1;
        self.streak += 1;
        let after = if self.streak >= self.options.max_crash_streak {
            self.state = State::GaveUp;
            AfterCrash::GaveUp {
                crashes: self.streak,
            }
        } else if restart_next {
            AfterCrash::Restarted
        } else {
            let retry_in = backoff(self.streak);
            self.state = State::Down {
                retry_at: self.now() + retry_in,
            };
            AfterCrash::Down { retry_in }
        };
        Crash { kind, error, after }
    }

    /// A fresh instance, replayed the original `init`.
    fn restart(&mut self, out: &mut Vec<Effect>) -> Result<(), (CrashKind, anyhow::Error)> {
        // A restarted process draws new random numbers, even on a seeded simulation.
        let (store, instance) =
            instantiate(&self.loaded, &self.options, &self.log, self.incarnation())
                .map_err(|e| (CrashKind::Other, e.context("the node could not restart")))?;
        self.store = store;
        self.instance = instance;
        if let Some((src, body)) = self.init.clone() {
            self.arm();
            let r = self.instance.call_on_message(&mut self.store, &src, &body);
            let effects = std::mem::take(&mut self.store.data_mut().effects);
            if let Err(e) = r {
                let (kind, error) = describe(e, &self.options);
                return Err((
                    kind,
                    error.context("replaying init to the restarted node crashed"),
                ));
            }
            // The init_ok was sent long ago; keep only the timers the node armed.
            out.extend(
                effects
                    .into_iter()
                    .filter(|e| !matches!(e, Effect::Send { .. })),
            );
        }
        Ok(())
    }
}

/// A live swap that took place: which version replaced which, and how.
#[derive(Debug, Clone)]
pub struct Upgrade {
    /// The old version's content hash, short (as `Loaded::hash`).
    pub from: String,
    /// The new version's content hash, short.
    pub to: String,
    /// True if the new version restored the old one's snapshot; false if it started
    /// fresh with the original `init` (see `fresh_because`).
    pub state_carried: bool,
    /// How long the node was unavailable: snapshot, instantiation, restore (or `init`).
    pub pause: Duration,
    /// Why the state was not carried, when it was not.
    pub fresh_because: Option<String>,
}

/// One line, for stderr and reports.
impl std::fmt::Display for Upgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "swapped {} -> {}: ", self.from, self.to)?;
        match &self.fresh_because {
            None if self.state_carried => f.write_str("state carried")?,
            None => f.write_str("state not carried")?,
            Some(why) => write!(f, "state not carried ({why}; started fresh with init)")?,
        }
        write!(f, ", paused {:.2} ms", self.pause.as_secs_f64() * 1e3)
    }
}

/// A live swap that did not take place: the old version keeps serving.
#[derive(Debug, Clone)]
pub struct UpgradeError {
    /// The running version's content hash, short.
    pub from: String,
    /// The refused version's content hash, short.
    pub to: String,
    /// Why, in one line.
    pub reason: String,
}

impl std::fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not swapping {} -> {}: {}; the old version keeps serving",
            self.from, self.to, self.reason
        )
    }
}

impl std::error::Error for UpgradeError {}

/// A crash's error on one line: its causes joined, the backtrace left out.
fn one_line(e: &anyhow::Error) -> String {
    let mut causes = e
        .chain()
        .map(|c| c.to_string().lines().next().unwrap_or("").to_string());
    let mut line = causes.next().unwrap_or_default();
    for c in causes {
        if !c.is_empty() && !line.contains(&c) {
            line.push_str(": ");
            line.push_str(&c);
        }
    }
    line
}

impl Node {
    /// Each instance's seed offset: restarts and swaps both make a new one.
    fn incarnation(&self) -> u64 {
        self.crashes.wrapping_add(self.swaps << 32)
    }

    /// The content hash (short) of the version running now.
    pub fn version(&self) -> &str {
        &self.loaded.hash
    }

    /// Replaces this node's instance with one of `new`, carrying its state when both
    /// versions can (snapshot/restore); timers armed stay armed (the host owns them).
    ///
    /// Rule when the state cannot be carried (either version lacks the `handoff`
    /// world, the old one has nothing to hand over, or the new one's `restore` says
    /// no): the new version starts fresh and is replayed the original `init`, as after
    /// a crash (`Effect::Restarted` first, so the old version's timers are dropped).
    /// If anything traps (the old version's `snapshot`, the new version's `restore`
    /// or `init`), or the new version cannot be instantiated, nothing changes: the
    /// old version keeps serving and the error says why. Between two calls only.
    pub fn upgrade(
        &mut self,
        new: &Loaded,
        out: &mut Vec<Effect>,
    ) -> Result<Upgrade, UpgradeError> {
        let started = Instant::now();
        let refuse = |reason: String| UpgradeError {
            from: self.loaded.hash.clone(),
            to: new.hash.clone(),
            reason,
        };
        let mut why_fresh = None;
        let snapshot = if self.init.is_none() {
            None
        } else if !matches!(self.state, State::Up) {
            why_fresh = Some("the old version was down".to_string());
            None
        } else if !self.loaded.handoff() {
            why_fresh = Some("the old version has no handoff (world node)".to_string());
            None
        } else if !new.handoff() {
            why_fresh = Some("the new version has no handoff (world node)".to_string());
            None
        } else {
            let Instance::Handoff(old) = &self.instance else {
                unreachable!("a handoff component has a handoff instance")
            };
            arm(&mut self.store, &self.options);
            let r = old.call_snapshot(&mut self.store);
            // A snapshot has no effects: what it asked for is dropped.
            self.store.data_mut().effects.clear();
            match r {
                Ok(Some(bytes)) => Some(bytes),
                Ok(None) => {
                    why_fresh = Some("the old version had no state to hand over".to_string());
                    None
                }
                Err(e) => {
                    let (kind, e) = describe(e, &self.options);
                    return Err(refuse(format!(
                        "the old version crashed ({kind}) taking its snapshot: {}",
                        one_line(&e)
                    )));
                }
            }
        };
        let incarnation = self.incarnation().wrapping_add(1 << 32);
        let fresh = || {
            instantiate(new, &self.options, &self.log, incarnation).map_err(|e| {
                refuse(format!(
                    "the new version cannot be instantiated: {}",
                    one_line(&e)
                ))
            })
        };
        let mut effects = Vec::new();
        let mut carried = None;
        if let Some(bytes) = snapshot {
            let (mut store, instance) = fresh()?;
            let Instance::Handoff(i) = &instance else {
                unreachable!("a handoff component has a handoff instance")
            };
            arm(&mut store, &self.options);
            match i.call_restore(&mut store, &bytes) {
                Ok(Ok(())) => {
                    effects.append(&mut store.data_mut().effects);
                    carried = Some((store, instance));
                }
                Ok(Err(why)) => {
                    why_fresh = Some(format!(
                        "the new version's restore refused the state: {}",
                        snippet(&why)
                    ));
                }
                Err(e) => {
                    let (kind, e) = describe(e, &self.options);
                    return Err(refuse(format!(
                        "the new version crashed ({kind}) in restore: {}",
                        one_line(&e)
                    )));
                }
            }
        }
        let state_carried = carried.is_some();
        let (store, instance) = match carried {
            Some(c) => c,
            None => {
                let (mut store, instance) = fresh()?;
                effects.push(Effect::Restarted);
                if let Some((src, body)) = &self.init {
                    arm(&mut store, &self.options);
                    let r = instance.call_on_message(&mut store, src, body);
                    if let Err(e) = r {
                        let (kind, e) = describe(e, &self.options);
                        return Err(refuse(format!(
                            "the new version crashed ({kind}) handling the replayed init: {}",
                            one_line(&e)
                        )));
                    }
                    // The init_ok went out long ago; keep the timers it armed.
                    effects.extend(
                        std::mem::take(&mut store.data_mut().effects)
                            .into_iter()
                            .filter(|e| !matches!(e, Effect::Send { .. })),
                    );
                }
                (store, instance)
            }
        };
        let from = std::mem::replace(&mut self.loaded, new.clone()).hash;
        self.store = store;
        self.instance = instance;
        self.swaps += 1;
        self.state = State::Up;
        self.streak = 0;
        out.append(&mut effects);
        Ok(Upgrade {
            from,
            to: new.hash.clone(),
            state_carried,
            pause: started.elapsed(),
            fresh_because: why_fresh.filter(|_| !state_carried),
        })
    }
}

/// 100 ms, 200 ms, ... up to 5 s, by how many crashes in a row there have been.
fn backoff(streak: u32) -> Duration {
    let doublings = streak.saturating_sub(2).min(16);
    (FIRST_BACKOFF * (1u32 << doublings)).min(MAX_BACKOFF)
}

/// The kind of a failed call and its error, said in words.
fn describe(error: wasmtime::Error, options: &NodeOptions) -> (CrashKind, anyhow::Error) {
    let fault = error.downcast_ref::<GuestFault>().map(|f| match f {
        GuestFault::Blocked { .. } => CrashKind::Blocked,
        GuestFault::TooManySends { .. }
        | GuestFault::TooManySendBytes { .. }
        | GuestFault::TooManyTimerOps { .. } => CrashKind::Flood,
        GuestFault::MemoryLimit { .. } | GuestFault::TableLimit { .. } => CrashKind::MemoryLimit,
    });
    let kind = fault.unwrap_or_else(|| match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::UnreachableCodeReached) => CrashKind::Panic,
        Some(wasmtime::Trap::Interrupt) => CrashKind::Budget,
        Some(wasmtime::Trap::StackOverflow) => CrashKind::StackOverflow,
        Some(wasmtime::Trap::MemoryOutOfBounds | wasmtime::Trap::TableOutOfBounds) => {
            CrashKind::OutOfBounds
        }
        Some(trap) => CrashKind::Trap(*trap),
        None => CrashKind::Other,
    });
    let budget = options.call_budget.as_millis();
    let what = match kind {
        CrashKind::Panic => "the guest panicked or aborted (its stderr may say why)".to_string(),
        CrashKind::Budget => {
            format!("the guest ran longer than its {budget} ms budget for one call (a loop?)")
        }
        CrashKind::Blocked => format!(
            "the guest blocked in a sleep or poll past its {budget} ms budget for one call \
             (use timers to wait)"
        ),
        CrashKind::MemoryLimit => format!(
            "the guest failed to stay within its {} MiB memory limit",
            options.max_memory >> 20
        ),
        CrashKind::StackOverflow => {
            "the guest overflowed its stack (unbounded recursion?)".to_string()
        }
        CrashKind::OutOfBounds => "the guest accessed memory out of bounds".to_string(),
        CrashKind::Flood => format!(
            "the guest emitted more than one call may (at most {} messages and {} bytes)",
            options.max_sends_per_call, options.max_send_bytes_per_call
        ),
        CrashKind::Trap(trap) => format!("the guest trapped: {trap}"),
        CrashKind::Other => "the guest failed".to_string(),
    };
    (kind, anyhow::Error::from(error).context(what))
}

/// An error reply to `body` if it was a request (it has a msg_id and answers nothing).
fn error_reply(body: &str, code: u32, text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head {
        msg_id: Option<u64>,
        in_reply_to: Option<IgnoredAny>,
    }
    let head: Head = serde_json::from_str(body).ok()?;
    if head.in_reply_to.is_some() {
        return None;
    }
    let msg_id = head.msg_id?;
    Some(
        serde_json::json!({"type": "error", "code": code, "text": text, "in_reply_to": msg_id})
            .to_string(),
    )
}

/// `incarnation` counts restarts, so each instance of a simulated node gets its own seed.
fn instantiate(
    loaded: &Loaded,
    options: &NodeOptions,
    log: &Sink,
    incarnation: u64,
) -> Result<(Store<HostState>, Instance)> {
    let mut wasi = WasiCtxBuilder::new();
    let name = loaded
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "node".into());
    // Arguments are all a node gets of the outside world: no env, files or network.
    wasi.arg(name)
        .args(&options.args)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .stderr(log.clone())
        .stdout(log.clone());
    let mut sim = None;
    if let Environment::Simulated { clock, seed } = &options.environment {
        let seed = seed ^ incarnation.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let clock = Arc::new(SimClock {
            global: clock.clone(),
            floor: AtomicU64::new(0),
        });
        wasi.wall_clock(SimWallClock(clock.clone()))
            .monotonic_clock(SimMonotonicClock(clock.clone()))
            .secure_random(SplitMix(seed))
            .insecure_random(SplitMix(seed.wrapping_add(1)))
            .insecure_random_seed(u128::from(seed));
        sim = Some(clock);
    }
    let state = HostState {
        wasi: wasi.build(),
        table: ResourceTable::new(),
        limiter: Limiter {
            max_memory: options.max_memory,
        },
        effects: Vec::new(),
        call: CallState::new(options.call_budget),
        max_sends: options.max_sends_per_call,
        max_send_bytes: options.max_send_bytes_per_call,
        log: log.clone(),
        sim,
    };
    let mut store = Store::new(engine(), state);
    store.limiter(|s| &mut s.limiter);
    store.epoch_deadline_trap();
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = loaded.pre.instantiate(&mut store)?;
    Ok((store, instance))
}

/// Starts a call's allowances afresh in `store`.
fn arm(store: &mut Store<HostState>, options: &NodeOptions) {
    let ticks = options.call_budget.as_millis() as u64 / EPOCH_TICK.as_millis() as u64;
    store.set_epoch_deadline(ticks.max(1) + 1);
    store.data_mut().call = CallState::new(options.call_budget);
}

/// A node's view of virtual time: the simulation's clock, or later if the node slept
/// during the current call (virtual time does not pass during a call, but a guest that
/// slept must see its clock move on, and never go back).
struct SimClock {
    global: Arc<AtomicU64>,
    floor: AtomicU64,
}

impl SimClock {
    fn now(&self) -> u64 {
        self.global
            .load(Ordering::Relaxed)
            .max(self.floor.load(Ordering::Relaxed))
    }
    fn advance(&self, nanos: u64) {
        self.floor
            .fetch_max(self.now().saturating_add(nanos), Ordering::Relaxed);
    }
}

/// Virtual wall time: a fixed date plus the simulation's clock.
struct SimWallClock(Arc<SimClock>);
/// 2025-01-01T00:00:00Z, so guests that print dates see a plausible one.
const SIM_EPOCH_SECS: u64 = 1_735_689_600;

impl HostWallClock for SimWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Duration::from_secs(SIM_EPOCH_SECS) + Duration::from_nanos(self.0.now())
    }
}

struct SimMonotonicClock(Arc<SimClock>);

impl HostMonotonicClock for SimMonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        self.0.now()
    }
}

/// A small seeded generator for guests' random numbers in simulations.
struct SplitMix(u64);

impl rand::TryRng for SplitMix {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.try_next_u64()? as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Ok(z ^ (z >> 31))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let v = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_replies_go_to_requests_only() {
        let r = error_reply(r#"{"type":"x","msg_id":4}"#, 13, "t").unwrap();
        let v: serde_json::Value = serde_json::from_str(&r).unwrap();
        assert_eq!(v["in_reply_to"], 4);
        assert_eq!(v["code"], 13);
        assert!(error_reply(r#"{"type":"x_ok","msg_id":4,"in_reply_to":2}"#, 13, "t").is_none());
        assert!(error_reply(r#"{"type":"x"}"#, 13, "t").is_none());
        assert!(error_reply("not json", 13, "t").is_none());
    }

    #[test]
    fn backoff_doubles_from_the_first_failed_restart_and_is_capped() {
        assert_eq!(backoff(2), Duration::from_millis(100));
        assert_eq!(backoff(3), Duration::from_millis(200));
        assert_eq!(backoff(4), Duration::from_millis(400));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    /// The misbehave fixture, on virtual time (`make fixtures` builds it).
    fn simulated_misbehave(clock: &Arc<AtomicU64>) -> Node {
        let wasm = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/wasm32-wasip2/guest/misbehave.wasm");
        assert!(
            wasm.is_file(),
            "{} is missing: run `make fixtures`",
            wasm.display()
        );
        let loaded = crate::component::load(&wasm).unwrap();
        let options = NodeOptions {
            environment: Environment::Simulated {
                clock: clock.clone(),
                seed: 1,
            },
            logs: Logs::Discard,
            ..Default::default()
        };
        let mut node = Node::new(&loaded, options).unwrap();
        let init = r#"{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}"#;
        node.on_message("c0", init, &mut Vec::new()).unwrap();
        node
    }

    /// The one message among `out`.
    fn reply(out: &[Effect]) -> serde_json::Value {
        let sends: Vec<&String> = out
            .iter()
            .filter_map(|e| match e {
                Effect::Send { body, .. } => Some(body),
                _ => None,
            })
            .collect();
        assert_eq!(sends.len(), 1, "{out:?}");
        serde_json::from_str(sends[0]).unwrap()
    }

    #[test]
    fn under_virtual_time_a_sleep_takes_no_real_time_but_counts_against_the_budget() {
        let clock = Arc::new(AtomicU64::new(5_000_000_000));
        let mut node = simulated_misbehave(&clock);
        let started = Instant::now();
        let mut out = Vec::new();
        let sleep = r#"{"type":"sleep","ms":1500,"msg_id":2}"#;
        node.on_message("c1", sleep, &mut out).unwrap();
        // The guest saw its clock move on by the sleep; the host did not wait for it.
        let r = reply(&out);
        assert_eq!(r["type"], "sleep_ok", "{r}");
        assert_eq!(r["slept_ms"], 1500, "{r}");
        out.clear();
        let sleep = r#"{"type":"sleep","ms":15000,"msg_id":3}"#;
        let crash = node.on_message("c1", sleep, &mut out).unwrap_err();
        assert_eq!(crash.kind, CrashKind::Blocked, "{crash}");
        assert_eq!(crash.after, AfterCrash::Restarted);
        assert_eq!(reply(&out)["code"], 13);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?} of real time",
            started.elapsed()
        );
    }

    #[test]
    fn sim_clock_moves_on_by_sleeps_and_never_back() {
        let global = Arc::new(AtomicU64::new(1000));
        let c = SimClock {
            global: global.clone(),
            floor: AtomicU64::new(0),
        };
        assert_eq!(c.now(), 1000);
        c.advance(500);
        assert_eq!(c.now(), 1500);
        global.store(1200, Ordering::Relaxed);
        assert_eq!(c.now(), 1500);
        global.store(2000, Ordering::Relaxed);
        assert_eq!(c.now(), 2000);
    }
}
