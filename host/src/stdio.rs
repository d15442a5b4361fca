//! Driver 1, `host run`: one node on real time, speaking Maelstrom's protocol as JSON
//! lines on stdin and stdout. A reader thread feeds messages through a channel so the
//! main loop can wait for "the next message or the next timer, whichever comes first".
//! The reader also splits and parses the lines, so on a second core that work overlaps
//! the guest's, and hands them over in batches, one per read from the pipe, because a
//! thread hand-off per line cost more than running the message through the guest.
//! Output is buffered and flushed whenever no more input is ready, which batches a
//! burst of messages without delaying any reply.
//!
//! Input is bounded: a line longer than the maximum is skipped to its end (reported
//! with its start, never buffered whole), and what is echoed of a bad line is cut.
//! Diagnostics go through `elog!`, so a closed stderr never stops the node.

use anyhow::Result;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvError, RecvTimeoutError, SyncSender, TryRecvError};
use std::time::{Duration, Instant};

use crate::log::{elog, snippet, snippet_bytes};
use harness::supervisor::{AfterCrash, Crashed, GaveUp};
use harness::Effect;

use crate::instance::{GuestCrash, Node};
use crate::swap;

/// One line from Maelstrom: the body stays raw and reaches the guest untouched.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    src: Cow<'a, str>,
    #[serde(borrow)]
    body: &'a RawValue,
}

/// Serves `node` until stdin closes, or the node gives up after a crash loop. With
/// `live_swap`, the node's file is watched and each new version swapped in between
/// two events (see `swap`).
pub fn serve(mut node: Node, max_line: usize, live_swap: Option<&Path>) -> Result<()> {
    let (tx, rx) = mpsc::sync_channel(16);
    if let Some(path) = live_swap {
        let to_loop = tx.clone();
        let deliver = move |ready| to_loop.send(vec![Incoming::Swap(Box::new(ready))]).is_ok();
        let running = node.version().loaded();
        if let Err(e) = swap::spawn(path, running, deliver) {
            elog!(
                "host: live swap is off: cannot watch {}: {e:#}",
                path.display()
            );
        }
    }
    spawn_reader(max_line, tx);
    let mut inbox = Inbox {
        rx,
        batch: Vec::new().into_iter(),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 << 10, stdout.lock());
    let mut timers = Timers::default();
    let mut effects = Vec::new();
    let mut pending_output = false;
    // The node's clock, for its back-off after a crash.
    let born = Instant::now();
    loop {
        // Fire what is due before waiting again.
        while let Some(id) = timers.pop_due() {
            let gave_up = report(node.on_timer(born.elapsed(), id, &mut effects));
            pending_output |= apply(&node, &mut effects, &mut timers, &mut out)?;
            stop_if(gave_up, &mut out)?;
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
                let gave_up = report(node.on_message(born.elapsed(), &src, &body, &mut effects));
                pending_output |= apply(&node, &mut effects, &mut timers, &mut out)?;
                stop_if(gave_up, &mut out)?;
            }
            Incoming::Malformed(why) => elog!("host: {why}"),
            Incoming::Swap(ready) => {
                let new = node.version().with(ready.loaded);
                let r = node.upgrade(born.elapsed(), new, &mut effects);
                match r {
                    Ok(u) => {
                        pending_output |= apply(&node, &mut effects, &mut timers, &mut out)?;
                        elog!(
                            "host: live swap: {u}; {:.0} ms after the file changed",
                            ready.noticed.elapsed().as_secs_f64() * 1e3
                        );
                    }
                    Err(e) => elog!("host: live swap: {e}"),
                }
            }
            Incoming::Eof => break,
        }
    }
    out.flush()?;
    Ok(())
}

/// Reports a crash on stderr; says whether the node gave up.
fn report(r: Result<(), Crashed<GuestCrash>>) -> Option<GaveUp> {
    let crash = r.err()?;
    elog!(
        "host: the node crashed ({}) and {}: {crash}",
        crash.failure.kind,
        crash.outcome()
    );
    match crash.after {
        AfterCrash::GaveUp { crashes } => Some(GaveUp { crashes }),
        AfterCrash::Restarted | AfterCrash::Down { .. } => None,
    }
}

/// A node that gave up is a dead process: what it answered so far goes out, then the
/// host exits (status 1), as a supervisor stops restarting a crash loop.
fn stop_if(gave_up: Option<GaveUp>, out: &mut impl Write) -> Result<()> {
    match gave_up {
        Some(g) => {
            out.flush()?;
            Err(g.into())
        }
        None => Ok(()),
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

fn spawn_reader(max_line: usize, tx: SyncSender<Vec<Incoming>>) {
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            let mut buf = vec![0u8; 64 << 10];
            // The start of a line whose end has not arrived yet (at most `max_line`).
            let mut partial = Vec::new();
            // A line past `max_line`, being skipped to its end.
            let mut skipping: Option<Overlong> = None;
            loop {
                let n = match input.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        elog!("host: cannot read stdin: {e}");
                        break;
                    }
                };
                let mut chunk = &buf[..n];
                let mut batch = Vec::new();
                if let Some(skip) = &mut skipping {
                    match chunk.iter().position(|&b| b == b'\n') {
                        None => {
                            skip.len += chunk.len();
                            continue;
                        }
                        Some(i) => {
                            skip.len += i;
                            batch.push(skip.report(max_line));
                            skipping = None;
                            chunk = &chunk[i + 1..];
                        }
                    }
                }
                match chunk.iter().rposition(|&b| b == b'\n') {
                    None => partial.extend_from_slice(chunk),
                    Some(end) => {
                        partial.extend_from_slice(&chunk[..end]);
                        split_lines(&partial, max_line, &mut batch);
                        partial.clear();
                        partial.extend_from_slice(&chunk[end + 1..]);
                    }
                }
                if partial.len() > max_line {
                    skipping = Some(Overlong::start(&partial));
                    partial = Vec::new();
                }
                if !batch.is_empty() && tx.send(batch).is_err() {
                    return;
                }
            }
            // A last line without its newline still counts.
            let mut batch = Vec::new();
            match skipping {
                Some(skip) => batch.push(skip.report(max_line)),
                None => split_lines(&partial, max_line, &mut batch),
            }
            // Said outright: the swap thread holds the channel open too.
            batch.push(Incoming::Eof);
            let _ = tx.send(batch);
        })
        .expect("spawn the stdin thread");
}

/// A line too long to take: its start, for the report, and its length so far.
struct Overlong {
    head: String,
    len: usize,
}

impl Overlong {
    fn start(partial: &[u8]) -> Overlong {
        Overlong {
            head: snippet_bytes(&partial[..partial.len().min(crate::log::SNIPPET)]),
            len: partial.len(),
        }
    }
    fn report(&self, max_line: usize) -> Incoming {
        Incoming::Malformed(format!(
            "ignoring a line on stdin of {} bytes, longer than --max-line-bytes {max_line}: {}…",
            self.len, self.head
        ))
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
    /// A new version of the node, ready to swap in (from the swap thread).
    Swap(Box<swap::Ready>),
    /// stdin closed.
    Eof,
}

/// The lines of `bytes` (which holds whole lines), onto `batch`; blank ones are skipped.
fn split_lines(bytes: &[u8], max_line: usize, batch: &mut Vec<Incoming>) {
    if bytes.is_empty() {
        return;
    }
    batch.extend(bytes.split(|&b| b == b'\n').filter_map(|line| {
        if line.len() > max_line {
            return Some(Overlong::start(line).report(max_line));
        }
        parse_line(line)
    }));
}

fn parse_line(line: &[u8]) -> Option<Incoming> {
    let line = match std::str::from_utf8(line) {
        Ok(line) => line,
        Err(e) => {
            return Some(Incoming::Malformed(format!(
                "ignoring a line on stdin that is not UTF-8 ({e}): {}",
                snippet_bytes(line)
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
            snippet(line)
        )),
        Err(e) => Incoming::Malformed(format!(
            "ignoring a malformed line on stdin ({e}): {}",
            snippet(line)
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
        // Stale entries leave only when they reach the top, so a guest that re-arms
        // far-off timers again and again would grow the heap without end: sweep them
        // out once they are most of it (amortised O(1) per set).
        if self.heap.len() > 2 * self.armed.len() + 1024 {
            let armed = &self.armed;
            self.heap
                .retain(|Reverse((_, id, g))| armed.get(id) == Some(g));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn re_arming_far_timers_does_not_grow_the_heap_without_end() {
        let mut timers = Timers::default();
        let far = Instant::now() + Duration::from_secs(3600);
        for i in 0..100_000u64 {
            timers.set(i % 10, far + Duration::from_millis(i));
        }
        assert!(
            timers.heap.len() <= 2 * 10 + 1024 + 1,
            "{}",
            timers.heap.len()
        );
        assert_eq!(timers.armed.len(), 10);
        // The latest deadline of each id is the one that counts.
        timers.drop_stale();
        let Reverse((at, id, _)) = *timers.heap.peek().unwrap();
        assert_eq!((at, id), (far + Duration::from_millis(99_990), 0));
    }

    #[test]
    fn overlong_lines_are_reported_not_parsed() {
        let mut batch = Vec::new();
        let line = format!(
            "{}\n{}",
            "a".repeat(5000),
            r#"{"src":"c1","body":{"type":"x"}}"#
        );
        split_lines(line.as_bytes(), 1024, &mut batch);
        assert!(matches!(&batch[0], Incoming::Malformed(why) if why.contains("of 5000 bytes")));
        assert!(matches!(&batch[1], Incoming::Message { src, .. } if src == "c1"));
    }
}
