//! The presigned storage URLs (SEND's safe storage is S3): uploads with the slot's secret and
//! checksum, downloads of documents and legal facts. No API key here, as on S3; errors are
//! S3-style XML naming the exact cause, because these are what PTs get wrong.

use super::AppState;
use crate::domain::clock::rfc3339;
use crate::store::files::StoredVersion;
use crate::store::{DownloadTarget, files::UploadSlot};
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Router, routing::get};
use base64::Engine as _;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// Largest upload the mock stores.
pub const MAX_UPLOAD: u64 = 100 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/storage/{key}", axum::routing::put(upload).post(upload))
        .route("/storage/download/{token}/{name}", get(download))
}

/// The presigned URL of an upload slot.
pub fn upload_url(base: &str, slot: &UploadSlot) -> String {
    let sig: String = slot.secret.chars().rev().collect();
    format!(
        "{base}/storage/{}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={}&X-Amz-Expires=3600&X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-checksum-sha256%3Bx-amz-meta-secret&X-Amz-Signature={sig}",
        slot.key,
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
    )
}

/// A download URL for a granted token.
pub fn download_url(base: &str, token: &str, name: &str) -> String {
    format!("{base}/storage/download/{token}/{name}")
}

/// Why storage refused an upload: S3's status and error code, and a message naming the cause.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

fn reject(status: StatusCode, code: &'static str, message: impl Into<String>) -> Rejection {
    Rejection {
        status,
        code,
        message: message.into(),
    }
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{}</Message><RequestId>{}</RequestId></Error>\n",
        esc(message),
        super::problem::new_trace_id()
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Checks the upload's headers against the slot; `Err` is the S3 answer naming the cause.
pub fn check_headers(
    slot: &UploadSlot,
    h: &HeaderMap,
    io_now: chrono::Duration,
) -> Result<(), Rejection> {
    if h.contains_key(header::AUTHORIZATION) {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed: the presigned URL already authenticates the upload. An Authorization header was sent to storage: never send the PDND voucher or the API key to the upload URL.",
        ));
    }
    if slot.expires_io <= io_now {
        return Err(reject(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            format!(
                "Request has expired: the presigned URL of the preload made at {} was valid for 1 hour",
                rfc3339(slot.created_at)
            ),
        ));
    }
    let ct = header_str(h, "content-type").unwrap_or("");
    if ct.split(';').next().unwrap_or("").trim() != slot.content_type {
        return Err(reject(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            format!(
                "Content-Type `{ct}` differs from the contentType declared at preload (`{}`)",
                slot.content_type
            ),
        ));
    }
    match header_str(h, "x-amz-meta-secret") {
        None => {
            return Err(reject(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "the x-amz-meta-secret header is missing: send the `secret` returned by preload",
            ));
        }
        Some(s) if s != slot.secret => {
            return Err(reject(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "x-amz-meta-secret does not match the `secret` returned by preload for this key",
            ));
        }
        Some(_) => {}
    }
    let trailer = header_str(h, "x-amz-trailer").is_some()
        || header_str(h, "trailer")
            .is_some_and(|t| t.to_ascii_lowercase().contains("x-amz-checksum"))
        || header_str(h, "content-encoding").is_some_and(|e| e.contains("aws-chunked"));
    if trailer {
        return Err(reject(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "the checksum was sent as an HTTP trailer: send x-amz-checksum-sha256 as a plain request header (the presigned URL signs it)",
        ));
    }
    let Some(sum) = header_str(h, "x-amz-checksum-sha256") else {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "the x-amz-checksum-sha256 header is missing: send the base64 SHA-256 declared at preload",
        ));
    };
    if sum.len() == 64 && sum.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "InvalidDigest",
            "x-amz-checksum-sha256 looks like a hex digest: send the base64 of the binary SHA-256 (44 characters, e.g. `openssl dgst -binary -sha256 | base64`)",
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(sum)
        .ok()
        .filter(|d| d.len() == 32);
    if decoded.is_none() {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "InvalidDigest",
            "x-amz-checksum-sha256 is not the base64 of a 32-byte SHA-256",
        ));
    }
    if sum != slot.sha256 {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "BadDigest",
            format!(
                "x-amz-checksum-sha256 {sum} differs from the sha256 declared at preload ({}): preload, upload and send must carry the same digest",
                slot.sha256
            ),
        ));
    }
    Ok(())
}

async fn upload(State(state): State<AppState>, Path(key): Path<String>, req: Request) -> Response {
    let Some(slot) = state.store.slot(&key) else {
        return s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "no preload issued this key: call /delivery/attachments/preload and use the url it returns",
        );
    };
    let now = state.store.clock.now();
    if let Err(r) = check_headers(&slot, req.headers(), state.store.clock.io_time()) {
        return s3_error(r.status, r.code, &r.message);
    }
    let declared = header_str(req.headers(), "x-amz-checksum-sha256")
        .unwrap_or_default()
        .to_string();
    if let Some(len) =
        header_str(req.headers(), "content-length").and_then(|l| l.parse::<u64>().ok())
        && len > MAX_UPLOAD
    {
        return s3_error(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            &format!("the file is larger than {MAX_UPLOAD} bytes"),
        );
    }
    let version_id = state.store.random_token(16);
    let dir = state.store.files_dir().to_path_buf();
    let path = dir.join(format!("{key}.{version_id}"));
    let tmp = dir.join(format!(".{key}.{version_id}.part"));
    match store_body(req.into_body(), &tmp).await {
        Err(StoreError::TooLarge) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            s3_error(
                StatusCode::BAD_REQUEST,
                "EntityTooLarge",
                &format!("the file is larger than {MAX_UPLOAD} bytes"),
            )
        }
        Err(StoreError::Io(e)) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            tracing::error!(error = %e, "cannot store an upload");
            s3_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "the mock could not store the file",
            )
        }
        Ok((digest, size, is_pdf)) => {
            if digest != declared {
                let _ = tokio::fs::remove_file(&tmp).await;
                return s3_error(
                    StatusCode::BAD_REQUEST,
                    "BadDigest",
                    &format!(
                        "The SHA256 you specified did not match the calculated checksum: header {declared}, body {digest}"
                    ),
                );
            }
            if let Err(e) = tokio::fs::rename(&tmp, &path).await {
                tracing::error!(error = %e, "cannot store an upload");
                return s3_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "the mock could not store the file",
                );
            }
            state.store.record_upload(
                &key,
                StoredVersion {
                    version_id: version_id.clone(),
                    sha256: digest.clone(),
                    size,
                    uploaded_at: now,
                    path,
                    is_pdf,
                },
            );
            let mut res = StatusCode::OK.into_response();
            let h = res.headers_mut();
            h.insert(
                "x-amz-version-id",
                HeaderValue::from_str(&version_id).expect("hex is a valid header"),
            );
            h.insert(
                "x-amz-checksum-sha256",
                HeaderValue::from_str(&digest).expect("base64 is a valid header"),
            );
            h.insert(
                header::ETAG,
                HeaderValue::from_str(&format!("\"{}\"", &version_id[..16]))
                    .expect("hex is a valid header"),
            );
            res
        }
    }
}

enum StoreError {
    TooLarge,
    Io(std::io::Error),
}

/// Streams the body to `tmp` while hashing it: the bytes are never held whole in memory.
async fn store_body(body: Body, tmp: &std::path::Path) -> Result<(String, u64, bool), StoreError> {
    let mut file = tokio::fs::File::create(tmp).await.map_err(StoreError::Io)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut head: Vec<u8> = Vec::with_capacity(5);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
        size += chunk.len() as u64;
        if size > MAX_UPLOAD {
            return Err(StoreError::TooLarge);
        }
        if head.len() < 5 {
            head.extend(chunk.iter().take(5 - head.len()));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(StoreError::Io)?;
    }
    file.flush().await.map_err(StoreError::Io)?;
    let digest = base64::engine::general_purpose::STANDARD.encode(hasher.finalize());
    Ok((digest, size, head == b"%PDF-"))
}

async fn download(
    State(state): State<AppState>,
    Path((token, _name)): Path<(String, String)>,
) -> Response {
    match state.store.redeem(&token) {
        None => s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired or the URL is not valid: ask the metadata endpoint for a new url",
        ),
        Some(DownloadTarget::Upload { path, content_type }) => {
            match tokio::fs::File::open(&path).await {
                Ok(f) => {
                    let len = f.metadata().await.map(|m| m.len()).unwrap_or(0);
                    let body = Body::from_stream(tokio_util_stream(f));
                    (
                        [
                            (header::CONTENT_TYPE, content_type),
                            (header::CONTENT_LENGTH, len.to_string()),
                        ],
                        body,
                    )
                        .into_response()
                }
                Err(_) => s3_error(
                    StatusCode::NOT_FOUND,
                    "NoSuchKey",
                    "The specified key does not exist.",
                ),
            }
        }
        Some(DownloadTarget::LegalFact(key)) => match state.store.legal_fact(&key) {
            Some(lf) => ([(header::CONTENT_TYPE, lf.content_type())], lf.render()).into_response(),
            None => s3_error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
            ),
        },
    }
}

/// Reads a file as a stream of chunks.
fn tokio_util_stream(
    f: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> {
    futures_util::stream::unfold(f, |mut f| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    })
}
