//! Our own `history.jsonl` (written by [`crate::history::write_jsonl`]), read back one
//! line at a time: the same entries, the same links from completion to invocation.

use serde_json::Value;
use std::io::BufRead;

use super::{function, Ops, RawOp, ReadError};
use crate::history::Kind;

/// Reads every line of `reader` into `ops`.
pub fn read(reader: impl BufRead, ops: &mut Ops) -> Result<(), ReadError> {
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| ReadError::Malformed {
            line: n + 1,
            why: e.to_string(),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: String| ReadError::Malformed { line: n + 1, why };
        let v: Value = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        let kind = v["type"]
            .as_str()
            .and_then(Kind::from_name)
            .ok_or_else(|| {
                bad(format!(
                    "\"type\" is not invoke, ok, fail or info: {}",
                    v["type"]
                ))
            })?;
        let Some(f) = v["f"].as_str().and_then(function) else {
            ops.skipped += 1;
            continue;
        };
        let process = v["process"]
            .as_u64()
            .ok_or_else(|| bad("\"process\" must be a whole number".into()))?;
        let secs = v["time"].as_f64().unwrap_or(0.0).max(0.0);
        let index = |k: &str| v[k].as_u64().and_then(|i| usize::try_from(i).ok());
        ops.push(RawOp {
            kind,
            process,
            node: v["node"].as_str().map(str::to_string),
            f,
            value: v["value"].clone(),
            time: (secs * 1e9).round() as u64,
            error: Some(v["error"].clone()).filter(|e| !e.is_null()),
            is_final: v["final"].as_bool().unwrap_or(false),
            invoke: index("invoke"),
            index: index("index"),
        });
    }
    Ok(())
}
