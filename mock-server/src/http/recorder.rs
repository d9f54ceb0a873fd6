//! Records every SEND call per Ente for the client checklist: method, path, query, status,
//! JSON bodies and the headers the checks read. Secrets are never kept; file bodies neither.

use super::AppState;
use crate::domain::ente::EnteId;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use send_checklist::{Call, KEPT_REQUEST_HEADERS, KEPT_RESPONSE_HEADERS};
use std::collections::BTreeMap;
use std::future::Future;

const BODY_LIMIT: usize = super::extract::JSON_LIMIT;

/// The first value of each header in `names` that `h` has. Goes through the names `h` has
/// rather than looking each wanted name up: a lookup by `&str` parses the name first.
fn kept(h: &HeaderMap, names: &[&str]) -> BTreeMap<String, String> {
    h.keys()
        .filter(|name| names.contains(&name.as_str()))
        .filter_map(|name| {
            let value = h.get(name)?.to_str().ok()?;
            Some((name.as_str().to_string(), value.to_string()))
        })
        .collect()
}

fn is_json(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"))
}

/// The Ente of a request, once found: the outer middleware finds it, the inner ones read it.
#[derive(Debug, Clone, Copy)]
pub struct EnteOf(pub Option<EnteId>);

/// The Ente a call belongs to: its API key, or for storage the owner of the slot or grant.
pub fn ente_of(state: &AppState, req: &Request) -> Option<EnteId> {
    if let Some(EnteOf(ente)) = req.extensions().get::<EnteOf>() {
        return *ente;
    }
    let h = req.headers();
    if let Some(key) = h.get(&super::auth::API_KEY).and_then(|v| v.to_str().ok()) {
        return state.store.ente_with_key(key);
    }
    let path = req.uri().path();
    let mut segs = path.trim_start_matches('/').split('/');
    match (segs.next(), segs.next(), segs.next(), segs.next()) {
        (Some("storage"), Some(_bucket), Some(key), None) => match *req.method() {
            // Uploads name their slot; downloads their grant, in the credential.
            axum::http::Method::GET => {
                let query = crate::domain::presign::query_pairs(req.uri().query()?);
                let (_, credential) = query.iter().find(|(k, _)| k == "X-Amz-Credential")?;
                state.store.grant_owner(credential.split('/').next()?)
            }
            _ => state.store.slot(key).map(|s| s.ente),
        },
        _ => None,
    }
}

/// What the checklist keeps of an answer (the JSON its checks read, an XML receipt's text),
/// and the answer to send on, rebuilt from the bytes read.
async fn kept_answer(
    op: &send_checklist::Op,
    res: Response,
) -> (Option<serde_json::Value>, Option<String>, Response) {
    let ct = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !Call::response_matters(op) || !(ct.contains("json") || ct.contains("xml")) {
        return (None, None, res);
    }
    let (parts, body) = res.into_parts();
    match to_bytes(body, BODY_LIMIT * 8).await {
        Ok(b) => {
            let json = ct
                .contains("json")
                .then(|| serde_json::from_slice(&b).ok())
                .flatten()
                .map(|v| Call::kept_response(op, v));
            let text = ct
                .contains("xml")
                .then(|| String::from_utf8_lossy(&b).into_owned());
            (json, text, Response::from_parts(parts, Body::from(b)))
        }
        Err(_) => (
            None,
            None,
            super::problem::ApiError::internal("response too large to record").into_response(),
        ),
    }
}

pub async fn record<F, Fut>(state: &AppState, req: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let path = req.uri().path().to_string();
    if path.starts_with("/mock/") || path == "/checklistresult" {
        return next(req).await;
    }
    let Some(ente) = ente_of(state, &req) else {
        return next(req).await;
    };
    let method = req.method().to_string();
    let query: BTreeMap<String, String> = req
        .uri()
        .query()
        .map(|q| serde_urlencoded::from_str(q).unwrap_or_default())
        .unwrap_or_default();
    let request_headers = kept(req.headers(), &KEPT_REQUEST_HEADERS);
    let at_ms = chrono::Utc::now().timestamp_millis();
    let (parts, body) = req.into_parts();
    let (request, body) = if is_json(&parts.headers) {
        match to_bytes(body, BODY_LIMIT).await {
            Ok(b) => (serde_json::from_slice(&b).ok(), Body::from(b)),
            // The body is gone: answer here what the handler's extractor would have.
            Err(e) => return super::extract::body_read_error(&e).into_response(),
        }
    } else {
        (None, body)
    };
    let res = next(Request::from_parts(parts, body)).await;
    let status = res.status().as_u16();
    let response_headers = kept(res.headers(), &KEPT_RESPONSE_HEADERS);
    // The body does not tell a stream's type apart here; the path is all these two need.
    let op = send_checklist::Op::of(&method, &path, None);
    let (response, response_text, res) = kept_answer(&op, res).await;
    state.store.record(
        ente,
        Call {
            id: 0,
            at_ms,
            method,
            path,
            query,
            status,
            request_headers,
            request,
            response,
            response_headers,
            response_text,
        },
    );
    res
}

#[cfg(test)]
mod tests {
    use super::kept;
    use axum::http::{HeaderMap, HeaderValue};

    #[test]
    fn kept_takes_the_first_value_of_the_wanted_headers_only() {
        let mut h = HeaderMap::new();
        h.append("content-type", HeaderValue::from_static("application/json"));
        h.append("content-type", HeaderValue::from_static("text/plain"));
        h.append("x-api-key", HeaderValue::from_static("secret"));
        h.append("trailer", HeaderValue::from_bytes(b"\xff").unwrap());
        h.append("retry-after", HeaderValue::from_static("3"));
        let got = kept(
            &h,
            &["content-type", "trailer", "retry-after", "x-amz-trailer"],
        );
        let want: Vec<(&str, &str)> =
            vec![("content-type", "application/json"), ("retry-after", "3")];
        assert_eq!(
            got.iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            want
        );
    }
}
