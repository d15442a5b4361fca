//! The typed result of a run: the verdict and its reasons, Maelstrom's figures
//! under Maelstrom's names, the seed and the command that replays the run. The JSON
//! that `--json` writes is this, serialised; the summary, the report and tests read
//! it typed.

use serde::Serialize;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Availability, Config};
use crate::history::{History, Kind};
use crate::nemesis::Event;
use crate::net::NetStats;
pub use crate::problem::Problem;
use crate::record::{CrashRecord, Record};
use crate::upgrade::{self, Upgrades};
use crate::workload::Valid;

/// Everything a finished run tells.
#[derive(Serialize)]
pub struct Outcome {
    /// The verdict: the workload's checker, availability, stats and the run itself.
    pub valid: Valid,
    /// The seed of every random choice.
    pub seed: u64,
    /// The command that replays this run exactly.
    pub command: String,
    /// The workload checker's verdict and figures, under Maelstrom's keys.
    pub workload: WorkloadResult,
    /// Message counts: all, clients, servers.
    pub net: NetStats,
    /// The share of operations that succeeded, against `--availability`.
    pub availability: AvailabilityResult,
    /// Jepsen's stats: completions by outcome, overall and per function.
    pub stats: Value,
    /// The latency of the ok operations of the main phase (`null` if none).
    pub latency: Option<Latency>,
    /// Each nemesis operation, when the run had a nemesis or an upgrade; each
    /// node's switch to the new version is one too (`f` = `upgrade`), at its moment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nemesis: Option<Vec<Event>>,
    /// The rolling upgrade (`--upgrade`): when each node switched, and whether its
    /// state was carried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<Upgrades>,
    /// Nodes that crashed (and restarted).
    pub crashes: Crashes,
    /// Why the run is not valid, in sentences a user can act on (empty if valid).
    pub problems: Vec<Problem>,
    /// What looked wrong without failing the run.
    pub warnings: Vec<String>,
    /// The size of the run.
    pub sim: SimFigures,
    /// Real time taken, and where the logs are.
    pub wall: Wall,
    /// The client history the checkers read.
    #[serde(skip)]
    pub history: History,
    /// The checker's one-line figures, for the summary.
    #[serde(skip)]
    pub summary: Vec<String>,
    /// The workload, the nodes and their description, for the summary.
    #[serde(skip)]
    pub about: About,
}

/// The latency of a run's ok operations (invocation to completion) of the main
/// phase, at Maelstrom's quantiles, in ms (measured in whole µs, as the report
/// plots them).
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Latency {
    /// How many operations were measured.
    pub count: usize,
    pub min_ms: f64,
    pub median_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// Of the ok operations of the main phase of `h`; `None` if there are none.
    pub fn of(h: &History) -> Option<Latency> {
        let mut us: Vec<u64> = h
            .completions()
            .filter(|c| c.kind == Kind::Ok && !c.is_final)
            .filter_map(|c| {
                let inv = h.entries.get(c.invoke?)?;
                Some(c.time.saturating_sub(inv.time) / 1000)
            })
            .collect();
        us.sort_unstable();
        let ms = |q: f64| crate::stats::quantile(&us, q).map(|v| v as f64 / 1e3);
        Some(Latency {
            count: us.len(),
            min_ms: ms(0.0)?,
            median_ms: ms(0.5)?,
            p95_ms: ms(0.95)?,
            p99_ms: ms(0.99)?,
            max_ms: ms(1.0)?,
        })
    }

    /// Each figure under the name of its quantile in Maelstrom's maps
    /// ([`crate::stats::QUANTILES`]).
    pub fn quantiles(&self) -> [(&'static str, f64); 5] {
        [
            ("0", self.min_ms),
            ("0.5", self.median_ms),
            ("0.95", self.p95_ms),
            ("0.99", self.p99_ms),
            ("1", self.max_ms),
        ]
    }
}

/// The workload checker's judgement.
#[derive(Serialize)]
pub struct WorkloadResult {
    pub valid: Valid,
    /// The checker's figures (workload-specific keys, as Maelstrom's).
    #[serde(flatten)]
    pub figures: Map<String, Value>,
}

#[derive(Serialize)]
pub struct AvailabilityResult {
    pub valid: bool,
    #[serde(rename = "ok-fraction")]
    pub ok_fraction: f64,
}

#[derive(Serialize)]
pub struct Crashes {
    /// How many crashes in all.
    pub count: u64,
    /// The first few.
    pub first: Vec<CrashRecord>,
}

#[derive(Serialize)]
pub struct SimFigures {
    pub nodes: usize,
    pub clients: usize,
    /// Seconds of (virtual or real) time the run took.
    pub seconds: f64,
    /// Seconds of client operations (`--time-limit`); the rest of `seconds` is the
    /// quiet period and the final reads.
    #[serde(rename = "time-limit")]
    pub time_limit: f64,
    /// Events handled by the event loop.
    pub events: u64,
    /// Whether the nodes ran on the real clock (processes).
    #[serde(rename = "real-time")]
    pub real_time: bool,
}

#[derive(Serialize)]
pub struct Wall {
    pub seconds: f64,
    /// The run's directory in the store: node logs, history.
    pub logs: PathBuf,
}

/// What the summary says the run was.
#[derive(Default)]
pub struct About {
    pub workload: String,
    /// The node: a .wasm path, `--bin PROGRAM`, or what a Rust caller named it.
    pub node: String,
    pub node_count: usize,
    pub had_nemesis: bool,
}

impl Outcome {
    /// Puts together the event loop's record and the checkers' verdict.
    pub(crate) fn new(
        cfg: &Config,
        r: Record,
        wall: Duration,
        store: PathBuf,
        node: String,
    ) -> Outcome {
        let invokes = r.history.invocations().count() as u64;
        let oks = r
            .history
            .completions()
            .filter(|c| c.kind == Kind::Ok)
            .count() as u64;
        let ok_fraction = if invokes == 0 {
            1.0
        } else {
            oks as f64 / invokes as f64
        };
        let availability_valid = match cfg.availability {
            None => true,
            Some(Availability::Total) => oks == invokes,
            Some(Availability::Fraction(f)) => ok_fraction >= f,
        };
        let mut failures = r.failures.clone();
        if let Some(u) = &r.upgrades {
            failures.extend(u.problems());
        }
        let mut problems: Vec<Problem> = failures.clone();
        problems.extend(r.verdict.problems.iter().cloned());
        if !availability_valid {
            problems.push(Problem::new(format!(
                "availability: only {oks} of {invokes} requests succeeded ({:.2}%), below the required {}",
                100.0 * ok_fraction,
                match cfg.availability {
                    Some(Availability::Fraction(f)) => format!("{:.2}%", 100.0 * f),
                    _ => "100% (total)".into(),
                }
            )));
        }
        if !r.stats_valid {
            if let Some(by_f) = r.stats["by-f"].as_object() {
                for (f, s) in by_f {
                    if s["ok-count"] == 0 {
                        problems.push(Problem::new(format!("no {f} request ever succeeded")));
                    }
                }
            }
        }
        let valid = r
            .verdict
            .valid
            .merge(Valid::from_bool(availability_valid))
            .merge(Valid::from_bool(r.stats_valid))
            .merge(Valid::from_bool(failures.is_empty()));
        let faults = match &r.upgrades {
            Some(u) => upgrade::merge_by_time(r.nemesis, u.fault_entries()),
            None => r.nemesis,
        };
        Outcome {
            valid,
            seed: cfg.seed,
            command: cfg.command.clone(),
            workload: WorkloadResult {
                valid: r.verdict.valid,
                figures: r.verdict.result,
            },
            net: r.net,
            availability: AvailabilityResult {
                valid: availability_valid,
                ok_fraction,
            },
            stats: r.stats,
            latency: Latency::of(&r.history),
            nemesis: (cfg.nemesis.any() || r.upgrades.is_some()).then_some(faults),
            upgrade: r.upgrades,
            crashes: Crashes {
                count: r.crash_count,
                first: r.crashes,
            },
            problems,
            warnings: r.warnings,
            sim: SimFigures {
                nodes: cfg.nodes.len(),
                clients: cfg.concurrency,
                seconds: r.end_ns as f64 / 1e9,
                time_limit: cfg.time_limit_ns as f64 / 1e9,
                events: r.events,
                real_time: r.real_time,
            },
            wall: Wall {
                seconds: wall.as_secs_f64(),
                logs: store,
            },
            history: r.history,
            summary: r.verdict.summary,
            about: About {
                workload: cfg.workload.to_string(),
                node,
                node_count: cfg.nodes.len(),
                had_nemesis: cfg.nemesis.any(),
            },
        }
    }

    /// Whether the run is valid (not invalid, not unknown).
    pub fn is_valid(&self) -> bool {
        self.valid == Valid::True
    }

    /// The whole result as JSON, as `--json` writes it.
    pub fn to_json(&self) -> Value {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Entry;
    use serde_json::json;

    /// An operation invoked at `start` ns that completed as `kind` at `end`.
    fn op(h: &mut History, start: u64, end: u64, kind: Kind, is_final: bool) {
        let inv = h.push(Entry::at(Kind::Invoke, "read", Value::Null, start));
        let mut c = Entry::at(kind, "read", Value::Null, end);
        c.invoke = Some(inv);
        c.is_final = is_final;
        h.push(c);
    }

    #[test]
    fn latency_is_of_the_ok_operations_of_the_main_phase_in_whole_microseconds() {
        let mut h = History::default();
        assert_eq!(Latency::of(&h), None);
        // Ten ok operations taking 1..=10 ms (and a few hundred ns more, dropped).
        for i in 1..=10u64 {
            op(
                &mut h,
                i * 100,
                i * 100 + i * 1_000_000 + 400,
                Kind::Ok,
                false,
            );
        }
        // Neither a failure, an indeterminate operation nor a final read counts.
        op(&mut h, 0, 99_000_000, Kind::Fail, false);
        op(&mut h, 0, 99_000_000, Kind::Info, false);
        op(&mut h, 0, 99_000_000, Kind::Ok, true);
        let l = Latency::of(&h).unwrap();
        assert_eq!(l.count, 10);
        // Jepsen's quantiles: floor(10 × 0.5) = 5, the sixth smallest.
        assert_eq!(
            (l.min_ms, l.median_ms, l.p95_ms, l.p99_ms, l.max_ms),
            (1.0, 6.0, 10.0, 10.0, 10.0)
        );
        assert_eq!(l.quantiles()[1], ("0.5", 6.0));
        // The names scripts/grade.py reads.
        let j = serde_json::to_value(&l).unwrap();
        assert_eq!(
            (j["median-ms"].clone(), j["max-ms"].clone()),
            (json!(6.0), json!(10.0))
        );
    }

    #[test]
    fn a_problem_is_its_sentence_in_the_json_and_in_words() {
        let p = Problem::new("value 3 was lost")
            .at(1_250_000_000)
            .node("n1");
        assert_eq!(serde_json::to_value(&p).unwrap(), json!("value 3 was lost"));
        assert_eq!(p.to_string(), "value 3 was lost");
        assert_eq!((p.at, p.node.as_deref()), (Some(1_250_000_000), Some("n1")));
        assert_eq!(Problem::from("x".to_string()), Problem::new("x"));
    }
}
