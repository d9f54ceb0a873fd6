//! Legal facts (attestazioni opponibili ai terzi) and the AAR: lists and download metadata.

use super::auth::Caller;
use super::extract::{ApiPath, ApiQuery, StorageBase};
use super::notifications::accepted;
use super::problem::{ApiError, ApiResult};
use super::{AppState, DOWNLOAD_RETRY_AFTER_SECS, storage};
use crate::domain::legal_fact::LegalFactRecord;
use crate::domain::script::LegalFactKind;
use crate::store::{DownloadTarget, Notification};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use send_wire::{LegalFactDownloadMetadataResponse, LegalFactListElement, LegalFactsId};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/delivery-push/v2.0/{iun}/legal-facts", get(list_v20))
        .route("/delivery-push/{iun}/legal-facts", get(list_v1))
        .route(
            "/delivery-push/{iun}/download/legal-facts/{legal_fact_id}",
            get(download_by_id),
        )
        .route(
            "/delivery-push/{iun}/legal-facts/{legal_fact_type}/{legal_fact_id}",
            get(download_v1),
        )
        .route(
            "/delivery-push/{iun}/document/{document_type}",
            get(document),
        )
}

fn list(state: &AppState, n: &Notification, v1: bool) -> Vec<LegalFactListElement> {
    state
        .store
        .legal_facts_of(n)
        .into_iter()
        // The v1 LegalFactCategory enum has no NOTIFICATION_CANCELLED.
        .filter(|l| !(v1 && l.kind == LegalFactKind::NotificationCancelled))
        .map(|l| LegalFactListElement {
            tax_id: l.recipient_tax_id.clone(),
            iun: l.iun.clone(),
            legal_facts_id: LegalFactsId {
                key: l.key.clone(),
                category: l.kind.category().into(),
            },
        })
        .collect()
}

async fn list_v20(
    State(state): State<AppState>,
    Caller(ente): Caller,
    ApiPath(iun): ApiPath<String>,
) -> ApiResult<Json<Vec<LegalFactListElement>>> {
    let n = accepted(&state, ente, &iun)?;
    Ok(Json(list(&state, &n, false)))
}

async fn list_v1(
    State(state): State<AppState>,
    Caller(ente): Caller,
    ApiPath(iun): ApiPath<String>,
) -> ApiResult<Json<Vec<LegalFactListElement>>> {
    let n = accepted(&state, ente, &iun)?;
    Ok(Json(list(&state, &n, true)))
}

/// The record of `id` (with or without `safestorage://`) if it belongs to this notification.
fn find(state: &AppState, n: &Notification, id: &str) -> ApiResult<LegalFactRecord> {
    let key = id.strip_prefix("safestorage://").unwrap_or(id);
    if key.len() > 1024 || !key.bytes().all(|c| (b' '..=b'~').contains(&c)) {
        return Err(ApiError::invalid_parameter(
            "legalFactId",
            "legalFactId must be printable ASCII, at most 1024 characters",
        ));
    }
    state
        .store
        .legal_fact(key)
        .filter(|l| l.iun == n.iun.as_str())
        .ok_or_else(|| {
            ApiError::not_found(
                "PN_DELIVERYPUSH_NOTFOUND",
                format!("legal fact {key} not found for IUN {}", n.iun),
            )
        })
}

fn metadata(
    state: &AppState,
    base: &str,
    l: &LegalFactRecord,
) -> LegalFactDownloadMetadataResponse {
    let token = state.store.grant(
        l.ente,
        DownloadTarget::LegalFact(l.key.clone()),
        state.config.retry_after_downloads,
        &l.key,
    );
    LegalFactDownloadMetadataResponse {
        filename: l.filename(),
        content_length: l.render().len() as u64,
        retry_after: token.is_none().then_some(DOWNLOAD_RETRY_AFTER_SECS),
        url: token.map(|t| storage::download_url(&state.store.presigner(), base, &t, &l.key)),
    }
}

async fn download_by_id(
    State(state): State<AppState>,
    Caller(ente): Caller,
    base: StorageBase,
    ApiPath((iun, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<LegalFactDownloadMetadataResponse>> {
    let n = accepted(&state, ente, &iun)?;
    let l = find(&state, &n, &id)?;
    Ok(Json(metadata(&state, &base.0, &l)))
}

async fn download_v1(
    State(state): State<AppState>,
    Caller(ente): Caller,
    base: StorageBase,
    ApiPath((iun, kind, id)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<LegalFactDownloadMetadataResponse>> {
    const V1_TYPES: [&str; 6] = [
        "SENDER_ACK",
        "DIGITAL_DELIVERY",
        "ANALOG_DELIVERY",
        "RECIPIENT_ACCESS",
        "PEC_RECEIPT",
        "ANALOG_FAILURE_DELIVERY",
    ];
    if !V1_TYPES.contains(&kind.as_str()) {
        return Err(ApiError::invalid_parameter(
            "legalFactType",
            format!(
                "instance value (\"{kind}\") not found in enum (possible values: {V1_TYPES:?})"
            ),
        ));
    }
    let n = accepted(&state, ente, &iun)?;
    let l = find(&state, &n, &id)?;
    if l.kind.category() != kind {
        return Err(ApiError::not_found(
            "PN_DELIVERYPUSH_NOTFOUND",
            format!("legal fact {id} is a {}, not a {kind}", l.kind.category()),
        ));
    }
    Ok(Json(metadata(&state, &base.0, &l)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentQuery {
    document_id: Option<String>,
}

async fn document(
    State(state): State<AppState>,
    Caller(ente): Caller,
    base: StorageBase,
    ApiPath((iun, doc_type)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<DocumentQuery>,
) -> ApiResult<Json<LegalFactDownloadMetadataResponse>> {
    if doc_type != "AAR" {
        return Err(ApiError::invalid_parameter(
            "documentType",
            format!(
                "instance value (\"{doc_type}\") not found in enum (possible values: [\"AAR\"])"
            ),
        ));
    }
    let Some(id) = q.document_id else {
        return Err(ApiError::invalid_parameter(
            "documentId",
            "documentId is required: use AAR_GENERATION.details.generatedAarUrl",
        ));
    };
    let n = accepted(&state, ente, &iun)?;
    let l = find(&state, &n, &id)?;
    if l.kind != LegalFactKind::Aar {
        return Err(ApiError::not_found(
            "PN_DELIVERYPUSH_NOTFOUND",
            format!("{id} is not an AAR of IUN {iun}"),
        ));
    }
    Ok(Json(metadata(&state, &base.0, &l)))
}
