//! The efficiency frontier: servers messages per operation (and stable latency) of the
//! graded 3d, 3e and 5c settings, each through `host test` on one seed, beside our
//! bars (`ours` in challenges/challenges.toml, the one home of the settings) and the
//! best published Gossip Glomers figure for the same challenge.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::process::{Command, Stdio};

use crate::nodes::{challenge, host, repo, Scratch};

/// A graded setting and the best published figure for it.
pub struct Case {
    pub grade: &'static str,
    /// The published best, as written: "11.8 @ 175/212 ms (per-message tree)".
    pub published: &'static str,
}

pub const CASES: &[Case] = &[
    Case {
        grade: "broadcast-d",
        published: "11.8 @ 175/212 (tree)",
    },
    Case {
        grade: "broadcast-e",
        published: "1.92 @ 764/1087",
    },
    Case {
        grade: "kafka-c",
        published: "1.39 (owner routing)",
    },
];

pub struct Figures {
    pub valid: bool,
    pub msgs_per_op: f64,
    /// Stable latency median and max, for workloads that have it.
    pub latency: Option<(f64, f64)>,
    /// Our bars: msgs-per-op, median-ms, max-ms (those set).
    pub bars: Option<(f64, Option<f64>, Option<f64>)>,
    /// The guest arguments used.
    pub args: String,
}

fn number(v: &toml::Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

/// Runs the graded setting `grade` on seed 1; None when its component is not built.
pub fn run(case: &Case, scratch: &Scratch) -> Result<Option<Figures>> {
    let spec: toml::Table = std::fs::read_to_string(repo().join("challenges/challenges.toml"))?
        .parse()
        .context("challenges.toml")?;
    let g = spec["grade"]
        .get(case.grade)
        .and_then(toml::Value::as_table)
        .with_context(|| format!("no [grade.{}] in challenges.toml", case.grade))?;
    let component = g["component"].as_str().context("component")?;
    let Some(wasm) = challenge(component) else {
        return Ok(None);
    };
    let options = g["options"].as_str().context("options")?;
    let args = g.get("args").and_then(toml::Value::as_str).unwrap_or("");
    let json = scratch.join(format!("{}.json", case.grade));
    let out = Command::new(host()?)
        .arg("test")
        .args(options.split_whitespace())
        .args(["--seed", "1", "--json"])
        .arg(&json)
        .arg(&wasm)
        .arg("--")
        .args(args.split_whitespace())
        .env("GLOMERS_CACHE_DIR", scratch.join("cache"))
        .current_dir(&**scratch)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()?;
    if !json.is_file() {
        bail!(
            "`host test` for {} exited {}: {}",
            case.grade,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let r: Value = serde_json::from_slice(&std::fs::read(&json)?)?;
    let lat = &r["workload"]["stable-latencies"];
    let bars = g.get("ours").and_then(toml::Value::as_table).and_then(|o| {
        Some((
            number(o.get("msgs-per-op")?)?,
            o.get("median-ms").and_then(number),
            o.get("max-ms").and_then(number),
        ))
    });
    Ok(Some(Figures {
        valid: r["valid"] == Value::Bool(true),
        msgs_per_op: r["net"]["servers"]["msgs-per-op"]
            .as_f64()
            .unwrap_or(f64::NAN),
        latency: lat["0.5"].as_f64().zip(lat["1"].as_f64()),
        bars,
        args: args.to_string(),
    }))
}
