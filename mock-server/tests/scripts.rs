//! Timeline scripts through the API: every built-in, pinned, still answers what the official
//! OpenAPI says in every version; user YAML scripts drive notifications; recipients view.

mod common;

use common::oas::assert_conforms;
use common::*;
use send_mock::MockConfig;
use serde_json::{Value, json};

const DETAIL_VERSIONS: [&str; 10] = [
    "", "/v2.0", "/v2.1", "/v2.3", "/v2.4", "/v2.5", "/v2.6", "/v2.7", "/v2.8", "/v2.9",
];

async fn pin(app: &TestApp, script: &str) -> u16 {
    app.client
        .put(app.url("/mock/scripts/next"))
        .header("x-api-key", DEMO_KEY)
        .json(&json!({"script": script}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn every_builtin_script_conforms_in_every_version() {
    let app = spawn_app().await;
    let (_, list) = app.get_json("/mock/scripts").await;
    let names: Vec<String> = list["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    assert!(names.len() >= 14, "{names:?}");
    let doc = app.upload_pdf("atto").await;
    for name in &names {
        assert_eq!(pin(&app, name).await, 200, "{name}");
        let mut body = notification(&doc);
        body["paProtocolNumber"] = json!(format!("PIN-{name}"));
        let (_, iun) = app.send_accepted(&body).await;
        app.advance("60d").await;
        for v in DETAIL_VERSIONS {
            let r = app
                .get(&format!("/delivery{v}/notifications/sent/{iun}"))
                .await;
            assert_eq!(r.status(), 200);
            let d: Value = r.json().await.unwrap();
            assert_conforms(
                "GET",
                &format!("/delivery{v}/notifications/sent/{{iun}}"),
                200,
                &d,
            );
        }
        let (_, facts) = app
            .get_json(&format!("/delivery-push/v2.0/{iun}/legal-facts"))
            .await;
        assert_conforms("GET", "/delivery-push/v2.0/{iun}/legal-facts", 200, &facts);
        for f in facts.as_array().unwrap() {
            let key = f["legalFactsId"]["key"].as_str().unwrap();
            let (s, meta) = app
                .get_json(&format!("/delivery-push/{iun}/download/legal-facts/{key}"))
                .await;
            assert_eq!(s, 200, "{name} {key}");
            assert_conforms(
                "GET",
                "/delivery-push/{iun}/download/legal-facts/{legalFactId}",
                200,
                &meta,
            );
        }
        // The script really ran: its timeline is closed (each built-in's last step is checked
        // in the crate's engine tests, store::engine_tests).
        let (_, d) = app
            .get_json(&format!("/delivery/v2.9/notifications/sent/{iun}"))
            .await;
        let history = d["notificationStatusHistory"].as_array().unwrap();
        let last = history.last().unwrap()["status"].as_str().unwrap();
        assert!(
            [
                "EFFECTIVE_DATE",
                "VIEWED",
                "UNREACHABLE",
                "RETURNED_TO_SENDER",
                "CANCELLED"
            ]
            .contains(&last),
            "{name}: {last}"
        );
    }
    assert_eq!(pin(&app, "no-such-script").await, 400);
    app.mock.stop().await;
}

#[tokio::test]
async fn a_yaml_script_from_a_directory_drives_matching_recipients() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slow.yaml"),
        "name: pec-very-slow\nmatch:\n  pec: \"@slow.\"\nextends: digital-success\nappend:\n  - category: NOTIFICATION_VIEWED_CREATION_REQUEST\n    after: 1d\n  - category: NOTIFICATION_VIEWED\n    after: 0s\n    legalFact: RECIPIENT_ACCESS\n",
    )
    .unwrap();
    let app = spawn_with(MockConfig {
        timelines: vec![dir.path().to_path_buf()],
        time_scale: std::time::Duration::from_secs(86_400),
        ..MockConfig::for_tests()
    })
    .await;
    let doc = app.upload_pdf("atto").await;
    let mut body = notification(&doc);
    body["recipients"][0]["digitalDomicile"]["address"] = json!("prova@slow.pec.it");
    let (_, iun) = app.send_accepted(&body).await;
    app.advance("30d").await;
    let (_, d) = app
        .get_json(&format!("/delivery/v2.9/notifications/sent/{iun}"))
        .await;
    let cats: Vec<&str> = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["category"].as_str().unwrap())
        .collect();
    assert_eq!(cats.last(), Some(&"NOTIFICATION_VIEWED"), "{cats:?}");
    assert_eq!(d["notificationStatus"], "VIEWED");
    // A recipient that does not match keeps SEND's default.
    let (_, iun2) = app.send_accepted(&notification(&doc)).await;
    app.advance("30d").await;
    let (_, d2) = app
        .get_json(&format!("/delivery/v2.9/notifications/sent/{iun2}"))
        .await;
    assert_eq!(d2["notificationStatus"], "EFFECTIVE_DATE");
    app.mock.stop().await;
}

#[tokio::test]
async fn a_bad_script_directory_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "name: x\nsteps:\n  - category: SEND_PIGEON\n",
    )
    .unwrap();
    let err = send_mock::MockServer::start(MockConfig {
        timelines: vec![dir.path().to_path_buf()],
        ..MockConfig::for_tests()
    })
    .await
    .err()
    .unwrap();
    assert!(
        err.to_string().contains("bad.yaml:3") && err.to_string().contains("SEND_PIGEON"),
        "{err}"
    );
}

#[tokio::test]
async fn the_view_action_emits_the_access_legal_fact() {
    let app = spawn_app().await;
    let iun = app.accepted_iun().await;
    app.advance("1d").await;
    let r = app
        .post(
            &format!("/mock/notifications/{iun}/recipients/0/view"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["viewed"], true);
    assert_eq!(
        app.post(
            &format!("/mock/notifications/{iun}/recipients/5/view"),
            &json!({})
        )
        .await
        .status(),
        404
    );
    let (_, d) = app
        .get_json(&format!("/delivery/v2.9/notifications/sent/{iun}"))
        .await;
    assert_eq!(d["notificationStatus"], "VIEWED");
    let viewed = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["category"] == "NOTIFICATION_VIEWED")
        .unwrap();
    assert_eq!(viewed["legalFactsIds"][0]["category"], "RECIPIENT_ACCESS");
    assert_conforms("GET", "/delivery/v2.9/notifications/sent/{iun}", 200, &d);
    // The price shows the view date (end of that day in Rome).
    app.mock.stop().await;
}
