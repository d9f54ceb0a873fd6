//! Extra paths worth knowing before go-live (tag @extra, not part of the verdict): refusal,
//! cancellation, paper delivery, unreachability, viewing.

use super::*;
use crate::world::SendWorld;
use cucumber::{given, then, when};
use reqwest::Method;

#[given(expr = "a notification whose document was never uploaded")]
async fn never_uploaded(w: &mut SendWorld) -> Result<(), String> {
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
async fn refused(w: &mut SendWorld, code: String) -> Result<(), String> {
    let st = settle(w).await?;
    if st["notificationRequestStatus"] != "REFUSED" {
        return Err(format!(
            "expected REFUSED, got {}",
            st["notificationRequestStatus"]
        ));
    }
    let codes: Vec<&str> = st["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["code"].as_str())
        .collect();
    if !codes.contains(&code.as_str()) {
        return Err(format!(
            "the refusal carries {}, not {code}",
            codes.join(", ")
        ));
    }
    w.evidence(|e| e.notes.push(format!("refused with {}", codes.join(", "))));
    Ok(())
}

#[given(expr = "an accepted notification without payment")]
async fn accepted_plain(w: &mut SendWorld) -> Result<(), String> {
    accepted_notification(w, Who::Digital, None).await
}

#[given(expr = "an accepted notification to the recipient without PEC at {string}")]
async fn accepted_analog(w: &mut SendWorld, address: String) -> Result<(), String> {
    upload_pdf(w, "document").await?;
    let mut body = build_request(w, Who::Analog, Some(&address))?;
    // UAT's address markers name the product they script (`@OK_890`, `@FAIL_AR`…).
    if address.to_ascii_uppercase().ends_with("_AR") {
        body["physicalCommunicationType"] = json!("AR_REGISTERED_LETTER");
    } else if address.ends_with("_890") {
        body["physicalCommunicationType"] = json!("REGISTERED_LETTER_890");
    }
    w.request = Some(body);
    send(w).await?;
    accepted(w).await
}

#[when(expr = "the Ente cancels the notification")]
async fn cancel(w: &mut SendWorld) -> Result<(), String> {
    let iun = w.iun()?;
    let a = w
        .client()
        .expect(
            Method::PUT,
            &format!("/delivery-push/v2.0/notifications/cancel/{iun}"),
            None,
            202,
            "cancel",
        )
        .await
        .map_err(|e| e.to_string())?;
    let code = a.json()["details"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if code != "NOTIFICATION_CANCELLATION_ACCEPTED" {
        return Err(format!("the cancellation answered {code}"));
    }
    Ok(())
}

#[then(expr = "the notification reaches the status {word}")]
async fn reaches(w: &mut SendWorld, status: String) -> Result<(), String> {
    reach_status(w, &[status.as_str()]).await.map(|_| ())
}

#[then(expr = "the notification is delivered by a {word} registered letter")]
async fn paper(w: &mut SendWorld, product: String) -> Result<(), String> {
    let d = reach_status(w, &DELIVERED_OR_LATER).await?;
    let sent = d["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["category"] == "SEND_ANALOG_DOMICILE")
        .ok_or("no SEND_ANALOG_DOMICILE in the timeline")?;
    if sent["details"]["productType"] != product.as_str() {
        return Err(format!(
            "the letter sent is {}, not {product}",
            sent["details"]["productType"]
        ));
    }
    Ok(())
}

#[when(expr = "the recipient reads the notification")]
async fn view(w: &mut SendWorld) -> Result<(), String> {
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
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
