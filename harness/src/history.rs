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

#[derive(Default, Clone)]
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

/// Counts of completions by outcome, overall and per function, as Jepsen's stats;
/// and whether every function succeeded at least once (the stats checker's verdict).
pub fn stats(h: &History) -> (Value, bool) {
    let mut all = [0u64; 3];
    let mut by_f: std::collections::BTreeMap<&str, [u64; 3]> = Default::default();
    for c in h.completions() {
        let i = match c.kind {
            Kind::Ok => 0,
            Kind::Fail => 1,
            _ => 2,
        };
        all[i] += 1;
        by_f.entry(c.f).or_default()[i] += 1;
    }
    let one = |c: [u64; 3]| json!({"valid": c[0] > 0, "count": c[0] + c[1] + c[2], "ok-count": c[0], "fail-count": c[1], "info-count": c[2]});
    let valid = by_f.values().all(|c| c[0] > 0);
    let mut v = one(all);
    v["by-f"] = by_f
        .iter()
        .map(|(f, c)| (f.to_string(), one(*c)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    v["valid"] = json!(valid);
    (v, valid)
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

/// Building a history by hand (for [`crate::check()`] and tests).
impl History {
    /// Appends `process`'s invocation of `f` with `value` at `time` ns; its index.
    pub fn invoke(&mut self, process: u64, f: &'static str, value: Value, time: u64) -> usize {
        let index = self.entries.len();
        self.entries.push(Entry {
            index,
            kind: Kind::Invoke,
            process,
            node: 0,
            f,
            value,
            time,
            error: None,
            is_final: false,
            invoke: None,
        });
        index
    }

    /// Appends the completion of invocation `invocation` (which must be one), as
    /// `kind` with `value` at `time` ns: the same process, function, node and
    /// phase. Its index, or `None` if `invocation` is no invocation.
    pub fn complete(
        &mut self,
        invocation: usize,
        kind: Kind,
        value: Value,
        time: u64,
    ) -> Option<usize> {
        let inv = self
            .entries
            .get(invocation)
            .filter(|e| e.kind == Kind::Invoke)?;
        let index = self.entries.len();
        let e = Entry {
            index,
            kind,
            value,
            time,
            invoke: Some(invocation),
            error: None,
            ..inv.clone()
        };
        self.entries.push(e);
        Some(index)
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
