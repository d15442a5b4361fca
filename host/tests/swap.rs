//! Live swap in `host run`, from the outside: the real binary as a process, its .wasm
//! replaced on disk (or SIGHUP) while it serves. What must hold: nothing lost,
//! duplicated or answered twice across a swap; state carried when both versions hand
//! it over; a file that does not load (corrupt, half-written) leaves the old version
//! serving and the next good file is taken; a component of the old world (0.1.0, kept
//! prebuilt as a fixture) loads, runs and is swapped without handoff; the off switch.
//!
//! Each test has its own compile cache, so every swap compiles cold: the node must keep
//! answering meanwhile. The components come from `make all fixtures`.

mod common;

use common::{built, temp_dir, TempDir};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A safety net so a broken host fails the test instead of hanging it.
const STUCK: Duration = Duration::from_secs(60);

/// The echo challenge built against world 0.1.0 (`node`, no handoff), before the
/// `handoff` world existed: old components must keep loading.
fn old_world_echo() -> PathBuf {
    built("host/tests/fixtures/echo-0.1.0.wasm")
}

fn scratch(name: &str) -> TempDir {
    temp_dir(&format!("swap-{name}"))
}

/// `bytes` with a custom section appended: the same code under another content hash,
/// as a rebuild that changed nothing the node does.
fn rebuilt(bytes: &[u8], tag: &str) -> Vec<u8> {
    let name = b"glomers-test";
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name);
    body.extend_from_slice(tag.as_bytes());
    assert!(body.len() < 128, "one LEB128 byte");
    let mut out = bytes.to_vec();
    out.push(0);
    out.push(body.len() as u8);
    out.extend_from_slice(&body);
    out
}

/// Replaces `path` the way `make` and `mv` do: write beside it, then rename.
fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A `host run` process.
struct Host {
    child: Child,
    stdin: ChildStdin,
    stdout: Receiver<Value>,
    stderr: Arc<Mutex<String>>,
}

impl Host {
    fn start(wasm: &Path, dir: &Path, env: &[(&str, &str)]) -> Host {
        Host::start_with(wasm, &[], dir, env)
    }

    /// `host run WASM GUEST-ARGS...`.
    fn start_with(wasm: &Path, guest: &[&str], dir: &Path, env: &[(&str, &str)]) -> Host {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_host"));
        cmd.arg("run")
            .arg(wasm)
            .args(guest)
            .env("GLOMERS_CACHE_DIR", dir.join("cache"))
            .env_remove("GLOMERS_LIVE_SWAP")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, stdout) = mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines() {
                let Ok(line) = line else { break };
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON on stdout ({e}): {line}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = BufReader::new(child.stderr.take().unwrap());
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in err.lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let mut h = Host {
            child,
            stdin,
            stdout,
            stderr,
        };
        h.send(json!({"type": "init", "msg_id": 0, "node_id": "n1", "node_ids": ["n1"]}));
        assert_eq!(h.recv()["type"], "init_ok");
        h
    }

    fn send(&mut self, body: Value) {
        let line = json!({"src": "c1", "dest": "n1", "body": body});
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next message's body.
    fn recv(&self) -> Value {
        self.stdout
            .recv_timeout(STUCK)
            .unwrap_or_else(|_| panic!("no output; stderr:\n{}", self.stderr()))["body"]
            .clone()
    }

    /// A request and its reply.
    fn ask(&mut self, body: Value) -> Value {
        let id = body["msg_id"].clone();
        self.send(body);
        let r = self.recv();
        assert_eq!(r["in_reply_to"], id, "{r}");
        r
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr has `n` lines containing `what`; returns those lines.
    fn wait_stderr(&self, what: &str, n: usize) -> Vec<String> {
        let deadline = Instant::now() + STUCK;
        loop {
            let lines: Vec<String> = self
                .stderr()
                .lines()
                .filter(|l| l.contains(what))
                .map(String::from)
                .collect();
            if lines.len() >= n {
                return lines;
            }
            assert!(
                Instant::now() < deadline,
                "stderr never said {what:?} {n} times:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn swaps(&self) -> Vec<String> {
        self.stderr()
            .lines()
            .filter(|l| l.contains("live swap: swapped"))
            .map(String::from)
            .collect()
    }

    fn hangup(&self) {
        let ok = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sent` broadcasts (values and msg_ids 1..=sent) were each answered once, and a read
/// has every value: nothing lost or duplicated across the swaps.
fn answered_once_and_nothing_lost(host: &mut Host, sent: u64) {
    let mut answers: HashMap<u64, usize> = HashMap::new();
    for _ in 0..sent {
        let r = host.recv();
        assert_eq!(r["type"], "broadcast_ok", "{r}");
        *answers
            .entry(r["in_reply_to"].as_u64().unwrap())
            .or_default() += 1;
    }
    assert_eq!(answers.len() as u64, sent, "every request answered");
    assert!(answers.values().all(|&n| n == 1), "none answered twice");
    let read = host.ask(json!({"type": "read", "msg_id": 100_000}));
    let mut values: Vec<u64> = read["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    values.sort_unstable();
    assert_eq!(values, (1..=sent).collect::<Vec<_>>(), "no value lost");
}

#[test]
fn a_swap_under_a_stream_of_messages_loses_nothing_and_carries_the_state() {
    let dir = scratch("stream");
    let path = dir.join("broadcast.wasm");
    let v1 = std::fs::read(built("challenges/broadcast.wasm")).unwrap();
    std::fs::write(&path, &v1).unwrap();
    let mut host = Host::start(&path, &dir, &[]);
    let mut sent = 0u64;
    let broadcast = |host: &mut Host, sent: &mut u64| {
        *sent += 1;
        host.send(json!({"type": "broadcast", "message": *sent, "msg_id": *sent}));
    };
    for _ in 0..50 {
        broadcast(&mut host, &mut sent);
    }
    // The new version compiles cold while messages keep coming.
    replace(&path, &rebuilt(&v1, "v2"));
    let started = Instant::now();
    while host.swaps().is_empty() {
        broadcast(&mut host, &mut sent);
        std::thread::sleep(Duration::from_millis(2));
        assert!(started.elapsed() < STUCK, "no swap:\n{}", host.stderr());
    }
    for _ in 0..50 {
        broadcast(&mut host, &mut sent);
    }
    answered_once_and_nothing_lost(&mut host, sent);
    let swaps = host.swaps();
    assert_eq!(swaps.len(), 1, "{swaps:?}");
    assert!(swaps[0].contains("state carried"), "{}", swaps[0]);
    assert!(swaps[0].contains("paused"), "{}", swaps[0]);
    // Nothing more came out: no late duplicate.
    std::thread::sleep(Duration::from_millis(200));
    assert!(host.stdout.try_recv().is_err());
}

#[test]
fn corrupt_and_half_written_files_leave_the_old_version_serving_until_a_good_one() {
    let dir = scratch("corrupt");
    let path = dir.join("broadcast.wasm");
    let v1 = std::fs::read(built("challenges/broadcast.wasm")).unwrap();
    std::fs::write(&path, &v1).unwrap();
    let mut host = Host::start(&path, &dir, &[]);
    host.ask(json!({"type": "broadcast", "message": 1, "msg_id": 1}));

    replace(&path, b"this is not wasm at all");
    host.wait_stderr("the old version keeps serving", 1);
    host.ask(json!({"type": "broadcast", "message": 2, "msg_id": 2}));

    // Written in place and caught half-way: the writer stops long enough for the host
    // to read it, as a slow `cp` could.
    let v2 = rebuilt(&v1, "v2");
    {
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(&v2[..v2.len() / 2]).unwrap();
        f.flush().unwrap();
        host.wait_stderr("the old version keeps serving", 2);
        host.ask(json!({"type": "broadcast", "message": 3, "msg_id": 3}));
        f.write_all(&v2[v2.len() / 2..]).unwrap();
    }
    host.wait_stderr("live swap: swapped", 1);
    let errors: Vec<String> = host
        .stderr()
        .lines()
        .filter(|l| l.contains("keeps serving"))
        .map(String::from)
        .collect();
    assert_eq!(errors.len(), 2, "one line per bad file: {errors:#?}");
    let read = host.ask(json!({"type": "read", "msg_id": 4}));
    assert_eq!(read["messages"], json!([1, 2, 3]), "{read}");
    assert!(host.swaps()[0].contains("state carried"));
}

#[test]
fn an_old_world_component_runs_and_is_swapped_without_handoff() {
    let dir = scratch("old-world");
    let path = dir.join("echo.wasm");
    std::fs::copy(old_world_echo(), &path).unwrap();
    let mut host = Host::start(&path, &dir, &[]);
    let r = host.ask(json!({"type": "echo", "echo": "old", "msg_id": 1}));
    assert_eq!(r["echo"], "old");

    replace(
        &path,
        &std::fs::read(built("challenges/echo.wasm")).unwrap(),
    );
    let swap = &host.wait_stderr("live swap: swapped", 1)[0];
    assert!(
        swap.contains("state not carried (the old version has no handoff"),
        "{swap}"
    );
    let r = host.ask(json!({"type": "echo", "echo": "new", "msg_id": 2}));
    assert_eq!(r["echo"], "new");

    // And back: a handoff node to an old-world one starts it fresh with init.
    replace(&path, &std::fs::read(old_world_echo()).unwrap());
    let swap = &host.wait_stderr("live swap: swapped", 2)[1];
    assert!(swap.contains("the new version has no handoff"), "{swap}");
    let r = host.ask(json!({"type": "echo", "echo": "old again", "msg_id": 3}));
    assert_eq!(r["echo"], "old again");
}

#[test]
fn sighup_reloads_the_same_file_and_carries_the_state() {
    let dir = scratch("sighup");
    let path = dir.join("broadcast.wasm");
    std::fs::copy(built("challenges/broadcast.wasm"), &path).unwrap();
    let mut host = Host::start(&path, &dir, &[]);
    host.ask(json!({"type": "broadcast", "message": 7, "msg_id": 1}));
    host.hangup();
    let swap = &host.wait_stderr("live swap: swapped", 1)[0];
    assert!(swap.contains("state carried"), "{swap}");
    let read = host.ask(json!({"type": "read", "msg_id": 2}));
    assert_eq!(read["messages"], json!([7]));
}

#[test]
fn the_off_switch_keeps_the_first_version() {
    let dir = scratch("off");
    let path = dir.join("broadcast.wasm");
    std::fs::copy(built("challenges/broadcast.wasm"), &path).unwrap();
    let mut host = Host::start(&path, &dir, &[("GLOMERS_LIVE_SWAP", "0")]);
    host.ask(json!({"type": "broadcast", "message": 7, "msg_id": 1}));
    // Were it swapped in, echo would answer `read` with error 10.
    replace(&path, &std::fs::read(old_world_echo()).unwrap());
    std::thread::sleep(Duration::from_millis(1500));
    let read = host.ask(json!({"type": "read", "msg_id": 2}));
    assert_eq!(read["messages"], json!([7]), "{read}");
    assert!(!host.stderr().contains("live swap"), "{}", host.stderr());
}

#[test]
fn a_state_the_new_version_refuses_starts_it_fresh_with_init() {
    let dir = scratch("refused");
    let path = dir.join("node.wasm");
    std::fs::copy(built("challenges/broadcast.wasm"), &path).unwrap();
    let mut host = Host::start(&path, &dir, &[]);
    host.ask(json!({"type": "broadcast", "message": 7, "msg_id": 1}));
    // kafka hands over too, but cannot read broadcast's state.
    replace(
        &path,
        &std::fs::read(built("challenges/kafka.wasm")).unwrap(),
    );
    let swap = &host.wait_stderr("live swap: swapped", 1)[0];
    assert!(
        swap.contains("state not carried (the new version's restore refused the state"),
        "{swap}"
    );
    assert!(swap.contains("started fresh with init"), "{swap}");
    // Fresh, and it knows who it is: init was replayed.
    let r = host.ask(json!({"type": "send", "key": "k", "msg": 1, "msg_id": 2}));
    assert_eq!(r["offset"], 0, "{r}");
}

/// The node's language changes under load, state and all: Rust -> Python ->
/// JavaScript -> Go -> Rust, each a live swap of the same file while broadcasts keep
/// coming. Every request is answered once, every value is still there, and each swap
/// carried the state (the handoff format is the same in every language:
/// docs/handoff.md). The components come from `make all` (every language); the cache
/// is the one `make` and `make run` fill, so the swaps need not compile cold.
#[test]
fn a_node_swapped_across_every_language_under_load_keeps_its_state() {
    let dir = scratch("languages");
    let path = dir.join("broadcast.wasm");
    let chain = [
        "challenges/broadcast.wasm",
        "challenges/python/broadcast.wasm",
        "challenges/js/broadcast.wasm",
        "challenges/go/broadcast.wasm",
        "challenges/broadcast.wasm",
    ];
    let versions: Vec<Vec<u8>> = chain
        .iter()
        .enumerate()
        .map(|(i, c)| rebuilt(&std::fs::read(built(c)).unwrap(), &format!("v{i}")))
        .collect();
    std::fs::write(&path, &versions[0]).unwrap();
    let cache = common::repo().join("target/glomers-test-cache");
    let cache = cache.display().to_string();
    let mut host = Host::start(&path, &dir, &[("GLOMERS_CACHE_DIR", &cache)]);
    let mut sent = 0u64;
    let broadcast = |host: &mut Host, sent: &mut u64| {
        *sent += 1;
        host.send(json!({"type": "broadcast", "message": *sent, "msg_id": *sent}));
    };
    for (i, version) in versions.iter().enumerate().skip(1) {
        for _ in 0..20 {
            broadcast(&mut host, &mut sent);
        }
        replace(&path, version);
        let started = Instant::now();
        while host.swaps().len() < i {
            broadcast(&mut host, &mut sent);
            std::thread::sleep(Duration::from_millis(5));
            assert!(
                started.elapsed() < STUCK * 3,
                "no swap to {}:\n{}",
                chain[i],
                host.stderr()
            );
        }
    }
    for _ in 0..20 {
        broadcast(&mut host, &mut sent);
    }
    answered_once_and_nothing_lost(&mut host, sent);
    let swaps = host.swaps();
    assert_eq!(swaps.len(), chain.len() - 1, "{swaps:?}");
    for s in &swaps {
        assert!(s.contains("state carried"), "{s}");
    }
}

#[test]
fn a_file_replaced_while_the_first_version_loads_is_swapped_in() {
    let dir = scratch("during-load");
    let path = dir.join("broadcast.wasm");
    let v1 = std::fs::read(built("challenges/broadcast.wasm")).unwrap();
    let v2 = rebuilt(&v1, "v2");
    // The node's file starts as a FIFO: the host's read of it ends exactly when the
    // test closes its end, so the test knows the first version was read whole, and
    // replaces the file while the host still compiles it (its cache is cold), before
    // the watch is up. No event reports that replacement.
    let made = Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success());
    let writer = {
        let path = path.clone();
        std::thread::spawn(move || {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .write_all(&v1)
                .unwrap();
            replace(&path, &v2);
        })
    };
    let mut host = Host::start(&path, &dir, &[]);
    writer.join().unwrap();
    host.ask(json!({"type": "broadcast", "message": 5, "msg_id": 1}));
    let swap = &host.wait_stderr("live swap: swapped", 1)[0];
    assert!(swap.contains("state carried"), "{swap}");
    let read = host.ask(json!({"type": "read", "msg_id": 2}));
    assert_eq!(read["messages"], json!([5]), "{read}");
    // Looked at once: the same file is not swapped again.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(host.swaps().len(), 1, "{}", host.stderr());
}

#[test]
fn a_file_unchanged_since_it_was_loaded_is_not_swapped_at_start() {
    let dir = scratch("unchanged");
    let path = dir.join("broadcast.wasm");
    std::fs::copy(built("challenges/broadcast.wasm"), &path).unwrap();
    let mut host = Host::start(&path, &dir, &[]);
    host.ask(json!({"type": "broadcast", "message": 5, "msg_id": 1}));
    std::thread::sleep(Duration::from_millis(800));
    assert!(!host.stderr().contains("live swap"), "{}", host.stderr());
}

fn misbehave() -> PathBuf {
    built("target/wasm32-wasip2/guest/misbehave.wasm")
}

#[test]
fn a_trap_in_restore_leaves_the_old_version_serving_with_its_state() {
    let dir = scratch("restore-trap");
    let path = dir.join("misbehave.wasm");
    std::fs::copy(misbehave(), &path).unwrap();
    let mut host = Host::start_with(&path, &["--panic-on-restore"], &dir, &[]);
    let r = host.ask(json!({"type": "count", "msg_id": 1}));
    assert_eq!(r["count"], 1, "{r}");
    host.hangup();
    let refusal = &host.wait_stderr("live swap: not swapping", 1)[0];
    assert!(
        refusal.contains("the new version crashed (panic) in restore"),
        "{refusal}"
    );
    assert!(
        refusal.contains("the old version keeps serving"),
        "{refusal}"
    );
    // The old instance, its count intact: no crash, no restart.
    let r = host.ask(json!({"type": "count", "msg_id": 2}));
    assert_eq!(r["count"], 2, "{r}");
    assert!(
        !host.stderr().contains("the node crashed"),
        "{}",
        host.stderr()
    );
}

#[test]
fn a_swap_while_a_reply_is_awaited_drops_the_callback_and_the_late_reply_is_ignored() {
    let dir = scratch("mid-rpc");
    let path = dir.join("misbehave.wasm");
    std::fs::copy(misbehave(), &path).unwrap();
    let mut host = Host::start(&path, &dir, &[]);
    host.ask(json!({"type": "count", "msg_id": 1}));
    // The node asks c2 before it answers c1.
    host.send(json!({"type": "rpc", "msg_id": 2}));
    let question = host.stdout.recv_timeout(STUCK).expect("the node asks c2");
    assert_eq!(question["dest"], "c2", "{question}");
    assert_eq!(question["body"]["type"], "question", "{question}");
    host.hangup();
    let swap = &host.wait_stderr("live swap: swapped", 1)[0];
    assert!(swap.contains("state carried"), "{swap}");
    // c2's answer reaches the new version, which awaits nothing: no rpc_ok, ever.
    let answer = json!({"src": "c2", "dest": "n1", "body": {
        "type": "question_ok", "answer": 42, "in_reply_to": question["body"]["msg_id"]}});
    writeln!(host.stdin, "{answer}").unwrap();
    host.stdin.flush().unwrap();
    let r = host.ask(json!({"type": "count", "msg_id": 3}));
    assert_eq!(r["count"], 2, "the state crossed: {r}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(host.stdout.try_recv().is_err(), "a late answer to c1");
}
