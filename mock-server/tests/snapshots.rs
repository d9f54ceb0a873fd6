//! Snapshots of representative answers. Volatile values (IUNs, request ids, timestamps, random
//! keys and tokens, trace ids, the port) are scrubbed; everything else is content and must
//! not change unnoticed.

mod common;

use common::*;
use regex::Regex;
use serde_json::{Value, json};
use std::sync::LazyLock;

static SCRUBS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    vec![
        (Regex::new(r"http://127\.0\.0\.1:\d+").unwrap(), "[BASE]"),
        (
            Regex::new(r"[A-Z]{4}-[A-Z]{4}-[A-Z]{4}-\d{6}-[A-Z]-\d").unwrap(),
            "[IUN]",
        ),
        (
            Regex::new(r"^[A-Za-z0-9+/]{34}==$").unwrap(),
            "[REQUEST_ID]",
        ),
        (
            Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})").unwrap(),
            "[TIMESTAMP]",
        ),
        (Regex::new(r"\d{8}T\d{6}Z").unwrap(), "[AMZ_DATE]"),
        (Regex::new(r"%2F\d{8}%2F").unwrap(), "%2F[AMZ_DAY]%2F"),
        (
            Regex::new(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}").unwrap(),
            "[TRACE_ID]",
        ),
        (Regex::new(r"[0-9a-f]{32,64}").unwrap(), "[HEX]"),
        (Regex::new(r"\.\d{13}@").unwrap(), ".[MILLIS]@"),
        (Regex::new(r"RL\d{10}").unwrap(), "RL[N]"),
    ]
});

fn scrub(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let mut s = s.clone();
            for (re, with) in SCRUBS.iter() {
                s = re.replace_all(&s, *with).into_owned();
            }
            Value::String(s)
        }
        Value::Array(a) => Value::Array(a.iter().map(scrub).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), scrub(v))).collect()),
        other => other.clone(),
    }
}

#[tokio::test]
async fn representative_responses() {
    let app = spawn_app().await;
    let doc = app
        .upload_as(DEMO_KEY, "application/pdf", &pdf("snapshot document"))
        .await;
    let form = app
        .upload_as(DEMO_KEY, "application/pdf", &pdf("snapshot pagoPA form"))
        .await;

    let sha = sha256_b64(&pdf("snapshot preload"));
    let r = app
        .post(
            "/delivery/attachments/preload",
            &json!([{"preloadIdx": "doc1", "contentType": "application/pdf", "sha256": sha}]),
        )
        .await;
    insta::assert_json_snapshot!("preload_200", scrub(&r.json::<Value>().await.unwrap()));

    let mut body = notification_with_payment(&doc, &form, DEMO_TAX_ID, "302011000000000042");
    body["paProtocolNumber"] = json!("PROT-SNAPSHOT-1");
    let r = app.post("/delivery/v2.6/requests", &body).await;
    let sent: Value = r.json().await.unwrap();
    insta::assert_json_snapshot!("send_v26_202", scrub(&sent));
    let rid = sent["notificationRequestId"].as_str().unwrap().to_string();

    app.advance("5m").await;
    let (_, st) = app
        .get_json(&format!(
            "/delivery/v2.6/requests?notificationRequestId={}",
            urlenc(&rid)
        ))
        .await;
    insta::assert_json_snapshot!("status_v26_accepted", scrub(&st));
    let iun = st["iun"].as_str().unwrap().to_string();

    app.advance("30d").await;
    let (_, d) = app
        .get_json(&format!("/delivery/v2.9/notifications/sent/{iun}"))
        .await;
    insta::assert_json_snapshot!("detail_v29_digital_refined", scrub(&d));
    let (_, d) = app
        .get_json(&format!("/delivery/v2.3/notifications/sent/{iun}"))
        .await;
    insta::assert_json_snapshot!("detail_v23_digital_refined", scrub(&d));
    let (_, d) = app
        .get_json(&format!("/delivery/notifications/sent/{iun}"))
        .await;
    insta::assert_json_snapshot!("detail_v1_digital_refined", scrub(&d));

    let (_, l) = app
        .get_json(&format!("/delivery-push/v2.0/{iun}/legal-facts"))
        .await;
    insta::assert_json_snapshot!("legal_facts_v20", scrub(&l));

    let (_, p) = app
        .get_json(&format!(
            "/delivery/v2.3/price/{DEMO_TAX_ID}/302011000000000042"
        ))
        .await;
    insta::assert_json_snapshot!("price_v23_digital_delivery_mode", scrub(&p));

    let (_, m) = app
        .get_json(&format!(
            "/delivery/notifications/sent/{iun}/attachments/payment/0/PAGOPA"
        ))
        .await;
    insta::assert_json_snapshot!("payment_attachment_metadata", scrub(&m));

    let mut bad = notification(&doc);
    bad["subject"] = json!("a\nb");
    bad["recipients"][0]["taxId"] = Value::Null;
    let r = app.post("/delivery/v2.6/requests", &bad).await;
    insta::assert_json_snapshot!("send_400_problem", scrub(&r.json::<Value>().await.unwrap()));

    let r = app
        .client
        .put(app.url(&format!("/delivery-push/v2.0/notifications/cancel/{iun}")))
        .header("x-api-key", DEMO_KEY)
        .send()
        .await
        .unwrap();
    insta::assert_json_snapshot!("cancel_202", scrub(&r.json::<Value>().await.unwrap()));
    app.mock.stop().await;
}
