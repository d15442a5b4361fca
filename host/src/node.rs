//! ONE node: a component instance, fed one event at a time (a message, a timer
//! firing), yielding what it asked the host to do. Both drivers (`host run` on real
//! time, `host test` on virtual time) go through here, so a guest behaves, fails and
//! restarts the same way under Maelstrom and under the harness.
//!
//! Policy for a guest that traps (a panic, running past its time budget, growing
//! past its memory limit): the trap is reported with its wasm backtrace, the request
//! being handled is answered with error 13 (crash), and the node continues in a fresh
//! instance that is replayed the original `init`, as a crashed process that restarts.

use anyhow::{anyhow, Result};
use serde::de::IgnoredAny;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use crate::component::{engine, Loaded, EPOCH_TICK};

mod bindings {
    wasmtime::component::bindgen!({ path: "../wit", world: "node" });
}
pub use bindings::NodePre as NodeBindingsPre;

/// What a node asked of the host during one call.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A message to `dest`; `body` is a JSON object text.
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
    /// The node restarted after a trap: every timer it had armed is gone.
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
    /// How long one call into the guest may run before it is stopped.
    pub call_budget: Duration,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            args: Vec::new(),
            environment: Environment::Real,
            logs: Logs::Inherit,
            max_memory: 256 << 20,
            call_budget: Duration::from_secs(2),
        }
    }
}

pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    effects: Vec<Effect>,
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
    fn send(&mut self, dest: String, body: String) {
        let trimmed = body.trim_start();
        if !trimmed.starts_with('{') || serde_json::from_str::<IgnoredAny>(&body).is_err() {
            eprintln!("host: dropped a send to {dest}: the body is not a JSON object: {body}");
            return;
        }
        self.effects.push(Effect::Send { dest, body });
    }
    fn set_timer(&mut self, id: u64, delay_ms: u64) {
        self.effects.push(Effect::SetTimer { id, delay_ms });
    }
    fn cancel_timer(&mut self, id: u64) {
        self.effects.push(Effect::CancelTimer { id });
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    bindings::Node::add_to_linker::<_, HasSelf<_>>(linker, |s| s)
}

/// A guest call that trapped; the node has already restarted.
#[derive(Debug)]
pub struct Crash {
    pub error: anyhow::Error,
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

/// One running node.
pub struct Node {
    loaded: Loaded,
    options: NodeOptions,
    store: Store<HostState>,
    instance: bindings::Node,
    /// The `init` message, replayed into a fresh instance after a crash.
    init: Option<(String, String)>,
    id: Option<String>,
    crashes: u64,
}

impl Node {
    pub fn new(loaded: &Loaded, options: NodeOptions) -> Result<Node> {
        let (store, instance) = instantiate(loaded, &options, 0)?;
        Ok(Node {
            loaded: loaded.clone(),
            options,
            store,
            instance,
            init: None,
            id: None,
            crashes: 0,
        })
    }

    /// This node's id, once `init` has told it.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// How many times the guest trapped and was restarted.
    pub fn crashes(&self) -> u64 {
        self.crashes
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
        self.arm();
        let r = self.instance.call_on_message(&mut self.store, src, body);
        self.finish(r, out, Some((src, body)))
    }

    /// Fires timer `id`; what the node did is appended to `out`.
    pub fn on_timer(&mut self, id: u64, out: &mut Vec<Effect>) -> Result<(), Crash> {
        self.arm();
        let r = self.instance.call_on_timer(&mut self.store, id);
        self.finish(r, out, None)
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

    fn arm(&mut self) {
        let ticks = self.options.call_budget.as_millis() as u64 / EPOCH_TICK.as_millis() as u64;
        self.store.set_epoch_deadline(ticks.max(1) + 1);
    }

    fn finish(
        &mut self,
        r: wasmtime::Result<()>,
        out: &mut Vec<Effect>,
        request: Option<(&str, &str)>,
    ) -> Result<(), Crash> {
        // What the guest did before a trap already happened, as in a real crash.
        out.append(&mut self.store.data_mut().effects);
        let Err(error) = r else { return Ok(()) };
        self.crashes += 1;
        let error = describe_trap(error, &self.options);
        if let Some((src, body)) = request {
            if let Some(reply) = crash_reply(body, &error) {
                out.push(Effect::Send {
                    dest: src.to_string(),
                    body: reply,
                });
            }
        }
        if let Err(e) = self.restart(out) {
            return Err(Crash {
                error: error.context(format!("and the node could not restart: {e:#}")),
            });
        }
        Err(Crash { error })
    }

    fn restart(&mut self, out: &mut Vec<Effect>) -> Result<()> {
        // A restarted process draws new random numbers, even on a seeded simulation.
        let (store, instance) = instantiate(&self.loaded, &self.options, self.crashes)?;
        self.store = store;
        self.instance = instance;
        out.push(Effect::Restarted);
        if let Some((src, body)) = self.init.clone() {
            self.arm();
            self.instance
                .call_on_message(&mut self.store, &src, &body)
                .map_err(|e| anyhow!("replaying init trapped: {e:?}"))?;
            // The init_ok was sent long ago; keep only the timers the node armed.
            let effects = std::mem::take(&mut self.store.data_mut().effects);
            out.extend(
                effects
                    .into_iter()
                    .filter(|e| !matches!(e, Effect::Send { .. })),
            );
        }
        Ok(())
    }
}

fn describe_trap(error: wasmtime::Error, options: &NodeOptions) -> anyhow::Error {
    let trap = error.downcast_ref::<wasmtime::Trap>().copied();
    let error = anyhow::Error::from(error);
    match trap.as_ref() {
        Some(wasmtime::Trap::Interrupt) => error.context(format!(
            "the guest ran longer than its {} ms budget for one call (a loop?)",
            options.call_budget.as_millis()
        )),
        Some(wasmtime::Trap::UnreachableCodeReached) => {
            error.context("the guest panicked or aborted (its stderr may say why)")
        }
        _ if format!("{error:?}").contains("memory") => error.context(format!(
            "the guest failed to stay within its {} MiB memory limit",
            options.max_memory >> 20
        )),
        _ => error.context("the guest trapped"),
    }
}

/// An error 13 reply to a request that crashed the node, if it was a request.
fn crash_reply(body: &str, error: &anyhow::Error) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let msg_id = v.get("msg_id")?.as_u64()?;
    if v.get("in_reply_to").is_some() {
        return None;
    }
    let text = format!("node crashed: {error}");
    Some(
        serde_json::json!({"type": "error", "code": 13, "text": text, "in_reply_to": msg_id})
            .to_string(),
    )
}

/// `incarnation` counts restarts, so each instance of a simulated node gets its own seed.
fn instantiate(
    loaded: &Loaded,
    options: &NodeOptions,
    incarnation: u64,
) -> Result<(Store<HostState>, bindings::Node)> {
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
        .allow_ip_name_lookup(false);
    match &options.logs {
        Logs::Inherit => {
            wasi.stderr(std::io::stderr()).stdout(std::io::stderr());
        }
        Logs::Discard => {}
        Logs::File(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            let out = wasmtime_wasi::cli::OutputFile::new(file.try_clone()?);
            wasi.stderr(wasmtime_wasi::cli::OutputFile::new(file))
                .stdout(out);
        }
    }
    if let Environment::Simulated { clock, seed } = &options.environment {
        let seed = seed ^ incarnation.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        wasi.wall_clock(SimWallClock(clock.clone()))
            .monotonic_clock(SimMonotonicClock(clock.clone()))
            .secure_random(SplitMix(seed))
            .insecure_random(SplitMix(seed.wrapping_add(1)))
            .insecure_random_seed(u128::from(seed));
    }
    let state = HostState {
        wasi: wasi.build(),
        table: ResourceTable::new(),
        limits: StoreLimitsBuilder::new()
            .memory_size(options.max_memory)
            .trap_on_grow_failure(true)
            .build(),
        effects: Vec::new(),
    };
    let mut store = Store::new(engine(), state);
    store.limiter(|s| &mut s.limits);
    store.epoch_deadline_trap();
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = loaded.pre.instantiate(&mut store)?;
    Ok((store, instance))
}

/// Virtual wall time: a fixed date plus the simulation's clock.
struct SimWallClock(Arc<AtomicU64>);
/// 2025-01-01T00:00:00Z, so guests that print dates see a plausible one.
const SIM_EPOCH_SECS: u64 = 1_735_689_600;

impl HostWallClock for SimWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Duration::from_secs(SIM_EPOCH_SECS) + Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

struct SimMonotonicClock(Arc<AtomicU64>);

impl HostMonotonicClock for SimMonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
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
