//! TC-COSTO-01: the price of a notice read from SEND, by creditorTaxId + noticeCode, for a
//! notification whose creditor is the sender (scenario 1, the validator's) and one whose
//! creditor is another Ente (scenario 2, ours: the validator lacks it).

use super::call::{Call, Op};
use super::engine::{Check, Outcome, Unmet, group, leaf, problem_text};
use super::facts::{Facts, field};

/// (send call, creditorTaxId, noticeCode) of every pagoPA payment of the requests answered 202.
fn notices<'a>(f: &Facts<'a>) -> Vec<(&'a Call, String, String)> {
    let mut out = vec![];
    for s in f.sends.iter().filter(|s| s.call.status == 202) {
        for r in s.body["recipients"].as_array().into_iter().flatten() {
            let pays = r["payments"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(r.get("payment"));
            for p in pays {
                let pp = p.get("pagoPa").unwrap_or(p);
                if let (Some(c), Some(n)) = (field(pp, "/creditorTaxId"), field(pp, "/noticeCode"))
                {
                    out.push((s.call, c.to_string(), n.to_string()));
                }
            }
        }
    }
    out
}

pub(super) fn checks(f: &Facts, sender: &str) -> Vec<Check> {
    let all = notices(f);
    let own: Vec<_> = all
        .iter()
        .filter(|(c, cr, _)| cr == sender && sent_by(c, sender))
        .cloned()
        .collect();
    let other: Vec<_> = all
        .iter()
        .filter(|(_, cr, _)| cr != sender)
        .cloned()
        .collect();
    let prices: Vec<&Call> = f.of(|o| matches!(o, Op::Price { .. })).collect();
    vec![
        group(
            "TC-COSTO-01.send",
            "Create a notification request providing the same sender and creditor",
            vec![leaf(
                "TC-COSTO-01.send.creditor",
                "Have you filled at least one recipient where the field payment.creditorTaxId is the same as the senderTaxId?",
                if own.is_empty() {
                    Err(format!(
                        "no request answered 202 has a pagoPA payment whose creditorTaxId is the sender, {sender}"
                    ).into())
                } else {
                    Ok(own.iter().map(|n| n.0.id).collect())
                },
            )],
        ),
        group(
            "TC-COSTO-01.price",
            "Request the notification price",
            vec![
                leaf(
                    "TC-COSTO-01.price.called",
                    "Have you called the endpoint to get the price?",
                    called(&prices),
                ),
                leaf(
                    "TC-COSTO-01.price.details",
                    "Have you provided the payment details from the notification previously created?",
                    price_of(&prices, &own, "whose creditor is the sender"),
                ),
            ],
        ),
        group(
            "TC-COSTO-01.scenario-2",
            "Scenario 2: sender and creditor differ (send-conformance's addition: PagoPA's validator has no check for it)",
            vec![
                leaf(
                    "TC-COSTO-01.scenario-2.notice",
                    "Have you created a notification whose payment's creditorTaxId is another Ente?",
                    if other.is_empty() {
                        Err("no request answered 202 has a pagoPA payment whose creditorTaxId is another Ente".into())
                    } else {
                        Ok(other.iter().map(|n| n.0.id).collect())
                    },
                ),
                leaf(
                    "TC-COSTO-01.scenario-2.price",
                    "Have you read the price of that notice by its creditorTaxId and noticeCode?",
                    price_of(&prices, &other, "whose creditor is another Ente"),
                ),
            ],
        ),
    ]
}

fn sent_by(c: &Call, sender: &str) -> bool {
    c.request.as_ref().and_then(|b| field(b, "/senderTaxId")) == Some(sender)
}

fn called(prices: &[&Call]) -> Outcome {
    let ok: Vec<u64> = prices
        .iter()
        .filter(|c| c.status == 200)
        .map(|c| c.id)
        .collect();
    match (ok.is_empty(), prices.last()) {
        (false, _) => Ok(ok),
        (true, None) => Err(
            "the price was never asked (GET /delivery/v2.3/price/{creditorTaxId}/{noticeCode})"
                .into(),
        ),
        (true, Some(c)) => Err(format!(
            "no price call answered 200 (last: call #{} {})",
            c.id,
            problem_text(c)
        )
        .into()),
    }
}

/// A price read (200) after the send, for one of `notices`.
fn price_of(prices: &[&Call], notices: &[(&Call, String, String)], whose: &str) -> Outcome {
    let hits: Vec<u64> = prices
        .iter()
        .filter(|c| c.status == 200)
        .filter(|c| match c.op() {
            Op::Price { creditor, notice } => notices
                .iter()
                .any(|(s, cr, n)| *cr == creditor && *n == notice && s.id < c.id),
            _ => false,
        })
        .map(|c| c.id)
        .collect();
    if !hits.is_empty() {
        return Ok(hits);
    }
    Err(Unmet(match (notices.is_empty(), prices.last()) {
        (true, _) => format!("no notification {whose} was sent, so no price of one was read"),
        (false, None) => {
            "the price was never asked (GET /delivery/v2.3/price/{creditorTaxId}/{noticeCode})"
                .into()
        }
        (false, Some(c)) => format!(
            "no price of a notice {whose} answered 200 after its send (closest: call #{} {} answered {})",
            c.id,
            c.path,
            problem_text(c)
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_notice_counts_only_for_the_sender() {
        let body: serde_json::Value = serde_json::json!({"senderTaxId": "80016350821"});
        let c = Call {
            request: Some(body),
            ..Call::get("/delivery/v2.6/requests")
        };
        assert!(sent_by(&c, "80016350821"));
        assert!(!sent_by(&c, "01199250158"));
    }
}
