//! Responses written together: a data-plane thread holds its connections'
//! small writes until it has run every task that was ready, then writes
//! them one after the other.
//!
//! Under load, a thread answers one connection after another, a few tens
//! of microseconds apart. Written as each is ready, every response wakes
//! the client on its own: on a machine whose clients share the node's
//! CPUs, each wake-up preempts a data-plane thread, and the thread and
//! the client take turns one response at a time (0.7 context switches per
//! request under `wrk -c32` on 2 CPUs). Written back to back, the
//! responses of one pass over the ready connections reach a client that
//! is already awake, which reads several per wake-up. The node sends the
//! same bytes with the same system calls; the hello benchmark served about
//! a third more requests a second with about a fifth less CPU per request
//! (see BENCHMARKS.md).
//!
//! How: [`Corked`] wraps a connection's socket. A write of up to
//! [`HOLD_AT_MOST`] bytes is copied aside, and the first flush that finds
//! bytes held puts the connection on its thread's [`Corks`] list and wakes
//! the thread's writer task. That task is queued behind the tasks already
//! ready, so it runs once they have all had their turn, and writes what
//! every listed connection holds. Larger writes (and any write after held
//! bytes could not all go out) first write what is held, then go straight
//! to the socket, waiting for it as usual: a full socket slows only its
//! own connection.
//!
//! A connection alone on its thread would only wait one task switch longer
//! for nothing: once the writer's last pass wrote a single connection, a
//! flush that finds no other connection listed writes at once, and only
//! one flush in [`PROBE_EVERY`] is held, to find out whether others come
//! along in the same pass (if they do, holding resumes).

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Notify;

/// The largest write a connection holds back; larger ones go straight to
/// the socket (a response body streams in pieces of up to 128 KiB, see
/// `limited.rs`).
const HOLD_AT_MOST: usize = 16 << 10;

/// While connections are alone on their thread, one flush in this many is
/// held anyway (see the module's documentation).
const PROBE_EVERY: usize = 16;

/// A held buffer that grew past this is given back once written, so that
/// thousands of idle keep-alive connections hold no memory.
const KEEP_CAPACITY: usize = 4 << 10;

/// One data-plane thread's connections with bytes held, and the task that
/// writes them ([`Corks::run`]).
pub(crate) struct Corks {
    listed: Mutex<Vec<Arc<Mutex<Held>>>>,
    wake: Notify,
    /// How many connections the writer's last pass wrote (at first: as if
    /// many).
    last_pass: AtomicUsize,
    /// Flushes written at once since the last probe.
    alone: AtomicUsize,
}

impl Default for Corks {
    fn default() -> Self {
        Corks {
            listed: Mutex::default(),
            wake: Notify::new(),
            last_pass: AtomicUsize::new(usize::MAX),
            alone: AtomicUsize::new(0),
        }
    }
}

impl Corks {
    /// The writer task: each time connections are listed, write what they
    /// hold. Runs until the thread stops serving (see [`Corks::write_all`]).
    pub(crate) async fn run(self: Arc<Self>) {
        loop {
            self.wake.notified().await;
            self.write_all();
        }
    }

    /// Write what every listed connection holds, without waiting: a
    /// socket that cannot take it all hands the rest to its connection's
    /// own task.
    pub(crate) fn write_all(&self) {
        let listed = std::mem::take(&mut *self.listed.lock().unwrap());
        if !listed.is_empty() {
            self.last_pass.store(listed.len(), Ordering::Relaxed);
        }
        for held in listed {
            lock(&held).write_now();
        }
    }
}

/// The write side of a connection, and what it holds.
struct Held {
    half: OwnedWriteHalf,
    bytes: Vec<u8>,
    /// On its thread's [`Corks`] list.
    listed: bool,
    /// The writer task could not write everything held (the socket was
    /// full, or failed): the connection's own task writes the rest,
    /// waiting for the socket, and holds nothing more until it has.
    stuck: bool,
    /// The connection's task, woken when it became `stuck`.
    waker: Option<Waker>,
}

fn lock(held: &Mutex<Held>) -> MutexGuard<'_, Held> {
    held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Held {
    /// Write what is held without waiting (the writer task).
    fn write_now(&mut self) {
        self.listed = false;
        while !self.bytes.is_empty() {
            match self.half.try_write(&self.bytes) {
                Ok(n) => {
                    self.bytes.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Full or failed: the connection's task finds out.
                Err(_) => {
                    self.stuck = true;
                    if let Some(waker) = self.waker.take() {
                        waker.wake();
                    }
                    return;
                }
            }
        }
        self.written();
    }

    /// Write what is held, waiting for the socket (the connection's task).
    fn poll_write_held(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.bytes.is_empty() {
            let n = ready!(Pin::new(&mut self.half).poll_write(cx, &self.bytes))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.bytes.drain(..n);
        }
        self.stuck = false;
        self.written();
        Poll::Ready(Ok(()))
    }

    fn written(&mut self) {
        if self.bytes.capacity() > KEEP_CAPACITY {
            self.bytes = Vec::new();
        }
    }
}

/// A data-plane connection whose small writes are held until its thread
/// has run every ready task (see the module's documentation).
pub(crate) struct Corked {
    read: OwnedReadHalf,
    held: Arc<Mutex<Held>>,
    corks: Arc<Corks>,
}

impl Corked {
    pub(crate) fn new(stream: TcpStream, corks: Arc<Corks>) -> Self {
        let (read, half) = stream.into_split();
        Corked {
            read,
            held: Arc::new(Mutex::new(Held {
                half,
                bytes: Vec::new(),
                listed: false,
                stuck: false,
                waker: None,
            })),
            corks,
        }
    }
}

impl AsyncRead for Corked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for Corked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let mut held = lock(&self.held);
        if !held.stuck && held.bytes.len() + total <= HOLD_AT_MOST {
            for b in bufs {
                held.bytes.extend_from_slice(b);
            }
            return Poll::Ready(Ok(total));
        }
        // Too large to hold, or the socket is full: what is held first,
        // then straight to the socket.
        ready!(held.poll_write_held(cx))?;
        Pin::new(&mut held.half).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut held = lock(&self.held);
        if held.bytes.is_empty() {
            return Poll::Ready(Ok(()));
        }
        if held.stuck {
            return held.poll_write_held(cx);
        }
        if !held.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            held.waker = Some(cx.waker().clone());
        }
        if held.listed {
            return Poll::Ready(Ok(()));
        }
        let corks = &self.corks;
        let mut listed = corks.listed.lock().unwrap();
        if listed.is_empty()
            && corks.last_pass.load(Ordering::Relaxed) <= 1
            && corks.alone.fetch_add(1, Ordering::Relaxed) % PROBE_EVERY != PROBE_EVERY - 1
        {
            // Alone on this thread, as far as it can tell: at once.
            drop(listed);
            return held.poll_write_held(cx);
        }
        held.listed = true;
        listed.push(self.held.clone());
        drop(listed);
        drop(held);
        corks.wake.notify_one();
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut held = lock(&self.held);
        ready!(held.poll_write_held(cx))?;
        Pin::new(&mut held.half).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use tokio::io::AsyncWriteExt;

    /// A thread's list, with its writer task running.
    fn started() -> Arc<Corks> {
        let corks = Arc::new(Corks::default());
        tokio::spawn(corks.clone().run());
        corks
    }

    /// Write `bytes` and flush, as hyper does with a response.
    async fn send(conn: &mut Corked, bytes: &[u8]) {
        conn.write_all(bytes).await.unwrap();
        conn.flush().await.unwrap();
    }

    /// A connected pair on 127.0.0.1: the node's side wrapped in
    /// [`Corked`], the client's a blocking std socket.
    async fn pair(corks: &Arc<Corks>) -> (Corked, std::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(addr).unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (Corked::new(server, corks.clone()), client)
    }

    /// What the client can read without waiting.
    fn arrived(client: &std::net::TcpStream) -> Vec<u8> {
        client.set_nonblocking(true).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match (&*client).read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("read: {e}"),
            }
        }
        client.set_nonblocking(false).unwrap();
        got
    }

    #[tokio::test(flavor = "current_thread")]
    async fn small_writes_of_one_pass_go_out_together_once_the_ready_tasks_have_run() {
        let corks = started();
        let (mut a, client_a) = pair(&corks).await;
        let (mut b, client_b) = pair(&corks).await;

        send(&mut a, b"first answer").await;
        send(&mut b, b"second answer").await;
        // Both flushes returned, but this task has not yet let the writer
        // run: nothing is on the wire.
        assert!(arrived(&client_a).is_empty());
        assert!(arrived(&client_b).is_empty());

        tokio::task::yield_now().await;
        assert_eq!(arrived(&client_a), b"first answer");
        assert_eq!(arrived(&client_b), b"second answer");
    }

    /// Flush `conn` until a flush is held (a probe); how many went out at
    /// once before it.
    async fn flush_until_held(conn: &mut Corked, client: &std::net::TcpStream) -> usize {
        for at_once in 0..=PROBE_EVERY {
            send(conn, b"x").await;
            if arrived(client).is_empty() {
                return at_once;
            }
        }
        panic!("no flush was held");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_connection_alone_on_its_thread_is_written_at_once_but_for_probes() {
        let corks = started();
        let (mut conn, client) = pair(&corks).await;
        // At first the thread may be busy: held.
        send(&mut conn, b"one").await;
        assert!(arrived(&client).is_empty());
        tokio::task::yield_now().await;
        assert_eq!(arrived(&client), b"one");
        // The writer's pass found it alone: the next flushes go out at
        // once, but for one in PROBE_EVERY.
        for _ in 0..3 {
            assert_eq!(flush_until_held(&mut conn, &client).await, PROBE_EVERY - 1);
            tokio::task::yield_now().await;
            assert_eq!(arrived(&client), b"x");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn holding_resumes_when_a_probe_finds_other_connections_in_its_pass() {
        let corks = started();
        let (mut a, client_a) = pair(&corks).await;
        let (mut b, client_b) = pair(&corks).await;
        send(&mut a, b"one").await;
        tokio::task::yield_now().await;
        assert_eq!(arrived(&client_a), b"one");
        // Alone: at once until a probe, and `b` answers in the same pass.
        flush_until_held(&mut a, &client_a).await;
        send(&mut b, b"two").await;
        assert!(arrived(&client_b).is_empty());
        tokio::task::yield_now().await;
        assert_eq!(arrived(&client_a), b"x");
        assert_eq!(arrived(&client_b), b"two");
        // That pass wrote two connections: `a` alone is held again.
        send(&mut a, b"three").await;
        assert!(arrived(&client_a).is_empty());
        tokio::task::yield_now().await;
        assert_eq!(arrived(&client_a), b"three");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_large_write_goes_out_at_once_after_what_was_held() {
        let corks = started();
        let (mut conn, client) = pair(&corks).await;
        let large = vec![7u8; 4 * HOLD_AT_MOST];

        conn.write_all(b"head").await.unwrap();
        conn.write_all(&large).await.unwrap();
        let got = arrived(&client);
        assert_eq!(&got[..4], b"head");
        assert_eq!(got.len(), 4 + large.len());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn shutting_down_writes_what_is_held_first() {
        let corks = started();
        let (mut conn, mut client) = pair(&corks).await;
        conn.write_all(b"last words").await.unwrap();
        conn.shutdown().await.unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"last words");
    }

    /// Bytes held when the client stops reading: the writer cannot write
    /// them, the connection's own flush waits for the socket, and
    /// everything arrives in order once the client reads again.
    #[tokio::test(flavor = "current_thread")]
    async fn bytes_a_full_socket_could_not_take_wait_for_it_in_their_connection() {
        let corks = started();
        let (mut conn, mut client) = pair(&corks).await;

        // Fill the socket (large writes go straight to it).
        let chunk = vec![1u8; 4 * HOLD_AT_MOST];
        let mut cx = Context::from_waker(Waker::noop());
        let mut sent = 0;
        while let Poll::Ready(n) = Pin::new(&mut conn).poll_write(&mut cx, &chunk) {
            sent += n.unwrap();
        }
        // A small write is held; the writer finds the socket full.
        send(&mut conn, b"MARK").await;
        tokio::task::yield_now().await;
        assert!(lock(&conn.held).stuck);
        // The connection's own flush now waits for the client.
        assert!(Pin::new(&mut conn).poll_flush(&mut cx).is_pending());

        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            client.read_to_end(&mut got).unwrap();
            got
        });
        conn.flush().await.unwrap();
        conn.shutdown().await.unwrap();
        let got = reader.join().unwrap();
        assert_eq!(got.len(), sent + 4);
        assert!(got[..sent].iter().all(|&b| b == 1));
        assert_eq!(&got[sent..], b"MARK");
        assert!(!lock(&conn.held).stuck);
    }
}
