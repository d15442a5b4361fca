//! Reading a history back from a file, for `host check` and [`crate::check()`]: our own
//! `history.jsonl` ([`jsonl`]), or a Maelstrom / Jepsen / Knossos `history.edn`
//! ([`edn`]), or a run's directory holding either. Both are read one operation at a
//! time; each operation becomes an [`Entry`] of the shape the workload's checker
//! reads, and each completion is linked to its invocation.

pub mod edn;
pub mod jsonl;

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::history::{Entry, History, Kind};
use crate::options::Workload;

/// Why a history could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The file or directory could not be opened or read.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A directory with neither `history.jsonl` nor `history.edn` in it.
    NoHistory(PathBuf),
    /// An operation that is not one: `line` (1-based, or the form's number in EDN).
    Malformed { line: usize, why: String },
    /// The workload could not be told from the path or the operations; `-w` names it.
    UnknownWorkload,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            ReadError::NoHistory(dir) => {
                write!(f, "{} holds no history.jsonl or history.edn", dir.display())
            }
            ReadError::Malformed { line, why } => write!(f, "operation {line}: {why}"),
            ReadError::UnknownWorkload => f.write_str(
                "the workload cannot be told from the path or the operations: name it with -w",
            ),
        }
    }
}

/// The I/O error is said in the sentence itself, so it has no separate source
/// (which `{:#}` would say twice).
impl std::error::Error for ReadError {}

/// The format of a history file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Ours: one JSON object a line, as `host test` writes `history.jsonl`.
    Jsonl,
    /// Jepsen's: EDN op maps, one after another or in one vector (Knossos).
    Edn,
}

/// A history read from a file, with what the file told about it.
pub struct Loaded {
    pub history: History,
    /// The nodes the operations name (`node` of each entry indexes this); `["?"]`
    /// when the file names none, as Jepsen's do not.
    pub nodes: Vec<String>,
    /// The workload, from `-w`, else the path (Maelstrom's `store/<workload>/...`),
    /// else the operations.
    pub workload: Workload,
    /// The file read.
    pub path: PathBuf,
    /// Operations left out: nemesis operations, functions no workload has,
    /// completions without an invocation.
    pub skipped: usize,
}

/// Reads the history at `path` (a file, or a run's directory), for `workload` if
/// given, else the one its path or its operations tell.
pub fn load(path: &Path, workload: Option<Workload>) -> Result<Loaded, ReadError> {
    let file = history_file(path)?;
    let format = match file.extension().and_then(|e| e.to_str()) {
        Some("edn") => Format::Edn,
        _ => Format::Jsonl,
    };
    let named = workload.or_else(|| workload_of_path(&file));
    let opened = std::fs::File::open(&file).map_err(|error| ReadError::Io {
        path: file.clone(),
        error,
    })?;
    let reader = std::io::BufReader::new(opened);
    let mut ops = Ops::default();
    match format {
        Format::Jsonl => jsonl::read(reader, &mut ops)?,
        Format::Edn => edn::read(reader, named, &mut ops)?,
    }
    let workload = named
        .or_else(|| guess_workload(&ops.history))
        .ok_or(ReadError::UnknownWorkload)?;
    let nodes = if ops.nodes.is_empty() {
        vec!["?".to_string()]
    } else {
        ops.nodes
    };
    Ok(Loaded {
        history: ops.history,
        nodes,
        workload,
        path: file,
        skipped: ops.skipped,
    })
}

/// The history file at `path`: `path` itself, or in a directory its
/// `history.jsonl`, else its `history.edn`.
pub fn history_file(path: &Path) -> Result<PathBuf, ReadError> {
    let meta = std::fs::metadata(path).map_err(|error| ReadError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    if !meta.is_dir() {
        return Ok(path.to_path_buf());
    }
    ["history.jsonl", "history.edn"]
        .iter()
        .map(|n| path.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| ReadError::NoHistory(path.to_path_buf()))
}

/// The workload a store path names: `.../<workload>/<run>/history.*`, as
/// Maelstrom's store and ours lay runs out.
pub fn workload_of_path(file: &Path) -> Option<Workload> {
    let name = file.parent()?.parent()?.file_name()?.to_str()?;
    clap::ValueEnum::from_str(name, false).ok()
}

/// The workload the operations' functions and values point to, if they do.
pub fn guess_workload(h: &History) -> Option<Workload> {
    let has = |f: &str| h.entries.iter().any(|e| e.f == f);
    if has("txn") {
        let appends = h.entries.iter().any(|e| {
            e.f == "txn"
                && e.value
                    .as_array()
                    .is_some_and(|m| m.iter().any(|m| m[0] == "append"))
        });
        return Some(if appends {
            Workload::TxnListAppend
        } else {
            Workload::TxnRwRegister
        });
    }
    if has("send") || has("poll") {
        return Some(Workload::Kafka);
    }
    if has("cas") || has("write") {
        return Some(Workload::LinKv);
    }
    if has("echo") {
        return Some(Workload::Echo);
    }
    if has("generate") {
        return Some(Workload::UniqueIds);
    }
    if has("broadcast") {
        return Some(Workload::Broadcast);
    }
    if has("add") {
        let set = h
            .entries
            .iter()
            .any(|e| e.f == "read" && e.kind == Kind::Ok && e.value.is_array());
        let negative = h
            .entries
            .iter()
            .any(|e| e.f == "add" && e.value.as_i64().is_some_and(|d| d < 0));
        return Some(match (set, negative) {
            (true, _) => Workload::GSet,
            (false, true) => Workload::PnCounter,
            (false, false) => Workload::GCounter,
        });
    }
    None
}

/// The functions a workload's operations have, as the checkers name them.
const FUNCTIONS: &[&str] = &[
    "echo",
    "generate",
    "broadcast",
    "read",
    "add",
    "write",
    "cas",
    "txn",
    "send",
    "poll",
    "assign",
    "subscribe",
    "commit_offsets",
    "list_committed_offsets",
];

/// `f` as the checkers name it, if some workload has it.
pub fn function(f: &str) -> Option<&'static str> {
    FUNCTIONS.iter().copied().find(|&k| k == f)
}

/// One operation as a file gives it, before it is numbered and paired.
pub struct RawOp {
    pub kind: Kind,
    pub process: u64,
    pub node: Option<String>,
    pub f: &'static str,
    pub value: Value,
    pub time: u64,
    pub error: Option<Value>,
    pub is_final: bool,
    /// The file's index of its invocation, when the file links them (ours).
    pub invoke: Option<usize>,
    /// The file's own index of this operation, when it has one.
    pub index: Option<usize>,
}

/// The history being read: operations numbered as they come, each completion paired
/// with its invocation (by the file's link, else as Jepsen pairs them: the
/// process's outstanding invocation).
#[derive(Default)]
pub struct Ops {
    pub history: History,
    pub nodes: Vec<String>,
    pub skipped: usize,
    node_index: HashMap<String, usize>,
    /// The process's invocation awaiting its completion.
    pending: HashMap<u64, usize>,
    /// The file's index -> ours, where they differ.
    by_file_index: HashMap<usize, usize>,
}

impl Ops {
    /// Appends `op`; a completion with no invocation to complete is skipped.
    pub fn push(&mut self, op: RawOp) {
        let index = self.history.entries.len();
        let invoke = match op.kind {
            Kind::Invoke => {
                self.pending.insert(op.process, index);
                None
            }
            _ => {
                let linked = op
                    .invoke
                    .and_then(|i| self.by_file_index.get(&i).copied())
                    .filter(|&i| {
                        self.history
                            .entries
                            .get(i)
                            .is_some_and(|e| e.kind == Kind::Invoke)
                    });
                match linked.or_else(|| self.pending.get(&op.process).copied()) {
                    Some(i) => {
                        if self.pending.get(&op.process) == Some(&i) {
                            self.pending.remove(&op.process);
                        }
                        Some(i)
                    }
                    None => {
                        self.skipped += 1;
                        return;
                    }
                }
            }
        };
        if let Some(i) = op.index {
            self.by_file_index.insert(i, index);
        }
        let node = match op.node {
            Some(name) => Some(match self.node_index.get(&name) {
                Some(&n) => n,
                None => {
                    let n = self.nodes.len();
                    self.node_index.insert(name.clone(), n);
                    self.nodes.push(name);
                    n
                }
            }),
            None => None,
        };
        // A completion whose file names no node is through its invocation's.
        let node = node
            .or_else(|| {
                invoke
                    .and_then(|i| self.history.entries.get(i))
                    .map(|e| e.node)
            })
            .unwrap_or(0);
        self.history.entries.push(Entry {
            index,
            kind: op.kind,
            process: op.process,
            node,
            f: op.f,
            value: op.value,
            time: op.time,
            error: op.error,
            is_final: op.is_final,
            invoke,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_paths_name_their_workload() {
        let p = Path::new("store/txn-list-append/20240101T000000.000Z/history.edn");
        assert_eq!(workload_of_path(p), Some(Workload::TxnListAppend));
        assert_eq!(
            workload_of_path(Path::new("x/broadcast/r/history.jsonl")),
            Some(Workload::Broadcast)
        );
        assert_eq!(workload_of_path(Path::new("history.edn")), None);
    }

    #[test]
    fn completions_pair_with_their_process_invocation() {
        let mut ops = Ops::default();
        let op = |kind, process| RawOp {
            kind,
            process,
            node: None,
            f: "read",
            value: Value::Null,
            time: 0,
            error: None,
            is_final: false,
            invoke: None,
            index: None,
        };
        ops.push(op(Kind::Invoke, 1));
        ops.push(op(Kind::Invoke, 2));
        ops.push(op(Kind::Ok, 2));
        ops.push(op(Kind::Info, 1));
        // A completion nobody invoked.
        ops.push(op(Kind::Ok, 3));
        let links: Vec<_> = ops.history.entries.iter().map(|e| e.invoke).collect();
        assert_eq!(links, [None, None, Some(1), Some(0)]);
        assert_eq!(ops.skipped, 1);
    }
}
