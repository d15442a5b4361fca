//! SDK nodes in the real harness, natively: the same workloads, network, nemesis
//! and checkers as `host test`, with each node a [`NativeNode`] instead of a wasm
//! instance, on the simulation's clock and seeds, and under the same supervisor
//! (`harness::supervisor`): a panic is a crash as a trap is, with the same error 13,
//! restart, back-off and give-up. A challenge's `cargo test` runs
//! whole Maelstrom tests on many seeds in milliseconds. Opt-in (feature
//! `harness`), so the SDK a guest links knows nothing of the harness. With
//! [`upgrading`] and `--upgrade`, the harness's rolling upgrade switches each node
//! to a second build function, carrying its state as a live swap does.
//!
//! ```
//! use glomers::prelude::*;
//!
//! fn node() -> Node<()> {
//!     Node::new(()).on("echo", |_, ctx, req: Request<Value>| {
//!         ctx.reply(&req, json!({"type": "echo_ok", "echo": req.body["echo"]}))
//!     })
//! }
//!
//! let outcome = glomers::simulate::test("echo", "--node-count 3 --time-limit 5 --seed 1", node, &[])?;
//! assert!(outcome.is_valid(), "{:?}", outcome.problems);
//! # anyhow::Ok(())
//! ```

use crate::native::{Effect, NativeNode};
use crate::node::AnyNode;
use harness::supervisor::{self, incarnation_seed, Supervised, DEFAULT_MAX_CRASH_STREAK};
use harness::{Input, NodeSpec};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

pub use harness::{Builder, Outcome, Valid};

/// An SDK node as the harness drives it: under the same supervisor as a wasm node in
/// `host run` and `host test`, so a panic in a handler is a crash as a trap is (error
/// 13 to the request, the call's sends dropped, a fresh node replayed its `init`,
/// its timers gone, back-off and give-up in a crash loop), and an upgrade carries
/// the state as a live swap does.
pub type SimNode = Supervised<NativeVersion>;

/// A build function, as the supervisor's version of a node: every instance a fresh
/// [`NativeNode`] with the node's arguments and its own seed.
#[derive(Clone)]
pub struct NativeVersion {
    build: Rc<dyn Fn() -> AnyNode>,
    args: Rc<[String]>,
    seed: u64,
    label: &'static str,
}

impl NativeVersion {
    /// `build`'s nodes, with guest arguments `args`, seeded from `seed`; `label`
    /// names the version in reports.
    pub fn new(
        build: Rc<dyn Fn() -> AnyNode>,
        args: &[String],
        seed: u64,
        label: &'static str,
    ) -> Self {
        NativeVersion {
            build,
            args: args.into(),
            seed,
            label,
        }
    }
}

impl supervisor::Version for NativeVersion {
    type Instance = NativeInstance;

    fn label(&self) -> &str {
        self.label
    }

    /// Every SDK node exports snapshot and restore, as its component does; one
    /// without `.handoff()` has nothing to hand over, or refuses what it is handed.
    fn handoff(&self) -> bool {
        true
    }

    fn instantiate(&self, incarnation: u64) -> Result<NativeInstance, Panic> {
        let seed = incarnation_seed(self.seed, incarnation);
        let build = &self.build;
        catch_unwind(AssertUnwindSafe(|| {
            NativeNode::new(|| build(), &self.args, seed)
        }))
        .map(NativeInstance)
        .map_err(|p| Panic::new("building the node", &p))
    }
}

/// One instance of an SDK node.
pub struct NativeInstance(NativeNode);

impl supervisor::Instance for NativeInstance {
    type Failure = Panic;

    fn call(
        &mut self,
        _now: Duration,
        input: Input<'_>,
        out: &mut Vec<Effect>,
    ) -> Result<(), Panic> {
        let node = &mut self.0;
        let mut effects = Vec::new();
        catch_unwind(AssertUnwindSafe(|| match input {
            Input::Message { src, body } => node.on_message(src, body, &mut effects),
            Input::Timer { id } => node.on_timer(id, &mut effects),
        }))
        .map_err(|p| Panic::new("a handler", &p))?;
        out.append(&mut effects);
        Ok(())
    }

    fn snapshot(&mut self, _now: Duration) -> Result<Option<Vec<u8>>, Panic> {
        let node = &self.0;
        catch_unwind(AssertUnwindSafe(|| node.snapshot()))
            .map_err(|p| Panic::new("taking the snapshot", &p))
    }

    fn restore(
        &mut self,
        _now: Duration,
        state: &[u8],
        out: &mut Vec<Effect>,
    ) -> Result<Result<(), String>, Panic> {
        let node = &mut self.0;
        let mut effects = Vec::new();
        let r = catch_unwind(AssertUnwindSafe(|| node.take_over(state, &mut effects)))
            .map_err(|p| Panic::new("restore", &p))?;
        if r.is_ok() {
            out.append(&mut effects);
        }
        Ok(r)
    }
}

/// A native node that panicked: where, and what the panic said, with what the
/// supervisor added (outermost first).
#[derive(Debug)]
pub struct Panic {
    causes: Vec<String>,
}

impl Panic {
    fn new(during: &str, panic: &Box<dyn std::any::Any + Send>) -> Panic {
        Panic {
            causes: vec![format!(
                "the node panicked in {during}: {}",
                panic_text(panic)
            )],
        }
    }
}

/// The causes, one per line, as a wasm node's crash is reported.
impl std::fmt::Display for Panic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.causes.join("\n  "))
    }
}

impl supervisor::Failure for Panic {
    fn kind(&self) -> String {
        "panic".into()
    }
    fn headline(&self) -> String {
        self.causes.first().cloned().unwrap_or_default()
    }
    fn one_line(&self) -> String {
        self.causes.join(": ")
    }
    fn context(mut self, what: String) -> Panic {
        self.causes.insert(0, what);
        self
    }
}

/// What a panic said, if it said it in words.
fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> &str {
    panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message")
}

/// One supervised node of `build` (and `next`, the version an upgrade switches to);
/// as `next` already if `upgraded` (the roll reached it while it was down).
fn supervised(
    build: Rc<dyn Fn() -> AnyNode>,
    next: Option<Rc<dyn Fn() -> AnyNode>>,
    args: &[String],
    spec: &NodeSpec,
) -> anyhow::Result<Box<dyn harness::Node>> {
    let first = NativeVersion::new(build, args, spec.seed, "build");
    let next = next.map(|n| NativeVersion::new(n, args, spec.seed, "upgrade"));
    let version = match (&next, spec.upgraded) {
        (Some(next), true) => next.clone(),
        _ => first,
    };
    let node = SimNode::new(version, next, DEFAULT_MAX_CRASH_STREAK)
        .map_err(|p| anyhow::anyhow!("cannot start node {}: {p}", spec.name))?;
    Ok(Box::new(node))
}

/// The harness's node factory for `build` with guest arguments `args`: every node
/// (and every restart after a kill) a fresh native node with the simulation's seed.
pub fn nodes<N, F>(build: F, args: &[&str]) -> harness::NodeFactory
where
    N: Into<AnyNode> + 'static,
    F: Fn() -> N + Clone + 'static,
{
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let build: Rc<dyn Fn() -> AnyNode> = Rc::new(move || build().into());
    Box::new(move |spec: &NodeSpec| supervised(build.clone(), None, &args, spec))
}

/// As [`nodes`], with `next` as the version a rolling upgrade (`--upgrade LABEL`)
/// switches each node to: its state carried over if both versions `.handoff()`.
pub fn upgrading<N, F, M, G>(build: F, next: G, args: &[&str]) -> harness::NodeFactory
where
    N: Into<AnyNode> + 'static,
    F: Fn() -> N + Clone + 'static,
    M: Into<AnyNode> + 'static,
    G: Fn() -> M + 'static,
{
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let build: Rc<dyn Fn() -> AnyNode> = Rc::new(move || build().into());
    let next: Rc<dyn Fn() -> AnyNode> = Rc::new(move || next().into());
    Box::new(move |spec: &NodeSpec| supervised(build.clone(), Some(next.clone()), &args, spec))
}

/// Runs `host test -w WORKLOAD OPTIONS` with `build` as every node, natively. The
/// run's files (logs, history, report) go under the system's temporary directory
/// unless OPTIONS name a `--store`, and there they are kept only for a run that is not
/// valid (its summary names the directory): a test of hundreds of seeds leaves only
/// what a person needs to look at.
pub fn test<N, F>(workload: &str, options: &str, build: F, args: &[&str]) -> anyhow::Result<Outcome>
where
    N: Into<AnyNode> + 'static,
    F: Fn() -> N + Clone + 'static,
{
    let own_store = options.split_whitespace().any(|w| w == "--store");
    let mut b = Builder::named(workload)?;
    if !own_store {
        b = b.store(std::env::temp_dir().join("glomers-simulate"));
    }
    let outcome = b
        .options(options)
        .nodes("native SDK node", nodes(build, args))
        .run()?;
    if !own_store && outcome.is_valid() {
        let _ = std::fs::remove_dir_all(&outcome.wall.logs);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    // A flooding broadcast whose set lives in memory: a rolling upgrade keeps it
    // valid only if the set crosses the switch.
    use crate::prelude::*;
    use std::collections::BTreeSet;

    #[derive(Serialize, Deserialize, Default)]
    struct Seen {
        values: BTreeSet<u64>,
    }

    fn flood(handoff: bool) -> Node<Seen> {
        let node = Node::new(Seen::default())
            .on("topology", |_, ctx, req: Request<Value>| {
                ctx.reply(&req, json!({"type": "topology_ok"}))
            })
            .on("broadcast", |s, ctx, req: Request<Value>| {
                let v = req.body["message"].as_u64().unwrap_or(0);
                if s.values.insert(v) {
                    for peer in ctx.peers() {
                        ctx.send(&peer, json!({"type": "gossip", "message": v}))?;
                    }
                }
                ctx.reply(&req, json!({"type": "broadcast_ok"}))
            })
            .on("gossip", |s, _, req: Request<Value>| {
                s.values.insert(req.body["message"].as_u64().unwrap_or(0));
                Ok(())
            })
            .on("read", |s, ctx, req: Request<Value>| {
                ctx.reply(&req, json!({"type": "read_ok", "messages": s.values}))
            });
        if handoff {
            node.handoff()
        } else {
            node
        }
    }

    fn run(next_hands_over: bool, seed: u64) -> super::Outcome {
        let next = move || flood(next_hands_over);
        super::Builder::new(harness::Workload::Broadcast)
            .options("--node-count 3 --time-limit 10 --rate 20 --upgrade v2 --upgrade-at 2")
            .seed(seed)
            .store(std::env::temp_dir().join("glomers-simulate-upgrade"))
            .nodes("flood", super::upgrading(|| flood(true), next, &[]))
            .run()
            .unwrap()
    }

    #[test]
    fn the_state_crosses_a_rolling_upgrade_when_both_versions_hand_over() {
        for seed in 1..=20 {
            let o = run(true, seed);
            assert!(o.is_valid(), "seed {seed}: {:?}", o.problems);
            let u = o.upgrade.as_ref().unwrap();
            assert_eq!(u.counts(), (3, 3), "seed {seed}: {u:?}");
        }
    }

    #[test]
    fn a_new_version_without_handoff_starts_afresh_and_loses_what_it_knew() {
        let o = run(false, 1);
        let u = o.upgrade.as_ref().unwrap();
        assert_eq!(u.counts(), (3, 0));
        assert!(
            u.nodes.iter().all(|n| n
                .fresh_because
                .as_deref()
                .is_some_and(|w| w.contains("does not take state over"))),
            "{u:?}"
        );
        assert!(
            !o.is_valid(),
            "the values broadcast before the switch are gone"
        );
    }

    // The supervisor's scenarios on a native node, as host/tests/run.rs and
    // host/tests/harness.rs check them on wasm: the same outcome, event by event.
    mod supervised {
        use crate::native::Effect;
        use crate::prelude::*;
        use harness::{Input, NodeSpec};

        /// A counter that hands its count over; `panic` panics after sending, `rpc`
        /// asks c2 and answers when c2 does; with `crash_init` it panics in `init`
        /// (after arming a timer), with `crash_restore` in `restore`.
        fn counter(crash_init: bool, crash_restore: bool) -> Node<u64> {
            let mut node = Node::new(0u64)
                .on("count", |n, ctx, req: Request<Value>| {
                    *n += 1;
                    ctx.reply(&req, json!({"type": "count_ok", "count": *n}))
                })
                .on("panic", |_, ctx, req: Request<Value>| {
                    ctx.send(&req.src, json!({"type": "before_the_panic"}))?;
                    panic!("asked to panic")
                })
                .on("rpc", |_, ctx, req: Request<Value>| {
                    ctx.rpc(
                        "c2",
                        json!({"type": "question"}),
                        Duration::from_secs(30),
                        move |_, ctx, res| {
                            let answer = res.map(|r| r.body["answer"].clone()).unwrap_or_default();
                            let _ = ctx.reply(&req, json!({"type": "rpc_ok", "answer": answer}));
                        },
                    )
                })
                .on_init(|_, ctx| {
                    ctx.every(Duration::from_millis(500), |_, _| {});
                })
                .handoff();
            if crash_init {
                node = node.on_init(|_, _| panic!("asked to panic in init"));
            }
            if crash_restore {
                node = node.on_restore(|_, _| panic!("asked to panic in restore"));
            }
            node
        }

        /// A stateless echo: it takes no state over, so it refuses a snapshot.
        fn echo() -> Node<()> {
            Node::new(()).on("echo", |_, ctx, req: Request<Value>| {
                ctx.reply(&req, json!({"type": "echo_ok", "echo": req.body["echo"]}))
            })
        }

        fn spec() -> NodeSpec {
            NodeSpec {
                name: "n1".into(),
                index: 0,
                seed: 7,
                log: std::env::temp_dir().join("glomers-simulate-supervised.log"),
                upgraded: false,
            }
        }

        const INIT: &str = r#"{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}"#;

        fn ask(
            n: &mut dyn harness::Node,
            at_ms: u64,
            body: Value,
            out: &mut Vec<Effect>,
        ) -> Result<(), harness::Crash> {
            let body = body.to_string();
            let input = Input::Message {
                src: "c1",
                body: &body,
            };
            n.handle(at_ms * 1_000_000, input, out)
        }

        fn bodies(out: &[Effect]) -> Vec<Value> {
            out.iter()
                .filter_map(|e| match e {
                    Effect::Send { body, .. } => Some(serde_json::from_str(body).unwrap()),
                    _ => None,
                })
                .collect()
        }

        fn started(mut make: harness::NodeFactory) -> Box<dyn harness::Node> {
            let mut n = make(&spec()).unwrap();
            let mut out = Vec::new();
            let init = Input::Message {
                src: "c0",
                body: INIT,
            };
            n.handle(0, init, &mut out).unwrap();
            assert_eq!(bodies(&out)[0]["type"], "init_ok");
            n
        }

        #[test]
        fn a_panic_answers_13_drops_the_sends_and_restarts_with_init_replayed() {
            let mut n = started(super::super::nodes(|| counter(false, false), &[]));
            let mut out = Vec::new();
            ask(&mut *n, 1, json!({"type": "count", "msg_id": 2}), &mut out).unwrap();
            out.clear();
            let crash =
                ask(&mut *n, 2, json!({"type": "panic", "msg_id": 3}), &mut out).unwrap_err();
            assert!(
                crash.reason.starts_with(
                    "panic; it was restarted: the node panicked in a handler: asked to panic"
                ),
                "{crash}"
            );
            let b = bodies(&out);
            assert_eq!(b.len(), 1, "only the error goes out: {out:?}");
            assert_eq!(
                (b[0]["code"].as_u64(), b[0]["in_reply_to"].as_u64()),
                (Some(13), Some(3))
            );
            // Timers gone, then the one the replayed init armed (its init_ok dropped).
            assert_eq!(out[1], Effect::Restarted);
            assert!(
                matches!(out[2], Effect::SetTimer { delay_ms: 500, .. }),
                "{out:?}"
            );
            assert_eq!(out.len(), 3);
            out.clear();
            ask(&mut *n, 3, json!({"type": "count", "msg_id": 4}), &mut out).unwrap();
            let b = bodies(&out);
            assert_eq!(b[0]["count"], 1, "a fresh node");
            assert_eq!(n.crashes(), 1);
        }

        #[test]
        fn in_a_whole_run_a_panic_is_a_reported_crash_and_the_node_goes_on() {
            // An echo that panics on every payload ending in 7, as the crashy fixture.
            let crashy = || {
                Node::new(()).on("echo", |_, ctx, req: Request<Value>| {
                    let echo = req.body["echo"].clone();
                    if echo.as_str().is_some_and(|s| s.ends_with('7')) {
                        panic!("asked to echo {echo}");
                    }
                    ctx.reply(&req, json!({"type": "echo_ok", "echo": echo}))
                })
            };
            let o = super::super::test(
                "echo",
                "--node-count 2 --time-limit 20 --seed 3",
                crashy,
                &[],
            )
            .unwrap();
            assert!(o.crashes.count > 0);
            let first = &o.crashes.first[0];
            assert!(
                first.error.contains(
                    "panic; it was restarted: the node panicked in a handler: asked to echo"
                ),
                "{first:?}"
            );
            // Each crashed echo got error 13 (indefinite), so the echo check fails on
            // them and on nothing else.
            assert!(!o.is_valid());
            assert!(
                o.problems
                    .iter()
                    .all(|p| p.text.contains("with info ([\"crash\"")
                        || p.text.contains("went wrong in all")),
                "{:?}",
                o.problems
            );
        }

        #[test]
        fn a_crash_loop_backs_off_with_error_11_then_gives_up() {
            let mut n = started_crashing();
            let mut out = Vec::new();
            // Crashed in init, then in its replay (2): down for 100 ms.
            assert_eq!(n.crashes(), 2);
            ask(&mut *n, 50, json!({"type": "count", "msg_id": 2}), &mut out).unwrap();
            assert_eq!(bodies(&out)[0]["code"], 11);
            // Each retry fails again: the back-off doubles from 200 ms to at most 5 s,
            // and the tenth crash in a row (the default streak) gives up.
            let mut at = 100;
            let mut id = 3;
            for (streak, wait) in [
                (3, 200),
                (4, 400),
                (5, 800),
                (6, 1600),
                (7, 3200),
                (8, 5000),
                (9, 5000),
            ] {
                out.clear();
                let crash = ask(
                    &mut *n,
                    at,
                    json!({"type": "count", "msg_id": id}),
                    &mut out,
                )
                .unwrap_err();
                assert!(
                    crash
                        .reason
                        .contains(&format!("retried at the first event after {wait} ms")),
                    "crash {streak}: {crash}"
                );
                assert_eq!(bodies(&out)[0]["code"], 11, "at {at} ms");
                // Not yet due a millisecond early: refused without a retry.
                out.clear();
                ask(
                    &mut *n,
                    at + wait - 1,
                    json!({"type": "count", "msg_id": id + 1}),
                    &mut out,
                )
                .unwrap();
                assert_eq!(bodies(&out)[0]["code"], 11);
                at += wait;
                id += 2;
            }
            out.clear();
            let crash = ask(
                &mut *n,
                at,
                json!({"type": "count", "msg_id": id}),
                &mut out,
            )
            .unwrap_err();
            assert!(
                crash.reason.contains("given up on: 10 crashes in a row"),
                "{crash}"
            );
            assert_eq!(n.crashes(), 10);
            // Dead: nothing answers.
            out.clear();
            ask(
                &mut *n,
                60_000,
                json!({"type": "count", "msg_id": 7}),
                &mut out,
            )
            .unwrap();
            assert!(out.is_empty(), "{out:?}");
        }

        fn started_crashing() -> Box<dyn harness::Node> {
            let mut make = super::super::nodes(|| counter(true, false), &[]);
            let mut n = make(&spec()).unwrap();
            let mut out = Vec::new();
            let init = Input::Message {
                src: "c0",
                body: INIT,
            };
            let crash = n.handle(0, init, &mut out).unwrap_err();
            assert!(crash.reason.contains("could not restart"), "{crash}");
            let b = bodies(&out);
            assert_eq!((b.len(), b[0]["code"].as_u64()), (1, Some(13)), "{out:?}");
            n
        }

        #[test]
        fn a_refused_restore_starts_the_new_version_fresh_with_init() {
            let make = super::super::upgrading(|| counter(false, false), echo, &[]);
            let mut n = started(make);
            let mut out = Vec::new();
            ask(&mut *n, 1, json!({"type": "count", "msg_id": 2}), &mut out).unwrap();
            out.clear();
            let u = n.upgrade(2_000_000, &mut out).unwrap();
            assert!(!u.state_carried);
            let why = u.fresh_because.unwrap();
            assert!(
                why.starts_with("the new version's restore refused the state: this version does not take state over"),
                "{why}"
            );
            assert_eq!(out, [Effect::Restarted]);
            out.clear();
            ask(
                &mut *n,
                3,
                json!({"type": "echo", "echo": 5, "msg_id": 3}),
                &mut out,
            )
            .unwrap();
            assert_eq!(bodies(&out)[0]["echo"], 5);
        }

        #[test]
        fn a_panic_in_restore_leaves_the_old_version_serving() {
            let make =
                super::super::upgrading(|| counter(false, false), || counter(false, true), &[]);
            let mut n = started(make);
            let mut out = Vec::new();
            ask(&mut *n, 1, json!({"type": "count", "msg_id": 2}), &mut out).unwrap();
            out.clear();
            let why = n.upgrade(2_000_000, &mut out).unwrap_err();
            assert_eq!(
                why,
                "not swapping build -> upgrade: the new version crashed (panic) in restore: \
                 the node panicked in restore: asked to panic in restore; the old version keeps serving"
            );
            assert!(out.is_empty(), "{out:?}");
            ask(&mut *n, 3, json!({"type": "count", "msg_id": 3}), &mut out).unwrap();
            assert_eq!(
                bodies(&out)[0]["count"],
                2,
                "the old version, with its count"
            );
            assert_eq!(n.crashes(), 0);
        }

        #[test]
        fn a_swap_mid_rpc_drops_the_callback_and_the_late_reply_is_ignored() {
            let make =
                super::super::upgrading(|| counter(false, false), || counter(false, false), &[]);
            let mut n = started(make);
            let mut out = Vec::new();
            ask(&mut *n, 1, json!({"type": "count", "msg_id": 2}), &mut out).unwrap();
            out.clear();
            ask(&mut *n, 2, json!({"type": "rpc", "msg_id": 3}), &mut out).unwrap();
            let question = bodies(&out).remove(0);
            assert_eq!(question["type"], "question");
            out.clear();
            let u = n.upgrade(3_000_000, &mut out).unwrap();
            assert!(u.state_carried, "{u}");
            assert!(!out.contains(&Effect::Restarted), "{out:?}");
            // c2's answer reaches the new version, which awaits nothing: no rpc_ok.
            out.clear();
            let answer =
                json!({"type": "question_ok", "answer": 42, "in_reply_to": question["msg_id"]});
            let body = answer.to_string();
            n.handle(
                4_000_000,
                Input::Message {
                    src: "c2",
                    body: &body,
                },
                &mut out,
            )
            .unwrap();
            assert!(bodies(&out).is_empty(), "{out:?}");
            ask(&mut *n, 5, json!({"type": "count", "msg_id": 4}), &mut out).unwrap();
            assert_eq!(bodies(&out)[0]["count"], 2, "the state crossed");
        }
    }
}
