//! `GET /delivery/v2.3/price/{paTaxId}/{noticeCode}` and v1 `/delivery/price/...`.
//! Like SEND, any authenticated Ente may ask (in TC-COSTO-01 scenario 2 the creditor asks).

use super::AppState;
use super::auth::Caller;
use super::extract::ApiPath;
use super::problem::{ApiError, ApiResult};
use crate::domain::price::end_of_rome_day;
use crate::store::PriceError;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use send_wire::NotificationPriceResponseV23;
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/delivery/v2.3/price/{pa_tax_id}/{notice_code}",
            get(price_v23),
        )
        .route("/delivery/price/{pa_tax_id}/{notice_code}", get(price_v1))
}

fn lookup(state: &AppState, pa: &str, notice: &str) -> ApiResult<crate::store::PriceView> {
    if pa.len() != 11 || !pa.bytes().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::invalid_parameter(
            "paTaxId",
            format!("paTaxId must be 11 digits, got \"{pa}\""),
        ));
    }
    if notice.len() != 18 || !notice.bytes().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::invalid_parameter(
            "noticeCode",
            format!("noticeCode must be 18 digits, got \"{notice}\""),
        ));
    }
    state.store.price(pa, notice).map_err(|e| match e {
        PriceError::NotFound => ApiError::not_found(
            "PN_DELIVERY_NOTIFICATIONCOSTNOTFOUND",
            format!("No notification cost found for creditorTaxId={pa} noticeCode={notice}"),
        ),
        PriceError::NotAccepted => ApiError::not_found(
            "PN_DELIVERY_PUSH_NOTIFICATION_NOT_ACCEPTED",
            format!(
                "the notification with creditorTaxId={pa} noticeCode={notice} is not accepted yet"
            ),
        ),
        PriceError::Cancelled => ApiError::not_found(
            "PN_DELIVERYPUSH_NOTIFICATION_CANCELLED",
            format!("the notification with creditorTaxId={pa} noticeCode={notice} was cancelled"),
        ),
    })
}

async fn price_v23(
    State(state): State<AppState>,
    _: Caller,
    ApiPath((pa, notice)): ApiPath<(String, String)>,
) -> ApiResult<Json<NotificationPriceResponseV23>> {
    let p = lookup(&state, &pa, &notice)?;
    Ok(Json(NotificationPriceResponseV23 {
        iun: Some(p.iun.to_string()),
        partial_price: Some(p.price.partial),
        total_price: Some(p.price.total),
        vat: Some(p.price.vat),
        pa_fee: Some(p.price.pa_fee),
        refinement_date: p.refinement_date.map(end_of_rome_day),
        notification_view_date: p.view_date.map(end_of_rome_day),
        send_fee: Some(p.price.send_fee),
        analog_cost: Some(p.price.analog_cost),
    }))
}

async fn price_v1(
    State(state): State<AppState>,
    _: Caller,
    ApiPath((pa, notice)): ApiPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    let p = lookup(&state, &pa, &notice)?;
    let mut v = json!({"iun": p.iun.as_str(), "amount": p.price.total});
    if let Some(r) = p.refinement_date {
        v["refinementDate"] = json!(end_of_rome_day(r));
    }
    if let Some(d) = p.view_date {
        v["notificationViewDate"] = json!(end_of_rome_day(d));
    }
    Ok(Json(v))
}
