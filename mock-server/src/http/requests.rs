//! `POST /delivery/{v}/requests` (send) and `GET /delivery/{v}/requests` (request status), for
//! every request version SEND still routes.

use super::AppState;
use super::auth::Caller;
use super::extract::{ApiQuery, JsonBody};
use super::problem::{ApiError, ApiResult};
use crate::domain::request::{self, RequestVersion};
use crate::domain::rules::{self, SenderProfile, Verdict};
use crate::domain::status::Status;
use crate::store::{Notification, RequestLookup, WAITING_RETRY_AFTER};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use send_wire::{NewNotificationResponse, ProblemError};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    let mut r = Router::new();
    for v in RequestVersion::ALL {
        let path = format!("/delivery{}/requests", v.path_segment());
        r = r.route(
            &path,
            post(move |s: State<AppState>, c: Caller, b: JsonBody| send(s, c, v, b)).get(
                move |s: State<AppState>, c: Caller, q: ApiQuery<StatusQuery>| status(s, c, v, q),
            ),
        );
    }
    r
}

async fn send(
    State(state): State<AppState>,
    Caller(ente): Caller,
    version: RequestVersion,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<NewNotificationResponse>)> {
    let req = request::parse(version, &body).map_err(ApiError::from_violations)?;
    let profile = state.store.ente(ente);
    let key_groups = profile.api_key_groups();
    let active_groups = profile.active_group_ids();
    let sender = SenderProfile {
        tax_id: &profile.tax_id,
        groups: &key_groups,
        active_groups: &active_groups,
        taxonomy_codes: &profile.taxonomy_codes,
    };
    match rules::check(&req, version, &sender) {
        Verdict::Ok => {}
        Verdict::WrongSender(e) => return Err(ApiError::forbidden(e.code, e.detail)),
        Verdict::Invalid(errs) => {
            let detail = errs
                .iter()
                .map(|e| e.detail.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                detail,
                errs.into_iter()
                    .map(|e| ProblemError {
                        code: e.code.into(),
                        element: e.element,
                        detail: Some(e.detail),
                    })
                    .collect(),
            ));
        }
    }
    let protocol = req.pa_protocol_number.clone();
    let token = req.idempotence_token.clone();
    let iun = state
        .store
        .submit(ente, version, req, &body)
        .map_err(ApiError::conflict)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(NewNotificationResponse {
            notification_request_id: iun.request_id(),
            pa_protocol_number: protocol,
            idempotence_token: token,
        }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusQuery {
    notification_request_id: Option<String>,
    /// Older clients (and SEND's own tutorials) use `requestId`.
    request_id: Option<String>,
    pa_protocol_number: Option<String>,
    idempotence_token: Option<String>,
}

async fn status(
    State(state): State<AppState>,
    Caller(ente): Caller,
    version: RequestVersion,
    ApiQuery(q): ApiQuery<StatusQuery>,
) -> ApiResult<Json<Value>> {
    let lookup = match (
        q.notification_request_id.or(q.request_id),
        q.pa_protocol_number,
        q.idempotence_token,
    ) {
        (Some(id), _, _) => {
            let ok = id.len() == 36
                && id
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='));
            if !ok {
                return Err(ApiError::invalid_parameter(
                    "notificationRequestId",
                    format!(
                        "ECMA 262 regex \"^[A-Za-z0-9+/=]{{36}}$\" does not match input string \"{id}\""
                    ),
                ));
            }
            RequestLookup::ById(id)
        }
        (None, Some(protocol), Some(token)) => RequestLookup::ByProtocol { protocol, token },
        (None, Some(_), None) => {
            return Err(ApiError::bad_request(
                "PN_GENERIC_INVALIDPARAMETER_REQUIRED",
                Some("idempotenceToken".into()),
                "idempotenceToken is required together with paProtocolNumber",
            ));
        }
        (None, None, Some(_)) => {
            return Err(ApiError::bad_request(
                "PN_GENERIC_INVALIDPARAMETER_REQUIRED",
                Some("paProtocolNumber".into()),
                "paProtocolNumber is required together with idempotenceToken",
            ));
        }
        (None, None, None) => {
            return Err(ApiError::bad_request(
                "PN_GENERIC_INVALIDPARAMETER_REQUIRED",
                Some("notificationRequestId".into()),
                "give notificationRequestId, or paProtocolNumber and idempotenceToken",
            ));
        }
    };
    let n = state.store.request_status(ente, &lookup).ok_or_else(|| {
        ApiError::not_found(
            "PN_DELIVERY_NOTIFICATIONNOTFOUND",
            "Notification request not found",
        )
    })?;
    Ok(Json(status_body(&n, version)))
}

/// The request-status answer of `version`: the request echo plus status, iun or errors.
pub fn status_body(n: &Notification, version: RequestVersion) -> Value {
    let mut m = n.request.echo(version);
    m.insert("notificationRequestId".into(), json!(n.request_id()));
    match n.status() {
        Status::IN_VALIDATION => {
            m.insert("notificationRequestStatus".into(), json!("WAITING"));
            m.insert("retryAfter".into(), json!(WAITING_RETRY_AFTER));
        }
        Status::REFUSED => {
            m.insert("notificationRequestStatus".into(), json!("REFUSED"));
            let errors: Vec<Value> = n
                .refusal
                .iter()
                .flatten()
                .map(|r| {
                    let mut e = json!({"code": r.error_code, "detail": r.detail});
                    if version >= RequestVersion::V25
                        && let Some(i) = r.rec_index
                    {
                        e["recIndex"] = json!(i);
                    }
                    e
                })
                .collect();
            m.insert("errors".into(), json!(errors));
        }
        _ => {
            m.insert("notificationRequestStatus".into(), json!("ACCEPTED"));
            m.insert("iun".into(), json!(n.iun.as_str()));
        }
    }
    Value::Object(m)
}
