//! SEND's downtimes: `POST /mock/downtimes` opens and closes one; `GET /status` lists the open
//! incidents (500 while any is open), the calls of a functionality that is down answer 503,
//! and a resolved downtime is listed by month with a legal fact a PA can download.

mod common;

use common::oas::assert_conforms;
use common::*;
use serde_json::{Value, json};

fn assert_entry(e: &Value) {
    if let Some(spec) = oas::spec() {
        let errs = spec.errors_for_component("PnDowntimeEntry", e);
        assert!(errs.is_empty(), "{errs:?}: {e}");
    }
}

async fn event(app: &TestApp, body: Value) -> (u16, Value) {
    let r = app.post("/mock/downtimes", &body).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn an_open_downtime_shows_on_status_and_stops_its_functionality_only() {
    let app = spawn_app().await;
    let doc = app.upload_pdf("before the outage").await;

    let (s, opened) = event(
        &app,
        json!({"status": "KO", "functionality": ["NOTIFICATION_CREATE"], "sourceType": "OPERATOR", "source": "qa"}),
    )
    .await;
    assert_eq!(s, 200, "{opened}");
    assert_eq!(opened[0]["status"], "KO");
    assert!(opened[0].get("endDate").is_none() && opened[0].get("legalFactId").is_none());
    assert_entry(&opened[0]);

    let r = app.get("/status").await;
    assert_eq!(r.status(), 500, "degraded, as AgID asks /status to answer");
    let status: Value = r.json().await.unwrap();
    assert_conforms("GET", "/status", 500, &status);
    assert_eq!(status["openIncidents"].as_array().unwrap().len(), 1);
    assert_eq!(
        status["openIncidents"][0]["functionality"],
        "NOTIFICATION_CREATE"
    );

    // Creation is down: a send answers 503 and says why; reading still works.
    let r = app
        .post("/delivery/v2.6/requests", &notification(&doc))
        .await;
    assert_eq!(r.status(), 503);
    let reason = r.headers()["x-send-mock-reason"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("NOTIFICATION_CREATE"), "{reason}");
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["status"], 503);
    assert!(
        !problem["errors"].as_array().unwrap().is_empty(),
        "{problem}"
    );

    // Opening it again is a conflict that names the downtime already open.
    let (s, p) = event(
        &app,
        json!({"status": "KO", "functionality": ["NOTIFICATION_CREATE"]}),
    )
    .await;
    assert_eq!(s, 409);
    assert!(p["detail"].as_str().unwrap().contains("already KO"), "{p}");

    let (s, closed) = event(
        &app,
        json!({"status": "OK", "functionality": ["NOTIFICATION_CREATE"]}),
    )
    .await;
    assert_eq!(s, 200, "{closed}");
    assert_eq!(closed[0]["status"], "OK");
    assert!(closed[0]["legalFactId"].is_string() && closed[0]["endDate"].is_string());
    assert_entry(&closed[0]);
    assert_eq!(app.get("/status").await.status(), 200);
    let (iun_request, _) = app.send_accepted(&notification(&doc)).await;
    assert!(!iun_request.is_empty(), "creation works again");
}

#[tokio::test]
async fn a_reading_downtime_stops_the_detail_but_not_the_send() {
    let app = spawn_app().await;
    let iun = app.accepted_iun().await;
    let (s, _) = event(
        &app,
        json!({"status": "KO", "functionality": ["NOTIFICATION_VISUALIZATION"]}),
    )
    .await;
    assert_eq!(s, 200);
    let r = app
        .get(&format!("/delivery/v2.9/notifications/sent/{iun}"))
        .await;
    assert_eq!(r.status(), 503);
    let doc = app.upload_pdf("during a reading outage").await;
    let r = app
        .post("/delivery/v2.6/requests", &notification(&doc))
        .await;
    assert_eq!(r.status(), 202, "creation is not down");
}

#[tokio::test]
async fn a_resolved_downtime_is_listed_by_month_and_its_legal_fact_downloads() {
    let app = spawn_app().await;
    let (_, now) = app.get_json("/mock/clock").await;
    let now = now["now"].as_str().unwrap().to_string();
    event(
        &app,
        json!({"status": "KO", "functionality": ["NOTIFICATION_WORKFLOW", "NOTIFICATION_CREATE"]}),
    )
    .await;
    app.advance("2h").await;
    let (s, closed) = event(
        &app,
        json!({"status": "OK", "functionality": ["NOTIFICATION_WORKFLOW", "NOTIFICATION_CREATE"]}),
    )
    .await;
    assert_eq!(s, 200, "{closed}");
    assert_eq!(closed.as_array().unwrap().len(), 2);

    // The month of the clock by default; another month has none. No key needed.
    let r = app
        .client
        .get(app.url("/downtime/v1/resolved"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let history: Value = r.json().await.unwrap();
    // PnDowntimeHistoryResponse is not in the bundle: its shape is send-api.md §3.1's, its
    // entries the bundle's PnDowntimeEntry.
    let keys: Vec<&String> = history.as_object().unwrap().keys().collect();
    assert!(
        keys.iter().all(|k| *k == "result" || *k == "nextPage"),
        "{history}"
    );
    let result = history["result"].as_array().unwrap();
    result.iter().for_each(assert_entry);
    assert_eq!(result.len(), 2, "{history}");
    assert_eq!(result[0]["startDate"].as_str().unwrap()[..10], now[..10]);
    let (_, other) = app
        .get_json("/downtime/v1/resolved?year=2023&month=1")
        .await;
    assert_eq!(other["result"], json!([]));
    let (s, bad) = app.get_json("/downtime/v1/resolved?month=13").await;
    assert_eq!(s, 400);
    assert!(
        bad["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("month"),
        "{bad}"
    );

    let id = result[0]["legalFactId"].as_str().unwrap();
    let (s, meta) = app
        .get_json(&format!("/downtime/v1/legal-facts/{id}"))
        .await;
    assert_eq!(s, 200, "{meta}");
    if let Some(spec) = oas::spec() {
        let errs = spec.errors_for_component("LegalFactDownloadMetadataResponse", &meta);
        assert!(errs.is_empty(), "{errs:?}");
    }
    assert!(
        meta["filename"]
            .as_str()
            .unwrap()
            .starts_with("downtime_NOTIFICATION_")
    );
    let pdf = app
        .client
        .get(meta["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert_eq!(bytes.len() as u64, meta["contentLength"].as_u64().unwrap());

    let (s, missing) = app
        .get_json("/downtime/v1/legal-facts/PN_DOWNTIME_LEGAL_FACTS-9999.pdf")
        .await;
    assert_eq!(s, 404, "{missing}");
    // The legal fact needs a key, as SEND's api-key-read permission does.
    let r = app
        .client
        .get(app.url(&format!("/downtime/v1/legal-facts/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_bad_event_changes_nothing_and_says_why() {
    let app = spawn_app().await;
    for (body, field) in [
        (
            json!({"status": "DOWN", "functionality": ["NOTIFICATION_CREATE"]}),
            "status",
        ),
        (
            json!({"status": "KO", "functionality": []}),
            "functionality",
        ),
        (
            json!({"status": "KO", "functionality": ["NOTIFICATION_PRINT"]}),
            "functionality",
        ),
        (
            json!({"status": "KO", "functionality": ["NOTIFICATION_CREATE"], "timestamp": "2999-01-01T00:00:00Z"}),
            "timestamp",
        ),
    ] {
        let (s, p) = event(&app, body.clone()).await;
        assert_eq!(s, 400, "{body}: {p}");
        assert_eq!(p["errors"][0]["element"], field, "{p}");
    }
    // Closing one open and one not open: refused as a whole, the open one stays open.
    event(
        &app,
        json!({"status": "KO", "functionality": ["NOTIFICATION_CREATE"]}),
    )
    .await;
    let (s, p) = event(
        &app,
        json!({"status": "OK", "functionality": ["NOTIFICATION_CREATE", "NOTIFICATION_WORKFLOW"]}),
    )
    .await;
    assert_eq!(s, 409, "{p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("NOTIFICATION_WORKFLOW"),
        "{p}"
    );
    let (_, status) = app.get_json("/status").await;
    assert_eq!(status["openIncidents"].as_array().unwrap().len(), 1);
}
