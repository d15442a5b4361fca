//! Driver 1, `host run`: one node on real time, speaking Maelstrom's protocol as JSON
//! lines on stdin and stdout. A reader thread feeds lines through a channel so the
//! main loop can wait for "the next line or the next timer, whichever comes first";
//! output is buffered and flushed whenever no more input is ready, which batches a
//! burst of messages without delaying any reply.

use anyhow::Result;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{BufRead, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use crate::node::{Effect, Node};

/// One line from Maelstrom: the body stays raw and reaches the guest untouched.
#[derive(Deserialize)]
struct Envelope<'a> {
    src: String,
    #[serde(borrow)]
    body: &'a RawValue,
}

/// Serves `node` until stdin closes.
pub fn serve(mut node: Node) -> Result<()> {
    let lines = spawn_reader();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 << 10, stdout.lock());
    let mut timers = Timers::default();
    let mut effects = Vec::new();
    let mut pending_output = false;
    loop {
        // Fire what is due before waiting again.
        while let Some(id) = timers.pop_due(Instant::now()) {
            report(node.on_timer(id, &mut effects));
            pending_output |= apply(&node, &mut effects, &mut timers, &mut out)?;
        }
        let next = match lines.try_recv() {
            Ok(line) => Some(line),
            Err(TryRecvError::Disconnected) => None,
            Err(TryRecvError::Empty) => {
                if pending_output {
                    out.flush()?;
                    pending_output = false;
                }
                match timers.next_deadline() {
                    Some(at) => {
                        match lines.recv_timeout(at.saturating_duration_since(Instant::now())) {
                            Ok(line) => Some(line),
                            Err(RecvTimeoutError::Timeout) => continue,
                            Err(RecvTimeoutError::Disconnected) => None,
                        }
                    }
                    None => lines.recv().ok(),
                }
            }
        };
        let Some(line) = next else { break };
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Envelope>(&line) {
            Ok(env) if env.body.get().trim_start().starts_with('{') => {
                report(node.on_message(&env.src, env.body.get(), &mut effects));
                pending_output |= apply(&node, &mut effects, &mut timers, &mut out)?;
            }
            Ok(_) => eprintln!(
                "host: ignoring a line whose body is not a JSON object: {}",
                line.trim_end()
            ),
            Err(e) => eprintln!(
                "host: ignoring a malformed line on stdin ({e}): {}",
                line.trim_end()
            ),
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
    let src = serde_json::to_string(node.id().unwrap_or(""))?;
    for e in effects.drain(..) {
        match e {
            Effect::Send { dest, body } => {
                writeln!(
                    out,
                    r#"{{"src":{src},"dest":{},"body":{body}}}"#,
                    serde_json::to_string(&dest)?
                )?;
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

fn spawn_reader() -> Receiver<String> {
    let (tx, rx) = mpsc::sync_channel(4096);
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            loop {
                let mut line = String::new();
                match input.read_line(&mut line) {
                    Ok(0) => break,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        eprintln!("host: cannot read stdin: {e}");
                        break;
                    }
                }
            }
        })
        .expect("spawn the stdin thread");
    rx
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
    fn pop_due(&mut self, now: Instant) -> Option<u64> {
        let at = self.next_deadline()?;
        if at > now {
            return None;
        }
        let Reverse((_, id, _)) = self.heap.pop()?;
        self.armed.remove(&id);
        Some(id)
    }
}
