//! Where the nodes of a run live, as the event loop sees them: in process on the
//! virtual clock ([`InProcess`], over any [`Node`]), or as processes on the real
//! clock (`process.rs`). Both turn what nodes do into [`Output`]s, and both can kill
//! a node and start it afresh for the nemesis; in-process nodes can also be
//! upgraded to a new version (`--upgrade`).

use anyhow::{Context as _, Result};
use std::io::Write;

use crate::net::Message;
use crate::node::{Effect, Input, Node, NodeFactory, NodeSpec, UpgradeInfo};

/// What a node did, as the event loop needs it: what it asked for (the one
/// [`Effect`] type, with the node it came from), or what befell it.
pub enum Output {
    /// Node `node` asked for `effect`.
    Effect { node: usize, effect: Effect },
    /// The node crashed (and restarted itself).
    Crashed { node: usize, error: String },
    /// A node process is gone or said something that is not a message.
    Fault { node: usize, what: String },
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
    /// Kills node `node` (the nemesis's kill): its state is gone, and nothing it was
    /// about to say will be heard.
    fn kill(&mut self, node: usize, now: u64) -> Result<()>;
    /// Starts node `node` afresh after a kill, with `seed` for its randomness, as
    /// the version the run rolls to if `upgraded`; the event loop sends it `init` next.
    fn restart(&mut self, node: usize, seed: u64, now: u64, upgraded: bool) -> Result<()>;
    /// Switches running node `node` to the version the run rolls to; `Ok(Err(why))`
    /// when it refused and keeps its version.
    fn upgrade(
        &mut self,
        _node: usize,
        _now: u64,
        _out: &mut Vec<Output>,
    ) -> Result<Result<UpgradeInfo, String>> {
        Ok(Err("these nodes cannot be upgraded".into()))
    }
    /// Pauses node `node`: the event loop holds its events meanwhile, so only a
    /// process, which has a life of its own, needs stopping.
    fn pause(&mut self, _node: usize, _now: u64) -> Result<()> {
        Ok(())
    }
    /// Resumes a paused node.
    fn resume(&mut self, _node: usize, _now: u64) -> Result<()> {
        Ok(())
    }
    /// Stops the nodes; returns what went wrong with them, if anything.
    fn shutdown(&mut self) -> Vec<String>;
    /// Whether time is the real clock (processes) rather than virtual.
    fn real_time(&self) -> bool {
        false
    }
}

/// In-process nodes on the virtual clock, one [`Node`] each; the factory stays, to
/// make a fresh node when a killed one starts again.
pub struct InProcess {
    /// `None` while killed.
    nodes: Vec<Option<Box<dyn Node>>>,
    specs: Vec<NodeSpec>,
    factory: NodeFactory,
    effects: Vec<Effect>,
}

impl InProcess {
    /// Makes one node per spec with `factory`.
    pub fn start(specs: &[NodeSpec], mut factory: NodeFactory) -> Result<InProcess> {
        let nodes = specs
            .iter()
            .map(|s| {
                log_line(&s.log, 0, &format!("the node starts (its seed {})", s.seed));
                let node = factory(s).with_context(|| format!("cannot start node {}", s.name))?;
                Ok(Some(node))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(InProcess {
            nodes,
            specs: specs.to_vec(),
            factory,
            effects: Vec::new(),
        })
    }

    fn handle(&mut self, node: usize, now: u64, input: Input<'_>, out: &mut Vec<Output>) {
        // The event loop gives a killed node nothing; were it to, the node is not there.
        let Some(n) = self.nodes[node].as_mut() else {
            return;
        };
        let r = n.handle(now, input, &mut self.effects);
        if drain(&mut self.effects, node, out) {
            log_line(
                &self.specs[node].log,
                now,
                "the node goes on in a fresh instance (its timers are gone)",
            );
        }
        if let Err(crash) = r {
            // The node's own log should say why it started over.
            log_line(
                &self.specs[node].log,
                now,
                &format!("the node crashed: {crash}"),
            );
            out.push(Output::Crashed {
                node,
                error: format!("(crash {} of this node) {crash}", n.crashes()),
            });
        }
    }
}

/// Turns what node `node` asked for into outputs; true if it started over.
fn drain(effects: &mut Vec<Effect>, node: usize, out: &mut Vec<Output>) -> bool {
    let restarted = effects.contains(&Effect::Restarted);
    out.extend(
        effects
            .drain(..)
            .map(|effect| Output::Effect { node, effect }),
    );
    restarted
}

/// The log line for an `init` a node is handed (its id and its peers), if `body` is
/// one. Only bodies that mention "init" are parsed, so other messages cost a scan.
pub(crate) fn init_line(body: &str) -> Option<String> {
    if !body.contains("\"init\"") {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    if v["type"] != "init" {
        return None;
    }
    let ids: Vec<&str> = v["node_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(|n| n.as_str()).collect())
        .unwrap_or_default();
    Some(format!(
        "init: the node is {} of {} ({})",
        v["node_id"].as_str().unwrap_or("?"),
        ids.len(),
        ids.join(" ")
    ))
}

/// Adds a line of the harness's to a node's log, so the log tells the node's story.
pub(crate) fn log_line(log: &std::path::Path, now: u64, what: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
    {
        let _ = writeln!(f, "harness: at {:.3} s {what}", now as f64 / 1e9);
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
        if let Some(line) = init_line(&msg.body) {
            log_line(&self.specs[node].log, now, &line);
        }
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

    fn kill(&mut self, node: usize, now: u64) -> Result<()> {
        self.nodes[node] = None;
        log_line(&self.specs[node].log, now, "the nemesis killed the node");
        Ok(())
    }

    fn restart(&mut self, node: usize, seed: u64, now: u64, upgraded: bool) -> Result<()> {
        // A new seed: a restarted process would not draw the same numbers again.
        let spec = NodeSpec {
            seed,
            upgraded,
            ..self.specs[node].clone()
        };
        let what = if upgraded {
            "the nemesis starts the node afresh, as the new version"
        } else {
            "the nemesis starts the node afresh"
        };
        log_line(&spec.log, now, what);
        let fresh =
            (self.factory)(&spec).with_context(|| format!("cannot restart node {}", spec.name))?;
        self.nodes[node] = Some(fresh);
        Ok(())
    }

    fn upgrade(
        &mut self,
        node: usize,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Result<Result<UpgradeInfo, String>> {
        let Some(n) = self.nodes[node].as_mut() else {
            return Ok(Err("the node is down".into()));
        };
        let r = n.upgrade(now, &mut self.effects);
        drain(&mut self.effects, node, out);
        let what = match &r {
            Ok(u) if u.state_carried => {
                format!(
                    "the node switched from {} to {}, state carried",
                    u.from, u.to
                )
            }
            Ok(u) => format!(
                "the node switched from {} to {}, state not carried: it started afresh",
                u.from, u.to
            ),
            Err(why) => format!("the node refused to switch to the new version: {why}"),
        };
        log_line(&self.specs[node].log, now, &what);
        Ok(r)
    }

    fn pause(&mut self, node: usize, now: u64) -> Result<()> {
        log_line(&self.specs[node].log, now, "the nemesis pauses the node");
        Ok(())
    }

    fn resume(&mut self, node: usize, now: u64) -> Result<()> {
        log_line(&self.specs[node].log, now, "the nemesis resumed the node");
        Ok(())
    }

    fn shutdown(&mut self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_init_is_logged_with_the_id_and_the_peers() {
        let init = r#"{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n0","n1"]}"#;
        assert_eq!(
            init_line(init).as_deref(),
            Some("init: the node is n1 of 2 (n0 n1)")
        );
        // A message that only mentions "init" is not one.
        assert_eq!(init_line(r#"{"type":"echo","echo":"init"}"#), None);
        assert_eq!(init_line(r#"{"type":"echo","echo":1}"#), None);
    }
}
