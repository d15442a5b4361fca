//! Cycle search over the dependency graph, level by level as Elle's
//! "cycle exists" specifications: whether a model is violated is decided exactly
//! by strongly connected components of the right subgraph (linear time), and
//! each such component then yields one cycle, found by a breadth-first search
//! that prefers few anti-dependencies, to name the anomaly and explain it.
//!
//! - G0: a cycle of ww edges. G1c: ww and wr, with a wr.
//! - Snapshot isolation: ww/wr cycles where every rw edge follows a ww or wr
//!   edge (searched in the graph of (txn, arrived by rw?) pairs, which is Elle's
//!   "sequential extension"): G-single-item (one rw), G-nonadjacent-item.
//! - Serializable: any cycle with rw edges; those with adjacent rw edges are
//!   G2-item.
//! - Strict serializable (and strong read committed, strong snapshot isolation):
//!   the same with real-time edges: the names take "-realtime".
//! - Strong session models: the same with process-order edges: "-process".

use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{HashMap, HashSet, VecDeque};

use super::graph::{Dep, Graph, Rel, TxnId};

const WW: u8 = 1;
const WR: u8 = 2;
const RW: u8 = 4;
const RT: u8 = 8;
const PR: u8 = 16;

/// How many edges of a component to try a cycle through, keeping the best.
const TRIES: usize = 3;

/// One cycle: each step's target is the next step's source.
#[derive(Clone, Debug)]
pub struct Cycle {
    /// Elle's name: G0, G1c, G-single-item, G-nonadjacent-item, G2-item, with
    /// "-realtime" when a real-time edge is in it.
    pub anomaly: String,
    /// The edges in order: (source, target, why).
    pub steps: Vec<(TxnId, TxnId, Dep)>,
}

/// Which levels to search beyond G0 and G1c (always searched).
#[derive(Clone, Copy, Default)]
pub struct Levels {
    /// G-single-item and G-nonadjacent-item (snapshot isolation and stronger).
    pub single: bool,
    /// G2-item (repeatable read, serializable).
    pub g2: bool,
    /// Cycles through real-time edges (strict serializable, the strong models).
    pub realtime: bool,
    /// Cycles through process-order edges (the strong session models).
    pub process: bool,
}

/// Elle's classification of a cycle by the kinds of its edges.
pub fn classify(steps: &[(TxnId, TxnId, Dep)]) -> String {
    let rels: Vec<Rel> = steps.iter().map(|(_, _, d)| d.rel()).collect();
    let rw = rels.iter().filter(|&&r| r == Rel::Rw).count();
    let wr = rels.iter().filter(|&&r| r == Rel::Wr).count();
    let adjacent =
        (0..rels.len()).any(|i| rels[i] == Rel::Rw && rels[(i + 1) % rels.len()] == Rel::Rw);
    let base = match (rw, wr) {
        (1, _) => "G-single-item",
        (2.., _) if adjacent => "G2-item",
        (2.., _) => "G-nonadjacent-item",
        (0, 1..) => "G1c",
        (0, 0) => "G0",
    };
    if rels.contains(&Rel::Realtime) {
        format!("{base}-realtime")
    } else if rels.contains(&Rel::Process) {
        format!("{base}-process")
    } else {
        base.to_string()
    }
}

/// Components (of more than one vertex) of the graph on `n` vertices with `edges`.
fn sccs(n: usize, edges: impl Iterator<Item = (usize, usize)>) -> Vec<Vec<usize>> {
    let mut g = DiGraph::<(), ()>::with_capacity(n, 0);
    for _ in 0..n {
        g.add_node(());
    }
    for (a, b) in edges {
        g.add_edge(NodeIndex::new(a), NodeIndex::new(b), ());
    }
    // Kosaraju's search is iterative: a history of 100,000 transactions must not
    // overflow the stack, as a recursive Tarjan does.
    let mut out: Vec<Vec<usize>> = kosaraju_scc(&g)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut c: Vec<usize> = c.into_iter().map(|v| v.index()).collect();
            c.sort_unstable();
            c
        })
        .collect();
    out.sort();
    out
}

/// A cheapest path from `start` to `goal` (0-1 BFS: `succ` gives each step's
/// next state, edge index and cost), as edge indices.
fn path01(
    start: usize,
    goal: usize,
    succ: impl Fn(usize, &mut Vec<(usize, usize, u32)>),
) -> Option<(u32, Vec<usize>)> {
    let mut best: HashMap<usize, (u32, usize, usize)> = HashMap::new();
    let mut queue = VecDeque::from([(start, 0u32)]);
    best.insert(start, (0, usize::MAX, usize::MAX));
    let mut next = Vec::new();
    while let Some((s, cost)) = queue.pop_front() {
        if best.get(&s).is_some_and(|&(c, _, _)| c < cost) {
            continue;
        }
        if s == goal {
            let mut path = Vec::new();
            let mut at = goal;
            while at != start {
                let &(_, edge, prev) = best.get(&at)?;
                path.push(edge);
                at = prev;
            }
            path.reverse();
            return Some((cost, path));
        }
        next.clear();
        succ(s, &mut next);
        for &(t, edge, c) in &next {
            let nc = cost + c;
            if best.get(&t).is_none_or(|&(old, _, _)| nc < old) {
                best.insert(t, (nc, edge, s));
                if c == 0 {
                    queue.push_front((t, nc));
                } else {
                    queue.push_back((t, nc));
                }
            }
        }
    }
    None
}

fn cost(rel: Rel) -> u32 {
    match rel {
        Rel::Rw | Rel::Realtime | Rel::Process => 1,
        _ => 0,
    }
}

/// A cycle through an edge of kind `required` inside the component `scc` of the
/// subgraph of kinds `mask`.
fn cycle_in(g: &Graph, mask: u8, required: u8, scc: &[usize]) -> Option<Vec<usize>> {
    let member: HashSet<usize> = scc.iter().copied().collect();
    let mut best: Option<(u32, Vec<usize>)> = None;
    let starts = scc
        .iter()
        .flat_map(|&a| g.out(a, required))
        .filter(|(_, (_, b, _))| member.contains(b))
        .take(TRIES);
    for (e, &(a, b, d)) in starts.collect::<Vec<_>>() {
        let succ = |v: usize, out: &mut Vec<(usize, usize, u32)>| {
            for (i, &(_, t, d)) in g.out(v, mask) {
                if member.contains(&t) {
                    out.push((t, i, cost(d.rel())));
                }
            }
        };
        if let Some((c, path)) = path01(b, a, succ) {
            let c = c + cost(d.rel());
            let better = best
                .as_ref()
                .is_none_or(|(bc, bp)| (c, path.len() + 1) < (*bc, bp.len()));
            if better {
                let mut cycle = vec![e];
                cycle.extend(path);
                best = Some((c, cycle));
            }
        }
    }
    best.map(|(_, c)| c)
}

/// Cycles allowed under snapshot isolation's extension: states are 2v (arrived
/// by ww/wr, or a start) and 2v+1 (arrived by rw); rw may not follow rw.
fn si_cycles(g: &Graph, base: u8, found: &mut [bool]) -> Vec<Vec<usize>> {
    let mut product = Vec::new();
    for (a, b, d) in &g.edges {
        let bit = d.rel().bit();
        if bit & base != 0 {
            product.push((2 * a, 2 * b));
            product.push((2 * a + 1, 2 * b));
        } else if bit == RW {
            product.push((2 * a, 2 * b + 1));
        }
    }
    let mut cycles = Vec::new();
    for scc in sccs(2 * g.n, product.into_iter()) {
        let member: HashSet<usize> = scc.iter().copied().collect();
        let start = scc.iter().filter(|&&s| s.is_multiple_of(2)).find_map(|&s| {
            g.out(s / 2, RW)
                .find(|(_, (_, b, _))| member.contains(&(2 * b + 1)))
                .map(|(e, &(a, b, _))| (e, a, b))
        });
        let Some((e, a, b)) = start else { continue };
        let succ = |s: usize, out: &mut Vec<(usize, usize, u32)>| {
            let v = s / 2;
            for (i, &(_, t, _)) in g.out(v, base) {
                if member.contains(&(2 * t)) {
                    out.push((2 * t, i, 0));
                }
            }
            if s.is_multiple_of(2) {
                for (i, &(_, t, _)) in g.out(v, RW) {
                    if member.contains(&(2 * t + 1)) {
                        out.push((2 * t + 1, i, 1));
                    }
                }
            }
        };
        if let Some((_, path)) = path01(2 * b + 1, 2 * a, succ) {
            for &s in &scc {
                found[s / 2] = true;
            }
            let mut cycle = vec![e];
            cycle.extend(path);
            cycles.push(cycle);
        }
    }
    cycles
}

/// Every level's cycles, one per component.
pub fn search(g: &Graph, levels: Levels) -> Vec<Cycle> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let edges_of = |mask: u8| {
        g.edges
            .iter()
            .filter(move |(_, _, d)| d.rel().bit() & mask != 0)
            .map(|&(a, b, _)| (a, b))
    };
    for (mask, required) in [(WW, WW), (WW | WR, WR)] {
        for scc in sccs(g.n, edges_of(mask)) {
            out.extend(cycle_in(g, mask, required, &scc));
        }
    }
    // Vertices of components where a data cycle with rw edges was named already.
    let mut found = vec![false; g.n];
    if levels.single {
        out.extend(si_cycles(g, WW | WR, &mut found));
    }
    if levels.g2 {
        for scc in sccs(g.n, edges_of(WW | WR | RW)) {
            if scc.iter().any(|&v| found[v]) {
                continue;
            }
            if let Some(c) = cycle_in(g, WW | WR | RW, RW, &scc) {
                out.push(c);
                for &v in &scc {
                    found[v] = true;
                }
            }
        }
    }
    // Cycles that need an order edge: process order first (real time contains it,
    // as a process's txns follow one another), then real time.
    let data = WW | WR | if levels.g2 || levels.single { RW } else { 0 };
    let mut mask = data;
    for (on, bit) in [(levels.process, PR), (levels.realtime, RT)] {
        if !on {
            continue;
        }
        for scc in sccs(g.n, edges_of(mask)) {
            for v in scc {
                found[v] = true;
            }
        }
        mask |= bit;
        for scc in sccs(g.n, edges_of(mask)) {
            if scc.iter().any(|&v| found[v]) {
                continue;
            }
            out.extend(cycle_in(g, mask, bit, &scc));
        }
    }
    out.into_iter()
        .map(|edges| {
            let steps: Vec<(TxnId, TxnId, Dep)> = edges.iter().map(|&e| g.edges[e]).collect();
            Cycle {
                anomaly: classify(&steps),
                steps,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(key: i64) -> Dep {
        Dep::Rw {
            key,
            from: None,
            to: 1,
        }
    }
    fn wr(key: i64) -> Dep {
        Dep::Wr { key, value: 1 }
    }
    fn ww(key: i64) -> Dep {
        Dep::Ww {
            key,
            from: 1,
            to: 2,
        }
    }

    fn names(g: &Graph, levels: Levels) -> Vec<String> {
        let mut n: Vec<String> = search(g, levels).into_iter().map(|c| c.anomaly).collect();
        n.sort();
        n
    }

    const ALL: Levels = Levels {
        single: true,
        g2: true,
        realtime: true,
        process: false,
    };

    #[test]
    fn each_level_names_its_cycle() {
        let mut g = Graph::new(2);
        g.add(0, 1, ww(1));
        g.add(1, 0, ww(2));
        assert_eq!(names(&g, ALL), ["G0"]);

        let mut g = Graph::new(2);
        g.add(0, 1, wr(1));
        g.add(1, 0, ww(2));
        assert_eq!(names(&g, ALL), ["G1c"]);

        let mut g = Graph::new(3);
        g.add(0, 1, wr(1));
        g.add(1, 2, wr(2));
        g.add(2, 0, rw(3));
        assert_eq!(names(&g, ALL), ["G-single-item"]);
        assert!(names(&g, Levels::default()).is_empty());

        // Write skew: two adjacent rw edges; snapshot isolation allows it.
        let mut g = Graph::new(2);
        g.add(0, 1, rw(1));
        g.add(1, 0, rw(2));
        let si_only = Levels {
            single: true,
            ..Levels::default()
        };
        assert!(names(&g, si_only).is_empty());
        assert_eq!(names(&g, ALL), ["G2-item"]);

        let mut g = Graph::new(4);
        g.add(0, 1, rw(1));
        g.add(1, 2, wr(2));
        g.add(2, 3, rw(3));
        g.add(3, 0, ww(4));
        assert_eq!(names(&g, si_only), ["G-nonadjacent-item"]);

        let mut g = Graph::new(2);
        g.add(0, 1, Dep::Realtime);
        g.add(1, 0, rw(1));
        assert_eq!(names(&g, ALL), ["G-single-item-realtime"]);
        let no_rt = Levels {
            realtime: false,
            process: false,
            ..ALL
        };
        assert!(names(&g, no_rt).is_empty());
    }

    #[test]
    fn a_cycle_runs_through_its_component_and_closes() {
        // A long ring with a chord: the cycle found must be a closed walk.
        let n = 50;
        let mut g = Graph::new(n);
        for i in 0..n {
            g.add(
                i,
                (i + 1) % n,
                if i == 7 { rw(i as i64) } else { wr(i as i64) },
            );
        }
        g.add(10, 3, ww(99));
        let cycles = search(&g, ALL);
        assert!(!cycles.is_empty());
        for c in &cycles {
            for w in 0..c.steps.len() {
                assert_eq!(c.steps[w].1, c.steps[(w + 1) % c.steps.len()].0);
            }
        }
        assert!(cycles.iter().any(|c| c.anomaly == "G-single-item"));
    }

    #[test]
    fn an_acyclic_graph_has_no_cycle() {
        let mut g = Graph::new(100);
        for i in 0..99 {
            g.add(i, i + 1, rw(1));
            g.add(i, 99, Dep::Realtime);
        }
        assert!(search(&g, ALL).is_empty());
    }
}
