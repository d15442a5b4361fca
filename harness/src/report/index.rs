//! The store's index: STORE/index.html lists every run, newest first, from the
//! `run.json` each run leaves beside its report (so the index is rebuilt from the
//! directories themselves, and a deleted run simply disappears from it).

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

use super::page::esc;
use crate::outcome::Outcome;
use crate::store::{now, when};

/// A run's line in the store's index: `run.json` in its directory.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Entry {
    /// When the run ended, seconds since 1970.
    pub finished: u64,
    pub workload: String,
    /// The options, as on the command line (after the workload).
    pub options: String,
    pub seed: u64,
    /// `valid`, `invalid` or `unknown`.
    pub valid: String,
    /// The node: a .wasm path, `--bin PROGRAM`, or a Rust caller's name for it.
    pub node: String,
    /// Completed operations, and the share that succeeded.
    pub ops: u64,
    pub ok_fraction: f64,
    /// Messages between servers per operation, as Maelstrom's figure.
    pub servers_msgs_per_op: Option<f64>,
    /// Median and maximum latency of ok operations, ms.
    pub latency_median_ms: Option<f64>,
    pub latency_max_ms: Option<f64>,
    /// The first reason the run is not valid.
    pub first_problem: Option<String>,
}

impl Entry {
    pub fn of(o: &Outcome) -> Entry {
        let marker = format!("-w {} ", o.about.workload);
        let options = match o.command.split_once(&marker) {
            Some((_, rest)) => rest,
            None => o.command.as_str(),
        };
        // The seed and the node have columns of their own.
        let seed = format!("--seed {}", o.seed);
        let options = options
            .replace(&seed, "")
            .replace(&o.about.node, "")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Entry {
            finished: now(),
            workload: o.about.workload.clone(),
            options,
            seed: o.seed,
            valid: o.valid.to_string(),
            node: o.about.node.clone(),
            ops: o.history.completions().count() as u64,
            ok_fraction: o.availability.ok_fraction,
            servers_msgs_per_op: o.net.servers.msgs_per_op,
            latency_median_ms: o.latency.as_ref().map(|l| l.median_ms),
            latency_max_ms: o.latency.as_ref().map(|l| l.max_ms),
            first_problem: o.problems.first().map(|p| p.text.clone()),
        }
    }
}

/// The index entry's file name in a run's directory.
pub const ENTRY: &str = "run.json";

/// Leaves `entry` in the run's directory, for the index.
pub fn write_entry(run: &Path, entry: &Entry) -> Result<()> {
    let path = run.join(ENTRY);
    let text = serde_json::to_string_pretty(entry)?;
    std::fs::write(&path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}

/// Every run under `root` (STORE/<workload>/<run>/run.json), newest first, with its
/// directory relative to `root`.
pub fn runs(root: &Path) -> Vec<(String, Entry)> {
    let mut out = Vec::new();
    let Ok(workloads) = std::fs::read_dir(root) else {
        return out;
    };
    for w in workloads.flatten() {
        // STORE/latest is a link to a run, not a workload.
        if w.file_type().map(|t| !t.is_dir()).unwrap_or(true) {
            continue;
        }
        let Ok(runs) = std::fs::read_dir(w.path()) else {
            continue;
        };
        for r in runs.flatten() {
            let Ok(text) = std::fs::read_to_string(r.path().join(ENTRY)) else {
                continue;
            };
            let Ok(entry) = serde_json::from_str::<Entry>(&text) else {
                continue;
            };
            let rel = format!(
                "{}/{}",
                w.file_name().to_string_lossy(),
                r.file_name().to_string_lossy()
            );
            out.push((rel, entry));
        }
    }
    // Newest first; runs of the same second by name, which holds the time too.
    out.sort_by(|a, b| b.1.finished.cmp(&a.1.finished).then(b.0.cmp(&a.0)));
    out
}

/// Rewrites STORE/index.html: every run, newest first.
pub fn write_index(root: &Path) -> Result<()> {
    let path = root.join("index.html");
    std::fs::write(&path, index_html(&runs(root)))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The index page.
pub fn index_html(runs: &[(String, Entry)]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>glomers runs</title><style>\
         body{{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2937}}\
         table{{border-collapse:collapse}}td,th{{padding:4px 10px;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}}\
         th{{background:#f3f4f6}}td.n{{text-align:right;font-variant-numeric:tabular-nums}}\
         .v{{font-weight:600;border-radius:4px;padding:1px 6px;color:#fff}}.valid{{background:#16a34a}}.invalid{{background:#dc2626}}.unknown{{background:#d97706}}\
         code{{font-size:12px;color:#4b5563}}.why{{color:#991b1b;font-size:12px;max-width:40em}}\
         </style></head><body><h1>glomers runs <small>({} in this store, newest first)</small></h1>\
         <table><tr><th>finished</th><th>workload</th><th>verdict</th><th>ops</th><th>ok</th><th>msgs/op<br>(servers)</th>\
         <th>latency ms<br>median / max</th><th>seed</th><th>options and node</th></tr>\n",
        runs.len()
    );
    let opt =
        |v: Option<f64>, digits: usize| v.map_or("–".to_string(), |x| format!("{x:.digits$}"));
    for (dir, e) in runs {
        let _ = writeln!(
            h,
            "<tr><td><a href=\"{dir}/report.html\">{}</a></td><td>{}</td><td><span class=\"v {}\">{}</span>{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{:.1}%</td><td class=\"n\">{}</td><td class=\"n\">{} / {}</td>\
             <td class=\"n\">{}</td><td><code>{}</code><br><code>{}</code></td></tr>",
            esc(&when(e.finished)),
            esc(&e.workload),
            esc(&e.valid),
            esc(&e.valid),
            e.first_problem
                .as_ref()
                .map_or(String::new(), |p| format!("<div class=\"why\">{}</div>", esc(p))),
            e.ops,
            100.0 * e.ok_fraction,
            opt(e.servers_msgs_per_op, 2),
            opt(e.latency_median_ms, 0),
            opt(e.latency_max_ms, 0),
            e.seed,
            esc(&e.options),
            esc(&e.node),
        );
    }
    h.push_str("</table></body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::new_run;

    fn entry(finished: u64, valid: &str) -> Entry {
        Entry {
            finished,
            workload: "echo".into(),
            options: "--node-count 1 --seed 3".into(),
            seed: 3,
            valid: valid.into(),
            node: "echo.wasm".into(),
            ops: 10,
            ok_fraction: 1.0,
            servers_msgs_per_op: None,
            latency_median_ms: Some(0.0),
            latency_max_ms: Some(1.0),
            first_problem: (valid != "valid").then(|| "value <3> was lost".into()),
        }
    }

    #[test]
    fn the_index_lists_every_run_newest_first() {
        let root = std::env::temp_dir().join(format!("store-index-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let old = new_run(&root, "echo", 3).unwrap();
        write_entry(&old, &entry(100, "valid")).unwrap();
        let new = new_run(&root, "echo", 3).unwrap();
        write_entry(&new, &entry(200, "invalid")).unwrap();
        // A run that never finished has no entry and is left out.
        new_run(&root, "broadcast", 1).unwrap();
        write_index(&root).unwrap();
        let listed = runs(&root);
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].1.finished, 200);
        assert!(new.ends_with(&listed[0].0));
        let html = std::fs::read_to_string(root.join("index.html")).unwrap();
        let (first, second) = (
            html.find("v invalid").unwrap(),
            html.find("v valid").unwrap(),
        );
        assert!(first < second, "newest first");
        assert!(html.contains("value &lt;3&gt; was lost"));
        assert!(html.contains(&format!("{}/report.html", listed[1].0)));
        let _ = std::fs::remove_dir_all(&root);
    }
}
