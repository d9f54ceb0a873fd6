//! `GET /delivery/{v}/notifications/sent/{iun}` (detail, every version) and the download
//! metadata of documents and payment attachments.

use super::auth::Caller;
use super::extract::{ApiPath, ApiQuery, StorageBase};
use super::problem::{ApiError, ApiResult};
use super::{AppState, storage};
use crate::domain::clock::rfc3339;
use crate::domain::ente::EnteId;
use crate::domain::iun::Iun;
use crate::domain::request::{Attachment, RequestVersion};
use crate::domain::timeline::DetailVersion;
use crate::store::{DownloadTarget, Notification};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use axum::{Json, Router};
use send_wire::NotificationAttachmentDownloadMetadataResponse;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    let mut r = Router::new()
        .route("/delivery/notifications/sent/{iun}/attachments/documents/{doc_idx}", get(document))
        .route("/delivery/notifications/sent/{iun}/attachments/payment/{recipient_idx}/{attachment_name}", get(payment));
    for v in DetailVersion::ALL {
        let path = format!("/delivery{}/notifications/sent/{{iun}}", v.path_segment());
        r = r.route(
            &path,
            get(move |s: State<AppState>, c: Caller, p: ApiPath<String>| detail(s, c, v, p)),
        );
    }
    r
}

/// Parses the `{iun}` path parameter as the gateway does.
pub fn parse_iun(text: &str) -> ApiResult<Iun> {
    Iun::parse(text).map_err(|e| ApiError::invalid_parameter("iun", e.to_string()))
}

fn not_found() -> ApiError {
    ApiError::not_found("PN_DELIVERY_NOTIFICATIONNOTFOUND", "Notification not found")
}

/// The caller's accepted notification (404 while in validation, refused, or another Ente's).
pub fn accepted(state: &AppState, ente: EnteId, iun: &str) -> ApiResult<Notification> {
    let iun = parse_iun(iun)?;
    state
        .store
        .notification(ente, &iun)
        .filter(|n| n.accepted())
        .ok_or_else(not_found)
}

/// Which request echo a detail version embeds (`SentNotification…`).
fn echo_version(v: DetailVersion) -> RequestVersion {
    match v {
        DetailVersion::V1 | DetailVersion::V20 => RequestVersion::V1,
        DetailVersion::V21 => RequestVersion::V21,
        DetailVersion::V23 | DetailVersion::V24 => RequestVersion::V23,
        DetailVersion::V25 | DetailVersion::V26 => RequestVersion::V24,
        DetailVersion::V27 | DetailVersion::V28 => RequestVersion::V25,
        DetailVersion::V29 => RequestVersion::V26,
    }
}

/// The full notification in the schema of `version`.
pub fn detail_body(n: &Notification, version: DetailVersion) -> Value {
    let mut m = n.request.echo(echo_version(version));
    m.insert("iun".into(), json!(n.iun.as_str()));
    m.insert("sentAt".into(), json!(rfc3339(n.sent_at)));
    m.insert("documentsAvailable".into(), json!(true));
    m.insert(
        "notificationStatus".into(),
        json!(n.status().shown_in(version)),
    );
    let visible: Vec<&crate::domain::timeline::TimelineElement> = n
        .timeline
        .iter()
        .filter(|e| e.visible_in(version))
        .collect();
    let history: Vec<Value> = n
        .tracker
        .history()
        .iter()
        .map(|h| {
            let related: Vec<String> = n
                .timeline
                .get(h.related.clone())
                .unwrap_or_default()
                .iter()
                .filter(|e| e.visible_in(version))
                .map(|e| e.element_id.with_iun(n.iun.as_str()))
                .collect();
            json!({"status": h.status.shown_in(version), "activeFrom": rfc3339(h.active_from), "relatedTimelineElements": related})
        })
        .collect();
    m.insert("notificationStatusHistory".into(), json!(history));
    m.insert(
        "timeline".into(),
        json!(
            visible
                .iter()
                .map(|e| e.render(version, n.iun.as_str(), n.sent_at))
                .collect::<Vec<_>>()
        ),
    );
    Value::Object(m)
}

async fn detail(
    State(state): State<AppState>,
    Caller(ente): Caller,
    version: DetailVersion,
    ApiPath(iun): ApiPath<String>,
) -> ApiResult<Response> {
    let iun = parse_iun(&iun)?;
    let bytes = state
        .store
        .rendered(
            ente,
            &iun,
            version as u8,
            |n| {
                if n.accepted() {
                    Ok(())
                } else {
                    Err(not_found())
                }
            },
            |n| {
                serde_json::to_vec(&detail_body(n, version))
                    .unwrap_or_default()
                    .into()
            },
        )
        .ok_or_else(not_found)??;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// Download metadata for an uploaded file referenced by a notification.
fn file_metadata(
    state: &AppState,
    base: &str,
    att: &Attachment,
) -> ApiResult<NotificationAttachmentDownloadMetadataResponse> {
    let key = att.file_ref.bare_key();
    let slot = state.store.slot(key).ok_or_else(|| {
        ApiError::not_found(
            "PN_DELIVERY_FILEINFONOTFOUND",
            format!("file {key} not found"),
        )
    })?;
    let v = slot.version(&att.file_ref.version_token).ok_or_else(|| {
        ApiError::not_found(
            "PN_DELIVERY_FILEINFONOTFOUND",
            format!("file {key} not found"),
        )
    })?;
    let token = state.store.grant(
        slot.ente,
        DownloadTarget::Upload {
            path: v.path.clone(),
            content_type: slot.content_type.clone(),
        },
        state.config.retry_after_downloads,
        &format!("{key}#{}", v.version_id),
    );
    Ok(NotificationAttachmentDownloadMetadataResponse {
        filename: key.to_string(),
        content_type: slot.content_type.clone(),
        content_length: v.size,
        sha256: v.sha256.clone(),
        retry_after: token.is_none().then_some(super::DOWNLOAD_RETRY_AFTER_SECS),
        url: token.map(|t| storage::download_url(&state.store.presigner(), base, &t, key)),
    })
}

async fn document(
    State(state): State<AppState>,
    Caller(ente): Caller,
    base: StorageBase,
    ApiPath((iun, doc_idx)): ApiPath<(String, i32)>,
) -> ApiResult<Json<NotificationAttachmentDownloadMetadataResponse>> {
    let n = accepted(&state, ente, &iun)?;
    let doc = usize::try_from(doc_idx)
        .ok()
        .and_then(|i| n.request.documents.get(i))
        .ok_or_else(|| {
            ApiError::not_found(
                "PN_DELIVERY_FILEINFONOTFOUND",
                format!(
                    "document {doc_idx} not found: the notification has {} document(s)",
                    n.request.documents.len()
                ),
            )
        })?;
    Ok(Json(file_metadata(&state, &base.0, &doc.file)?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentQuery {
    attachment_idx: Option<i32>,
}

async fn payment(
    State(state): State<AppState>,
    Caller(ente): Caller,
    base: StorageBase,
    ApiPath((iun, recipient_idx, name)): ApiPath<(String, i32, String)>,
    ApiQuery(q): ApiQuery<PaymentQuery>,
) -> ApiResult<Json<NotificationAttachmentDownloadMetadataResponse>> {
    if name != "PAGOPA" && name != "F24" {
        return Err(ApiError::invalid_parameter(
            "attachmentName",
            format!("ECMA 262 regex \"PAGOPA|F24\" does not match input string \"{name}\""),
        ));
    }
    let n = accepted(&state, ente, &iun)?;
    let missing = || {
        ApiError::not_found(
            "PN_DELIVERY_FILEINFONOTFOUND",
            format!("no {name} attachment for recipient {recipient_idx}"),
        )
    };
    let rec = usize::try_from(recipient_idx)
        .ok()
        .and_then(|i| n.request.recipients.get(i))
        .ok_or_else(missing)?;
    let idx = usize::try_from(q.attachment_idx.unwrap_or(0)).map_err(|_| missing())?;
    let payments = rec.payments.iter().flatten();
    let att = if name == "PAGOPA" {
        payments
            .filter_map(|p| p.pago_pa.as_ref().and_then(|pp| pp.attachment.as_ref()))
            .nth(idx)
    } else {
        payments
            .filter_map(|p| p.f24.as_ref().map(|f| &f.metadata_attachment))
            .nth(idx)
    };
    Ok(Json(file_metadata(
        &state,
        &base.0,
        att.ok_or_else(missing)?,
    )?))
}
