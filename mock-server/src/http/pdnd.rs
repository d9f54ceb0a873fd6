//! `POST /mock/pdnd/token.oauth2`: the mock's stand-in for PDND's token endpoint (not SEND's):
//! form-urlencoded client_credentials with a jwt-bearer client assertion → a voucher.

use super::AppState;
use super::problem::ApiError;
use crate::domain::pdnd::VOUCHER_TTL;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use axum::{Json, Router};
use send_wire::ProblemError;
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new().route("/mock/pdnd/token.oauth2", post(token))
}

fn pdnd_error(code: &str, detail: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "Bad Request",
        detail.clone(),
        vec![ProblemError {
            code: code.into(),
            element: None,
            detail: Some(detail),
        }],
    )
}

async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(pdnd_error(
            "015-9000",
            format!(
                "properties not allowed by the schema: the token request must be application/x-www-form-urlencoded, not `{ct}`"
            ),
        ));
    }
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body)
        .map_err(|e| pdnd_error("015-9000", format!("malformed form body: {e}")))?;
    let (_, token) = state
        .pdnd
        .token(&form, chrono::Utc::now().timestamp())
        .map_err(|e| pdnd_error(e.code, e.detail))?;
    Ok(Json(
        json!({"access_token": token, "token_type": "Bearer", "expires_in": VOUCHER_TTL}),
    ))
}
