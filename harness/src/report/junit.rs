//! `junit.xml`: one testsuite per TC (plus one for the extras), one testcase per scenario.
//! A scenario that failed and then passed on a retry is a success with `<flakyFailure>`, not a
//! failure; a TC that did not run or does not apply is one skipped testcase saying why.

use super::error::ReportError;
use super::{RunReport, ScenarioReport, Verdict};
use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};
use std::time::Duration;

fn testcase(classname: &str, s: &ScenarioReport) -> TestCase {
    let mut status = if s.passed() {
        TestCaseStatus::success()
    } else {
        let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
        st.set_message(s.reason().unwrap_or_default())
            .set_type("step failed")
            .set_description(steps_text(s));
        st
    };
    status.add_reruns(s.earlier_failures.iter().map(|why| {
        let mut r = TestRerun::new(NonSuccessKind::Failure);
        r.set_message(why.as_str()).set_type("step failed");
        r
    }));
    let mut tc = TestCase::new(s.name.as_str(), status);
    tc.set_classname(classname)
        .set_time(Duration::from_millis(s.duration_ms));
    tc
}

/// The steps with their outcome, as the failure's text.
fn steps_text(s: &ScenarioReport) -> String {
    s.steps
        .iter()
        .map(|st| match &st.error {
            Some(e) => format!("{:<9} {}\n          {e}", st.status, st.text),
            None => format!("{:<9} {}", st.status, st.text),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whose run this is, where, when and by what: the same facts as checklistresult.json.
fn provenance(r: &RunReport) -> Vec<Property> {
    [
        ("ente.name", r.ente.name.clone()),
        ("ente.taxId", r.ente.tax_id.clone()),
        ("target.kind", r.target.kind.to_string()),
        ("target.baseUrl", r.target.base_url.clone()),
        ("generatedAt", r.finished_at.clone()),
        ("tool", format!("{} {}", r.tool.name, r.tool.version)),
        ("tool.commit", r.tool.commit.to_string()),
        ("runId", r.run_id.clone()),
        (
            "evidence.validForGoLive",
            r.evidence.valid_for_go_live.to_string(),
        ),
        ("evidence.why", r.evidence.why.clone()),
    ]
    .into_iter()
    .map(|(k, v)| Property::new(k, v))
    .collect()
}

pub fn build(report: &RunReport) -> Report {
    let mut out = Report::new(format!(
        "SEND onboarding — {} ({})",
        report.ente.name, report.ente.tax_id
    ));
    out.set_time(Duration::from_millis(report.duration_ms));
    for tc in &report.test_cases {
        let mut suite = TestSuite::new(format!("{} — {}", tc.id, tc.title));
        suite.set_time(Duration::from_millis(tc.duration_ms));
        suite.add_properties(provenance(report));
        match tc.verdict {
            Verdict::Exempt | Verdict::NotRun if tc.scenarios.is_empty() => {
                let mut st = TestCaseStatus::skipped();
                st.set_message(match (&tc.exempt_reason, tc.verdict) {
                    (Some(why), _) => format!("exempt: {why}"),
                    _ => "not run: no scenario of this TC was selected".to_string(),
                });
                let mut case = TestCase::new(tc.id.as_str(), st);
                case.set_classname(tc.id.as_str());
                suite.add_test_case(case);
            }
            _ => {
                suite.add_test_cases(tc.scenarios.iter().map(|s| testcase(&tc.id, s)));
            }
        }
        out.add_test_suite(suite);
    }
    if !report.extras.is_empty() {
        let mut suite = TestSuite::new("extra — not part of the go-live verdict");
        suite.add_properties(provenance(report));
        suite.add_test_cases(report.extras.iter().map(|s| testcase("extra", s)));
        out.add_test_suite(suite);
    }
    out
}

pub fn write(dir: &std::path::Path, report: &RunReport) -> Result<(), ReportError> {
    let xml = build(report).to_string().map_err(ReportError::Junit)?;
    let path = dir.join("junit.xml");
    std::fs::write(&path, xml).map_err(ReportError::io(&path))
}
