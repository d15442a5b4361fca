//! Where runs leave their files: STORE/<workload>/<time>-seed<N>/ holds the node
//! logs and the history, and STORE/latest points at the newest run, as Maelstrom's
//! store does.

use anyhow::{Context as _, Result};
use std::path::{Path, PathBuf};

/// A fresh directory for a run of `workload` with `seed` under `root`.
pub fn new_run(root: &Path, workload: &str, seed: u64) -> Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let dir = new_run_dir(&root.join(workload), &format!("{stamp}-seed{seed}"))?;
    link_latest(root, &dir);
    Ok(dir)
}

/// A fresh directory for this run's logs: `name`, or `name-2`, ... if taken.
fn new_run_dir(parent: &Path, name: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create the log directory {}", parent.display()))?;
    let mut k = 1;
    loop {
        let dir = match k {
            1 => parent.join(name),
            _ => parent.join(format!("{name}-{k}")),
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => k += 1,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", dir.display())),
        }
    }
}

/// STORE/latest points at the newest run, as in Maelstrom; best effort.
fn link_latest(root: &Path, run: &Path) {
    #[cfg(unix)]
    if let Ok(rel) = run.strip_prefix(root) {
        let latest = root.join("latest");
        let _ = std::fs::remove_file(&latest);
        let _ = std::os::unix::fs::symlink(rel, &latest);
    }
}
