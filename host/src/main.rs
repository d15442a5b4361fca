//! `host`: runs Gossip Glomers nodes written as WebAssembly components.
//!
//! `host run` is what Maelstrom launches for each node; `host test` is the built-in
//! Maelstrom-compatible harness; `host compile` fills the compiled-artifact cache.

mod component;
mod node;
mod stdio;
mod wasm_nodes;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
    /// A guest that traps is reported with its backtrace, the request it was handling
    /// gets error 13 (crash), and the node continues in a fresh instance that is replayed
    /// its `init`, as a crashed process restarted.
    #[command(long_about)]
    Run(RunArgs),
    /// Runs a Maelstrom workload against a node, with the built-in harness.
    Test(Box<TestArgs>),
    /// Compiles a component into the cache ahead of time and prints the artifact's path.
    ///
    /// The cache lives in $GLOMERS_CACHE_DIR, else $XDG_CACHE_HOME/glomers, else
    /// ~/.cache/glomers; entries are keyed by the component's content hash and the
    /// engine's version, so a rebuilt .wasm is recompiled and an old entry never reused.
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

/// Resource limits for each guest.
#[derive(clap::Parser, Clone, Debug)]
pub struct Limits {
    /// The most memory a guest may use, in MiB; growing past it traps.
    #[arg(long, default_value_t = 256, value_name = "MIB")]
    pub max_memory_mb: usize,
    /// How long one message or timer may run in the guest, in ms, before it is stopped.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub call_budget_ms: u64,
}

impl Limits {
    /// The limits that differ from their defaults, as options, for the replay command.
    fn non_default(&self) -> Vec<(String, String)> {
        let d = Limits::default();
        let mut v = Vec::new();
        if self.max_memory_mb != d.max_memory_mb {
            v.push(("--max-memory-mb".into(), self.max_memory_mb.to_string()));
        }
        if self.call_budget_ms != d.call_budget_ms {
            v.push(("--call-budget-ms".into(), self.call_budget_ms.to_string()));
        }
        v
    }

    pub fn apply(&self, options: &mut node::NodeOptions) {
        options.max_memory = self.max_memory_mb << 20;
        options.call_budget = Duration::from_millis(self.call_budget_ms);
    }
}

impl Default for Limits {
    fn default() -> Self {
        // No words: every limit at its declared default.
        <Limits as clap::Parser>::parse_from(["limits"])
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args).map(|()| 0),
        Command::Test(args) => test(*args),
        Command::Compile { wasm } => compile(&wasm).map(|()| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("host: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: RunArgs) -> Result<()> {
    let loaded = component::load(&args.wasm)?;
    let mut options = node::NodeOptions {
        args: strip_separator(args.args),
        ..Default::default()
    };
    args.limits.apply(&mut options);
    let node = node::Node::new(&loaded, options)?;
    stdio::serve(node)
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
    let TestArgs { mut test, limits } = args;
    test.node_options = limits.non_default();
    let nodes = match (&test.bin, test.words.split_first()) {
        (Some(_), _) | (None, None) => None,
        (None, Some((path, guest_args))) => {
            let path = PathBuf::from(path);
            let factory = wasm_nodes::factory(&path, guest_args, &limits)?;
            Some((path.display().to_string(), factory))
        }
    };
    harness::main(test, nodes)
}

fn compile(wasm: &[PathBuf]) -> Result<()> {
    for w in wasm {
        let artifact = component::precompile(w)?;
        println!("{}", artifact.display());
    }
    Ok(())
}
