//! Judging a history without running anything: [`check()`] (a history in, the
//! workload checker's typed verdict out, with only the checker's options) and
//! `host check` ([`main`]), which reads a history file or a run's directory
//! ([`crate::read`]), prints the verdict as a run does and writes `results.json` and
//! `report.html` beside it.

use anyhow::{Context as _, Result};
use serde::Serialize;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Instant;

use crate::history::{self, History, Kind};
use crate::journal::Journal;
use crate::net::{NetCounts, NetStats};
use crate::options::{Model, Workload};
use crate::outcome::{
    About, AvailabilityResult, Crashes, Latency, Outcome, SimFigures, Wall, WorkloadResult,
};
use crate::problem::Problem;
use crate::read;
use crate::workload::{self, Valid};

/// What the checkers need besides the history: nothing about nodes, topology or
/// clients.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub workload: Workload,
    /// txn-rw-register, txn-list-append: the models to check (Maelstrom's default,
    /// strict-serializable, when empty).
    pub consistency_models: Vec<Model>,
    /// lin-kv: the steps one key's linearizability search may take before the key
    /// is "unknown".
    pub lin_kv_budget: u64,
    /// The nodes' names, for the problems' sentences (an entry's `node` indexes
    /// this); "?" for an index it lacks.
    pub nodes: Vec<String>,
}

impl CheckOptions {
    /// `workload`'s checker with Maelstrom's defaults.
    pub fn new(workload: Workload) -> CheckOptions {
        CheckOptions {
            workload,
            consistency_models: Vec::new(),
            lin_kv_budget: workload::LIN_KV_BUDGET,
            nodes: Vec::new(),
        }
    }
}

/// The judgement of a history: the workload checker's and Jepsen's stats checker's,
/// as a run would give them.
#[derive(Serialize, Debug)]
pub struct Checked {
    /// The verdict: the workload's checker and the stats (every function succeeded
    /// at least once).
    pub valid: Valid,
    /// The workload checker's own verdict (Knossos', Elle's...), without the stats.
    pub workload_valid: Valid,
    /// The workload checker's figures, under Maelstrom's keys.
    pub figures: Map<String, Value>,
    /// Jepsen's stats: completions by outcome, overall and per function.
    pub stats: Value,
    /// Why it is not valid, first problem first.
    pub problems: Vec<Problem>,
    /// The checker's one-line figures.
    #[serde(skip)]
    pub summary: Vec<String>,
}

impl Checked {
    pub fn is_valid(&self) -> bool {
        self.valid == Valid::True
    }
}

/// Judges `history` as `options.workload`'s checker does at the end of a run.
///
/// ```
/// use harness::{check, CheckOptions, History, Kind, Valid, Workload};
/// use serde_json::json;
///
/// // A g-counter that was added 2 and 3, and then read 4 at the end.
/// let mut h = History::default();
/// for (delta, t) in [(2, 0), (3, 20)] {
///     let i = h.invoke(0, "add", json!(delta), t);
///     h.complete(i, Kind::Ok, json!(delta), t + 10);
/// }
/// let read = h.invoke(1, "read", json!(null), 100);
/// h.entries[read].is_final = true;
/// h.complete(read, Kind::Ok, json!(4), 110);
///
/// let checked = check(&h, &CheckOptions::new(Workload::GCounter));
/// assert_eq!(checked.valid, Valid::False);
/// println!("{}", checked.problems[0]);
///
/// // Read 5, it is valid.
/// h.entries[5].value = json!(5);
/// assert!(check(&h, &CheckOptions::new(Workload::GCounter)).is_valid());
/// /// ```
pub fn check(history: &History, options: &CheckOptions) -> Checked {
    let wopts = workload::Options {
        nodes: options.nodes.clone(),
        topology: Default::default(),
        concurrency: 1,
        key_count: None,
        max_txn_length: 4,
        max_writes_per_key: 16,
        consistency_models: options.consistency_models.clone(),
        lin_kv_budget: options.lin_kv_budget,
    };
    let ctx = workload::Context {
        nodes: &options.nodes,
    };
    let (stats, stats_valid) = history::stats(history);
    let verdict = match workload::new(options.workload, &wopts) {
        Ok(w) => w.check(history, &ctx),
        Err(e) => workload::Verdict {
            valid: Valid::Unknown,
            result: Map::new(),
            problems: vec![Problem::new(format!("no checker: {e:#}"))],
            summary: Vec::new(),
        },
    };
    let mut problems = verdict.problems;
    if !stats_valid {
        if let Some(by_f) = stats["by-f"].as_object() {
            for (f, s) in by_f {
                if s["ok-count"] == 0 {
                    problems.push(Problem::new(format!("no {f} request ever succeeded")));
                }
            }
        }
    }
    Checked {
        valid: verdict.valid.merge(Valid::from_bool(stats_valid)),
        workload_valid: verdict.valid,
        figures: verdict.result,
        stats,
        problems,
        summary: verdict.summary,
    }
}

/// `host check`'s options.
#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// The workload whose checker judges the history; by default the one the path
    /// names (store/<workload>/<run>/), else the one the operations point to.
    #[arg(short = 'w', long, value_enum)]
    pub workload: Option<Workload>,
    /// txn-rw-register, txn-list-append: comma-separated models to check (Elle's
    /// names; strict-serializable, Maelstrom's default, when absent).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "MODELS")]
    pub consistency_models: Vec<Model>,
    /// lin-kv: how many steps the linearizability search of one key may take before
    /// the key is called "unknown".
    #[arg(long, default_value_t = workload::LIN_KV_BUDGET, value_name = "STEPS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub lin_kv_budget: u64,
    /// Where to write results.json and report.html (default: beside the history).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Also write the whole result as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// A history (our history.jsonl, or Maelstrom's / Jepsen's / Knossos'
    /// history.edn), or a run's directory holding one.
    pub path: PathBuf,
}

/// `host check`: reads the history, judges it, prints the summary, writes
/// `results.json` and `report.html`; the exit status (0 valid, 1 invalid or
/// unknown). The binary's edge, so errors are `anyhow` (exit status 2).
pub fn main(args: CheckArgs) -> Result<i32> {
    let started = Instant::now();
    let loaded = read::load(&args.path, args.workload)?;
    let options = CheckOptions {
        workload: loaded.workload,
        consistency_models: args.consistency_models.clone(),
        lin_kv_budget: args.lin_kv_budget,
        nodes: loaded.nodes.clone(),
    };
    let checked = check(&loaded.history, &options);
    let dir = match &args.store {
        Some(d) => d.clone(),
        None => loaded
            .path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let command = command_of(&args, &loaded);
    let mut outcome = outcome(checked, loaded, command, dir.clone(), started);
    let results = dir.join(crate::report::RESULTS);
    let json = serde_json::to_string_pretty(&outcome.to_json())? + "\n";
    std::fs::write(&results, &json)
        .with_context(|| format!("cannot write {}", results.display()))?;
    let html = crate::report::page::render(&outcome, &Journal::default(), &[], started);
    let report = dir.join(crate::report::REPORT);
    if let Err(e) = std::fs::write(&report, html) {
        outcome.warnings.push(format!(
            "the report was not written to {}: {e}",
            report.display()
        ));
    }
    print!("{}", text(&outcome));
    if let Some(path) = &args.json {
        std::fs::write(path, &json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(if outcome.is_valid() { 0 } else { 1 })
}

/// The command that checks the same history the same way.
fn command_of(args: &CheckArgs, loaded: &read::Loaded) -> String {
    let mut words = vec![
        "host".to_string(),
        "check".into(),
        "-w".into(),
        loaded.workload.to_string(),
    ];
    if !args.consistency_models.is_empty() {
        let models: Vec<String> = args
            .consistency_models
            .iter()
            .map(|m| m.to_string())
            .collect();
        words.extend(["--consistency-models".into(), models.join(",")]);
    }
    if args.lin_kv_budget != workload::LIN_KV_BUDGET {
        words.extend(["--lin-kv-budget".into(), args.lin_kv_budget.to_string()]);
    }
    words.push(args.path.display().to_string());
    shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
}

/// A run's outcome for a history alone: no messages, no nemesis, no seed.
fn outcome(
    c: Checked,
    loaded: read::Loaded,
    command: String,
    dir: PathBuf,
    started: Instant,
) -> Outcome {
    let h = loaded.history;
    let invokes = h.invocations().count();
    let oks = h.completions().filter(|c| c.kind == Kind::Ok).count();
    let ok_fraction = if invokes == 0 {
        1.0
    } else {
        oks as f64 / invokes as f64
    };
    let zero = NetCounts {
        send_count: 0,
        recv_count: 0,
        msg_count: 0,
        msgs_per_op: None,
    };
    let end = h.entries.iter().map(|e| e.time).max().unwrap_or(0);
    let mut warnings = Vec::new();
    if loaded.skipped > 0 {
        warnings.push(format!(
            "{} operations were left out (the nemesis's, functions no workload has, completions without an invocation)",
            loaded.skipped
        ));
    }
    Outcome {
        valid: c.valid,
        seed: 0,
        command,
        workload: WorkloadResult {
            valid: c.workload_valid,
            figures: c.figures,
        },
        net: NetStats {
            all: zero,
            clients: zero,
            servers: zero,
            valid: true,
        },
        availability: AvailabilityResult {
            valid: true,
            ok_fraction,
        },
        stats: c.stats,
        latency: Latency::of(&h),
        nemesis: None,
        upgrade: None,
        crashes: Crashes {
            count: 0,
            first: Vec::new(),
        },
        problems: c.problems,
        warnings,
        sim: SimFigures {
            nodes: loaded.nodes.len(),
            clients: h
                .entries
                .iter()
                .map(|e| e.process)
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            seconds: end as f64 / 1e9,
            time_limit: end as f64 / 1e9,
            events: h.entries.len() as u64,
            real_time: false,
        },
        wall: Wall {
            seconds: started.elapsed().as_secs_f64(),
            logs: dir,
        },
        history: h,
        summary: c.summary,
        about: About {
            workload: loaded.workload.to_string(),
            node: loaded.path.display().to_string(),
            node_count: loaded.nodes.len(),
            had_nemesis: false,
        },
    }
}

/// What `host check` prints: the history, its operations, the checker's figures,
/// the verdict and its problems, where the report is.
pub fn text(o: &Outcome) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "host check -w {}: {}", o.about.workload, o.about.node);
    let _ = writeln!(out, "{}", crate::summary::ops_line(o));
    for line in &o.summary {
        let _ = writeln!(out, "  {line}");
    }
    for w in &o.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    match o.valid {
        Valid::True => {
            let _ = writeln!(out, "{:#}", o.valid);
        }
        v => {
            let _ = writeln!(out, "{v:#}:");
            for p in &o.problems {
                let _ = writeln!(out, "  - {p}");
            }
        }
    }
    let _ = writeln!(
        out,
        "results: {}",
        o.wall.logs.join(crate::report::RESULTS).display()
    );
    let report = o.wall.logs.join(crate::report::REPORT);
    if report.exists() {
        let _ = writeln!(out, "report: {}", report.display());
    }
    out
}
