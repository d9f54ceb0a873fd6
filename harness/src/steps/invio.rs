//! TC-INVIO-01 and TC-INVIO-02: a notification without and with a pagoPA payment.

use super::*;
use crate::world::SendWorld;
use cucumber::{given, then, when};

#[given(expr = "the Ente has uploaded the document to notify")]
async fn document(w: &mut SendWorld) -> StepResult {
    upload_pdf(w, "document").await
}

#[given(expr = "the Ente has uploaded the pagoPA form")]
async fn form(w: &mut SendWorld) -> StepResult {
    upload_pdf(w, "pagoPA form").await
}

#[given(
    expr = "a notification without payment to a natural person with PEC and physical address, by the Ente's registered letter"
)]
async fn without_payment(w: &mut SendWorld) -> StepResult {
    w.request = Some(build_request(w, Who::Digital, None)?);
    Ok(())
}

#[given(expr = "a notification with a pagoPA payment whose creditor is the Ente itself")]
async fn with_payment(w: &mut SendWorld) -> StepResult {
    let mut body = build_request(w, Who::Digital, None)?;
    let creditor = w.ctx.profile.tax_id.clone();
    add_payment(w, &mut body, &creditor)?;
    w.request = Some(body);
    Ok(())
}

#[when(expr = "the Ente sends the notification")]
async fn sends(w: &mut SendWorld) -> StepResult {
    send(w).await
}

#[then(expr = "SEND accepts the request and assigns an IUN")]
async fn accepts(w: &mut SendWorld) -> StepResult {
    accepted(w).await
}

#[then(expr = "the notification is retrievable by its IUN")]
async fn retrievable(w: &mut SendWorld) -> StepResult {
    let iun = w.iun()?;
    let d = w.client().detail(&iun).await?;
    let sent = w.request.as_ref().ok_or(StepError::Earlier(
        "no notification was sent in an earlier step",
    ))?;
    if d.iun != iun {
        return Err(StepError::check(format!(
            "the detail answers IUN {} instead of {iun}",
            d.iun
        )));
    }
    let pct = sent.physical_communication_type.as_str();
    for (field, shown, wanted) in [
        (
            "paProtocolNumber",
            d.pa_protocol_number.as_str(),
            sent.pa_protocol_number.as_str(),
        ),
        ("senderTaxId", &d.sender_tax_id, &sent.sender_tax_id),
        (
            "physicalCommunicationType",
            d.physical_communication_type
                .as_ref()
                .map_or("none", |t| t.as_str()),
            pct,
        ),
        ("subject", &d.subject, &sent.subject),
    ] {
        if shown != wanted {
            return Err(StepError::check(format!(
                "the detail's {field} is {shown} but {wanted} was sent"
            )));
        }
    }
    let tax_id = |r: &[NotificationRecipient]| r.first().map(|r| r.tax_id.clone());
    if tax_id(&d.recipients) != tax_id(&sent.recipients) {
        return Err(StepError::check(
            "the detail's recipient is not the one sent",
        ));
    }
    keep_history(w, &d);
    Ok(())
}

#[then(
    expr = "the notification carries the payment: creditorTaxId, noticeCode and the pagoPA form"
)]
async fn carries_payment(w: &mut SendWorld) -> StepResult {
    let iun = w.iun()?;
    let d = w.client().detail(&iun).await?;
    let (creditor, notice) = w.notice.clone().ok_or(StepError::Earlier(
        "no payment was prepared in an earlier step",
    ))?;
    let pay = d
        .recipients
        .first()
        .and_then(|r| r.payments.first())
        .and_then(|p| p.pago_pa.as_ref())
        .ok_or_else(|| StepError::check("the detail's first recipient has no pagoPA payment"))?;
    if pay.creditor_tax_id != creditor || pay.notice_code != notice {
        return Err(StepError::check(format!(
            "the detail's payment is creditor {} and notice {}, expected creditor {creditor} and notice {notice}",
            pay.creditor_tax_id, pay.notice_code
        )));
    }
    let form = w.uploaded("pagoPA form")?;
    let same = pay
        .attachment
        .as_ref()
        .is_some_and(|a| a.reference.key == form.key && a.digests.sha256 == form.sha256);
    if !same {
        return Err(StepError::check(
            "the pagoPA form in the detail is not the uploaded one",
        ));
    }
    Ok(())
}

#[then(expr = "every notified document matches its sha256")]
async fn documents_match(w: &mut SendWorld) -> StepResult {
    super::downloads::download_document(w).await
}
