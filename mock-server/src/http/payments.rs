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
    let mut r = Reader::default();
    let mut events = Vec::new();
    if let Some(m) = r.object(&body, "") {
        r.required(m, "", &["events"]);
        if let Some(items) = r.array(m, "", "events", 0, usize::MAX) {
            for (i, it) in items.iter().enumerate() {
                let p = format!("/events/{i}");
                let Some(em) = r.object(it, &p) else { continue };
                r.required(
                    em,
                    &p,
                    &[
                        "iun",
                        "paymentDate",
                        "recipientTaxId",
                        "recipientType",
                        "amount",
                    ],
                );
                let iun = r.string(em, &p, "iun", IUN);
                let tax_id = r.string(em, &p, "recipientTaxId", TAX_ID);
                let rtype = r.string(em, &p, "recipientType", RECIPIENT_TYPE);
                let amount = r.integer(em, &p, "amount", i32::MIN as i64, i32::MAX as i64);
                let date = date_time(&mut r, em, &p);
                if let (Some(iun), Some(t), Some(rt), Some(a), Some(d)) =
                    (iun, tax_id, rtype, amount, date)
                {
                    events.push(F24Payment {
                        iun,
                        recipient_tax_id: t,
                        recipient_type: rt,
                        amount: a,
                        paid_at: d,
                    });
                }
            }
        }
    }
    if !r.violations.is_empty() {
        return Err(ApiError::from_violations(r.violations));
    }
    state
        .store
        .f24_payment_events(ente, &events)
        .map_err(|missing| {
            ApiError::not_found(
                "PN_DELIVERY_NOTIFICATIONNOTFOUND",
                format!(
                    "no accepted notification of this Ente with such a recipient for {}",
                    missing.join(", ")
                ),
            )
        })?;
    Ok(StatusCode::NO_CONTENT)
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
    let mut r = Reader::default();
    let mut events = Vec::new();
    if let Some(m) = r.object(&body, "") {
        r.required(m, "", &["events"]);
        if let Some(items) = r.array(m, "", "events", 0, usize::MAX) {
            for (i, it) in items.iter().enumerate() {
                let p = format!("/events/{i}");
                let Some(em) = r.object(it, &p) else { continue };
                r.required(
                    em,
                    &p,
                    &["noticeCode", "creditorTaxId", "paymentDate", "amount"],
                );
                let notice = r.string(em, &p, "noticeCode", NOTICE_CODE);
                let creditor = r.string(em, &p, "creditorTaxId", PA_TAX_ID);
                let amount = r.integer(em, &p, "amount", i32::MIN as i64, i32::MAX as i64);
                let date = date_time(&mut r, em, &p);
                if let (Some(n), Some(c), Some(a), Some(d)) = (notice, creditor, amount, date) {
                    events.push((n, c, a, d));
                }
            }
        }
    }
    if !r.violations.is_empty() {
        return Err(ApiError::from_violations(r.violations));
    }
    state
        .store
        .payment_events(ente, &events)
        .map_err(|missing| {
            ApiError::not_found(
                "PN_DELIVERY_NOTIFICATIONNOTFOUND",
                format!(
                    "no accepted notification of this Ente for {}",
                    missing.join(", ")
                ),
            )
        })?;
    Ok(StatusCode::NO_CONTENT)
}
