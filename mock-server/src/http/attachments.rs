//! `POST /delivery/attachments/preload`: hands out presigned upload slots.

use super::auth::Caller;
use super::extract::{JsonBody, StorageBase};
use super::problem::{ApiError, ApiResult};
use super::{AppState, storage};
use crate::domain::request::SHA256;
use crate::domain::schema::{Pattern, Reader, Str};
use axum::extract::State;
use axum::{Json, Router, routing::post};
use regex::Regex;
use send_wire::PreLoadResponse;
use send_wire::values::FileKey;
use serde_json::Value;
use std::sync::LazyLock;

/// SEND's limit on slots per preload call.
pub const MAX_PRELOAD: usize = 15;

static IDX_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9._-]{1,512}$").unwrap());
static CT_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^application/(pdf|json)$").unwrap());

pub fn router() -> Router<AppState> {
    Router::new().route("/delivery/attachments/preload", post(preload))
}

async fn preload(
    State(state): State<AppState>,
    Caller(ente): Caller,
    base: StorageBase,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Vec<PreLoadResponse>>> {
    let Value::Array(items) = &body else {
        return Err(ApiError::invalid_body_one(
            "instance type (object) does not match any allowed primitive type (allowed: [\"array\"])",
        ));
    };
    if items.is_empty() {
        return Err(ApiError::invalid_body_one(
            "array is too short: must have at least 1 elements but instance has 0 elements",
        ));
    }
    if items.len() > MAX_PRELOAD {
        return Err(ApiError::bad_request(
            "PN_GENERIC_INVALIDPARAMETER_SIZE",
            Some("preloadRequests".into()),
            format!(
                "at most {MAX_PRELOAD} files per preload call, got {}",
                items.len()
            ),
        ));
    }
    let mut r = Reader::default();
    let mut parsed = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let p = format!("/{i}");
        let Some(m) = r.object(it, &p) else { continue };
        r.required(m, &p, &["sha256"]);
        let idx = r.string(
            m,
            &p,
            "preloadIdx",
            Str::new(1, 512, Pattern::Regex(&IDX_RE, "^[a-zA-Z0-9._-]{1,512}$")),
        );
        let ct = r.string(
            m,
            &p,
            "contentType",
            Str::new(15, 16, Pattern::Regex(&CT_RE, "^application\\/(pdf|json)$")),
        );
        let sha = r.string(m, &p, "sha256", SHA256);
        if let Some(sha) = sha {
            parsed.push((
                idx.unwrap_or_else(|| i.to_string()),
                ct.unwrap_or_else(|| "application/pdf".into()),
                sha,
            ));
        }
    }
    if !r.violations.is_empty() {
        return Err(ApiError::from_violations(r.violations));
    }
    let slots = state.store.preload(ente, &parsed);
    let presigner = state.store.presigner();
    Ok(Json(
        slots
            .iter()
            .map(|s| PreLoadResponse {
                preload_idx: s.preload_idx.clone(),
                secret: s.secret.clone(),
                http_method: "PUT".into(),
                url: storage::upload_url(&presigner, &base.0, s),
                // The store makes keys of a fixed prefix and hex digits.
                key: FileKey::parse(&s.key).expect("a key the store made is a safe-storage key"),
            })
            .collect(),
    ))
}
