//! `POST /delivery/events/payment/pagopa`: the sender reports pagoPA payments of its notices.

use super::AppState;
use super::auth::Caller;
use super::extract::JsonBody;
use super::problem::{ApiError, ApiResult};
use crate::domain::request::{NOTICE_CODE, PA_TAX_ID};
use crate::domain::schema::Reader;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{DateTime, Utc};

pub fn router() -> Router<AppState> {
    Router::new().route("/delivery/events/payment/pagopa", post(pagopa))
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
                let date = em
                    .get("paymentDate")
                    .and_then(|d| d.as_str())
                    .and_then(|d| DateTime::parse_from_rfc3339(d).ok());
                if em.contains_key("paymentDate") && date.is_none() {
                    r.fail(
                        &format!("{p}/paymentDate"),
                        "paymentDate must be an RFC 3339 date-time with offset",
                    );
                }
                if let (Some(n), Some(c), Some(a), Some(d)) = (notice, creditor, amount, date) {
                    events.push((n, c, a, d.with_timezone(&Utc)));
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
