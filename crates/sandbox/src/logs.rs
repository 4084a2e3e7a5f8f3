//! Bounded capture of a guest's stdout and stderr.
//!
//! Each request gets its own [`LogPipe`]s. Writes beyond the capacity are
//! accepted and dropped (and counted) rather than failing: a guest that
//! floods its log must not crash because of it (Rust's `println!` panics on a
//! write error), and must not cost the node memory.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

#[derive(Default)]
struct Buffer {
    bytes: Vec<u8>,
    dropped: u64,
}

/// A bounded, truncating sink for one guest output stream.
#[derive(Clone)]
pub(crate) struct LogPipe {
    capacity: usize,
    buffer: Arc<Mutex<Buffer>>,
}

impl LogPipe {
    pub(crate) fn new(capacity: usize) -> Self {
        LogPipe {
            capacity,
            buffer: Arc::default(),
        }
    }

    fn take(&self) -> (String, u64) {
        let mut buf = self.buffer.lock().unwrap();
        let text = String::from_utf8_lossy(&buf.bytes).into_owned();
        (text, std::mem::take(&mut buf.dropped))
    }
}

/// What a guest wrote to stdout and stderr during one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapturedLogs {
    /// Captured standard output (lossily decoded as UTF-8), up to the capacity.
    pub stdout: String,
    /// Captured standard error, up to the capacity.
    pub stderr: String,
    /// Bytes written beyond the capacity and dropped, both streams together.
    pub dropped: u64,
}

impl CapturedLogs {
    pub(crate) fn collect(stdout: &LogPipe, stderr: &LogPipe) -> Self {
        let (stdout, d1) = stdout.take();
        let (stderr, d2) = stderr.take();
        CapturedLogs {
            stdout,
            stderr,
            dropped: d1 + d2,
        }
    }
}

impl IsTerminal for LogPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogPipe {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    // Writes complete synchronously: no worker task and no round trip per
    // `println!`, which the default adapter would cost.
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

impl LogPipe {
    fn keep(&self, data: &[u8]) {
        let mut buf = self.buffer.lock().unwrap();
        let room = self.capacity.saturating_sub(buf.bytes.len());
        let keep = room.min(data.len());
        buf.bytes.extend_from_slice(&data[..keep]);
        buf.dropped += (data.len() - keep) as u64;
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for LogPipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.keep(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        // Always ready; what does not fit is dropped, never refused.
        Ok(64 << 10)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogPipe {
    async fn ready(&mut self) {}
}

impl AsyncWrite for LogPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.keep(data);
        Poll::Ready(Ok(data.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn truncates_and_counts_instead_of_failing() {
        let out = LogPipe::new(8);
        let err = LogPipe::new(8);
        let mut w = out.clone();
        w.write_all(b"hello ").await.unwrap();
        w.write_all(b"world").await.unwrap();
        let mut e = err.clone();
        e.write_all(b"oops").await.unwrap();
        let logs = CapturedLogs::collect(&out, &err);
        assert_eq!(logs.stdout, "hello wo");
        assert_eq!(logs.stderr, "oops");
        assert_eq!(logs.dropped, 3);
    }
}
