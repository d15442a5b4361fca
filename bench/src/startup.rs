//! How long a whole cluster takes to come up: N `host run` processes started together,
//! each sent `init` at once, until the last init_ok. Maelstrom does exactly this, and
//! nodes that are slow to answer init fail the run before it starts.

use anyhow::Result;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::nodes::Node;

/// Starts `count` nodes of `wasm` with the cache in `cache`; the time until all answered.
pub fn cluster(wasm: &Path, count: usize, cache: &Path) -> Result<Duration> {
    let ids: Vec<String> = (1..=count).map(|i| format!("n{i}")).collect();
    let start = Instant::now();
    let mut nodes = Vec::with_capacity(count);
    for id in &ids {
        let mut node = Node::host_run(wasm, cache)?;
        node.send_init(id, &ids)?;
        nodes.push(node);
    }
    // They run concurrently: reading in order still ends at the slowest one.
    for node in &mut nodes {
        node.expect_init_ok()?;
    }
    let elapsed = start.elapsed();
    for node in nodes {
        node.finish()?;
    }
    Ok(elapsed)
}
