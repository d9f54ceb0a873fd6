//! What a PT needs to debug its own client: every request the mock served, as it came and as
//! it was answered. `GET /mock/requests` answers the caller's Ente's newest ones; with
//! `--log-requests` the mock prints one line per request. Both are redacted the same way: API
//! keys, vouchers and authorization headers are never kept, upload secrets, access tokens,
//! client assertions and presigned URLs' signatures and credentials are replaced by
//! `[redacted]`. Not journaled: a restart starts an empty log.

use super::AppState;
use super::auth::Caller;
use super::extract::ApiQuery;
use super::problem::{ApiError, ApiResult};
use crate::domain::ente::EnteId;
use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Requests kept per Ente, at most.
pub const KEPT: usize = 500;
/// Body bytes kept per Ente, at most (the oldest requests go first beyond).
const BYTES_KEPT: usize = 16 * 1024 * 1024;
/// Bodies larger than this are summarised, not kept.
const BODY_KEPT: usize = 256 * 1024;
const REDACTED: &str = "[redacted]";

/// One request as served, before redaction (bodies kept as bytes: cheap to keep, rendered
/// only when asked for).
#[derive(Debug, Clone)]
struct Entry {
    id: u64,
    at: std::time::SystemTime,
    ente: Option<EnteId>,
    method: axum::http::Method,
    path: String,
    query: Option<String>,
    status: u16,
    duration_us: u64,
    request: Kept,
    response: Kept,
    mock_reason: Option<String>,
}

/// A body as kept: JSON or text when small enough, otherwise what it was.
#[derive(Debug, Clone)]
enum Kept {
    None,
    Json(Bytes),
    Text(Bytes),
    Opaque { content_type: String, bytes: u64 },
}

impl Kept {
    fn len(&self) -> usize {
        match self {
            Kept::Json(b) | Kept::Text(b) => b.len(),
            _ => 0,
        }
    }

    fn render(&self) -> Value {
        match self {
            Kept::None => Value::Null,
            Kept::Json(b) => match serde_json::from_slice::<Value>(b) {
                Ok(mut v) => {
                    redact(&mut v);
                    v
                }
                Err(_) => json!(format!(
                    "(not JSON, {} bytes) {}",
                    b.len(),
                    String::from_utf8_lossy(&b[..b.len().min(200)])
                )),
            },
            Kept::Text(b) => json!(redact_text(&String::from_utf8_lossy(b))),
            Kept::Opaque {
                content_type,
                bytes,
            } => json!(format!("({bytes} bytes of {content_type})")),
        }
    }
}

/// The log: per Ente, the newest `KEPT` requests.
#[derive(Debug, Default)]
pub struct RequestLog {
    next_id: AtomicU64,
    /// Per Ente: its requests, and the body bytes they hold.
    per_ente: Mutex<HashMap<EnteId, (VecDeque<Entry>, usize)>>,
    /// `--log-requests`: print each request as a line.
    pub print: bool,
}

impl RequestLog {
    pub fn new(print: bool) -> RequestLog {
        RequestLog {
            print,
            ..Default::default()
        }
    }

    fn keep(&self, e: Entry) {
        let Some(ente) = e.ente else { return };
        let mut map = self.per_ente.lock().unwrap_or_else(|p| p.into_inner());
        let (list, bytes) = map.entry(ente).or_default();
        *bytes += e.request.len() + e.response.len();
        list.push_back(e);
        while list.len() > KEPT || (*bytes > BYTES_KEPT && list.len() > 1) {
            if let Some(old) = list.pop_front() {
                *bytes -= old.request.len() + old.response.len();
            }
        }
    }

    fn of(&self, ente: EnteId, after: u64, limit: usize) -> Vec<Entry> {
        let map = self.per_ente.lock().unwrap_or_else(|p| p.into_inner());
        let list = map.get(&ente).map(|(l, _)| l.iter()).into_iter().flatten();
        let newer: Vec<&Entry> = list.filter(|e| e.id > after).collect();
        let skip = newer.len().saturating_sub(limit);
        newer.into_iter().skip(skip).cloned().collect()
    }
}

fn render(e: &Entry, ente_name: Option<&str>) -> Value {
    let response = e.response.render();
    let codes: Vec<Value> = response["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.get("code").cloned())
        .collect();
    let mut v = json!({
        "id": e.id,
        "at": crate::domain::clock::rfc3339(e.at.into()),
        "method": e.method.as_str(),
        "path": e.path,
        "status": e.status,
        "durationMs": e.duration_us as f64 / 1000.0,
        "problemCodes": codes,
        "request": e.request.render(),
        "response": response,
    });
    if let Some(q) = &e.query {
        v["query"] = json!(redact_text(q));
    }
    if let Some(r) = &e.mock_reason {
        v["mockReason"] = json!(r);
    }
    if let Some(n) = ente_name {
        v["ente"] = json!(n);
    }
    v
}

/// Replaces the secrets a SEND exchange carries: upload secrets, tokens, assertions, keys, and
/// the signature and credential of any presigned URL in a string.
pub fn redact(v: &mut Value) {
    const SECRET_KEYS: [&str; 8] = [
        "secret",
        "access_token",
        "client_assertion",
        "x-api-key",
        "apiKey",
        "api_key",
        "authorization",
        "voucher",
    ];
    match v {
        Value::Object(m) => redact_object(m, &SECRET_KEYS),
        Value::Array(a) => a.iter_mut().for_each(redact),
        Value::String(s) if s.contains("X-Amz-") => *s = redact_text(s),
        _ => {}
    }
}

fn redact_object(m: &mut Map<String, Value>, secret_keys: &[&str]) {
    for (k, v) in m.iter_mut() {
        if secret_keys.iter().any(|s| s.eq_ignore_ascii_case(k)) {
            *v = json!(REDACTED);
        } else {
            redact(v);
        }
    }
}

/// A URL, query or form with its `X-Amz-Signature` and `X-Amz-Credential` values replaced
/// (the credential names the grant, as good as the signature for a download), and any upload
/// secret or client assertion.
pub fn redact_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    const SECRET_PARAMS: [&str; 4] = [
        "X-Amz-Signature=",
        "X-Amz-Credential=",
        "x-amz-meta-secret=",
        "client_assertion=",
    ];
    while let Some(i) = SECRET_PARAMS
        .iter()
        .filter_map(|p| rest.find(p).map(|i| (i, p.len())))
        .min()
    {
        let (at, len) = i;
        out.push_str(&rest[..at + len]);
        out.push_str(REDACTED);
        rest = &rest[at + len..];
        let end = rest
            .find(|c: char| c == '&' || c == '"' || c.is_whitespace() || c == '<')
            .unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn content_type(h: &HeaderMap) -> &str {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn content_length(h: &HeaderMap) -> Option<u64> {
    h.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// Whether a body of this type and length is kept, and as what.
fn keeps(ct: &str, len: Option<u64>) -> Option<fn(Bytes) -> Kept> {
    if len.is_some_and(|l| l as usize > BODY_KEPT) {
        return None;
    }
    if ct.contains("json") {
        Some(Kept::Json)
    } else if ct.contains("xml") || ct.starts_with("text/") || ct.contains("form-urlencoded") {
        Some(Kept::Text)
    } else {
        None
    }
}

/// Collects a body the log keeps; hands back an equivalent body for the request to go on.
async fn take(body: Body, h: &HeaderMap) -> Result<(Kept, Body), Response> {
    let ct = content_type(h);
    let len = content_length(h);
    let Some(kind) = keeps(ct, len) else {
        let kept = match len {
            Some(0) | None if ct.is_empty() => Kept::None,
            _ => Kept::Opaque {
                content_type: if ct.is_empty() {
                    "unknown type".into()
                } else {
                    ct.to_string()
                },
                bytes: len.unwrap_or(0),
            },
        };
        return Ok((kept, body));
    };
    match to_bytes(body, super::extract::JSON_LIMIT * 8).await {
        Ok(b) if b.is_empty() => Ok((Kept::None, Body::from(b))),
        Ok(b) => Ok((kind(b.clone()), Body::from(b))),
        Err(e) => Err(super::extract::body_read_error(&e).into_response()),
    }
}

/// The middleware: times the request and keeps it, with its answer, for its Ente.
pub async fn log<F, Fut>(state: &AppState, req: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let path = req.uri().path();
    if path.starts_with("/mock/") || path == "/checklistresult" {
        return next(req).await;
    }
    let started = Instant::now();
    let ente = super::recorder::ente_of(state, &req);
    if ente.is_none() && !state.request_log.print {
        return next(req).await;
    }
    let path = path.to_string();
    let method = req.method().clone();
    let query = req.uri().query().map(str::to_string);
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(super::recorder::EnteOf(ente));
    let (request, body) = match take(body, &parts.headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let res = next(Request::from_parts(parts, body)).await;
    let (parts, body) = res.into_parts();
    let (response, body) = match take(body, &parts.headers).await {
        Ok(x) => x,
        Err(_) => (Kept::None, Body::empty()),
    };
    let mock_reason = parts
        .headers
        .get("x-send-mock-reason")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let entry = Entry {
        id: state.request_log.next_id.fetch_add(1, Ordering::Relaxed) + 1,
        at: std::time::SystemTime::now(),
        ente,
        method,
        path,
        query,
        status: parts.status.as_u16(),
        duration_us: started.elapsed().as_micros() as u64,
        request,
        response,
        mock_reason,
    };
    if state.request_log.print {
        print_line(state, &entry);
    }
    state.request_log.keep(entry);
    Response::from_parts(parts, body)
}

fn print_line(state: &AppState, e: &Entry) {
    let name = e.ente.map(|i| state.store.ente(i).name.as_str());
    let v = render(e, name);
    let mut bodies = json!({"request": v["request"], "response": v["response"]});
    if let Some(r) = v.get("mockReason") {
        bodies["mockReason"] = r.clone();
    }
    tracing::info!(
        target: "send_mock::requests",
        "{} {}{} → {} ({} ms) ente={} {}",
        e.method,
        e.path,
        e.query.as_deref().map(|q| format!("?{}", redact_text(q))).unwrap_or_default(),
        e.status,
        v["durationMs"],
        name.unwrap_or("(none)"),
        bodies
    );
}

pub fn router() -> Router<AppState> {
    Router::new().route("/mock/requests", get(requests))
}

#[derive(Debug, Deserialize)]
struct Page {
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /mock/requests[?after=ID][&limit=N]`: the caller's Ente's requests, newest last.
async fn requests(
    State(state): State<AppState>,
    Caller(ente): Caller,
    ApiQuery(p): ApiQuery<Page>,
) -> ApiResult<Json<Value>> {
    let number = |v: Option<&str>, name: &str, default: u64| -> ApiResult<u64> {
        v.map_or(Ok(default), |s| {
            s.parse().map_err(|_| {
                ApiError::invalid_parameter(name, format!("{name} `{s}` is not a whole number"))
            })
        })
    };
    let after = number(p.after.as_deref(), "after", 0)?;
    let limit = number(p.limit.as_deref(), "limit", KEPT as u64)? as usize;
    let list: Vec<Value> = state
        .request_log
        .of(ente, after, limit)
        .iter()
        .map(|e| render(e, None))
        .collect();
    Ok(Json(json!({
        "ente": state.store.ente(ente).name,
        "kept": KEPT,
        "requests": list,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_signatures_are_redacted_wherever_they_are() {
        let mut v = json!([{
            "preloadIdx": "0",
            "secret": "s3cr3t",
            "url": "http://h/storage/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=grant%2F20261204&X-Amz-Signature=abcdef&X-Amz-Expires=3600",
            "nested": {"access_token": "eyJ", "Authorization": "Bearer x", "keep": "me"}
        }]);
        redact(&mut v);
        let text = v.to_string();
        for gone in ["s3cr3t", "abcdef", "grant%2F20261204", "eyJ", "Bearer x"] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
        assert!(text.contains("X-Amz-Expires=3600") && text.contains("\"keep\":\"me\""));
        assert!(text.contains("X-Amz-Signature=[redacted]"), "{text}");
    }

    #[test]
    fn a_form_body_loses_its_assertion_and_text_keeps_the_rest() {
        let form = "client_id=c&client_assertion=eyJhbGciOi.x.y&grant_type=client_credentials";
        let shown = Kept::Text(Bytes::from(form)).render();
        assert_eq!(
            shown,
            "client_id=c&client_assertion=[redacted]&grant_type=client_credentials"
        );
        assert_eq!(
            redact_text("a?X-Amz-Signature=zz&b=1 x-amz-meta-secret=qq"),
            "a?X-Amz-Signature=[redacted]&b=1 x-amz-meta-secret=[redacted]"
        );
    }

    #[test]
    fn the_log_keeps_the_newest_per_ente_and_pages_after_an_id() {
        let log = RequestLog::default();
        for id in 1..=(KEPT as u64 + 5) {
            log.keep(Entry {
                id,
                at: std::time::SystemTime::now(),
                ente: Some(EnteId::new((id % 2) as usize)),
                method: axum::http::Method::GET,
                path: "/status".into(),
                query: None,
                status: 200,
                duration_us: 1,
                request: Kept::None,
                response: Kept::None,
                mock_reason: None,
            });
        }
        let odd = log.of(EnteId::new(1), 0, KEPT);
        assert_eq!(odd.len(), (KEPT + 5).div_ceil(2));
        assert!(odd.windows(2).all(|w| w[0].id < w[1].id), "newest last");
        let after = log.of(EnteId::new(1), odd[odd.len() - 3].id, KEPT);
        assert_eq!(after.len(), 2);
        assert_eq!(log.of(EnteId::new(1), 0, 3).len(), 3);
        assert_eq!(
            log.of(EnteId::new(1), 0, 3).last().unwrap().id,
            odd.last().unwrap().id
        );
    }
}
