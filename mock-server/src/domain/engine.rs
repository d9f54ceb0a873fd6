//! The notification engine: what SEND does to a notification at each step of its life
//! (validation, acceptance, each recipient's script, a view, a cancellation), as functions over
//! the notification and the instant. No locks, no HTTP, no store: the store keeps the
//! notifications, runs the jobs when they fall due and applies what a step returns (the legal
//! facts to index, the events to stream, the jobs to schedule).

use super::details::{ElementDetails, RefusalReasonDetail, RequestRef};
use super::ente::EnteId;
use super::iun::Iun;
use super::library::ScriptLibrary;
use super::price::Price;
use super::refusal::RefusalReason;
use super::request::{NotificationRequest, PhysicalAddress, RequestVersion};
use super::script::{
    self, ElementContext, LegalFactKind, NewLegalFact, RecipientRun, TimelineScript,
};
use super::status::{Status, StatusTracker};
use super::timeline::{Category, ElementId, TimelineElement};
use chrono::{DateTime, Duration, Utc};
use send_wire::{LegalFactsId, NotificationFeePolicy};
use std::sync::Arc;

/// Virtual time from a send to the start of validation.
pub const VALIDATION_START: Duration = Duration::minutes(1);
/// Virtual time from a send to acceptance (REQUEST_ACCEPTED).
pub const ACCEPTANCE_DELAY: Duration = Duration::minutes(5);
/// Virtual time from a cancellation request to NOTIFICATION_CANCELLED.
pub const CANCELLATION_DELAY: Duration = Duration::minutes(1);

/// A notification (or a request still being validated, or a refused one).
#[derive(Debug, Clone)]
pub struct Notification {
    pub iun: Iun,
    pub ente: EnteId,
    pub version: RequestVersion,
    pub request: NotificationRequest,
    pub sent_at: DateTime<Utc>,
    pub timeline: Vec<TimelineElement>,
    pub tracker: StatusTracker,
    pub runs: Vec<RecipientRun>,
    pub refusal: Option<Vec<RefusalReason>>,
    pub cancel_requested: bool,
    /// A script pinned with `PUT /mock/scripts/next` before this notification was sent.
    pub pinned_script: Option<String>,
    /// The io instant of the send, ms since the epoch: how old its files were then.
    pub submitted_io_ms: i64,
}

/// Work the engine asks to be done on a notification at a later instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    Validate,
    Accept,
    /// The next step of recipient `n`'s script.
    Recipient(usize),
    CompleteCancellation,
}

/// Outcome of a cancellation request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    Accepted,
    AlreadyCancelled,
    Refused,
}

/// Outcome of a recipient viewing a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewOutcome {
    Viewed,
    AlreadyViewed,
}

/// The random identifiers SEND makes up (safe-storage keys, cancellation ids). The engine
/// draws them in a fixed order, so a seeded source replays a journal to the same values.
pub trait Draw {
    /// 16 random bytes as 32 lowercase hex digits.
    fn hex16(&mut self) -> String;
}

fn new_key(draw: &mut dyn Draw, prefix: &str, ext: &str) -> String {
    format!("{prefix}-{}.{ext}", draw.hex16())
}

/// An element a step appended to the timeline.
#[derive(Debug, Clone)]
pub struct Appended {
    /// Its index in the timeline.
    pub index: usize,
    pub category: Category,
    pub status_after: Status,
    /// The status it moved the notification to, if it changed.
    pub new_status: Option<Status>,
    /// The legal facts SEND generated with it.
    pub facts: Vec<NewLegalFact>,
}

/// What a step did, for the store to apply in order.
#[derive(Debug, Default)]
#[must_use = "the store must index the facts, stream the events and schedule the jobs"]
pub struct Changes {
    pub appended: Vec<Appended>,
    pub jobs: Vec<(DateTime<Utc>, Job)>,
}

impl Notification {
    pub fn status(&self) -> Status {
        self.tracker.current()
    }

    pub fn request_id(&self) -> String {
        self.iun.request_id()
    }

    pub fn accepted(&self) -> bool {
        !matches!(self.status(), Status::IN_VALIDATION | Status::REFUSED)
    }

    /// The first job of a notification just sent: validation.
    pub fn first_job(&self) -> (DateTime<Utc>, Job) {
        (self.sent_at + VALIDATION_START, Job::Validate)
    }

    /// Appends `element`, advancing the status, and records it in `out`.
    fn append(&mut self, element: TimelineElement, facts: Vec<NewLegalFact>, out: &mut Changes) {
        let index = self.timeline.len();
        let new_status = self.tracker.apply(&element);
        let category = element.category;
        // Grow by one: a timeline ends at a few dozen elements, and doubling would leave up to
        // half of every notification's vector unused.
        self.timeline.reserve_exact(1);
        self.timeline.push(element);
        out.appended.push(Appended {
            index,
            category,
            status_after: self.tracker.current(),
            new_status,
            facts,
        });
    }

    /// What every request-level element repeats: the request id, protocol and token.
    fn request_ref(&self) -> RequestRef {
        RequestRef {
            notification_request_id: self.request_id(),
            pa_protocol_number: self.request.pa_protocol_number.clone(),
            idempotence_token: self.request.idempotence_token.clone(),
        }
    }
}

/// A notification-level element (no recipient).
fn notification_element(
    category: Category,
    prefix: &str,
    at: DateTime<Utc>,
    details: ElementDetails,
    legal: Vec<LegalFactsId>,
) -> TimelineElement {
    TimelineElement::new(ElementId::of(prefix, &[]), category, at, details.into_map())
        .with_legal_facts(legal)
}

/// A notification-level element carrying the legal fact SEND generated under `key`.
fn element_with_fact(
    category: Category,
    prefix: &str,
    at: DateTime<Utc>,
    details: ElementDetails,
    key: String,
    kind: LegalFactKind,
) -> (TimelineElement, Vec<NewLegalFact>) {
    let legal = vec![LegalFactsId {
        key: format!("safestorage://{key}"),
        category: kind.category().into(),
    }];
    let element = notification_element(category, prefix, at, details, legal);
    let fact = NewLegalFact {
        key,
        kind,
        rec_index: None,
    };
    (element, vec![fact])
}

fn refusal_details(reasons: &[RefusalReason]) -> Vec<RefusalReasonDetail> {
    reasons
        .iter()
        .map(|r| RefusalReasonDetail {
            error_code: r.error_code,
            detail: r.detail.clone(),
            rec_index: r.rec_index,
        })
        .collect()
}

/// SEND's asynchronous validation, given what it found wrong (`reasons`, empty when valid):
/// REQUEST_REFUSED, or address normalisation with acceptance to follow.
pub fn validate(n: &mut Notification, reasons: Vec<RefusalReason>, at: DateTime<Utc>) -> Changes {
    let mut out = Changes::default();
    if !reasons.is_empty() {
        let d = ElementDetails::RequestRefused {
            request: n.request_ref(),
            refusal_reasons: refusal_details(&reasons),
        };
        let el = notification_element(Category::REQUEST_REFUSED, "REQUEST_REFUSED", at, d, vec![]);
        n.refusal = Some(reasons);
        n.append(el, vec![], &mut out);
        return out;
    }
    let el = notification_element(
        Category::VALIDATE_NORMALIZE_ADDRESSES_REQUEST,
        "VALIDATE_NORMALIZE_ADDRESSES_REQUEST",
        at,
        ElementDetails::Empty {},
        vec![],
    );
    n.append(el, vec![], &mut out);
    out.jobs
        .push(((n.sent_at + ACCEPTANCE_DELAY).max(at), Job::Accept));
    out
}

/// The script each recipient will follow: the one pinned before the send, else the library's
/// choice for that recipient.
pub fn choose_scripts(n: &Notification, library: &ScriptLibrary) -> Vec<Arc<TimelineScript>> {
    let pinned = n.pinned_script.as_deref().and_then(|p| library.by_name(p));
    n.request
        .recipients
        .iter()
        .map(|r| {
            pinned
                .clone()
                .unwrap_or_else(|| library.choose(r, &n.request))
        })
        .collect()
}

/// NORMALIZED_ADDRESS for recipient `i`: the mock's normaliser keeps the address as sent.
fn normalized_address(i: usize, addr: &PhysicalAddress, at: DateTime<Utc>) -> TimelineElement {
    let d = ElementDetails::NormalizedAddress {
        rec_index: i,
        old_address: addr.clone(),
        normalized_address: addr.clone(),
    };
    let id = ElementId::of("NORMALIZED_ADDRESS", &[("RECINDEX", i.to_string())]);
    TimelineElement::new(id, Category::NORMALIZED_ADDRESS, at, d.into_map())
}

/// Acceptance: normalised addresses, the SENDER_ACK legal fact, then each recipient's script
/// (`scripts`, one per recipient) starts; a cancellation asked for meanwhile starts too.
pub fn accept(
    n: &mut Notification,
    scripts: Vec<Arc<TimelineScript>>,
    at: DateTime<Utc>,
    draw: &mut dyn Draw,
) -> Changes {
    let mut out = Changes::default();
    let normalized: Vec<TimelineElement> = (n.request.recipients.iter().enumerate())
        .filter_map(|(i, r)| Some(normalized_address(i, r.physical_address.as_ref()?, at)))
        .collect();
    for el in normalized {
        n.append(el, vec![], &mut out);
    }
    let ack_key = new_key(draw, "PN_LEGAL_FACTS", "pdf");
    let d = ElementDetails::SenderAckCreationRequest {
        legal_fact_id: format!("safestorage://{ack_key}"),
    };
    let el = notification_element(
        Category::SENDER_ACK_CREATION_REQUEST,
        "SENDERACK_LEGALFACT_CREATION_REQUEST",
        at,
        d,
        vec![],
    );
    n.append(el, vec![], &mut out);
    let (el, facts) = element_with_fact(
        Category::REQUEST_ACCEPTED,
        "REQUEST_ACCEPTED",
        at,
        ElementDetails::RequestAccepted {
            request: n.request_ref(),
        },
        ack_key,
        LegalFactKind::SenderAck,
    );
    n.append(el, facts, &mut out);
    n.runs = scripts
        .into_iter()
        .enumerate()
        .map(|(i, s)| RecipientRun::new(i, s))
        .collect();
    for run in &n.runs {
        if let Some(due) = run.next_due(at) {
            out.jobs.push((due, Job::Recipient(run.rec_index)));
        }
    }
    if n.cancel_requested {
        start_cancellation(n, at, draw, &mut out);
    }
    out
}

/// Skips the steps a view made moot: a view perfects the notification, so the refinement no
/// longer happens, and a letter not yet sent is not sent (send-api.md §4.2-E).
fn skip_moot_steps(run: &mut RecipientRun) {
    while let Some(s) = run.script.steps.get(run.next) {
        let paper_not_sent = matches!(
            s.category,
            Category::PREPARE_ANALOG_DOMICILE | Category::SEND_ANALOG_DOMICILE
        ) && s.attempt == 0;
        if run.viewed && paper_not_sent {
            run.next = run.script.steps.len();
        } else if run.viewed
            && !run.refined
            && (s.at_refinement || s.category == Category::SCHEDULE_REFINEMENT)
        {
            run.next += 1;
        } else {
            break;
        }
    }
}

/// The next step of recipient `rec`'s script, and the job for the one after.
pub fn run_step(
    n: &mut Notification,
    rec: usize,
    at: DateTime<Utc>,
    draw: &mut dyn Draw,
) -> Changes {
    let mut out = Changes::default();
    if n.status() == Status::CANCELLED || n.cancel_requested {
        return out;
    }
    let Some(run) = n.runs.get_mut(rec) else {
        return out;
    };
    skip_moot_steps(run);
    let Some(step) = run.script.steps.get(run.next).cloned() else {
        return out;
    };
    run.next += 1;
    build_and_append(n, rec, &step, at, draw, &mut out);
    if let Some(due) = n.runs.get(rec).and_then(|r| r.next_due(at)) {
        out.jobs.push((due, Job::Recipient(rec)));
    }
    out
}

/// Builds the element of `step` for recipient `rec` at `at` and appends it.
fn build_and_append(
    n: &mut Notification,
    rec: usize,
    step: &script::ScriptStep,
    at: DateTime<Utc>,
    draw: &mut dyn Draw,
    out: &mut Changes,
) {
    let Notification {
        iun, request, runs, ..
    } = &mut *n;
    let (Some(run), Some(recipient)) = (runs.get_mut(rec), request.recipients.get(rec)) else {
        return;
    };
    let mut keys = |prefix: &str, ext: &str| new_key(draw, prefix, ext);
    let mut ctx = ElementContext {
        iun: iun.as_str(),
        recipient,
        physical_communication_type: request.physical_communication_type,
        now: at,
        new_key: &mut keys,
    };
    let (element, facts) = script::build_element(&mut ctx, run, step);
    n.append(element, facts, out);
}

/// Recipient `rec` reads the notification at `at` (SEND's NOTIFICATION_VIEWED); `None` when
/// there is nothing to view (not accepted, or no such recipient).
pub fn view(
    n: &mut Notification,
    rec: usize,
    at: DateTime<Utc>,
    draw: &mut dyn Draw,
) -> Option<(ViewOutcome, Changes)> {
    if !n.accepted() || rec >= n.request.recipients.len() {
        return None;
    }
    let mut out = Changes::default();
    if n.status() == Status::CANCELLED || n.runs.get(rec).is_some_and(|r| r.viewed) {
        return Some((ViewOutcome::AlreadyViewed, out));
    }
    for step in [
        script::step(Category::NOTIFICATION_VIEWED_CREATION_REQUEST),
        script::step(Category::NOTIFICATION_VIEWED).legal_fact(LegalFactKind::RecipientAccess),
    ] {
        build_and_append(n, rec, &step, at, draw, &mut out);
    }
    Some((ViewOutcome::Viewed, out))
}

/// The sender asks to cancel at `at`. A notification still being validated is cancelled once
/// accepted; a refused one cannot be.
pub fn request_cancellation(
    n: &mut Notification,
    at: DateTime<Utc>,
    draw: &mut dyn Draw,
) -> (CancelOutcome, Changes) {
    let mut out = Changes::default();
    if n.status() == Status::REFUSED {
        return (CancelOutcome::Refused, out);
    }
    if n.cancel_requested || n.status() == Status::CANCELLED {
        return (CancelOutcome::AlreadyCancelled, out);
    }
    n.cancel_requested = true;
    if n.accepted() {
        start_cancellation(n, at, draw, &mut out);
    }
    (CancelOutcome::Accepted, out)
}

fn start_cancellation(
    n: &mut Notification,
    at: DateTime<Utc>,
    draw: &mut dyn Draw,
    out: &mut Changes,
) {
    let d = ElementDetails::CancellationRequest {
        cancellation_request_id: draw.hex16(),
    };
    let el = notification_element(
        Category::NOTIFICATION_CANCELLATION_REQUEST,
        "NOTIFICATION_CANCELLATION_REQUEST",
        at,
        d,
        vec![],
    );
    n.append(el, vec![], out);
    out.jobs
        .push((at + CANCELLATION_DELAY, Job::CompleteCancellation));
}

/// NOTIFICATION_CANCELLED with its legal fact; recipients not yet refined cost 100 cents each.
pub fn complete_cancellation(
    n: &mut Notification,
    at: DateTime<Utc>,
    draw: &mut dyn Draw,
) -> Changes {
    let mut out = Changes::default();
    let not_refined: Vec<usize> = (0..n.request.recipients.len())
        .filter(|i| !n.runs.get(*i).is_some_and(|r| r.refined))
        .collect();
    let key = new_key(draw, "PN_LEGAL_FACTS", "pdf");
    let d = ElementDetails::Cancelled {
        notification_cost: 100 * not_refined.len() as i64,
        not_refined_recipient_indexes: not_refined,
    };
    let (el, facts) = element_with_fact(
        Category::NOTIFICATION_CANCELLED,
        "NOTIFICATION_CANCELLED",
        at,
        d,
        key,
        LegalFactKind::NotificationCancelled,
    );
    n.append(el, facts, &mut out);
    out
}

/// How a payment the sender reports was made.
#[derive(Debug, Clone, Copy)]
pub enum Paid<'a> {
    /// A pagoPA notice, by its code and creditor.
    PagoPa {
        notice: &'a str,
        creditor: &'a str,
    },
    F24,
}

/// NOTIFICATION_PAID for recipient `rec`: `amount` cents paid at `paid_at`, recorded `now`.
pub fn record_payment(
    n: &mut Notification,
    rec: usize,
    paid: Paid,
    amount: i64,
    paid_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Changes {
    let mut out = Changes::default();
    let Some(recipient) = n.request.recipients.get(rec) else {
        return out;
    };
    let (code, creditor_tax_id, notice_code) = match paid {
        Paid::PagoPa { notice, creditor } => (
            format!("PPA{notice}{creditor}"),
            Some(creditor.to_string()),
            Some(notice.to_string()),
        ),
        Paid::F24 => (format!("F24{}", paid_at.timestamp_millis()), None, None),
    };
    let d = ElementDetails::NotificationPaid {
        rec_index: rec,
        recipient_type: recipient.recipient_type,
        amount,
        creditor_tax_id,
        notice_code,
        payment_source_channel: "EXTERNAL_REGISTRY",
        uncertain_payment_date: false,
        event_timestamp: super::clock::rfc3339(paid_at),
    };
    let id = ElementId::of(
        "NOTIFICATION_PAID",
        &[("RECINDEX", rec.to_string()), ("CODE", code)],
    );
    let el = TimelineElement::new(id, Category::PAYMENT, paid_at, d.into_map()).recorded_at(now);
    n.append(el, vec![], &mut out);
    out
}

/// Why a price cannot be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceError {
    NotFound,
    NotAccepted,
    Cancelled,
}

/// A price as SEND answers it.
#[derive(Debug, Clone)]
pub struct PriceView {
    pub iun: Iun,
    pub price: Price,
    pub refinement_date: Option<DateTime<Utc>>,
    pub view_date: Option<DateTime<Utc>>,
}

/// What SEND answers for the price of `notice` of `creditor`, a pagoPA payment of `n`: the
/// price formula over the recipient's paper costs so far, and when the notification was refined
/// and viewed for that recipient.
pub fn price_view(n: &Notification, creditor: &str, notice: &str) -> Result<PriceView, PriceError> {
    match n.status() {
        Status::IN_VALIDATION => return Err(PriceError::NotAccepted),
        Status::REFUSED => return Err(PriceError::NotFound),
        Status::CANCELLED => return Err(PriceError::Cancelled),
        _ => {}
    }
    let (rec_index, payment) = n
        .request
        .pago_pa_payments()
        .find(|(_, p)| p.creditor_tax_id == creditor && p.notice_code.as_str() == notice)
        .ok_or(PriceError::NotFound)?;
    let analog = n.runs.get(rec_index).map(|r| r.analog_cost).unwrap_or(0);
    let delivery_mode = n.request.notification_fee_policy == NotificationFeePolicy::DELIVERY_MODE;
    let first = |c: Category| {
        n.timeline
            .iter()
            .find(|e| e.category == c && e.rec_index() == Some(rec_index))
            .map(|e| e.timestamp)
    };
    Ok(PriceView {
        iun: n.iun.clone(),
        price: super::price::price(
            delivery_mode,
            payment.apply_cost,
            n.request.pa_fee,
            n.request.vat,
            analog,
        ),
        refinement_date: first(Category::REFINEMENT),
        view_date: first(Category::NOTIFICATION_VIEWED),
    })
}
