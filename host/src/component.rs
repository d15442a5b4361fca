//! The compiled-artifact cache and loading a node's component.
//!
//! Maelstrom starts every node at once (25 for broadcast) on a small machine, so a
//! component is compiled once and the native artifact reused: the cache is keyed by
//! the wasm's content hash and the engine's compatibility hash, one process compiles
//! while the others wait on a file lock, and files appear atomically by rename.
//!
//! Loading native code is trusting it, so no artifact is loaded unverified: beside
//! each artifact (`<key>.cwasm`) a small seal (`<key>.seal`) holds the full SHA-256 of
//! the component it was compiled from and the artifact's length and CRC-32. An
//! artifact whose checksum does not match (flipped bits, a truncated write) or whose
//! seal names another component (files copied under the wrong key) is reported on
//! stderr in one line and recompiled. The artifact is checked by streaming it through
//! the checksum and then mapped by wasmtime as before, so 25 nodes starting together
//! still share its pages: a SHA-256 of it, or a private copy, cost each start more
//! than the rest of loading (see `make bench`). This guards against accidents, not
//! against someone who can write the cache (they could write a matching seal); and
//! between the check and the mapping the file can only be replaced by this host's own
//! atomic rename of a fresh compile of the same component.

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use wasmtime::component::Component;

use crate::engine::engine;
use crate::guest::{link, Pre};
use crate::log::elog;

/// A component larger than this is refused unread: reading is bounded, so a path to
/// an endless file (`/dev/zero`, a pipe) fails instead of eating memory without end.
const MAX_COMPONENT_BYTES: u64 = 512 << 20;
/// The first line of every seal: its format.
const SEAL_FORMAT: &str = "glomers-seal-v1";

/// A component ready to instantiate as many nodes as wanted.
#[derive(Clone)]
pub struct Loaded {
    /// Linked, by the world it implements (`node`, or `handoff` too).
    pub pre: Pre,
    /// Where it was read from.
    pub path: PathBuf,
    /// Its content hash (SHA-256 of the .wasm), the first 12 hex digits: what names a
    /// version in swap reports.
    pub hash: String,
    /// The file as it was on disk just before it was read (`load` only): a live swap
    /// compares it with the file once its watch is up, to catch a replacement made
    /// while this version was loading.
    pub stamp: Option<FileStamp>,
}

/// What tells one version of a file on disk from another without reading it: its
/// length, modification time and (on unix) inode. A rename over it or a rewrite
/// changes it; a stamp that differs is checked against the content hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: Option<(u64, u64)>,
}

impl FileStamp {
    /// The stamp of the file at `path` now, if it can be read.
    pub fn of(path: &Path) -> Option<FileStamp> {
        let meta = fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = {
            use std::os::unix::fs::MetadataExt;
            Some((meta.dev(), meta.ino()))
        };
        #[cfg(not(unix))]
        let inode = None;
        Some(FileStamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        })
    }
}

impl Loaded {
    /// Whether it can hand its state over in a live swap (world `handoff`).
    pub fn handoff(&self) -> bool {
        self.pre.handoff()
    }
}

/// Reads, compiles (or takes from the cache) and links the component at `path`,
/// checking that it implements the `glomers:node/node` world (or `handoff`, which
/// includes it).
pub fn load(path: &Path) -> Result<Loaded> {
    // Taken before the read: a file replaced after it differs from it.
    let stamp = FileStamp::of(path);
    let mut loaded = load_bytes(path, &read_component(path)?)?;
    loaded.stamp = stamp;
    Ok(loaded)
}

/// As `load`, with the component's bytes already read from `path`.
pub fn load_bytes(path: &Path, bytes: &[u8]) -> Result<Loaded> {
    let component = compile_cached(bytes).map_err(|e| {
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
        hash: short_hash(bytes),
        stamp: None,
    })
}

/// The component's bytes, read with bounds: the header first, then at most
/// `MAX_COMPONENT_BYTES`.
pub fn read_component(path: &Path) -> Result<Vec<u8>> {
    let cannot = || format!("cannot read {}", path.display());
    let file = File::open(path).with_context(cannot)?;
    let mut header = Vec::with_capacity(8);
    (&file)
        .take(4)
        .read_to_end(&mut header)
        .with_context(cannot)?;
    if header != b"\0asm" {
        bail!(
            "{} is not a WebAssembly file (no \\0asm header); build nodes with `make` or \
             `cargo build --target wasm32-wasip2`",
            path.display()
        );
    }
    let mut bytes = header;
    (&file)
        .take(MAX_COMPONENT_BYTES)
        .read_to_end(&mut bytes)
        .with_context(cannot)?;
    if bytes.len() as u64 > MAX_COMPONENT_BYTES {
        bail!(
            "{} is larger than {} MiB, more than any node should be",
            path.display(),
            MAX_COMPONENT_BYTES >> 20
        );
    }
    Ok(bytes)
}

/// The first 12 hex digits of the SHA-256 of `bytes`.
pub fn short_hash(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes)[..6])
}

/// Compiles `bytes` ahead of time into the cache; returns the artifact's path.
pub fn precompile(path: &Path) -> Result<PathBuf> {
    let bytes = read_component(path)?;
    let dir = cache_dir().context("no cache directory: set GLOMERS_CACHE_DIR")?;
    let key = Key::of(&bytes);
    let artifact = key.path(&dir);
    if let Err(bad) = load_verified(&artifact, &key) {
        if let Some(why) = bad.why() {
            elog!("host: {}: {why}; recompiling", artifact.display());
        }
        compile_into(&dir, &artifact, &key, &bytes)?;
    }
    Ok(artifact)
}

fn compile_cached(bytes: &[u8]) -> Result<Component> {
    let engine = engine();
    let Some(dir) = cache_dir() else {
        return Ok(Component::new(engine, bytes)?);
    };
    let key = Key::of(bytes);
    let artifact = key.path(&dir);
    match load_verified(&artifact, &key) {
        Ok(c) => return Ok(c),
        Err(bad) => {
            if let Some(why) = bad.why() {
                elog!("host: {}: {why}; recompiling", artifact.display());
            }
        }
    }
    match compile_into(&dir, &artifact, &key, bytes) {
        Ok(()) => load_verified(&artifact, &key).or_else(|_| Ok(Component::new(engine, bytes)?)),
        // A read-only or full cache must not stop a node from running.
        Err(e) if e.downcast_ref::<std::io::Error>().is_some() => {
            Ok(Component::new(engine, bytes)?)
        }
        Err(e) => Err(e),
    }
}

/// Why a cache file could not be used.
#[derive(Debug)]
enum Unusable {
    /// Not there (yet): the ordinary first run, nothing to report.
    Missing,
    /// There, but not a file this component may load: what is wrong with it.
    Bad(String),
}

impl Unusable {
    fn why(&self) -> Option<&str> {
        match self {
            Unusable::Missing => None,
            Unusable::Bad(why) => Some(why),
        }
    }
}

/// The artifact at `path`, if it is intact and was compiled from the component `key`
/// names, by its seal.
fn load_verified(path: &Path, key: &Key) -> Result<Component, Unusable> {
    let bad = |why: String| Unusable::Bad(why);
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unusable::Missing),
        Err(e) => return Err(bad(format!("cannot read the cached artifact: {e}"))),
    };
    let seal = match fs::read_to_string(path.with_extension("seal")) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(bad("the cached artifact has no seal".into()));
        }
        Err(e) => return Err(bad(format!("cannot read the cached artifact's seal: {e}"))),
    };
    let Some(seal) = Seal::parse(&seal) else {
        return Err(bad("the cached artifact's seal is malformed".into()));
    };
    if seal.component != key.component {
        return Err(bad(
            "the cached artifact was compiled from another component".into(),
        ));
    }
    let (len, crc) = checksum(&file, seal.len)
        .map_err(|e| bad(format!("cannot read the cached artifact: {e}")))?;
    if len != seal.len || crc != seal.crc {
        return Err(bad(
            "the cached artifact is corrupt (its checksum does not match its seal)".into(),
        ));
    }
    // SAFETY: the artifact is what this host build compiled for this very component
    // (the key holds the engine's compatibility hash, the seal the component's hash),
    // intact by its checksum; cache files are only ever replaced atomically by rename.
    unsafe { Component::deserialize_file(engine(), path) }
        .map_err(|e| bad(format!("the cached artifact does not load: {e}")))
}

/// The length and CRC-32 of what `file` holds, reading at most one byte past
/// `expected` (a longer file is wrong anyway, and an endless one must not hang us).
fn checksum(mut file: &File, expected: u64) -> std::io::Result<(u64, u32)> {
    let mut crc = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 256 << 10];
    let mut len = 0u64;
    while len <= expected {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        crc.update(&buf[..n]);
        len += n as u64;
    }
    Ok((len, crc.finalize()))
}

/// What a seal says of its artifact.
struct Seal {
    component: [u8; 32],
    len: u64,
    crc: u32,
}

impl Seal {
    fn text(&self) -> String {
        format!(
            "{SEAL_FORMAT}\ncomponent-sha256 {}\nartifact-len {}\nartifact-crc32 {:08x}\n",
            hex(&self.component),
            self.len,
            self.crc
        )
    }

    fn parse(text: &str) -> Option<Seal> {
        let mut lines = text.lines();
        if lines.next()? != SEAL_FORMAT {
            return None;
        }
        let mut field = |name: &str| {
            let line = lines.next()?;
            line.strip_prefix(name)?.strip_prefix(' ')
        };
        let component = field("component-sha256")?;
        let len = field("artifact-len")?.parse().ok()?;
        let crc = u32::from_str_radix(field("artifact-crc32")?, 16).ok()?;
        if component.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(component.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Seal {
            component: bytes,
            len,
            crc,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compiles under a lock so that many processes starting at once compile only once.
fn compile_into(dir: &Path, artifact: &Path, key: &Key, bytes: &[u8]) -> Result<()> {
    fs::create_dir_all(dir)?;
    let lock = File::create(artifact.with_extension("lock"))?;
    lock.lock()?;
    if load_verified(artifact, key).is_ok() {
        return Ok(());
    }
    let compiled = engine().precompile_component(bytes)?;
    let seal = Seal {
        component: key.component,
        len: compiled.len() as u64,
        crc: crc32fast::hash(&compiled),
    };
    let tmp = artifact.with_extension(format!("tmp{}", std::process::id()));
    let tmp_seal = artifact.with_extension(format!("sealtmp{}", std::process::id()));
    fs::write(&tmp, compiled)?;
    fs::write(&tmp_seal, seal.text())?;
    // Seal first: until the artifact appears, readers find nothing and wait on the
    // lock; a reader that catches a new seal beside an old artifact finds them
    // mismatched and goes to the lock too. No half-sealed pair is ever loaded.
    fs::rename(&tmp_seal, artifact.with_extension("seal"))?;
    fs::rename(&tmp, artifact)?;
    Ok(())
}

/// What names a component's cache entry: its full content hash (kept in the file's
/// header, and the start of its name) and this host's engine.
struct Key {
    component: [u8; 32],
    engine: u64,
}

impl Key {
    fn of(bytes: &[u8]) -> Key {
        let mut engine_hash = std::hash::DefaultHasher::new();
        engine()
            .precompile_compatibility_hash()
            .hash(&mut engine_hash);
        env!("CARGO_PKG_VERSION").hash(&mut engine_hash);
        SEAL_FORMAT.hash(&mut engine_hash);
        Key {
            component: Sha256::digest(bytes).into(),
            engine: engine_hash.finish(),
        }
    }

    fn path(&self, dir: &Path) -> PathBuf {
        let name = hex(&self.component[..16]);
        dir.join(format!("{name}-{:016x}.cwasm", self.engine))
    }
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
