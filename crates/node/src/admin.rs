//! The admin API (`docs/openapi.json`): deploy, list, show, delete, versions,
//! rollback, invoke, secrets and health, as JSON over HTTP on its own
//! listener, behind a bearer token (except `/v1/health`).
//!
//! Secret values come in as request bodies and go to the secret store only:
//! no answer, error or log line carries one (nothing here logs bodies).

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use axum::{Json, Router};
use http_body_util::BodyExt;
use mote_api::{
    AppDetail, AppSummary, ErrorBody, Health, Limits, MAX_SECRET_BYTES, NodeLifecycle, SecretInfo,
    SecretValueError, ServiceDetail, Version,
};
use mote_sandbox::{AllocatorKind, BodyError};
use mote_store::StoreError;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::NodeConfig;
use crate::bundle::Bundle;
use crate::dataplane::{DataPlane, Scope};
use crate::lifecycle::State as CodeState;
use crate::registry::{AppVersion, DeployError, Registry};

/// What the admin handlers share.
#[derive(Clone)]
pub struct AdminState {
    registry: Arc<Registry>,
    dataplane: DataPlane,
    token: Arc<str>,
    max_upload: u64,
}

impl AdminState {
    /// State over a registry and data plane, guarded by `token`.
    pub fn new(
        registry: Arc<Registry>,
        dataplane: DataPlane,
        token: String,
        config: &NodeConfig,
    ) -> Self {
        AdminState {
            registry,
            dataplane,
            token: token.into(),
            max_upload: config.max_upload,
        }
    }
}

/// An error answer: a status and `{"error": "..."}`.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody { error: self.1 })).into_response()
    }
}

impl From<DeployError> for ApiError {
    fn from(e: DeployError) -> Self {
        let status = match &e {
            DeployError::Bundle(_)
            | DeployError::NameMismatch { .. }
            | DeployError::AboveNodeLimit(_) => StatusCode::BAD_REQUEST,
            DeployError::RouteConflict(_) => StatusCode::CONFLICT,
            DeployError::Load { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            DeployError::Store(StoreError::NoSuchApp(_)) => StatusCode::NOT_FOUND,
            DeployError::Store(StoreError::NoEarlierVersion(_)) => StatusCode::CONFLICT,
            DeployError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

/// The admin API's routes.
pub fn router(state: AdminState) -> Router {
    let guarded = Router::new()
        .route("/v1/apps", get(list))
        .route("/v1/apps/{app}", get(show).put(deploy).delete(delete))
        .route("/v1/apps/{app}/versions", get(versions))
        .route("/v1/apps/{app}/rollback", post(rollback))
        .route("/v1/apps/{app}/secrets", get(list_secrets))
        .route(
            "/v1/apps/{app}/secrets/{name}",
            put(set_secret).delete(remove_secret),
        )
        .route("/v1/apps/{app}/invoke", any(invoke))
        .route("/v1/apps/{app}/invoke/", any(invoke))
        .route("/v1/apps/{app}/invoke/{*path}", any(invoke))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .route("/v1/health", get(health))
        .merge(guarded)
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such admin endpoint".into()) })
        .with_state(state)
}

/// Serve the admin API until `shutdown` turns true.
pub async fn serve(listener: TcpListener, state: AdminState, mut shutdown: watch::Receiver<bool>) {
    let app = router(state);
    let stop = async move {
        let _ = shutdown.changed().await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::error!(error = %e, "admin API stopped");
    }
}

async fn authorize(State(state): State<AdminState>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(t) if crate::token::equal(t.trim(), &state.token) => next.run(req).await,
        _ => ApiError(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token (the node's token is in <data-dir>/admin-token)".into(),
        )
        .into_response(),
    }
}

async fn health(State(state): State<AdminState>) -> Json<Health> {
    let live = state.registry.live();
    let stats = state.registry.lifecycle().stats();
    let services = || live.apps.values().flat_map(|a| a.services.values());
    let count = |s: CodeState| services().filter(|v| v.code.state() == s).count() as u64;
    let promoted = count(CodeState::Promoted);
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        apps: live.apps.len() as u64,
        services: live.apps.values().map(|a| a.services.len() as u64).sum(),
        allocator: match state.registry.sandbox().allocator() {
            AllocatorKind::Pooling => "pooling",
            AllocatorKind::OnDemand => "on-demand",
        }
        .into(),
        lifecycle: NodeLifecycle {
            rss_bytes: rss_bytes(),
            code_bytes: stats.bytes,
            code_bytes_peak: stats.peak_bytes,
            budget_bytes: stats.budget,
            loaded: count(CodeState::Loaded) + promoted,
            promoted,
            loads: stats.loads,
            idle_evictions: stats.idle_evictions,
            budget_evictions: stats.budget_evictions,
            promotions: stats.promotions,
            demotions: stats.demotions,
            promotion_failures: stats.promotion_failures,
            idle_slot_bytes: stats.idle_slot_bytes,
            idle_slot_bytes_released: stats.idle_slot_bytes_released,
        },
    })
}

/// This process's resident memory (`VmRSS`), 0 where it cannot be read.
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0)
}

fn detail(app: &AppVersion) -> AppDetail {
    AppDetail {
        name: app.name().to_string(),
        version: app.version(),
        deployed_unix_ms: app.deployment.created_unix_ms,
        services: app
            .services
            .values()
            .map(|s| {
                let l = s.limits();
                ServiceDetail {
                    name: s.name.clone(),
                    source: s.spec.source.display().to_string(),
                    sha256: s.sha256.clone(),
                    routes: s.spec.routes.iter().map(|r| r.to_string()).collect(),
                    env: s.spec.env.keys().cloned().collect(),
                    limits: Limits {
                        memory_bytes: l.memory,
                        cpu_ms: l.cpu.as_millis() as u64,
                        timeout_ms: l.timeout.as_millis() as u64,
                        request_body_bytes: l.request_body,
                        response_body_bytes: l.response_body,
                        concurrency: l.concurrency,
                        queue: l.queue,
                        subrequests: l.subrequests,
                        log_bytes: l.log,
                    },
                    requests: s.requests(),
                    state: s.code.state().as_str().into(),
                    instances: s.code.in_flight(),
                    memory_bytes: s.code.bytes(),
                    last_used_unix_ms: s.code.last_used_unix_ms(),
                }
            })
            .collect(),
    }
}

async fn list(State(state): State<AdminState>) -> Json<Vec<AppSummary>> {
    let live = state.registry.live();
    Json(
        live.apps
            .values()
            .map(|a| {
                let states: Vec<CodeState> = a.services.values().map(|s| s.code.state()).collect();
                let count =
                    |f: fn(&CodeState) -> bool| states.iter().filter(|s| f(s)).count() as u32;
                AppSummary {
                    name: a.name().to_string(),
                    version: a.version(),
                    services: a.services.keys().cloned().collect(),
                    deployed_unix_ms: a.deployment.created_unix_ms,
                    loaded: count(|s| *s != CodeState::Unloaded),
                    promoted: count(|s| *s == CodeState::Promoted),
                    memory_bytes: a.services.values().map(|s| s.code.bytes()).sum(),
                    requests: a.services.values().map(|s| s.requests()).sum(),
                }
            })
            .collect(),
    )
}

fn no_such_app(app: &str) -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        StoreError::NoSuchApp(app.to_string()).to_string(),
    )
}

async fn show(
    State(state): State<AdminState>,
    Path(app): Path<String>,
) -> Result<Json<AppDetail>, ApiError> {
    let live = state.registry.live();
    let a = live.apps.get(&app).ok_or_else(|| no_such_app(&app))?;
    Ok(Json(detail(a)))
}

async fn deploy(
    State(state): State<AdminState>,
    Path(app): Path<String>,
    req: Request,
) -> Result<(StatusCode, Json<AppDetail>), ApiError> {
    let body = http_body_util::Limited::new(req.into_body(), state.max_upload as usize);
    let bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(ApiError(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the archive is larger than this node accepts ({} bytes)",
                    state.max_upload
                ),
            ));
        }
        Err(e) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("reading the upload: {e}"),
            ));
        }
    };
    let bundle = Bundle::from_tar(&bytes).map_err(DeployError::from)?;
    let version = state.registry.deploy(&app, bundle).await?;
    tracing::info!(app = %app, version = version.version(), "deployed");
    Ok((StatusCode::CREATED, Json(detail(&version))))
}

async fn delete(
    State(state): State<AdminState>,
    Path(app): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.registry.delete(&app).await?;
    tracing::info!(app = %app, "deleted");
    Ok(StatusCode::NO_CONTENT)
}

async fn versions(
    State(state): State<AdminState>,
    Path(app): Path<String>,
) -> Result<Json<Vec<Version>>, ApiError> {
    let (all, current) = state.registry.versions(&app)?;
    Ok(Json(
        all.into_iter()
            .map(|d| Version {
                version: d.version,
                deployed_unix_ms: d.created_unix_ms,
                current: d.version == current,
            })
            .collect(),
    ))
}

async fn rollback(
    State(state): State<AdminState>,
    Path(app): Path<String>,
) -> Result<Json<AppDetail>, ApiError> {
    let version = state.registry.rollback(&app).await?;
    tracing::info!(app = %app, version = version.version(), "rolled back");
    Ok(Json(detail(&version)))
}

fn bad_request(message: String) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message)
}

/// Checks the names in a secrets URL: the app's as in a manifest, the
/// secret's as `{ secret = "..." }` takes it.
fn check_secret_names(app: &str, name: Option<&str>) -> Result<(), ApiError> {
    mote_manifest::check_name(app).map_err(|e| bad_request(format!("invalid app name: {e}")))?;
    if let Some(name) = name {
        mote_manifest::check_secret_name(name)
            .map_err(|e| bad_request(format!("invalid secret name: {e}")))?;
    }
    Ok(())
}

fn secret_info(info: mote_store::SecretInfo) -> SecretInfo {
    SecretInfo {
        name: info.name,
        updated: info.updated,
    }
}

fn secret_store_error(e: StoreError) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// Runs a secret-store write (an fsync) off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| {
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("secret store: {e}"),
            )
        })?
        .map_err(secret_store_error)
}

async fn list_secrets(
    State(state): State<AdminState>,
    Path(app): Path<String>,
) -> Result<Json<Vec<SecretInfo>>, ApiError> {
    check_secret_names(&app, None)?;
    let secrets = state
        .registry
        .secrets()
        .list(&app)
        .map_err(secret_store_error)?;
    Ok(Json(secrets.into_iter().map(secret_info).collect()))
}

async fn set_secret(
    State(state): State<AdminState>,
    Path((app, name)): Path<(String, String)>,
    req: Request,
) -> Result<Json<SecretInfo>, ApiError> {
    check_secret_names(&app, Some(&name))?;
    // Past the limit, the rest of a body is read and dropped (up to
    // SECRET_DRAIN bytes) so that the client, still sending, sees the 400
    // rather than a connection closed under it.
    const SECRET_DRAIN: usize = 4 << 20;
    let mut body = req.into_body();
    let (mut bytes, mut seen) = (Vec::new(), 0usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| bad_request(format!("reading the secret's value: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen > MAX_SECRET_BYTES {
            if seen > SECRET_DRAIN {
                break;
            }
            continue;
        }
        bytes.extend_from_slice(&data);
    }
    if seen > MAX_SECRET_BYTES {
        return Err(bad_request(SecretValueError::TooLarge.to_string()));
    }
    let value = mote_api::check_secret_value(&bytes)
        .map_err(|e| bad_request(e.to_string()))?
        .to_owned();
    let secrets = state.registry.secrets().clone();
    let info = {
        let (app, name) = (app.clone(), name.clone());
        blocking(move || secrets.set(&app, &name, &value)).await?
    };
    tracing::info!(app = %app, secret = %name, "secret set");
    Ok(Json(secret_info(info)))
}

async fn remove_secret(
    State(state): State<AdminState>,
    Path((app, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    check_secret_names(&app, Some(&name))?;
    let secrets = state.registry.secrets().clone();
    let removed = {
        let (app, name) = (app.clone(), name.clone());
        blocking(move || secrets.remove(&app, &name)).await?
    };
    if !removed {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("app \"{app}\" has no secret named \"{name}\""),
        ));
    }
    tracing::info!(app = %app, secret = %name, "secret removed");
    Ok(StatusCode::NO_CONTENT)
}

async fn invoke(
    State(state): State<AdminState>,
    Path(params): Path<Vec<(String, String)>>,
    req: Request,
) -> Response {
    let app = params
        .iter()
        .find(|(k, _)| k == "app")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let prefix = format!("/v1/apps/{app}/invoke");
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path().strip_prefix(&prefix).unwrap_or("");
    let path = if path.is_empty() { "/" } else { path };
    let pq = match parts.uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    parts.uri = match pq.parse::<Uri>() {
        Ok(u) => u,
        Err(e) => {
            return ApiError(StatusCode::BAD_REQUEST, format!("invalid path: {e}")).into_response();
        }
    };
    parts.headers.remove(header::AUTHORIZATION);
    let body = body.map_err(|e| BodyError::InternalError(Some(e.to_string())));
    let req = http::Request::from_parts(parts, body);
    state
        .dataplane
        .dispatch(req, Scope::App(&app))
        .await
        .map(axum::body::Body::new)
}
