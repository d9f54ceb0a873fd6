//! Limits on what a request may be, answered as SEND Problems before any handler runs: URI
//! length (414), header count and size (431), and the time a request may take (408).
//!
//! SEND's gateway has limits of its own that are not published; these are generous for any real
//! client and small enough that a hostile one cannot hold the mock. hyper's own limits (100
//! headers, about 400 KiB of head) sit above them and answer without a body.

use super::AppState;
use super::problem::ApiError;
use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::future::Future;

/// Longest request target (path and query) accepted.
pub const MAX_URI: usize = 8 * 1024;
/// Most headers accepted.
pub const MAX_HEADERS: usize = 64;
/// Largest total size of the header names and values.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The length of the request target as the client wrote it, without formatting it (that
/// allocated on every request).
fn uri_len(uri: &Uri) -> usize {
    let scheme = uri.scheme_str().map_or(0, |s| s.len() + "://".len());
    let authority = uri.authority().map_or(0, |a| a.as_str().len());
    let query = uri.query().map_or(0, |q| q.len() + 1);
    scheme + authority + uri.path().len() + query
}

fn problem(status: StatusCode, title: &'static str, detail: String, code: &str) -> Response {
    ApiError::new(
        status,
        title,
        detail.clone(),
        vec![send_wire::ProblemError {
            code: code.into(),
            element: None,
            detail: Some(detail),
        }],
    )
    .into_response()
}

pub async fn limits<F, Fut>(state: &AppState, req: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let uri = uri_len(req.uri());
    if uri > MAX_URI {
        return problem(
            StatusCode::URI_TOO_LONG,
            "URI Too Long",
            format!("the request target is {uri} bytes; at most {MAX_URI} are accepted"),
            "PN_GENERIC_INVALIDPARAMETER",
        );
    }
    let headers = req.headers();
    let bytes: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return problem(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request Header Fields Too Large",
            format!(
                "{} headers, {bytes} bytes; at most {MAX_HEADERS} headers and {MAX_HEADER_BYTES} bytes are accepted",
                headers.len()
            ),
            "PN_GENERIC_INVALIDPARAMETER",
        );
    }
    // A JSON body declared larger than the limit is refused before a byte of it is read (so a
    // client that sent `Expect: 100-continue` gets its 413 instead of a `100 Continue`).
    let storage = req.uri().path().starts_with("/storage/");
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if !storage && declared.is_some_and(|n| n > super::extract::JSON_LIMIT as u64) {
        return super::extract::too_large().into_response();
    }
    // Uploads stream up to 100 MiB: they get the longer limit.
    let limit = if storage {
        state.config.upload_timeout
    } else {
        state.config.request_timeout
    };
    match tokio::time::timeout(limit, next(req)).await {
        Ok(res) => res,
        Err(_) => problem(
            StatusCode::REQUEST_TIMEOUT,
            "Request Timeout",
            format!("the request took longer than {limit:?}"),
            "PN_GENERIC_REQUEST_TIMEOUT",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::uri_len;
    use axum::http::Uri;

    #[test]
    fn uri_len_is_the_length_of_the_written_target() {
        for target in [
            "/",
            "/delivery/v2.9/notifications/sent/ABCD-EFGH-IJKL-202612-A-1",
            "/delivery/v2.6/requests?paProtocolNumber=P-1&idempotenceToken=t",
            "/x?",
            "http://127.0.0.1:8090/delivery/requests?a=b",
            "https://mock.example/",
            "127.0.0.1:8090",
        ] {
            let uri: Uri = target.parse().unwrap();
            assert_eq!(uri_len(&uri), uri.to_string().len(), "{target}");
        }
    }
}
