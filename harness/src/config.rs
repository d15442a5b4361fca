//! The options of `host test` and the test they describe: Maelstrom's option names
//! and defaults, its way of taking every non-option word as the node's command
//! line, and the canonical command that replays a run.

use anyhow::{bail, Context as _, Result};
use std::path::PathBuf;

use crate::nemesis::{Faults, Targets};
use crate::net::{Dist, Latency};
pub use crate::options::{Availability, Concurrency, Fault, Model, Topology, Workload};
use crate::rng::Rng;
use crate::upgrade::Plan;
use crate::workload;

/// Options of `host test`: Maelstrom's names and defaults.
#[derive(clap::Args, Debug, Clone)]
#[command(
    after_help = "Words that are not options, wherever they stand, are the node: \
    PATH.wasm and its arguments, or with --bin the program's arguments; a bare `--` \
    ends the options, as in Maelstrom. Nodes can also talk to Maelstrom's services lin-kv, \
    seq-kv, lww-kv and lin-tso. Each run leaves the nodes' logs, the client history \
    (history.jsonl), the message journal (messages.jsonl) and report.html (open it in a \
    browser) under --store, whose index.html lists every run. Exit status: 0 valid, 1 invalid, 2 harness error."
)]
pub struct TestArgs {
    /// The workload (lin-kv is Maelstrom's default).
    #[arg(short = 'w', long, value_enum, default_value_t = Workload::LinKv)]
    pub workload: Workload,
    /// Runs each node as this program over stdin/stdout, in real time, as Maelstrom does.
    #[arg(long, value_name = "PROGRAM")]
    pub bin: Option<PathBuf>,
    /// How many nodes (named n0, n1, ...); without it, n1..n5 as in Maelstrom.
    #[arg(long)]
    pub node_count: Option<usize>,
    /// Comma-separated node names; --node-count overrides it, as in Maelstrom.
    #[arg(long, value_delimiter = ',')]
    pub nodes: Vec<String>,
    /// Seconds of client operations (the quiet period and final reads come after).
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub time_limit: f64,
    /// Client requests per second, across all clients.
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// Client threads: a number, or `Kn` for K per node.
    #[arg(long, default_value = "1n")]
    pub concurrency: Concurrency,
    /// Mean latency of a message between nodes, in ms.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency: u64,
    /// constant, uniform or exponential.
    #[arg(long, default_value = "constant")]
    pub latency_dist: Dist,
    /// The topology broadcast offers (tree is tree2).
    #[arg(long, value_enum, default_value_t = Topology::Grid)]
    pub topology: Topology,
    /// Faults to inject, comma-separated: partition, kill (a node loses its state and
    /// starts again with a new init), pause (a node handles nothing for a while).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "FAULTS")]
    pub nemesis: Vec<Fault>,
    /// Whom kills and pauses may hit, comma-separated (Jepsen's node specs); all of
    /// them when absent.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "SPECS")]
    pub nemesis_targets: Vec<Targets>,
    /// Mean seconds between nemesis operations.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub nemesis_interval: f64,
    /// Rolls the cluster to this version during the client phase, one node at a
    /// time (in process only: for `host test`, a .wasm of the same world).
    #[arg(long, value_name = "PATH")]
    pub upgrade: Option<PathBuf>,
    /// Seconds into the client phase when the roll begins (half --time-limit when
    /// absent); one node a second after that, or faster to finish before the clients stop.
    #[arg(long, value_name = "SECONDS")]
    pub upgrade_at: Option<f64>,
    /// The fraction of requests that must succeed: `total` or a number in [0, 1].
    #[arg(long)]
    pub availability: Option<Availability>,
    /// txn-rw-register: how many keys are active at once (10 when absent).
    #[arg(long, value_name = "INT")]
    pub key_count: Option<usize>,
    /// txn-rw-register: the most micro-ops per transaction.
    #[arg(long, default_value_t = 4, value_name = "INT")]
    pub max_txn_length: usize,
    /// txn-rw-register: the most writes to one key before it is retired.
    #[arg(long, default_value_t = 16, value_name = "INT")]
    pub max_writes_per_key: usize,
    /// txn-rw-register, txn-list-append: comma-separated models to check (Elle's
    /// names; strict-serializable, Maelstrom's default, when absent).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "MODELS")]
    pub consistency_models: Vec<Model>,
    /// The seed of every random choice; random if absent, and always printed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also write the whole result as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write JUnit XML to this file, for CI: one test case per run (per seed of a
    /// sweep), the first problem as the failure, the replay command in its output.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Where each run's node logs go: STORE/<workload>/<time>-seed<N>/<node>.log.
    #[arg(long, default_value = "store", value_name = "DIR")]
    pub store: PathBuf,
    /// PATH.wasm [ARGS..] (or with --bin, the program's arguments).
    #[arg(value_name = "NODE")]
    pub words: Vec<String>,
    /// Echoes every line the nodes write on stderr to this stderr, after the node's
    /// name, as they come (each node's log under --store has them either way).
    #[arg(long)]
    pub log_stderr: bool,
    /// Logs every message on stderr as it is sent (partitioned or not), with the time.
    #[arg(long)]
    pub log_net_send: bool,
    /// Logs every message on stderr as it is received (not those a partition dropped).
    #[arg(long)]
    pub log_net_recv: bool,
    /// Runs the test this many times, on consecutive seeds from --seed (or a random
    /// one), as a sweep: the same as --seeds S..S+N-1.
    #[arg(long, default_value_t = 1, value_name = "NUMBER",
          value_parser = clap::value_parser!(u64).range(1..=MAX_SEEDS))]
    pub test_count: u64,
    /// Runs many seeds, in parallel on every core: `A..B` (both included) or `N` for
    /// 1..N. Prints one line per invalid seed with the command that replays it, then
    /// the figures over the seeds (median and worst); exit status 1 if any is invalid.
    /// With --json, the sweep's summary (which --merge reads) instead of one result.
    /// Only the run directories of seeds that are not valid are kept under --store.
    #[arg(long, value_name = "RANGE", conflicts_with = "seed")]
    pub seeds: Option<String>,
    /// With --seeds (or --test-count): only every N-th seed of the range, starting at
    /// its K-th (1 <= K <= N), so N machines can share a sweep.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Merges the --json summaries of a sweep's shards, prints them as one sweep and
    /// exits 1 if any seed was invalid; runs nothing.
    #[arg(long, num_args = 1.., value_name = "JSON")]
    pub merge: Vec<PathBuf>,
    /// Jepsen's `--node`: one more node name, may be repeated (after --nodes).
    #[arg(short = 'n', long = "node", value_name = "NAME", help_heading = JEPSEN)]
    pub node: Vec<String>,
    /// Jepsen's `--nodes-file`: node names, one per line (before --nodes).
    #[arg(long, value_name = "FILE", help_heading = JEPSEN)]
    pub nodes_file: Option<PathBuf>,
    /// Jepsen's SSH user; accepted, meaningless here (nodes are local).
    #[arg(long, value_name = "USER", help_heading = JEPSEN)]
    pub username: Option<String>,
    /// Jepsen's sudo password; accepted, meaningless here.
    #[arg(long, value_name = "PASS", help_heading = JEPSEN)]
    pub password: Option<String>,
    /// Jepsen's SSH host key check; accepted, meaningless here.
    #[arg(long, help_heading = JEPSEN)]
    pub strict_host_key_checking: bool,
    /// Jepsen's switch to skip SSH; accepted, and there is no SSH here anyway.
    #[arg(long, help_heading = JEPSEN)]
    pub no_ssh: bool,
    /// Jepsen's SSH identity file; accepted, meaningless here.
    #[arg(long, value_name = "FILE", help_heading = JEPSEN)]
    pub ssh_private_key: Option<PathBuf>,
    /// Jepsen's "leave the database running"; accepted, without effect: nodes stop
    /// with the run (their logs stay under --store).
    #[arg(long, help_heading = JEPSEN)]
    pub leave_db_running: bool,
    /// Jepsen's JSON log format; accepted, without effect (--json writes the result).
    #[arg(long, help_heading = JEPSEN)]
    pub logging_json: bool,
    /// Print nothing while running (no progress line): a sweep runs many at once.
    #[arg(skip)]
    pub quiet: bool,
    /// Options of whoever runs the nodes in process (the host's resource limits), as
    /// `--name value` pairs for the replay command; only those that differ from
    /// their defaults.
    /// The options given on the command line (not those left at their defaults), as
    /// words in the order the command declares them: what the replay command repeats.
    /// Filled by [`TestArgs::parse`], or by whoever parsed the command line (with
    /// [`given_words`]), so that options of the caller's own (the host's resource
    /// limits) are repeated too.
    #[arg(skip)]
    pub given: Vec<String>,
}

/// The help heading of Jepsen's options that only make sense on real machines.
const JEPSEN: &str = "Jepsen's options (accepted, as `maelstrom test` does)";

/// The most seeds one sweep may hold.
pub const MAX_SEEDS: u64 = 100_000_000;

impl TestArgs {
    /// Parses Maelstrom-style words (`-w echo --rate 10 x.wasm ...`).
    pub fn parse<I, S>(words: I) -> Result<TestArgs>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        use clap::{CommandFactory as _, FromArgMatches as _};
        #[derive(clap::Parser)]
        #[command(name = "host test", no_binary_name = true)]
        struct Words {
            #[command(flatten)]
            args: TestArgs,
        }
        let words: Vec<String> = words.into_iter().map(Into::into).collect();
        let command = Words::command();
        let matches = command.clone().try_get_matches_from(words)?;
        let mut args = Words::from_arg_matches(&matches)?.args;
        args.given = given_words(&command, &matches);
        Ok(args)
    }
}

/// The options that are not repeated as given by a replay: the sweep's (a replay is
/// one seed), the outputs (the JSON, the store: where a run is written is not what it
/// is), and the node's words (which go last, after `--`).
const NOT_REPLAYED: &[&str] = &[
    "seed",
    "seeds",
    "shard",
    "test_count",
    "merge",
    "json",
    "junit",
    "store",
    "words",
    "quiet",
];

/// The options given on `matches`' command line, as words (`--name value` per value,
/// a bare `--name` for a switch), in the order `command` declares them: the
/// replay command repeats exactly what was asked, whatever options the caller adds.
pub fn given_words(command: &clap::Command, matches: &clap::ArgMatches) -> Vec<String> {
    let mut words = Vec::new();
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        if NOT_REPLAYED.contains(&id)
            || matches.value_source(id) != Some(clap::parser::ValueSource::CommandLine)
        {
            continue;
        }
        // `-w` as people type it; every other option by its long name.
        let name = match (arg.get_short(), arg.get_long()) {
            (Some(short), _) if id == "workload" => format!("-{short}"),
            (_, Some(long)) => format!("--{long}"),
            (Some(short), None) => format!("-{short}"),
            (None, None) => continue,
        };
        let takes_values = arg.get_action().takes_values();
        let raw: Vec<String> = matches
            .get_raw(id)
            .into_iter()
            .flatten()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        if !takes_values || raw.is_empty() {
            words.push(name);
        } else if let Some(d) = arg.get_value_delimiter() {
            words.push(name);
            words.push(raw.join(&d.to_string()));
        } else {
            for v in raw {
                words.push(name.clone());
                words.push(v);
            }
        }
    }
    words
}

/// How the nodes run.
pub enum Target {
    /// In process, made by a node factory (the caller made it from the words: the
    /// host's PATH.wasm and its arguments).
    InProcess,
    /// Each node a process: `program` with `args`, in real time.
    Bin { program: PathBuf, args: Vec<String> },
}

/// A test, fully decided.
pub struct Config {
    pub workload: Workload,
    pub target: Target,
    pub nodes: Vec<String>,
    pub time_limit_ns: u64,
    pub rate: f64,
    pub concurrency: usize,
    pub latency: Latency,
    pub topology: Topology,
    /// The faults the nemesis injects (none: no nemesis).
    pub nemesis: Faults,
    pub nemesis_interval: f64,
    /// The rolling upgrade (`--upgrade`), if any.
    pub upgrade: Option<Plan>,
    pub availability: Option<Availability>,
    pub key_count: Option<usize>,
    pub max_txn_length: usize,
    pub max_writes_per_key: usize,
    pub consistency_models: Vec<Model>,
    pub seed: u64,
    pub command: String,
    /// Echo the nodes' stderr lines to ours (`--log-stderr`).
    pub log_stderr: bool,
    /// Log each message sent (`--log-net-send`) / received (`--log-net-recv`).
    pub log_net_send: bool,
    pub log_net_recv: bool,
    /// No progress line (a run of a sweep).
    pub quiet: bool,
}

impl Config {
    pub fn from_args(a: &TestArgs) -> Result<Config> {
        let nodes = node_names(a)?;
        for n in &nodes {
            if n.starts_with('c') || n.is_empty() {
                bail!("node name {n:?}: node names must not be empty or start with 'c' (clients' prefix)");
            }
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(twice) = nodes.iter().find(|n| !seen.insert(n.as_str())) {
            bail!("node name {twice:?} is given twice in --nodes; each node needs its own name");
        }
        let concurrency = a
            .concurrency
            .threads(nodes.len())
            .with_context(|| format!("--concurrency {} is too large", a.concurrency))?;
        if a.time_limit.is_nan() || a.time_limit <= 0.0 {
            bail!("--time-limit must be positive");
        }
        if a.rate.is_nan() || a.rate < 0.0 {
            bail!("--rate must not be negative");
        }
        if a.nemesis_interval.is_nan() || a.nemesis_interval <= 0.0 {
            bail!("--nemesis-interval must be positive");
        }
        check_bounds(a, nodes.len(), concurrency)?;
        let nemesis = Faults::new(&a.nemesis, &a.nemesis_targets);
        let target = match &a.bin {
            Some(program) => Target::Bin {
                program: program.clone(),
                args: a.words.clone(),
            },
            None => Target::InProcess,
        };
        let upgrade = Plan::parse(
            a.upgrade
                .as_ref()
                .map(|p| p.display().to_string())
                .as_deref(),
            a.upgrade_at,
            a.time_limit,
        )?;
        if upgrade.is_some() && a.bin.is_some() {
            bail!("--upgrade rolls in-process nodes (PATH.wasm) to a new version; --bin processes cannot be upgraded");
        }
        let seed = a.seed.unwrap_or_else(random_seed);
        let mut c = Config {
            workload: a.workload,
            target,
            nodes,
            time_limit_ns: (a.time_limit * 1e9) as u64,
            rate: a.rate,
            concurrency,
            latency: Latency {
                mean_ms: a.latency,
                dist: a.latency_dist,
            },
            topology: a.topology,
            nemesis,
            nemesis_interval: a.nemesis_interval,
            upgrade,
            availability: a.availability,
            key_count: a.key_count,
            max_txn_length: a.max_txn_length,
            max_writes_per_key: a.max_writes_per_key,
            consistency_models: a.consistency_models.clone(),
            seed,
            command: String::new(),
            log_stderr: a.log_stderr,
            log_net_send: a.log_net_send,
            log_net_recv: a.log_net_recv,
            quiet: a.quiet,
        };
        c.command = replay_command(a, seed);
        Ok(c)
    }

    /// What the workload is told of the test.
    pub fn workload_options(&self) -> workload::Options {
        workload::Options {
            nodes: self.nodes.clone(),
            topology: self.topology,
            concurrency: self.concurrency,
            key_count: self.key_count,
            max_txn_length: self.max_txn_length,
            max_writes_per_key: self.max_writes_per_key,
            consistency_models: self.consistency_models.clone(),
        }
    }
}

/// The nodes, as Maelstrom and Jepsen put them together: --node-count's n0.. replace
/// --nodes; the names in --nodes-file, then --nodes, then each --node; n1..n5 when
/// none is given.
fn node_names(a: &TestArgs) -> Result<Vec<String>> {
    let mut nodes = Vec::new();
    if let Some(path) = &a.nodes_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --nodes-file {}", path.display()))?;
        nodes.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from),
        );
    }
    match a.node_count {
        Some(0) => bail!("--node-count must be positive"),
        Some(n) if n > MAX_NODES => {
            bail!("{n} nodes is more than this harness runs (at most {MAX_NODES})")
        }
        Some(n) => nodes.extend((0..n).map(|i| format!("n{i}"))),
        None => nodes.extend(a.nodes.iter().map(|n| n.trim().to_string())),
    }
    nodes.extend(a.node.iter().cloned());
    if nodes.is_empty() {
        nodes = (1..=5).map(|i| format!("n{i}")).collect();
    }
    Ok(nodes)
}

/// The most a test may ask for: far beyond any Maelstrom test, and small enough
/// that the run fits in memory and ends. Each bound has a reason a user can read.
const MAX_NODES: usize = 1_000;
const MAX_CONCURRENCY: usize = 10_000;
const MAX_OPS: f64 = 50_000_000.0;
const MAX_TIME_LIMIT_S: f64 = 7.0 * 86_400.0;
const MAX_NEMESIS_STEPS: f64 = 1_000_000.0;
const MAX_LATENCY_MS: u64 = 3_600_000;
const MAX_KEYS: usize = 1_000_000;
const MAX_TXN_LENGTH: usize = 10_000;

/// Refuses options that cannot run (they would eat memory or never end), in one line.
fn check_bounds(a: &TestArgs, nodes: usize, concurrency: usize) -> Result<()> {
    if nodes > MAX_NODES {
        bail!("{nodes} nodes is more than this harness runs (at most {MAX_NODES})");
    }
    if concurrency > MAX_CONCURRENCY {
        bail!(
            "--concurrency {} means {concurrency} clients; at most {MAX_CONCURRENCY}",
            a.concurrency
        );
    }
    if !a.time_limit.is_finite() || a.time_limit > MAX_TIME_LIMIT_S {
        bail!(
            "--time-limit {} s is too long (at most {MAX_TIME_LIMIT_S} s, a week)",
            a.time_limit
        );
    }
    let ops = a.rate * a.time_limit;
    if !ops.is_finite() || ops > MAX_OPS {
        bail!(
            "--rate {} for --time-limit {} s asks for about {ops:.0} operations; at most {MAX_OPS:.0}",
            a.rate, a.time_limit
        );
    }
    let steps = a.time_limit / a.nemesis_interval;
    if !a.nemesis.is_empty() && (steps.is_nan() || steps > MAX_NEMESIS_STEPS) {
        bail!(
            "--nemesis-interval {} s over {} s is about {steps:.0} faults; at most {MAX_NEMESIS_STEPS:.0}",
            a.nemesis_interval, a.time_limit
        );
    }
    if a.latency > MAX_LATENCY_MS {
        bail!(
            "--latency {} ms is more than an hour; at most {MAX_LATENCY_MS}",
            a.latency
        );
    }
    if a.key_count.is_some_and(|k| k > MAX_KEYS) {
        bail!("--key-count is at most {MAX_KEYS}");
    }
    if a.max_txn_length > MAX_TXN_LENGTH {
        bail!("--max-txn-length is at most {MAX_TXN_LENGTH}");
    }
    if a.max_writes_per_key > MAX_KEYS {
        bail!("--max-writes-per-key is at most {MAX_KEYS}");
    }
    Ok(())
}

pub(crate) fn random_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut r = Rng::new(t ^ (u64::from(std::process::id()) << 32));
    // Small enough to type back.
    r.next_u64() % 1_000_000_000
}

/// The command that replays this run: the options as given (see [`given_words`]),
/// the moment an upgrade begins (so that a changed default cannot change it), the
/// seed, then the node.
pub(crate) fn replay_command(a: &TestArgs, seed: u64) -> String {
    let program = std::env::args().next().unwrap_or_else(|| "host".into());
    let mut w: Vec<String> = vec![program, "test".into()];
    w.extend(a.given.iter().cloned());
    if a.upgrade.is_some() && a.upgrade_at.is_none() {
        w.push("--upgrade-at".into());
        w.push((a.time_limit / 2.0).to_string());
    }
    w.push("--seed".into());
    w.push(seed.to_string());
    if a.words.iter().any(|x| x.starts_with('-')) {
        w.push("--".into());
    }
    w.extend(a.words.iter().cloned());
    shlex::try_join(w.iter().map(String::as_str)).unwrap_or_else(|_| w.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: TestArgs,
    }

    fn config(words: &[&str]) -> Result<Config> {
        Config::from_args(&TestArgs::parse(words.iter().copied())?)
    }

    #[test]
    fn words_anywhere_are_the_node_and_a_bare_separator_is_dropped() {
        let c = config(&[
            "-w",
            "broadcast",
            "--bin",
            "./host",
            "--node-count",
            "25",
            "run",
            "challenges/broadcast.wasm",
            "--rate",
            "100",
            "--",
            "--batch-ms",
            "300",
        ])
        .unwrap();
        let Target::Bin { program, args } = &c.target else {
            panic!("not --bin")
        };
        assert_eq!(program, &PathBuf::from("./host"));
        assert_eq!(
            args,
            &["run", "challenges/broadcast.wasm", "--batch-ms", "300"]
        );
        assert_eq!((c.nodes.len(), c.rate, c.concurrency), (25, 100.0, 25));
        assert_eq!(c.nodes[0], "n0");
    }

    #[test]
    fn wasm_path_then_guest_arguments_and_maelstrom_defaults() {
        let words = [
            "x.wasm",
            "-w",
            "echo",
            "--concurrency",
            "2n",
            "--",
            "--k",
            "1",
        ];
        assert_eq!(
            TestArgs::parse(words).unwrap().words,
            ["x.wasm", "--k", "1"]
        );
        let c = config(&words).unwrap();
        assert!(matches!(c.target, Target::InProcess));
        // Maelstrom's defaults: nodes n1..n5, 60 s, 5 ops/s, no latency.
        assert_eq!(c.nodes, ["n1", "n2", "n3", "n4", "n5"]);
        assert_eq!(
            (c.concurrency, c.time_limit_ns, c.rate),
            (10, 60_000_000_000, 5.0)
        );
        assert_eq!(c.latency.mean_ms, 0);
        assert!(!c.nemesis.any());
    }

    #[test]
    fn bad_options_are_refused() {
        assert!(config(&["-w", "echo", "x.wasm", "--concurrency", "0"]).is_err());
        assert!(config(&["-w", "echo", "x.wasm", "--nemesis", "crash"]).is_err());
        assert!(config(&["-w", "echo", "x.wasm", "--nemesis-targets", "primaries"]).is_err());
        assert!(config(&["-w", "echo", "x.wasm", "--availability", "2"]).is_err());
        assert!(config(&["-w", "echo", "x.wasm", "--topology", "ring"]).is_err());
        assert!(config(&["-w", "echo", "x.wasm", "--latency-dist", "normal"]).is_err());
        assert!(config(&["-w", "echo", "x.wasm", "--node-count", "0"]).is_err());
    }

    #[test]
    fn options_that_cannot_run_are_refused_in_one_line() {
        for bad in [
            &["--rate", "inf"][..],
            &["--rate", "1e12"],
            &["--time-limit", "1e30"],
            &["--nemesis", "partition", "--nemesis-interval", "1e-9"],
            &["--max-txn-length", "1000000000"],
            &["--key-count", "1000000000"],
            &["--concurrency", "100000000"],
            &["--concurrency", "99999999999999999n"],
            &["--nodes", "n1,n1"],
            &["--latency", "99999999999"],
            &["--time-limit", "NaN"],
        ] {
            let words: Vec<&str> = ["-w", "echo", "x.wasm"]
                .iter()
                .chain(bad)
                .copied()
                .collect();
            match config(&words) {
                Ok(_) => panic!("{bad:?} was accepted"),
                Err(e) => assert!(!e.to_string().contains('\n'), "{bad:?}: {e}"),
            }
        }
        // Large but sane is fine.
        assert!(config(&[
            "-w",
            "echo",
            "x.wasm",
            "--rate",
            "10000",
            "--time-limit",
            "600"
        ])
        .is_ok());
    }

    #[test]
    fn the_replay_command_is_canonical() {
        // What was given, in the order the options are declared, whatever the order
        // they were typed in; nothing that was not given.
        let a = config(&["-w", "echo", "--rate", "5", "x.wasm", "--seed", "4"]).unwrap();
        let b = config(&["--seed", "4", "x.wasm", "--rate", "5", "-w", "echo"]).unwrap();
        assert_eq!(a.command, b.command);
        assert!(
            a.command
                .ends_with(" test -w echo --rate 5 --seed 4 x.wasm"),
            "{}",
            a.command
        );
        let c = config(&["-w", "echo", "x.wasm", "--seed", "4"]).unwrap();
        assert!(
            c.command.ends_with(" test -w echo --seed 4 x.wasm"),
            "{}",
            c.command
        );
        let c = config(&["-w", "echo", "x.wasm", "--", "--odd arg"]).unwrap();
        assert!(
            c.command.ends_with(" -- x.wasm '--odd arg'"),
            "{}",
            c.command
        );
    }

    #[test]
    fn the_replay_command_keeps_the_faults_and_their_targets() {
        let a = config(&[
            "-w",
            "echo",
            "x.wasm",
            "--nemesis",
            "kill,pause",
            "--nemesis-targets",
            "one,all",
        ])
        .unwrap();
        assert_eq!(
            (a.nemesis.kill, a.nemesis.pause, a.nemesis.partition),
            (true, true, false)
        );
        let words = shlex::split(&a.command).unwrap();
        let words: Vec<&str> = words.iter().skip(2).map(String::as_str).collect();
        assert!(
            a.command
                .contains(" --nemesis 'kill,pause' --nemesis-targets 'one,all' "),
            "{}",
            a.command
        );
        let b = config(&words).unwrap();
        assert_eq!(a.nemesis, b.nemesis);
        assert_eq!(a.command, b.command);
    }

    #[test]
    fn the_replay_command_keeps_the_upgrade_and_its_moment() {
        let a = config(&[
            "-w",
            "echo",
            "x.wasm",
            "--time-limit",
            "30",
            "--upgrade",
            "new build/x.wasm",
            "--seed",
            "3",
        ])
        .unwrap();
        assert!(
            a.command
                .contains(" --upgrade 'new build/x.wasm' --upgrade-at 15 "),
            "{}",
            a.command
        );
        let plan = a.upgrade.clone().unwrap();
        assert_eq!(
            (plan.to.as_str(), plan.at_ns),
            ("new build/x.wasm", 15_000_000_000)
        );
        let words = [
            "-w",
            "echo",
            "x.wasm",
            "--time-limit",
            "30",
            "--upgrade",
            "new build/x.wasm",
            "--upgrade-at",
            "15",
            "--seed",
            "3",
        ];
        assert_eq!(config(&words).unwrap().command, a.command);
        // Processes cannot be upgraded; a moment outside the client phase is refused.
        assert!(config(&["-w", "echo", "--bin", "x", "--upgrade", "y"]).is_err());
        assert!(config(&[
            "-w",
            "echo",
            "x.wasm",
            "--upgrade",
            "y",
            "--upgrade-at",
            "60"
        ])
        .is_err());
        assert!(config(&["-w", "echo", "x.wasm", "--upgrade-at", "1"]).is_err());
    }

    #[test]
    fn every_option_of_maelstrom_test_is_accepted() {
        // `maelstrom test`'s options (Maelstrom's own and Jepsen's), each once.
        let dir = std::env::temp_dir().join(format!("config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("nodes");
        std::fs::write(&file, "a1\n a2 \n\n").unwrap();
        let file = file.display().to_string();
        let c = config(&[
            "-w",
            "txn-rw-register",
            "--bin",
            "./node",
            "--availability",
            "total",
            "--consistency-models",
            "read-committed",
            "--key-count",
            "3",
            "--latency",
            "10",
            "--latency-dist",
            "uniform",
            "--log-net-send",
            "--log-net-recv",
            "--log-stderr",
            "--max-txn-length",
            "2",
            "--max-writes-per-key",
            "8",
            "--nemesis",
            "partition",
            "--nemesis-interval",
            "5",
            "--rate",
            "20",
            "--topology",
            "tree4",
            "--nodes-file",
            &file,
            "--nodes",
            "b1, b2",
            "-n",
            "c9x",
            "--node",
            "d1",
            "--username",
            "root",
            "--password",
            "root",
            "--strict-host-key-checking",
            "--no-ssh",
            "--ssh-private-key",
            "/dev/null",
            "--concurrency",
            "2n",
            "--leave-db-running",
            "--logging-json",
            "--test-count",
            "1",
            "--time-limit",
            "7",
            "extra-arg",
        ]);
        // c9x starts with the clients' prefix: refused for that reason alone.
        let e = c.err().unwrap().to_string();
        assert!(e.contains("\"c9x\""), "{e}");
        let c = config(&[
            "-w",
            "echo",
            "--log-stderr",
            "--log-net-send",
            "--nodes-file",
            &file,
            "--nodes",
            "b1, b2",
            "-n",
            "e1",
            "--node",
            "d1",
            "--no-ssh",
            "--test-count",
            "1",
            "x.wasm",
        ])
        .unwrap();
        // Jepsen's order: the file, then --nodes, then each --node.
        assert_eq!(c.nodes, ["a1", "a2", "b1", "b2", "e1", "d1"]);
        assert_eq!(c.concurrency, 6);
        assert!(c.log_stderr && c.log_net_send && !c.log_net_recv);
        // The replay command keeps what changes the run and what it shows.
        for part in [
            " --nodes-file ",
            " --nodes 'b1, b2' ",
            " --node e1 --node d1 ",
            " --log-stderr --log-net-send ",
        ] {
            assert!(c.command.contains(part), "{part}: {}", c.command);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn node_count_overrides_nodes_and_lin_kv_is_the_default_workload() {
        let c = config(&["--nodes", "a,b", "--node-count", "2", "x.wasm"]).unwrap();
        assert_eq!(c.nodes, ["n0", "n1"]);
        assert_eq!(c.workload, Workload::LinKv);
        let c = config(&["-w", "echo", "--nodes", "a,b", "x.wasm"]).unwrap();
        assert_eq!(c.nodes, ["a", "b"]);
        assert!(!c.log_stderr && !c.log_net_send && !c.log_net_recv);
        assert!(!c.command.contains("--log"), "{}", c.command);
        assert!(config(&["-w", "echo", "--test-count", "0", "x.wasm"]).is_err());
    }
}
