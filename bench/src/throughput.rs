//! Echo messages per second through a node: after `init`, a writer thread pipes in
//! every request at once while this thread reads the replies, as fast as the node
//! goes. The clock runs from the first request written to the last reply read.

use anyhow::{bail, Context, Result};
use std::io::Write;
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
    let mut last = String::new();
    for _ in 0..n {
        last = node.read_line()?;
    }
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
