//! Size limits on request and response bodies, enforced while streaming,
//! and their turns on the thread that streams them.
//!
//! A data-plane thread serves many connections. A body whose frames are
//! always ready (a guest writing a 512 MiB response, a client uploading
//! fast) would otherwise keep its connection's task running, frame after
//! frame, until the socket's buffer is full: under the 1 GiB response
//! attack, a neighbour's request on the same thread waited for up to eight
//! 1 MiB writes in a row (about 1.6 ms) before its bytes were even read.
//! So a body hands out at most [`TURN_BYTES`] per turn, in pieces of at
//! most that size, and then yields the way [`tokio::task::yield_now`] does:
//! its task runs again only after the runtime has looked for I/O, so the
//! requests that arrived meanwhile are read first. While the sandbox's
//! low-priority lanes are starved, the body pauses there now and then
//! instead ([`mote_sandbox::between_bulk_turns`]): it, not the next guest to
//! run on its thread, gives them their share.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use mote_sandbox::BodyError;

/// Which side a limit protects (decides the error the stream reports).
#[derive(Clone, Copy)]
pub(crate) enum Side {
    Request,
    Response,
}

/// The most bytes a body hands out before it lets the other tasks of its
/// thread run (and the largest piece a frame is cut into). A 128 KiB write
/// to a local socket takes some tens of microseconds; yielding costs a
/// few.
pub(crate) const TURN_BYTES: usize = 128 << 10;

/// A body that fails once more than `limit` bytes have passed, and records
/// that it did in a shared flag so the caller can say why the request failed.
/// It also takes turns with the other tasks of its thread (see the module's
/// documentation).
pub(crate) struct Limited<B> {
    inner: B,
    remaining: u64,
    limit: u64,
    side: Side,
    exceeded: Arc<AtomicBool>,
    /// What is left of a data frame larger than [`TURN_BYTES`].
    rest: Bytes,
    /// Bytes handed out since the last yield.
    this_turn: usize,
    /// The yield in progress, if any.
    yielding: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl<B> Limited<B> {
    pub(crate) fn new(inner: B, limit: u64, side: Side) -> (Self, Arc<AtomicBool>) {
        let exceeded = Arc::new(AtomicBool::new(false));
        (
            Limited {
                inner,
                remaining: limit,
                limit,
                side,
                exceeded: exceeded.clone(),
                rest: Bytes::new(),
                this_turn: 0,
                yielding: None,
            },
            exceeded,
        )
    }
}

impl<B> Body for Limited<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BodyError>,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        loop {
            if let Some(yielding) = this.yielding.as_mut() {
                ready!(yielding.as_mut().poll(cx));
                this.yielding = None;
                this.this_turn = 0;
            }
            if this.this_turn >= TURN_BYTES {
                this.yielding = Some(Box::pin(mote_sandbox::between_bulk_turns()));
                continue;
            }
            if !this.rest.is_empty() {
                let piece = this.rest.split_to(this.rest.len().min(TURN_BYTES));
                this.this_turn += piece.len();
                return Poll::Ready(Some(Ok(Frame::data(piece))));
            }
            let frame = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                None => return Poll::Ready(None),
            };
            let data = match frame.into_data() {
                Ok(data) => data,
                Err(other) => return Poll::Ready(Some(Ok(other))),
            };
            let n = data.len() as u64;
            if n > this.remaining {
                this.exceeded.store(true, Ordering::Relaxed);
                let limit = Some(this.limit);
                return Poll::Ready(Some(Err(match this.side {
                    Side::Request => BodyError::HttpRequestBodySize(limit),
                    Side::Response => BodyError::HttpResponseBodySize(limit),
                })));
            }
            this.remaining -= n;
            if data.len() <= TURN_BYTES {
                // The common case, handed on as it is.
                this.this_turn += data.len();
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            this.rest = data;
        }
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let inner = self.inner.size_hint();
        let rest = self.rest.len() as u64;
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower() + rest);
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + rest);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};
    use std::convert::Infallible;
    use std::sync::atomic::AtomicUsize;

    const MIB: usize = 1 << 20;

    /// A body of `frames` data frames of 1 MiB, all ready at once.
    fn ready_frames(frames: usize) -> mote_sandbox::Body {
        let frames =
            (0..frames).map(|i| Ok::<_, Infallible>(Frame::data(Bytes::from(vec![i as u8; MIB]))));
        StreamBody::new(futures::stream::iter(frames))
            .map_err(|never| match never {})
            .boxed_unsync()
    }

    #[tokio::test]
    async fn large_frames_come_out_whole_in_turn_sized_pieces() {
        let (body, _) = Limited::new(ready_frames(3), u64::MAX, Side::Response);
        let mut body = std::pin::pin!(body);
        let mut pieces = Vec::new();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            pieces.push(data.len());
            bytes.extend_from_slice(&data);
        }
        assert_eq!(pieces, vec![TURN_BYTES; 3 * MIB / TURN_BYTES]);
        let expected: Vec<u8> = (0..3u8).flat_map(|i| vec![i; MIB]).collect();
        assert!(
            bytes == expected,
            "the pieces put together are not the frames"
        );
    }

    /// The point of the turns: a task whose socket became readable runs
    /// while a body that is always ready is still being read, not after it.
    /// (Without the yield the reader takes the whole body in one poll.)
    #[tokio::test]
    async fn a_body_that_is_always_ready_lets_io_waiting_tasks_run() {
        const FRAMES: usize = 32;
        let read = Arc::new(AtomicUsize::new(0));
        let receiver = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = receiver.local_addr().unwrap();
        let seen = {
            let read = read.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 8];
                receiver.recv(&mut buf).await.unwrap();
                read.load(Ordering::SeqCst)
            })
        };
        // Let the receiving task register for readiness, then make it ready.
        tokio::task::yield_now().await;
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.send_to(b"ping", to).unwrap();
        let reader = {
            let read = read.clone();
            tokio::spawn(async move {
                let (body, _) = Limited::new(ready_frames(FRAMES), u64::MAX, Side::Response);
                let mut body = std::pin::pin!(body);
                while let Some(frame) = body.frame().await {
                    let n = frame.unwrap().into_data().unwrap().len();
                    read.fetch_add(n, Ordering::SeqCst);
                }
            })
        };
        let seen = seen.await.unwrap();
        reader.await.unwrap();
        assert_eq!(read.load(Ordering::SeqCst), FRAMES * MIB);
        assert!(
            seen < FRAMES * MIB / 2,
            "the socket's task ran only after {seen} of {} bytes",
            FRAMES * MIB
        );
    }

    #[tokio::test]
    async fn passes_up_to_the_limit_and_flags_beyond() {
        let body = mote_sandbox::full_body("12345");
        let (ok, flag) = Limited::new(body, 5, Side::Request);
        assert_eq!(ok.collect().await.unwrap().to_bytes(), "12345");
        assert!(!flag.load(Ordering::Relaxed));

        let body = mote_sandbox::full_body("123456");
        let (over, flag) = Limited::new(body, 5, Side::Response);
        assert!(matches!(
            over.collect().await,
            Err(BodyError::HttpResponseBodySize(Some(5)))
        ));
        assert!(flag.load(Ordering::Relaxed));
    }
}
