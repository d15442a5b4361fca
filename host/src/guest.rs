//! The guest binding and the host's state per instance: the WIT worlds (`node`, and
//! `handoff` with snapshot and restore), the host functions a guest imports (send,
//! timers, a monotonic clock whose waits are bounded), and what bounds one call (its
//! time budget, memory, sends and timer operations). Instantiating a component here
//! gives a store and its exports; what a crash means is the supervisor's business.

use anyhow::Result;
use serde::de::IgnoredAny;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{ResourceLimiter, Store};
use wasmtime_wasi::clocks::WasiClocksView;
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use harness::supervisor::incarnation_seed;
use harness::Effect;

use crate::engine::{engine, EPOCH_TICK};
use crate::log::snippet;
use crate::simclock::{self, SimClock};
use crate::sink::{Logs, Sink};

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

    fn instantiate(&self, store: &mut Store<HostState>) -> Result<Exports> {
        Ok(match self {
            Pre::Plain(p) => Exports::Plain(p.instantiate(store)?),
            Pre::Handoff(p) => Exports::Handoff(p.instantiate(store)?),
        })
    }
}

/// A node's instance, of either world: what the host can call.
pub enum Exports {
    Plain(bindings::Node),
    Handoff(handoff_bindings::Handoff),
}

impl Exports {
    pub fn call_on_message(
        &self,
        store: &mut Store<HostState>,
        src: &str,
        body: &str,
    ) -> wasmtime::Result<()> {
        match self {
            Exports::Plain(i) => i.call_on_message(store, src, body),
            Exports::Handoff(i) => i.call_on_message(store, src, body),
        }
    }

    pub fn call_on_timer(&self, store: &mut Store<HostState>, id: u64) -> wasmtime::Result<()> {
        match self {
            Exports::Plain(i) => i.call_on_timer(store, id),
            Exports::Handoff(i) => i.call_on_timer(store, id),
        }
    }

    /// The `snapshot` export; a component of the plain world has nothing to hand over.
    pub fn call_snapshot(&self, store: &mut Store<HostState>) -> wasmtime::Result<Option<Vec<u8>>> {
        match self {
            Exports::Plain(_) => Ok(None),
            Exports::Handoff(i) => i.call_snapshot(store),
        }
    }

    /// The `restore` export; a component of the plain world refuses every state.
    pub fn call_restore(
        &self,
        store: &mut Store<HostState>,
        state: &[u8],
    ) -> wasmtime::Result<Result<(), String>> {
        match self {
            Exports::Plain(_) => Ok(Err("this version has no handoff (world node)".into())),
            Exports::Handoff(i) => i.call_restore(store, state),
        }
    }
}

/// Where a node's clocks and random numbers come from.
#[derive(Clone)]
pub enum Environment {
    /// The machine's clocks and the OS's randomness (`host run`).
    Real,
    /// A simulation's virtual clock (nanoseconds since the run began) and a seed.
    Simulated { clock: Arc<AtomicU64>, seed: u64 },
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
            max_crash_streak: harness::supervisor::DEFAULT_MAX_CRASH_STREAK,
        }
    }
}

/// Timer operations one call may make: each is a few bytes in the host, so this only
/// stops a guest that arms timers in an endless loop from eating the host's memory.
const MAX_TIMER_OPS_PER_CALL: usize = 1_000_000;
/// Table elements a guest may grow to (its function tables are host memory).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

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

/// What the host keeps for one instance: its WASI context, its limits, what the
/// current call asked for and has used.
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
    /// What the call asked for so far, taken out.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// The run's virtual time, in a simulation (a real clock is read, never set).
    pub fn set_now(&mut self, now: Duration) {
        if let Some(clock) = &self.sim {
            clock.set(u64::try_from(now.as_nanos()).unwrap_or(u64::MAX));
        }
    }

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

fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    bindings::Node::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    // Replaces the monotonic clock WASI's linker functions just defined.
    linker.allow_shadowing(true);
    monotonic_clock::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Links `component` with the host's functions and WASI, by the richest world it
/// implements.
pub fn link(component: &Component) -> Result<Pre> {
    let mut linker = Linker::<HostState>::new(engine());
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    add_to_linker(&mut linker)?;
    let pre = linker.instantiate_pre(component)?;
    Pre::new(pre)
}

/// A fresh instance of `pre`, whose program name is `name`. `incarnation` counts the
/// node's instances, so each instance of a simulated node gets its own seed.
pub fn instantiate(
    pre: &Pre,
    name: &str,
    options: &NodeOptions,
    log: &Sink,
    incarnation: u64,
) -> Result<(Store<HostState>, Exports)> {
    let mut wasi = WasiCtxBuilder::new();
    // Arguments are all a node gets of the outside world: no env, files or network.
    wasi.arg(name)
        .args(&options.args)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .stderr(log.clone())
        .stdout(log.clone());
    let sim = match &options.environment {
        Environment::Real => None,
        Environment::Simulated { clock, seed } => Some(simclock::install(
            &mut wasi,
            clock,
            incarnation_seed(*seed, incarnation),
        )),
    };
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
    let instance = pre.instantiate(&mut store)?;
    Ok((store, instance))
}

/// Starts a call's allowances afresh in `store`.
pub fn arm(store: &mut Store<HostState>, options: &NodeOptions) {
    let ticks = options.call_budget.as_millis() as u64 / EPOCH_TICK.as_millis() as u64;
    store.set_epoch_deadline(ticks.max(1) + 1);
    store.data_mut().call = CallState::new(options.call_budget);
}
