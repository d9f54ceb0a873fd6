//! What a PT sees of its own client's traffic: `GET /mock/requests` (the caller's Ente's
//! requests, newest last, redacted) and `send-mock --log-requests` (one line per request).

mod common;

use common::binary::start_binary;
use common::*;
use send_mock::{ApiKey, EnteProfile, MockConfig};
use serde_json::{Value, json};
use std::time::Duration;

async fn two_enti() -> TestApp {
    let b = EnteProfile {
        name: "Comune B".into(),
        tax_id: "01199250158".into(),
        api_key: ApiKey::new("key-b"),
        ..EnteProfile::demo()
    };
    spawn_with(MockConfig {
        enti: vec![EnteProfile::demo(), b],
        ..MockConfig::for_tests()
    })
    .await
}

#[tokio::test]
async fn the_log_shows_each_request_and_answer_with_the_secrets_redacted() {
    let app = two_enti().await;
    let doc = app.upload_pdf("atto").await;
    let mut bad = notification(&doc);
    bad["recipients"][0]["taxId"] = json!("not-a-tax-id");
    let r = app.post("/delivery/v2.6/requests", &bad).await;
    assert_eq!(r.status(), 400);
    app.get_as("key-b", "/status").await;

    let (s, log) = app.get_json("/mock/requests").await;
    assert_eq!(s, 200, "{log}");
    let text = log.to_string();
    let list = log["requests"].as_array().unwrap();
    let paths: Vec<&str> = list.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths[0], "/delivery/attachments/preload", "{paths:?}");
    assert!(paths[1].starts_with("/storage/"), "the upload: {paths:?}");
    assert_eq!(paths[2], "/delivery/v2.6/requests");
    assert!(!paths.contains(&"/status"), "Comune B's call is not ours");
    assert!(
        !paths.contains(&"/mock/requests"),
        "the log does not log itself"
    );

    // The refused send: what was sent, what came back, its codes and how long it took.
    let send = &list[2];
    assert_eq!(
        (send["method"].as_str(), send["status"].as_u64()),
        (Some("POST"), Some(400))
    );
    assert_eq!(send["request"]["recipients"][0]["taxId"], "not-a-tax-id");
    assert!(
        !send["problemCodes"].as_array().unwrap().is_empty(),
        "{send}"
    );
    assert_eq!(send["response"]["status"], 400);
    assert!(send["durationMs"].as_f64().unwrap() >= 0.0);
    assert!(send["at"].as_str().unwrap().ends_with('Z'));

    // The preload answer carries the upload secret and a presigned URL: both redacted.
    let slot = &list[0]["response"][0];
    assert_eq!(slot["secret"], "[redacted]");
    let url = slot["url"].as_str().unwrap();
    assert!(url.contains("X-Amz-Signature=[redacted]"), "{url}");
    assert!(url.contains("X-Amz-Credential=[redacted]"), "{url}");
    // The upload's query is redacted too, and its PDF body only summarised.
    let upload = &list[1];
    assert!(
        upload["query"]
            .as_str()
            .unwrap()
            .contains("X-Amz-Signature=[redacted]")
    );
    assert!(
        upload["request"]
            .as_str()
            .unwrap()
            .contains("application/pdf"),
        "{upload}"
    );
    for secret in [DEMO_KEY, "key-b"] {
        assert!(!text.contains(secret), "{secret} leaked");
    }

    // Paging: only what came after an id.
    let last = list.last().unwrap()["id"].as_u64().unwrap();
    let (_, none) = app.get_json(&format!("/mock/requests?after={last}")).await;
    assert_eq!(none["requests"], json!([]));
    let (_, one) = app.get_json("/mock/requests?limit=1").await;
    assert_eq!(one["requests"].as_array().unwrap().len(), 1);
    assert_eq!(one["requests"][0]["id"], list.last().unwrap()["id"]);
    let (s, bad) = app.get_json("/mock/requests?limit=many").await;
    assert_eq!(s, 400, "{bad}");

    // Comune B sees its own.
    let r = app.get_as("key-b", "/mock/requests").await;
    let theirs: Value = r.json().await.unwrap();
    assert_eq!(theirs["requests"][0]["path"], "/status");
}

#[tokio::test]
async fn log_requests_prints_one_redacted_line_per_request() {
    let m = start_binary(["--listen", "127.0.0.1:0", "--log-requests"]);
    let c = reqwest::Client::new();
    let slot = m
        .post(
            &c,
            "/delivery/attachments/preload",
            &json!([{"preloadIdx": "0", "contentType": "application/pdf", "sha256": sha256_b64(b"x")}]),
        )
        .await;
    let secret = slot[0]["secret"].as_str().unwrap().to_string();
    let r = c
        .get(m.url("/status"))
        .header("x-api-key", "not-a-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let mut lines = Vec::new();
    while let Ok(l) = m.log.recv_timeout(Duration::from_secs(5)) {
        lines.push(l);
        if lines.iter().any(|l| l.contains("GET /status")) {
            break;
        }
    }
    let preload = lines
        .iter()
        .find(|l| l.contains("POST /delivery/attachments/preload → 200"))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(preload.contains("Comune di Esempio"), "{preload}");
    assert!(
        preload.contains("[redacted]") && !preload.contains(&secret),
        "{preload}"
    );
    let denied = lines
        .iter()
        .find(|l| l.contains("GET /status → 403"))
        .unwrap();
    assert!(
        denied.contains("ente=(none)") && !denied.contains("not-a-key"),
        "{denied}"
    );
    // (The start-up line names the demo key on purpose; request lines never carry a key.)
    let requests = lines.iter().filter(|l| l.contains(" → "));
    assert!(requests.clone().count() >= 2);
    assert!(requests.clone().all(|l| !l.contains(DEMO_KEY)));
    m.kill9();
}
