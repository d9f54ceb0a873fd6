//! A mock of SEND (Servizio Notifiche Digitali) for sending PAs.
//!
//! [`MockServer::start`] builds the whole app from a [`MockConfig`] and serves it; tests, the
//! `send-mock` binary and the conformance harness's embedded target all start it this way.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use send_mock::{MockConfig, MockServer};
//! let mock = MockServer::start(MockConfig::for_tests()).await?;
//! println!("SEND mock at {}", mock.base_url());
//! mock.stop().await;
//! # Ok(()) }
//! ```

pub mod config;
pub(crate) mod domain;
mod http;
mod serve;
pub(crate) mod store;

/// Not part of the API: exactly what the harness's bench uses to fill a mock with 100,000
/// notifications without HTTP and to count a data dir's journal, and nothing else.
#[doc(hidden)]
pub mod internals {
    pub use crate::domain::ente::EnteId;
    pub use crate::domain::request::{RequestVersion, parse as parse_request};
    pub use crate::store::journal::Journal;
    pub use crate::store::{MAX_CALLS, Store};
}

pub use config::{ApiKey, EnteProfile, MockConfig, StorageListen};
/// `50ms`, `1s`, `60s`, `15m`, `2h`, `7d` (also combined, `1d12h`): how the mock's and the
/// harness's command lines write durations.
pub use domain::clock::{DurationError, parse_duration};
/// Why a timeline script directory cannot be loaded: the source of the `io::Error`
/// [`MockServer::start`] answers then.
pub use domain::library::ScriptError;
pub use serve::raise_descriptor_limit;

use domain::clock::VirtualClock;
use http::AppState;
use std::net::SocketAddr;
use std::sync::Arc;
use store::Store;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The app as a service: what the server answers with, callable in-process.
pub type AppService = tower::util::BoxCloneSyncService<
    axum::extract::Request,
    axum::response::Response,
    std::convert::Infallible,
>;

/// A running mock.
pub struct MockServer {
    addr: SocketAddr,
    storage_addr: Option<SocketAddr>,
    store: Arc<Store>,
    in_process: AppService,
    shutdown: Option<tokio::sync::watch::Sender<bool>>,
    server: JoinHandle<()>,
    ticker: JoinHandle<()>,
    _files: Option<tempfile::TempDir>,
}

impl MockServer {
    /// Binds `config.listen` and serves the mock until [`MockServer::stop`].
    pub async fn start(config: MockConfig) -> std::io::Result<MockServer> {
        let listener = TcpListener::bind(config.listen).await?;
        Self::serve(listener, config).await
    }

    /// Serves on an already bound listener.
    pub async fn serve(listener: TcpListener, config: MockConfig) -> std::io::Result<MockServer> {
        let addr = listener.local_addr()?;
        let (files_dir, tmp) = match &config.data_dir {
            Some(dir) => {
                let files = dir.join("files");
                std::fs::create_dir_all(&files)?;
                (files, None)
            }
            None => {
                let tmp = tempfile::Builder::new().prefix("send-mock-").tempdir()?;
                (tmp.path().to_path_buf(), Some(tmp))
            }
        };
        let scripts = domain::library::ScriptLibrary::load(&config.timelines)
            .map_err(std::io::Error::other)?;
        let clock = Arc::new(VirtualClock::new(chrono::Utc::now(), config.time_scale));
        let store = Arc::new(Store::new(clock, config.enti.clone(), scripts, files_dir));
        store.set_positions(config.debt_positions.clone());
        if let Some(dir) = &config.data_dir {
            // Replaying is synchronous work on the store; keep it off the async workers.
            let (s, d) = (store.clone(), dir.clone());
            let started = std::time::Instant::now();
            let ops = tokio::task::spawn_blocking(move || s.open_journal(&d))
                .await
                .map_err(std::io::Error::other)?
                .map_err(std::io::Error::other)?;
            tracing::info!(ops, elapsed = ?started.elapsed(), dir = %dir.display(), "state restored from the data dir");
        }
        let pdnd = pdnd_clients(&config.enti)?;
        let storage = match config.storage_listen {
            None => None,
            // An ephemeral API port asks for an ephemeral storage port too.
            Some(at) => {
                Some(bind_storage(at, SocketAddr::new(addr.ip(), config.listen.port())).await?)
            }
        };
        let storage_addr = storage.as_ref().map(TcpListener::local_addr).transpose()?;
        let limits = serve::ConnLimits {
            header_timeout: config.header_timeout,
            idle_timeout: config.idle_timeout,
            max_connections: config
                .max_connections
                .unwrap_or_else(|| serve::default_max_connections(serve::raise_descriptor_limit())),
        };
        let request_log = http::request_log::RequestLog::new(config.log_requests);
        let state = AppState::new(http::Shared {
            config,
            request_log,
            store: store.clone(),
            pdnd,
            local_addr: addr,
            storage_addr,
        });
        let service = http::app(state.clone());
        let in_process = tower::util::BoxCloneSyncService::new(service.clone());
        let (tx, rx) = tokio::sync::watch::channel(false);
        let mut servers = vec![serve::serve(listener, service, limits, rx.clone())];
        if let Some(l) = storage {
            servers.push(serve::serve(l, http::storage_app(state), limits, rx));
        }
        let server = tokio::spawn(async move {
            for s in servers {
                let _ = s.await;
            }
        });
        let ticker = tokio::spawn(run_ticker(store.clone()));
        Ok(MockServer {
            addr,
            storage_addr,
            store,
            in_process,
            shutdown: Some(tx),
            server,
            ticker,
            _files: tmp,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The storage listener's base URL, when storage has its own.
    pub fn storage_url(&self) -> Option<String> {
        self.storage_addr.map(|a| format!("http://{a}"))
    }

    /// The whole app as a tower service, middleware included, to call without a network (the
    /// bench measures the mock's own cost per request this way). Calls share the served state.
    pub fn service(&self) -> AppService {
        self.in_process.clone()
    }

    /// The mock's state: not part of the API (only the bench uses it, to fill 100,000
    /// notifications without HTTP).
    #[doc(hidden)]
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Stops accepting requests, lets those in flight finish, and stops the clock work.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        let _ = (&mut self.server).await;
        self.ticker.abort();
    }

    /// Waits until the server stops on its own (the binary's Ctrl-C path stops it).
    pub async fn wait(mut self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        let _ = (&mut self.server).await;
        self.ticker.abort();
    }
}

/// Binds the storage listener: where asked, or on the first free port after `api` (any free
/// port when `api`'s is 0).
async fn bind_storage(at: StorageListen, api: SocketAddr) -> std::io::Result<TcpListener> {
    match at {
        StorageListen::At(addr) => TcpListener::bind(addr).await,
        StorageListen::NextFreePort if api.port() == 0 => {
            TcpListener::bind(SocketAddr::new(api.ip(), 0)).await
        }
        StorageListen::NextFreePort => {
            let mut last = None;
            for port in (api.port().saturating_add(1)..=u16::MAX).take(100) {
                match TcpListener::bind(SocketAddr::new(api.ip(), port)).await {
                    Ok(l) => return Ok(l),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| std::io::Error::other("no free port after the API's")))
        }
    }
}

/// The PDND clients of the Enti flagged `pdnd`, with their public keys.
fn pdnd_clients(enti: &[EnteProfile]) -> std::io::Result<domain::pdnd::Pdnd> {
    let mut clients = Vec::new();
    for (i, e) in enti.iter().enumerate().filter(|(_, e)| e.pdnd) {
        let missing = || {
            std::io::Error::other(format!(
                "{}: pdnd = true needs pdnd_client_id, pdnd_kid and pdnd_public_key_file",
                e.name
            ))
        };
        let file = e.pdnd_public_key_file.as_ref().ok_or_else(missing)?;
        let pem = std::fs::read(file).map_err(|err| {
            std::io::Error::other(format!("{}: {}: {err}", e.name, file.display()))
        })?;
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(&pem).map_err(|err| {
            std::io::Error::other(format!(
                "{}: {} is not an RSA public key: {err}",
                e.name,
                file.display()
            ))
        })?;
        clients.push(domain::pdnd::PdndClient {
            ente: domain::ente::EnteId::new(i),
            client_id: e.pdnd_client_id.clone().ok_or_else(missing)?,
            kid: e.pdnd_kid.clone().ok_or_else(missing)?,
            key,
        });
    }
    Ok(domain::pdnd::Pdnd::new(clients))
}

/// Fires scheduled timeline work when it becomes due on the virtual clock.
async fn run_ticker(store: Arc<Store>) {
    loop {
        let wait = match store.next_due() {
            Some(at) => store.clock.real_until(at),
            None => std::time::Duration::from_secs(3600),
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = store.woken() => {}
        }
        store.fire_due(store.clock.now());
    }
}
