//! Whether one object's history is linearizable. Two exact searches, each good
//! where the other is weak: first a depth-first search (`wgl`), which finds a
//! linearization quickly when there is one; if it does not succeed within a small
//! budget, "just-in-time" linearization
//! (the algorithm of Knossos' `linear` checker, learned from, not copied): the
//! history is read once, in real-time order, keeping every configuration the
//! object could be in: its state, and the operations invoked but not yet
//! linearized. An invocation adds its operation to every configuration; a
//! completion keeps only the configurations that can linearize that operation now,
//! after any sequence of the other pending ones. If none can, the history is not
//! linearizable, and the failure is at that very completion: a long history that
//! goes wrong at one place is not searched backwards to its start, as a depth-first
//! search (Wing & Gong, Porcupine) would.
//!
//! Indeterminate operations (a client that timed out: its write may or may not
//! have happened) never complete, so they stay pending and may be linearized at
//! any point after their invocation, or never. Identical ones are interchangeable
//! and kept as a multiset; a configuration whose optional operations are a subset
//! of another's with the same state and the same required ones is dropped, as the
//! other can do all it can. The search answers `Unknown`, with a reason, when it
//! exceeds a budget of steps or of configurations, rather than hang or exhaust
//! memory on a pathological history.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;

use super::search::{Answer, Budget, Counterexample, Model, Operation, LAST};

/// What the object could be: its state, the operations that must still be
/// linearized (invoked, to complete later; sorted ids) and those that may be
/// (indeterminate; sorted class ids, a multiset).
#[derive(Clone, PartialEq, Eq, Hash)]
struct Config<S> {
    state: S,
    required: Vec<u32>,
    optional: Vec<u32>,
}

fn insert_sorted(v: &mut Vec<u32>, x: u32) {
    let at = v.partition_point(|&y| y <= x);
    v.insert(at, x);
}

fn remove_one(v: &[u32], x: u32) -> Vec<u32> {
    let mut out = v.to_vec();
    if let Ok(at) = out.binary_search(&x) {
        out.remove(at);
    }
    out
}

/// Whether multiset `a` (sorted) is contained in multiset `b` (sorted).
fn sub_multiset(a: &[u32], b: &[u32]) -> bool {
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j == b.len() || b[j] != x {
            return false;
        }
        j += 1;
    }
    true
}

/// Keeps, among configurations with the same state and required operations, only
/// those whose optional operations no other's contain.
fn prune<S: Clone + Eq + Hash>(configs: HashSet<Config<S>>) -> HashSet<Config<S>> {
    let mut groups: HashMap<(S, Vec<u32>), Vec<Vec<u32>>> = HashMap::new();
    for c in configs {
        groups
            .entry((c.state, c.required))
            .or_default()
            .push(c.optional);
    }
    let mut out = HashSet::new();
    for ((state, required), mut opts) in groups {
        // Larger first: a set can only be contained in one at least as large.
        opts.sort_by_key(|o| std::cmp::Reverse(o.len()));
        let mut kept: Vec<Vec<u32>> = Vec::new();
        for o in opts {
            if !kept.iter().any(|k| sub_multiset(&o, k)) {
                kept.push(o);
            }
        }
        for optional in kept {
            out.insert(Config {
                state: state.clone(),
                required: required.clone(),
                optional,
            });
        }
    }
    out
}

/// Searches for a linearization of `ops` (sorted by `call`) under `model`: the
/// depth-first search within a budget proportional to the history, then, unless
/// it found one, the forward search, which also explains a failure best. Both
/// are exact, so whichever answers first answers right.
pub fn check<M: Model>(model: &M, ops: &[Operation<M::Op>], budget: Budget) -> Answer<M::State> {
    let quick = Budget {
        steps: budget.steps.min(50_000 + 20 * ops.len() as u64),
        configurations: budget.configurations,
    };
    let first = super::wgl::check(model, ops, quick);
    if matches!(first, Answer::Linearizable) {
        return first;
    }
    match (forward(model, ops, budget), first) {
        (Answer::Unknown(_), found @ Answer::NotLinearizable(_)) => found,
        (Answer::Unknown(why), Answer::Unknown(first_why)) => {
            Answer::Unknown(format!("{first_why}; then {why}"))
        }
        (answer, _) => answer,
    }
}

/// Just-in-time linearization: every configuration, forward through the history.
fn forward<M: Model>(model: &M, ops: &[Operation<M::Op>], budget: Budget) -> Answer<M::State> {
    // Indeterminate operations by class: the first operation equal to each.
    let mut class_of = vec![0u32; ops.len()];
    let mut classes: Vec<usize> = Vec::new();
    for (i, o) in ops.iter().enumerate().filter(|(_, o)| o.ret.is_none()) {
        let c = match classes.iter().position(|&r| ops[r].op == o.op) {
            Some(c) => c,
            None => {
                classes.push(i);
                classes.len() - 1
            }
        };
        class_of[i] = c as u32;
    }
    // Events in real-time order; a completion before an invocation at one position.
    let mut events: Vec<(usize, bool, usize)> = Vec::with_capacity(2 * ops.len());
    for (i, o) in ops.iter().enumerate() {
        events.push((o.call, true, i));
        if let Some(r) = o.ret {
            events.push((r, false, i));
        }
    }
    events.sort_unstable();
    let mut configs: HashSet<Config<M::State>> = HashSet::from([Config {
        state: model.init(),
        required: Vec::new(),
        optional: Vec::new(),
    }]);
    let mut steps = 0u64;
    let mut completed: Vec<usize> = Vec::new();
    for &(_, is_call, i) in &events {
        if is_call {
            configs = configs
                .into_iter()
                .map(|mut c| {
                    if ops[i].ret.is_some() {
                        insert_sorted(&mut c.required, i as u32);
                    } else {
                        insert_sorted(&mut c.optional, class_of[i]);
                    }
                    c
                })
                .collect();
            continue;
        }
        let target = i as u32;
        let mut next: HashSet<Config<M::State>> = HashSet::new();
        // Configurations explored for this completion, by (state, required): the
        // optional multisets seen, none contained in another seen before it.
        let mut explored: Explored<M::State> = HashMap::new();
        let mut explored_count = 0usize;
        // Required operations first, optional ones after (a 0-1 breadth-first
        // order), so a configuration reached using fewer optional operations is
        // explored before those it dominates.
        let mut todo: VecDeque<Config<M::State>> = VecDeque::new();
        for c in &configs {
            if c.required.binary_search(&target).is_err() {
                // Already linearized, on the way to an earlier completion.
                next.insert(c.clone());
            } else if visit(c, &mut explored, &mut explored_count) {
                todo.push_back(c.clone());
            }
        }
        while let Some(c) = todo.pop_front() {
            let mut last = None;
            for (j, optional) in c
                .required
                .iter()
                .map(|&j| (j, false))
                .chain(c.optional.iter().map(|&j| (j, true)))
            {
                if last == Some((j, optional)) {
                    continue;
                }
                last = Some((j, optional));
                steps += 1;
                if steps > budget.steps {
                    return Answer::Unknown(format!(
                        "the forward search gave up after {} steps, at the completion of operation {} of {}",
                        budget.steps,
                        completed.len() + 1,
                        ops.len()
                    ));
                }
                let op = if optional {
                    &ops[classes[j as usize]].op
                } else {
                    &ops[j as usize].op
                };
                let Some(state) = model.step(&c.state, op) else {
                    continue;
                };
                if optional && state == c.state {
                    // Changes nothing: the configuration without it dominates.
                    continue;
                }
                let after = if optional {
                    Config {
                        state,
                        required: c.required.clone(),
                        optional: remove_one(&c.optional, j),
                    }
                } else {
                    Config {
                        state,
                        required: remove_one(&c.required, j),
                        optional: c.optional.clone(),
                    }
                };
                if !optional && j == target {
                    next.insert(after);
                } else if visit(&after, &mut explored, &mut explored_count) {
                    if optional {
                        todo.push_back(after);
                    } else {
                        todo.push_front(after);
                    }
                }
            }
            if explored_count > budget.configurations {
                return Answer::Unknown(format!(
                    "the forward search explored more than {} configurations at the completion of operation {} of {}",
                    budget.configurations,
                    completed.len() + 1,
                    ops.len()
                ));
            }
        }
        if next.is_empty() {
            return Answer::NotLinearizable(counterexample(i, &configs, &completed));
        }
        configs = prune(next);
        if configs.len() > budget.configurations {
            return Answer::Unknown(format!(
                "{} configurations were possible after {} completions, more than the limit {}",
                configs.len(),
                completed.len(),
                budget.configurations
            ));
        }
        completed.push(i);
    }
    Answer::Linearizable
}

type Explored<S> = HashMap<(S, Vec<u32>), Vec<Vec<u32>>>;

/// Notes `c` as explored unless a configuration explored before dominates it.
fn visit<S: Clone + Eq + Hash>(
    c: &Config<S>,
    explored: &mut Explored<S>,
    count: &mut usize,
) -> bool {
    let seen = explored
        .entry((c.state.clone(), c.required.clone()))
        .or_default();
    if seen.iter().any(|o| sub_multiset(&c.optional, o)) {
        return false;
    }
    seen.push(c.optional.clone());
    *count += 1;
    true
}

fn counterexample<S: Clone + Eq + Hash>(
    stuck: usize,
    configs: &HashSet<Config<S>>,
    completed: &[usize],
) -> Counterexample<S> {
    let mut states: Vec<S> = Vec::new();
    let mut concurrent: Vec<usize> = Vec::new();
    for c in configs {
        if !states.contains(&c.state) {
            states.push(c.state.clone());
        }
        for &j in &c.required {
            let j = j as usize;
            if j != stuck && !concurrent.contains(&j) {
                concurrent.push(j);
            }
        }
    }
    concurrent.sort_unstable();
    concurrent.truncate(LAST);
    Counterexample {
        stuck,
        states,
        completed: completed.len(),
        last: completed[completed.len().saturating_sub(LAST)..].to_vec(),
        concurrent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A register: reads see the last write; cas(from, to) needs `from` there.
    struct Register;
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum R {
        Read(i64),
        Write(i64),
        Cas(i64, i64),
    }
    impl Model for Register {
        type State = Option<i64>;
        type Op = R;
        fn init(&self) -> Option<i64> {
            None
        }
        fn step(&self, s: &Option<i64>, op: &R) -> Option<Option<i64>> {
            match *op {
                R::Read(v) => (*s == Some(v)).then_some(*s),
                R::Write(v) => Some(Some(v)),
                R::Cas(f, t) => (*s == Some(f)).then_some(Some(t)),
            }
        }
    }

    fn op(call: usize, ret: Option<usize>, op: R) -> Operation<R> {
        Operation { call, ret, op }
    }

    fn run(mut ops: Vec<Operation<R>>) -> Answer<Option<i64>> {
        ops.sort_by_key(|o| o.call);
        check(&Register, &ops, Budget::default())
    }

    #[test]
    fn sequential_and_concurrent_histories() {
        // write 1, then read 1: fine.
        let a = run(vec![
            op(0, Some(1), R::Write(1)),
            op(2, Some(3), R::Read(1)),
        ]);
        assert!(matches!(a, Answer::Linearizable), "{a:?}");
        // A read concurrent with a write may see either value.
        for v in [1, 2] {
            let a = run(vec![
                op(0, Some(1), R::Write(1)),
                op(2, Some(5), R::Write(2)),
                op(3, Some(4), R::Read(v)),
            ]);
            assert!(matches!(a, Answer::Linearizable), "{v}: {a:?}");
        }
        // Two overlapping cas ops from the same value: only one can win, but
        // they can chain if the second expects what the first wrote.
        let a = run(vec![
            op(0, Some(1), R::Write(0)),
            op(2, Some(6), R::Cas(1, 2)),
            op(3, Some(5), R::Cas(0, 1)),
            op(7, Some(8), R::Read(2)),
        ]);
        assert!(matches!(a, Answer::Linearizable), "{a:?}");
    }

    #[test]
    fn a_stale_read_is_caught() {
        // write 1 completes, write 2 completes, then a read sees 1.
        let a = run(vec![
            op(0, Some(1), R::Write(1)),
            op(2, Some(3), R::Write(2)),
            op(4, Some(5), R::Read(1)),
        ]);
        let Answer::NotLinearizable(c) = a else {
            panic!("{a:?}")
        };
        assert_eq!(c.stuck, 2, "the read is the op that cannot be placed");
        assert_eq!(c.states, vec![Some(2)]);
        assert_eq!((c.completed, c.last), (2, vec![0, 1]));
    }

    #[test]
    fn a_lost_cas_is_caught() {
        // cas 0 -> 1 acknowledged, yet a later read still sees 0.
        let a = run(vec![
            op(0, Some(1), R::Write(0)),
            op(2, Some(3), R::Cas(0, 1)),
            op(4, Some(5), R::Read(0)),
        ]);
        assert!(matches!(a, Answer::NotLinearizable(_)), "{a:?}");
        // Two cas 0 -> x both acknowledged without overlap: the second cannot.
        let a = run(vec![
            op(0, Some(1), R::Write(0)),
            op(2, Some(3), R::Cas(0, 1)),
            op(4, Some(5), R::Cas(0, 2)),
        ]);
        assert!(matches!(a, Answer::NotLinearizable(_)), "{a:?}");
    }

    #[test]
    fn indeterminate_ops_may_or_may_not_happen() {
        // A write that timed out, then reads see it: it happened.
        let a = run(vec![
            op(0, Some(1), R::Write(0)),
            op(2, None, R::Write(5)),
            op(10, Some(11), R::Read(5)),
        ]);
        assert!(matches!(a, Answer::Linearizable), "{a:?}");
        // ... or reads never see it: it never happened.
        let a = run(vec![
            op(0, Some(1), R::Write(0)),
            op(2, None, R::Write(5)),
            op(10, Some(11), R::Read(0)),
        ]);
        assert!(matches!(a, Answer::Linearizable), "{a:?}");
        // But it cannot take effect before it was invoked.
        let a = run(vec![
            op(0, Some(1), R::Write(0)),
            op(2, Some(3), R::Read(5)),
            op(4, None, R::Write(5)),
        ]);
        assert!(matches!(a, Answer::NotLinearizable(_)), "{a:?}");
        // Nor take effect twice: 0 -> 5 -> 0 needs another write of 0.
        let a = run(vec![
            op(0, Some(1), R::Write(0)),
            op(2, None, R::Cas(0, 5)),
            op(4, Some(5), R::Read(5)),
            op(6, Some(7), R::Read(0)),
        ]);
        assert!(matches!(a, Answer::NotLinearizable(_)), "{a:?}");
    }

    /// A history of 20,000 operations from 10 concurrent clients of a real
    /// register, with up to `lost` indeterminate writes or cas (which took effect).
    fn simulated(seed: u64, lost: usize) -> Vec<Operation<R>> {
        let mut rng = crate::rng::Rng::new(seed);
        let clients = 10;
        let mut value: Option<i64> = None;
        let mut ops = Vec::new();
        // Each client's op takes effect at some instant between its call and return.
        let mut busy: Vec<Option<(usize, R, bool)>> = vec![None; clients];
        let (mut t, mut infos) = (0, 0);
        while ops.len() < 20_000 {
            let c = rng.below(clients as u64) as usize;
            t += 1;
            match busy[c].take() {
                None => {
                    let v = rng.below(5) as i64;
                    let r = match rng.below(3) {
                        0 => R::Read(0),
                        1 => R::Write(v),
                        _ => R::Cas(rng.below(5) as i64, v),
                    };
                    busy[c] = Some((t, r, false));
                }
                Some((call, r, false)) => {
                    // Take effect now; a failed read or cas leaves no op.
                    let (r, ok) = match r {
                        R::Read(_) => (R::Read(value.unwrap_or(-1)), value.is_some()),
                        R::Write(v) => {
                            value = Some(v);
                            (r, true)
                        }
                        R::Cas(f, to) => {
                            let ok = value == Some(f);
                            if ok {
                                value = Some(to);
                            }
                            (r, ok)
                        }
                    };
                    if ok {
                        busy[c] = Some((call, r, true));
                    }
                }
                Some((call, r, true)) => {
                    let is_lost = !matches!(r, R::Read(_)) && infos < lost && rng.below(50) == 0;
                    infos += usize::from(is_lost);
                    ops.push(op(call, (!is_lost).then_some(t), r));
                }
            }
        }
        ops.sort_by_key(|o| o.call);
        ops
    }

    /// Linearizable, with 15 indeterminate ops (as many as the generator lets a
    /// key have): found within the search's budget (its speed is in `make bench`'s
    /// harness figures, not timed here).
    #[test]
    fn long_concurrent_histories_stay_fast() {
        for seed in 1..=3 {
            let ops = simulated(seed, 15);
            // Within the default budget: exhausting it would answer Unknown.
            let a = check(&Register, &ops, Budget::default());
            assert!(matches!(a, Answer::Linearizable), "{a:?}");
        }
    }

    /// One read in the middle of a long history sees a value never written: the
    /// forward search finds that very read, quickly.
    #[test]
    fn one_stale_read_in_a_long_history_is_found() {
        for seed in 1..=3 {
            let mut ops = simulated(seed, 3);
            let reads: Vec<usize> = (0..ops.len())
                .filter(|&i| matches!(ops[i].op, R::Read(_)) && ops[i].ret.is_some())
                .collect();
            let bad = reads[reads.len() / 2];
            ops[bad].op = R::Read(7);
            let a = check(&Register, &ops, Budget::default());
            let Answer::NotLinearizable(c) = a else {
                panic!("{a:?}")
            };
            assert_eq!(c.stuck, bad);
        }
    }

    #[test]
    fn an_exhausted_budget_is_unknown_not_a_verdict() {
        // Twelve concurrent writes, then a read of a value none wrote: proving it
        // takes every order of the writes, more than the budget allows.
        let mut ops: Vec<Operation<R>> = (0..12)
            .map(|i| op(i, Some(100 + i), R::Write(i as i64)))
            .collect();
        ops.push(op(200, Some(201), R::Read(99)));
        let tiny = Budget {
            steps: 1000,
            configurations: 1_000_000,
        };
        let a = check(&Register, &ops, tiny);
        let Answer::Unknown(why) = a else {
            panic!("{a:?}")
        };
        assert!(why.contains("gave up after 1000 steps"), "{why}");
        // With the default budget, the answer is definite.
        let a = check(&Register, &ops, Budget::default());
        assert!(matches!(a, Answer::NotLinearizable(_)), "{a:?}");
    }
}
