//! Where a node's output goes: the guest's stderr (and its stdout, which must never
//! reach Maelstrom's stdout) and the host's notes about the node, to the host's
//! stderr, a log file, or nowhere. A write that fails is dropped: a guest must never
//! crash, nor the host stop, because a log reader left.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Where a node's stderr (and stdout, which must never reach Maelstrom) goes.
#[derive(Clone)]
pub enum Logs {
    /// The host's own stderr (`host run`).
    Inherit,
    /// Nowhere: for tests, whose nodes' output nobody reads.
    #[cfg_attr(not(test), allow(dead_code))]
    Discard,
    /// A file of its own (`host test`: the node's log in the run's directory).
    File(PathBuf),
}

/// Where a node's output and the host's notes about it go. A write that fails is
/// dropped: a guest must never crash, nor the host stop, because a log reader left.
#[derive(Clone)]
pub struct Sink(Option<Arc<Mutex<Box<dyn Write + Send>>>>);

impl Sink {
    pub fn open(logs: &Logs) -> std::io::Result<Sink> {
        Ok(Sink(match logs {
            Logs::Inherit => Some(Arc::new(Mutex::new(Box::new(std::io::stderr())))),
            Logs::Discard => None,
            Logs::File(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                Some(Arc::new(Mutex::new(Box::new(file))))
            }
        }))
    }

    fn write(&self, bytes: &[u8]) {
        if let Some(w) = &self.0 {
            let mut w = w.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let _ = w.write_all(bytes);
        }
    }

    pub fn line(&self, args: std::fmt::Arguments) {
        let mut text = args.to_string();
        text.push('\n');
        self.write(text.as_bytes());
    }
}

impl wasmtime_wasi::cli::IsTerminal for Sink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for Sink {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for Sink {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        Sink::write(self, &bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 << 10)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Sink {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for Sink {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Sink::write(&self, buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
