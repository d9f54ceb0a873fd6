//! Cucumber steps, one module per test case; what several share lives here.

pub mod costo;
pub mod downloads;
pub mod error;
pub mod extra;
pub mod invio;
pub mod streams;

use crate::world::{Poll, SendWorld, Uploaded};
use error::{StepError, StepResult};
use reqwest::Method;
use send_wire::notification::{
    Attachment, Digests, DigitalDomicile, DigitalDomicileType, FileRef, NewNotificationRequest,
    NotificationDocument, NotificationPaymentItem, NotificationRecipient, PagoPaIntMode,
    PagoPaPayment, PhysicalAddress, RequestState, RequestStatusResponse, SentNotification,
};
use send_wire::timeline::{Category, Status};
use send_wire::values::Sha256;
use send_wire::{NotificationFeePolicy, NotificationPriceResponseV23};
use serde_json::{Value, json};
use std::time::Duration;

/// A small, real PDF naming what it is.
pub fn pdf(title: &str) -> Vec<u8> {
    let stream = format!("BT /F1 14 Tf 56 780 Td ({title}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = vec![];
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).into_bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").into_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .into_bytes(),
    );
    out
}

/// Asks one upload slot for `bytes` (a PDF); returns it with the base64 sha256 declared.
pub async fn preload_pdf(
    w: &SendWorld,
    bytes: &[u8],
) -> StepResult<(send_wire::PreLoadResponse, Sha256)> {
    let sha = Sha256::of(bytes);
    let mut slots = w
        .client()
        .preload(&[("0".into(), "application/pdf".into(), sha.to_string())])
        .await?;
    let slot = slots
        .pop()
        .ok_or_else(|| StepError::check("preload answered no slot"))?;
    Ok((slot, sha))
}

/// Preloads and uploads a PDF under `name`, as SEND asks: base64 sha256 in preload, upload
/// and send, versionToken from x-amz-version-id.
pub async fn upload_pdf(w: &mut SendWorld, name: &str) -> StepResult {
    let bytes = match (&w.ctx.profile.document_file, name) {
        (Some(f), "document") => std::fs::read(f).map_err(|source| StepError::File {
            field: "document_file",
            path: f.clone(),
            source,
        })?,
        _ => pdf(&format!("{} - {name}", w.ctx.profile.name)),
    };
    let (slot, sha) = preload_pdf(w, &bytes).await?;
    let version = w
        .client()
        .upload(&slot, "application/pdf", &bytes, sha.as_str())
        .await?;
    w.uploads.insert(
        name.to_string(),
        Uploaded {
            key: slot.key,
            version,
            sha256: sha,
            bytes,
        },
    );
    Ok(())
}

fn attachment(u: &Uploaded) -> Attachment {
    Attachment {
        digests: Digests {
            sha256: u.sha256.clone(),
        },
        content_type: "application/pdf".into(),
        reference: FileRef {
            key: u.key.clone(),
            version_token: u.version.clone(),
        },
    }
}

/// Which recipient of the profile a notification goes to.
#[derive(Debug, Clone, Copy)]
pub enum Who {
    /// The first recipient with a PEC.
    Digital,
    /// The first recipient without one.
    Analog,
}

/// The profile's recipient for `who`, as SEND's request spells it.
fn recipient(w: &SendWorld, who: Who, address: Option<&str>) -> StepResult<NotificationRecipient> {
    let rec = match who {
        Who::Digital => w.ctx.profile.recipients.iter().find(|r| r.pec.is_some()),
        Who::Analog => w.ctx.profile.recipients.iter().find(|r| r.pec.is_none()),
    }
    .ok_or_else(|| {
        StepError::Profile(match who {
            Who::Digital => "has no digital (with pec) recipient".into(),
            Who::Analog => "has no analog (without pec) recipient".into(),
        })
    })?;
    Ok(NotificationRecipient {
        recipient_type: rec.recipient_type,
        tax_id: rec.tax_id.clone(),
        denomination: rec.denomination.clone(),
        digital_domicile: rec.pec.as_ref().map(|pec| DigitalDomicile {
            kind: DigitalDomicileType::PEC,
            address: pec.clone(),
        }),
        physical_address: Some(PhysicalAddress {
            address: address.unwrap_or(&rec.address).to_string(),
            municipality: rec.municipality.clone(),
            zip: rec.zip.clone(),
            province: rec.province.clone(),
            foreign_state: rec.foreign_state.clone(),
        }),
        payments: vec![],
    })
}

/// A request for the profile's Ente (the request version of the client's API family).
pub fn build_request(
    w: &SendWorld,
    who: Who,
    address_override: Option<&str>,
) -> StepResult<NewNotificationRequest> {
    let p = &w.ctx.profile;
    let recipient = recipient(w, who, address_override)?;
    let doc = w.uploaded("document")?;
    let document = NotificationDocument {
        file: attachment(doc),
        title: Some("Atto notificato".into()),
        doc_idx: Some("0".into()),
    };
    let run = uuid::Uuid::new_v4().simple().to_string();
    let delivery_mode = p.fee_policy == NotificationFeePolicy::DELIVERY_MODE;
    Ok(NewNotificationRequest {
        pa_protocol_number: format!("SC-{}", &run[..16]),
        idempotence_token: Some(format!("send-conformance-{}", &run[16..])),
        subject: "Notifica di prova (send-conformance)".into(),
        sender_denomination: p.name.clone(),
        sender_tax_id: p.tax_id.clone(),
        taxonomy_code: p.taxonomy_code.clone(),
        notification_fee_policy: p.fee_policy,
        physical_communication_type: p.physical_communication_type,
        pago_pa_int_mode: Some(PagoPaIntMode::NONE),
        pa_fee: delivery_mode.then_some(p.pa_fee),
        vat: delivery_mode.then_some(p.vat),
        group: p.group.clone(),
        recipients: vec![recipient],
        documents: vec![document],
    })
}

/// Adds a pagoPA payment (with the uploaded pagoPA form) to the first recipient.
pub fn add_payment(
    w: &mut SendWorld,
    request: &mut NewNotificationRequest,
    creditor: &str,
) -> StepResult {
    let p = &w.ctx.profile;
    let form = w.uploaded("pagoPA form")?;
    let notice = p.next_notice_code();
    let payment = PagoPaPayment {
        notice_code: notice.clone(),
        creditor_tax_id: creditor.to_string(),
        apply_cost: p.fee_policy == NotificationFeePolicy::DELIVERY_MODE,
        attachment: Some(attachment(form)),
    };
    let first = request
        .recipients
        .first_mut()
        .ok_or(StepError::Earlier("the request has no recipient"))?;
    first.payments = vec![NotificationPaymentItem {
        pago_pa: Some(payment),
        f24: None,
    }];
    request.pago_pa_int_mode = Some(p.pago_pa_int_mode);
    w.notice = Some((creditor.to_string(), notice));
    Ok(())
}

/// Sends the World's request; keeps the notificationRequestId.
pub async fn send(w: &mut SendWorld) -> StepResult {
    let request = w.request.clone().ok_or(StepError::Earlier(
        "no notification was prepared in an earlier step",
    ))?;
    register_debt_positions(w, &request).await?;
    let id = w.client().send(&request).await?;
    if id.len() != 36 {
        return Err(StepError::check(format!(
            "the notificationRequestId `{id}` is not 36 characters"
        )));
    }
    w.evidence(|e| {
        e.requests.push(request.clone());
        e.notification_request_ids.push(id.clone())
    });
    w.request_id = Some(id);
    Ok(())
}

/// ASYNC: SEND checks each pagoPA payment against pagoPA's GPD, so the debt position must exist
/// before the notification is sent. On UAT the Ente creates it in GPD itself; a mock is told
/// of it (`POST /mock/gpd/positions`), as the Ente's GPD would be.
async fn register_debt_positions(w: &SendWorld, request: &NewNotificationRequest) -> StepResult {
    if request.pago_pa_int_mode != Some(PagoPaIntMode::ASYNC) || !w.ctx.target.is_mock() {
        return Ok(());
    }
    let pago_pa = request
        .recipients
        .iter()
        .flat_map(|r| &r.payments)
        .filter_map(|p| p.pago_pa.as_ref());
    for p in pago_pa {
        let position = json!({"creditorTaxId": p.creditor_tax_id, "noticeCode": p.notice_code});
        w.client()
            .expect(
                Method::POST,
                "/mock/gpd/positions",
                Some(&position),
                201,
                "the debt position",
            )
            .await?;
    }
    Ok(())
}

/// Polls the request status until it is not WAITING; returns the last status answer.
pub async fn settle(w: &mut SendWorld) -> StepResult<RequestStatusResponse> {
    let id = w.request_id.clone().ok_or(StepError::Earlier(
        "the notification was not sent in an earlier step",
    ))?;
    let client = w.client().clone();
    w.poll("the request's validation", || {
        let (client, id) = (client.clone(), id.clone());
        async move {
            let st = client.request_status(&id).await?;
            if st.notification_request_status.is(RequestState::WAITING) {
                Ok(Poll::Wait {
                    suggested: st.retry_after.map(Duration::from_secs),
                    seen: "WAITING".into(),
                })
            } else {
                Ok(Poll::Ready(st))
            }
        }
    })
    .await
}

/// Waits for acceptance; keeps the IUN.
pub async fn accepted(w: &mut SendWorld) -> StepResult {
    let st = settle(w).await?;
    if !st.notification_request_status.is(RequestState::ACCEPTED) {
        return Err(StepError::check(format!(
            "the request was {}, not ACCEPTED: {}",
            st.notification_request_status,
            to_json(&st.errors)
        )));
    }
    let iun = st
        .iun
        .ok_or_else(|| StepError::check("ACCEPTED without an iun"))?;
    w.keep_iun(iun);
    Ok(())
}

/// Statuses from which a notification counts as delivered.
pub const DELIVERED_OR_LATER: [Status; 3] =
    [Status::DELIVERED, Status::VIEWED, Status::EFFECTIVE_DATE];

/// Keeps the detail's status history and timeline, as SEND sent them, for the evidence.
pub fn keep_history(w: &SendWorld, d: &SentNotification) {
    let (history, timeline) = (d.notification_status_history.clone(), d.timeline.clone());
    w.evidence(|e| {
        e.status_history = history;
        e.timeline = timeline;
    });
}

/// A typed SEND value written back as JSON (for the evidence).
pub fn to_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("a SEND value serialises")
}

/// Polls the detail until its status history contains one of `statuses`.
pub async fn reach_status(w: &mut SendWorld, statuses: &[Status]) -> StepResult<SentNotification> {
    let iun = w.iun()?;
    let client = w.client().clone();
    let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    let detail = w
        .poll(&format!("status {}", names.join(" or ")), || {
            let (client, iun) = (client.clone(), iun.clone());
            async move {
                let d = client.detail(&iun).await?;
                if d.statuses().any(|h| h.any_of(statuses)) {
                    Ok(Poll::Ready(d))
                } else {
                    let seen: Vec<&str> = d.statuses().map(|s| s.as_str()).collect();
                    Ok(Poll::Wait {
                        suggested: None,
                        seen: format!("status history {}", seen.join(" → ")),
                    })
                }
            }
        })
        .await?;
    keep_history(w, &detail);
    Ok(detail)
}

/// An accepted notification, built, sent and waited for in one go.
pub async fn accepted_notification(
    w: &mut SendWorld,
    who: Who,
    payment_creditor: Option<String>,
) -> StepResult {
    upload_pdf(w, "document").await?;
    let mut request = build_request(w, who, None)?;
    if let Some(creditor) = payment_creditor {
        upload_pdf(w, "pagoPA form").await?;
        add_payment(w, &mut request, &creditor)?;
    }
    w.request = Some(request);
    send(w).await?;
    accepted(w).await
}
