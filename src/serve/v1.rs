//! The native API, under `/v1`: errors are `{"code": ..., "message": ...}` with a stable
//! `code`; answers carry everything mediamatch knows (lists and ids as the lists name
//! them, labels, E-values, how a match was found).
//!
//! | route | answer |
//! | --- | --- |
//! | `POST /v1/check` (raw body, or multipart with one file) | the verdict: every match and weak candidate, the hashes computed |
//! | `POST /v1/lookup` `{"hashes": ["pdq:HEX", ...]}` (at most [`MAX_LOOKUP_HASHES`]) | per hash, every entry within the threshold with its E-value |
//! | `GET /v1/info` | the index in use: version, lists with provenance, counts, format |
//! | `POST /v1/reload` (scope `admin`) | reopens the index; on failure the old one stays |

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value};

use super::config::AuditRecords;
use super::hma::{check_refusal, one_file};
use super::{json_response, signal, Refusal, RequestId, Shared, View};
use crate::hash::{HashValue, Kind};
use crate::matcher::{Match, Verdict};
use crate::serve::auth::Principal;
use crate::significance::{IndexSizes, QueryCounts, Significance};
use crate::timestamp::rfc3339;

/// The most hashes one `POST /v1/lookup` may ask about.
pub(crate) const MAX_LOOKUP_HASHES: usize = 1000;

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return Refusal::native(r),
        }
    };
}

/// An upload checked by the matcher, with the view of the index it was checked against.
pub(crate) struct Checked {
    pub view: Arc<View>,
    pub verdict: Verdict,
}

/// Checks `bytes` on a hashing thread and writes its audit record there (before the
/// answer, synced when configured). With `banks`, only matches (and weak candidates) of
/// those lists are kept, before the record is written: the record holds what the answer
/// says, and names the banks asked for. Media fetched by URL names its host in
/// `fetched_from` (the record holds the host only, never the URL, whose query may carry a
/// token).
pub(crate) async fn run_check(
    shared: &Arc<Shared>,
    bytes: Bytes,
    principal: Principal,
    request_id: String,
    endpoint: &'static str,
    banks: Option<Vec<String>>,
    fetched_from: Option<String>,
) -> Result<Checked, Refusal> {
    let matcher = shared.matcher()?;
    let s = shared.clone();
    let (view, result) = shared
        .hash_job(move || {
            let size = bytes.len();
            let (view, mut result) = s.check_bytes(&matcher, &bytes);
            if let (Some(banks), Ok(verdict)) = (&banks, &mut result) {
                verdict.matches.retain(|m| banks.contains(&m.list));
                verdict.weak.retain(|m| banks.contains(&m.list));
                // An upload that is no image is checked only for its digests: with none of
                // the banks asked for matching, it is refused as it would be without hits.
                if verdict.matches.is_empty() && verdict.weak.is_empty() {
                    if let Some(Err(_)) = &verdict.hashes.image {
                        if let Some(Err(e)) = verdict.hashes.image.take() {
                            result = Err(crate::matcher::classify(e));
                        }
                    }
                }
            }
            let matched = result.as_ref().is_ok_and(Verdict::is_match);
            s.audit_check(matched, || {
                let mut r = audit_record(&s, &view, &principal, &request_id, endpoint, size, &result);
                if let Some(banks) = &banks {
                    r.insert("banks".into(), json!(banks));
                }
                if let Some(host) = &fetched_from {
                    r.insert("fetched_from".into(), json!({ "host": host }));
                }
                // The upload's SHA-256 always, even when the index holds no SHA-256 entries.
                if let Some(Value::Object(upload)) = r.get_mut("upload") {
                    upload.entry("sha256").or_insert_with(|| {
                        json!(crate::hash::digest::digests(&bytes, false, false, true)
                            .sha256
                            .map(|d| d.to_string()))
                    });
                }
                r
            });
            drop(bytes);
            (view, result)
        })
        .await?;
    // The answer (and its version header) is the index the check used.
    super::answered_by(&view);
    let verdict = result.map_err(|e| check_refusal(&e))?;
    for m in &verdict.matches {
        shared.metrics.matched(&m.list, m.kind, 1);
    }
    Ok(Checked { view, verdict })
}

fn audit_record(
    shared: &Shared,
    view: &View,
    principal: &Principal,
    request_id: &str,
    endpoint: &str,
    size: usize,
    result: &Result<Verdict, crate::matcher::CheckError>,
) -> Map<String, Value> {
    let mut r = Map::new();
    r.insert("type".into(), json!("check"));
    r.insert("endpoint".into(), json!(endpoint));
    r.insert("request_id".into(), json!(request_id));
    r.insert("principal".into(), json!(principal.name));
    r.insert("upload".into(), json!({ "bytes": size }));
    r.insert("index_version".into(), json!(view.version));
    let lists: Vec<Value> =
        view.index.lists().iter().map(|l| json!({ "name": l.name, "version": l.version })).collect();
    r.insert("lists".into(), Value::Array(lists));
    let m = &shared.config.matching;
    r.insert(
        "thresholds".into(),
        json!({ "pdq": m.pdq, "phash": m.phash, "max_evalue": finite(m.max_evalue) }),
    );
    match result {
        Ok(verdict) => {
            let mut upload = hashes_json(verdict);
            upload.insert("bytes".into(), json!(size));
            r.insert("upload".into(), Value::Object(upload));
            r.insert("matches".into(), Value::Array(verdict.matches.iter().map(match_json).collect()));
        }
        Err(e) => {
            r.insert("error".into(), json!(e.to_string()));
        }
    }
    r
}

/// JSON has no infinity: `null` stands for "no limit".
fn finite(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

/// The hashes of a verdict: digests, format, size, perceptual hashes and PDQ quality.
fn hashes_json(verdict: &Verdict) -> Map<String, Value> {
    let h = &verdict.hashes;
    let mut out = Map::new();
    if let Some(v) = h.md5 {
        out.insert("md5".into(), json!(v.to_string()));
    }
    if let Some(v) = h.sha1 {
        out.insert("sha1".into(), json!(v.to_string()));
    }
    if let Some(v) = h.sha256 {
        out.insert("sha256".into(), json!(v.to_string()));
    }
    match &h.image {
        Some(Ok(i)) => {
            out.insert("type".into(), json!(i.format.name()));
            out.insert("width".into(), json!(i.width));
            out.insert("height".into(), json!(i.height));
            if let Some(p) = i.pdq {
                out.insert("pdq".into(), json!(p.hash.to_string()));
                out.insert("pdq_quality".into(), json!(p.quality));
            }
            if let Some(p) = i.phash {
                out.insert("phash".into(), json!(p.to_string()));
            }
        }
        Some(Err(e)) => {
            out.insert("decode_error".into(), json!(e.to_string()));
        }
        None => {}
    }
    out
}

fn match_json(m: &Match) -> Value {
    let mut v = json!({
        "list": m.list,
        "id": m.id,
        "label": m.label,
        "kind": m.kind.name(),
        "hash": m.hash.hex(),
        "distance": m.distance,
        "evalue": finite(m.evalue),
        "variant": m.variant.map(|v| v.name()),
        "trimmed": m.trimmed,
        "extended": m.extended,
        "corroborated": m.corroborated,
        "kinds": m.kinds.iter().map(|k| k.name()).collect::<Vec<_>>(),
        "frame": m.frame,
        "bank_content_id": signal::bank_content_id(&m.id, &m.hash),
    });
    if let Some(shares) = m.video {
        v["query_percent"] = json!(shares.query_percent);
        v["compared_percent"] = json!(shares.compared_percent);
    }
    if let Some(scores) = m.tmk {
        v["level1"] = json!(scores.level1);
        v["level2"] = json!(scores.level2);
    }
    v
}

/// `POST /v1/check`: the upload (the raw body, or the one file of a multipart body).
pub(crate) async fn check(
    State(shared): State<Arc<Shared>>,
    Extension(principal): Extension<Principal>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    request: Request,
) -> Response {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let bytes = if multipart {
        tri!(one_file(Multipart::from_request(request, &()).await).await).bytes
    } else {
        match Bytes::from_request(request, &()).await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Refusal::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "the upload is over the size limit",
                )
                .native()
            }
            Err(e) => return Refusal::new(StatusCode::BAD_REQUEST, "bad_body", e.body_text()).native(),
        }
    };
    if bytes.is_empty() {
        return Refusal::new(StatusCode::BAD_REQUEST, "empty", "the upload is empty").native();
    }
    let checked = tri!(run_check(&shared, bytes, principal, request_id, "/v1/check", None, None).await);
    let v = &checked.verdict;
    let body = json!({
        "match": v.is_match(),
        "matches": v.matches.iter().map(match_json).collect::<Vec<_>>(),
        "weak": v.weak.iter().map(match_json).collect::<Vec<_>>(),
        "hashes": hashes_json(v),
        "low_quality": v.low_quality,
        "index_version": checked.view.version,
    });
    json_response(StatusCode::OK, &body)
}

/// `POST /v1/lookup`: `{"hashes": ["KIND:HEX", ...], "max_distance": {"pdq": 31, "phash": 8}}`
/// (`max_distance` optional: the configured thresholds).
pub(crate) async fn lookup(
    State(shared): State<Arc<Shared>>,
    Extension(principal): Extension<Principal>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the request body is over the size limit",
            )
            .native()
        }
        Err(e) => return Refusal::new(StatusCode::BAD_REQUEST, "bad_body", e.body_text()).native(),
    };
    let bad = |code: &'static str, m: String| Refusal::new(StatusCode::BAD_REQUEST, code, m).native();
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad("bad_json", format!("the body is not JSON: {e}")),
    };
    let Some(hashes) = request.get("hashes").and_then(Value::as_array) else {
        return bad("bad_request", "expected {\"hashes\": [\"KIND:HEX\", ...]}".into());
    };
    if hashes.len() > MAX_LOOKUP_HASHES {
        return Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_hashes",
            format!("{} hashes, over the limit of {MAX_LOOKUP_HASHES} per request", hashes.len()),
        )
        .native();
    }
    let m = &shared.config.matching;
    let (mut pdq, mut phash) = (m.pdq, m.phash);
    if let Some(d) = request.get("max_distance") {
        let l = &shared.config.limits;
        for (key, slot, widest, limit) in [
            ("pdq", &mut pdq, l.max_pdq_distance, "max_pdq_distance"),
            ("phash", &mut phash, l.max_phash_distance, "max_phash_distance"),
        ] {
            match d.get(key) {
                None => {}
                Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n <= u64::from(widest)) => {
                    *slot = n.as_u64().unwrap_or(0) as u32
                }
                Some(_) => {
                    return bad(
                        "bad_request",
                        format!(
                            "max_distance.{key} must be an integer from 0 to {widest} (this server's limits.{limit})"
                        ),
                    )
                }
            }
        }
    }
    let mut values = Vec::with_capacity(hashes.len());
    for (i, h) in hashes.iter().enumerate() {
        let Some(text) = h.as_str() else {
            return bad("bad_hash", format!("hashes[{i}] is not a string"));
        };
        match text.parse::<HashValue>() {
            Ok(v) => values.push(v),
            Err(e) => return bad("bad_hash", format!("hashes[{i}]: {e}")),
        }
    }
    let view = tri!(shared.view());
    let sizes = IndexSizes::of_index(&view.index).map_err(super::index_refusal);
    let sizes = tri!(sizes);
    let significance = Significance::of(sizes, QueryCounts { pdq: 1, phash: 1, digest: 1, vpdq: 1 });
    let max_evalue = m.max_evalue;
    // The searches (a wide `max_distance` scans much of the index) and the audit record
    // (maybe synced) run on the blocking pool, never on an async worker.
    let s = shared.clone();
    let body = shared.lookup_job(move || {
        let shared = s;
        let mut results = Vec::with_capacity(values.len());
        let mut any = false;
        for value in &values {
            let kind = value.kind();
            let radius = match kind {
                Kind::Pdq => pdq,
                Kind::Phash => phash,
                _ => 0,
            };
            let started = std::time::Instant::now();
            let hits = view.index.search(value, radius).map_err(super::index_refusal)?;
            shared.metrics.looked_up(kind, started.elapsed());
            let mut matches = Vec::new();
            for hit in hits {
                let entry = view.index.entry(hit.entry).map_err(super::index_refusal)?;
                let evalue = significance.evalue(kind, hit.distance);
                for &l in &entry.lists {
                    let list = view.index.lists().get(l as usize).map_or("", |i| i.name.as_str());
                    shared.metrics.matched(list, kind, 1);
                    matches.push(json!({
                        "list": list,
                        "id": entry.id,
                        "label": entry.label,
                        "kind": kind.name(),
                        "hash": entry.value.hex(),
                        "distance": hit.distance,
                        "evalue": finite(evalue),
                        "significant": !kind.is_perceptual() || evalue <= max_evalue,
                        "bank_content_id": signal::bank_content_id(entry.id, &entry.value),
                    }));
                }
            }
            matches.sort_by(|a, b| {
                a["distance"]
                    .as_u64()
                    .cmp(&b["distance"].as_u64())
                    .then_with(|| a["list"].as_str().cmp(&b["list"].as_str()))
            });
            any |= !matches.is_empty();
            results.push(json!({ "hash": value.to_string(), "matches": matches }));
        }
        let body = json!({ "index_version": view.version, "results": results });
        shared.audit_check(any, || {
            let mut r = Map::new();
            r.insert("type".into(), json!("lookup"));
            r.insert("endpoint".into(), json!("/v1/lookup"));
            r.insert("request_id".into(), json!(request_id));
            r.insert("principal".into(), json!(principal.name));
            r.insert("index_version".into(), json!(view.version));
            r.insert(
                "thresholds".into(),
                json!({ "pdq": pdq, "phash": phash, "max_evalue": finite(max_evalue) }),
            );
            // With `records = "matches"`, the hashes that matched nothing are not written.
            let all = shared.config.audit.records == AuditRecords::All;
            let results: Vec<Value> = body["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| all || r["matches"].as_array().is_some_and(|m| !m.is_empty()))
                .cloned()
                .collect();
            r.insert("looked_up".into(), json!(values.len()));
            r.insert("results".into(), Value::Array(results));
            r
        });
        Ok(body)
    });
    let body = tri!(body.await);
    json_response(StatusCode::OK, &body)
}

/// `GET /v1/info`: the index in use.
pub(crate) async fn info(State(shared): State<Arc<Shared>>) -> Response {
    let view = tri!(shared.view());
    let index = &view.index;
    let lists: Vec<Value> = index
        .lists()
        .iter()
        .map(|l| {
            json!({
                "name": l.name,
                "version": l.version,
                "source": l.source,
                "source_sha256": l.source_sha256,
                "imported_at": l.imported_at,
                "last_import": {
                    "added": l.counts.added, "updated": l.counts.updated, "removed": l.counts.removed,
                    "unchanged": l.counts.unchanged, "rejected": l.counts.rejected, "skipped": l.counts.skipped,
                },
            })
        })
        .collect();
    let entries: Map<String, Value> =
        Kind::ALL.iter().zip(view.sizes).map(|(k, n)| (k.name().to_string(), json!(n))).collect();
    let audit = shared.audit.as_ref().map(|a| {
        let (head, seq) = a.head();
        json!({ "head": head, "seq": seq })
    });
    let body = json!({
        "index_version": view.version,
        "loaded_at": rfc3339(view.loaded_at),
        "format_version": crate::index::format::FORMAT_VERSION,
        "entries": entries,
        "segments": index.segment_count(),
        "tombstones": index.tombstone_count(),
        "bytes": index.byte_len(),
        "lists": lists,
        "reload": {
            "last_error": shared.reload.last_error(),
            "stale": shared.reload.is_stale(std::time::Duration::from_secs(shared.config.reload.stale_after_seconds)),
        },
        "audit": audit,
    });
    json_response(StatusCode::OK, &body)
}

/// `POST /v1/reload`: reopens the index now.
pub(crate) async fn reload(State(shared): State<Arc<Shared>>) -> Response {
    let s = shared.clone();
    let outcome =
        tokio::task::spawn_blocking(move || s.reload_now()).await.unwrap_or_else(|e| Err(e.to_string()));
    match outcome {
        Ok(version) => {
            json_response(StatusCode::OK, &json!({ "status": "reloaded", "index_version": version }))
        }
        Err(message) => Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "reload_failed",
            format!("the index was not reloaded and the previous one stays in use: {message}"),
        )
        .native(),
    }
}
