//! The report of challenge 3d's run (25 nodes, thousands of messages): its size,
//! how long the harness took to write it, and how long a browser takes to draw it
//! (headless Chromium, when installed; the page times itself under `#selftest`).

use anyhow::{anyhow, Context as _, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Figures {
    /// report.html's size in bytes.
    pub bytes: u64,
    /// Messages in the run's journal.
    pub messages: usize,
    /// What the harness took to write the page, ms (the page's footer says).
    pub written_ms: f64,
    /// What the page took to draw in Chromium, ms; `None` without Chromium.
    pub render_ms: Option<f64>,
}

/// The report of the newest run in `store`.
pub fn measure(store: &Path) -> Result<Figures> {
    let dir = std::fs::canonicalize(store.join("latest"))
        .with_context(|| format!("no run in {}", store.display()))?;
    let report = dir.join("report.html");
    let html = std::fs::read_to_string(&report)
        .with_context(|| format!("cannot read {}", report.display()))?;
    let written_ms = between(&html, "<span id=\"gen\">", "</span>")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("the report does not say how long it took to write"))?;
    let messages = std::fs::read_to_string(dir.join("messages.jsonl"))?
        .lines()
        .count();
    Ok(Figures {
        bytes: html.len() as u64,
        messages,
        written_ms,
        render_ms: chromium().map(|c| render(&c, &report)).transpose()?,
    })
}

fn between<'a>(s: &'a str, from: &str, to: &str) -> Option<&'a str> {
    let i = s.find(from)? + from.len();
    let j = s[i..].find(to)?;
    Some(&s[i..i + j])
}

fn chromium() -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|n| {
            std::env::split_paths(&paths)
                .map(|d| d.join(n))
                .find(|p| p.is_file())
        })
}

/// The page's own render time, from its self-test.
fn render(chromium: &Path, report: &Path) -> Result<f64> {
    let profile =
        std::env::temp_dir().join(format!("glomers-bench-chromium-{}", std::process::id()));
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,2000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}#selftest", report.display()))
        .stderr(Stdio::null())
        .output()?;
    let _ = std::fs::remove_dir_all(&profile);
    let dom = String::from_utf8_lossy(&out.stdout);
    let text = between(&dom, "<pre id=\"selftest\" hidden=\"\">", "</pre>")
        .ok_or_else(|| anyhow!("Chromium did not run the page's self-test"))?;
    let t: serde_json::Value = serde_json::from_str(text)?;
    if t["errors"].as_array().is_some_and(|e| !e.is_empty()) {
        return Err(anyhow!("script errors in the report: {}", t["errors"]));
    }
    t["renderMs"]
        .as_f64()
        .ok_or_else(|| anyhow!("no render time in the self-test"))
}
