//! `host run` from the outside, as Maelstrom sees it: the real binary as a process,
//! Maelstrom's JSON lines over its stdin and stdout. These check behaviour only; how
//! fast it goes is `make bench`'s business.
//!
//! The components come from `make all fixtures`; the tests do not build them, so a
//! missing one fails with that instruction instead of a confusing load error.

mod common;

use common::{built, temp_dir, TempDir};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long to wait for a line before declaring the node stuck: a safety net so a
/// broken host fails the test instead of hanging it, never a speed requirement.
const STUCK: Duration = Duration::from_secs(60);

fn echo() -> PathBuf {
    built("challenges/echo.wasm")
}
fn unique_ids() -> PathBuf {
    built("challenges/unique-ids.wasm")
}
fn misbehave() -> PathBuf {
    built("target/wasm32-wasip2/guest/misbehave.wasm")
}
fn probe() -> PathBuf {
    built("target/wasm32-wasip2/guest/probe.wasm")
}

fn scratch(name: &str) -> TempDir {
    temp_dir(&format!("run-{name}"))
}

/// The cache every test shares (except the one about the cache), kept out of ~/.cache.
fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("run-cache")
}

fn host() -> Command {
    Command::new(common::host())
}

/// One `host run` process and both ends of its conversation.
struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stdout_thread: Option<JoinHandle<()>>,
    stderr_thread: Option<JoinHandle<()>>,
    next_msg_id: u64,
}

impl Proc {
    /// `host run <args...>` with the shared cache.
    fn start(args: &[&str]) -> Proc {
        Proc::start_in(args, &shared_cache())
    }

    fn start_in(args: &[&str], cache: &Path) -> Proc {
        Proc::spawn(args, cache, false)
    }

    /// `host run <args...>` whose stderr reader is gone from the start, as when
    /// whoever collects a node's logs has stopped.
    fn start_with_stderr_closed(args: &[&str]) -> Proc {
        Proc::spawn(args, &shared_cache(), true)
    }

    fn spawn(args: &[&str], cache: &Path, stderr_closed: bool) -> Proc {
        let mut child = host()
            .arg("run")
            .args(args)
            .env("GLOMERS_CACHE_DIR", cache)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the host binary");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout_thread = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let stderr_thread = if stderr_closed {
            // The read end goes away now: every write the host makes to stderr fails.
            drop(pipe);
            None
        } else {
            let mut pipe = pipe;
            let sink = stderr.clone();
            Some(std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }))
        };
        Proc {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            stdout_thread: Some(stdout_thread),
            stderr_thread,
            next_msg_id: 0,
        }
    }

    /// Waits for the process to exit on its own (stdin stays open), within `STUCK`;
    /// returns its status and stderr, checking it wrote nothing the test did not read.
    fn exits_by_itself(mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + STUCK;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "still running after {STUCK:?}; stderr:\n{}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(self.stdin.take());
        self.finish_with(status)
    }

    fn write_line(&mut self, line: &str) {
        self.write_bytes(format!("{line}\n").as_bytes());
    }

    fn write_bytes(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    fn send(&mut self, src: &str, body: Value) {
        let line = json!({"src": src, "dest": "n1", "body": body}).to_string();
        self.write_line(&line);
    }

    /// The next message the node wrote, checked to be a whole Maelstrom message.
    fn recv(&mut self) -> Value {
        let line = match self.lines.recv_timeout(STUCK) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!(
                "no output for {STUCK:?}; stderr so far:\n{}",
                self.stderr.lock().unwrap()
            ),
            Err(RecvTimeoutError::Disconnected) => panic!(
                "stdout closed; status {:?}, stderr:\n{}",
                self.child.try_wait(),
                self.stderr.lock().unwrap()
            ),
        };
        let msg: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"));
        assert!(msg["src"].is_string(), "no src: {line}");
        assert!(msg["dest"].is_string(), "no dest: {line}");
        assert!(msg["body"].is_object(), "no body object: {line}");
        msg
    }

    /// Sends `body` from c1 with a fresh msg_id and returns the reply's body, checking
    /// it is addressed back to c1 and answers that msg_id.
    fn request(&mut self, mut body: Value) -> Value {
        self.next_msg_id += 1;
        let id = self.next_msg_id;
        body["msg_id"] = json!(id);
        self.send("c1", body);
        let reply = self.recv();
        assert_eq!(reply["dest"], "c1", "{reply}");
        assert_eq!(reply["body"]["in_reply_to"], id, "{reply}");
        reply["body"].clone()
    }

    /// Maelstrom's init for node `id` of `ids`; checks the init_ok.
    fn init_as(&mut self, id: &str, ids: &[&str]) {
        self.next_msg_id += 1;
        let msg_id = self.next_msg_id;
        self.send(
            "c0",
            json!({"type": "init", "msg_id": msg_id, "node_id": id, "node_ids": ids}),
        );
        let reply = self.recv();
        assert_eq!(reply["src"], id, "{reply}");
        assert_eq!(reply["dest"], "c0", "{reply}");
        assert_eq!(reply["body"]["type"], "init_ok", "{reply}");
        assert_eq!(reply["body"]["in_reply_to"], msg_id, "{reply}");
    }

    fn init(&mut self) {
        self.init_as("n1", &["n1"]);
    }

    /// Closes stdin, as Maelstrom does at the end, and waits for the exit; checks
    /// the node wrote nothing that the test did not read.
    fn finish(mut self) -> (ExitStatus, String) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        self.finish_with(status)
    }

    fn finish_with(mut self, status: ExitStatus) -> (ExitStatus, String) {
        for t in [self.stdout_thread.take(), self.stderr_thread.take()]
            .into_iter()
            .flatten()
        {
            t.join().unwrap();
        }
        let stderr = self.stderr.lock().unwrap().clone();
        let unread: Vec<String> = self.lines.try_iter().collect();
        assert!(
            unread.is_empty(),
            "unexpected output {unread:?}; stderr:\n{stderr}"
        );
        (status, stderr)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // A failed assertion must not leave a node running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---- the protocol, through echo ----

#[test]
fn init_gets_init_ok() {
    let mut p = Proc::start(&[s(&echo())]);
    p.init();
    let (status, _) = p.finish();
    assert!(status.success());
}

#[test]
fn echo_returns_the_same_payload() {
    let mut p = Proc::start(&[s(&echo())]);
    p.init();
    let payload = json!({"nested": [1, "two", null, {"three": 3.5}], "unicode": "héllo ✓"});
    let reply = p.request(json!({"type": "echo", "echo": payload}));
    assert_eq!(reply["type"], "echo_ok");
    assert_eq!(reply["echo"], payload);
    let reply = p.request(json!({"type": "echo", "echo": "again"}));
    assert_eq!(reply["echo"], "again");
}

#[test]
fn replies_come_from_the_node_id_init_gave() {
    let mut p = Proc::start(&[s(&echo())]);
    p.init_as("n7", &["n6", "n7"]);
    p.send("c9", json!({"type": "echo", "echo": 1, "msg_id": 5}));
    let reply = p.recv();
    assert_eq!(reply["src"], "n7");
    assert_eq!(reply["dest"], "c9");
    assert_eq!(reply["body"]["in_reply_to"], 5);
}

#[test]
fn unknown_type_gets_error_10() {
    let mut p = Proc::start(&[s(&echo())]);
    p.init();
    let reply = p.request(json!({"type": "frobnicate"}));
    assert_eq!(reply["type"], "error");
    assert_eq!(reply["code"], 10);
}

#[test]
fn body_that_does_not_decode_gets_error_12() {
    let mut p = Proc::start(&[s(&echo())]);
    p.init();
    let reply = p.request(json!({"type": "echo"}));
    assert_eq!(reply["type"], "error");
    assert_eq!(reply["code"], 12);
    assert!(
        reply["text"].as_str().unwrap().contains("echo"),
        "the text names the missing field: {reply}"
    );
}

#[test]
fn recovers_after_a_malformed_line() {
    let mut p = Proc::start(&[s(&echo())]);
    p.init();
    p.write_line("this is not json {{{");
    p.write_line(r#"{"src":"c1","dest":"n1","body":"a string body"}"#);
    p.write_bytes(b"{\"src\":\"c1\",\"body\":{\"type\":\"echo\",\"echo\":\"\xff\xfe\"}}\n");
    let reply = p.request(json!({"type": "echo", "echo": "still here"}));
    assert_eq!(reply["echo"], "still here");
    let (status, stderr) = p.finish();
    assert!(status.success());
    assert!(
        stderr.contains("this is not json {{{"),
        "stderr names the bad line: {stderr}"
    );
    assert!(
        stderr.contains("a string body"),
        "stderr names the non-object body: {stderr}"
    );
    assert!(
        stderr.contains("UTF-8"),
        "stderr names the bad bytes: {stderr}"
    );
}

#[test]
fn a_message_larger_than_a_pipe_read_arrives_whole() {
    let mut p = Proc::start(&[s(&echo())]);
    p.init();
    // Several times the pipe's and the reader's buffers, in one line.
    let big: String = (0..300_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let reply = p.request(json!({"type": "echo", "echo": big}));
    assert_eq!(reply["echo"].as_str().map(str::len), Some(big.len()));
    assert_eq!(reply["echo"], big);
}

#[test]
fn a_last_line_without_a_newline_is_served() {
    let mut p = Proc::start(&[s(&echo())]);
    p.init();
    p.write_bytes(br#"{"src":"c1","dest":"n1","body":{"type":"echo","echo":"last","msg_id":9}}"#);
    drop(p.stdin.take());
    let reply = p.recv();
    assert_eq!(reply["body"]["echo"], "last");
    assert_eq!(reply["body"]["in_reply_to"], 9);
    let (status, _) = p.finish();
    assert!(status.success());
}

// ---- components that cannot load ----

/// Runs `host run <wasm>` and returns its stderr, checking it failed with exactly
/// one line that names the file.
fn fails_to_load(wasm: &Path) -> String {
    let out = host()
        .arg("run")
        .arg(wasm)
        .env("GLOMERS_CACHE_DIR", shared_cache())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "exit status {:?}", out.status);
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one stderr line, got: {stderr}");
    let name = wasm.file_name().unwrap().to_str().unwrap();
    assert!(lines[0].contains(name), "names {name}: {stderr}");
    stderr
}

#[test]
fn missing_wasm_fails_clearly() {
    let dir = scratch("missing");
    let stderr = fails_to_load(&dir.join("nowhere.wasm"));
    assert!(stderr.contains("cannot read"), "{stderr}");
}

#[test]
fn corrupt_wasm_fails_clearly() {
    let dir = scratch("corrupt");
    let bytes = std::fs::read(echo()).unwrap();
    let truncated = dir.join("truncated.wasm");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let stderr = fails_to_load(&truncated);
    assert!(
        stderr.contains("not a valid WebAssembly component"),
        "{stderr}"
    );

    let text = dir.join("text.wasm");
    std::fs::write(&text, "hello, I am not wasm\n").unwrap();
    let stderr = fails_to_load(&text);
    assert!(stderr.contains("not a WebAssembly file"), "{stderr}");
}

#[test]
fn non_component_fails_clearly() {
    let dir = scratch("noncomponent");
    // The smallest valid core module: a module, not a component.
    let core = dir.join("core-module.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let stderr = fails_to_load(&core);
    assert!(stderr.contains("component"), "{stderr}");

    // A valid but empty component: it does not implement the node world.
    let empty = dir.join("empty-component.wasm");
    std::fs::write(&empty, b"\0asm\x0d\0\x01\0").unwrap();
    let stderr = fails_to_load(&empty);
    assert!(stderr.contains("glomers:node/node"), "{stderr}");
}

// ---- guest arguments ----

fn guest_args(host_args: &[&str]) -> Vec<String> {
    let mut p = Proc::start(host_args);
    p.init();
    let reply = p.request(json!({"type": "args"}));
    assert_eq!(reply["type"], "args_ok");
    let args: Vec<String> = serde_json::from_value(reply["args"].clone()).unwrap();
    assert_eq!(args.first().map(String::as_str), Some("probe.wasm"));
    args[1..].to_vec()
}

#[test]
fn guest_args_after_a_separator() {
    let w = probe();
    assert_eq!(guest_args(&[s(&w), "--", "a", "b"]), ["a", "b"]);
}

#[test]
fn guest_args_without_a_separator() {
    let w = probe();
    assert_eq!(guest_args(&[s(&w), "a", "b"]), ["a", "b"]);
}

#[test]
fn guest_options_reach_the_guest_not_the_host() {
    // Maelstrom drops its own `--`, so a node is started as `host run x.wasm --batch-ms 300`.
    let w = probe();
    assert_eq!(
        guest_args(&[s(&w), "--batch-ms", "300"]),
        ["--batch-ms", "300"]
    );
    assert_eq!(
        guest_args(&[s(&w), "--", "--batch-ms", "300"]),
        ["--batch-ms", "300"]
    );
    // Host options before the .wasm stay the host's.
    assert_eq!(guest_args(&["--call-budget-ms", "500", s(&w), "x"]), ["x"]);
}

#[test]
fn no_guest_args() {
    let w = probe();
    assert!(guest_args(&[s(&w)]).is_empty());
}

// ---- a guest that misbehaves ----

fn count(p: &mut Proc) -> u64 {
    let reply = p.request(json!({"type": "count"}));
    assert_eq!(reply["type"], "count_ok", "{reply}");
    reply["count"].as_u64().unwrap()
}

/// Asks for `kind`, expects error 13 for it, and checks the node serves afterwards.
fn crashes_and_recovers(host_args: &[&str], kind: &str) -> String {
    let mut p = Proc::start(host_args);
    p.init();
    assert_eq!(count(&mut p), 1);
    let reply = p.request(json!({"type": kind}));
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["code"], 13, "{reply}");
    // A crash restarts the node: its state is fresh, and it keeps serving.
    assert_eq!(count(&mut p), 1);
    assert_eq!(count(&mut p), 2);
    let (status, stderr) = p.finish();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("crashed"), "{stderr}");
    stderr
}

#[test]
fn panic_gets_error_13_and_the_node_keeps_serving() {
    let stderr = crashes_and_recovers(&[s(&misbehave())], "panic");
    assert!(stderr.contains("asked to panic"), "{stderr}");
}

#[test]
fn endless_loop_gets_error_13_and_the_node_keeps_serving() {
    let stderr = crashes_and_recovers(&["--call-budget-ms", "200", s(&misbehave())], "loop");
    assert!(stderr.contains("200 ms"), "{stderr}");
}

#[test]
fn unbounded_alloc_gets_error_13_and_the_node_keeps_serving() {
    let stderr = crashes_and_recovers(&["--max-memory-mb", "64", s(&misbehave())], "alloc");
    assert!(stderr.contains("64 MiB"), "{stderr}");
}

#[test]
fn bad_send_does_not_corrupt_stdout() {
    let mut p = Proc::start(&[s(&misbehave())]);
    p.init();
    // recv() checks every line is a whole message; "not json" would fail it.
    let reply = p.request(json!({"type": "bad_send"}));
    assert_eq!(reply["type"], "bad_send_ok");
    assert_eq!(count(&mut p), 1);
    let (status, stderr) = p.finish();
    assert!(status.success());
    assert!(
        stderr.contains("not json"),
        "stderr reports the drop: {stderr}"
    );
}

// ---- timers ----

#[test]
fn timers_fire_while_stdin_is_idle_and_never_early() {
    let mut p = Proc::start(&[s(&probe())]);
    p.init();
    let every_ms = 50u64;
    let count = 5u64;
    let asked = Instant::now();
    let reply = p.request(json!({"type": "ticks", "every_ms": every_ms, "count": count}));
    assert_eq!(reply["type"], "ticks_ok");
    // Nothing more is written to stdin: only the host's timers can produce these.
    for n in 1..=count {
        let tick = p.recv();
        let arrived = asked.elapsed();
        assert_eq!(tick["dest"], "c1", "{tick}");
        assert_eq!(tick["body"]["type"], "tick", "{tick}");
        assert_eq!(tick["body"]["n"], n, "{tick}");
        let due = Duration::from_millis(n * every_ms);
        let guest_ms = tick["body"]["elapsed_ms"].as_u64().unwrap();
        assert!(guest_ms >= n * every_ms, "tick {n} fired early: {tick}");
        assert!(
            arrived >= due,
            "tick {n} arrived after {arrived:?}, before {due:?}"
        );
    }
    let (status, _) = p.finish();
    assert!(status.success());
}

// ---- several processes ----

#[test]
fn unique_ids_from_three_processes_are_distinct() {
    const PER_NODE: u64 = 10_000;
    let ids = ["n1", "n2", "n3"];
    let wasm = unique_ids();
    let nodes: Vec<JoinHandle<Vec<String>>> = ids
        .iter()
        .map(|&me| {
            let wasm = wasm.clone();
            std::thread::spawn(move || {
                let mut p = Proc::start(&[s(&wasm)]);
                p.init_as(me, &ids);
                // Pipelined, as Maelstrom's clients do: the reader thread drains stdout.
                let mut batch = String::new();
                for i in 1..=PER_NODE {
                    let body = json!({"type": "generate", "msg_id": 1000 + i});
                    batch.push_str(&json!({"src": "c1", "dest": me, "body": body}).to_string());
                    batch.push('\n');
                }
                let stdin = p.stdin.as_mut().unwrap();
                stdin.write_all(batch.as_bytes()).unwrap();
                stdin.flush().unwrap();
                let mut out = Vec::new();
                for i in 1..=PER_NODE {
                    let reply = p.recv();
                    assert_eq!(reply["src"], me);
                    assert_eq!(reply["body"]["type"], "generate_ok", "{reply}");
                    assert_eq!(reply["body"]["in_reply_to"], 1000 + i);
                    out.push(reply["body"]["id"].as_str().unwrap().to_string());
                }
                let (status, _) = p.finish();
                assert!(status.success());
                out
            })
        })
        .collect();
    let mut seen = HashSet::new();
    for h in nodes {
        for id in h.join().unwrap() {
            assert!(seen.insert(id.clone()), "duplicate id {id}");
        }
    }
    assert_eq!(seen.len(), 3 * PER_NODE as usize);
}

#[test]
fn ten_processes_starting_together_compile_once() {
    let cache = scratch("cache");
    let wasm = echo();
    let mut procs: Vec<Proc> = (0..10)
        .map(|_| Proc::start_in(&[s(&wasm)], &cache))
        .collect();
    for p in &mut procs {
        p.init();
    }
    for p in procs {
        let (status, stderr) = p.finish();
        assert!(status.success(), "{stderr}");
    }
    let files: Vec<String> = std::fs::read_dir(&*cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let artifacts = files.iter().filter(|f| f.ends_with(".cwasm")).count();
    assert_eq!(artifacts, 1, "cache holds {files:?}");
    assert!(
        !files.iter().any(|f| f.contains(".tmp")),
        "no half-written artifact is left behind: {files:?}"
    );
}

// ---- hardening: what no guest, input or cache may do to the host ----

/// `count` until the node answers, proving it still serves after whatever came before.
fn serves(p: &mut Proc) {
    let reply = p.request(json!({"type": "count"}));
    assert_eq!(reply["type"], "count_ok", "{reply}");
}

#[test]
fn a_long_sleep_is_stopped_by_the_budget_not_waited_out() {
    let mut p = Proc::start(&["--call-budget-ms", "300", s(&misbehave())]);
    p.init();
    let asked = Instant::now();
    let reply = p.request(json!({"type": "sleep", "ms": 15_000}));
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["code"], 13, "{reply}");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "the host waited {:?} for a guest's sleep",
        asked.elapsed()
    );
    serves(&mut p);
    let (status, stderr) = p.finish();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("(blocked)"), "{stderr}");
    assert!(stderr.contains("sleep or poll past its 300 ms"), "{stderr}");
}

#[test]
fn a_sleep_within_the_budget_really_sleeps() {
    let mut p = Proc::start(&[s(&misbehave())]);
    p.init();
    let reply = p.request(json!({"type": "sleep", "ms": 50}));
    assert_eq!(reply["type"], "sleep_ok", "{reply}");
    assert!(reply["slept_ms"].as_u64().unwrap() >= 50, "{reply}");
}

#[test]
fn a_body_with_line_breaks_goes_out_on_one_line() {
    let mut p = Proc::start(&[s(&misbehave())]);
    p.init();
    // recv() fails on any stdout line that is not a whole message.
    let reply = p.request(json!({"type": "newlines"}));
    assert_eq!(reply["type"], "newlines_ok", "{reply}");
    assert_eq!(reply["text"], "a\nb", "an escaped newline is kept: {reply}");
    serves(&mut p);
}

#[test]
fn a_crashed_calls_sends_are_dropped() {
    let mut p = Proc::start(&[s(&misbehave())]);
    p.init_as("n3", &["n3"]);
    let reply = p.request(json!({"type": "count"}));
    assert_eq!(reply["count"], 1, "{reply}");
    let reply = p.request(json!({"type": "send_then_panic"}));
    assert_eq!(reply["code"], 13, "only the error goes out: {reply}");
    // A fresh instance (its count starts again) that was replayed init: it answers
    // as n3, which only init told it.
    p.next_msg_id += 1;
    let id = p.next_msg_id;
    p.send("c1", json!({"type": "count", "msg_id": id}));
    let reply = p.recv();
    assert_eq!(reply["src"], "n3", "{reply}");
    assert_eq!(reply["body"]["count"], 1, "{reply}");
    let (status, stderr) = p.finish();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("the node crashed (panic) and was restarted"),
        "{stderr}"
    );
}

#[test]
fn a_crash_in_init_gets_one_reply_and_the_loop_gives_up() {
    let mut p = Proc::start(&[
        "--max-crash-streak",
        "3",
        s(&misbehave()),
        "--panic-on-init",
    ]);
    p.send(
        "c0",
        json!({"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1"]}),
    );
    // The guest answered init_ok and then panicked: only the error 13 goes out.
    let reply = p.recv();
    assert_eq!(reply["body"]["type"], "error", "{reply}");
    assert_eq!(reply["body"]["code"], 13, "{reply}");
    assert_eq!(reply["body"]["in_reply_to"], 1, "{reply}");
    // Its restart crashed too (crash 2): the node is down, backing off.
    p.next_msg_id = 1;
    let reply = p.request(json!({"type": "count"}));
    assert_eq!(
        reply["code"], 11,
        "a down node refuses, definitely: {reply}"
    );
    std::thread::sleep(Duration::from_millis(150));
    // Past the back-off the next message retries, which crashes a third time: given up.
    let reply = p.request(json!({"type": "count"}));
    assert_eq!(reply["code"], 11, "{reply}");
    let (status, stderr) = p.exits_by_itself();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.matches("giving up").count(), 1, "{stderr}");
    assert!(
        stderr.contains("crashed 3 times in a row without completing a call"),
        "{stderr}"
    );
}

#[test]
fn a_crash_loop_in_timers_gives_up() {
    let mut p = Proc::start(&[
        "--max-crash-streak",
        "3",
        s(&misbehave()),
        "--panic-on-tick",
    ]);
    p.init();
    let (status, stderr) = p.exits_by_itself();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("asked to panic in a timer").count(),
        3,
        "{stderr}"
    );
    assert_eq!(stderr.matches("giving up").count(), 1, "{stderr}");
}

#[test]
fn stack_overflow_is_reported_as_such() {
    let stderr = crashes_and_recovers(&[s(&misbehave())], "recurse");
    assert!(stderr.contains("(stack overflow)"), "{stderr}");
    assert!(!stderr.contains("memory limit"), "{stderr}");
}

#[test]
fn out_of_bounds_access_is_reported_as_such() {
    let stderr = crashes_and_recovers(&[s(&misbehave())], "oob");
    assert!(stderr.contains("(out-of-bounds access)"), "{stderr}");
    assert!(!stderr.contains("memory limit"), "{stderr}");
}

#[test]
fn too_many_sends_in_one_call_are_stopped_and_dropped() {
    let mut p = Proc::start(&["--max-sends-per-call", "100", s(&misbehave())]);
    p.init();
    let reply = p.request(json!({"type": "flood", "count": 100_000, "size": 10}));
    assert_eq!(reply["code"], 13, "nothing but the error goes out: {reply}");
    // Within the limit, every send goes out.
    let reply = p.request(json!({"type": "flood", "count": 0, "size": 0}));
    assert_eq!(reply["type"], "flood_ok", "{reply}");
    p.next_msg_id += 1;
    let id = p.next_msg_id;
    p.send(
        "c1",
        json!({"type": "flood", "count": 99, "size": 10, "msg_id": id}),
    );
    for i in 0..99 {
        let m = p.recv();
        assert_eq!(m["body"]["i"], i, "{m}");
    }
    assert_eq!(p.recv()["body"]["type"], "flood_ok");
    let (status, stderr) = p.finish();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("(flood)"), "{stderr}");
    assert!(stderr.contains("more than 100 messages"), "{stderr}");
}

#[test]
fn too_many_bytes_in_one_call_are_stopped_and_dropped() {
    let mut p = Proc::start(&["--max-send-bytes-per-call", "100000", s(&misbehave())]);
    p.init();
    let reply = p.request(json!({"type": "flood", "count": 20, "size": 10_000}));
    assert_eq!(reply["code"], 13, "{reply}");
    serves(&mut p);
    let (status, stderr) = p.finish();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("more than 100000 bytes"), "{stderr}");
}

#[test]
fn absurd_limits_are_refused() {
    for args in [
        ["--max-sends-per-call", "0"],
        ["--max-send-bytes-per-call", "1"],
        ["--max-memory-mb", "99999999999999"],
        ["--call-budget-ms", "0"],
        ["--max-crash-streak", "0"],
        ["--max-line-bytes", "1"],
    ] {
        let out = host()
            .arg("run")
            .args(args)
            .arg(echo())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(args[0]), "{args:?}: {stderr}");
    }
}

// ---- the cache ----

/// Runs echo once with `cache`, checks it echoes, and returns its stderr.
fn echo_with(cache: &Path) -> String {
    let mut p = Proc::start_in(&[s(&echo())], cache);
    p.init();
    let reply = p.request(json!({"type": "echo", "echo": "mine"}));
    assert_eq!(
        reply["type"], "echo_ok",
        "the cache ran another node: {reply}"
    );
    let (status, stderr) = p.finish();
    assert!(status.success(), "{stderr}");
    stderr
}

/// `host compile <wasm>` into `cache`; the artifact's path.
fn compiled(wasm: &Path, cache: &Path) -> PathBuf {
    let out = host()
        .arg("compile")
        .arg(wasm)
        .env("GLOMERS_CACHE_DIR", cache)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

#[test]
fn a_corrupt_artifact_is_recompiled_not_run() {
    let cache = scratch("flipped");
    let artifact = compiled(&echo(), &cache);
    let mut bytes = std::fs::read(&artifact).unwrap();
    // Flip bytes in the middle (the code) and at the start (the ELF header).
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0xa5;
    }
    bytes[0] ^= 0xff;
    std::fs::write(&artifact, &bytes).unwrap();
    let stderr = echo_with(&cache);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("corrupt"), "{stderr}");
    assert!(stderr.contains("recompiling"), "{stderr}");
    // Recompiled in place: the next run is quiet.
    assert_eq!(echo_with(&cache), "");
}

#[test]
fn another_components_artifact_is_not_run() {
    let cache = scratch("swapped");
    let mine = compiled(&echo(), &cache);
    let theirs = compiled(&probe(), &cache);
    // Another component's artifact under this one's key, with its seal...
    std::fs::copy(&theirs, &mine).unwrap();
    std::fs::copy(theirs.with_extension("seal"), mine.with_extension("seal")).unwrap();
    let stderr = echo_with(&cache);
    assert!(stderr.contains("another component"), "{stderr}");
    assert_eq!(echo_with(&cache), "");
    // ...or without it.
    std::fs::copy(&theirs, &mine).unwrap();
    let stderr = echo_with(&cache);
    assert!(stderr.contains("corrupt"), "{stderr}");
    assert_eq!(echo_with(&cache), "");
}

// ---- input: bounded reads ----

/// Runs `host <args>` with stdin closed and returns its output, killing it if it has
/// not finished within `STUCK` (an endless read must fail the test, not hang it).
fn output_within(args: &[&str]) -> std::process::Output {
    let child = host()
        .args(args)
        .env("GLOMERS_CACHE_DIR", shared_cache())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(STUCK) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("`host {args:?}` still running after {STUCK:?}");
        }
    }
}

#[test]
fn an_endless_file_is_refused_at_its_header() {
    let started = Instant::now();
    let out = output_within(&["run", "/dev/zero"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not a WebAssembly file"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let out = output_within(&["compile", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_overlong_line_is_skipped_and_the_node_continues() {
    let mut p = Proc::start(&["--max-line-bytes", "100000", s(&echo())]);
    p.init();
    let big = "x".repeat(1_000_000);
    let line =
        json!({"src": "c1", "dest": "n1", "body": {"type": "echo", "echo": big, "msg_id": 77}});
    p.write_line(&line.to_string());
    let reply = p.request(json!({"type": "echo", "echo": "after"}));
    assert_eq!(reply["echo"], "after");
    let (status, stderr) = p.finish();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("longer than --max-line-bytes 100000"),
        "{stderr}"
    );
    assert!(
        stderr.len() < 2000,
        "the line is not echoed whole: {} bytes",
        stderr.len()
    );
}

#[test]
fn a_line_without_end_is_not_buffered_whole() {
    let mut p = Proc::start(&["--max-line-bytes", "1048576", s(&echo())]);
    p.init();
    // 64 MiB with no newline: buffered whole, the host would hold all of it.
    let chunk = vec![b'y'; 1 << 20];
    for _ in 0..64 {
        p.write_bytes(&chunk);
    }
    p.write_bytes(b"\n");
    let reply = p.request(json!({"type": "echo", "echo": "after"}));
    assert_eq!(reply["echo"], "after");
    let status = std::fs::read_to_string(format!("/proc/{}/status", p.child.id())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    assert!(peak_kb < 40 << 10, "the host peaked at {peak_kb} kB");
    let (status, stderr) = p.finish();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("of 67108864 bytes"), "{stderr}");
}

#[test]
fn bad_lines_are_echoed_cut() {
    let mut p = Proc::start(&[s(&echo())]);
    p.init();
    p.write_line(&format!("not json {}", "z".repeat(100_000)));
    p.write_line(&json!({"src": "c1", "dest": "n1", "body": "q".repeat(100_000)}).to_string());
    serves_echo(&mut p);
    let (status, stderr) = p.finish();
    assert!(status.success(), "{stderr}");
    assert_eq!(stderr.matches("bytes in all").count(), 2, "{stderr}");
    assert!(stderr.len() < 2000, "{} bytes of stderr", stderr.len());
}

fn serves_echo(p: &mut Proc) {
    let reply = p.request(json!({"type": "echo", "echo": "still here"}));
    assert_eq!(reply["echo"], "still here");
}

// ---- output: logging never takes the node down ----

#[test]
fn a_closed_stderr_does_not_stop_the_node() {
    let mut p = Proc::start_with_stderr_closed(&[s(&misbehave())]);
    p.init();
    // The host reports this on stderr, which is gone.
    p.write_line("this is not json");
    serves(&mut p);
    // The guest writes to stderr, which is gone: its writes must not fail it.
    let reply = p.request(json!({"type": "stderr", "count": 10}));
    assert_eq!(reply["type"], "stderr_ok", "{reply}");
    // And a crash report, too.
    let reply = p.request(json!({"type": "panic"}));
    assert_eq!(reply["code"], 13, "{reply}");
    serves(&mut p);
    let (status, _) = p.finish();
    assert!(status.success(), "status {status:?}");
}
