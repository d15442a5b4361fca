//! Live swap for `host run`: notices that the node's .wasm was replaced (or SIGHUP),
//! reads and compiles the new version on a thread of its own, and hands the loaded
//! component to the event loop, which switches between two events (the supervisor's
//! `upgrade`, `harness::supervisor`).
//! The loop never waits for a compile: until the new version is ready, the old one
//! keeps answering messages and firing timers.
//!
//! Why these choices:
//! - The parent directory is watched, not the file: `mv`, `cp` over a rename and most
//!   editors replace the file's inode, and a watch on the old inode would go quiet.
//! - A change is taken once the directory has been quiet for `SETTLE`: a `cp` in place
//!   writes in several steps, and reading mid-way gives a truncated file. A file that
//!   still fails to load (half-written after all, corrupt, of another world) is
//!   reported in one line and the old version keeps serving; its next change is
//!   picked up. The same bytes are not tried twice in a row (a touch is no rebuild);
//!   SIGHUP always retries.
//! - The file is looked at once when the watch is up: one replaced while the first
//!   version was still loading changed nothing the watch could see.
//! - Threads and one channel into the loop, not tokio: the loop already waits on one
//!   channel (stdin's batches) with a timeout for the next timer; the swap is one more
//!   kind of item on it, so the echo and start-up figures of `make bench` cannot move.
//!   (tokio stays a dependency only for a trait wasmtime-wasi asks a sink to implement.)

use notify::{EventKind, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::component::{self, Loaded};
use crate::log::elog;

/// How long the directory must be quiet before a changed file is read.
const SETTLE: Duration = Duration::from_millis(100);

/// The environment variable that turns live swap off (`0`, `false`, `off` or `no`).
pub const SWITCH: &str = "GLOMERS_LIVE_SWAP";

/// Whether live swap is on: by default, unless `GLOMERS_LIVE_SWAP` says off.
pub fn enabled() -> bool {
    match std::env::var(SWITCH) {
        Ok(v) => !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "0" | "false" | "off" | "no"
        ),
        Err(_) => true,
    }
}

/// A new version, loaded and ready to swap in.
pub struct Ready {
    pub loaded: Loaded,
    /// When the change (or SIGHUP) that led to it was first noticed.
    pub noticed: Instant,
}

/// What set off a reload.
enum Trigger {
    /// Something happened in the watched directory to the node's file.
    Changed,
    Hangup,
}

/// Watches `path` and listens for SIGHUP; each new version that loads is passed to
/// `deliver` (which forwards it to the event loop; false once the loop is gone).
/// `running` is the version loaded from `path` and running now.
pub fn spawn(
    path: &Path,
    running: &Loaded,
    deliver: impl Fn(Ready) -> bool + Send + 'static,
) -> anyhow::Result<()> {
    let current = running.hash.clone();
    let (tx, rx) = mpsc::sync_channel::<Trigger>(64);
    let name = path.file_name().map(|n| n.to_os_string());
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let changes = tx.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        let ours = event
            .paths
            .iter()
            .any(|p| p.file_name().map(|n| n.to_os_string()) == name);
        if ours {
            // Full means a reload is already due: this one adds nothing.
            let _ = changes.try_send(Trigger::Changed);
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    // A file replaced after it was read and before the watch began (while the first
    // version compiled) made no event the watch could see: look once, now that it
    // is up. A stamp that differs is only a hint; the content hash decides.
    if component::FileStamp::of(path) != running.stamp {
        let _ = tx.try_send(Trigger::Changed);
    }
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])?;
    std::thread::Builder::new()
        .name("sighup".into())
        .spawn(move || {
            for _ in signals.forever() {
                let _ = tx.try_send(Trigger::Hangup);
            }
        })?;
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("swap".into())
        .spawn(move || {
            // Owned here: dropping the watcher would end the watch.
            let _watcher = watcher;
            let mut last_tried = current;
            while let Ok(first) = rx.recv() {
                let noticed = Instant::now();
                let mut forced = matches!(first, Trigger::Hangup);
                // Let a write in progress finish: wait for SETTLE of quiet.
                loop {
                    match rx.recv_timeout(SETTLE) {
                        Ok(t) => forced |= matches!(t, Trigger::Hangup),
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                if let Some(ready) = reload(&path, &mut last_tried, forced, noticed) {
                    if !deliver(ready) {
                        return;
                    }
                }
            }
        })?;
    Ok(())
}

/// Loads the file, unless it is the version last tried and nobody forced a retry.
fn reload(path: &Path, last_tried: &mut String, forced: bool, noticed: Instant) -> Option<Ready> {
    if !forced && !path.exists() {
        // Gone for a moment (a rebuild deleting before writing): its return is a change.
        return None;
    }
    let bytes = match component::read_component(path) {
        Ok(b) => b,
        Err(e) => {
            let why = format!("{e:#}").replace('\n', " ");
            elog!("host: live swap: {why}; the old version keeps serving");
            return None;
        }
    };
    let hash = component::short_hash(&bytes);
    if hash == *last_tried && !forced {
        return None;
    }
    *last_tried = hash;
    match component::load_bytes(path, &bytes) {
        Ok(loaded) => Some(Ready { loaded, noticed }),
        Err(e) => {
            let why = format!("{e:#}").replace('\n', " ");
            elog!("host: live swap: {why}; the old version keeps serving");
            None
        }
    }
}
