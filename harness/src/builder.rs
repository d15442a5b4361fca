//! A test put together ([`Builder`]) and ready to run ([`Sim`]): options decided,
//! store directory made, nodes started; then run and judged into an [`Outcome`].

use anyhow::{bail, Result};
use std::path::PathBuf;
use std::time::Instant;

use crate::backend::{Backend, InProcess};
use crate::config::{Config, Target, TestArgs};
use crate::node::{Node, NodeFactory, NodeSpec};
use crate::options::{Availability, Concurrency, Fault, Model, Topology, Workload};
use crate::outcome::Outcome;
use crate::rng::Rng;
use crate::{history, process, report, sim, stderr_echo, store, workload};

/// Builds a [`Sim`]: the workload, the options, and the nodes. Each typed setter
/// stands for the option of the same name; every option goes through `host test`'s
/// own parser and checks, so a test built here is one the command line could give
/// (and its replay command says so).
pub struct Builder {
    words: Vec<String>,
    nodes: Option<(String, NodeFactory)>,
}

impl Builder {
    /// A test of `workload` with Maelstrom's defaults.
    pub fn new(workload: Workload) -> Builder {
        Builder {
            words: vec!["-w".into(), workload.to_string()],
            nodes: None,
        }
    }

    /// A test of the workload Maelstrom names `name` (`"g-counter"`); an unknown name
    /// is an error that lists the workloads.
    pub fn named(name: &str) -> Result<Builder> {
        let w = <Workload as clap::ValueEnum>::from_str(name, false).map_err(|_| {
            let names: Vec<String> = <Workload as clap::ValueEnum>::value_variants()
                .iter()
                .map(Workload::to_string)
                .collect();
            anyhow::anyhow!(
                "unknown workload {name:?}; this harness has: {}",
                names.join(", ")
            )
        })?;
        Ok(Builder::new(w))
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
    pub fn concurrency(self, c: Concurrency) -> Builder {
        self.option("--concurrency", c)
    }
    pub fn topology(self, t: Topology) -> Builder {
        self.option("--topology", t)
    }
    pub fn availability(self, a: Availability) -> Builder {
        self.option("--availability", a)
    }
    /// The faults the nemesis injects.
    pub fn nemesis(self, faults: &[Fault]) -> Builder {
        self.list("--nemesis", faults)
    }
    /// Every this many seconds, on average, a fault begins or ends.
    pub fn nemesis_interval(self, seconds: f64) -> Builder {
        self.option("--nemesis-interval", seconds)
    }
    /// The transactional models to check (txn workloads).
    pub fn consistency_models(self, models: &[Model]) -> Builder {
        self.list("--consistency-models", models)
    }

    fn list<T: ToString>(self, name: &str, values: &[T]) -> Builder {
        let joined: Vec<String> = values.iter().map(T::to_string).collect();
        self.option(name, joined.join(","))
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
        let store = store::new_run(&args.store, &cfg.workload.to_string(), cfg.seed)?;
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
            (Target::InProcess, Some((label, factory))) => {
                let factory = match cfg.log_stderr {
                    true => stderr_echo::wrap(factory),
                    false => factory,
                };
                (Box::new(InProcess::start(&specs, factory)?), label)
            }
            (Target::InProcess, None) => {
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
        let options = self.cfg.workload_options();
        let workload = workload::new(self.cfg.workload, &options)?;
        let record = sim::Run::new(&self.cfg, self.backend, workload, self.rng).run();
        if let Some(f) = self.follower {
            f.stop();
        }
        let mut record = record?;
        let history_path = self.store.join("history.jsonl");
        // A run of a sweep (quiet) keeps its files only when it is not valid (a valid
        // seed replays), so it writes them only then: writing the journal and the
        // report is most of a seed's time otherwise.
        let history = match self.cfg.quiet {
            true => Some(record.history.clone()),
            false => {
                history::write_jsonl(&record.history, &self.cfg.nodes, &history_path)?;
                None
            }
        };
        let journal = std::mem::take(&mut record.journal);
        let nodes = self.cfg.nodes.clone();
        let mut outcome = Outcome::new(&self.cfg, record, started.elapsed(), self.store, self.node);
        if let Some(history) = history {
            if outcome.is_valid() {
                return Ok(outcome);
            }
            history::write_jsonl(&history, &nodes, &history_path)?;
        }
        // The verdict stands whether or not its pictures could be drawn.
        if let Err(e) = report::write_all(&outcome, &journal, &self.cfg, &self.root) {
            outcome
                .warnings
                .push(format!("the report was not written: {e:#}"));
        }
        Ok(outcome)
    }
}
