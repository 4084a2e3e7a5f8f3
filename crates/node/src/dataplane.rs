//! The data plane: HTTP/1.1 and h2c on one listener (hyper), routing each
//! request to a service version and running it in a fresh sandbox.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http::{HeaderValue, Request, Response, header};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use mote_sandbox::{Body, BodyError, Chain, Completion, CompletionHandle, Outcome, SandboxError};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::NodeConfig;
use crate::corked::{Corked, Corks};
use crate::errors::{RETRY_AFTER, Refusal, RequestError};
use crate::limited::{Limited, Side};
use crate::pool::{ServiceVersion, Slot};
use crate::registry::Registry;

/// Which routes a request is matched against.
pub enum Scope<'a> {
    /// The node-wide table, by `Host` and path (the public listener).
    Node,
    /// One app's own routes, by path only (the admin API's `invoke`).
    App(&'a str),
}

/// Routes requests to sandboxes.
#[derive(Clone)]
pub struct DataPlane {
    registry: Arc<Registry>,
    /// 404s are logged a few a second at most.
    no_route_logged: Arc<LogGate>,
    header_timeout: Duration,
    listen: SocketAddr,
}

impl DataPlane {
    /// A data plane over `registry`.
    pub fn new(registry: Arc<Registry>, config: &NodeConfig) -> Self {
        DataPlane {
            registry,
            no_route_logged: Arc::default(),
            header_timeout: config.header_timeout,
            listen: config.listen,
        }
    }

    /// Serve on one thread per listener, each thread with its own
    /// current-thread runtime (see [`bind`]): a request, and the service
    /// calls it makes, run on the thread that accepted its connection, so
    /// nothing on the request path wakes another thread. Returns, for each
    /// thread, a task of the caller's runtime that ends when the thread has
    /// drained and stopped.
    pub fn spawn_threads(
        self,
        listeners: Vec<std::net::TcpListener>,
        shutdown: watch::Receiver<bool>,
        drain: Duration,
    ) -> std::io::Result<Vec<tokio::task::JoinHandle<()>>> {
        let mut done = Vec::with_capacity(listeners.len());
        for (i, listener) in listeners.into_iter().enumerate() {
            let this = self.clone();
            let shutdown = shutdown.clone();
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            std::thread::Builder::new()
                .name(format!("mote-data-{i}"))
                .spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a current-thread runtime");
                    runtime.block_on(async move {
                        match TcpListener::from_std(listener) {
                            Ok(listener) => this.serve(listener, shutdown, drain).await,
                            Err(e) => tracing::error!(error = %e, "data-plane listener unusable"),
                        }
                    });
                    let _ = tx.send(());
                })?;
            done.push(tokio::spawn(async move {
                let _ = rx.await;
            }));
        }
        Ok(done)
    }

    /// Accept connections until `shutdown` turns true, then wait up to
    /// `drain` for open connections to finish their requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
        drain: Duration,
    ) {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout);
        let header_timeout = self.header_timeout;
        let this = Arc::new(self);
        // Responses of one pass over the ready connections go out
        // together (see `corked`).
        let corks = Arc::new(Corks::default());
        let writer = tokio::spawn(corks.clone().run());
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
                _ = shutdown.changed() => break,
            };
            let _ = stream.set_nodelay(true);
            let this = this.clone();
            let refusals = Arc::new(Refusals::default());
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let this = this.clone();
                let refusals = refusals.clone();
                async move {
                    let arrived = Instant::now();
                    let response = this.dispatch(req, Scope::Node).await;
                    Ok::<_, Infallible>(refusals.pace(arrived, response).await)
                }
            });
            let builder = builder.clone();
            let watcher = graceful.watcher();
            let corks = corks.clone();
            tokio::spawn(async move {
                if !first_bytes(&stream, header_timeout).await {
                    return;
                }
                let stream = Corked::new(stream, corks);
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                if let Err(e) = watcher.watch(conn.into_owned()).await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            });
        }
        drop(listener);
        if tokio::time::timeout(drain, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("drain deadline reached; closing remaining connections");
        }
        writer.abort();
        corks.write_all();
    }

    /// Handle one request: route, admit, run, and answer. Every failure
    /// becomes a response here (see [`crate::errors`]); nothing a request
    /// does can affect another.
    pub async fn dispatch<B>(&self, req: Request<B>, scope: Scope<'_>) -> Response<Body>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
        B::Error: Into<BodyError>,
    {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let live = self.registry.live();
        let service = match scope {
            Scope::Node => {
                let host = authority(&req).unwrap_or_default();
                live.routes.lookup(&host, &path).cloned()
            }
            Scope::App(app) => live.apps.get(app).and_then(|a| a.route(&path)),
        };
        let Some(service) = service else {
            let err = RequestError::NoRoute(path.clone());
            if let Some(suppressed) = self.no_route_logged.admit() {
                tracing::info!(target: "mote::request", %method, %path, status = 404, suppressed, "no route");
            }
            return err.to_response();
        };
        drop(live);
        self.handle(service, req, Chain::default()).await
    }

    /// Run one request on `service` and answer; `chain` is the chain of
    /// service-binding calls it belongs to (a new one for a client's
    /// request).
    pub(crate) async fn handle<B>(
        &self,
        service: Arc<ServiceVersion>,
        req: Request<B>,
        chain: Chain,
    ) -> Response<Body>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
        B::Error: Into<BodyError>,
    {
        let start = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let (result, completion) = self.run(&service, req, chain).await;
        let response = result.unwrap_or_else(|e| e.to_response());
        let status = response.status().as_u16();
        match completion {
            Some(Ran {
                completion,
                slot,
                env_key,
                answered,
                response_cut,
            }) => {
                // Once the guest has finished: release the slot (keeping
                // the instance for reuse if it answered in full), then log.
                let finish = move |mut c: Completion| {
                    let cut = response_cut.is_some_and(|cut| cut.load(Ordering::Relaxed));
                    if cut {
                        let limit = service.limits().response_body;
                        c.outcome = Outcome::Failed(SandboxError::Internal(
                            RequestError::ResponseTooLarge(limit).to_string(),
                        ));
                    }
                    let instance = c.instance.take().filter(|_| answered && !cut);
                    slot.release(instance, env_key);
                    log_request(&service, &method, &path, status, start, Some(&c));
                };
                match completion.ready() {
                    Ok(c) => finish(c),
                    // Still streaming its body: the slot is held until then.
                    Err(pending) => {
                        tokio::spawn(async move { finish(pending.wait().await) });
                    }
                }
            }
            None => log_request(&service, &method, &path, status, start, None),
        }
        response
    }

    /// Run the request in a fresh instance. When the guest ran at all, its
    /// completion and concurrency slot come back even if the request failed,
    /// so that what it printed reaches the log and the slot (concurrency,
    /// capacity, and the hold on the code) is held until it has finished.
    async fn run<B>(
        &self,
        service: &Arc<ServiceVersion>,
        req: Request<B>,
        chain: Chain,
    ) -> (Result<Response<Body>, RequestError>, Option<Ran>)
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
        B::Error: Into<BodyError>,
    {
        let limits = *service.limits();
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limits.request_body) {
            return (Err(RequestError::BodyTooLarge(limits.request_body)), None);
        }
        let slot = match service.admit().await {
            Ok(slot) => slot,
            Err(e) => return (Err(e), None),
        };

        let (mut parts, body) = req.into_parts();
        if parts.uri.authority().is_none() && !parts.headers.contains_key(header::HOST) {
            let host = HeaderValue::from_str(&self.listen.to_string())
                .expect("an address is a valid header");
            parts.headers.insert(header::HOST, host);
        }
        let (body, too_big) = Limited::new(body, limits.request_body, Side::Request);
        let req = Request::from_parts(parts, body.boxed_unsync());

        let mut invocation = service.invocation(service.environment(), chain);
        invocation.low_priority = slot.crowding;
        let checkout = slot.ready().for_request(&invocation.env);
        invocation.stdin = checkout.stdin;
        let env_key = checkout.env_key;
        let (result, completion) = checkout
            .prepared
            .handle_in(req, invocation, checkout.warm)
            .await;
        let mut completion = Some(Ran {
            completion,
            slot,
            env_key,
            answered: result.is_ok(),
            response_cut: None,
        });
        if too_big.load(Ordering::Relaxed) {
            return (
                Err(RequestError::BodyTooLarge(limits.request_body)),
                completion,
            );
        }
        let response = match result {
            Ok(r) => r,
            Err(e) => return (Err(e.into()), completion),
        };
        let (parts, body) = response.into_parts();
        let announced = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|n| n > limits.response_body) {
            return (
                Err(RequestError::ResponseTooLarge(limits.response_body)),
                completion,
            );
        }
        let (body, cut) = Limited::new(body, limits.response_body, Side::Response);
        if let Some(ran) = completion.as_mut() {
            ran.response_cut = Some(cut);
        }
        (
            Ok(Response::from_parts(parts, body.boxed_unsync())),
            completion,
        )
    }
}

/// Pacing of one connection's refusals. A refusal for lack of room
/// (503 with `Retry-After`) tells the client when to ask again; a client
/// that asks again on the same connection before then gets its next
/// refusal only at that time. A client that waits as told never notices;
/// one that asks again at once (thousands of times a second over a
/// few thousand connections, under bench/hostile's `slow` attack) no
/// longer takes the request threads' time from other services' requests,
/// and costs a timer while it waits. Refusals held together (HTTP/2
/// streams of one connection) are all answered at that time: the time is
/// not pushed further for each.
#[derive(Default)]
struct Refusals {
    /// When the last refusal told the client to ask again.
    retry_at: std::sync::Mutex<Option<Instant>>,
}

impl Refusals {
    /// `response` to a request that arrived at `arrived`, held first if it
    /// is a refusal and the previous refusal's retry time is still ahead.
    async fn pace(&self, arrived: Instant, response: Response<Body>) -> Response<Body> {
        if response.extensions().get::<Refusal>().is_none() {
            return response;
        }
        let hold_until = {
            let mut retry_at = self.retry_at.lock().unwrap();
            match *retry_at {
                Some(at) if arrived < at => Some(at),
                _ => {
                    *retry_at = Some(Instant::now() + RETRY_AFTER);
                    None
                }
            }
        };
        if let Some(at) = hold_until {
            tokio::time::sleep_until(at.into()).await;
        }
        response
    }
}

/// Wait, at most `limit`, until the client has sent enough to tell HTTP/1
/// from HTTP/2 (the first bytes of a request, or the whole HTTP/2 preface).
/// hyper's own detection waits for them without a deadline, and its header
/// timeout starts only after it: without this, a connection that never
/// sends anything would stay open for ever. False: the client sent nothing
/// usable in time, or closed.
async fn first_bytes(stream: &TcpStream, limit: Duration) -> bool {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let decided = async {
        let mut buf = [0u8; PREFACE.len()];
        loop {
            let n = match stream.peek(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => n,
            };
            if n == PREFACE.len() || buf[..n] != PREFACE[..n] {
                return true;
            }
            // Part of the HTTP/2 preface: the bytes stay in the socket, so
            // wait a little before looking again.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(limit, decided).await.unwrap_or(false)
}

/// A request that reached its guest: what is released once the guest has
/// finished.
struct Ran {
    completion: CompletionHandle,
    slot: Slot,
    env_key: u64,
    /// The guest answered (no error): its instance may serve another request.
    answered: bool,
    /// Set if the response body was cut at the service's limit while
    /// streaming (the head was already sent): the log says so.
    response_cut: Option<Arc<AtomicBool>>,
}

/// `threads` listening sockets on `addr`, all bound with `SO_REUSEPORT` so the
/// kernel spreads incoming connections across them (the first binds a port
/// 0 to a free port; the others take the same one).
pub fn bind(addr: SocketAddr, threads: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let mut listeners: Vec<std::net::TcpListener> = Vec::with_capacity(threads);
    for _ in 0..threads.max(1) {
        let addr = match listeners.first() {
            Some(first) => first.local_addr()?,
            None => addr,
        };
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(1024)?;
        listeners.push(socket.into());
    }
    Ok(listeners)
}

fn authority<B>(req: &Request<B>) -> Option<String> {
    if let Some(a) = req.uri().authority() {
        return Some(a.to_string());
    }
    req.headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
}

/// One structured line per request: service, version, status, duration,
/// and whatever the guest printed (bounded).
fn log_request(
    svc: &ServiceVersion,
    method: &http::Method,
    path: &str,
    status: u16,
    start: Instant,
    completion: Option<&Completion>,
) {
    let duration_ms = start.elapsed().as_secs_f64() * 1000.0;
    let (outcome, stdout, stderr, cpu_ms, offloaded, log_dropped) = match completion {
        Some(c) => (
            match &c.outcome {
                Outcome::Finished => "ok".to_string(),
                Outcome::Failed(e) => e.to_string(),
            },
            c.logs.stdout.as_str(),
            c.logs.stderr.as_str(),
            c.cpu.as_secs_f64() * 1000.0,
            c.offloaded,
            c.logs.dropped,
        ),
        None => ("rejected".to_string(), "", "", 0.0, false, 0),
    };
    // Requests refused before they ran (overload, capacity) come in floods
    // when a service is attacked: at most a few lines a second of them, each
    // saying how many were left out before it.
    let suppressed = match completion {
        Some(_) => 0,
        None => match svc.rejections_logged.admit() {
            Some(suppressed) => suppressed,
            None => return,
        },
    };
    tracing::info!(
        target: "mote::request",
        app = %svc.app,
        service = %svc.name,
        version = svc.version,
        %method,
        %path,
        status,
        duration_ms = format!("{duration_ms:.3}"),
        cpu_ms = format!("{cpu_ms:.3}"),
        // Ran (in part) on the sandbox's low-priority threads.
        offloaded,
        outcome = %outcome,
        // Debug formatting escapes newlines: one request, one log line.
        stdout = ?stdout.trim_end(),
        stderr = ?stderr.trim_end(),
        log_dropped,
        suppressed,
    );
}

/// Lets through at most [`LogGate::PER_SECOND`] log lines a second and
/// counts the rest.
#[derive(Default)]
pub struct LogGate {
    /// The current second (since the process started) and lines in it.
    window: std::sync::Mutex<(u64, u32)>,
    suppressed: std::sync::atomic::AtomicU64,
}

impl LogGate {
    /// Lines let through per second.
    pub const PER_SECOND: u32 = 10;

    /// `Some(lines left out since the last one let through)` if a line may
    /// be written now; `None` if it is left out (and counted).
    pub fn admit(&self) -> Option<u64> {
        static START: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);
        let second = START.elapsed().as_secs();
        let mut window = self.window.lock().unwrap();
        if window.0 != second {
            *window = (second, 0);
        }
        if window.1 >= Self::PER_SECOND {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        window.1 += 1;
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::LogGate;

    #[test]
    fn the_log_gate_lets_a_few_lines_a_second_through_and_counts_the_rest() {
        let gate = LogGate::default();
        let (mut admitted, mut refused, mut reported) = (0, 0, 0);
        for _ in 0..100 {
            match gate.admit() {
                Some(left_out) => {
                    admitted += 1;
                    reported += left_out;
                }
                None => refused += 1,
            }
        }
        // PER_SECOND a second: the burst spans one second, or two at most.
        assert!(
            (LogGate::PER_SECOND..=2 * LogGate::PER_SECOND).contains(&admitted),
            "{admitted}"
        );
        // In a later second the next line says how many were left out (all
        // of them, counting those reported already).
        std::thread::sleep(std::time::Duration::from_millis(1100));
        reported += gate.admit().expect("a new second");
        assert_eq!(reported, refused);
    }
}
