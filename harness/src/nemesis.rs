//! When and how the network splits and heals, as Jepsen's partition nemesis does it
//! for Maelstrom: alternately start a partition and heal it, at intervals drawn
//! uniformly from [0, 2 × --nemesis-interval), the first at once. Each partition is
//! one of Jepsen's shapes (one node alone, a third cleanly split off, a
//! minority/majority split, overlapping majorities in a ring) expressed as a grudge:
//! for each node, the nodes whose messages it drops.

use serde_json::{json, Value};

use super::rng::Rng;

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

/// What the nemesis does next.
pub enum Action {
    Partition { spec: Spec, grudge: Grudge },
    Heal,
}

pub struct Nemesis {
    interval_ns: u64,
    partition_next: bool,
    /// Every nemesis operation, for the report.
    pub log: Vec<Value>,
}

impl Nemesis {
    pub fn new(interval_s: f64) -> Nemesis {
        Nemesis {
            interval_ns: (interval_s * 1e9) as u64,
            partition_next: true,
            log: Vec::new(),
        }
    }

    /// The operation due now, and how long until the next one.
    pub fn step(&mut self, now: u64, names: &[String], rng: &mut Rng) -> (Action, u64) {
        let action = if self.partition_next {
            let spec = SPECS[rng.below(SPECS.len() as u64) as usize];
            let grudge = grudge(spec, names.len(), rng);
            Action::Partition { spec, grudge }
        } else {
            Action::Heal
        };
        self.partition_next = !self.partition_next;
        self.record(now, &action, names);
        (action, rng.below(2 * self.interval_ns))
    }

    /// The final heal before a workload's final reads.
    pub fn heal(&mut self, now: u64, names: &[String]) {
        self.partition_next = true;
        self.record(now, &Action::Heal, names);
    }

    fn record(&mut self, now: u64, action: &Action, names: &[String]) {
        let time = now as f64 / 1e9;
        self.log.push(match action {
            Action::Partition { spec, grudge } => {
                let g: serde_json::Map<String, Value> = grudge
                    .iter()
                    .enumerate()
                    .filter(|(_, srcs)| !srcs.is_empty())
                    .map(|(d, srcs)| {
                        let srcs: Vec<&str> = srcs.iter().map(|&s| names[s].as_str()).collect();
                        (names[d].clone(), json!(srcs))
                    })
                    .collect();
                json!({"time": time, "f": "start-partition", "value": spec.name(), "grudge": g})
            }
            Action::Heal => json!({"time": time, "f": "stop-partition"}),
        });
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn alternates_partition_and_heal_within_twice_the_interval() {
        let names: Vec<String> = (0..5).map(|i| format!("n{i}")).collect();
        let mut nem = Nemesis::new(10.0);
        let mut rng = Rng::new(9);
        for i in 0..6 {
            let (a, wait) = nem.step(0, &names, &mut rng);
            assert_eq!(matches!(a, Action::Partition { .. }), i % 2 == 0);
            assert!(wait < 20_000_000_000);
        }
    }
}
