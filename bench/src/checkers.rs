//! How fast the harness judges big histories: Maelstrom's own analyses of these
//! take minutes to hours (jepsen-io/maelstrom#51), so each should be a few seconds
//! here. Each run is `host test` on a correct fixture node, timed whole (simulation,
//! checker and report together, so the checker's own share is at most the figure):
//! the harness does not time its checker apart.

use anyhow::{Context as _, Result};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::nodes::{host, repo};

/// One benchmark: what it is, the workload's options, the fixture node.
pub struct Case {
    pub name: &'static str,
    pub options: &'static [&'static str],
    pub fixture: &'static str,
}

pub const CASES: &[Case] = &[
    Case {
        name: "lin-kv: 10 clients, rate 500, 60 s",
        options: &[
            "-w",
            "lin-kv",
            "--node-count",
            "5",
            "--concurrency",
            "10",
            "--rate",
            "500",
            "--time-limit",
            "60",
        ],
        fixture: "kv_proxy",
    },
    Case {
        name: "txn-list-append: 20,000 txns",
        options: &[
            "-w",
            "txn-list-append",
            "--node-count",
            "1",
            "--concurrency",
            "10",
            "--rate",
            "1000",
            "--time-limit",
            "20",
        ],
        fixture: "list_append",
    },
    Case {
        name: "kafka: 100,000 operations",
        options: &[
            "-w",
            "kafka",
            "--node-count",
            "1",
            "--concurrency",
            "10",
            "--rate",
            "2000",
            "--time-limit",
            "50",
        ],
        fixture: "kafka_broken",
    },
];

/// What one run gave: its verdict, the operations judged, and the time taken.
pub struct Timing {
    pub valid: String,
    pub ops: u64,
    pub wall: Duration,
}

pub fn run(case: &Case, scratch: &Path) -> Result<Option<Timing>> {
    let wasm = repo().join(format!("target/wasm32-wasip2/guest/{}.wasm", case.fixture));
    if !wasm.is_file() {
        return Ok(None);
    }
    let json = scratch.join(format!("{}.json", case.fixture));
    let start = Instant::now();
    let out = Command::new(host()?)
        .arg("test")
        .args(case.options)
        .args(["--seed", "1", "--json"])
        .arg(&json)
        .arg(&wasm)
        .env("GLOMERS_CACHE_DIR", scratch)
        .current_dir(scratch)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()?;
    let wall = start.elapsed();
    let text = std::fs::read_to_string(&json).with_context(|| {
        format!(
            "host test wrote no result ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
        )
    })?;
    let r: Value = serde_json::from_str(&text)?;
    Ok(Some(Timing {
        valid: match &r["valid"] {
            Value::Bool(true) => "valid".into(),
            Value::Bool(false) => "INVALID".into(),
            other => other.to_string().trim_matches('"').to_string(),
        },
        ops: r["stats"]["count"].as_u64().unwrap_or(0),
        wall,
    }))
}
