//! The broadcast protocol as a pure state machine, so it can be unit-tested and
//! simulated natively without the SDK's timers or a host.
//!
//! Shape: a star. A value broadcast at a leaf goes "up" to the hub (at once, or in a
//! batch); the hub, once it learns a value from a leaf or a client, becomes responsible
//! for it and sends it "down" to everyone else in one batch per period. Each node thus
//! receives one message per hub period and sends at most one per uplink period, which
//! is the least a batching design can cost.
//!
//! Every batch travels over a reliable link: it carries a per-link sequence number,
//! the receiver acknowledges it on the next message it sends that way anyway (or
//! alone, after `ack_ms`, when it has nothing to say), and the sender resends the
//! values of a batch not acknowledged within `rto_ms`. Only what the peer has not
//! acknowledged is ever resent, so a round costs the same however long the run.
//!
//! Hubs are the first `hubs` nodes of `init`, in order: a leaf whose hub stops
//! answering (a batch timed out and nothing has come back since) sends its values up
//! to the next hub instead, and whoever receives a value "up" spreads it. So a
//! partitioned hub delays only the values it alone held, until the network heals.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// The knobs (see the README for which stage uses what).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// How often a hub sends its batch down to every node.
    pub down_ms: u64,
    /// How often a leaf sends its batch up; 0 sends each value up at once.
    pub up_ms: u64,
    /// With batched uplinks: send the batch this long before the hub's next batch is
    /// due (judged from when its last batch arrived), so values wait once, not twice.
    /// 0 keeps a free-running uplink period.
    pub lead_ms: u64,
    /// The resolution of the retransmission and acknowledgement clocks.
    pub tick_ms: u64,
    /// A batch not acknowledged within this long is resent.
    pub rto_ms: u64,
    /// An acknowledgement that found no message to ride on is sent alone after this long.
    pub ack_ms: u64,
    /// How many nodes may act as hub, in order of preference.
    pub hubs: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            down_ms: 100,
            up_ms: 0,
            lead_ms: 0,
            tick_ms: 100,
            rto_ms: 2000,
            ack_ms: 1000,
            hubs: 3,
        }
    }
}

impl Config {
    /// Claims the knobs from the guest arguments (`--down-ms 150`; `--batch-ms` is the
    /// old name of `--down-ms`). A bad value keeps the default; the parser reports it.
    pub fn from_args(args: &mut glomers::Args) -> Config {
        let d = Config::default();
        let down_ms = args.value("--batch-ms");
        Config {
            down_ms: args
                .value("--down-ms")
                .or(down_ms)
                .unwrap_or(d.down_ms)
                .max(1),
            up_ms: args.value_or("--up-ms", d.up_ms),
            lead_ms: args.value_or("--lead-ms", d.lead_ms),
            tick_ms: args.value_or("--tick-ms", d.tick_ms).max(1),
            rto_ms: args.value_or("--rto-ms", d.rto_ms).max(1),
            ack_ms: args.value_or("--ack-ms", d.ack_ms),
            hubs: args.value_or("--hubs", d.hubs).max(1),
        }
    }

    /// The knobs in a command line such as `"--down-ms 150"`, for tests.
    #[cfg(test)]
    pub fn parse(line: &str) -> Config {
        Config::from_args(&mut glomers::Args::from(line.split_whitespace()))
    }
}

/// The one inter-node message: a batch (with `seq`) and/or acknowledgements.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Gossip {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Values the receiver must spread to every other node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub up: Vec<i64>,
    /// Values the receiver only keeps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub down: Vec<i64>,
    /// Sequence numbers of the receiver's batches that arrived.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acks: Vec<u64>,
}

/// What the node must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Send(String, Gossip),
    /// (Re)arm the uplink timer to call `flush_up` after this many ms.
    ArmUp(u64),
}

#[derive(Serialize, Deserialize)]
struct Batch {
    sent_at: u64,
    up: Vec<i64>,
    down: Vec<i64>,
}

/// Our side of the link to one peer.
#[derive(Default, Serialize, Deserialize)]
struct Link {
    up: Vec<i64>,
    down: Vec<i64>,
    next_seq: u64,
    inflight: BTreeMap<u64, Batch>,
    owed: Vec<u64>,
    owed_since: Option<u64>,
    /// Timeouts since we last heard from the peer.
    failures: u32,
}

impl Link {
    fn has_data(&self) -> bool {
        !self.up.is_empty() || !self.down.is_empty()
    }

    /// A peer that timed out and has not been heard from since gets one batch in
    /// flight at a time: new values wait to ride on its retransmission, so an
    /// unreachable peer costs one message per `rto_ms`, not one per period.
    fn stalled(&self) -> bool {
        self.failures > 0 && !self.inflight.is_empty()
    }
}

/// Crosses a live swap whole: values, links, batches in flight (resent by `tick` if
/// unacknowledged, as after a loss).
#[derive(Serialize, Deserialize)]
pub struct Core {
    cfg: Config,
    me: String,
    hubs: Vec<String>,
    /// Virtual time in ms, advanced by `tick`.
    now: u64,
    seen: HashSet<i64>,
    values: Vec<i64>,
    links: BTreeMap<String, Link>,
    /// Whether a hub's batch has set our uplink's phase yet; until then values go up
    /// at once rather than wait out an unaligned period.
    synced: bool,
}

impl Core {
    pub fn new(cfg: Config, me: &str, nodes: &[String]) -> Core {
        let links = nodes
            .iter()
            .filter(|n| *n != me)
            .map(|n| (n.clone(), Link::default()))
            .collect();
        let hubs = nodes.iter().take(cfg.hubs).cloned().collect();
        Core {
            cfg,
            me: me.to_string(),
            hubs,
            now: 0,
            seen: HashSet::new(),
            values: Vec::new(),
            links,
            synced: false,
        }
    }

    /// What to arm once the node is running.
    pub fn start(&self) -> Vec<Out> {
        if self.cfg.up_ms > 0 {
            vec![Out::ArmUp(self.cfg.up_ms)]
        } else {
            Vec::new()
        }
    }

    /// Every value this node knows, in the order it learned them.
    pub fn values(&self) -> &[i64] {
        &self.values
    }

    /// A client broadcast `v` here.
    pub fn broadcast(&mut self, v: i64) -> Vec<Out> {
        if !self.learn(v) {
            return Vec::new();
        }
        let hub = self.route_up(vec![v]);
        let at_once = self.cfg.up_ms == 0 || (self.cfg.lead_ms > 0 && !self.synced);
        match hub {
            Some(hub) if at_once && !self.links.get(&hub).is_some_and(Link::stalled) => {
                self.send(&hub).into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    /// A gossip message arrived from `from`.
    pub fn receive(&mut self, from: &str, g: Gossip) -> Vec<Out> {
        let now = self.now;
        let Some(link) = self.links.get_mut(from) else {
            eprintln!("broadcast: gossip from unknown node {from}");
            return Vec::new();
        };
        link.failures = 0;
        for a in &g.acks {
            link.inflight.remove(a);
        }
        if let Some(seq) = g.seq {
            link.owed.push(seq);
            link.owed_since.get_or_insert(now);
        }
        for &v in &g.up {
            if self.learn(v) {
                self.fan_out(v, Some(from));
            }
        }
        for &v in &g.down {
            self.learn(v);
        }
        let c = &self.cfg;
        if !g.down.is_empty() && c.up_ms > 0 && c.lead_ms > 0 && self.hub() == from {
            // The hub's next batch leaves down_ms after this one did, i.e. about
            // down_ms - latency from now: arrive just before it.
            self.synced = true;
            return vec![Out::ArmUp(c.down_ms.saturating_sub(c.lead_ms).max(1))];
        }
        Vec::new()
    }

    /// The hub period: send every pending down batch, and with immediate uplinks any
    /// up values that had to wait (for a stalled link to recover).
    pub fn flush_down(&mut self) -> Vec<Out> {
        let up_too = self.cfg.up_ms == 0;
        let peers: Vec<String> = self
            .links
            .iter()
            .filter(|(_, l)| (!l.down.is_empty() || up_too && !l.up.is_empty()) && !l.stalled())
            .map(|(p, _)| p.clone())
            .collect();
        peers.iter().filter_map(|p| self.send(p)).collect()
    }

    /// The uplink timer: send every pending up batch and re-arm.
    pub fn flush_up(&mut self) -> Vec<Out> {
        let peers: Vec<String> = self
            .links
            .iter()
            .filter(|(_, l)| !l.up.is_empty() && !l.stalled())
            .map(|(p, _)| p.clone())
            .collect();
        let mut out: Vec<Out> = peers.iter().filter_map(|p| self.send(p)).collect();
        if self.cfg.up_ms > 0 {
            out.push(Out::ArmUp(self.cfg.up_ms));
        }
        out
    }

    /// Advances the clock by `tick_ms`: resends what timed out, sends overdue acks.
    pub fn tick(&mut self) -> Vec<Out> {
        self.now += self.cfg.tick_ms;
        let (now, rto, ack_ms) = (self.now, self.cfg.rto_ms, self.cfg.ack_ms);
        let mut resend = Vec::new();
        let mut reroute = Vec::new();
        for (p, l) in self.links.iter_mut() {
            if !l
                .inflight
                .values()
                .any(|b| now.saturating_sub(b.sent_at) >= rto)
            {
                continue;
            }
            // The younger batches are likely lost too: resending them all now leaves
            // one batch in flight, so a dead link costs one message per rto_ms.
            l.failures += 1;
            for b in std::mem::take(&mut l.inflight).into_values() {
                l.down.extend(b.down);
                reroute.extend(b.up);
            }
            resend.push(p.clone());
        }
        // The peer that timed out is now suspect, so this may pick another hub.
        if !reroute.is_empty() {
            if let Some(hub) = self.route_up(reroute) {
                resend.push(hub);
            }
        }
        resend.sort();
        resend.dedup();
        let mut out: Vec<Out> = resend.iter().filter_map(|p| self.send(p)).collect();
        for (p, l) in self.links.iter_mut() {
            if l.owed_since
                .is_some_and(|t| now.saturating_sub(t) >= ack_ms)
            {
                l.owed_since = None;
                let acks = std::mem::take(&mut l.owed);
                out.push(Out::Send(
                    p.clone(),
                    Gossip {
                        acks,
                        ..Gossip::default()
                    },
                ));
            }
        }
        out
    }

    fn learn(&mut self, v: i64) -> bool {
        let new = self.seen.insert(v);
        if new {
            self.values.push(v);
        }
        new
    }

    /// The hub this node sends its values to: the first that is this node or has not
    /// timed out since we last heard from it.
    fn hub(&self) -> &str {
        self.hubs
            .iter()
            .find(|h| **h == self.me || self.links.get(*h).is_some_and(|l| l.failures == 0))
            .or(self.hubs.first())
            .map_or(self.me.as_str(), String::as_str)
    }

    /// Queues `vals` for our hub; returns the hub, or None when we are it (then the
    /// values are queued down to everyone).
    fn route_up(&mut self, vals: Vec<i64>) -> Option<String> {
        let hub = self.hub().to_string();
        match self.links.get_mut(&hub) {
            Some(l) => {
                l.up.extend(vals);
                Some(hub)
            }
            None => {
                for v in vals {
                    self.fan_out(v, None);
                }
                None
            }
        }
    }

    /// This node is now responsible for spreading `v` to everyone but `skip`.
    fn fan_out(&mut self, v: i64, skip: Option<&str>) {
        for (p, l) in self.links.iter_mut() {
            if Some(p.as_str()) != skip {
                l.down.push(v);
            }
        }
    }

    /// Sends everything queued for `peer` as one batch, with any acks we owe it.
    fn send(&mut self, peer: &str) -> Option<Out> {
        let now = self.now;
        let l = self.links.get_mut(peer)?;
        if !l.has_data() {
            return None;
        }
        let mut up = std::mem::take(&mut l.up);
        let mut down = std::mem::take(&mut l.down);
        up.sort_unstable();
        up.dedup();
        down.sort_unstable();
        down.dedup();
        let seq = l.next_seq;
        l.next_seq += 1;
        l.inflight.insert(
            seq,
            Batch {
                sent_at: now,
                up: up.clone(),
                down: down.clone(),
            },
        );
        l.owed_since = None;
        let acks = std::mem::take(&mut l.owed);
        Some(Out::Send(
            peer.to_string(),
            Gossip {
                seq: Some(seq),
                up,
                down,
                acks,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("n{i}")).collect()
    }

    fn sends(outs: &[Out]) -> Vec<(&str, &Gossip)> {
        outs.iter()
            .filter_map(|o| match o {
                Out::Send(d, g) => Some((d.as_str(), g)),
                Out::ArmUp(_) => None,
            })
            .collect()
    }

    fn ticks(c: &mut Core, ms: u64) -> Vec<Out> {
        (0..ms / c.cfg.tick_ms).flat_map(|_| c.tick()).collect()
    }

    #[test]
    fn only_unacknowledged_values_are_resent() {
        let mut hub = Core::new(Config::default(), "n0", &nodes(3));
        hub.broadcast(1);
        let first = hub.flush_down();
        assert_eq!(sends(&first).len(), 2);
        hub.broadcast(2);
        hub.flush_down();
        // n1 acknowledges both batches, n2 only the first.
        hub.receive(
            "n1",
            Gossip {
                acks: vec![0, 1],
                ..Gossip::default()
            },
        );
        hub.receive(
            "n2",
            Gossip {
                acks: vec![0],
                ..Gossip::default()
            },
        );
        let outs = ticks(&mut hub, 2000);
        let s = sends(&outs);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].0, "n2");
        assert_eq!(s[0].1.down, vec![2]);
        // Nothing new and everything acknowledged: an idle cluster is silent.
        hub.receive(
            "n2",
            Gossip {
                acks: s[0].1.seq.into_iter().collect(),
                ..Gossip::default()
            },
        );
        assert!(ticks(&mut hub, 60_000).is_empty());
        assert!(hub.flush_down().is_empty());
    }

    #[test]
    fn acknowledgements_ride_on_traffic_and_go_alone_only_when_overdue() {
        let mut leaf = Core::new(Config::default(), "n1", &nodes(3));
        leaf.receive(
            "n0",
            Gossip {
                seq: Some(7),
                down: vec![5],
                ..Gossip::default()
            },
        );
        let outs = leaf.broadcast(9);
        let s = sends(&outs);
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].0, &s[0].1.up, &s[0].1.acks),
            ("n0", &vec![9], &vec![7])
        );
        leaf.receive(
            "n0",
            Gossip {
                seq: Some(8),
                acks: vec![0],
                ..Gossip::default()
            },
        );
        assert!(ticks(&mut leaf, 900).is_empty());
        let outs = ticks(&mut leaf, 100);
        let s = sends(&outs);
        assert_eq!(s.len(), 1);
        assert_eq!(
            *s[0].1,
            Gossip {
                acks: vec![8],
                ..Gossip::default()
            }
        );
    }

    #[test]
    fn a_silent_hub_is_bypassed_until_it_is_heard_from() {
        let mut leaf = Core::new(Config::default(), "n2", &nodes(5));
        let outs = leaf.broadcast(1);
        assert_eq!(sends(&outs)[0].0, "n0");
        // No ack from n0 within rto: the same value goes to the next hub, as "up".
        let outs = ticks(&mut leaf, 2000);
        let s = sends(&outs);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].0, &s[0].1.up), ("n1", &vec![1]));
        let outs = leaf.broadcast(2);
        assert_eq!(sends(&outs)[0].0, "n1");
        // Hearing from n0 again makes it the hub again.
        leaf.receive(
            "n0",
            Gossip {
                seq: Some(0),
                down: vec![3],
                ..Gossip::default()
            },
        );
        let outs = leaf.broadcast(4);
        assert_eq!(sends(&outs)[0].0, "n0");
    }

    #[test]
    fn whoever_receives_a_value_up_spreads_it() {
        let mut backup = Core::new(Config::default(), "n1", &nodes(4));
        backup.receive(
            "n3",
            Gossip {
                seq: Some(0),
                up: vec![6],
                ..Gossip::default()
            },
        );
        let outs = backup.flush_down();
        let mut dests: Vec<&str> = sends(&outs).iter().map(|s| s.0).collect();
        dests.sort();
        assert_eq!(dests, ["n0", "n2"]);
        // A value only passed down is kept, not passed on.
        backup.receive(
            "n0",
            Gossip {
                seq: Some(0),
                down: vec![7],
                ..Gossip::default()
            },
        );
        assert!(sends(&backup.flush_down()).is_empty());
        assert_eq!(backup.values(), [6, 7]);
    }

    #[test]
    fn a_hub_batch_sets_the_uplink_phase() {
        let cfg = Config::parse("--up-ms 800 --down-ms 800 --lead-ms 250");
        let mut leaf = Core::new(cfg, "n1", &nodes(3));
        assert_eq!(leaf.start(), vec![Out::ArmUp(800)]);
        // Before the phase is known a value goes up at once...
        assert_eq!(sends(&leaf.broadcast(1)).len(), 1);
        let outs = leaf.receive(
            "n0",
            Gossip {
                seq: Some(0),
                down: vec![2],
                ..Gossip::default()
            },
        );
        assert_eq!(outs, vec![Out::ArmUp(550)]);
        // ...after it, values wait for the uplink timer, which sends them in one batch.
        assert!(leaf.broadcast(3).is_empty());
        assert!(leaf.broadcast(4).is_empty());
        let outs = leaf.flush_up();
        let s = sends(&outs);
        assert_eq!((s.len(), &s[0].1.up), (1, &vec![3, 4]));
        assert!(outs.contains(&Out::ArmUp(800)));
    }

    #[test]
    fn arguments_are_parsed_and_bad_ones_ignored() {
        let mut args = glomers::Args::from([
            "--",
            "--down-ms=250",
            "--hubs",
            "0",
            "--rto-ms",
            "soon",
            "stray",
            "--frob",
            "1",
            "--up-ms",
            "5",
        ]);
        let c = Config::from_args(&mut args);
        assert_eq!(c.down_ms, 250);
        assert_eq!(c.hubs, 1);
        assert_eq!(c.rto_ms, Config::default().rto_ms);
        assert_eq!(c.up_ms, 5);
        // The bad value, the stray word and the unknown option (and its value).
        assert_eq!(args.finish().len(), 4);
    }
}
