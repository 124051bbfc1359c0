//! `mediamatch serve`: the HTTP matching service.
//!
//! Two faces over one [`Matcher`]:
//! - `hma`: the routes of Meta's Hasher-Matcher-Actioner (HMA, "Open Media Match"),
//!   with its paths, parameters, JSON shapes, status strings and `{"message": ...}`
//!   errors, so that an HMA client only changes its base URL. Banks are the index's
//!   lists; [`signal`] maps HMA's names and content ids.
//! - `v1`: the native API, versioned under `/v1`, with typed errors (`code`), the full
//!   verdict of an upload and hash lookups in bulk. `/openapi.json` describes both.
//!
//! Operations: bearer tokens with scopes ([`auth`]); limits on bodies, pixels, decode
//! time, requests in flight and uploads waiting for a hashing thread (load is shed with
//! 503 and `Retry-After`); request timeouts; reloads on demand and by polling the index
//! path; Prometheus [`metrics`]; an [`audit`] trail whose records are chained by SHA-256.
//! Every answer carries the index version in `Mediamatch-Index-Version` and a request id
//! in `X-Request-Id`.
//!
//! The server owns no runtime: [`Server::serve`] runs on the caller's tokio runtime
//! (the CLI builds one), and uploads are hashed on tokio's blocking pool, at most
//! [`LimitsConfig::hash_workers`](config::LimitsConfig::hash_workers) at once, so slow
//! images never stall hash lookups. Media fetched by URL (`[url_fetch]`, off by default)
//! is fetched on that pool too, held in memory only, and checked like an upload. Logs (`tracing` events) name routes, statuses,
//! times, principals and request ids; never media, query strings or hashes.

pub mod audit;
pub mod auth;
pub mod config;
mod hma;
pub mod metrics;
mod reload;
mod remote;
pub mod signal;
mod v1;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwapOption;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::hash::{HashValue, Kind};
use crate::index::IndexError;
use crate::matcher::{Matcher, MatcherIndex};
use crate::timestamp::rfc3339;

use audit::AuditLog;
use auth::{Principal, Scope, Tokens};
use config::{AuditRecords, ServeConfig};
use metrics::{Metrics, Shed};

/// The header carrying the version of the index that answered.
pub const INDEX_VERSION_HEADER: &str = "mediamatch-index-version";
/// The header carrying the request id (the client's, when it sent a plausible one).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Why a server could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The tokens could not be loaded.
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    /// The audit trail could not be opened.
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
    /// No tokens are configured and the address is not a loopback one.
    #[error(
        "{0} is not a loopback address and no tokens are configured: anyone who can reach it could \
         query the lists; configure [auth] tokens_file (or MEDIAMATCH_TOKENS), or set \
         auth.allow_anonymous = true"
    )]
    Anonymous(std::net::SocketAddr),
}

/// The index in use, as the routes see it: one snapshot with its version.
pub(crate) struct View {
    pub index: Arc<MatcherIndex>,
    pub version: String,
    pub loaded_at: SystemTime,
    /// Live entries per kind, in [`Kind::ALL`] order.
    pub sizes: [u64; Kind::ALL.len()],
}

impl View {
    fn of(index: Arc<MatcherIndex>) -> View {
        let mut h = Sha256::new();
        for s in index.segments() {
            let bytes = s.as_bytes();
            let at = crate::index::format::CHECKSUM_OFFSET;
            h.update(&bytes[at..at + 32]);
        }
        h.update(index.tombstone_count().to_le_bytes());
        h.update(u64::from(index.len()).to_le_bytes());
        let version: String = h.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect();
        let sizes = Kind::ALL.map(|k| u64::from(index.kind_len(k)));
        View { index, version, loaded_at: SystemTime::now(), sizes }
    }

    /// The index's list number of `name`.
    pub fn list_number(&self, name: &str) -> Option<u32> {
        self.index.lists().iter().position(|l| l.name == name).map(|i| i as u32)
    }
}

/// State shared by every request.
pub(crate) struct Shared {
    pub config: ServeConfig,
    pub index_path: PathBuf,
    pub matcher: ArcSwapOption<Matcher>,
    pub view: ArcSwapOption<View>,
    pub tokens: Tokens,
    pub metrics: Metrics,
    pub audit: Option<AuditLog>,
    /// The fetcher of `?url=` media, when `[url_fetch] enabled`.
    pub fetcher: Option<remote::Fetcher>,
    /// Hashing threads: a job holds its permit until it ends, even when its request
    /// timed out and was answered, so no more than `hash_workers` jobs ever run.
    hashing: Arc<tokio::sync::Semaphore>,
    /// Lookups (index searches and their audit records) running on the blocking pool,
    /// at most `max_in_flight`: a job holds its permit until it ends, as hashing jobs do.
    lookups: Arc<tokio::sync::Semaphore>,
    /// Uploads admitted to a hashing route (reading, waiting or hashing): reserved before
    /// the body is read, so a full queue sheds a request without receiving its upload.
    uploads: tokio::sync::Semaphore,
    in_flight: tokio::sync::Semaphore,
    pub reload: reload::Reloader,
    request_seq: AtomicU64,
    request_prefix: String,
    /// The route templates, for `/site-map`.
    pub paths: Vec<&'static str>,
}

/// Why a request was refused before its handler answered: the status and message, in
/// the shape of the API the path belongs to.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub status: StatusCode,
    /// The native API's error code (`/v1` answers carry it).
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal { status, code, message: message.into(), retry_after: None }
    }

    /// The answer in HMA's shape: `{"message": ...}`.
    pub fn hma(self) -> Response {
        let body = serde_json::json!({ "message": self.message });
        self.with_body(body)
    }

    /// The answer in the native shape: `{"code": ..., "message": ...}`.
    pub fn native(self) -> Response {
        let body = serde_json::json!({ "code": self.code, "message": self.message });
        self.with_body(body)
    }

    fn for_path(self, path: &str) -> Response {
        if path.starts_with("/v1/") || path == "/metrics" {
            self.native()
        } else {
            self.hma()
        }
    }

    fn with_body(self, body: Value) -> Response {
        let mut r = json_response(self.status, &body);
        if let Some(s) = self.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

/// A JSON answer as Flask's `jsonify` writes it: compact, keys sorted, a final newline.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut bytes = serde_json::to_vec(body).expect("JSON values serialize");
    bytes.push(b'\n');
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response()
}

/// Whether a route's `POST` hashes an upload (and so needs an upload slot).
fn hashes_uploads(route: &str) -> bool {
    matches!(route, "/h/hash" | "/m/lookup" | "/v1/check")
}

/// The scope a route needs (`None`: open, like health checks).
fn scope_of(route: &str) -> Option<Scope> {
    match route {
        "/status" | "/status/live" | "/site-map" | "/openapi.json" => None,
        "/h/hash" => Some(Scope::Hash),
        "/v1/reload" | "/metrics" => Some(Scope::Admin),
        _ => Some(Scope::Match),
    }
}

/// A running service's handle: routes, state and reloads. Cheap to clone.
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

impl Server {
    /// Sets a server up: tokens, audit trail, and a first attempt to open the index at
    /// `index` (a server whose index cannot be opened yet starts anyway, answers 503
    /// `INDEX-NOT-LOADED` and keeps trying at each poll).
    pub fn new(
        config: ServeConfig,
        index: PathBuf,
        extra_tokens: Option<&str>,
    ) -> Result<Server, ServeError> {
        config.check()?;
        let mut tokens = Tokens::default();
        if let Some(path) = &config.auth.tokens_file {
            tokens.add_file(path)?;
        }
        if let Some(text) = extra_tokens {
            tokens.add_lines("MEDIAMATCH_TOKENS", text)?;
        }
        if tokens.is_empty() && !config.auth.allow_anonymous && !config.listen.ip().is_loopback() {
            return Err(ServeError::Anonymous(config.listen));
        }
        let audit = match &config.audit.file {
            Some(path) => Some(AuditLog::open(path, config.audit.fsync)?),
            None => None,
        };
        let workers = config.hash_workers();
        let shared = Shared {
            hashing: Arc::new(tokio::sync::Semaphore::new(workers)),
            lookups: Arc::new(tokio::sync::Semaphore::new(config.limits.max_in_flight)),
            uploads: tokio::sync::Semaphore::new(workers + config.limits.hash_queue),
            in_flight: tokio::sync::Semaphore::new(config.limits.max_in_flight),
            metrics: Metrics::new(&ROUTES.iter().map(|r| r.0).collect::<Vec<_>>()),
            matcher: ArcSwapOption::empty(),
            view: ArcSwapOption::empty(),
            reload: reload::Reloader::default(),
            request_seq: AtomicU64::new(0),
            request_prefix: request_prefix(),
            paths: ROUTES.iter().map(|r| r.0).chain(["/openapi.json"]).collect(),
            index_path: index,
            fetcher: config
                .url_fetch
                .enabled
                .then(|| remote::Fetcher::new(&config.url_fetch, config.limits.max_body_bytes)),
            tokens,
            audit,
            config,
        };
        let server = Server { shared: Arc::new(shared) };
        // The first load: failures are reported by `status` and retried by polling.
        let _ = server.shared.reload_now();
        Ok(server)
    }

    /// Whether an index is loaded.
    pub fn is_loaded(&self) -> bool {
        self.shared.view.load().is_some()
    }

    /// The last load error, if the index in use is not the newest or none is loaded.
    pub fn last_error(&self) -> Option<String> {
        self.shared.reload.last_error()
    }

    /// The number of tokens configured (0: every request is anonymous).
    pub fn token_count(&self) -> usize {
        self.shared.tokens.len()
    }

    /// Reopens the index now, on a blocking thread. On failure the old index stays in use
    /// and the failure is counted; the error says why.
    pub async fn reload(&self) -> Result<String, String> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.reload_now()).await.unwrap_or_else(|e| Err(e.to_string()))
    }

    /// Reopens the audit trail's file (on `SIGHUP`, after logrotate moved it away), on a
    /// blocking thread; without a trail it does nothing. A new file continues the chain of
    /// the old one ([`AuditLog::reopen`]); on failure the file in use stays, and the
    /// failure is logged and returned.
    pub async fn reopen_audit(&self) -> Result<(), String> {
        let shared = self.shared.clone();
        let outcome = tokio::task::spawn_blocking(move || match &shared.audit {
            None => Ok(()),
            Some(log) => match log.reopen() {
                Ok(fresh) => {
                    let (_, seq) = log.head();
                    tracing::info!(new_file = fresh, seq, "audit trail reopened");
                    Ok(())
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit trail not reopened");
                    Err(e.to_string())
                }
            },
        })
        .await;
        outcome.unwrap_or_else(|e| Err(e.to_string()))
    }

    /// Checks the index path every `reload.poll_seconds` (with jitter) and reloads when
    /// it names another file (a new manifest or index renamed into place). Never returns;
    /// run it beside [`Server::serve`].
    pub async fn poll(&self) {
        let every = self.shared.config.reload.poll_seconds;
        if every == 0 {
            return std::future::pending().await;
        }
        loop {
            let wait = reload::jittered(Duration::from_secs(every), self.shared.config.reload.jitter);
            tokio::time::sleep(wait).await;
            if self.shared.reload.changed_on_disk(&self.shared.index_path) || !self.is_loaded() {
                let _ = self.reload().await;
            }
            self.shared.update_gauges();
        }
    }

    /// The router with every route, limit and layer.
    pub fn router(&self) -> Router {
        let mut router = Router::new();
        for (path, make) in ROUTES {
            router = router.route(path, make());
        }
        router
            .route("/openapi.json", get(openapi))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(middleware::from_fn_with_state(self.shared.clone(), admit))
            .layer(DefaultBodyLimit::max(self.shared.config.limits.max_body_bytes as usize))
            .with_state(self.shared.clone())
    }

    /// Serves on `listener` until `shutdown` completes; requests in flight then finish.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router()).with_graceful_shutdown(shutdown).await
    }
}

impl Shared {
    /// Opens or reloads the index (blocking), then publishes its view.
    fn reload_now(&self) -> Result<String, String> {
        let _guard = self.reload.lock();
        let seen = reload::identity(&self.index_path);
        let result = match self.matcher.load_full() {
            Some(m) => m.reload().map(|()| m),
            None => Matcher::open(&self.index_path, self.config.matcher_config()).map(Arc::new),
        };
        let outcome = match result {
            Ok(matcher) => {
                let view = View::of(matcher.index());
                let version = view.version.clone();
                tracing::info!(version = %version, entries = view.index.len(), "index loaded");
                self.matcher.store(Some(matcher));
                self.view.store(Some(Arc::new(view)));
                self.reload.loaded(seen);
                self.metrics.reloaded(true);
                Ok(version)
            }
            Err(e) => {
                let message = e.to_string();
                tracing::warn!(error = %message, "index not loaded; the previous one stays in use");
                self.reload.failed(seen, message.clone());
                self.metrics.reloaded(false);
                Err(message)
            }
        };
        self.update_gauges();
        outcome
    }

    fn update_gauges(&self) {
        let view = self.view.load();
        let stale = self.reload.is_stale(Duration::from_secs(self.config.reload.stale_after_seconds));
        self.metrics.set_index(view.as_ref().map(|v| v.sizes), stale);
    }

    /// The view, or the 503 that says no index is loaded. The request's answer names this
    /// view's version in its header ([`answered_by`]).
    pub fn view(&self) -> Result<Arc<View>, Refusal> {
        let view = self.view.load_full().ok_or_else(|| {
            Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "index_not_loaded", "index not yet loaded").retry(5)
        })?;
        answered_by(&view);
        Ok(view)
    }

    /// The view of `index`: the published one when it is that snapshot, else one made for
    /// it (a reload swapped the matcher's index in and has not published its view yet).
    fn view_of(&self, index: Arc<MatcherIndex>) -> Arc<View> {
        match self.view.load_full() {
            Some(v) if Arc::ptr_eq(&v.index, &index) => v,
            _ => Arc::new(View::of(index)),
        }
    }

    /// Checks `bytes` with `matcher` (blocking), and returns the view of the very index
    /// snapshot the check used: the matcher takes its index itself, so the snapshot is
    /// read before and after the check, and the check runs again if a reload swapped it.
    pub fn check_bytes(
        &self,
        matcher: &Matcher,
        bytes: &[u8],
    ) -> (Arc<View>, Result<crate::matcher::Verdict, crate::matcher::CheckError>) {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let before = matcher.index();
            let result = matcher.check_bytes(bytes);
            let after = matcher.index();
            // `before` is held, so no other snapshot can have its address: equal pointers
            // mean no reload happened during the check.
            if Arc::ptr_eq(&before, &after) || attempt == 4 {
                if attempt == 4 && !Arc::ptr_eq(&before, &after) {
                    tracing::warn!(
                        "reloads overlapped an upload check 4 times; its index version may be the one before"
                    );
                }
                return (self.view_of(before), result);
            }
        }
    }

    /// The matcher, or the 503 that says no index is loaded.
    pub fn matcher(&self) -> Result<Arc<Matcher>, Refusal> {
        self.matcher.load_full().ok_or_else(|| {
            Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "index_not_loaded", "index not yet loaded").retry(5)
        })
    }

    /// Runs `job` on a hashing thread when one is free (the request holds an upload slot,
    /// taken by [`admit`]). The job holds the hashing permit itself: a request that times
    /// out is answered, but its slot frees only when the job ends.
    pub async fn hash_job<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Refusal> {
        let started = Instant::now();
        let out = blocking_job(&self.hashing, job, "hashing the upload failed").await?;
        self.metrics.hashed(started.elapsed());
        Ok(out)
    }

    /// Runs a lookup `job` (index searches, whose cost grows with the radius, and the
    /// audit record, which may be synced) on the blocking pool, never on an async worker,
    /// when one of the `max_in_flight` lookup slots is free. The job holds its slot until
    /// it ends, even when its request timed out and was answered.
    pub async fn lookup_job<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, Refusal> + Send + 'static,
    ) -> Result<T, Refusal> {
        blocking_job(&self.lookups, job, "the lookup failed").await?
    }

    /// Looks `value` up within `radius` in the view's index, optionally only in `banks`:
    /// per bank, each item's content id with its smallest distance, sorted by distance.
    pub fn lookup(
        &self,
        view: &View,
        value: &HashValue,
        radius: u32,
        banks: Option<&[u32]>,
    ) -> Result<BTreeMap<String, Vec<(u64, u32)>>, Refusal> {
        let started = Instant::now();
        let hits = view.index.search(value, radius).map_err(index_refusal)?;
        self.metrics.looked_up(value.kind(), started.elapsed());
        let mut out: BTreeMap<String, BTreeMap<u64, u32>> = BTreeMap::new();
        for hit in hits {
            let entry = view.index.entry(hit.entry).map_err(index_refusal)?;
            let id = signal::bank_content_id(entry.id, &entry.value);
            for &l in &entry.lists {
                if banks.is_some_and(|b| !b.contains(&l)) {
                    continue;
                }
                let Some(info) = view.index.lists().get(l as usize) else { continue };
                let d = out.entry(info.name.clone()).or_default().entry(id).or_insert(hit.distance);
                *d = (*d).min(hit.distance);
            }
        }
        Ok(out
            .into_iter()
            .map(|(bank, items)| {
                let mut v: Vec<(u64, u32)> = items.into_iter().collect();
                v.sort_by_key(|&(id, d)| (d, id));
                self.metrics.matched(&bank, value.kind(), v.len() as u64);
                (bank, v)
            })
            .collect())
    }

    /// Appends an audit record of a check (when the trail is on, and the record policy
    /// wants this one). A failed write is logged and counted; the answer still goes out.
    /// It blocks (the record may be synced): call it on the blocking pool, in a
    /// [`Shared::hash_job`] or [`Shared::lookup_job`], never on an async worker.
    pub fn audit_check(&self, matched: bool, record: impl FnOnce() -> Map<String, Value>) {
        let Some(log) = &self.audit else { return };
        if !matched && self.config.audit.records == AuditRecords::Matches {
            return;
        }
        let mut r = record();
        r.insert("time".into(), Value::from(rfc3339(SystemTime::now())));
        if let Err(e) = log.append(r) {
            self.metrics.audit_failed();
            tracing::error!(error = %e, "audit record not written");
        }
    }

    /// A request id: the client's `X-Request-Id` when it is short and plain, else a new one.
    fn request_id(&self, given: Option<&HeaderValue>) -> String {
        if let Some(v) = given.and_then(|v| v.to_str().ok()) {
            if (1..=64).contains(&v.len())
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
            {
                return v.to_string();
            }
        }
        format!("{}-{}", self.request_prefix, self.request_seq.fetch_add(1, Relaxed))
    }
}

/// Runs `job` on the blocking pool once `slots` has a permit; the permit moves into the
/// job and is released when the job ends (not when the request waiting for it is dropped).
async fn blocking_job<T: Send + 'static>(
    slots: &Arc<tokio::sync::Semaphore>,
    job: impl FnOnce() -> T + Send + 'static,
    failed: &'static str,
) -> Result<T, Refusal> {
    let internal = || Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", failed);
    // The semaphores are never closed; a closed one would only refuse the request.
    let permit = slots.clone().acquire_owned().await.map_err(|_| internal())?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        job()
    })
    .await
    .map_err(|_| internal())
}

impl Refusal {
    fn retry(mut self, seconds: u64) -> Refusal {
        self.retry_after = Some(seconds);
        self
    }
}

/// An index that failed mid-query (a damaged segment): 503, and the operator's log says why.
pub(crate) fn index_refusal(e: IndexError) -> Refusal {
    tracing::error!(error = %e, "index read failed");
    Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "index_unavailable", format!("index unavailable: {e}"))
}

/// A prefix for request ids that differs between processes.
fn request_prefix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.write_u32(std::process::id());
    format!("{:08x}", h.finish() as u32)
}

type MakeRoute = fn() -> axum::routing::MethodRouter<Arc<Shared>>;

/// Every route but `/openapi.json`, in the order `/site-map` lists them.
pub(crate) const ROUTES: &[(&str, MakeRoute)] = &[
    ("/c/bank/{bank_name}", || get(hma::bank).put(hma::read_only).delete(hma::read_only)),
    ("/c/bank/{bank_name}/content", || axum::routing::post(hma::read_only)),
    ("/c/bank/{bank_name}/content/{content_id}", || get(hma::bank_content).delete(hma::read_only)),
    ("/c/bank/{bank_name}/signal", || axum::routing::post(hma::read_only)),
    ("/c/banks", || get(hma::banks).post(hma::read_only)),
    ("/c/signal_type", || get(hma::signal_types)),
    ("/c/signal_type/index", || get(hma::signal_type_index)),
    ("/h/hash", || get(hma::hash_url).post(hma::hash_post)),
    ("/m/compare", || axum::routing::post(hma::compare)),
    ("/m/index/status", || get(hma::index_status)),
    ("/m/lookup", || get(hma::lookup_get).post(hma::lookup_post)),
    ("/m/raw_lookup", || get(hma::raw_lookup)),
    ("/metrics", || get(metrics_route)),
    ("/site-map", || get(hma::site_map)),
    ("/status", || get(hma::status)),
    ("/status/live", || get(hma::status_live)),
    ("/v1/check", || axum::routing::post(v1::check)),
    ("/v1/info", || get(v1::info)),
    ("/v1/lookup", || axum::routing::post(v1::lookup)),
    ("/v1/reload", || axum::routing::post(v1::reload)),
];

/// The OpenAPI document of every route.
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn metrics_route(State(shared): State<Arc<Shared>>) -> Response {
    shared.update_gauges();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], shared.metrics.render()).into_response()
}

async fn not_found(request: Request) -> Response {
    let path = request.uri().path().to_string();
    Refusal::new(StatusCode::NOT_FOUND, "not_found", "no such route (GET /site-map lists them)")
        .for_path(&path)
}

async fn method_not_allowed(request: Request) -> Response {
    let path = request.uri().path().to_string();
    Refusal::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
        .for_path(&path)
}

/// The one middleware: request id, load shedding, authentication, the time limit, the
/// index version header, metrics and the access log.
async fn admit(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let path = request.uri().path().to_string();
    let request_id = shared.request_id(request.headers().get(REQUEST_ID_HEADER));
    let mut principal_name = String::from("-");
    let used: UsedView = Arc::default();
    let response = 'answer: {
        // Health checks never wait for a slot: a probe shed under load would have the
        // orchestrator restart a server that is only busy.
        let health = matches!(route.as_deref(), Some("/status" | "/status/live"));
        let _slot = match shared.in_flight.try_acquire() {
            Ok(slot) => Some(slot),
            Err(_) if health => None,
            Err(_) => {
                shared.metrics.shed(Shed::InFlight);
                break 'answer Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "too many requests in flight; retry later",
                )
                .retry(1)
                .for_path(&path);
            }
        };
        shared.metrics.in_flight().fetch_add(1, Relaxed);
        let _gauge = Gauge(shared.metrics.in_flight());
        let mut _upload = None;
        // `[metrics] open`: a scraper on a private network reads /metrics without a token.
        let open_metrics = shared.config.metrics.open && route.as_deref() == Some("/metrics");
        if let Some(scope) = route.as_deref().and_then(scope_of).filter(|_| !open_metrics) {
            let auth = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            let Some(principal) = shared.tokens.principal(auth) else {
                let mut r = Refusal::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "a valid bearer token is required (Authorization: Bearer TOKEN)",
                )
                .for_path(&path);
                r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                break 'answer r;
            };
            principal_name = principal.name.clone();
            if !principal.has(scope) {
                break 'answer Refusal::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    format!(
                        "the token `{}` lacks the `{}` scope this route needs",
                        principal.name,
                        scope.name()
                    ),
                )
                .for_path(&path);
            }
            request.extensions_mut().insert(principal);
        } else {
            request.extensions_mut().insert(Principal::open());
        }
        if request.method() == axum::http::Method::POST && route.as_deref().is_some_and(hashes_uploads) {
            let Ok(slot) = shared.uploads.try_acquire() else {
                shared.metrics.shed(Shed::HashQueue);
                break 'answer Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "too many uploads are waiting to be hashed; retry later",
                )
                .retry(1)
                .for_path(&path);
            };
            _upload = Some(slot);
        }
        request.extensions_mut().insert(RequestId(request_id.clone()));
        let limit = Duration::from_millis(shared.config.limits.request_timeout_ms);
        match tokio::time::timeout(limit, USED_VIEW.scope(used.clone(), next.run(request))).await {
            Ok(r) => r,
            Err(_) => {
                shared.metrics.shed(Shed::Timeout);
                Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "timeout",
                    "the request ran over its time limit",
                )
                .retry(1)
                .for_path(&path)
            }
        }
    };
    let mut response = response;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    // The version of the snapshot the handler used; for answers that used none (errors
    // before a lookup, health checks, reloads), the one in use now.
    let used = used.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(view) = used.or_else(|| shared.view.load_full()) {
        if let Ok(v) = HeaderValue::from_str(&view.version) {
            headers.insert(HeaderName::from_static(INDEX_VERSION_HEADER), v);
        }
    }
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    shared.metrics.request(route.as_deref(), status, elapsed);
    tracing::info!(
        target: "mediamatch::access",
        request_id = %request_id,
        route = route.as_deref().unwrap_or("unmatched"),
        status,
        micros = elapsed.as_micros() as u64,
        principal = %principal_name,
    );
    response
}

struct Gauge<'a>(&'a AtomicU64);

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// The view a request's handler answered from (set by [`answered_by`]).
type UsedView = Arc<std::sync::Mutex<Option<Arc<View>>>>;

tokio::task_local! {
    /// The slot of the request being handled, so that its version header names the
    /// snapshot its handler used, not one a reload published since.
    static USED_VIEW: UsedView;
}

/// Records that the request being handled (on this task) is answered from `view`; the
/// last call wins. Outside a request (no slot on this task) it does nothing.
pub(crate) fn answered_by(view: &Arc<View>) {
    let _ = USED_VIEW.try_with(|slot| *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(view.clone()));
}

/// The request id, for handlers and audit records.
#[derive(Clone, Debug)]
pub(crate) struct RequestId(pub String);

impl Principal {
    /// The principal of open routes.
    fn open() -> Principal {
        Tokens::default().principal(None).expect("no tokens: anonymous")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job whose request gave up (as at the request timeout) keeps its slot until it
    /// ends: the next job waits for it, so no more jobs run than there are slots.
    #[test]
    fn a_timed_out_job_holds_its_slot_until_it_ends() {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let mut config = ServeConfig::default();
        config.limits.hash_workers = 1;
        config.limits.max_in_flight = 1;
        let dir = tempfile::tempdir().unwrap();
        let server = Server::new(config, dir.path().join("missing.mmi"), None).unwrap();
        let shared = server.shared.clone();
        let gave_up = Duration::from_millis(50);
        rt.block_on(async {
            let (release_hash, hash_wait) = std::sync::mpsc::channel::<()>();
            let (release_lookup, lookup_wait) = std::sync::mpsc::channel::<()>();
            let hashing = shared.hash_job(move || hash_wait.recv().is_ok());
            assert!(tokio::time::timeout(gave_up, hashing).await.is_err());
            let lookup = shared.lookup_job(move || Ok(lookup_wait.recv().is_ok()));
            assert!(tokio::time::timeout(gave_up, lookup).await.is_err());
            assert_eq!(shared.hashing.available_permits(), 0, "the running hash job holds its slot");
            assert_eq!(shared.lookups.available_permits(), 0, "the running lookup holds its slot");
            // The next jobs wait for the slots while the abandoned jobs run.
            assert!(tokio::time::timeout(gave_up, shared.hash_job(|| 1)).await.is_err());
            assert!(tokio::time::timeout(gave_up, shared.lookup_job(|| Ok(1))).await.is_err());
            release_hash.send(()).unwrap();
            release_lookup.send(()).unwrap();
            assert_eq!(shared.hash_job(|| 2).await.unwrap(), 2);
            assert_eq!(shared.lookup_job(|| Ok(3)).await.unwrap(), 3);
            assert_eq!(shared.hashing.available_permits(), 1);
            assert_eq!(shared.lookups.available_permits(), 1);
        });
    }
}
