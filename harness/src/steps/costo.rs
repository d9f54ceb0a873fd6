//! TC-COSTO-01: the notification price, read by the sender (scenario 1, sender == creditor) and,
//! for a notice whose creditor is another Ente (scenario 2), by that creditor's key when the
//! profile has it, else by the sender's; consistent with the fee policy either way.

use super::*;
use crate::world::{PriceRead, SendWorld};
use cucumber::{given, then};

#[given(expr = "an accepted notification with a pagoPA payment whose creditor is the Ente itself")]
async fn own(w: &mut SendWorld) -> StepResult {
    let creditor = w.ctx.profile.tax_id.clone();
    accepted_notification(w, Who::Digital, Some(creditor)).await
}

#[given(expr = "an accepted notification with a pagoPA payment whose creditor is another Ente")]
async fn other(w: &mut SendWorld) -> StepResult {
    let creditor = w.ctx.profile.creditor_tax_id.clone();
    if creditor == w.ctx.profile.tax_id {
        return Err(StepError::Profile(
            "names the Ente itself as creditor_tax_id: scenario 2 needs another creditor".into(),
        ));
    }
    accepted_notification(w, Who::Digital, Some(creditor)).await
}

/// Checks a price against the fee policy.
fn consistent(w: &SendWorld, p: &NotificationPriceResponseV23) -> StepResult {
    let profile = &w.ctx.profile;
    let get = |f: &str, v: Option<i64>| {
        v.ok_or_else(|| StepError::check(format!("the price has no {f}: {}", to_json(p))))
    };
    let partial = get("partialPrice", p.partial_price)?;
    let total = get("totalPrice", p.total_price)?;
    if profile.fee_policy == send_wire::NotificationFeePolicy::FLAT_RATE {
        return if partial == 0 && total == 0 {
            Ok(())
        } else {
            Err(StepError::check(format!(
                "FLAT_RATE must cost 0, SEND answers partial {partial}, total {total}"
            )))
        };
    }
    let send_fee = get("sendFee", p.send_fee)?;
    let analog = get("analogCost", p.analog_cost)?;
    let pa_fee = get("paFee", p.pa_fee)?;
    let vat = get("vat", p.vat)?;
    if partial != send_fee + analog {
        return Err(StepError::check(format!(
            "partialPrice {partial} ≠ sendFee {send_fee} + analogCost {analog}"
        )));
    }
    let expected_total = send_fee + (analog * (100 + vat) + 50) / 100 + pa_fee;
    if total != expected_total {
        return Err(StepError::check(format!(
            "totalPrice {total} ≠ sendFee + analogCost×(1+vat) + paFee = {expected_total}"
        )));
    }
    if pa_fee != profile.pa_fee || vat != profile.vat {
        return Err(StepError::check(format!(
            "the price carries paFee {pa_fee} and vat {vat}, the notification was sent with {} and {}",
            profile.pa_fee, profile.vat
        )));
    }
    Ok(())
}

/// Reads the price of the World's notice: with the creditor's key when `as_creditor` and the
/// profile gives one, else with the sender's. The evidence says whose key made the call.
async fn read_price(
    w: &mut SendWorld,
    as_creditor: bool,
) -> StepResult<NotificationPriceResponseV23> {
    let (creditor, notice) = w
        .notice
        .clone()
        .ok_or(StepError::Earlier("no payment in an earlier step"))?;
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
    let p = client.price(&creditor, &notice).await?;
    if let Some(iun) = &w.iun
        && p.iun.as_deref() != Some(iun.as_str())
    {
        return Err(StepError::check(format!(
            "the price names IUN {}, the notification is {iun}",
            p.iun.as_deref().unwrap_or("none")
        )));
    }
    consistent(w, &p)?;
    let read = PriceRead {
        read_by: reader,
        creditor_tax_id: creditor,
        notice_code: notice,
        price: p.clone(),
    };
    w.evidence(|e| e.prices.push(read));
    Ok(p)
}

#[then(expr = "the sender reads a price consistent with the fee policy")]
async fn sender_reads(w: &mut SendWorld) -> StepResult {
    read_price(w, false).await.map(|_| ())
}

#[then(
    expr = "the price of that notice, read by creditorTaxId and noticeCode with the creditor's key if the profile has it, is consistent with the fee policy"
)]
async fn creditor_reads(w: &mut SendWorld) -> StepResult {
    read_price(w, true).await.map(|_| ())
}

#[then(expr = "once the notification is refined the price carries the refinement date")]
async fn refined(w: &mut SendWorld) -> StepResult {
    reach_status(w, &[Status::EFFECTIVE_DATE, Status::VIEWED]).await?;
    let as_creditor = w.ctx.creditor.is_some()
        && w.notice
            .as_ref()
            .is_some_and(|(c, _)| *c != w.ctx.profile.tax_id);
    let p = read_price(w, as_creditor).await?;
    let date = p
        .refinement_date
        .as_deref()
        .or(p.notification_view_date.as_deref())
        .ok_or_else(|| {
            StepError::check(format!(
                "the refined notification's price has no refinementDate nor notificationViewDate: {}",
                to_json(&p)
            ))
        })?;
    if chrono::DateTime::parse_from_rfc3339(date).is_err() {
        return Err(StepError::check(format!(
            "refinementDate `{date}` is not an RFC 3339 date-time"
        )));
    }
    Ok(())
}
