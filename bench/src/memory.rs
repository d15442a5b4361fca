//! The resident memory of one idle node after `init`: Maelstrom runs 25 at once on
//! small machines, so what each one holds when doing nothing adds up.

use anyhow::{Context, Result};
use std::path::Path;

use crate::nodes::Node;

/// VmRSS of a `host run <wasm>` node that has answered init, in bytes.
pub fn idle_rss(wasm: &Path, cache: &Path) -> Result<u64> {
    let mut node = Node::host_run(wasm, cache)?;
    node.send_init("n1", &["n1".to_string()])?;
    node.expect_init_ok()?;
    let rss = vm_rss(node.child.id())?;
    node.finish()?;
    Ok(rss)
}

fn vm_rss(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("cannot read /proc/<pid>/status (Linux only)")?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS line in /proc/<pid>/status")?;
    Ok(kb * 1024)
}
