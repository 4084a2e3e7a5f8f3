//! Size limits on request and response bodies, enforced while streaming.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use mote_sandbox::BodyError;

/// Which side a limit protects (decides the error the stream reports).
#[derive(Clone, Copy)]
pub(crate) enum Side {
    Request,
    Response,
}

/// A body that fails once more than `limit` bytes have passed, and records
/// that it did in a shared flag so the caller can say why the request failed.
pub(crate) struct Limited<B> {
    inner: B,
    remaining: u64,
    limit: u64,
    side: Side,
    exceeded: Arc<AtomicBool>,
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
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
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
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

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
