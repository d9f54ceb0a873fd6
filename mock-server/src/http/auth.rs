//! Who is calling: SEND's gateway identifies the Ente by `x-api-key` (a Lambda authorizer);
//! keys flagged `pdnd` also need an `Authorization: Bearer` PDND voucher, others must not
//! send one.

use super::AppState;
use super::problem::ApiError;
use crate::domain::ente::EnteId;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, header};

/// The header SEND reads the API key from. A `HeaderName` constant: a lookup by `&str` parses
/// the name on every request.
pub const API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// The authenticated Ente (index in the configuration).
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub EnteId);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authorize(parts, state).map_err(|e| {
            if state.config.gateway_denials {
                e.into_gateway_denial()
            } else {
                e
            }
        })
    }
}

/// What SEND's authorizer decides for a request: the Ente, or why it is denied.
fn authorize(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let Some(key) = parts.headers.get(&API_KEY) else {
        return Err(ApiError::unauthorized(
            "Unauthorized: the x-api-key header is missing",
        ));
    };
    let key = key.to_str().unwrap_or("");
    let Some(idx) = state.store.ente_with_key(key) else {
        return Err(ApiError::forbidden(
            "PN_FORBIDDEN",
            "User is not authorized to access this resource with an explicit deny (unknown x-api-key)",
        ));
    };
    let ente = state.store.ente(idx);
    let bearer = parts.headers.get(header::AUTHORIZATION);
    match (ente.pdnd, bearer) {
        (true, None) => Err(ApiError::forbidden(
            "PN_FORBIDDEN",
            "User is not authorized to access this resource with an explicit deny (this API key requires a PDND voucher in Authorization: Bearer)",
        )),
        (true, Some(v)) => {
            let token = v.to_str().unwrap_or("").strip_prefix("Bearer ").ok_or_else(|| {
                    ApiError::forbidden("PN_FORBIDDEN", "User is not authorized to access this resource with an explicit deny (Authorization must be `Bearer <PDND voucher>`)")
                })?;
            let client = state.pdnd.verify(token, chrono::Utc::now().timestamp()).map_err(|why| {
                    ApiError::forbidden("PN_FORBIDDEN", format!("User is not authorized to access this resource with an explicit deny ({why})"))
                })?;
            if ente.pdnd_client_id.as_deref() != Some(client.as_str()) {
                return Err(ApiError::forbidden(
                    "PN_FORBIDDEN",
                    format!(
                        "User is not authorized to access this resource with an explicit deny (the voucher belongs to PDND client {client}, not to this API key's Ente)"
                    ),
                ));
            }
            Ok(Caller(idx))
        }
        (false, Some(_)) => Err(ApiError::forbidden(
            "PN_FORBIDDEN",
            "User is not authorized to access this resource with an explicit deny (this API key is not enabled for PDND: send no Authorization header)",
        )),
        _ => Ok(Caller(idx)),
    }
}
