//! The Ente's groups: the groups API answers the key's (or all of them), and the same groups
//! are what notifications and streams are checked against, whatever groups the key has.

mod common;

use common::*;
use send_mock::config::{Group, GroupEntry, GroupStatus};
use send_mock::{ApiKey, EnteProfile, MockConfig};
use serde_json::{Value, json};

fn group(id: &str, status: GroupStatus) -> GroupEntry {
    GroupEntry::Group(Group {
        id: id.into(),
        name: format!("Ufficio {id}"),
        description: Some(format!("Il gruppo {id}")),
        status,
    })
}

async fn app() -> TestApp {
    let groups = vec![
        group("T", GroupStatus::ACTIVE),
        group("S", GroupStatus::SUSPENDED),
    ];
    let bound = EnteProfile {
        name: "Comune B".into(),
        tax_id: "01199250158".into(),
        api_key: ApiKey::new("key-b"),
        groups: groups.clone(),
        key_groups: vec!["T".into()],
        ..EnteProfile::demo()
    };
    spawn_with(MockConfig {
        enti: vec![
            EnteProfile {
                groups,
                ..EnteProfile::demo()
            },
            bound,
        ],
        time_scale: std::time::Duration::from_secs(86_400),
        ..MockConfig::for_tests()
    })
    .await
}

/// The shape send-api.md §3.1 gives (the groups API is not in the bundle).
fn assert_group_shape(list: &Value) {
    for g in list.as_array().expect("an array") {
        assert!(g["id"].is_string() && g["name"].is_string(), "{g}");
        assert!(
            ["ACTIVE", "SUSPENDED"].contains(&g["status"].as_str().unwrap()),
            "{g}"
        );
        assert!(g.get("description").is_none_or(Value::is_string), "{g}");
    }
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_groups_api_answers_the_keys_groups_or_all_filtered_by_status() {
    let app = app().await;
    let (s, all) = app.get_json("/ext-registry-b2b/pa/v1/groups").await;
    assert_eq!(s, 200);
    assert_group_shape(&all);
    assert_eq!(ids(&all), ["T", "S"]);
    let (_, active) = app
        .get_json("/ext-registry-b2b/pa/v1/groups?statusFilter=ACTIVE")
        .await;
    assert_eq!(ids(&active), ["T"]);
    let (_, suspended) = app
        .get_json("/ext-registry-b2b/pa/v1/groups?statusFilter=SUSPENDED")
        .await;
    assert_eq!(ids(&suspended), ["S"]);
    let (s, p) = app
        .get_json("/ext-registry-b2b/pa/v1/groups?statusFilter=GONE")
        .await;
    assert_eq!(s, 400);
    assert_eq!(p["errors"][0]["code"], "PN_INVALID_PARAMETERS");
    // A key bound to groups sees only its own.
    let r = app.get_as("key-b", "/ext-registry-b2b/pa/v1/groups").await;
    assert_eq!(ids(&r.json::<Value>().await.unwrap()), ["T"]);
    app.mock.stop().await;
}

#[tokio::test]
async fn notifications_and_streams_name_only_active_groups_of_the_ente() {
    let app = app().await;
    let doc = app.upload_pdf("atto").await;
    for (g, ok) in [("T", true), ("S", false), ("NOT-A-GROUP", false)] {
        let mut body = notification(&doc);
        body["group"] = json!(g);
        body["paProtocolNumber"] = json!(format!("GROUP-{g}"));
        let r = app.post("/delivery/v2.6/requests", &body).await;
        if ok {
            assert_eq!(r.status(), 202, "{g}");
        } else {
            assert_eq!(r.status(), 400, "{g}");
            let p: Value = r.json().await.unwrap();
            assert_eq!(
                p["errors"][0]["code"], "PN_DELIVERY_INVALIDPARAMETER_GROUP",
                "{p}"
            );
        }
    }
    for (groups, status) in [
        (json!(["T"]), 200),
        (json!(["NOT-A-GROUP"]), 403),
        (json!(["S"]), 403),
    ] {
        let r = app
            .post(
                "/delivery-progresses/v2.9/streams",
                &json!({"title": "g", "eventType": "TIMELINE", "groups": groups}),
            )
            .await;
        assert_eq!(r.status(), status, "{groups}");
    }
    app.mock.stop().await;
}

/// The KB's "Gruppi": a stream with groups gets only its groups' notifications, one without
/// gets all; a key bound to groups cannot make a stream without them.
#[tokio::test]
async fn a_streams_groups_segregate_its_events() {
    let app = app().await;
    let mut streams = Vec::new();
    for groups in [json!(["T"]), json!([])] {
        let r = app
            .post(
                "/delivery-progresses/v2.9/streams",
                &json!({"title": "g", "eventType": "TIMELINE", "groups": groups}),
            )
            .await;
        let v: Value = r.json().await.unwrap();
        streams.push(v["streamId"].as_str().unwrap().to_string());
    }
    let doc = app.upload_pdf("atto").await;
    let mut of_t = notification(&doc);
    of_t["group"] = json!("T");
    of_t["paProtocolNumber"] = json!("OF-T");
    let (t_request, _) = app.send_accepted(&of_t).await;
    let mut no_group = notification(&doc);
    no_group["paProtocolNumber"] = json!("NO-GROUP");
    let (none_request, _) = app.send_accepted(&no_group).await;
    let requests = |events: &Value| -> Vec<String> {
        let mut r: Vec<String> = events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["notificationRequestId"].as_str().unwrap().to_string())
            .collect();
        r.dedup();
        r
    };
    let (_, grouped) = app
        .get_json(&format!(
            "/delivery-progresses/v2.9/streams/{}/events",
            streams[0]
        ))
        .await;
    assert_eq!(
        requests(&grouped),
        std::slice::from_ref(&t_request),
        "{grouped}"
    );
    let (_, all) = app
        .get_json(&format!(
            "/delivery-progresses/v2.9/streams/{}/events",
            streams[1]
        ))
        .await;
    let all = requests(&all);
    assert!(
        all.contains(&t_request) && all.contains(&none_request),
        "{all:?}"
    );

    let r = app
        .post_as(
            "key-b",
            "/delivery-progresses/v2.9/streams",
            &json!({"title": "all", "eventType": "TIMELINE", "groups": []}),
        )
        .await;
    assert_eq!(r.status(), 403);
    let p: Value = r.json().await.unwrap();
    assert!(
        p["detail"].as_str().unwrap().contains("empty groups"),
        "{p}"
    );
    app.mock.stop().await;
}
