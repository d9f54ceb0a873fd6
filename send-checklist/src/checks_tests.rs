//! Every check, one at a time: a client that does everything right meets every check, and for
//! each check one mistake turns that check ✗ with the reason a PT needs. A check added to the
//! tree without a row here fails `every_check_has_a_mistake_that_fails_it`.

use super::call::Call;
use super::engine::{Check, Options, evaluate};
use super::test_log::{SENDER, SHA, attachment, call, upload};
use serde_json::{Value, json};

const OTHER_ENTE: &str = "01199250158";
const IUN_1: &str = "ABCD-EFGH-JKLM-202612-A-1";
const IUN_2: &str = "ABCD-EFGH-JKLM-202612-A-2";
const FACT: &str = "PN_LEGAL_FACTS-0001.pdf";

/// A call answered with `response`.
fn answered(method: &str, path: &str, status: u16, response: Value) -> Call {
    Call {
        response: Some(response),
        ..call(method, path, status)
    }
}

fn with_request(mut c: Call, request: Value) -> Call {
    c.request = Some(request);
    c
}

/// A send of one notification (with a pagoPA notice of `creditor`, if any) and the status read
/// that says it was accepted as `iun`.
fn notification(n: u32, creditor: Option<&str>, iun: &str) -> Vec<Call> {
    let mut rec = json!({"recipientType": "PF", "taxId": "BNRMHL75C06G702B", "denomination": "M",
        "digitalDomicile": {"type": "PEC", "address": "prova@pec.it"},
        "physicalAddress": {"address": "Via Roma 1", "municipality": "Roma", "zip": "00100"}});
    if let Some(c) = creditor {
        rec["payments"] = json!([{"pagoPa": {"creditorTaxId": c, "noticeCode": format!("30201100000000{n:04}"),
            "applyCost": true, "attachment": attachment("form")}}]);
    }
    let rid = format!("request-{n}");
    let send = with_request(
        answered(
            "POST",
            "/delivery/v2.6/requests",
            202,
            json!({"notificationRequestId": rid}),
        ),
        json!({"senderTaxId": SENDER, "physicalCommunicationType": "REGISTERED_LETTER_890",
            "recipients": [rec], "documents": [attachment("doc")]}),
    );
    let status = answered(
        "GET",
        "/delivery/v2.6/requests",
        200,
        json!({"notificationRequestId": rid, "notificationRequestStatus": "ACCEPTED", "iun": iun}),
    );
    vec![send, status]
}

/// A TIMELINE stream created, read twice: the acceptance, then an acknowledgement after the
/// retry-after the first read answered.
fn stream() -> Vec<Call> {
    let create = with_request(
        answered(
            "POST",
            "/delivery-progresses/v2.9/streams",
            200,
            json!({"streamId": "s-1"}),
        ),
        json!({"eventType": "TIMELINE"}),
    );
    let events = "/delivery-progresses/v2.9/streams/s-1/events";
    let mut first = answered(
        "GET",
        events,
        200,
        json!([{"eventId": "01", "notificationRequestId": "request-1", "iun": IUN_1, "newStatus": "ACCEPTED"}]),
    );
    first.at_ms = 1_000;
    first
        .response_headers
        .insert("retry-after".into(), "100".into());
    let mut second = answered("GET", events, 200, json!([]));
    second.at_ms = 1_200;
    second.query.insert("lastEventId".into(), "01".into());
    vec![create, first, second]
}

/// A metadata read answering `url`, then the download of that url.
fn meta_then_download(meta_path: &str, key: &str) -> Vec<Call> {
    let url = format!("https://mock/storage/b/{key}?sig=1");
    vec![
        answered("GET", meta_path, 200, json!({"url": url})),
        answered("GET", &format!("/storage/b/{key}"), 200, Value::Null),
    ]
}

/// The document, the pagoPA form, the AAR and the one legal fact listed, of `IUN_2`.
fn downloads() -> Vec<Call> {
    let sent = format!("/delivery/notifications/sent/{IUN_2}");
    let list = answered(
        "GET",
        &format!("/delivery-push/v2.0/{IUN_2}/legal-facts"),
        200,
        json!([{"legalFactsId": {"key": format!("safestorage://{FACT}"), "category": "SENDER_ACK"}}]),
    );
    [
        meta_then_download(&format!("{sent}/attachments/documents/0"), "doc"),
        meta_then_download(&format!("{sent}/attachments/payment/0/PAGOPA"), "form"),
        meta_then_download(&format!("/delivery-push/{IUN_2}/document/AAR"), "aar"),
        vec![list],
        meta_then_download(
            &format!("/delivery-push/{IUN_2}/download/legal-facts/{FACT}"),
            FACT,
        ),
    ]
    .concat()
}

fn price(creditor: &str, n: u32) -> Call {
    answered(
        "GET",
        &format!("/delivery/v2.3/price/{creditor}/30201100000000{n:04}"),
        200,
        json!({"iun": IUN_2, "amount": 100}),
    )
}

/// Everything the five test cases ask, in order, numbered as a log is.
fn full_log() -> Vec<Call> {
    let mut calls = [
        upload("doc"),
        upload("form"),
        stream(),
        notification(1, None, IUN_1),
        notification(2, Some(SENDER), IUN_2),
        notification(3, Some(OTHER_ENTE), "ABCD-EFGH-JKLM-202612-A-3"),
        downloads(),
        vec![price(SENDER, 2), price(OTHER_ENTE, 3)],
    ]
    .concat();
    renumber(&mut calls);
    calls
}

fn renumber(calls: &mut [Call]) {
    for (i, c) in calls.iter_mut().enumerate() {
        c.id = i as u64 + 1;
    }
}

fn leaves(checks: &[Check]) -> Vec<&Check> {
    checks
        .iter()
        .flat_map(|c| {
            if c.children.is_empty() {
                vec![c]
            } else {
                leaves(&c.children)
            }
        })
        .collect()
}

fn judge(calls: &[Call]) -> Vec<Check> {
    evaluate(calls, &Options::for_sender(SENDER))
}

/// The calls whose path contains `part`.
fn paths<'c>(calls: &'c mut [Call], part: &str) -> impl Iterator<Item = &'c mut Call> {
    calls.iter_mut().filter(move |c| c.path.contains(part))
}

/// The pagoPA part of every send's first payment, where there is one.
fn pago_pas(calls: &mut [Call]) -> impl Iterator<Item = &mut serde_json::Map<String, Value>> {
    sends(calls).filter_map(|s| {
        s.pointer_mut("/recipients/0/payments/0/pagoPa")
            .and_then(Value::as_object_mut)
    })
}

/// Every request body of a send.
fn sends(calls: &mut [Call]) -> impl Iterator<Item = &mut Value> {
    calls
        .iter_mut()
        .filter(|c| c.method == "POST" && c.path.ends_with("/requests"))
        .filter_map(|c| c.request.as_mut())
}

fn drop_calls(calls: &mut Vec<Call>, part: &str) {
    calls.retain(|c| !c.path.contains(part));
}

type Mistake = fn(&mut Vec<Call>);

/// (check, the mistake, a phrase of the reason the check must give). `TC-INVIO-0*` stands for
/// the check of both TC-INVIO-01 and TC-INVIO-02.
const MISTAKES: &[(&str, Mistake, &str)] = &[
    (
        "TC-INVIO-0*.preload.request",
        |c| drop_calls(c, "/preload"),
        "no call to /delivery/attachments/preload",
    ),
    (
        "TC-INVIO-01.preload.slots",
        |c| {
            for p in paths(c, "/preload") {
                p.request =
                    Some(json!([{"preloadIdx": "0", "contentType": "text/plain", "sha256": SHA}]));
            }
        },
        "0 PDF slot(s) received, 1 needed",
    ),
    (
        "TC-INVIO-0*.preload.pdf",
        |c| {
            for p in paths(c, "/preload") {
                p.request = Some(
                    json!([{"preloadIdx": "0", "contentType": "application/xml", "sha256": SHA}]),
                );
            }
        },
        "asked for an application/pdf slot",
    ),
    (
        "TC-INVIO-01.upload.files",
        |c| c.retain(|x| x.method != "PUT"),
        "0 file(s) uploaded into preloaded slots",
    ),
    (
        "TC-INVIO-0*.send.request",
        |c| {
            c.retain(|x| !(x.method == "POST" && x.path.ends_with("/requests")));
        },
        "no notification was sent",
    ),
    (
        "TC-INVIO-01.send.valid",
        |c| {
            for s in sends(c) {
                s["recipients"][0].as_object_mut().unwrap().remove("taxId");
            }
        },
        "lacks: recipient 0 has no taxId",
    ),
    (
        "TC-INVIO-0*.send.recipients.digitalDomicile",
        |c| {
            for s in sends(c) {
                s["recipients"][0]["digitalDomicile"] = Value::Null;
            }
        },
        "recipient 0 has no digitalDomicile",
    ),
    (
        "TC-INVIO-0*.send.recipients.physicalAddress",
        |c| {
            for s in sends(c) {
                s["recipients"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("physicalAddress");
            }
        },
        "recipient 0 has no physicalAddress",
    ),
    (
        "TC-INVIO-0*.send.recipients.taxId",
        |c| {
            for s in sends(c) {
                s["recipients"][0].as_object_mut().unwrap().remove("taxId");
            }
        },
        "recipient 0 has no taxId",
    ),
    (
        "TC-INVIO-0*.send.documents",
        |c| {
            for s in sends(c) {
                s["documents"][0]["ref"]["versionToken"] = json!("stale");
            }
        },
        "ref.versionToken `stale` of key doc is not the x-amz-version-id",
    ),
    (
        "TC-INVIO-0*.send.physicalCommunicationType",
        |c| {
            for s in sends(c) {
                s["physicalCommunicationType"] = json!("SIMPLE_REGISTERED_LETTER");
            }
        },
        "physicalCommunicationType is SIMPLE_REGISTERED_LETTER",
    ),
    (
        "TC-INVIO-02.preload.slots",
        |c| {
            let first = paths(c, "/preload").next().map(|p| p.id);
            c.retain(|x| Some(x.id) != first);
        },
        "1 PDF slot(s) received, 2 needed",
    ),
    (
        "TC-INVIO-02.upload.files",
        |c| {
            let first_put = c.iter().position(|x| x.method == "PUT").unwrap();
            c.remove(first_put);
        },
        "1 file(s) uploaded into preloaded slots, 2 needed",
    ),
    (
        "TC-INVIO-02.send.recipients.payments.creditorTaxId",
        |c| {
            for p in pago_pas(c) {
                p.remove("creditorTaxId");
            }
        },
        "recipient 0 payment 0 has no pagoPa.creditorTaxId",
    ),
    (
        "TC-INVIO-02.send.recipients.payments.noticeCode",
        |c| {
            for p in pago_pas(c) {
                p.remove("noticeCode");
            }
        },
        "recipient 0 payment 0 has no pagoPa.noticeCode",
    ),
    (
        "TC-INVIO-02.send.recipients.payments.pagoPa",
        |c| {
            for p in pago_pas(c) {
                p.remove("attachment");
            }
        },
        "has no pagoPA form (pagoPa.attachment)",
    ),
    (
        "TC-INVIO-02.send.valid",
        |c| {
            for s in sends(c) {
                s["physicalCommunicationType"] = json!("SIMPLE_REGISTERED_LETTER");
            }
        },
        "no request for a notification with a pagoPA payment has everything",
    ),
    (
        "TC-INVIO-03.stream.create",
        |c| drop_calls(c, "/streams"),
        "no TIMELINE stream was created",
    ),
    (
        "TC-INVIO-03.consume.retry-after",
        |c| {
            if let Some(second) = paths(c, "/events").nth(1) {
                second.at_ms = 1_010;
            }
        },
        "came 10 ms after a retry-after of 100 ms",
    ),
    (
        "TC-INVIO-03.consume.properly",
        |c| {
            for e in paths(c, "/events") {
                e.query.clear();
            }
        },
        "no read passed lastEventId",
    ),
    (
        "TC-INVIO-03.consume.creation.iun",
        |c| {
            if let Some(first) = paths(c, "/events").next() {
                first.response = Some(json!([{"eventId": "01", "newStatus": "ACCEPTED"}]));
            }
        },
        "no event with the iun was read",
    ),
    (
        "TC-INVIO-03.consume.creation.accepted",
        |c| {
            if let Some(first) = paths(c, "/events").next() {
                first.response =
                    Some(json!([{"eventId": "01", "iun": IUN_1, "newStatus": "DELIVERING"}]));
            }
        },
        "no event with newStatus ACCEPTED was read",
    ),
    (
        "TC-INVIO-03.consume.stream-id",
        |c| {
            for e in paths(c, "/events") {
                e.path = e.path.replace("s-1", "someone-elses");
            }
        },
        "the TIMELINE stream created was never read",
    ),
    (
        "TC-INVIO-04.documents.document.download",
        |c| {
            c.retain(|x| !(x.method == "GET" && x.path == "/storage/b/doc"));
        },
        "the notified document metadata was read but its url was not downloaded",
    ),
    (
        "TC-INVIO-04.documents.document.metadata",
        |c| drop_calls(c, "/attachments/documents/"),
        "the notified document metadata was never requested",
    ),
    (
        "TC-INVIO-04.documents.pagopa.download",
        |c| {
            c.retain(|x| !(x.method == "GET" && x.path == "/storage/b/form"));
        },
        "the pagoPA form metadata was read but its url was not downloaded",
    ),
    (
        "TC-INVIO-04.documents.pagopa.metadata",
        |c| {
            for m in paths(c, "/PAGOPA") {
                m.path = m.path.replace(IUN_2, "ZZZZ-ZZZZ-ZZZZ-202612-A-9");
            }
        },
        "for an IUN the client had not obtained",
    ),
    (
        "TC-INVIO-04.documents.aar.download",
        |c| {
            c.retain(|x| !(x.method == "GET" && x.path == "/storage/b/aar"));
        },
        "the AAR metadata was read but its url was not downloaded",
    ),
    (
        "TC-INVIO-04.documents.aar.metadata",
        |c| {
            for m in paths(c, "/document/AAR") {
                m.status = 404;
            }
        },
        "no AAR metadata request answered 200",
    ),
    (
        "TC-INVIO-04.legal-facts.download",
        |c| {
            c.retain(|x| !(x.method == "GET" && x.path == format!("/storage/b/{FACT}")));
        },
        "these were not downloaded after it: PN_LEGAL_FACTS-0001.pdf (SENDER_ACK)",
    ),
    (
        "TC-INVIO-04.legal-facts.metadata",
        |c| {
            drop_calls(c, "/legal-facts");
        },
        "neither the detail nor the list of legal facts of a notification was read",
    ),
    (
        "TC-COSTO-01.send.creditor",
        |c| {
            for s in sends(c) {
                s["senderTaxId"] = json!("00000000000");
            }
        },
        "whose creditorTaxId is the sender, 80016350821",
    ),
    (
        "TC-COSTO-01.price.called",
        |c| drop_calls(c, "/price/"),
        "the price was never asked",
    ),
    (
        "TC-COSTO-01.price.details",
        |c| {
            for p in paths(c, &format!("/price/{SENDER}/")) {
                p.path = p.path.replace("0002", "0009");
            }
        },
        "no price of a notice whose creditor is the sender answered 200 after its send",
    ),
    (
        "TC-COSTO-01.scenario-2.notice",
        |c| {
            for p in pago_pas(c) {
                p.insert("creditorTaxId".into(), json!(SENDER));
            }
        },
        "whose creditorTaxId is another Ente",
    ),
    (
        "TC-COSTO-01.scenario-2.price",
        |c| {
            c.retain(|x| !x.path.contains(&format!("/price/{OTHER_ENTE}/")));
        },
        "no price of a notice whose creditor is another Ente answered 200",
    ),
];

/// The rows of `MISTAKES` for the check `id`.
fn mistakes_for(id: &str) -> impl Iterator<Item = &'static (&'static str, Mistake, &'static str)> {
    let shared = id
        .strip_prefix("TC-INVIO-01.")
        .or_else(|| id.strip_prefix("TC-INVIO-02."))
        .map(|rest| format!("TC-INVIO-0*.{rest}"));
    let id = id.to_string();
    MISTAKES
        .iter()
        .filter(move |(m, _, _)| *m == id || Some(m.to_string()) == shared)
}

#[test]
fn a_client_that_does_everything_meets_every_check() {
    let checks = judge(&full_log());
    let unmet: Vec<String> = leaves(&checks)
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.id, c.reason.as_deref().unwrap_or_default()))
        .collect();
    assert!(unmet.is_empty(), "{unmet:#?}");
}

#[test]
fn each_mistake_fails_its_check_with_the_reason() {
    let ids: Vec<String> = leaves(&judge(&full_log()))
        .iter()
        .map(|c| c.id.clone())
        .collect();
    for id in &ids {
        for (_, mistake, reason) in mistakes_for(id) {
            let mut calls = full_log();
            mistake(&mut calls);
            renumber(&mut calls);
            let checks = judge(&calls);
            let check = leaves(&checks)
                .into_iter()
                .find(|c| c.id == *id)
                .unwrap_or_else(|| panic!("no check {id}"));
            assert!(!check.ok, "{id} stayed ✓ after its mistake");
            let why = check.reason.as_deref().unwrap_or_default();
            assert!(
                why.contains(reason),
                "{id}: the reason `{why}` lacks `{reason}`"
            );
        }
    }
    for (row, _, _) in MISTAKES {
        assert!(
            ids.iter()
                .any(|id| mistakes_for(id).any(|(m, _, _)| m == row)),
            "the row {row} names no check"
        );
    }
}

#[test]
fn every_check_has_a_mistake_that_fails_it() {
    let checks = judge(&full_log());
    let untested: Vec<&str> = leaves(&checks)
        .iter()
        .map(|c| c.id.as_str())
        .filter(|id| mistakes_for(id).next().is_none())
        .collect();
    assert!(
        untested.is_empty(),
        "checks without a mistake row: {untested:?}"
    );
}
