//! 20 consumers on separate streams while 10,000 notifications progress on a fast clock: every
//! stream receives every matching event exactly once, in eventId order, none lost and none
//! duplicated. SEND allows 10 active streams per Ente, so two Enti hold 10 streams each and
//! send 5,000 notifications each.

mod common;

use common::*;
use send_mock::{ApiKey, EnteProfile, MockConfig};
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
    for (key, tax_id) in ENTI {
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
            }));
        }
    }
    for p in producers {
        p.await.unwrap();
    }
    // Wait until every timeline has run to its end, then let the consumers drain.
    let deadline = Instant::now() + Duration::from_secs(600);
    while app.mock.store().next_due().is_some() {
        assert!(Instant::now() < deadline, "timelines did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    done.store(true, Ordering::SeqCst);

    // What each stream should have received: the Ente's events through its filter, in order.
    let store = app.mock.store();
    let log = store.events_since(0);
    let mut timelines: HashMap<(usize, String), Vec<(String, &'static str)>> = HashMap::new();
    for ev in &log {
        let key = (ev.ente().index(), ev.iun.to_string());
        if !timelines.contains_key(&key) {
            let n = store.notification(ev.ente(), &ev.iun).unwrap();
            timelines.insert(
                key.clone(),
                n.timeline
                    .iter()
                    .map(|e| (e.element_id.with_iun(ev.iun.as_str()), e.category.as_str()))
                    .collect(),
            );
        }
    }
    let expected = |ente: usize, status_stream: bool| -> Vec<Event> {
        log.iter()
            .filter(|ev| ev.ente().index() == ente)
            .filter_map(|ev| {
                let (id, cat) =
                    &timelines[&(ev.ente().index(), ev.iun.to_string())][ev.element_index()];
                let admitted = if status_stream {
                    ev.new_status.is_some()
                } else {
                    TIMELINE_FILTER.contains(cat)
                };
                admitted.then(|| {
                    (
                        ev.iun.to_string(),
                        id.clone(),
                        ev.status_after.as_str().to_string(),
                    )
                })
            })
            .collect()
    };
    let want: HashMap<(usize, bool), Vec<Event>> = [(0, true), (0, false), (1, true), (1, false)]
        .into_iter()
        .map(|k| (k, expected(k.0, k.1)))
        .collect();
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
        assert!(
            seen.events == *want,
            "ente {ente} status={status}: the events differ from what was emitted"
        );
    }
}
