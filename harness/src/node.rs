//! What the harness knows of a node: give it an event (a message, a timer firing),
//! get back what it sent and armed. A wasm component (in `host`), a native SDK node
//! and anything else that speaks Maelstrom's protocol in process implement [`Node`];
//! processes (`--bin`) are driven by `process.rs` instead, on the real clock.
//! A node that knows a newer version of itself can also be upgraded in place
//! (`--upgrade`, rolled by `upgrade.rs`).

use std::path::PathBuf;
use std::time::Duration;

/// An event handed to a node.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A message from `src`; `body` is a JSON object text.
    Message { src: &'a str, body: &'a str },
    /// The node's timer `id`, armed earlier with [`Effect::SetTimer`], is due.
    Timer { id: u64 },
}

/// What a node asked for while handling one event: one type for the SDK, the
/// harness and the host (it lives in `glomers-protocol`, which the SDK's native
/// runtime can use without depending on the harness).
pub use protocol::Effect;

/// A node failed while handling an event (and, if it can, started over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crash {
    /// Why, first line first; later lines may hold a backtrace.
    pub reason: String,
}

impl std::fmt::Display for Crash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// One node, run in the harness's process on its virtual clock.
pub trait Node {
    /// Handles `input` at time `now_ns` (ns since the run began: the simulation's
    /// clock, which the node must use for any time it reads), pushing what it asked
    /// for onto `effects`.
    fn handle(
        &mut self,
        now_ns: u64,
        input: Input<'_>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Crash>;

    /// How many times this node has crashed so far.
    fn crashes(&self) -> u64 {
        0
    }

    /// Switches this node, between two events, to the version the run rolls to
    /// (`--upgrade`), carrying its state over if both versions can. A node that
    /// cannot carry its state starts the new version afresh, as after a crash: it
    /// is replayed its `init` and pushes [`Effect::Restarted`]. On `Err` (one line,
    /// why) the node keeps running the version it ran.
    fn upgrade(&mut self, now_ns: u64, effects: &mut Vec<Effect>) -> Result<UpgradeInfo, String> {
        let _ = (now_ns, effects);
        Err("this node cannot be upgraded".into())
    }
}

/// What a node says of its switch to the new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeInfo {
    /// The version it ran before (a content hash, a label).
    pub from: String,
    /// The version it runs now.
    pub to: String,
    /// Whether its state came across; if not, it started afresh with its `init`.
    pub state_carried: bool,
    /// Why the state did not come across, when it did not (one line).
    pub fresh_because: Option<String>,
    /// How long the switch took on the real clock (virtual time does not move).
    pub pause: Duration,
}

/// One line, for stderr and logs: `swapped A -> B: state carried, paused 0.21 ms`.
impl std::fmt::Display for UpgradeInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "swapped {} -> {}: ", self.from, self.to)?;
        match &self.fresh_because {
            None if self.state_carried => f.write_str("state carried")?,
            None => f.write_str("state not carried")?,
            Some(why) => write!(f, "state not carried ({why}; started fresh with init)")?,
        }
        write!(f, ", paused {:.2} ms", self.pause.as_secs_f64() * 1e3)
    }
}

/// What a node factory is told about the node it makes.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// The node's id (`n1`, ...), as `init` will tell it.
    pub name: String,
    /// Its index in the run's node list.
    pub index: usize,
    /// Its own seed for random numbers, drawn from the run's seed.
    pub seed: u64,
    /// Where its log (stderr) should go.
    pub log: PathBuf,
    /// Make it as the version the run rolls to (`--upgrade`), not the original:
    /// the roll reached it while it was down, or it was upgraded before a kill.
    pub upgraded: bool,
}

/// Makes the in-process nodes of a run, one per [`NodeSpec`].
pub type NodeFactory = Box<dyn FnMut(&NodeSpec) -> anyhow::Result<Box<dyn Node>>>;
