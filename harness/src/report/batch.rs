//! A batch run's `summary.json` and `summary.html` in the reports folder: one row per Ente,
//! its verdict per TC and a link to its report.

use super::TEST_CASES;
use super::html::esc;
use crate::profile::EnteProfile;
use crate::{CannotRun, RunOutcome};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnteRow {
    pub name: String,
    pub tax_id: String,
    pub go_live: bool,
    /// TC id → verdict; empty when the run could not start.
    pub verdicts: BTreeMap<String, String>,
    /// The Ente's report.html, relative to the reports folder.
    pub report: Option<String>,
    /// Why the run could not start or finish.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSummary {
    pub schema_version: &'static str,
    pub generated_at: String,
    pub enti: Vec<EnteRow>,
    pub go_live: usize,
    pub not_ready: usize,
}

pub fn summary(
    root: &Path,
    results: &[(EnteProfile, Result<RunOutcome, CannotRun>)],
) -> BatchSummary {
    let enti: Vec<EnteRow> = results
        .iter()
        .map(|(p, r)| match r {
            Ok(o) => EnteRow {
                name: p.name.clone(),
                tax_id: p.tax_id.clone(),
                go_live: o.report.go_live,
                verdicts: o
                    .report
                    .test_cases
                    .iter()
                    .map(|t| (t.id.clone(), t.verdict.as_str().to_string()))
                    .collect(),
                report: Some(
                    o.report_dir
                        .strip_prefix(root)
                        .unwrap_or(&o.report_dir)
                        .join("report.html")
                        .to_string_lossy()
                        .replace('\\', "/"),
                ),
                error: None,
            },
            Err(e) => EnteRow {
                name: p.name.clone(),
                tax_id: p.tax_id.clone(),
                go_live: false,
                verdicts: BTreeMap::new(),
                report: None,
                error: Some(e.to_string()),
            },
        })
        .collect();
    let go_live = enti.iter().filter(|e| e.go_live).count();
    BatchSummary {
        schema_version: super::SCHEMA_VERSION,
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        not_ready: enti.len() - go_live,
        go_live,
        enti,
    }
}

pub fn html(s: &BatchSummary) -> String {
    let mut h = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>SEND onboarding — batch summary</title><style>\
         @page { size: A4; margin: 14mm 12mm; } body { font: 10pt/1.4 system-ui, Helvetica, Arial, sans-serif; max-width: 190mm; margin: 0 auto; padding: 8mm 0; }\
         table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #d0d7de; padding: 1mm 1.5mm; text-align: left; overflow-wrap: anywhere; }\
         th { background: #f3f5f7; } tr { break-inside: avoid; } .passed { color: #116329; font-weight: 600; } .failed { color: #a40e26; font-weight: 600; } .not-run, .exempt { color: #57606a; }\
         </style></head><body>\n",
    );
    let _ = write!(
        h,
        "<h1>SEND onboarding — batch summary</h1><p>{} · {} Enti: <span class=\"passed\">{} ready for go-live</span>, <span class=\"failed\">{} not ready</span></p>",
        esc(&s.generated_at),
        s.enti.len(),
        s.go_live,
        s.not_ready
    );
    h.push_str("<table><thead><tr><th>Ente</th><th>Tax id</th><th>Go-live</th>");
    for (id, _) in TEST_CASES {
        let _ = write!(h, "<th>{id}</th>");
    }
    h.push_str("<th>Report</th></tr></thead><tbody>\n");
    for e in &s.enti {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td>",
            esc(&e.name),
            esc(&e.tax_id),
            if e.go_live { "passed" } else { "failed" },
            if e.go_live { "yes" } else { "no" }
        );
        for (id, _) in TEST_CASES {
            let v = e.verdicts.get(id).map_or("", String::as_str);
            let _ = write!(h, "<td class=\"{0}\">{0}</td>", esc(v));
        }
        match (&e.report, &e.error) {
            (Some(r), _) => {
                let _ = writeln!(h, "<td><a href=\"{0}\">{0}</a></td></tr>", esc(r));
            }
            (None, err) => {
                let _ = writeln!(
                    h,
                    "<td class=\"failed\">{}</td></tr>",
                    esc(err.as_deref().unwrap_or("not run"))
                );
            }
        }
    }
    h.push_str("</tbody></table></body></html>\n");
    h
}

/// Writes `summary.json` and `summary.html` under `root`.
pub fn write(
    root: &Path,
    results: &[(EnteProfile, Result<RunOutcome, CannotRun>)],
) -> Result<BatchSummary, String> {
    let s = summary(root, results);
    std::fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
    super::evidence::write_json(&root.join("summary.json"), &s)?;
    let path = root.join("summary.html");
    std::fs::write(&path, html(&s)).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(s)
}
