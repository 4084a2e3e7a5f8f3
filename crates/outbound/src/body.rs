//! The response body: hyper's, with a size cap and an idle timeout.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};

use crate::OutboundError;

/// Aborts the task driving a connection when dropped, so that a connection
/// never outlives the request or response that uses it.
pub(crate) struct Connection(pub(crate) JoinHandle<()>);

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A response body that fails with [`OutboundError::ResponseTooLarge`] once
/// more than `limit` bytes arrived (at once, when the declared length is
/// larger), and with [`OutboundError::Timeout`] when nothing arrived for
/// `idle`.
pub(crate) struct Limited {
    inner: Incoming,
    origin: String,
    limit: u64,
    received: u64,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    checked_length: bool,
    /// `None` once the body ended or failed: the connection is closed then.
    connection: Option<Connection>,
}

impl Limited {
    pub(crate) fn new(
        inner: Incoming,
        connection: Connection,
        origin: String,
        limit: u64,
        idle: Duration,
    ) -> Limited {
        Limited {
            inner,
            origin,
            limit,
            received: 0,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            checked_length: false,
            connection: Some(connection),
        }
    }

    fn fail(&mut self, error: OutboundError) -> Poll<Option<Result<Frame<Bytes>, OutboundError>>> {
        self.connection = None;
        Poll::Ready(Some(Err(error)))
    }

    fn too_large(&self) -> OutboundError {
        OutboundError::ResponseTooLarge {
            origin: self.origin.clone(),
            limit: self.limit,
        }
    }
}

impl Body for Limited {
    type Data = Bytes;
    type Error = OutboundError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, OutboundError>>> {
        let this = self.get_mut();
        if this.connection.is_none() {
            return Poll::Ready(None);
        }
        if !this.checked_length {
            this.checked_length = true;
            if this.inner.size_hint().lower() > this.limit {
                return this.fail(this.too_large());
            }
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received = this.received.saturating_add(data.len() as u64);
                    if this.received > this.limit {
                        return this.fail(this.too_large());
                    }
                }
                let next = Instant::now() + this.idle;
                this.deadline.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                let message = format!(
                    "reading the response from {}: {}",
                    this.origin,
                    crate::describe(&error)
                );
                this.fail(OutboundError::Http(message))
            }
            Poll::Ready(None) => {
                this.connection = None;
                Poll::Ready(None)
            }
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => this.fail(OutboundError::Timeout {
                    origin: this.origin.clone(),
                    after: this.idle,
                }),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.connection.is_none() || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.connection.is_none() {
            return SizeHint::with_exact(0);
        }
        self.inner.size_hint()
    }
}
