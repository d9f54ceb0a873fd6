//! `POST /delivery/events/payment/pagopa`: the sender reports pagoPA payments of its notices.

use super::AppState;
use super::auth::Caller;
use super::extract::JsonBody;
use super::problem::{ApiError, ApiResult};
use crate::domain::request::{IUN, NOTICE_CODE, PA_TAX_ID, RECIPIENT_TYPE, TAX_ID};
use crate::domain::schema::Reader;
use crate::store::F24Payment;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/delivery/events/payment/pagopa", post(pagopa))
        .route("/delivery/events/payment/f24", post(f24))
}

/// `POST /delivery/events/payment/f24` (deprecated, still served): F24 payments, by IUN and
/// recipient; each becomes a PAYMENT element of that recipient's timeline.
async fn f24(
    State(state): State<AppState>,
    Caller(ente): Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<StatusCode> {
    const REQUIRED: [&str; 5] = [
        "iun",
        "paymentDate",
        "recipientTaxId",
        "recipientType",
        "amount",
    ];
    let events = read_events(&body, &REQUIRED, |r, em, p| {
        let iun = r.string(em, p, "iun", IUN);
        let tax_id = r.string(em, p, "recipientTaxId", TAX_ID);
        let rtype = r.string(em, p, "recipientType", RECIPIENT_TYPE);
        let amount = r.integer(em, p, "amount", i32::MIN as i64, i32::MAX as i64);
        let date = date_time(r, em, p);
        Some(F24Payment {
            iun: iun?,
            recipient_tax_id: tax_id?,
            recipient_type: rtype?,
            amount: amount?,
            paid_at: date?,
        })
    })?;
    state
        .store
        .f24_payment_events(ente, &events)
        .map_err(|missing| not_found("with such a recipient ", &missing))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The events of a payment report (`{"events": [...]}`), each with its `required` fields and
/// read by `read`; a Problem listing every violation when there is one.
fn read_events<T>(
    body: &Value,
    required: &[&str],
    mut read: impl FnMut(&mut Reader, &Map<String, Value>, &str) -> Option<T>,
) -> Result<Vec<T>, ApiError> {
    let mut r = Reader::default();
    let mut events = Vec::new();
    if let Some(m) = r.object(body, "") {
        r.required(m, "", &["events"]);
        if let Some(items) = r.array(m, "", "events", 0, usize::MAX) {
            for (i, it) in items.iter().enumerate() {
                let p = format!("/events/{i}");
                let Some(em) = r.object(it, &p) else { continue };
                r.required(em, &p, required);
                events.extend(read(&mut r, em, &p));
            }
        }
    }
    if !r.violations.is_empty() {
        return Err(ApiError::from_violations(r.violations));
    }
    Ok(events)
}

/// The events that name no accepted notification of the Ente.
fn not_found(qualifier: &str, missing: &[String]) -> ApiError {
    ApiError::not_found(
        "PN_DELIVERY_NOTIFICATIONNOTFOUND",
        format!(
            "no accepted notification of this Ente {qualifier}for {}",
            missing.join(", ")
        ),
    )
}

/// `paymentDate`, an RFC 3339 date-time with its offset.
fn date_time(
    r: &mut Reader,
    m: &serde_json::Map<String, serde_json::Value>,
    p: &str,
) -> Option<DateTime<Utc>> {
    let date = m
        .get("paymentDate")
        .and_then(|d| d.as_str())
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok());
    if m.contains_key("paymentDate") && date.is_none() {
        r.fail(
            &format!("{p}/paymentDate"),
            "paymentDate must be an RFC 3339 date-time with offset",
        );
    }
    date.map(|d| d.with_timezone(&Utc))
}

async fn pagopa(
    State(state): State<AppState>,
    Caller(ente): Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<StatusCode> {
    const REQUIRED: [&str; 4] = ["noticeCode", "creditorTaxId", "paymentDate", "amount"];
    let events = read_events(&body, &REQUIRED, |r, em, p| {
        let notice = r.string(em, p, "noticeCode", NOTICE_CODE);
        let creditor = r.string(em, p, "creditorTaxId", PA_TAX_ID);
        let amount = r.integer(em, p, "amount", i32::MIN as i64, i32::MAX as i64);
        let date = date_time(r, em, p);
        Some((notice?, creditor?, amount?, date?))
    })?;
    state
        .store
        .payment_events(ente, &events)
        .map_err(|missing| not_found("", &missing))?;
    Ok(StatusCode::NO_CONTENT)
}
