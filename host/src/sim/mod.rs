//! Driver 2, `host test`: the built-in Maelstrom-compatible harness (in progress).

use anyhow::{bail, Result};

/// Options of `host test`.
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// The workload to run.
    #[arg(short = 'w', long)]
    pub workload: String,
}

pub fn main(_args: TestArgs) -> Result<i32> {
    bail!("host test is not built yet")
}
