//! Wasm components as the supervisor's versions and instances: a loaded component
//! makes instances (each with its own store, limits and, in a simulation, its own
//! seed); an instance takes one event per call, and a call that traps or runs past
//! a limit becomes a [`GuestCrash`] that names its kind. What a crash does to the node
//! (error 13, restart, back-off, give-up) and how it swaps are
//! `harness::supervisor`'s, the same for `host run`, `host test` and native nodes.

use anyhow::Result;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::Store;

use harness::supervisor::{self, Supervisor};
use harness::{Effect, Input};

use crate::component::Loaded;
use crate::guest::{self, Exports, GuestFault, HostState, NodeOptions};
use crate::sink::Sink;

/// A wasm node under its supervisor: what `host run` serves and `host test` drives.
pub type Node = Supervisor<WasmVersion>;

/// Starts a node of `loaded` with `options`.
pub fn start(loaded: &Loaded, options: NodeOptions) -> Result<Node> {
    let max_crash_streak = options.max_crash_streak;
    let version = WasmVersion::new(loaded.clone(), NodeEnv::open(options)?);
    Supervisor::new(version, max_crash_streak).map_err(|crash| crash.error)
}

/// What every instance of one node shares, whatever its version: its options and
/// where its output goes.
pub struct NodeEnv {
    options: NodeOptions,
    log: Sink,
}

impl NodeEnv {
    /// Opens the node's log as `options` say.
    pub fn open(options: NodeOptions) -> Result<Arc<NodeEnv>> {
        let log = Sink::open(&options.logs)?;
        Ok(Arc::new(NodeEnv { options, log }))
    }
}

/// A component, as one node runs it.
#[derive(Clone)]
pub struct WasmVersion {
    loaded: Loaded,
    env: Arc<NodeEnv>,
}

impl WasmVersion {
    pub fn new(loaded: Loaded, env: Arc<NodeEnv>) -> WasmVersion {
        WasmVersion { loaded, env }
    }

    /// Another component for the same node (a live swap's new version).
    pub fn with(&self, loaded: Loaded) -> WasmVersion {
        WasmVersion::new(loaded, self.env.clone())
    }

    /// The component it runs.
    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }
}

impl supervisor::Version for WasmVersion {
    type Instance = WasmInstance;

    fn label(&self) -> &str {
        &self.loaded.hash
    }

    fn handoff(&self) -> bool {
        self.loaded.handoff()
    }

    fn instantiate(&self, incarnation: u64) -> Result<WasmInstance, GuestCrash> {
        let name = self
            .loaded
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "node".into());
        let env = &self.env;
        let (store, exports) =
            guest::instantiate(&self.loaded.pre, &name, &env.options, &env.log, incarnation)
                .map_err(|error| GuestCrash {
                    kind: CrashKind::Other,
                    error,
                })?;
        Ok(WasmInstance {
            store,
            exports,
            env: env.clone(),
        })
    }
}

/// One instance of a component.
pub struct WasmInstance {
    store: Store<HostState>,
    exports: Exports,
    env: Arc<NodeEnv>,
}

impl WasmInstance {
    /// Readies a call at `now`: its allowances afresh, the virtual clock set.
    fn arm(&mut self, now: Duration) {
        guest::arm(&mut self.store, &self.env.options);
        self.store.data_mut().set_now(now);
    }
}

impl supervisor::Instance for WasmInstance {
    type Failure = GuestCrash;

    fn call(
        &mut self,
        now: Duration,
        input: Input<'_>,
        out: &mut Vec<Effect>,
    ) -> Result<(), GuestCrash> {
        self.arm(now);
        let r = match input {
            Input::Message { src, body } => {
                self.exports.call_on_message(&mut self.store, src, body)
            }
            Input::Timer { id } => self.exports.call_on_timer(&mut self.store, id),
        };
        // Taken either way: a crashed call's sends (an init_ok, say) must not go out.
        let effects = self.store.data_mut().take_effects();
        match r {
            Ok(()) => {
                out.extend(effects);
                Ok(())
            }
            Err(e) => Err(describe(e, &self.env.options)),
        }
    }

    fn snapshot(&mut self, now: Duration) -> Result<Option<Vec<u8>>, GuestCrash> {
        self.arm(now);
        let r = self.exports.call_snapshot(&mut self.store);
        // A snapshot has no effects: what it asked for is dropped.
        self.store.data_mut().take_effects();
        r.map_err(|e| describe(e, &self.env.options))
    }

    fn restore(
        &mut self,
        now: Duration,
        state: &[u8],
        out: &mut Vec<Effect>,
    ) -> Result<Result<(), String>, GuestCrash> {
        self.arm(now);
        let r = self.exports.call_restore(&mut self.store, state);
        let effects = self.store.data_mut().take_effects();
        match r {
            Ok(Ok(())) => {
                out.extend(effects);
                Ok(Ok(()))
            }
            Ok(Err(why)) => Ok(Err(why)),
            Err(e) => Err(describe(e, &self.env.options)),
        }
    }
}

/// A guest call that failed: its kind, and the error (causes, wasm backtrace, trap).
#[derive(Debug)]
pub struct GuestCrash {
    pub kind: CrashKind,
    pub error: anyhow::Error,
}

/// The cause, then the wasm backtrace and trap, one per line (no host stack).
impl std::fmt::Display for GuestCrash {
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

impl supervisor::Failure for GuestCrash {
    fn kind(&self) -> String {
        self.kind.to_string()
    }
    fn headline(&self) -> String {
        self.error.to_string()
    }
    fn one_line(&self) -> String {
        one_line(&self.error)
    }
    fn context(self, what: String) -> GuestCrash {
        GuestCrash {
            kind: self.kind,
            error: self.error.context(what),
        }
    }
}

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

/// The kind of a failed call and its error, said in words.
fn describe(error: wasmtime::Error, options: &NodeOptions) -> GuestCrash {
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
    GuestCrash {
        kind,
        error: anyhow::Error::from(error).context(what),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest::Environment;
    use crate::sink::Logs;
    use harness::supervisor::AfterCrash;
    use std::sync::atomic::AtomicU64;
    use std::time::Instant;

    /// The misbehave fixture, on virtual time (`make fixtures` builds it).
    fn simulated_misbehave() -> Node {
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
                clock: Arc::new(AtomicU64::new(0)),
                seed: 1,
            },
            logs: Logs::Discard,
            ..Default::default()
        };
        let mut node = start(&loaded, options).unwrap();
        let init = r#"{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}"#;
        node.on_message(Duration::ZERO, "c0", init, &mut Vec::new())
            .unwrap();
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
        let mut node = simulated_misbehave();
        let now = Duration::from_secs(5);
        let started = Instant::now();
        let mut out = Vec::new();
        let sleep = r#"{"type":"sleep","ms":1500,"msg_id":2}"#;
        node.on_message(now, "c1", sleep, &mut out).unwrap();
        // The guest saw its clock move on by the sleep; the host did not wait for it.
        let r = reply(&out);
        assert_eq!(r["type"], "sleep_ok", "{r}");
        assert_eq!(r["slept_ms"], 1500, "{r}");
        out.clear();
        let sleep = r#"{"type":"sleep","ms":15000,"msg_id":3}"#;
        let crash = node.on_message(now, "c1", sleep, &mut out).unwrap_err();
        assert_eq!(crash.failure.kind, CrashKind::Blocked, "{crash}");
        assert_eq!(crash.after, AfterCrash::Restarted);
        assert_eq!(reply(&out)["code"], 13);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?} of real time",
            started.elapsed()
        );
    }
}
