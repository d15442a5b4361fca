//! The hand-tuned native echo node: the fastest plain native Maelstrom node we know how
//! to write, the strict yardstick for `host run`. It parses only the envelope, borrows
//! the body as a `RawValue` and reads from it just `type`, `msg_id` and the raw `echo`
//! value (never building a `Value`), writes each reply with one buffered write from a
//! reused buffer, and is built with LTO (`make bench` builds with the `bench-lto`
//! profile).

use anyhow::Result;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::io::{BufRead, Write};

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    src: Cow<'a, str>,
    #[serde(borrow)]
    body: &'a RawValue,
}

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    msg_id: Option<u64>,
    #[serde(borrow)]
    echo: Option<&'a RawValue>,
    #[serde(borrow)]
    node_id: Option<Cow<'a, str>>,
}

/// Serves echo on stdin/stdout until stdin closes.
pub fn main() -> Result<()> {
    let stdin = std::io::stdin();
    let mut input = std::io::BufReader::with_capacity(64 << 10, stdin.lock());
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 << 10, stdout.lock());
    // `me` as a JSON string, escaped once.
    let mut me = b"\"\"".to_vec();
    let mut line = Vec::with_capacity(256);
    let mut reply = Vec::with_capacity(256);
    loop {
        // No whole line buffered: the next read may block, so the replies go out first.
        if !input.buffer().contains(&b'\n') {
            out.flush()?;
        }
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let parsed = serde_json::from_slice::<Envelope>(&line).and_then(|env| {
            let body: Body = serde_json::from_str(env.body.get())?;
            Ok((env.src, body))
        });
        let (src, body) = match parsed {
            Ok(p) => p,
            Err(e) => {
                eprintln!("native-echo-tuned: ignoring a malformed line ({e})");
                continue;
            }
        };
        if body.kind == "init" {
            if let Some(id) = &body.node_id {
                me = serde_json::to_vec(id)?;
            }
        }
        reply.clear();
        reply.extend_from_slice(b"{\"src\":");
        reply.extend_from_slice(&me);
        reply.extend_from_slice(b",\"dest\":");
        serde_json::to_writer(&mut reply, &src)?;
        match (&*body.kind, body.echo) {
            ("echo", Some(echo)) => {
                reply.extend_from_slice(b",\"body\":{\"type\":\"echo_ok\",\"echo\":");
                reply.extend_from_slice(echo.get().as_bytes());
            }
            ("init", _) => reply.extend_from_slice(b",\"body\":{\"type\":\"init_ok\""),
            (kind, _) => {
                reply.extend_from_slice(b",\"body\":{\"type\":\"error\",\"code\":10,\"text\":");
                serde_json::to_writer(
                    &mut reply,
                    &format!("this node does not handle messages of type {kind:?} (or an echo without `echo`)"),
                )?;
            }
        }
        match body.msg_id {
            Some(id) => {
                writeln!(reply, ",\"in_reply_to\":{id}}}}}")?;
            }
            None => reply.extend_from_slice(b"}}\n"),
        }
        out.write_all(&reply)?;
    }
    out.flush()?;
    Ok(())
}
