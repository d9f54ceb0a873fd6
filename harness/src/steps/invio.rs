//! TC-INVIO-01 and TC-INVIO-02: a notification without and with a pagoPA payment.

use super::*;
use crate::world::SendWorld;
use cucumber::{given, then, when};

#[given(expr = "the Ente has uploaded the document to notify")]
async fn document(w: &mut SendWorld) -> Result<(), String> {
    upload_pdf(w, "document").await
}

#[given(expr = "the Ente has uploaded the pagoPA form")]
async fn form(w: &mut SendWorld) -> Result<(), String> {
    upload_pdf(w, "pagoPA form").await
}

#[given(
    expr = "a notification without payment to a natural person with PEC and physical address, by the Ente's registered letter"
)]
async fn without_payment(w: &mut SendWorld) -> Result<(), String> {
    w.request = Some(build_request(w, Who::Digital, None)?);
    Ok(())
}

#[given(expr = "a notification with a pagoPA payment whose creditor is the Ente itself")]
async fn with_payment(w: &mut SendWorld) -> Result<(), String> {
    let mut body = build_request(w, Who::Digital, None)?;
    let creditor = w.ctx.profile.tax_id.clone();
    add_payment(w, &mut body, &creditor)?;
    w.request = Some(body);
    Ok(())
}

#[when(expr = "the Ente sends the notification")]
async fn sends(w: &mut SendWorld) -> Result<(), String> {
    send(w).await
}

#[then(expr = "SEND accepts the request and assigns an IUN")]
async fn accepts(w: &mut SendWorld) -> Result<(), String> {
    accepted(w).await
}

#[then(expr = "the notification is retrievable by its IUN")]
async fn retrievable(w: &mut SendWorld) -> Result<(), String> {
    let iun = w.iun()?;
    let d = w.client().detail(&iun).await.map_err(|e| e.to_string())?;
    let sent = w.request.as_ref().ok_or("no request")?;
    if d["iun"] != iun.as_str() {
        return Err(format!(
            "the detail answers IUN {} instead of {iun}",
            d["iun"]
        ));
    }
    for field in [
        "paProtocolNumber",
        "senderTaxId",
        "physicalCommunicationType",
        "subject",
    ] {
        if d[field] != sent[field] {
            return Err(format!(
                "the detail's {field} is {} but {} was sent",
                d[field], sent[field]
            ));
        }
    }
    if d["recipients"][0]["taxId"] != sent["recipients"][0]["taxId"] {
        return Err("the detail's recipient is not the one sent".into());
    }
    w.evidence(|e| {
        e.status_history = d["notificationStatusHistory"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        e.timeline = d["timeline"].as_array().cloned().unwrap_or_default();
    });
    Ok(())
}

#[then(
    expr = "the notification carries the payment: creditorTaxId, noticeCode and the pagoPA form"
)]
async fn carries_payment(w: &mut SendWorld) -> Result<(), String> {
    let iun = w.iun()?;
    let d = w.client().detail(&iun).await.map_err(|e| e.to_string())?;
    let (creditor, notice) = w.notice.clone().ok_or("no payment was prepared")?;
    let pay = &d["recipients"][0]["payments"][0]["pagoPa"];
    if pay["creditorTaxId"] != creditor.as_str() || pay["noticeCode"] != notice.as_str() {
        return Err(format!(
            "the detail's payment is {pay}, expected creditor {creditor} and notice {notice}"
        ));
    }
    let form = &w.uploads["pagoPA form"];
    if pay["attachment"]["ref"]["key"] != form.key.as_str()
        || pay["attachment"]["digests"]["sha256"] != form.sha256.as_str()
    {
        return Err("the pagoPA form in the detail is not the uploaded one".into());
    }
    Ok(())
}

#[then(expr = "every notified document matches its sha256")]
async fn documents_match(w: &mut SendWorld) -> Result<(), String> {
    super::downloads::download_document(w).await
}
