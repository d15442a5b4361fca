//! The yardstick for `host run`: echo's logic as a plain native Maelstrom node, written
//! the way a fast native node would be (one thread, serde_json both ways, output
//! buffered and flushed when stdin has no complete line ready), so the throughput
//! ratio is the whole cost of running the node as a wasm component under the host.

use anyhow::Result;
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::{BufRead, Write};

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
    let stdin = std::io::stdin();
    let mut input = std::io::BufReader::with_capacity(64 << 10, stdin.lock());
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 << 10, stdout.lock());
    let mut me = String::new();
    let mut line = String::new();
    loop {
        // No whole line buffered: the next read may block, so the replies go out first.
        if !input.buffer().contains(&b'\n') {
            out.flush()?;
        }
        line.clear();
        if input.read_line(&mut line)? == 0 {
            break;
        }
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
    }
    out.flush()?;
    Ok(())
}
