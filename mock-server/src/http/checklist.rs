//! The client checklist of the calling Ente: `GET /mock/checklist` (the tree with reasons),
//! `DELETE /mock/checklist` (start over), and `GET /checklistresult` in the shape of PagoPA's
//! validator for tools built on it.

use super::AppState;
use super::auth::Caller;
use super::problem::ApiError;
use crate::checklist::engine::{evaluate, validator_shape};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mock/checklist", get(checklist).delete(reset))
        .route("/mock/checklist.html", get(page))
        .route("/checklistresult", get(result))
}

async fn checklist(State(state): State<AppState>, Caller(ente): Caller) -> Json<Value> {
    let e = &state.store.enti[ente];
    let calls = state.store.calls_for_checklist(ente);
    let checks = evaluate(&calls, &e.tax_id);
    let ok = checks.iter().all(|c| c.ok);
    Json(
        json!({"ente": {"name": e.name, "taxId": e.tax_id}, "ok": ok, "checks": checks, "crossEnteCalls": cross_ente(&state, ente, &calls)}),
    )
}

/// Calls made with this Ente's key on another Ente's notification or stream: the multi-tenant
/// bug of PT platforms that mix up keys. (Price calls are allowed across Enti.)
fn cross_ente(state: &AppState, ente: usize, calls: &[crate::checklist::call::Call]) -> Vec<Value> {
    use crate::checklist::call::Op;
    calls
        .iter()
        .filter(|c| !matches!(c.op(), Op::Price { .. }))
        .filter_map(|c| {
            let id = c.path.split('/').find(|seg| state.store.owner_of(seg).is_some())?;
            let owner = state.store.owner_of(id)?;
            (owner != ente).then(|| json!({"callId": c.id, "method": c.method, "path": c.path, "status": c.status, "owner": state.store.enti[owner].name}))
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

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn render(c: &crate::checklist::engine::Check, out: &mut String) {
    let mark = if c.ok {
        "<span class=ok>✓</span>"
    } else {
        "<span class=ko>✗</span>"
    };
    out.push_str(&format!("<li>{mark} {}", esc(&c.description)));
    if let Some(r) = c.reason.as_ref().filter(|_| c.children.is_empty()) {
        out.push_str(&format!("<div class=reason>{}</div>", esc(r)));
    }
    if !c.evidence.is_empty() {
        out.push_str(&format!(
            " <small>calls {}</small>",
            c.evidence
                .iter()
                .map(|e| format!("#{e}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !c.children.is_empty() {
        out.push_str("<ul>");
        for child in &c.children {
            render(child, out);
        }
        out.push_str("</ul>");
    }
    out.push_str("</li>");
}

/// The same checklist as a page a PT can read (self-contained: no external assets).
async fn page(State(state): State<AppState>, Caller(ente): Caller) -> Html<String> {
    let e = &state.store.enti[ente];
    let checks = evaluate(&state.store.calls_for_checklist(ente), &e.tax_id);
    let mut body = String::new();
    for c in &checks {
        render(c, &mut body);
    }
    Html(format!(
        "<!doctype html><html lang=en><meta charset=utf-8><title>SEND checklist — {name}</title>\
         <style>body{{font:15px/1.45 system-ui,sans-serif;margin:2em;max-width:60em}}ul{{list-style:none;padding-left:1.2em}}\
         .ok{{color:#0a7d28;font-weight:bold}}.ko{{color:#b00020;font-weight:bold}}.reason{{color:#555;margin-left:1.4em}}small{{color:#888}}</style>\
         <h1>SEND onboarding checklist</h1><p>{name} ({tax})</p><ul>{body}</ul></html>",
        name = esc(&e.name),
        tax = esc(&e.tax_id)
    ))
}
