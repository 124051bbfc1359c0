//! The HTTP side of the `upload_handler` example: routes, status codes and JSON answers.
//!
//! Kept apart from the example's `main` so that `tests/upload_handler.rs` runs this very
//! code (with `#[path]`) on an ephemeral port and talks to it over real HTTP.
//!
//! | request | answer |
//! | --- | --- |
//! | `POST /upload`, body matched a list entry | 403 `{"status":"blocked","matches":[...]}` |
//! | `POST /upload`, no match | 200 `{"status":"accepted"}` |
//! | `POST /upload`, not an image / corrupt | 400 `{"status":"rejected","error":"not-an-image"}` |
//! | `POST /upload`, body over the limit or image too large | 413 |
//! | `POST /upload`, index unreadable | 503 |
//! | `POST /reload` | 200 `{"status":"reloaded"}`, or 503 and the old index stays |
//!
//! No media bytes are logged or kept: the body is dropped when its check ends.

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use mediamatch::matcher::{CheckError, Matcher, Verdict};
use serde_json::{json, Value};

/// The routes over `matcher`; request bodies over `body_limit` bytes get 413 unread.
pub fn app(matcher: Arc<Matcher>, body_limit: usize) -> Router {
    Router::new()
        .route("/upload", post(upload))
        .route("/reload", post(reload))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(matcher)
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

async fn upload(State(matcher): State<Arc<Matcher>>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        // Over the body limit (413) or a broken request body (400).
        Err(rejection) => {
            let status = rejection.status();
            let error = if status == StatusCode::PAYLOAD_TOO_LARGE { "too-large" } else { "bad-request" };
            return answer(status, json!({ "status": "rejected", "error": error }));
        }
    };
    // Decoding and hashing take milliseconds of CPU: keep them off the async workers.
    let checked = tokio::task::spawn_blocking(move || matcher.check_bytes(&body)).await;
    match checked {
        Ok(Ok(verdict)) if verdict.is_match() => blocked(&verdict),
        Ok(Ok(_)) => answer(StatusCode::OK, json!({ "status": "accepted" })),
        Ok(Err(e)) => check_error(&e),
        Err(_) => {
            answer(StatusCode::INTERNAL_SERVER_ERROR, json!({ "status": "error", "error": "internal" }))
        }
    }
}

/// 403 with the facts of each match. A production service would send these to its
/// reporting pipeline and tell the uploader less.
fn blocked(verdict: &Verdict) -> Response {
    let matches: Vec<Value> = verdict
        .matches
        .iter()
        .map(|m| {
            json!({
                "kind": m.kind.name(),
                "distance": m.distance,
                "variant": m.variant.map(|v| v.name()),
                "list": m.list,
                "id": m.id,
                "label": m.label,
                "trimmed": m.trimmed,
                "kinds": m.kinds.iter().map(|k| k.name()).collect::<Vec<_>>(),
            })
        })
        .collect();
    eprintln!("upload blocked: {} match(es)", matches.len());
    answer(StatusCode::FORBIDDEN, json!({ "status": "blocked", "matches": matches }))
}

/// The HTTP answer for each way a check can fail.
fn check_error(e: &CheckError) -> Response {
    let (status, error) = match e {
        CheckError::NotAnImage(_) => (StatusCode::BAD_REQUEST, "not-an-image"),
        CheckError::Corrupt(_) => (StatusCode::BAD_REQUEST, "corrupt"),
        CheckError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too-large"),
        CheckError::IndexUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "index-unavailable"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    };
    if status.is_server_error() {
        eprintln!("upload check failed: {e}");
    }
    answer(status, json!({ "status": "rejected", "error": error, "message": e.to_string() }))
}

async fn reload(State(matcher): State<Arc<Matcher>>) -> Response {
    match tokio::task::spawn_blocking(move || matcher.reload()).await {
        Ok(Ok(())) => answer(StatusCode::OK, json!({ "status": "reloaded" })),
        Ok(Err(e)) => {
            eprintln!("reload failed, keeping the old index: {e}");
            answer(StatusCode::SERVICE_UNAVAILABLE, json!({ "status": "error", "error": e.to_string() }))
        }
        Err(_) => {
            answer(StatusCode::INTERNAL_SERVER_ERROR, json!({ "status": "error", "error": "internal" }))
        }
    }
}
