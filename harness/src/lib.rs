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
//! use harness::{Builder, Crash, Effect, Fault, Input, Node, Workload};
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
//! let outcome = Builder::new(Workload::Echo)
//!     .node_count(3)
//!     .rate(20.0)
//!     .time_limit(5.0)
//!     .nemesis(&[Fault::Partition])
//!     .seed(7)
//!     .store(std::env::temp_dir().join("harness-doc"))
//!     .nodes("echo", |_spec| Ok(Box::new(Echo) as Box<dyn Node>))
//!     .run()?;
//! assert!(outcome.is_valid(), "{:?}", outcome.problems);
//! # anyhow::Ok(())
//! ```
//!
//! The public API is small: [`Builder`] -> [`Sim`] -> [`Outcome`]; the [`Node`] trait
//! with its [`Input`]s and [`Effect`]s; the typed options ([`Workload`], [`Topology`],
//! [`Model`], ...); the client history ([`History`]); and [`main`], `host test`
//! itself. Everything else is private, in rooms of one job each, read top-down:
//!
//! - Options: `options` (the typed values), `config` (`host test`'s options and the
//!   test they decide, and the replay command).
//! - Nodes: `node` (what a node is to the harness), `backend` (in-process nodes),
//!   `process` (`--bin` nodes as processes), `stderr_echo` (`--log-stderr`).
//! - One run: `builder` (a test put together), `sim` (its event loop), `record` (what it recorded), `sched` (the
//!   queue of events), `net` (latency, partitions, message counts), `nemesis` (which
//!   faults, when), `upgrade` (the rolling upgrade), `service` (lin-kv, seq-kv, lww-kv,
//!   lin-tso), `client` (client processes), `rng` (the one seeded generator).
//! - Judging: `history` (what clients did), `problem` (why a run is not valid), `workload` (generators and checkers),
//!   `stats` (the one quantile formula), `outcome` (the typed result), `summary` (the
//!   text a person reads).
//! - Files: `store` (run directories), `journal` (every message), `report` (the page).
//! - Many runs: `seeds` (`--seeds`, `--shard`, `--merge`), `junit` (`--junit`), `cli`
//!   (`host test`'s entry).

mod backend;
mod builder;
mod cli;
mod client;
mod config;
mod history;
mod journal;
mod junit;
mod nemesis;
mod net;
mod node;
mod options;
mod outcome;
mod problem;
mod process;
mod record;
mod report;
mod rng;
mod sched;
mod seeds;
mod service;
mod sim;
mod stats;
mod stderr_echo;
mod store;
mod summary;
pub mod supervisor;
mod upgrade;
mod workload;

pub use builder::{Builder, Sim};
pub use cli::{main, MakeNodes};
pub use config::{given_words, TestArgs};
pub use history::{Entry, History, Kind};
pub use nemesis::Targets;
pub use net::Dist;
pub use node::{Crash, Effect, Input, Node, NodeFactory, NodeSpec, UpgradeInfo};
pub use options::{Availability, Concurrency, Fault, Model, Topology, Workload};
pub use outcome::Outcome;
pub use problem::Problem;
pub use upgrade::{How, Upgrades};
pub use workload::Valid;
