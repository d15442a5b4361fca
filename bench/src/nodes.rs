//! Starting node processes and the few protocol steps every measurement needs:
//! the paths of what `make all` built, Maelstrom's `init`, and waiting for replies.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The repository root (bench/ sits in it).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The host binary `make all` built.
pub fn host() -> Result<PathBuf> {
    let p = repo().join("target/release/host");
    if !p.is_file() {
        bail!("{} is missing: run `make all` first", p.display());
    }
    Ok(p)
}

/// A challenge component, e.g. `challenges/echo.wasm`, if it was built.
pub fn challenge(name: &str) -> Option<PathBuf> {
    let p = repo().join("challenges").join(format!("{name}.wasm"));
    p.is_file().then_some(p)
}

/// A fresh, empty directory (a compiled-artifact cache), removed when dropped
/// (`tempfile`), so a measurement that fails half-way leaves nothing behind either.
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    pub fn new(name: &str) -> Result<Scratch> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("glomers-bench-{name}-"))
            .tempdir()?;
        Ok(Scratch(dir))
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

/// A running node with its pipes.
pub struct Node {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub stdout: BufReader<ChildStdout>,
}

impl Node {
    /// Starts `program args...`, its stderr discarded (a benchmark prints figures only).
    pub fn start(program: &Path, args: &[&str], cache: Option<&Path>) -> Result<Node> {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(dir) = cache {
            cmd.env("GLOMERS_CACHE_DIR", dir);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let stdin = child.stdin.take();
        let stdout =
            BufReader::with_capacity(64 << 10, child.stdout.take().context("no stdout pipe")?);
        Ok(Node {
            child,
            stdin,
            stdout,
        })
    }

    /// `host run <wasm>` with the given cache.
    pub fn host_run(wasm: &Path, cache: &Path) -> Result<Node> {
        let wasm = wasm.to_str().context("a non-UTF-8 path")?;
        Node::start(&host()?, &["run", wasm], Some(cache))
    }

    /// Writes Maelstrom's `init` for node `id` (of `ids`), without waiting.
    pub fn send_init(&mut self, id: &str, ids: &[String]) -> Result<()> {
        let line = serde_json::json!({"src": "c0", "dest": id, "body":
            {"type": "init", "msg_id": 1, "node_id": id, "node_ids": ids}});
        let stdin = self.stdin.as_mut().context("stdin is closed")?;
        writeln!(stdin, "{line}")?;
        stdin.flush()?;
        Ok(())
    }

    /// Reads one line and checks it is the init_ok.
    pub fn expect_init_ok(&mut self) -> Result<()> {
        let line = self.read_line()?;
        if !line.contains("\"init_ok\"") {
            bail!("expected init_ok, got {line:?}");
        }
        Ok(())
    }

    pub fn read_line(&mut self) -> Result<String> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            bail!("the node closed its stdout");
        }
        Ok(line)
    }

    /// Closes stdin, as Maelstrom does at the end, and waits for the exit.
    pub fn finish(mut self) -> Result<()> {
        drop(self.stdin.take());
        let status = self.child.wait()?;
        if !status.success() {
            bail!("the node exited with {status}");
        }
        Ok(())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Only reached with the node still running when a measurement failed.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
