//! 20 consumers on separate streams while 10,000 notifications progress on a fast clock: every
//! stream receives every matching event exactly once, in eventId order, none lost and none
//! duplicated. SEND allows 10 active streams per Ente, so two Enti hold 10 streams each and
//! send 5,000 notifications each.

mod common;

use common::*;
use send_mock::{ApiKey, EnteProfile, MockConfig};
use send_wire::iun::Iun;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const NOTIFICATIONS: usize = 10_000;
const TIMELINE_FILTER: [&str; 3] = ["REQUEST_ACCEPTED", "SEND_DIGITAL_DOMICILE", "REFINEMENT"];
const ENTI: [(&str, &str); 2] = [(DEMO_KEY, DEMO_TAX_ID), ("key-b", "01199250158")];

/// (iun, elementId, newStatus) of an event.
type Event = (String, String, String);

struct Seen {
    events: Vec<Event>,
    ids: Vec<u128>,
}

async fn consume(app: Arc<TestApp>, key: &'static str, id: String, done: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen {
        events: vec![],
        ids: vec![],
    };
    let mut last: Option<String> = None;
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        assert!(Instant::now() < deadline, "consumer {id} did not finish");
        let finishing = done.load(Ordering::SeqCst);
        let q = last
            .as_ref()
            .map(|l| format!("?lastEventId={l}"))
            .unwrap_or_default();
        let r = app
            .get_as(
                key,
                &format!("/delivery-progresses/v2.9/streams/{id}/events{q}"),
            )
            .await;
        let status = r.status().as_u16();
        let retry: u64 = r
            .headers()
            .get("retry-after")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse().ok())
            .expect("retry-after header");
        assert!(status == 200 || status == 429, "{status}");
        if status == 200 {
            let page: Vec<Value> = r.json().await.unwrap();
            for e in &page {
                seen.ids
                    .push(e["eventId"].as_str().unwrap().parse().unwrap());
                seen.events.push((
                    e["iun"].as_str().unwrap_or_default().to_string(),
                    e["element"]["elementId"].as_str().unwrap().to_string(),
                    e["newStatus"].as_str().unwrap_or_default().to_string(),
                ));
            }
            match page.last() {
                Some(e) => last = Some(e["eventId"].as_str().unwrap().to_string()),
                None if finishing => return seen,
                None => {}
            }
        }
        // Honour retry-after, as a correct client does (0 = more events are waiting).
        tokio::time::sleep(Duration::from_millis(retry)).await;
    }
}

/// (elementId, category, the status it left the notification in) of each timeline element.
fn elements_with_status(detail: &Value) -> Vec<(String, String, String)> {
    let history = detail["notificationStatusHistory"].as_array().unwrap();
    let status_of = |id: &str| -> String {
        let entry = history
            .iter()
            .find(|h| {
                h["relatedTimelineElements"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r == id)
            })
            .expect("every element belongs to a status");
        entry["status"].as_str().unwrap().to_string()
    };
    detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let id = e["elementId"].as_str().unwrap();
            (
                id.to_string(),
                e["category"].as_str().unwrap().to_string(),
                status_of(id),
            )
        })
        .collect()
}

/// Each notification's events, in the order received.
fn by_iun(events: &[Event]) -> HashMap<&str, Vec<&Event>> {
    let mut out: HashMap<&str, Vec<&Event>> = HashMap::new();
    for e in events {
        out.entry(e.0.as_str()).or_default().push(e);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_consumers_get_every_matching_event_exactly_once_in_order() {
    let b = EnteProfile {
        name: "Comune B".into(),
        tax_id: ENTI[1].1.into(),
        api_key: ApiKey::new(ENTI[1].0),
        ..EnteProfile::demo()
    };
    // One SEND day per second: refinements come 7 s after delivery, events expire after 7 s
    // unread — consumers that keep up lose nothing.
    let app = Arc::new(
        spawn_with(MockConfig {
            enti: vec![EnteProfile::demo(), b],
            time_scale: Duration::from_secs(1),
            stream_retry_after: Duration::from_millis(5),
            ..MockConfig::for_tests()
        })
        .await,
    );
    let done = Arc::new(AtomicBool::new(false));
    let mut consumers = Vec::new();
    for (ente, (key, _)) in ENTI.iter().enumerate() {
        for i in 0..10 {
            let status = i % 2 == 0;
            let body = if status {
                json!({"title": format!("status-{i}"), "eventType": "STATUS", "groups": []})
            } else {
                json!({"title": format!("timeline-{i}"), "eventType": "TIMELINE", "groups": [], "filterValues": TIMELINE_FILTER})
            };
            let r = app
                .post_as(key, "/delivery-progresses/v2.9/streams", &body)
                .await;
            assert_eq!(r.status(), 200);
            let id = r.json::<Value>().await.unwrap()["streamId"]
                .as_str()
                .unwrap()
                .to_string();
            consumers.push((
                ente,
                status,
                tokio::spawn(consume(app.clone(), key, id, done.clone())),
            ));
        }
    }

    // Producers: 5,000 notifications per Ente, a few in flight at a time.
    let mut producers = Vec::new();
    for (ente, (key, tax_id)) in ENTI.into_iter().enumerate() {
        let doc = app.upload_as(key, "application/pdf", &pdf(tax_id)).await;
        let sem = Arc::new(tokio::sync::Semaphore::new(4));
        for n in 0..NOTIFICATIONS / 2 {
            let (app, doc, permit) = (
                app.clone(),
                doc.clone(),
                sem.clone().acquire_owned().await.unwrap(),
            );
            producers.push(tokio::spawn(async move {
                let mut body = notification(&doc);
                body["senderTaxId"] = json!(tax_id);
                body["paProtocolNumber"] = json!(format!("LOAD-{tax_id}-{n}"));
                let r = app.post_as(key, "/delivery/v2.6/requests", &body).await;
                assert_eq!(r.status(), 202);
                drop(permit);
                let id: Value = r.json().await.unwrap();
                let iun = Iun::from_request_id(id["notificationRequestId"].as_str().unwrap());
                (ente, iun.expect("a request id names its IUN").to_string())
            }));
        }
    }
    let mut sent: Vec<(usize, String)> = vec![];
    for p in producers {
        sent.push(p.await.unwrap());
    }
    // Wait until every timeline has run to its end, then let the consumers drain.
    let deadline = Instant::now() + Duration::from_secs(600);
    while app.get_json("/mock/clock").await.1["nextDue"] != Value::Null {
        assert!(Instant::now() < deadline, "timelines did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    done.store(true, Ordering::SeqCst);

    // What each stream should have received, from each notification's detail as the Ente reads
    // it: the timeline stream, the filtered elements with the status each left; the status
    // stream, the element that opened each status after IN_VALIDATION.
    let mut want: HashMap<(usize, bool), Vec<Event>> = HashMap::new();
    for (ente, iun) in &sent {
        let detail: Value = app
            .get_as(
                ENTI[*ente].0,
                &format!("/delivery/v2.9/notifications/sent/{iun}"),
            )
            .await
            .json()
            .await
            .unwrap();
        for (id, category, status) in elements_with_status(&detail) {
            if TIMELINE_FILTER.contains(&category.as_str()) {
                let e = (iun.clone(), id, status);
                want.entry((*ente, false)).or_default().push(e);
            }
        }
        for entry in detail["notificationStatusHistory"]
            .as_array()
            .unwrap()
            .iter()
            .skip(1)
        {
            let opened = entry["relatedTimelineElements"][0].as_str().unwrap();
            let e = (
                iun.clone(),
                opened.to_string(),
                entry["status"].as_str().unwrap().to_string(),
            );
            want.entry((*ente, true)).or_default().push(e);
        }
    }
    assert_eq!(
        want[&(0, false)].len(),
        3 * NOTIFICATIONS / 2,
        "every notification accepted, sent and refined"
    );

    for (ente, status, handle) in consumers {
        let seen = handle.await.unwrap();
        assert!(
            seen.ids.windows(2).all(|w| w[0] < w[1]),
            "eventIds strictly increase: none duplicated, none out of order"
        );
        let want = &want[&(ente, status)];
        assert_eq!(
            seen.events.len(),
            want.len(),
            "ente {ente} status={status}: received {} of {}",
            seen.events.len(),
            want.len()
        );
        // The detail gives each notification's order, not how notifications interleave: the
        // stream's events, notification by notification, are exactly the detail's.
        assert!(
            by_iun(&seen.events) == by_iun(want),
            "ente {ente} status={status}: the events differ from what the details show"
        );
    }
}
