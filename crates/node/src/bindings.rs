//! Bindings: what a service is granted by its manifest (`bindings` and
//! `outbound`, docs/bindings.md), turned into the sandbox's [`Grants`]; and
//! the node side of a guest's outgoing HTTP requests: service bindings
//! in-process (no socket), everything else through the outbound allowlist
//! (`mote-outbound`).
//!
//! Variables and secrets are environment variables ([`ServiceVersion::invocation`]
//! reads secrets at request time, so `mote secret set` needs no redeploy).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use mote_kv::Kv;
use mote_manifest::{Binding, Service};
use mote_outbound::{Outbound, Policy};
use mote_sandbox::{Body, BodyError, Chain, Grants, OutgoingHttp};

use crate::NodeConfig;
use crate::dataplane::DataPlane;
use crate::registry::Registry;

/// How deep a chain of service-binding calls may go (a client's request is
/// depth 0). Deeper calls fail with an error naming the limit: this is what
/// stops a service that calls itself.
pub const MAX_DEPTH: u32 = 16;
/// Connect + response head of an outbound request; also the longest pause
/// while its body streams.
pub const OUTBOUND_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest outbound response body.
pub const OUTBOUND_MAX_RESPONSE: u64 = 10 << 20;

/// The node-wide side of the bindings: KV storage, the outbound client, and
/// the way back into the data plane for service calls.
pub struct Capabilities {
    kv: Kv,
    outbound: Outbound,
    registry: OnceLock<Weak<Registry>>,
    config: NodeConfig,
}

impl Capabilities {
    /// Open the configured KV backend.
    pub fn new(config: &NodeConfig) -> anyhow::Result<Arc<Capabilities>> {
        let kv = match &config.kv {
            Some(url) => Kv::redis(url)?,
            None => Kv::embedded(&config.data_dir.join("kv.redb"))?,
        };
        tracing::info!(kv = %kv.describe(), "KV storage");
        Ok(Arc::new(Capabilities {
            kv,
            outbound: Outbound::new(),
            registry: OnceLock::new(),
            config: config.clone(),
        }))
    }

    /// Where service calls find their callee (set once the registry exists).
    pub fn attach(&self, registry: &Arc<Registry>) {
        let _ = self.registry.set(Arc::downgrade(registry));
    }

    /// The grants of `service` of app `app`.
    pub fn grants(self: &Arc<Self>, app: &str, service: &Service) -> Grants {
        let mut kv = std::collections::BTreeMap::new();
        let mut services = Vec::new();
        let mut callees = HashMap::new();
        for (name, binding) in &service.bindings {
            match binding {
                Binding::Kv(namespace) => {
                    kv.insert(name.clone(), self.kv.namespace(app, namespace));
                }
                Binding::Service(callee) => {
                    services.push(name.clone());
                    callees.insert(name.to_ascii_lowercase(), callee.clone());
                }
                Binding::Secret(_) => {}
            }
        }
        let calls = Calls {
            app: app.to_owned(),
            caller: format!("{app}/{}", service.name),
            callees,
            policy: Policy {
                service: format!("{app}/{}", service.name),
                allow: service.outbound.clone(),
                timeout: OUTBOUND_TIMEOUT,
                max_response_body: OUTBOUND_MAX_RESPONSE,
            },
            capabilities: self.clone(),
        };
        Grants {
            kv,
            services,
            http: Some(Arc::new(calls)),
            max_subrequests: service.limits.subrequests,
        }
    }
}

/// One service's outgoing requests.
struct Calls {
    app: String,
    caller: String,
    /// Binding name, lowercase (the host `<name>.internal`) -> callee service.
    callees: HashMap<String, String>,
    policy: Policy,
    capabilities: Arc<Capabilities>,
}

fn refusal(message: String) -> BodyError {
    BodyError::InternalError(Some(message))
}

impl Calls {
    /// The callee named by a `<binding>.internal` host.
    fn callee(&self, host: &str) -> Option<Result<&str, BodyError>> {
        let host = host.to_ascii_lowercase();
        let binding = host.strip_suffix(".internal")?;
        Some(self.callees.get(binding).map(String::as_str).ok_or_else(|| {
            refusal(format!(
                "{} has no service binding named {binding:?}: add `bindings.{} = {{ service = \"SERVICE\" }}` to mote.toml",
                self.caller,
                binding.to_ascii_uppercase()
            ))
        }))
    }

    async fn call(
        capabilities: Arc<Capabilities>,
        app: String,
        caller: String,
        callee: String,
        request: http::Request<Body>,
        chain: Chain,
    ) -> Result<http::Response<Body>, BodyError> {
        if chain.depth + 1 > MAX_DEPTH {
            return Err(refusal(format!(
                "{caller} -> {app}/{callee}: service binding calls nest deeper than {MAX_DEPTH} \
                 (does a service call itself?)"
            )));
        }
        let registry = capabilities
            .registry
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| refusal("the node is shutting down".to_owned()))?;
        let service = registry
            .live()
            .apps
            .get(&app)
            .and_then(|a| a.services.get(&callee))
            .cloned()
            .ok_or_else(|| refusal(format!("{caller} -> {app}/{callee}: not deployed")))?;
        let dataplane = DataPlane::new(registry, &capabilities.config);
        Ok(dataplane.handle(service, request, chain.call()).await)
    }
}

impl OutgoingHttp for Calls {
    fn send(
        &self,
        request: http::Request<Body>,
        chain: Chain,
    ) -> BoxFuture<'static, Result<http::Response<Body>, BodyError>> {
        let host = request.uri().host().unwrap_or_default();
        match self.callee(host) {
            Some(Ok(callee)) => Self::call(
                self.capabilities.clone(),
                self.app.clone(),
                self.caller.clone(),
                callee.to_owned(),
                request,
                chain,
            )
            .boxed(),
            Some(Err(e)) => futures::future::ready(Err(e)).boxed(),
            None => {
                let capabilities = self.capabilities.clone();
                let policy = self.policy.clone();
                async move {
                    let response = capabilities
                        .outbound
                        .send(&policy, request)
                        .await
                        .map_err(|e| refusal(e.to_string()))?;
                    Ok(
                        response
                            .map(|body| body.map_err(|e| refusal(e.to_string())).boxed_unsync()),
                    )
                }
                .boxed()
            }
        }
    }
}
