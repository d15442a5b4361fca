//! Echo messages per second through a node: after `init`, a writer thread pipes in
//! every request at once while this thread reads the replies, as fast as the node
//! goes. The clock runs from the first request written to the last reply read.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Instant;

use crate::nodes::Node;

/// The requests, one JSON line each, msg_ids 2..=n+1 (init is 1).
pub fn echo_requests(n: u64) -> Vec<u8> {
    let mut input = Vec::with_capacity(n as usize * 90);
    for i in 0..n {
        let msg_id = i + 2;
        // The shape of Maelstrom's echo workload.
        let _ = writeln!(
            input,
            r#"{{"src":"c1","dest":"n1","body":{{"type":"echo","echo":"Please echo {i}","msg_id":{msg_id}}}}}"#
        );
    }
    input
}

/// Pushes `input` (holding `n` requests) through a started node; messages/second.
pub fn run(mut node: Node, input: Arc<[u8]>, n: u64) -> Result<f64> {
    node.send_init("n1", &["n1".to_string()])?;
    node.expect_init_ok()?;
    let mut stdin = node.stdin.take().context("stdin is closed")?;
    let start = Instant::now();
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        stdin.write_all(&input)?;
        // Dropping stdin closes it: the node exits once it has answered everything.
        Ok(())
    });
    let last = last_of_lines(&mut node.stdout, n)?;
    let elapsed = start.elapsed();
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer thread panicked"))??;
    let expected = format!("\"in_reply_to\":{}", n + 1);
    if !last.contains("echo_ok") || !last.contains(&expected) {
        bail!("the last reply is not the last echo_ok: {last:?}");
    }
    node.finish()?;
    Ok(n as f64 / elapsed.as_secs_f64())
}

/// Reads exactly `n` lines and returns the last, counting newlines in whole buffers:
/// the bench shares the machine with the node, so it spends as little as it can per reply.
fn last_of_lines(stdout: &mut impl BufRead, n: u64) -> Result<String> {
    let mut seen = 0u64;
    // The end of the output so far, enough to hold the last reply.
    let mut tail: Vec<u8> = Vec::new();
    while seen < n {
        let buf = stdout.fill_buf()?;
        if buf.is_empty() {
            bail!("the node closed its stdout after {seen} of {n} replies");
        }
        seen += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        tail.extend_from_slice(&buf[buf.len().saturating_sub(TAIL)..]);
        if tail.len() > 2 * TAIL {
            tail.drain(..tail.len() - TAIL);
        }
        let len = buf.len();
        stdout.consume(len);
    }
    if seen > n {
        bail!("the node wrote {seen} lines for {n} requests");
    }
    let text = String::from_utf8_lossy(&tail);
    Ok(text
        .trim_end()
        .rsplit('\n')
        .next()
        .unwrap_or("")
        .to_string())
}

const TAIL: usize = 4096;
