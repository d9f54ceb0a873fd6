//! Forwarding: a call goes to the upstream (or, under `/_conformance/s3/`, to the storage host
//! SEND named) with its method, headers and body; the answer comes back as it was, except the
//! presigned URLs in JSON answers, which are pointed back at the proxy.

use super::tee::{BoxError, ByteStream, Tee};
use super::{ProxyState, Upstream};
use crate::client::transcript::{BodyRecord, Exchange, redact_headers, redact_url};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// JSON bodies up to this size are read whole (to record and, for answers, rewrite them);
/// anything else streams through.
const JSON_WHOLE: u64 = 16 * 1024 * 1024;
/// Where a storage URL of another host is served on the proxy.
const S3_PREFIX: &str = "/_conformance/s3/";

/// `scheme://authority` of a URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    ))
}

/// A Problem of the proxy's own (the upstream never said it), marked as such.
pub fn proxy_problem(status: u16, code: &str, detail: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = json!({
        "status": status.as_u16(),
        "title": status.canonical_reason().unwrap_or("Error"),
        "detail": format!("send-conformance proxy: {detail}"),
        "errors": [{"code": code, "detail": detail}],
    });
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// Hop-by-hop headers, and those the proxy sets itself.
fn forwarded(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            // Answers come back unencoded so they can be recorded and their URLs rewritten.
            | "accept-encoding"
    )
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"))
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The first 8 hex digits of a key's sha256.
fn fingerprint(key: &str) -> String {
    let d = Sha256::digest(key.as_bytes());
    d.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// Why the proxy answers a call itself instead of forwarding it.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("{0} is not a storage host SEND named in an answer")]
    UnknownStorageHost(String),
    #[error("the request body could not be read: {0}")]
    Body(String),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match &self {
            Refused::UnknownStorageHost(_) => {
                proxy_problem(403, "PROXY_UNKNOWN_STORAGE_HOST", &self.to_string())
            }
            Refused::Body(_) => proxy_problem(400, "PROXY_BODY", &self.to_string()),
        }
    }
}

/// Where a call goes, and whose it is.
struct Route {
    url: String,
    /// The other key whose call this is (none: the Ente's, or its creditor's).
    other_key: Option<String>,
}

impl ProxyState {
    /// The upstream URL of a call to the proxy, or why it cannot be forwarded.
    fn route(&self, req: &Request) -> Result<Route, Refused> {
        let pq = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let url = match pq.strip_prefix(S3_PREFIX) {
            Some(rest) => {
                let (scheme, rest) = rest.split_once('/').unwrap_or((rest, ""));
                let cut = rest.find(['/', '?']).unwrap_or(rest.len());
                let (authority, tail) = rest.split_at(cut);
                let origin = format!("{scheme}://{authority}").to_ascii_lowercase();
                let known = self
                    .storage_hosts
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .contains(&origin);
                if !known {
                    return Err(Refused::UnknownStorageHost(origin));
                }
                format!("{origin}{}", if tail.is_empty() { "/" } else { tail })
            }
            None => format!("{}{pq}", self.upstream.base),
        };
        let other_key = match req.headers().get("x-api-key").and_then(|v| v.to_str().ok()) {
            Some(k) if k == self.key.expose() => None,
            Some(k) if self.creditor_key.as_ref().is_some_and(|c| c.expose() == k) => None,
            Some(k) => Some(fingerprint(k)),
            // Storage calls carry no key: they are whoever's the URL was handed to.
            None => self
                .issued
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(url.split('?').next().unwrap_or(&url))
                .cloned()
                .flatten(),
        };
        Ok(Route { url, other_key })
    }

    /// The proxy's address for a presigned URL (keeping note of whom it was handed to).
    fn through_proxy(&self, url: &str, proxy: &str, other_key: &Option<String>) -> Option<String> {
        let origin = origin_of(url)?;
        if !origin.starts_with("http://") && !origin.starts_with("https://") {
            return None;
        }
        let tail = &url[url.find("://")? + 3..];
        let tail = tail.find(['/', '?']).map_or("/", |i| &tail[i..]);
        let path = tail.split('?').next().unwrap_or(tail);
        self.issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(format!("{origin}{path}"), other_key.clone());
        if origin == self.upstream.origin {
            return Some(format!("{proxy}{tail}"));
        }
        self.storage_hosts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(origin.clone());
        let (scheme, authority) = origin.split_once("://")?;
        Some(format!("{proxy}{S3_PREFIX}{scheme}/{authority}{tail}"))
    }

    /// Points every `url` of a JSON answer at the proxy.
    fn rewrite(&self, v: &mut Value, proxy: &str, other_key: &Option<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    match x {
                        Value::String(s) if k == "url" => {
                            if let Some(n) = self.through_proxy(s, proxy, other_key) {
                                *s = n;
                            }
                        }
                        _ => self.rewrite(x, proxy, other_key),
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.rewrite(x, proxy, other_key)),
            _ => {}
        }
    }
}

/// The proxy's own origin as the client reached it.
fn proxy_origin(req: &Request, st: &ProxyState) -> String {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| st.listen.to_string(), str::to_string);
    format!("http://{host}")
}

/// What is known of a call before its answer's body.
struct Pending {
    at: String,
    started: Instant,
    method: String,
    url: String,
    request_headers: Vec<(String, String)>,
    request_body: Arc<Mutex<Option<BodyRecord>>>,
    other_key: Option<String>,
}

impl Pending {
    fn exchange(
        self,
        status: u16,
        headers: &HeaderMap,
        body: BodyRecord,
    ) -> (Exchange, Option<String>) {
        let request_body = self
            .request_body
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or(BodyRecord::None);
        let x = Exchange {
            at: self.at,
            method: self.method,
            url: redact_url(&self.url),
            status,
            duration_ms: self.started.elapsed().as_millis() as u64,
            request_headers: self.request_headers,
            request_body,
            response_headers: redact_headers(headers),
            response_body: body,
        };
        (x, self.other_key)
    }
}

/// The request's body for the upstream: JSON read whole (and recorded as JSON), anything else
/// streamed with its digest taken on the way.
async fn request_body(
    body: Body,
    headers: &HeaderMap,
    slot: &Arc<Mutex<Option<BodyRecord>>>,
) -> Result<reqwest::Body, Refused> {
    let length = content_length(headers);
    if is_json(headers) && length.is_none_or(|l| l <= JSON_WHOLE) {
        let bytes = axum::body::to_bytes(body, JSON_WHOLE as usize)
            .await
            .map_err(|e| Refused::Body(e.to_string()))?;
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(BodyRecord::of(&bytes, ct));
        return Ok(reqwest::Body::from(bytes));
    }
    let slot = slot.clone();
    let stream: ByteStream = Box::pin(body.into_data_stream().map_err(|e| Box::new(e) as BoxError));
    let tee = Tee::new(
        stream,
        length,
        Box::new(move |record, _| *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(record)),
    );
    Ok(reqwest::Body::wrap_stream(tee))
}

/// The fallback handler: every call that is not the proxy's own page.
pub async fn forward(State(st): State<Arc<ProxyState>>, req: Request) -> Response {
    let route = match st.route(&req) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let proxy = proxy_origin(&req, &st);
    let (parts, body) = req.into_parts();
    let pending = Pending {
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        started: Instant::now(),
        method: parts.method.to_string(),
        url: route.url.clone(),
        request_headers: redact_headers(&parts.headers),
        request_body: Arc::default(),
        other_key: route.other_key.clone(),
    };
    let body = match request_body(body, &parts.headers, &pending.request_body).await {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let mut rb = st.client.request(parts.method.clone(), &route.url);
    for (name, value) in parts.headers.iter().filter(|(n, _)| forwarded(n)) {
        // A body read whole gets its length from reqwest.
        if name == header::CONTENT_LENGTH && is_json(&parts.headers) {
            continue;
        }
        rb = rb.header(name, value);
    }
    let answer = match rb.body(body).send().await {
        Ok(a) => a,
        Err(e) => return unreachable_upstream(&st, pending, &e),
    };
    answer_back(st, pending, answer, &proxy, route.other_key).await
}

/// The upstream did not answer: the client gets a 502 of the proxy's, and the call is recorded.
fn unreachable_upstream(st: &ProxyState, pending: Pending, e: &reqwest::Error) -> Response {
    let detail = format!(
        "{} did not answer: {e}",
        st.upstream.origin_for(&pending.url)
    );
    let r = proxy_problem(502, "PROXY_UPSTREAM_UNREACHABLE", &detail);
    let (x, other) = pending.exchange(502, r.headers(), BodyRecord::None);
    st.record(x, other);
    r
}

impl Upstream {
    fn origin_for(&self, url: &str) -> String {
        origin_of(url).unwrap_or_else(|| self.origin.clone())
    }
}

/// The upstream's answer for the client: JSON read whole, recorded as it came and rewritten;
/// anything else streamed, recorded when its last byte has passed.
async fn answer_back(
    st: Arc<ProxyState>,
    pending: Pending,
    answer: reqwest::Response,
    proxy: &str,
    other_key: Option<String>,
) -> Response {
    let status = answer.status();
    let mut headers = HeaderMap::new();
    for (name, value) in answer.headers().iter().filter(|(n, _)| forwarded(n)) {
        headers.append(name.clone(), value.clone());
    }
    let length = content_length(&headers);
    if is_json(&headers) && length.is_none_or(|l| l <= JSON_WHOLE) {
        let bytes: Bytes = match answer.bytes().await {
            Ok(b) => b,
            Err(e) => return unreachable_upstream(&st, pending, &e),
        };
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let (x, other) = pending.exchange(status.as_u16(), &headers, BodyRecord::of(&bytes, &ct));
        st.record(x, other);
        let out = match serde_json::from_slice::<Value>(&bytes) {
            Ok(mut v) => {
                st.rewrite(&mut v, proxy, &other_key);
                Bytes::from(serde_json::to_vec(&v).unwrap_or_else(|_| bytes.to_vec()))
            }
            Err(_) => bytes,
        };
        headers.remove(header::CONTENT_LENGTH);
        let mut r = Response::new(Body::from(out));
        *r.status_mut() = status;
        *r.headers_mut() = headers;
        return r;
    }
    let recorded_headers = headers.clone();
    let state = st.clone();
    let stream: ByteStream = Box::pin(answer.bytes_stream().map_err(|e| Box::new(e) as BoxError));
    let tee = Tee::new(
        stream,
        length,
        Box::new(move |record, _whole| {
            let (x, other) = pending.exchange(status.as_u16(), &recorded_headers, record);
            state.record(x, other);
        }),
    );
    let mut r = Response::new(Body::from_stream(tee));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_and_authority() {
        assert_eq!(
            origin_of("https://Bucket.s3.eu-south-1.amazonaws.com/K.pdf?X-Amz-Date=1").as_deref(),
            Some("https://bucket.s3.eu-south-1.amazonaws.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of("not a url"), None);
    }

    #[test]
    fn keys_are_told_apart_without_being_shown() {
        let f = fingerprint("super-secret-key");
        assert_eq!(f.len(), 8);
        assert!(!f.contains("secret"));
        assert_ne!(f, fingerprint("another-key"));
    }
}
