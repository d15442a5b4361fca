//! `--bin`: nodes as processes, exactly as Maelstrom runs them. Each node is the
//! program with the node arguments, in the current directory, reading one JSON
//! message per line on stdin and writing its messages on stdout; its stderr goes to
//! its log file. The event loop runs on the real clock: a reader thread per node
//! turns its stdout into sends, and a writer thread per node feeds it deliveries so a
//! node that stops reading cannot stall the others.

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};

use crate::backend::{Backend, Output};
use crate::net::Message;

/// Messages read from the nodes and not yet taken by the event loop, at most.
const OUTPUT_QUEUE: usize = 4096;
/// The longest line a node may write; Maelstrom's messages are far shorter.
const MAX_LINE: usize = 64 << 20;
/// How much of a bad line a fault quotes.
const QUOTE: usize = 200;

pub struct Processes {
    children: Vec<Child>,
    stdins: Vec<Sender<String>>,
    lines: Receiver<Output>,
    start: Instant,
    names: Vec<String>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    dest: String,
    #[serde(borrow)]
    body: &'a RawValue,
}

impl Processes {
    pub fn start(
        program: &Path,
        args: &[String],
        names: &[String],
        logs: &Path,
    ) -> Result<Processes> {
        // Bounded: a node that floods stdout waits for the harness instead of filling
        // its memory.
        let (tx, lines) = mpsc::sync_channel(OUTPUT_QUEUE);
        let mut children = Vec::new();
        let mut stdins = Vec::new();
        for (node, name) in names.iter().enumerate() {
            let log_path = logs.join(format!("{name}.log"));
            let log = std::fs::File::create(&log_path)
                .with_context(|| format!("cannot create {}", log_path.display()))?;
            let mut child = Command::new(program)
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::from(log))
                .spawn()
                .with_context(|| format!("cannot start {} for node {name}", program.display()))?;
            let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                anyhow::bail!("node {name}: no pipes to the process");
            };
            let (in_tx, in_rx) = mpsc::channel::<String>();
            std::thread::Builder::new()
                .name(format!("{name} stdin"))
                .spawn(move || write_lines(stdin, in_rx))?;
            let out = tx.clone();
            std::thread::Builder::new()
                .name(format!("{name} stdout"))
                .spawn(move || read_lines(node, stdout, out))?;
            children.push(child);
            stdins.push(in_tx);
        }
        Ok(Processes {
            children,
            stdins,
            lines,
            start: Instant::now(),
            names: names.to_vec(),
        })
    }

    /// Every node closed its stdout: nothing can happen any more, and no test can
    /// be judged. Says how each process ended.
    fn all_gone(&mut self) -> anyhow::Error {
        let ends: Vec<String> = self
            .children
            .iter_mut()
            .zip(&self.names)
            .map(|(c, name)| {
                let status = match c.try_wait() {
                    Ok(Some(s)) => s.to_string(),
                    Ok(None) => "still running, its stdout closed".into(),
                    Err(e) => e.to_string(),
                };
                format!("{name} ({status})")
            })
            .collect();
        anyhow::anyhow!(
            "every node process exited or closed its stdout: {}; see their logs",
            ends.join(", ")
        )
    }

    fn elapsed(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
}

fn write_lines(stdin: std::process::ChildStdin, rx: Receiver<String>) {
    let mut w = std::io::BufWriter::new(stdin);
    while let Ok(line) = rx.recv() {
        if w.write_all(line.as_bytes()).is_err() {
            return;
        }
        // Batch what is already queued, then flush so nothing waits.
        while let Ok(more) = rx.try_recv() {
            if w.write_all(more.as_bytes()).is_err() {
                return;
            }
        }
        if w.flush().is_err() {
            return;
        }
    }
}

fn read_lines(node: usize, stdout: std::process::ChildStdout, tx: SyncSender<Output>) {
    let mut r = BufReader::new(stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        match read_line(&mut r, &mut line) {
            Ok(Line::Eof) | Err(_) => break,
            Ok(Line::TooLong) => {
                let what = format!("wrote a line longer than {} MiB on stdout", MAX_LINE >> 20);
                let _ = tx.send(Output::Fault { node, what });
                return drain(r);
            }
            Ok(Line::Complete) => {}
        }
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        let out = match serde_json::from_str::<Envelope>(&text) {
            Ok(env) if env.body.get().trim_start().starts_with('{') => Output::Send {
                node,
                dest: env.dest,
                body: env.body.get().to_string(),
            },
            _ => {
                // One report is enough: the test has failed, and what follows is
                // read and dropped so the process does not block on a full pipe.
                let what = format!(
                    "printed a line on stdout that is not a Maelstrom message (logs belong on stderr): {}",
                    quote(&text)
                );
                let _ = tx.send(Output::Fault { node, what });
                return drain(r);
            }
        };
        if tx.send(out).is_err() {
            return;
        }
    }
    let _ = tx.send(Output::Fault {
        node,
        what: "closed its stdout (did the process exit?)".into(),
    });
}

enum Line {
    Complete,
    TooLong,
    Eof,
}

/// Reads one line (without its newline) of at most MAX_LINE bytes.
fn read_line(r: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Line> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(if line.is_empty() {
                Line::Eof
            } else {
                Line::Complete
            });
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        if line.len() + chunk.len() > MAX_LINE {
            return Ok(Line::TooLong);
        }
        line.extend_from_slice(chunk);
        let used = done.unwrap_or(buf.len());
        r.consume(used);
        if done.is_some() {
            return Ok(Line::Complete);
        }
    }
}

/// Reads and drops everything else the node writes.
fn drain(mut r: impl std::io::Read) {
    let _ = std::io::copy(&mut r, &mut std::io::sink());
}

/// The start of `text`, cut at a character boundary.
fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE) {
        Some((i, _)) => format!("{}... ({} bytes in all)", &text[..i], text.len()),
        None => text.to_string(),
    }
}

impl Backend for Processes {
    fn deliver(
        &mut self,
        node: usize,
        msg: &Message,
        src: &str,
        _now: u64,
        _out: &mut Vec<Output>,
    ) -> Result<()> {
        let line = format!(
            "{{\"id\":{},\"src\":{},\"dest\":{},\"body\":{}}}\n",
            msg.id,
            serde_json::to_string(src)?,
            serde_json::to_string(&self.names[node])?,
            msg.body
        );
        // A node whose writer is gone has exited; shutdown reports it.
        let _ = self.stdins[node].send(line);
        Ok(())
    }

    fn fire(&mut self, _: usize, _: u64, _: u64, _: &mut Vec<Output>) -> Result<()> {
        Ok(())
    }

    fn wait(&mut self, until: Option<u64>, out: &mut Vec<Output>) -> Result<Option<u64>> {
        let now = self.elapsed();
        // Something always comes due (client timeouts at the latest); poll regardless.
        let wait = until.map(|u| u.saturating_sub(now)).unwrap_or(100_000_000);
        let mut reached = wait == 0;
        if wait > 0 {
            match self.lines.recv_timeout(Duration::from_nanos(wait)) {
                Ok(o) => out.push(o),
                Err(RecvTimeoutError::Timeout) => reached = true,
                Err(RecvTimeoutError::Disconnected) => return Err(self.all_gone()),
            }
        }
        // At most a queue's worth: a flooding node must not keep the loop here.
        for _ in 0..OUTPUT_QUEUE {
            match self.lines.try_recv() {
                Ok(o) => out.push(o),
                Err(_) => break,
            }
        }
        let now = self.elapsed();
        // Waking a hair early must not leave the due event waiting for another round.
        Ok(Some(match until {
            Some(u) if reached => now.max(u),
            _ => now,
        }))
    }

    fn real_time(&self) -> bool {
        true
    }

    fn shutdown(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, child) in self.children.iter_mut().enumerate() {
            match child.try_wait() {
                Ok(Some(status)) => problems.push(format!(
                    "{} exited early with {status}; see its log",
                    self.names[i]
                )),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        problems
    }
}

/// A run that ends in an error must not leave node processes behind.
impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.children {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
