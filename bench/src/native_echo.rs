//! The yardstick for `host run`: echo's logic as a plain native Maelstrom node, doing
//! what the host and the SDK do per message (a reader thread feeding lines through a
//! channel, serde_json both ways, buffered output flushed when stdin has nothing
//! ready), so the throughput ratio measures the cost of running the node as wasm.

use anyhow::Result;
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::sync::mpsc::{self, TryRecvError};

#[derive(Deserialize)]
struct Envelope {
    src: String,
    body: Value,
}

#[derive(Deserialize)]
struct Echo {
    echo: Value,
}

/// Serves echo on stdin/stdout until stdin closes.
pub fn main() -> Result<()> {
    let (tx, lines) = mpsc::sync_channel::<String>(4096);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        loop {
            let mut line = String::new();
            match input.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 << 10, stdout.lock());
    let mut me = String::new();
    let mut pending = false;
    loop {
        let line = match lines.try_recv() {
            Ok(line) => line,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                if pending {
                    out.flush()?;
                    pending = false;
                }
                match lines.recv() {
                    Ok(line) => line,
                    Err(_) => break,
                }
            }
        };
        let env: Envelope = match serde_json::from_str(&line) {
            Ok(env) => env,
            Err(e) => {
                eprintln!("native-echo: ignoring a malformed line ({e})");
                continue;
            }
        };
        let msg_id = env.body.get("msg_id").and_then(Value::as_u64);
        let kind = env.body.get("type").and_then(Value::as_str).unwrap_or("");
        let reply = match kind {
            "init" => {
                if let Some(id) = env.body.get("node_id").and_then(Value::as_str) {
                    me = id.to_string();
                }
                json!({"type": "init_ok", "in_reply_to": msg_id})
            }
            "echo" => match serde_json::from_value::<Echo>(env.body) {
                Ok(e) => json!({"type": "echo_ok", "echo": e.echo, "in_reply_to": msg_id}),
                Err(e) => json!({"type": "error", "code": 12, "text": e.to_string(),
                                 "in_reply_to": msg_id}),
            },
            other => json!({"type": "error", "code": 10, "in_reply_to": msg_id,
                            "text": format!("this node does not handle messages of type {other:?}")}),
        };
        serde_json::to_writer(
            &mut out,
            &json!({"src": me, "dest": env.src, "body": reply}),
        )?;
        out.write_all(b"\n")?;
        pending = true;
    }
    out.flush()?;
    Ok(())
}
