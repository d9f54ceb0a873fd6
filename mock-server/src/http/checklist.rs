//! The client checklist of the calling Ente: `GET /mock/checklist` (the tree with reasons),
//! `DELETE /mock/checklist` (start over), and `GET /checklistresult` in the shape of PagoPA's
//! validator for tools built on it.

use super::AppState;
use super::auth::Caller;
use super::problem::ApiError;
use crate::checklist::engine::{evaluate, validator_shape};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mock/checklist", get(checklist).delete(reset))
        .route("/checklistresult", get(result))
}

async fn checklist(State(state): State<AppState>, Caller(ente): Caller) -> Json<Value> {
    let e = &state.store.enti[ente];
    let checks = evaluate(&state.store.calls_for_checklist(ente), &e.tax_id);
    let ok = checks.iter().all(|c| c.ok);
    Json(json!({"ente": {"name": e.name, "taxId": e.tax_id}, "ok": ok, "checks": checks}))
}

async fn reset(State(state): State<AppState>, Caller(ente): Caller) -> StatusCode {
    state.store.clear_calls(ente);
    StatusCode::NO_CONTENT
}

/// PagoPA's validator answers without a key; with several Enti the key says whose.
async fn result(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let ente = match headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        Some(k) => state
            .store
            .enti
            .iter()
            .position(|e| e.api_key.expose() == k)
            .ok_or_else(|| ApiError::forbidden("PN_FORBIDDEN", "unknown x-api-key"))?,
        None if state.store.enti.len() == 1 => 0,
        None => {
            return Err(ApiError::unauthorized(
                "several Enti: send the x-api-key of the Ente whose checklist you want",
            ));
        }
    };
    let checks = evaluate(
        &state.store.calls_for_checklist(ente),
        &state.store.enti[ente].tax_id,
    );
    Ok(Json(validator_shape(&checks)))
}
