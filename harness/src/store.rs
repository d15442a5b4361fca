//! Where runs leave their files: STORE/<workload>/<time>-seed<N>/ holds the node
//! logs, the history, the message journal and the report, and STORE/latest points
//! at the newest run, as Maelstrom's store does. The index of the store
//! (STORE/index.html) is the report's: [`crate::report::index`].

use anyhow::{Context as _, Result};
use std::path::{Path, PathBuf};

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A UTC date and time, `2026-11-26 13:28:23`, from seconds since 1970.
pub fn when(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A fresh directory for a run of `workload` with `seed` under `root`, named as
/// Maelstrom names them, by the date and time (UTC), plus the seed:
/// `20261126T141228-seed7`.
pub fn new_run(root: &Path, workload: &str, seed: u64) -> Result<PathBuf> {
    let stamp: String = when(now())
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('T'),
            '-' | ':' => None,
            c => Some(c),
        })
        .collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_named_by_date_time_and_seed() {
        let root = std::env::temp_dir().join(format!("store-names-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let a = new_run(&root, "echo", 7).unwrap();
        let b = new_run(&root, "echo", 7).unwrap();
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        // 20261126T141228-seed7
        assert_eq!(name.len(), "20261126T141228-seed7".len(), "{name}");
        assert_eq!(&name[8..9], "T");
        assert!(name.ends_with("-seed7") && name[..8].chars().all(|c| c.is_ascii_digit()));
        // The same second twice: a second directory, not the same one.
        assert_ne!(a, b);
        assert_eq!(
            std::fs::canonicalize(root.join("latest")).unwrap(),
            std::fs::canonicalize(&b).unwrap()
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn dates_read_as_utc() {
        assert_eq!(when(0), "1970-01-01 00:00:00");
        assert_eq!(when(1_796_304_503), "2026-12-03 13:28:23");
        assert_eq!(when(951_782_400), "2000-02-29 00:00:00");
    }
}
