//! The mock's own controls (not part of SEND): the virtual clock, scripts, recipient actions.

use super::AppState;
use super::auth::Caller;
use super::extract::{ApiPath, JsonBody};
use super::notifications::parse_iun;
use super::problem::{ApiError, ApiResult};
use crate::domain::clock::{parse_duration, rfc3339};
use crate::store::ViewOutcome;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mock/clock", get(clock))
        .route("/mock/clock/advance", post(advance))
        .route("/mock/scripts", get(scripts))
        .route("/mock/scripts/next", put(pin_next))
        .route("/mock/gpd/positions", post(add_position))
        .route("/mock/downtimes", post(downtime_event))
        .route(
            "/mock/notifications/{iun}/recipients/{rec_index}/view",
            post(view),
        )
}

/// The virtual clock: now, how fast it runs, and when the next scheduled work falls due
/// (`nextDue`, null when every timeline has run to its end).
async fn clock(State(state): State<AppState>, _: Caller) -> Json<Value> {
    Json(json!({
        "now": rfc3339(state.store.clock.now()),
        "realTimePerSendDayMs": state.config.time_scale.as_millis() as u64,
        "nextDue": state.store.next_due().map(rfc3339),
    }))
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
        ApiError::bad_request(
            "PN_GENERIC_INVALIDPARAMETER",
            Some("duration".into()),
            e.to_string(),
        )
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

/// Puts a debt position on the mock's GPD, as the Ente's pagoPA integration would before an
/// ASYNC notification: `{"creditorTaxId", "noticeCode", "amount"?}`.
async fn add_position(
    State(state): State<AppState>,
    _: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    use crate::domain::request::{NOTICE_CODE, PA_TAX_ID};
    let mut r = crate::domain::schema::Reader::default();
    let mut position = None;
    if let Some(m) = r.object(&body, "") {
        r.required(m, "", &["creditorTaxId", "noticeCode"]);
        let creditor = r.string(m, "", "creditorTaxId", PA_TAX_ID);
        let notice = r.string(m, "", "noticeCode", NOTICE_CODE);
        let amount = r.integer(m, "", "amount", 0, i32::MAX as i64);
        if let (Some(c), Some(n)) = (creditor, notice) {
            position = Some(crate::config::DebtPosition {
                creditor_tax_id: c,
                notice_code: n,
                amount,
            });
        }
    }
    let Some(p) = position.filter(|_| r.violations.is_empty()) else {
        return Err(ApiError::from_violations(r.violations));
    };
    state.store.add_position(p.clone());
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"creditorTaxId": p.creditor_tax_id, "noticeCode": p.notice_code, "amount": p.amount}),
        ),
    ))
}

/// A functionality goes KO or OK again, in the shape of SEND's own `PnStatusUpdateEvent`:
/// `{"status": "KO"|"OK", "functionality": [...], "timestamp"?: date-time}` (`sourceType` and
/// `source` may be sent and are ignored). Answers the downtimes opened or resolved; nothing
/// changes unless every functionality named can take the event.
async fn downtime_event(
    State(state): State<AppState>,
    _: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Vec<send_wire::PnDowntimeEntry>>> {
    use crate::domain::downtime::Functionality;
    let bad = |element: &str, detail: String| {
        ApiError::bad_request("PN_GENERIC_INVALIDPARAMETER", Some(element.into()), detail)
    };
    let ko = match body.get("status").and_then(Value::as_str) {
        Some("KO") => true,
        Some("OK") => false,
        _ => return Err(bad("status", "status must be \"KO\" or \"OK\"".into())),
    };
    let names = body
        .get("functionality")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            bad(
                "functionality",
                "functionality must be a non-empty array".into(),
            )
        })?;
    let mut functionalities = Vec::new();
    for n in names {
        let f = n.as_str().and_then(Functionality::parse).ok_or_else(|| {
            bad(
                "functionality",
                format!("{n} is not NOTIFICATION_CREATE, NOTIFICATION_VISUALIZATION or NOTIFICATION_WORKFLOW"),
            )
        })?;
        if !functionalities.contains(&f) {
            functionalities.push(f);
        }
    }
    let now = state.store.clock.now();
    let at = match body.get("timestamp") {
        None | Some(Value::Null) => now,
        Some(t) => t
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.to_utc())
            .filter(|t| *t <= now)
            .ok_or_else(|| {
                bad(
                    "timestamp",
                    format!(
                        "timestamp {t} is not a date-time at or before the mock's now ({})",
                        rfc3339(now)
                    ),
                )
            })?,
    };
    // All or nothing: try the whole event on a copy first.
    state
        .store
        .downtimes(|d| {
            let mut trial = d.clone();
            functionalities.iter().try_for_each(|f| {
                if ko {
                    trial.open(*f, at).map(drop)
                } else {
                    trial.close(*f, at).map(drop)
                }
            })
        })
        .map_err(|e| ApiError::new(StatusCode::CONFLICT, "Conflict", e.to_string(), vec![]))?;
    let mut changed = Vec::new();
    for f in functionalities {
        let d = state
            .store
            .downtime_event(f, ko, at)
            .map_err(|e| ApiError::new(StatusCode::CONFLICT, "Conflict", e.to_string(), vec![]))?;
        changed.push(super::downtimes::entry(&d));
    }
    Ok(Json(changed))
}

async fn scripts(State(state): State<AppState>, _: Caller) -> Json<Value> {
    Json(json!({"scripts": state.store.scripts.names()}))
}

async fn pin_next(
    State(state): State<AppState>,
    Caller(ente): Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let name = body.get("script").and_then(Value::as_str).ok_or_else(|| {
        ApiError::invalid_body_one("body must be {\"script\": \"analog-890-ok\"}")
    })?;
    state.store.pin_next_script(ente, name).map_err(|known| {
        ApiError::bad_request(
            "PN_GENERIC_INVALIDPARAMETER",
            Some("script".into()),
            format!("unknown script `{name}`; known: {}", known.join(", ")),
        )
    })?;
    Ok(Json(json!({"next": name})))
}

async fn view(
    State(state): State<AppState>,
    Caller(ente): Caller,
    ApiPath((iun, rec)): ApiPath<(String, usize)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let iun = parse_iun(&iun)?;
    match state.store.view(ente, &iun, rec) {
        None => Err(ApiError::not_found(
            "PN_DELIVERY_NOTIFICATIONNOTFOUND",
            format!("no accepted notification {iun} with recipient {rec} for this Ente"),
        )),
        Some(ViewOutcome::Viewed) => Ok((
            StatusCode::OK,
            Json(json!({"iun": iun.as_str(), "recIndex": rec, "viewed": true})),
        )),
        Some(ViewOutcome::AlreadyViewed) => Ok((
            StatusCode::OK,
            Json(
                json!({"iun": iun.as_str(), "recIndex": rec, "viewed": false, "detail": "already viewed or cancelled: nothing new"}),
            ),
        )),
    }
}
