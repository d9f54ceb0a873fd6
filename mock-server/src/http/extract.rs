//! Extractors whose rejections are SEND Problems (axum's own would answer plain text).

use super::AppState;
use super::problem::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Largest JSON body accepted by the API.
pub const JSON_LIMIT: usize = 2 * 1024 * 1024;

/// A JSON request body, parsed but not yet checked against a schema.
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &AppState) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime != "application/json"
            && !(mime.starts_with("application/") && mime.ends_with("+json"))
        {
            return Err(ApiError::invalid_body_one(format!(
                "Content-Type must be application/json, got `{}`",
                if ct.is_empty() { "(none)" } else { ct }
            )));
        }
        let bytes = axum::body::to_bytes(req.into_body(), JSON_LIMIT)
            .await
            .map_err(|e| body_read_error(&e))?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// 413: a JSON body past [`JSON_LIMIT`].
pub fn too_large() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        "Payload Too Large",
        format!("request body larger than {JSON_LIMIT} bytes"),
        vec![send_wire::ProblemError {
            code: "PN_INVALID_BODY".into(),
            element: None,
            detail: Some(format!("the body exceeds {JSON_LIMIT} bytes")),
        }],
    )
}

/// Why a JSON body could not be read: 413 past [`JSON_LIMIT`], 400 for a broken body.
pub fn body_read_error(e: &axum::Error) -> ApiError {
    if is_length_limit(e) {
        too_large()
    } else {
        ApiError::invalid_body_one(format!("the request body could not be read: {e}"))
    }
}

/// Whether reading a body failed on the size limit (rather than a client that went away).
fn is_length_limit(e: &axum::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.to_string().contains("length limit exceeded") {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Parses JSON, naming where it broke.
pub fn parse_json(bytes: &Bytes) -> Result<Value, ApiError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(ApiError::invalid_body_one(
            "request body is not valid UTF-8",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::invalid_body_one(format!(
            "malformed JSON at line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })
}

/// Path parameters; a value of the wrong type is a `PN_INVALID_PARAMETERS` Problem.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e| ApiError::invalid_parameter("path", e.body_text()))
    }
}

/// Query parameters; a malformed query is a `PN_INVALID_PARAMETERS` Problem.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::invalid_parameter("query", e.body_text()))
    }
}

/// The scheme and authority clients reach this mock at (for presigned URLs).
pub struct BaseUrl(pub String);

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(u) = &state.config.public_url {
            return Ok(BaseUrl(u.trim_end_matches('/').to_string()));
        }
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| state.local_addr.to_string());
        Ok(BaseUrl(format!("http://{host}")))
    }
}

/// The base URL of the storage, where presigned URLs point: the API's own under `/storage`,
/// or, when storage has its own listener, the host the client reached the API at with the
/// storage listener's port (as S3 is another host in UAT).
pub struct StorageBase(pub String);

impl FromRequestParts<AppState> for StorageBase {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let BaseUrl(api) = BaseUrl::from_request_parts(parts, state).await?;
        Ok(StorageBase(match state.storage_addr {
            None => format!("{api}/storage"),
            Some(addr) => with_port(&api, addr.port()),
        }))
    }
}

/// `scheme://host[:port][/path]` with its port replaced (IPv6 hosts keep their brackets).
fn with_port(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = match authority.rfind(']') {
        Some(end) => &authority[..=end],
        None => authority.split(':').next().unwrap_or(authority),
    };
    format!("{scheme}://{host}:{port}")
}

#[cfg(test)]
mod storage_base_tests {
    #[test]
    fn the_storage_port_replaces_the_api_port() {
        use super::with_port as w;
        assert_eq!(w("http://127.0.0.1:8090", 8091), "http://127.0.0.1:8091");
        assert_eq!(w("http://localhost", 9000), "http://localhost:9000");
        assert_eq!(
            w("https://mock.example:8443/base", 1),
            "https://mock.example:1"
        );
        assert_eq!(w("http://[::1]:8090", 8091), "http://[::1]:8091");
    }
}
