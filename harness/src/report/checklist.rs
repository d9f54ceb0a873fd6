//! The run judged by the mock's checklist engine, from the harness's own transcript: the same
//! tree the mock keeps for a PT's client, so a UAT run gets one too.

use super::RunReport;
use crate::client::transcript::Exchange;
use send_checklist::{Check, Options, evaluate, validator_shape};
use serde_json::{Value, json};
use std::path::Path;

/// The run's transcript as the call log the checklist engine judges. Calls to another host
/// than SEND's (the storage's presigned URLs: S3 in UAT, the twin's storage listener) are
/// filed under `/storage/{bucket}/{key}`, as the mock records them, whatever the URL's shape.
pub fn calls_from_transcript(transcript: &[Exchange], base: &str) -> Vec<send_checklist::Call> {
    use crate::client::transcript::BodyRecord;
    use send_checklist::{Call, KEPT_REQUEST_HEADERS, KEPT_RESPONSE_HEADERS, storage_path};
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
            let path = if host(&x.url) != send_host {
                storage_path(&x.url).unwrap_or_else(|| path.to_string())
            } else {
                path.to_string()
            };
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

/// How the run's calls are judged: the Ente's tax id, the paper product it chose, and
/// TC-COSTO-01's exemption, as the report states them.
pub fn options(report: &RunReport) -> Options {
    Options {
        sender: report.ente.tax_id.clone(),
        physical_types: vec![report.ente.physical_communication_type.to_string()],
        costo_exempt: report
            .test_cases
            .iter()
            .find(|t| t.id == "TC-COSTO-01")
            .and_then(|t| t.exempt_reason.clone()),
    }
}

/// `checklistresult.json`: the validator's `version` and `result` exactly as it writes them,
/// and beside them whose run this is, where, when and by what, so the file stands alone once
/// attached to PagoPA's onboarding form.
pub fn result_file(checks: &[Check], report: &RunReport) -> Value {
    let mut shape = validator_shape(checks);
    shape["ente"] = json!({"name": report.ente.name, "taxId": report.ente.tax_id});
    shape["target"] = json!({"kind": report.target.kind, "baseUrl": report.target.base_url});
    shape["generatedAt"] = json!(report.finished_at);
    shape["tool"] = json!(report.tool);
    shape["runId"] = json!(report.run_id);
    shape["calls"] =
        json!("the calls of send-conformance's own client, from this run's transcript");
    shape["evidence"] = json!(report.evidence);
    shape
}

/// Evaluates the transcript and writes `checklist.json` and `checklistresult.json` (the shape
/// of PagoPA's validator, which the onboarding desk asks for). Returns the tree.
pub fn write(
    dir: &Path,
    transcript: &[Exchange],
    base: &str,
    report: &RunReport,
) -> Result<Vec<Check>, super::error::ReportError> {
    let checks = evaluate(&calls_from_transcript(transcript, base), &options(report));
    super::evidence::write_json(&dir.join("checklist.json"), &checks)?;
    super::evidence::write_json(
        &dir.join("checklistresult.json"),
        &result_file(&checks, report),
    )?;
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::transcript::BodyRecord;
    use serde_json::json;

    fn exchange(
        at: &str,
        method: &str,
        url: &str,
        response: Option<serde_json::Value>,
    ) -> Exchange {
        Exchange {
            at: format!("2026-12-04T10:00:{at}.000Z"),
            method: method.into(),
            url: url.into(),
            status: 200,
            duration_ms: 5,
            request_headers: vec![],
            request_body: BodyRecord::None,
            response_headers: vec![],
            response_body: response.map_or(BodyRecord::None, |json| BodyRecord::Json { json }),
        }
    }

    /// UAT's downloads come from S3, in either of its URL styles: each metadata call is matched
    /// to the download of its URL, so TC-INVIO-04's leaves hold.
    #[test]
    fn downloads_from_s3_hosts_satisfy_tc_invio_04() {
        let iun = "ABCD-EFGH-JKLM-202612-A-1";
        let base = "https://api.uat.notifichedigitali.it";
        let q = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261204T100000Z&X-Amz-Signature=[REDACTED]";
        let doc = format!(
            "https://pn-safestorage-eu-south-1-089813480515.s3.eu-south-1.amazonaws.com/PN_NOTIFICATION_ATTACHMENTS-1.pdf{q}"
        );
        let form = format!(
            "https://s3.eu-south-1.amazonaws.com/pn-safestorage-eu-south-1-089813480515/PN_NOTIFICATION_ATTACHMENTS-2.pdf{q}"
        );
        let fact = format!(
            "https://pn-safestorage-eu-south-1-089813480515.s3.amazonaws.com/PN_LEGAL_FACTS-3.pdf{q}"
        );
        let meta = |path: String, url: &str| json!({"filename": path, "url": url});
        let status = json!({"notificationRequestId": "QUJDRC1FRkdILUpLTE0tMjAyNjEyLUEtMQ==", "notificationRequestStatus": "ACCEPTED", "iun": iun});
        let transcript = vec![
            exchange(
                "00",
                "GET",
                &format!("{base}/delivery/v2.6/requests?notificationRequestId=x"),
                Some(status),
            ),
            exchange(
                "01",
                "GET",
                &format!("{base}/delivery/v2.9/notifications/sent/{iun}"),
                None,
            ),
            exchange(
                "02",
                "GET",
                &format!("{base}/delivery/notifications/sent/{iun}/attachments/documents/0"),
                Some(meta("d".into(), &doc)),
            ),
            exchange("03", "GET", &doc, None),
            exchange(
                "04",
                "GET",
                &format!("{base}/delivery/notifications/sent/{iun}/attachments/payment/0/PAGOPA"),
                Some(meta("f".into(), &form)),
            ),
            exchange("05", "GET", &form, None),
            exchange(
                "06",
                "GET",
                &format!("{base}/delivery-push/{iun}/download/legal-facts/PN_LEGAL_FACTS-3.pdf"),
                Some(meta("l".into(), &fact)),
            ),
            exchange("07", "GET", &fact, None),
        ];
        let calls = calls_from_transcript(&transcript, base);
        let doc_download = calls
            .iter()
            .find(|c| c.path.starts_with("/storage/"))
            .unwrap();
        assert_eq!(
            doc_download.path,
            "/storage/pn-safestorage-eu-south-1-089813480515/PN_NOTIFICATION_ATTACHMENTS-1.pdf"
        );
        let opts = Options::for_sender("80016350821");
        let checks = evaluate(&calls, &opts);
        let tc4 = checks.iter().find(|c| c.id == "TC-INVIO-04").unwrap();
        for group in tc4.children.iter().flat_map(|g| &g.children) {
            assert!(
                group.ok || group.extra,
                "{}: {:?}",
                group.id,
                group.children
            );
        }
        // Without the downloads the same leaves fail: the match is real.
        let without: Vec<Exchange> = transcript
            .into_iter()
            .filter(|x| !x.url.contains("amazonaws"))
            .collect();
        let checks = evaluate(&calls_from_transcript(&without, base), &opts);
        let tc4 = checks.iter().find(|c| c.id == "TC-INVIO-04").unwrap();
        fn all(checks: &[Check]) -> Vec<&Check> {
            checks
                .iter()
                .flat_map(|c| std::iter::once(c).chain(all(&c.children)))
                .collect()
        }
        let downloads: Vec<&Check> = all(&tc4.children)
            .into_iter()
            .filter(|c| c.id.ends_with(".download"))
            .collect();
        assert_eq!(
            downloads.len(),
            4,
            "document, pagoPA form, AAR, legal facts"
        );
        assert!(downloads.iter().all(|c| !c.ok), "{downloads:?}");
    }
}
