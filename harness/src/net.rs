//! The simulated network, as Maelstrom's: every message between two nodes waits a
//! latency drawn from the chosen distribution (messages to or from clients arrive at
//! once, since latency there would only hide anomalies), a partition makes a node
//! drop what the nodes it holds a grudge against send it, and every send and receive
//! is counted for the `net` statistics. Whether a message is dropped is settled when
//! it is sent: Maelstrom checks when the receiver takes the message off its queue,
//! which for a node keeping up with its traffic is the moment it was sent.

use anyhow::{bail, Result};
use serde::Serialize;

use super::rng::Rng;

/// Who is at either end of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Addr {
    /// A node, by its index in the node list.
    Node(usize),
    /// A client, by the number in its id `c<N>`.
    Client(u64),
    /// One of Maelstrom's services (lin-kv, ...), by its index in `service::NAMES`.
    Service(usize),
}

impl Addr {
    pub fn is_client(self) -> bool {
        matches!(self, Addr::Client(_))
    }
}

/// One message in flight.
#[derive(Clone, Debug)]
pub struct Message {
    /// Maelstrom's internal message id, unique within a run.
    pub id: u64,
    pub src: Addr,
    pub dest: Addr,
    /// The body as JSON object text, passed along untouched.
    pub body: String,
    /// Sent across a partition: it will not be received.
    cut: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dist {
    Constant,
    Uniform,
    Exponential,
}

impl std::str::FromStr for Dist {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Dist> {
        Ok(match s {
            "constant" => Dist::Constant,
            "uniform" => Dist::Uniform,
            "exponential" => Dist::Exponential,
            _ => bail!("--latency-dist must be constant, uniform or exponential, not {s:?}"),
        })
    }
}

impl std::fmt::Display for Dist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dist::Constant => "constant",
            Dist::Uniform => "uniform",
            Dist::Exponential => "exponential",
        })
    }
}

/// Per-message latency between nodes: `mean` ms on average.
#[derive(Clone, Copy, Debug)]
pub struct Latency {
    pub mean_ms: u64,
    pub dist: Dist,
}

impl Latency {
    /// A latency in whole ms, as Maelstrom draws them.
    pub fn draw_ms(&self, rng: &mut Rng) -> u64 {
        match self.dist {
            Dist::Constant => self.mean_ms,
            // A uniform integer in [0, 2 * mean).
            Dist::Uniform => rng.below(2 * self.mean_ms),
            Dist::Exponential => {
                if self.mean_ms == 0 {
                    0
                } else {
                    // 1 - unit() is in (0, 1], so the log is finite.
                    (-(self.mean_ms as f64) * (1.0 - rng.unit()).ln()) as u64
                }
            }
        }
    }
}

#[derive(Default, Clone, Copy, Debug)]
struct Counts {
    send: u64,
    recv: u64,
}

impl Counts {
    fn figures(&self, ops: u64) -> NetCounts {
        NetCounts {
            send_count: self.send,
            recv_count: self.recv,
            // Every journalled message was sent exactly once, so the number of
            // distinct messages is the number of sends.
            msg_count: self.send,
            msgs_per_op: (ops > 0).then(|| self.send as f64 / ops as f64),
        }
    }
}

/// Maelstrom's `net` figures for one class of messages.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct NetCounts {
    /// Messages sent.
    pub send_count: u64,
    /// Messages received (sent and not dropped by a partition).
    pub recv_count: u64,
    /// Distinct messages.
    pub msg_count: u64,
    /// Messages per client operation; absent when there were no operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msgs_per_op: Option<f64>,
}

/// Maelstrom's `net` result: all messages, those to or from clients, and those
/// between nodes (and services).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct NetStats {
    pub all: NetCounts,
    pub clients: NetCounts,
    pub servers: NetCounts,
    /// Always true, as in Maelstrom: the network checker has no failure mode.
    pub valid: bool,
}

pub struct Net {
    latency: Latency,
    /// `grudges[dest][src]`: `dest` drops what `src` sends it. Empty when healed.
    grudges: Vec<Vec<bool>>,
    next_id: u64,
    all: Counts,
    clients: Counts,
    servers: Counts,
}

impl Net {
    pub fn new(latency: Latency) -> Net {
        Net {
            latency,
            grudges: Vec::new(),
            next_id: 0,
            all: Counts::default(),
            clients: Counts::default(),
            servers: Counts::default(),
        }
    }

    /// Journals a send and says how long the message will take, in ns.
    pub fn send(&mut self, src: Addr, dest: Addr, body: String, rng: &mut Rng) -> (Message, u64) {
        let id = self.next_id;
        self.next_id += 1;
        let client = src.is_client() || dest.is_client();
        self.all.send += 1;
        if client {
            self.clients.send += 1;
        } else {
            self.servers.send += 1;
        }
        let cut = match (src, dest) {
            (Addr::Node(s), Addr::Node(d)) => {
                self.grudges.get(d).and_then(|g| g.get(s)).copied() == Some(true)
            }
            _ => false,
        };
        let delay_ms = if client { 0 } else { self.latency.draw_ms(rng) };
        (
            Message {
                id,
                src,
                dest,
                body,
                cut,
            },
            delay_ms * 1_000_000,
        )
    }

    /// Whether a message arriving now gets through; if so it is journalled as received.
    pub fn receive(&mut self, msg: &Message) -> bool {
        if msg.cut {
            return false;
        }
        self.all.recv += 1;
        if msg.src.is_client() || msg.dest.is_client() {
            self.clients.recv += 1;
        } else {
            self.servers.recv += 1;
        }
        true
    }

    /// Cuts links: `grudge[dest]` lists the nodes whose messages `dest` drops.
    pub fn partition(&mut self, grudge: &[Vec<usize>]) {
        let n = grudge.len();
        self.grudges = vec![vec![false; n]; n];
        for (dest, srcs) in grudge.iter().enumerate() {
            for &src in srcs {
                self.grudges[dest][src] = true;
            }
        }
    }

    pub fn heal(&mut self) {
        self.grudges.clear();
    }

    /// Maelstrom's `net` figures; msgs-per-op divides by the number of client ops.
    pub fn stats(&self, ops: u64) -> NetStats {
        NetStats {
            all: self.all.figures(ops),
            clients: self.clients.figures(ops),
            servers: self.servers.figures(ops),
            valid: true,
        }
    }

    /// (messages between servers, all messages) so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.servers.send, self.all.send)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_have_the_requested_mean() {
        let mut rng = Rng::new(3);
        for dist in [Dist::Constant, Dist::Uniform, Dist::Exponential] {
            let l = Latency { mean_ms: 100, dist };
            let n = 20_000;
            let sum: u64 = (0..n).map(|_| l.draw_ms(&mut rng)).sum();
            let mean = sum as f64 / n as f64;
            assert!((mean - 100.0).abs() < 5.0, "{dist}: mean {mean}");
        }
    }

    #[test]
    fn partitions_drop_only_grudged_links_and_clients_are_instant() {
        let mut rng = Rng::new(1);
        let mut net = Net::new(Latency {
            mean_ms: 50,
            dist: Dist::Constant,
        });
        net.partition(&[vec![1], vec![], vec![]]);
        let (m, d) = net.send(Addr::Node(1), Addr::Node(0), "{}".into(), &mut rng);
        assert_eq!(d, 50_000_000);
        assert!(!net.receive(&m));
        let (m, _) = net.send(Addr::Node(0), Addr::Node(1), "{}".into(), &mut rng);
        assert!(net.receive(&m));
        let (m, d) = net.send(Addr::Client(4), Addr::Node(0), "{}".into(), &mut rng);
        assert_eq!(d, 0);
        assert!(net.receive(&m));
        let s = net.stats(2);
        assert_eq!((s.all.send_count, s.all.recv_count), (3, 2));
        assert_eq!(s.servers.msgs_per_op, Some(1.0));
        // What was sent before a partition or a heal keeps its fate.
        let (cut, _) = net.send(Addr::Node(1), Addr::Node(0), "{}".into(), &mut rng);
        net.heal();
        let (m, _) = net.send(Addr::Node(1), Addr::Node(0), "{}".into(), &mut rng);
        net.partition(&[vec![1], vec![], vec![]]);
        assert!(net.receive(&m));
        assert!(!net.receive(&cut));
    }
}
