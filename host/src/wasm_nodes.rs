//! The harness's in-process nodes, as wasm: one `crate::node::Node` per node, each on
//! the simulation's virtual clock (set before every call), with a seed of its own
//! drawn from the run's seed, and writing its stderr to its own log file. With
//! `--upgrade NEW.wasm`, the new version is loaded once, before the run, and each
//! node switches to it when the harness's roll says (`crate::node::Node::upgrade`).

use anyhow::{Context, Result};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::component::Loaded;
use crate::node::{Effect, Environment, Logs, Node, NodeOptions};
use crate::Limits;

/// A wasm node as the harness drives it.
pub struct WasmNode {
    node: Node,
    clock: Arc<AtomicU64>,
    effects: Vec<Effect>,
    /// The version the run rolls to, if it does.
    upgrade: Option<Loaded>,
}

/// The factory `host test` gives the harness: every node an instance of `path`, or
/// of `upgrade` once the roll has reached it.
pub fn factory(
    path: &Path,
    args: &[String],
    limits: &Limits,
    upgrade: Option<&Path>,
) -> Result<harness::NodeFactory> {
    let loaded = crate::component::load(path)?;
    // A new version that cannot load is refused now, not halfway through the run.
    let upgrade = upgrade
        .map(|p| {
            crate::component::load(p).context("--upgrade: the version to roll to cannot be used")
        })
        .transpose()?;
    let args = args.to_vec();
    let limits = limits.clone();
    Ok(Box::new(move |spec: &harness::NodeSpec| {
        let version = match (&upgrade, spec.upgraded) {
            (Some(new), true) => new,
            _ => &loaded,
        };
        let node = WasmNode::start(version, upgrade.clone(), &args, &limits, spec)
            .with_context(|| format!("cannot start node {}", spec.name))?;
        Ok(Box::new(node) as Box<dyn harness::Node>)
    }))
}

impl WasmNode {
    fn start(
        loaded: &Loaded,
        upgrade: Option<Loaded>,
        args: &[String],
        limits: &Limits,
        spec: &harness::NodeSpec,
    ) -> Result<WasmNode> {
        let clock = Arc::new(AtomicU64::new(0));
        let mut options = NodeOptions {
            args: args.to_vec(),
            environment: Environment::Simulated {
                clock: clock.clone(),
                seed: spec.seed,
            },
            logs: Logs::File(spec.log.clone()),
            ..Default::default()
        };
        limits.apply(&mut options);
        Ok(WasmNode {
            node: Node::new(loaded, options)?,
            clock,
            effects: Vec::new(),
            upgrade,
        })
    }

    /// What the node asked for, as the harness's effects.
    fn drain(&mut self, effects: &mut Vec<harness::Effect>) {
        effects.extend(self.effects.drain(..).map(|e| match e {
            Effect::Send { dest, body } => harness::Effect::Send { dest, body },
            Effect::SetTimer { id, delay_ms } => harness::Effect::SetTimer { id, delay_ms },
            Effect::CancelTimer { id } => harness::Effect::CancelTimer { id },
            Effect::Restarted => harness::Effect::Restarted,
        }));
    }
}

impl harness::Node for WasmNode {
    fn handle(
        &mut self,
        now_ns: u64,
        input: harness::Input<'_>,
        effects: &mut Vec<harness::Effect>,
    ) -> Result<(), harness::Crash> {
        self.clock.store(now_ns, Ordering::Relaxed);
        let r = match input {
            harness::Input::Message { src, body } => {
                self.node.on_message(src, body, &mut self.effects)
            }
            harness::Input::Timer { id } => self.node.on_timer(id, &mut self.effects),
        };
        self.drain(effects);
        // The kind and what became of the node lead, as `host run` reports them; a
        // node given up on ignores every later event, as a dead process would.
        r.map_err(|crash| harness::Crash {
            reason: format!("{}; it {}: {}", crash.kind, crash.outcome(), crash),
        })
    }

    fn crashes(&self) -> u64 {
        self.node.crashes()
    }

    fn upgrade(
        &mut self,
        now_ns: u64,
        effects: &mut Vec<harness::Effect>,
    ) -> Result<harness::UpgradeInfo, String> {
        let Some(new) = &self.upgrade else {
            return Err("the run names no version to upgrade to".into());
        };
        self.clock.store(now_ns, Ordering::Relaxed);
        let r = self.node.upgrade(new, &mut self.effects);
        self.drain(effects);
        let u = r.map_err(|e| e.to_string())?;
        Ok(harness::UpgradeInfo {
            from: u.from,
            to: u.to,
            state_carried: u.state_carried,
            fresh_because: u.fresh_because,
            pause: u.pause,
        })
    }
}
