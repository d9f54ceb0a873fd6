//! A SEND B2B client: every operation a sending PA uses, for the API family chosen, with
//! transient failures retried (never a send: a send whose answer was lost is looked up by
//! paProtocolNumber + idempotenceToken, as SEND recommends) and every exchange recorded.

pub mod pdnd;
pub mod transcript;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use send_wire::iun::Iun;
use send_wire::notification::{NewNotificationRequest, RequestStatusResponse, SentNotification};
use send_wire::values::NoticeCode;
use send_wire::{NewNotificationResponse, NotificationPriceResponseV23, PreLoadResponse, Problem};
use serde_json::{Value, json};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use transcript::{BodyRecord, Exchange, Transcript, redact_headers, redact_url};

/// Which versions of SEND's operations to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFamily {
    /// requests v2.6, detail v2.9, streams v2.9, price v2.3.
    Current,
    /// requests v2.3, detail v2.3, streams v2.3, price v2.3.
    V23,
}

impl ApiFamily {
    pub fn parse(s: &str) -> Result<ApiFamily, UnknownFamily> {
        match s {
            "current" => Ok(ApiFamily::Current),
            "v2.3" => Ok(ApiFamily::V23),
            other => Err(UnknownFamily(other.to_string())),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ApiFamily::Current => "current",
            ApiFamily::V23 => "v2.3",
        }
    }
    pub fn requests(self) -> &'static str {
        match self {
            ApiFamily::Current => "/delivery/v2.6/requests",
            ApiFamily::V23 => "/delivery/v2.3/requests",
        }
    }
    pub fn detail(self) -> &'static str {
        match self {
            ApiFamily::Current => "/delivery/v2.9/notifications/sent",
            ApiFamily::V23 => "/delivery/v2.3/notifications/sent",
        }
    }
    pub fn streams(self) -> &'static str {
        match self {
            ApiFamily::Current => "/delivery-progresses/v2.9/streams",
            ApiFamily::V23 => "/delivery-progresses/v2.3/streams",
        }
    }
}

/// A name that is not an API family.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown API family `{0}` (use current or v2.3)")]
pub struct UnknownFamily(String);

/// An answer SEND gave that was not what the operation expects, or no answer at all.
#[derive(Debug, Clone)]
pub enum ClientError {
    Http {
        status: u16,
        what: String,
        problem: Option<Box<Problem>>,
        body: String,
    },
    Transport {
        what: String,
        error: TransportError,
    },
    /// An answer with the expected status whose body is not what SEND's schema says.
    Schema {
        status: u16,
        what: String,
        error: std::sync::Arc<serde_json::Error>,
    },
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Http { .. } => None,
            ClientError::Transport { error, .. } => Some(error),
            ClientError::Schema { error, .. } => Some(&**error),
        }
    }
}

/// Why a request got no answer, with every cause in the chain (reqwest's own message stops
/// at "error sending request", which tells a PT nothing) and the error itself as its source.
#[derive(Debug, Clone)]
pub struct TransportError {
    pub kind: TransportKind,
    pub message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Two failures are the same failure when they are of one kind and say the same.
impl PartialEq for TransportError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for TransportError {}

/// The kinds of "no answer" a PT fixes differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The host name does not resolve.
    Dns,
    /// Nothing listens at that address.
    Refused,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    Timeout,
    /// The PDND token endpoint gave no voucher.
    Voucher,
    Other,
}

impl TransportError {
    /// The error and its causes, classified; the error kept as the source.
    pub fn of(e: impl std::error::Error + Send + Sync + 'static) -> TransportError {
        let mut t = TransportError::describe(&e);
        t.source = Some(Arc::new(e));
        t
    }

    /// A failure of `kind` caused by `e`.
    pub fn caused(kind: TransportKind, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        TransportError {
            kind,
            message: e.to_string(),
            source: Some(Arc::new(e)),
        }
    }

    fn describe(e: &(dyn std::error::Error + 'static)) -> TransportError {
        let mut chain = vec![e.to_string()];
        let mut source = e.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !chain.iter().any(|c| c.contains(&text)) {
                chain.push(text);
            }
            source = s.source();
        }
        let message = chain.join(": ");
        let lower = message.to_ascii_lowercase();
        let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
        let kind = if has(&["timed out", "timeout", "deadline has elapsed"]) {
            TransportKind::Timeout
        } else if has(&[
            "dns error",
            "failed to lookup address",
            "name or service not known",
            "no such host",
            "nodename nor servname",
        ]) {
            TransportKind::Dns
        } else if has(&["connection refused"]) {
            TransportKind::Refused
        } else if has(&[
            "certificate",
            "tls",
            "ssl",
            "handshake",
            // rustls's words for a server that does not speak TLS, or badly.
            "corrupt message",
            "invalidcontenttype",
            "peer is incompatible",
            "alert received",
        ]) {
            TransportKind::Tls
        } else {
            TransportKind::Other
        };
        TransportError {
            kind,
            message,
            source: None,
        }
    }
}

impl ClientError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } | ClientError::Schema { status, .. } => Some(*status),
            ClientError::Transport { .. } => None,
        }
    }
    /// SEND's error codes, if the answer was a Problem.
    pub fn codes(&self) -> Vec<String> {
        match self {
            ClientError::Http {
                problem: Some(p), ..
            } => p.errors.iter().map(|e| e.code.clone()).collect(),
            _ => vec![],
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Http {
                status,
                what,
                problem: Some(p),
                ..
            } => {
                let errs: Vec<String> = p
                    .errors
                    .iter()
                    .map(|e| {
                        format!(
                            "{}{}{}",
                            e.code,
                            e.element
                                .as_ref()
                                .map(|x| format!(" at {x}"))
                                .unwrap_or_default(),
                            e.detail
                                .as_ref()
                                .map(|d| format!(": {d}"))
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                write!(f, "{what}: HTTP {status} — {}", errs.join("; "))
            }
            ClientError::Http {
                status, what, body, ..
            } => write!(
                f,
                "{what}: HTTP {status} — {}",
                body.chars().take(300).collect::<String>()
            ),
            ClientError::Transport { what, error } => write!(f, "{what}: no answer ({error})"),
            ClientError::Schema {
                status,
                what,
                error,
            } => write!(
                f,
                "{what}: HTTP {status}, but the answer does not match SEND's schema: {error}"
            ),
        }
    }
}

/// An API key or a voucher: never printed.
pub use send_wire::Secret;

/// How transient failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            first_backoff: Duration::from_millis(200),
            timeout: Duration::from_secs(30),
        }
    }
}

/// A raw answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// The body as SEND's schema `T`, or why it is not.
    pub fn parse<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, ClientError> {
        serde_json::from_slice(&self.bytes).map_err(|e| ClientError::Schema {
            status: self.status,
            what: what.to_string(),
            error: std::sync::Arc::new(e),
        })
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Debug, Clone)]
pub struct SendClient {
    http: reqwest::Client,
    base: String,
    api_key: Secret,
    /// A fixed PDND voucher, sent as `Authorization: Bearer` (never to storage URLs)…
    pub voucher: Option<Secret>,
    /// …or the minter that obtains and renews one.
    pub minter: Option<std::sync::Arc<pdnd::VoucherMinter>>,
    pub family: ApiFamily,
    pub transcript: Transcript,
    pub retry: RetryPolicy,
}

impl SendClient {
    pub fn new(
        base: &str,
        api_key: Secret,
        family: ApiFamily,
        transcript: Transcript,
    ) -> SendClient {
        let retry = RetryPolicy::default();
        let http = reqwest::Client::builder()
            .timeout(retry.timeout)
            .build()
            .expect("HTTP client");
        SendClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            api_key,
            voucher: None,
            minter: None,
            family,
            transcript,
            retry,
        }
    }

    /// The same client acting with another Ente's key (TC-COSTO-01 scenario 2's creditor).
    pub fn as_ente(&self, api_key: Secret) -> SendClient {
        SendClient {
            api_key,
            voucher: None,
            minter: None,
            ..self.clone()
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// One exchange, recorded. `authenticated` adds the API key and voucher (not for storage).
    async fn exchange(
        &self,
        method: Method,
        url: &str,
        authenticated: bool,
        headers: HeaderMap,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, TransportError> {
        let mut req = self.http.request(method.clone(), url).headers(headers);
        if authenticated {
            req = req.header("x-api-key", self.api_key.expose());
            let voucher = match &self.minter {
                Some(m) => Some(
                    m.voucher()
                        .await
                        .map_err(|e| TransportError::caused(TransportKind::Voucher, e))?,
                ),
                None => self.voucher.clone(),
            };
            if let Some(v) = voucher {
                req = req.header("authorization", format!("Bearer {}", v.expose()));
            }
        }
        if let Some(b) = &body {
            req = req.body(b.clone());
        }
        let req = req.build().map_err(TransportError::of)?;
        let req_headers = redact_headers(req.headers());
        let req_ct = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let started = Instant::now();
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let result = self.http.execute(req).await;
        let (status, res_headers, bytes, error) = match result {
            Ok(res) => {
                let status = res.status().as_u16();
                let h = res.headers().clone();
                match res.bytes().await {
                    Ok(b) => (status, h, b.to_vec(), None),
                    Err(e) => (status, h, vec![], Some(TransportError::of(e))),
                }
            }
            Err(e) => (0, HeaderMap::new(), vec![], Some(TransportError::of(e))),
        };
        let res_ct = res_headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        self.transcript.push(Exchange {
            at,
            method: method.to_string(),
            url: redact_url(url),
            status,
            duration_ms: started.elapsed().as_millis() as u64,
            request_headers: req_headers,
            request_body: body
                .as_deref()
                .map(|b| BodyRecord::of(b, &req_ct))
                .unwrap_or(BodyRecord::None),
            response_headers: redact_headers(&res_headers),
            response_body: BodyRecord::of(&bytes, &res_ct),
        });
        match error {
            Some(e) => Err(e),
            None => Ok(Answer {
                status,
                headers: res_headers,
                bytes,
            }),
        }
    }

    /// A SEND API call; 429 and 5xx and lost answers are retried when `retry` (safe calls only).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        retry: bool,
        what: &str,
    ) -> Result<Answer, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut headers = HeaderMap::new();
        if body.is_some() {
            headers.insert("content-type", HeaderValue::from_static("application/json"));
        }
        let bytes = body.map(|b| serde_json::to_vec(b).expect("JSON body"));
        let mut backoff = self.retry.first_backoff;
        let attempts = if retry { self.retry.attempts } else { 1 };
        let mut last_err = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
            match self
                .exchange(method.clone(), &url, true, headers.clone(), bytes.clone())
                .await
            {
                Ok(a) if a.status == 429 || a.status >= 500 => {
                    if let Some(ms) = a.header("retry-after").and_then(|r| r.parse::<u64>().ok()) {
                        backoff = backoff.max(Duration::from_millis(ms));
                    }
                    last_err = Some(http_error(&a, what));
                }
                Ok(a) => return Ok(a),
                Err(e) => {
                    last_err = Some(ClientError::Transport {
                        what: what.to_string(),
                        error: e,
                    })
                }
            }
        }
        Err(last_err.expect("at least one attempt"))
    }

    /// A call that must answer `expected`.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        expected: u16,
        what: &str,
    ) -> Result<Answer, ClientError> {
        let safe = method == Method::GET || method == Method::DELETE;
        let a = self.call(method, path, body, safe, what).await?;
        if a.status == expected {
            Ok(a)
        } else {
            Err(http_error(&a, what))
        }
    }

    pub async fn preload(
        &self,
        files: &[(String, String, String)],
    ) -> Result<Vec<PreLoadResponse>, ClientError> {
        let body: Vec<Value> = files
            .iter()
            .map(|(idx, ct, sha)| json!({"preloadIdx": idx, "contentType": ct, "sha256": sha}))
            .collect();
        let a = self
            .expect(
                Method::POST,
                "/delivery/attachments/preload",
                Some(&json!(body)),
                200,
                "preload",
            )
            .await?;
        a.parse("preload")
    }

    /// Uploads to a presigned URL (no API key, no voucher: storage must not get them);
    /// returns `x-amz-version-id`.
    pub async fn upload(
        &self,
        slot: &PreLoadResponse,
        content_type: &str,
        bytes: &[u8],
        sha256: &str,
    ) -> Result<String, ClientError> {
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            HeaderValue::from_str(content_type).map_err(|e| transport("upload", e))?,
        );
        h.insert(
            "x-amz-meta-secret",
            HeaderValue::from_str(&slot.secret).map_err(|e| transport("upload", e))?,
        );
        h.insert(
            "x-amz-checksum-sha256",
            HeaderValue::from_str(sha256).map_err(|e| transport("upload", e))?,
        );
        let method = if slot.http_method == "POST" {
            Method::POST
        } else {
            Method::PUT
        };
        let a = self
            .exchange(method, &slot.url, false, h, Some(bytes.to_vec()))
            .await
            .map_err(|e| ClientError::Transport {
                what: "upload".into(),
                error: e,
            })?;
        if a.status != 200 {
            return Err(http_error(&a, "upload"));
        }
        a.header("x-amz-version-id")
            .map(str::to_string)
            .ok_or_else(|| ClientError::Http {
                status: 200,
                what: "upload".into(),
                problem: None,
                body: "the storage answered without x-amz-version-id".into(),
            })
    }

    /// Sends a notification. A lost answer (timeout, 5xx) is never blindly repeated: the
    /// request is looked up by paProtocolNumber + idempotenceToken first.
    pub async fn send(&self, request: &NewNotificationRequest) -> Result<String, ClientError> {
        let path = self.family.requests();
        let body = serde_json::to_value(request).expect("a request serialises");
        let what = "send notification";
        match self
            .call(Method::POST, path, Some(&body), false, what)
            .await
        {
            Ok(a) if a.status == 202 => Ok(a
                .parse::<NewNotificationResponse>(what)?
                .notification_request_id),
            Ok(a) if a.status < 500 && a.status != 429 => Err(http_error(&a, what)),
            lost => {
                let q = format!(
                    "{path}?paProtocolNumber={}&idempotenceToken={}",
                    urlencode(&request.pa_protocol_number),
                    urlencode(request.idempotence_token.as_deref().unwrap_or_default())
                );
                let lookup = "look up a send whose answer was lost";
                match self.call(Method::GET, &q, None, true, lookup).await {
                    Ok(a) if a.status == 200 => Ok(a
                        .parse::<RequestStatusResponse>(lookup)?
                        .notification_request_id),
                    _ => Err(match lost {
                        Ok(a) => http_error(&a, what),
                        Err(e) => e,
                    }),
                }
            }
        }
    }

    pub async fn request_status(
        &self,
        request_id: &str,
    ) -> Result<RequestStatusResponse, ClientError> {
        let path = format!(
            "{}?notificationRequestId={}",
            self.family.requests(),
            urlencode(request_id)
        );
        self.get(&path, "request status").await
    }

    pub async fn detail(&self, iun: &Iun) -> Result<SentNotification, ClientError> {
        let path = format!("{}/{iun}", self.family.detail());
        self.get(&path, "notification detail").await
    }

    pub async fn get_json(&self, path: &str, what: &str) -> Result<Value, ClientError> {
        Ok(self
            .expect(Method::GET, path, None, 200, what)
            .await?
            .json())
    }

    /// A GET that must answer 200 with SEND's schema `T`.
    pub async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
    ) -> Result<T, ClientError> {
        self.expect(Method::GET, path, None, 200, what)
            .await?
            .parse(what)
    }

    /// Downloads a presigned URL (no API key).
    pub async fn download(&self, url: &str) -> Result<Vec<u8>, ClientError> {
        let a = self
            .exchange(Method::GET, url, false, HeaderMap::new(), None)
            .await
            .map_err(|e| ClientError::Transport {
                what: "download".into(),
                error: e,
            })?;
        if a.status == 200 {
            Ok(a.bytes)
        } else {
            Err(http_error(&a, "download"))
        }
    }

    pub async fn price(
        &self,
        creditor: &str,
        notice: &NoticeCode,
    ) -> Result<NotificationPriceResponseV23, ClientError> {
        self.get(
            &format!("/delivery/v2.3/price/{creditor}/{notice}"),
            "notification price",
        )
        .await
    }
}

fn transport(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> ClientError {
    ClientError::Transport {
        what: what.to_string(),
        error: TransportError::caused(TransportKind::Other, e),
    }
}

fn http_error(a: &Answer, what: &str) -> ClientError {
    ClientError::Http {
        status: a.status,
        what: what.to_string(),
        problem: serde_json::from_slice(&a.bytes).ok().map(Box::new),
        body: String::from_utf8_lossy(&a.bytes)
            .chars()
            .take(500)
            .collect(),
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
