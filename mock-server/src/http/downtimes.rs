//! SEND's platform status and downtimes (pn-downtime-logs, `api-external-v1.yaml`): `GET
//! /status` with the open incidents (500 while any is open, as AgID asks of it), the resolved
//! downtimes of a month, and the legal fact of each. `POST /mock/downtimes` (in `admin`) opens
//! and closes them; while NOTIFICATION_CREATE or NOTIFICATION_VISUALIZATION is down, the calls
//! of that functionality answer 503 (`refuse_while_down`).

use super::AppState;
use super::auth::Caller;
use super::extract::{ApiPath, ApiQuery, StorageBase};
use super::problem::{ApiError, ApiResult};
use super::storage;
use crate::domain::clock::rfc3339;
use crate::domain::downtime::{Downtime, Functionality};
use crate::store::DownloadTarget;
use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Datelike;
use chrono_tz::Europe::Rome;
use send_wire::{
    LegalFactDownloadMetadataResponse, PnDowntimeEntry, PnDowntimeHistoryResponse, PnStatusResponse,
};
use serde::Deserialize;
use std::future::Future;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status", get(status))
        .route("/downtime/v1/resolved", get(resolved))
        .route("/downtime/v1/legal-facts/{legal_fact_id}", get(legal_fact))
}

pub fn entry(d: &Downtime) -> PnDowntimeEntry {
    PnDowntimeEntry {
        functionality: d.functionality.as_str().into(),
        status: if d.end.is_some() { "OK" } else { "KO" }.into(),
        start_date: rfc3339(d.start),
        end_date: d.end.map(rfc3339),
        legal_fact_id: d.legal_fact_id.clone(),
        file_available: d.end.map(|_| true),
    }
}

/// 200 when every functionality works, 500 while a downtime is open; both with the open
/// incidents, as `application/problem+json` (the bundle's and pn-downtime-logs' `/status`).
async fn status(State(state): State<AppState>, _: Caller) -> Response {
    let open: Vec<PnDowntimeEntry> = state
        .store
        .downtimes(|d| d.open_incidents().into_iter().map(entry).collect());
    let code = if open.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let body = PnStatusResponse {
        functionalities: Functionality::ALL
            .iter()
            .map(|f| f.as_str().into())
            .collect(),
        open_incidents: open,
    };
    (
        code,
        [(header::CONTENT_TYPE, "application/problem+json")],
        Json(body),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct Month {
    year: Option<String>,
    month: Option<String>,
}

/// The downtimes resolved in `year`/`month` (default: the current ones, Italian time). Public,
/// as SEND's status page reads it: a key is not needed.
async fn resolved(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<Month>,
) -> ApiResult<Json<PnDowntimeHistoryResponse>> {
    let today = state.store.clock.now().with_timezone(&Rome);
    let year = number(q.year.as_deref(), "year", 2023, 9999)?.unwrap_or(today.year() as i64);
    let month = number(q.month.as_deref(), "month", 1, 12)?.unwrap_or(today.month() as i64);
    let result = state.store.downtimes(|d| {
        d.resolved_in(year as i32, month as u32)
            .into_iter()
            .map(entry)
            .collect()
    });
    Ok(Json(PnDowntimeHistoryResponse {
        result,
        next_page: None,
    }))
}

fn number(text: Option<&str>, name: &str, min: i64, max: i64) -> ApiResult<Option<i64>> {
    let Some(text) = text else { return Ok(None) };
    match text.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(ApiError::invalid_parameter(
            name,
            format!("{name} `{text}` is not an integer from {min} to {max}"),
        )),
    }
}

/// A resolved downtime's legal fact: its name, size and a presigned URL (an API key is needed,
/// `api-key-read`).
async fn legal_fact(
    State(state): State<AppState>,
    Caller(ente): Caller,
    base: StorageBase,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<LegalFactDownloadMetadataResponse>> {
    let not_found = || {
        ApiError::not_found(
            "PN_DOWNTIME_NOT_FOUND",
            format!("no resolved downtime has the legal fact {id}"),
        )
    };
    let filename = state
        .store
        .downtimes(|d| d.by_legal_fact(&id).map(Downtime::filename))
        .ok_or_else(not_found)?;
    let pdf = state.store.downtime_legal_fact(&id).ok_or_else(not_found)?;
    let token = state.store.grant(
        ente,
        DownloadTarget::DowntimeLegalFact(id.clone()),
        state.config.retry_after_downloads,
        &id,
    );
    Ok(Json(LegalFactDownloadMetadataResponse {
        filename,
        content_length: pdf.len() as u64,
        retry_after: token.is_none().then_some(super::DOWNLOAD_RETRY_AFTER_SECS),
        url: token.map(|t| storage::download_url(&state.store.presigner(), &base.0, &t, &id)),
    }))
}

/// The functionality a SEND call belongs to, for the ones a downtime stops.
fn functionality_of(method: &Method, path: &str) -> Option<Functionality> {
    let creates = path == "/delivery/attachments/preload"
        || (path.starts_with("/delivery/") && path.ends_with("/requests"))
        || path == "/delivery/requests";
    if method == Method::POST && creates {
        return Some(Functionality::NOTIFICATION_CREATE);
    }
    let reads = path.contains("/notifications/sent/")
        || (path.starts_with("/delivery-push/")
            && (path.contains("legal-facts") || path.contains("/document/")));
    (method == Method::GET && reads).then_some(Functionality::NOTIFICATION_VISUALIZATION)
}

/// While a downtime of its functionality is open, a call answers 503, as SEND does in an
/// outage, and the mock says which downtime in `x-send-mock-reason`.
pub async fn refuse_while_down<F, Fut>(state: &AppState, req: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    if !state.store.any_downtime_open() {
        return next(req).await;
    }
    let down = functionality_of(req.method(), req.uri().path()).and_then(|f| {
        state.store.downtimes(|d| {
            d.open_incidents()
                .into_iter()
                .find(|i| i.functionality == f)
                .map(|i| (f, i.start))
        })
    });
    let Some((f, since)) = down else {
        return next(req).await;
    };
    let mut res = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable",
        "Service temporarily unavailable",
        vec![],
    )
    .into_response();
    let reason = format!(
        "{} is down since {} (POST /mock/downtimes); GET /status lists it",
        f.as_str(),
        rfc3339(since)
    );
    if let Ok(v) = reason.parse() {
        res.headers_mut().insert("x-send-mock-reason", v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_and_reading_calls_belong_to_their_functionality() {
        let create = Some(Functionality::NOTIFICATION_CREATE);
        let read = Some(Functionality::NOTIFICATION_VISUALIZATION);
        assert_eq!(
            functionality_of(&Method::POST, "/delivery/v2.6/requests"),
            create
        );
        assert_eq!(
            functionality_of(&Method::POST, "/delivery/requests"),
            create
        );
        assert_eq!(
            functionality_of(&Method::POST, "/delivery/attachments/preload"),
            create
        );
        assert_eq!(
            functionality_of(&Method::GET, "/delivery/v2.9/notifications/sent/ABCD"),
            read
        );
        assert_eq!(
            functionality_of(&Method::GET, "/delivery-push/v2.0/X/legal-facts"),
            read
        );
        assert_eq!(
            functionality_of(&Method::GET, "/delivery/v2.6/requests"),
            None
        );
        assert_eq!(functionality_of(&Method::GET, "/status"), None);
        assert_eq!(
            functionality_of(&Method::GET, "/delivery-progresses/v2.9/streams/x/events"),
            None
        );
    }
}
