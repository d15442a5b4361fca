//! The summary a person reads after a run: what ran, Maelstrom's figures, and what
//! failed in words they can act on, ending with the command that replays the run.

use std::fmt::Write as _;

use crate::nemesis::{Event, Lasting, What};
use crate::net::NetCounts;
use crate::outcome::Outcome;
use crate::upgrade::{How, NodeUpgrade, Upgrades};
use crate::workload::Valid;

/// Prints the summary; a closed stdout (`| head`) is not an error.
pub fn print(o: &Outcome) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text(o).as_bytes());
}

/// `n` and the noun, plural unless `n` is one: "1 node", "3 nodes".
fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn per_op(kind: &str, k: &NetCounts) -> String {
    match k.msgs_per_op {
        Some(m) => format!("{kind} {} msgs ({m:.2}/op)", k.msg_count),
        None => format!("{kind} {} msgs", k.msg_count),
    }
}

/// How many nemesis operations the summary lists; the JSON has them all.
const MAX_FAULTS: usize = 40;

/// One nemesis operation: when, what, and whom.
fn fault_line(e: &Event, time_limit: f64) -> String {
    let time = e.at as f64 / 1e9;
    let f = e.what.f();
    let whom = match &e.what {
        What::Partition { spec, .. } => spec.name().to_string(),
        What::Heal => String::new(),
        w if w.nodes().is_empty() => "nobody".to_string(),
        w => w.nodes().join(" "),
    };
    let mut line = format!("{time:>8.3} s  {f} {whom}");
    match &e.what {
        What::Kill { targets, .. } | What::Pause { targets, .. } => {
            let _ = write!(line, " ({})", targets.name());
        }
        What::Upgrade {
            how, state_carried, ..
        } => {
            let carried = if *state_carried {
                "state carried"
            } else {
                "state not carried"
            };
            let _ = write!(line, " ({}, {carried})", how.name());
        }
        _ => {}
    }
    let mut line = line.trim_end().to_string();
    if e.what == What::Heal && time >= time_limit {
        line.push_str(" (the heal before the final reads)");
    }
    line
}

/// One node's switch: when its turn came, and what became of it.
fn upgrade_line(u: &NodeUpgrade) -> String {
    let carried = match (&u.fresh_because, u.state_carried) {
        (_, true) => "state carried".to_string(),
        (Some(why), false) => format!("state not carried ({why}): it started afresh"),
        (None, false) => "state not carried: it started afresh".to_string(),
    };
    let what = match (u.how, u.switched) {
        (How::Live, _) => format!("switched, {carried}"),
        (How::Resumed, Some(t)) => {
            format!("paused at its turn; switched on resuming at {t:.3} s, {carried}")
        }
        (How::Started, Some(t)) => format!(
            "started again after a kill, as the new version, at {t:.3} s, with no state to carry"
        ),
        (How::Pending, _) => "down or paused at its turn, and never back".to_string(),
        _ => "did not switch".to_string(),
    };
    let mut line = format!("{:>8.3} s  {} {what}", u.turn, u.node);
    if let (Some(ms), true) = (u.pause_ms, u.how == How::Live) {
        let _ = write!(line, " (paused {ms:.1} ms real time)");
    }
    if let Some(e) = &u.error {
        let _ = write!(line, "; refused: {e}");
    }
    line
}

/// The rolling upgrade: its plan, its tally, then each node in the roll's order.
fn upgrade_text(u: &Upgrades) -> String {
    let (switched, carried) = u.counts();
    let mut out = format!(
        "  upgrade  to {}, from {:.3} s, a node every {:.3} s: {switched} of {} switched, {carried} with their state\n",
        u.to,
        u.start,
        u.gap,
        u.nodes.len()
    );
    for n in &u.nodes {
        let _ = writeln!(out, "    {}", upgrade_line(n));
    }
    out
}

impl Outcome {
    /// The summary a person reads, as `host test` prints it.
    pub fn summary(&self) -> String {
        text(self)
    }
}

/// The operations' line, shared by a run's summary and `host check`'s.
pub fn ops_line(o: &Outcome) -> String {
    let s = &o.stats;
    // fail: surely not done; info: no reply in time, may or may not have happened.
    format!(
        "  ops      {} completed: {} ok, {} fail, {} info (unknown outcome); {:.2}% ok",
        s["count"],
        s["ok-count"],
        s["fail-count"],
        s["info-count"],
        100.0 * o.availability.ok_fraction
    )
}

/// The summary's text.
pub fn text(o: &Outcome) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    macro_rules! say {
        ($($t:tt)*) => {
            let _ = writeln!(out, $($t)*);
        };
    }
    say!(
        "host test -w {}: {} of {}, {}, seed {}",
        o.about.workload,
        count(o.about.node_count as u64, "node"),
        o.about.node,
        count(o.sim.clients as u64, "client"),
        o.seed
    );
    say!("{}", ops_line(o));
    say!(
        "  net      {}; {}; {}",
        per_op("all", &o.net.all),
        per_op("clients", &o.net.clients),
        // As Maelstrom counts them: between servers, the services (lin-kv...) included.
        per_op("servers (nodes and services)", &o.net.servers)
    );
    let dropped = o.net.all.send_count.saturating_sub(o.net.all.recv_count);
    if dropped > 0 {
        say!("           {dropped} messages dropped by partitions (sent, never received)");
    }
    for line in &o.summary {
        say!("  {line}");
    }
    if let Some(u) = &o.upgrade {
        out.push_str(&upgrade_text(u));
    }
    if let Some(nemesis) = o.nemesis.as_ref().filter(|_| o.about.had_nemesis) {
        // Kills and pauses that found nobody to hit do not count.
        let faults = |kind: Lasting| {
            nemesis
                .iter()
                .filter(|e| {
                    e.what.begins() == Some(kind)
                        && (kind == Lasting::Partition || !e.what.nodes().is_empty())
                })
                .count() as u64
        };
        say!(
            "  nemesis  {}, {}, {} (who was cut off from whom: in the JSON):",
            count(faults(Lasting::Partition), "partition"),
            count(faults(Lasting::Kill), "kill"),
            count(faults(Lasting::Pause), "pause")
        );
        for e in nemesis.iter().take(MAX_FAULTS) {
            say!("    {}", fault_line(e, o.sim.time_limit));
        }
        if nemesis.len() > MAX_FAULTS {
            say!(
                "    ... and {} more in the JSON",
                nemesis.len() - MAX_FAULTS
            );
        }
    }
    if o.crashes.count > 0 {
        say!(
            "  crashes  {} (the nodes restarted); first:",
            o.crashes.count
        );
        for c in o.crashes.first.iter().take(3) {
            // The cause only; the backtrace is in the JSON and the node's log.
            say!(
                "    {} at {:.3} s: {} (backtrace in {}.log)",
                c.node,
                c.time,
                c.error.lines().next().unwrap_or("").trim(),
                c.node
            );
        }
    }
    for w in &o.warnings {
        say!("  warning: {w}");
    }
    let (secs, wall) = (o.sim.seconds, o.wall.seconds);
    // Past the time limit come the heal, the quiet period and the final reads.
    let after = if secs > o.sim.time_limit + 1e-3 {
        format!(
            " ({} s of operations, then {:.1} s of quiet period and final reads)",
            o.sim.time_limit,
            secs - o.sim.time_limit
        )
    } else {
        String::new()
    };
    if !o.sim.real_time {
        say!(
            "  time     {secs:.1} s simulated{after} in {wall:.2} s ({:.0}x real time)",
            secs / wall.max(1e-9)
        );
    } else {
        say!("  time     {wall:.1} s{after}");
    }
    say!("  logs     {}/", o.wall.logs.display());
    match o.valid {
        Valid::True => {
            say!("{:#} (seed {})", o.valid, o.seed);
        }
        v => {
            say!("{v:#} (seed {}):", o.seed);
            for p in &o.problems {
                say!("  - {p}");
            }
        }
    }
    let report = o.wall.logs.join(crate::report::REPORT);
    if report.exists() {
        say!("report: {}", report.display());
    }
    if o.sim.real_time {
        // Processes on the real clock: the same options and seed, not the same run.
        say!(
            "replay (the same options and seed; --bin runs on the real clock, so not exactly): {}",
            o.command
        );
    } else {
        say!("replay: {}", o.command);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(count(1u64, "node"), "1 node");
        assert_eq!(count(0u64, "node"), "0 nodes");
        assert_eq!(count(25u64, "client"), "25 clients");
    }

    #[test]
    fn the_last_heal_is_named_as_such() {
        let heal = Event {
            at: 20_000_000_000,
            what: What::Heal,
        };
        assert_eq!(
            fault_line(&heal, 20.0),
            "  20.000 s  stop-partition (the heal before the final reads)"
        );
        let mid = Event {
            at: 8_500_000_000,
            what: What::Heal,
        };
        assert_eq!(fault_line(&mid, 20.0), "   8.500 s  stop-partition");
    }

    #[test]
    fn fault_lines_name_whom_and_how() {
        use crate::nemesis::{Spec, Targets};
        let line = |what| {
            fault_line(
                &Event {
                    at: 1_250_000_000,
                    what,
                },
                20.0,
            )
        };
        let partition = What::Partition {
            spec: Spec::Majority,
            grudge: Default::default(),
        };
        assert_eq!(line(partition), "   1.250 s  start-partition majority");
        let kill = What::Kill {
            nodes: vec!["n1".into(), "n2".into()],
            targets: Targets::Minority,
        };
        assert_eq!(line(kill), "   1.250 s  kill n1 n2 (minority)");
        let start = What::Start { nodes: vec![] };
        assert_eq!(line(start), "   1.250 s  start nobody");
        let upgrade = What::Upgrade {
            node: "n3".into(),
            how: How::Resumed,
            state_carried: false,
            fresh_because: None,
            error: None,
        };
        assert_eq!(
            line(upgrade),
            "   1.250 s  upgrade n3 (resumed, state not carried)"
        );
    }
}
