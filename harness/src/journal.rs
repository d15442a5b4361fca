//! The message journal: every message the network carried, when it was sent, when
//! it arrived (or would have, had a partition not dropped it), between whom, and its
//! body. The report's Lamport diagram is drawn from it and `messages.jsonl` is it,
//! for tools; the `net` figures stay with the network, which counts as it goes.

use anyhow::{Context as _, Result};
use std::io::Write as _;
use std::path::Path;

use crate::net::{Addr, Message};
use crate::service;

/// What became of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Still travelling when the run ended.
    InFlight,
    Delivered,
    /// Dropped by a partition, at the time it would have arrived.
    Dropped,
}

impl Fate {
    pub fn name(self) -> &'static str {
        match self {
            Fate::InFlight => "in-flight",
            Fate::Delivered => "delivered",
            Fate::Dropped => "dropped",
        }
    }
}

/// One message.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The network's id of the message, unique within the run.
    pub id: u64,
    pub src: Addr,
    pub dest: Addr,
    /// When it was sent, ns since the run began.
    pub sent: u64,
    /// When it arrived or was dropped; `None` while in flight.
    pub arrived: Option<u64>,
    pub fate: Fate,
    /// The body, as the sender wrote it (JSON object text).
    pub body: String,
}

/// Every message of a run, in the order sent.
#[derive(Default)]
pub struct Journal {
    /// The messages, ascending by id (ids grow with each send).
    pub entries: Vec<Entry>,
    /// What to log on stderr as it happens, as Maelstrom's `--log-net-send` and
    /// `--log-net-recv` do.
    pub echo: Echo,
}

/// Which messages are logged on stderr as they go, and the names to log them by.
#[derive(Default)]
pub struct Echo {
    /// Each message as it is sent.
    pub send: bool,
    /// Each message as it is received (not those a partition dropped).
    pub recv: bool,
    /// The node names, by index.
    pub nodes: Vec<String>,
}

impl Echo {
    /// One line: the time, `:send` or `:recv`, and the message as JSON.
    fn line(&self, what: &str, msg: &Message, now: u64) {
        let m = serde_json::json!({
            "id": msg.id,
            "src": name(msg.src, &self.nodes),
            "dest": name(msg.dest, &self.nodes),
            "body": body(&msg.body),
        });
        let text = format!("{:>10.3} s {what} {m}\n", now as f64 / 1e9);
        // A log nobody reads is no reason to stop a run.
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

impl Journal {
    /// A journal that also logs sends and/or receives on stderr.
    pub fn echoing(send: bool, recv: bool, nodes: &[String]) -> Journal {
        Journal {
            entries: Vec::new(),
            echo: Echo {
                send,
                recv,
                nodes: nodes.to_vec(),
            },
        }
    }

    /// `msg` was sent at `now`.
    pub fn sent(&mut self, msg: &Message, now: u64) {
        if self.echo.send {
            self.echo.line(":send", msg, now);
        }
        self.entries.push(Entry {
            id: msg.id,
            src: msg.src,
            dest: msg.dest,
            sent: now,
            arrived: None,
            fate: Fate::InFlight,
            body: msg.body.clone(),
        });
    }

    /// `msg` reached its destination at `now` (`delivered`) or was dropped there.
    pub fn arrived(&mut self, msg: &Message, now: u64, delivered: bool) {
        if delivered && self.echo.recv {
            self.echo.line(":recv", msg, now);
        }
        if let Ok(i) = self.entries.binary_search_by_key(&msg.id, |e| e.id) {
            let e = &mut self.entries[i];
            e.arrived = Some(now);
            e.fate = if delivered {
                Fate::Delivered
            } else {
                Fate::Dropped
            };
        }
    }

    /// `messages.jsonl`: one message a line, times in seconds, the body as JSON.
    pub fn write_jsonl(&self, nodes: &[String], path: &Path) -> Result<()> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let mut w = std::io::BufWriter::new(file);
        for e in &self.entries {
            let line = serde_json::json!({
                "id": e.id,
                "src": name(e.src, nodes),
                "dest": name(e.dest, nodes),
                "send": e.sent as f64 / 1e9,
                "recv": e.arrived.map(|t| t as f64 / 1e9),
                "fate": e.fate.name(),
                "body": body(&e.body),
            });
            writeln!(w, "{line}")?;
        }
        w.flush()?;
        Ok(())
    }
}

/// The body as JSON if it is JSON, else as the text it is.
pub fn body(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| text.into())
}

/// The name Maelstrom gives an address: `n3`, `c12`, `lin-kv`.
pub fn name(a: Addr, nodes: &[String]) -> String {
    match a {
        Addr::Node(i) => nodes.get(i).cloned().unwrap_or_else(|| format!("node{i}")),
        Addr::Client(c) => format!("c{c}"),
        Addr::Service(i) => service::NAMES.get(i).copied().unwrap_or("service").into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{Dist, Latency, Net};
    use crate::rng::Rng;

    #[test]
    fn records_sends_arrivals_and_drops_and_writes_them() {
        let mut net = Net::new(Latency {
            mean_ms: 10,
            dist: Dist::Constant,
        });
        let mut rng = Rng::new(1);
        let mut j = Journal::default();
        net.partition(&[vec![1], vec![]]);
        let (cut, _) = net.send(
            Addr::Node(1),
            Addr::Node(0),
            r#"{"type":"a"}"#.into(),
            &mut rng,
        );
        j.sent(&cut, 5);
        let (ok, _) = net.send(
            Addr::Client(3),
            Addr::Node(1),
            r#"{"type":"b"}"#.into(),
            &mut rng,
        );
        j.sent(&ok, 6);
        let (lost, _) = net.send(Addr::Node(0), Addr::Service(0), "not json".into(), &mut rng);
        j.sent(&lost, 7);
        j.arrived(&ok, 6, net.receive(&ok));
        j.arrived(&cut, 15, net.receive(&cut));
        let fates: Vec<Fate> = j.entries.iter().map(|e| e.fate).collect();
        assert_eq!(fates, [Fate::Dropped, Fate::Delivered, Fate::InFlight]);
        assert_eq!(j.entries[0].arrived, Some(15));

        let dir = std::env::temp_dir().join(format!("journal-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("messages.jsonl");
        j.write_jsonl(&["n0".into(), "n1".into()], &path).unwrap();
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["src"], "n1");
        assert_eq!(lines[0]["fate"], "dropped");
        assert_eq!(lines[0]["body"]["type"], "a");
        assert_eq!(lines[1]["src"], "c3");
        assert_eq!(lines[2]["dest"], service::NAMES[0]);
        assert_eq!(lines[2]["body"], "not json");
        assert!(lines[2]["recv"].is_null());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
