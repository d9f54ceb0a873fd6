//! Runs that must fail, naming what a PT has to fix.

use send_conformance::client::ApiFamily;
use send_conformance::profile::EnteProfile;
use send_conformance::target::Target;
use send_conformance::{RunOptions, default_features, run};
use send_mock::{MockConfig, MockServer};
use std::path::PathBuf;

const DEMO: &str = include_str!("../../fixtures/enti/demo.toml");

fn opts(profile: EnteProfile, target: Target, tags: &str, dir: &std::path::Path) -> RunOptions {
    RunOptions {
        profile,
        target,
        family: ApiFamily::Current,
        tags: Some(tags.into()),
        report_dir: dir.to_path_buf(),
        features: default_features(),
        verbose: false,
        retries: 0,
    }
}

#[tokio::test]
async fn a_wrong_api_key_fails_every_tc_and_says_the_key_is_unknown() {
    let mock = MockServer::start(MockConfig::for_tests()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let profile = EnteProfile::parse(&DEMO.replace(
        "api_key = \"demo-api-key\"",
        "api_key = \"not-the-right-key\"",
    ))
    .unwrap();
    let o = run(opts(
        profile,
        Target::Url(mock.base_url()),
        "@TC-INVIO-01 or @TC-INVIO-02",
        dir.path(),
    ))
    .await
    .unwrap();
    assert!(!o.go_live());
    for tc in &o.report.test_cases[..2] {
        assert_eq!(tc.verdict.as_str(), "failed", "{}", tc.id);
        assert!(
            tc.reasons
                .iter()
                .any(|r| r.contains("403") && r.contains("unknown x-api-key")),
            "{:?}",
            tc.reasons
        );
    }
    assert_eq!(o.report.test_cases[2].verdict.as_str(), "not-run");
    let report = std::fs::read_to_string(o.report_dir.join("report.json")).unwrap();
    assert!(
        !report.contains("not-the-right-key"),
        "the key must not reach the report"
    );
    mock.stop().await;
}

#[tokio::test]
async fn a_refused_notification_fails_tc_invio_01_with_the_refusal_reason() {
    let dir = tempfile::tempdir().unwrap();
    // Zip 00000 is refused by SEND's address normalisation.
    let profile =
        EnteProfile::parse(&DEMO.replacen("zip = \"00100\"", "zip = \"00000\"", 1)).unwrap();
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
    let profile =
        EnteProfile::parse(&DEMO.replacen("zip = \"00100\"", "zip = \"00000\"", 1)).unwrap();
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
async fn an_async_only_ente_is_exempt_from_tc_costo_01() {
    let dir = tempfile::tempdir().unwrap();
    let profile = EnteProfile::parse(&DEMO.replace(
        "pago_pa_int_mode = \"SYNC\"",
        "pago_pa_int_mode = \"ASYNC\"",
    ))
    .unwrap();
    let o = run(opts(
        profile,
        Target::Embedded,
        "@TC-COSTO-01 or @TC-INVIO-01",
        dir.path(),
    ))
    .await
    .unwrap();
    assert_eq!(o.report.test_cases[4].verdict.as_str(), "exempt");
    assert!(
        o.report
            .scenarios()
            .all(|s| !s.tags.contains(&"TC-COSTO-01".to_string())),
        "its scenarios are not run"
    );
}

#[tokio::test]
async fn a_pdnd_ente_runs_with_a_voucher_and_a_wrong_kid_is_named() {
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
    let o = run(opts(
        profile,
        Target::Url(mock.base_url()),
        "@TC-INVIO-01",
        dir.path(),
    ))
    .await
    .unwrap();
    assert_eq!(o.report.test_cases[0].verdict.as_str(), "failed");
    assert!(
        o.report.test_cases[0]
            .reasons
            .join(" ")
            .contains("kid wrong-kid is not a key"),
        "{:?}",
        o.report.test_cases[0].reasons
    );
    mock.stop().await;
}
