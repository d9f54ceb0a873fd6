//! The mock's own controls (not part of SEND): the virtual clock.

use super::AppState;
use super::auth::Caller;
use super::extract::JsonBody;
use super::problem::{ApiError, ApiResult};
use crate::domain::clock::{parse_duration, rfc3339};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mock/clock", get(clock))
        .route("/mock/clock/advance", post(advance))
}

async fn clock(State(state): State<AppState>, _: Caller) -> Json<Value> {
    Json(
        json!({"now": rfc3339(state.store.clock.now()), "realTimePerSendDayMs": state.config.time_scale.as_millis() as u64}),
    )
}

async fn advance(
    State(state): State<AppState>,
    _: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let text = body
        .get("duration")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_body_one("body must be {\"duration\": \"7d\"}"))?;
    let d = parse_duration(text).map_err(|e| {
        ApiError::bad_request("PN_GENERIC_INVALIDPARAMETER", Some("duration".into()), e)
    })?;
    let by = chrono::Duration::from_std(d).map_err(|_| {
        ApiError::bad_request(
            "PN_GENERIC_INVALIDPARAMETER",
            Some("duration".into()),
            "duration too large",
        )
    })?;
    if by > chrono::Duration::days(3650) {
        return Err(ApiError::bad_request(
            "PN_GENERIC_INVALIDPARAMETER",
            Some("duration".into()),
            "at most 3650d at a time",
        ));
    }
    let now = state.store.advance(by);
    Ok(Json(json!({"now": rfc3339(now)})))
}
