//! What clients did: every invocation and completion, with its value and time, as
//! Jepsen's history. Checkers read only this, so they depend on nothing that runs
//! the test (clients, network, nodes).

use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Invoke,
    Ok,
    Fail,
    Info,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Invoke => "invoke",
            Kind::Ok => "ok",
            Kind::Fail => "fail",
            Kind::Info => "info",
        }
    }

    /// The kind named `name` (Jepsen's `:type`), if it is one.
    pub fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "invoke" => Kind::Invoke,
            "ok" => Kind::Ok,
            "fail" => Kind::Fail,
            "info" => Kind::Info,
            _ => return None,
        })
    }
}

/// One entry of the history: an invocation or a completion.
#[derive(Clone, Debug)]
pub struct Entry {
    pub index: usize,
    pub kind: Kind,
    pub process: u64,
    /// The node the worker talks to.
    pub node: usize,
    pub f: &'static str,
    pub value: Value,
    /// Virtual (or real, under --bin) ns since the run began.
    pub time: u64,
    pub error: Option<Value>,
    /// Part of the workload's final phase (e.g. broadcast's final reads).
    pub is_final: bool,
    /// For a completion, the index of its invocation.
    pub invoke: Option<usize>,
}

#[derive(Default)]
pub struct History {
    pub entries: Vec<Entry>,
}

impl History {
    pub fn invocations(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.kind == Kind::Invoke)
    }
    pub fn completions(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.kind != Kind::Invoke)
    }
    /// The completion of each invocation, by invocation index.
    pub fn completion_of(&self) -> HashMap<usize, &Entry> {
        self.completions()
            .filter_map(|c| Some((c.invoke?, c)))
            .collect()
    }
}

/// Hand-made histories for the checkers' tests.
#[cfg(test)]
impl Entry {
    /// Process 0's entry on node 0 at `time` ns, completing nothing, numbered 0.
    pub(crate) fn at(kind: Kind, f: &'static str, value: Value, time: u64) -> Entry {
        Entry {
            index: 0,
            kind,
            process: 0,
            node: 0,
            f,
            value,
            time,
            error: None,
            is_final: false,
            invoke: None,
        }
    }
}

#[cfg(test)]
impl History {
    /// Appends `e`, numbered next; its index.
    pub(crate) fn push(&mut self, e: Entry) -> usize {
        let index = self.entries.len();
        self.entries.push(Entry { index, ..e });
        index
    }
}

/// The client history, one operation per line, next to the node logs; read back by
/// [`crate::read`].
pub fn write_jsonl(h: &History, nodes: &[String], path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let file = std::fs::File::create(path)?;
    let mut w = std::io::BufWriter::new(file);
    for e in &h.entries {
        let line = json!({
            "index": e.index,
            "type": e.kind.name(),
            "process": e.process,
            "node": nodes.get(e.node),
            "f": e.f,
            "value": e.value,
            "time": e.time as f64 / 1e9,
            "error": e.error,
            "final": e.is_final,
            // A completion's invocation, so that a reader pairs them as the run did.
            "invoke": e.invoke,
        });
        writeln!(w, "{line}")?;
    }
    w.flush()?;
    Ok(())
}
