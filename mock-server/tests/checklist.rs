//! The client checklist: a scripted client turns each check ✓ exactly when it should; wrong
//! uses stay ✗ with the reason a PT needs; two Enti's checklists do not mix.

mod common;

use common::*;
use send_mock::{ApiKey, EnteProfile, MockConfig};
use serde_json::{Value, json};
use std::time::Duration;

async fn app() -> TestApp {
    let b = EnteProfile {
        name: "Comune B".into(),
        tax_id: "01199250158".into(),
        api_key: ApiKey::new("key-b"),
        ..EnteProfile::demo()
    };
    spawn_with(MockConfig {
        enti: vec![EnteProfile::demo(), b],
        time_scale: Duration::from_secs(86_400),
        stream_retry_after: Duration::from_millis(100),
        ..MockConfig::for_tests()
    })
    .await
}

/// The check `id` of the calling Ente's checklist: (ok, reason).
async fn check(app: &TestApp, key: &str, id: &str) -> (bool, String) {
    let r = app.get_as(key, "/mock/checklist").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    fn find<'v>(nodes: &'v Value, id: &str) -> Option<&'v Value> {
        nodes.as_array()?.iter().find_map(|n| {
            if n["id"] == id {
                Some(n)
            } else {
                find(&n["children"], id)
            }
        })
    }
    let n = find(&body["checks"], id).unwrap_or_else(|| panic!("no check {id}"));
    (
        n["ok"].as_bool().unwrap(),
        n["reason"].as_str().unwrap_or_default().to_string(),
    )
}

async fn ok(app: &TestApp, id: &str) -> bool {
    check(app, DEMO_KEY, id).await.0
}

#[tokio::test]
async fn tc_invio_01_and_02_turn_green_step_by_step() {
    let app = app().await;
    for id in [
        "TC-INVIO-01.preload.request",
        "TC-INVIO-01.upload.files",
        "TC-INVIO-01.send.request",
        "TC-INVIO-01.send.valid",
        "TC-INVIO-02.send.recipients.payments.pagoPa",
    ] {
        let (ok, reason) = check(&app, DEMO_KEY, id).await;
        assert!(!ok && !reason.is_empty(), "{id} starts ✗ with a reason");
    }
    let bytes = pdf("atto");
    let sha = sha256_b64(&bytes);
    let slot = app.preload(DEMO_KEY, "application/pdf", &sha).await;
    assert!(ok(&app, "TC-INVIO-01.preload").await);
    assert!(!ok(&app, "TC-INVIO-01.upload").await);
    // A hex checksum is refused and the checklist says so.
    let put = |sum: String| {
        app.client
            .put(slot["url"].as_str().unwrap())
            .header("content-type", "application/pdf")
            .header("x-amz-meta-secret", slot["secret"].as_str().unwrap())
            .header("x-amz-checksum-sha256", sum)
            .body(bytes.clone())
            .send()
    };
    let hex: String =
        sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&bytes))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
    assert_eq!(put(hex).await.unwrap().status(), 400);
    let (good, reason) = check(&app, DEMO_KEY, "TC-INVIO-01.upload.files").await;
    assert!(
        !good && reason.contains("InvalidRequest") && reason.contains("hex digest"),
        "{reason}"
    );
    let r = put(sha.clone()).await.unwrap();
    let version = r.headers()["x-amz-version-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(ok(&app, "TC-INVIO-01.upload").await);
    let doc = Uploaded {
        key: slot["key"].as_str().unwrap().into(),
        version,
        sha256: sha,
    };

    // A wrong versionToken: the documents check names it.
    let mut wrong = notification(&Uploaded {
        version: "v1".into(),
        ..doc.clone()
    });
    wrong["paProtocolNumber"] = json!("WRONG-VERSION");
    assert_eq!(
        app.post("/delivery/v2.6/requests", &wrong).await.status(),
        202
    );
    let (good, reason) = check(&app, DEMO_KEY, "TC-INVIO-01.send.documents").await;
    assert!(!good && reason.contains("x-amz-version-id"), "{reason}");
    // It is refused, and the checklist says why once the status is read.
    app.advance("10m").await;
    let rid = {
        let (_, st) = app
            .get_json(
                "/delivery/v2.6/requests?paProtocolNumber=WRONG-VERSION&idempotenceToken=token-1",
            )
            .await;
        st["notificationRequestId"].as_str().unwrap().to_string()
    };
    let (good, reason) = check(&app, DEMO_KEY, "TC-INVIO-01.send.valid").await;
    assert!(
        !good && reason.contains("REFUSED") && reason.contains(&rid),
        "{reason}"
    );

    // The right request: sent, then accepted once its status is read.
    let r = app
        .post("/delivery/v2.6/requests", &notification(&doc))
        .await;
    assert_eq!(r.status(), 202);
    let rid = r.json::<Value>().await.unwrap()["notificationRequestId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        ok(&app, "TC-INVIO-01.send.request").await
            && ok(&app, "TC-INVIO-01.send.recipients").await
            && ok(&app, "TC-INVIO-01.send.documents").await
    );
    app.advance("10m").await;
    let (good, reason) = check(&app, DEMO_KEY, "TC-INVIO-01.send.valid").await;
    assert!(!good && reason.contains("never read"), "{reason}");
    app.get_json(&format!(
        "/delivery/v2.6/requests?notificationRequestId={}",
        urlenc(&rid)
    ))
    .await;
    assert!(ok(&app, "TC-INVIO-01").await, "the whole TC");
    assert!(!ok(&app, "TC-INVIO-02").await, "no payment yet");

    // TC-INVIO-02: a payment with its form.
    let form = app.upload_pdf("avviso").await;
    let notice = notice_code();
    let (_, _) = app
        .send_accepted(&notification_with_payment(
            &doc,
            &form,
            DEMO_TAX_ID,
            &notice,
        ))
        .await;
    assert!(
        ok(&app, "TC-INVIO-02").await,
        "{:?}",
        check(&app, DEMO_KEY, "TC-INVIO-02.send.valid").await
    );
    app.mock.stop().await;
}

#[tokio::test]
async fn tc_invio_03_needs_a_stream_read_with_ack_and_every_read_after_its_retry_after() {
    let app = app().await;
    let doc = app.upload_pdf("atto").await;
    let (_, iun) = app.send_accepted(&notification(&doc)).await;
    app.get_json(&format!("/delivery/v2.9/notifications/sent/{iun}"))
        .await;
    let (good, reason) = check(&app, DEMO_KEY, "TC-INVIO-03.consume.creation.accepted").await;
    assert!(
        !good && reason.contains("detail was polled but no TIMELINE stream was read"),
        "{reason}"
    );

    let r = app
        .post(
            "/delivery-progresses/v2.9/streams",
            &json!({"title": "t", "eventType": "TIMELINE", "groups": []}),
        )
        .await;
    let sid = r.json::<Value>().await.unwrap()["streamId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ok(&app, "TC-INVIO-03.stream.create").await);
    app.send_accepted(&notification(&doc)).await;
    let read = |last: Option<String>| {
        let q = last
            .map(|l| format!("?lastEventId={l}"))
            .unwrap_or_default();
        let path = format!("/delivery-progresses/v2.9/streams/{sid}/events{q}");
        let app = &app;
        async move { app.get(&path).await }
    };
    let page: Vec<Value> = read(None).await.json().await.unwrap();
    assert!(ok(&app, "TC-INVIO-03.consume.creation").await);
    assert!(ok(&app, "TC-INVIO-03.consume.stream-id").await);
    assert!(ok(&app, "TC-INVIO-03.consume.retry-after").await);
    let (good, reason) = check(&app, DEMO_KEY, "TC-INVIO-03.consume.properly").await;
    assert!(!good && reason.contains("lastEventId"), "{reason}");
    let last = page.last().unwrap()["eventId"]
        .as_str()
        .unwrap()
        .to_string();
    // Acknowledged, after waiting: consumed properly.
    tokio::time::sleep(Duration::from_millis(130)).await;
    read(Some(last.clone())).await;
    assert!(ok(&app, "TC-INVIO-03").await);
    // Too fast: 429, and the check names the stream and the call. Like PagoPA's validator,
    // one read that did not wait is enough: the check stays ✗ until the log starts over.
    assert_eq!(read(Some(last.clone())).await.status(), 429);
    let (good, reason) = check(&app, DEMO_KEY, "TC-INVIO-03.consume.retry-after").await;
    assert!(
        !good && reason.contains(&sid) && reason.contains("retry-after"),
        "{reason}"
    );
    tokio::time::sleep(Duration::from_millis(130)).await;
    read(Some(last.clone())).await;
    assert!(!ok(&app, "TC-INVIO-03.consume.retry-after").await);
    app.mock.stop().await;
}

#[tokio::test]
async fn tc_invio_04_and_tc_costo_01_both_scenarios() {
    let app = app().await;
    let sent = app.send_with_payment(DEMO_TAX_ID).await;
    let (iun, own, doc) = (sent.iun, sent.notice, sent.doc);
    app.advance("1d").await;
    // Metadata without download is not enough.
    let (_, meta) = app
        .get_json(&format!(
            "/delivery/notifications/sent/{iun}/attachments/documents/0"
        ))
        .await;
    let (good, reason) = check(&app, DEMO_KEY, "TC-INVIO-04.documents.document.download").await;
    assert!(!good && reason.contains("not downloaded"), "{reason}");
    app.client
        .get(meta["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(ok(&app, "TC-INVIO-04.documents.document").await);
    let (_, meta) = app
        .get_json(&format!(
            "/delivery/notifications/sent/{iun}/attachments/payment/0/PAGOPA"
        ))
        .await;
    app.client
        .get(meta["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let (_, detail) = app
        .get_json(&format!("/delivery/v2.9/notifications/sent/{iun}"))
        .await;
    let key = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e["legalFactsIds"][0]["key"].as_str())
        .unwrap()
        .trim_start_matches("safestorage://")
        .to_string();
    let (_, meta) = app
        .get_json(&format!("/delivery-push/{iun}/download/legal-facts/{key}"))
        .await;
    app.client
        .get(meta["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(ok(&app, "TC-INVIO-04.legal-facts").await);
    // The AAR, ours beyond the validator's checks.
    assert!(!ok(&app, "TC-INVIO-04").await);
    let aar = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e["details"]["generatedAarUrl"].as_str())
        .unwrap()
        .trim_start_matches("safestorage://")
        .to_string();
    let (_, meta) = app
        .get_json(&format!(
            "/delivery-push/{iun}/document/AAR?documentId={aar}"
        ))
        .await;
    app.client
        .get(meta["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(ok(&app, "TC-INVIO-04").await);

    // Scenario 1: a price asked for a notice no notification carries stays ✗, then the right one.
    app.get_json(&format!(
        "/delivery/v2.3/price/{DEMO_TAX_ID}/999999999999999999"
    ))
    .await;
    let (good, reason) = check(&app, DEMO_KEY, "TC-COSTO-01.price.details").await;
    assert!(
        !good && reason.contains("PN_DELIVERY_NOTIFICATIONCOSTNOTFOUND"),
        "{reason}"
    );
    app.get_json(&format!("/delivery/v2.3/price/{DEMO_TAX_ID}/{own}"))
        .await;
    assert!(ok(&app, "TC-COSTO-01.price").await && ok(&app, "TC-COSTO-01.send").await);
    // Scenario 2: creditor B; B reads the price with its own key.
    assert!(!ok(&app, "TC-COSTO-01.scenario-2").await);
    let other = notice_code();
    let form2 = app.upload_pdf("avviso 2").await;
    let mut body = notification_with_payment(&doc, &form2, "01199250158", &other);
    body["paProtocolNumber"] = json!("SC2");
    app.send_accepted(&body).await;
    assert!(
        ok(&app, "TC-COSTO-01.scenario-2.notice").await
            && !ok(&app, "TC-COSTO-01.scenario-2.price").await
    );
    assert_eq!(
        app.get_as(
            "key-b",
            &format!("/delivery/v2.3/price/01199250158/{other}")
        )
        .await
        .status(),
        200
    );
    assert!(ok(&app, "TC-COSTO-01.scenario-2").await);

    // PagoPA's validator shape (TC-COSTO-01 first: it sorts by description), and starting over.
    let r = app.get("/checklistresult").await;
    let pv: Value = r.json().await.unwrap();
    assert_eq!(pv["version"], "2.3");
    assert_eq!(pv["ente"]["taxId"], DEMO_TAX_ID);
    let tcs: Vec<&str> = pv["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["description"].as_str().unwrap())
        .collect();
    assert_eq!(
        tcs,
        [
            "TC-COSTO-01",
            "TC-INVIO-01",
            "TC-INVIO-02",
            "TC-INVIO-03",
            "TC-INVIO-04"
        ]
    );
    fn leaves(n: &Value) -> Vec<bool> {
        match n["children"].as_array() {
            Some(c) => c.iter().flat_map(leaves).collect(),
            None => vec![n["result"] == true],
        }
    }
    assert!(
        leaves(&pv["result"][4]).iter().all(|r| *r),
        "{}",
        pv["result"][4]
    );
    assert!(
        leaves(&pv["result"][0]).iter().all(|r| *r),
        "{}",
        pv["result"][0]
    );
    let del = app
        .client
        .delete(app.url("/mock/checklist"))
        .header("x-api-key", DEMO_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    assert!(!ok(&app, "TC-INVIO-04").await);
    app.mock.stop().await;
}

#[tokio::test]
async fn two_entes_checklists_do_not_mix() {
    let app = app().await;
    app.accepted_iun().await;
    assert!(ok(&app, "TC-INVIO-01").await);
    let (b_ok, reason) = check(&app, "key-b", "TC-INVIO-01.preload.request").await;
    assert!(!b_ok && reason.contains("no call"), "{reason}");
    assert_eq!(
        app.client
            .get(app.url("/checklistresult"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "several Enti: the key says whose"
    );
    app.mock.stop().await;
}

#[tokio::test]
async fn the_checklist_page_shows_each_check_with_its_reason() {
    let app = app().await;
    let r = app.get("/mock/checklist.html").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let text = common::html::text_of(&html);
    assert!(
        text.contains("TC-INVIO-03")
            && text.contains("✗")
            && text.contains("no call to /delivery/attachments/preload"),
        "{text}"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "self-contained"
    );
    common::html::assert_valid_html5(&html);
    app.mock.stop().await;
}

/// A PT's real software sends many kinds of notification: what one conforming notification
/// earned stays earned whatever the client sends next (PagoPA's SDK sent a digital 890
/// notification and then an analog-only one; the bot a PEC + 890 and then a PEC + A/R one).
#[tokio::test]
async fn a_later_different_notification_never_turns_a_passed_check_red() {
    let app = app().await;
    let doc = app.upload_pdf("atto").await;
    app.send_accepted(&notification(&doc)).await;
    assert!(ok(&app, "TC-INVIO-01").await);
    // Analog only: no digitalDomicile.
    let mut analog = notification(&doc);
    analog["recipients"][0]
        .as_object_mut()
        .unwrap()
        .remove("digitalDomicile");
    analog["recipients"][0]["physicalAddress"]["address"] = json!("Via @OK_890");
    app.send_accepted(&analog).await;
    // PEC + A/R.
    let mut ar = notification(&doc);
    ar["physicalCommunicationType"] = json!("AR_REGISTERED_LETTER");
    app.send_accepted(&ar).await;
    for id in [
        "TC-INVIO-01",
        "TC-INVIO-01.send.valid",
        "TC-INVIO-01.send.recipients.digitalDomicile",
    ] {
        let (good, reason) = check(&app, DEMO_KEY, id).await;
        assert!(good, "{id}: {reason}");
    }
    app.mock.stop().await;
}

#[tokio::test]
async fn a_reason_names_the_call_the_recipient_and_the_field_in_words() {
    let app = app().await;
    let doc = app.upload_pdf("atto").await;
    let mut no_pec = notification(&doc);
    no_pec["recipients"][0]
        .as_object_mut()
        .unwrap()
        .remove("digitalDomicile");
    let r = app.post("/delivery/v2.6/requests", &no_pec).await;
    assert_eq!(r.status(), 202);
    let (good, reason) = check(
        &app,
        DEMO_KEY,
        "TC-INVIO-01.send.recipients.digitalDomicile",
    )
    .await;
    assert!(!good, "{reason}");
    assert!(
        reason.contains("recipient 0 has no digitalDomicile"),
        "{reason}"
    );
    assert!(reason.starts_with("call #"), "{reason}");
    let (_, valid) = check(&app, DEMO_KEY, "TC-INVIO-01.send.valid").await;
    assert!(
        valid.contains("recipient 0 has no digitalDomicile"),
        "{valid}"
    );
    // Never Rust's debug formatting in a sentence meant for a PT.
    let all = app.get("/mock/checklist").await.text().await.unwrap();
    for debug in ["Some(", "None", "\\\"", "[\"", "Ok(", "Err("] {
        assert!(!all.contains(debug), "{debug} in {all}");
    }
    app.mock.stop().await;
}
