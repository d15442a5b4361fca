//! # harness: Maelstrom as a library
//!
//! Runs a Maelstrom workload against a set of nodes and judges the result as
//! Maelstrom does: its options, workloads, services, nemesis, checkers and figures.
//! Nodes in process (anything implementing [`Node`]: a wasm component in `host`, a
//! native SDK node) run on a virtual clock that jumps from event to event, so a 30 s
//! test takes as long as the nodes' computation; `--bin` nodes are processes on the
//! real clock, exactly as under Maelstrom. Every random choice comes from one seeded
//! generator, so a seed replays a whole run.
//!
//! ```
//! use harness::{Builder, Crash, Effect, Input, Node};
//!
//! /// Answers `init` and `echo`: the smallest node Maelstrom's echo workload accepts.
//! struct Echo;
//!
//! impl Node for Echo {
//!     fn handle(&mut self, _now: u64, input: Input<'_>, out: &mut Vec<Effect>) -> Result<(), Crash> {
//!         let Input::Message { src, body } = input else { return Ok(()) };
//!         let mut reply: serde_json::Value =
//!             serde_json::from_str(body).map_err(|e| Crash { reason: e.to_string() })?;
//!         let kind = format!("{}_ok", reply["type"].as_str().unwrap_or(""));
//!         reply["in_reply_to"] = reply["msg_id"].take();
//!         reply["type"] = kind.into();
//!         out.push(Effect::Send { dest: src.to_string(), body: reply.to_string() });
//!         Ok(())
//!     }
//! }
//!
//! let outcome = Builder::new("echo")
//!     .node_count(3)
//!     .rate(20.0)
//!     .time_limit(5.0)
//!     .option("--nemesis", "partition")
//!     .seed(7)
//!     .store(std::env::temp_dir().join("harness-doc"))
//!     .nodes("echo", |_spec| Ok(Box::new(Echo) as Box<dyn Node>))
//!     .run()?;
//! assert!(outcome.is_valid(), "{:?}", outcome.problems);
//! # anyhow::Ok(())
//! ```
//!
//! The rooms:
//! - [`node`]: what a node is to the harness; [`backend`]: in-process nodes;
//!   [`process`]: `--bin` nodes as processes.
//! - [`sim`]: the event loop of one run; [`sched`]: its queue of events.
//! - [`net`]: latency, partitions and message counts; [`nemesis`]: which faults, when;
//!   [`upgrade`]: the rolling upgrade (`--upgrade`), node by node;
//!   [`service`]: lin-kv, seq-kv, lww-kv, lin-tso.
//! - [`client`]: client processes; [`history`]: what they did, which [`workload`]
//!   checkers read.
//! - [`config`]: the options (Maelstrom's names); [`outcome`]: the typed result, of
//!   which the JSON is a serialisation; [`summary`]: the text a person reads;
//!   [`store`]: where each run's files go; [`rng`]: the one seeded generator;
//!   [`stats`]: the one quantile formula.
//! - [`journal`]: every message the network carried; [`report`]: the page a person
//!   looks at (`report.html`, beside the history and `messages.jsonl`).
//! - [`seeds`]: one test on many seeds in parallel (`--seeds`, `--shard`, `--merge`);
//!   [`stderr_echo`]: the nodes' stderr on ours (`--log-stderr`).

pub mod backend;
pub mod client;
pub mod config;
pub mod history;
pub mod journal;
pub mod nemesis;
pub mod net;
pub mod node;
pub mod outcome;
pub mod process;
pub mod report;
pub mod rng;
pub mod sched;
pub mod seeds;
pub mod service;
pub mod sim;
pub mod stats;
pub mod stderr_echo;
pub mod store;
pub mod summary;
pub mod supervisor;
pub mod upgrade;
pub mod workload;

use anyhow::{bail, Context as _, Result};
use std::path::PathBuf;
use std::time::Instant;

pub use config::TestArgs;
pub use node::{Crash, Effect, Input, Node, NodeFactory, NodeSpec, UpgradeInfo};
pub use outcome::Outcome;
pub use workload::Valid;

use backend::{Backend, InProcess};
use config::{Config, Target};
use rng::Rng;

/// Builds a [`Sim`]: the workload, the options (Maelstrom's, by the same names as on
/// the command line), and the nodes.
pub struct Builder {
    words: Vec<String>,
    nodes: Option<(String, NodeFactory)>,
}

impl Builder {
    /// A test of `workload` with Maelstrom's defaults.
    pub fn new(workload: &str) -> Builder {
        Builder {
            words: vec!["-w".into(), workload.into()],
            nodes: None,
        }
    }

    /// Any option of `host test`, by its name: `.option("--nemesis", "partition")`.
    pub fn option(mut self, name: &str, value: impl ToString) -> Builder {
        self.words.push(name.into());
        self.words.push(value.to_string());
        self
    }

    /// Options as words, as on the command line: `.options("--rate 10 --latency 100")`.
    pub fn options(mut self, words: &str) -> Builder {
        self.words
            .extend(words.split_whitespace().map(String::from));
        self
    }

    pub fn node_count(self, n: usize) -> Builder {
        self.option("--node-count", n)
    }
    pub fn rate(self, per_second: f64) -> Builder {
        self.option("--rate", per_second)
    }
    pub fn time_limit(self, seconds: f64) -> Builder {
        self.option("--time-limit", seconds)
    }
    pub fn latency(self, ms: u64) -> Builder {
        self.option("--latency", ms)
    }
    pub fn seed(self, seed: u64) -> Builder {
        self.option("--seed", seed)
    }
    /// Where run directories go (default `store`).
    pub fn store(self, dir: impl Into<PathBuf>) -> Builder {
        let dir: PathBuf = dir.into();
        self.option("--store", dir.display())
    }

    /// The nodes run in process, each made by `factory`; `label` names them in the
    /// summary.
    pub fn nodes(
        mut self,
        label: &str,
        factory: impl FnMut(&NodeSpec) -> Result<Box<dyn Node>> + 'static,
    ) -> Builder {
        self.nodes = Some((label.into(), Box::new(factory)));
        self
    }

    /// Checks the options and starts the nodes.
    pub fn build(self) -> Result<Sim> {
        let args = TestArgs::parse(self.words)?;
        Sim::new(&args, self.nodes)
    }

    /// Builds and runs.
    pub fn run(self) -> Result<Outcome> {
        self.build()?.run()
    }
}

/// A test ready to run: options decided, store directory made, nodes started.
pub struct Sim {
    cfg: Config,
    rng: Rng,
    backend: Box<dyn Backend>,
    store: PathBuf,
    /// The store's root, whose index lists every run.
    root: PathBuf,
    node: String,
    /// Echoes node processes' stderr (`--log-stderr` with `--bin`).
    follower: Option<stderr_echo::Follower>,
}

impl Sim {
    /// `nodes`: the in-process nodes (a label and a factory); without them, the
    /// options must name `--bin`.
    pub fn new(args: &TestArgs, nodes: Option<(String, NodeFactory)>) -> Result<Sim> {
        let cfg = Config::from_args(args)?;
        let mut rng = Rng::new(cfg.seed);
        let store = store::new_run(&args.store, &cfg.workload, cfg.seed)?;
        // Node seeds come first from the run's generator, so they depend on the seed alone.
        let specs: Vec<NodeSpec> = cfg
            .nodes
            .iter()
            .enumerate()
            .map(|(index, name)| NodeSpec {
                name: name.clone(),
                index,
                seed: rng.next_u64(),
                log: store.join(format!("{name}.log")),
                upgraded: false,
            })
            .collect();
        let mut follower = None;
        let (backend, node): (Box<dyn Backend>, String) = match (&cfg.target, nodes) {
            (Target::Bin { program, args }, _) => {
                let started = process::Processes::start(program, args, &cfg.nodes, &store)?;
                if cfg.log_stderr {
                    let logs = specs.iter().map(|s| s.log.clone()).collect();
                    follower = Some(stderr_echo::Follower::start(logs, &cfg.nodes));
                }
                (Box::new(started), format!("--bin {}", program.display()))
            }
            (Target::InProcess { .. }, Some((label, factory))) => {
                let factory = match cfg.log_stderr {
                    true => stderr_echo::wrap(factory),
                    false => factory,
                };
                (Box::new(InProcess::start(&specs, factory)?), label)
            }
            (Target::InProcess { .. }, None) => {
                bail!("no node to test: give PATH.wasm (or --bin PROGRAM)")
            }
        };
        Ok(Sim {
            cfg,
            rng,
            backend,
            store,
            root: args.store.clone(),
            node,
            follower,
        })
    }

    /// Runs the test to the end and judges it.
    pub fn run(self) -> Result<Outcome> {
        let started = Instant::now();
        let options = workload::Options::from_config(&self.cfg);
        let workload = workload::by_name(&self.cfg.workload, &options)?;
        let record = sim::Run::new(&self.cfg, self.backend, workload, self.rng).run();
        if let Some(f) = self.follower {
            f.stop();
        }
        let mut record = record?;
        history::write_jsonl(
            &record.history,
            &self.cfg.nodes,
            &self.store.join("history.jsonl"),
        )?;
        let journal = std::mem::take(&mut record.journal);
        let mut outcome = Outcome::new(&self.cfg, record, started.elapsed(), self.store, self.node);
        // The verdict stands whether or not its pictures could be drawn.
        if let Err(e) = report::write_all(&outcome, &journal, &self.cfg, &self.root) {
            outcome
                .warnings
                .push(format!("the report was not written: {e:#}"));
        }
        Ok(outcome)
    }
}

/// Makes the node factory of one run; a sweep (`--seeds`) calls it once per seed, on
/// the thread that runs that seed.
pub type MakeNodes<'a> = &'a (dyn Fn() -> Result<NodeFactory> + Sync);

/// `host test`: runs the test the options describe (or each seed of a sweep, or
/// merges sweeps' summaries), prints the summary, writes the JSON if asked; returns
/// the exit status (0 valid, 1 invalid or unknown). `nodes`: the in-process nodes'
/// label and what makes their factory.
pub fn main(args: TestArgs, nodes: Option<(String, MakeNodes<'_>)>) -> Result<i32> {
    if !args.merge.is_empty() {
        return seeds::merge_main(&args.merge, args.json.as_deref());
    }
    if let Some(sweep) = seeds::Sweep::from_args(&args)? {
        return seeds::main(args, sweep, nodes);
    }
    let nodes = match nodes {
        Some((label, make)) => Some((label, make()?)),
        None => None,
    };
    let json_path = args.json.clone();
    let outcome = Sim::new(&args, nodes)?.run()?;
    summary::print(&outcome);
    if let Some(path) = json_path {
        let text = serde_json::to_string_pretty(&outcome)?;
        std::fs::write(&path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(if outcome.is_valid() { 0 } else { 1 })
}
