//! A sweep: one test on many seeds (`--seeds 1..100`, `--test-count`), run in
//! parallel on every core, because a bug that shows on one seed in fifty is only
//! found by running fifty. Each seed is an independent run; what a person needs
//! back is which seeds failed (with the command that replays each) and how the
//! figures spread. `--shard K/N` splits a sweep across machines, and `--merge`
//! puts the shards' JSON summaries back together.

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::config::{TestArgs, MAX_SEEDS};
use crate::outcome::Outcome;
use crate::{MakeNodes, Sim};

/// Which seeds a sweep runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sweep {
    /// The range, both ends included.
    pub first: u64,
    pub last: u64,
    /// This shard: the `k`-th (from 1) of `n`.
    pub k: u64,
    pub n: u64,
}

impl Sweep {
    /// The sweep the options ask for, if any (`--seeds`, or `--test-count` above 1).
    pub fn from_args(a: &TestArgs) -> Result<Option<Sweep>> {
        let range = match (&a.seeds, a.test_count) {
            (Some(_), c) if c > 1 => bail!("give --seeds or --test-count, not both"),
            (Some(s), _) => Some(parse_range(s)?),
            (None, 1) => None,
            (None, c) => {
                let first = a.seed.unwrap_or_else(crate::config::random_seed);
                let last = first
                    .checked_add(c - 1)
                    .context("--seed plus --test-count is past the largest seed")?;
                Some((first, last))
            }
        };
        let (k, n) = match &a.shard {
            Some(s) => parse_shard(s)?,
            None => (1, 1),
        };
        match range {
            Some((first, last)) => Ok(Some(Sweep { first, last, k, n })),
            None if a.shard.is_some() => bail!("--shard splits a sweep: give --seeds too"),
            None => Ok(None),
        }
    }

    /// This shard's seeds, in order: every `n`-th of the range from its `k`-th.
    pub fn seeds(&self) -> impl Iterator<Item = u64> {
        let n = self.n;
        (self.first..=self.last)
            .skip((self.k - 1) as usize)
            .step_by(n as usize)
    }
}

/// `A..B` (both included, A <= B) or `N` (1..N).
pub fn parse_range(s: &str) -> Result<(u64, u64)> {
    let bad = || format!("--seeds {s:?} should be A..B (e.g. 1..100) or a count N (1..N)");
    let (first, last) = match s.split_once("..") {
        Some((a, b)) => (
            a.trim().parse::<u64>().with_context(bad)?,
            b.trim()
                .trim_start_matches('=')
                .parse::<u64>()
                .with_context(bad)?,
        ),
        None => (1, s.trim().parse::<u64>().with_context(bad)?),
    };
    if first > last || last == 0 {
        bail!("{}", bad());
    }
    if last - first >= MAX_SEEDS {
        bail!("--seeds {s}: at most {MAX_SEEDS} seeds in one sweep");
    }
    Ok((first, last))
}

/// `K/N` with 1 <= K <= N.
pub fn parse_shard(s: &str) -> Result<(u64, u64)> {
    let bad = || format!("--shard {s:?} should be K/N with 1 <= K <= N (e.g. 2/4)");
    let (k, n) = s.split_once('/').with_context(bad)?;
    let k: u64 = k.trim().parse().with_context(bad)?;
    let n: u64 = n.trim().parse().with_context(bad)?;
    if k == 0 || k > n {
        bail!("{}", bad());
    }
    Ok((k, n))
}

/// One seed's result, as a sweep keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SeedResult {
    pub seed: u64,
    /// `valid`, `invalid`, `unknown`, or `error` (the harness could not run it).
    pub valid: String,
    /// The command that replays this seed alone.
    pub command: String,
    /// The first reason it is not valid, or the error.
    pub problem: Option<String>,
    /// Its run directory, kept when it is not valid.
    pub store: Option<PathBuf>,
    /// Its key figures, by name (see [`FIGURES`]).
    pub figures: BTreeMap<String, f64>,
}

/// The figures a sweep summarises, and whether more is worse (else less is).
pub const FIGURES: &[(&str, bool)] = &[
    ("servers msgs-per-op", true),
    ("all msgs-per-op", true),
    ("ok-fraction", false),
    ("latency median ms", true),
    ("latency p99 ms", true),
    ("latency max ms", true),
    ("stable latency median ms", true),
    ("stable latency max ms", true),
];

impl SeedResult {
    pub(crate) fn of(o: &Outcome) -> SeedResult {
        let mut f = BTreeMap::new();
        let mut put = |k: &str, v: Option<f64>| {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                f.insert(k.to_string(), v);
            }
        };
        put("servers msgs-per-op", o.net.servers.msgs_per_op);
        put("all msgs-per-op", o.net.all.msgs_per_op);
        put("ok-fraction", Some(o.availability.ok_fraction));
        let lat = o.latency.as_ref();
        put("latency median ms", lat.map(|l| l.median_ms));
        put("latency p99 ms", lat.map(|l| l.p99_ms));
        put("latency max ms", lat.map(|l| l.max_ms));
        if let Some(q) = o.workload.figures.get("stable-latencies") {
            put(
                "stable latency median ms",
                q.get("0.5").and_then(|v| v.as_f64()),
            );
            put("stable latency max ms", q.get("1").and_then(|v| v.as_f64()));
        }
        SeedResult {
            seed: o.seed,
            valid: o.valid.to_string(),
            command: o.command.clone(),
            problem: o.problems.first().map(|p| p.text.clone()),
            store: None,
            figures: f,
        }
    }
}

/// What a sweep (or a shard of one) found: what `--json` writes and `--merge` reads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub workload: String,
    /// The shards this summary covers, as (range, shard) of each.
    pub sweeps: Vec<Sweep>,
    /// Every seed run, ascending.
    pub runs: Vec<SeedResult>,
}

impl Summary {
    fn count(&self, what: &str) -> usize {
        self.runs.iter().filter(|r| r.valid == what).count()
    }

    /// 0 every seed valid, 1 one is invalid or unknown, 2 one could not be run.
    pub fn exit_status(&self) -> i32 {
        if self.count("error") > 0 {
            2
        } else if self.runs.iter().any(|r| r.valid != "valid") {
            1
        } else {
            0
        }
    }

    /// The shards together: seeds ascending, each once.
    pub fn merge(parts: Vec<Summary>) -> Result<Summary> {
        let mut workload: Option<String> = None;
        let mut sweeps = Vec::new();
        let mut runs: BTreeMap<u64, SeedResult> = BTreeMap::new();
        for p in parts {
            match &workload {
                Some(w) if *w != p.workload => {
                    bail!("cannot merge a {} sweep with a {} sweep", w, p.workload)
                }
                _ => workload = Some(p.workload.clone()),
            }
            sweeps.extend(p.sweeps);
            for r in p.runs {
                runs.insert(r.seed, r);
            }
        }
        Ok(Summary {
            workload: workload.unwrap_or_default(),
            sweeps,
            runs: runs.into_values().collect(),
        })
    }

    /// The text a person reads: a line per seed that is not valid, the counts, and
    /// the median and worst of each figure.
    pub fn text(&self) -> String {
        let mut t = String::new();
        for r in self.runs.iter().filter(|r| r.valid != "valid") {
            t.push_str(&not_valid_line(r));
        }
        t + &self.figures_text()
    }

    /// The counts and the median and worst of each figure.
    pub fn figures_text(&self) -> String {
        let mut t = String::new();
        let seeds = self.runs.len();
        let range = match (self.runs.first(), self.runs.last()) {
            (Some(a), Some(b)) => format!(" (seeds {}..{})", a.seed, b.seed),
            _ => String::new(),
        };
        t.push_str(&format!(
            "{}: {seeds} seeds{range}: {} valid, {} invalid, {} unknown, {} errors\n",
            self.workload,
            self.count("valid"),
            self.count("invalid"),
            self.count("unknown"),
            self.count("error"),
        ));
        for &(name, more_is_worse) in FIGURES {
            let mut v: Vec<(f64, u64)> = self
                .runs
                .iter()
                .filter_map(|r| r.figures.get(name).map(|&x| (x, r.seed)))
                .collect();
            if v.is_empty() {
                continue;
            }
            v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let median = v[(v.len() - 1) / 2].0;
            let worst = if more_is_worse { v[v.len() - 1] } else { v[0] };
            t.push_str(&format!(
                "  {name:<26} median {:>10}   worst {:>10} (seed {})\n",
                num(median),
                num(worst.0),
                worst.1
            ));
        }
        t
    }
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x:.3}")
    }
}

fn not_valid_line(r: &SeedResult) -> String {
    let logs = r
        .store
        .as_ref()
        .map_or(String::new(), |d| format!("  logs: {}\n", d.display()));
    format!(
        "seed {}: {}{}\n  replay: {}\n{logs}",
        r.seed,
        r.valid.to_uppercase(),
        r.problem
            .as_ref()
            .map_or(String::new(), |p| format!(": {}", first_line(p))),
        r.command
    )
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Runs `sweep` with the options of `args` and the nodes `nodes` makes (a fresh
/// factory per seed, on the thread that runs it); prints as `host test` does.
pub fn main(args: TestArgs, sweep: Sweep, nodes: Option<(String, MakeNodes<'_>)>) -> Result<i32> {
    let summary = run(&args, sweep, nodes, true)?;
    // The seeds that are not valid were shown as they ended.
    print!("{}", summary.figures_text());
    if let Some(path) = &args.json {
        write_json(&summary, path)?;
    }
    if let Some(path) = &args.junit {
        crate::junit::write(path, &summary.workload, &summary.runs)?;
    }
    Ok(summary.exit_status())
}

/// Runs the sweep; with `stream`, prints each seed that is not valid as it ends.
pub fn run(
    args: &TestArgs,
    sweep: Sweep,
    nodes: Option<(String, MakeNodes<'_>)>,
    stream: bool,
) -> Result<Summary> {
    let seeds: Vec<u64> = sweep.seeds().collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(seeds.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<SeedResult>> = Mutex::new(Vec::with_capacity(seeds.len()));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&seed) = seeds.get(i) else { return };
                let r = one(args, seed, nodes.as_ref());
                if stream && r.valid != "valid" {
                    let _ = std::io::stdout()
                        .lock()
                        .write_all(not_valid_line(&r).as_bytes());
                }
                results.lock().unwrap_or_else(|p| p.into_inner()).push(r);
            });
        }
    });
    let mut runs = results.into_inner().unwrap_or_else(|p| p.into_inner());
    runs.sort_by_key(|r| r.seed);
    // Runs ended in parallel, each rewriting the index: once more, with all of them.
    let _ = crate::report::index::write_index(&args.store);
    Ok(Summary {
        workload: args.workload.to_string(),
        sweeps: vec![sweep],
        runs,
    })
}

/// One seed of the sweep; a run that cannot start is an `error` result, not the end
/// of the sweep.
fn one(args: &TestArgs, seed: u64, nodes: Option<&(String, MakeNodes<'_>)>) -> SeedResult {
    let mut a = args.clone();
    a.seed = Some(seed);
    a.seeds = None;
    a.shard = None;
    a.test_count = 1;
    a.json = None;
    a.quiet = true;
    let outcome = (|| -> Result<Outcome> {
        let nodes = match nodes {
            Some((label, make)) => Some((label.clone(), make()?)),
            None => None,
        };
        Sim::new(&a, nodes)?.run()
    })();
    match outcome {
        Ok(o) => {
            let mut r = SeedResult::of(&o);
            if o.is_valid() {
                // A sweep of thousands would fill the disk; a valid seed replays.
                let _ = std::fs::remove_dir_all(&o.wall.logs);
            } else {
                r.store = Some(o.wall.logs.clone());
            }
            r
        }
        Err(e) => SeedResult {
            seed,
            valid: "error".into(),
            command: crate::config::replay_command(&a, seed),
            problem: Some(format!("{e:#}")),
            store: None,
            figures: BTreeMap::new(),
        },
    }
}

/// Writes a sweep's summary as JSON.
pub fn write_json(s: &Summary, path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(s)?;
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}

/// `host test --merge A.json B.json ...`: prints the shards as one sweep (and writes
/// it with --json); the exit status is the merged sweep's.
pub fn merge_main(files: &[PathBuf], json: Option<&Path>, junit: Option<&Path>) -> Result<i32> {
    let mut parts = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let s: Summary = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a --seeds --json summary", f.display()))?;
        parts.push(s);
    }
    let merged = Summary::merge(parts)?;
    print!("{}", merged.text());
    if let Some(path) = json {
        write_json(&merged, path)?;
    }
    if let Some(path) = junit {
        crate::junit::write(path, &merged.workload, &merged.runs)?;
    }
    Ok(merged.exit_status())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(words: &[&str]) -> Result<Option<Sweep>> {
        let mut w = vec!["-w", "echo", "x.wasm"];
        w.extend_from_slice(words);
        Sweep::from_args(&TestArgs::parse(w)?)
    }

    #[test]
    fn ranges_counts_and_shards() {
        assert_eq!(parse_range("1..100").unwrap(), (1, 100));
        assert_eq!(parse_range("100").unwrap(), (1, 100));
        assert_eq!(parse_range("7..7").unwrap(), (7, 7));
        for bad in ["0", "5..4", "a..b", "", "1..", "..3"] {
            assert!(parse_range(bad).is_err(), "{bad}");
        }
        for bad in ["0/2", "3/2", "1", "a/b", "1/0"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        let s = sweep(&["--seeds", "1..10", "--shard", "2/3"])
            .unwrap()
            .unwrap();
        assert_eq!(s.seeds().collect::<Vec<_>>(), [2, 5, 8]);
        assert!(sweep(&[]).unwrap().is_none());
        assert!(sweep(&["--shard", "1/2"]).is_err());
        let t = sweep(&["--test-count", "3", "--seed", "40"])
            .unwrap()
            .unwrap();
        assert_eq!(t.seeds().collect::<Vec<_>>(), [40, 41, 42]);
        assert!(sweep(&["--seeds", "5", "--seed", "3"]).is_err());
    }

    #[test]
    fn shards_cover_the_range_exactly_once() {
        for n in 1..6 {
            let mut all: Vec<u64> = (1..=n)
                .flat_map(|k| {
                    Sweep {
                        first: 3,
                        last: 29,
                        k,
                        n,
                    }
                    .seeds()
                    .collect::<Vec<_>>()
                })
                .collect();
            all.sort_unstable();
            assert_eq!(all, (3..=29).collect::<Vec<_>>(), "n = {n}");
        }
    }

    fn result(seed: u64, valid: &str, msgs: f64) -> SeedResult {
        SeedResult {
            seed,
            valid: valid.into(),
            command: format!("host test -w echo --seed {seed} x.wasm"),
            problem: (valid != "valid").then(|| "lost 3".to_string()),
            store: None,
            figures: [("servers msgs-per-op".to_string(), msgs)].into(),
        }
    }

    #[test]
    fn merged_shards_summarise_as_one_sweep() {
        let a = Summary {
            workload: "echo".into(),
            sweeps: vec![],
            runs: vec![result(1, "valid", 2.0), result(3, "invalid", 9.0)],
        };
        let b = Summary {
            workload: "echo".into(),
            sweeps: vec![],
            runs: vec![result(2, "valid", 4.0)],
        };
        let m = Summary::merge(vec![a.clone(), b]).unwrap();
        assert_eq!(m.runs.iter().map(|r| r.seed).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(m.exit_status(), 1);
        let text = m.text();
        assert!(text.contains("seed 3: INVALID: lost 3"), "{text}");
        assert!(
            text.contains("replay: host test -w echo --seed 3 x.wasm"),
            "{text}"
        );
        assert!(
            text.contains("3 seeds (seeds 1..3): 2 valid, 1 invalid"),
            "{text}"
        );
        assert!(
            text.contains("median          4   worst          9 (seed 3)"),
            "{text}"
        );
        let other = Summary {
            workload: "broadcast".into(),
            ..a
        };
        assert!(Summary::merge(vec![m, other]).is_err());
    }
}
