//! Cucumber steps, one module per test case; what several share lives here.

pub mod costo;
pub mod downloads;
pub mod extra;
pub mod invio;
pub mod streams;

use crate::world::{Poll, SendWorld, Uploaded};
use base64::Engine as _;
use reqwest::Method;
use send_wire::NotificationFeePolicy;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;

pub fn sha256_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

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
) -> Result<(send_wire::PreLoadResponse, String), String> {
    let sha = sha256_b64(bytes);
    let mut slots = w
        .client()
        .preload(&[("0".into(), "application/pdf".into(), sha.clone())])
        .await
        .map_err(|e| e.to_string())?;
    let slot = slots.pop().ok_or("preload answered no slot")?;
    Ok((slot, sha))
}

/// Preloads and uploads a PDF under `name`, as SEND asks: base64 sha256 in preload, upload
/// and send, versionToken from x-amz-version-id.
pub async fn upload_pdf(w: &mut SendWorld, name: &str) -> Result<(), String> {
    let bytes = match (&w.ctx.profile.document_file, name) {
        (Some(f), "document") => {
            std::fs::read(f).map_err(|e| format!("document_file {}: {e}", f.display()))?
        }
        _ => pdf(&format!("{} - {name}", w.ctx.profile.name)),
    };
    let (slot, sha) = preload_pdf(w, &bytes).await?;
    let version = w
        .client()
        .upload(&slot, "application/pdf", &bytes, &sha)
        .await
        .map_err(|e| e.to_string())?;
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

fn attachment(u: &Uploaded) -> Value {
    json!({"contentType": "application/pdf", "digests": {"sha256": u.sha256}, "ref": {"key": u.key, "versionToken": u.version}})
}

/// Which recipient of the profile a notification goes to.
#[derive(Debug, Clone, Copy)]
pub enum Who {
    /// The first recipient with a PEC.
    Digital,
    /// The first recipient without one.
    Analog,
}

/// A request for the profile's Ente (the request version of the client's API family).
pub fn build_request(
    w: &SendWorld,
    who: Who,
    address_override: Option<&str>,
) -> Result<Value, String> {
    let p = &w.ctx.profile;
    let rec = match who {
        Who::Digital => p.recipients.iter().find(|r| r.pec.is_some()),
        Who::Analog => p.recipients.iter().find(|r| r.pec.is_none()),
    }
    .ok_or_else(|| {
        format!(
            "the Ente profile has no {} recipient",
            if matches!(who, Who::Digital) {
                "digital (with pec)"
            } else {
                "analog (without pec)"
            }
        )
    })?;
    let doc = w
        .uploads
        .get("document")
        .ok_or("no document uploaded in an earlier step")?;
    let mut address = json!({"address": address_override.unwrap_or(&rec.address), "municipality": rec.municipality});
    for (k, v) in [
        ("zip", &rec.zip),
        ("province", &rec.province),
        ("foreignState", &rec.foreign_state),
    ] {
        if let Some(v) = v {
            address[k] = json!(v);
        }
    }
    let mut recipient = json!({"recipientType": rec.recipient_type, "taxId": rec.tax_id, "denomination": rec.denomination, "physicalAddress": address});
    if let Some(pec) = &rec.pec {
        recipient["digitalDomicile"] = json!({"type": "PEC", "address": pec});
    }
    let mut document = attachment(doc);
    document["docIdx"] = json!("0");
    document["title"] = json!("Atto notificato");
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut body = json!({
        "paProtocolNumber": format!("SC-{}", &run[..16]),
        "idempotenceToken": format!("send-conformance-{}", &run[16..]),
        "subject": "Notifica di prova (send-conformance)",
        "senderDenomination": p.name,
        "senderTaxId": p.tax_id,
        "taxonomyCode": p.taxonomy_code,
        "notificationFeePolicy": p.fee_policy.as_str(),
        "physicalCommunicationType": p.physical_communication_type.as_str(),
        "pagoPaIntMode": "NONE",
        "recipients": [recipient],
        "documents": [document]
    });
    if p.fee_policy == NotificationFeePolicy::DELIVERY_MODE {
        body["paFee"] = json!(p.pa_fee);
        body["vat"] = json!(p.vat);
    }
    if let Some(g) = &p.group {
        body["group"] = json!(g);
    }
    Ok(body)
}

/// Adds a pagoPA payment (with the uploaded pagoPA form) to the first recipient.
pub fn add_payment(w: &mut SendWorld, body: &mut Value, creditor: &str) -> Result<(), String> {
    let p = &w.ctx.profile;
    let form = w
        .uploads
        .get("pagoPA form")
        .ok_or("no pagoPA form uploaded in an earlier step")?;
    let notice = p.next_notice_code();
    let apply_cost = p.fee_policy == NotificationFeePolicy::DELIVERY_MODE;
    body["recipients"][0]["payments"] = json!([{"pagoPa": {"noticeCode": notice, "creditorTaxId": creditor, "applyCost": apply_cost, "attachment": attachment(form)}}]);
    body["pagoPaIntMode"] = json!(format!("{:?}", p.pago_pa_int_mode));
    w.notice = Some((creditor.to_string(), notice));
    Ok(())
}

/// Sends the World's request; keeps the notificationRequestId.
pub async fn send(w: &mut SendWorld) -> Result<(), String> {
    let body = w
        .request
        .clone()
        .ok_or("no notification was prepared in an earlier step")?;
    register_debt_positions(w, &body).await?;
    let id = w.client().send(&body).await.map_err(|e| e.to_string())?;
    if id.len() != 36 {
        return Err(format!(
            "the notificationRequestId `{id}` is not 36 characters"
        ));
    }
    w.evidence(|e| {
        e.requests.push(body);
        e.notification_request_ids.push(id.clone())
    });
    w.request_id = Some(id);
    Ok(())
}

/// ASYNC: SEND checks each pagoPA payment against pagoPA's GPD, so the debt position must exist
/// before the notification is sent. On UAT the Ente creates it in GPD itself; a mock is told
/// of it (`POST /mock/gpd/positions`), as the Ente's GPD would be.
async fn register_debt_positions(w: &SendWorld, body: &Value) -> Result<(), String> {
    if body["pagoPaIntMode"] != "ASYNC" || !w.ctx.target.is_mock() {
        return Ok(());
    }
    let payments = body["recipients"].as_array().into_iter().flatten();
    let pago_pa = payments
        .flat_map(|r| r["payments"].as_array().into_iter().flatten())
        .filter_map(|p| p.get("pagoPa"));
    for p in pago_pa {
        let position = json!({"creditorTaxId": p["creditorTaxId"], "noticeCode": p["noticeCode"]});
        w.client()
            .expect(
                Method::POST,
                "/mock/gpd/positions",
                Some(&position),
                201,
                "the debt position",
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Polls the request status until it is not WAITING; returns the last status answer.
pub async fn settle(w: &mut SendWorld) -> Result<Value, String> {
    let id = w
        .request_id
        .clone()
        .ok_or("the notification was not sent in an earlier step")?;
    let client = w.client().clone();
    let answer = w
        .poll("the request's validation", || {
            let (client, id) = (client.clone(), id.clone());
            async move {
                let st = client
                    .request_status(&id)
                    .await
                    .map_err(|e| e.to_string())?;
                match st["notificationRequestStatus"].as_str() {
                    Some("WAITING") => Ok(Poll::Wait {
                        suggested: st["retryAfter"].as_u64().map(Duration::from_secs),
                        seen: "WAITING".into(),
                    }),
                    Some(_) => Ok(Poll::Ready(st)),
                    None => Err(format!(
                        "the request status answer has no notificationRequestStatus: {st}"
                    )),
                }
            }
        })
        .await?;
    w.status_response = Some(answer.clone());
    Ok(answer)
}

/// Waits for acceptance; keeps the IUN.
pub async fn accepted(w: &mut SendWorld) -> Result<(), String> {
    let st = settle(w).await?;
    match st["notificationRequestStatus"].as_str() {
        Some("ACCEPTED") => {
            let iun = st["iun"]
                .as_str()
                .ok_or("ACCEPTED without an iun")?
                .to_string();
            w.evidence(|e| e.iuns.push(iun.clone()));
            w.iun = Some(iun);
            Ok(())
        }
        Some(other) => Err(format!(
            "the request was {other}, not ACCEPTED: {}",
            st.get("errors").cloned().unwrap_or(Value::Null)
        )),
        None => unreachable!("settle checks the field"),
    }
}

/// Statuses from which a notification counts as delivered.
pub const DELIVERED_OR_LATER: [&str; 3] = ["DELIVERED", "VIEWED", "EFFECTIVE_DATE"];

/// Polls the detail until its status history contains one of `statuses`.
pub async fn reach_status(w: &mut SendWorld, statuses: &[&str]) -> Result<Value, String> {
    let iun = w.iun()?;
    let client = w.client().clone();
    let wanted: Vec<String> = statuses.iter().map(|s| s.to_string()).collect();
    let detail = w
        .poll(&format!("status {}", statuses.join(" or ")), || {
            let (client, iun, wanted) = (client.clone(), iun.clone(), wanted.clone());
            async move {
                let d = client.detail(&iun).await.map_err(|e| e.to_string())?;
                let history: Vec<String> = d["notificationStatusHistory"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|h| h["status"].as_str().map(str::to_string))
                    .collect();
                if history.iter().any(|h| wanted.contains(h)) {
                    Ok(Poll::Ready(d))
                } else {
                    Ok(Poll::Wait {
                        suggested: None,
                        seen: format!("status history {}", history.join(" → ")),
                    })
                }
            }
        })
        .await?;
    w.evidence(|e| {
        e.status_history = detail["notificationStatusHistory"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        e.timeline = detail["timeline"].as_array().cloned().unwrap_or_default();
    });
    Ok(detail)
}

/// An accepted notification, built, sent and waited for in one go.
pub async fn accepted_notification(
    w: &mut SendWorld,
    who: Who,
    payment_creditor: Option<String>,
) -> Result<(), String> {
    upload_pdf(w, "document").await?;
    let mut body = build_request(w, who, None)?;
    if let Some(creditor) = payment_creditor {
        upload_pdf(w, "pagoPA form").await?;
        add_payment(w, &mut body, &creditor)?;
    }
    w.request = Some(body);
    send(w).await?;
    accepted(w).await
}
