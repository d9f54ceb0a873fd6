//! The mock's state: uploaded files, notifications with their append-only timelines, legal
//! facts and the event log, behind one lock held only for short, non-async sections.
//!
//! What happens to a notification is decided by the engine (`domain::engine`); the store keeps
//! the jobs it asks for in a schedule ordered by virtual time, and [`Store::fire_due`] runs
//! whatever is due at the instant it was due, so timestamps never depend on when the ticker
//! happened to wake up. It then applies what each step returned: the legal facts to index, the
//! events to log and stream, the next jobs.

#[cfg(test)]
mod engine_tests;
pub mod events;
pub mod files;
pub mod journal;
#[cfg(test)]
mod journal_tests;
pub mod streams;

use crate::config::EnteProfile;
use crate::domain::clock::VirtualClock;
use crate::domain::downtime::{Downtime, DowntimeError, Downtimes, Functionality};
use crate::domain::engine::{self, Changes, Job};
use crate::domain::ente::EnteId;
use crate::domain::iun::Iun;
use crate::domain::legal_fact::{LegalFactRecord, Sender};
use crate::domain::library::ScriptLibrary;
use crate::domain::presign::Presigner;
use crate::domain::refusal;
use crate::domain::request::{NotificationRequest, RequestVersion};
use crate::domain::script::LegalFactKind;
use crate::domain::status::{Status, StatusTracker};
use chrono::{DateTime, Duration, Utc};
use events::EventLog;
use files::{Files, StoredVersion, UploadSlot};
use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// SEND's answer while a request is being validated.
pub const WAITING_RETRY_AFTER: i64 = 10;

pub use crate::domain::engine::{CancelOutcome, Notification, PriceError, PriceView, ViewOutcome};
pub use crate::domain::refusal::RefusalReason;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Due {
    at: DateTime<Utc>,
    seq: u64,
    iun: Iun,
    job: Job,
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A conflict with an existing notification (HTTP 409): `(element, detail)` pairs.
pub type Conflicts = Vec<(String, String)>;

/// One F24 payment a sender reports (`POST /delivery/events/payment/f24`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct F24Payment {
    pub iun: String,
    pub recipient_tax_id: String,
    pub recipient_type: String,
    pub amount: i64,
    pub paid_at: DateTime<Utc>,
}

/// How a client asks for a request's status.
#[derive(Debug, Clone)]
pub enum RequestLookup {
    ById(String),
    ByProtocol { protocol: String, token: String },
}

/// A file a download URL serves.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum DownloadTarget {
    Upload {
        path: PathBuf,
        content_type: String,
    },
    LegalFact(String),
    /// The legal fact of a resolved platform downtime, by its id.
    DowntimeLegalFact(String),
}

/// Where a legal fact's document comes from: an element of a notification's timeline.
#[derive(Debug, Clone)]
struct FactRef {
    iun: Iun,
    /// Index of the element in the notification's timeline.
    element: usize,
    kind: LegalFactKind,
    rec_index: Option<usize>,
}

#[derive(Debug, Clone)]
struct Grant {
    ente: EnteId,
    target: DownloadTarget,
    expires_io: Duration,
}

/// The generator of everything random the store decides under its lock (IUNs, file keys,
/// stream ids): seeded per data dir, so a replayed journal draws the same values.
struct SeededRng(StdRng);

impl Default for SeededRng {
    fn default() -> Self {
        SeededRng(StdRng::from_os_rng())
    }
}

impl SeededRng {
    fn hex(&mut self, bytes: usize) -> String {
        random_hex(&mut self.0, bytes)
    }
}

impl engine::Draw for SeededRng {
    fn hex16(&mut self) -> String {
        self.hex(16)
    }
}

#[derive(Default)]
struct State {
    rng: SeededRng,
    files: Files,
    /// Boxed: the table keeps room for more entries than it holds, and a notification is big.
    notifications: HashMap<Iun, Box<Notification>>,
    by_protocol: HashMap<(EnteId, String, String), Iun>,
    by_iuv: HashMap<(String, String), Iun>,
    legal_facts: HashMap<Box<str>, FactRef>,
    grants: HashMap<String, Grant>,
    asked_once: HashSet<String>,
    pinned: HashMap<EnteId, String>,
    streams: HashMap<String, streams::Stream>,
    schedule: BinaryHeap<Reverse<Due>>,
    events: EventLog,
    seq: u64,
    /// The debt positions pagoPA's GPD holds, for ASYNC notifications.
    gpd: crate::domain::gpd::Gpd,
    downtimes: crate::domain::downtime::Downtimes,
    /// The io instant (wall time plus jumps, in ms) stamped on the events emitted now: stream
    /// events expire on it, as they live 7 real days even in UAT.
    io_ms: i64,
}

/// The mock's whole state.
pub struct Store {
    state: Mutex<State>,
    rng: Mutex<StdRng>,
    pub clock: Arc<VirtualClock>,
    pub enti: Vec<EnteProfile>,
    pub scripts: ScriptLibrary,
    files_dir: PathBuf,
    wake: Notify,
    calls: Mutex<(
        u64,
        HashMap<EnteId, std::collections::VecDeque<send_checklist::Call>>,
    )>,
    /// Where changes go with `--data-dir`; unset in memory (and while replaying). Set once,
    /// so whether there is one is read without a lock on every change.
    journal: std::sync::OnceLock<Mutex<journal::Journal>>,
    journal_errors: AtomicU64,
    /// Whether a platform downtime is open: read without a lock by every request.
    any_downtime: std::sync::atomic::AtomicBool,
    /// Rendered answers per (notification, variant), reused while the notification is unchanged.
    rendered: Mutex<HashMap<(Iun, u8), (RenderStamp, bytes::Bytes)>>,
    /// Signs the presigned storage URLs; keyed by the data dir's seed when durable.
    presigner: std::sync::RwLock<Presigner>,
}

/// What a rendered answer depends on: a notification changes only by growing its timeline or
/// being asked to cancel.
type RenderStamp = (usize, bool);

/// Rendered answers kept at most (about 10 KiB each).
const RENDER_CACHE: usize = 4096;

/// Calls kept per Ente for the checklist.
pub const MAX_CALLS: usize = 50_000;

fn random_hex(rng: &mut impl Rng, bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

impl Store {
    pub fn new(
        clock: Arc<VirtualClock>,
        enti: Vec<EnteProfile>,
        scripts: ScriptLibrary,
        files_dir: PathBuf,
    ) -> Self {
        Store {
            state: Mutex::new(State::default()),
            rng: Mutex::new(StdRng::from_os_rng()),
            clock,
            enti,
            scripts,
            files_dir,
            calls: Mutex::new((0, HashMap::new())),
            wake: Notify::new(),
            journal: std::sync::OnceLock::new(),
            journal_errors: AtomicU64::new(0),
            any_downtime: Default::default(),
            rendered: Mutex::new(HashMap::new()),
            presigner: std::sync::RwLock::new(Presigner::from_seed(rand::random())),
        }
    }

    /// What signs and checks the presigned storage URLs.
    pub fn presigner(&self) -> Presigner {
        self.presigner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// An answer about notification `iun` of `ente` (`variant` tells apart the API versions),
    /// rendered by `render` once and reused until the notification changes. `check` decides
    /// whether the caller may see it. `None` when there is no such notification.
    pub fn rendered<E>(
        &self,
        ente: EnteId,
        iun: &Iun,
        variant: u8,
        check: impl FnOnce(&Notification) -> Result<(), E>,
        render: impl FnOnce(&Notification) -> bytes::Bytes,
    ) -> Option<Result<bytes::Bytes, E>> {
        let mut st = self.lock();
        self.fire_due_locked(&mut st, self.clock.now());
        let n = st.notifications.get(iun).filter(|n| n.ente == ente)?;
        if let Err(e) = check(n) {
            return Some(Err(e));
        }
        let stamp = (n.timeline.len(), n.cancel_requested);
        let key = (iun.clone(), variant);
        {
            let cache = self.rendered.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((s, b)) = cache.get(&key)
                && *s == stamp
            {
                return Some(Ok(b.clone()));
            }
        }
        let n = n.clone();
        drop(st);
        let bytes = render(&n);
        let mut cache = self.rendered.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= RENDER_CACHE {
            cache.clear();
        }
        cache.insert(key, (stamp, bytes.clone()));
        Some(Ok(bytes))
    }

    /// Appends `op()` to the journal, if there is one. Callers hold the lock that orders the
    /// change (the state's or the call log's), so the journal's order is the order applied.
    /// `op` is only built when there is a journal: in memory, every recorded call would
    /// otherwise be copied for nothing.
    fn log(&self, at: DateTime<Utc>, op: impl FnOnce() -> journal::Op) {
        self.log_io(at, self.clock.io_time(), op);
    }

    /// [`Store::log`] with the io instant the change used, for a change that keeps one (an
    /// expiry): read after the append, it would differ from the journaled one by the append's
    /// own time, and a replay would move the expiry.
    fn log_io(&self, at: DateTime<Utc>, io: Duration, op: impl FnOnce() -> journal::Op) {
        let Some(j) = self.journal.get() else {
            return;
        };
        let mut j = j.lock().unwrap_or_else(|p| p.into_inner());
        let io_ms = Some(io.num_milliseconds());
        if let Err(e) = j.append(&journal::Entry {
            at,
            io_ms,
            op: op(),
        }) {
            self.journal_errors.fetch_add(1, Ordering::SeqCst);
            tracing::error!(error = %e, "a change could not be persisted");
        }
    }

    /// The io instant to 1 ms, as the journal keeps it: what is computed from it comes back
    /// the same after a restart.
    fn io_instant(&self) -> Duration {
        Duration::milliseconds(self.clock.io_time().num_milliseconds())
    }

    /// [`Store::log`] at the clock's current instant, read only when there is a journal.
    fn log_now(&self, op: impl FnOnce() -> journal::Op) {
        if self.journal.get().is_some() {
            self.log(self.clock.now(), op);
        }
    }

    /// How many changes could not be persisted so far (HTTP answers 503 when this grows).
    pub fn journal_errors(&self) -> u64 {
        self.journal_errors.load(Ordering::SeqCst)
    }

    /// Makes the store durable in `dir`: replays what the journal holds, then journals every
    /// change. Returns the number of ops replayed.
    pub fn open_journal(&self, dir: &Path) -> Result<usize, journal::JournalError> {
        if self.journal.get().is_some() {
            return Err(journal::JournalError::AlreadyOpen {
                dir: dir.to_path_buf(),
            });
        }
        let enti: Vec<String> = self.enti.iter().map(|e| e.tax_id.clone()).collect();
        let seed = rand::random::<u64>();
        let (j, meta, entries) = journal::Journal::open(dir, &enti, seed, MAX_CALLS)?;
        self.lock().rng = SeededRng(StdRng::seed_from_u64(meta.seed));
        // URLs handed out before a restart stay valid after it.
        *self.presigner.write().unwrap_or_else(|p| p.into_inner()) =
            Presigner::from_seed(meta.seed);
        let n = entries.len();
        let mut last = None;
        for e in entries {
            self.clock.pin(Some(e.at));
            // Ops of earlier builds carry no io instant: io time then runs as it does now.
            self.clock
                .pin_io(e.io_ms.map(chrono::Duration::milliseconds));
            self.apply(e.op);
            last = Some(self.clock.now());
        }
        self.clock.pin(None);
        self.clock.pin_io(None);
        if let Some(at) = last {
            self.clock.resume_at(at);
        }
        // Unset until here (checked above), so the replay just done was not journaled again.
        let _ = self.journal.set(Mutex::new(j));
        Ok(n)
    }

    /// Re-applies one journaled op (the clock is pinned at its instant).
    fn apply(&self, op: journal::Op) {
        use journal::Op;
        let iun = |s: &str| Iun::parse(s).ok();
        match op {
            Op::Preload { ente, items } => {
                self.preload(ente, &items);
            }
            Op::Upload { key, version } => self.record_upload(&key, version),
            Op::Grant {
                ente,
                target,
                retry_after_first,
                id,
            } => {
                self.grant(ente, target, retry_after_first, &id);
            }
            Op::Submit {
                ente,
                version,
                body,
            } => match crate::domain::request::parse(version, &body) {
                Ok(req) => {
                    let _ = self.submit(ente, version, req, &body);
                }
                Err(e) => tracing::warn!(?e, "a journaled request no longer parses"),
            },
            Op::Cancel { ente, iun: i } => {
                if let Some(i) = iun(&i) {
                    self.cancel(ente, &i);
                }
            }
            Op::Payments { ente, events } => {
                let _ = self.payment_events(ente, &events);
            }
            Op::AddPosition { position } => self.add_position(position),
            Op::Downtime {
                functionality,
                ko,
                timestamp,
            } => {
                let _ = self.downtime_event(functionality, ko, timestamp);
            }
            Op::F24Payments { ente, events } => {
                let _ = self.f24_payment_events(ente, &events);
            }
            Op::PinScript { ente, script } => {
                let _ = self.pin_next_script(ente, &script);
            }
            Op::View { ente, iun: i, rec } => {
                if let Some(i) = iun(&i) {
                    self.view(ente, &i, rec);
                }
            }
            Op::Advance { micros } => {
                self.advance(Duration::microseconds(micros));
            }
            Op::Fire => self.fire_due(self.clock.now()),
            Op::CreateStream {
                ente,
                version,
                spec,
                replaced,
            } => {
                let _ = self.create_stream(ente, version, spec, replaced);
            }
            Op::UpdateStream {
                ente,
                version,
                id,
                spec,
            } => {
                let _ = self.update_stream(ente, version, &id, spec);
            }
            Op::DeleteStream { ente, version, id } => {
                let _ = self.delete_stream(ente, version, &id);
            }
            Op::DisableStream { ente, version, id } => {
                let _ = self.disable_stream(ente, version, &id);
            }
            Op::Consume {
                ente,
                version,
                id,
                last_event_id,
                expired_through,
            } => {
                let pacing = streams::Pacing {
                    interval_ms: 0,
                    strict: false,
                };
                let _ = self.consume_expiring(
                    ente,
                    version,
                    &id,
                    last_event_id,
                    pacing,
                    streams::Expiry::Through(expired_through),
                );
            }
            Op::Record { ente, call } => self.record(ente, *call),
            Op::ClearCalls { ente } => self.clear_calls(ente),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-written in a way later
        // requests would trip on more than the original error, so keep serving.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn random_token(&self, bytes: usize) -> String {
        random_hex(
            &mut *self.rng.lock().unwrap_or_else(|p| p.into_inner()),
            bytes,
        )
    }

    pub fn files_dir(&self) -> &Path {
        &self.files_dir
    }

    /// Wakes the ticker (after new work was scheduled or the clock jumped).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    // ---------------------------------------------------------------- files

    /// Creates upload slots; returns (preloadIdx, secret, key) per item.
    pub fn preload(&self, ente: EnteId, items: &[(String, String, String)]) -> Vec<UploadSlot> {
        let now = self.clock.now();
        let io = self.io_instant();
        let mut out = Vec::new();
        let mut st = self.lock();
        self.log_io(now, io, || journal::Op::Preload {
            ente,
            items: items.to_vec(),
        });
        for (idx, content_type, sha) in items {
            let (prefix, ext) = if content_type == "application/json" {
                ("PN_F24_META", "json")
            } else {
                ("PN_NOTIFICATION_ATTACHMENTS", "pdf")
            };
            let key = format!("{prefix}-{}.{ext}", st.rng.hex(16));
            let slot = UploadSlot {
                key: key.clone(),
                ente,
                preload_idx: idx.clone(),
                secret: st.rng.hex(16),
                content_type: content_type.clone(),
                sha256: sha.clone(),
                created_at: now,
                expires_io: io + files::URL_VALIDITY,
                versions: vec![],
                referenced: false,
            };
            st.files.slots.insert(key, slot.clone());
            out.push(slot);
        }
        out
    }

    pub fn slot(&self, key: &str) -> Option<UploadSlot> {
        self.lock().files.slots.get(key).cloned()
    }

    pub fn record_upload(&self, key: &str, version: StoredVersion) {
        let mut st = self.lock();
        self.log(version.uploaded_at, || journal::Op::Upload {
            key: key.to_string(),
            version: version.clone(),
        });
        if let Some(slot) = st.files.slots.get_mut(key) {
            slot.versions.push(version);
        }
    }

    /// A time-limited URL token for a file; `None` when `retry_after_first` holds it back once.
    pub fn grant(
        &self,
        ente: EnteId,
        target: DownloadTarget,
        retry_after_first: bool,
        id: &str,
    ) -> Option<String> {
        let io = self.io_instant();
        let mut st = self.lock();
        self.log_io(self.clock.now(), io, || journal::Op::Grant {
            ente,
            target: target.clone(),
            retry_after_first,
            id: id.to_string(),
        });
        if retry_after_first && st.asked_once.insert(id.to_string()) {
            return None;
        }
        let token = st.rng.hex(20);
        st.grants.insert(
            token.clone(),
            Grant {
                ente,
                target,
                expires_io: io + files::URL_VALIDITY,
            },
        );
        Some(token)
    }

    /// The Ente that owns a notification or a stream (for spotting cross-Ente calls).
    pub fn owner_of(&self, iun_or_stream: &str) -> Option<EnteId> {
        let st = self.lock();
        if let Ok(iun) = Iun::parse(iun_or_stream) {
            return st.notifications.get(&iun).map(|n| n.ente);
        }
        st.streams.get(iun_or_stream).map(|s| s.ente)
    }

    /// The Ente whose API key is `key`.
    pub fn ente_with_key(&self, key: &str) -> Option<EnteId> {
        self.enti
            .iter()
            .position(|e| e.api_key.expose() == key)
            .map(EnteId::new)
    }

    /// The profile of Ente `id`.
    pub fn ente(&self, id: EnteId) -> &EnteProfile {
        &self.enti[id.index()]
    }

    /// The Ente a download token was granted to.
    pub fn grant_owner(&self, token: &str) -> Option<EnteId> {
        self.lock().grants.get(token).map(|g| g.ente)
    }

    /// Records a call an Ente made (for the client checklist). The log keeps the most recent
    /// `MAX_CALLS` calls per Ente.
    pub fn record(&self, ente: EnteId, mut call: send_checklist::Call) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        // Ids are journaled: a compacted journal replays fewer calls, under the same ids.
        call.id = if call.id == 0 { calls.0 + 1 } else { call.id };
        calls.0 = calls.0.max(call.id);
        self.log_now(|| journal::Op::Record {
            ente,
            call: Box::new(call.clone()),
        });
        let log = calls.1.entry(ente).or_default();
        if log.len() >= MAX_CALLS {
            log.pop_front();
        }
        log.push_back(call);
    }

    /// The calls `ente` made, and every Ente's price calls (the creditor may ask a sender's price).
    pub fn calls_for_checklist(&self, ente: EnteId) -> Vec<send_checklist::Call> {
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<_> = calls
            .1
            .get(&ente)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default();
        for (other, log) in calls.1.iter().filter(|(e, _)| **e != ente) {
            let _ = other;
            out.extend(
                log.iter()
                    .filter(|c| matches!(c.op(), send_checklist::Op::Price { .. }))
                    .cloned(),
            );
        }
        out.sort_by_key(|c| c.id);
        out
    }

    pub fn clear_calls(&self, ente: EnteId) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        self.log_now(|| journal::Op::ClearCalls { ente });
        calls.1.remove(&ente);
    }

    /// What a download token serves, if still valid.
    pub fn redeem(&self, token: &str) -> Option<DownloadTarget> {
        let st = self.lock();
        let g = st.grants.get(token)?;
        (g.expires_io > self.clock.io_time()).then(|| g.target.clone())
    }

    // ---------------------------------------------------------------- notifications

    /// Registers an accepted-for-validation request (HTTP 202) or reports conflicts (409).
    /// `body` is the request as received, journaled so a restart parses it again.
    pub fn submit(
        &self,
        ente: EnteId,
        version: RequestVersion,
        request: NotificationRequest,
        body: &Value,
    ) -> Result<Iun, Conflicts> {
        let now = self.clock.now();
        let sender = &self.ente(ente).tax_id;
        let mut st = self.lock();
        self.log(now, || journal::Op::Submit {
            ente,
            version,
            body: body.clone(),
        });
        let token = request.idempotence_token.clone().unwrap_or_default();
        let mut conflicts = Vec::new();
        if st
            .by_protocol
            .contains_key(&(ente, request.pa_protocol_number.clone(), token.clone()))
        {
            conflicts.push((
                "Duplicated notification for senderPaId##paProtocolNumber##idempotenceToken"
                    .to_string(),
                format!(
                    "senderPaId##paProtocolNumber##idempotenceToken={sender}##{}##{token}",
                    request.pa_protocol_number
                ),
            ));
        }
        for (_, p) in request.pago_pa_payments() {
            let k = (p.creditor_tax_id.clone(), p.notice_code.to_string());
            if st.by_iuv.contains_key(&k) {
                conflicts.push((
                    "Duplicated notification for creditorTaxId##noticeCode".to_string(),
                    format!("creditorTaxId##noticeCode={}##{}", k.0, k.1),
                ));
            }
        }
        if !conflicts.is_empty() {
            return Err(conflicts);
        }
        let iun = loop {
            let iun = crate::domain::iun::generate(&mut st.rng.0, now);
            if !st.notifications.contains_key(&iun) {
                break iun;
            }
        };
        st.by_protocol.insert(
            (ente, request.pa_protocol_number.clone(), token),
            iun.clone(),
        );
        for (_, p) in request.pago_pa_payments() {
            st.by_iuv.insert(
                (p.creditor_tax_id.clone(), p.notice_code.to_string()),
                iun.clone(),
            );
        }
        let recipients = request.recipients.len();
        let pinned_script = st.pinned.remove(&ente);
        st.notifications.insert(
            iun.clone(),
            Box::new(Notification {
                iun: iun.clone(),
                ente,
                version,
                request,
                sent_at: now,
                timeline: vec![],
                tracker: StatusTracker::new(recipients, now),
                runs: vec![],
                refusal: None,
                cancel_requested: false,
                pinned_script,
                submitted_io_ms: self.clock.io_time().num_milliseconds(),
            }),
        );
        let first = st.notifications[&iun].first_job();
        st.schedule_job(first.0, &iun, first.1);
        drop(st);
        self.wake();
        Ok(iun)
    }

    /// The notification `iun` if it belongs to `ente`.
    pub fn notification(&self, ente: EnteId, iun: &Iun) -> Option<Notification> {
        self.fire_due(self.clock.now());
        self.lock()
            .notifications
            .get(iun)
            .filter(|n| n.ente == ente)
            .map(|n| Notification::clone(n))
    }

    pub fn request_status(&self, ente: EnteId, lookup: &RequestLookup) -> Option<Notification> {
        self.fire_due(self.clock.now());
        let st = self.lock();
        let iun = match lookup {
            RequestLookup::ById(id) => Iun::from_request_id(id)?,
            RequestLookup::ByProtocol { protocol, token } => st
                .by_protocol
                .get(&(ente, protocol.clone(), token.clone()))?
                .clone(),
        };
        st.notifications
            .get(&iun)
            .filter(|n| n.ente == ente)
            .map(|n| Notification::clone(n))
    }

    pub fn legal_fact(&self, key: &str) -> Option<LegalFactRecord> {
        let st = self.lock();
        let (key, fact) = st.legal_facts.get_key_value(key)?;
        self.fact_record(&st, key, fact)
    }

    /// Legal facts of a notification in timeline order (AARs excluded).
    pub fn legal_facts_of(&self, n: &Notification) -> Vec<LegalFactRecord> {
        let st = self.lock();
        n.timeline
            .iter()
            .flat_map(|e| e.legal_facts.iter())
            .filter_map(|l| {
                let key = l.key.trim_start_matches("safestorage://");
                let (key, fact) = st.legal_facts.get_key_value(key)?;
                self.fact_record(&st, key, fact)
            })
            .collect()
    }

    /// A legal fact's document, written from its notification and element.
    fn fact_record(&self, st: &State, key: &str, fact: &FactRef) -> Option<LegalFactRecord> {
        let n = st.notifications.get(&fact.iun)?;
        let ente = self.ente(n.ente);
        let sender = Sender {
            name: &ente.name,
            tax_id: &ente.tax_id,
        };
        LegalFactRecord::of(n, sender, key, fact.element, fact.kind, fact.rec_index)
    }

    pub fn cancel(&self, ente: EnteId, iun: &Iun) -> Option<CancelOutcome> {
        let now = self.clock.now();
        self.fire_due(now);
        let mut st = self.lock();
        self.log(now, || journal::Op::Cancel {
            ente,
            iun: iun.to_string(),
        });
        let outcome = st.step(iun, Some(ente), |n, rng| {
            Some(engine::request_cancellation(n, now, rng))
        })?;
        drop(st);
        self.wake();
        Some(outcome)
    }

    /// The price of the notice `creditor`/`notice`, for any Ente (SEND's documented exception).
    pub fn price(&self, creditor: &str, notice: &str) -> Result<PriceView, PriceError> {
        self.fire_due(self.clock.now());
        let st = self.lock();
        let iun = st
            .by_iuv
            .get(&(creditor.to_string(), notice.to_string()))
            .ok_or(PriceError::NotFound)?;
        let n = st.notifications.get(iun).ok_or(PriceError::NotFound)?;
        engine::price_view(n, creditor, notice)
    }

    /// Records pagoPA payments the sender reports; `Err` lists notices no notification of
    /// this Ente carries.
    pub fn payment_events(
        &self,
        ente: EnteId,
        events: &[(String, String, i64, DateTime<Utc>)],
    ) -> Result<(), Vec<String>> {
        let now = self.clock.now();
        self.fire_due(now);
        let mut st = self.lock();
        self.log(now, || journal::Op::Payments {
            ente,
            events: events.to_vec(),
        });
        let mut missing = Vec::new();
        let mut found = Vec::new();
        for (notice, creditor, amount, at) in events {
            let hit = st
                .by_iuv
                .get(&(creditor.clone(), notice.clone()))
                .cloned()
                .filter(|iun| {
                    st.notifications
                        .get(iun)
                        .is_some_and(|n| n.ente == ente && n.accepted())
                });
            match hit {
                Some(iun) => found.push((iun, notice.clone(), creditor.clone(), *amount, *at)),
                None => missing.push(format!("creditorTaxId={creditor} noticeCode={notice}")),
            }
        }
        if !missing.is_empty() {
            return Err(missing);
        }
        st.io_ms = self.io_ms();
        for (iun, notice, creditor, amount, at) in found {
            let Some(n) = st.notifications.get(&iun) else {
                continue;
            };
            let Some((rec, _)) = n
                .request
                .pago_pa_payments()
                .find(|(_, p)| p.creditor_tax_id == creditor && p.notice_code.as_str() == notice)
            else {
                continue;
            };
            let paid = engine::Paid::PagoPa {
                notice: &notice,
                creditor: &creditor,
            };
            let n = st.notifications.get_mut(&iun).expect("looked up above");
            let changes = engine::record_payment(n, rec, paid, amount, at, now);
            st.apply(&iun, changes);
        }
        Ok(())
    }

    /// Records F24 payments the sender reports, by IUN and recipient; `Err` lists the events
    /// that name no accepted notification of this Ente with such a recipient.
    pub fn f24_payment_events(
        &self,
        ente: EnteId,
        events: &[F24Payment],
    ) -> Result<(), Vec<String>> {
        let now = self.clock.now();
        self.fire_due(now);
        let mut st = self.lock();
        self.log(now, || journal::Op::F24Payments {
            ente,
            events: events.to_vec(),
        });
        let mut found = vec![];
        let mut missing = vec![];
        for e in events {
            let hit = Iun::parse(&e.iun).ok().and_then(|iun| {
                let n = st
                    .notifications
                    .get(&iun)
                    .filter(|n| n.ente == ente && n.accepted())?;
                let rec = n.request.recipients.iter().position(|r| {
                    r.tax_id.as_str() == e.recipient_tax_id
                        && r.recipient_type.as_str() == e.recipient_type
                })?;
                Some((iun, rec))
            });
            match hit {
                Some(h) => found.push((h, e)),
                None => missing.push(format!(
                    "iun={} recipientTaxId={} recipientType={}",
                    e.iun, e.recipient_tax_id, e.recipient_type
                )),
            }
        }
        if !missing.is_empty() {
            return Err(missing);
        }
        st.io_ms = self.io_ms();
        for ((iun, rec), e) in found {
            let Some(n) = st.notifications.get_mut(&iun) else {
                continue;
            };
            let changes =
                engine::record_payment(n, rec, engine::Paid::F24, e.amount, e.paid_at, now);
            st.apply(&iun, changes);
        }
        Ok(())
    }

    /// Puts a debt position on pagoPA's GPD (as an Ente's pagoPA integration would).
    pub fn add_position(&self, position: crate::config::DebtPosition) {
        let mut st = self.lock();
        self.log_now(|| journal::Op::AddPosition {
            position: position.clone(),
        });
        st.gpd.add(position);
    }

    /// `functionality` goes KO (`ko`) or OK again at `at` (SEND's PnStatusUpdateEvent); answers
    /// the downtime opened or resolved.
    pub fn downtime_event(
        &self,
        functionality: Functionality,
        ko: bool,
        at: DateTime<Utc>,
    ) -> Result<Downtime, DowntimeError> {
        let mut st = self.lock();
        let d = if ko {
            st.downtimes.open(functionality, at)?.clone()
        } else {
            st.downtimes.close(functionality, at)?.clone()
        };
        self.any_downtime
            .store(!st.downtimes.open_incidents().is_empty(), Ordering::SeqCst);
        self.log_now(|| journal::Op::Downtime {
            functionality,
            ko,
            timestamp: at,
        });
        Ok(d)
    }

    /// Whether some functionality is down now (no lock taken).
    pub fn any_downtime_open(&self) -> bool {
        self.any_downtime.load(Ordering::SeqCst)
    }

    /// Reads the platform's downtimes.
    pub fn downtimes<R>(&self, read: impl FnOnce(&Downtimes) -> R) -> R {
        read(&self.lock().downtimes)
    }

    /// The PDF of a resolved downtime's legal fact.
    pub fn downtime_legal_fact(&self, id: &str) -> Option<Vec<u8>> {
        let lines = self.downtimes(|d| {
            d.by_legal_fact(id)
                .map(crate::domain::downtime::legal_fact_lines)
        })?;
        Some(crate::domain::pdf::render(
            "Attestazione opponibile a terzi: malfunzionamento e ripristino",
            &lines,
        ))
    }

    /// The debt positions of the Enti file, known from the start.
    pub fn set_positions(&self, positions: Vec<crate::config::DebtPosition>) {
        let mut st = self.lock();
        for p in positions {
            st.gpd.add(p);
        }
    }

    /// Pins `script` for every recipient of the next notification `ente` sends.
    pub fn pin_next_script(&self, ente: EnteId, script: &str) -> Result<(), Vec<String>> {
        if self.scripts.by_name(script).is_none() {
            return Err(self.scripts.names());
        }
        let mut st = self.lock();
        self.log_now(|| journal::Op::PinScript {
            ente,
            script: script.to_string(),
        });
        st.pinned.insert(ente, script.to_string());
        Ok(())
    }

    /// The recipient `rec` reads the notification now (SEND's NOTIFICATION_VIEWED).
    pub fn view(&self, ente: EnteId, iun: &Iun, rec: usize) -> Option<ViewOutcome> {
        let now = self.clock.now();
        self.fire_due(now);
        let mut st = self.lock();
        self.log(now, || journal::Op::View {
            ente,
            iun: iun.to_string(),
            rec,
        });
        st.io_ms = self.io_ms();
        st.step(iun, Some(ente), |n, rng| engine::view(n, rec, now, rng))
    }

    /// Jumps the clock forward and fires everything that became due, in order.
    pub fn advance(&self, by: Duration) -> DateTime<Utc> {
        let mut st = self.lock();
        self.log_now(|| journal::Op::Advance {
            micros: by.num_microseconds().unwrap_or(i64::MAX),
        });
        // What was already due fires before the jump; what the jump makes due, within it.
        let before = self.clock.now();
        self.fire_until(&mut st, before, None);
        let io_before = self.io_ms();
        let now = self.clock.advance(by);
        self.fire_until(&mut st, now, Some((before, io_before)));
        drop(st);
        self.wake();
        now
    }

    /// Virtual instant of the next scheduled work.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.lock().schedule.peek().map(|Reverse(d)| d.at)
    }

    /// Runs every job due at or before `now`, each at its own due instant.
    pub fn fire_due(&self, now: DateTime<Utc>) {
        self.fire_due_locked(&mut self.lock(), now);
    }

    /// [`Store::fire_due`] for a caller that already holds the state's lock.
    fn fire_due_locked(&self, st: &mut State, now: DateTime<Utc>) {
        self.fire_until(st, now, None);
    }

    /// The clock's io instant in milliseconds.
    fn io_ms(&self) -> i64 {
        self.clock.io_time().num_milliseconds()
    }

    /// Runs the work due at or before `now`. Each job's events are stamped with the io instant
    /// it ran at: now, or, for work a jump made due (`jump`: the virtual and io instants the
    /// jump started from), where in the jump it fell, since a jump moves both clocks alike.
    fn fire_until(&self, st: &mut State, now: DateTime<Utc>, jump: Option<(DateTime<Utc>, i64)>) {
        if st.schedule.peek().is_none_or(|Reverse(d)| d.at > now) {
            return;
        }
        self.log(now, || journal::Op::Fire);
        let io_now = self.io_ms();
        while st.schedule.peek().is_some_and(|Reverse(d)| d.at <= now) {
            let Some(Reverse(due)) = st.schedule.pop() else {
                break;
            };
            st.io_ms = match jump {
                Some((from, io_from)) => {
                    (io_from + (due.at - from).num_milliseconds().max(0)).min(io_now)
                }
                None => io_now,
            };
            st.run_job(&self.scripts, &due.iun, due.job, due.at);
        }
    }

    /// Events emitted after `after_seq`, for the streams.
    pub fn events_since(&self, after_seq: u64) -> Vec<events::EmittedEvent> {
        let st = self.lock();
        st.events
            .events
            .iter()
            .skip(after_seq as usize)
            .cloned()
            .collect()
    }
}

impl State {
    fn schedule_job(&mut self, at: DateTime<Utc>, iun: &Iun, job: Job) {
        self.seq += 1;
        self.schedule.push(Reverse(Due {
            at,
            seq: self.seq,
            iun: iun.clone(),
            job,
        }));
    }

    /// Applies what an engine step did to `iun`: indexes its legal facts, logs and streams
    /// its events, schedules its jobs.
    fn apply(&mut self, iun: &Iun, changes: Changes) {
        let Some(ente) = self.notifications.get(iun).map(|n| n.ente) else {
            return;
        };
        for a in changes.appended {
            for f in a.facts {
                let fact = FactRef {
                    iun: iun.clone(),
                    element: a.index,
                    kind: f.kind,
                    rec_index: f.rec_index,
                };
                self.legal_facts.insert(f.key.into_boxed_str(), fact);
            }
            let seq = self
                .events
                .push(ente, iun, a.index, a.status_after, a.new_status);
            self.dispatch(seq, ente, iun, a.category, a.status_after, a.new_status);
        }
        for (at, job) in changes.jobs {
            self.schedule_job(at, iun, job);
        }
    }

    /// Runs an engine step on the notification `iun` (only if it is `of`'s, when given) with
    /// the store's random draws, and applies what it changed; `None` when there is no such
    /// notification or the step did nothing.
    fn step<R>(
        &mut self,
        iun: &Iun,
        of: Option<EnteId>,
        f: impl FnOnce(&mut Notification, &mut SeededRng) -> Option<(R, Changes)>,
    ) -> Option<R> {
        let State {
            notifications, rng, ..
        } = self;
        let n = notifications
            .get_mut(iun)
            .filter(|n| of.is_none_or(|e| n.ente == e))?;
        let (r, changes) = f(n, rng)?;
        self.apply(iun, changes);
        Some(r)
    }

    /// Runs `job` on `iun` at `at`.
    fn run_job(&mut self, library: &ScriptLibrary, iun: &Iun, job: Job, at: DateTime<Utc>) {
        let Some(n) = self.notifications.get(iun) else {
            return;
        };
        match job {
            Job::Validate => {
                let reasons = self.refusal_reasons(n);
                self.step(iun, None, |n, _| {
                    Some(((), engine::validate(n, reasons, at)))
                });
                if self.notifications[iun].status() == Status::REFUSED {
                    self.release_notice_codes(iun);
                }
            }
            Job::Accept => {
                // Its files are kept from now on (SEND deletes only files no notification
                // references).
                for a in n.request.attachments() {
                    if let Some(slot) = self.files.slots.get_mut(a.file_ref.bare_key()) {
                        slot.referenced = true;
                    }
                }
                let scripts = engine::choose_scripts(n, library);
                self.step(iun, None, |n, rng| {
                    Some(((), engine::accept(n, scripts, at, rng)))
                });
            }
            Job::Recipient(rec) => {
                self.step(iun, None, |n, rng| {
                    Some(((), engine::run_step(n, rec, at, rng)))
                });
            }
            Job::CompleteCancellation => {
                self.step(iun, None, |n, rng| {
                    Some(((), engine::complete_cancellation(n, at, rng)))
                });
            }
        }
    }

    /// A refused notification frees its notice codes for another send.
    fn release_notice_codes(&mut self, iun: &Iun) {
        let Some(n) = self.notifications.get(iun) else {
            return;
        };
        for (_, p) in n.request.pago_pa_payments() {
            let k = (p.creditor_tax_id.clone(), p.notice_code.to_string());
            if self.by_iuv.get(&k) == Some(iun) {
                self.by_iuv.remove(&k);
            }
        }
    }

    fn refusal_reasons(&self, n: &Notification) -> Vec<RefusalReason> {
        let uploads = EnteUploads {
            files: &self.files,
            ente: n.ente,
        };
        refusal::refusal_reasons(&n.request, n.submitted_io_ms, &uploads, &self.gpd)
    }
}

/// One Ente's uploads, as validation asks for them.
struct EnteUploads<'a> {
    files: &'a files::Files,
    ente: EnteId,
}

impl EnteUploads<'_> {
    /// The slot of `key`, if this Ente preloaded it.
    fn slot(&self, key: &str) -> Option<&UploadSlot> {
        self.files.slots.get(key).filter(|s| s.ente == self.ente)
    }
}

impl refusal::Uploads for EnteUploads<'_> {
    fn lookup(&self, key: &str, token: &str) -> refusal::Upload {
        let Some(slot) = self.slot(key) else {
            return refusal::Upload::NoSlot;
        };
        match slot.version(token) {
            Some(v) => refusal::Upload::Found(refusal::UploadedVersion {
                sha256: v.sha256.clone(),
                is_pdf: v.is_pdf,
                uploaded_io_ms: v.uploaded_io_ms,
                referenced: slot.referenced,
            }),
            None => refusal::Upload::NoVersion {
                last: slot.versions.last().map(|l| l.version_id.clone()),
            },
        }
    }

    fn holds_json_object(&self, key: &str, token: &str) -> bool {
        self.slot(key)
            .and_then(|s| s.version(token))
            .and_then(|v| std::fs::read(&v.path).ok())
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|j| j.is_object())
    }
}
