//! The rolling upgrade (`--upgrade`) through the whole harness, with a tiny
//! in-process unique-ids node whose version shows in every id it makes: each node
//! switches once, at its turn, between two events; the checker judges the ids of
//! both versions together (so a switch that loses the node's count repeats ids
//! and is caught); a killed node whose turn passed starts as the new version; a
//! node that cannot switch fails the run with the reason; a seed replays the roll.

use harness::{
    Builder, Crash, Effect, How, Input, Node, NodeSpec, Outcome, UpgradeInfo, Upgrades, Workload,
};
use serde_json::{json, Value};
use std::time::Duration;

/// Makes ids `<node>-v<version>-<seed>-<count>`; the count lives in memory.
struct Ids {
    name: String,
    version: u32,
    seed: u64,
    next: u64,
    /// How its switch goes: carry the count, start afresh, or refuse.
    switch: Switch,
}

#[derive(Clone, Copy, PartialEq)]
enum Switch {
    Carry,
    Fresh,
    Refuse,
    /// The trait's default: this node knows no other version.
    Unsupported,
}

impl Node for Ids {
    fn handle(&mut self, _: u64, input: Input<'_>, out: &mut Vec<Effect>) -> Result<(), Crash> {
        let Input::Message { src, body } = input else {
            return Ok(());
        };
        let req: Value = serde_json::from_str(body).map_err(|e| Crash {
            reason: e.to_string(),
        })?;
        let mut reply = match req["type"].as_str() {
            Some("init") => json!({"type": "init_ok"}),
            Some("generate") => {
                self.next += 1;
                // A switch that starts afresh writes the ids it wrote before,
                // unless the version tells them apart.
                let version = match self.switch {
                    Switch::Fresh => 0,
                    _ => self.version,
                };
                let id = format!("{}-v{version}-{:x}-{}", self.name, self.seed, self.next);
                json!({"type": "generate_ok", "id": id})
            }
            t => {
                return Err(Crash {
                    reason: format!("unexpected {t:?}"),
                })
            }
        };
        reply["in_reply_to"] = req["msg_id"].clone();
        out.push(Effect::Send {
            dest: src.to_string(),
            body: reply.to_string(),
        });
        Ok(())
    }

    fn upgrade(&mut self, _: u64, out: &mut Vec<Effect>) -> Result<UpgradeInfo, String> {
        let carried = match self.switch {
            Switch::Carry => true,
            Switch::Fresh => false,
            Switch::Refuse => return Err("the new version rejected the old state".into()),
            Switch::Unsupported => return Err("this node cannot be upgraded".into()),
        };
        if !carried {
            self.next = 0;
            out.push(Effect::Restarted);
        }
        let from = format!("v{}", self.version);
        self.version = 2;
        Ok(UpgradeInfo {
            from,
            to: "v2".into(),
            state_carried: carried,
            fresh_because: (!carried).then(|| "the new version has no restore".to_string()),
            pause: Duration::from_micros(10),
        })
    }
}

fn run(switch: Switch, nemesis: &str, seed: u64) -> Outcome {
    let store =
        std::env::temp_dir().join(format!("glomers-harness-upgrade-{}", std::process::id()));
    let mut b = Builder::new(Workload::UniqueIds)
        .node_count(5)
        .rate(50.0)
        .time_limit(20.0)
        .option("--upgrade", "v2")
        .option("--upgrade-at", 5)
        .seed(seed)
        .store(&store);
    if !nemesis.is_empty() {
        b = b
            .option("--nemesis", nemesis)
            .option("--nemesis-interval", 1);
    }
    b.nodes("ids", move |spec: &NodeSpec| {
        Ok(Box::new(Ids {
            name: spec.name.clone(),
            version: if spec.upgraded { 2 } else { 1 },
            seed: spec.seed,
            next: 0,
            switch,
        }) as Box<dyn Node>)
    })
    .run()
    .unwrap()
}

fn upgrades(o: &Outcome) -> &Upgrades {
    o.upgrade.as_ref().expect("the outcome tells the upgrade")
}

/// Each node's ids in order: (time in s, version).
fn versions(o: &Outcome, node: &str) -> Vec<(f64, u32)> {
    o.history
        .completions()
        .filter_map(|e| {
            let id = e.value.as_str()?;
            let rest = id.strip_prefix(node)?.strip_prefix("-v")?;
            let v = rest.split('-').next()?.parse().ok()?;
            Some((e.time as f64 / 1e9, v))
        })
        .collect()
}

#[test]
fn every_node_switches_once_at_its_turn_and_ids_of_both_versions_are_judged_together() {
    let o = run(Switch::Carry, "", 1);
    assert!(o.is_valid(), "{:?}", o.problems);
    let u = upgrades(&o);
    assert_eq!(u.to, "v2");
    assert_eq!(u.nodes.len(), 5);
    assert_eq!(u.counts(), (5, 5));
    // Turns a second apart from 5 s into the client phase, in a seeded order.
    for (k, n) in u.nodes.iter().enumerate() {
        assert_eq!(n.how, How::Live);
        assert_eq!(n.switched, Some(n.turn));
        assert!((n.turn - u.start - k as f64).abs() < 1e-6, "{u:?}");
        assert_eq!(
            (n.from.as_deref(), n.to.as_deref()),
            (Some("v1"), Some("v2"))
        );
        // Before its turn, the node answered as v1; after, as v2: a mixed cluster between.
        let seen = versions(&o, &n.node);
        assert!(seen.iter().any(|&(_, v)| v == 1) && seen.iter().any(|&(_, v)| v == 2));
        for (t, v) in seen {
            assert_eq!(v, if t < n.turn { 1 } else { 2 }, "{} at {t}", n.node);
        }
    }
    let order: Vec<&str> = u.nodes.iter().map(|n| n.node.as_str()).collect();
    assert_ne!(
        order,
        ["n0", "n1", "n2", "n3", "n4"],
        "the order is not drawn"
    );
    // The fault list has the switches, so the report shades them.
    let faults = o.nemesis.as_ref().expect("a fault list");
    let switches = faults.iter().filter(|e| e.what.f() == "upgrade").count();
    assert_eq!(switches, 5);
    let text = o.summary();
    assert!(text.contains("upgrade  to v2, from "), "{text}");
    assert!(
        text.contains("5 of 5 switched, 5 with their state"),
        "{text}"
    );
    assert!(
        o.command.contains(" --upgrade v2 --upgrade-at 5 "),
        "{}",
        o.command
    );
    let json = o.to_json();
    assert_eq!(json["upgrade"]["nodes"][0]["state-carried"], true);
    assert_eq!(json["upgrade"]["nodes"][0]["how"], "live");
}

#[test]
fn a_switch_that_drops_the_state_is_caught_by_the_checker() {
    // The fresh version counts from 0 again under the same seed: repeated ids.
    let o = run(Switch::Fresh, "", 1);
    assert!(!o.is_valid());
    assert!(
        o.problems.iter().any(|p| p.text.contains("was generated")),
        "{:?}",
        o.problems
    );
    assert_eq!(upgrades(&o).counts(), (5, 0));
    let text = o.summary();
    assert!(
        text.contains("state not carried (the new version has no restore)"),
        "{text}"
    );
}

#[test]
fn a_node_that_cannot_switch_fails_the_run_and_says_why() {
    for (switch, why) in [
        (Switch::Refuse, "rejected the old state"),
        (Switch::Unsupported, "cannot be upgraded"),
    ] {
        let o = run(switch, "", 2);
        assert!(!o.is_valid());
        assert_eq!(o.problems.len(), 5, "{:?}", o.problems);
        assert!(
            o.problems
                .iter()
                .all(|p| p.text.contains("could not switch to v2") && p.text.contains(why)),
            "{:?}",
            o.problems
        );
        let u = upgrades(&o);
        assert!(u
            .nodes
            .iter()
            .all(|n| n.how == How::Failed && n.switched.is_none()));
    }
}

#[test]
fn under_kills_and_pauses_every_node_ends_as_the_new_version_and_the_seed_replays_the_roll() {
    let mut hows = std::collections::BTreeSet::new();
    for seed in 0..20 {
        let o = run(Switch::Carry, "kill,pause", seed);
        assert!(o.is_valid(), "seed {seed}: {:?}", o.problems);
        let u = upgrades(&o);
        for n in &u.nodes {
            hows.insert(format!("{:?}", n.how));
            // A node started again after its turn is the new version from then on.
            let switched = n.switched.unwrap_or(f64::INFINITY);
            for (t, v) in versions(&o, &n.node) {
                assert_eq!(
                    v,
                    if t < switched { 1 } else { 2 },
                    "seed {seed} {} at {t}: {u:?}",
                    n.node
                );
            }
            if n.how == How::Started {
                assert!(!n.state_carried && n.switched.unwrap() > n.turn);
            }
        }
        let again = run(Switch::Carry, "kill,pause", seed);
        let strip = |u: &Upgrades| {
            let mut u = u.clone();
            u.nodes.iter_mut().for_each(|n| n.pause_ms = None);
            u
        };
        assert_eq!(strip(upgrades(&again)), strip(u), "seed {seed}");
    }
    // Over these seeds the roll met nodes running, paused and down.
    for how in ["Live", "Resumed", "Started"] {
        assert!(hows.contains(how), "{how} never happened: {hows:?}");
    }
}
