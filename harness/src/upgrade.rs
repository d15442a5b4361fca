//! The rolling upgrade of a run (`--upgrade`): during the client phase the cluster
//! moves to a new version one node at a time, as an operator rolls a deployment, so
//! the checker judges a history made by the old version, by mixed-version clusters
//! while the roll is under way, and by the new version after it. The order of the
//! nodes is drawn from the run's seed; turns come a fixed gap apart, from
//! `--upgrade-at` (half the time limit by default), the gap shrunk if need be so
//! that every turn falls before the clients stop. A node that is paused when its
//! turn comes switches when it resumes; one that is down starts again as the new
//! version (with no state to carry). This module decides and records; the event
//! loop (`sim.rs`) carries out, and the node itself does the switch
//! ([`crate::Node::upgrade`]).

use anyhow::{bail, Result};
use serde::Serialize;

use crate::nemesis::{Event, What};
use crate::node::UpgradeInfo;
use crate::problem::Problem;
use crate::rng::Rng;

/// The most time between two nodes' turns.
const GAP_NS: u64 = 1_000_000_000;

/// The roll a run was asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The version rolled to, as `--upgrade` named it (a path, a label).
    pub to: String,
    /// When the first turn comes, in ns after the clients start.
    pub at_ns: u64,
}

impl Plan {
    /// From `--upgrade` and `--upgrade-at` (seconds; half the time limit when absent).
    pub fn parse(to: Option<&str>, at_s: Option<f64>, time_limit_s: f64) -> Result<Option<Plan>> {
        let Some(to) = to else {
            if at_s.is_some() {
                bail!("--upgrade-at needs --upgrade (the version to roll to)");
            }
            return Ok(None);
        };
        let at = at_s.unwrap_or(time_limit_s / 2.0);
        if !at.is_finite() || at < 0.0 || at >= time_limit_s {
            bail!(
                "--upgrade-at {at} s must fall within the client phase, from 0 to below --time-limit {time_limit_s} s"
            );
        }
        Ok(Some(Plan {
            to: to.to_string(),
            at_ns: (at * 1e9) as u64,
        }))
    }
}

pub use crate::nemesis::How;

impl How {
    /// Its name in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            How::Live => "live",
            How::Resumed => "resumed",
            How::Started => "started",
            How::Failed => "failed",
            How::Pending => "pending",
        }
    }
}

/// One node's upgrade, as the summary and the JSON tell it.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct NodeUpgrade {
    /// The node's id.
    pub node: String,
    /// When the roll reached it, in seconds since the run began.
    pub turn: f64,
    /// When it began running the new version (`None`: it never did).
    pub switched: Option<f64>,
    /// How it switched, or why it did not.
    pub how: How,
    /// The version it ran before, as the node names it (a content hash).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The version it runs after, as the node names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Whether its state came across (else it started afresh with `init`).
    #[serde(rename = "state-carried")]
    pub state_carried: bool,
    /// Why its state did not come across, when the node said.
    #[serde(rename = "fresh-because", skip_serializing_if = "Option::is_none")]
    pub fresh_because: Option<String>,
    /// How long the switch took on the real clock, in ms (live switches only).
    #[serde(rename = "pause-ms", skip_serializing_if = "Option::is_none")]
    pub pause_ms: Option<f64>,
    /// Why the node refused to switch, in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `turn` and `switched` in ns, exact, for the fault list and the problems
    /// (the seconds above are for the JSON).
    #[serde(skip)]
    pub(crate) turn_ns: u64,
    #[serde(skip)]
    pub(crate) switched_ns: Option<u64>,
}

/// What a run's roll did: the `upgrade` part of the JSON.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Upgrades {
    /// The version rolled to, as `--upgrade` named it.
    pub to: String,
    /// When the first turn came, in seconds since the run began.
    pub start: f64,
    /// Seconds between two turns.
    pub gap: f64,
    /// Every node, in the order the roll reached them.
    pub nodes: Vec<NodeUpgrade>,
}

impl Upgrades {
    /// How many nodes run the new version, and how many of those kept their state.
    pub fn counts(&self) -> (usize, usize) {
        let switched = self.nodes.iter().filter(|u| u.switched.is_some()).count();
        let carried = self.nodes.iter().filter(|u| u.state_carried).count();
        (switched, carried)
    }

    /// The nodes that refused to switch, in sentences for the run's problems: the
    /// new version could not take over, which is what the roll tests.
    pub fn problems(&self) -> Vec<Problem> {
        self.nodes
            .iter()
            .filter_map(|u| {
                let why = u.error.as_deref()?;
                let after = match (u.how, u.switched) {
                    (How::Started, Some(t)) => {
                        format!("until it was started again as the new version at {t:.3} s")
                    }
                    _ => "to the end".to_string(),
                };
                let text = format!(
                    "{} could not switch to {} at its turn at {:.3} s and kept running the old version {after}: {why}",
                    u.node, self.to, u.turn
                );
                Some(Problem::new(text).at(u.turn_ns).node(&u.node))
            })
            .collect()
    }

    /// Each switch (or refusal) as an operation of the run's fault list, `f` =
    /// `upgrade`, at the moment it happened.
    pub fn fault_entries(&self) -> Vec<Event> {
        self.nodes
            .iter()
            .filter(|u| u.how != How::Pending)
            .map(|u| Event {
                at: u.switched_ns.unwrap_or(u.turn_ns),
                what: What::Upgrade {
                    node: u.node.clone(),
                    how: u.how,
                    state_carried: u.state_carried,
                    fresh_because: u.fresh_because.clone(),
                    error: u.error.clone(),
                },
            })
            .collect()
    }
}

/// Merges `extra` into the time-ordered operation list `log`, keeping it ordered
/// (an operation of `log` first at equal times).
pub fn merge_by_time(log: Vec<Event>, extra: Vec<Event>) -> Vec<Event> {
    let mut out = Vec::with_capacity(log.len() + extra.len());
    let mut extra = extra.into_iter().peekable();
    for e in log {
        while let Some(x) = extra.next_if(|x| x.at < e.at) {
            out.push(x);
        }
        out.push(e);
    }
    out.extend(extra);
    out
}

/// The roll under way in one run.
pub struct Roll {
    to: String,
    names: Vec<String>,
    order: Vec<usize>,
    next: usize,
    start_ns: u64,
    gap_ns: u64,
    /// Per node, its record once the roll reached it.
    records: Vec<Option<NodeUpgrade>>,
}

impl Roll {
    /// The roll of `plan` over nodes `names`, for a client phase that begins at
    /// `main_ns` and lasts `limit_ns`; the order comes from `rng`.
    pub fn new(plan: &Plan, names: &[String], main_ns: u64, limit_ns: u64, rng: &mut Rng) -> Roll {
        let mut order: Vec<usize> = (0..names.len()).collect();
        rng.shuffle(&mut order);
        let at = plan.at_ns.min(limit_ns.saturating_sub(1));
        // Every turn before the clients stop: the last at most at the limit's last ns.
        let room = limit_ns.saturating_sub(1).saturating_sub(at);
        let gap_ns = match names.len() {
            0 | 1 => GAP_NS,
            n => GAP_NS.min(room / (n as u64 - 1)),
        };
        Roll {
            to: plan.to.clone(),
            names: names.to_vec(),
            order,
            next: 0,
            start_ns: main_ns + at,
            gap_ns,
            records: vec![None; names.len()],
        }
    }

    /// When the first turn comes (ns since the run began).
    pub fn start_ns(&self) -> u64 {
        self.start_ns
    }

    /// The node whose turn it is now, and how long until the next turn (`None`
    /// after the last). Call once per turn.
    pub fn turn(&mut self, now: u64) -> Option<(usize, Option<u64>)> {
        let node = *self.order.get(self.next)?;
        self.next += 1;
        self.records[node] = Some(NodeUpgrade {
            node: self.names[node].clone(),
            turn: now as f64 / 1e9,
            turn_ns: now,
            switched_ns: None,
            switched: None,
            how: How::Pending,
            from: None,
            to: None,
            state_carried: false,
            fresh_because: None,
            pause_ms: None,
            error: None,
        });
        let more = self.next < self.order.len();
        Some((node, more.then_some(self.gap_ns)))
    }

    /// Whether the roll has reached `node`: a restart makes it as the new version.
    pub fn reached(&self, node: usize) -> bool {
        self.records.get(node).is_some_and(Option::is_some)
    }

    /// Whether `node`'s turn came while it was down or paused, and it still runs
    /// (or will start as) nothing newer yet.
    pub fn waiting(&self, node: usize) -> bool {
        matches!(
            self.records.get(node),
            Some(Some(NodeUpgrade {
                how: How::Pending,
                ..
            }))
        )
    }

    /// `node` tried to switch at `now` (live, or on resuming): what it said.
    pub fn switched(&mut self, node: usize, now: u64, how: How, r: Result<UpgradeInfo, String>) {
        let Some(Some(rec)) = self.records.get_mut(node) else {
            return;
        };
        match r {
            Ok(info) => {
                rec.how = how;
                rec.switched = Some(now as f64 / 1e9);
                rec.switched_ns = Some(now);
                rec.switched_ns = Some(now);
                rec.from = Some(info.from);
                rec.to = Some(info.to);
                rec.state_carried = info.state_carried;
                rec.fresh_because = info.fresh_because;
                rec.pause_ms = Some(info.pause.as_secs_f64() * 1e3);
            }
            Err(why) => {
                rec.how = How::Failed;
                rec.error = Some(why);
            }
        }
    }

    /// `node`, reached by the roll while down (or after it refused to switch), was
    /// started again at `now` as the new version.
    pub fn started(&mut self, node: usize, now: u64) {
        if let Some(Some(rec)) = self.records.get_mut(node) {
            let why = match rec.how {
                How::Pending => "it was down at its turn",
                How::Failed => "it refused to switch, and was killed",
                _ => return,
            };
            rec.how = How::Started;
            rec.switched = Some(now as f64 / 1e9);
            rec.switched_ns = Some(now);
            rec.state_carried = false;
            rec.fresh_because = Some(why.into());
        }
    }

    /// The roll's record, in the order it reached the nodes (those it never reached,
    /// had the run ended early, are left out).
    pub fn finish(self) -> Upgrades {
        let mut records = self.records;
        Upgrades {
            to: self.to,
            start: self.start_ns as f64 / 1e9,
            gap: self.gap_ns as f64 / 1e9,
            nodes: self
                .order
                .iter()
                .filter_map(|&i| records[i].take())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    fn info(carried: bool) -> UpgradeInfo {
        UpgradeInfo {
            from: "old".into(),
            to: "new".into(),
            state_carried: carried,
            fresh_because: (!carried).then(|| "no handoff".to_string()),
            pause: Duration::from_micros(1500),
        }
    }

    #[test]
    fn the_plan_defaults_to_mid_run_and_refuses_moments_outside_the_client_phase() {
        assert_eq!(Plan::parse(None, None, 20.0).unwrap(), None);
        let p = Plan::parse(Some("v2.wasm"), None, 20.0).unwrap().unwrap();
        assert_eq!((p.to.as_str(), p.at_ns), ("v2.wasm", 10_000_000_000));
        assert_eq!(
            Plan::parse(Some("x"), Some(0.0), 20.0)
                .unwrap()
                .unwrap()
                .at_ns,
            0
        );
        for bad in [20.0, 25.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = Plan::parse(Some("x"), Some(bad), 20.0).unwrap_err();
            assert!(e.to_string().contains("--upgrade-at"), "{e}");
        }
        assert!(Plan::parse(None, Some(3.0), 20.0).is_err());
    }

    #[test]
    fn every_node_gets_one_turn_in_a_seeded_order_before_the_clients_stop() {
        let plan = Plan::parse(Some("v2"), Some(8.0), 10.0).unwrap().unwrap();
        let limit = 10_000_000_000;
        let main = 3_000_000;
        let order = |seed| {
            let mut roll = Roll::new(&plan, &names(5), main, limit, &mut Rng::new(seed));
            let mut now = roll.start_ns();
            assert_eq!(now, main + 8_000_000_000);
            let mut nodes = Vec::new();
            while let Some((node, next)) = roll.turn(now) {
                assert!(!nodes.contains(&node));
                assert!(roll.reached(node) && roll.waiting(node));
                nodes.push(node);
                match next {
                    Some(gap) => {
                        // Two seconds left for four gaps: half a second each.
                        assert_eq!(gap, 499_999_999);
                        now += gap;
                    }
                    None => break,
                }
            }
            assert!(now < main + limit, "{now}");
            assert_eq!(roll.turn(now), None);
            nodes
        };
        let a = order(1);
        assert_eq!(a.len(), 5);
        assert_eq!(a, order(1));
        assert!((2..20).any(|s| order(s) != a), "the order ignores the seed");
    }

    #[test]
    fn records_tell_how_each_node_switched_and_failures_become_problems() {
        let plan = Plan::parse(Some("v2.wasm"), Some(1.0), 60.0)
            .unwrap()
            .unwrap();
        let mut roll = Roll::new(&plan, &names(4), 0, 60_000_000_000, &mut Rng::new(3));
        let mut turns = Vec::new();
        let mut now = roll.start_ns();
        while let Some((node, next)) = roll.turn(now) {
            assert_eq!(next.is_some(), turns.len() < 3);
            turns.push((node, now));
            now += next.unwrap_or(0);
        }
        assert_eq!(turns[1].1 - turns[0].1, GAP_NS);
        let [(live, t0), (resumed, t1), (started, t2), (failed, t3)] = turns[..] else {
            panic!()
        };
        roll.switched(live, t0, How::Live, Ok(info(true)));
        roll.switched(resumed, t1 + 5, How::Resumed, Ok(info(false)));
        roll.switched(failed, t3, How::Live, Err("restore trapped".into()));
        assert!(roll.waiting(started) && !roll.waiting(live) && !roll.waiting(failed));
        roll.started(started, t2 + 7);
        assert!(!roll.waiting(started));
        let u = roll.finish();
        let hows: Vec<How> = u.nodes.iter().map(|n| n.how).collect();
        assert_eq!(hows, [How::Live, How::Resumed, How::Started, How::Failed]);
        assert_eq!(u.counts(), (3, 1));
        assert_eq!(u.nodes[0].pause_ms, Some(1.5));
        assert_eq!(u.nodes[2].switched, Some((t2 + 7) as f64 / 1e9));
        assert_eq!(u.nodes[3].switched, None);
        let problems = u.problems();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].text.contains("could not switch to v2.wasm")
                && problems[0].text.contains("restore trapped"),
            "{problems:?}"
        );
        assert_eq!(problems[0].at, Some(t3));
        assert_eq!(problems[0].node, Some(u.nodes[3].node.clone()));
        let faults = u.fault_entries();
        assert_eq!(faults.len(), 4);
        // Each at the moment it switched, else at its turn.
        let ats: Vec<u64> = faults.iter().map(|f| f.at).collect();
        assert_eq!(ats, [t0, t1 + 5, t2 + 7, t3]);
        let json = serde_json::to_value(&faults).unwrap();
        assert!(json.as_array().unwrap().iter().all(|f| f["f"] == "upgrade"));
        assert_eq!(json[0]["state-carried"], true);
        assert_eq!(json[2]["how"], "started");
        assert_eq!(json[3]["error"], "restore trapped");
    }

    #[test]
    fn upgrades_merge_into_the_fault_list_in_time_order() {
        let op = |at: u64, what: What| Event { at, what };
        let up = |at: u64| {
            op(
                at,
                What::Upgrade {
                    node: "n1".into(),
                    how: How::Live,
                    state_carried: true,
                    fresh_because: None,
                    error: None,
                },
            )
        };
        let log = vec![
            op(1_000, What::Start { nodes: vec![] }),
            op(3_000, What::Heal),
        ];
        let extra = vec![up(500), up(3_000), up(9_000)];
        let fs: Vec<(u64, &str)> = merge_by_time(log, extra)
            .iter()
            .map(|e| (e.at, e.what.f()))
            .collect();
        assert_eq!(
            fs,
            [
                (500, "upgrade"),
                (1_000, "start"),
                (3_000, "stop-partition"),
                (3_000, "upgrade"),
                (9_000, "upgrade"),
            ]
        );
    }
}
