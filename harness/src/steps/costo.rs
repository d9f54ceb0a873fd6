//! TC-COSTO-01: the notification price, read by the sender (scenario 1, sender == creditor) and,
//! for a notice whose creditor is another Ente (scenario 2), by that creditor's key when the
//! profile has it, else by the sender's; consistent with the fee policy either way.

use super::*;
use crate::world::SendWorld;
use cucumber::{given, then};

#[given(expr = "an accepted notification with a pagoPA payment whose creditor is the Ente itself")]
async fn own(w: &mut SendWorld) -> Result<(), String> {
    let creditor = w.ctx.profile.tax_id.clone();
    accepted_notification(w, Who::Digital, Some(creditor)).await
}

#[given(expr = "an accepted notification with a pagoPA payment whose creditor is another Ente")]
async fn other(w: &mut SendWorld) -> Result<(), String> {
    let creditor = w.ctx.profile.creditor_tax_id.clone();
    if creditor == w.ctx.profile.tax_id {
        return Err("the Ente profile's creditor_tax_id is the Ente itself: scenario 2 needs another creditor".into());
    }
    accepted_notification(w, Who::Digital, Some(creditor)).await
}

/// Checks a price against the fee policy; returns it.
fn consistent(w: &SendWorld, p: &Value) -> Result<(), String> {
    let profile = &w.ctx.profile;
    let get = |f: &str| {
        p[f].as_i64()
            .ok_or_else(|| format!("the price has no {f}: {p}"))
    };
    let (partial, total) = (get("partialPrice")?, get("totalPrice")?);
    if profile.fee_policy == send_wire::NotificationFeePolicy::FLAT_RATE {
        return if partial == 0 && total == 0 {
            Ok(())
        } else {
            Err(format!(
                "FLAT_RATE must cost 0, SEND answers partial {partial}, total {total}"
            ))
        };
    }
    let (send_fee, analog, pa_fee, vat) = (
        get("sendFee")?,
        get("analogCost")?,
        get("paFee")?,
        get("vat")?,
    );
    if partial != send_fee + analog {
        return Err(format!(
            "partialPrice {partial} ≠ sendFee {send_fee} + analogCost {analog}"
        ));
    }
    let expected_total = send_fee + (analog * (100 + vat) + 50) / 100 + pa_fee;
    if total != expected_total {
        return Err(format!(
            "totalPrice {total} ≠ sendFee + analogCost×(1+vat) + paFee = {expected_total}"
        ));
    }
    if pa_fee != profile.pa_fee || vat != profile.vat {
        return Err(format!(
            "the price carries paFee {pa_fee} and vat {vat}, the notification was sent with {} and {}",
            profile.pa_fee, profile.vat
        ));
    }
    Ok(())
}

/// Reads the price of the World's notice: with the creditor's key when `as_creditor` and the
/// profile gives one, else with the sender's. The evidence says whose key made the call.
async fn read_price(w: &mut SendWorld, as_creditor: bool) -> Result<Value, String> {
    let (creditor, notice) = w.notice.clone().ok_or("no payment in an earlier step")?;
    let (client, reader) = match (as_creditor, &w.ctx.creditor) {
        (true, Some(c)) => (c.clone(), "creditor"),
        (true, None) => {
            let note = "the profile has no creditor_api_key: the price was read with the sender's key (SEND answers a notice's price to any Ente)";
            w.evidence(|e| {
                if !e.notes.iter().any(|n| n == note) {
                    e.notes.push(note.into())
                }
            });
            (w.client().clone(), "sender")
        }
        (false, _) => (w.client().clone(), "sender"),
    };
    let p = client
        .price(&creditor, &notice)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(iun) = &w.iun
        && p["iun"] != iun.as_str()
    {
        return Err(format!(
            "the price names IUN {}, the notification is {iun}",
            p["iun"]
        ));
    }
    consistent(w, &p)?;
    w.evidence(|e| {
        e.prices.push(
            json!({"readBy": reader, "creditorTaxId": creditor, "noticeCode": notice, "price": p}),
        )
    });
    w.last_price = Some(p.clone());
    Ok(p)
}

#[then(expr = "the sender reads a price consistent with the fee policy")]
async fn sender_reads(w: &mut SendWorld) -> Result<(), String> {
    read_price(w, false).await.map(|_| ())
}

#[then(
    expr = "the price of that notice, read by creditorTaxId and noticeCode with the creditor's key if the profile has it, is consistent with the fee policy"
)]
async fn creditor_reads(w: &mut SendWorld) -> Result<(), String> {
    read_price(w, true).await.map(|_| ())
}

#[then(expr = "once the notification is refined the price carries the refinement date")]
async fn refined(w: &mut SendWorld) -> Result<(), String> {
    reach_status(w, &["EFFECTIVE_DATE", "VIEWED"]).await?;
    let as_creditor = w.ctx.creditor.is_some()
        && w.notice
            .as_ref()
            .is_some_and(|(c, _)| *c != w.ctx.profile.tax_id);
    let p = read_price(w, as_creditor).await?;
    let date = p["refinementDate"]
        .as_str()
        .or(p["notificationViewDate"].as_str())
        .ok_or(format!(
            "the refined notification's price has no refinementDate nor notificationViewDate: {p}"
        ))?;
    if chrono::DateTime::parse_from_rfc3339(date).is_err() {
        return Err(format!(
            "refinementDate `{date}` is not an RFC 3339 date-time"
        ));
    }
    Ok(())
}
