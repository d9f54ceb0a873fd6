//! Speed, flatness and memory of the mock, and wall time of the harness. Prints figures; asserts
//! nothing. `cargo bench -p harness --bench perf` (release build; `BENCH_SECS` sets the length of
//! each load phase, default 10; `BENCH_BIG` the large store size, default 100000).
//!
//! The mock runs in this process on its own 2-thread runtime; the load generator runs on another
//! runtime over HTTP/1.1 keep-alive connections, so the two share the machine's cores as a mock
//! and its clients would. The detail load writes pre-encoded requests and reads answers by
//! Content-Length (as wrk does; it is not installed here), so the generator takes as little of
//! the shared cores as it can; the write mix uses hyper's client connection (no pool).
//!
//! The detail row is followed by its floor: the same load against a bare hyper server that
//! answers the mock's bytes and does nothing else, and the server CPU per read of each. On
//! two shared cores the scheduler and loopback TCP set much of the latency; the floor shows
//! how much, in the same run, so a slow spell of the machine shows in both rows. Last comes the
//! mock's app alone, called in-process one request at a time: its own cost, without sockets.
//! `BENCH_PHASE=app` runs only that (`BENCH_APP_READS` reads), for a profiler or cachegrind.

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use send_conformance::profile::EnteProfile;
use send_conformance::target::Target;
use send_conformance::{RunOptions, run_many};
use send_mock::internals::{EnteId, RequestVersion, parse_request};
use send_mock::{MockConfig, MockServer};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const KEY: &str = "demo-api-key";

/// A mock whose clock only moves when the bench advances it (one SEND day per real year).
fn still_clock() -> MockConfig {
    MockConfig {
        time_scale: Duration::from_secs(86_400 * 365),
        ..MockConfig::for_tests()
    }
}

/// The number in environment variable `name`, or `default`.
fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn secs() -> Duration {
    Duration::from_secs(env_or("BENCH_SECS", 10))
}

fn big() -> usize {
    env_or("BENCH_BIG", 100_000) as usize
}

/// The detail GET this bench reads, for `iun`.
fn detail_path(iun: &str) -> String {
    format!("/delivery/v2.9/notifications/sent/{iun}")
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU time the threads of runtime `name` have used so far (their scheduler statistics).
fn cpu_of(name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let ns: u64 = tasks
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .filter_map(|t| {
            let stat = std::fs::read_to_string(t.path().join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum();
    Duration::from_nanos(ns)
}

struct Latencies(Vec<Duration>);

impl Latencies {
    fn pct(&mut self, p: f64) -> Duration {
        self.0.sort_unstable();
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.0.len() as f64 - 1.0) * p).round() as usize;
        self.0[i]
    }
    fn line(&mut self, what: &str, wall: Duration) -> String {
        let n = self.0.len();
        format!(
            "{what:<46} {:>9.0} req/s   p50 {:>7.3} ms   p99 {:>7.3} ms   ({n} requests)",
            n as f64 / wall.as_secs_f64(),
            self.pct(0.50).as_secs_f64() * 1e3,
            self.pct(0.99).as_secs_f64() * 1e3,
        )
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    tx: http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    async fn open(addr: std::net::SocketAddr) -> Conn {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (tx, conn) = http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(conn);
        Conn {
            tx,
            host: addr.to_string(),
        }
    }

    async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        ct: &str,
    ) -> (u16, Bytes) {
        let req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("x-api-key", KEY)
            .header("content-type", ct)
            .body(Full::new(Bytes::copy_from_slice(body.unwrap_or_default())))
            .unwrap();
        self.tx.ready().await.unwrap();
        let res = self.tx.send_request(req).await.unwrap();
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, bytes)
    }
}

fn sha256_b64(b: &[u8]) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(b))
}

fn request(protocol: &str, doc: &Value) -> Value {
    json!({"paProtocolNumber": protocol, "idempotenceToken": "t", "subject": "Avviso", "senderDenomination": "Comune di Esempio (demo)",
        "senderTaxId": "80016350821", "taxonomyCode": "010202N", "notificationFeePolicy": "FLAT_RATE",
        "physicalCommunicationType": "AR_REGISTERED_LETTER",
        "recipients": [{"recipientType": "PF", "taxId": "BNRMHL75C06G702B", "denomination": "Michelangelo Buonarroti",
            "digitalDomicile": {"type": "PEC", "address": "prova@pec.it"},
            "physicalAddress": {"address": "Via Roma 1", "zip": "00100", "municipality": "Roma", "province": "RM"}}],
        "documents": [doc]})
}

/// Preload + upload of one PDF; returns the document reference.
async fn upload(c: &mut Conn, n: usize) -> Value {
    let pdf = format!("%PDF-1.4 atto {n}").into_bytes();
    let sha = sha256_b64(&pdf);
    let body = serde_json::to_vec(
        &json!([{"preloadIdx": "0", "contentType": "application/pdf", "sha256": sha}]),
    )
    .unwrap();
    let (s, b) = c
        .call(
            "POST",
            "/delivery/attachments/preload",
            Some(&body),
            "application/json",
        )
        .await;
    assert_eq!(s, 200);
    let slot: Value = serde_json::from_slice(&b).unwrap();
    let url = slot[0]["url"].as_str().unwrap();
    let path = &url[url.find("/storage/").unwrap()..];
    let req = hyper::Request::builder()
        .method("PUT")
        .uri(path)
        .header("host", &c.host)
        .header("content-type", "application/pdf")
        .header("x-amz-meta-secret", slot[0]["secret"].as_str().unwrap())
        .header("x-amz-checksum-sha256", &sha)
        .body(Full::new(Bytes::from(pdf)))
        .unwrap();
    c.tx.ready().await.unwrap();
    let res = c.tx.send_request(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let version = res.headers()["x-amz-version-id"]
        .to_str()
        .unwrap()
        .to_string();
    res.into_body().collect().await.unwrap();
    json!({"contentType": "application/pdf", "digests": {"sha256": sha}, "ref": {"key": slot[0]["key"], "versionToken": version}})
}

/// Runs `conns` tasks doing `work` (each opens its own connection) until the deadline;
/// returns every latency.
async fn load<F, Fut>(conns: usize, length: Duration, work: F) -> (Latencies, Duration)
where
    F: Fn(usize, Arc<AtomicBool>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Vec<Duration>> + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..conns {
        let (work, stop) = (work.clone(), stop.clone());
        tasks.push(tokio::spawn(async move { work(i, stop).await }));
    }
    tokio::time::sleep(length).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (Latencies(all), started.elapsed())
}

/// A bare keep-alive connection: writes a pre-encoded request, reads the answer's head and
/// then Content-Length bytes of body.
struct RawConn {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    async fn open(addr: std::net::SocketAddr) -> RawConn {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        RawConn {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// Sends `request` and returns the answer's status once its whole body has arrived.
    async fn round_trip(&mut self, request: &[u8]) -> u16 {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        self.stream.write_all(request).await.unwrap();
        self.buf.clear();
        loop {
            let n = self.stream.read_buf(&mut self.buf).await.unwrap();
            assert!(n > 0, "the mock closed the connection");
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut res = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = res.parse(&self.buf).unwrap() {
                let length: usize = res
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok()?.parse().ok())
                    .expect("a content-length");
                let status = res.code.unwrap();
                while self.buf.len() < head + length {
                    let n = self.stream.read_buf(&mut self.buf).await.unwrap();
                    assert!(n > 0, "the mock closed the connection");
                }
                assert_eq!(self.buf.len(), head + length, "one answer per request");
                return status;
            }
        }
    }
}

/// Detail reads on `conns` connections for `length`: their latencies, the wall time, and the
/// CPU the server's runtime ("mock") spent per read.
async fn detail_load(
    addr: std::net::SocketAddr,
    iuns: &[String],
    conns: usize,
    length: Duration,
) -> (Latencies, Duration, Duration) {
    let cpu_before = cpu_of("mock");
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        iuns.iter()
            .map(|iun| {
                format!("GET {} HTTP/1.1\r\nhost: {addr}\r\nx-api-key: {KEY}\r\naccept: application/json\r\n\r\n", detail_path(iun))
                    .into_bytes()
            })
            .collect(),
    );
    let (lat, wall) = load(conns, length, move |i, stop| {
        let requests = requests.clone();
        async move {
            let mut c = RawConn::open(addr).await;
            let mut lat = Vec::new();
            let mut k = i;
            while !stop.load(Ordering::Relaxed) {
                let request = &requests[k % requests.len()];
                k += 7;
                let t = Instant::now();
                let status = c.round_trip(request).await;
                lat.push(t.elapsed());
                assert_eq!(status, 200);
            }
            lat
        }
    })
    .await;
    let per_read = (cpu_of("mock") - cpu_before) / (lat.0.len() as u32).max(1);
    (lat, wall, per_read)
}

/// The floor under the detail figures: a bare hyper server that answers every request with the
/// bytes the mock answered to a detail GET, and does nothing else (no routing, middleware, auth
/// or store). Under the same load on the same runtime it measures what this machine's scheduler,
/// loopback TCP and HTTP/1.1 cost alone; the gap between its row and the mock's is the mock.
async fn floor_server(body: Bytes) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            let answer = hyper::service::service_fn(move |_req| {
                let res = hyper::Response::builder()
                    .header("content-type", "application/json")
                    .body(Full::new(body.clone()));
                async move { res }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), answer),
            );
        }
    });
    addr
}

/// The mock's own CPU per detail read: its whole app (middleware, routing, handler, cached
/// answer) called in-process one request at a time, without sockets, HTTP parsing or waiting.
async fn in_process_cost(mock: &MockServer, iuns: &[String], n: usize) -> Duration {
    use tower::Service as _;
    let mut app = mock.service();
    let paths: Vec<String> = iuns.iter().map(|iun| detail_path(iun)).collect();
    let t = Instant::now();
    for i in 0..n {
        let req = axum::extract::Request::get(&paths[i % paths.len()])
            .header("x-api-key", KEY)
            .header("accept", "application/json")
            .body(axum::body::Body::empty())
            .unwrap();
        let res = app.call(req).await.unwrap();
        assert_eq!(res.status(), 200);
        res.into_body().collect().await.unwrap();
    }
    t.elapsed() / n as u32
}

/// Sequential latency of one request kind on a quiet mock.
async fn quiet(addr: std::net::SocketAddr, paths: &[String], n: usize) -> Latencies {
    let mut c = Conn::open(addr).await;
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let (s, _) = c
            .call("GET", &paths[i % paths.len()], None, "application/json")
            .await;
        lat.push(t.elapsed());
        assert_eq!(s, 200, "{}", paths[i % paths.len()]);
    }
    Latencies(lat)
}

/// Fills the mock's store with `n` accepted notifications (through the store, not HTTP, to
/// keep the set-up short); a stream created before holds their events.
async fn fill(mock: &MockServer, c: &mut Conn, n: usize) -> Vec<String> {
    let doc = upload(c, 0).await;
    let store = mock.store().clone();
    tokio::task::spawn_blocking(move || {
        let mut iuns = Vec::with_capacity(n);
        for i in 0..n {
            let body = request(&format!("BENCH-{i}"), &doc);
            let req = parse_request(RequestVersion::V26, &body).unwrap();
            iuns.push(
                store
                    .submit(EnteId::new(0), RequestVersion::V26, req, &body)
                    .unwrap()
                    .to_string(),
            );
        }
        // Validation, acceptance and the digital workflow up to delivery.
        store.advance(chrono::Duration::days(2));
        iuns
    })
    .await
    .unwrap()
}

async fn stream_with_events(c: &mut Conn) -> String {
    let body =
        serde_json::to_vec(&json!({"title": "bench", "eventType": "TIMELINE", "groups": []}))
            .unwrap();
    let (s, b) = c
        .call(
            "POST",
            "/delivery-progresses/v2.9/streams",
            Some(&body),
            "application/json",
        )
        .await;
    assert_eq!(s, 200);
    let v: Value = serde_json::from_slice(&b).unwrap();
    v["streamId"].as_str().unwrap().to_string()
}

async fn flat_cost(n: usize, samples: usize) -> (String, String, f64) {
    let mock = MockServer::start(MockConfig {
        stream_retry_after: Duration::ZERO,
        strict_retry_after: false,
        ..still_clock()
    })
    .await
    .unwrap();
    let addr = mock.addr();
    let mut c = Conn::open(addr).await;
    let stream = stream_with_events(&mut c).await;
    let t = Instant::now();
    let iuns = fill(&mock, &mut c, n).await;
    let fill_time = t.elapsed();
    let rss = rss_mib();
    let paths: Vec<String> = iuns
        .iter()
        .step_by((n / 100).max(1))
        .map(|i| detail_path(i))
        .collect();
    let mut d = quiet(addr, &paths, samples).await;
    // Stream pages: the stream holds every event of the n notifications; each read acks nothing,
    // so every read renders the same first page of a queue of that length.
    let ev = vec![format!("/delivery-progresses/v2.9/streams/{stream}/events")];
    let mut s = quiet(addr, &ev, samples).await;
    mock.stop().await;
    (
        format!(
            "detail, {n:>6} notifications (filled in {:.1} s)      p50 {:>7.3} ms   p99 {:>7.3} ms",
            fill_time.as_secs_f64(),
            d.pct(0.5).as_secs_f64() * 1e3,
            d.pct(0.99).as_secs_f64() * 1e3
        ),
        format!(
            "stream page of 50, {n:>6} notifications          p50 {:>7.3} ms   p99 {:>7.3} ms",
            s.pct(0.5).as_secs_f64() * 1e3,
            s.pct(0.99).as_secs_f64() * 1e3
        ),
        rss,
    )
}

fn harness_wall(enti: usize) -> (Duration, usize) {
    let demo = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/enti/demo.toml"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runs: Vec<RunOptions> = (0..enti)
        .map(|i| {
            let profile = EnteProfile::parse(&demo.replace(
                "name = \"Comune di Esempio (demo)\"",
                &format!("name = \"Comune di Prova {i:03}\""),
            ))
            .unwrap();
            RunOptions::new(profile, Target::Embedded, dir.path())
        })
        .collect();
    let t = Instant::now();
    let results = run_many(runs, 8);
    let wall = t.elapsed();
    let ok = results
        .iter()
        .filter(|(_, r)| r.as_ref().is_ok_and(|o| o.go_live()))
        .count();
    (wall, ok)
}

fn runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .unwrap()
}

/// A mock with 100 accepted notifications sent over HTTP; returns it and their IUNs.
fn seeded_mock(
    server_rt: &tokio::runtime::Runtime,
    client_rt: &tokio::runtime::Runtime,
) -> (MockServer, Vec<String>) {
    let mock = server_rt
        .block_on(MockServer::start(still_clock()))
        .unwrap();
    let addr = mock.addr();
    let store = mock.store().clone();
    let iuns = client_rt.block_on(async {
        let mut c = Conn::open(addr).await;
        let doc = upload(&mut c, 0).await;
        let mut iuns = Vec::new();
        for i in 0..100 {
            let body = serde_json::to_vec(&request(&format!("P-{i}"), &doc)).unwrap();
            let (s, _) = c
                .call(
                    "POST",
                    "/delivery/v2.6/requests",
                    Some(&body),
                    "application/json",
                )
                .await;
            assert_eq!(s, 202);
        }
        store.advance(chrono::Duration::days(2));
        for i in 0..100 {
            let (_, b) = c
                .call(
                    "GET",
                    &format!("/delivery/v2.6/requests?paProtocolNumber=P-{i}&idempotenceToken=t"),
                    None,
                    "",
                )
                .await;
            let v: Value = serde_json::from_slice(&b).unwrap();
            iuns.push(v["iun"].as_str().unwrap().to_string());
        }
        iuns
    });
    (mock, iuns)
}

/// `BENCH_PHASE=app`: only the in-process detail reads (`BENCH_APP_READS` of them, default
/// 200,000), for a profiler or an instruction counter (see README, Performance).
fn app_phase() {
    let (server_rt, client_rt) = (runtime("mock"), runtime("load"));
    let (mock, iuns) = seeded_mock(&server_rt, &client_rt);
    let reads = env_or("BENCH_APP_READS", 200_000) as usize;
    let cost = server_rt.block_on(in_process_cost(&mock, &iuns, reads));
    println!(
        "the mock's app alone, in-process: {:.2} us per detail read ({reads} reads)",
        cost.as_secs_f64() * 1e6
    );
}

/// Detail throughput with 64 connections, then the write mix.
fn load_phase(length: Duration) {
    let (server_rt, client_rt) = (runtime("mock"), runtime("load"));
    let (mock, iuns) = seeded_mock(&server_rt, &client_rt);
    let addr = mock.addr();
    let (mut lat, wall, cpu) = client_rt.block_on(detail_load(addr, &iuns, 64, length));
    println!("{}", lat.line("GET detail v2.9, 64 connections", wall));
    let detail = client_rt.block_on(async {
        let path = detail_path(&iuns[0]);
        Conn::open(addr).await.call("GET", &path, None, "").await.1
    });
    let floor = server_rt.block_on(floor_server(detail));
    let (mut lat, wall, floor_cpu) = client_rt.block_on(detail_load(floor, &iuns, 64, length));
    println!("{}", lat.line("  floor: same answer from bare hyper", wall));
    let app = server_rt.block_on(in_process_cost(&mock, &iuns, 200_000));
    println!(
        "  server CPU per detail read: mock {:.1} us, bare hyper {:.1} us; the mock's app alone, in-process: {:.1} us",
        cpu.as_secs_f64() * 1e6,
        floor_cpu.as_secs_f64() * 1e6,
        app.as_secs_f64() * 1e6
    );

    let (mut lat, wall) = client_rt.block_on(load(16, length, move |i, stop| async move {
        let mut c = Conn::open(addr).await;
        let mut lat = Vec::new();
        let mut k = 0;
        while !stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            let doc = upload(&mut c, i * 1_000_000 + k).await;
            let body = serde_json::to_vec(&request(&format!("MIX-{i}-{k}"), &doc)).unwrap();
            let (s, b) = c
                .call(
                    "POST",
                    "/delivery/v2.6/requests",
                    Some(&body),
                    "application/json",
                )
                .await;
            assert_eq!(s, 202, "{}", String::from_utf8_lossy(&b));
            let v: Value = serde_json::from_slice(&b).unwrap();
            let id = v["notificationRequestId"].as_str().unwrap();
            let (s, _) = c
                .call(
                    "GET",
                    &format!("/delivery/v2.6/requests?notificationRequestId={id}"),
                    None,
                    "",
                )
                .await;
            assert_eq!(s, 200);
            lat.push(t.elapsed());
            k += 1;
        }
        lat
    }));
    let n = lat.0.len();
    println!(
        "{:<46} {:>9.0} req/s   p50 {:>7.3} ms   p99 {:>7.3} ms   ({n} rounds of 4 requests)",
        "mix: preload+upload+send+status, 16 conns",
        n as f64 * 4.0 / wall.as_secs_f64(),
        lat.pct(0.5).as_secs_f64() * 1e3,
        lat.pct(0.99).as_secs_f64() * 1e3,
    );
    server_rt.block_on(mock.stop());
}

fn flat_phase(n: usize) {
    let (d, s, rss) = runtime("mock").block_on(flat_cost(n, 10_000));
    println!("{d}\n{s}");
    println!("resident memory of the process with {n} notifications: {rss:.0} MiB");
}

/// `--data-dir`: the cost of journaling, and the time a restart takes to replay.
fn replay_phase(n: usize) {
    let rt = runtime("mock");
    let dir = tempfile::tempdir().unwrap();
    let config = || MockConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..still_clock()
    };
    let (fill, ops) = rt.block_on(async {
        let mock = MockServer::start(config()).await.unwrap();
        let mut c = Conn::open(mock.addr()).await;
        stream_with_events(&mut c).await;
        let t = Instant::now();
        fill(&mock, &mut c, n).await;
        let fill = t.elapsed();
        mock.stop().await;
        let db = journaled_ops(dir.path());
        (fill, db)
    });
    let t = Instant::now();
    let mock = rt.block_on(MockServer::start(config())).unwrap();
    let replay = t.elapsed();
    rt.block_on(mock.stop());
    println!(
        "--data-dir: {n} notifications journaled in {:.1} s ({ops} ops); restart replays them in {:.1} s",
        fill.as_secs_f64(),
        replay.as_secs_f64()
    );
}

fn journaled_ops(dir: &std::path::Path) -> usize {
    send_mock::internals::Journal::open(
        dir,
        &["80016350821".to_string()],
        0,
        send_mock::internals::MAX_CALLS,
    )
    .map(|(_, _, ops)| ops.len())
    .unwrap_or(0)
}

/// Half-sent requests held open (`BENCH_SLOW` of them, default 10,000) by another process
/// (each end of a connection takes a descriptor): how fast a fresh connection's `GET /status`
/// is answered meanwhile, and how long until the header timeout has closed them all.
fn slowloris_phase(n: usize) {
    use std::io::BufRead as _;
    let limit = send_mock::raise_descriptor_limit();
    let (server_rt, client_rt) = (runtime("mock"), runtime("load"));
    let mock = server_rt
        .block_on(MockServer::start(MockConfig {
            max_connections: Some(n + 1_000),
            ..still_clock()
        }))
        .unwrap();
    let addr = mock.addr();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .env("BENCH_PHASE", "slowloris-client")
        .env("BENCH_ADDR", addr.to_string())
        .env("BENCH_SLOW", n.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let opened = lines.next().and_then(Result::ok).unwrap_or_default();
    let mut lat = client_rt.block_on(async move {
        let mut lat = Latencies(Vec::new());
        for _ in 0..50 {
            let t = Instant::now();
            let mut c = Conn::open(addr).await;
            let (code, _) = c.call("GET", "/status", None, "").await;
            assert_eq!(code, 200);
            lat.0.push(t.elapsed());
        }
        lat
    });
    let closed = lines.next().and_then(Result::ok).unwrap_or_default();
    let _ = child.wait();
    println!(
        "{n} half-sent requests held open ({opened}; descriptor limit {limit}): GET /status on a fresh connection p50 {:.2} ms, p99 {:.2} ms; {closed}",
        lat.pct(0.5).as_secs_f64() * 1e3,
        lat.pct(0.99).as_secs_f64() * 1e3,
    );
    server_rt.block_on(mock.stop());
}

/// The other side of [`slowloris_phase`]: opens the connections, says so, waits until the mock
/// has closed them all, says when.
fn slowloris_client(n: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    send_mock::raise_descriptor_limit();
    let addr: std::net::SocketAddr = std::env::var("BENCH_ADDR").unwrap().parse().unwrap();
    runtime("load").block_on(async move {
        let started = Instant::now();
        let mut held = Vec::with_capacity(n);
        for _ in 0..n {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /status HTTP/1.1\r\nhost: mock\r\nx-api-key: demo")
                .await
                .unwrap();
            held.push(s);
        }
        let opened = Instant::now();
        println!("opened in {:.1} s", (opened - started).as_secs_f64());
        let reads = held.into_iter().map(|mut s| async move {
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).await.unwrap_or(0);
            (Instant::now(), n)
        });
        let done = futures::future::join_all(reads).await;
        let answered = done.iter().filter(|(_, n)| *n > 0).count();
        let last = done.iter().map(|(t, _)| *t).max().unwrap_or(opened);
        println!(
            "all closed {:.1} s after the last was opened ({answered} got bytes back)",
            (last - opened).as_secs_f64()
        );
    });
}

fn harness_phase(enti: usize) {
    let (wall, ok) = harness_wall(enti);
    println!(
        "send-conformance run, {enti:>3} Ente(s), 8 at a time: {:.1} s wall, {ok}/{enti} ready for go-live",
        wall.as_secs_f64()
    );
}

/// `send-conformance proxy` in front of the mock: the latency of a detail read, one connection,
/// straight to the mock and through the proxy, in alternating blocks so a spell of the VM
/// colours both.
fn proxy_phase() {
    use send_conformance::proxy::{Proxy, ProxyOptions};
    let (server_rt, client_rt) = (runtime("mock"), runtime("load"));
    let (mock, proxy) = server_rt.block_on(async {
        let mock = MockServer::start(still_clock()).await.unwrap();
        let profile = EnteProfile::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/enti/demo.toml"
        )))
        .unwrap();
        let proxy = Proxy::start(ProxyOptions {
            upstream: Target::Url(mock.base_url()),
            profile,
            listen: "127.0.0.1:0".parse().unwrap(),
            report_dir: std::env::temp_dir(),
            lang: send_conformance::report::i18n::Lang::It,
        })
        .await
        .unwrap();
        (mock, proxy)
    });
    let paths: Vec<String> = client_rt.block_on(async {
        let mut c = Conn::open(mock.addr()).await;
        fill(&mock, &mut c, 100)
            .await
            .iter()
            .map(|i| detail_path(i))
            .collect()
    });
    let (mut direct, mut through) = (vec![], vec![]);
    for _ in 0..5 {
        direct.extend(client_rt.block_on(quiet(mock.addr(), &paths, 2_000)).0);
        through.extend(client_rt.block_on(quiet(proxy.addr(), &paths, 2_000)).0);
    }
    let (mut direct, mut through) = (Latencies(direct), Latencies(through));
    let (d50, t50) = (direct.pct(0.5), through.pct(0.5));
    println!(
        "proxy: detail, one connection: direct p50 {:.3} ms p99 {:.3} ms; through the proxy p50 {:.3} ms p99 {:.3} ms (+{:.3} ms at p50)",
        d50.as_secs_f64() * 1e3,
        direct.pct(0.99).as_secs_f64() * 1e3,
        t50.as_secs_f64() * 1e3,
        through.pct(0.99).as_secs_f64() * 1e3,
        (t50.as_secs_f64() - d50.as_secs_f64()) * 1e3
    );
    server_rt.block_on(proxy.stop());
}

/// Each phase runs in its own process, so memory and caches of one do not colour the next.
fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists; nothing to list.
    }
    let length = secs();
    match std::env::var("BENCH_PHASE").as_deref() {
        Ok("load") => return load_phase(length),
        Ok("app") => return app_phase(),
        Ok("flat-small") => return flat_phase(100),
        Ok("flat-big") => return flat_phase(big()),
        Ok("replay") => return replay_phase(20_000),
        Ok("harness-1") => return harness_phase(1),
        Ok("harness-100") => return harness_phase(100),
        Ok("proxy") => return proxy_phase(),
        Ok("slowloris") => return slowloris_phase(env_or("BENCH_SLOW", 10_000) as usize),
        Ok("slowloris-client") => return slowloris_client(env_or("BENCH_SLOW", 10_000) as usize),
        _ => {}
    }
    println!(
        "send-conformance benchmarks — {} s per load phase, {} CPU(s), release build\n",
        length.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let me = std::env::current_exe().unwrap();
    for phase in [
        "load",
        "flat-small",
        "flat-big",
        "replay",
        "harness-1",
        "harness-100",
        "slowloris",
        "proxy",
    ] {
        let out = std::process::Command::new(&me)
            .env("BENCH_PHASE", phase)
            .stderr(std::process::Stdio::null())
            .output()
            .unwrap();
        // The harness phases print Cucumber's progress too: keep only the figures.
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if line.contains(" req/s ")
                || line.contains(" p50 ")
                || line.contains("resident")
                || line.contains("CPU per")
                || line.starts_with("--data-dir")
                || line.starts_with("send-conformance run")
                || line.starts_with("proxy:")
                || line.contains("half-sent")
            {
                println!("{line}");
            }
        }
        if !out.status.success() {
            println!("phase {phase} failed ({})", out.status);
        }
    }
}
