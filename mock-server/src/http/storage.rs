//! The presigned storage URLs (SEND's safe storage is S3): uploads with the slot's secret and
//! checksum, downloads of documents and legal facts. No API key here, as on S3. Paths are
//! S3's path style, `/{bucket}/{key}`: on the storage listener as they are, on the API
//! listener under `/storage`. Every URL is signed ([`crate::domain::presign`]) and checked.
//!
//! Errors are S3's own XML, codes and messages (what UAT answers, what PagoPA's upload FAQ
//! tells PTs to expect); the mock's account of the exact cause goes in `x-send-mock-reason`,
//! because these are what PTs get wrong.

use super::AppState;
use crate::domain::clock::rfc3339;
use crate::domain::presign::{self, PresignError, Presigner};
use crate::store::files::StoredVersion;
use crate::store::{DownloadTarget, files::UploadSlot};
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Router, routing::any};
use base64::Engine as _;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// Largest upload the mock stores.
pub const MAX_UPLOAD: u64 = 100 * 1024 * 1024;
/// How long a presigned URL says it lives (the store keeps the real expiry).
const URL_SECONDS: u32 = 3600;
/// Where the mock explains an S3 refusal in its own words.
pub const REASON: HeaderName = HeaderName::from_static("x-send-mock-reason");

/// The storage routes, under `/storage` (the storage listener's paths are rewritten to these).
/// Every method reaches [`object`]: S3 answers a method the URL was not signed for with a
/// signature mismatch, not with 405.
pub fn router() -> Router<AppState> {
    Router::new().route("/storage/{bucket}/{key}", any(object))
}

/// The storage listener's requests, as the shared routes name them (`/storage` + S3's path).
pub fn under_storage_prefix(mut req: Request) -> Request {
    let pq = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    if let Ok(uri) = format!("/storage{pq}").parse() {
        *req.uri_mut() = uri;
    }
    req
}

/// Anything on the storage listener that is not an object of the bucket.
pub async fn not_an_object(req: Request) -> Response {
    reject(
        StatusCode::FORBIDDEN,
        "AccessDenied",
        "Access Denied",
        format!(
            "{} is not a presigned object URL (/{}/<key>?X-Amz-…)",
            req.uri().path().trim_start_matches("/storage"),
            presign::BUCKET
        ),
    )
    .into_response()
}

async fn object(state: State<AppState>, path: Path<(String, String)>, req: Request) -> Response {
    match *req.method() {
        Method::PUT | Method::POST => upload(state, path, req).await,
        Method::GET => download(state, path, req).await,
        _ => {
            let Path((bucket, key)) = path;
            match presigned(&state, req.method(), &key, &bucket, req.uri().query()) {
                Err(r) => r.into_response(),
                // Unreachable: no URL is signed for another method.
                Ok(_) => not_an_object(req).await,
            }
        }
    }
}

/// The S3 path of a key.
fn s3_path(key: &str) -> String {
    format!("/{}/{key}", presign::BUCKET)
}

/// The presigned PUT URL of an upload slot; `storage` is the storage's base URL.
pub fn upload_url(presigner: &Presigner, storage: &str, slot: &UploadSlot) -> String {
    presigner.url(
        storage,
        "PUT",
        &s3_path(&slot.key),
        presign::UPLOAD_CREDENTIAL,
        chrono::Utc::now(),
        URL_SECONDS,
    )
}

/// The presigned GET URL of a granted download (`token` names the grant).
pub fn download_url(presigner: &Presigner, storage: &str, token: &str, key: &str) -> String {
    presigner.url(
        storage,
        "GET",
        &s3_path(key),
        token,
        chrono::Utc::now(),
        URL_SECONDS,
    )
}

/// Why storage refused a request: S3's status, code and message, and the mock's reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: &'static str,
    pub reason: String,
}

fn reject(
    status: StatusCode,
    code: &'static str,
    message: &'static str,
    reason: impl Into<String>,
) -> Rejection {
    Rejection {
        status,
        code,
        message,
        reason: reason.into(),
    }
}

const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your key and signing method.";

fn signature_mismatch(reason: impl Into<String>) -> Rejection {
    reject(
        StatusCode::FORBIDDEN,
        "SignatureDoesNotMatch",
        SIGNATURE_MISMATCH,
        reason,
    )
}

fn expired(reason: impl Into<String>) -> Rejection {
    reject(
        StatusCode::FORBIDDEN,
        "AccessDenied",
        "Request has expired",
        reason,
    )
}

impl From<PresignError> for Rejection {
    fn from(e: PresignError) -> Rejection {
        match e {
            PresignError::Unsigned => reject(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "Access Denied",
                e.to_string(),
            ),
            PresignError::Mismatch(_) => signature_mismatch(e.to_string()),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{}</RequestId></Error>\n",
            self.code,
            esc(self.message),
            super::problem::new_trace_id()
        );
        let mut res = (
            self.status,
            [(header::CONTENT_TYPE, "application/xml")],
            body,
        )
            .into_response();
        // A header value is visible ASCII: anything else in a reason is replaced.
        let reason: String = self
            .reason
            .chars()
            .map(|c| {
                if c == ' ' || c.is_ascii_graphic() {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        if let Ok(v) = HeaderValue::from_str(&reason) {
            res.headers_mut().insert(REASON, v);
        }
        res
    }
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
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
            "an Authorization header was sent to storage: the presigned URL already authenticates the upload; never send the PDND voucher or the API key to the upload URL",
        ));
    }
    if slot.expires_io <= io_now {
        return Err(expired(format!(
            "the presigned URL of the preload made at {} was valid for 1 hour: preload again",
            rfc3339(slot.created_at)
        )));
    }
    let ct = header_str(h, "content-type").unwrap_or("");
    if ct.split(';').next().unwrap_or("").trim() != slot.content_type {
        return Err(signature_mismatch(format!(
            "Content-Type `{ct}` differs from the contentType declared at preload (`{}`); it is a signed header",
            slot.content_type
        )));
    }
    match header_str(h, "x-amz-meta-secret") {
        None => {
            return Err(signature_mismatch(
                "the x-amz-meta-secret header is missing: send the `secret` returned by preload (a signed header)",
            ));
        }
        Some(s) if s != slot.secret => {
            return Err(signature_mismatch(
                "x-amz-meta-secret does not match the `secret` returned by preload for this key",
            ));
        }
        Some(_) => {}
    }
    let Some(sum) = header_str(h, "x-amz-checksum-sha256") else {
        let as_trailer = header_str(h, "x-amz-trailer").is_some()
            || header_str(h, "trailer")
                .is_some_and(|t| t.to_ascii_lowercase().contains("x-amz-checksum"));
        return Err(signature_mismatch(if as_trailer {
            "the checksum was announced as an HTTP trailer but not sent as the x-amz-checksum-sha256 header, which the presigned URL signs: send it as a plain request header (a `trailer` header beside it is harmless)"
        } else {
            "the x-amz-checksum-sha256 header is missing: it is a signed header; send the base64 SHA-256 declared at preload"
        }));
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(sum)
        .ok()
        .filter(|d| d.len() == 32);
    if decoded.is_none() {
        let hex = sum.len() == 64 && sum.bytes().all(|c| c.is_ascii_hexdigit());
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Value for x-amz-checksum-sha256 header is invalid.",
            if hex {
                "x-amz-checksum-sha256 looks like a hex digest: send the base64 of the binary SHA-256 (44 characters, e.g. `openssl dgst -binary -sha256 | openssl base64`)"
            } else {
                "x-amz-checksum-sha256 is not the base64 of a 32-byte SHA-256"
            },
        ));
    }
    if sum != slot.sha256 {
        return Err(signature_mismatch(format!(
            "x-amz-checksum-sha256 {sum} differs from the sha256 declared at preload ({}): preload, upload and send must carry the same digest",
            slot.sha256
        )));
    }
    Ok(())
}

/// The signature check every storage request passes first.
fn presigned(
    state: &AppState,
    method: &Method,
    key: &str,
    bucket: &str,
    query: Option<&str>,
) -> Result<String, Rejection> {
    if bucket != presign::BUCKET {
        return Err(reject(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist",
            format!(
                "the bucket is `{}`: use the url as SEND returned it",
                presign::BUCKET
            ),
        ));
    }
    Ok(state
        .store
        .presigner()
        .verify(method.as_str(), &s3_path(key), query.unwrap_or(""))?)
}

async fn upload(
    State(state): State<AppState>,
    Path((bucket, key)): Path<(String, String)>,
    req: Request,
) -> Response {
    match receive(&state, &bucket, &key, req).await {
        Ok(res) => res,
        Err(r) => r.into_response(),
    }
}

async fn receive(
    state: &AppState,
    bucket: &str,
    key: &str,
    req: Request,
) -> Result<Response, Rejection> {
    presigned(state, req.method(), key, bucket, req.uri().query())?;
    let slot = state.store.slot(key).ok_or_else(|| {
        signature_mismatch("no preload issued this key: call /delivery/attachments/preload and use the url it returns")
    })?;
    let now = state.store.clock.now();
    check_headers(&slot, req.headers(), state.store.clock.io_time())?;
    let declared = header_str(req.headers(), "x-amz-checksum-sha256")
        .unwrap_or_default()
        .to_string();
    if header_str(req.headers(), "content-length")
        .and_then(|l| l.parse::<u64>().ok())
        .is_some_and(|len| len > MAX_UPLOAD)
    {
        return Err(too_large());
    }
    let version_id = state.store.random_token(16);
    let dir = state.store.files_dir().to_path_buf();
    let path = dir.join(format!("{key}.{version_id}"));
    let tmp = dir.join(format!(".{key}.{version_id}.part"));
    let (digest, size, is_pdf) = match store_body(req.into_body(), &tmp).await {
        Ok(stored) => stored,
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(match e {
                StoreError::TooLarge => too_large(),
                StoreError::Io(e) => {
                    tracing::error!(error = %e, "cannot store an upload");
                    internal()
                }
            });
        }
    };
    if digest != declared {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "BadDigest",
            "The SHA256 you specified did not match the calculated checksum.",
            format!(
                "the body's SHA-256 is {digest}, the x-amz-checksum-sha256 header says {declared}"
            ),
        ));
    }
    if let Err(e) = tokio::fs::rename(&tmp, &path).await {
        tracing::error!(error = %e, "cannot store an upload");
        return Err(internal());
    }
    state.store.record_upload(
        key,
        StoredVersion {
            version_id: version_id.clone(),
            sha256: digest.clone(),
            size,
            uploaded_at: now,
            uploaded_io_ms: state.store.clock.io_time().num_milliseconds(),
            path,
            is_pdf,
        },
    );
    Ok(stored(&version_id, &digest))
}

/// S3's answer to a stored PUT: the version, the checksum and an ETag.
fn stored(version_id: &str, digest: &str) -> Response {
    let mut res = StatusCode::OK.into_response();
    let h = res.headers_mut();
    h.insert(
        "x-amz-version-id",
        HeaderValue::from_str(version_id).expect("hex is a valid header"),
    );
    h.insert(
        "x-amz-checksum-sha256",
        HeaderValue::from_str(digest).expect("base64 is a valid header"),
    );
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&format!("\"{}\"", &version_id[..16]))
            .expect("hex is a valid header"),
    );
    res
}

/// S3's refusal of a body over the limit.
fn too_large() -> Rejection {
    reject(
        StatusCode::BAD_REQUEST,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
        format!("the file is larger than {MAX_UPLOAD} bytes"),
    )
}

/// S3's answer when the file could not be kept (the cause goes to the log).
fn internal() -> Rejection {
    reject(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "We encountered an internal error. Please try again.",
        "the mock could not store the file",
    )
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
    Path((bucket, key)): Path<(String, String)>,
    req: Request,
) -> Response {
    let token = match presigned(&state, req.method(), &key, &bucket, req.uri().query()) {
        Ok(t) => t,
        Err(r) => return r.into_response(),
    };
    let no_such_key = || {
        reject(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
            format!("no file {key} is kept"),
        )
        .into_response()
    };
    match state.store.redeem(&token) {
        None => expired(
            "the download URL was valid for 1 hour: ask the metadata endpoint for a new url",
        )
        .into_response(),
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
                Err(_) => no_such_key(),
            }
        }
        Some(DownloadTarget::LegalFact(k)) => match state.store.legal_fact(&k) {
            Some(lf) => ([(header::CONTENT_TYPE, lf.content_type())], lf.render()).into_response(),
            None => no_such_key(),
        },
        Some(DownloadTarget::DowntimeLegalFact(id)) => match state.store.downtime_legal_fact(&id) {
            Some(pdf) => ([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response(),
            None => no_such_key(),
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
