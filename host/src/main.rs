//! `host`: runs Gossip Glomers nodes written as WebAssembly components.
//!
//! `host run` is what Maelstrom launches for each node; `host test` is the built-in
//! Maelstrom-compatible harness; `host compile` fills the compiled-artifact cache.

mod component;
mod engine;
mod guest;
mod instance;
mod limits;
mod log;
mod simclock;
mod sink;
mod stdio;
mod swap;
mod wasm_nodes;

use anyhow::Result;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use limits::Limits;

#[derive(Parser)]
#[command(
    name = "host",
    version,
    about = "Runs Gossip Glomers / Maelstrom nodes written as WebAssembly components",
    long_about = "Runs Gossip Glomers / Maelstrom nodes written as WebAssembly components.\n\n\
        Under a real Maelstrom:  maelstrom test -w echo --bin ./target/release/host run challenges/echo.wasm ...\n\
        Without Maelstrom:       host test -w echo challenges/echo.wasm\n\n\
        Components are compiled once and cached (see `host compile --help`)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs one node over stdin/stdout, as Maelstrom launches it.
    ///
    /// Reads Maelstrom messages as JSON lines on stdin, delivers each to the component,
    /// and writes every message it sends as one JSON line on stdout. Arguments after the
    /// .wasm path (with or without a `--`) reach the guest as its command-line arguments.
    /// The guest gets no files, sockets or environment; its stdout and stderr go to stderr.
    /// A guest that traps is reported with its backtrace and the kind of trap, the request
    /// it was handling gets error 13 (crash) and nothing else the call sent goes out, and
    /// the node continues in a fresh instance that is replayed its `init`, as a crashed
    /// process restarted. A node that crashes --max-crash-streak times in a row without
    /// completing a call is given up on: the host says so and exits with status 1.
    ///
    /// Live swap: when the .wasm file is replaced (a rebuild, `mv`, `cp`), or on SIGHUP,
    /// the new version is compiled in the background and swapped in between two events,
    /// taking over the node's state if both versions hand it over (world `handoff`),
    /// else starting fresh with the original `init`. A file that does not load leaves
    /// the old version serving. Every swap and every refusal is one line on stderr.
    /// GLOMERS_LIVE_SWAP=0 turns it off.
    #[command(long_about)]
    Run(RunArgs),
    /// Runs a Maelstrom workload against a node, with the built-in harness.
    Test(Box<TestArgs>),
    /// Compiles a component into the cache ahead of time and prints the artifact's path.
    ///
    /// The cache lives in $GLOMERS_CACHE_DIR, else $XDG_CACHE_HOME/glomers, else
    /// ~/.cache/glomers; entries are keyed by the component's content hash and the
    /// engine's version, so a rebuilt .wasm is recompiled and an old entry never reused,
    /// and sealed (the component's hash, the artifact's checksum), so an entry that is
    /// corrupt or another component's is recompiled rather than run.
    #[command(long_about)]
    Compile {
        /// The component (.wasm) to compile.
        wasm: Vec<PathBuf>,
    },
}

#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    limits: Limits,
    /// The longest line read from stdin, in bytes; a longer one is reported and skipped.
    #[arg(long, default_value_t = 8 << 20, value_name = "BYTES",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1024..=1 << 30))]
    max_line_bytes: usize,
    /// The node's component, e.g. challenges/echo.wasm.
    wasm: PathBuf,
    /// Arguments for the guest (tuning knobs), e.g. `-- --batch-ms 300`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// `host test`: the harness's options, and the guests' limits.
#[derive(clap::Args)]
pub struct TestArgs {
    #[command(flatten)]
    test: harness::TestArgs,
    #[command(flatten)]
    limits: Limits,
}

fn main() -> ExitCode {
    let command = Cli::command();
    let matches = command.clone().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Run(args) => run(args).map(|()| 0),
        Command::Test(mut args) => {
            // The replay command repeats what was given, the host's limits included.
            if let (Some(sub), Some(m)) = (
                command.find_subcommand("test"),
                matches.subcommand_matches("test"),
            ) {
                args.test.given = harness::given_words(sub, m);
            }
            test(*args)
        }
        Command::Compile { wasm } => compile(&wasm).map(|()| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        // The node itself failed for good, not the host: Maelstrom sees it as a crash.
        Err(e) if e.downcast_ref::<harness::supervisor::GaveUp>().is_some() => {
            log::elog!("host: {e:#}");
            ExitCode::from(1)
        }
        Err(e) => {
            log::elog!("host: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: RunArgs) -> Result<()> {
    let loaded = component::load(&args.wasm)?;
    let mut options = guest::NodeOptions {
        args: strip_separator(args.args),
        ..Default::default()
    };
    args.limits.apply(&mut options);
    let node = instance::start(&loaded, options)?;
    let live_swap = swap::enabled().then_some(args.wasm.as_path());
    stdio::serve(node, args.max_line_bytes, live_swap)
}

/// Maelstrom may pass a bare `--` before the guest's arguments; the guest never sees it.
pub fn strip_separator(mut args: Vec<String>) -> Vec<String> {
    if args.first().map(String::as_str) == Some("--") {
        args.remove(0);
    }
    args
}

/// `host test`: the harness, with the .wasm as every node unless `--bin` is given.
fn test(args: TestArgs) -> Result<i32> {
    let TestArgs { test, limits } = args;
    let wasm = match (&test.bin, test.words.split_first()) {
        (Some(_), _) | (None, None) => None,
        (None, Some((path, guest_args))) => Some((PathBuf::from(path), guest_args.to_vec())),
    };
    // A factory per run: a sweep (--seeds) runs seeds on several threads at once.
    let upgrade = test.upgrade.clone();
    let make = |path: &PathBuf, args: &[String]| {
        wasm_nodes::factory(path, args, &limits, upgrade.as_deref())
    };
    let maker;
    let nodes = match &wasm {
        None => None,
        Some((path, args)) => {
            // Loaded once here, so a missing or broken .wasm is one error, not one per seed.
            drop(make(path, args)?);
            maker = move || make(path, args);
            Some((path.display().to_string(), &maker as harness::MakeNodes))
        }
    };
    harness::main(test, nodes)
}

fn compile(wasm: &[PathBuf]) -> Result<()> {
    for w in wasm {
        let artifact = component::precompile(w)?;
        // An error, not a panic, if stdout is gone.
        writeln!(std::io::stdout(), "{}", artifact.display())?;
    }
    Ok(())
}
