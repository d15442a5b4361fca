//! What the report's page is drawn from, computed here rather than in the page so it
//! can be tested: the lanes and messages of the Lamport diagram, the diagram's first
//! window of time, the latency points, the request rate and latency quantiles per
//! bucket of time, the fault intervals, and the reasons with their moments.
//! Everything goes into the page as compact JSON: arrays, not an object per message,
//! and times as whole microseconds since the run began.

use serde::ser::{SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::history::{History, Kind};
use crate::journal::{Fate, Journal};
use crate::nemesis::{self, Event, What};
use crate::net::Addr;
use crate::outcome::{Outcome, Problem};
use crate::stats;

/// Arrows the diagram shows at first: enough to see the pattern, few enough to read.
pub const FIRST_WINDOW_ARROWS: usize = 400;
/// Beyond this many clients, each node's clients share one lane.
const MAX_CLIENT_LANES: usize = 30;
/// Bodies longer than this are cut in the page (whole in `messages.jsonl`).
const MAX_BODY: usize = 1000;
/// Past this many bytes of messages in the page, bodies stay in `messages.jsonl`
/// only, so a long run's page still opens quickly.
const MAX_BODIES_BYTES: usize = 8_000_000;
/// The quantile lines of the latency plot, as Jepsen draws them.
pub const LINE_QUANTILES: [f64; 4] = [0.5, 0.95, 0.99, 1.0];

/// Nanoseconds to the page's microseconds.
fn us(ns: u64) -> u64 {
    ns / 1000
}

/// Whether a message, in the air from `sent` to `arrived`, shows in the window
/// `[a, b]`: some of its flight is inside it. The page draws by the same rule.
pub fn in_window(sent: u64, arrived: u64, a: u64, b: u64) -> bool {
    sent <= b && arrived >= a
}

/// The diagram's first window, `[a, b]` in the times of `flights` (each message's
/// (sent, arrived)): the widest of 1, 2, 5 × 10^k units that holds at most `max`
/// messages, centred on `focus` when there is one (a reason's moment), else
/// starting at `start`; never narrower than `min_width`, never past `end`.
pub fn first_window(
    flights: &[(u64, u64)],
    start: u64,
    focus: Option<u64>,
    end: u64,
    max: usize,
    min_width: u64,
) -> (u64, u64) {
    let place = |w: u64| match focus {
        Some(f) => {
            let a = f.saturating_sub(w / 2);
            (a, a + w)
        }
        None => (start, start + w),
    };
    let count = |(a, b): (u64, u64)| {
        flights
            .iter()
            .filter(|&&(s, r)| in_window(s, r, a, b))
            .count()
    };
    let mut best = place(min_width.max(1));
    let mut w = min_width.max(1);
    let span = end.max(1);
    for step in nice_steps() {
        if step < w {
            continue;
        }
        let win = place(step);
        if count(win) > max {
            break;
        }
        best = win;
        w = step;
        if step >= span {
            break;
        }
    }
    // Nothing happens after the end of the run.
    (best.0, best.1.min(end.max(best.0 + min_width)))
}

/// 1, 2, 5, 10, 20, 50, ... up to u64's range.
fn nice_steps() -> impl Iterator<Item = u64> {
    (0..18u32).flat_map(|k| [1, 2, 5].map(|m| m * 10u64.pow(k)))
}

/// The width of the plots' buckets: a nice step near a thirtieth of the run, at
/// least `min` (Jepsen uses 10 s for rates and 30 s for quantiles, for runs of
/// minutes; a Maelstrom challenge runs 20 or 30 s).
pub fn bucket_width(end: u64, min: u64) -> u64 {
    let target = (end / 30).max(min).max(1);
    nice_steps().find(|&s| s >= target).unwrap_or(target)
}

/// Completions per second in each bucket of `dt` from 0 to `end`, by outcome
/// (ok, fail, info), at the completion's time, as Jepsen's rate plot.
/// `completions`: (time, outcome index).
pub fn rate(completions: &[(u64, usize)], dt: u64, end: u64) -> Vec<[f64; 3]> {
    let dt = dt.max(1);
    let n = (end / dt + 1) as usize;
    let mut buckets = vec![[0f64; 3]; n];
    let per = 1e6 / dt as f64;
    for &(t, k) in completions {
        let b = ((t / dt) as usize).min(n - 1);
        if k < 3 {
            buckets[b][k] += per;
        }
    }
    buckets
}

/// For each of `qs`, the latency at that quantile in each bucket of `dt` that has
/// operations, at the bucket's middle, as Jepsen's quantile plot; `points`:
/// (invocation time, latency).
pub fn quantile_lines(points: &[(u64, u64)], dt: u64, qs: &[f64]) -> Vec<Vec<(u64, u64)>> {
    let dt = dt.max(1);
    let mut buckets: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for &(t, lat) in points {
        buckets.entry(t / dt).or_default().push(lat);
    }
    for v in buckets.values_mut() {
        v.sort_unstable();
    }
    qs.iter()
        .map(|&q| {
            buckets
                .iter()
                .filter_map(|(b, v)| Some((b * dt + dt / 2, stats::quantile(v, q)?)))
                .collect()
        })
        .collect()
}

/// A stretch of time a fault lasted, as the page shades it.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// When it began and ended, µs (the end of the run if it never ended).
    pub start: u64,
    pub end: u64,
    /// What began it: `start-partition`, `kill`, `pause`, ...
    pub f: &'static str,
    /// Its shape or its nodes, in words.
    pub label: String,
    /// Every detail the nemesis logged (the grudge, else the nodes), as JSON text.
    pub detail: String,
}

/// The faults of a fault list as the page shades them, `end` being the end of the
/// run in µs: each beginning until the next end of its kind, each other operation
/// an instant ([`nemesis::spans`]).
pub fn fault_intervals(log: &[Event], end: u64) -> Vec<Fault> {
    nemesis::spans(log, end.saturating_mul(1000))
        .into_iter()
        .map(|span| {
            let what = &span.event.what;
            let (label, detail) = match what {
                What::Partition { spec, grudge } => (
                    spec.name().to_string(),
                    serde_json::to_string(grudge).unwrap_or_default(),
                ),
                What::Heal => (String::new(), "null".to_string()),
                w => (
                    w.nodes().join(" "),
                    serde_json::to_string(w.nodes()).unwrap_or_default(),
                ),
            };
            Fault {
                start: us(span.event.at),
                end: us(span.end),
                f: what.f(),
                label,
                detail,
            }
        })
        .collect()
}

/// A reason as the page's data holds it: the sentence, its moment in µs, its node.
pub fn reason(p: &Problem) -> Value {
    json!([p.text, p.at.map(us), p.node])
}

/// The moment the diagram opens on (µs): the first reason's that has one.
pub fn focus(problems: &[Problem]) -> Option<u64> {
    problems.iter().find_map(|p| p.at).map(us)
}

/// Who a lane is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneKind {
    Node = 0,
    Service = 1,
    Client = 2,
}

/// The lanes of the diagram: every node, every service used, and every client (or,
/// past 30 clients, the clients of each node together, since a client only ever
/// talks to one node); and the lane of each address.
pub struct Lanes {
    /// Each lane's name and kind.
    pub lanes: Vec<(String, LaneKind)>,
    /// The lane of each address seen.
    pub of: BTreeMap<Addr, usize>,
    /// Whether clients share lanes (so a message names its client itself).
    pub grouped: bool,
}

impl Lanes {
    pub fn new(journal: &Journal, nodes: &[String]) -> Lanes {
        let mut lanes: Vec<(String, LaneKind)> =
            nodes.iter().map(|n| (n.clone(), LaneKind::Node)).collect();
        let mut of: BTreeMap<Addr, usize> = (0..nodes.len()).map(|i| (Addr::Node(i), i)).collect();
        let mut services = std::collections::BTreeSet::new();
        // Each client's node: the other end of its first message.
        let mut clients: BTreeMap<u64, Option<usize>> = BTreeMap::new();
        for e in &journal.entries {
            for (a, other) in [(e.src, e.dest), (e.dest, e.src)] {
                match a {
                    Addr::Service(i) => {
                        services.insert(i);
                    }
                    Addr::Client(c) => {
                        let node = match other {
                            Addr::Node(n) => Some(n),
                            _ => None,
                        };
                        clients.entry(c).or_insert(node);
                    }
                    Addr::Node(_) => {}
                }
            }
        }
        for s in services {
            of.insert(Addr::Service(s), lanes.len());
            lanes.push((
                crate::journal::name(Addr::Service(s), nodes),
                LaneKind::Service,
            ));
        }
        let grouped = clients.len() > MAX_CLIENT_LANES;
        if !grouped {
            for &c in clients.keys() {
                of.insert(Addr::Client(c), lanes.len());
                lanes.push((format!("c{c}"), LaneKind::Client));
            }
        } else {
            let mut group: BTreeMap<Option<usize>, usize> = BTreeMap::new();
            for (&c, &node) in &clients {
                let lane = *group.entry(node).or_insert_with(|| {
                    let name = match node.and_then(|n| nodes.get(n)) {
                        Some(n) => format!("clients of {n}"),
                        None => "other clients".into(),
                    };
                    lanes.push((name, LaneKind::Client));
                    lanes.len() - 1
                });
                of.insert(Addr::Client(c), lane);
            }
        }
        Lanes { lanes, of, grouped }
    }
}

/// The message type in a body: its `type` field.
fn message_type(body: &str) -> String {
    #[derive(Deserialize)]
    struct Typed<'a> {
        #[serde(borrow, rename = "type")]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    match serde_json::from_str::<Typed>(body) {
        Ok(Typed { kind: Some(k) }) => k.into_owned(),
        _ => "?".into(),
    }
}

/// Appends `body` to `out` as JSON: itself if it is short JSON, else as a string
/// (cut to `MAX_BODY` characters).
fn push_body(out: &mut String, body: &str) {
    if body.len() <= MAX_BODY && serde_json::from_str::<&RawValue>(body).is_ok() {
        out.push_str(body.trim());
        return;
    }
    let cut: String = if body.len() > MAX_BODY {
        let mut s: String = body.chars().take(MAX_BODY).collect();
        s.push('…');
        s
    } else {
        body.into()
    };
    out.push_str(&Value::String(cut).to_string());
}

/// One completed operation as the page plots it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    /// When it was invoked, and how long it took, µs.
    pub invoked: u64,
    pub latency: u64,
    pub kind: Kind,
    /// Its f, as an index into the names [`operations`] gives with it.
    pub f: usize,
    /// The node its client talked to.
    pub node: usize,
    /// Part of the workload's final phase.
    pub is_final: bool,
}

impl Operation {
    /// When it completed, µs.
    pub fn completed(&self) -> u64 {
        self.invoked + self.latency
    }

    /// Its outcome as the page numbers them: 0 ok, 1 fail, 2 info.
    pub fn outcome(&self) -> usize {
        match self.kind {
            Kind::Ok => 0,
            Kind::Fail => 1,
            _ => 2,
        }
    }
}

impl Serialize for Operation {
    /// An array, `[invoked, latency, outcome, f, node, final]`, as compact as the
    /// page needs.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(6)?;
        t.serialize_element(&self.invoked)?;
        t.serialize_element(&self.latency)?;
        t.serialize_element(&self.outcome())?;
        t.serialize_element(&self.f)?;
        t.serialize_element(&self.node)?;
        t.serialize_element(&(self.is_final as u8))?;
        t.end()
    }
}

/// Every completed operation of the history, and the names of their f's.
pub fn operations(h: &History) -> (Vec<Operation>, Vec<&'static str>) {
    let mut fs: Vec<&'static str> = Vec::new();
    let mut ops = Vec::new();
    for c in h.completions() {
        let Some(inv) = c.invoke.and_then(|i| h.entries.get(i)) else {
            continue;
        };
        let f = match fs.iter().position(|&f| f == c.f) {
            Some(i) => i,
            None => {
                fs.push(c.f);
                fs.len() - 1
            }
        };
        ops.push(Operation {
            invoked: us(inv.time),
            latency: us(c.time.saturating_sub(inv.time)),
            kind: c.kind,
            f,
            node: inv.node,
            is_final: c.is_final,
        });
    }
    (ops, fs)
}

/// The page's data, as JSON text to put in a `<script type="application/json">`.
pub fn page_data(o: &Outcome, journal: &Journal, nodes: &[String]) -> String {
    let end = us(journal
        .entries
        .iter()
        .map(|e| e.arrived.unwrap_or(e.sent))
        .chain(o.history.entries.iter().map(|e| e.time))
        .max()
        .unwrap_or(0)
        .max((o.sim.seconds * 1e9) as u64));
    let lanes = Lanes::new(journal, nodes);

    // Messages: [sent, arrived (-1 in flight), src lane, dest lane, type, fate, body],
    // and the client's number when clients share lanes.
    let mut types: Vec<String> = Vec::new();
    let mut msgs = String::from("[");
    let mut flights = Vec::with_capacity(journal.entries.len());
    for (k, e) in journal.entries.iter().enumerate() {
        let t = message_type(&e.body);
        let ti = match types.iter().position(|x| *x == t) {
            Some(i) => i,
            None => {
                types.push(t);
                types.len() - 1
            }
        };
        let lane = |a: Addr| lanes.of.get(&a).copied().unwrap_or(0);
        let arrived = e.arrived.map(|a| us(a) as i64).unwrap_or(-1);
        flights.push((us(e.sent), if arrived < 0 { end } else { arrived as u64 }));
        let fate = match e.fate {
            Fate::Delivered => 0,
            Fate::Dropped => 1,
            Fate::InFlight => 2,
        };
        if k > 0 {
            msgs.push(',');
        }
        let _ = write!(
            msgs,
            "[{},{},{},{},{},{},",
            us(e.sent),
            arrived,
            lane(e.src),
            lane(e.dest),
            ti,
            fate
        );
        if msgs.len() < MAX_BODIES_BYTES {
            push_body(&mut msgs, &e.body);
        } else {
            msgs.push_str("\"(too many messages for the page: see messages.jsonl)\"");
        }
        if lanes.grouped {
            if let (Addr::Client(c), _) | (_, Addr::Client(c)) = (e.src, e.dest) {
                let _ = write!(msgs, ",{c}");
            }
        }
        msgs.push(']');
    }
    msgs.push(']');

    let (ops, fs) = operations(&o.history);
    let start = o
        .history
        .invocations()
        .next()
        .map(|e| us(e.time))
        .unwrap_or(0);
    let dt = bucket_width(end, 100_000);
    let completions: Vec<(u64, usize)> = ops
        .iter()
        .map(|op| (op.completed(), op.outcome()))
        .collect();
    let points: Vec<(u64, u64)> = ops.iter().map(|op| (op.invoked, op.latency)).collect();
    let rates = rate(&completions, dt, end);
    let lines = quantile_lines(&points, dt, &LINE_QUANTILES);
    let faults = fault_intervals(o.nemesis.as_deref().unwrap_or(&[]), end);

    let reasons: Vec<Value> = o.problems.iter().map(reason).collect();
    let focus = focus(&o.problems);
    let window = first_window(&flights, start, focus, end, FIRST_WINDOW_ARROWS, 1_000);

    let head = json!({
        "workload": o.about.workload,
        "node": o.about.node,
        "seed": o.seed,
        "valid": o.valid.to_string(),
        "command": o.command,
        "reasons": reasons,
        "warnings": o.warnings,
        "summary": o.summary,
        "figures": figures(o),
        "end": end,
        "start": start,
        "lanes": lanes.lanes.iter().map(|(n, k)| json!([n, *k as u8])).collect::<Vec<_>>(),
        "types": types,
        "fs": fs,
        "ops": ops,
        "dt": dt,
        "rate": rates.iter().map(|r| r.map(|x| (x * 100.0).round() / 100.0)).collect::<Vec<_>>(),
        "qs": LINE_QUANTILES,
        "lines": lines.iter().map(|l| l.iter().map(|&(t, v)| [t, v]).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "faults": faults.iter().map(|f| json!([f.start, f.end, f.f, f.label, f.detail])).collect::<Vec<_>>(),
        "window": [window.0, window.1],
    });
    // The messages go in as built (bodies are the nodes' own JSON text).
    let mut text = head.to_string();
    text.pop();
    text.push_str(",\"msgs\":");
    text.push_str(&msgs);
    text.push('}');
    // Inside <script>, "</" could end the element; "<\/" means the same in JSON.
    text.replace("</", "<\\/")
}

/// Maelstrom's figures, as (group, name, value) rows for the page's table.
pub fn figures(o: &Outcome) -> Vec<[String; 3]> {
    let mut rows: Vec<[String; 3]> = Vec::new();
    let mut row = |g: &str, k: &str, v: String| rows.push([g.into(), k.into(), v]);
    let s = &o.stats;
    row(
        "ops",
        "completed",
        format!(
            "{} ({} ok, {} fail, {} info)",
            s["count"], s["ok-count"], s["fail-count"], s["info-count"]
        ),
    );
    row(
        "ops",
        "availability",
        format!("{:.2}% ok", 100.0 * o.availability.ok_fraction),
    );
    for (name, k) in [
        ("all", &o.net.all),
        ("clients", &o.net.clients),
        ("servers", &o.net.servers),
    ] {
        row(
            "net",
            name,
            match k.msgs_per_op {
                Some(m) => format!("{} msgs, {m:.2}/op", k.msg_count),
                None => format!("{} msgs", k.msg_count),
            },
        );
    }
    if let Some(lat) = &o.latency {
        let q = lat
            .quantiles()
            .iter()
            .map(|(name, ms)| format!("{name}: {ms:.1}"))
            .collect::<Vec<_>>()
            .join(", ");
        row("latency", "ok ops (ms)", q);
    }
    for (k, v) in &o.workload.figures {
        match v {
            Value::Object(m) if !m.is_empty() && m.keys().all(|k| k.parse::<f64>().is_ok()) => {
                let q = m
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                row(&o.about.workload, k, q);
            }
            Value::Number(_) | Value::Bool(_) | Value::String(_) => {
                row(&o.about.workload, k, v.to_string())
            }
            // Lists of values: their first few; lists of records are in the JSON.
            Value::Array(a) if a.is_empty() || a.iter().any(Value::is_object) => {}
            Value::Array(a) if a.len() <= 12 => row(&o.about.workload, k, v.to_string()),
            Value::Array(a) => row(&o.about.workload, k, format!("{} values", a.len())),
            _ => {}
        }
    }
    row(
        "run",
        "time",
        if o.sim.real_time {
            format!("{:.1} s real time", o.wall.seconds)
        } else {
            format!(
                "{:.1} s simulated in {:.2} s",
                o.sim.seconds, o.wall.seconds
            )
        },
    );
    row(
        "run",
        "nodes, clients",
        format!("{}, {}", o.sim.nodes, o.sim.clients),
    );
    if o.crashes.count > 0 {
        row("run", "crashes", o.crashes.count.to_string());
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_membership_is_any_overlap() {
        assert!(in_window(5, 15, 10, 20));
        assert!(in_window(15, 25, 10, 20));
        assert!(in_window(0, 30, 10, 20));
        assert!(in_window(10, 10, 10, 20));
        assert!(!in_window(0, 9, 10, 20));
        assert!(!in_window(21, 22, 10, 20));
    }

    #[test]
    fn the_first_window_is_the_widest_nice_one_under_the_limit() {
        // One message a ms, each 1 ms in the air, from 0 to 10 s.
        let flights: Vec<(u64, u64)> = (0..10_000u64)
            .map(|i| (i * 1000, i * 1000 + 1000))
            .collect();
        let (a, b) = first_window(&flights, 2_000_000, None, 10_000_000, 400, 1_000);
        assert_eq!(a, 2_000_000);
        // 200 ms holds 202 messages, 500 ms would hold 502.
        assert_eq!(b - a, 200_000);
        let n = flights
            .iter()
            .filter(|&&(s, r)| in_window(s, r, a, b))
            .count();
        assert!(n <= 400, "{n}");
        // Centred on a focus, and the whole run when it is short enough.
        let (a, b) = first_window(&flights, 0, Some(5_000_000), 10_000_000, 400, 1_000);
        assert_eq!((a, b), (4_900_000, 5_100_000));
        let few = [(0, 10), (100, 200)];
        assert_eq!(first_window(&few, 0, None, 1_000, 400, 1).1, 1_000);
        assert_eq!(first_window(&few, 0, None, 1_500, 400, 1), (0, 1_500));
        // A window never goes below its minimum, however crowded.
        let crowd = vec![(5, 5); 1000];
        assert_eq!(first_window(&crowd, 0, None, 1_000, 10, 50), (0, 50));
    }

    #[test]
    fn buckets_are_nice_and_rates_are_per_second() {
        assert_eq!(bucket_width(30_000_000, 100_000), 1_000_000);
        assert_eq!(bucket_width(20_000_000, 100_000), 1_000_000);
        assert_eq!(bucket_width(100_000, 100_000), 100_000);
        assert_eq!(bucket_width(300_000_000, 1), 10_000_000);
        // Two ok and one info in the first half second, one fail in the second.
        let r = rate(
            &[(0, 0), (400_000, 0), (499_999, 2), (500_000, 1)],
            500_000,
            1_000_000,
        );
        assert_eq!(r.len(), 3);
        assert_eq!(r[0], [4.0, 0.0, 2.0]);
        assert_eq!(r[1], [0.0, 2.0, 0.0]);
        assert_eq!(r[2], [0.0; 3]);
    }

    #[test]
    fn quantile_lines_per_bucket_with_the_shared_formula() {
        // Bucket 0: latencies 1..=10; bucket 2: a single 7; bucket 1 empty.
        let mut pts: Vec<(u64, u64)> = (1..=10).map(|l| (l * 10, l)).collect();
        pts.push((2_500, 7));
        let lines = quantile_lines(&pts, 1_000, &[0.5, 1.0]);
        // floor(10 × 0.5) = 5: the sixth smallest.
        assert_eq!(lines[0], vec![(500, 6), (2_500, 7)]);
        assert_eq!(lines[1], vec![(500, 10), (2_500, 7)]);
    }

    #[test]
    fn fault_intervals_are_the_spans_in_the_pages_units_and_words() {
        use crate::nemesis::{Spec, Targets};
        let log = vec![
            Event {
                at: 1_000_000_000,
                what: What::Partition {
                    spec: Spec::Majority,
                    grudge: [("n0".to_string(), vec!["n1".to_string()])].into(),
                },
            },
            Event {
                at: 3_500_000_000,
                what: What::Heal,
            },
            Event {
                at: 4_000_000_000,
                what: What::Kill {
                    nodes: vec!["n2".into(), "n3".into()],
                    targets: Targets::Minority,
                },
            },
        ];
        let f = fault_intervals(&log, 9_000_000);
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].start, f[0].end, f[0].f, f[0].label.as_str()),
            (1_000_000, 3_500_000, "start-partition", "majority")
        );
        assert_eq!(f[0].detail, r#"{"n0":["n1"]}"#);
        // Never restarted: lasts to the end of the run.
        assert_eq!(
            (f[1].f, f[1].start, f[1].end, f[1].label.as_str()),
            ("kill", 4_000_000, 9_000_000, "n2 n3")
        );
        assert_eq!(f[1].detail, r#"["n2","n3"]"#);
    }

    #[test]
    fn reasons_carry_their_moment_and_the_diagram_opens_on_the_first() {
        let problems = vec![
            Problem::new("15 values were lost in all"),
            Problem::new("value 3 was lost: broadcast to n1 at 1.250 s")
                .at(1_250_123_456)
                .node("n1"),
            Problem::new("another").at(7_000_000_000),
        ];
        assert_eq!(focus(&problems), Some(1_250_123));
        assert_eq!(focus(&problems[..1]), None);
        assert_eq!(
            reason(&problems[0]),
            json!(["15 values were lost in all", null, null])
        );
        assert_eq!(
            reason(&problems[1]),
            json!([
                "value 3 was lost: broadcast to n1 at 1.250 s",
                1_250_123,
                "n1"
            ])
        );
    }

    #[test]
    fn operations_are_typed_and_go_to_the_page_as_arrays() {
        use crate::history::Entry;
        let mut h = History::default();
        let inv = h.push(Entry::at(Kind::Invoke, "read", Value::Null, 2_000_000));
        let mut done = Entry::at(Kind::Ok, "read", json!(1), 2_750_000);
        done.invoke = Some(inv);
        done.is_final = true;
        h.push(done);
        let (ops, fs) = operations(&h);
        assert_eq!(fs, ["read"]);
        assert_eq!(ops[0].completed(), 2_750);
        assert_eq!(
            serde_json::to_value(&ops).unwrap(),
            json!([[2_000, 750, 0, 0, 0, 1]])
        );
    }

    #[test]
    fn many_clients_share_their_nodes_lane() {
        let nodes: Vec<String> = (0..2).map(|i| format!("n{i}")).collect();
        let mut j = Journal::default();
        let mut net = crate::net::Net::new(crate::net::Latency {
            mean_ms: 1,
            dist: crate::net::Dist::Constant,
        });
        let mut rng = crate::rng::Rng::new(1);
        let mut send = |j: &mut Journal, s, d| {
            let (m, _) = net.send(s, d, "{}".into(), &mut rng);
            j.sent(&m, 0);
        };
        send(&mut j, Addr::Client(0), Addr::Node(1));
        send(&mut j, Addr::Node(0), Addr::Service(2));
        let few = Lanes::new(&j, &nodes);
        let names: Vec<&str> = few.lanes.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(names, ["n0", "n1", "lww-kv", "c0"]);
        for c in 1..=40 {
            send(&mut j, Addr::Client(c), Addr::Node((c % 2) as usize));
        }
        let many = Lanes::new(&j, &nodes);
        assert_eq!(many.lanes.len(), 2 + 1 + 2);
        assert_eq!(many.of[&Addr::Client(0)], many.of[&Addr::Client(1)]);
        assert_ne!(many.of[&Addr::Client(2)], many.of[&Addr::Client(1)]);
        assert_eq!(many.lanes[many.of[&Addr::Client(2)]].0, "clients of n0");
    }

    #[test]
    fn bodies_go_in_as_json_or_as_cut_strings() {
        let mut s = String::new();
        push_body(&mut s, r#"{"type":"x"}"#);
        assert_eq!(s, r#"{"type":"x"}"#);
        let mut s = String::new();
        push_body(&mut s, "oops");
        assert_eq!(s, r#""oops""#);
        let long = format!(r#"{{"type":"big","v":"{}"}}"#, "a".repeat(2000));
        let mut s = String::new();
        push_body(&mut s, &long);
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v.as_str().unwrap().chars().count(), MAX_BODY + 1);
        assert_eq!(message_type(&long), "big");
        assert_eq!(message_type("[1]"), "?");
    }
}
