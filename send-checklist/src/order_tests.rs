//! The checklist judges what a client did, not the order of its notifications: the same
//! notifications, sent in any order, get the same verdicts.

use super::call::Call;
use super::engine::{Check, Options, evaluate};
use super::test_log::{SENDER, attachment, call, upload};
use proptest::prelude::*;
use serde_json::json;

/// One notification's calls: its send and the status read that says it was accepted.
/// `shape` picks what it has: PEC or not, 890 or A/R, a payment or not.
fn notification(n: usize, shape: u8) -> Vec<Call> {
    let mut rec = json!({"recipientType": "PF", "taxId": "BNRMHL75C06G702B", "denomination": "M",
        "physicalAddress": {"address": "Via Roma 1", "municipality": "Roma", "zip": "00100"}});
    if shape & 1 == 0 {
        rec["digitalDomicile"] = json!({"type": "PEC", "address": "prova@pec.it"});
    }
    if shape & 4 != 0 {
        rec["payments"] = json!([{"pagoPa": {"creditorTaxId": SENDER, "noticeCode": format!("30201100000000{n:04}"), "applyCost": true, "attachment": attachment("form")}}]);
    }
    let kind = if shape & 2 == 0 {
        "REGISTERED_LETTER_890"
    } else {
        "AR_REGISTERED_LETTER"
    };
    let rid = format!("request-{n}");
    let mut send = call("POST", "/delivery/v2.6/requests", 202);
    send.request = Some(
        json!({"senderTaxId": SENDER, "physicalCommunicationType": kind,
        "recipients": [rec], "documents": [attachment("doc")]}),
    );
    send.response = Some(json!({"notificationRequestId": rid}));
    let mut status = call("GET", "/delivery/v2.6/requests", 200);
    status.response = Some(
        json!({"notificationRequestId": rid, "notificationRequestStatus": "ACCEPTED",
        "iun": format!("ABCD-EFGH-JKLM-202612-A-{}", n % 10)}),
    );
    vec![send, status]
}

/// Every check's id and verdict, for comparison.
fn verdicts(checks: &[Check]) -> Vec<(String, bool)> {
    checks
        .iter()
        .flat_map(|c| std::iter::once((c.id.clone(), c.ok)).chain(verdicts(&c.children)))
        .collect()
}

fn judge(blocks: &[Vec<Call>]) -> Vec<(String, bool)> {
    let mut calls: Vec<Call> = [upload("doc"), upload("form")].concat();
    calls.extend(blocks.iter().flatten().cloned());
    for (i, c) in calls.iter_mut().enumerate() {
        c.id = i as u64 + 1;
    }
    verdicts(&evaluate(&calls, &Options::for_sender(SENDER)))
}

#[test]
fn the_two_sequences_real_clients_sent_keep_their_verdicts() {
    // PagoPA's SDK: a conforming digital 890 notification, then an analog-only one.
    let sdk = [notification(0, 0), notification(1, 1)];
    // PagoPA's bot: PEC + 890, then PEC + A/R.
    let bot = [notification(0, 0), notification(1, 2)];
    for seq in [&sdk, &bot] {
        let first = judge(&seq[..1]);
        let both = judge(seq);
        let reversed: Vec<Vec<Call>> = seq.iter().rev().cloned().collect();
        assert_eq!(both, judge(&reversed), "order changes a verdict");
        for ((id, was), (_, now)) in first.iter().zip(&both) {
            assert!(
                !was || *now,
                "{id} passed with the first notification alone, then failed"
            );
        }
        assert!(
            both.contains(&("TC-INVIO-01".to_string(), true)),
            "{both:?}"
        );
    }
}

proptest! {
    #[test]
    fn any_order_of_the_same_notifications_gets_the_same_verdicts(
        shapes in proptest::collection::vec(0u8..8, 1..6),
        seed in any::<u64>(),
    ) {
        let blocks: Vec<Vec<Call>> = shapes.iter().enumerate().map(|(n, s)| notification(n, *s)).collect();
        let mut shuffled = blocks.clone();
        // A permutation from the seed (Fisher-Yates with a small LCG).
        let mut x = seed;
        for i in (1..shuffled.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (x >> 33) as usize % (i + 1));
        }
        prop_assert_eq!(judge(&blocks), judge(&shuffled));
    }
}
