//! Every response of every operation, in every served version, checked against the schema the
//! official OpenAPI gives for that operation and status.

mod common;

use common::oas::{assert_conforms, spec};
use common::*;
use serde_json::{Value, json};

const REQUEST_VERSIONS: [&str; 6] = ["", "/v2.1", "/v2.3", "/v2.4", "/v2.5", "/v2.6"];
const DETAIL_VERSIONS: [&str; 10] = [
    "", "/v2.0", "/v2.1", "/v2.3", "/v2.4", "/v2.5", "/v2.6", "/v2.7", "/v2.8", "/v2.9",
];

/// A request body in the shape of `version`, with a pagoPA payment.
fn body_for(version: &str, doc: &Uploaded, form: &Uploaded, notice: &str) -> Value {
    let mut b = notification_with_payment(doc, form, DEMO_TAX_ID, notice);
    match version {
        "" => {
            // v1: a single `payment` per recipient, no paFee/vat.
            let rec = &mut b["recipients"][0];
            rec.as_object_mut().unwrap().remove("payments");
            rec["payment"] = json!({"noticeCode": notice, "creditorTaxId": DEMO_TAX_ID, "pagoPaForm": attachment(form)});
            b.as_object_mut().unwrap().remove("paFee");
            b.as_object_mut().unwrap().remove("vat");
        }
        "/v2.1" => {}
        _ => {}
    }
    b
}

async fn checked_get(app: &TestApp, template: &str, path: &str, expect: u16) -> Value {
    let r = app.get(path).await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, expect, "GET {path}: {body}");
    assert_conforms("GET", template, status, &body);
    body
}

#[tokio::test]
async fn every_operation_and_version_answers_what_the_spec_says() {
    if spec().is_none() {
        return;
    }
    let app = spawn_app().await;

    // Preload (200 array) and its 400.
    let sha = sha256_b64(b"x");
    let r = app
        .post(
            "/delivery/attachments/preload",
            &json!([{"preloadIdx": "0", "contentType": "application/pdf", "sha256": sha}]),
        )
        .await;
    assert_conforms(
        "POST",
        "/delivery/attachments/preload",
        200,
        &r.json::<Value>().await.unwrap(),
    );
    let r = app.post("/delivery/attachments/preload", &json!([])).await;
    assert_eq!(r.status(), 400);
    assert_conforms(
        "POST",
        "/delivery/attachments/preload",
        400,
        &r.json::<Value>().await.unwrap(),
    );

    // GET /status
    let r = app.get("/status").await;
    assert_conforms("GET", "/status", 200, &r.json::<Value>().await.unwrap());

    // Send with every request version; WAITING status in every status version.
    let mut sent = Vec::new();
    for v in REQUEST_VERSIONS {
        let doc = app.upload_pdf(&format!("doc {v}")).await;
        let form = app.upload_pdf(&format!("form {v}")).await;
        let notice = notice_code();
        let template = format!("/delivery{v}/requests");
        let r = app
            .post(&template, &body_for(v, &doc, &form, &notice))
            .await;
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 202, "POST {template}: {body}");
        assert_conforms("POST", &template, 202, &body);
        let rid = body["notificationRequestId"].as_str().unwrap().to_string();
        let st = checked_get(
            &app,
            &template,
            &format!("{template}?notificationRequestId={}", urlenc(&rid)),
            200,
        )
        .await;
        assert_eq!(st["notificationRequestStatus"], "WAITING");
        assert_eq!(st["retryAfter"], 10);
        sent.push((v, rid, notice, doc, form));
    }

    // A request that will be refused (file never uploaded), and error bodies of send.
    let ghost = Uploaded {
        key: "PN_NOTIFICATION_ATTACHMENTS-never.pdf".into(),
        version: "v1".into(),
        sha256: sha256_b64(b"ghost"),
    };
    let r = app
        .post("/delivery/v2.6/requests", &notification(&ghost))
        .await;
    let refused_rid = r.json::<Value>().await.unwrap()["notificationRequestId"]
        .as_str()
        .unwrap()
        .to_string();
    for v in REQUEST_VERSIONS {
        let template = format!("/delivery{v}/requests");
        let r = app.post(&template, &json!({"subject": null})).await;
        assert_eq!(r.status(), 400);
        assert_conforms("POST", &template, 400, &r.json::<Value>().await.unwrap());
        let dup = &sent[0];
        let _ = dup;
    }
    // 409 on a reused notice code.
    let (_, _, notice0, doc0, form0) = &sent[5];
    let mut again = notification_with_payment(doc0, form0, DEMO_TAX_ID, notice0);
    again["paProtocolNumber"] = json!("another-protocol");
    let r = app.post("/delivery/v2.6/requests", &again).await;
    assert_eq!(r.status(), 409);
    assert_conforms(
        "POST",
        "/delivery/v2.6/requests",
        409,
        &r.json::<Value>().await.unwrap(),
    );

    app.advance("10m").await;

    // ACCEPTED and REFUSED statuses in every status version; 404 for an unknown request.
    for v in REQUEST_VERSIONS {
        let template = format!("/delivery{v}/requests");
        for (_, rid, ..) in &sent {
            let st = checked_get(
                &app,
                &template,
                &format!("{template}?notificationRequestId={}", urlenc(rid)),
                200,
            )
            .await;
            assert_eq!(st["notificationRequestStatus"], "ACCEPTED", "{st}");
        }
        let st = checked_get(
            &app,
            &template,
            &format!("{template}?notificationRequestId={}", urlenc(&refused_rid)),
            200,
        )
        .await;
        assert_eq!(st["notificationRequestStatus"], "REFUSED");
        assert_eq!(st["errors"][0]["code"], "FILE_NOTFOUND");
        checked_get(
            &app,
            &template,
            &format!("{template}?paProtocolNumber=nope&idempotenceToken=nope"),
            404,
        )
        .await;
        checked_get(
            &app,
            &template,
            &format!("{template}?paProtocolNumber=nope"),
            400,
        )
        .await;
    }

    // Let every workflow run to the end (refinement included).
    app.advance("30d").await;
    let iuns: Vec<String> = sent
        .iter()
        .map(|(_, rid, ..)| {
            String::from_utf8(
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, rid).unwrap(),
            )
            .unwrap()
        })
        .collect();

    for v in DETAIL_VERSIONS {
        let template = format!("/delivery{v}/notifications/sent/{{iun}}");
        for iun in &iuns {
            let d = checked_get(
                &app,
                &template,
                &format!("/delivery{v}/notifications/sent/{iun}"),
                200,
            )
            .await;
            assert_eq!(d["notificationStatus"], "EFFECTIVE_DATE");
        }
    }

    let iun = &iuns[5];
    // Documents and the pagoPA form.
    checked_get(
        &app,
        "/delivery/notifications/sent/{iun}/attachments/documents/{docIdx}",
        &format!("/delivery/notifications/sent/{iun}/attachments/documents/0"),
        200,
    )
    .await;
    checked_get(
        &app,
        "/delivery/notifications/sent/{iun}/attachments/documents/{docIdx}",
        &format!("/delivery/notifications/sent/{iun}/attachments/documents/7"),
        404,
    )
    .await;
    checked_get(
        &app,
        "/delivery/notifications/sent/{iun}/attachments/payment/{recipientIdx}/{attachmentName}",
        &format!("/delivery/notifications/sent/{iun}/attachments/payment/0/PAGOPA"),
        200,
    )
    .await;
    checked_get(
        &app,
        "/delivery/notifications/sent/{iun}/attachments/payment/{recipientIdx}/{attachmentName}",
        &format!("/delivery/notifications/sent/{iun}/attachments/payment/0/F24"),
        404,
    )
    .await;

    // Legal facts: lists v1 and v2.0, download by id and by type+id.
    let list = checked_get(
        &app,
        "/delivery-push/v2.0/{iun}/legal-facts",
        &format!("/delivery-push/v2.0/{iun}/legal-facts"),
        200,
    )
    .await;
    checked_get(
        &app,
        "/delivery-push/{iun}/legal-facts",
        &format!("/delivery-push/{iun}/legal-facts"),
        200,
    )
    .await;
    for item in list.as_array().unwrap() {
        let key = item["legalFactsId"]["key"].as_str().unwrap();
        let cat = item["legalFactsId"]["category"].as_str().unwrap();
        checked_get(
            &app,
            "/delivery-push/{iun}/download/legal-facts/{legalFactId}",
            &format!("/delivery-push/{iun}/download/legal-facts/{key}"),
            200,
        )
        .await;
        checked_get(
            &app,
            "/delivery-push/{iun}/legal-facts/{legalFactType}/{legalFactId}",
            &format!("/delivery-push/{iun}/legal-facts/{cat}/{key}"),
            200,
        )
        .await;
    }
    checked_get(
        &app,
        "/delivery-push/{iun}/download/legal-facts/{legalFactId}",
        &format!("/delivery-push/{iun}/download/legal-facts/PN_LEGAL_FACTS-unknown.pdf"),
        404,
    )
    .await;

    // Price v2.3 and v1, and their 404.
    for (_, _, notice, ..) in &sent {
        let p = checked_get(
            &app,
            "/delivery/v2.3/price/{paTaxId}/{noticeCode}",
            &format!("/delivery/v2.3/price/{DEMO_TAX_ID}/{notice}"),
            200,
        )
        .await;
        assert!(p["refinementDate"].is_string());
        checked_get(
            &app,
            "/delivery/price/{paTaxId}/{noticeCode}",
            &format!("/delivery/price/{DEMO_TAX_ID}/{notice}"),
            200,
        )
        .await;
    }
    checked_get(
        &app,
        "/delivery/v2.3/price/{paTaxId}/{noticeCode}",
        &format!("/delivery/v2.3/price/{DEMO_TAX_ID}/999999999999999999"),
        404,
    )
    .await;
    checked_get(
        &app,
        "/delivery/v2.3/price/{paTaxId}/{noticeCode}",
        &format!("/delivery/v2.3/price/{DEMO_TAX_ID}/12"),
        400,
    )
    .await;

    // Payment event (204, no body) and its 404.
    let r = app.post("/delivery/events/payment/pagopa", &json!({"events": [{"noticeCode": sent[5].2, "creditorTaxId": DEMO_TAX_ID, "paymentDate": "2026-12-01T10:00:00Z", "amount": 1200}]})).await;
    assert_eq!(r.status(), 204);
    let r = app.post("/delivery/events/payment/pagopa", &json!({"events": [{"noticeCode": "999999999999999999", "creditorTaxId": DEMO_TAX_ID, "paymentDate": "2026-12-01T10:00:00Z", "amount": 1}]})).await;
    assert_eq!(r.status(), 404);
    assert_conforms(
        "POST",
        "/delivery/events/payment/pagopa",
        404,
        &r.json::<Value>().await.unwrap(),
    );

    // Cancellation (202) and the cancelled detail in every version.
    let r = app
        .client
        .put(app.url(&format!(
            "/delivery-push/v2.0/notifications/cancel/{}",
            iuns[0]
        )))
        .header("x-api-key", DEMO_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_conforms(
        "PUT",
        "/delivery-push/v2.0/notifications/cancel/{iun}",
        202,
        &r.json::<Value>().await.unwrap(),
    );
    let r = app
        .client
        .put(app.url("/delivery-push/v2.0/notifications/cancel/AAAA-AAAA-AAAA-202611-A-1"))
        .header("x-api-key", DEMO_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_conforms(
        "PUT",
        "/delivery-push/v2.0/notifications/cancel/{iun}",
        404,
        &r.json::<Value>().await.unwrap(),
    );
    app.advance("1h").await;
    for v in DETAIL_VERSIONS {
        let d = checked_get(
            &app,
            &format!("/delivery{v}/notifications/sent/{{iun}}"),
            &format!("/delivery{v}/notifications/sent/{}", iuns[0]),
            200,
        )
        .await;
        assert_eq!(d["notificationStatus"], "CANCELLED");
        // The cancellation legal fact shows from v2.5 on.
        let with_fact = d["timeline"].as_array().unwrap().iter().any(|e| {
            e["legalFactsIds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["category"] == "NOTIFICATION_CANCELLED")
        });
        let late = matches!(v, "/v2.5" | "/v2.6" | "/v2.7" | "/v2.8" | "/v2.9");
        assert_eq!(with_fact, late, "version {v}");
    }
    checked_get(
        &app,
        "/delivery-push/v2.0/{iun}/legal-facts",
        &format!("/delivery-push/v2.0/{}/legal-facts", iuns[0]),
        200,
    )
    .await;
    checked_get(
        &app,
        "/delivery-push/{iun}/legal-facts",
        &format!("/delivery-push/{}/legal-facts", iuns[0]),
        200,
    )
    .await;

    app.mock.stop().await;
}

/// The checks above are only worth something if the validator rejects drift.
#[test]
fn the_spec_validator_catches_drift() {
    let Some(spec) = spec() else { return };
    let bad_id = json!({"notificationRequestId": "req-0", "paProtocolNumber": "p"});
    assert!(
        !spec
            .errors("POST", "/delivery/v2.6/requests", 202, &bad_id)
            .is_empty()
    );
    let ok_id = json!({"notificationRequestId": "QUFBQS1BQUFBLUFBQUEtMjAyNjExLUEtMQ==", "paProtocolNumber": "p"});
    assert!(
        spec.errors("POST", "/delivery/v2.6/requests", 202, &ok_id)
            .is_empty()
    );
    // RETURNED_TO_SENDER is not a v2.3 status; an unknown property is not allowed in a timeline element.
    let element = json!({"elementId": "x", "timestamp": "2026-11-30T10:00:00Z", "legalFactsIds": [], "category": "REFINEMENT", "details": {"recIndex": 0}});
    assert!(
        spec.errors_for_component("TimelineElementV23", &element)
            .is_empty()
    );
    let mut extra = element.clone();
    extra["eventTimestamp"] = json!("2026-11-30T10:00:00Z");
    assert!(
        !spec
            .errors_for_component("TimelineElementV23", &extra)
            .is_empty()
    );
    assert!(
        spec.errors_for_component("TimelineElementV28", &extra)
            .is_empty()
    );
    assert!(
        !spec
            .errors_for_component("NotificationStatus", &json!("RETURNED_TO_SENDER"))
            .is_empty()
    );
    assert!(
        spec.errors_for_component("NotificationStatusV26", &json!("RETURNED_TO_SENDER"))
            .is_empty()
    );
}
