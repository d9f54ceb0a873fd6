//! The typed SEND model in `send-wire` reads every answer the mock gives a sender, in every
//! detail and stream version, and writes the parts it keeps as evidence back unchanged.

mod common;

use common::*;
use send_wire::notification::{RequestState, RequestStatusResponse, SentNotification, StreamEvent};
use send_wire::timeline::{Category, Status};
use send_wire::{DownloadMetadata, LegalFactListElement};
use serde_json::{Value, json};

const DETAIL_VERSIONS: [&str; 10] = [
    "", "/v2.0", "/v2.1", "/v2.3", "/v2.4", "/v2.5", "/v2.6", "/v2.7", "/v2.8", "/v2.9",
];
const STREAM_VERSIONS: [&str; 6] = ["/v2.3", "/v2.4", "/v2.5", "/v2.6", "/v2.7", "/v2.9"];

fn back<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

/// Reads the detail of `iun` in every version: typed, and written back as it came.
async fn detail_reads_back(app: &TestApp, iun: &str) -> SentNotification {
    let mut last = None;
    for v in DETAIL_VERSIONS {
        let (s, raw) = app
            .get_json(&format!("/delivery{v}/notifications/sent/{iun}"))
            .await;
        assert_eq!(s, 200, "{v}");
        let d: SentNotification = serde_json::from_value(raw.clone())
            .unwrap_or_else(|e| panic!("detail {v}: {e}\n{raw}"));
        assert_eq!(d.iun.as_str(), iun);
        assert_eq!(back(&d.timeline), raw["timeline"], "timeline {v}");
        assert_eq!(
            back(&d.notification_status_history),
            raw["notificationStatusHistory"],
            "status history {v}"
        );
        assert!(
            d.timeline
                .iter()
                .all(|e| matches!(e.category, send_wire::timeline::Known::Is(_))),
            "{v}: every category the mock shows is one the model knows"
        );
        last = Some(d);
    }
    last.unwrap()
}

#[tokio::test]
async fn a_delivered_notification_reads_typed_in_every_version() {
    let app = spawn_app().await;
    let sent = app.send_with_payment(DEMO_TAX_ID).await;
    let (_, raw) = app
        .get_json(&format!(
            "/delivery/v2.6/requests?notificationRequestId={}",
            urlenc(&sent.request_id)
        ))
        .await;
    let st: RequestStatusResponse = serde_json::from_value(raw).unwrap();
    assert!(st.notification_request_status.is(RequestState::ACCEPTED));
    assert_eq!(st.iun.map(|i| i.to_string()), Some(sent.iun.clone()));
    app.advance("30d").await;
    let d = detail_reads_back(&app, &sent.iun).await;
    assert!(d.statuses().any(|s| s.is(Status::DELIVERED)));
    let pay = d.recipients[0].payments[0].pago_pa.as_ref().unwrap();
    assert_eq!(pay.notice_code.as_str(), sent.notice);
    let aar = d.first(Category::AAR_GENERATION).expect("an AAR");
    assert!(aar.details.as_ref().unwrap().generated_aar_url.is_some());

    let (s, list) = app
        .get_json(&format!("/delivery-push/v2.0/{}/legal-facts", sent.iun))
        .await;
    assert_eq!(s, 200);
    let list: Vec<LegalFactListElement> = serde_json::from_value(list).unwrap();
    assert!(list.len() >= 3, "{list:?}");
    let key = list[0]
        .legal_facts_id
        .key
        .trim_start_matches("safestorage://");
    let (s, meta) = app
        .get_json(&format!(
            "/delivery-push/{}/download/legal-facts/{key}",
            sent.iun
        ))
        .await;
    assert_eq!(s, 200);
    let meta: DownloadMetadata = serde_json::from_value(meta).unwrap();
    assert!(meta.content_length > 0 && meta.sha256.is_none());
    let (s, meta) = app
        .get_json(&format!(
            "/delivery/notifications/sent/{}/attachments/documents/0",
            sent.iun
        ))
        .await;
    assert_eq!(s, 200);
    let meta: DownloadMetadata = serde_json::from_value(meta).unwrap();
    assert_eq!(
        meta.sha256.map(|s| s.to_string()),
        Some(sent.doc.sha256.clone())
    );
}

#[tokio::test]
async fn a_paper_notification_reads_typed_in_every_version() {
    let app = spawn_app().await;
    let doc = app.upload_pdf("atto").await;
    let mut body = notification(&doc);
    body["recipients"][0]
        .as_object_mut()
        .unwrap()
        .remove("digitalDomicile");
    let (_, iun) = app.send_accepted(&body).await;
    app.advance("60d").await;
    let d = detail_reads_back(&app, &iun).await;
    let letter = d.first(Category::SEND_ANALOG_DOMICILE).expect("a letter");
    assert_eq!(
        letter.details.as_ref().unwrap().product_type.as_deref(),
        Some("890")
    );
}

#[tokio::test]
async fn stream_events_read_typed_and_write_back_in_every_version() {
    let app = spawn_app().await;
    let mut streams = vec![];
    for v in STREAM_VERSIONS {
        let r = app
            .post(
                &format!("/delivery-progresses{v}/streams"),
                &json!({"title": "wire", "eventType": "TIMELINE", "groups": []}),
            )
            .await;
        let status = r.status();
        let created = r.json::<Value>().await.unwrap();
        assert_eq!(status, 200, "{v}: {created}");
        let id = created["streamId"].as_str().unwrap().to_string();
        streams.push((v, id));
    }
    let iun = app.accepted_iun().await;
    app.advance("1d").await;
    for (v, id) in streams {
        let (s, raw) = app
            .get_json(&format!("/delivery-progresses{v}/streams/{id}/events"))
            .await;
        assert_eq!(s, 200, "{v}");
        let events: Vec<StreamEvent> = serde_json::from_value(raw.clone())
            .unwrap_or_else(|e| panic!("stream {v}: {e}\n{raw}"));
        assert!(!events.is_empty(), "{v}");
        assert_eq!(back(&events), raw, "stream {v}");
        let accepted = events
            .iter()
            .find(|e| e.is(Category::REQUEST_ACCEPTED))
            .expect("the acceptance");
        assert_eq!(
            accepted.iun.as_ref().map(|i| i.as_str()),
            Some(iun.as_str()),
            "{v}"
        );
    }
}
