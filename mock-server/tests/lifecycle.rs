//! A notification's life on the virtual clock, as the API shows it.

mod common;

use common::*;
use send_mock::MockConfig;
use serde_json::{Value, json};

fn categories(detail: &Value) -> Vec<String> {
    detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["category"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn detail_is_404_while_in_validation_then_stable_between_calls() {
    let app = spawn_app().await;
    let doc = app.upload_pdf("atto").await;
    let r = app
        .post("/delivery/v2.6/requests", &notification(&doc))
        .await;
    let rid = r.json::<Value>().await.unwrap()["notificationRequestId"]
        .as_str()
        .unwrap()
        .to_string();
    let iun = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &rid).unwrap(),
    )
    .unwrap();
    let (s, body) = app
        .get_json(&format!("/delivery/v2.9/notifications/sent/{iun}"))
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        body["errors"][0]["code"],
        "PN_DELIVERY_NOTIFICATIONNOTFOUND"
    );
    // Validation completes 5 SEND minutes after the send; the first workflow step a minute later.
    app.advance("5m").await;
    let (s, first) = app
        .get_json(&format!("/delivery/v2.9/notifications/sent/{iun}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(first["notificationStatus"], "ACCEPTED");
    let (_, second) = app
        .get_json(&format!("/delivery/v2.9/notifications/sent/{iun}"))
        .await;
    assert_eq!(
        first, second,
        "the detail must not be rebuilt differently on each call"
    );
    let sender_ack = &first["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["category"] == "REQUEST_ACCEPTED")
        .unwrap()["legalFactsIds"][0];
    assert_eq!(sender_ack["category"], "SENDER_ACK");
    assert!(
        sender_ack["key"]
            .as_str()
            .unwrap()
            .starts_with("safestorage://PN_LEGAL_FACTS-")
    );
    app.mock.stop().await;
}

#[tokio::test]
async fn digital_workflow_runs_on_the_clock_and_nothing_fires_early() {
    let app = spawn_app().await;
    let iun = app.accepted_iun().await;
    let path = format!("/delivery/v2.9/notifications/sent/{iun}");
    app.advance("2h").await;
    let (_, d) = app.get_json(&path).await;
    assert_eq!(d["notificationStatus"], "DELIVERED");
    assert!(categories(&d).contains(&"SCHEDULE_REFINEMENT".to_string()));
    assert!(
        !categories(&d).contains(&"REFINEMENT".to_string()),
        "refinement is 7 days later"
    );
    app.advance("6d").await;
    let (_, d) = app.get_json(&path).await;
    assert_eq!(d["notificationStatus"], "DELIVERED");
    app.advance("2d").await;
    let (_, d) = app.get_json(&path).await;
    assert_eq!(d["notificationStatus"], "EFFECTIVE_DATE");
    let history: Vec<&str> = d["notificationStatusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "IN_VALIDATION",
            "ACCEPTED",
            "DELIVERING",
            "DELIVERED",
            "EFFECTIVE_DATE"
        ]
    );
    // Every element is related to exactly one status.
    let related: usize = d["notificationStatusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["relatedTimelineElements"].as_array().unwrap().len())
        .sum();
    assert_eq!(related, d["timeline"].as_array().unwrap().len());
    app.mock.stop().await;
}

#[tokio::test]
async fn analog_890_price_grows_with_the_paper_cost() {
    let app = spawn_app().await;
    let doc = app.upload_pdf("atto").await;
    let form = app.upload_pdf("avviso").await;
    let notice = notice_code();
    let mut body = notification_with_payment(&doc, &form, DEMO_TAX_ID, &notice);
    body["recipients"][0]
        .as_object_mut()
        .unwrap()
        .remove("digitalDomicile");
    body["recipients"][0]["physicalAddress"]["address"] = json!("Via @OK_890");
    app.send_accepted(&body).await;
    let price_path = format!("/delivery/v2.3/price/{DEMO_TAX_ID}/{notice}");
    let (_, p) = app.get_json(&price_path).await;
    assert_eq!(
        (
            p["partialPrice"].as_i64(),
            p["totalPrice"].as_i64(),
            p["analogCost"].as_i64()
        ),
        (Some(100), Some(200), Some(0))
    );
    assert!(p.get("refinementDate").is_none());
    app.advance("1d").await;
    let (_, p) = app.get_json(&price_path).await;
    let analog = p["analogCost"].as_i64().unwrap();
    assert!(analog > 0, "the 890 letter was sent: {p}");
    assert_eq!(p["partialPrice"].as_i64().unwrap(), 100 + analog);
    assert_eq!(
        p["totalPrice"].as_i64().unwrap(),
        100 + (analog * 122 + 50) / 100 + 100
    );
    app.advance("20d").await;
    let (_, p) = app.get_json(&price_path).await;
    assert!(
        p["refinementDate"]
            .as_str()
            .unwrap()
            .contains("T23:59:59.999+0"),
        "{p}"
    );
    app.mock.stop().await;
}

#[tokio::test]
async fn cancellation_stops_the_workflow_and_is_idempotent() {
    let app = spawn_app().await;
    let sent = app.send_with_payment(DEMO_TAX_ID).await;
    let (iun, notice) = (sent.iun, sent.notice);
    let cancel = || {
        app.client
            .put(app.url(&format!("/delivery-push/v2.0/notifications/cancel/{iun}")))
            .header("x-api-key", DEMO_KEY)
            .send()
    };
    let r = cancel().await.unwrap();
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "OK");
    assert_eq!(
        body["details"][0]["code"],
        "NOTIFICATION_CANCELLATION_ACCEPTED"
    );
    let r = cancel().await.unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["details"][0]["code"],
        "NOTIFICATION_ALREADY_CANCELLED"
    );
    app.advance("30d").await;
    let (_, d) = app
        .get_json(&format!("/delivery/v2.9/notifications/sent/{iun}"))
        .await;
    assert_eq!(d["notificationStatus"], "CANCELLED");
    let cats = categories(&d);
    let req = cats
        .iter()
        .position(|c| c == "NOTIFICATION_CANCELLATION_REQUEST")
        .unwrap();
    assert_eq!(cats.last().unwrap(), "NOTIFICATION_CANCELLED");
    assert!(
        cats.len() <= req + 2,
        "no workflow step after the cancellation request: {cats:?}"
    );
    let cancelled = d["timeline"].as_array().unwrap().last().unwrap();
    assert_eq!(
        cancelled["details"]["notRefinedRecipientIndexes"],
        json!([0])
    );
    assert_eq!(cancelled["details"]["notificationCost"], 100);
    let (s, p) = app
        .get_json(&format!("/delivery/v2.3/price/{DEMO_TAX_ID}/{notice}"))
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        p["errors"][0]["code"],
        "PN_DELIVERYPUSH_NOTIFICATION_CANCELLED"
    );
    app.mock.stop().await;
}

#[tokio::test]
async fn payment_events_add_a_payment_element() {
    let app = spawn_app().await;
    let sent = app.send_with_payment(DEMO_TAX_ID).await;
    let (iun, notice) = (sent.iun, sent.notice);
    let r = app.post("/delivery/events/payment/pagopa", &json!({"events": [{"noticeCode": notice, "creditorTaxId": DEMO_TAX_ID, "paymentDate": "2026-12-01T10:00:00Z", "amount": 1500}]})).await;
    assert_eq!(r.status(), 204);
    let (_, d) = app
        .get_json(&format!("/delivery/v2.9/notifications/sent/{iun}"))
        .await;
    let pay = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["category"] == "PAYMENT")
        .expect("PAYMENT element");
    assert_eq!(pay["details"]["amount"], 1500);
    assert_eq!(pay["details"]["noticeCode"], notice.as_str());
    app.mock.stop().await;
}

/// The deprecated F24 payment event, still in the bundle: by IUN and recipient.
#[tokio::test]
async fn f24_payment_events_add_a_payment_element_to_the_recipients_timeline() {
    use common::oas::assert_conforms;
    let app = spawn_app().await;
    let iun = app.accepted_iun().await;
    let event = |iun: &str, tax_id: &str| json!({"events": [{"iun": iun, "recipientTaxId": tax_id, "recipientType": "PF", "paymentDate": "2026-12-01T10:00:00Z", "amount": 2500}]});
    let r = app
        .post(
            "/delivery/events/payment/f24",
            &event(&iun, "BNRMHL75C06G702B"),
        )
        .await;
    assert_eq!(r.status(), 204);
    let detail_path = format!("/delivery/v2.9/notifications/sent/{iun}");
    let (_, d) = app.get_json(&detail_path).await;
    assert_conforms("GET", "/delivery/v2.9/notifications/sent/{iun}", 200, &d);
    let pay = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["category"] == "PAYMENT")
        .expect("PAYMENT element");
    assert_eq!(pay["details"]["amount"], 2500);
    assert_eq!(pay["details"]["recIndex"], 0);
    // A recipient the notification does not have: 404; a malformed event: 400, both Problems.
    let r = app
        .post(
            "/delivery/events/payment/f24",
            &event(&iun, "MNDLCU98T68C933T"),
        )
        .await;
    assert_eq!(r.status(), 404);
    assert_conforms(
        "POST",
        "/delivery/events/payment/f24",
        404,
        &r.json::<Value>().await.unwrap(),
    );
    let r = app
        .post(
            "/delivery/events/payment/f24",
            &event("not-an-iun", "BNRMHL75C06G702B"),
        )
        .await;
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["errors"][0]["code"], "PN_INVALID_BODY");
    assert_eq!(p["errors"][0]["element"], "/events/0/iun");
    assert_conforms("POST", "/delivery/events/payment/f24", 400, &p);
    app.mock.stop().await;
}

#[tokio::test]
async fn retry_after_switch_holds_back_the_first_url_of_each_file() {
    let app = spawn_with(MockConfig {
        retry_after_downloads: true,
        time_scale: std::time::Duration::from_secs(86_400),
        ..MockConfig::for_tests()
    })
    .await;
    let iun = app.accepted_iun().await;
    let path = format!("/delivery/notifications/sent/{iun}/attachments/documents/0");
    let (_, first) = app.get_json(&path).await;
    assert!(first.get("url").is_none());
    assert_eq!(first["retryAfter"], 1);
    let (_, second) = app.get_json(&path).await;
    assert!(second["url"].is_string());
    let (_, list) = app
        .get_json(&format!("/delivery-push/v2.0/{iun}/legal-facts"))
        .await;
    let key = list[0]["legalFactsId"]["key"].as_str().unwrap();
    let lf = format!("/delivery-push/{iun}/download/legal-facts/{key}");
    assert!(app.get_json(&lf).await.1.get("url").is_none());
    let (_, meta) = app.get_json(&lf).await;
    let bytes = app
        .client
        .get(meta["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert_eq!(bytes.len() as u64, meta["contentLength"].as_u64().unwrap());
    app.mock.stop().await;
}

#[tokio::test]
async fn legal_facts_and_aar_are_real_documents_naming_the_notification() {
    let app = spawn_app().await;
    let iun = app.accepted_iun().await;
    app.advance("1d").await;
    let (_, list) = app
        .get_json(&format!("/delivery-push/v2.0/{iun}/legal-facts"))
        .await;
    let cats: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["legalFactsId"]["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        cats,
        [
            "SENDER_ACK",
            "PEC_RECEIPT",
            "PEC_RECEIPT",
            "DIGITAL_DELIVERY"
        ]
    );
    for l in list.as_array().unwrap() {
        let key = l["legalFactsId"]["key"].as_str().unwrap();
        let (s, meta) = app
            .get_json(&format!("/delivery-push/{iun}/download/legal-facts/{key}"))
            .await;
        assert_eq!(s, 200);
        let bytes = app
            .client
            .get(meta["url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(bytes.len() as u64, meta["contentLength"].as_u64().unwrap());
        let text = String::from_utf8_lossy(&bytes);
        if key.ends_with(".pdf") {
            assert!(bytes.starts_with(b"%PDF-"));
        } else {
            assert!(text.contains("<postacert"));
        }
        assert!(text.contains(&iun), "{key} names the IUN");
    }
    let (_, d) = app
        .get_json(&format!("/delivery/v2.9/notifications/sent/{iun}"))
        .await;
    let aar = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["category"] == "AAR_GENERATION")
        .unwrap()["details"]["generatedAarUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, meta) = app
        .get_json(&format!(
            "/delivery-push/{iun}/document/AAR?documentId={}",
            aar.replace("://", "%3A%2F%2F")
        ))
        .await;
    assert_eq!(s, 200, "{meta}");
    assert!(meta["url"].is_string());
    app.mock.stop().await;
}

#[tokio::test]
async fn a_clock_of_50ms_per_day_delivers_without_advancing() {
    let app = spawn_with(MockConfig::for_tests()).await;
    let doc = app.upload_pdf("atto").await;
    let r = app
        .post("/delivery/v2.6/requests", &notification(&doc))
        .await;
    let rid = r.json::<Value>().await.unwrap()["notificationRequestId"]
        .as_str()
        .unwrap()
        .to_string();
    let iun = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &rid).unwrap(),
    )
    .unwrap();
    // Poll with a deadline: 7 SEND days take 350 ms of wall time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (s, d) = app
            .get_json(&format!("/delivery/v2.9/notifications/sent/{iun}"))
            .await;
        if s == 200 && d["notificationStatus"] == "EFFECTIVE_DATE" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not refined in time: {d}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.mock.stop().await;
}

#[tokio::test]
async fn problems_show_sends_virtual_time() {
    let app = spawn_app().await;
    app.advance("30d").await;
    let (_, body) = app
        .get_json("/delivery/v2.9/notifications/sent/AAAA-AAAA-AAAA-202611-A-1")
        .await;
    let shown: chrono::DateTime<chrono::Utc> = body["timestamp"].as_str().unwrap().parse().unwrap();
    assert!(
        shown - chrono::Utc::now() > chrono::Duration::days(29),
        "{shown}"
    );
    let (_, clock) = app.get_json("/mock/clock").await;
    let now: chrono::DateTime<chrono::Utc> = clock["now"].as_str().unwrap().parse().unwrap();
    assert!((now - shown).num_seconds().abs() < 60);
    app.mock.stop().await;
}

/// `MockServer::service` is the served app: same answers, same middleware, same state.
/// How many SEND calls of the demo Ente `GET /mock/requests` lists.
async fn logged(app: &TestApp) -> usize {
    let (s, log) = app.get_json("/mock/requests").await;
    assert_eq!(s, 200);
    log["requests"].as_array().unwrap().len()
}

#[tokio::test]
async fn the_in_process_service_answers_as_the_server_does() {
    use axum::body::{Body, to_bytes};
    use axum::extract::Request;
    use tower::ServiceExt as _;

    let app = spawn_app().await;
    let iun = app.accepted_iun().await;
    let path = format!("/delivery/v2.9/notifications/sent/{iun}");
    let over_http = app.get(&path).await.bytes().await.unwrap();
    let recorded = logged(&app).await;

    let req = Request::get(&path)
        .header("x-api-key", DEMO_KEY)
        .body(Body::empty())
        .unwrap();
    let res = app.mock.service().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let trace = res.headers()["x-amzn-trace-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(trace.starts_with("Root=1-"), "{trace}");
    let in_process = to_bytes(res.into_body(), usize::MAX).await.unwrap();
    assert_eq!(in_process, over_http);
    assert_eq!(
        logged(&app).await,
        recorded + 1,
        "the in-process call is recorded like any other"
    );

    let anonymous = Request::get(&path).body(Body::empty()).unwrap();
    let res = app.mock.service().oneshot(anonymous).await.unwrap();
    assert_eq!(res.status(), 401);
    let problem: Value =
        serde_json::from_slice(&to_bytes(res.into_body(), usize::MAX).await.unwrap()).unwrap();
    assert_eq!(problem["status"], 401, "{problem}");
}

/// `GET /mock/clock` says when the next scheduled step falls due, and null once every
/// timeline has run to its end: what a test waits on instead of guessing.
#[tokio::test]
async fn the_clock_tells_when_the_next_step_falls_due() {
    let app = spawn_app().await;
    let (_, idle) = app.get_json("/mock/clock").await;
    assert_eq!(idle["nextDue"], Value::Null, "nothing sent, nothing due");
    let doc = app.upload_pdf("atto").await;
    let r = app
        .post("/delivery/v2.6/requests", &notification(&doc))
        .await;
    assert_eq!(r.status(), 202);
    let (_, clock) = app.get_json("/mock/clock").await;
    let at = |v: &Value| -> chrono::DateTime<chrono::Utc> { v.as_str().unwrap().parse().unwrap() };
    let wait = at(&clock["nextDue"]) - at(&clock["now"]);
    assert!(
        wait > chrono::Duration::zero() && wait <= chrono::Duration::minutes(1),
        "validation starts a minute after the send: {wait}"
    );
    app.advance("60d").await;
    let (_, done) = app.get_json("/mock/clock").await;
    assert_eq!(done["nextDue"], Value::Null, "the timeline ran to its end");
}
