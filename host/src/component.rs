//! Engine configuration, the compiled-artifact cache and loading a node's component.
//!
//! Maelstrom starts every node at once (25 for broadcast) on a small machine, so a
//! component is compiled once and the native artifact reused: the cache is keyed by
//! the wasm's content hash and the engine's compatibility hash, one process compiles
//! while the others wait on a file lock, and files appear atomically by rename.

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

use crate::node::{HostState, NodeBindingsPre};

/// How often the engine's epoch advances; a guest call's time budget counts in these.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The process-wide engine. Epoch interruption lets the host stop a guest that loops.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config).expect("the engine configuration is valid");
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn the epoch thread");
        engine
    })
}

/// A component ready to instantiate as many nodes as wanted.
#[derive(Clone)]
pub struct Loaded {
    pub pre: NodeBindingsPre<HostState>,
    pub path: PathBuf,
}

/// Reads, compiles (or takes from the cache) and links the component at `path`,
/// checking that it implements the `glomers:node/node` world.
pub fn load(path: &Path) -> Result<Loaded> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !bytes.starts_with(b"\0asm") {
        bail!(
            "{} is not a WebAssembly file (no \\0asm header); build nodes with `make` or \
             `cargo build --target wasm32-wasip2`",
            path.display()
        );
    }
    let component = compile_cached(&bytes).map_err(|e| {
        anyhow!(
            "{} is not a valid WebAssembly component: {e:#}",
            path.display()
        )
    })?;
    let pre = link(&component).map_err(|e| {
        anyhow!(
            "{} does not implement the glomers:node/node world (see wit/node.wit): {e:#}",
            path.display()
        )
    })?;
    Ok(Loaded {
        pre,
        path: path.to_path_buf(),
    })
}

fn link(component: &Component) -> Result<NodeBindingsPre<HostState>> {
    let mut linker = Linker::<HostState>::new(engine());
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    crate::node::add_to_linker(&mut linker)?;
    let pre = linker.instantiate_pre(component)?;
    Ok(NodeBindingsPre::new(pre)?)
}

/// Compiles `bytes` ahead of time into the cache; returns the artifact's path.
pub fn precompile(path: &Path) -> Result<PathBuf> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let dir = cache_dir().context("no cache directory: set GLOMERS_CACHE_DIR")?;
    let artifact = artifact_path(&dir, &bytes);
    compile_into(&dir, &artifact, &bytes)?;
    Ok(artifact)
}

fn compile_cached(bytes: &[u8]) -> Result<Component> {
    let engine = engine();
    let Some(dir) = cache_dir() else {
        return Ok(Component::new(engine, bytes)?);
    };
    let artifact = artifact_path(&dir, bytes);
    if let Some(c) = deserialize(&artifact) {
        return Ok(c);
    }
    match compile_into(&dir, &artifact, bytes) {
        Ok(()) => deserialize(&artifact)
            .map(Ok)
            .unwrap_or_else(|| Ok(Component::new(engine, bytes)?)),
        // A read-only or full cache must not stop a node from running.
        Err(e) if e.downcast_ref::<std::io::Error>().is_some() => {
            Ok(Component::new(engine, bytes)?)
        }
        Err(e) => Err(e),
    }
}

fn deserialize(artifact: &Path) -> Option<Component> {
    if !artifact.exists() {
        return None;
    }
    // SAFETY: the artifact was written by this same host build (its key holds the
    // engine's compatibility hash) and is only ever replaced atomically by rename.
    unsafe { Component::deserialize_file(engine(), artifact) }.ok()
}

/// Compiles under a lock so that many processes starting at once compile only once.
fn compile_into(dir: &Path, artifact: &Path, bytes: &[u8]) -> Result<()> {
    fs::create_dir_all(dir)?;
    let lock = File::create(artifact.with_extension("lock"))?;
    lock.lock()?;
    if deserialize(artifact).is_some() {
        return Ok(());
    }
    let compiled = engine().precompile_component(bytes)?;
    let tmp = artifact.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, compiled)?;
    fs::rename(&tmp, artifact)?;
    Ok(())
}

fn artifact_path(dir: &Path, bytes: &[u8]) -> PathBuf {
    let mut engine_hash = std::hash::DefaultHasher::new();
    engine()
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    env!("CARGO_PKG_VERSION").hash(&mut engine_hash);
    let content = Sha256::digest(bytes);
    let hex: String = content
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    dir.join(format!("{hex}-{:016x}.cwasm", engine_hash.finish()))
}

/// `$GLOMERS_CACHE_DIR`, else `$XDG_CACHE_HOME/glomers`, else `~/.cache/glomers`.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("GLOMERS_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("glomers"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("glomers"))
}
