//! The routes of Meta's HMA (Hasher-Matcher-Actioner), answered from a mediamatch index.
//!
//! Same paths, parameters, JSON shapes (keys sorted, as Flask writes them), status strings
//! and `{"message": ...}` errors as HMA 1.1 (`docs/serve.md` has the table, and the tests
//! compare with answers recorded from HMA). Where mediamatch differs, by design:
//! - banks are the index's lists, managed by `mediamatch import`/`fetch`: the mutating
//!   `/c/...` routes answer 501 with a message;
//! - every bank has `matching_enabled_ratio` 1.0, so HMA's coin flip (`seed`,
//!   `bypass_coinflip`) never drops a match; the parameters are accepted;
//! - `GET /m/lookup` and `/m/raw_lookup` report every entry within the signal type's
//!   threshold, as HMA does (no E-value test: `/v1/lookup` gives E-values); an upload to
//!   `POST /m/lookup` is checked by the matcher (dihedral variants, border trimming,
//!   corroboration, E-values), its matches grouped per signal type as HMA groups them;
//! - fetching media by URL (`GET /h/hash?url=`, `GET /m/lookup?url=`) is off unless
//!   `[url_fetch]` enables it, and then only from allowed hosts, over https, within a size
//!   cap and a time limit (`remote`); fetched media is answered as an upload of the same
//!   bytes would be.

// Handlers answer errors as ready responses: the size of `Response` is the point.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::{json, Map, Value};

use super::{json_response, signal, Refusal, RequestId, Shared, View};
use crate::hash::{HashValue, Kind, KindSet};
use crate::hashing::{hash_bytes, HashOptions};
use crate::matcher::CheckError;
use crate::serve::auth::Principal;

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

fn params(p: Params) -> Result<HashMap<String, String>, Response> {
    p.map(|Query(q)| q).map_err(|e| {
        Refusal::new(StatusCode::BAD_REQUEST, "bad_query", format!("bad query string: {e}")).hma()
    })
}

fn bad(message: impl Into<String>) -> Response {
    Refusal::new(StatusCode::BAD_REQUEST, "bad_request", message).hma()
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

/// `GET /status`: `I-AM-ALIVE`, or 503 `INDEX-NOT-LOADED` / `INDEX-STALE`.
pub(crate) async fn status(State(shared): State<Arc<Shared>>) -> Response {
    if shared.view.load().is_none() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "INDEX-NOT-LOADED");
    }
    if shared.reload.is_stale(std::time::Duration::from_secs(shared.config.reload.stale_after_seconds)) {
        return text(StatusCode::SERVICE_UNAVAILABLE, "INDEX-STALE");
    }
    text(StatusCode::OK, "I-AM-ALIVE")
}

/// `GET /status/live`: the process answers (liveness, whatever the index).
pub(crate) async fn status_live() -> Response {
    text(StatusCode::OK, "I-AM-ALIVE")
}

/// `GET /site-map`: every route, sorted, with `<name>` placeholders as Flask writes them.
pub(crate) async fn site_map(State(shared): State<Arc<Shared>>) -> Response {
    let mut routes: Vec<String> =
        shared.paths.iter().map(|r| r.replace('{', "<").replace('}', ">")).collect();
    routes.sort();
    json_response(StatusCode::OK, &json!(routes))
}

fn bank_json(name: &str) -> Value {
    json!({ "matching_enabled_ratio": 1.0, "name": name })
}

/// `GET /c/banks`: every list, as an HMA bank.
pub(crate) async fn banks(State(shared): State<Arc<Shared>>) -> Response {
    let view = tri!(shared.view().map_err(Refusal::hma));
    let mut names: Vec<&str> = view.index.lists().iter().map(|l| l.name.as_str()).collect();
    names.sort_unstable();
    json_response(StatusCode::OK, &Value::Array(names.into_iter().map(bank_json).collect()))
}

/// `GET /c/bank/<bank_name>`.
pub(crate) async fn bank(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let view = tri!(shared.view().map_err(Refusal::hma));
    match view.list_number(&name) {
        Some(_) => json_response(StatusCode::OK, &bank_json(&name)),
        None => Refusal::new(StatusCode::NOT_FOUND, "unknown_bank", format!("bank '{name}' not found")).hma(),
    }
}

/// `GET /c/bank/<bank_name>/content/<id>[?include_signals=true]`: one item of a list, as
/// an HMA bank content (always enabled: `disable_until_ts` 1). An id below 2^52 is the
/// list's own id, found through the index's items; a hashed id takes a walk of every entry.
pub(crate) async fn bank_content(
    State(shared): State<Arc<Shared>>,
    Path((name, id)): Path<(String, String)>,
    q: Params,
) -> Response {
    let q = tri!(params(q));
    let view = tri!(shared.view().map_err(Refusal::hma));
    let Some(list) = view.list_number(&name) else {
        return Refusal::new(StatusCode::NOT_FOUND, "unknown_bank", format!("bank '{name}' not found")).hma();
    };
    let Ok(content_id) = id.parse::<u64>() else {
        return bad(format!("invalid content id '{id}'"));
    };
    let index = &view.index;
    let entries: Vec<u32> = if content_id < signal::HASHED_ID_BASE {
        tri!(index.with_id(&content_id.to_string()).map_err(|e| super::index_refusal(e).hma()))
    } else {
        let mut found = Vec::new();
        for item in index.live_entries() {
            let (n, e) = tri!(item.map_err(|e| super::index_refusal(e).hma()));
            if signal::bank_content_id(e.id, &e.value) == content_id {
                found.push(n);
            }
        }
        found
    };
    let mut signals = Map::new();
    for n in entries {
        let e = tri!(index.entry(n).map_err(|e| super::index_refusal(e).hma()));
        if e.lists.contains(&list) && signal::bank_content_id(e.id, &e.value) == content_id {
            signals.entry(e.value.kind().name()).or_insert_with(|| json!(e.value.hex()));
        }
    }
    if signals.is_empty() {
        return Refusal::new(
            StatusCode::NOT_FOUND,
            "unknown_content",
            format!("content {content_id} not found in bank '{name}'"),
        )
        .hma();
    }
    let mut body = json!({ "bank": bank_json(&name), "disable_until_ts": 1, "id": content_id, "original_media_uri": null });
    if q.get("include_signals")
        .is_some_and(|v| ["true", "1", "yes", "t"].contains(&v.to_ascii_lowercase().as_str()))
    {
        body["signals"] = Value::Object(signals);
    }
    json_response(StatusCode::OK, &body)
}

/// The mutating curation routes: lists are changed by `mediamatch import` and `fetch`.
pub(crate) async fn read_only() -> Response {
    Refusal::new(
        StatusCode::NOT_IMPLEMENTED,
        "read_only",
        "banks are the index's lists and are changed by `mediamatch import` or `mediamatch fetch`, not through this API",
    )
    .hma()
}

/// `GET /c/signal_type`: every signal type the service knows, all enabled.
pub(crate) async fn signal_types() -> Response {
    let all: Vec<Value> =
        signal::SIGNAL_TYPES.iter().map(|n| json!({ "enabled_ratio": 1.0, "name": n })).collect();
    json_response(StatusCode::OK, &Value::Array(all))
}

/// The signal types selected by `signal_type=` (all when absent), or HMA's 400.
fn selected_types(q: &HashMap<String, String>) -> Result<Vec<&'static str>, Response> {
    match q.get("signal_type") {
        None => Ok(signal::SIGNAL_TYPES.to_vec()),
        Some(name) => match signal::SIGNAL_TYPES.iter().find(|n| *n == name) {
            Some(n) => Ok(vec![n]),
            None => Err(bad(format!("No such signal type '{name}'"))),
        },
    }
}

/// When the newest list of the index was imported (seconds), or -1 for an empty kind.
fn built_to(view: &View, size: u64) -> i64 {
    if size == 0 {
        return -1;
    }
    view.index.lists().iter().map(|l| l.imported_at as i64).max().unwrap_or(-1)
}

fn size_of(view: &View, kind: Kind) -> u64 {
    view.sizes[Kind::ALL.iter().position(|&k| k == kind).expect("every kind is in ALL")]
}

/// An answer per selected signal type (`?signal_type=`, else every one): `status(view,
/// entries of that type)`.
fn per_signal_type(shared: &Shared, q: Params, status: impl Fn(&View, u64) -> Value) -> Response {
    let q = tri!(params(q));
    let types = tri!(selected_types(&q));
    let view = tri!(shared.view().map_err(Refusal::hma));
    let mut out = Map::new();
    for name in types {
        let size = size_of(&view, signal::kind_of(name).expect("a known signal type"));
        out.insert(name.into(), status(&view, size));
    }
    json_response(StatusCode::OK, &Value::Object(out))
}

/// `GET /c/signal_type/index`: per signal type, the entries indexed (the index is the
/// store, so it is never out of date).
pub(crate) async fn signal_type_index(State(shared): State<Arc<Shared>>, q: Params) -> Response {
    per_signal_type(&shared, q, |view, size| {
        let t = built_to(view, size);
        json!({ "db_size": size, "index_size": size, "index_out_of_date": false, "newest_db_item": t, "index_built_to": t })
    })
}

/// `GET /m/index/status`: per signal type, `present`, `size` and `built_to`.
pub(crate) async fn index_status(State(shared): State<Arc<Shared>>, q: Params) -> Response {
    per_signal_type(
        &shared,
        q,
        |view, size| json!({ "built_to": built_to(view, size), "present": true, "size": size }),
    )
}

/// A signal type and value from the query, with HMA's errors.
fn signal_param(q: &HashMap<String, String>) -> Result<(Kind, HashValue), Response> {
    let name = &q["signal_type"];
    let Some(kind) = signal::kind_of(name) else {
        return Err(bad(format!("No such SignalType '{name}'")));
    };
    match signal::parse_signal(kind, &q["signal"]) {
        Some(v) => Ok((kind, v)),
        None => Err(bad(format!("invalid signal: {}", signal::invalid_text(kind)))),
    }
}

/// The radius HMA uses for a kind: the configured threshold (PDQ 31), exact for digests.
fn radius(shared: &Shared, kind: Kind) -> u32 {
    match kind {
        Kind::Pdq => shared.config.matching.pdq,
        Kind::Phash => shared.config.matching.phash,
        _ => 0,
    }
}

/// The names of `banks=` (comma-separated, blanks around names ignored), when given.
fn bank_names(q: &HashMap<String, String>) -> Option<Vec<String>> {
    q.get("banks").map(|b| b.split(',').map(|n| n.trim().to_string()).collect())
}

/// The list numbers of `banks=`; unknown names select nothing (HMA answers `{}` for them).
fn bank_filter(view: &View, q: &HashMap<String, String>) -> Option<Vec<u32>> {
    bank_names(q).map(|names| names.iter().filter_map(|n| view.list_number(n)).collect())
}

fn matches_json(found: &BTreeMap<String, Vec<(u64, u32)>>, kind: Kind) -> Value {
    let mut out = Map::new();
    for (bank, items) in found {
        let list: Vec<Value> = items
            .iter()
            .map(|&(id, d)| json!({ "bank_content_id": id, "distance": signal::distance_text(kind, d) }))
            .collect();
        out.insert(bank.clone(), Value::Array(list));
    }
    Value::Object(out)
}

fn audit_lookup(
    shared: &Shared,
    view: &View,
    principal: &Principal,
    request_id: &str,
    endpoint: &str,
    value: &HashValue,
    found: &BTreeMap<String, Vec<(u64, u32)>>,
) {
    let matched = found.values().any(|v| !v.is_empty());
    shared.audit_check(matched, || {
        let mut r = Map::new();
        r.insert("type".into(), json!("lookup"));
        r.insert("endpoint".into(), json!(endpoint));
        r.insert("request_id".into(), json!(request_id));
        r.insert("principal".into(), json!(principal.name));
        r.insert("query".into(), json!(value.to_string()));
        r.insert("index_version".into(), json!(view.version));
        r.insert("threshold".into(), json!(radius(shared, value.kind())));
        r.insert("matches".into(), matches_json(found, value.kind()));
        r
    });
}

/// `GET /m/lookup?signal_type=&signal=[&banks=][&seed=]`: `{bank: [{bank_content_id, distance}]}`.
pub(crate) async fn lookup_get(
    State(shared): State<Arc<Shared>>,
    Extension(principal): Extension<Principal>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    q: Params,
) -> Response {
    let q = tri!(params(q));
    if q.contains_key("url") {
        let _slot = tri!(upload_slot(&shared));
        let (upload, host) = tri!(fetch_media(&shared, &q, "/m/lookup").await);
        return lookup_upload(&shared, principal, request_id, &q, upload, Some(host)).await;
    }
    if !q.contains_key("signal") || !q.contains_key("signal_type") {
        return bad("Either url or both signal and signal_type are required");
    }
    let (kind, value) = tri!(signal_param(&q));
    let view = tri!(shared.view().map_err(Refusal::hma));
    let banks = bank_filter(&view, &q);
    let s = shared.clone();
    let found = shared.lookup_job(move || {
        let found = s.lookup(&view, &value, radius(&s, kind), banks.as_deref())?;
        audit_lookup(&s, &view, &principal, &request_id, "/m/lookup", &value, &found);
        Ok(found)
    });
    let found = tri!(found.await.map_err(Refusal::hma));
    json_response(StatusCode::OK, &matches_json(&found, kind))
}

/// `GET /m/raw_lookup?signal_type=&signal=[&include_distance=true]`: `{"matches": [...]}`.
pub(crate) async fn raw_lookup(
    State(shared): State<Arc<Shared>>,
    Extension(principal): Extension<Principal>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    q: Params,
) -> Response {
    let q = tri!(params(q));
    // HMA 1.1 validates these two with pydantic: a 422 listing each missing field.
    // Pydantic's key order, not sorted: a struct keeps it.
    #[derive(serde::Serialize)]
    struct Missing<'a> {
        r#type: &'static str,
        loc: [&'static str; 1],
        msg: &'static str,
        input: &'a HashMap<String, String>,
        url: &'static str,
    }
    let missing: Vec<Missing> = ["signal", "signal_type"]
        .into_iter()
        .filter(|f| !q.contains_key(*f))
        .map(|f| Missing {
            r#type: "missing",
            loc: [f],
            msg: "Field required",
            input: &q,
            url: "https://errors.pydantic.dev/2.14/v/missing",
        })
        .collect();
    if !missing.is_empty() {
        let body = serde_json::to_vec(&missing).expect("JSON serializes");
        return (StatusCode::UNPROCESSABLE_ENTITY, [(header::CONTENT_TYPE, "application/json")], body)
            .into_response();
    }
    let with_distance = match q.get("include_distance").map(|s| s.to_ascii_lowercase()) {
        None => false,
        Some(s) if ["true", "1", "yes", "t"].contains(&s.as_str()) => true,
        Some(s) if ["false", "0", "no", "f", ""].contains(&s.as_str()) => false,
        Some(s) => return bad(format!("invalid include_distance: '{s}' (expected true or false)")),
    };
    let (kind, value) = tri!(signal_param(&q));
    let view = tri!(shared.view().map_err(Refusal::hma));
    let s = shared.clone();
    let found = shared.lookup_job(move || {
        let found = s.lookup(&view, &value, radius(&s, kind), None)?;
        audit_lookup(&s, &view, &principal, &request_id, "/m/raw_lookup", &value, &found);
        Ok(found)
    });
    let found = tri!(found.await.map_err(Refusal::hma));
    // One answer per item, whichever banks hold it.
    let mut items: BTreeMap<u64, u32> = BTreeMap::new();
    for &(id, d) in found.values().flatten() {
        let e = items.entry(id).or_insert(d);
        *e = (*e).min(d);
    }
    let mut items: Vec<(u64, u32)> = items.into_iter().collect();
    items.sort_by_key(|&(id, d)| (d, id));
    let matches: Vec<Value> = if with_distance {
        items
            .iter()
            .map(|&(id, d)| json!({ "bank_content_id": id, "distance": signal::distance_text(kind, d) }))
            .collect()
    } else {
        items.iter().map(|&(id, _)| json!(id)).collect()
    };
    json_response(StatusCode::OK, &json!({ "matches": matches }))
}

/// `POST /m/compare`: `{signal_type: [left, right]}` in, `{signal_type: [matched, {"distance": d}]}` out.
pub(crate) async fn compare(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let Ok(Value::Object(pairs)) = serde_json::from_slice::<Value>(&body) else {
        return bad("expected a JSON object of signal type to a pair of signals");
    };
    let mut out = Map::new();
    for (name, pair) in &pairs {
        let Some(kind) = signal::kind_of(name) else {
            return bad(format!("No such SignalType '{name}'"));
        };
        let [Value::String(a), Value::String(b)] = pair.as_array().map(Vec::as_slice).unwrap_or_default()
        else {
            return bad(format!("Invalid {name} hash: expected a list of two signals"));
        };
        let (Some(a), Some(b)) = (signal::parse_signal(kind, a), signal::parse_signal(kind, b)) else {
            return bad(format!("Invalid {name} hash: {}", signal::invalid_text(kind)));
        };
        let answer = match (a, b) {
            (HashValue::Pdq(x), HashValue::Pdq(y)) => {
                let d = x.distance(&y);
                json!([d <= radius(&shared, kind), { "distance": d }])
            }
            (HashValue::Phash(x), HashValue::Phash(y)) => {
                let d = x.distance(&y);
                json!([d <= radius(&shared, kind), { "distance": d }])
            }
            (x, y) => json!([x == y, {}]),
        };
        out.insert(name.clone(), answer);
    }
    json_response(StatusCode::OK, &Value::Object(out))
}

/// `GET /h/hash?url=[&content_type=][&types=]`: the media at `url` fetched (when
/// `[url_fetch]` enables it) and hashed as `POST /h/hash` hashes an upload.
pub(crate) async fn hash_url(State(shared): State<Arc<Shared>>, q: Params) -> Response {
    let q = tri!(params(q));
    let _slot = tri!(upload_slot(&shared));
    let (upload, _host) = tri!(fetch_media(&shared, &q, "/h/hash").await);
    hash_upload(&shared, &q, upload).await
}

/// An upload slot for a `GET ...?url=` (a `POST` takes one on admission), or the 503 of a
/// full queue.
fn upload_slot(shared: &Shared) -> Result<tokio::sync::SemaphorePermit<'_>, Response> {
    shared.uploads.try_acquire().map_err(|_| {
        shared.metrics.shed(super::metrics::Shed::HashQueue);
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "too many uploads are waiting to be hashed; retry later",
        )
        .retry(1)
        .hma()
    })
}

/// Fetches the media at `?url=` on the blocking pool, as an upload whose content type is
/// `content_type=` when given, else `video` for a `video/...` answer and `photo`
/// otherwise. Returns it with the URL's host; refusals are HMA's `{"message": ...}` with
/// 400 (URL refused), 413 (over the cap) or 502 (the remote failed).
async fn fetch_media(
    shared: &Arc<Shared>,
    q: &HashMap<String, String>,
    route: &str,
) -> Result<(Upload, String), Response> {
    if shared.fetcher.is_none() {
        return Err(bad(format!(
            "fetching media by url is not enabled on this server ([url_fetch] enabled); upload the file with POST {route}"
        )));
    }
    let wanted = match q.get("content_type").map(String::as_str) {
        None | Some("") => None,
        Some(t @ ("photo" | "video")) => Some(t.to_string()),
        Some(other) => return Err(bad(format!("no such content_type: '{other}'"))),
    };
    let url = q.get("url").cloned().unwrap_or_default();
    let s = shared.clone();
    let started = std::time::Instant::now();
    let result = tokio::task::spawn_blocking(move || s.fetcher.as_ref().map(|f| f.fetch(&url))).await;
    let elapsed = started.elapsed();
    let result = match result {
        Ok(Some(r)) => r,
        _ => {
            shared.metrics.fetched(super::metrics::FetchOutcome::Unreachable, elapsed);
            return Err(
                Refusal::new(StatusCode::BAD_GATEWAY, "fetch_failed", "fetching the media failed").hma()
            );
        }
    };
    match result {
        Ok(fetched) => {
            shared.metrics.fetched(super::metrics::FetchOutcome::Ok, elapsed);
            tracing::info!(
                target: "mediamatch::url_fetch",
                host = %fetched.host,
                bytes = fetched.bytes.len(),
                micros = elapsed.as_micros() as u64,
                "media fetched"
            );
            let content_type = wanted.unwrap_or_else(|| {
                let video = fetched
                    .content_type
                    .as_deref()
                    .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("video/"));
                if video { "video" } else { "photo" }.to_string()
            });
            Ok((Upload { content_type, bytes: fetched.bytes.into() }, fetched.host))
        }
        Err(failure) => {
            shared.metrics.fetched(failure.outcome, elapsed);
            tracing::info!(
                target: "mediamatch::url_fetch",
                outcome = failure.outcome.name(),
                micros = elapsed.as_micros() as u64,
                "media not fetched"
            );
            Err(Refusal::new(failure.status(), failure.code(), failure.message).hma())
        }
    }
}

/// One uploaded file of a multipart body: HMA's content type (the field name) and bytes.
pub(crate) struct Upload {
    pub content_type: String,
    pub bytes: axum::body::Bytes,
}

/// Reads the one file of a multipart body, with HMA's errors.
pub(crate) async fn one_file(
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Upload, Refusal> {
    let missing =
        || Refusal::new(StatusCode::BAD_REQUEST, "no_file", "Missing multipart/form-data file upload");
    let mut multipart = multipart.map_err(|_| missing())?;
    let mut found: Option<Upload> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(multipart_refusal(e)),
        };
        let name = field.name().unwrap_or_default().to_string();
        if field.file_name().is_none() && name != "photo" && name != "video" {
            // A plain form field (not a file): HMA reads files only.
            continue;
        }
        if found.is_some() {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "too_many_files",
                "Only one file allowed per request",
            ));
        }
        let bytes = field.bytes().await.map_err(multipart_refusal)?;
        found = Some(Upload { content_type: name, bytes });
    }
    found.ok_or_else(missing)
}

fn multipart_refusal(e: axum::extract::multipart::MultipartError) -> Refusal {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the upload is over the size limit")
    } else {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "bad_multipart",
            format!("malformed multipart body: {}", e.body_text()),
        )
    }
}

/// The signal types of a content type that `types=` selects, with HMA's errors.
fn hash_types(
    content_type: &str,
    q: &HashMap<String, String>,
    video: bool,
) -> Result<Vec<&'static str>, Refusal> {
    let available: &[&'static str] = match content_type {
        "photo" => &["pdq", "phash", "md5", "sha1", "sha256"],
        // With `[matching] video = true` (ffmpeg): HMA's vPDQ (python-threatexchange's JSON
        // array of frames) and the TMK+PDQF signature in ThreatExchange's text form.
        "video" if video => &["video_md5", "vpdq", "tmk"],
        "video" => &["video_md5"],
        other => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "bad_content_type",
                format!("no such content_type: '{other}'"),
            ))
        }
    };
    let Some(wanted) = q.get("types") else { return Ok(available.to_vec()) };
    let mut out = Vec::new();
    for name in wanted.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match available.iter().find(|a| **a == name) {
            Some(a) => out.push(*a),
            None => {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "bad_signal_type",
                    format!("signal type '{name}' doesn't exist or is disabled"),
                ))
            }
        }
    }
    if out.is_empty() {
        return Err(Refusal::new(StatusCode::BAD_REQUEST, "bad_signal_type", "empty signal type selection"));
    }
    Ok(out)
}

/// `POST /h/hash` (multipart; the field name is the content type, `photo` or `video`):
/// `{signal_type: hash}`. A PDQ below the quality minimum is `""`, as HMA returns it.
pub(crate) async fn hash_post(
    State(shared): State<Arc<Shared>>,
    q: Params,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let q = tri!(params(q));
    let upload = tri!(one_file(multipart).await.map_err(Refusal::hma));
    hash_upload(&shared, &q, upload).await
}

/// The hashes of an upload (or of media fetched by URL), as `POST /h/hash` answers them.
async fn hash_upload(shared: &Shared, q: &HashMap<String, String>, upload: Upload) -> Response {
    let matcher_config = shared.config.matcher_config();
    let sampling = matcher_config.video.clone();
    let types = tri!(hash_types(&upload.content_type, q, sampling.is_some()).map_err(Refusal::hma));
    let kinds: KindSet = types.iter().filter_map(|t| signal::kind_of(t)).collect();
    let mut options = HashOptions { kinds, ..HashOptions::default() };
    options.limits = matcher_config.limits;
    let min_quality = matcher_config.min_quality;
    let bytes = upload.bytes;
    let video_types: Vec<&'static str> =
        types.iter().copied().filter(|t| matches!(*t, "vpdq" | "tmk")).collect();
    let job = move || {
        let hashes = hash_bytes(&bytes, &options);
        let video = match (&sampling, video_types.is_empty()) {
            (Some(sampling), false) => Some(video_signals(&bytes, &video_types, sampling)),
            _ => None,
        };
        (hashes, video)
    };
    let (mut hashes, video) = tri!(shared.hash_job(job).await.map_err(Refusal::hma));
    let video = match video {
        Some(Err(message)) => {
            return Refusal::new(
                StatusCode::BAD_REQUEST,
                "corrupt",
                format!("the video could not be hashed: {message}"),
            )
            .hma()
        }
        Some(Ok(v)) => v,
        None => Vec::new(),
    };
    let image = match hashes.image.take() {
        Some(Err(e)) => return check_refusal(&crate::matcher::classify(e)).hma(),
        Some(Ok(i)) => Some(i),
        None => None,
    };
    let image = image.as_ref();
    let mut out = Map::new();
    for t in types {
        let value = match t {
            "pdq" => image.and_then(|i| i.pdq).map(|p| {
                if p.quality >= min_quality {
                    p.hash.to_string()
                } else {
                    String::new()
                }
            }),
            "phash" => image.and_then(|i| i.phash).map(|p| p.to_string()),
            "md5" | "video_md5" => hashes.md5.map(|h| h.to_string()),
            "sha1" => hashes.sha1.map(|h| h.to_string()),
            "sha256" => hashes.sha256.map(|h| h.to_string()),
            other => video.iter().find(|(t, _)| *t == other).map(|(_, v)| v.clone()),
        };
        if let Some(v) = value {
            out.insert(t.into(), json!(v));
        }
    }
    json_response(StatusCode::OK, &Value::Object(out))
}

/// The vPDQ (one frame a second, python-threatexchange's JSON array) and TMK+PDQF
/// (ThreatExchange's text form) of a video upload, for the `types` asked, decoded by ffmpeg
/// from an anonymous memory file.
fn video_signals(
    bytes: &[u8],
    types: &[&'static str],
    sampling: &crate::video::FrameSampling,
) -> Result<Vec<(&'static str, String)>, String> {
    use crate::video::ffmpeg::{MemoryFile, Source};
    let memory = MemoryFile::new(bytes).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for &t in types {
        let value = match t {
            "vpdq" => {
                let options = HashOptions { kinds: KindSet::NONE.with(Kind::Vpdq), ..HashOptions::default() };
                let img = crate::hashing::hash_video(Source::Memory(&memory), &options, sampling)
                    .map_err(|e| e.to_string())?;
                crate::video::vpdq::to_pytx_json(&img.vpdq)
            }
            _ => crate::video::tmk_hash::hash_source(Source::Memory(&memory), &sampling.limits)
                .map_err(|e| e.to_string())?
                .to_text(),
        };
        out.push((t, value));
    }
    Ok(out)
}

/// The answer to an upload that could not be checked.
pub(crate) fn check_refusal(e: &CheckError) -> Refusal {
    match e {
        CheckError::NotAnImage(_) => {
            Refusal::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_an_image", e.to_string())
        }
        CheckError::Corrupt(_) => Refusal::new(StatusCode::BAD_REQUEST, "corrupt", e.to_string()),
        CheckError::TooLarge(_) => Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string()),
        CheckError::IndexUnavailable(_) | CheckError::IndexModifiedInPlace(_) => {
            tracing::error!(error = %e, "index unavailable");
            Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "index_unavailable", e.to_string())
        }
        _ => Refusal::new(StatusCode::BAD_REQUEST, "unreadable", e.to_string()),
    }
}

/// `POST /m/lookup[?banks=]` (multipart file): the upload checked by the matcher, its
/// matches grouped as `{signal_type: {bank: [{bank_content_id, distance}]}}`; `banks=`
/// keeps the matches of those banks only, as in `GET /m/lookup`.
pub(crate) async fn lookup_post(
    State(shared): State<Arc<Shared>>,
    Extension(principal): Extension<Principal>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    q: Params,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let q = tri!(params(q));
    let upload = tri!(one_file(multipart).await.map_err(Refusal::hma));
    lookup_upload(&shared, principal, request_id, &q, upload, None).await
}

/// The answer of `POST /m/lookup` for an upload (or media fetched by URL from the host
/// `fetched_from`, which its audit record names).
async fn lookup_upload(
    shared: &Arc<Shared>,
    principal: Principal,
    request_id: String,
    q: &HashMap<String, String>,
    upload: Upload,
    fetched_from: Option<String>,
) -> Response {
    let banks = bank_names(q);
    if upload.content_type != "photo" && upload.content_type != "video" {
        return bad(format!("no such content_type: '{}'", upload.content_type));
    }
    let checked = tri!(super::v1::run_check(
        shared,
        upload.bytes,
        principal,
        request_id,
        "/m/lookup",
        banks,
        fetched_from
    )
    .await
    .map_err(Refusal::hma));
    let (view, verdict) = (checked.view, checked.verdict);
    let mut out: BTreeMap<&'static str, BTreeMap<String, BTreeMap<u64, u32>>> = BTreeMap::new();
    for kind in Kind::ALL {
        if size_of(&view, kind) > 0 {
            out.entry(kind.name()).or_default();
        }
    }
    for m in &verdict.matches {
        let id = signal::bank_content_id(&m.id, &m.hash);
        let d = out
            .entry(m.kind.name())
            .or_default()
            .entry(m.list.clone())
            .or_default()
            .entry(id)
            .or_insert(m.distance);
        *d = (*d).min(m.distance);
    }
    let mut body = Map::new();
    for (name, banks) in out {
        let kind = signal::kind_of(name).expect("a kind name");
        let found: BTreeMap<String, Vec<(u64, u32)>> = banks
            .into_iter()
            .map(|(b, items)| {
                let mut v: Vec<(u64, u32)> = items.into_iter().collect();
                v.sort_by_key(|&(id, d)| (d, id));
                (b, v)
            })
            .collect();
        body.insert(name.into(), matches_json(&found, kind));
    }
    json_response(StatusCode::OK, &Value::Object(body))
}
