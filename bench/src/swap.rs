//! What a live swap costs a node under load: `host run broadcast.wasm` answering a
//! steady stream of reads while its file is replaced by a rebuild (the same code under
//! another content hash). Figures: the pause the host reports for the switch itself,
//! the longest any request waited around the swap (what a client feels), and the time
//! from the file's replacement until the new version handles events, with the new
//! version's compile cache warm (`host compile` beforehand) and cold.

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One request every this long.
const PERIOD: Duration = Duration::from_millis(1);
/// How long the stream runs after the swap, so late replies are counted.
const AFTER: Duration = Duration::from_millis(300);

pub struct Figures {
    /// The switch, as the host measured it (snapshot, instantiate, restore).
    pub pause: Duration,
    /// The longest a request waited for its reply while the swap was under way.
    pub worst_wait: Duration,
    /// The longest wait in the same stream before the file was replaced.
    pub baseline_wait: Duration,
    /// From the file's replacement until the new version handled events.
    pub to_new_version: Duration,
}

/// `bytes` with a custom section appended: a rebuild that changed nothing.
fn rebuilt(bytes: &[u8]) -> Vec<u8> {
    let mut body = vec![12u8];
    body.extend_from_slice(b"glomers-benchv2");
    let mut out = bytes.to_vec();
    out.push(0);
    out.push(body.len() as u8);
    out.extend_from_slice(&body);
    out
}

/// One swap of `wasm` under load; `warm` compiles the new version into the cache first.
pub fn measure(wasm: &Path, dir: &Path, warm: bool) -> Result<Figures> {
    let path = dir.join("node.wasm");
    let cache = dir.join(if warm { "cache-warm" } else { "cache-cold" });
    let v1 = std::fs::read(wasm)?;
    let v2 = rebuilt(&v1);
    std::fs::write(&path, &v1)?;
    let host = crate::nodes::host()?;
    if warm {
        let next = dir.join("next.wasm");
        std::fs::write(&next, &v2)?;
        let ok = Command::new(&host)
            .arg("compile")
            .arg(&next)
            .env("GLOMERS_CACHE_DIR", &cache)
            .stdout(Stdio::null())
            .status()?
            .success();
        if !ok {
            bail!("host compile failed");
        }
    }
    let mut child = Command::new(&host)
        .arg("run")
        .arg(&path)
        .env("GLOMERS_CACHE_DIR", &cache)
        .env_remove("GLOMERS_LIVE_SWAP")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().context("no stdin")?;
    let stdout = BufReader::new(child.stdout.take().context("no stdout")?);
    let stderr = BufReader::new(child.stderr.take().context("no stderr")?);
    let (swap_tx, swap_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if line.contains("live swap") {
                let _ = swap_tx.send((Instant::now(), line));
            }
        }
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let at = Instant::now();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if let Some(id) = v["body"]["in_reply_to"].as_u64() {
                let _ = reply_tx.send((id, at));
            }
        }
    });
    let init = serde_json::json!({"src": "c0", "dest": "n1", "body":
        {"type": "init", "msg_id": 0, "node_id": "n1", "node_ids": ["n1"]}});
    writeln!(stdin, "{init}")?;
    stdin.flush()?;
    reply_rx.recv_timeout(Duration::from_secs(30))?;
    let mut sent: HashMap<u64, Instant> = HashMap::new();
    let mut id = 0u64;
    fn send(
        stdin: &mut std::process::ChildStdin,
        sent: &mut HashMap<u64, Instant>,
        id: &mut u64,
    ) -> std::io::Result<()> {
        *id += 1;
        let line = format!(r#"{{"src":"c1","dest":"n1","body":{{"type":"read","msg_id":{id}}}}}"#);
        sent.insert(*id, Instant::now());
        writeln!(stdin, "{line}").and_then(|_| stdin.flush())
    }
    // A baseline stream, then the replacement, then the stream until after the swap.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(300) {
        send(&mut stdin, &mut sent, &mut id)?;
        std::thread::sleep(PERIOD);
    }
    let baseline_ids = id;
    let tmp = dir.join("node.wasm.tmp");
    std::fs::write(&tmp, &v2)?;
    let replaced = Instant::now();
    std::fs::rename(&tmp, &path)?;
    let (swapped_at, line) = loop {
        send(&mut stdin, &mut sent, &mut id)?;
        std::thread::sleep(PERIOD);
        if let Ok(s) = swap_rx.try_recv() {
            break s;
        }
        if replaced.elapsed() > Duration::from_secs(60) {
            bail!("no swap within 60 s");
        }
    };
    if !line.contains("swapped") {
        bail!("the swap failed: {line}");
    }
    let after = Instant::now();
    while after.elapsed() < AFTER {
        send(&mut stdin, &mut sent, &mut id)?;
        std::thread::sleep(PERIOD);
    }
    drop(stdin);
    let mut waits = HashMap::new();
    while waits.len() < sent.len() {
        let (id, at) = reply_rx.recv_timeout(Duration::from_secs(30))?;
        if let Some(t) = sent.get(&id) {
            waits.insert(id, at.duration_since(*t));
        }
    }
    child.wait()?;
    let worst = |ids: &mut dyn Iterator<Item = u64>| {
        ids.filter_map(|i| waits.get(&i).copied())
            .max()
            .unwrap_or_default()
    };
    let pause_ms: f64 = line
        .split("paused ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .context("no pause in the swap line")?;
    Ok(Figures {
        pause: Duration::from_secs_f64(pause_ms / 1e3),
        worst_wait: worst(&mut (baseline_ids + 1..=id)),
        baseline_wait: worst(&mut (1..=baseline_ids)),
        // The swap line is written right after the switch; the next event in the
        // queue is the new version's.
        to_new_version: swapped_at.duration_since(replaced),
    })
}
