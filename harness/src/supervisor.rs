//! The supervisor of one in-process node, written once for every kind of node: a wasm
//! component under `host run` or `host test`, a native SDK node under
//! `glomers::simulate`. It decides what a crash does to the node and how the node
//! moves to a new version; the node itself is anything that implements [`Version`]
//! (make an instance) and [`Instance`] (call it, snapshot it, restore into it).
//!
//! The policy (README, "When a node misbehaves"):
//! - A call is all or nothing: what an instance asked for takes effect only when the
//!   call completes, so a call that crashes has no effect. A request is answered by
//!   the node or, when the call crashed, by one error 13, never both.
//! - After a crash the node continues in a fresh instance that is replayed the
//!   original `init` (its reply dropped: it went out long ago); its timers are gone
//!   (`Effect::Restarted`).
//! - Crash loops: if the restart itself fails (the replayed `init` crashes), the node
//!   is down and retried at the first event after a doubling back-off; requests
//!   meanwhile get error 11 (not performed). After `max_crash_streak` crashes in a
//!   row with no call completing in between, the node gives up for good
//!   ([`AfterCrash::GaveUp`]): later events are ignored, and the driver should stop it.
//! - A swap to a new version carries the state when both versions hand it over
//!   (snapshot, then restore in place of `init`); otherwise the new version starts
//!   fresh with the replayed `init`, as after a crash. If anything crashes on the way
//!   nothing changes: the old version keeps serving.
//! - Every instance gets its own seed ([`incarnation_seed`]): a restarted process
//!   draws new random numbers, even in a seeded simulation.

use serde::de::IgnoredAny;
use std::time::{Duration, Instant};

use crate::node::{Effect, Input, UpgradeInfo};

/// Crashes in a row, with no call completing in between, after which a node is
/// given up on, unless its driver says otherwise (`--max-crash-streak`).
pub const DEFAULT_MAX_CRASH_STREAK: u32 = 10;
/// The first wait before retrying a node whose restart failed; it doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How much of a text a node gave (a refusal's reason) is repeated in a report.
const SNIPPET: usize = 200;

/// A call into an instance that failed: a trap, a panic, a limit it ran past.
pub trait Failure: std::fmt::Display {
    /// What kind of failure it was, in a few words ("panic", "over its time budget").
    fn kind(&self) -> String;
    /// Its outermost cause alone, on one line.
    fn headline(&self) -> String;
    /// All its causes on one line (no backtrace), for one-line reports.
    fn one_line(&self) -> String;
    /// The same failure, explained by `what` first.
    fn context(self, what: String) -> Self;
}

/// One instance of a node: a wasm instance, a native node. It is called between
/// events only, never twice at once.
pub trait Instance {
    type Failure: Failure;
    /// Handles one event at `now` (the node's clock: virtual in a simulation). What
    /// it asked for is appended to `out` only if the call completed.
    fn call(
        &mut self,
        now: Duration,
        input: Input<'_>,
        out: &mut Vec<Effect>,
    ) -> Result<(), Self::Failure>;
    /// The state it hands its next version (`None`: it has none to hand over).
    /// Whatever else the call asked for is dropped.
    fn snapshot(&mut self, now: Duration) -> Result<Option<Vec<u8>>, Self::Failure>;
    /// Takes over `state` (from a `snapshot`) in place of `init`. `Ok(Err(why))`: it
    /// refused the state. What it asked for is appended to `out` only on `Ok(Ok(()))`.
    fn restore(
        &mut self,
        now: Duration,
        state: &[u8],
        out: &mut Vec<Effect>,
    ) -> Result<Result<(), String>, Self::Failure>;
}

/// What a node runs: a loaded component, a build function. It makes instances.
pub trait Version {
    type Instance: Instance;
    /// What names it in reports (a content hash, a label).
    fn label(&self) -> &str;
    /// Whether its instances can snapshot and restore (the `handoff` world).
    fn handoff(&self) -> bool;
    /// A fresh instance. `incarnation` is 0 for the first and different for each
    /// later one; derive the instance's seed with [`incarnation_seed`].
    fn instantiate(&self, incarnation: u64) -> Result<Self::Instance, FailureOf<Self>>;
}

/// The failure type of a version's instances.
pub type FailureOf<V> = <<V as Version>::Instance as Instance>::Failure;

/// The seed of a node's instance number `incarnation` (0: its first), from the
/// node's seed: restarts and swaps draw new numbers, and the first keeps the seed.
pub fn incarnation_seed(seed: u64, incarnation: u64) -> u64 {
    seed ^ incarnation.wrapping_mul(protocol::GOLDEN_GAMMA)
}

/// What became of a node after a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterCrash {
    /// Running again in a fresh instance.
    Restarted,
    /// The restart failed; it is retried at the first event after `retry_in`, and
    /// requests until then are answered with error 11.
    Down { retry_in: Duration },
    /// Too many crashes in a row: the node is dead and ignores every later event.
    GaveUp { crashes: u32 },
}

/// A call that crashed, and what became of the node.
#[derive(Debug)]
pub struct Crashed<F> {
    pub failure: F,
    pub after: AfterCrash,
}

impl<F: Failure> Crashed<F> {
    /// "was restarted", "could not restart ..." or "is given up on ...", to follow
    /// "the node crashed and".
    pub fn outcome(&self) -> String {
        match self.after {
            AfterCrash::Restarted => "was restarted".into(),
            AfterCrash::Down { retry_in } => format!(
                "could not restart (it is down; retried at the first event after {} ms)",
                retry_in.as_millis()
            ),
            AfterCrash::GaveUp { crashes } => {
                format!("is given up on: {crashes} crashes in a row without completing a call")
            }
        }
    }

    /// The harness's crash: the kind and what became of the node lead, as `host run`
    /// reports them, then the failure.
    pub fn to_harness(&self) -> crate::node::Crash {
        crate::node::Crash {
            reason: format!(
                "{}; it {}: {}",
                self.failure.kind(),
                self.outcome(),
                self.failure
            ),
        }
    }
}

/// The failure: its causes, then its backtrace if it has one.
impl<F: Failure> std::fmt::Display for Crashed<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.failure.fmt(f)
    }
}

/// The error a driver stops with when a node gave up (`host run` exits with status 1).
#[derive(Debug)]
pub struct GaveUp {
    pub crashes: u32,
}

impl std::fmt::Display for GaveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "giving up on the node: it crashed {} times in a row without completing a call \
             (the crashes are reported above)",
            self.crashes
        )
    }
}

impl std::error::Error for GaveUp {}

/// A swap that did not take place: the old version keeps serving.
#[derive(Debug, Clone)]
pub struct UpgradeError {
    /// The running version's label.
    pub from: String,
    /// The refused version's label.
    pub to: String,
    /// Why, in one line.
    pub reason: String,
}

impl std::fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not swapping {} -> {}: {}; the old version keeps serving",
            self.from, self.to, self.reason
        )
    }
}

impl std::error::Error for UpgradeError {}

/// Whether the node can take events.
enum State {
    Up,
    /// The last restart failed; retry at the first event at or after `retry_at`.
    Down {
        retry_at: Duration,
    },
    GaveUp,
}

/// One supervised node: its version, its running instance, and its crash history.
pub struct Supervisor<V: Version> {
    version: V,
    instance: V::Instance,
    max_crash_streak: u32,
    /// The `init` message, replayed into a fresh instance after a crash.
    init: Option<(String, String)>,
    id: Option<String>,
    crashes: u64,
    /// Swaps so far (each new instance gets its own seed, as a restart does).
    swaps: u64,
    /// Crashes since the last call that completed.
    streak: u32,
    state: State,
}

impl<V: Version> Supervisor<V> {
    /// Starts `version` (instance 0). After `max_crash_streak` crashes in a row it
    /// gives up.
    pub fn new(version: V, max_crash_streak: u32) -> Result<Self, FailureOf<V>> {
        let instance = version.instantiate(0)?;
        Ok(Supervisor {
            version,
            instance,
            max_crash_streak,
            init: None,
            id: None,
            crashes: 0,
            swaps: 0,
            streak: 0,
            state: State::Up,
        })
    }

    /// This node's id, once `init` has told it.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// How many times the node crashed (including restarts that failed).
    pub fn crashes(&self) -> u64 {
        self.crashes
    }

    /// True once the node has given up after a crash loop: it ignores every event.
    pub fn gave_up(&self) -> bool {
        matches!(self.state, State::GaveUp)
    }

    /// The version running now.
    pub fn version(&self) -> &V {
        &self.version
    }

    /// Delivers `input` at `now` (the node's clock, which times the back-off too);
    /// what the node did is appended to `out`.
    pub fn handle(
        &mut self,
        now: Duration,
        input: Input<'_>,
        out: &mut Vec<Effect>,
    ) -> Result<(), Crashed<FailureOf<V>>> {
        match input {
            Input::Message { src, body } => self.on_message(now, src, body, out),
            Input::Timer { id } => self.on_timer(now, id, out),
        }
    }

    /// Delivers a message; what the node did is appended to `out`.
    pub fn on_message(
        &mut self,
        now: Duration,
        src: &str,
        body: &str,
        out: &mut Vec<Effect>,
    ) -> Result<(), Crashed<FailureOf<V>>> {
        if self.init.is_none() {
            self.learn_init(src, body);
        }
        let was_dead = self.gave_up();
        let ready = self.ready(now, out);
        if !matches!(ready, Ok(true)) {
            // Not performed, and it never will be: a definite error, unlike a crash's 13.
            // A node that had given up is dead and answers nothing, as a dead process.
            if !was_dead {
                let text = "the node is down after crashing; it is retried after a back-off";
                if let Some(reply) =
                    error_reply(body, protocol::code::TEMPORARILY_UNAVAILABLE, text)
                {
                    out.push(Effect::Send {
                        dest: src.to_string(),
                        body: reply,
                    });
                }
            }
            return ready.map(|_| ());
        }
        let mut effects = Vec::new();
        let r = self
            .instance
            .call(now, Input::Message { src, body }, &mut effects);
        self.finish(now, r, effects, out, Some((src, body)))
    }

    /// Fires timer `id`; what the node did is appended to `out`.
    pub fn on_timer(
        &mut self,
        now: Duration,
        id: u64,
        out: &mut Vec<Effect>,
    ) -> Result<(), Crashed<FailureOf<V>>> {
        if !self.ready(now, out)? {
            return Ok(());
        }
        let mut effects = Vec::new();
        let r = self.instance.call(now, Input::Timer { id }, &mut effects);
        self.finish(now, r, effects, out, None)
    }

    /// Whether an event can be delivered: the node is up, or down and due for a retry
    /// that succeeds. A retry that fails is a crash of its own.
    fn ready(
        &mut self,
        now: Duration,
        out: &mut Vec<Effect>,
    ) -> Result<bool, Crashed<FailureOf<V>>> {
        match self.state {
            State::Up => Ok(true),
            State::GaveUp => Ok(false),
            State::Down { retry_at } if now < retry_at => Ok(false),
            State::Down { .. } => match self.restart(now, out) {
                Ok(()) => {
                    self.state = State::Up;
                    Ok(true)
                }
                Err(failure) => Err(self.crashed(now, failure, false)),
            },
        }
    }

    fn learn_init(&mut self, src: &str, body: &str) {
        #[derive(serde::Deserialize)]
        struct Init {
            #[serde(rename = "type")]
            kind: String,
            node_id: Option<String>,
        }
        if let Ok(init) = serde_json::from_str::<Init>(body) {
            if init.kind == "init" {
                self.id = init.node_id;
                self.init = Some((src.to_string(), body.to_string()));
            }
        }
    }

    /// Settles a call: its effects on success; on a crash, error 13 to the request it
    /// was handling, `Effect::Restarted`, and a restart.
    fn finish(
        &mut self,
        now: Duration,
        r: Result<(), FailureOf<V>>,
        mut effects: Vec<Effect>,
        out: &mut Vec<Effect>,
        request: Option<(&str, &str)>,
    ) -> Result<(), Crashed<FailureOf<V>>> {
        let Err(failure) = r else {
            out.append(&mut effects);
            self.streak = 0;
            return Ok(());
        };
        if let Some((src, body)) = request {
            let text = format!("node crashed: {}", failure.headline());
            if let Some(reply) = error_reply(body, protocol::code::CRASH, &text) {
                out.push(Effect::Send {
                    dest: src.to_string(),
                    body: reply,
                });
            }
        }
        out.push(Effect::Restarted);
        let mut crash = self.crashed(now, failure, true);
        if crash.after == AfterCrash::Restarted {
            if let Err(again) = self.restart(now, out) {
                // The crash that matters now is the restart's; the first is its context.
                let first = crash.failure.headline();
                crash = self.crashed(now, again, false);
                crash.failure = crash
                    .failure
                    .context(format!("after the call crashed: {first}"));
            }
        }
        Err(crash)
    }

    /// Counts a crash and decides what becomes of the node. `restart_next`: the caller
    /// is about to restart it (the node stays up if that works).
    fn crashed(
        &mut self,
        now: Duration,
        failure: FailureOf<V>,
        restart_next: bool,
    ) -> Crashed<FailureOf<V>> {
        self.crashes += 1;
        self.streak += 1;
        let after = if self.streak >= self.max_crash_streak {
            self.state = State::GaveUp;
            AfterCrash::GaveUp {
                crashes: self.streak,
            }
        } else if restart_next {
            AfterCrash::Restarted
        } else {
            let retry_in = backoff(self.streak);
            self.state = State::Down {
                retry_at: now + retry_in,
            };
            AfterCrash::Down { retry_in }
        };
        Crashed { failure, after }
    }

    /// Each instance's number: restarts and swaps both make a new one.
    fn incarnation(&self) -> u64 {
        self.crashes.wrapping_add(self.swaps << 32)
    }

    /// A fresh instance, replayed the original `init`.
    fn restart(&mut self, now: Duration, out: &mut Vec<Effect>) -> Result<(), FailureOf<V>> {
        self.instance = self
            .version
            .instantiate(self.incarnation())
            .map_err(|f| f.context("the node could not restart".into()))?;
        if let Some((src, body)) = &self.init {
            let mut effects = Vec::new();
            self.instance
                .call(now, Input::Message { src, body }, &mut effects)
                .map_err(|f| f.context("replaying init to the restarted node crashed".into()))?;
            // The init_ok was sent long ago; keep only the timers the node armed.
            out.extend(
                effects
                    .into_iter()
                    .filter(|e| !matches!(e, Effect::Send { .. })),
            );
        }
        Ok(())
    }

    /// Replaces this node's instance with one of `new`, carrying its state when both
    /// versions can (snapshot, then restore); timers armed stay armed (the driver
    /// owns them), and fire into the new version.
    ///
    /// When the state cannot be carried (either version cannot hand over, the old one
    /// has nothing to hand over, or the new one's `restore` says no), the new version
    /// starts fresh and is replayed the original `init`, as after a crash
    /// (`Effect::Restarted` first, so the old version's timers are dropped). If
    /// anything crashes (the old version's `snapshot`, the new version's `restore` or
    /// `init`), or the new version cannot be instantiated, nothing changes: the old
    /// version keeps serving and the error says why. Between two calls only.
    pub fn upgrade(
        &mut self,
        now: Duration,
        new: V,
        out: &mut Vec<Effect>,
    ) -> Result<UpgradeInfo, UpgradeError> {
        let started = Instant::now();
        let from = self.version.label().to_string();
        let to = new.label().to_string();
        let refuse = |reason: String| UpgradeError {
            from: from.clone(),
            to: to.clone(),
            reason,
        };
        let mut why_fresh = None;
        let snapshot = if self.init.is_none() {
            None
        } else if !matches!(self.state, State::Up) {
            why_fresh = Some("the old version was down".to_string());
            None
        } else if !self.version.handoff() {
            why_fresh = Some("the old version has no handoff (world node)".to_string());
            None
        } else if !new.handoff() {
            why_fresh = Some("the new version has no handoff (world node)".to_string());
            None
        } else {
            match self.instance.snapshot(now) {
                Ok(Some(bytes)) => Some(bytes),
                Ok(None) => {
                    why_fresh = Some("the old version had no state to hand over".to_string());
                    None
                }
                Err(f) => {
                    return Err(refuse(format!(
                        "the old version crashed ({}) taking its snapshot: {}",
                        f.kind(),
                        f.one_line()
                    )));
                }
            }
        };
        let incarnation = self.incarnation().wrapping_add(1 << 32);
        let fresh = || {
            new.instantiate(incarnation).map_err(|f| {
                refuse(format!(
                    "the new version cannot be instantiated: {}",
                    f.one_line()
                ))
            })
        };
        let mut effects = Vec::new();
        let mut carried = None;
        if let Some(bytes) = snapshot {
            let mut instance = fresh()?;
            match instance.restore(now, &bytes, &mut effects) {
                Ok(Ok(())) => carried = Some(instance),
                Ok(Err(why)) => {
                    why_fresh = Some(format!(
                        "the new version's restore refused the state: {}",
                        snippet(&why)
                    ));
                }
                Err(f) => {
                    return Err(refuse(format!(
                        "the new version crashed ({}) in restore: {}",
                        f.kind(),
                        f.one_line()
                    )));
                }
            }
        }
        let state_carried = carried.is_some();
        let instance = match carried {
            Some(instance) => instance,
            None => {
                let mut instance = fresh()?;
                effects.push(Effect::Restarted);
                if let Some((src, body)) = &self.init {
                    let mut init_effects = Vec::new();
                    let r = instance.call(now, Input::Message { src, body }, &mut init_effects);
                    if let Err(f) = r {
                        return Err(refuse(format!(
                            "the new version crashed ({}) handling the replayed init: {}",
                            f.kind(),
                            f.one_line()
                        )));
                    }
                    // The init_ok went out long ago; keep the timers it armed.
                    effects.extend(
                        init_effects
                            .into_iter()
                            .filter(|e| !matches!(e, Effect::Send { .. })),
                    );
                }
                instance
            }
        };
        self.version = new;
        self.instance = instance;
        self.swaps += 1;
        self.state = State::Up;
        self.streak = 0;
        out.append(&mut effects);
        Ok(UpgradeInfo {
            from,
            to,
            state_carried,
            pause: started.elapsed(),
            fresh_because: why_fresh.filter(|_| !state_carried),
        })
    }
}

/// 100 ms, 200 ms, ... up to 5 s, by how many crashes in a row there have been.
fn backoff(streak: u32) -> Duration {
    let doublings = streak.saturating_sub(2).min(16);
    (FIRST_BACKOFF * (1u32 << doublings)).min(MAX_BACKOFF)
}

/// An error reply to `body` if it was a request (it has a msg_id and answers nothing).
fn error_reply(body: &str, code: u32, text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head {
        msg_id: Option<u64>,
        in_reply_to: Option<IgnoredAny>,
    }
    let head: Head = serde_json::from_str(body).ok()?;
    if head.in_reply_to.is_some() {
        return None;
    }
    let msg_id = head.msg_id?;
    Some(
        serde_json::json!({"type": "error", "code": code, "text": text, "in_reply_to": msg_id})
            .to_string(),
    )
}

/// `text` cut to about `SNIPPET` bytes (on a character boundary), saying how long it
/// was: a node's words are repeated in one-line reports, never at any length.
fn snippet(text: &str) -> String {
    let text = text.trim_end();
    if text.len() <= SNIPPET {
        return text.to_string();
    }
    let mut end = SNIPPET;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

/// A node that gets its versions from a [`Supervisor`], as the harness drives it: the
/// wasm nodes of `host test` and the native nodes of `glomers::simulate` alike.
/// `next` is the version a rolling upgrade (`--upgrade`) switches it to.
pub struct Supervised<V: Version> {
    supervisor: Supervisor<V>,
    next: Option<V>,
}

impl<V: Version> Supervised<V> {
    /// Starts `version`; `next` is what an upgrade switches to, if the run rolls.
    pub fn new(version: V, next: Option<V>, max_crash_streak: u32) -> Result<Self, FailureOf<V>> {
        Ok(Supervised {
            supervisor: Supervisor::new(version, max_crash_streak)?,
            next,
        })
    }
}

impl<V: Version + Clone> crate::node::Node for Supervised<V> {
    fn handle(
        &mut self,
        now_ns: u64,
        input: Input<'_>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), crate::node::Crash> {
        // A node given up on ignores every later event, as a dead process would.
        self.supervisor
            .handle(Duration::from_nanos(now_ns), input, effects)
            .map_err(|crash| crash.to_harness())
    }

    fn crashes(&self) -> u64 {
        self.supervisor.crashes()
    }

    fn upgrade(&mut self, now_ns: u64, effects: &mut Vec<Effect>) -> Result<UpgradeInfo, String> {
        let Some(next) = self.next.clone() else {
            return Err("the run names no version to upgrade to".into());
        };
        self.supervisor
            .upgrade(Duration::from_nanos(now_ns), next, effects)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// A failure of the fake node below: its causes, outermost first.
    #[derive(Debug)]
    struct Boom(Vec<String>);

    impl std::fmt::Display for Boom {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0.join("\n  "))
        }
    }

    impl Failure for Boom {
        fn kind(&self) -> String {
            "boom".into()
        }
        fn headline(&self) -> String {
            self.0[0].clone()
        }
        fn one_line(&self) -> String {
            self.0.join(": ")
        }
        fn context(mut self, what: String) -> Boom {
            self.0.insert(0, what);
            self
        }
    }

    /// How the fake's `restore` behaves.
    #[derive(Clone, Copy, PartialEq)]
    enum Restore {
        Accept,
        Refuse,
        Crash,
    }

    /// A node that counts what it is told (its state), answers `init` and `count`,
    /// arms timer 1 at `init`, and fails on `fail` (after sending) or, if
    /// `fail_init`, in `init` (after answering it).
    #[derive(Clone)]
    struct Fake {
        label: &'static str,
        handoff: bool,
        fail_init: bool,
        restore: Restore,
    }

    struct FakeInstance {
        fake: Fake,
        incarnation: u64,
        count: u64,
    }

    impl Version for Fake {
        type Instance = FakeInstance;
        fn label(&self) -> &str {
            self.label
        }
        fn handoff(&self) -> bool {
            self.handoff
        }
        fn instantiate(&self, incarnation: u64) -> Result<FakeInstance, Boom> {
            Ok(FakeInstance {
                fake: self.clone(),
                incarnation,
                count: 0,
            })
        }
    }

    impl Instance for FakeInstance {
        type Failure = Boom;
        fn call(
            &mut self,
            _: Duration,
            input: Input<'_>,
            out: &mut Vec<Effect>,
        ) -> Result<(), Boom> {
            let Input::Message { src, body } = input else {
                return Ok(());
            };
            let body: Value = serde_json::from_str(body).unwrap();
            let send = |b: Value| Effect::Send {
                dest: src.to_string(),
                body: b.to_string(),
            };
            let mut effects = vec![];
            match body["type"].as_str().unwrap() {
                "init" => {
                    effects.push(send(
                        json!({"type": "init_ok", "in_reply_to": body["msg_id"]}),
                    ));
                    effects.push(Effect::SetTimer {
                        id: 1,
                        delay_ms: 50,
                    });
                    if self.fake.fail_init {
                        return Err(Boom(vec!["init failed".into()]));
                    }
                }
                "count" => {
                    self.count += 1;
                    effects.push(send(json!({"type": "count_ok", "count": self.count,
                        "in_reply_to": body["msg_id"], "incarnation": self.incarnation})));
                }
                "fail" => {
                    effects.push(send(json!({"type": "before_failing"})));
                    return Err(Boom(vec!["asked to fail".into(), "trap".into()]));
                }
                _ => {}
            }
            out.extend(effects);
            Ok(())
        }
        fn snapshot(&mut self, _: Duration) -> Result<Option<Vec<u8>>, Boom> {
            Ok(Some(self.count.to_string().into_bytes()))
        }
        fn restore(
            &mut self,
            _: Duration,
            state: &[u8],
            out: &mut Vec<Effect>,
        ) -> Result<Result<(), String>, Boom> {
            match self.fake.restore {
                Restore::Accept => {
                    self.count = String::from_utf8_lossy(state).parse().unwrap();
                    out.push(Effect::SetTimer { id: 9, delay_ms: 5 });
                    Ok(Ok(()))
                }
                Restore::Refuse => Ok(Err("not my state".into())),
                Restore::Crash => Err(Boom(vec!["restore trapped".into()])),
            }
        }
    }

    fn fake(label: &'static str) -> Fake {
        Fake {
            label,
            handoff: true,
            fail_init: false,
            restore: Restore::Accept,
        }
    }

    const INIT: &str = r#"{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}"#;

    fn started(f: Fake, streak: u32) -> Supervisor<Fake> {
        let mut s = Supervisor::new(f, streak).unwrap();
        let mut out = vec![];
        let _ = s.on_message(Duration::ZERO, "c0", INIT, &mut out);
        s
    }

    fn ask(
        s: &mut Supervisor<Fake>,
        at_ms: u64,
        kind: &str,
        id: u64,
        out: &mut Vec<Effect>,
    ) -> Result<(), Crashed<Boom>> {
        let body = json!({"type": kind, "msg_id": id}).to_string();
        s.on_message(Duration::from_millis(at_ms), "c1", &body, out)
    }

    fn bodies(out: &[Effect]) -> Vec<Value> {
        out.iter()
            .filter_map(|e| match e {
                Effect::Send { body, .. } => Some(serde_json::from_str(body).unwrap()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn error_replies_go_to_requests_only() {
        let r = error_reply(r#"{"type":"x","msg_id":4}"#, 13, "t").unwrap();
        let v: Value = serde_json::from_str(&r).unwrap();
        assert_eq!(v["in_reply_to"], 4);
        assert_eq!(v["code"], 13);
        assert!(error_reply(r#"{"type":"x_ok","msg_id":4,"in_reply_to":2}"#, 13, "t").is_none());
        assert!(error_reply(r#"{"type":"x"}"#, 13, "t").is_none());
        assert!(error_reply("not json", 13, "t").is_none());
    }

    #[test]
    fn backoff_doubles_from_the_first_failed_restart_and_is_capped() {
        assert_eq!(backoff(2), Duration::from_millis(100));
        assert_eq!(backoff(3), Duration::from_millis(200));
        assert_eq!(backoff(4), Duration::from_millis(400));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    #[test]
    fn a_crash_answers_13_drops_the_calls_sends_and_restarts_with_init_replayed() {
        let mut s = started(fake("v1"), 10);
        let mut out = vec![];
        ask(&mut s, 10, "count", 2, &mut out).unwrap();
        out.clear();
        let crash = ask(&mut s, 20, "fail", 3, &mut out).unwrap_err();
        assert_eq!(crash.after, AfterCrash::Restarted);
        assert_eq!(
            crash.to_harness().reason,
            "boom; it was restarted: asked to fail\n  trap"
        );
        // Error 13, then the timers gone, then the timer the replayed init armed; no
        // init_ok and no send of the crashed call.
        let b = bodies(&out);
        assert_eq!(b.len(), 1, "{out:?}");
        assert_eq!(
            (b[0]["code"].as_u64(), b[0]["in_reply_to"].as_u64()),
            (Some(13), Some(3))
        );
        assert_eq!(b[0]["text"], "node crashed: asked to fail");
        assert_eq!(
            out[1..],
            [
                Effect::Restarted,
                Effect::SetTimer {
                    id: 1,
                    delay_ms: 50
                }
            ]
        );
        // A fresh instance, with a new incarnation (so a new seed).
        out.clear();
        ask(&mut s, 30, "count", 4, &mut out).unwrap();
        assert_eq!(bodies(&out)[0]["count"], 1);
        assert_eq!(bodies(&out)[0]["incarnation"], 1);
        assert_eq!(s.crashes(), 1);
        assert_eq!(s.id(), Some("n1"));
    }

    #[test]
    fn a_crash_loop_backs_off_with_error_11_and_then_gives_up() {
        let mut s = started(
            Fake {
                fail_init: true,
                ..fake("v1")
            },
            4,
        );
        assert_eq!(s.crashes(), 2, "init crashed, and so did its replay");
        let mut out = vec![];
        // Down: refused definitely until the back-off (100 ms) has passed.
        ask(&mut s, 50, "count", 2, &mut out).unwrap();
        assert_eq!(bodies(&out)[0]["code"], 11);
        out.clear();
        let crash = ask(&mut s, 100, "count", 3, &mut out).unwrap_err();
        assert_eq!(
            crash.after,
            AfterCrash::Down {
                retry_in: Duration::from_millis(200)
            }
        );
        assert!(
            crash
                .failure
                .one_line()
                .starts_with("replaying init to the restarted node crashed"),
            "{crash}"
        );
        assert_eq!(bodies(&out)[0]["code"], 11);
        // Not yet due at 299 ms; due at 300 ms, and the fourth crash gives up.
        out.clear();
        assert!(ask(&mut s, 299, "count", 4, &mut out).is_ok());
        out.clear();
        let crash = ask(&mut s, 300, "count", 5, &mut out).unwrap_err();
        assert_eq!(crash.after, AfterCrash::GaveUp { crashes: 4 });
        assert!(s.gave_up());
        // Dead: it answers nothing any more, and timers do nothing.
        out.clear();
        assert!(ask(&mut s, 10_000, "count", 6, &mut out).is_ok());
        assert!(s.on_timer(Duration::from_secs(20), 1, &mut out).is_ok());
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn a_swap_carries_the_state_and_keeps_the_timers() {
        let mut s = started(fake("v1"), 10);
        let mut out = vec![];
        ask(&mut s, 1, "count", 2, &mut out).unwrap();
        out.clear();
        let u = s
            .upgrade(Duration::from_millis(2), fake("v2"), &mut out)
            .unwrap();
        assert!(u.state_carried && u.fresh_because.is_none(), "{u}");
        assert_eq!((u.from.as_str(), u.to.as_str()), ("v1", "v2"));
        // What restore armed; no Restarted: the old timers stay armed.
        assert_eq!(out, [Effect::SetTimer { id: 9, delay_ms: 5 }]);
        out.clear();
        ask(&mut s, 3, "count", 3, &mut out).unwrap();
        assert_eq!(bodies(&out)[0]["count"], 2);
        assert_eq!(bodies(&out)[0]["incarnation"], 1u64 << 32);
        assert_eq!(s.version().label(), "v2");
    }

    #[test]
    fn a_refused_restore_starts_the_new_version_fresh_with_init() {
        let mut s = started(fake("v1"), 10);
        let mut out = vec![];
        ask(&mut s, 1, "count", 2, &mut out).unwrap();
        out.clear();
        let new = Fake {
            restore: Restore::Refuse,
            ..fake("v2")
        };
        let u = s.upgrade(Duration::from_millis(2), new, &mut out).unwrap();
        assert!(!u.state_carried);
        assert_eq!(
            u.fresh_because.as_deref(),
            Some("the new version's restore refused the state: not my state")
        );
        assert!(u.to_string().contains("state not carried (the new version's restore refused the state: not my state; started fresh with init)"), "{u}");
        assert_eq!(
            out,
            [
                Effect::Restarted,
                Effect::SetTimer {
                    id: 1,
                    delay_ms: 50
                }
            ]
        );
        out.clear();
        ask(&mut s, 3, "count", 3, &mut out).unwrap();
        assert_eq!(bodies(&out)[0]["count"], 1, "fresh");
    }

    #[test]
    fn a_crash_in_restore_or_in_the_replayed_init_leaves_the_old_version_serving() {
        let mut s = started(fake("v1"), 10);
        let mut out = vec![];
        ask(&mut s, 1, "count", 2, &mut out).unwrap();
        out.clear();
        let new = Fake {
            restore: Restore::Crash,
            ..fake("v2")
        };
        let e = s
            .upgrade(Duration::from_millis(2), new, &mut out)
            .unwrap_err();
        assert_eq!(e.to_string(), "not swapping v1 -> v2: the new version crashed (boom) in restore: restore trapped; the old version keeps serving");
        let new = Fake {
            handoff: false,
            fail_init: true,
            ..fake("v3")
        };
        let e = s
            .upgrade(Duration::from_millis(2), new, &mut out)
            .unwrap_err();
        assert!(
            e.reason.contains("handling the replayed init: init failed"),
            "{e}"
        );
        assert!(out.is_empty(), "{out:?}");
        ask(&mut s, 3, "count", 3, &mut out).unwrap();
        assert_eq!(
            bodies(&out)[0]["count"],
            2,
            "the old version, with its state"
        );
        assert_eq!(s.version().label(), "v1");
        assert_eq!(s.crashes(), 0, "a refused swap is no crash");
    }

    #[test]
    fn the_first_instance_keeps_the_seed_and_later_ones_differ() {
        assert_eq!(incarnation_seed(42, 0), 42);
        let seeds: std::collections::HashSet<u64> = [0, 1, 2, 1 << 32, (1 << 32) + 1]
            .iter()
            .map(|&i| incarnation_seed(42, i))
            .collect();
        assert_eq!(seeds.len(), 5);
    }
}
