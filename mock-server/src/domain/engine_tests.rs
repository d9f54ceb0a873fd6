//! The notification engine alone: no store, no locks, no HTTP. A test plays the store's part
//! with a heap of jobs and numbered keys.

use super::builtin;
use super::engine::{self, CancelOutcome, Changes, Draw, Job, Notification, Paid, ViewOutcome};
use super::ente::EnteId;
use super::legal_fact::{LegalFactRecord, Sender};
use super::library::ScriptLibrary;
use super::refusal::RefusalReason;
use super::request::{self, RequestVersion};
use super::script::LegalFactKind;
use super::status::{Status, StatusTracker};
use super::timeline::Category;
use chrono::{DateTime, Duration, Utc};
use rand::SeedableRng;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// Numbered instead of random, so keys read in order.
#[derive(Default)]
struct Numbered(u32);

impl Draw for Numbered {
    fn hex16(&mut self) -> String {
        self.0 += 1;
        format!("{:032x}", self.0)
    }
}

/// A Monday morning in Rome: SEND's 21:00 rule does not apply.
fn monday() -> DateTime<Utc> {
    "2026-03-02T08:00:00Z".parse().unwrap()
}

/// A notification with one PF recipient (with a PEC when `pec`), sent at `monday()`, with
/// `script` pinned. The IUN is random, as SEND's is.
fn sent(pec: bool, script: Option<&str>) -> Notification {
    let mut rec = json!({"recipientType": "PF", "taxId": "BNRMHL75C06G702B",
        "denomination": "Michelangelo Buonarroti",
        "physicalAddress": {"address": "Via Roma 1", "municipality": "Roma", "zip": "00100", "province": "RM"},
        "payments": [{"pagoPa": {"noticeCode": "302000100000019421", "creditorTaxId": "80016350821", "applyCost": true}}]});
    if pec {
        rec["digitalDomicile"] = json!({"type": "PEC", "address": "prova@pec.it"});
    }
    let body = json!({"paProtocolNumber": "P-1", "subject": "s", "senderDenomination": "Comune",
        "senderTaxId": "80016350821", "taxonomyCode": "010202N", "notificationFeePolicy": "DELIVERY_MODE",
        "physicalCommunicationType": "AR_REGISTERED_LETTER", "recipients": [rec],
        "documents": [{"contentType": "application/pdf", "digests": {"sha256": "jezIVxlG1M1woCSUngM6KipUN3/p8cG5RMIPnuEanlE="},
            "ref": {"key": "PN_NOTIFICATION_ATTACHMENTS-0001.pdf", "versionToken": "v1"}}]});
    let request = request::parse(RequestVersion::V26, &body).expect("a valid request");
    let mut rng = rand::rngs::StdRng::from_os_rng();
    Notification {
        iun: super::iun::generate(&mut rng, monday()),
        ente: EnteId::new(0),
        version: RequestVersion::V26,
        tracker: StatusTracker::new(request.recipients.len(), monday()),
        request,
        sent_at: monday(),
        timeline: vec![],
        runs: vec![],
        refusal: None,
        cancel_requested: false,
        pinned_script: script.map(str::to_string),
        submitted_io_ms: 0,
    }
}

/// The store's part: jobs in due order, each run on the notification.
struct Driver {
    n: Notification,
    /// By due instant, then by the order they were asked for (as the store's schedule).
    jobs: BTreeMap<(DateTime<Utc>, u32), Job>,
    seq: u32,
    draw: Numbered,
    library: ScriptLibrary,
}

impl Driver {
    fn new(n: Notification) -> Self {
        let mut d = Driver {
            jobs: BTreeMap::new(),
            seq: 0,
            draw: Numbered::default(),
            library: ScriptLibrary::default(),
            n,
        };
        let first = d.n.first_job();
        d.schedule(Changes {
            appended: vec![],
            jobs: vec![first],
        });
        d
    }

    fn schedule(&mut self, changes: Changes) {
        for (at, job) in changes.jobs {
            self.seq += 1;
            self.jobs.insert((at, self.seq), job);
        }
    }

    /// Runs every job due by `until`, each at its instant.
    fn run_until(&mut self, until: DateTime<Utc>) {
        while let Some(entry) = self.jobs.first_entry() {
            let at = entry.key().0;
            if at > until {
                break;
            }
            let changes = match entry.remove() {
                Job::Validate => engine::validate(&mut self.n, vec![], at),
                Job::Accept => {
                    let scripts = engine::choose_scripts(&self.n, &self.library);
                    engine::accept(&mut self.n, scripts, at, &mut self.draw)
                }
                Job::Recipient(rec) => engine::run_step(&mut self.n, rec, at, &mut self.draw),
                Job::CompleteCancellation => {
                    engine::complete_cancellation(&mut self.n, at, &mut self.draw)
                }
            };
            self.schedule(changes);
        }
    }

    fn run_to_end(&mut self) {
        self.run_until(monday() + Duration::days(365));
    }

    fn categories(&self) -> Vec<&'static str> {
        self.n
            .timeline
            .iter()
            .map(|e| e.category.as_str())
            .collect()
    }
}

/// One element as the snapshot shows it.
#[derive(Serialize)]
struct Row {
    element_id: String,
    timestamp: String,
    status_after: &'static str,
    legal_facts: Vec<String>,
}

/// Every built-in script run through the engine for a recipient it fits: each element with the
/// status it leaves the notification in and the legal facts it carries. The IUN is random (as
/// SEND's) and redacted; the instants follow from a fixed send time and are content.
#[test]
fn every_builtin_script_through_the_engine() {
    for name in builtin::NAMES {
        let mut d = Driver::new(sent(name.starts_with("digital"), Some(name)));
        d.run_to_end();
        let mut statuses = d.n.tracker.history().iter();
        let mut current = statuses.next().expect("IN_VALIDATION from the send");
        let rows: Vec<Row> = (d.n.timeline.iter().enumerate())
            .map(|(i, e)| {
                while !current.related.contains(&i) {
                    current = statuses.next().expect("every element has a status");
                }
                Row {
                    element_id: e.element_id.with_iun(d.n.iun.as_str()),
                    timestamp: super::clock::rfc3339(e.timestamp),
                    status_after: current.status.as_str(),
                    legal_facts: e.legal_facts.iter().map(|l| l.category.clone()).collect(),
                }
            })
            .collect();
        let iun = d.n.iun.to_string();
        insta::assert_json_snapshot!(format!("builtin_{name}"), rows, {
            "[].element_id" => insta::dynamic_redaction(move |value, _| {
                value.as_str().expect("a string").replace(&iun, "[iun]")
            }),
        });
    }
}

#[test]
fn a_refused_request_ends_at_request_refused_and_keeps_its_reasons() {
    let mut n = sent(false, None);
    let reason = RefusalReason {
        error_code: "FILE_NOTFOUND",
        detail: "the file is missing".into(),
        rec_index: None,
    };
    let changes = engine::validate(&mut n, vec![reason], monday() + Duration::minutes(1));
    assert!(changes.jobs.is_empty(), "nothing follows a refusal");
    assert_eq!(changes.appended.len(), 1);
    assert_eq!(changes.appended[0].new_status, Some(Status::REFUSED));
    assert_eq!(n.status(), Status::REFUSED);
    let details = n.timeline[0].details.map();
    assert_eq!(details["refusalReasons"][0]["errorCode"], "FILE_NOTFOUND");
    assert_eq!(details["paProtocolNumber"], "P-1");
    assert_eq!(n.refusal.as_ref().map(Vec::len), Some(1));
    let (outcome, changes) = engine::request_cancellation(&mut n, monday(), &mut Numbered(0));
    assert_eq!(outcome, CancelOutcome::Refused);
    assert!(changes.appended.is_empty());
}

#[test]
fn a_valid_request_is_accepted_five_minutes_after_the_send() {
    let mut d = Driver::new(sent(true, Some("digital-success")));
    d.run_until(monday() + Duration::minutes(4));
    assert_eq!(d.categories(), ["VALIDATE_NORMALIZE_ADDRESSES_REQUEST"]);
    assert_eq!(d.n.status(), Status::IN_VALIDATION);
    d.run_until(monday() + Duration::minutes(5));
    let accepted = d.n.timeline.last().expect("elements");
    assert_eq!(accepted.category, Category::REQUEST_ACCEPTED);
    assert_eq!(accepted.timestamp, monday() + Duration::minutes(5));
    assert_eq!(d.n.status(), Status::ACCEPTED);
    assert_eq!(d.n.runs.len(), 1, "one run per recipient");
    let ack = &accepted.legal_facts[0];
    assert_eq!(ack.category, "SENDER_ACK");
    assert_eq!(
        ack.key,
        format!("safestorage://PN_LEGAL_FACTS-{:032x}.pdf", 1),
        "the first key the engine draws"
    );
}

#[test]
fn a_cancellation_asked_during_validation_starts_at_acceptance() {
    let mut d = Driver::new(sent(true, Some("digital-success")));
    d.run_until(monday() + Duration::minutes(2));
    let (outcome, changes) = engine::request_cancellation(&mut d.n, monday(), &mut d.draw);
    assert_eq!(outcome, CancelOutcome::Accepted);
    assert!(
        changes.appended.is_empty(),
        "nothing happens before acceptance"
    );
    let (again, _) = engine::request_cancellation(&mut d.n, monday(), &mut d.draw);
    assert_eq!(again, CancelOutcome::AlreadyCancelled);
    d.run_to_end();
    let cats = d.categories();
    assert_eq!(
        cats[cats.len() - 3..],
        [
            "REQUEST_ACCEPTED",
            "NOTIFICATION_CANCELLATION_REQUEST",
            "NOTIFICATION_CANCELLED"
        ],
        "no recipient step runs once a cancellation is asked"
    );
    assert_eq!(d.n.status(), Status::CANCELLED);
    let cancelled = d.n.timeline.last().expect("elements").details.map();
    assert_eq!(cancelled["notificationCost"], 100);
    assert_eq!(cancelled["notRefinedRecipientIndexes"], json!([0]));
}

#[test]
fn a_view_before_the_refinement_perfects_the_notification_and_skips_it() {
    let mut d = Driver::new(sent(true, Some("digital-success")));
    d.run_until(monday() + Duration::minutes(6));
    let (outcome, changes) =
        engine::view(&mut d.n, 0, monday() + Duration::minutes(6), &mut d.draw)
            .expect("an accepted notification can be viewed");
    assert_eq!(outcome, ViewOutcome::Viewed);
    let facts: Vec<_> = changes.appended.iter().flat_map(|a| &a.facts).collect();
    assert_eq!(facts.len(), 1, "RECIPIENT_ACCESS");
    assert_eq!(d.n.status(), Status::VIEWED);
    let again = engine::view(&mut d.n, 0, monday() + Duration::minutes(7), &mut d.draw);
    assert_eq!(again.map(|a| a.0), Some(ViewOutcome::AlreadyViewed));
    d.run_to_end();
    assert!(!d.categories().contains(&"REFINEMENT"));
    assert_eq!(d.n.status(), Status::VIEWED);
}

#[test]
fn nothing_to_view_before_acceptance_or_for_a_recipient_not_there() {
    let mut d = Driver::new(sent(true, None));
    assert!(engine::view(&mut d.n, 0, monday(), &mut d.draw).is_none());
    d.run_until(monday() + Duration::minutes(5));
    assert!(engine::view(&mut d.n, 1, monday(), &mut d.draw).is_none());
}

#[test]
fn a_reported_payment_is_recorded_with_its_notice_and_keeps_the_status() {
    let mut d = Driver::new(sent(true, Some("digital-success")));
    d.run_to_end();
    let paid_at = monday() + Duration::days(20);
    let paid = Paid::PagoPa {
        notice: "302000100000019421",
        creditor: "80016350821",
    };
    let changes = engine::record_payment(&mut d.n, 0, paid, 12_000, paid_at, paid_at);
    assert_eq!(changes.appended[0].category, Category::PAYMENT);
    assert_eq!(
        changes.appended[0].new_status, None,
        "PAID is deprecated: SEND keeps the status"
    );
    assert_eq!(d.n.status(), Status::EFFECTIVE_DATE);
    let e = d.n.timeline.last().expect("elements");
    assert_eq!(
        e.element_id.with_iun(d.n.iun.as_str()),
        format!(
            "NOTIFICATION_PAID.IUN_{}.RECINDEX_0.CODE_PPA30200010000001942180016350821",
            d.n.iun
        )
    );
    assert_eq!(e.details.map()["recipientType"], "PF");
    assert_eq!(e.details.map()["amount"], 12_000);
}

#[test]
fn the_price_of_a_notice_counts_the_paper_sent_to_its_recipient() {
    let notice = "302000100000019421";
    let mut digital = Driver::new(sent(true, Some("digital-success")));
    assert_eq!(
        engine::price_view(&digital.n, "80016350821", notice).map(|p| p.price),
        Err(engine::PriceError::NotAccepted),
        "no price before acceptance"
    );
    digital.run_to_end();
    let p = engine::price_view(&digital.n, "80016350821", notice).expect("a price");
    assert_eq!((p.price.send_fee, p.price.analog_cost), (100, 0));
    let refined = digital
        .n
        .timeline
        .iter()
        .find(|e| e.category == Category::REFINEMENT);
    assert_eq!(p.refinement_date, refined.map(|e| e.timestamp));
    assert_eq!(p.view_date, None);
    let mut paper = Driver::new(sent(false, Some("analog-ar-ok")));
    paper.run_to_end();
    let q = engine::price_view(&paper.n, "80016350821", notice).expect("a price");
    assert_eq!(q.price.analog_cost, paper.n.runs[0].analog_cost);
    assert!(q.price.analog_cost > 0 && q.price.total > p.price.total);
    assert_eq!(
        engine::price_view(&paper.n, "80016350821", "302000100000019422").map(|p| p.iun),
        Err(engine::PriceError::NotFound),
        "a notice the notification does not carry"
    );
    let (_, changes) = engine::request_cancellation(&mut paper.n, monday(), &mut Numbered(9));
    paper.schedule(changes);
    paper.run_to_end();
    assert_eq!(
        engine::price_view(&paper.n, "80016350821", notice).map(|p| p.iun),
        Err(engine::PriceError::Cancelled)
    );
}

#[test]
fn a_legal_fact_is_written_from_its_notification_its_element_and_its_recipient() {
    let mut d = Driver::new(sent(true, Some("digital-success")));
    d.run_to_end();
    let (index, element) = (d.n.timeline.iter().enumerate())
        .find(|(_, e)| e.category == Category::REQUEST_ACCEPTED)
        .expect("accepted");
    let sender = Sender {
        name: "Comune di Prova",
        tax_id: "80016350821",
    };
    let f = LegalFactRecord::of(
        &d.n,
        sender,
        "K.pdf",
        index,
        LegalFactKind::SenderAck,
        Some(0),
    )
    .expect("a fact of an element that exists");
    let lines: Vec<&str> = f.text.lines().collect();
    assert_eq!(lines[0], format!("IUN: {}", d.n.iun));
    assert_eq!(lines[1], "Mittente: Comune di Prova (C.F. 80016350821)");
    assert_eq!(
        lines[2],
        "Destinatario: Michelangelo Buonarroti (C.F. BNRMHL75C06G702B)"
    );
    assert_eq!(f.created_at, element.timestamp);
    assert_eq!(f.recipient_tax_id.as_deref(), Some("BNRMHL75C06G702B"));
    let sender = Sender {
        name: "Comune di Prova",
        tax_id: "80016350821",
    };
    let beyond = d.n.timeline.len();
    assert!(
        LegalFactRecord::of(
            &d.n,
            sender,
            "K.pdf",
            beyond,
            LegalFactKind::SenderAck,
            None
        )
        .is_none()
    );
}
