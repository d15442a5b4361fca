//! The report a person looks at after a run: `report.html` in the run's directory,
//! one self-contained page (inline CSS, script and SVG; nothing from the network)
//! with the verdict and its reasons, Maelstrom's figures, plots against time and a
//! Lamport diagram of the messages; beside it `messages.jsonl` (the journal) and
//! `results.json` (the whole result) for tools; and the store's index, which lists
//! every run.
//!
//! [`data`] computes what the page shows (tested here); [`page`] puts it into HTML;
//! the drawing is `report.js`, by hand, so the page needs nothing installed;
//! [`index`] is the store's page of every run.

pub mod data;
pub mod index;
pub mod page;

use anyhow::{Context as _, Result};
use std::path::Path;

use crate::config::Config;
use crate::journal::Journal;
use crate::outcome::Outcome;

/// The report's file name in a run's directory.
pub const REPORT: &str = "report.html";
/// The whole result's file name in a run's directory (what `--json` writes).
pub const RESULTS: &str = "results.json";
/// The journal's file name in a run's directory.
pub const MESSAGES: &str = "messages.jsonl";

/// Writes the journal, the report and the run's line of the store index, and
/// rewrites the index of the store at `root`.
pub fn write_all(o: &Outcome, journal: &Journal, cfg: &Config, root: &Path) -> Result<()> {
    let dir = &o.wall.logs;
    journal.write_jsonl(&cfg.nodes, &dir.join(MESSAGES))?;
    // The whole result, as `--json` writes it, so the directory holds all of it.
    let results = dir.join(RESULTS);
    std::fs::write(&results, serde_json::to_string_pretty(&o.to_json())? + "\n")
        .with_context(|| format!("cannot write {}", results.display()))?;
    let started = std::time::Instant::now();
    let html = page::render(o, journal, &cfg.nodes, started);
    let path = dir.join(REPORT);
    std::fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))?;
    index::write_entry(dir, &index::Entry::of(o))?;
    index::write_index(root)
}
