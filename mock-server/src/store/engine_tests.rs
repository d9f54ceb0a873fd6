//! The engine as the store runs it, on a frozen virtual clock: each built-in script against
//! send-api.md §4.2, through the store's schedule, indexes and legal-fact documents.

use super::*;
use crate::domain::builtin;
use crate::domain::ente::EnteId;
use crate::domain::legal_fact::rome_time;
use crate::domain::request::{self, RequestVersion};
use crate::domain::timeline::Category;
use base64::Engine as _;
use send_wire::PhysicalCommunicationType;
use serde_json::json;
use sha2::{Digest, Sha256};

const PREFIX: [&str; 4] = [
    "VALIDATE_NORMALIZE_ADDRESSES_REQUEST",
    "NORMALIZED_ADDRESS",
    "SENDER_ACK_CREATION_REQUEST",
    "REQUEST_ACCEPTED",
];

struct Engine {
    store: Store,
    _dir: tempfile::TempDir,
    doc: (String, String, String),
}

/// A store whose clock only moves when told (one SEND day per ~30 real years), starting on a
/// morning in Rome so the 21:00 rule does not apply.
fn engine() -> Engine {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::new(
        "2026-03-02T08:00:00Z".parse().unwrap(),
        std::time::Duration::from_secs(86_400 * 365 * 30),
    ));
    let store = Store::new(
        clock,
        vec![EnteProfile::demo()],
        ScriptLibrary::default(),
        dir.path().to_path_buf(),
    );
    let bytes = b"%PDF-1.4 atto".to_vec();
    let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
    let slot = store
        .preload(
            EnteId::new(0),
            &[("0".into(), "application/pdf".into(), sha.clone())],
        )
        .remove(0);
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, &bytes).unwrap();
    store.record_upload(
        &slot.key,
        StoredVersion {
            version_id: "v1".into(),
            sha256: sha.clone(),
            size: bytes.len() as u64,
            uploaded_at: store.clock.now(),
            path,
            is_pdf: true,
            uploaded_io_ms: 0,
        },
    );
    Engine {
        store,
        _dir: dir,
        doc: (slot.key, "v1".into(), sha),
    }
}

impl Engine {
    /// Sends a notification with one recipient (PEC and address given) and runs it to the end.
    fn run(&self, pec: Option<&str>, address: &str, pct: &str) -> Notification {
        let iun = self.send(pec, address, pct);
        self.store.advance(Duration::days(60));
        self.store.notification(EnteId::new(0), &iun).unwrap()
    }

    fn send(&self, pec: Option<&str>, address: &str, pct: &str) -> Iun {
        let mut rec = json!({"recipientType": "PF", "taxId": "BNRMHL75C06G702B", "denomination": "Michelangelo Buonarroti",
            "physicalAddress": {"address": address, "municipality": "Roma", "zip": "00100", "province": "RM"}});
        if let Some(p) = pec {
            rec["digitalDomicile"] = json!({"type": "PEC", "address": p});
        }
        let body = json!({"paProtocolNumber": format!("P-{}", self.store.random_token(4)), "subject": "s", "senderDenomination": "Comune", "senderTaxId": "80016350821",
            "taxonomyCode": "010202N", "notificationFeePolicy": "FLAT_RATE", "physicalCommunicationType": pct, "recipients": [rec],
            "documents": [{"contentType": "application/pdf", "digests": {"sha256": self.doc.2}, "ref": {"key": self.doc.0, "versionToken": self.doc.1}}]});
        let req = request::parse(RequestVersion::V26, &body).unwrap();
        self.store
            .submit(EnteId::new(0), RequestVersion::V26, req, &body)
            .unwrap()
    }
}

fn cats(n: &Notification) -> Vec<&'static str> {
    n.timeline.iter().map(|e| e.category.as_str()).collect()
}

fn statuses(n: &Notification) -> Vec<&'static str> {
    n.tracker
        .history()
        .iter()
        .map(|h| h.status.as_str())
        .collect()
}

fn legal(n: &Notification) -> Vec<String> {
    n.timeline
        .iter()
        .flat_map(|e| e.legal_facts.iter().map(|l| l.category.clone()))
        .collect()
}

fn codes(n: &Notification) -> Vec<String> {
    n.timeline
        .iter()
        .filter_map(|e| {
            e.details
                .get("deliveryDetailCode")
                .and_then(|c| c.as_str().map(str::to_string))
        })
        .collect()
}

fn expect(n: &Notification, tail: &[&str]) {
    let want: Vec<&str> = PREFIX.iter().copied().chain(tail.iter().copied()).collect();
    assert_eq!(cats(n), want);
}

fn gap(n: &Notification, from: Category, to: Category) -> Duration {
    let at = |c| {
        n.timeline
            .iter()
            .rev()
            .find(|e| e.category == c)
            .unwrap()
            .timestamp
    };
    at(to) - at(from)
}

#[test]
fn digital_success() {
    let e = engine();
    let n = e.run(Some("prova@pec.it"), "Via Roma 1", "REGISTERED_LETTER_890");
    expect(
        &n,
        &[
            "AAR_CREATION_REQUEST",
            "AAR_GENERATION",
            "GET_ADDRESS",
            "GET_ADDRESS",
            "SEND_DIGITAL_DOMICILE",
            "SEND_DIGITAL_PROGRESS",
            "SEND_DIGITAL_FEEDBACK",
            "DIGITAL_DELIVERY_CREATION_REQUEST",
            "SCHEDULE_REFINEMENT",
            "DIGITAL_SUCCESS_WORKFLOW",
            "REFINEMENT",
        ],
    );
    assert_eq!(
        statuses(&n),
        [
            "IN_VALIDATION",
            "ACCEPTED",
            "DELIVERING",
            "DELIVERED",
            "EFFECTIVE_DATE"
        ]
    );
    assert_eq!(
        legal(&n),
        [
            "SENDER_ACK",
            "PEC_RECEIPT",
            "PEC_RECEIPT",
            "DIGITAL_DELIVERY"
        ]
    );
    assert_eq!(codes(&n), ["C001", "C003"]);
    assert_eq!(
        gap(&n, Category::SCHEDULE_REFINEMENT, Category::REFINEMENT),
        Duration::days(7)
    );
    let sources: Vec<String> = n
        .timeline
        .iter()
        .filter(|e| e.category == Category::GET_ADDRESS)
        .map(|e| {
            e.details.map()["digitalAddressSource"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(sources, ["PLATFORM", "SPECIAL"]);
}

#[test]
fn digital_success_after_21_in_rome_refines_a_day_later() {
    let e = engine();
    // 19:55 UTC in March is 20:55 in Rome: the feedback (≈38 min later) lands after 21:00.
    e.store.advance(Duration::hours(11) + Duration::minutes(55));
    let n = e.run(Some("prova@pec.it"), "Via Roma 1", "REGISTERED_LETTER_890");
    assert_eq!(
        gap(&n, Category::SCHEDULE_REFINEMENT, Category::REFINEMENT),
        Duration::days(8)
    );
}

#[test]
fn digital_failure_then_simple_registered_letter() {
    let e = engine();
    let n = e.run(Some("prova@fail.it"), "Via @OK_RS", "REGISTERED_LETTER_890");
    let round = [
        "GET_ADDRESS",
        "GET_ADDRESS",
        "SEND_DIGITAL_DOMICILE",
        "SEND_DIGITAL_PROGRESS",
        "SEND_DIGITAL_FEEDBACK",
    ];
    let mut tail = vec!["AAR_CREATION_REQUEST", "AAR_GENERATION"];
    tail.extend(round);
    tail.extend([
        "PREPARE_DIGITAL_DOMICILE",
        "PUBLIC_REGISTRY_CALL",
        "PUBLIC_REGISTRY_RESPONSE",
        "GET_ADDRESS",
        "SCHEDULE_DIGITAL_WORKFLOW",
    ]);
    tail.extend(round);
    tail.extend([
        "DIGITAL_DELIVERY_CREATION_REQUEST",
        "SCHEDULE_REFINEMENT",
        "PREPARE_SIMPLE_REGISTERED_LETTER",
        "DIGITAL_FAILURE_WORKFLOW",
        "SEND_SIMPLE_REGISTERED_LETTER",
        "SEND_SIMPLE_REGISTERED_LETTER_PROGRESS",
        "SEND_SIMPLE_REGISTERED_LETTER_PROGRESS",
        "REFINEMENT",
    ]);
    expect(&n, &tail);
    // A digital failure still counts as delivered.
    assert_eq!(
        statuses(&n),
        [
            "IN_VALIDATION",
            "ACCEPTED",
            "DELIVERING",
            "DELIVERED",
            "EFFECTIVE_DATE"
        ]
    );
    assert_eq!(
        legal(&n),
        [
            "SENDER_ACK",
            "PEC_RECEIPT",
            "PEC_RECEIPT",
            "PEC_RECEIPT",
            "PEC_RECEIPT",
            "DIGITAL_DELIVERY"
        ]
    );
    assert_eq!(
        codes(&n),
        ["C001", "C004", "C001", "C004", "CON080", "RECRS001C"]
    );
    let ddcr = n
        .timeline
        .iter()
        .find(|e| e.category == Category::DIGITAL_DELIVERY_CREATION_REQUEST)
        .unwrap();
    assert_eq!(ddcr.details.map()["endWorkflowStatus"], "FAILURE");
    assert_eq!(
        gap(
            &n,
            Category::SCHEDULE_DIGITAL_WORKFLOW,
            Category::SEND_DIGITAL_DOMICILE
        ),
        Duration::days(7) + Duration::minutes(2)
    );
    assert_eq!(
        gap(&n, Category::SCHEDULE_REFINEMENT, Category::REFINEMENT),
        Duration::days(15)
    );
    let rs = n
        .timeline
        .iter()
        .find(|e| e.category == Category::SEND_SIMPLE_REGISTERED_LETTER)
        .unwrap();
    assert_eq!(
        (
            rs.details.map()["productType"].as_str(),
            rs.details.map()["analogCost"].as_i64()
        ),
        (Some("RS"), Some(194))
    );
    let second = n
        .timeline
        .iter()
        .filter(|e| e.category == Category::SEND_DIGITAL_DOMICILE)
        .nth(1)
        .unwrap();
    let id = second.element_id.with_iun(n.iun.as_str());
    assert!(id.ends_with("REPEAT_false.ATTEMPT_1"), "{id}");
}

#[test]
fn digital_failure_with_failed_letter_carries_the_scan() {
    let e = engine();
    let n = e.run(
        Some("prova@fail.it"),
        "Via @FAIL_RS",
        "REGISTERED_LETTER_890",
    );
    assert!(codes(&n).ends_with(&[
        "CON080".into(),
        "RECRS002A".into(),
        "RECRS002B".into(),
        "RECRS002C".into()
    ]));
    assert_eq!(legal(&n).last().unwrap(), "ANALOG_DELIVERY");
    assert_eq!(statuses(&n).last(), Some(&"EFFECTIVE_DATE"));
}

const ANALOG_START: [&str; 10] = [
    "AAR_CREATION_REQUEST",
    "AAR_GENERATION",
    "GET_ADDRESS",
    "GET_ADDRESS",
    "PUBLIC_REGISTRY_CALL",
    "PUBLIC_REGISTRY_RESPONSE",
    "GET_ADDRESS",
    "SCHEDULE_ANALOG_WORKFLOW",
    "PREPARE_ANALOG_DOMICILE",
    "SEND_ANALOG_DOMICILE",
];

fn analog_tail(rest: &[&'static str]) -> Vec<&'static str> {
    ANALOG_START
        .iter()
        .copied()
        .chain(rest.iter().copied())
        .collect()
}

#[test]
fn analog_890_and_ar_delivered() {
    let e = engine();
    for (address, pct, product, cs) in [
        (
            "Via @OK_890",
            "REGISTERED_LETTER_890",
            "890",
            ["CON080", "CON020", "RECAG001A", "RECAG001B", "RECAG001C"],
        ),
        (
            "Via @OK_AR",
            "AR_REGISTERED_LETTER",
            "AR",
            ["CON080", "CON020", "RECRN001A", "RECRN001B", "RECRN001C"],
        ),
        (
            "Via senza token",
            "AR_REGISTERED_LETTER",
            "AR",
            ["CON080", "CON020", "RECRN001A", "RECRN001B", "RECRN001C"],
        ),
    ] {
        let n = e.run(None, address, pct);
        expect(
            &n,
            &analog_tail(&[
                "SEND_ANALOG_PROGRESS",
                "SEND_ANALOG_PROGRESS",
                "SEND_ANALOG_PROGRESS",
                "SEND_ANALOG_PROGRESS",
                "SEND_ANALOG_FEEDBACK",
                "ANALOG_SUCCESS_WORKFLOW",
                "SCHEDULE_REFINEMENT",
                "REFINEMENT",
            ]),
        );
        assert_eq!(
            statuses(&n),
            [
                "IN_VALIDATION",
                "ACCEPTED",
                "DELIVERING",
                "DELIVERED",
                "EFFECTIVE_DATE"
            ]
        );
        assert_eq!(legal(&n), ["SENDER_ACK", "ANALOG_DELIVERY"]);
        assert_eq!(codes(&n), cs);
        assert_eq!(
            gap(&n, Category::SCHEDULE_REFINEMENT, Category::REFINEMENT),
            Duration::days(10)
        );
        let send = n
            .timeline
            .iter()
            .find(|e| e.category == Category::SEND_ANALOG_DOMICILE)
            .unwrap();
        assert_eq!(send.details.map()["productType"], product);
        assert_eq!(
            n.runs[0].analog_cost,
            crate::domain::script::analog_cost(product)
        );
    }
}

#[test]
fn analog_refused_by_the_recipient_closes_as_delivered() {
    let e = engine();
    let n = e.run(None, "Via @FAIL_AR", "AR_REGISTERED_LETTER");
    assert_eq!(codes(&n)[2..], ["RECRN002A", "RECRN002B", "RECRN002C"]);
    let fb = n
        .timeline
        .iter()
        .find(|e| e.category == Category::SEND_ANALOG_FEEDBACK)
        .unwrap();
    assert_eq!(
        (
            fb.details.map()["responseStatus"].as_str(),
            fb.details.map()["deliveryFailureCause"].as_str()
        ),
        (Some("OK"), Some("M05"))
    );
    assert_eq!(
        statuses(&n),
        [
            "IN_VALIDATION",
            "ACCEPTED",
            "DELIVERING",
            "DELIVERED",
            "EFFECTIVE_DATE"
        ]
    );
}

#[test]
fn analog_unreachable() {
    let e = engine();
    let n = e.run(None, "Via @FAIL-Irreperibile_AR", "AR_REGISTERED_LETTER");
    expect(
        &n,
        &analog_tail(&[
            "SEND_ANALOG_PROGRESS",
            "SEND_ANALOG_PROGRESS",
            "SEND_ANALOG_PROGRESS",
            "SEND_ANALOG_PROGRESS",
            "SEND_ANALOG_FEEDBACK",
            "PUBLIC_REGISTRY_CALL",
            "PUBLIC_REGISTRY_RESPONSE",
            "PREPARE_ANALOG_DOMICILE_FAILURE",
            "ANALOG_FAILURE_WORKFLOW",
            "COMPLETELY_UNREACHABLE_CREATION_REQUEST",
            "COMPLETELY_UNREACHABLE",
            "SCHEDULE_REFINEMENT",
            "REFINEMENT",
        ]),
    );
    assert_eq!(
        statuses(&n),
        [
            "IN_VALIDATION",
            "ACCEPTED",
            "DELIVERING",
            "UNREACHABLE",
            "EFFECTIVE_DATE"
        ]
    );
    assert_eq!(
        legal(&n),
        ["SENDER_ACK", "ANALOG_DELIVERY", "ANALOG_FAILURE_DELIVERY"]
    );
    assert_eq!(
        codes(&n),
        ["CON080", "CON020", "RECRN002D", "RECRN002E", "RECRN002F"]
    );
    assert_eq!(
        gap(&n, Category::ANALOG_FAILURE_WORKFLOW, Category::REFINEMENT),
        Duration::days(10) + Duration::minutes(1)
    );
    let call = n
        .timeline
        .iter()
        .filter(|e| e.category == Category::PUBLIC_REGISTRY_CALL)
        .nth(1)
        .unwrap();
    assert_eq!(
        (
            call.details.map()["deliveryMode"].as_str(),
            call.details.map()["contactPhase"].as_str()
        ),
        (Some("ANALOG"), Some("SEND_ATTEMPT"))
    );
    let n890 = e.run(None, "Via @FAIL-Irreperibile_890", "REGISTERED_LETTER_890");
    assert_eq!(
        codes(&n890),
        ["CON080", "CON020", "RECAG003D", "RECAG003E", "RECAG003F"]
    );
}

#[test]
fn analog_discovery_second_attempt_succeeds() {
    let e = engine();
    let n = e.run(None, "Via @FAIL-Discovery_890", "REGISTERED_LETTER_890");
    let attempt = [
        "SEND_ANALOG_PROGRESS",
        "SEND_ANALOG_PROGRESS",
        "SEND_ANALOG_PROGRESS",
        "SEND_ANALOG_PROGRESS",
        "SEND_ANALOG_FEEDBACK",
    ];
    let mut tail: Vec<&str> = attempt.to_vec();
    tail.extend(["PREPARE_ANALOG_DOMICILE", "SEND_ANALOG_DOMICILE"]);
    tail.extend(attempt);
    tail.extend([
        "ANALOG_SUCCESS_WORKFLOW",
        "SCHEDULE_REFINEMENT",
        "REFINEMENT",
    ]);
    expect(&n, &analog_tail(&tail));
    assert_eq!(
        codes(&n),
        [
            "CON080",
            "CON020",
            "RECAG003D",
            "RECAG003E",
            "RECAG003F",
            "CON080",
            "CON020",
            "RECAG001A",
            "RECAG001B",
            "RECAG001C"
        ]
    );
    assert_eq!(
        statuses(&n),
        [
            "IN_VALIDATION",
            "ACCEPTED",
            "DELIVERING",
            "DELIVERED",
            "EFFECTIVE_DATE"
        ]
    );
    let first_fb = n
        .timeline
        .iter()
        .find(|e| e.category == Category::SEND_ANALOG_FEEDBACK)
        .unwrap();
    assert!(first_fb.details.map()["newAddress"].is_object());
    let second = n
        .timeline
        .iter()
        .filter(|e| e.category == Category::SEND_ANALOG_DOMICILE)
        .nth(1)
        .unwrap();
    assert!(
        second
            .element_id
            .with_iun(n.iun.as_str())
            .ends_with("ATTEMPT_1")
    );
    assert_eq!(n.runs[0].analog_cost, 2 * 852);
}

#[test]
fn analog_deceased_returns_to_sender() {
    let e = engine();
    let n = e.run(None, "Via @FAIL_DECEDUTO_AR", "AR_REGISTERED_LETTER");
    assert_eq!(cats(&n).last(), Some(&"ANALOG_WORKFLOW_RECIPIENT_DECEASED"));
    assert_eq!(codes(&n)[2..], ["RECRN002A", "RECRN002B", "RECRN002C"]);
    assert_eq!(
        statuses(&n),
        [
            "IN_VALIDATION",
            "ACCEPTED",
            "DELIVERING",
            "RETURNED_TO_SENDER"
        ]
    );
    let d = n.timeline.last().unwrap();
    assert_eq!(d.details.map()["notificationCost"], 100 + 737);
}

#[test]
fn a_view_before_the_refinement_perfects_the_notification() {
    let e = engine();
    e.store
        .pin_next_script(EnteId::new(0), "digital-viewed")
        .unwrap();
    let n = e.run(Some("prova@pec.it"), "Via Roma 1", "REGISTERED_LETTER_890");
    assert_eq!(
        cats(&n)[cats(&n).len() - 2..],
        [
            "NOTIFICATION_VIEWED_CREATION_REQUEST",
            "NOTIFICATION_VIEWED"
        ]
    );
    assert!(!cats(&n).contains(&"REFINEMENT"));
    assert_eq!(
        statuses(&n),
        [
            "IN_VALIDATION",
            "ACCEPTED",
            "DELIVERING",
            "DELIVERED",
            "VIEWED"
        ]
    );
    assert_eq!(legal(&n).last().unwrap(), "RECIPIENT_ACCESS");
    assert_eq!(
        n.timeline.last().unwrap().details.map()["notificationCost"],
        100
    );

    // Viewed through the admin action before the letter is sent: no paper at all.
    let iun = e.send(None, "Via @OK_AR", "AR_REGISTERED_LETTER");
    e.store.advance(Duration::minutes(10));
    assert_eq!(
        e.store.view(EnteId::new(0), &iun, 0),
        Some(ViewOutcome::Viewed)
    );
    assert_eq!(
        e.store.view(EnteId::new(0), &iun, 0),
        Some(ViewOutcome::AlreadyViewed)
    );
    e.store.advance(Duration::days(60));
    let n = e.store.notification(EnteId::new(0), &iun).unwrap();
    assert!(
        !cats(&n).contains(&"SEND_ANALOG_DOMICILE"),
        "{:?}",
        cats(&n)
    );
    assert!(!cats(&n).contains(&"REFINEMENT"));
    assert_eq!(statuses(&n).last(), Some(&"VIEWED"));
    // Viewed after the refinement: no cost in the element, status VIEWED from EFFECTIVE_DATE.
    let iun = e.send(Some("prova@pec.it"), "Via Roma 1", "REGISTERED_LETTER_890");
    e.store.advance(Duration::days(30));
    e.store.view(EnteId::new(0), &iun, 0);
    let n = e.store.notification(EnteId::new(0), &iun).unwrap();
    assert!(
        n.timeline
            .last()
            .unwrap()
            .details
            .get("notificationCost")
            .is_none()
    );
    assert_eq!(
        statuses(&n)[statuses(&n).len() - 2..],
        ["EFFECTIVE_DATE", "VIEWED"]
    );
}

#[test]
fn advancing_fires_in_order_and_nothing_early_and_notifications_interleave() {
    let e = engine();
    let a = e.send(Some("prova@pec.it"), "Via Roma 1", "REGISTERED_LETTER_890");
    e.store.advance(Duration::minutes(3));
    let b = e.send(None, "Via @OK_890", "REGISTERED_LETTER_890");
    // Validation starts a minute after the send; acceptance comes at five.
    let na = e.store.notification(EnteId::new(0), &a).unwrap();
    assert_eq!(cats(&na), ["VALIDATE_NORMALIZE_ADDRESSES_REQUEST"]);
    assert_eq!(na.status(), Status::IN_VALIDATION);
    e.store.advance(Duration::minutes(2));
    assert_eq!(
        cats(&e.store.notification(EnteId::new(0), &a).unwrap()).len(),
        4
    );
    assert_eq!(
        cats(&e.store.notification(EnteId::new(0), &b).unwrap()),
        ["VALIDATE_NORMALIZE_ADDRESSES_REQUEST"]
    );
    e.store.advance(Duration::days(7));
    let (na, nb) = (
        e.store.notification(EnteId::new(0), &a).unwrap(),
        e.store.notification(EnteId::new(0), &b).unwrap(),
    );
    assert!(
        !cats(&na).contains(&"REFINEMENT"),
        "a refines 7 days after delivery, not before"
    );
    for n in [&na, &nb] {
        assert!(
            n.timeline
                .windows(2)
                .all(|w| w[0].timestamp <= w[1].timestamp),
            "timestamps ascend"
        );
    }
    // The event log interleaves the two notifications in time order.
    let log = e.store.events_since(0);
    let times: Vec<_> = log
        .iter()
        .map(|ev| {
            e.store
                .notification(EnteId::new(0), &ev.iun)
                .unwrap()
                .timeline[ev.element_index()]
            .timestamp
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(log.iter().any(|ev| ev.iun == a) && log.iter().any(|ev| ev.iun == b));
    let first_b = log.iter().position(|ev| ev.iun == b).unwrap();
    let last_a = log.iter().rposition(|ev| ev.iun == a).unwrap();
    assert!(first_b < last_a, "interleaved");
}

#[test]
fn uat_conventions_pick_the_builtins() {
    use crate::domain::request::{DigitalAddress, PhysicalAddress, Recipient};
    let rec = |pec: Option<&str>, address: &str| Recipient {
        recipient_type: send_wire::notification::RecipientType::PF,
        tax_id: crate::domain::tax_id::SentTaxId::new("BNRMHL75C06G702B"),
        denomination: "M".into(),
        digital_domicile: pec.map(|p| DigitalAddress {
            kind: send_wire::notification::DigitalDomicileType::PEC,
            address: p.into(),
        }),
        physical_address: Some(PhysicalAddress {
            address: address.into(),
            municipality: "Roma".into(),
            ..Default::default()
        }),
        payments: None,
        notice_code_alternative: None,
    };
    let cases = [
        (
            Some("prova@pec.it"),
            "Via Roma",
            "REGISTERED_LETTER_890",
            "digital-success",
        ),
        (
            Some("prova@fail.it"),
            "Via @ok_RS",
            "REGISTERED_LETTER_890",
            "digital-failure-rs-ok",
        ),
        (
            Some("prova@fail.it"),
            "Via @FAIL_RS",
            "REGISTERED_LETTER_890",
            "digital-failure-rs-fail",
        ),
        (None, "Via @OK_890", "AR_REGISTERED_LETTER", "analog-890-ok"),
        (None, "via @ok_ar", "REGISTERED_LETTER_890", "analog-ar-ok"),
        (None, "Via Roma", "REGISTERED_LETTER_890", "analog-890-ok"),
        (None, "Via Roma", "AR_REGISTERED_LETTER", "analog-ar-ok"),
        (
            None,
            "Via @FAIL-Irreperibile_890",
            "AR_REGISTERED_LETTER",
            "analog-890-unreachable",
        ),
        (
            None,
            "Via @FAIL-Discovery_AR",
            "REGISTERED_LETTER_890",
            "analog-ar-discovery",
        ),
        (
            None,
            "Via @FAIL_DECEDUTO_890",
            "AR_REGISTERED_LETTER",
            "analog-890-deceased",
        ),
        (
            None,
            "Via @FAIL_890",
            "AR_REGISTERED_LETTER",
            "analog-890-refused",
        ),
    ];
    for (pec, address, pct, name) in cases {
        assert_eq!(
            builtin::choose(
                &rec(pec, address),
                PhysicalCommunicationType::parse(pct).unwrap()
            )
            .name,
            name,
            "{pec:?} {address} {pct}"
        );
    }
    for name in builtin::NAMES {
        assert_eq!(builtin::by_name(name).unwrap().name, *name);
    }
}

#[test]
fn a_legal_fact_document_is_written_from_its_notification_and_element() {
    let e = engine();
    let n = e.run(Some("prova@pec.it"), "Via Roma 1", "AR_REGISTERED_LETTER");
    let facts = e.store.legal_facts_of(&n);
    let kinds: Vec<&str> = facts.iter().map(|f| f.kind.category()).collect();
    assert_eq!(
        kinds,
        [
            "SENDER_ACK",
            "PEC_RECEIPT",
            "PEC_RECEIPT",
            "DIGITAL_DELIVERY"
        ]
    );
    let sender = EnteProfile::demo();
    for f in &facts {
        // The element that lists the fact, as SEND shows it.
        let element = n
            .timeline
            .iter()
            .find(|el| {
                el.legal_facts
                    .iter()
                    .any(|l| l.key == format!("safestorage://{}", f.key))
            })
            .unwrap();
        assert_eq!(f.element_id, element.element_id.with_iun(n.iun.as_str()));
        assert!(
            f.element_id.contains(&format!(".IUN_{}", n.iun)),
            "{}",
            f.element_id
        );
        assert_eq!(f.created_at, element.timestamp);
        assert_eq!(f.iun, n.iun.as_str());
        let mut expected = vec![
            format!("IUN: {}", n.iun),
            format!("Mittente: {} (C.F. {})", sender.name, sender.tax_id),
        ];
        if f.kind == LegalFactKind::SenderAck {
            assert_eq!(f.recipient_tax_id, None);
        } else {
            assert_eq!(f.recipient_tax_id.as_deref(), Some("BNRMHL75C06G702B"));
            expected.push("Destinatario: Michelangelo Buonarroti (C.F. BNRMHL75C06G702B)".into());
        }
        expected.push("Oggetto: s".into());
        expected.push(format!("Data: {}", rome_time(element.timestamp)));
        assert_eq!(f.text.lines().collect::<Vec<_>>(), expected);
        // Found by key alone, the same record.
        let by_key = e.store.legal_fact(&f.key).unwrap();
        assert_eq!(
            (by_key.text, by_key.element_id),
            (f.text.clone(), f.element_id.clone())
        );
    }
    // A PEC receipt is XML carrying the text lines.
    let receipt = String::from_utf8(facts[1].render()).unwrap();
    assert!(
        receipt.contains(&format!("<riga>IUN: {}</riga>", n.iun)),
        "{receipt}"
    );
    assert!(e.store.legal_fact("PN_LEGAL_FACTS-unknown.pdf").is_none());
}

#[test]
fn every_built_in_script_pinned_runs_to_its_last_step() {
    let e = engine();
    for name in builtin::NAMES {
        e.store.pin_next_script(EnteId::new(0), name).unwrap();
        let n = e.run(Some("prova@pec.it"), "Via Roma 1", "REGISTERED_LETTER_890");
        let last = n.timeline.last().unwrap().category.as_str();
        // digital-viewed's view perfects the notification, so its REFINEMENT step never fires.
        let expected = if *name == "digital-viewed" {
            "NOTIFICATION_VIEWED"
        } else {
            let script = builtin::by_name(name).unwrap();
            script.steps.last().unwrap().category.as_str()
        };
        assert_eq!(last, expected, "{name}");
    }
}
