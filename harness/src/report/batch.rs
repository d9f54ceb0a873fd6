//! A batch run's `summary.json` and `summary.html` in the reports folder: one row per Ente,
//! its verdict per TC and a link to its report.

use super::TEST_CASES;
use super::error::ReportError;
use super::i18n::Lang;
use crate::profile::EnteProfile;
use crate::{CannotRun, RunOutcome};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnteRow {
    pub name: String,
    pub tax_id: String,
    /// Every TC passed (or is exempt).
    pub go_live: bool,
    /// A UAT run in which every TC passed: evidence for PagoPA.
    pub valid_for_go_live: bool,
    /// `embedded`, `mock` or `uat`; absent when the run could not start.
    pub target_kind: Option<String>,
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
                valid_for_go_live: o.report.evidence.valid_for_go_live,
                target_kind: Some(o.report.target.kind.to_string()),
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
                valid_for_go_live: false,
                target_kind: None,
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

const TEMPLATE: &str = include_str!("../../templates/summary.html");

/// The batch summary as a page, in `lang`.
pub fn html(s: &BatchSummary, lang: Lang) -> Result<String, ReportError> {
    let mut env = super::html::environment(lang);
    env.add_template("summary.html", TEMPLATE)
        .map_err(ReportError::template("summary template"))?;
    let tcs: Vec<&str> = TEST_CASES.iter().map(|(id, _)| *id).collect();
    let ctx = minijinja::context! {
        s => minijinja::Value::from(minijinja::value::Serde(s)),
        tcs => tcs,
        lang => lang.code(),
        t => minijinja::Value::from(minijinja::value::Serde(super::i18n::texts(lang))),
    };
    env.get_template("summary.html")
        .and_then(|t| t.render(ctx))
        .map_err(ReportError::template("summary.html"))
}

/// Writes `summary.json` and `summary.html` under `root`.
pub fn write(
    root: &Path,
    results: &[(EnteProfile, Result<RunOutcome, CannotRun>)],
    lang: Lang,
) -> Result<BatchSummary, ReportError> {
    let s = summary(root, results);
    std::fs::create_dir_all(root).map_err(ReportError::io(root))?;
    super::evidence::write_json(&root.join("summary.json"), &s)?;
    let path = root.join("summary.html");
    std::fs::write(&path, html(&s, lang)?).map_err(ReportError::io(&path))?;
    Ok(s)
}
