//! `Outbound::send` against real servers on 127.0.0.1, started by each test.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mote_manifest::Origin;
use mote_outbound::{Outbound, OutboundError, Policy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Every test must finish well within this.
const BOUND: Duration = Duration::from_secs(5);

fn bounded<F: Future>(test: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(BOUND, test)
                .await
                .expect("the test took too long")
        })
}

/// A request as the test server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    target: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A hyper HTTP/1.1 server on 127.0.0.1 that records what it receives.
struct Server {
    address: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
}

type ServerBody = BoxBody<Bytes, Infallible>;

impl Server {
    async fn start(tls: Option<TlsAcceptor>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (seen2, connections2) = (seen.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                connections2.fetch_add(1, Ordering::SeqCst);
                let seen = seen2.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(seen.clone(), request));
                    let http = hyper::server::conn::http1::Builder::new();
                    let _ = match tls {
                        Some(tls) => {
                            let Ok(stream) = tls.accept(stream).await else {
                                return;
                            };
                            http.serve_connection(TokioIo::new(stream), service).await
                        }
                        None => http.serve_connection(TokioIo::new(stream), service).await,
                    };
                });
            }
        });
        Server {
            address,
            seen,
            connections,
        }
    }

    fn port(&self) -> u16 {
        self.address.port()
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// `/bytes?n=N` answers N bytes with a Content-Length, `/chunked?n=N` in
/// chunks without one, `/redirect` a 302; anything else echoes the request.
async fn handle(
    seen: Arc<Mutex<Vec<Seen>>>,
    request: Request<Incoming>,
) -> Result<Response<ServerBody>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let target = parts.uri.to_string();
    seen.lock().unwrap().push(Seen {
        method: parts.method.clone(),
        target: target.clone(),
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    let n = || -> usize {
        let query = parts.uri.query().unwrap_or_default();
        query.strip_prefix("n=").unwrap().parse().unwrap()
    };
    let response = match parts.uri.path() {
        "/bytes" => Response::new(Full::new(Bytes::from(vec![b'x'; n()])).boxed()),
        "/chunked" => {
            let chunks = vec![b'y'; n()]
                .chunks(100)
                .map(|chunk| Ok(Frame::data(Bytes::copy_from_slice(chunk))))
                .collect::<Vec<_>>();
            Response::new(StreamBody::new(futures::stream::iter(chunks)).boxed())
        }
        "/redirect" => Response::builder()
            .status(StatusCode::FOUND)
            .header("location", "http://127.0.0.1:1/elsewhere")
            .body(Empty::new().boxed())
            .unwrap(),
        _ => {
            let mut text = format!("{} {target}", parts.method).into_bytes();
            text.extend_from_slice(b" ");
            text.extend_from_slice(&body);
            Response::builder()
                .status(StatusCode::CREATED)
                .header("x-reply", "yes")
                .body(Full::new(Bytes::from(text)).boxed())
                .unwrap()
        }
    };
    Ok(response)
}

fn policy(allow: &[&str]) -> Policy {
    Policy {
        service: "shop/hooks".to_owned(),
        allow: allow.iter().map(|o| Origin::parse(o).unwrap()).collect(),
        timeout: Duration::from_secs(2),
        max_response_body: 1000,
    }
}

fn get(uri: &str) -> Request<Empty<Bytes>> {
    Request::get(uri).body(Empty::new()).unwrap()
}

/// Reads a whole response body.
async fn read(response: Response<mote_outbound::ResponseBody>) -> Result<Bytes, OutboundError> {
    response.into_body().collect().await.map(|b| b.to_bytes())
}

#[test]
fn allowed_request_reaches_the_server() {
    bounded(async {
        let server = Server::start(None).await;
        let port = server.port();
        let policy = policy(&[&format!("http://127.0.0.1:{port}")]);
        let request = Request::post(format!("http://127.0.0.1:{port}/echo?a=1&b=two"))
            .header("x-test", "hello")
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::from_static(b"the body")))
            .unwrap();
        let response = Outbound::new().send(&policy, request).await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["x-reply"], "yes");
        assert_eq!(
            read(response).await.unwrap(),
            "POST /echo?a=1&b=two the body"
        );

        let seen = server.seen();
        assert_eq!(seen.len(), 1);
        let seen = &seen[0];
        assert_eq!(seen.method, Method::POST);
        // The origin form: path and query only.
        assert_eq!(seen.target, "/echo?a=1&b=two");
        assert_eq!(seen.headers["host"], format!("127.0.0.1:{port}").as_str());
        assert_eq!(seen.headers["x-test"], "hello");
        assert_eq!(seen.headers["content-type"], "text/plain");
        assert_eq!(seen.body, "the body");

        // A Host header of the request's own is replaced by the URI's
        // authority (no virtual host behind the allowed one); no path means "/".
        let request = Request::get(format!("http://127.0.0.1:{port}"))
            .header("host", "api.example.com")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let response = Outbound::new().send(&policy, request).await.unwrap();
        assert_eq!(read(response).await.unwrap(), "GET / ");
        let seen = server.seen();
        assert_eq!(seen[1].target, "/");
        assert_eq!(
            seen[1].headers["host"],
            format!("127.0.0.1:{port}").as_str()
        );
        assert_eq!(seen[1].headers.get_all("host").iter().count(), 1);
    });
}

#[test]
fn unlisted_origin_is_denied() {
    bounded(async {
        let server = Server::start(None).await;
        let port = server.port();
        // Same host, other port or scheme; a name for the same address.
        let policy = policy(&[
            &format!("http://127.0.0.1:{}", port.wrapping_add(1).max(1)),
            &format!("https://127.0.0.1:{port}"),
            &format!("http://localhost:{port}"),
        ]);
        let error = Outbound::new()
            .send(&policy, get(&format!("http://127.0.0.1:{port}/x")))
            .await
            .unwrap_err();
        let origin = format!("http://127.0.0.1:{port}");
        assert_eq!(
            error,
            OutboundError::Denied {
                service: "shop/hooks".to_owned(),
                origin: origin.clone(),
            }
        );
        assert_eq!(
            error.to_string(),
            format!("shop/hooks may not reach {origin}: the origin is not in its `outbound` list")
        );
        assert_eq!(server.connections(), 0);
        assert!(server.seen().is_empty());
    });
}

#[test]
fn a_name_resolving_to_loopback_is_refused() {
    bounded(async {
        let server = Server::start(None).await;
        let port = server.port();
        let policy = policy(&[&format!("http://localhost:{port}")]);
        let error = Outbound::new()
            .send(&policy, get(&format!("http://LocalHost:{port}/x")))
            .await
            .unwrap_err();
        let OutboundError::PrivateAddress {
            service,
            origin,
            address,
        } = &error
        else {
            panic!("expected PrivateAddress, got {error:?}");
        };
        assert_eq!(service, "shop/hooks");
        assert_eq!(origin, &format!("http://localhost:{port}"));
        assert!(address.is_loopback(), "{address}");
        assert_eq!(
            error.to_string(),
            format!(
                "shop/hooks may not reach http://localhost:{port}: it resolves to {address}, \
                 a loopback address; list the address itself in `outbound` to allow it"
            )
        );
        assert_eq!(server.connections(), 0);
    });
}

#[test]
fn a_wildcard_does_not_allow_the_bare_domain() {
    let entry = Origin::parse("https://*.example.com").unwrap();
    assert!(entry.matches(mote_manifest::Scheme::Https, "api.example.com", 443));
    assert!(!entry.matches(mote_manifest::Scheme::Https, "example.com", 443));
    // Denied before anything is resolved or connected.
    bounded(async {
        let policy = policy(&["https://*.example.com"]);
        let error = Outbound::new()
            .send(&policy, get("https://example.com/"))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            OutboundError::Denied {
                service: "shop/hooks".to_owned(),
                origin: "https://example.com".to_owned(),
            }
        );
    });
}

#[test]
fn response_body_is_capped() {
    bounded(async {
        let server = Server::start(None).await;
        let port = server.port();
        let policy = policy(&[&format!("http://127.0.0.1:{port}")]);
        let origin = format!("http://127.0.0.1:{port}");
        let outbound = Outbound::new();
        for path in ["bytes", "chunked"] {
            // Exactly at the limit: passes.
            let uri = format!("{origin}/{path}?n=1000");
            let response = outbound.send(&policy, get(&uri)).await.unwrap();
            assert_eq!(read(response).await.unwrap().len(), 1000, "{path}");

            // One byte more: the body fails.
            let uri = format!("{origin}/{path}?n=1001");
            let response = outbound.send(&policy, get(&uri)).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let error = read(response).await.unwrap_err();
            assert_eq!(
                error,
                OutboundError::ResponseTooLarge {
                    origin: origin.clone(),
                    limit: 1000,
                },
                "{path}"
            );
            assert_eq!(
                error.to_string(),
                format!("the response from {origin} is larger than the limit of 1000B")
            );
        }
    });
}

/// A raw TCP server on 127.0.0.1: runs `handle` on each connection, then
/// keeps the connection it hands back open until the test ends. Returns its
/// port.
async fn raw_server<F, Fut>(handle: F) -> u16
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = tokio::net::TcpStream> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            held.push(handle(stream).await);
        }
    });
    port
}

/// A policy allowing `http://127.0.0.1:PORT`, with a 300 ms timeout.
fn short_timeout(port: u16) -> Policy {
    let mut policy = policy(&[&format!("http://127.0.0.1:{port}")]);
    policy.timeout = Duration::from_millis(300);
    policy
}

#[test]
fn a_server_that_never_answers_times_out() {
    bounded(async {
        // Every connection is held open, never read, never answered.
        let port = raw_server(|stream| async { stream }).await;
        let policy = short_timeout(port);
        let error = Outbound::new()
            .send(&policy, get(&format!("http://127.0.0.1:{port}/")))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            OutboundError::Timeout {
                origin: format!("http://127.0.0.1:{port}"),
                after: Duration::from_millis(300),
            }
        );
        assert_eq!(
            error.to_string(),
            format!("http://127.0.0.1:{port} did not answer within 300ms")
        );
    });
}

#[test]
fn a_stalled_response_body_times_out() {
    bounded(async {
        let port = raw_server(|mut stream| async move {
            // Read the request head (a GET: no body), then answer part of the
            // body; the other 7 bytes never come.
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let mut byte = [0];
                if stream.read_exact(&mut byte).await.is_err() {
                    break;
                }
                head.push(byte[0]);
            }
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
                .await
                .unwrap();
            stream
        })
        .await;
        let policy = short_timeout(port);
        let response = Outbound::new()
            .send(&policy, get(&format!("http://127.0.0.1:{port}/")))
            .await
            .unwrap();
        let mut body = response.into_body();
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, "abc");
        let error = body.frame().await.unwrap().unwrap_err();
        assert!(
            matches!(error, OutboundError::Timeout { .. }),
            "expected Timeout, got {error:?}"
        );
        assert!(body.frame().await.is_none());
    });
}

#[test]
fn connection_refused() {
    bounded(async {
        // A port that was just free: nothing listens there.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let policy = policy(&[&format!("http://127.0.0.1:{port}")]);
        let error = Outbound::new()
            .send(&policy, get(&format!("http://127.0.0.1:{port}/")))
            .await
            .unwrap_err();
        let OutboundError::Connect { origin, message } = &error else {
            panic!("expected Connect, got {error:?}");
        };
        assert_eq!(origin, &format!("http://127.0.0.1:{port}"));
        assert!(
            message.starts_with(&format!("127.0.0.1:{port}: ")),
            "{message}"
        );
    });
}

#[test]
fn redirects_are_not_followed() {
    bounded(async {
        let server = Server::start(None).await;
        let port = server.port();
        let policy = policy(&[&format!("http://127.0.0.1:{port}")]);
        let response = Outbound::new()
            .send(&policy, get(&format!("http://127.0.0.1:{port}/redirect")))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(
            response.headers()["location"],
            "http://127.0.0.1:1/elsewhere"
        );
        assert_eq!(server.seen().len(), 1);
    });
}

#[test]
fn invalid_requests() {
    bounded(async {
        let policy = policy(&["http://127.0.0.1:9"]);
        for (uri, why) in [
            ("/relative", "the URL must be absolute"),
            (
                "ftp://127.0.0.1:9/",
                "only http and https URLs are supported",
            ),
            ("http://user@127.0.0.1:9/", "user information"),
        ] {
            let error = Outbound::new().send(&policy, get(uri)).await.unwrap_err();
            let OutboundError::InvalidRequest(message) = &error else {
                panic!("{uri}: expected InvalidRequest, got {error:?}");
            };
            assert!(message.contains(why), "{uri}: {message}");
        }
    });
}

/// A TLS server with a self-signed certificate for the address 127.0.0.1,
/// and the root store that trusts it.
fn tls_server_config() -> (TlsAcceptor, rustls::RootCertStore) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let certificate = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::from(certified.signing_key);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certificate.clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certificate).unwrap();
    (TlsAcceptor::from(Arc::new(config)), roots)
}

#[test]
fn https_with_a_trusted_certificate() {
    bounded(async {
        let (acceptor, roots) = tls_server_config();
        let server = Server::start(Some(acceptor)).await;
        let port = server.port();
        let policy = policy(&[&format!("https://127.0.0.1:{port}")]);
        let outbound = Outbound::with_root_certificates(roots);
        let response = outbound
            .send(
                &policy,
                get(&format!("https://127.0.0.1:{port}/secure?q=1")),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(read(response).await.unwrap(), "GET /secure?q=1 ");
        let seen = server.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            seen[0].headers["host"],
            format!("127.0.0.1:{port}").as_str()
        );
    });
}

#[test]
fn https_with_an_untrusted_certificate_fails() {
    bounded(async {
        let (acceptor, _) = tls_server_config();
        let server = Server::start(Some(acceptor)).await;
        let port = server.port();
        let policy = policy(&[&format!("https://127.0.0.1:{port}")]);
        // The webpki roots do not include the test's self-signed certificate.
        let error = Outbound::new()
            .send(&policy, get(&format!("https://127.0.0.1:{port}/")))
            .await
            .unwrap_err();
        let OutboundError::Tls { origin, message } = &error else {
            panic!("expected Tls, got {error:?}");
        };
        assert_eq!(origin, &format!("https://127.0.0.1:{port}"));
        assert!(message.contains("certificate"), "{message}");
        assert!(server.seen().is_empty());
    });
}
