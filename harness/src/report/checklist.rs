//! The run judged by the mock's checklist engine, from the harness's own transcript: the same
//! tree the mock keeps for a PT's client, so a UAT run gets one too.

use crate::client::transcript::Exchange;
use send_mock::checklist::engine::{self, Check};
use std::path::Path;

/// The run's transcript as the call log the checklist engine judges. Calls to another host
/// than SEND's (the storage's presigned URLs) are filed under `/storage/…` as the mock names them.
pub fn calls_from_transcript(
    transcript: &[Exchange],
    base: &str,
) -> Vec<send_mock::checklist::call::Call> {
    use crate::client::transcript::BodyRecord;
    use send_mock::checklist::call::{Call, KEPT_REQUEST_HEADERS, KEPT_RESPONSE_HEADERS};
    let host = |u: &str| {
        u.split("://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_default()
            .to_string()
    };
    let send_host = host(base);
    transcript
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let after_host = x
                .url
                .split("://")
                .nth(1)
                .and_then(|r| r.find('/').map(|j| &r[j..]))
                .unwrap_or("/");
            let (path, query) = after_host.split_once('?').unwrap_or((after_host, ""));
            let mut path = path.to_string();
            if host(&x.url) != send_host && !path.starts_with("/storage/") {
                path = match x.method.as_str() {
                    "GET" => format!("/storage/download{path}"),
                    _ => format!("/storage/{}", path.rsplit('/').next().unwrap_or_default()),
                };
            }
            let keep = |h: &[(String, String)], names: &[&str]| {
                h.iter()
                    .filter(|(k, _)| names.contains(&k.as_str()))
                    .cloned()
                    .collect()
            };
            let json = |b: &BodyRecord| match b {
                BodyRecord::Json { json } => Some(json.clone()),
                _ => None,
            };
            Call {
                id: i as u64 + 1,
                at_ms: chrono::DateTime::parse_from_rfc3339(&x.at)
                    .map(|t| t.timestamp_millis())
                    .unwrap_or(0),
                method: x.method.clone(),
                path,
                query: serde_urlencoded::from_str(query).unwrap_or_default(),
                status: x.status,
                request_headers: keep(&x.request_headers, &KEPT_REQUEST_HEADERS),
                request: json(&x.request_body),
                response: json(&x.response_body),
                response_headers: keep(&x.response_headers, &KEPT_RESPONSE_HEADERS),
                response_text: None,
            }
        })
        .collect()
}

/// Evaluates the transcript and writes `checklist.json` and `checklistresult.json` (the shape
/// of PagoPA's validator, which the onboarding desk asks for). Returns the tree.
pub fn write(
    dir: &Path,
    transcript: &[Exchange],
    base: &str,
    tax_id: &str,
) -> Result<Vec<Check>, String> {
    let checks = engine::evaluate(&calls_from_transcript(transcript, base), tax_id);
    super::evidence::write_json(&dir.join("checklist.json"), &checks)?;
    super::evidence::write_json(
        &dir.join("checklistresult.json"),
        &engine::validator_shape(&checks),
    )?;
    Ok(checks)
}
