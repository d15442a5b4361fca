//! Where the nodes of a run live, as the event loop sees them: in process on the
//! virtual clock ([`InProcess`], over any [`Node`]), or as processes on the real
//! clock (`process.rs`). Both turn what nodes do into [`Output`]s.

use anyhow::{Context as _, Result};
use std::io::Write;
use std::path::PathBuf;

use crate::net::Message;
use crate::node::{Effect, Input, Node, NodeFactory, NodeSpec};

/// What a node did, as the event loop needs it.
pub enum Output {
    Send {
        node: usize,
        dest: String,
        body: String,
    },
    SetTimer {
        node: usize,
        id: u64,
        delay_ms: u64,
    },
    CancelTimer {
        node: usize,
        id: u64,
    },
    /// The node restarted: its timers are gone.
    Restarted {
        node: usize,
    },
    /// The node crashed (and restarted itself).
    Crashed {
        node: usize,
        error: String,
    },
    /// A node process is gone or said something that is not a message.
    Fault {
        node: usize,
        what: String,
    },
}

/// The nodes of a run.
pub trait Backend {
    /// Hands `msg` to node `node`; what it does in response goes to `out`.
    fn deliver(
        &mut self,
        node: usize,
        msg: &Message,
        src: &str,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Result<()>;
    /// Fires timer `id` of node `node` (in-process nodes only).
    fn fire(&mut self, node: usize, id: u64, now: u64, out: &mut Vec<Output>) -> Result<()>;
    /// Waits until time `until` (ns since the run began) or until a node says
    /// something, whichever is first, and returns the time then. A virtual clock
    /// just jumps to `until`; `None` means nothing can happen any more.
    fn wait(&mut self, until: Option<u64>, out: &mut Vec<Output>) -> Result<Option<u64>>;
    /// Stops the nodes; returns what went wrong with them, if anything.
    fn shutdown(&mut self) -> Vec<String>;
    /// Whether time is the real clock (processes) rather than virtual.
    fn real_time(&self) -> bool {
        false
    }
}

/// In-process nodes on the virtual clock, one [`Node`] each.
pub struct InProcess {
    nodes: Vec<Box<dyn Node>>,
    logs: Vec<PathBuf>,
    effects: Vec<Effect>,
}

impl InProcess {
    /// Makes one node per spec with `factory`.
    pub fn start(specs: &[NodeSpec], factory: &mut NodeFactory) -> Result<InProcess> {
        let nodes = specs
            .iter()
            .map(|s| factory(s).with_context(|| format!("cannot start node {}", s.name)))
            .collect::<Result<Vec<_>>>()?;
        Ok(InProcess {
            nodes,
            logs: specs.iter().map(|s| s.log.clone()).collect(),
            effects: Vec::new(),
        })
    }

    fn handle(&mut self, node: usize, now: u64, input: Input<'_>, out: &mut Vec<Output>) {
        let r = self.nodes[node].handle(now, input, &mut self.effects);
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
                .create(true)
                .open(&self.logs[node])
            {
                let _ = writeln!(
                    f,
                    "harness: at {:.3} s the node crashed and was restarted: {crash}",
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

impl Backend for InProcess {
    fn deliver(
        &mut self,
        node: usize,
        msg: &Message,
        src: &str,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Result<()> {
        let input = Input::Message {
            src,
            body: &msg.body,
        };
        self.handle(node, now, input, out);
        Ok(())
    }

    fn fire(&mut self, node: usize, id: u64, now: u64, out: &mut Vec<Output>) -> Result<()> {
        self.handle(node, now, Input::Timer { id }, out);
        Ok(())
    }

    fn wait(&mut self, until: Option<u64>, _: &mut Vec<Output>) -> Result<Option<u64>> {
        Ok(until)
    }

    fn shutdown(&mut self) -> Vec<String> {
        Vec::new()
    }
}
