//! The run's outputs: per-TC verdicts from the Cucumber JSON, `report.json`, the transcript
//! and the evidence files. (The HTML/JUnit/summary report of a later issue builds on these.)

use crate::client::transcript::Exchange;
use crate::world::Evidence;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// The onboarding test cases, in PagoPA's current numbering.
pub const TEST_CASES: [(&str, &str); 5] = [
    ("TC-INVIO-01", "Notification without payment, one recipient"),
    (
        "TC-INVIO-02",
        "Notification with a pagoPA payment, one recipient",
    ),
    (
        "TC-INVIO-03",
        "IUN and statuses received from the event streams",
    ),
    (
        "TC-INVIO-04",
        "Documents, pagoPA form and legal facts downloaded",
    ),
    (
        "TC-COSTO-01",
        "Notification price: sender = creditor, and sender ≠ creditor",
    ),
];

pub const SCHEMA_VERSION: &str = "1.0";

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepResult {
    pub text: String,
    pub status: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioResult {
    pub feature: String,
    pub name: String,
    pub tags: Vec<String>,
    pub status: String,
    pub steps: Vec<StepResult>,
}

impl ScenarioResult {
    pub fn key(&self) -> String {
        format!("{} / {}", self.feature, self.name)
    }
    /// The first failing step and why, as a PT reads it.
    pub fn reason(&self) -> Option<String> {
        self.steps
            .iter()
            .find(|s| s.status != "passed")
            .map(|s| match &s.error {
                Some(e) => format!("{} — {}", s.text, e),
                None => format!("{} — {}", s.text, s.status),
            })
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TcVerdict {
    pub id: String,
    pub title: String,
    /// passed, failed, not-run or exempt.
    pub verdict: String,
    pub scenarios: Vec<String>,
    pub reasons: Vec<String>,
}

/// Reads the standard Cucumber JSON the run wrote.
pub fn scenarios_from_cucumber_json(json: &Value) -> Vec<ScenarioResult> {
    let mut out = Vec::new();
    for f in json.as_array().into_iter().flatten() {
        let feature = f["name"].as_str().unwrap_or_default().to_string();
        let ftags: Vec<String> = f["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["name"].as_str())
            .map(|t| t.trim_start_matches('@').to_string())
            .collect();
        for e in f["elements"].as_array().into_iter().flatten() {
            if e["type"] == "background" {
                continue;
            }
            let mut tags = ftags.clone();
            tags.extend(
                e["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t["name"].as_str())
                    .map(|t| t.trim_start_matches('@').to_string()),
            );
            let steps: Vec<StepResult> = e["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| StepResult {
                    text: format!(
                        "{}{}",
                        s["keyword"].as_str().unwrap_or_default(),
                        s["name"].as_str().unwrap_or_default()
                    )
                    .trim()
                    .to_string(),
                    status: s["result"]["status"]
                        .as_str()
                        .unwrap_or("undefined")
                        .to_string(),
                    error: s["result"]["error_message"].as_str().map(clean_error),
                })
                .collect();
            let status = if !steps.is_empty() && steps.iter().all(|s| s.status == "passed") {
                "passed"
            } else {
                "failed"
            };
            out.push(ScenarioResult {
                feature: feature.clone(),
                name: e["name"].as_str().unwrap_or_default().to_string(),
                tags,
                status: status.into(),
                steps,
            });
        }
    }
    out
}

/// The useful part of Cucumber's failure text (what the step returned), on one line.
fn clean_error(m: &str) -> String {
    let m = m
        .rsplit_once("Captured output: ")
        .map(|(_, tail)| tail)
        .unwrap_or(m);
    m.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(6)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The verdict of each test case; `exempt` lists TCs that do not apply to the Ente.
pub fn verdicts(scenarios: &[ScenarioResult], exempt: &[&str]) -> Vec<TcVerdict> {
    TEST_CASES
        .iter()
        .map(|(id, title)| {
            let mine: Vec<&ScenarioResult> = scenarios
                .iter()
                .filter(|s| s.tags.iter().any(|t| t == id))
                .collect();
            let verdict = if exempt.contains(id) {
                "exempt"
            } else if mine.is_empty() {
                "not-run"
            } else if mine.iter().all(|s| s.status == "passed") {
                "passed"
            } else {
                "failed"
            };
            TcVerdict {
                id: id.to_string(),
                title: title.to_string(),
                verdict: verdict.into(),
                scenarios: mine.iter().map(|s| s.key()).collect(),
                reasons: mine
                    .iter()
                    .filter_map(|s| s.reason().map(|r| format!("{}: {r}", s.name)))
                    .collect(),
            }
        })
        .collect()
}

/// Go-live: every test case passed (or is exempt).
pub fn go_live(v: &[TcVerdict]) -> bool {
    v.iter()
        .all(|t| t.verdict == "passed" || t.verdict == "exempt")
}

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

/// Writes the transcript as JSON lines and the downloaded files under `evidence/`.
pub fn write_evidence(
    dir: &Path,
    transcript: &[Exchange],
    evidence: &Evidence,
) -> Result<(), String> {
    let ev = dir.join("evidence");
    std::fs::create_dir_all(&ev).map_err(|e| format!("{}: {e}", ev.display()))?;
    let mut lines = String::new();
    for x in transcript {
        lines.push_str(&serde_json::to_string(x).map_err(|e| e.to_string())?);
        lines.push('\n');
    }
    std::fs::write(ev.join("transcript.jsonl"), lines).map_err(|e| e.to_string())?;
    for (_, name, bytes) in &evidence.files {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        std::fs::write(ev.join(safe), bytes).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn verdicts_follow_the_scenarios_of_each_tc() {
        let cj = json!([{"name": "F", "tags": [{"name": "@TC-INVIO-01"}], "elements": [
            {"type": "scenario", "name": "ok", "tags": [], "steps": [{"keyword": "Given ", "name": "a", "result": {"status": "passed"}}]},
        ]}, {"name": "G", "tags": [], "elements": [
            {"type": "scenario", "name": "bad", "tags": [{"name": "@TC-COSTO-01"}], "steps": [
                {"keyword": "Given ", "name": "a", "result": {"status": "passed"}},
                {"keyword": "Then ", "name": "b", "result": {"status": "failed", "error_message": "HTTP 403 — PN_FORBIDDEN"}}]},
        ]}]);
        let s = scenarios_from_cucumber_json(&cj);
        let v = verdicts(&s, &[]);
        assert_eq!(v[0].verdict, "passed");
        assert_eq!(v[1].verdict, "not-run");
        assert_eq!(v[4].verdict, "failed");
        assert!(v[4].reasons[0].contains("Then b — HTTP 403"));
        assert!(!go_live(&v));
        assert_eq!(verdicts(&s, &["TC-COSTO-01"])[4].verdict, "exempt");
    }
}
