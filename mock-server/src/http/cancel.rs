//! `PUT /delivery-push/v2.0/notifications/cancel/{iun}`.

use super::AppState;
use super::auth::Caller;
use super::extract::ApiPath;
use super::notifications::parse_iun;
use super::problem::{ApiError, ApiResult};
use crate::store::CancelOutcome;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::put;
use axum::{Json, Router};
use send_wire::{RequestStatus, StatusDetail};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/delivery-push/v2.0/notifications/cancel/{iun}",
        put(cancel),
    )
}

async fn cancel(
    State(state): State<AppState>,
    Caller(ente): Caller,
    ApiPath(iun): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<RequestStatus>)> {
    let iun = parse_iun(&iun)?;
    let outcome = state.store.cancel(ente, &iun).ok_or_else(|| {
        ApiError::not_found("PN_DELIVERY_NOTIFICATIONNOTFOUND", "Notification not found")
    })?;
    let (code, level, detail) = match outcome {
        CancelOutcome::Accepted => (
            "NOTIFICATION_CANCELLATION_ACCEPTED",
            "INFO",
            "La notifica sarà annullata",
        ),
        CancelOutcome::AlreadyCancelled => (
            "NOTIFICATION_ALREADY_CANCELLED",
            "WARN",
            "La notifica è già stata annullata",
        ),
        CancelOutcome::Refused => (
            "NOTIFICATION_REFUSED",
            "WARN",
            "La richiesta di notifica è stata rifiutata: nulla da annullare",
        ),
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(RequestStatus {
            status: "OK".into(),
            details: vec![StatusDetail {
                code: code.into(),
                level: Some(level.into()),
                detail: Some(detail.into()),
            }],
        }),
    ))
}
