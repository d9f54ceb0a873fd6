//! The run's report: one model ([`RunReport`], written as `report.json`) built from the
//! scenarios Cucumber ran and the evidence the steps kept, rendered as HTML, JUnit, the
//! alternative-evidence summary and, for a batch, a summary of every Ente.
//!
//! `report.json` schema (version [`SCHEMA_VERSION`]) is documented in `reports/README.md`.

pub mod batch;
pub mod checklist;
pub mod collect;
pub mod error;
pub mod evidence;
pub mod html;
pub mod i18n;
pub mod junit;
pub mod summary;

use crate::world::{Evidence, ScenarioEvidence};
use collect::{ScenarioRecord, StepResult};
use serde::Serialize;

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
        "Documents, pagoPA form, AAR and legal facts downloaded",
    ),
    (
        "TC-COSTO-01",
        "Notification price: sender = creditor, and sender ≠ creditor",
    ),
];

/// Scenarios a test case needs before it can pass: TC-COSTO-01 has two (sender = creditor,
/// sender ≠ creditor) and both must run.
fn required_scenarios(tc: &str) -> usize {
    if tc == "TC-COSTO-01" { 2 } else { 1 }
}

/// Bumped on any change a reader of `report.json` could notice: major when a field is removed
/// or changes meaning, minor when one is added.
pub const SCHEMA_VERSION: &str = "1.1";

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Passed,
    Failed,
    NotRun,
    /// The TC does not apply to this Ente (TC-COSTO-01 with pagoPaIntMode ASYNC).
    Exempt,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::NotRun => "not-run",
            Verdict::Exempt => "exempt",
        }
    }
}

/// `report.json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    pub schema_version: &'static str,
    /// This run's id, in every file it writes.
    pub run_id: String,
    /// The language of report.html and summary.md (`it` or `en`).
    pub lang: &'static str,
    pub tool: Tool,
    pub target: TargetInfo,
    pub ente: EnteInfo,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    /// Every TC passed (TC-COSTO-01 with both scenarios), or is exempt.
    pub go_live: bool,
    /// Whether this run is evidence PagoPA's onboarding desk accepts for go-live, and why not.
    pub evidence: EvidenceValidity,
    /// PDND vouchers obtained during the run (absent without PDND).
    pub vouchers_minted: Option<u64>,
    pub test_cases: Vec<TcReport>,
    /// Scenarios that belong to no TC (the @extra feature).
    pub extras: Vec<ScenarioReport>,
    /// Feature files that could not be read or parsed.
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
    /// The git commit the tool was built from (`-dirty` with uncommitted changes).
    pub commit: &'static str,
}

impl Tool {
    pub fn this() -> Tool {
        Tool {
            name: "send-conformance",
            version: env!("CARGO_PKG_VERSION"),
            commit: env!("SEND_CONFORMANCE_COMMIT"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetInfo {
    /// `embedded`, `mock` (a mock at a URL) or `uat`.
    pub kind: &'static str,
    /// What a person reads: embedded mock, mock at URL, SEND UAT.
    pub label: String,
    /// The SEND base URL (`embedded` for the in-process mock). Never carries credentials.
    pub base_url: String,
    pub api_family: String,
    /// Wall time of one SEND day at the target, in ms (60,000 in UAT; a mock's own scale).
    pub send_day_ms: u64,
    /// How that was learnt: `mock` (GET /mock/clock), `uat`, or `assumed`.
    pub clock_source: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnteInfo {
    pub name: String,
    pub tax_id: String,
    pub pago_pa_int_mode: String,
    pub physical_communication_type: &'static str,
}

/// Whether a run is go-live evidence: only a UAT run in which every TC passed or is exempt.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceValidity {
    pub valid_for_go_live: bool,
    /// `valid`, `rehearsal` (not UAT) or `not-passed` (UAT, a TC not passed).
    pub code: &'static str,
    pub why: String,
}

impl EvidenceValidity {
    pub fn of(target_kind: &str, go_live: bool) -> EvidenceValidity {
        match (target_kind, go_live) {
            ("uat", true) => EvidenceValidity {
                valid_for_go_live: true,
                code: "valid",
                why: "every test case passed (or is exempt) against SEND's UAT".into(),
            },
            ("uat", false) => EvidenceValidity {
                valid_for_go_live: false,
                code: "not-passed",
                why: "run against SEND's UAT, but not every test case passed".into(),
            },
            (kind, _) => EvidenceValidity {
                valid_for_go_live: false,
                code: "rehearsal",
                why: format!(
                    "a rehearsal on a mock ({kind}), not SEND's UAT: PagoPA accepts only a run against UAT as go-live evidence"
                ),
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcReport {
    pub id: String,
    pub title: String,
    pub verdict: Verdict,
    /// Why the TC does not apply to the Ente (verdict `exempt`).
    pub exempt_reason: Option<String>,
    pub duration_ms: u64,
    /// Why the TC is not passed: `scenario: step — error`, one per failing scenario.
    pub reasons: Vec<String>,
    pub scenarios: Vec<ScenarioReport>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioReport {
    pub feature: String,
    pub name: String,
    pub tags: Vec<String>,
    /// passed or failed: the outcome of the last attempt.
    pub status: String,
    /// 1, or more when Cucumber retried the scenario.
    pub attempts: usize,
    /// Why each earlier attempt failed (a retried-then-passed scenario is flaky, not failed).
    pub earlier_failures: Vec<String>,
    pub duration_ms: u64,
    /// The first failing step of the last attempt and why (absent when it passed).
    pub failure: Option<String>,
    /// When the first attempt started and the last one finished (RFC 3339, UTC).
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// The steps of the last attempt.
    pub steps: Vec<StepResult>,
    /// What the scenario created and read: ids, statuses, timeline, events, files, prices.
    pub evidence: ScenarioEvidence,
}

impl ScenarioReport {
    pub fn passed(&self) -> bool {
        self.status == "passed"
    }
    /// The first failing step and why.
    pub fn reason(&self) -> Option<String> {
        self.failure.clone()
    }
    /// `feature / scenario`, the key the steps file evidence under.
    pub fn key(&self) -> String {
        format!("{} / {}", self.feature, self.name)
    }
}

/// A scenario's report from its attempts and the evidence kept under its key.
pub fn scenario_report(r: &ScenarioRecord, evidence: &Evidence) -> ScenarioReport {
    let last = r.last();
    let key = format!("{} / {}", r.feature, r.name);
    let passed = last.is_some_and(|a| a.passed());
    let mut steps = last.map(|a| a.steps.clone()).unwrap_or_default();
    if let Some(h) = last.and_then(|a| a.hook_error.clone()) {
        steps.push(StepResult {
            text: "(hook)".into(),
            status: "failed".into(),
            duration_ms: 0,
            error: Some(h),
        });
    }
    let failure = if passed {
        None
    } else {
        collect::first_failure(&steps)
    };
    ScenarioReport {
        feature: r.feature.clone(),
        name: r.name.clone(),
        tags: r.tags.clone(),
        status: if passed { "passed" } else { "failed" }.into(),
        failure,
        attempts: r.attempts.len(),
        earlier_failures: r
            .attempts
            .iter()
            .rev()
            .skip(1)
            .rev()
            .filter_map(|a| a.reason())
            .collect(),
        duration_ms: r.attempts.iter().map(|a| a.duration_ms).sum(),
        started_at: r.attempts.first().and_then(|a| a.started).map(rfc3339),
        finished_at: r.attempts.last().and_then(|a| a.finished).map(rfc3339),
        steps,
        evidence: evidence.scenarios.get(&key).cloned().unwrap_or_default(),
    }
}

/// Why an Ente integrated with pagoPA only ASYNC is exempt from TC-COSTO-01, in every file.
pub const ASYNC_EXEMPTION: &str = "pagoPA integration ASYNC: the Ente does not update the debt position, so it does not read the notification price (PagoPA's onboarding: TC-COSTO-01 does not apply)";

/// Files every scenario under its TC (by tag); scenarios of no TC are extras.
/// `exempt` lists TCs that do not apply to the Ente, with the reason.
pub fn test_cases(
    scenarios: Vec<ScenarioReport>,
    exempt: &[(&str, &str)],
) -> (Vec<TcReport>, Vec<ScenarioReport>) {
    let is_tc = |s: &ScenarioReport| {
        TEST_CASES
            .iter()
            .any(|(id, _)| s.tags.iter().any(|t| t == id))
    };
    let (mine, extras): (Vec<_>, Vec<_>) = scenarios.into_iter().partition(is_tc);
    let tcs = TEST_CASES
        .iter()
        .map(|(id, title)| {
            let scenarios: Vec<ScenarioReport> = mine
                .iter()
                .filter(|s| s.tags.iter().any(|t| t == id))
                .cloned()
                .collect();
            let mut reasons: Vec<String> = scenarios
                .iter()
                .filter_map(|s| s.reason().map(|r| format!("{}: {r}", s.name)))
                .collect();
            let needed = required_scenarios(id);
            let exempt_reason = exempt
                .iter()
                .find(|(tc, _)| tc == id)
                .map(|(_, why)| why.to_string());
            let verdict = if exempt_reason.is_some() {
                Verdict::Exempt
            } else if scenarios.is_empty() {
                Verdict::NotRun
            } else if !reasons.is_empty() {
                Verdict::Failed
            } else if scenarios.len() < needed {
                reasons.push(format!(
                    "only {} of its {needed} scenarios ran: all are needed for go-live",
                    scenarios.len()
                ));
                Verdict::NotRun
            } else {
                Verdict::Passed
            };
            TcReport {
                id: id.to_string(),
                title: title.to_string(),
                verdict,
                exempt_reason,
                duration_ms: wall_time(&scenarios),
                reasons,
                scenarios,
            }
        })
        .collect();
    (tcs, extras)
}

fn rfc3339(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// How long a TC took: from its first scenario's start to its last one's end (its scenarios
/// run at the same time); the sum of their durations when a time is missing.
fn wall_time(scenarios: &[ScenarioReport]) -> u64 {
    let parse = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    let starts: Option<Vec<_>> = scenarios.iter().map(|s| parse(&s.started_at)).collect();
    let ends: Option<Vec<_>> = scenarios.iter().map(|s| parse(&s.finished_at)).collect();
    match (starts, ends) {
        (Some(s), Some(e)) if !s.is_empty() => {
            let span = *e.iter().max().expect("non-empty") - *s.iter().min().expect("non-empty");
            span.num_milliseconds().max(0) as u64
        }
        _ => scenarios.iter().map(|s| s.duration_ms).sum(),
    }
}

/// A duration as people read it: `850 ms`, `1.6 s`.
pub fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// Go-live: every test case passed (or is exempt).
pub fn go_live(v: &[TcReport]) -> bool {
    v.iter()
        .all(|t| matches!(t.verdict, Verdict::Passed | Verdict::Exempt))
}

impl RunReport {
    /// Every scenario of the run, TCs first.
    pub fn scenarios(&self) -> impl Iterator<Item = &ScenarioReport> {
        self.test_cases
            .iter()
            .flat_map(|t| t.scenarios.iter())
            .chain(self.extras.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use collect::Attempt;

    fn step(text: &str, status: &str, error: Option<&str>) -> StepResult {
        StepResult {
            text: text.into(),
            status: status.into(),
            duration_ms: 1,
            error: error.map(str::to_string),
        }
    }

    fn record(name: &str, tag: &str, attempts: Vec<Vec<StepResult>>) -> ScenarioRecord {
        ScenarioRecord {
            feature: "F".into(),
            name: name.into(),
            line: 1,
            tags: vec![tag.into()],
            attempts: attempts
                .into_iter()
                .map(|steps| Attempt {
                    steps,
                    ..Default::default()
                })
                .collect(),
        }
    }

    fn reports(records: &[ScenarioRecord]) -> Vec<ScenarioReport> {
        records
            .iter()
            .map(|r| scenario_report(r, &Evidence::default()))
            .collect()
    }

    #[test]
    fn verdicts_follow_the_last_attempt_of_each_scenario() {
        let recs = vec![
            record(
                "ok",
                "TC-INVIO-01",
                vec![vec![step("Given a", "passed", None)]],
            ),
            record(
                "flaky",
                "TC-INVIO-02",
                vec![
                    vec![step("Given a", "failed", Some("HTTP 502"))],
                    vec![step("Given a", "passed", None)],
                ],
            ),
            record(
                "bad",
                "TC-INVIO-04",
                vec![vec![
                    step("Given a", "passed", None),
                    step("Then b", "failed", Some("HTTP 403 — PN_FORBIDDEN")),
                ]],
            ),
            record("x", "extra", vec![vec![step("Given a", "passed", None)]]),
        ];
        let (tcs, extras) = test_cases(reports(&recs), &[]);
        assert_eq!(tcs[0].verdict, Verdict::Passed);
        assert_eq!(
            tcs[1].verdict,
            Verdict::Passed,
            "a retried-then-passed scenario passes"
        );
        assert_eq!(tcs[1].scenarios[0].attempts, 2);
        assert_eq!(tcs[1].scenarios[0].earlier_failures, ["Given a — HTTP 502"]);
        assert_eq!(tcs[2].verdict, Verdict::NotRun);
        assert_eq!(tcs[3].verdict, Verdict::Failed);
        assert_eq!(tcs[3].reasons, ["bad: Then b — HTTP 403 — PN_FORBIDDEN"]);
        assert_eq!(extras.len(), 1);
        assert!(!go_live(&tcs));
    }

    #[test]
    fn costo_needs_both_scenarios_and_can_be_exempt() {
        let one = vec![record(
            "s1",
            "TC-COSTO-01",
            vec![vec![step("Given a", "passed", None)]],
        )];
        let (tcs, _) = test_cases(reports(&one), &[]);
        assert_eq!(tcs[4].verdict, Verdict::NotRun);
        assert!(tcs[4].reasons[0].contains("only 1 of its 2 scenarios"));
        let (tcs, _) = test_cases(reports(&one), &[("TC-COSTO-01", ASYNC_EXEMPTION)]);
        assert_eq!(tcs[4].verdict, Verdict::Exempt);
        assert_eq!(tcs[4].exempt_reason.as_deref(), Some(ASYNC_EXEMPTION));
        let mut two = one.clone();
        two.push(record(
            "s2",
            "TC-COSTO-01",
            vec![vec![step("Given a", "passed", None)]],
        ));
        two[1].line = 2;
        assert_eq!(test_cases(reports(&two), &[]).0[4].verdict, Verdict::Passed);
    }

    #[test]
    fn a_scenario_that_never_ran_a_step_fails() {
        let r = record("empty", "TC-INVIO-01", vec![vec![]]);
        let s = scenario_report(&r, &Evidence::default());
        assert_eq!(s.status, "failed");
        assert_eq!(s.reason().as_deref(), Some("no step ran"));
    }
}
