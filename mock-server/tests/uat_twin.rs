//! The UAT twin: what `--uat-twin` changes, each as UAT does it. Storage on its own host with
//! S3's paths, authorizer denials in the gateway's shape, download metadata that ask to retry,
//! stream events that live 7 real days.

mod common;

use common::oas::assert_conforms;
use common::*;
use send_mock::MockConfig;
use serde_json::{Value, json};
use std::time::Duration;

/// A twin whose clock stands still unless a test advances it.
async fn twin() -> TestApp {
    spawn_with(MockConfig::for_tests().uat_twin(Some(Duration::from_secs(86_400)), None)).await
}

fn find<'v>(nodes: &'v Value, id: &str) -> Option<&'v Value> {
    nodes.as_array()?.iter().find_map(|n| {
        if n["id"] == id {
            Some(n)
        } else {
            find(&n["children"], id)
        }
    })
}

#[tokio::test]
async fn storage_is_another_host_with_s3_paths_and_the_api_serves_none() {
    let app = twin().await;
    let storage = app
        .mock
        .storage_url()
        .expect("the twin has a storage listener");
    assert_ne!(storage, app.base);
    let bytes = pdf("atto");
    let slot = app
        .preload(DEMO_KEY, "application/pdf", &sha256_b64(&bytes))
        .await;
    let url = slot["url"].as_str().unwrap();
    let prefix = format!("{storage}/pn-safestorage-eu-south-1-mock/");
    assert!(url.starts_with(&prefix), "{url}");
    // The same path on the API listener is no SEND operation.
    let path_and_query = &url[storage.len()..];
    let r = app
        .client
        .put(format!("{}/storage{path_and_query}", app.base))
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // Storage answers nothing but objects, in S3's words.
    let r = app
        .client
        .get(format!("{storage}/delivery/v2.9/notifications/sent/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<Code>AccessDenied</Code>")
    );

    // A whole TC-INVIO-04 round: upload, send, metadata (retryAfter first, as UAT), download.
    let doc = app.upload_pdf("documento").await;
    let (_, iun) = app.send_accepted(&notification(&doc)).await;
    let path = format!("/delivery/notifications/sent/{iun}/attachments/documents/0");
    let spec_path = "/delivery/notifications/sent/{iun}/attachments/documents/{docIdx}";
    let (status, first) = app.get_json(&path).await;
    assert_eq!(status, 200);
    assert_conforms("GET", spec_path, 200, &first);
    assert!(first.get("url").is_none(), "{first}");
    assert!(first["retryAfter"].as_u64().is_some(), "{first}");
    let (_, meta) = app.get_json(&path).await;
    assert_conforms("GET", spec_path, 200, &meta);
    let url = meta["url"].as_str().expect("a url once ready");
    assert!(url.starts_with(&prefix), "{url}");
    let r = app.client.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf("documento"));

    // The mock's checklist saw the download on the other listener, for this Ente.
    let checks: Value = app.get("/mock/checklist").await.json().await.unwrap();
    let leaf = find(&checks["checks"], "TC-INVIO-04.documents.document").expect("the leaf exists");
    assert_eq!(leaf["ok"], true, "{leaf}");
    app.mock.stop().await;
}

#[tokio::test]
async fn authorizer_denials_have_the_gateway_shape_and_the_reason_in_a_header() {
    let app = twin().await;
    let r = app.client.get(app.url("/status")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["x-amzn-errortype"], "UnauthorizedException");
    assert!(
        r.headers()["x-send-mock-reason"]
            .to_str()
            .unwrap()
            .contains("x-api-key header is missing")
    );
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"message": "Unauthorized"})
    );
    let r = app.get_as("not-a-key", "/status").await;
    assert_eq!(r.status(), 403);
    assert!(
        r.headers()["x-send-mock-reason"]
            .to_str()
            .unwrap()
            .contains("unknown x-api-key")
    );
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"Message": "User is not authorized to access this resource with an explicit deny"})
    );
    // Outside the twin, the same denial is a Problem.
    let plain = spawn_app().await;
    let r = plain.get_as("not-a-key", "/status").await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    app.mock.stop().await;
    plain.mock.stop().await;
}

#[tokio::test]
async fn without_a_storage_listener_storage_stays_under_the_api() {
    let app = spawn_app().await;
    assert_eq!(app.mock.storage_url(), None);
    let slot = app
        .preload(DEMO_KEY, "application/pdf", &sha256_b64(b"x"))
        .await;
    let want = format!("{}/storage/pn-safestorage-eu-south-1-mock/", app.base);
    assert!(slot["url"].as_str().unwrap().starts_with(&want), "{slot}");
    app.mock.stop().await;
}

async fn read_all(app: &TestApp, stream: &str) -> Vec<Value> {
    let r = app
        .get(&format!(
            "/delivery-progresses/v2.9/streams/{stream}/events"
        ))
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// UAT keeps stream events 7 real days (a storage TTL): a poller that reads 10 compressed SEND
/// days after the send still gets everything. A clock jump is a real-time jump too.
#[tokio::test]
async fn stream_events_live_seven_days_of_wall_time_plus_jumps() {
    let app = spawn_with(MockConfig {
        time_scale: Duration::from_millis(20),
        stream_retry_after: Duration::from_millis(1),
        ..MockConfig::for_tests()
    })
    .await;
    let r = app
        .post(
            "/delivery-progresses/v2.9/streams",
            &json!({"title": "ttl", "eventType": "TIMELINE", "groups": []}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let stream = r.json::<Value>().await.unwrap()["streamId"]
        .as_str()
        .unwrap()
        .to_string();
    let doc = app.upload_pdf("atto").await;
    let r = app
        .post("/delivery/v2.6/requests", &notification(&doc))
        .await;
    assert_eq!(r.status(), 202);
    // 10 SEND days (and then some) at 20 ms a day: digital delivery is refined by then.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = read_all(&app, &stream).await;
    let categories: Vec<&str> = events
        .iter()
        .filter_map(|e| e["element"]["category"].as_str())
        .collect();
    for want in ["REQUEST_ACCEPTED", "SEND_DIGITAL_DOMICILE", "REFINEMENT"] {
        assert!(categories.contains(&want), "{want} missing: {categories:?}");
    }
    assert_eq!(
        events[0]["element"]["category"], "VALIDATE_NORMALIZE_ADDRESSES_REQUEST",
        "the first event is still there"
    );
    // Eight days later, in a jump, they are gone.
    tokio::time::sleep(Duration::from_millis(5)).await;
    app.advance("8d").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(read_all(&app, &stream).await, Vec::<Value>::new());
    app.mock.stop().await;
}
