//! Runs that must fail, naming what a PT has to fix.

mod common;

use common::*;
use send_conformance::preflight::PreflightError;
use send_conformance::profile::EnteProfile;
use send_conformance::target::Target;
use send_conformance::{CannotRun, RunOptions, run};
use send_mock::{MockConfig, MockServer};
use std::path::PathBuf;

fn opts(profile: EnteProfile, target: Target, tags: &str, dir: &std::path::Path) -> RunOptions {
    RunOptions::new(profile, target, dir).tags(tags)
}

/// Nothing was written under `dir`: a run that cannot start leaves no report of failed TCs.
fn no_report(dir: &std::path::Path) {
    let left: Vec<_> = walk(dir);
    assert!(left.is_empty(), "files written: {left:?}");
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .flat_map(|e| {
                    let p = e.path();
                    if p.is_dir() { walk(&p) } else { vec![p] }
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_wrong_api_key_stops_the_run_at_the_preflight_and_says_so() {
    let mock = MockServer::start(MockConfig::for_tests()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let profile = demo_with(
        "api_key = \"demo-api-key\"",
        "api_key = \"not-the-right-key\"",
    );
    let err = run(opts(
        profile,
        Target::Url(mock.base_url()),
        "@TC-INVIO-01 or @TC-INVIO-02",
        dir.path(),
    ))
    .await
    .unwrap_err();
    let CannotRun::Preflight(PreflightError::Forbidden { detail, .. }) = &err else {
        panic!("not a 403 at the preflight: {err}");
    };
    assert!(detail.contains("unknown x-api-key"), "{detail}");
    let line = err.to_string();
    assert!(line.contains("403") && !line.contains('\n'), "{line}");
    assert!(
        !line.contains("not-the-right-key"),
        "the key must not be printed"
    );
    no_report(dir.path());
    mock.stop().await;
}

#[tokio::test]
async fn a_refused_notification_fails_tc_invio_01_with_the_refusal_reason() {
    let dir = tempfile::tempdir().unwrap();
    // Zip 00000 is refused by SEND's address normalisation.
    let profile = demo_with("zip = \"00100\"", "zip = \"00000\"");
    let o = run(opts(profile, Target::Embedded, "@TC-INVIO-01", dir.path()))
        .await
        .unwrap();
    assert_eq!(o.report.test_cases[0].verdict.as_str(), "failed");
    let reason = o.report.test_cases[0].reasons.join(" ");
    assert!(
        reason.contains("REFUSED") && reason.contains("NOT_VALID_ADDRESS"),
        "{reason}"
    );
    assert!(
        reason.contains("SEND accepts the request"),
        "the failing step is named: {reason}"
    );
}

#[tokio::test]
async fn with_retries_a_failing_scenario_runs_again_and_reports_every_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let profile = demo_with("zip = \"00100\"", "zip = \"00000\"");
    let mut o = opts(profile, Target::Embedded, "@TC-INVIO-01", dir.path());
    o.retries = 1;
    let o = run(o).await.unwrap();
    let tc = &o.report.test_cases[0];
    assert_eq!(tc.verdict.as_str(), "failed");
    let sc = &tc.scenarios[0];
    assert_eq!(sc.attempts, 2);
    assert_eq!(sc.earlier_failures.len(), 1);
    assert!(sc.earlier_failures[0].contains("NOT_VALID_ADDRESS"));
    let xml = std::fs::read_to_string(o.report_dir.join("junit.xml")).unwrap();
    assert!(xml.contains("<rerunFailure"), "{xml}");
}

#[tokio::test]
async fn a_pdnd_ente_runs_with_a_voucher_and_a_wrong_kid_stops_the_preflight() {
    let dir = tempfile::tempdir().unwrap();
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/enti/demo-pdnd.toml"
    ));
    let profile = EnteProfile::load(&path).unwrap();
    let o = run(opts(profile, Target::Embedded, "@TC-INVIO-01", dir.path()))
        .await
        .unwrap();
    assert_eq!(
        o.report.test_cases[0].verdict.as_str(),
        "passed",
        "{:?}",
        o.report.test_cases[0].reasons
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(o.report_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["vouchersMinted"], 1);

    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("kid = \"demo-kid-1\"", "kid = \"wrong-kid\"");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        text.replace(
            "../pdnd/",
            &format!("{}/../fixtures/pdnd/", env!("CARGO_MANIFEST_DIR")),
        ),
    )
    .unwrap();
    let mut profile = EnteProfile::load(&bad).unwrap();
    // The mock trusts the right kid; the client signs with a wrong one.
    if let Some(p) = &mut profile.pdnd {
        p.public_key_file = Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/pdnd/test-client.pub.pem"
        )));
    }
    let mock = MockServer::start(MockConfig {
        enti: vec![send_mock::EnteProfile {
            name: "PDND".into(),
            tax_id: "80016350821".into(),
            api_key: send_mock::ApiKey::new("demo-pdnd-api-key"),
            pdnd: true,
            pdnd_client_id: Some("9b361d49-33f4-4f1e-a88b-4e12661f2309".into()),
            pdnd_kid: Some("demo-kid-1".into()),
            pdnd_public_key_file: Some(PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../fixtures/pdnd/test-client.pub.pem"
            ))),
            ..send_mock::EnteProfile::demo()
        }],
        ..MockConfig::for_tests()
    })
    .await
    .unwrap();
    if let Some(p) = &mut profile.pdnd {
        p.token_url = format!("{}/mock/pdnd/token.oauth2", mock.base_url());
    }
    let bad_dir = tempfile::tempdir().unwrap();
    let err = run(opts(
        profile,
        Target::Url(mock.base_url()),
        "@TC-INVIO-01",
        bad_dir.path(),
    ))
    .await
    .unwrap_err();
    let CannotRun::Preflight(PreflightError::Voucher { detail }) = &err else {
        panic!("not a voucher refusal at the preflight: {err}");
    };
    assert!(detail.contains("kid wrong-kid is not a key"), "{detail}");
    no_report(bad_dir.path());
    mock.stop().await;
}
