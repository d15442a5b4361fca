//! The same figures for a node in each guest language, side by side: the component's
//! size, its first compile, 25 nodes started on a warm cache, one idle node's memory,
//! echo throughput through `host run`, and a 25-node 3d run in the harness. What a
//! language costs is what its runtime brings into the sandbox (CPython, StarlingMonkey,
//! Go's runtime), so these say what choosing it means.

use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use crate::nodes::{self, Node, Scratch};
use crate::{harness, memory, startup, throughput};

/// The languages and where `make` leaves their components.
const LANGUAGES: [(&str, &str); 4] = [
    ("rust", "challenges"),
    ("python", "challenges/python"),
    ("js", "challenges/js"),
    ("go", "challenges/go"),
];

/// Echo requests per throughput run: fewer than the Rust-only figure, since the
/// interpreted runtimes are tens of times slower per message.
const MESSAGES: u64 = 20_000;

/// One language's figures.
pub struct Figures {
    pub language: &'static str,
    pub size_mb: f64,
    pub first_compile_s: f64,
    pub start_25_ms: f64,
    pub rss_mb: f64,
    pub echo_per_s: f64,
    /// Wall seconds of the 25-node 3d run, and whether it was valid.
    pub harness_3d: Option<(f64, bool)>,
}

/// Every language whose echo and broadcast components are built, in order; the
/// others are named with why they are missing.
pub fn measure(cluster: usize) -> Result<(Vec<Figures>, Vec<String>)> {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for (language, dir) in LANGUAGES {
        let echo = nodes::repo().join(dir).join("echo.wasm");
        let broadcast = nodes::repo().join(dir).join("broadcast.wasm");
        if !echo.is_file() || !broadcast.is_file() {
            missing.push(format!(
                "{language}: not built ({} missing; make {language})",
                rel(&echo)
            ));
            continue;
        }
        out.push(one(language, &echo, &broadcast, cluster)?);
    }
    Ok((out, missing))
}

fn one(language: &'static str, echo: &Path, broadcast: &Path, cluster: usize) -> Result<Figures> {
    let size = std::fs::metadata(echo)?.len() as f64 / 1e6;
    let cache = Scratch::new(&format!("lang-{language}"))?;
    let started = Instant::now();
    let ok = Command::new(nodes::host()?)
        .arg("compile")
        .arg(echo)
        .env("GLOMERS_CACHE_DIR", &*cache)
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(ok.success(), "host compile {} exited {ok}", rel(echo));
    let first_compile = started.elapsed().as_secs_f64();
    let start = startup::cluster(echo, cluster, &cache)?;
    let rss = memory::idle_rss(echo, &cache)? as f64 / 1e6;
    let input: Arc<[u8]> = throughput::echo_requests(MESSAGES).into();
    let node = Node::host_run(echo, &cache)?;
    let echo_per_s = throughput::run(node, input, MESSAGES)?;
    let harness_3d = match harness::broadcast_3d(broadcast, &cache)? {
        harness::Outcome::Ran { wall, valid, .. } => Some((wall.as_secs_f64(), valid)),
        harness::Outcome::NotAvailable(_) => None,
    };
    Ok(Figures {
        language,
        size_mb: size,
        first_compile_s: first_compile,
        start_25_ms: start.as_secs_f64() * 1000.0,
        rss_mb: rss,
        echo_per_s,
        harness_3d,
    })
}

fn rel(p: &Path) -> String {
    p.strip_prefix(nodes::repo())
        .map(PathBuf::from)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// The table's lines: a header and one row a language.
pub fn lines(figures: &[Figures]) -> Vec<String> {
    let mut v = vec![format!(
        "{:<8} {:>8} {:>14} {:>14} {:>9} {:>11} {:>14}",
        "language",
        "size",
        "first compile",
        "25 warm start",
        "idle RSS",
        "echo msg/s",
        "3d in harness"
    )];
    for f in figures {
        let h = match f.harness_3d {
            Some((s, true)) => format!("{s:.2} s"),
            Some((s, false)) => format!("{s:.2} s INVALID"),
            None => "-".into(),
        };
        v.push(format!(
            "{:<8} {:>6.1}MB {:>12.1} s {:>11.0} ms {:>7.1}MB {:>11} {:>14}",
            f.language,
            f.size_mb,
            f.first_compile_s,
            f.start_25_ms,
            f.rss_mb,
            crate::group(f.echo_per_s as u64),
            h
        ));
    }
    v
}
