//! What each artefact of a run says, said the same way everywhere: the exemption of an ASYNC
//! Ente, whose key read TC-COSTO-01's price, the paper product the Ente chose.

mod common;

use common::*;
use send_conformance::target::Target;
use send_conformance::{RunOptions, RunOutcome, run};
use serde_json::Value;

fn read_json(o: &RunOutcome, file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(o.report_dir.join(file)).unwrap()).unwrap()
}

fn leaves(n: &Value) -> Vec<&Value> {
    match n["children"].as_array() {
        Some(c) => c.iter().flat_map(leaves).collect(),
        None => vec![n],
    }
}

#[tokio::test]
async fn an_async_ente_is_exempt_from_tc_costo_01_in_every_file_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let profile = demo_with(
        "pago_pa_int_mode = \"SYNC\"",
        "pago_pa_int_mode = \"ASYNC\"",
    );
    let o = run(RunOptions::new(profile, Target::Embedded, dir.path())
        .tags("@TC-COSTO-01 or @TC-INVIO-01 or @TC-INVIO-02"))
    .await
    .unwrap();
    // ASYNC payments are checked against GPD: the harness registered the position on the mock.
    assert_eq!(o.report.test_cases[1].verdict.as_str(), "passed");
    let costo = &o.report.test_cases[4];
    assert_eq!(costo.verdict.as_str(), "exempt");
    let why = costo.exempt_reason.clone().expect("the reason");
    assert!(why.contains("ASYNC"), "{why}");
    assert!(
        o.report
            .scenarios()
            .all(|s| !s.tags.contains(&"TC-COSTO-01".to_string())),
        "its scenarios are not run"
    );
    // checklistresult.json: the TC's node says exempt, with the reason, and has no false leaf.
    let result = read_json(&o, "checklistresult.json");
    let node = result["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["description"] == "TC-COSTO-01")
        .unwrap();
    assert_eq!(node["exempt"], true);
    assert_eq!(node["reason"], why.as_str());
    assert!(leaves(node).iter().all(|l| l["result"] != false), "{node}");
    // checklist.json alike.
    let checks = read_json(&o, "checklist.json");
    let costo_check = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "TC-COSTO-01")
        .unwrap();
    assert_eq!(costo_check["exempt"], why.as_str());
    assert_eq!(costo_check["ok"], true);
    // junit.xml: a skipped case saying why.
    let xml = std::fs::read_to_string(o.report_dir.join("junit.xml")).unwrap();
    let junit = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let suite = &junit.test_suites[4];
    assert_eq!((suite.skipped, suite.failures), (1, 0));
    match &suite.test_cases[0].status {
        quick_junit::TestCaseStatus::Skipped { message, .. } => {
            assert_eq!(message.as_ref().unwrap().as_str(), format!("exempt: {why}"));
        }
        other => panic!("not skipped: {other:?}"),
    }
    // summary.md and report.html.
    let md = std::fs::read_to_string(o.report_dir.join("evidence/summary.md")).unwrap();
    assert!(md.contains("TC-COSTO-01") && md.contains("Esente") && md.contains("ASYNC"));
    let html = std::fs::read_to_string(o.report_dir.join("report.html")).unwrap();
    let text = &html::parse(&html)[0].text;
    assert!(text.contains("Esente") && text.contains("ASYNC"));
}

#[tokio::test]
async fn scenario_2_says_whose_key_read_the_price() {
    // A mock at a URL, and a profile with no creditor_api_key: the sender's key reads it.
    let mock = send_mock::MockServer::start(send_mock::MockConfig::for_tests())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o =
        run(RunOptions::new(demo(), Target::Url(mock.base_url()), dir.path()).tags("@TC-COSTO-01"))
            .await
            .unwrap();
    mock.stop().await;
    let costo = &o.report.test_cases[4];
    assert_eq!(costo.verdict.as_str(), "passed", "{:?}", costo.reasons);
    let scenario2 = &costo.scenarios[1].evidence;
    assert!(!scenario2.prices.is_empty());
    for p in &scenario2.prices {
        assert_eq!(p.read_by, "sender", "{p:?}");
        assert_eq!(p.creditor_tax_id, "77777777777");
    }
    assert!(
        scenario2.notes.iter().any(|n| n.contains("sender's key")),
        "{:?}",
        scenario2.notes
    );
    let html = std::fs::read_to_string(o.report_dir.join("report.html")).unwrap();
    assert!(
        html::parse(&html)[0]
            .text
            .contains("il mittente (chiave API dell'Ente)")
    );
    assert!(!html.contains("il creditore (la sua chiave API)"));
}

#[tokio::test]
async fn an_ente_that_sends_by_a_r_passes_and_its_checklist_accepts_a_r() {
    let dir = tempfile::tempdir().unwrap();
    let profile = demo_with(
        "pago_pa_int_mode = \"SYNC\"",
        "pago_pa_int_mode = \"SYNC\"\nphysical_communication_type = \"AR_REGISTERED_LETTER\"",
    );
    let o = run(RunOptions::new(profile, Target::Embedded, dir.path()).tags("@TC-INVIO-01"))
        .await
        .unwrap();
    let tc = &o.report.test_cases[0];
    assert_eq!(tc.verdict.as_str(), "passed", "{:?}", tc.reasons);
    assert_eq!(
        tc.scenarios[0].evidence.requests[0]
            .physical_communication_type
            .as_str(),
        "AR_REGISTERED_LETTER"
    );
    assert_eq!(
        o.report.ente.physical_communication_type,
        "AR_REGISTERED_LETTER"
    );
    let checks = read_json(&o, "checklist.json");
    fn find<'v>(n: &'v Value, id: &str) -> Option<&'v Value> {
        n.as_array()?.iter().find_map(|c| {
            if c["id"] == id {
                Some(c)
            } else {
                find(&c["children"], id)
            }
        })
    }
    let leaf = find(&checks, "TC-INVIO-01.send.physicalCommunicationType").unwrap();
    assert_eq!(leaf["ok"], true, "{leaf}");
    // An 890 request would not be what this Ente sends.
    let profile_890 = demo();
    assert_eq!(
        profile_890.physical_communication_type.as_str(),
        "REGISTERED_LETTER_890"
    );
}

/// A profile whose notifications name a group: on the embedded mock the key is bound to it,
/// so the streams of TC-INVIO-03 must name it too (SEND refuses a stream without groups to a
/// key with groups), and they still see the Ente's notifications.
#[tokio::test]
async fn an_ente_whose_key_has_a_group_passes_tc_invio_03_with_grouped_streams() {
    let dir = tempfile::tempdir().unwrap();
    let profile = demo_with(
        "pago_pa_int_mode = \"SYNC\"",
        "pago_pa_int_mode = \"SYNC\"\ngroup = \"ufficio-tributi\"",
    );
    let o = run(RunOptions::new(profile, Target::Embedded, dir.path()).tags("@TC-INVIO-03"))
        .await
        .unwrap();
    let tc = o
        .report
        .test_cases
        .iter()
        .find(|t| t.id == "TC-INVIO-03")
        .unwrap();
    assert_eq!(
        tc.verdict.as_str(),
        "passed",
        "{:?}",
        o.report.scenarios().map(|s| &s.failure).collect::<Vec<_>>()
    );
}
