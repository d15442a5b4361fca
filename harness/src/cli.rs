//! `host test`'s entry: one run, a sweep of seeds, or the merge of sweeps; prints
//! the summary and writes the JSON and the JUnit XML. The binary's edge, so errors are `anyhow`.

use anyhow::{Context as _, Result};

use crate::builder::Sim;
use crate::config::TestArgs;
use crate::node::NodeFactory;
use crate::{junit, seeds, summary};

/// Makes the node factory of one run; a sweep (`--seeds`) calls it once per seed, on
/// the thread that runs that seed.
pub type MakeNodes<'a> = &'a (dyn Fn() -> Result<NodeFactory> + Sync);

/// `host test`: runs the test the options describe (or each seed of a sweep, or
/// merges sweeps' summaries), prints the summary, writes the JSON if asked; returns
/// the exit status (0 valid, 1 invalid or unknown). `nodes`: the in-process nodes'
/// label and what makes their factory.
pub fn main(args: TestArgs, nodes: Option<(String, MakeNodes<'_>)>) -> Result<i32> {
    if !args.merge.is_empty() {
        return seeds::merge_main(&args.merge, args.json.as_deref(), args.junit.as_deref());
    }
    if let Some(sweep) = seeds::Sweep::from_args(&args)? {
        return seeds::main(args, sweep, nodes);
    }
    let nodes = match nodes {
        Some((label, make)) => Some((label, make()?)),
        None => None,
    };
    let outcome = Sim::new(&args, nodes)?.run()?;
    summary::print(&outcome);
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&outcome)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        let run = seeds::SeedResult::of(&outcome);
        junit::write(path, &outcome.about.workload, &[run])?;
    }
    Ok(if outcome.is_valid() { 0 } else { 1 })
}
