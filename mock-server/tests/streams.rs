//! SEND's progress streams: paging, acknowledgement, retry-after, filters, limits, versions.

mod common;

use common::oas::assert_conforms;
use common::*;
use send_mock::{ApiKey, EnteProfile, MockConfig};
use serde_json::{Value, json};
use std::time::Duration;

const VERSIONS: [&str; 8] = [
    "", "/v2.3", "/v2.4", "/v2.5", "/v2.6", "/v2.7", "/v2.8", "/v2.9",
];

async fn app_with_interval(ms: u64) -> TestApp {
    let b = EnteProfile {
        name: "Comune B".into(),
        tax_id: "01199250158".into(),
        api_key: ApiKey::new("key-b"),
        ..EnteProfile::demo()
    };
    spawn_with(MockConfig {
        enti: vec![EnteProfile::demo(), b],
        time_scale: Duration::from_secs(86_400),
        stream_retry_after: Duration::from_millis(ms),
        ..MockConfig::for_tests()
    })
    .await
}

async fn create(app: &TestApp, v: &str, body: Value) -> (u16, Value) {
    let r = app
        .post(&format!("/delivery-progresses{v}/streams"), &body)
        .await;
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// One read: (status, events, retry-after header).
async fn read(app: &TestApp, v: &str, id: &str, last: Option<&str>) -> (u16, Value, u64) {
    let q = last
        .map(|l| format!("?lastEventId={l}"))
        .unwrap_or_default();
    let r = app
        .get(&format!("/delivery-progresses{v}/streams/{id}/events{q}"))
        .await;
    let status = r.status().as_u16();
    let ra = r
        .headers()
        .get("retry-after")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse().ok())
        .unwrap_or(u64::MAX);
    (status, r.json().await.unwrap_or(Value::Null), ra)
}

/// Reads with lastEventId until the stream is drained (the mock's interval is 0 here).
async fn drain(app: &TestApp, v: &str, id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut last: Option<String> = None;
    loop {
        let (s, page, _) = read(app, v, id, last.as_deref()).await;
        assert_eq!(s, 200, "{page}");
        let items = page.as_array().unwrap();
        if items.is_empty() {
            return out;
        }
        last = Some(
            items.last().unwrap()["eventId"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        out.extend(items.iter().cloned());
    }
}

async fn send_many(app: &TestApp, n: usize) -> Vec<String> {
    let doc = app.upload_pdf("atto").await;
    let mut iuns = Vec::new();
    for _ in 0..n {
        let r = app
            .post("/delivery/v2.6/requests", &notification(&doc))
            .await;
        assert_eq!(r.status(), 202);
        let rid = r.json::<Value>().await.unwrap()["notificationRequestId"]
            .as_str()
            .unwrap()
            .to_string();
        iuns.push(
            String::from_utf8(
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, rid).unwrap(),
            )
            .unwrap(),
        );
    }
    iuns
}

#[tokio::test]
async fn paging_acknowledgement_replay_and_retry_after() {
    let app = app_with_interval(300).await;
    let (s, stream) = create(
        &app,
        "/v2.9",
        json!({"title": "all", "eventType": "TIMELINE", "groups": []}),
    )
    .await;
    assert_eq!(s, 200);
    let id = stream["streamId"].as_str().unwrap();
    send_many(&app, 20).await;
    // Less than the 7-day TTL, so nothing has expired yet.
    app.advance("6d").await;

    // First page: 50 events, more waiting → retry-after 0.
    let (s, page, ra) = read(&app, "/v2.9", id, None).await;
    assert_eq!((s, ra), (200, 0));
    assert_eq!(page.as_array().unwrap().len(), 50);
    // Without lastEventId the same unacknowledged events come back.
    let (_, again, _) = read(&app, "/v2.9", id, None).await;
    assert_eq!(again, page);

    let mut all: Vec<Value> = page.as_array().unwrap().clone();
    let mut last = all.last().unwrap()["eventId"].as_str().unwrap().to_string();
    loop {
        let (s, page, ra) = read(&app, "/v2.9", id, Some(&last)).await;
        assert_eq!(s, 200);
        let items = page.as_array().unwrap();
        assert!(items.len() <= 50);
        if items.is_empty() {
            assert_eq!(ra, 300, "drained: the polling interval");
            break;
        }
        all.extend(items.iter().cloned());
        last = items.last().unwrap()["eventId"]
            .as_str()
            .unwrap()
            .to_string();
        if ra > 0 {
            assert!(items.len() < 50 || ra == 300);
            // Reading again before retry-after elapsed is refused.
            let (s, body, wait) = read(&app, "/v2.9", id, Some(&last)).await;
            assert_eq!(s, 429);
            assert!(wait > 0 && wait <= 300, "{wait}");
            assert_eq!(body["errors"][0]["code"], "PN_STREAM_RETRY_AFTER_ERROR");
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
    }
    assert!(all.len() > 200, "{} events", all.len());
    let ids: Vec<&str> = all.iter().map(|e| e["eventId"].as_str().unwrap()).collect();
    assert!(ids.iter().all(|i| i.len() == 38 && i.starts_with('0')));
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
    // Every event names its request; the IUN and newStatus only once accepted.
    for e in &all {
        assert!(e["notificationRequestId"].is_string());
        assert_eq!(e.get("iun").is_some(), e.get("newStatus").is_some(), "{e}");
        let cat = e["element"]["category"].as_str().unwrap();
        if [
            "VALIDATE_NORMALIZE_ADDRESSES_REQUEST",
            "NORMALIZED_ADDRESS",
            "SENDER_ACK_CREATION_REQUEST",
        ]
        .contains(&cat)
        {
            assert!(e.get("iun").is_none(), "{e}");
        } else {
            assert!(e["iun"].is_string(), "{e}");
        }
    }
    // Acknowledged events are gone: an old lastEventId replays nothing.
    tokio::time::sleep(Duration::from_millis(310)).await;
    let (s, page, _) = read(&app, "/v2.9", id, Some(ids[0])).await;
    assert_eq!(s, 200);
    assert!(page.as_array().unwrap().is_empty());
    app.mock.stop().await;
}

#[tokio::test]
async fn a_stream_sees_only_events_after_its_creation_and_events_expire_after_7_days() {
    let app = app_with_interval(0).await;
    send_many(&app, 1).await;
    app.advance("1h").await;
    let (_, stream) = create(
        &app,
        "/v2.9",
        json!({"title": "late", "eventType": "TIMELINE", "groups": []}),
    )
    .await;
    let id = stream["streamId"].as_str().unwrap().to_string();
    let (_, page, _) = read(&app, "/v2.9", &id, None).await;
    let cats: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["element"]["category"].as_str().unwrap())
        .collect();
    assert!(!cats.contains(&"REQUEST_ACCEPTED"), "{cats:?}");
    app.advance("30d").await;
    let (_, page, _) = read(&app, "/v2.9", &id, None).await;
    // Thirty days later every event is older than the 7-day TTL: nothing is left.
    assert!(page.as_array().unwrap().is_empty(), "{page}");
    app.mock.stop().await;
}

#[tokio::test]
async fn filters_per_version_default_and_status_streams() {
    let app = app_with_interval(0).await;
    let (_, status) = create(&app, "/v2.9", json!({"title": "s", "eventType": "STATUS", "groups": [], "filterValues": ["ACCEPTED", "EFFECTIVE_DATE"]})).await;
    let (_, all_status) = create(
        &app,
        "/v2.9",
        json!({"title": "s2", "eventType": "STATUS", "groups": []}),
    )
    .await;
    let (_, default) = create(
        &app,
        "/v2.9",
        json!({"title": "d", "eventType": "TIMELINE", "groups": [], "filterValues": ["DEFAULT"]}),
    )
    .await;
    let (_, v1) = create(
        &app,
        "",
        json!({"title": "v1", "eventType": "TIMELINE", "filterValues": ["REQUEST_ACCEPTED"]}),
    )
    .await;
    // Values unknown to a version are refused.
    let (s, body) = create(&app, "/v2.3", json!({"title": "x", "eventType": "TIMELINE", "groups": [], "filterValues": ["ANALOG_WORKFLOW_RECIPIENT_DECEASED"]})).await;
    assert_eq!(s, 400, "{body}");
    let (s, _) = create(
        &app,
        "/v2.9",
        json!({"title": "x", "eventType": "STATUS", "groups": [], "filterValues": ["PAID"]}),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = create(
        &app,
        "/v2.9",
        json!({"title": "x", "eventType": "SOMETIMES", "groups": []}),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = create(&app, "/v2.9", json!({"title": "x", "eventType": "STATUS"})).await;
    assert_eq!(s, 400, "groups is required from v2.3");

    send_many(&app, 1).await;
    // Read like a consumer: before the first events expire, and again after the refinement.
    app.advance("1d").await;
    let mut seen: std::collections::HashMap<String, Vec<Value>> = Default::default();
    for s in [&status, &all_status, &default] {
        let id = s["streamId"].as_str().unwrap();
        seen.insert(id.to_string(), drain(&app, "/v2.9", id).await);
    }
    let v1_id = v1["streamId"].as_str().unwrap();
    seen.insert(v1_id.to_string(), drain(&app, "", v1_id).await);
    app.advance("8d").await;
    for s in [&status, &all_status, &default] {
        let id = s["streamId"].as_str().unwrap();
        let more = drain(&app, "/v2.9", id).await;
        seen.get_mut(id).unwrap().extend(more);
    }
    let statuses = |page: &Value| {
        page.as_array()
            .unwrap()
            .iter()
            .map(|e| e["newStatus"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let got = |s: &Value| Value::Array(seen[s["streamId"].as_str().unwrap()].clone());
    assert_eq!(statuses(&got(&status)), ["ACCEPTED", "EFFECTIVE_DATE"]);
    assert_eq!(
        statuses(&got(&all_status)),
        ["ACCEPTED", "DELIVERING", "DELIVERED", "EFFECTIVE_DATE"]
    );
    let p = got(&default);
    let cats: Vec<&str> = p
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["element"]["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        cats,
        [
            "REQUEST_ACCEPTED",
            "SEND_DIGITAL_DOMICILE",
            "SEND_DIGITAL_FEEDBACK",
            "DIGITAL_SUCCESS_WORKFLOW",
            "REFINEMENT"
        ]
    );
    let p = got(&v1);
    assert_eq!(p.as_array().unwrap().len(), 1);
    assert_eq!(p[0]["timelineEventCategory"], "REQUEST_ACCEPTED");
    assert_eq!(p[0]["newStatus"], "ACCEPTED");
    assert_conforms(
        "GET",
        "/delivery-progresses/streams/{streamId}/events",
        200,
        &p,
    );
    app.mock.stop().await;
}

#[tokio::test]
async fn wait_for_accepted_holds_validation_events_until_acceptance() {
    let app = app_with_interval(0).await;
    let (_, held) = create(
        &app,
        "/v2.9",
        json!({"title": "w", "eventType": "TIMELINE", "groups": [], "waitForAccepted": true}),
    )
    .await;
    let (_, plain) = create(
        &app,
        "/v2.9",
        json!({"title": "p", "eventType": "TIMELINE", "groups": []}),
    )
    .await;
    assert_eq!(held["waitForAccepted"], true);
    send_many(&app, 1).await;
    app.advance("2m").await;
    let (_, p, _) = read(&app, "/v2.9", plain["streamId"].as_str().unwrap(), None).await;
    assert_eq!(
        p.as_array().unwrap().len(),
        1,
        "VALIDATE_NORMALIZE_ADDRESSES_REQUEST is already visible"
    );
    assert!(p[0].get("iun").is_none());
    let (_, p, _) = read(&app, "/v2.9", held["streamId"].as_str().unwrap(), None).await;
    assert!(
        p.as_array().unwrap().is_empty(),
        "held until acceptance: {p}"
    );
    app.advance("4m").await;
    let (_, p, _) = read(&app, "/v2.9", held["streamId"].as_str().unwrap(), None).await;
    let cats: Vec<&str> = p
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["element"]["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        &cats[..2],
        ["VALIDATE_NORMALIZE_ADDRESSES_REQUEST", "NORMALIZED_ADDRESS"]
    );
    assert!(cats.contains(&"REQUEST_ACCEPTED"));
    let (s, _) = create(
        &app,
        "/v2.6",
        json!({"title": "x", "eventType": "TIMELINE", "groups": [], "waitForAccepted": true}),
    )
    .await;
    assert_eq!(s, 200, "v2.6 ignores the field it does not know");
    app.mock.stop().await;
}

#[tokio::test]
async fn limits_lifecycle_and_isolation() {
    let app = app_with_interval(0).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let (s, body) = create(
            &app,
            "/v2.9",
            json!({"title": format!("s{i}"), "eventType": "TIMELINE", "groups": []}),
        )
        .await;
        assert_eq!(s, 200, "{body}");
        ids.push(body["streamId"].as_str().unwrap().to_string());
    }
    let (s, body) = create(
        &app,
        "/v2.9",
        json!({"title": "eleventh", "eventType": "TIMELINE", "groups": []}),
    )
    .await;
    assert_eq!(s, 409);
    assert_eq!(
        body["errors"][0]["code"],
        "PN_WEBHOOK_MAXSTREAMSCOUNTREACHED"
    );
    // replacedStreamId disables the old stream and frees its slot.
    let (s, newer) = create(
        &app,
        "/v2.9",
        json!({"title": "new", "eventType": "TIMELINE", "groups": [], "replacedStreamId": ids[0]}),
    )
    .await;
    assert_eq!(s, 200, "{newer}");
    let (_, old) = app
        .get_json(&format!("/delivery-progresses/v2.9/streams/{}", ids[0]))
        .await;
    assert!(old["disabledDate"].is_string());
    // A disabled stream stops receiving, can be read, cannot be updated or disabled again.
    let (s, d) = app
        .get_json(&format!("/delivery-progresses/v2.9/streams/{}", ids[1]))
        .await;
    assert_eq!(s, 200, "{d}");
    let r = app
        .post(
            &format!(
                "/delivery-progresses/v2.9/streams/{}/action/disable",
                ids[1]
            ),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.post(
            &format!(
                "/delivery-progresses/v2.9/streams/{}/action/disable",
                ids[1]
            ),
            &json!({})
        )
        .await
        .status(),
        403
    );
    let put = app
        .client
        .put(app.url(&format!("/delivery-progresses/v2.9/streams/{}", ids[1])))
        .header("x-api-key", DEMO_KEY)
        .json(&json!({"title": "t", "eventType": "TIMELINE", "groups": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 403);
    send_many(&app, 1).await;
    app.advance("1d").await;
    let (s, p, _) = read(&app, "/v2.9", &ids[1], None).await;
    assert_eq!(s, 200);
    assert!(p.as_array().unwrap().is_empty());
    let (_, p, _) = read(&app, "/v2.9", &ids[2], None).await;
    assert!(!p.as_array().unwrap().is_empty());
    // Update, list, delete.
    let put = app
        .client
        .put(app.url(&format!("/delivery-progresses/v2.9/streams/{}", ids[2])))
        .header("x-api-key", DEMO_KEY)
        .json(&json!({"title": "renamed", "eventType": "STATUS", "groups": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.json::<Value>().await.unwrap()["title"], "renamed");
    let (_, list) = app.get_json("/delivery-progresses/v2.9/streams").await;
    assert_eq!(list.as_array().unwrap().len(), 11);
    let del = app
        .client
        .delete(app.url(&format!("/delivery-progresses/v2.9/streams/{}", ids[2])))
        .header("x-api-key", DEMO_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    assert_eq!(read(&app, "/v2.9", &ids[2], None).await.0, 404);
    // Unknown, another Ente's, another version's, malformed ids.
    assert_eq!(
        read(&app, "/v2.9", "7f3e6b4e-0000-4000-8000-000000000000", None)
            .await
            .0,
        404
    );
    assert_eq!(
        app.get_as(
            "key-b",
            &format!("/delivery-progresses/v2.9/streams/{}", ids[3])
        )
        .await
        .status(),
        404
    );
    assert_eq!(read(&app, "/v2.8", &ids[3], None).await.0, 403);
    assert_eq!(read(&app, "/v2.9", "not-a-uuid", None).await.0, 400);
    assert_eq!(read(&app, "/v2.9", &ids[3], Some("12")).await.0, 400);
    app.mock.stop().await;
}

/// The KB's "Passaggio di versione di uno stream": find the old stream in the v1 list, create
/// one with the newest version replacing it, drain the old one in its own version.
#[tokio::test]
async fn a_stream_of_an_older_version_is_replaced_by_the_newest_as_the_kb_describes() {
    let app = app_with_interval(0).await;
    let (s, old) = create(
        &app,
        "/v2.3",
        json!({"title": "old", "eventType": "TIMELINE", "groups": []}),
    )
    .await;
    assert_eq!(s, 200, "{old}");
    let old_id = old["streamId"].as_str().unwrap().to_string();
    send_many(&app, 1).await;
    app.advance("1d").await;
    // The v1 list shows streams of every version: that is how the PT finds the old id.
    let (_, list) = app.get_json("/delivery-progresses/streams").await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|e| e["streamId"] == old_id.as_str()),
        "{list}"
    );
    let old_events = drain(&app, "/v2.3", &old_id).await;
    assert!(!old_events.is_empty());
    let old_last: u128 = old_events.last().unwrap()["eventId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // Leave some unread on the old stream: it stays readable in v2.3 once replaced.
    send_many(&app, 1).await;
    app.advance("1d").await;

    let (s, newer) = create(
        &app,
        "/v2.9",
        json!({"title": "new", "eventType": "TIMELINE", "groups": [], "replacedStreamId": old_id}),
    )
    .await;
    assert_eq!(s, 200, "{newer}");
    assert_conforms("POST", "/delivery-progresses/v2.9/streams", 200, &newer);
    let new_id = newer["streamId"].as_str().unwrap().to_string();
    let (_, o) = app
        .get_json(&format!("/delivery-progresses/v2.3/streams/{old_id}"))
        .await;
    assert!(o["disabledDate"].is_string(), "disabled at once: {o}");
    let unread = drain(&app, "/v2.3", &old_id).await;
    assert!(
        !unread.is_empty(),
        "the old stream is drained in its own version"
    );
    assert_eq!(
        read(&app, "/v2.9", &old_id, None).await.0,
        403,
        "not in another"
    );

    // New events go to the new stream only, with ids after the old stream's.
    send_many(&app, 1).await;
    app.advance("1d").await;
    assert!(drain(&app, "/v2.3", &old_id).await.is_empty());
    let fresh = drain(&app, "/v2.9", &new_id).await;
    let first: u128 = fresh[0]["eventId"].as_str().unwrap().parse().unwrap();
    assert!(first > old_last, "{first} after {old_last}");
    // Replacing it again is refused; so is replacing an unknown stream.
    let (s, again) = create(
        &app,
        "/v2.9",
        json!({"title": "again", "eventType": "TIMELINE", "groups": [], "replacedStreamId": old_id}),
    )
    .await;
    assert_eq!(s, 403, "{again}");
    let (s, _) = create(
        &app,
        "/v2.9",
        json!({"title": "x", "eventType": "TIMELINE", "groups": [], "replacedStreamId": "7f3e6b4e-0000-4000-8000-000000000000"}),
    )
    .await;
    assert_eq!(s, 404);

    // Fourteen days (io time: a clock jump counts, SEND days do not) after it was disabled,
    // the old stream is gone.
    app.advance("15d").await;
    assert_eq!(read(&app, "/v2.3", &old_id, None).await.0, 404);
    let (_, list) = app.get_json("/delivery-progresses/streams").await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|e| e["streamId"] != old_id.as_str())
    );
    assert_eq!(read(&app, "/v2.9", &new_id, None).await.0, 200);
}

#[tokio::test]
async fn every_stream_version_conforms_to_the_spec() {
    let app = app_with_interval(0).await;
    let mut made = Vec::new();
    for v in VERSIONS {
        let mut body = json!({"title": format!("stream {v}"), "eventType": "TIMELINE"});
        if !v.is_empty() {
            body["groups"] = json!([]);
        }
        let base = format!("/delivery-progresses{v}/streams");
        let r = app.post(&base, &body).await;
        assert_eq!(r.status(), 200);
        let meta: Value = r.json().await.unwrap();
        assert_conforms("POST", &base, 200, &meta);
        made.push((
            v,
            base,
            meta["streamId"].as_str().unwrap().to_string(),
            body,
        ));
    }
    // A refused notification, then accepted ones through every script ending.
    let ghost = Uploaded {
        key: "PN_NOTIFICATION_ATTACHMENTS-ghost.pdf".into(),
        version: "v".into(),
        sha256: sha256_b64(b"g"),
    };
    assert_eq!(
        app.post("/delivery/v2.6/requests", &notification(&ghost))
            .await
            .status(),
        202
    );
    let doc = app.upload_pdf("atto").await;
    for address in ["Via @FAIL_DECEDUTO_AR", "Via @FAIL-Irreperibile_890"] {
        let mut b = notification(&doc);
        b["recipients"][0]
            .as_object_mut()
            .unwrap()
            .remove("digitalDomicile");
        b["recipients"][0]["physicalAddress"]["address"] = json!(address);
        app.send_accepted(&b).await;
    }
    app.send_accepted(&notification(&doc)).await;
    app.advance("4d").await;
    for (v, base, id, body) in &made {
        let (s, page, _) = read(&app, v, id, None).await;
        assert_eq!(s, 200);
        assert!(!page.as_array().unwrap().is_empty());
        assert_conforms("GET", &format!("{base}/{{streamId}}/events"), 200, &page);
        let (_, list) = app.get_json(base).await;
        assert_conforms("GET", base, 200, &list);
        let (_, one) = app.get_json(&format!("{base}/{id}")).await;
        assert_conforms("GET", &format!("{base}/{{streamId}}"), 200, &one);
        let put = app
            .client
            .put(app.url(&format!("{base}/{id}")))
            .header("x-api-key", DEMO_KEY)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200);
        assert_conforms(
            "PUT",
            &format!("{base}/{{streamId}}"),
            200,
            &put.json::<Value>().await.unwrap(),
        );
        if !v.is_empty() {
            let r = app
                .post(&format!("{base}/{id}/action/disable"), &json!({}))
                .await;
            assert_conforms(
                "POST",
                &format!("{base}/{{streamId}}/action/disable"),
                200,
                &r.json::<Value>().await.unwrap(),
            );
            let (s, err) = app
                .get_json(&format!("{base}/7f3e6b4e-0000-4000-8000-000000000000"))
                .await;
            assert_eq!(s, 404);
            assert_conforms("GET", &format!("{base}/{{streamId}}"), 404, &err);
        }
    }
    app.mock.stop().await;
}
