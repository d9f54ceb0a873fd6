//! The client checklist of the calling Ente: `GET /mock/checklist` (the tree with reasons),
//! `DELETE /mock/checklist` (start over), and `GET /checklistresult` in the shape of PagoPA's
//! validator for tools built on it.

use super::AppState;
use super::auth::Caller;
use super::problem::ApiError;
use crate::domain::ente::EnteId;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use send_checklist::{Options, evaluate, validator_shape};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mock/checklist", get(checklist).delete(reset))
        .route("/mock/checklist.html", get(page))
        .route("/checklistresult", get(result))
}

async fn checklist(State(state): State<AppState>, Caller(ente): Caller) -> Json<Value> {
    let e = state.store.ente(ente);
    let calls = state.store.calls_for_checklist(ente);
    let checks = evaluate(&calls, &Options::for_sender(&e.tax_id));
    let ok = checks.iter().all(|c| c.ok);
    Json(
        json!({"ente": {"name": e.name, "taxId": e.tax_id}, "ok": ok, "checks": checks, "crossEnteCalls": cross_ente(&state, ente, &calls)}),
    )
}

/// Calls made with this Ente's key on another Ente's notification or stream: the multi-tenant
/// bug of PT platforms that mix up keys. (Price calls are allowed across Enti.)
fn cross_ente(state: &AppState, ente: EnteId, calls: &[send_checklist::Call]) -> Vec<Value> {
    use send_checklist::Op;
    calls
        .iter()
        .filter(|c| !matches!(c.op(), Op::Price { .. }))
        .filter_map(|c| {
            let id = c.path.split('/').find(|seg| state.store.owner_of(seg).is_some())?;
            let owner = state.store.owner_of(id)?;
            (owner != ente).then(|| json!({"callId": c.id, "method": c.method, "path": c.path, "status": c.status, "owner": state.store.ente(owner).name}))
        })
        .collect()
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
    let ente = match headers
        .get(&super::auth::API_KEY)
        .and_then(|v| v.to_str().ok())
    {
        Some(k) => state
            .store
            .ente_with_key(k)
            .ok_or_else(|| ApiError::forbidden("PN_FORBIDDEN", "unknown x-api-key"))?,
        None if state.store.enti.len() == 1 => EnteId::new(0),
        None => {
            return Err(ApiError::unauthorized(
                "several Enti: send the x-api-key of the Ente whose checklist you want",
            ));
        }
    };
    let e = state.store.ente(ente);
    let checks = evaluate(
        &state.store.calls_for_checklist(ente),
        &Options::for_sender(&e.tax_id),
    );
    let mut shape = validator_shape(&checks);
    // Beside the validator's two keys, whose checklist this is and where it was made.
    shape["ente"] = json!({"name": e.name, "taxId": e.tax_id});
    shape["target"] = json!({"kind": "mock"});
    shape["generatedAt"] = json!(crate::domain::clock::rfc3339(chrono::Utc::now()));
    shape["tool"] = json!({"name": "send-mock", "version": env!("CARGO_PKG_VERSION")});
    Ok(Json(shape))
}

/// The checklist page's template (HTML-escaped by minijinja, after its `.html` name).
const PAGE: &str = include_str!("../../templates/checklist.html");

/// The same checklist as a page a PT can read (self-contained: no external assets).
async fn page(
    State(state): State<AppState>,
    Caller(ente): Caller,
) -> Result<Html<String>, ApiError> {
    let e = state.store.ente(ente);
    let checks = evaluate(
        &state.store.calls_for_checklist(ente),
        &Options::for_sender(&e.tax_id),
    );
    let mut env = minijinja::Environment::new();
    let (tree, tree_text) = send_checklist::TREE_TEMPLATE;
    env.add_template(tree, tree_text)
        .and_then(|_| env.add_template("checklist.html", PAGE))
        .and_then(|_| env.get_template("checklist.html"))
        .and_then(|t| {
            t.render(minijinja::value::Serde(json!({
                "ente": {"name": e.name, "taxId": e.tax_id},
                "checks": checks,
                "t": {"exempt": "exempt", "calls": "calls"},
            })))
        })
        .map(Html)
        .map_err(|err| {
            ApiError::internal(format!("the checklist page could not be rendered: {err}"))
        })
}
