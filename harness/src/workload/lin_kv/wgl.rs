//! The second search of `linearizable`: depth-first, as Wing & Gong's algorithm
//! with Lowe's improvements, which Porcupine implements (learned from, not copied).
//! Operations are events on a list in real-time order; the search linearizes any
//! operation whose call comes before the first pending return, steps the model,
//! and backtracks when it reaches a return whose operation is still pending. Every
//! (set linearized, state) reached is remembered, so nothing is explored twice.
//! It finds one linearization without enumerating the others, so it stays fast on
//! linearizable histories with many indeterminate operations, where keeping every
//! configuration (the first search) blows up; it is slow to prove a long history
//! wrong, which the first search does well.
//!
//! The linearized set is remembered compactly: operations are numbered in call
//! order, and a set is its frontier (one past the highest linearized) plus the
//! few operations below it not yet linearized.

use std::collections::{BTreeSet, HashSet};

use super::search::{Answer, Budget, Counterexample, Model, Operation, LAST};

/// One list node: the call or the return of an operation.
#[derive(Clone, Copy)]
struct Event {
    op: usize,
    is_call: bool,
}

/// The events in real-time order as a doubly linked list, with nodes 0 (head)
/// and 1 (tail) as sentinels; lifting an operation unlinks its events, and
/// unlifting in reverse order relinks them (dancing links).
struct Events {
    events: Vec<Event>,
    prev: Vec<usize>,
    next: Vec<usize>,
    /// Per operation: its call node and return node (if any).
    nodes: Vec<(usize, Option<usize>)>,
}

const HEAD: usize = 0;
const TAIL: usize = 1;

impl Events {
    fn new<O>(ops: &[Operation<O>]) -> Events {
        let mut order: Vec<(usize, bool, usize)> = Vec::with_capacity(2 * ops.len());
        for (i, o) in ops.iter().enumerate() {
            order.push((o.call, true, i));
            if let Some(r) = o.ret {
                order.push((r, false, i));
            }
        }
        // A return and a call at the same position: the return came first.
        order.sort_unstable();
        let n = order.len() + 2;
        let sentinel = Event {
            op: usize::MAX,
            is_call: false,
        };
        let mut events = vec![sentinel; 2];
        let mut nodes = vec![(0, None); ops.len()];
        for &(_, is_call, i) in &order {
            let node = events.len();
            events.push(Event { op: i, is_call });
            if is_call {
                nodes[i].0 = node;
            } else {
                nodes[i].1 = Some(node);
            }
        }
        let mut prev = vec![HEAD; n];
        let mut next = vec![TAIL; n];
        let chain: Vec<usize> = std::iter::once(HEAD)
            .chain(2..n)
            .chain(std::iter::once(TAIL))
            .collect();
        for w in chain.windows(2) {
            next[w[0]] = w[1];
            prev[w[1]] = w[0];
        }
        Events {
            events,
            prev,
            next,
            nodes,
        }
    }

    fn unlink(&mut self, n: usize) {
        let (p, x) = (self.prev[n], self.next[n]);
        self.next[p] = x;
        self.prev[x] = p;
    }

    fn relink(&mut self, n: usize) {
        let (p, x) = (self.prev[n], self.next[n]);
        self.next[p] = n;
        self.prev[x] = n;
    }

    fn lift(&mut self, op: usize) {
        let (call, ret) = self.nodes[op];
        self.unlink(call);
        if let Some(r) = ret {
            self.unlink(r);
        }
    }

    fn unlift(&mut self, op: usize) {
        let (call, ret) = self.nodes[op];
        if let Some(r) = ret {
            self.relink(r);
        }
        self.relink(call);
    }
}

/// The linearized set: a flag per operation, and its compact form for memory.
struct Linearized {
    done: Vec<bool>,
    frontier: usize,
    holes: BTreeSet<u32>,
}

impl Linearized {
    /// Marks `op` linearized; returns the frontier before, to undo.
    fn add(&mut self, op: usize) -> usize {
        let before = self.frontier;
        self.done[op] = true;
        if op >= self.frontier {
            self.holes.extend((self.frontier..op).map(|h| h as u32));
            self.frontier = op + 1;
        } else {
            self.holes.remove(&(op as u32));
        }
        before
    }

    fn undo(&mut self, op: usize, before: usize) {
        self.done[op] = false;
        if op >= before {
            let stale: Vec<u32> = self.holes.range(before as u32..).copied().collect();
            for h in stale {
                self.holes.remove(&h);
            }
            self.frontier = before;
        } else {
            self.holes.insert(op as u32);
        }
    }

    fn key(&self) -> (u32, Box<[u32]>) {
        (self.frontier as u32, self.holes.iter().copied().collect())
    }
}

/// Searches for a linearization of `ops` (sorted by `call`) under `model`.
pub fn check<M: Model>(model: &M, ops: &[Operation<M::Op>], budget: Budget) -> Answer<M::State> {
    let mut events = Events::new(ops);
    let mut lin = Linearized {
        done: vec![false; ops.len()],
        frontier: 0,
        holes: BTreeSet::new(),
    };
    let mut pending_returns = ops.iter().filter(|o| o.ret.is_some()).count();
    let mut state = model.init();
    // (operation, state before it, frontier before it)
    let mut stack: Vec<(usize, M::State, usize)> = Vec::new();
    let mut seen: HashSet<(u32, Box<[u32]>, M::State)> = HashSet::new();
    let mut deepest: Option<Counterexample<M::State>> = None;
    let mut steps = 0u64;
    let mut node = events.next[HEAD];
    loop {
        if pending_returns == 0 {
            return Answer::Linearizable;
        }
        steps += 1;
        if steps > budget.steps {
            return Answer::Unknown(format!(
                "the depth-first search gave up after {} steps, having placed at most {} of {} operations",
                budget.steps,
                deepest.as_ref().map_or(0, |d| d.completed),
                ops.len()
            ));
        }
        let ev = events.events[node];
        if node != TAIL && ev.is_call {
            let i = ev.op;
            if let Some(after) = model.step(&state, &ops[i].op) {
                let before = lin.add(i);
                let (frontier, holes) = lin.key();
                if seen.insert((frontier, holes, after.clone())) {
                    if seen.len() > budget.configurations {
                        return Answer::Unknown(format!(
                            "the depth-first search remembered {} configurations, its limit",
                            budget.configurations
                        ));
                    }
                    stack.push((i, std::mem::replace(&mut state, after), before));
                    if ops[i].ret.is_some() {
                        pending_returns -= 1;
                    }
                    events.lift(i);
                    node = events.next[HEAD];
                    continue;
                }
                lin.undo(i, before);
            }
            node = events.next[node];
            continue;
        }
        // A pending operation's return: what is placed so far cannot be extended;
        // note how far it got, then undo the last placement.
        if node != TAIL && deepest.as_ref().is_none_or(|d| stack.len() > d.completed) {
            let stuck = ev.op;
            let until = ops[stuck].ret.unwrap_or(0);
            // Unplaced ops invoked before `stuck` returned: holes, then past the frontier.
            let concurrent = lin
                .holes
                .iter()
                .map(|&h| h as usize)
                .chain(lin.frontier..ops.len())
                .take_while(|&j| ops[j].call < until)
                .filter(|&j| j != stuck && ops[j].ret.is_some())
                .take(LAST)
                .collect();
            deepest = Some(Counterexample {
                stuck,
                states: vec![state.clone()],
                completed: stack.len(),
                last: stack[stack.len().saturating_sub(LAST)..]
                    .iter()
                    .map(|s| s.0)
                    .collect(),
                concurrent,
            });
        }
        let Some((i, before_state, before)) = stack.pop() else {
            return match deepest {
                Some(d) => Answer::NotLinearizable(d),
                None => {
                    Answer::Unknown("the depth-first search ended without a counterexample".into())
                }
            };
        };
        events.unlift(i);
        lin.undo(i, before);
        if ops[i].ret.is_some() {
            pending_returns += 1;
        }
        state = before_state;
        node = events.next[events.nodes[i].0];
    }
}
