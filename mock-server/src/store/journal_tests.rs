//! Replaying a journal rebuilds the same store: notifications and timelines, legal facts,
//! streams with their queues, the call log, and work still scheduled.

use super::streams::{Pacing, StreamSpec};
use super::*;
use crate::domain::ente::EnteId;
use crate::domain::request::{self, RequestVersion};
use crate::domain::stream::{EventType, StreamVersion};
use serde_json::json;

fn store(dir: &Path) -> Store {
    let clock = Arc::new(VirtualClock::new(
        "2026-03-02T08:00:00Z".parse().unwrap(),
        std::time::Duration::from_secs(86_400 * 365 * 30),
    ));
    Store::new(
        clock,
        vec![EnteProfile::demo()],
        ScriptLibrary::default(),
        dir.join("files"),
    )
}

fn send(s: &Store, doc: &UploadSlot, protocol: &str, address: &str, pec: Option<&str>) -> Iun {
    let mut rec = json!({"recipientType": "PF", "taxId": "BNRMHL75C06G702B", "denomination": "Michelangelo Buonarroti",
        "physicalAddress": {"address": address, "municipality": "Roma", "zip": "00100", "province": "RM"}});
    if let Some(p) = pec {
        rec["digitalDomicile"] = json!({"type": "PEC", "address": p});
    }
    let body = json!({"paProtocolNumber": protocol, "subject": "s", "senderDenomination": "Comune", "senderTaxId": "80016350821",
        "taxonomyCode": "010202N", "notificationFeePolicy": "FLAT_RATE", "physicalCommunicationType": "AR_REGISTERED_LETTER", "recipients": [rec],
        "documents": [{"contentType": "application/pdf", "digests": {"sha256": doc.sha256}, "ref": {"key": doc.key, "versionToken": "v1"}}]});
    let req = request::parse(RequestVersion::V26, &body).unwrap();
    s.submit(EnteId::new(0), RequestVersion::V26, req, &body)
        .unwrap()
}

/// Everything observable about a store, for comparison.
fn observe(s: &Store, iuns: &[Iun], stream: &str) -> Value {
    let pacing = Pacing {
        interval_ms: 0,
        strict: false,
    };
    let notifications: Vec<Value> = iuns
        .iter()
        .map(|i| {
            let n = s.notification(EnteId::new(0), i).unwrap();
            let facts: Vec<String> = s.legal_facts_of(&n).iter().map(|f| f.key.clone()).collect();
            json!({
                "status": format!("{:?}", n.status()),
                "timeline": n.timeline.iter().map(|e| e.render(crate::domain::timeline::DetailVersion::ALL[0], n.iun.as_str(), n.sent_at)).collect::<Vec<_>>(),
                "facts": facts,
            })
        })
        .collect();
    let page = s
        .consume(EnteId::new(0), StreamVersion::V29, stream, None, pacing)
        .map(|p| p.events)
        .unwrap_or_default();
    json!({
        "now": crate::domain::clock::rfc3339(s.clock.now()),
        "notifications": notifications,
        "stream": page,
        "calls": s.calls_for_checklist(EnteId::new(0)).iter().map(|c| c.id).collect::<Vec<_>>(),
        "next_due": s.next_due().map(crate::domain::clock::rfc3339),
    })
}

#[test]
fn a_replayed_journal_rebuilds_the_same_store_and_pending_work_continues() {
    let dir = tempfile::tempdir().unwrap();
    let a = store(dir.path());
    assert_eq!(a.open_journal(dir.path()).unwrap(), 0);
    let slot = a
        .preload(
            EnteId::new(0),
            &[("0".into(), "application/pdf".into(), "x".into())],
        )
        .remove(0);
    std::fs::create_dir_all(dir.path().join("files")).unwrap();
    let bytes = b"%PDF-1.4 atto".to_vec();
    let path = dir.path().join("files/doc.pdf");
    std::fs::write(&path, &bytes).unwrap();
    use base64::Engine as _;
    use sha2::Digest as _;
    let sha = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&bytes));
    let slot = UploadSlot {
        sha256: sha.clone(),
        ..slot
    };
    a.record_upload(
        &slot.key,
        StoredVersion {
            version_id: "v1".into(),
            sha256: sha,
            size: bytes.len() as u64,
            uploaded_at: a.clock.now(),
            path,
            is_pdf: true,
            uploaded_io_ms: 0,
        },
    );
    let spec = StreamSpec {
        title: "all".into(),
        event_type: EventType::Timeline,
        filter_values: None,
        groups: vec![],
        wait_for_accepted: None,
    };
    let meta = a
        .create_stream(EnteId::new(0), StreamVersion::V29, spec, None)
        .unwrap();
    let stream = meta["streamId"].as_str().unwrap().to_string();
    let digital = send(&a, &slot, "P-1", "Via Roma 1", Some("prova@pec.it"));
    let paper = send(&a, &slot, "P-2", "Via @OK_AR", None);
    let cancelled = send(&a, &slot, "P-3", "Via Roma 3", Some("prova@pec.it"));
    a.advance(Duration::minutes(10));
    a.cancel(EnteId::new(0), &cancelled).unwrap();
    a.advance(Duration::hours(2));
    a.view(EnteId::new(0), &digital, 0).unwrap();
    // Acknowledge part of the stream.
    let pacing = Pacing {
        interval_ms: 0,
        strict: false,
    };
    let first = a
        .consume(EnteId::new(0), StreamVersion::V29, &stream, None, pacing)
        .unwrap();
    let last = first.events[9]["eventId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    a.consume(
        EnteId::new(0),
        StreamVersion::V29,
        &stream,
        Some(last),
        pacing,
    )
    .unwrap();
    let call = send_checklist::Call::get;
    // Cleared calls are compacted away at the next start; the later ones keep their ids.
    for p in ["/a", "/b", "/c"] {
        a.record(EnteId::new(0), call(p));
    }
    a.clear_calls(EnteId::new(0));
    a.record(EnteId::new(0), call("/d"));
    a.record(EnteId::new(0), call("/e"));
    let iuns = [digital, paper, cancelled];
    let before = observe(&a, &iuns, &stream);
    assert_eq!(before["calls"], json!([4, 5]));
    let journaled = |dir: &Path| -> i64 {
        rusqlite::Connection::open(dir.join("send-mock.db"))
            .unwrap()
            .query_row("SELECT COUNT(*) FROM journal", [], |r| r.get(0))
            .unwrap()
    };
    let ops_before = journaled(dir.path());
    assert!(
        before["next_due"].is_string(),
        "work is still pending: {before}"
    );
    drop(a);

    let b = store(dir.path());
    assert!(b.open_journal(dir.path()).unwrap() > 10);
    let after = observe(&b, &iuns, &stream);
    assert_eq!(before, after);
    assert_eq!(journaled(dir.path()), ops_before - 3, "the 3 cleared calls");

    // The paper letter's pending steps still run, and they are journaled too.
    b.advance(Duration::days(30));
    let done = observe(&b, &iuns, &stream);
    drop(b);
    let c = store(dir.path());
    c.open_journal(dir.path()).unwrap();
    assert_eq!(observe(&c, &iuns, &stream), done);
    assert_ne!(done["notifications"][1], before["notifications"][1]);
}

#[test]
fn presigned_urls_handed_out_before_a_restart_still_verify_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let first = store(dir.path());
    first.open_journal(dir.path()).unwrap();
    let at = "2026-03-02T08:00:00Z".parse().unwrap();
    let url = first.presigner().url("", "PUT", "/b/k.pdf", "id", at, 3600);
    let (path, query) = url.split_once('?').unwrap();
    drop(first);
    let again = store(dir.path());
    again.open_journal(dir.path()).unwrap();
    assert_eq!(again.presigner().verify("PUT", path, query).unwrap(), "id");
    // Another data dir signs with another key.
    let other = tempfile::tempdir().unwrap();
    let elsewhere = store(other.path());
    elsewhere.open_journal(other.path()).unwrap();
    assert!(elsewhere.presigner().verify("PUT", path, query).is_err());
}

#[test]
fn io_instants_are_replayed_so_real_time_lifetimes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let a = store(dir.path());
    a.open_journal(dir.path()).unwrap();
    let slot = a
        .preload(
            EnteId::new(0),
            &[("0".into(), "application/pdf".into(), "x".into())],
        )
        .remove(0);
    drop(a);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let b = store(dir.path());
    b.open_journal(dir.path()).unwrap();
    // The presigned URL's hour was counted from the preload, not from the restart: the slot's
    // expiry and the journal hold the same io millisecond, so the replay lands on it exactly.
    let drift = b.slot(&slot.key).unwrap().expires_io - slot.expires_io;
    assert_eq!(drift, chrono::Duration::zero());
}

#[test]
fn downtimes_and_their_legal_facts_come_back_after_a_restart() {
    use crate::domain::downtime::Functionality::*;
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    s.open_journal(dir.path()).unwrap();
    let start = s.clock.now();
    s.downtime_event(NOTIFICATION_CREATE, true, start).unwrap();
    s.downtime_event(NOTIFICATION_WORKFLOW, true, start)
        .unwrap();
    s.advance(Duration::hours(1));
    let closed = s
        .downtime_event(NOTIFICATION_CREATE, false, s.clock.now())
        .unwrap();
    let id = closed.legal_fact_id.clone().unwrap();
    let pdf = s.downtime_legal_fact(&id).unwrap();
    drop(s);

    let again = store(dir.path());
    again.open_journal(dir.path()).unwrap();
    assert!(
        again.any_downtime_open(),
        "the workflow downtime is still open"
    );
    assert_eq!(
        again.downtimes(|d| d.by_legal_fact(&id).cloned()),
        Some(closed)
    );
    assert_eq!(again.downtime_legal_fact(&id), Some(pdf));
    assert!(again.downtimes(|d| d.is_open(NOTIFICATION_WORKFLOW)));
}
