//! How fast the built-in harness (`host test`) simulates: simulated seconds per wall
//! second on challenge 3d's workload. `host test` is built separately; until it runs,
//! this says why and the rest of the bench carries on.

use anyhow::Result;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::nodes::host;

/// The workload's time limit; the harness also simulates a quiet period after it,
/// and says how long it simulated in all, which is the figure used when it does.
pub const TIME_LIMIT_SECS: u64 = 20;
/// Past this the run is abandoned; a 20 s simulation should take far less.
const GIVE_UP: Duration = Duration::from_secs(600);

pub enum Outcome {
    /// It ran: simulated seconds, how long it took, and whether the run was valid.
    Ran {
        simulated_secs: f64,
        wall: Duration,
        valid: bool,
    },
    NotAvailable(String),
}

pub fn broadcast_3d(wasm: &Path, cache: &Path) -> Result<Outcome> {
    let limit = TIME_LIMIT_SECS.to_string();
    // Compiled ahead, so the figure is the simulation's speed, not the compiler's.
    let compiled = Command::new(host()?)
        .arg("compile")
        .arg(wasm)
        .env("GLOMERS_CACHE_DIR", cache)
        .stdout(Stdio::null())
        .status()?;
    if !compiled.success() {
        return Ok(Outcome::NotAvailable(format!(
            "`host compile` exited {compiled}"
        )));
    }
    let start = Instant::now();
    let mut child = Command::new(host()?)
        .args([
            "test",
            "-w",
            "broadcast",
            "--node-count",
            "25",
            "--time-limit",
        ])
        .arg(&limit)
        .args(["--rate", "100", "--latency", "100"])
        .arg(wasm)
        .args(["--seed", "1"])
        .env("GLOMERS_CACHE_DIR", cache)
        // The harness writes its logs under the working directory (store/, as
        // Maelstrom does): keep them out of the repository.
        .current_dir(cache)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > GIVE_UP {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Outcome::NotAvailable(format!(
                "no result within {} s",
                GIVE_UP.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall = start.elapsed();
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    // A run that completed prints its results, valid (exit 0) or not; a host that
    // refuses (an unknown option, not built yet) prints only an error on stderr.
    let simulated_secs = simulated(&stdout).unwrap_or(TIME_LIMIT_SECS as f64);
    match (status.success(), stdout.trim().is_empty()) {
        (true, _) => Ok(Outcome::Ran {
            simulated_secs,
            wall,
            valid: true,
        }),
        (false, false) => Ok(Outcome::Ran {
            simulated_secs,
            wall,
            valid: false,
        }),
        (false, true) => {
            let why = stderr
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("no message")
                .to_string();
            Ok(Outcome::NotAvailable(format!(
                "`host test` exited {status}: {why}"
            )))
        }
    }
}

/// Reads a pipe to the end on a thread, so a chatty child never blocks on it.
fn drain(pipe: Option<impl std::io::Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_string(&mut s);
        }
        s
    })
}

/// The simulated time from the summary's "time  30.0 s simulated in ..." line.
fn simulated(stdout: &str) -> Option<f64> {
    let line = stdout.lines().find(|l| l.contains(" s simulated"))?;
    let before = &line[..line.find(" s simulated")?];
    before.split_whitespace().last()?.parse().ok()
}
