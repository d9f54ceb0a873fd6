//! Extra paths worth knowing before go-live (tag @extra, not part of the verdict): refusal,
//! cancellation, paper delivery, unreachability, viewing.

use super::*;
use crate::world::SendWorld;
use cucumber::{given, then, when};
use reqwest::Method;
use send_wire::notification::RequestState;
use send_wire::{PhysicalCommunicationType, RequestStatus};

#[given(expr = "a notification whose document was never uploaded")]
async fn never_uploaded(w: &mut SendWorld) -> StepResult {
    let bytes = pdf("never uploaded");
    // A slot is asked, but nothing is uploaded into it.
    let (slot, sha) = preload_pdf(w, &bytes).await?;
    w.uploads.insert(
        "document".into(),
        crate::world::Uploaded {
            key: slot.key,
            version: "never-uploaded".into(),
            sha256: sha,
            bytes,
        },
    );
    w.request = Some(build_request(w, Who::Digital, None)?);
    Ok(())
}

#[then(expr = "SEND refuses the request with {word}")]
async fn refused(w: &mut SendWorld, code: String) -> StepResult {
    let st = settle(w).await?;
    if !st.notification_request_status.is(RequestState::REFUSED) {
        return Err(StepError::check(format!(
            "expected REFUSED, got {}",
            st.notification_request_status
        )));
    }
    let codes: Vec<&str> = st
        .errors
        .iter()
        .flatten()
        .map(|e| e.code.as_str())
        .collect();
    if !codes.contains(&code.as_str()) {
        return Err(StepError::check(format!(
            "the refusal carries {}, not {code}",
            codes.join(", ")
        )));
    }
    w.evidence(|e| e.notes.push(format!("refused with {}", codes.join(", "))));
    Ok(())
}

#[given(expr = "an accepted notification without payment")]
async fn accepted_plain(w: &mut SendWorld) -> StepResult {
    accepted_notification(w, Who::Digital, None).await
}

#[given(expr = "an accepted notification to the recipient without PEC at {string}")]
async fn accepted_analog(w: &mut SendWorld, address: String) -> StepResult {
    upload_pdf(w, "document").await?;
    let mut request = build_request(w, Who::Analog, Some(&address))?;
    // UAT's address markers name the product they script (`@OK_890`, `@FAIL_AR`…).
    if address.to_ascii_uppercase().ends_with("_AR") {
        request.physical_communication_type = PhysicalCommunicationType::AR_REGISTERED_LETTER;
    } else if address.ends_with("_890") {
        request.physical_communication_type = PhysicalCommunicationType::REGISTERED_LETTER_890;
    }
    w.request = Some(request);
    send(w).await?;
    accepted(w).await
}

#[when(expr = "the Ente cancels the notification")]
async fn cancel(w: &mut SendWorld) -> StepResult {
    let iun = w.iun()?;
    let path = format!("/delivery-push/v2.0/notifications/cancel/{iun}");
    let answer = w
        .client()
        .expect(Method::PUT, &path, None, 202, "cancel")
        .await?;
    let status: RequestStatus = answer.parse("cancel")?;
    let codes: Vec<&str> = status.details.iter().map(|d| d.code.as_str()).collect();
    if codes.first() != Some(&"NOTIFICATION_CANCELLATION_ACCEPTED") {
        return Err(StepError::check(format!(
            "the cancellation answered {}",
            codes.join(", ")
        )));
    }
    Ok(())
}

#[then(expr = "the notification reaches the status {word}")]
async fn reaches(w: &mut SendWorld, status: String) -> StepResult {
    let status = Status::parse(&status)
        .ok_or_else(|| StepError::check(format!("`{status}` is not a SEND status")))?;
    reach_status(w, &[status]).await.map(|_| ())
}

#[then(expr = "the notification is delivered by a {word} registered letter")]
async fn paper(w: &mut SendWorld, product: String) -> StepResult {
    let d = reach_status(w, &DELIVERED_OR_LATER).await?;
    let sent = d
        .first(Category::SEND_ANALOG_DOMICILE)
        .ok_or_else(|| StepError::check("no SEND_ANALOG_DOMICILE in the timeline"))?;
    let shown = sent
        .details
        .as_ref()
        .and_then(|d| d.product_type.as_deref());
    if shown != Some(product.as_str()) {
        return Err(StepError::check(format!(
            "the letter sent is {}, not {product}",
            shown.unwrap_or("unnamed")
        )));
    }
    Ok(())
}

#[when(expr = "the recipient reads the notification")]
async fn view(w: &mut SendWorld) -> StepResult {
    let iun = w.iun()?;
    // The mock's stand-in for the recipient logging in to SEND (UAT: the test citizen's login).
    w.client()
        .expect(
            Method::POST,
            &format!("/mock/notifications/{iun}/recipients/0/view"),
            Some(&json!({})),
            200,
            "view",
        )
        .await?;
    Ok(())
}
