//! Maelstrom's `--log-stderr`: every line a node writes on stderr is also shown on
//! ours, after the node's name. Nodes write their stderr to their log file (in
//! process and as processes alike), so the echo follows those files: for in-process
//! nodes right after each call, which keeps the lines in order with `--log-net-*`;
//! for processes from a thread that polls, since they run on their own.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::node::{Crash, Effect, Input, Node, NodeFactory, NodeSpec};

/// Follows one log file from where it stood, handing out its complete new lines.
struct Tail {
    path: PathBuf,
    name: String,
    pos: u64,
    partial: Vec<u8>,
}

impl Tail {
    /// Follows `path` from its current end (what is there was shown already or is
    /// the harness's own).
    fn new(path: &Path, name: &str) -> Tail {
        let pos = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        Tail {
            path: path.to_path_buf(),
            name: name.to_string(),
            pos,
            partial: Vec::new(),
        }
    }

    /// Writes the new complete lines to stderr, `prefix` before each; with `all`,
    /// an unfinished last line too.
    fn echo(&mut self, prefix: &str, all: bool) {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return;
        };
        if file.seek(SeekFrom::Start(self.pos)).is_err() {
            return;
        }
        let mut fresh = Vec::new();
        let Ok(n) = file.read_to_end(&mut fresh) else {
            return;
        };
        self.pos += n as u64;
        self.partial.extend_from_slice(&fresh);
        let cut = if all {
            self.partial.len()
        } else {
            match self.partial.iter().rposition(|&b| b == b'\n') {
                Some(i) => i + 1,
                None => return,
            }
        };
        let done: Vec<u8> = self.partial.drain(..cut).collect();
        let mut out = String::new();
        for line in String::from_utf8_lossy(&done).lines() {
            out.push_str(&format!("{prefix}{} stderr: {line}\n", self.name));
        }
        // A log nobody reads is no reason to stop a run.
        let _ = std::io::stderr().lock().write_all(out.as_bytes());
    }
}

/// An in-process node whose stderr lines are echoed after each of its calls.
struct Echoing {
    inner: Box<dyn Node>,
    tail: Tail,
}

impl Node for Echoing {
    fn handle(
        &mut self,
        now_ns: u64,
        input: Input<'_>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Crash> {
        let r = self.inner.handle(now_ns, input, effects);
        self.tail
            .echo(&format!("{:>10.3} s ", now_ns as f64 / 1e9), false);
        r
    }

    fn crashes(&self) -> u64 {
        self.inner.crashes()
    }
}

/// `factory`, with each node it makes echoing its stderr.
pub fn wrap(mut factory: NodeFactory) -> NodeFactory {
    Box::new(move |spec: &NodeSpec| {
        let tail = Tail::new(&spec.log, &spec.name);
        let inner = factory(spec)?;
        Ok(Box::new(Echoing { inner, tail }) as Box<dyn Node>)
    })
}

/// Echoes node processes' log files from a thread until stopped.
pub struct Follower {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Follower {
    /// Follows `logs` (the file of each node in `names`).
    pub fn start(logs: Vec<PathBuf>, names: &[String]) -> Follower {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tails: Vec<Tail> = logs
            .iter()
            .zip(names)
            .map(|(p, n)| Tail {
                path: p.clone(),
                name: n.clone(),
                pos: 0,
                partial: Vec::new(),
            })
            .collect();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || loop {
            let last = flag.load(Ordering::Relaxed);
            for t in &mut tails {
                t.echo("", last);
            }
            if last {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        });
        Follower {
            stop,
            thread: Some(thread),
        }
    }

    /// Shows what is left and stops.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_hands_out_complete_lines_once_and_keeps_the_rest() {
        let dir = std::env::temp_dir().join(format!("tail-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("n1.log");
        std::fs::write(&path, "old\n").unwrap();
        let mut t = Tail::new(&path, "n1");
        assert_eq!(t.pos, 4);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"one\ntw").unwrap();
        t.echo("", false);
        assert_eq!((t.pos, t.partial.as_slice()), (10, &b"tw"[..]));
        f.write_all(b"o\n").unwrap();
        t.echo("", false);
        assert!(t.partial.is_empty());
        assert_eq!(t.pos, 12);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
