//! The scenario state (one World per scenario) and the run context every World shares.

use crate::client::SendClient;
use crate::profile::EnteProfile;
use crate::steps::error::{StepError, StepResult};
use crate::target::{Target, Timing};
use send_wire::iun::Iun;
use send_wire::notification::{
    NewNotificationRequest, StatusHistoryElement, StreamEvent, TimelineElement,
};
use send_wire::timeline::{Category, Known, Status};
use send_wire::values::{NoticeCode, Sha256};
use send_wire::{LegalFactsId, NotificationPriceResponseV23};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What every scenario of one Ente's run shares.
pub struct RunContext {
    pub profile: EnteProfile,
    pub target: Target,
    pub client: SendClient,
    /// The creditor of TC-COSTO-01 scenario 2, when its key is known.
    pub creditor: Option<SendClient>,
    pub timing: Timing,
    pub evidence: Mutex<Evidence>,
    /// The run's id, in every file it writes.
    pub run_id: String,
}

/// What a run observed, for the report: per scenario, the ids and facts it produced.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    pub scenarios: BTreeMap<String, ScenarioEvidence>,
    /// Files downloaded and verified: (scenario, file name, bytes).
    #[serde(skip)]
    pub files: Vec<(String, String, Vec<u8>)>,
}

/// Everything a scenario produced and read. SEND's own answers are kept typed, and each writes
/// back exactly what SEND sent (the wire types keep what they do not interpret).
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioEvidence {
    /// The requests sent (documents by key and sha256, recipients, payments): what PagoPA's
    /// alternative evidence calls "the metadata used to create the notification".
    pub requests: Vec<NewNotificationRequest>,
    pub notification_request_ids: Vec<String>,
    pub iuns: Vec<String>,
    pub status_history: Vec<StatusHistoryElement>,
    pub timeline: Vec<TimelineElement>,
    pub stream_events: Vec<SeenEvent>,
    pub legal_facts: Vec<DownloadedFact>,
    pub documents: Vec<DownloadedDocument>,
    pub prices: Vec<PriceRead>,
    pub notes: Vec<String>,
}

/// A stream event the scenario read: which stream, its id, and what it said.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeenEvent {
    /// The stream's eventType (TIMELINE or STATUS).
    pub stream: String,
    pub event_id: String,
    pub category: Option<Known<Category>>,
    pub new_status: Option<Known<Status>>,
    pub timestamp: Option<String>,
}

/// The checks a downloaded file passed: `sha256`, `contentLength`, `pdf`.
pub type Verified = Vec<&'static str>;

/// A legal fact downloaded, with where it is kept among the evidence files.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadedFact {
    pub category: String,
    /// Its key, without `safestorage://`.
    pub key: String,
    pub filename: String,
    pub sha256: Sha256,
    pub size: usize,
    pub file: String,
    pub verified: Verified,
}

/// A notification's document, pagoPA form or AAR downloaded.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadedDocument {
    pub name: String,
    pub filename: String,
    pub sha256: Sha256,
    pub size: usize,
    pub file: String,
    pub verified: Verified,
    /// Whether it was checked to be the very file uploaded (not said of the AAR, which SEND
    /// writes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_as_uploaded: Option<bool>,
}

/// A price read, and who read it (the sender, or the creditor of scenario 2).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceRead {
    pub read_by: &'static str,
    pub creditor_tax_id: String,
    pub notice_code: NoticeCode,
    pub price: NotificationPriceResponseV23,
}

impl ScenarioEvidence {
    /// Every legal fact the timeline references: (element, legalFactsId, key without
    /// `safestorage://`).
    pub fn timeline_facts(&self) -> impl Iterator<Item = (&TimelineElement, &LegalFactsId, &str)> {
        self.timeline.iter().flat_map(|el| {
            el.legal_facts()
                .iter()
                .map(move |lf| (el, lf, lf.key.trim_start_matches("safestorage://")))
        })
    }

    /// The legal fact downloaded under `key` (bare), if it was.
    pub fn downloaded_fact(&self, key: &str) -> Option<&DownloadedFact> {
        self.legal_facts.iter().find(|d| d.key == key)
    }
}

thread_local! {
    // A run's Cucumber future is not Send: it is driven on one thread from start to end, so
    // each run (one Ente) has its own context even when several run at once.
    static CONTEXT: RefCell<Option<Arc<RunContext>>> = const { RefCell::new(None) };
}

/// Makes `ctx` the context of the Worlds this thread creates from now on.
pub fn set_context(ctx: Option<Arc<RunContext>>) {
    CONTEXT.with(|c| *c.borrow_mut() = ctx);
}

fn context() -> std::io::Result<Arc<RunContext>> {
    CONTEXT.with(|c| c.borrow().clone()).ok_or_else(|| {
        std::io::Error::other("no run context: start a run with send_conformance::run")
    })
}

/// A file a scenario uploaded.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub key: send_wire::values::FileKey,
    pub version: String,
    pub sha256: Sha256,
    pub bytes: Vec<u8>,
}

/// A stream the scenario reads, and where it is in it.
#[derive(Debug, Clone)]
pub struct StreamHandle {
    pub id: String,
    pub event_type: String,
    pub last_event_id: Option<String>,
    pub next_read: Instant,
    pub events: Vec<StreamEvent>,
    pub reads: usize,
}

#[derive(cucumber::World)]
#[world(init = Self::new)]
pub struct SendWorld {
    pub ctx: Arc<RunContext>,
    /// `feature / scenario`, set by the before hook.
    pub scenario: String,
    pub uploads: BTreeMap<String, Uploaded>,
    pub request: Option<NewNotificationRequest>,
    pub request_id: Option<String>,
    pub iun: Option<Iun>,
    /// (creditorTaxId, noticeCode) of the notification's payment.
    pub notice: Option<(String, NoticeCode)>,
    pub streams: Vec<StreamHandle>,
}

impl std::fmt::Debug for SendWorld {
    // No keys, vouchers or documents: only what identifies the scenario's objects.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendWorld")
            .field("scenario", &self.scenario)
            .field("notificationRequestId", &self.request_id)
            .field("iun", &self.iun)
            .field("notice", &self.notice)
            .field(
                "streams",
                &self.streams.iter().map(|s| &s.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl SendWorld {
    async fn new() -> Result<Self, std::io::Error> {
        Ok(SendWorld {
            ctx: context()?,
            scenario: String::new(),
            uploads: BTreeMap::new(),
            request: None,
            request_id: None,
            iun: None,
            notice: None,
            streams: vec![],
        })
    }

    pub fn client(&self) -> &SendClient {
        &self.ctx.client
    }

    pub fn timing(&self) -> &Timing {
        &self.ctx.timing
    }

    /// Records evidence for this scenario.
    pub fn evidence(&self, f: impl FnOnce(&mut ScenarioEvidence)) {
        let mut e = self.ctx.evidence.lock().unwrap_or_else(|p| p.into_inner());
        f(e.scenarios.entry(self.scenario.clone()).or_default());
    }

    /// Keeps a downloaded file for `evidence/`; returns its path relative to the report.
    pub fn keep_file(&self, name: &str, bytes: Vec<u8>) -> String {
        let mut e = self.ctx.evidence.lock().unwrap_or_else(|p| p.into_inner());
        e.files
            .push((self.scenario.clone(), name.to_string(), bytes));
        crate::report::evidence::relative_path(name)
    }

    /// Starts this scenario's evidence afresh (a retry must not inherit a failed attempt's).
    pub fn reset_evidence(&self) {
        let mut e = self.ctx.evidence.lock().unwrap_or_else(|p| p.into_inner());
        e.scenarios.remove(&self.scenario);
        let scenario = self.scenario.clone();
        e.files.retain(|(s, _, _)| *s != scenario);
    }

    /// Keeps the IUN SEND assigned: for the later steps, and in the evidence.
    pub fn keep_iun(&mut self, iun: Iun) {
        self.evidence(|e| e.iuns.push(iun.to_string()));
        self.iun = Some(iun);
    }

    /// The file an earlier step uploaded under `name`.
    pub fn uploaded(&self, name: &str) -> StepResult<&Uploaded> {
        self.uploads
            .get(name)
            .ok_or_else(|| StepError::NotUploaded(name.to_string()))
    }

    pub fn iun(&self) -> StepResult<Iun> {
        self.iun.clone().ok_or(StepError::Earlier(
            "no IUN yet: the notification was not accepted in an earlier step",
        ))
    }

    /// Polls `probe` with a growing pause (capped by the target's poll interval, and by the
    /// wait SEND suggests) until it yields a value or the target's deadline passes.
    pub async fn poll<T, F, Fut>(&self, what: &str, mut probe: F) -> StepResult<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = StepResult<Poll<T>>>,
    {
        let t = self.timing();
        let deadline = Instant::now() + t.deadline;
        let mut pause = Duration::from_millis(20);
        loop {
            match probe().await? {
                Poll::Ready(v) => return Ok(v),
                Poll::Wait { suggested, seen } => {
                    if Instant::now() >= deadline {
                        return Err(StepError::Timeout {
                            what: what.to_string(),
                            within: t.describe(),
                            seen,
                        });
                    }
                    let wait = suggested
                        .unwrap_or(pause)
                        .min(t.max_poll)
                        .max(Duration::from_millis(5));
                    tokio::time::sleep(wait).await;
                    pause = (pause * 2).min(t.max_poll);
                }
            }
        }
    }
}

/// One poll's outcome.
pub enum Poll<T> {
    Ready(T),
    /// Not yet: SEND's suggested wait, and what was seen (for the failure message).
    Wait {
        suggested: Option<Duration>,
        seen: String,
    },
}

/// A secret-free description of the context, for logs.
impl std::fmt::Debug for RunContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunContext")
            .field("ente", &self.profile.name)
            .field("target", &self.target)
            .finish()
    }
}
