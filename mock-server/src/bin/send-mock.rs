//! `send-mock`: a mock of SEND for sending PAs.

use clap::Parser;
use send_mock::config::load_enti;
use send_mock::{MockConfig, MockServer, ScriptError, StorageListen, parse_duration};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "send-mock",
    version,
    about = "A mock of SEND (Servizio Notifiche Digitali) for sending PAs"
)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// TOML file with the Enti ([[ente]] name, tax_id, api_key, pdnd). Default: the demo Ente.
    #[arg(long)]
    enti: Option<PathBuf>,
    /// Wall time one SEND day lasts (e.g. 1s, 60s like UAT, 50ms). Default: 1s, or 60s with
    /// --uat-twin.
    #[arg(long, value_parser = parse_duration)]
    time_scale: Option<std::time::Duration>,
    /// Serve uploads and downloads on this second address, as S3 does: presigned URLs point
    /// there with paths /{bucket}/{key}, and the API address serves no storage paths.
    #[arg(long)]
    storage_listen: Option<SocketAddr>,
    /// Behave as SEND's UAT does where the mock otherwise differs: 60s per SEND day (unless
    /// --time-scale), storage on its own listener (the next free port unless --storage-listen),
    /// --retry-after-downloads, 429 on early stream reads, authorizer denials in the API
    /// gateway's shape.
    #[arg(long)]
    uat_twin: bool,
    /// Make the mock durable: its state is journaled in DIR/send-mock.db and uploads kept in
    /// DIR/files, so a restart (even after kill -9) resumes where it stopped. Default: state in
    /// memory, uploads in a temporary directory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Base URL to put in presigned URLs (default: the request's Host).
    #[arg(long)]
    public_url: Option<String>,
    /// Answer `retryAfter` without `url` to the first metadata call of each file.
    #[arg(long)]
    retry_after_downloads: bool,
    /// Directory of YAML timeline scripts (repeatable). Default: ./fixtures/timelines if present.
    #[arg(long)]
    timelines: Vec<PathBuf>,
    /// Stream polling interval answered in `retry-after` once a stream is drained.
    #[arg(long, default_value = "1000ms", value_parser = parse_duration)]
    stream_retry_after: std::time::Duration,
    /// Do not answer 429 to stream reads that come before `retry-after` elapsed.
    #[arg(long)]
    lenient_retry_after: bool,
    /// Longest an API request may take, body included, before a 408 Problem.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    request_timeout: std::time::Duration,
    /// From a request's first byte, how long its head (request line and headers) may take
    /// before the connection is closed.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    header_timeout: std::time::Duration,
    /// How long a keep-alive connection may stay without a request before it is closed.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    idle_timeout: std::time::Duration,
    /// Connections open at once beyond which new ones get a 503 and are closed. Default: three
    /// quarters of the descriptor limit (raised to its hard limit at start).
    #[arg(long)]
    max_connections: Option<usize>,
    /// Print one line per request: method, path, status, duration, the Ente, and the request
    /// and response bodies with keys, secrets and presigned signatures redacted (the same
    /// entries GET /mock/requests answers).
    #[arg(long)]
    log_requests: bool,
}

/// Stops with `code` after saying why on stderr.
fn exit(code: i32, why: impl std::fmt::Display) -> ! {
    eprintln!("send-mock: {why}");
    std::process::exit(code);
}

/// The mock's configuration from the command line and the Enti file it names.
fn config_of(cli: &Cli) -> MockConfig {
    if cli.time_scale.is_some_and(|t| t.is_zero()) {
        exit(2, "--time-scale must be greater than zero");
    }
    let mut config = MockConfig {
        listen: cli.listen,
        time_scale: cli.time_scale.unwrap_or(std::time::Duration::from_secs(1)),
        storage_listen: cli.storage_listen.map(StorageListen::At),
        data_dir: cli.data_dir.clone(),
        public_url: cli.public_url.clone(),
        retry_after_downloads: cli.retry_after_downloads,
        stream_retry_after: cli.stream_retry_after,
        strict_retry_after: !cli.lenient_retry_after,
        request_timeout: cli.request_timeout,
        header_timeout: cli.header_timeout,
        idle_timeout: cli.idle_timeout,
        max_connections: cli.max_connections,
        log_requests: cli.log_requests,
        timelines: if cli.timelines.is_empty() {
            Some(PathBuf::from("fixtures/timelines"))
                .filter(|p| p.is_dir())
                .into_iter()
                .collect()
        } else {
            cli.timelines.clone()
        },
        ..MockConfig::default()
    };
    if cli.uat_twin {
        config = config.uat_twin(cli.time_scale, cli.storage_listen);
    }
    if let Some(path) = &cli.enti {
        let file = load_enti(path).unwrap_or_else(|e| exit(2, e));
        config.enti = file.ente;
        config.debt_positions = file.gpd;
    }
    config
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let config = config_of(&cli);
    // Register the signal handlers before announcing readiness, so an early Ctrl-C or SIGTERM
    // still shuts down cleanly.
    let (mut sigint, mut sigterm) = match (
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()),
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        _ => exit(1, "cannot install signal handlers"),
    };
    let enti: Vec<String> = config
        .enti
        .iter()
        .map(|e| format!("{} ({})", e.name, e.tax_id))
        .collect();
    let mock = MockServer::start(config).await.unwrap_or_else(|e| {
        match e.get_ref().and_then(|i| i.downcast_ref::<ScriptError>()) {
            // The scripts are loaded once, by start: a bad one is the user's file, not the port.
            Some(bad) => exit(2, format!("bad timeline script: {bad}")),
            None => exit(1, format!("cannot start on {}: {e}", cli.listen)),
        }
    });
    match mock.storage_url() {
        Some(storage) => tracing::info!(
            base_url = %mock.base_url(),
            storage_url = %storage,
            uat_twin = cli.uat_twin,
            enti = ?enti,
            "SEND mock listening"
        ),
        None => tracing::info!(base_url = %mock.base_url(), enti = ?enti, "SEND mock listening"),
    }
    if cli.enti.is_none() {
        tracing::info!("demo Ente: send `x-api-key: demo-api-key`");
    }
    mock.wait(async {
        tokio::select! {
            _ = sigint.recv() => {}
            _ = sigterm.recv() => {}
        }
        tracing::info!("shutting down");
    })
    .await;
}
