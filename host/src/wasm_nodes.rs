//! The harness's in-process nodes, as wasm: one supervised component per node
//! (`harness::supervisor::Supervised`), each on the simulation's virtual clock (set
//! at every call), with a seed of its own drawn from the run's seed, and writing its
//! stderr to its own log file. With `--upgrade NEW.wasm`, the new version is loaded
//! once, before the run, and each node switches to it when the harness's roll says.

use anyhow::{Context, Result};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use harness::supervisor::Supervised;

use crate::component::Loaded;
use crate::guest::{Environment, NodeOptions};
use crate::instance::{NodeEnv, WasmVersion};
use crate::limits::Limits;
use crate::sink::Logs;

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
        let node = start(version, upgrade.as_ref(), &args, &limits, spec)
            .with_context(|| format!("cannot start node {}", spec.name))?;
        Ok(Box::new(node) as Box<dyn harness::Node>)
    }))
}

/// A wasm node as the harness drives it.
fn start(
    loaded: &Loaded,
    upgrade: Option<&Loaded>,
    args: &[String],
    limits: &Limits,
    spec: &harness::NodeSpec,
) -> Result<Supervised<WasmVersion>> {
    let mut options = NodeOptions {
        args: args.to_vec(),
        environment: Environment::Simulated {
            clock: Arc::new(AtomicU64::new(0)),
            seed: spec.seed,
        },
        logs: Logs::File(spec.log.clone()),
        ..Default::default()
    };
    limits.apply(&mut options);
    let max_crash_streak = options.max_crash_streak;
    let env = NodeEnv::open(options)?;
    let next = upgrade.map(|new| WasmVersion::new(new.clone(), env.clone()));
    Supervised::new(
        WasmVersion::new(loaded.clone(), env),
        next,
        max_crash_streak,
    )
    .map_err(|crash| crash.error)
}
