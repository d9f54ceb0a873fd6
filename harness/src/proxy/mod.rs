//! `send-conformance proxy`: the PT's own software talks to SEND (UAT or a mock) through this
//! proxy, which forwards every call unchanged, records it as a harness run records its own, and
//! judges the calls live with the mock's checklist engine. On finish (`POST
//! /_conformance/finish`, SIGINT or SIGTERM) it writes the Ente's report folder.
//!
//! Only presigned storage URLs in answers are changed: they point back to the proxy, which
//! forwards them to the storage host they named with the same path and query, so S3's
//! signatures stay valid (the `Host` is the original one).

mod forward;
mod page;
mod tee;

use crate::client::Secret;
use crate::client::transcript::Exchange;
use crate::profile::{EnteProfile, PagoPaIntMode};
use crate::report::i18n::Lang;
use crate::target::{Target, UAT_URL};
use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::{get, post};
use send_checklist::{Check, Options, evaluate};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// Where the proxy listens unless told.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8091";

/// What the proxy forwards to, for whom, and where its report goes.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// `Target::Uat` or a URL (a mock); the embedded mock has no address to forward to.
    pub upstream: Target,
    pub profile: EnteProfile,
    pub listen: SocketAddr,
    pub report_dir: PathBuf,
    pub lang: Lang,
}

/// Why the proxy could not start or write its report.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("--upstream: the proxy forwards to uat or a URL, not to the embedded mock")]
    EmbeddedUpstream,
    #[error(transparent)]
    Target(#[from] crate::target::TargetError),
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("report: {0}")]
    Report(#[from] crate::report::error::ReportError),
}

/// The upstream SEND: its base URL (no trailing slash) and its origin.
#[derive(Debug, Clone)]
struct Upstream {
    base: String,
    origin: String,
    /// `uat` or `mock`, as reports name targets.
    kind: &'static str,
}

impl Upstream {
    fn of(target: &Target) -> Result<Upstream, ProxyError> {
        let (base, kind) = match target {
            Target::Uat => (UAT_URL.to_string(), "uat"),
            Target::Url(u) => (u.trim_end_matches('/').to_string(), "mock"),
            Target::Embedded => return Err(ProxyError::EmbeddedUpstream),
        };
        let origin = forward::origin_of(&base).unwrap_or_else(|| base.clone());
        Ok(Upstream { base, origin, kind })
    }
}

/// A call made with a key that is neither the Ente's nor its creditor's: recorded, shown, and
/// left out of the Ente's checklist.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherKeyCall {
    pub call_id: u64,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The first 8 hex digits of the key's sha256: enough to tell keys apart, never the key.
    pub key_sha256: String,
}

#[derive(Debug, Default)]
struct Log {
    exchanges: Vec<Exchange>,
    other_key: Vec<OtherKeyCall>,
}

/// Everything the handlers share.
struct ProxyState {
    upstream: Upstream,
    profile: EnteProfile,
    key: Secret,
    creditor_key: Option<Secret>,
    client: reqwest::Client,
    listen: SocketAddr,
    report_dir: PathBuf,
    lang: Lang,
    run_id: String,
    started: chrono::DateTime<chrono::Utc>,
    log: Mutex<Log>,
    /// Storage origins SEND named in its answers: the only hosts `/_conformance/s3/` reaches.
    storage_hosts: Mutex<HashSet<String>>,
    /// Presigned URLs handed out (origin + path), and the other key they were handed to.
    issued: Mutex<HashMap<String, Option<String>>>,
    /// Woken when `POST /_conformance/finish` has written the report.
    finished: tokio::sync::Notify,
    /// The last report written.
    last_report: Mutex<Option<Finished>>,
}

impl ProxyState {
    fn record(&self, x: Exchange, other_key: Option<String>) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let id = log.exchanges.len() as u64 + 1;
        if let Some(key_sha256) = other_key {
            let path = x
                .url
                .split("://")
                .nth(1)
                .map_or("/", |r| r.find('/').map_or("/", |i| &r[i..]));
            log.other_key.push(OtherKeyCall {
                call_id: id,
                method: x.method.clone(),
                path: path.split('?').next().unwrap_or(path).to_string(),
                status: x.status,
                key_sha256,
            });
        }
        log.exchanges.push(x);
    }

    fn snapshot(&self) -> (Vec<Exchange>, Vec<OtherKeyCall>) {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        (log.exchanges.clone(), log.other_key.clone())
    }

    /// How the Ente's calls are judged: its tax id, either paper product (the PT's software
    /// chooses per notification), TC-COSTO-01 exempt for an ASYNC Ente.
    fn options(&self) -> Options {
        let mut o = Options::for_sender(&self.profile.tax_id);
        if self.profile.pago_pa_int_mode == PagoPaIntMode::ASYNC {
            o.costo_exempt = Some(crate::report::ASYNC_EXEMPTION.to_string());
        }
        o
    }

    /// The checklist of the Ente's calls so far (other keys' calls left out).
    fn checks(&self, exchanges: &[Exchange], other: &[OtherKeyCall]) -> Vec<Check> {
        let skip: HashSet<u64> = other.iter().map(|o| o.call_id).collect();
        let calls: Vec<_> =
            crate::report::checklist::calls_from_transcript(exchanges, &self.upstream.base)
                .into_iter()
                .filter(|c| !skip.contains(&c.id))
                .collect();
        evaluate(&calls, &self.options())
    }

    /// The live checklist, in the JSON of the mock's `GET /mock/checklist`.
    fn checklist_json(&self) -> Value {
        let (exchanges, other) = self.snapshot();
        let checks = self.checks(&exchanges, &other);
        let cross: Vec<Value> = other
            .iter()
            .map(|o| json!({"callId": o.call_id, "method": o.method, "path": o.path, "status": o.status, "owner": format!("another key (sha256 {}…)", o.key_sha256)}))
            .collect();
        json!({
            "ente": {"name": self.profile.name, "taxId": self.profile.tax_id},
            "ok": checks.iter().all(|c| c.ok),
            "checks": checks,
            "crossEnteCalls": cross,
            "calls": exchanges.len(),
        })
    }
}

/// A running proxy.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    server: JoinHandle<()>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    /// Checks the options, binds the listener and serves until [`Proxy::stop`].
    pub async fn start(opts: ProxyOptions) -> Result<Proxy, ProxyError> {
        let upstream = Upstream::of(&opts.upstream)?;
        crate::target::refuse_demo_on_uat(&opts.profile, &opts.upstream)?;
        let key = opts.profile.api_key()?;
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|source| ProxyError::Listen {
                addr: opts.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ProxyError::Listen {
            addr: opts.listen,
            source,
        })?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(ProxyError::Client)?;
        let state = Arc::new(ProxyState {
            upstream,
            creditor_key: opts.profile.creditor_api_key(),
            profile: opts.profile,
            key,
            client,
            listen: addr,
            report_dir: opts.report_dir,
            lang: opts.lang,
            run_id: uuid::Uuid::new_v4().to_string(),
            started: chrono::Utc::now(),
            log: Mutex::default(),
            storage_hosts: Mutex::default(),
            issued: Mutex::default(),
            finished: tokio::sync::Notify::new(),
            last_report: Mutex::default(),
        });
        let app = Router::new()
            .route("/_conformance/checklist", get(checklist))
            .route("/_conformance/checklist.html", get(checklist_page))
            .route("/_conformance/finish", post(finish))
            .fallback(forward::forward)
            .with_state(state.clone());
        let (shutdown, mut stopped) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.changed().await;
                })
                .await;
        });
        Ok(Proxy {
            addr,
            state,
            server,
            shutdown,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL the PT's software is given instead of SEND's.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The live checklist (the JSON of `GET /_conformance/checklist`).
    pub fn checklist(&self) -> Value {
        self.state.checklist_json()
    }

    /// Writes the report of what was seen so far; answers its folder.
    pub fn write_report(&self) -> Result<Finished, ProxyError> {
        page::write_report(&self.state)
    }

    /// Resolves when `POST /_conformance/finish` has written the report, with that report.
    pub async fn finished(&self) -> Option<Finished> {
        self.state.finished.notified().await;
        self.state
            .last_report
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops accepting calls and lets those under way finish (at most 5 s).
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let mut server = self.server;
        if tokio::time::timeout(std::time::Duration::from_secs(5), &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
    }
}

/// The report written, and the verdict it holds.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finished {
    pub report_dir: PathBuf,
    pub files: Vec<String>,
    /// Every test case's check holds (or is exempt).
    pub ok: bool,
    /// Go-live evidence: a UAT upstream and every check held.
    pub valid_for_go_live: bool,
}

async fn checklist(State(st): State<Arc<ProxyState>>) -> Json<Value> {
    Json(st.checklist_json())
}

async fn checklist_page(State(st): State<Arc<ProxyState>>) -> Response {
    match page::render(&st, false) {
        Ok(html) => Html(html).into_response(),
        Err(e) => forward::proxy_problem(500, "PROXY_PAGE", &e.to_string()),
    }
}

async fn finish(State(st): State<Arc<ProxyState>>) -> Response {
    match page::write_report(&st) {
        Ok(done) => {
            *st.last_report.lock().unwrap_or_else(|p| p.into_inner()) = Some(done.clone());
            st.finished.notify_one();
            Json(done).into_response()
        }
        Err(e) => forward::proxy_problem(500, "PROXY_REPORT", &e.to_string()),
    }
}
