//! The v2.3 API family drives the same test cases through SEND's v2.3 operations.

mod common;

use send_conformance::client::ApiFamily;
use send_conformance::target::Target;
use send_conformance::{RunOptions, run};

/// A run of the demo profile on the embedded mock.
fn demo_run(family: ApiFamily, tags: &str, dir: &std::path::Path) -> RunOptions {
    RunOptions {
        family,
        ..RunOptions::new(common::demo(), Target::Embedded, dir).tags(tags)
    }
}

#[tokio::test]
async fn the_v23_family_passes_and_calls_only_v23_operations() {
    let dir = tempfile::tempdir().unwrap();
    let opts = demo_run(ApiFamily::V23, "@TC-INVIO-01 or @TC-INVIO-03", dir.path());
    let o = run(opts).await.unwrap();
    assert_eq!(
        o.report.test_cases[0].verdict.as_str(),
        "passed",
        "{:?}",
        o.report.test_cases[0].reasons
    );
    assert_eq!(
        o.report.test_cases[2].verdict.as_str(),
        "passed",
        "{:?}",
        o.report.test_cases[2].reasons
    );
    let transcript =
        std::fs::read_to_string(o.report_dir.join("evidence/transcript.jsonl")).unwrap();
    assert!(
        transcript.contains("/delivery/v2.3/requests")
            && transcript.contains("/delivery-progresses/v2.3/streams")
            && transcript.contains("/delivery/v2.3/notifications/sent/")
    );
    assert!(!transcript.contains("/v2.6/") && !transcript.contains("/v2.9/"));
}

#[tokio::test]
async fn a_full_run_writes_a_green_validator_checklist_from_its_own_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let opts = demo_run(ApiFamily::Current, "not @extra", dir.path());
    let o = run(opts).await.unwrap();
    assert!(o.go_live());
    let checks: serde_json::Value =
        serde_json::from_slice(&std::fs::read(o.report_dir.join("checklist.json")).unwrap())
            .unwrap();
    for tc in checks.as_array().unwrap() {
        assert!(
            tc["ok"].as_bool().unwrap(),
            "{}",
            serde_json::to_string_pretty(tc).unwrap()
        );
    }
    let pv: serde_json::Value =
        serde_json::from_slice(&std::fs::read(o.report_dir.join("checklistresult.json")).unwrap())
            .unwrap();
    assert_eq!(pv["result"].as_array().unwrap().len(), 5);
}
