//! Outbound HTTP requests of sandboxed services.
//!
//! A service may send HTTP requests only to the origins its manifest lists in
//! `outbound` (see [`mote_manifest::Origin`]):
//!
//! ```toml
//! outbound = ["https://hooks.slack.com", "http://127.0.0.1:9000", "https://*.example.com"]
//! ```
//!
//! [`Outbound::send`] sends one request on behalf of a service, under a
//! [`Policy`] (the service's list and limits), and checks, in order:
//!
//! 1. **The origin.** The request's URI must be absolute, `http` or `https`.
//!    Its origin (scheme, host, port or the scheme's default) must match an
//!    entry of the list, or the request is [`OutboundError::Denied`] before
//!    anything touches the network. `https://*.example.com` allows every
//!    subdomain of example.com at any depth, not example.com itself; an entry
//!    without a port allows only the scheme's default port.
//! 2. **The addresses.** The host is resolved here (an IP literal is taken as
//!    it is), and every address that is not an ordinary public one is
//!    refused: private networks, carrier-grade NAT, loopback, link-local
//!    (cloud metadata services live there), unspecified, multicast and
//!    broadcast, reserved, documentation and benchmarking ranges, and IPv6
//!    forms that carry such an IPv4 address (`::ffff:127.0.0.1`). Otherwise a
//!    service allowed to reach `https://*.example.com` could reach the node's
//!    own ports or its network by pointing a name there. An address is
//!    allowed anyway when the matching entry names that very address
//!    (`http://127.0.0.1:9000`): listing an address is a deliberate choice,
//!    listing a name is not a choice of what it resolves to. If every address
//!    is refused the request fails with [`OutboundError::PrivateAddress`].
//! 3. **The connection** goes to one of the checked addresses (tried in the
//!    resolver's order), never to the name: it is not resolved again, so the
//!    name cannot change its answer between the check and the connection.
//!    `https` uses TLS (rustls with the `ring` provider and the webpki root
//!    certificates; the certificate must be valid for the URI's host, which
//!    is also sent as SNI when it is a name; ALPN `http/1.1`).
//!
//! The request is sent with its path and query as the request target and a
//! `Host` header that is always the URI's authority (a guest's own `Host`
//! is replaced: it could name another virtual host behind an allowed
//! address), over HTTP/1.1.
//! [`Policy::timeout`] bounds resolving, connecting, the TLS handshake and the
//! wait for the response head; the response body ([`ResponseBody`]) fails with
//! [`OutboundError::ResponseTooLarge`] past [`Policy::max_response_body`]
//! bytes and with [`OutboundError::Timeout`] when no part of it arrives for
//! [`Policy::timeout`].
//!
//! Not done, on purpose:
//! - **No connection pooling**: every request opens its own connection, which
//!   is closed when the response body ends or is dropped.
//! - **No redirects**: a 3xx response is returned as it is; following it is
//!   the service's decision (and the new origin is checked like any other).
//! - **HTTP/1.1 only**, no HTTP/2, no upgrades (WebSocket), no proxies.
//! - Addresses are tried one after the other, not raced ("happy eyeballs").

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HOST, HeaderValue};
use http::{Request, Response, Uri, Version};
use http_body::Body;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mote_manifest::{Origin, Scheme};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

mod address;
mod body;
mod error;

pub use error::OutboundError;

use body::{Connection, Limited};

/// A response body: streams the server's body, failing with
/// [`OutboundError::ResponseTooLarge`] once more than
/// [`Policy::max_response_body`] bytes arrived, and with
/// [`OutboundError::Timeout`] when nothing arrived for [`Policy::timeout`].
/// Dropping it closes the connection.
pub type ResponseBody = http_body_util::combinators::BoxBody<Bytes, OutboundError>;

/// What one service may reach, and its limits.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The service, as `app/service`; used in errors.
    pub service: String,
    /// The service's `outbound` list.
    pub allow: Vec<Origin>,
    /// Bounds resolving, connecting, the TLS handshake and the wait for the
    /// response head together; also the longest wait for each part of the
    /// response body.
    pub timeout: Duration,
    /// The largest response body, in bytes.
    pub max_response_body: u64,
}

/// Sends outbound requests; one per node, holding the TLS settings and root
/// certificates. Cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    tls: TlsConnector,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound").finish_non_exhaustive()
    }
}

impl Default for Outbound {
    fn default() -> Outbound {
        Outbound::new()
    }
}

impl Outbound {
    /// Trusts the webpki root certificates (Mozilla's list, built in).
    pub fn new() -> Outbound {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        Outbound::with_root_certificates(roots)
    }

    /// Trusts only `roots` (for tests against a server with a certificate of
    /// their own).
    pub fn with_root_certificates(roots: rustls::RootCertStore) -> Outbound {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Outbound {
            tls: TlsConnector::from(Arc::new(config)),
        }
    }

    /// Sends `request` for the service of `policy`, checking its origin and
    /// addresses first (see the [crate] documentation). Redirects are not
    /// followed.
    pub async fn send<B>(
        &self,
        policy: &Policy,
        request: Request<B>,
    ) -> Result<Response<ResponseBody>, OutboundError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let target = Target::of(request.uri())?;
        let entries: Vec<&Origin> = policy
            .allow
            .iter()
            .filter(|entry| entry.matches(target.scheme, &target.host, target.port))
            .collect();
        if entries.is_empty() {
            return Err(OutboundError::Denied {
                service: policy.service.clone(),
                origin: target.origin,
            });
        }
        let request = origin_form(request, &target)?;
        let opened = tokio::time::timeout(
            policy.timeout,
            self.open_and_send(policy, &target, &entries, request),
        )
        .await;
        let (response, connection) = opened.map_err(|_| OutboundError::Timeout {
            origin: target.origin.clone(),
            after: policy.timeout,
        })??;
        Ok(response.map(|incoming| {
            Limited::new(
                incoming,
                connection,
                target.origin,
                policy.max_response_body,
                policy.timeout,
            )
            .boxed()
        }))
    }

    /// Resolves, checks the addresses, connects and sends the request,
    /// returning the response head.
    async fn open_and_send<B>(
        &self,
        policy: &Policy,
        target: &Target,
        entries: &[&Origin],
        request: Request<B>,
    ) -> Result<(Response<Incoming>, Connection), OutboundError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let mut allowed = Vec::new();
        let mut first_refused = None;
        for ip in resolve(target).await? {
            match address::refused(ip) {
                Some(why) if !entries.iter().any(|entry| entry.names_address(ip)) => {
                    tracing::debug!(origin = %target.origin, %ip, "refusing {why}");
                    first_refused.get_or_insert(ip);
                }
                _ => allowed.push(ip),
            }
        }
        if allowed.is_empty() {
            return Err(OutboundError::PrivateAddress {
                service: policy.service.clone(),
                origin: target.origin.clone(),
                address: first_refused.expect("a resolved address was refused"),
            });
        }
        let tcp = connect(target, &allowed).await?;
        match target.scheme {
            Scheme::Http => exchange(tcp, request).await,
            Scheme::Https => {
                let server_name = match target.ip {
                    Some(ip) => ServerName::IpAddress(ip.into()),
                    None => ServerName::try_from(target.name().to_owned()).map_err(|e| {
                        OutboundError::Tls {
                            origin: target.origin.clone(),
                            message: format!("invalid server name: {e}"),
                        }
                    })?,
                };
                let tls =
                    self.tls
                        .connect(server_name, tcp)
                        .await
                        .map_err(|e| OutboundError::Tls {
                            origin: target.origin.clone(),
                            message: describe(&e),
                        })?;
                exchange(tls, request).await
            }
        }
    }
}

/// Where a request goes, from its URI.
struct Target {
    scheme: Scheme,
    /// The host as in the URI, lowercase (IPv6 addresses in brackets).
    host: String,
    /// The host as an IP address, if it is one.
    ip: Option<IpAddr>,
    port: u16,
    /// `scheme://host[:port]`, the port only when not the default; for errors.
    origin: String,
    /// `host[:port]` as written in the URI, for the `Host` header.
    authority: String,
}

impl Target {
    fn of(uri: &Uri) -> Result<Target, OutboundError> {
        let invalid = |why: &str| OutboundError::InvalidRequest(format!("{why}, got \"{uri}\""));
        let scheme = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("http") => Scheme::Http,
            Some(s) if s.eq_ignore_ascii_case("https") => Scheme::Https,
            Some(_) => return Err(invalid("only http and https URLs are supported")),
            None => {
                return Err(invalid(
                    "the URL must be absolute, like \"https://host/path\"",
                ));
            }
        };
        let Some(authority) = uri.authority() else {
            return Err(invalid(
                "the URL must be absolute, like \"https://host/path\"",
            ));
        };
        if authority.as_str().contains('@') {
            return Err(invalid("user information in the URL is not supported"));
        }
        let host = authority.host().to_ascii_lowercase();
        if host.is_empty() {
            return Err(invalid("the URL has no host"));
        }
        let port = authority.port_u16().unwrap_or(scheme.default_port());
        let bare = host.strip_suffix('.').unwrap_or(&host);
        let bare = bare
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(bare);
        let ip = bare.parse::<IpAddr>().ok();
        let origin = if port == scheme.default_port() {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}:{port}")
        };
        Ok(Target {
            scheme,
            ip,
            port,
            origin,
            authority: authority.as_str().to_owned(),
            host,
        })
    }

    /// The host name without brackets and without a trailing dot.
    fn name(&self) -> &str {
        let host = self.host.strip_suffix('.').unwrap_or(&self.host);
        host.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
    }
}

/// The request as sent on the connection: path and query as the target,
/// HTTP/1.1, a `Host` header.
fn origin_form<B>(request: Request<B>, target: &Target) -> Result<Request<B>, OutboundError> {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .filter(|pq| pq.starts_with('/'))
        .unwrap_or("/");
    parts.uri = path
        .parse()
        .map_err(|e| OutboundError::InvalidRequest(format!("invalid path {path:?}: {e}")))?;
    parts.version = Version::HTTP_11;
    // Always the allowed origin's authority: a Host of the guest's own
    // would let it pick another virtual host behind an allowed address.
    let host = HeaderValue::from_str(&target.authority).map_err(|e| {
        OutboundError::InvalidRequest(format!("invalid host {:?}: {e}", target.authority))
    })?;
    parts.headers.insert(HOST, host);
    Ok(Request::from_parts(parts, body))
}

/// The addresses of the target's host, in the resolver's order, without
/// duplicates.
async fn resolve(target: &Target) -> Result<Vec<IpAddr>, OutboundError> {
    if let Some(ip) = target.ip {
        return Ok(vec![ip]);
    }
    let host = target.name();
    let dns_error = |message: String| OutboundError::Dns {
        host: host.to_owned(),
        message,
    };
    let resolved = tokio::net::lookup_host((host, target.port))
        .await
        .map_err(|e| dns_error(e.to_string()))?;
    let mut ips = Vec::new();
    for address in resolved {
        if !ips.contains(&address.ip()) {
            ips.push(address.ip());
        }
    }
    if ips.is_empty() {
        return Err(dns_error("no addresses".to_owned()));
    }
    Ok(ips)
}

/// Connects to the first of `addresses` that accepts.
async fn connect(target: &Target, addresses: &[IpAddr]) -> Result<TcpStream, OutboundError> {
    let mut errors = Vec::new();
    for &ip in addresses {
        let address = SocketAddr::new(ip, target.port);
        match TcpStream::connect(address).await {
            Ok(stream) => {
                // Only a latency hint: a failure changes nothing else.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => {
                tracing::debug!(origin = %target.origin, %address, "cannot connect: {e}");
                errors.push(format!("{address}: {e}"));
            }
        }
    }
    Err(OutboundError::Connect {
        origin: target.origin.clone(),
        message: errors.join("; "),
    })
}

/// Sends `request` over `io` with HTTP/1.1 and waits for the response head.
/// The connection is driven by a task of its own, aborted when the returned
/// [`Connection`] is dropped.
async fn exchange<T, B>(
    io: T,
    request: Request<B>,
) -> Result<(Response<Incoming>, Connection), OutboundError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| OutboundError::Http(describe(&e)))?;
    let connection = Connection(tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("outbound connection failed: {e}");
        }
    }));
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| OutboundError::Http(describe(&e)))?;
    Ok((response, connection))
}

/// An error with its sources: `connection error: Connection reset by peer`.
pub(crate) fn describe(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}
