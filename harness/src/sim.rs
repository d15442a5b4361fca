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

use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::time::Instant;

use crate::backend::{Backend, Output};
use crate::client::{self, Clients};
use crate::config::Config;
use crate::history::History;
use crate::journal::Journal;
use crate::nemesis::{Action, Nemesis, NodeState, Stream};
use crate::net::{Addr, Message, Net};
use crate::node::Effect;
use crate::rng::Rng;
use crate::sched::Queue;
use crate::service::Services;
use crate::upgrade::{How, Roll, Upgrades};
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
/// Between healing the network and the final reads.
const QUIET_NS: u64 = 10_000_000_000;

/// What the event loop leaves: the history and everything it counted, before the
/// checkers' figures are put together into an [`crate::Outcome`].
pub struct Record {
    pub history: History,
    pub verdict: workload::Verdict,
    pub net: crate::net::NetStats,
    pub stats: Value,
    pub stats_valid: bool,
    pub nemesis: Vec<Value>,
    /// What the rolling upgrade did, if the run had one.
    pub upgrades: Option<Upgrades>,
    pub crashes: Vec<crate::outcome::CrashRecord>,
    pub crash_count: u64,
    /// Whether time was the real clock.
    pub real_time: bool,
    /// Failures of the run itself (a node that never answered init...): invalid.
    pub failures: Vec<String>,
    pub warnings: Vec<String>,
    pub end_ns: u64,
    pub events: u64,
    /// Every message, for the report.
    pub journal: Journal,
}

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
    /// Final operations scheduled but not yet invoked: the run is not done before.
    finals_due: usize,
    failures: Vec<String>,
    crashes: Vec<crate::outcome::CrashRecord>,
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
        self.failures.push(format!(
            "livelock: virtual time stopped at {} after {LIVELOCK_EVENTS} events at that one instant \
             (nodes answering messages with messages at --latency 0, or re-arming 0 ms timers, never \
             let time advance); still queued at that instant: {}{}",
            workload::secs(self.now),
            if pairs.is_empty() { "no messages".to_string() } else { pairs.join(", ") },
            if timers > 0 { format!(", {timers} timer firings") } else { String::new() },
        ));
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
        self.failures.append(&mut self.faults);
        self.failures.extend(self.backend.shutdown());
        let mut warnings = Vec::new();
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
                    self.failures.push(format!(
                        "{} did not answer init within {} s after the nemesis started it again at {:.3} s",
                        self.cfg.nodes[node],
                        INIT_TIMEOUT_NS / 1_000_000_000,
                        started as f64 / 1e9
                    ));
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
                    self.failures.push(format!(
                        "{} did not answer {what} within {} s; the test could not start",
                        silent.join(", "),
                        INIT_TIMEOUT_NS / 1_000_000_000
                    ));
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

    /// Carries out one nemesis operation.
    fn fault(&mut self, action: Action) -> Result<()> {
        match action {
            Action::Partition { grudge, .. } => self.net.partition(&grudge),
            Action::Heal => self.net.heal(),
            Action::Kill(nodes) => {
                for i in nodes {
                    self.backend.kill(i, self.now)?;
                    // Its timers, what waited for it, and a pending init die with it.
                    self.timers[i].clear();
                    self.held[i].clear();
                    self.restarts.retain(|_, (node, _)| *node != i);
                }
            }
            Action::Start(nodes) => {
                for i in nodes {
                    let seed = self.rng.next_u64();
                    let upgraded = self.roll.as_ref().is_some_and(|r| r.reached(i));
                    self.backend.restart(i, seed, self.now, upgraded)?;
                    if let Some(roll) = &mut self.roll {
                        roll.started(i, self.now);
                    }
                    self.send_init(i)?;
                }
            }
            Action::Pause(nodes) => {
                for i in nodes {
                    self.backend.pause(i, self.now)?;
                }
            }
            Action::Resume(nodes) => {
                for i in nodes {
                    self.backend.resume(i, self.now)?;
                    // Its switch comes before what waited for it, as its turn did.
                    if self.roll.as_ref().is_some_and(|r| r.waiting(i)) {
                        self.upgrade_node(i, How::Resumed)?;
                    }
                    for e in std::mem::take(&mut self.held[i]) {
                        self.queue.push(self.now, e);
                    }
                }
            }
        }
        Ok(())
    }

    /// The roll reaches its next node: a running node switches now; a paused or
    /// killed one waits until it resumes or starts again.
    fn upgrade_turn(&mut self) -> Result<()> {
        let Some(roll) = &mut self.roll else {
            return Ok(());
        };
        let Some((node, next)) = roll.turn(self.now) else {
            return Ok(());
        };
        if let Some(gap) = next {
            self.schedule(gap, Event::Upgrade);
        }
        if self.node_state(node) == NodeState::Up {
            self.upgrade_node(node, How::Live)?;
        }
        Ok(())
    }

    /// Switches running node `node` to the new version and records what it said.
    fn upgrade_node(&mut self, node: usize, how: How) -> Result<()> {
        let r = self.backend.upgrade(node, self.now, &mut self.outs)?;
        self.apply_outputs();
        if let Some(roll) = &mut self.roll {
            roll.switched(node, self.now, how, r);
        }
        Ok(())
    }

    /// Sends `init` to a node that just started again, from a new client, and hands
    /// it over at once so that it is the first thing the fresh node hears.
    fn send_init(&mut self, node: usize) -> Result<()> {
        let client = self.next_client;
        self.next_client += 1;
        let ids = &self.cfg.nodes;
        let body = json!({"type": "init", "msg_id": 1, "node_id": ids[node], "node_ids": ids});
        self.restarts.insert(client, (node, self.now));
        self.schedule(INIT_TIMEOUT_NS, Event::RestartTimeout { client });
        let (msg, _) = self.net.send(
            Addr::Client(client),
            Addr::Node(node),
            body.to_string(),
            &mut self.rng,
        );
        self.journal.sent(&msg, self.now);
        self.deliver(msg)
    }

    fn node_state(&self, node: usize) -> NodeState {
        self.nemesis
            .as_ref()
            .map_or(NodeState::Up, |n| n.state(node))
    }

    fn deliver(&mut self, msg: Message) -> Result<()> {
        if let Addr::Node(i) = msg.dest {
            match self.node_state(i) {
                NodeState::Up => {}
                NodeState::Paused => {
                    self.held[i].push(Event::Deliver(msg));
                    return Ok(());
                }
                // Lost, as a message to a dead process is.
                NodeState::Down => {
                    self.journal.arrived(&msg, self.now, false);
                    return Ok(());
                }
            }
        }
        let delivered = self.net.receive(&msg);
        self.journal.arrived(&msg, self.now, delivered);
        if !delivered {
            return Ok(());
        }
        match msg.dest {
            Addr::Node(i) => {
                let src = self.name(msg.src);
                self.backend
                    .deliver(i, &msg, &src, self.now, &mut self.outs)?;
                self.apply_outputs();
            }
            Addr::Service(i) => {
                let src = self.name(msg.src);
                if let Some(reply) = self.services.handle(i, &src, &msg.body, &mut self.rng) {
                    let (reply, delay) = self.net.send(msg.dest, msg.src, reply, &mut self.rng);
                    self.post(reply, delay);
                }
            }
            Addr::Client(c) => {
                if let Some((node, started)) = self.restarts.remove(&c) {
                    let reply: Value = serde_json::from_str(&msg.body).unwrap_or(Value::Null);
                    if reply["type"] != "init_ok" || reply["in_reply_to"] != 1 {
                        self.failures.push(format!(
                            "{} answered the init after its restart at {:.3} s with {reply} instead of an init_ok (with in_reply_to 1)",
                            self.cfg.nodes[node],
                            started as f64 / 1e9
                        ));
                    }
                } else if let Some(call) = self.setup.iter_mut().find(|s| s.client == c) {
                    if call.reply.is_none() {
                        call.reply = serde_json::from_str(&msg.body).ok().or(Some(Value::Null));
                        self.setup_progress();
                    }
                } else if self.clients.on_reply(
                    c,
                    &msg.body,
                    self.now,
                    &*self.workload,
                    &mut self.next_client,
                ) {
                    self.tell_workload();
                    self.after_completion()?;
                }
            }
        }
        Ok(())
    }

    fn name(&self, a: Addr) -> String {
        crate::journal::name(a, &self.cfg.nodes)
    }

    /// Where a message to `dest` goes; `None` for an unknown or closed endpoint.
    fn resolve(&mut self, dest: &str) -> Option<Addr> {
        if let Some(&i) = self.node_index.get(dest) {
            return Some(Addr::Node(i));
        }
        if let Some(i) = Services::index(dest) {
            return Some(Addr::Service(i));
        }
        if let Some(c) = dest.strip_prefix('c').and_then(|n| n.parse::<u64>().ok()) {
            // Replies to clients that were closed since are dropped, as in Maelstrom.
            let open = self.clients.thread_of(c).is_some()
                || self.setup.iter().any(|s| s.client == c)
                || self.restarts.contains_key(&c);
            return open.then_some(Addr::Client(c));
        }
        *self.undeliverable.entry(dest.to_string()).or_default() += 1;
        None
    }

    fn apply_outputs(&mut self) {
        if self.outs.is_empty() {
            return;
        }
        let mut outs = std::mem::take(&mut self.outs);
        for o in outs.drain(..) {
            match o {
                Output::Effect {
                    node,
                    effect: Effect::Send { dest, body },
                } => {
                    if let Some(dest) = self.resolve(&dest) {
                        let (msg, delay) =
                            self.net.send(Addr::Node(node), dest, body, &mut self.rng);
                        self.post(msg, delay);
                    }
                }
                Output::Effect {
                    node,
                    effect: Effect::SetTimer { id, delay_ms },
                } => {
                    self.timer_generation += 1;
                    let generation = self.timer_generation;
                    self.timers[node].insert(id, generation);
                    self.schedule(
                        delay_ms.saturating_mul(1_000_000),
                        Event::Timer {
                            node,
                            id,
                            generation,
                        },
                    );
                }
                Output::Effect {
                    node,
                    effect: Effect::CancelTimer { id },
                } => {
                    self.timers[node].remove(&id);
                }
                Output::Effect {
                    node,
                    effect: Effect::Restarted,
                } => self.timers[node].clear(),
                Output::Crashed { node, error } => {
                    self.crash_count += 1;
                    if self.crashes.len() < 10 {
                        self.crashes.push(crate::outcome::CrashRecord {
                            node: self.cfg.nodes[node].clone(),
                            time: self.now as f64 / 1e9,
                            error,
                        });
                    }
                }
                Output::Fault { node, what } => {
                    // Under Maelstrom a garbled stdout or a dead process breaks the test
                    // at once: nothing after it could be judged.
                    if self.faults.len() < 20 {
                        self.faults.push(format!("{} {what}", self.cfg.nodes[node]));
                    }
                    if self.phase == Phase::Init {
                        self.could_not_start = true;
                    }
                    self.phase = Phase::Done;
                }
            }
        }
        // Keep the buffer's capacity.
        self.outs = outs;
    }

    fn start_setup(&mut self, phase: Phase, calls: Vec<(usize, Value)>, first_client: u64) {
        self.phase = phase;
        self.setup.clear();
        for (k, (node, mut body)) in calls.into_iter().enumerate() {
            let client = first_client + k as u64;
            body["msg_id"] = json!(1);
            let expect = format!("{}_ok", body["type"].as_str().unwrap_or(""));
            self.setup.push(SetupCall {
                node,
                client,
                expect,
                reply: None,
            });
            let (msg, delay) = self.net.send(
                Addr::Client(client),
                Addr::Node(node),
                body.to_string(),
                &mut self.rng,
            );
            self.post(msg, delay);
        }
        let timeout = if phase == Phase::Init {
            INIT_TIMEOUT_NS
        } else {
            client::TIMEOUT_NS
        };
        self.schedule(timeout, Event::SetupTimeout(phase));
    }

    /// Moves on once every node answered the current setup request.
    fn setup_progress(&mut self) {
        if self.setup.iter().any(|c| c.reply.is_none()) {
            return;
        }
        for c in &self.setup {
            let reply = c.reply.as_ref().unwrap_or(&Value::Null);
            if reply["type"] != json!(c.expect) || reply["in_reply_to"] != json!(1) {
                self.failures.push(format!(
                    "{} answered with {reply} instead of a {} (with in_reply_to 1); the test could not start",
                    self.cfg.nodes[c.node], c.expect
                ));
            }
        }
        if !self.failures.is_empty() {
            self.setup.clear();
            self.phase = Phase::Done;
            return;
        }
        if self.phase == Phase::Init {
            let calls: Vec<(usize, Value)> = (0..self.cfg.nodes.len())
                .filter_map(|i| Some((i, self.workload.setup(i)?)))
                .collect();
            if !calls.is_empty() {
                let first = self.next_client;
                self.next_client += calls.len() as u64;
                self.start_setup(Phase::Setup, calls, first);
                return;
            }
        }
        self.setup.clear();
        self.start_main();
    }

    fn start_main(&mut self) {
        self.phase = Phase::Main;
        self.clients = Clients::new(
            self.cfg.concurrency,
            self.cfg.nodes.len(),
            &mut self.next_client,
        );
        self.cutoff = self.now + self.cfg.time_limit_ns;
        if self.cfg.rate > 0.0 {
            self.schedule(0, Event::Generate);
        }
        for stream in self
            .nemesis
            .as_ref()
            .map(Nemesis::streams)
            .unwrap_or_default()
        {
            self.schedule(0, Event::Nemesis(stream));
        }
        if let Some(plan) = &self.cfg.upgrade {
            let roll = Roll::new(
                plan,
                &self.cfg.nodes,
                self.now,
                self.cfg.time_limit_ns,
                &mut self.rng,
            );
            self.schedule(roll.start_ns() - self.now, Event::Upgrade);
            self.roll = Some(roll);
        }
        self.schedule(self.cfg.time_limit_ns, Event::EndMain);
    }

    /// The generator's next operation is due: give it to a free client, if any.
    fn generate(&mut self) {
        if self.phase != Phase::Main || self.now >= self.cutoff {
            return;
        }
        match self.clients.random_free(&mut self.rng) {
            Some(t) => {
                let op = self.workload.next_op(t, &mut self.rng);
                self.invoke(t, op, false);
                // Uniform in [0, 2/rate): `rate` operations per second on average.
                let gap = self.rng.below((2e9 / self.cfg.rate) as u64);
                self.schedule(gap, Event::Generate);
            }
            None => self.op_waiting = true,
        }
    }

    fn invoke(&mut self, thread: usize, op: Op, is_final: bool) {
        let req = self
            .clients
            .invoke(thread, op, is_final, self.now, &*self.workload);
        let (msg, delay) = self.net.send(req.src, req.dest, req.body, &mut self.rng);
        self.post(msg, delay);
        self.schedule(
            client::TIMEOUT_NS,
            Event::Timeout {
                thread,
                msg_id: req.msg_id,
            },
        );
    }

    /// Hands the operation that just completed to the workload's generator.
    fn tell_workload(&mut self) {
        let entries = &self.clients.history.entries;
        let Some(done) = entries.last() else { return };
        let Some(invoked) = done.invoke.and_then(|i| entries.get(i)) else {
            return;
        };
        // A thread's processes are its index plus multiples of the concurrency.
        let thread = (done.process % self.clients.workers.len().max(1) as u64) as usize;
        let is_final = done.is_final;
        self.workload.completed(thread, invoked, done);
        if is_final {
            if let Some((wait, op)) = self.workload.next_final_op(thread, self.now, &mut self.rng) {
                self.finals_due += 1;
                self.schedule(wait, Event::FinalOp { thread, op });
            }
        }
    }

    /// A client became free.
    fn after_completion(&mut self) -> Result<()> {
        match self.phase {
            Phase::Main if self.op_waiting => {
                self.op_waiting = false;
                self.generate();
            }
            Phase::Drain if self.clients.all_free() => {
                if self.workload.final_op(0).is_some() {
                    // As Maelstrom: heal the network, let the nodes converge, then read.
                    // As Maelstrom: heal the network, resume and restart the nodes,
                    // let them converge, then read.
                    let heal = self.nemesis.as_mut().map(|n| n.heal(self.now));
                    for action in heal.unwrap_or_default() {
                        self.fault(action)?;
                    }
                    self.phase = Phase::Quiet;
                    self.schedule(QUIET_NS, Event::FinalOps);
                } else {
                    self.phase = Phase::Done;
                }
            }
            Phase::Final if self.clients.all_free() && self.finals_due == 0 => {
                self.phase = Phase::Done
            }
            _ => {}
        }
        Ok(())
    }
}
