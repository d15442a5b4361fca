//! The faults of a run and when they happen, as Jepsen's combined nemesis schedules
//! them for a Maelstrom cluster. Two independent streams, as Jepsen composes its
//! packages: partitions (start one, heal it, ...) and processes (kill then start
//! again, or pause then resume, the pair picked at random each time). Each stream
//! acts at once, then after waits drawn uniformly from [0, 2 × --nemesis-interval).
//! A partition is one of Jepsen's shapes (one node alone, a third cleanly split off,
//! a minority/majority split, overlapping majorities in a ring) expressed as a
//! grudge: for each node, the nodes whose messages it drops. A kill or pause hits
//! the nodes one of Jepsen's node specs picks (some, one, a third, a minority, a
//! majority, all); a start or resume brings back every node that is down or paused.
//! This module decides and records (as typed [`Event`]s, which serialise to
//! Maelstrom's operations); the event loop (`sim.rs`) carries out.

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::collections::BTreeMap;

use super::rng::Rng;
use crate::options::Fault;

/// The faults a run injects (`--nemesis`), and whom kills and pauses may hit
/// (`--nemesis-targets`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Network partitions.
    pub partition: bool,
    /// Nodes killed (state lost) and later started afresh with a new `init`.
    pub kill: bool,
    /// Nodes paused (nothing handled) and later resumed.
    pub pause: bool,
    /// The node specs kills and pauses pick from (every one when empty).
    pub targets: Vec<Targets>,
}

impl Faults {
    /// The faults of `--nemesis` and the specs of `--nemesis-targets` (all specs
    /// when `targets` is empty).
    pub fn new(faults: &[Fault], targets: &[Targets]) -> Faults {
        Faults {
            partition: faults.contains(&Fault::Partition),
            kill: faults.contains(&Fault::Kill),
            pause: faults.contains(&Fault::Pause),
            targets: match targets {
                [] => TARGETS.to_vec(),
                _ => targets.to_vec(),
            },
        }
    }

    /// Whether any fault is injected.
    pub fn any(&self) -> bool {
        self.partition || self.kill || self.pause
    }
}

/// Which nodes a kill or pause hits: Jepsen's node specs (it also has primaries,
/// which Maelstrom nodes do not declare).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Targets {
    /// A random nonempty subset: a size from 1 to n, then that many nodes.
    Some,
    One,
    /// Up to, not including, a third.
    MinorityThird,
    /// The largest minority.
    Minority,
    /// The smallest majority.
    Majority,
    All,
}

const TARGETS: [Targets; 6] = [
    Targets::Some,
    Targets::One,
    Targets::MinorityThird,
    Targets::Minority,
    Targets::Majority,
    Targets::All,
];

impl Targets {
    pub fn name(self) -> &'static str {
        match self {
            Targets::Some => "some",
            Targets::One => "one",
            Targets::MinorityThird => "minority-third",
            Targets::Minority => "minority",
            Targets::Majority => "majority",
            Targets::All => "all",
        }
    }

    /// The nodes (of `0..n`) this spec picks, ascending.
    pub fn pick(self, n: usize, rng: &mut Rng) -> Vec<usize> {
        let mut nodes: Vec<usize> = (0..n).collect();
        let take = match self {
            // A size from 1 to n, all equally likely, then that many nodes.
            Targets::Some => 1 + rng.below(n as u64) as usize,
            Targets::One => n.min(1),
            Targets::MinorityThird => n.saturating_sub(1) / 3,
            Targets::Minority => majority(n) - 1,
            Targets::Majority => majority(n).min(n),
            Targets::All => return nodes,
        };
        rng.shuffle(&mut nodes);
        nodes.truncate(take.min(n));
        nodes.sort_unstable();
        nodes
    }
}

/// The shapes of partition Jepsen picks from for a Maelstrom cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spec {
    One,
    MinorityThird,
    Majority,
    MajoritiesRing,
}

const SPECS: [Spec; 4] = [
    Spec::One,
    Spec::MinorityThird,
    Spec::Majority,
    Spec::MajoritiesRing,
];

impl Spec {
    pub fn name(self) -> &'static str {
        match self {
            Spec::One => "one",
            Spec::MinorityThird => "minority-third",
            Spec::Majority => "majority",
            Spec::MajoritiesRing => "majorities-ring",
        }
    }
}

/// `grudge[dest]` = the nodes whose messages `dest` drops.
pub type Grudge = Vec<Vec<usize>>;

/// The nemesis's two independent schedules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Partition,
    Process,
}

/// Where a node stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    Up,
    /// Handles nothing; what comes for it waits.
    Paused,
    /// Killed: has no state; what comes for it is lost.
    Down,
}

/// What the event loop must do now. Node lists name exactly the nodes that change:
/// a kill skips nodes already down, a start brings up every node that is down, and
/// so on.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    Partition { spec: Spec, grudge: Grudge },
    Heal,
    Kill(Vec<usize>),
    Start(Vec<usize>),
    Pause(Vec<usize>),
    Resume(Vec<usize>),
}

/// The nemesis of one run: its schedule's state, where each node stands, and what
/// it did.
pub struct Nemesis {
    faults: Faults,
    interval_ns: u64,
    names: Vec<String>,
    /// Each flip-flop's next move: partition (else heal), kill (else start), pause
    /// (else resume).
    partition_next: bool,
    kill_next: bool,
    pause_next: bool,
    state: Vec<NodeState>,
    /// Every nemesis operation, for the report.
    pub log: Vec<Event>,
}

impl Nemesis {
    /// A nemesis over the nodes `names`; `None` when `faults` injects nothing.
    pub fn new(faults: &Faults, interval_s: f64, names: &[String]) -> Option<Nemesis> {
        faults.any().then(|| Nemesis {
            faults: faults.clone(),
            interval_ns: (interval_s * 1e9) as u64,
            names: names.to_vec(),
            partition_next: true,
            kill_next: true,
            pause_next: true,
            state: vec![NodeState::Up; names.len()],
            log: Vec::new(),
        })
    }

    /// The streams to start when the clients start.
    pub fn streams(&self) -> Vec<Stream> {
        let mut s = Vec::new();
        if self.faults.partition {
            s.push(Stream::Partition);
        }
        if self.faults.kill || self.faults.pause {
            s.push(Stream::Process);
        }
        s
    }

    /// Where node `node` stands.
    pub fn state(&self, node: usize) -> NodeState {
        self.state.get(node).copied().unwrap_or(NodeState::Up)
    }

    /// The operation of `stream` due now, and how long until its next one.
    pub fn step(&mut self, stream: Stream, now: u64, rng: &mut Rng) -> (Action, u64) {
        let action = match stream {
            Stream::Partition => {
                let a = if self.partition_next {
                    let spec = SPECS[rng.below(SPECS.len() as u64) as usize];
                    let grudge = grudge(spec, self.names.len(), rng);
                    Action::Partition { spec, grudge }
                } else {
                    Action::Heal
                };
                self.partition_next = !self.partition_next;
                self.record(now, &a, None);
                a
            }
            Stream::Process => {
                let kill = match (self.faults.kill, self.faults.pause) {
                    (true, true) => rng.below(2) == 0,
                    (kill, _) => kill,
                };
                let next = if kill {
                    &mut self.kill_next
                } else {
                    &mut self.pause_next
                };
                let first = *next;
                *next = !first;
                if first {
                    let specs: &[Targets] = match &self.faults.targets[..] {
                        [] => &TARGETS,
                        specs => specs,
                    };
                    let t = specs[rng.below(specs.len() as u64) as usize];
                    let nodes = t.pick(self.names.len(), rng);
                    self.hit(now, kill, t, nodes)
                } else {
                    self.restore(now, kill)
                }
            }
        };
        (action, rng.below(2 * self.interval_ns))
    }

    /// Before a workload's final reads: heal the network, resume the paused nodes,
    /// start the killed ones (Jepsen's final generators, in its order).
    pub fn heal(&mut self, now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.faults.partition {
            self.partition_next = true;
            self.record(now, &Action::Heal, None);
            actions.push(Action::Heal);
        }
        if self.faults.pause {
            self.pause_next = true;
            actions.push(self.restore(now, false));
        }
        if self.faults.kill {
            self.kill_next = true;
            actions.push(self.restore(now, true));
        }
        actions
    }

    /// Kills (or pauses) what `targets` picked, skipping nodes it cannot change.
    fn hit(&mut self, now: u64, kill: bool, targets: Targets, nodes: Vec<usize>) -> Action {
        let nodes: Vec<usize> = nodes
            .into_iter()
            .filter(|&i| match self.state[i] {
                NodeState::Up => true,
                // A paused process can still be killed; a dead one cannot pause.
                NodeState::Paused => kill,
                NodeState::Down => false,
            })
            .collect();
        for &i in &nodes {
            self.state[i] = if kill {
                NodeState::Down
            } else {
                NodeState::Paused
            };
        }
        let a = if kill {
            Action::Kill(nodes)
        } else {
            Action::Pause(nodes)
        };
        self.record(now, &a, Some(targets));
        a
    }

    /// Starts every node that is down (or resumes every paused one).
    fn restore(&mut self, now: u64, kill: bool) -> Action {
        let from = if kill {
            NodeState::Down
        } else {
            NodeState::Paused
        };
        let nodes: Vec<usize> = (0..self.state.len())
            .filter(|&i| self.state[i] == from)
            .collect();
        for &i in &nodes {
            self.state[i] = NodeState::Up;
        }
        let a = if kill {
            Action::Start(nodes)
        } else {
            Action::Resume(nodes)
        };
        self.record(now, &a, None);
        a
    }

    fn record(&mut self, now: u64, action: &Action, targets: Option<Targets>) {
        let names = |nodes: &[usize]| -> Vec<String> {
            nodes.iter().map(|&i| self.names[i].clone()).collect()
        };
        // Kills and pauses always come with the spec that picked them.
        let targets = targets.unwrap_or(Targets::All);
        let what = match action {
            Action::Partition { spec, grudge } => What::Partition {
                spec: *spec,
                grudge: grudge
                    .iter()
                    .enumerate()
                    .filter(|(_, srcs)| !srcs.is_empty())
                    .map(|(d, srcs)| (self.names[d].clone(), names(srcs)))
                    .collect(),
            },
            Action::Heal => What::Heal,
            Action::Kill(n) => What::Kill {
                nodes: names(n),
                targets,
            },
            Action::Start(n) => What::Start { nodes: names(n) },
            Action::Pause(n) => What::Pause {
                nodes: names(n),
                targets,
            },
            Action::Resume(n) => What::Resume { nodes: names(n) },
        };
        self.log.push(Event { at: now, what });
    }
}

/// One operation of the run's fault list: the nemesis's, and each node's switch in
/// a rolling upgrade. Serialises as Maelstrom's nemesis operation: `time` in
/// seconds, `f`, `value` (the nodes, or the partition's shape) and its details.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// When, in ns since the run began.
    pub at: u64,
    pub what: What,
}

/// What a fault-list operation did.
#[derive(Clone, Debug, PartialEq)]
pub enum What {
    /// A partition began (`start-partition`): its shape, and for each node that
    /// drops messages, the nodes whose messages it drops.
    Partition {
        spec: Spec,
        grudge: BTreeMap<String, Vec<String>>,
    },
    /// The network healed (`stop-partition`).
    Heal,
    /// These nodes were killed; `targets` picked them.
    Kill {
        nodes: Vec<String>,
        targets: Targets,
    },
    /// These (killed) nodes were started again.
    Start { nodes: Vec<String> },
    /// These nodes were paused; `targets` picked them.
    Pause {
        nodes: Vec<String>,
        targets: Targets,
    },
    /// These (paused) nodes were resumed.
    Resume { nodes: Vec<String> },
    /// A node switched to the new version of a rolling upgrade (or refused to).
    Upgrade {
        node: String,
        how: How,
        state_carried: bool,
        fresh_because: Option<String>,
        error: Option<String>,
    },
}

/// The faults that last: one operation begins each, another ends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lasting {
    Partition,
    Kill,
    Pause,
}

impl What {
    /// Maelstrom's name for the operation, its `f`.
    pub fn f(&self) -> &'static str {
        match self {
            What::Partition { .. } => "start-partition",
            What::Heal => "stop-partition",
            What::Kill { .. } => "kill",
            What::Start { .. } => "start",
            What::Pause { .. } => "pause",
            What::Resume { .. } => "resume",
            What::Upgrade { .. } => "upgrade",
        }
    }

    /// The nodes it acted on (none for a partition or a heal, which act on links).
    pub fn nodes(&self) -> &[String] {
        match self {
            What::Kill { nodes, .. }
            | What::Start { nodes }
            | What::Pause { nodes, .. }
            | What::Resume { nodes } => nodes,
            What::Upgrade { node, .. } => std::slice::from_ref(node),
            What::Partition { .. } | What::Heal => &[],
        }
    }

    /// The lasting fault this operation begins, if it begins one.
    pub fn begins(&self) -> Option<Lasting> {
        match self {
            What::Partition { .. } => Some(Lasting::Partition),
            What::Kill { .. } => Some(Lasting::Kill),
            What::Pause { .. } => Some(Lasting::Pause),
            _ => None,
        }
    }

    /// The lasting fault this operation ends, if it ends one: all of its kind
    /// (a heal heals the whole network, a start starts every dead node).
    pub fn ends(&self) -> Option<Lasting> {
        match self {
            What::Heal => Some(Lasting::Partition),
            What::Start { .. } => Some(Lasting::Kill),
            What::Resume { .. } => Some(Lasting::Pause),
            _ => None,
        }
    }
}

/// A stretch of time a fault lasted, from the operation that began it.
#[derive(Clone, Debug, PartialEq)]
pub struct Span<'a> {
    pub event: &'a Event,
    /// When it ended, in ns: the operation that ended it, or `end` (the end of the
    /// run) if none did; its own moment for an operation that lasts no time (an
    /// upgrade).
    pub end: u64,
}

/// The faults of a time-ordered fault list as spans: each beginning until the
/// next end of its kind, or the end of the run (`end`, ns); each other operation
/// that is not an end, an instant.
pub fn spans(log: &[Event], end: u64) -> Vec<Span<'_>> {
    let mut out: Vec<Span> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for e in log {
        if let Some(kind) = e.what.ends() {
            open.retain(|&i| {
                if out[i].event.what.begins() == Some(kind) {
                    out[i].end = e.at;
                    false
                } else {
                    true
                }
            });
            continue;
        }
        let lasts = e.what.begins().is_some();
        if lasts {
            open.push(out.len());
        }
        out.push(Span {
            event: e,
            end: if lasts { end.max(e.at) } else { e.at },
        });
    }
    out
}

impl Serialize for Event {
    /// Maelstrom's keys, in the order a `serde_json::Map` keeps them (sorted), so
    /// the JSON reads the same whichever way it is written.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let time = self.at as f64 / 1e9;
        let f = self.what.f();
        match &self.what {
            What::Partition { spec, grudge } => {
                m.serialize_entry("f", f)?;
                m.serialize_entry("grudge", grudge)?;
                m.serialize_entry("time", &time)?;
                m.serialize_entry("value", spec.name())?;
            }
            What::Heal => {
                m.serialize_entry("f", f)?;
                m.serialize_entry("time", &time)?;
            }
            What::Kill { nodes, targets } | What::Pause { nodes, targets } => {
                m.serialize_entry("f", f)?;
                m.serialize_entry("targets", targets.name())?;
                m.serialize_entry("time", &time)?;
                m.serialize_entry("value", nodes)?;
            }
            What::Start { nodes } | What::Resume { nodes } => {
                m.serialize_entry("f", f)?;
                m.serialize_entry("time", &time)?;
                m.serialize_entry("value", nodes)?;
            }
            What::Upgrade {
                node,
                how,
                state_carried,
                fresh_because,
                error,
            } => {
                if let Some(e) = error {
                    m.serialize_entry("error", e)?;
                }
                m.serialize_entry("f", f)?;
                if let Some(why) = fresh_because {
                    m.serialize_entry("fresh-because", why)?;
                }
                m.serialize_entry("how", how)?;
                m.serialize_entry("state-carried", state_carried)?;
                m.serialize_entry("time", &time)?;
                m.serialize_entry("value", &[node])?;
            }
        }
        m.end()
    }
}

/// Computes the grudge for a partition shape over nodes `0..n`.
pub fn grudge(spec: Spec, n: usize, rng: &mut Rng) -> Grudge {
    let mut nodes: Vec<usize> = (0..n).collect();
    match spec {
        Spec::One => {
            if n == 0 {
                return Vec::new();
            }
            let loner = rng.below(n as u64) as usize;
            let rest = nodes.into_iter().filter(|&x| x != loner).collect();
            complete(n, &[vec![loner], rest])
        }
        Spec::MinorityThird => {
            rng.shuffle(&mut nodes);
            let k = n.saturating_sub(1) / 3;
            let rest = nodes.split_off(k);
            complete(n, &[nodes, rest])
        }
        Spec::Majority => {
            rng.shuffle(&mut nodes);
            let rest = nodes.split_off(n / 2);
            complete(n, &[nodes, rest])
        }
        Spec::MajoritiesRing if n <= 5 => ring_perfect(n, rng),
        Spec::MajoritiesRing => ring_stochastic(n, rng),
    }
}

/// No node hears from any node outside its own component.
fn complete(n: usize, components: &[Vec<usize>]) -> Grudge {
    let mut g = vec![Vec::new(); n];
    for comp in components {
        for &node in comp {
            g[node] = (0..n).filter(|x| !comp.contains(x)).collect();
        }
    }
    g
}

fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// A shuffled ring: each window of a majority of consecutive nodes is the only
/// part of the cluster its middle node can hear.
fn ring_perfect(n: usize, rng: &mut Rng) -> Grudge {
    let mut ring: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut ring);
    let m = majority(n);
    let mut g = vec![Vec::new(); n];
    for start in 0..n {
        let window: Vec<usize> = (0..m).map(|k| ring[(start + k) % n]).collect();
        let middle = window[m / 2];
        g[middle] = (0..n).filter(|x| !window.contains(x)).collect();
    }
    g
}

/// For larger clusters: repeatedly link a least-connected node to another
/// least-connected node it is not linked to, until every node hears a majority.
fn ring_stochastic(n: usize, rng: &mut Rng) -> Grudge {
    let m = majority(n);
    let mut conns: Vec<Vec<bool>> = (0..n).map(|i| (0..n).map(|j| i == j).collect()).collect();
    let mut degree = vec![1usize; n];
    loop {
        // Nodes in ascending degree, shuffled among equals.
        let mut order: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut order);
        order.sort_by_key(|&x| degree[x]);
        let a = order[0];
        if degree[a] >= m {
            break;
        }
        let Some(&b) = order.iter().find(|&&b| !conns[a][b]) else {
            break;
        };
        conns[a][b] = true;
        conns[b][a] = true;
        degree[a] += 1;
        degree[b] += 1;
    }
    (0..n)
        .map(|a| (0..n).filter(|&b| !conns[a][b]).collect())
        .collect()
}

/// How a node came to run the new version of a rolling upgrade (`upgrade`), or why
/// it does not: part of the fault log, whose upgrade events carry it.
#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum How {
    /// Switched while running, at its turn.
    Live,
    /// Paused at its turn; switched when it resumed.
    Resumed,
    /// Down at its turn (killed); started again as the new version, with no state.
    Started,
    /// Refused to switch (the error says why) and kept running the old version.
    Failed,
    /// Its turn came while it was down or paused, and it never came back.
    Pending,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn hears(g: &Grudge, dest: usize, src: usize) -> bool {
        !g[dest].contains(&src)
    }

    #[test]
    fn one_isolates_a_single_node() {
        let g = grudge(Spec::One, 5, &mut Rng::new(1));
        let alone: Vec<usize> = (0..5).filter(|&d| g[d].len() == 4).collect();
        assert_eq!(alone.len(), 1);
        let others = (0..5).filter(|&d| g[d] == alone).count();
        assert_eq!(others, 4);
    }

    #[test]
    fn majority_splits_cleanly() {
        let g = grudge(Spec::Majority, 5, &mut Rng::new(2));
        let mut sizes: Vec<usize> = (0..5).map(|d| 5 - g[d].len()).collect();
        sizes.sort();
        assert_eq!(sizes, vec![2, 2, 3, 3, 3]);
        for a in 0..5 {
            for b in 0..5 {
                assert_eq!(hears(&g, a, b), hears(&g, b, a));
            }
        }
    }

    #[test]
    fn majorities_ring_every_node_hears_a_majority() {
        for n in [3, 5, 7, 25] {
            for seed in 0..5 {
                let g = grudge(Spec::MajoritiesRing, n, &mut Rng::new(seed));
                for d in 0..n {
                    let heard = (0..n).filter(|&s| hears(&g, d, s)).count();
                    assert!(heard >= majority(n), "n={n} node {d} hears {heard}");
                }
            }
        }
        // And the shape really does cut something.
        let g = grudge(Spec::MajoritiesRing, 5, &mut Rng::new(0));
        assert!(g.iter().any(|s| !s.is_empty()));
    }

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("n{i}")).collect()
    }

    fn faults(words: &[&str], targets: &[&str]) -> Faults {
        use clap::ValueEnum;
        let f: Vec<Fault> = words
            .iter()
            .map(|w| Fault::from_str(w, false).unwrap())
            .collect();
        let t: Vec<Targets> = targets
            .iter()
            .map(|w| Targets::from_str(w, false).unwrap())
            .collect();
        Faults::new(&f, &t)
    }

    #[test]
    fn alternates_partition_and_heal_within_twice_the_interval() {
        let mut nem = Nemesis::new(&faults(&["partition"], &[]), 10.0, &names(5)).unwrap();
        assert_eq!(nem.streams(), [Stream::Partition]);
        let mut rng = Rng::new(9);
        for i in 0..6 {
            let (a, wait) = nem.step(Stream::Partition, 0, &mut rng);
            assert_eq!(matches!(a, Action::Partition { .. }), i % 2 == 0);
            assert!(wait < 20_000_000_000);
        }
    }

    #[test]
    fn no_fault_no_nemesis_and_unknown_faults_are_refused() {
        assert!(Nemesis::new(&Faults::default(), 10.0, &names(3)).is_none());
        use clap::ValueEnum;
        assert!(Fault::from_str("crash", false).is_err());
        assert!(Targets::from_str("primaries", false).is_err());
    }

    #[test]
    fn node_specs_pick_as_jepsen_does() {
        let mut rng = Rng::new(4);
        let sizes = |t: Targets, n: usize, rng: &mut Rng| t.pick(n, rng).len();
        for (n, third, minority, majority) in
            [(1, 0, 0, 1), (3, 0, 1, 2), (5, 1, 2, 3), (7, 2, 3, 4)]
        {
            assert_eq!(sizes(Targets::One, n, &mut rng), 1);
            assert_eq!(sizes(Targets::MinorityThird, n, &mut rng), third);
            assert_eq!(sizes(Targets::Minority, n, &mut rng), minority);
            assert_eq!(sizes(Targets::Majority, n, &mut rng), majority);
            assert_eq!(Targets::All.pick(n, &mut rng), (0..n).collect::<Vec<_>>());
        }
        // `some` is never empty and, over many draws, takes every size.
        let mut seen = [false; 6];
        for _ in 0..200 {
            let p = Targets::Some.pick(5, &mut rng);
            assert!(!p.is_empty() && p.windows(2).all(|w| w[0] < w[1]));
            seen[p.len()] = true;
        }
        assert_eq!(seen, [false, true, true, true, true, true]);
    }

    #[test]
    fn kills_and_starts_alternate_and_start_brings_back_every_dead_node() {
        let mut nem = Nemesis::new(&faults(&["kill"], &["majority"]), 1.0, &names(5)).unwrap();
        assert_eq!(nem.streams(), [Stream::Process]);
        let mut rng = Rng::new(3);
        let (a, _) = nem.step(Stream::Process, 5, &mut rng);
        let Action::Kill(killed) = a else {
            panic!("{a:?}")
        };
        assert_eq!(killed.len(), 3);
        for i in 0..5 {
            let want = if killed.contains(&i) {
                NodeState::Down
            } else {
                NodeState::Up
            };
            assert_eq!(nem.state(i), want);
        }
        let (a, _) = nem.step(Stream::Process, 6, &mut rng);
        assert_eq!(a, Action::Start(killed.clone()));
        assert!((0..5).all(|i| nem.state(i) == NodeState::Up));
        let log: Vec<&str> = nem.log.iter().map(|e| e.what.f()).collect();
        assert_eq!(log, ["kill", "start"]);
        assert!(matches!(
            nem.log[0].what,
            What::Kill {
                targets: Targets::Majority,
                ..
            }
        ));
        let named: Vec<String> = killed.iter().map(|i| format!("n{i}")).collect();
        assert_eq!(nem.log[0].what.nodes(), named);
        assert_eq!(nem.log[1].what.nodes(), named);
        assert_eq!((nem.log[0].at, nem.log[1].at), (5, 6));
    }

    #[test]
    fn kill_and_pause_mix_and_the_final_heal_restores_everything() {
        let f = faults(&["partition", "kill", "pause"], &["one", "all"]);
        let mut nem = Nemesis::new(&f, 1.0, &names(3)).unwrap();
        assert_eq!(nem.streams(), [Stream::Partition, Stream::Process]);
        let mut rng = Rng::new(11);
        let mut kinds = std::collections::BTreeSet::new();
        for t in 0..40 {
            let before: Vec<NodeState> = (0..3).map(|i| nem.state(i)).collect();
            let (a, _) = nem.step(Stream::Process, t, &mut rng);
            let with = |s: NodeState| (0..3).filter(|&i| before[i] == s).collect::<Vec<_>>();
            // Nobody is killed twice or paused while dead; a start or resume restores all.
            match &a {
                Action::Kill(n) => assert!(n.iter().all(|&i| before[i] != NodeState::Down)),
                Action::Pause(n) => assert!(n.iter().all(|&i| before[i] == NodeState::Up)),
                Action::Start(n) => assert_eq!(n, &with(NodeState::Down)),
                Action::Resume(n) => assert_eq!(n, &with(NodeState::Paused)),
                _ => panic!("{a:?} from the process stream"),
            }
            kinds.insert(format!("{a:?}").split('(').next().unwrap().to_string());
        }
        assert_eq!(
            kinds.into_iter().collect::<Vec<_>>(),
            ["Kill", "Pause", "Resume", "Start"]
        );
        nem.step(Stream::Partition, 41, &mut rng);
        let actions = nem.heal(42);
        assert_eq!(actions.len(), 3);
        assert_eq!(actions[0], Action::Heal);
        assert!(matches!(actions[1], Action::Resume(_)));
        assert!(matches!(actions[2], Action::Start(_)));
        assert!((0..3).all(|i| nem.state(i) == NodeState::Up));
        // After the heal the flip-flops start over: the next process op hits.
        let (a, _) = nem.step(Stream::Process, 43, &mut rng);
        assert!(matches!(a, Action::Kill(_) | Action::Pause(_)), "{a:?}");
    }

    #[test]
    fn a_paused_node_can_be_killed_and_then_is_started_not_resumed() {
        let f = faults(&["kill", "pause"], &["all"]);
        let mut nem = Nemesis::new(&f, 1.0, &names(2)).unwrap();
        nem.hit(0, false, Targets::All, vec![0, 1]);
        assert_eq!(
            nem.hit(1, true, Targets::One, vec![1]),
            Action::Kill(vec![1])
        );
        assert_eq!(
            nem.hit(2, false, Targets::All, vec![0, 1]),
            Action::Pause(vec![])
        );
        assert_eq!(nem.restore(3, false), Action::Resume(vec![0]));
        assert_eq!(nem.restore(4, true), Action::Start(vec![1]));
    }

    fn event(at: u64, what: What) -> Event {
        Event { at, what }
    }

    fn nodes(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn events_serialise_as_maelstroms_operations() {
        let partition = event(
            1_500_000_000,
            What::Partition {
                spec: Spec::Majority,
                grudge: [("n0".to_string(), nodes(&["n1"]))].into(),
            },
        );
        assert_eq!(
            serde_json::to_value(&partition).unwrap(),
            json!({"time": 1.5, "f": "start-partition", "value": "majority", "grudge": {"n0": ["n1"]}})
        );
        let heal = serde_json::to_value(event(2_000_000_000, What::Heal)).unwrap();
        assert_eq!(heal, json!({"time": 2.0, "f": "stop-partition"}));
        let kill = What::Kill {
            nodes: nodes(&["n1", "n2"]),
            targets: Targets::Minority,
        };
        assert_eq!(
            serde_json::to_value(event(3, kill)).unwrap(),
            json!({"time": 3e-9, "f": "kill", "value": ["n1", "n2"], "targets": "minority"})
        );
        let start = What::Start { nodes: vec![] };
        assert_eq!(
            serde_json::to_value(event(0, start)).unwrap(),
            json!({"time": 0.0, "f": "start", "value": []})
        );
        let upgrade = What::Upgrade {
            node: "n3".into(),
            how: How::Started,
            state_carried: false,
            fresh_because: Some("it was down at its turn".into()),
            error: None,
        };
        let text = serde_json::to_string(&event(4_000_000_000, upgrade)).unwrap();
        // Keys sorted, as serde_json's own maps write them.
        assert_eq!(
            text,
            r#"{"f":"upgrade","fresh-because":"it was down at its turn","how":"started","state-carried":false,"time":4.0,"value":["n3"]}"#
        );
    }

    #[test]
    fn spans_pair_each_beginning_with_the_next_end_of_its_kind() {
        let log = vec![
            event(
                1_000,
                What::Partition {
                    spec: Spec::One,
                    grudge: BTreeMap::new(),
                },
            ),
            event(
                2_000,
                What::Kill {
                    nodes: nodes(&["n2"]),
                    targets: Targets::One,
                },
            ),
            event(
                2_500,
                What::Pause {
                    nodes: nodes(&["n1"]),
                    targets: Targets::One,
                },
            ),
            // A heal ends the partition, not the kill or the pause.
            event(3_000, What::Heal),
            event(
                4_000,
                What::Kill {
                    nodes: nodes(&["n0"]),
                    targets: Targets::One,
                },
            ),
            // A start ends every kill before it.
            event(
                5_000,
                What::Start {
                    nodes: nodes(&["n0", "n2"]),
                },
            ),
            event(
                6_000,
                What::Upgrade {
                    node: "n1".into(),
                    how: How::Live,
                    state_carried: true,
                    fresh_because: None,
                    error: None,
                },
            ),
        ];
        let spans: Vec<(&str, u64, u64)> = spans(&log, 9_000)
            .iter()
            .map(|s| (s.event.what.f(), s.event.at, s.end))
            .collect();
        assert_eq!(
            spans,
            [
                ("start-partition", 1_000, 3_000),
                ("kill", 2_000, 5_000),
                // Never resumed: lasts to the end of the run.
                ("pause", 2_500, 9_000),
                ("kill", 4_000, 5_000),
                // Of no pair: an instant.
                ("upgrade", 6_000, 6_000),
            ]
        );
        // An end with nothing open ends nothing, and is no span itself.
        assert!(spans_of(&[event(1, What::Heal)]).is_empty());
    }

    fn spans_of(log: &[Event]) -> Vec<Span<'_>> {
        spans(log, 10)
    }

    // The faults as a run carries them out, through the whole harness, with an
    // in-process unique-ids node that counts in memory: a kill must wipe that count
    // (so a node that does not mix a fresh seed in repeats its ids), a restart must
    // start with `init` and a new seed, and a pause must keep everything.

    use crate::node::{Crash, Effect, Input, Node, NodeSpec};

    struct Ids {
        name: String,
        /// Part of every id: the node's seed, or 0 for a node that forgets.
        prefix: u64,
        next: u64,
        initialised: bool,
    }

    impl Node for Ids {
        fn handle(&mut self, _: u64, input: Input<'_>, out: &mut Vec<Effect>) -> Result<(), Crash> {
            let Input::Message { src, body } = input else {
                return Ok(());
            };
            let req: Value = serde_json::from_str(body).map_err(|e| Crash {
                reason: e.to_string(),
            })?;
            let mut reply = match (req["type"].as_str(), self.initialised) {
                (Some("init"), _) => {
                    self.initialised = true;
                    json!({"type": "init_ok"})
                }
                (Some("generate"), true) => {
                    self.next += 1;
                    let id = format!("{}-{:x}-{}", self.name, self.prefix, self.next);
                    json!({"type": "generate_ok", "id": id})
                }
                (t, _) => {
                    return Err(Crash {
                        reason: format!("{t:?} before init"),
                    })
                }
            };
            reply["in_reply_to"] = req["msg_id"].clone();
            out.push(Effect::Send {
                dest: src.to_string(),
                body: reply.to_string(),
            });
            Ok(())
        }
    }

    fn run_ids(nemesis: &str, seeded: bool) -> crate::Outcome {
        let store = std::env::temp_dir().join(format!("harness-nemesis-{}", std::process::id()));
        crate::Builder::new(crate::Workload::UniqueIds)
            .node_count(3)
            .rate(50.0)
            .time_limit(20.0)
            .option("--nemesis", nemesis)
            .option("--nemesis-interval", 1)
            .seed(1)
            .store(&store)
            .nodes("ids", move |spec: &NodeSpec| {
                Ok(Box::new(Ids {
                    name: spec.name.clone(),
                    prefix: if seeded { spec.seed } else { 0 },
                    next: 0,
                    initialised: false,
                }) as Box<dyn Node>)
            })
            .run()
            .unwrap()
    }

    #[test]
    fn a_kill_wipes_memory_and_the_restart_begins_with_init_and_a_new_seed() {
        // Forgetful ids repeat after a kill, and only then.
        let forgetful = run_ids("kill", false);
        assert!(!forgetful.is_valid());
        assert!(
            forgetful
                .problems
                .iter()
                .any(|p| p.text.contains("was generated") && p.text.contains(" times: by ")),
            "{:?}",
            forgetful.problems
        );
        assert!(run_ids("pause,partition", false).is_valid());
        // Seeded ids stay unique: each incarnation draws a new seed. No node ever
        // heard anything before its init, or it would have crashed.
        let seeded = run_ids("kill,pause", true);
        assert!(seeded.is_valid(), "{:?}", seeded.problems);
        assert_eq!(seeded.crashes.count, 0);
        let log = seeded.nemesis.unwrap();
        let starts = log
            .iter()
            .filter(|e| matches!(e.what, What::Start { .. }) && !e.what.nodes().is_empty());
        assert!(starts.count() >= 3, "{log:?}");
    }
}
