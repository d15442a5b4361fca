//! Driver 1, `host run`: one node on real time, speaking Maelstrom's protocol as JSON
//! lines on stdin and stdout. A reader thread feeds messages through a channel so the
//! main loop can wait for "the next message or the next timer, whichever comes first".
//! The reader also splits and parses the lines, so on a second core that work overlaps
//! the guest's, and hands them over in batches, one per read from the pipe, because a
//! thread hand-off per line cost more than running the message through the guest.
//! Output is buffered and flushed whenever no more input is ready, which batches a
//! burst of messages without delaying any reply.

use anyhow::Result;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{Read, Write};
use std::sync::mpsc::{self, Receiver, RecvError, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use crate::node::{Effect, Node};

/// One line from Maelstrom: the body stays raw and reaches the guest untouched.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    src: Cow<'a, str>,
    #[serde(borrow)]
    body: &'a RawValue,
}

/// Serves `node` until stdin closes.
pub fn serve(mut node: Node) -> Result<()> {
    let mut inbox = spawn_reader();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 << 10, stdout.lock());
    let mut timers = Timers::default();
    let mut effects = Vec::new();
    let mut pending_output = false;
    loop {
        // Fire what is due before waiting again.
        while let Some(id) = timers.pop_due() {
            report(node.on_timer(id, &mut effects));
            pending_output |= apply(&node, &mut effects, &mut timers, &mut out)?;
        }
        let next = match inbox.try_recv() {
            Ok(msg) => Some(msg),
            Err(TryRecvError::Disconnected) => None,
            Err(TryRecvError::Empty) => {
                if pending_output {
                    out.flush()?;
                    pending_output = false;
                }
                match timers.next_deadline() {
                    Some(at) => {
                        match inbox.recv_timeout(at.saturating_duration_since(Instant::now())) {
                            Ok(msg) => Some(msg),
                            Err(RecvTimeoutError::Timeout) => continue,
                            Err(RecvTimeoutError::Disconnected) => None,
                        }
                    }
                    None => inbox.recv().ok(),
                }
            }
        };
        let Some(incoming) = next else { break };
        match incoming {
            Incoming::Message { src, body } => {
                report(node.on_message(&src, &body, &mut effects));
                pending_output |= apply(&node, &mut effects, &mut timers, &mut out)?;
            }
            Incoming::Malformed(why) => eprintln!("host: {why}"),
        }
    }
    out.flush()?;
    Ok(())
}

fn report(r: Result<(), crate::node::Crash>) {
    if let Err(crash) = r {
        eprintln!("host: the node crashed and was restarted: {crash}");
    }
}

/// Carries out a node's effects; true if anything was written.
fn apply(
    node: &Node,
    effects: &mut Vec<Effect>,
    timers: &mut Timers,
    out: &mut impl Write,
) -> Result<bool> {
    let mut wrote = false;
    for e in effects.drain(..) {
        match e {
            Effect::Send { dest, body } => {
                // Written piecewise: this runs once per message sent, so no formatting
                // machinery and no temporary strings.
                out.write_all(br#"{"src":"#)?;
                serde_json::to_writer(&mut *out, node.id().unwrap_or(""))?;
                out.write_all(br#","dest":"#)?;
                serde_json::to_writer(&mut *out, &dest)?;
                out.write_all(br#","body":"#)?;
                out.write_all(body.as_bytes())?;
                out.write_all(b"}\n")?;
                wrote = true;
            }
            Effect::SetTimer { id, delay_ms } => {
                timers.set(id, Instant::now() + Duration::from_millis(delay_ms))
            }
            Effect::CancelTimer { id } => timers.cancel(id),
            Effect::Restarted => *timers = Timers::default(),
        }
    }
    Ok(wrote)
}

fn spawn_reader() -> Inbox {
    let (tx, rx) = mpsc::sync_channel(16);
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            let mut buf = vec![0u8; 64 << 10];
            // The start of a line whose end has not arrived yet.
            let mut partial = Vec::new();
            loop {
                let n = match input.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        eprintln!("host: cannot read stdin: {e}");
                        break;
                    }
                };
                let chunk = &buf[..n];
                let Some(end) = chunk.iter().rposition(|&b| b == b'\n') else {
                    partial.extend_from_slice(chunk);
                    continue;
                };
                partial.extend_from_slice(&chunk[..end]);
                let batch = split_lines(&partial);
                partial.clear();
                partial.extend_from_slice(&chunk[end + 1..]);
                if !batch.is_empty() && tx.send(batch).is_err() {
                    return;
                }
            }
            // A last line without its newline still counts.
            let batch = split_lines(&partial);
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
        })
        .expect("spawn the stdin thread");
    Inbox {
        rx,
        batch: Vec::new().into_iter(),
    }
}

/// What a line of stdin turned out to be.
enum Incoming {
    Message {
        src: String,
        body: String,
    },
    /// Not a message: why, for stderr (the line is skipped).
    Malformed(String),
}

/// The lines of `bytes` (which holds whole lines); blank ones are skipped.
fn split_lines(bytes: &[u8]) -> Vec<Incoming> {
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|&b| b == b'\n')
        .filter_map(parse_line)
        .collect()
}

fn parse_line(line: &[u8]) -> Option<Incoming> {
    let line = match std::str::from_utf8(line) {
        Ok(line) => line,
        Err(e) => {
            return Some(Incoming::Malformed(format!(
                "ignoring a line on stdin that is not UTF-8 ({e}): {}",
                String::from_utf8_lossy(line).trim_end()
            )))
        }
    };
    if line.trim().is_empty() {
        return None;
    }
    Some(match serde_json::from_str::<Envelope>(line) {
        Ok(env) if env.body.get().trim_start().starts_with('{') => Incoming::Message {
            src: env.src.into_owned(),
            body: env.body.get().to_string(),
        },
        Ok(_) => Incoming::Malformed(format!(
            "ignoring a line whose body is not a JSON object: {}",
            line.trim_end()
        )),
        Err(e) => Incoming::Malformed(format!(
            "ignoring a malformed line on stdin ({e}): {}",
            line.trim_end()
        )),
    })
}

/// The reader thread's messages, taken one at a time out of its batches.
struct Inbox {
    rx: Receiver<Vec<Incoming>>,
    batch: std::vec::IntoIter<Incoming>,
}

impl Inbox {
    fn try_recv(&mut self) -> Result<Incoming, TryRecvError> {
        loop {
            if let Some(msg) = self.batch.next() {
                return Ok(msg);
            }
            self.batch = self.rx.try_recv()?.into_iter();
        }
    }
    fn recv_timeout(&mut self, timeout: Duration) -> Result<Incoming, RecvTimeoutError> {
        if let Some(msg) = self.batch.next() {
            return Ok(msg);
        }
        self.batch = self.rx.recv_timeout(timeout)?.into_iter();
        self.batch.next().ok_or(RecvTimeoutError::Timeout)
    }
    fn recv(&mut self) -> Result<Incoming, RecvError> {
        loop {
            if let Some(msg) = self.batch.next() {
                return Ok(msg);
            }
            self.batch = self.rx.recv()?.into_iter();
        }
    }
}

/// Armed timers: a heap of deadlines, where a re-armed or cancelled timer's old
/// entries are recognised as stale by their generation.
#[derive(Default)]
struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64, u64)>>,
    armed: HashMap<u64, u64>,
    generation: u64,
}

impl Timers {
    fn set(&mut self, id: u64, at: Instant) {
        self.generation += 1;
        self.armed.insert(id, self.generation);
        self.heap.push(Reverse((at, id, self.generation)));
    }
    fn cancel(&mut self, id: u64) {
        self.armed.remove(&id);
    }
    fn drop_stale(&mut self) {
        while let Some(Reverse((_, id, g))) = self.heap.peek() {
            if self.armed.get(id) == Some(g) {
                break;
            }
            self.heap.pop();
        }
    }
    fn next_deadline(&mut self) -> Option<Instant> {
        self.drop_stale();
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }
    /// The clock is read only when a timer is armed: this runs once per message.
    fn pop_due(&mut self) -> Option<u64> {
        let at = self.next_deadline()?;
        if at > Instant::now() {
            return None;
        }
        let Reverse((_, id, _)) = self.heap.pop()?;
        self.armed.remove(&id);
        Some(id)
    }
}
