//! Upload slots handed out by preload, and the files uploaded into them (kept on disk).

use crate::domain::ente::EnteId;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// How long a presigned URL is valid, on the clock's io time (wall time plus jumps).
pub const URL_VALIDITY: chrono::Duration = chrono::Duration::hours(1);

/// One preloaded slot: where a client may upload one file.
#[derive(Debug, Clone)]
pub struct UploadSlot {
    pub key: String,
    pub ente: EnteId,
    pub preload_idx: String,
    pub secret: String,
    pub content_type: String,
    /// The sha256 declared at preload.
    pub sha256: String,
    /// Virtual time of the preload.
    pub created_at: DateTime<Utc>,
    /// Io time after which the URL is expired.
    pub expires_io: chrono::Duration,
    /// Every successful upload, oldest first (S3 keeps versions).
    pub versions: Vec<StoredVersion>,
    /// An accepted notification refers to this file: SEND keeps it (120 days after the
    /// refinement) instead of deleting it after
    /// [`crate::domain::refusal::RETENTION_UNREFERENCED`] (on the clock's io time).
    pub referenced: bool,
}

/// One uploaded version of a slot's file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredVersion {
    pub version_id: String,
    /// Base64 SHA-256 of the stored bytes.
    pub sha256: String,
    pub size: u64,
    pub uploaded_at: DateTime<Utc>,
    /// The io instant of the upload, ms since the epoch (0 in journals of earlier builds).
    #[serde(default)]
    pub uploaded_io_ms: i64,
    pub path: std::path::PathBuf,
    /// Whether the bytes start with `%PDF-`.
    pub is_pdf: bool,
}

impl UploadSlot {
    pub fn version(&self, version_id: &str) -> Option<&StoredVersion> {
        self.versions.iter().find(|v| v.version_id == version_id)
    }
}

#[derive(Debug, Default)]
pub struct Files {
    pub slots: HashMap<String, UploadSlot>,
}
