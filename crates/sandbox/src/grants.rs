//! What a request may reach beyond its sandbox: the capabilities the node
//! grants a service from its manifest's bindings ([`Grants`]), and their
//! host side: `wasi:keyvalue` and `mote:host` (`wit/host.wit`) over the
//! node's KV namespaces, and the `wasi:http` outgoing-request hook that hands
//! requests to the node ([`OutgoingHttp`]: service bindings and the outbound
//! allowlist). Nothing is granted by default.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use mote_kv::{KvError, Namespace};
use wasmtime::component::{HasSelf, Linker, Resource};
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use crate::host::Host;
use crate::{Body, BodyError};

mod generated {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "mote:host/capabilities",
        imports: { default: async | trappable },
        with: {
            "wasi:keyvalue/store.bucket": super::Bucket,
        },
        trappable_error_type: {
            "wasi:keyvalue/store.error" => super::StoreError,
        },
    });
}

use generated::mote::host::{bindings as host_bindings, kv as host_kv};
use generated::wasi::keyvalue::{atomics, batch, store};

/// The capabilities of one service version, shared by all its requests.
#[derive(Default)]
pub struct Grants {
    /// KV namespaces, by binding name.
    pub kv: BTreeMap<String, Namespace>,
    /// Binding names of other services (called through [`Grants::http`]).
    pub services: Vec<String>,
    /// Where the service's outgoing HTTP requests go. `None`: every one is
    /// refused.
    pub http: Option<Arc<dyn OutgoingHttp>>,
    /// Outgoing HTTP requests allowed per request (service calls included).
    pub max_subrequests: u32,
}

impl std::fmt::Debug for Grants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grants")
            .field("kv", &self.kv.keys().collect::<Vec<_>>())
            .field("services", &self.services)
            .field("http", &self.http.is_some())
            .field("max_subrequests", &self.max_subrequests)
            .finish()
    }
}

/// The chain of service-binding calls a request belongs to: how deep in it
/// the request is (0 for a client's request), and the CPU time the whole
/// chain has used so far, which every guest of the chain adds to turn by
/// turn. A call starts on the sandbox's low-priority threads once its chain
/// has used as much as moves a single guest there: a tree of calls that are
/// each short is not short.
#[derive(Clone, Debug, Default)]
pub struct Chain {
    /// Calls between the client's request and this one.
    pub depth: u32,
    cpu_ns: Arc<AtomicU64>,
}

impl Chain {
    /// The chain of a call made by this request: one deeper, the same
    /// account of CPU time.
    pub fn call(&self) -> Chain {
        Chain {
            depth: self.depth + 1,
            cpu_ns: self.cpu_ns.clone(),
        }
    }

    /// CPU time the chain's guests have used so far.
    pub fn cpu(&self) -> Duration {
        Duration::from_nanos(self.cpu_ns.load(Ordering::Relaxed))
    }

    pub(crate) fn charge(&self, ns: u64) {
        self.cpu_ns.fetch_add(ns, Ordering::Relaxed);
    }
}

/// Sends a guest's outgoing HTTP request: the node implements it (service
/// bindings in-process, everything else through the outbound allowlist).
///
/// `chain` is the calling request's [`Chain`]. Errors reach the guest as
/// `wasi:http` error codes; `BodyError::InternalError(Some(text))` carries a
/// message for the service's author.
pub trait OutgoingHttp: Send + Sync {
    /// Send `request` on behalf of a guest whose request is in `chain`.
    fn send(
        &self,
        request: http::Request<Body>,
        chain: Chain,
    ) -> BoxFuture<'static, Result<http::Response<Body>, BodyError>>;
}

/// The per-request side of the grants: the outgoing-request hook.
pub(crate) struct Outgoing {
    pub(crate) grants: Arc<Grants>,
    pub(crate) chain: Chain,
    pub(crate) sent: u32,
    /// String cursors of `wasi:keyvalue` listings, by the number the guest
    /// was given (`list-keys` takes a u64).
    pub(crate) cursors: Vec<String>,
}

impl Outgoing {
    pub(crate) fn new(grants: Arc<Grants>, chain: Chain) -> Self {
        Outgoing {
            grants,
            chain,
            sent: 0,
            cursors: Vec::new(),
        }
    }

    fn namespace(&self, binding: &str) -> Result<&Namespace, String> {
        self.grants.kv.get(binding).ok_or_else(|| {
            format!(
                "no KV binding named {binding:?}: add `bindings.{binding} = {{ kv = \"NAMESPACE\" }}` \
                 to the service in mote.toml"
            )
        })
    }
}

type SendResult = Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), BodyError>> + Send>,
    ),
    BodyError,
>;

impl WasiHttpHooks for Outgoing {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), BodyError>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let Some(http) = self.grants.http.clone() else {
            return Box::new(async {
                Err(BodyError::InternalError(Some(
                    "outgoing HTTP requests are not allowed: the service has no `outbound` \
                     origins and no service bindings"
                        .into(),
                )))
            });
        };
        if self.sent >= self.grants.max_subrequests {
            let limit = self.grants.max_subrequests;
            return Box::new(async move {
                Err(BodyError::InternalError(Some(format!(
                    "subrequest limit reached: at most {limit} outgoing requests per request"
                ))))
            });
        }
        self.sent += 1;
        let chain = self.chain.clone();
        Box::new(async move {
            let response = http.send(request, chain).await?;
            let done: Box<dyn Future<Output = Result<(), BodyError>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, done))
        })
    }
}

/// A `wasi:keyvalue` bucket: the binding it was opened by.
pub struct Bucket {
    binding: String,
}

/// `wasi:keyvalue/store.error`, before conversion.
pub struct StoreError(store::Error);

impl From<String> for StoreError {
    fn from(message: String) -> Self {
        StoreError(store::Error::Other(message))
    }
}

impl From<KvError> for StoreError {
    fn from(e: KvError) -> Self {
        StoreError(store::Error::Other(e.to_string()))
    }
}

impl From<wasmtime::component::ResourceTableError> for StoreError {
    fn from(e: wasmtime::component::ResourceTableError) -> Self {
        StoreError(store::Error::Other(e.to_string()))
    }
}

/// Page size of `wasi:keyvalue` `list-keys` (which has no limit parameter).
const LIST_PAGE: u32 = 1000;

impl Host {
    fn bucket(&self, bucket: &Resource<Bucket>) -> Result<Namespace, StoreError> {
        let binding = &self.table.get(bucket)?.binding;
        Ok(self.outgoing.namespace(binding)?.clone())
    }
}

impl store::Host for Host {
    async fn open(&mut self, identifier: String) -> Result<Resource<Bucket>, StoreError> {
        self.outgoing.namespace(&identifier)?;
        Ok(self.table.push(Bucket {
            binding: identifier,
        })?)
    }

    fn convert_error(&mut self, err: StoreError) -> wasmtime::Result<store::Error> {
        Ok(err.0)
    }
}

impl store::HostBucket for Host {
    async fn get(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let ns = self.bucket(&bucket)?;
        Ok(ns.get(&key).await?.map(|entry| entry.value.to_vec()))
    }

    async fn set(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), StoreError> {
        let ns = self.bucket(&bucket)?;
        Ok(ns.put(&key, Bytes::from(value), Default::default()).await?)
    }

    async fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Result<(), StoreError> {
        let ns = self.bucket(&bucket)?;
        Ok(ns.delete(&key).await?)
    }

    async fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> Result<bool, StoreError> {
        let ns = self.bucket(&bucket)?;
        Ok(ns.exists(&key).await?)
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<u64>,
    ) -> Result<store::KeyResponse, StoreError> {
        let ns = self.bucket(&bucket)?;
        let cursor = match cursor {
            None => None,
            Some(n) => Some(
                self.outgoing
                    .cursors
                    .get(n as usize)
                    .cloned()
                    .ok_or_else(|| format!("unknown list-keys cursor {n}"))?,
            ),
        };
        let page = ns.list("", LIST_PAGE, cursor.as_deref()).await?;
        let cursor = page.cursor.map(|c| {
            self.outgoing.cursors.push(c);
            (self.outgoing.cursors.len() - 1) as u64
        });
        Ok(store::KeyResponse {
            keys: page.keys.into_iter().map(|k| k.name).collect(),
            cursor,
        })
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for Host {
    async fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: u64,
    ) -> Result<u64, StoreError> {
        let ns = self.bucket(&bucket)?;
        let delta = i64::try_from(delta).map_err(|_| format!("delta {delta} is too large"))?;
        let value = ns.increment(&key, delta).await?;
        Ok(u64::try_from(value).map_err(|_| format!("{key:?} holds a negative number"))?)
    }
}

impl batch::Host for Host {
    async fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Result<Vec<Option<(String, Vec<u8>)>>, StoreError> {
        let ns = self.bucket(&bucket)?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let value = ns.get(&key).await?.map(|e| e.value.to_vec());
            out.push(value.map(|v| (key, v)));
        }
        Ok(out)
    }

    async fn set_many(
        &mut self,
        bucket: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let ns = self.bucket(&bucket)?;
        for (key, value) in key_values {
            ns.put(&key, Bytes::from(value), Default::default()).await?;
        }
        Ok(())
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Result<(), StoreError> {
        let ns = self.bucket(&bucket)?;
        for key in keys {
            ns.delete(&key).await?;
        }
        Ok(())
    }
}

impl host_kv::Host for Host {
    async fn get(
        &mut self,
        binding: String,
        key: String,
    ) -> wasmtime::Result<Result<Option<host_kv::Entry>, String>> {
        Ok(async {
            let entry = self.outgoing.namespace(&binding)?.get(&key).await;
            Ok(entry.map_err(|e| e.to_string())?.map(|e| host_kv::Entry {
                value: e.value.to_vec(),
                metadata: e.metadata,
                expiration: e.expiration,
            }))
        }
        .await)
    }

    async fn put(
        &mut self,
        binding: String,
        key: String,
        value: Vec<u8>,
        options: host_kv::PutOptions,
    ) -> wasmtime::Result<Result<(), String>> {
        let options = mote_kv::PutOptions {
            expiration: options.expiration,
            expiration_ttl: options.expiration_ttl,
            metadata: options.metadata,
        };
        Ok(async {
            let ns = self.outgoing.namespace(&binding)?;
            ns.put(&key, Bytes::from(value), options)
                .await
                .map_err(|e| e.to_string())
        }
        .await)
    }

    async fn delete(
        &mut self,
        binding: String,
        key: String,
    ) -> wasmtime::Result<Result<(), String>> {
        Ok(async {
            let ns = self.outgoing.namespace(&binding)?;
            ns.delete(&key).await.map_err(|e| e.to_string())
        }
        .await)
    }

    async fn list(
        &mut self,
        binding: String,
        prefix: String,
        limit: u32,
        cursor: Option<String>,
    ) -> wasmtime::Result<Result<host_kv::ListPage, String>> {
        Ok(async {
            let ns = self.outgoing.namespace(&binding)?;
            let page = ns
                .list(&prefix, limit, cursor.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            Ok(host_kv::ListPage {
                keys: page
                    .keys
                    .into_iter()
                    .map(|k| host_kv::KeyInfo {
                        name: k.name,
                        expiration: k.expiration,
                        metadata: k.metadata,
                    })
                    .collect(),
                cursor: page.cursor,
            })
        }
        .await)
    }
}

impl host_bindings::Host for Host {
    async fn list(&mut self) -> wasmtime::Result<Vec<host_bindings::Binding>> {
        let grants = &self.outgoing.grants;
        let kv = grants.kv.keys().map(|name| host_bindings::Binding {
            name: name.clone(),
            kind: host_bindings::Kind::Kv,
        });
        let services = grants.services.iter().map(|name| host_bindings::Binding {
            name: name.clone(),
            kind: host_bindings::Kind::Service,
        });
        Ok(kv.chain(services).collect())
    }
}

/// Add `wasi:keyvalue` and `mote:host` to the node's linker.
pub(crate) fn add_to_linker(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    generated::Capabilities::add_to_linker::<Host, HasSelf<Host>>(linker, |host| host)
}
