//! The event loop of one run, as Maelstrom's: `init` every node, the workload's
//! setup request (broadcast's topology), then clients and nemesis until the time
//! limit, then (for workloads with final reads) heal, wait 10 s, and read from every
//! client. Every event comes off one queue in (time, order scheduled) order and every
//! random choice from one seeded generator, so a seed replays a whole run.
//!
//! The nemesis's faults on nodes are carried out here, where the events are: what
//! comes for a killed node (messages, its timers) is lost, and a killed node starts
//! again as a fresh instance that gets `init` before anything else, from a client of
//! its own, as Maelstrom's database set-up sends it; what comes for a paused node
//! waits, and is handed over in order when it resumes. The rolling upgrade's turns
//! (`upgrade.rs`) come here too: a running node switches at once, a paused one
//! when it resumes, a killed one starts again as the new version.

mod faults;
mod phases;
mod routing;

use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::time::Instant;

use crate::backend::{Backend, Output};
use crate::client::{self, Clients};
use crate::config::Config;

use crate::journal::Journal;
use crate::nemesis::{Action, Nemesis, NodeState, Stream};
use crate::net::{Addr, Message, Net};
use crate::node::Effect;
use crate::problem::Problem;
use crate::record::{CrashRecord, Record};
use crate::rng::Rng;
use crate::sched::Queue;
use crate::service::Services;
use crate::upgrade::{How, Roll};
use crate::workload::{self, Op, Workload};

enum Event {
    Deliver(Message),
    Timer {
        node: usize,
        id: u64,
        generation: u64,
    },
    /// The generator's next operation is due.
    Generate,
    Timeout {
        thread: usize,
        msg_id: u64,
    },
    /// The nemesis's next operation on this stream is due.
    Nemesis(Stream),
    /// The rolling upgrade reaches its next node.
    Upgrade,
    /// A restarted node should have answered its `init` by now.
    RestartTimeout {
        client: u64,
    },
    SetupTimeout(Phase),
    EndMain,
    FinalOps,
    /// A thread's next final operation is due (kafka's repeated final polls).
    FinalOp {
        thread: usize,
        op: Op,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Init,
    Setup,
    Main,
    Drain,
    Quiet,
    Final,
    Done,
}

/// A request the harness makes of every node before the clients start.
struct SetupCall {
    node: usize,
    client: u64,
    expect: String,
    reply: Option<Value>,
}

/// How long Maelstrom waits for `init_ok`, and for a setup reply.
const INIT_TIMEOUT_NS: u64 = 10_000_000_000;
/// Events at one instant of virtual time after which the run is a livelock: far
/// beyond any burst a real test makes (every message of a 25-node broadcast round).
const LIVELOCK_EVENTS: u64 = 1_000_000;
/// How late an operation may go out on the real clock before the summary says so.
const BEHIND_NS: u64 = 50_000_000;
/// Between healing the network and the final reads.
const QUIET_NS: u64 = 10_000_000_000;

/// One run of a test, from `init` to the last final read.
pub struct Run<'a> {
    cfg: &'a Config,
    backend: Box<dyn Backend>,
    workload: Box<dyn Workload>,
    node_index: HashMap<String, usize>,
    rng: Rng,
    now: u64,
    queue: Queue<Event>,
    net: Net,
    nemesis: Option<Nemesis>,
    /// The rolling upgrade, once the clients started (if the run has one).
    roll: Option<Roll>,
    services: Services,
    clients: Clients,
    timers: Vec<HashMap<u64, u64>>,
    timer_generation: u64,
    phase: Phase,
    setup: Vec<SetupCall>,
    next_client: u64,
    cutoff: u64,
    /// An operation is due but every client is busy.
    op_waiting: bool,
    /// When the next client operation is due (the clients' schedule).
    next_op_at: u64,
    /// How late, at worst, an operation went out after it was due (real time only).
    behind_ns: u64,
    /// Final operations scheduled but not yet invoked: the run is not done before.
    finals_due: usize,
    failures: Vec<Problem>,
    crashes: Vec<CrashRecord>,
    crash_count: u64,
    faults: Vec<String>,
    undeliverable: BTreeMap<String, u64>,
    /// Per node, the events that came for it while it was paused, in order.
    held: Vec<Vec<Event>>,
    /// The clients that sent `init` to a restarted node and await its answer: the
    /// node, and when it was started.
    restarts: HashMap<u64, (usize, u64)>,
    outs: Vec<Output>,
    events: u64,
    /// A node process failed before every node answered `init`.
    could_not_start: bool,
    /// Events handled since virtual time last advanced.
    events_at_now: u64,
    /// On a terminal: when progress was last shown (or the run began).
    progress: Option<Instant>,
    progress_shown: bool,
    journal: Journal,
}

impl<'a> Run<'a> {
    pub fn new(
        cfg: &'a Config,
        backend: Box<dyn Backend>,
        workload: Box<dyn Workload>,
        rng: Rng,
    ) -> Run<'a> {
        let n = cfg.nodes.len();
        // Client ids in Maelstrom's order: one per node for init (c0..), one per node
        // for the workload's setup, then the workers' (opened when the clients start).
        let init_clients = 0;
        let next_client = n as u64;
        let clients = Clients::new(0, n, &mut 0);
        let mut run = Run {
            cfg,
            backend,
            workload,
            node_index: cfg
                .nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i))
                .collect(),
            rng,
            now: 0,
            queue: Queue::default(),
            net: Net::new(cfg.latency),
            nemesis: Nemesis::new(&cfg.nemesis, cfg.nemesis_interval, &cfg.nodes),
            roll: None,
            services: Services::default(),
            clients,
            timers: vec![HashMap::new(); n],
            timer_generation: 0,
            phase: Phase::Init,
            setup: Vec::new(),
            next_client,
            cutoff: 0,
            op_waiting: false,
            next_op_at: 0,
            behind_ns: 0,
            finals_due: 0,
            failures: Vec::new(),
            crashes: Vec::new(),
            crash_count: 0,
            faults: Vec::new(),
            undeliverable: BTreeMap::new(),
            held: (0..n).map(|_| Vec::new()).collect(),
            restarts: HashMap::new(),
            outs: Vec::new(),
            events: 0,
            events_at_now: 0,
            could_not_start: false,
            progress: (!cfg.quiet && std::io::stderr().is_terminal()).then(Instant::now),
            progress_shown: false,
            journal: Journal::echoing(cfg.log_net_send, cfg.log_net_recv, &cfg.nodes),
        };
        let ids: Vec<String> = cfg.nodes.clone();
        let calls: Vec<(usize, Value)> = (0..n)
            .map(|i| {
                (
                    i,
                    json!({"type": "init", "node_id": ids[i], "node_ids": ids}),
                )
            })
            .collect();
        run.start_setup(Phase::Init, calls, init_clients);
        run
    }

    /// Virtual time stopped: nodes keep answering each other (or re-arming 0 ms
    /// timers) at one instant. End the run, saying who is talking.
    fn livelock(&mut self, current: Event) {
        let mut talk: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut timers = 0u64;
        let mut next = Some(current);
        while let Some(e) = next.take().or_else(|| self.queue.pop_due(self.now)) {
            match e {
                Event::Deliver(m) => {
                    *talk
                        .entry((self.name(m.src), self.name(m.dest)))
                        .or_default() += 1
                }
                Event::Timer { .. } => timers += 1,
                _ => {}
            }
        }
        let mut busiest: Vec<_> = talk.into_iter().collect();
        busiest.sort_by_key(|b| std::cmp::Reverse(b.1));
        let pairs: Vec<String> = busiest
            .iter()
            .take(3)
            .map(|((s, d), n)| format!("{s} -> {d} ({n} queued)"))
            .collect();
        self.failures.push(Problem::from(format!(
            "livelock: virtual time stopped at {} after {LIVELOCK_EVENTS} events at that one instant \
             (nodes answering messages with messages at --latency 0, or re-arming 0 ms timers, never \
             let time advance); still queued at that instant: {}{}",
            workload::secs(self.now),
            if pairs.is_empty() { "no messages".to_string() } else { pairs.join(", ") },
            if timers > 0 { format!(", {timers} timer firings") } else { String::new() },
        )).at(self.now));
        self.phase = Phase::Done;
    }

    pub fn run(mut self) -> Result<Record> {
        while self.phase != Phase::Done {
            let next = self.queue.next_time();
            let now = self.backend.wait(next, &mut self.outs)?;
            let Some(now) = now else {
                bail!(
                    "the run stalled in phase {:?}: nothing left to happen",
                    self.phase
                );
            };
            if now > self.now {
                self.now = now;
                self.events_at_now = 0;
            }
            self.apply_outputs();
            while self.phase != Phase::Done {
                let Some(event) = self.queue.pop_due(self.now) else {
                    break;
                };
                self.events += 1;
                self.events_at_now += 1;
                if self.events_at_now > LIVELOCK_EVENTS {
                    self.livelock(event);
                    break;
                }
                self.handle(event)?;
            }
            self.show_progress();
        }
        if self.could_not_start {
            // Nothing ran, so there is nothing to judge: an error, not a verdict.
            let mut why = std::mem::take(&mut self.faults);
            why.extend(self.backend.shutdown());
            bail!("the test could not start: {}", why.join("; "));
        }
        // A node process that died is a crash, which fails a Maelstrom test.
        self.failures
            .extend(self.faults.drain(..).map(Problem::from));
        self.failures
            .extend(self.backend.shutdown().into_iter().map(Problem::from));
        let mut warnings = Vec::new();
        if self.behind_ns > BEHIND_NS {
            warnings.push(format!(
                "the clients fell behind their schedule by up to {} ms (the machine was too busy \
                 for real time); later operations caught up, so the rate is as asked",
                self.behind_ns / 1_000_000
            ));
        }
        if self.progress_shown {
            eprintln!();
        }
        for (dest, n) in &self.undeliverable {
            warnings.push(format!(
                "{n} messages were sent to {dest:?}, which is neither a node nor a client of this test; they were dropped"
            ));
        }
        let ctx = workload::Context {
            nodes: &self.cfg.nodes,
        };
        let verdict = self.workload.check(&self.clients.history, &ctx);
        let ops = self.clients.op_count(&*self.workload);
        let (stats, stats_valid) = self.clients.stats_json();
        for m in &self.clients.malformed {
            warnings.push(format!(
                "{} sent a malformed reply at {}: {}",
                ctx.node(m.node),
                workload::secs(m.time),
                m.why
            ));
        }
        if self.clients.malformed_count > self.clients.malformed.len() as u64 {
            warnings.push(format!(
                "{} malformed replies in all",
                self.clients.malformed_count
            ));
        }
        Ok(Record {
            net: self.net.stats(ops),
            history: std::mem::take(&mut self.clients.history),
            verdict,
            stats,
            stats_valid,
            nemesis: self.nemesis.map(|n| n.log).unwrap_or_default(),
            upgrades: self.roll.map(Roll::finish),
            crashes: self.crashes,
            crash_count: self.crash_count,
            real_time: self.backend.real_time(),
            failures: self.failures,
            warnings,
            end_ns: self.now,
            events: self.events,
            journal: self.journal,
        })
    }

    fn show_progress(&mut self) {
        let Some(last) = self.progress else { return };
        // Quick simulations print nothing; long and real-time runs tick twice a second.
        let wait = if self.progress_shown { 500 } else { 1000 };
        if last.elapsed().as_millis() < wait {
            return;
        }
        self.progress = Some(Instant::now());
        self.progress_shown = true;
        let ops = self.clients.history.invocations().count();
        let (servers, all) = self.net.counts();
        eprint!(
            "\r{:>7.1} s  {:?}  ops {ops}  msgs {all} ({servers} between nodes)   ",
            self.now as f64 / 1e9,
            self.phase
        );
    }

    fn schedule(&mut self, delay: u64, event: Event) {
        self.queue.push(self.now + delay, event);
    }

    /// Sends `msg`, due in `delay` ns, and journals it.
    fn post(&mut self, msg: Message, delay: u64) {
        self.journal.sent(&msg, self.now);
        self.schedule(delay, Event::Deliver(msg));
    }

    fn handle(&mut self, event: Event) -> Result<()> {
        match event {
            Event::Deliver(msg) => self.deliver(msg)?,
            Event::Timer {
                node,
                id,
                generation,
            } => {
                if self.timers[node].get(&id) != Some(&generation) {
                    // Cancelled, re-armed, or gone with a killed node.
                } else if self.node_state(node) == NodeState::Paused {
                    self.held[node].push(Event::Timer {
                        node,
                        id,
                        generation,
                    });
                } else {
                    self.timers[node].remove(&id);
                    self.backend.fire(node, id, self.now, &mut self.outs)?;
                    self.apply_outputs();
                }
            }
            Event::Generate => self.generate(),
            Event::Timeout { thread, msg_id } => {
                if self.clients.on_timeout(
                    thread,
                    msg_id,
                    self.now,
                    &*self.workload,
                    &mut self.next_client,
                ) {
                    self.tell_workload();
                    self.after_completion()?;
                }
            }
            Event::Nemesis(stream) => {
                if self.phase == Phase::Main && self.now < self.cutoff {
                    if let Some(nem) = &mut self.nemesis {
                        let (action, wait) = nem.step(stream, self.now, &mut self.rng);
                        self.schedule(wait, Event::Nemesis(stream));
                        self.fault(action)?;
                    }
                }
            }
            Event::Upgrade => self.upgrade_turn()?,
            Event::RestartTimeout { client } => {
                if let Some((node, started)) = self.restarts.remove(&client) {
                    self.failures.push(Problem::from(format!(
                        "{} did not answer init within {} s after the nemesis started it again at {:.3} s",
                        self.cfg.nodes[node],
                        INIT_TIMEOUT_NS / 1_000_000_000,
                        started as f64 / 1e9
                    )).at(started).node(&self.cfg.nodes[node]));
                }
            }
            Event::SetupTimeout(phase) => {
                if self.phase == phase {
                    let what = if phase == Phase::Init {
                        "init"
                    } else {
                        "the setup request"
                    };
                    let silent: Vec<&str> = self
                        .setup
                        .iter()
                        .filter(|c| c.reply.is_none())
                        .map(|c| self.cfg.nodes[c.node].as_str())
                        .collect();
                    self.failures.push(Problem::from(format!(
                        "{} did not answer {what} within {} s; the test could not start",
                        silent.join(", "),
                        INIT_TIMEOUT_NS / 1_000_000_000
                    )));
                    self.phase = Phase::Done;
                }
            }
            Event::EndMain => {
                if self.phase == Phase::Main {
                    self.phase = Phase::Drain;
                    self.after_completion()?;
                }
            }
            Event::FinalOps => {
                self.phase = Phase::Final;
                for t in 0..self.clients.workers.len() {
                    if let Some(op) = self.workload.final_op(t) {
                        self.invoke(t, op, true);
                    }
                }
                self.after_completion()?;
            }
            Event::FinalOp { thread, op } => {
                self.finals_due -= 1;
                self.invoke(thread, op, true);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::InProcess;
    use crate::config::TestArgs;
    use crate::history::Kind;
    use crate::node::{Crash, Effect, Input, Node, NodeSpec};
    use crate::workload::Valid;

    /// Answers every request with its type and `_ok`, echoing the body.
    struct Echo;

    impl Node for Echo {
        fn handle(&mut self, _: u64, input: Input<'_>, out: &mut Vec<Effect>) -> Result<(), Crash> {
            let Input::Message { src, body } = input else {
                return Ok(());
            };
            let mut reply: Value = serde_json::from_str(body).map_err(|e| Crash {
                reason: e.to_string(),
            })?;
            let kind = format!("{}_ok", reply["type"].as_str().unwrap_or(""));
            reply["in_reply_to"] = reply["msg_id"].take();
            reply["type"] = kind.into();
            out.push(Effect::Send {
                dest: src.to_string(),
                body: reply.to_string(),
            });
            Ok(())
        }
    }

    /// One run of an echo cluster with `options`, straight through the event loop.
    fn run(options: &str) -> Record {
        let words = options.split_whitespace().chain(["x.wasm"]);
        let cfg = Config::from_args(&TestArgs::parse(words).unwrap()).unwrap();
        let logs = std::env::temp_dir().join(format!("glomers-sim-unit-{}", std::process::id()));
        std::fs::create_dir_all(&logs).unwrap();
        let specs: Vec<NodeSpec> = (cfg.nodes.iter().enumerate())
            .map(|(index, name)| NodeSpec {
                name: name.clone(),
                index,
                seed: index as u64,
                log: logs.join(format!("{name}.log")),
                upgraded: false,
            })
            .collect();
        let factory = Box::new(|_: &NodeSpec| Ok(Box::new(Echo) as Box<dyn Node>));
        let backend = InProcess::start(&specs, factory).unwrap();
        let workload = workload::new(cfg.workload, &cfg.workload_options()).unwrap();
        let record = Run::new(&cfg, Box::new(backend), workload, Rng::new(cfg.seed))
            .run()
            .unwrap();
        let _ = std::fs::remove_dir_all(&logs);
        record
    }

    #[test]
    fn the_phases_run_to_the_end_and_every_operation_completes() {
        let r = run("-w echo --node-count 2 --time-limit 3 --rate 20 --latency 5 --seed 5");
        assert_eq!(r.verdict.valid, Valid::True, "{:?}", r.verdict.problems);
        assert!(r.failures.is_empty(), "{:?}", r.failures);
        // The clients stop at the time limit; the run ends once the last reply is in.
        assert!(
            (3_000_000_000..3_100_000_000).contains(&r.end_ns),
            "{}",
            r.end_ns
        );
        let count = |k: Kind| r.history.entries.iter().filter(|e| e.kind == k).count();
        let invoked = count(Kind::Invoke);
        assert!(
            (45..=75).contains(&invoked),
            "about 20/s for 3 s: {invoked}"
        );
        assert_eq!(count(Kind::Ok), invoked, "every echo answered");
        // Every request and reply crossed the network: two messages per operation, plus
        // each node's init and init_ok.
        assert_eq!(r.net.clients.msg_count as usize, 2 * invoked + 4);
    }

    #[test]
    fn a_seed_replays_the_run_and_another_seed_does_not() {
        let options = "-w echo --node-count 3 --time-limit 2 --rate 30 --latency 10 \
                       --latency-dist exponential --nemesis partition --nemesis-interval 0.5";
        let a = run(&format!("{options} --seed 7"));
        let b = run(&format!("{options} --seed 7"));
        let c = run(&format!("{options} --seed 8"));
        let times = |r: &Record| -> Vec<u64> { r.history.entries.iter().map(|e| e.time).collect() };
        assert_eq!(times(&a), times(&b));
        assert_eq!((a.end_ns, a.events), (b.end_ns, b.events));
        assert_ne!(times(&a), times(&c));
    }
}
