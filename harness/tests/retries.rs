//! A scenario retried by Cucumber: failed once, then passed. The report's collector keeps the
//! attempts apart, the TC passes, and junit.xml shows a flaky success, not a failure.

use cucumber::{World, WriterExt as _, given, writer};
use send_conformance::report::collect::{Collected, Collector};
use send_conformance::report::{self, Verdict};
use send_conformance::steps::error::{StepError, StepResult};
use std::sync::atomic::{AtomicUsize, Ordering};

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug, Default, World)]
struct FlakyWorld;

#[given("a step that fails the first time")]
fn flaky(_: &mut FlakyWorld) -> StepResult {
    if CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
        Err(StepError::check("HTTP 502 from the gateway"))
    } else {
        Ok(())
    }
}

#[given("a step that always fails")]
fn broken(_: &mut FlakyWorld) -> StepResult {
    Err(StepError::check("HTTP 403 — PN_FORBIDDEN"))
}

#[given("a step that passes")]
fn fine(_: &mut FlakyWorld) {}

#[tokio::test]
async fn a_retried_then_passed_scenario_is_flaky_not_failed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("flaky.feature"),
        "@TC-INVIO-01\nFeature: F1\n  Scenario: S flaky\n    Given a step that passes\n    And a step that fails the first time\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.feature"),
        "@TC-INVIO-02\nFeature: F2\n  Scenario: S broken\n    Given a step that always fails\n",
    )
    .unwrap();
    let cli: cucumber::cli::Opts<_, _, _, cucumber::cli::Empty> = Default::default();
    let collected = Collected::default();
    FlakyWorld::cucumber()
        .retries(1)
        .with_writer(
            Collector::new(collected.clone())
                .discard_stats_writes()
                .discard_arbitrary_writes()
                .tee::<FlakyWorld, _>(writer::Summarize::new(writer::Basic::raw(
                    std::io::sink(),
                    writer::Coloring::Never,
                    0,
                )))
                .normalized(),
        )
        .with_cli(cli)
        .run(dir.path())
        .await;

    let records = collected.scenarios();
    let flaky = records.iter().find(|r| r.name == "S flaky").unwrap();
    assert_eq!(flaky.attempts.len(), 2);
    assert_eq!(flaky.attempts[0].steps[1].status, "failed");
    assert_eq!(
        flaky.attempts[0].steps[1].error.as_deref(),
        Some("HTTP 502 from the gateway")
    );
    assert!(flaky.attempts[1].passed());
    let broken = records.iter().find(|r| r.name == "S broken").unwrap();
    assert_eq!(broken.attempts.len(), 2, "retried once, failed twice");

    let scenarios = records
        .iter()
        .map(|r| report::scenario_report(r, &Default::default()))
        .collect();
    let (tcs, extras) = report::test_cases(scenarios, &[]);
    assert!(extras.is_empty());
    assert_eq!(tcs[0].verdict, Verdict::Passed);
    assert_eq!(tcs[1].verdict, Verdict::Failed);
    let go_live = report::go_live(&tcs);
    let run = report::RunReport {
        schema_version: report::SCHEMA_VERSION,
        run_id: "run-1".into(),
        lang: "en",
        tool: report::Tool::this(),
        target: report::TargetInfo {
            kind: "embedded",
            label: "test".into(),
            base_url: "embedded".into(),
            api_family: "current".into(),
            send_day_ms: 100,
            clock_source: "mock",
        },
        ente: report::EnteInfo {
            name: "E".into(),
            tax_id: "80016350821".into(),
            pago_pa_int_mode: "SYNC".into(),
            physical_communication_type: "REGISTERED_LETTER_890",
        },
        started_at: String::new(),
        finished_at: String::new(),
        duration_ms: 0,
        go_live,
        evidence: report::EvidenceValidity::of("embedded", go_live),
        vouchers_minted: None,
        test_cases: tcs,
        extras,
        errors: vec![],
    };
    let xml = report::junit::build(&run).to_string().unwrap();
    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(
        parsed.failures, 1,
        "only the scenario that never passed: {xml}"
    );
    assert!(xml.contains("<flakyFailure"), "{xml}");
    assert!(xml.contains("HTTP 502 from the gateway"));
    let invio01 = &parsed.test_suites[0];
    assert_eq!((invio01.tests, invio01.failures), (1, 0));
    assert!(matches!(
        &invio01.test_cases[0].status,
        quick_junit::TestCaseStatus::Success { flaky_runs } if flaky_runs.len() == 1
    ));
    // Not-run TCs are skipped testcases that say why.
    assert_eq!(parsed.test_suites[2].skipped, 1);
    // Every suite says whose run it is, where and by what.
    for name in [
        "ente.taxId",
        "target.kind",
        "runId",
        "tool.commit",
        "evidence.validForGoLive",
    ] {
        assert!(
            invio01.properties.iter().any(|p| p.name.as_str() == name),
            "property {name}"
        );
    }
}
