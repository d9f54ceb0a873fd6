//! The accept loop: HTTP/1.1 connections served by hyper, with the limits a server facing
//! untrusted clients needs and axum's `serve` does not set.
//!
//! - A **header-read timeout**: from the first byte of a request, its head must be complete
//!   within `header_timeout`, or the connection is closed (a half-sent request cannot hold a
//!   connection, and a descriptor, for ever).
//! - An **idle timeout**: a keep-alive connection with no request for `idle_timeout` is closed.
//! - A **connection cap**: beyond `max_connections` open at once, a new connection gets a 503
//!   Problem and is closed at once, so the accept loop keeps accepting and the connections
//!   already open keep working.
//!
//! hyper's own `header_read_timeout` starts when the server waits for a head, idle wait
//! included, so it cannot tell the two apart; here each connection knows its phase: idle (no
//! request), in a head (bytes of a request arrived, the handler not yet called), or busy (from
//! the handler's call to the end of the answer's body).

use axum::body::Body;
use axum::extract::Request;
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

/// The limits every connection is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

const IDLE: u8 = 0;
const IN_HEAD: u8 = 1;
const BUSY: u8 = 2;

/// Where a connection is in its exchange, and since when.
#[derive(Debug)]
struct Phase {
    state: AtomicU8,
    since: Mutex<Instant>,
    /// The connection's task, as its last read left it waiting: a new phase may have a
    /// deadline that read must arm.
    reader: Mutex<Option<Waker>>,
}

impl Phase {
    fn new() -> Phase {
        Phase {
            state: AtomicU8::new(IDLE),
            since: Mutex::new(Instant::now()),
            reader: Mutex::new(None),
        }
    }
    fn set(&self, state: u8) {
        *self.since.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.state.store(state, Ordering::Release);
    }
    /// Back to idle once an answer is sent: the read waiting since the request came must now
    /// wait no longer than the idle timeout.
    fn idle(&self) {
        self.set(IDLE);
        if let Some(w) = self.reader.lock().unwrap_or_else(|p| p.into_inner()).take() {
            w.wake();
        }
    }
    fn since(&self) -> Instant {
        *self.since.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The socket as hyper reads it: a read that waits past the phase's deadline fails, and hyper
/// closes the connection.
struct Watched {
    io: TcpStream,
    phase: Arc<Phase>,
    limits: ConnLimits,
    timer: Pin<Box<Sleep>>,
}

impl Watched {
    /// The instant the current phase must end by, if it has a limit.
    fn deadline(&self) -> Option<Instant> {
        match self.phase.state.load(Ordering::Acquire) {
            IDLE => Some(self.phase.since() + self.limits.idle_timeout),
            IN_HEAD => Some(self.phase.since() + self.limits.header_timeout),
            _ => None,
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                // The first bytes after an idle spell start a request's head.
                if buf.filled().len() > before
                    && self
                        .phase
                        .state
                        .compare_exchange(IDLE, IN_HEAD, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                {
                    self.phase.set(IN_HEAD);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                {
                    let mut reader = self.phase.reader.lock().unwrap_or_else(|p| p.into_inner());
                    if !reader.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        *reader = Some(cx.waker().clone());
                    }
                }
                let Some(deadline) = self.deadline() else {
                    return Poll::Pending;
                };
                if self.timer.deadline() != deadline {
                    self.timer.as_mut().reset(deadline);
                }
                ready!(self.timer.as_mut().poll(cx));
                let what = if self.phase.state.load(Ordering::Acquire) == IN_HEAD {
                    "the request head was not complete within the header timeout"
                } else {
                    "no request within the idle timeout"
                };
                Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::TimedOut, what)))
            }
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// An answer's body that marks its connection idle once it has been sent (or dropped).
struct EndOfAnswer {
    body: Body,
    phase: Arc<Phase>,
}

impl Drop for EndOfAnswer {
    fn drop(&mut self) {
        self.phase.idle();
    }
}

impl http_body::Body for EndOfAnswer {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Serves `service` on `listener` until `stop` turns true; then stops accepting and lets the
/// exchanges in flight finish (at most 10 s).
pub fn serve(
    listener: TcpListener,
    service: impl crate::http::HttpService,
    limits: ConnLimits,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let open = Arc::new(AtomicUsize::new(0));
        let mut accept_errors = 0u64;
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stop.wait_for(|s| *s) => break,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors (EMFILE): say so once in a while, wait a little.
                    accept_errors += 1;
                    if accept_errors.is_power_of_two() {
                        tracing::warn!(error = %e, count = accept_errors, "accept failed");
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            if open.load(Ordering::Acquire) >= limits.max_connections {
                tokio::spawn(refuse(stream, limits.max_connections));
                continue;
            }
            let _ = stream.set_nodelay(true);
            let phase = Arc::new(Phase::new());
            let io = TokioIo::new(Watched {
                io: stream,
                phase: phase.clone(),
                limits,
                timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            });
            let service = service.clone();
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                phase.set(BUSY);
                let phase = phase.clone();
                let call = tower::ServiceExt::oneshot(service.clone(), req.map(Body::new));
                async move {
                    let res = call.await?;
                    Ok::<_, Infallible>(res.map(|body| Body::new(EndOfAnswer { body, phase })))
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(None)
                .serve_connection(io, svc);
            let conn = graceful.watch(conn);
            open.fetch_add(1, Ordering::AcqRel);
            let open = open.clone();
            tokio::spawn(async move {
                let _ = conn.await;
                open.fetch_sub(1, Ordering::AcqRel);
            });
        }
        drop(listener);
        let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
    })
}

/// A connection beyond the cap: a 503 Problem, and closed.
async fn refuse(stream: TcpStream, max: usize) {
    use tokio::io::AsyncWriteExt;
    let problem = crate::http::problem::ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable",
        format!("{max} connections are open: the mock accepts no more until some close"),
        vec![],
    )
    .into_response();
    let body = axum::body::to_bytes(problem.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = stream;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.shutdown().await
    })
    .await;
}

/// Raises the soft limit on open descriptors to the hard limit (where allowed); returns the
/// soft limit in force.
pub fn raise_descriptor_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
        lim.rlim_cur
    }
}

/// The connection cap for a descriptor limit: three quarters of it (the rest is for files,
/// the journal and the storage listener), at most 100,000.
pub fn default_max_connections(descriptor_limit: u64) -> usize {
    ((descriptor_limit.saturating_mul(3) / 4).clamp(64, 100_000)) as usize
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
        }
    }
}
