//! `--bin`: nodes as processes, exactly as Maelstrom runs them. Each node is the
//! program with the node arguments, in the current directory, reading one JSON
//! message per line on stdin and writing its messages on stdout; its stderr goes to
//! its log file. The event loop runs on the real clock: a reader thread per node
//! turns its stdout into sends, and a writer thread per node feeds it deliveries so a
//! node that stops reading cannot stall the others. The nemesis kills a node's
//! process (SIGKILL) and starts a new one, or stops it (SIGSTOP) and lets it go on
//! (SIGCONT).

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};

use crate::backend::{init_line, log_line, Backend, Output};
use crate::net::Message;
use crate::node::Effect;

/// Messages read from the nodes and not yet taken by the event loop, at most.
const OUTPUT_QUEUE: usize = 4096;
/// The longest line a node may write; Maelstrom's messages are far shorter.
const MAX_LINE: usize = 64 << 20;
/// How much of a bad line a fault quotes.
const QUOTE: usize = 200;

pub struct Processes {
    program: PathBuf,
    args: Vec<String>,
    logs: Vec<PathBuf>,
    /// `None` while killed.
    children: Vec<Option<Child>>,
    stdins: Vec<Sender<String>>,
    /// Each node's incarnation: what an older one's reader thread still reports (its
    /// last lines, the end of its stdout) belongs to a process killed on purpose.
    generation: Vec<u64>,
    /// Whether the current incarnation's stdout has ended.
    ended: Vec<bool>,
    tx: SyncSender<Report>,
    lines: Receiver<Report>,
    start: Instant,
    names: Vec<String>,
}

/// What a reader thread tells the event loop, for one incarnation of a node.
struct Report {
    node: usize,
    generation: u64,
    /// `None`: the reader is done, the node's stdout ended.
    output: Option<Output>,
}

/// A reader thread's end of the channel: tags what it sends with the incarnation,
/// and says when the reader is done, however it ends.
struct Reporter {
    node: usize,
    generation: u64,
    tx: SyncSender<Report>,
}

impl Reporter {
    fn send(&self, output: Output) -> Result<(), ()> {
        self.tx
            .send(Report {
                node: self.node,
                generation: self.generation,
                output: Some(output),
            })
            .map_err(|_| ())
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        let _ = self.tx.send(Report {
            node: self.node,
            generation: self.generation,
            output: None,
        });
    }
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
        let mut p = Processes {
            program: program.to_path_buf(),
            args: args.to_vec(),
            logs: names
                .iter()
                .map(|name| logs.join(format!("{name}.log")))
                .collect(),
            children: Vec::new(),
            stdins: Vec::new(),
            generation: vec![0; names.len()],
            ended: vec![false; names.len()],
            tx,
            lines,
            start: Instant::now(),
            names: names.to_vec(),
        };
        for node in 0..names.len() {
            // Appending (the run's directory is new): the harness's own lines go in
            // between the node's without overwriting them.
            log_line(&p.logs[node], 0, "the node's process starts");
            let log = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&p.logs[node])
                .with_context(|| format!("cannot create {}", p.logs[node].display()))?;
            let (child, stdin) = p.spawn(node, log)?;
            p.children.push(Some(child));
            p.stdins.push(stdin);
        }
        p.start = Instant::now();
        Ok(p)
    }

    /// Starts node `node`'s process with its stderr going to `log`, and its threads.
    fn spawn(&self, node: usize, log: std::fs::File) -> Result<(Child, Sender<String>)> {
        let name = &self.names[node];
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("cannot start {} for node {name}", self.program.display()))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            anyhow::bail!("node {name}: no pipes to the process");
        };
        let (in_tx, in_rx) = mpsc::channel::<String>();
        std::thread::Builder::new()
            .name(format!("{name} stdin"))
            .spawn(move || write_lines(stdin, in_rx))?;
        let out = Reporter {
            node,
            generation: self.generation[node],
            tx: self.tx.clone(),
        };
        std::thread::Builder::new()
            .name(format!("{name} stdout"))
            .spawn(move || read_lines(node, stdout, out))?;
        Ok((child, in_tx))
    }

    /// Sends `signal` to node `node`'s process, if it runs.
    fn signal(&self, node: usize, signal: Signal) -> Result<()> {
        let Some(child) = &self.children[node] else {
            return Ok(());
        };
        send_signal(child.id(), signal)
            .with_context(|| format!("cannot {signal:?} node {}", self.names[node]))
    }

    /// Takes a reader's report: what a killed incarnation said is dropped.
    fn take(&mut self, r: Report, out: &mut Vec<Output>) {
        if r.generation != self.generation[r.node] {
            return;
        }
        match r.output {
            Some(o) => out.push(o),
            None => self.ended[r.node] = true,
        }
    }

    /// Every node closed its stdout: nothing can happen any more, and no test can
    /// be judged. Says how each process ended.
    fn all_gone(&mut self) -> anyhow::Error {
        let ends: Vec<String> = self
            .children
            .iter_mut()
            .zip(&self.names)
            .map(|(c, name)| {
                let status = match c.as_mut().map(Child::try_wait) {
                    Some(Ok(Some(s))) => s.to_string(),
                    Some(Ok(None)) => "still running, its stdout closed".into(),
                    Some(Err(e)) => e.to_string(),
                    None => "killed by the nemesis".into(),
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

#[derive(Clone, Copy, Debug)]
enum Signal {
    Stop,
    Cont,
}

#[cfg(unix)]
fn send_signal(pid: u32, signal: Signal) -> Result<()> {
    let sig = match signal {
        Signal::Stop => libc::SIGSTOP,
        Signal::Cont => libc::SIGCONT,
    };
    let pid = libc::pid_t::try_from(pid).context("process id out of range")?;
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; the pid is
    // our own child's, not yet reaped (we hold its Child).
    if unsafe { libc::kill(pid, sig) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(())
}

#[cfg(not(unix))]
fn send_signal(_: u32, _: Signal) -> Result<()> {
    anyhow::bail!("pausing a process needs SIGSTOP, which only Unix has")
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

fn read_lines(node: usize, stdout: std::process::ChildStdout, tx: Reporter) {
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
            Ok(env) if env.body.get().trim_start().starts_with('{') => Output::Effect {
                node,
                effect: Effect::Send {
                    dest: env.dest,
                    body: env.body.get().to_string(),
                },
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
        now: u64,
        _out: &mut Vec<Output>,
    ) -> Result<()> {
        if let Some(line) = init_line(&msg.body) {
            log_line(&self.logs[node], now, &line);
        }
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
                Ok(r) => self.take(r, out),
                // We hold a sender ourselves (for restarts), so this cannot happen.
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    reached = true
                }
            }
        }
        // At most a queue's worth: a flooding node must not keep the loop here.
        for _ in 0..OUTPUT_QUEUE {
            match self.lines.try_recv() {
                Ok(r) => self.take(r, out),
                Err(_) => break,
            }
        }
        if self.ended.iter().all(|&e| e) {
            return Err(self.all_gone());
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

    fn kill(&mut self, node: usize, now: u64) -> Result<()> {
        self.generation[node] += 1;
        self.ended[node] = false;
        if let Some(mut child) = self.children[node].take() {
            // SIGKILL ends a stopped process too.
            let _ = child.kill();
            let _ = child.wait();
        }
        // Its writer thread ends with the channel; what was queued for it is lost.
        let (dead, _) = mpsc::channel();
        self.stdins[node] = dead;
        log_line(&self.logs[node], now, "the nemesis killed the node");
        Ok(())
    }

    fn restart(&mut self, node: usize, _seed: u64, now: u64, _upgraded: bool) -> Result<()> {
        log_line(&self.logs[node], now, "the nemesis starts the node afresh");
        let log = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.logs[node])
            .with_context(|| format!("cannot open {}", self.logs[node].display()))?;
        let (child, stdin) = self.spawn(node, log)?;
        self.children[node] = Some(child);
        self.stdins[node] = stdin;
        Ok(())
    }

    fn pause(&mut self, node: usize, now: u64) -> Result<()> {
        log_line(
            &self.logs[node],
            now,
            "the nemesis pauses the node (SIGSTOP)",
        );
        self.signal(node, Signal::Stop)
    }

    fn resume(&mut self, node: usize, now: u64) -> Result<()> {
        self.signal(node, Signal::Cont)?;
        log_line(
            &self.logs[node],
            now,
            "the nemesis resumed the node (SIGCONT)",
        );
        Ok(())
    }

    fn shutdown(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, child) in self.children.iter_mut().enumerate() {
            let Some(child) = child else { continue };
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
        for child in self.children.iter_mut().flatten() {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
