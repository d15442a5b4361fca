//! In-process nodes for the simulation: one `crate::node::Node` per node, all
//! sharing a virtual clock that the event loop sets before every call, each with a
//! seed of its own drawn from the run's seed, and each writing its stderr to its
//! own log file.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::config::Config;
use super::net::Message;
use super::{Backend, Output};
use crate::node::{Effect, Environment, Logs, Node, NodeOptions};

pub struct Cluster {
    nodes: Vec<Node>,
    logs: Vec<PathBuf>,
    clock: Arc<AtomicU64>,
    effects: Vec<Effect>,
}

impl Cluster {
    pub fn start(
        path: &Path,
        args: &[String],
        cfg: &Config,
        seeds: &[u64],
        logs: &Path,
    ) -> Result<Cluster> {
        let loaded = crate::component::load(path)?;
        let clock = Arc::new(AtomicU64::new(0));
        let nodes = cfg
            .nodes
            .iter()
            .zip(seeds)
            .map(|(name, &seed)| {
                let mut options = NodeOptions {
                    args: args.to_vec(),
                    environment: Environment::Simulated {
                        clock: clock.clone(),
                        seed,
                    },
                    logs: Logs::File(logs.join(format!("{name}.log"))),
                    ..Default::default()
                };
                cfg.limits.apply(&mut options);
                Node::new(&loaded, options).with_context(|| format!("cannot start node {name}"))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Cluster {
            nodes,
            logs: cfg
                .nodes
                .iter()
                .map(|n| logs.join(format!("{n}.log")))
                .collect(),
            clock,
            effects: Vec::new(),
        })
    }

    fn collect(
        &mut self,
        node: usize,
        now: u64,
        r: Result<(), crate::node::Crash>,
        out: &mut Vec<Output>,
    ) {
        for e in self.effects.drain(..) {
            out.push(match e {
                Effect::Send { dest, body } => Output::Send { node, dest, body },
                Effect::SetTimer { id, delay_ms } => Output::SetTimer { node, id, delay_ms },
                Effect::CancelTimer { id } => Output::CancelTimer { node, id },
                Effect::Restarted => Output::Restarted { node },
            });
        }
        if let Err(crash) = r {
            // The node's own log should say why it started over.
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .append(true)
                .open(&self.logs[node])
            {
                let _ = writeln!(
                    f,
                    "host: at {:.3} s the node crashed and was restarted: {crash}",
                    now as f64 / 1e9
                );
            }
            out.push(Output::Crashed {
                node,
                error: format!(
                    "(crash {} of this node) {crash}",
                    self.nodes[node].crashes()
                ),
            });
        }
    }
}

impl Backend for Cluster {
    fn deliver(
        &mut self,
        node: usize,
        msg: &Message,
        src: &str,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Result<()> {
        self.clock.store(now, Ordering::Relaxed);
        let r = self.nodes[node].on_message(src, &msg.body, &mut self.effects);
        self.collect(node, now, r, out);
        Ok(())
    }

    fn fire(&mut self, node: usize, id: u64, now: u64, out: &mut Vec<Output>) -> Result<()> {
        self.clock.store(now, Ordering::Relaxed);
        let r = self.nodes[node].on_timer(id, &mut self.effects);
        self.collect(node, now, r, out);
        Ok(())
    }

    fn wait(&mut self, until: Option<u64>, _: &mut Vec<Output>) -> Result<Option<u64>> {
        Ok(until)
    }

    fn shutdown(&mut self) -> Vec<String> {
        Vec::new()
    }
}
