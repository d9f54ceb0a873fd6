//! `send-conformance run` exit codes and its one-line reasons when a run cannot start: 0 every
//! TC passed, 1 a TC failed, 2 could not run (profile, target, preflight, tags) with no report
//! of failed TCs written.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_send-conformance");

fn run(args: &[&str], ente: &Path, reports: &Path) -> Output {
    Command::new(BIN)
        .arg("run")
        .args(args)
        .arg("--ente")
        .arg(ente)
        .arg("--report-dir")
        .arg(reports)
        .output()
        .unwrap()
}

/// Exit code 2, one line on stderr that contains every fragment, and no report.
fn cannot_run(out: &Output, reports: &Path, fragments: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    let lines: Vec<&str> = err.trim().lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    for f in fragments {
        assert!(lines[0].contains(f), "`{f}` not in: {}", lines[0]);
    }
    let written = std::fs::read_dir(reports).map(|d| d.count()).unwrap_or(0);
    assert_eq!(written, 0, "a run that cannot start writes no report");
}

fn profile_file(dir: &Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("ente.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn unreachable_targets_are_named_by_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let reports = tmp.path().join("reports");
    let demo = fixture("enti/demo.toml");
    // Nothing listens on port 1.
    let out = run(&["--target", "http://127.0.0.1:1"], &demo, &reports);
    cannot_run(
        &out,
        &reports,
        &["preflight", "http://127.0.0.1:1", "connection refused"],
    );
    // A name no resolver knows (`.invalid` is reserved for that).
    let out = run(&["--target", "http://send.invalid"], &demo, &reports);
    cannot_run(
        &out,
        &reports,
        &["preflight", "http://send.invalid", "does not resolve"],
    );
}

#[test]
fn a_plain_http_server_reached_with_https_is_a_tls_failure() {
    let mock = start_send_mock(&["--listen", "127.0.0.1:0"]);
    let tmp = tempfile::tempdir().unwrap();
    let reports = tmp.path().join("reports");
    let https = mock.logged["base_url"].replace("http://", "https://");
    let out = run(&["--target", &https], &fixture("enti/demo.toml"), &reports);
    cannot_run(&out, &reports, &["preflight", "TLS"]);
}

#[test]
fn a_key_the_twin_does_not_know_is_a_403_with_its_reason() {
    let mock = start_send_mock(&[
        "--listen",
        "127.0.0.1:0",
        "--uat-twin",
        "--time-scale",
        "1s",
    ]);
    let tmp = tempfile::tempdir().unwrap();
    let reports = tmp.path().join("reports");
    let ente = profile_file(
        tmp.path(),
        &DEMO.replace("api_key = \"demo-api-key\"", "api_key = \"revoked-key\""),
    );
    let out = run(&["--target", &mock.logged["base_url"]], &ente, &reports);
    cannot_run(&out, &reports, &["403", "unknown x-api-key"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("revoked-key"));
}

#[test]
fn the_demo_profile_is_never_sent_to_uat() {
    let tmp = tempfile::tempdir().unwrap();
    let reports = tmp.path().join("reports");
    let out = run(&["--target", "uat"], &fixture("enti/demo.toml"), &reports);
    cannot_run(&out, &reports, &["demo API key", "api_key_env"]);
    let ente = profile_file(
        tmp.path(),
        &DEMO.replace(
            "api_key = \"demo-api-key\"",
            "api_key = \"a-real-looking-key\"",
        ),
    );
    let out = run(&["--target", "uat"], &ente, &reports);
    cannot_run(&out, &reports, &["80016350821", "demo Ente"]);
}

#[test]
fn tags_that_select_nothing_are_an_error_naming_the_tags_there_are() {
    let tmp = tempfile::tempdir().unwrap();
    let reports = tmp.path().join("reports");
    let out = run(
        &["--tags", "@TC-INVIO-05"],
        &fixture("enti/demo.toml"),
        &reports,
    );
    cannot_run(
        &out,
        &reports,
        &[
            "@TC-INVIO-05",
            "selects no scenario",
            "@TC-INVIO-01",
            "@TC-COSTO-01",
            "@extra",
        ],
    );
}

#[test]
fn a_wrong_check_digit_in_the_profile_names_file_field_and_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let reports = tmp.path().join("reports");
    let ente = profile_file(
        tmp.path(),
        &DEMO.replace("tax_id = \"80016350821\"", "tax_id = \"80016350822\""),
    );
    let out = run(&[], &ente, &reports);
    cannot_run(&out, &reports, &["ente.toml", "tax_id", "check digit"]);
}

#[test]
fn a_failed_test_case_exits_1_with_its_report() {
    let tmp = tempfile::tempdir().unwrap();
    let reports = tmp.path().join("reports");
    // Zip 00000 is refused by SEND's address normalisation.
    let ente = profile_file(
        tmp.path(),
        &DEMO.replacen("zip = \"00100\"", "zip = \"00000\"", 1),
    );
    let out = run(&["--tags", "@TC-INVIO-01"], &ente, &reports);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        reports
            .join("comune-di-esempio-demo/latest/report.json")
            .exists()
    );
}

#[tokio::test]
async fn a_target_reporting_a_downtime_cannot_run_and_the_line_names_it() {
    let mock = start_send_mock(&["--listen", "127.0.0.1:0", "--time-scale", "1s"]);
    let base = mock.logged["base_url"].clone();
    let opened = reqwest::Client::new()
        .post(format!("{base}/mock/downtimes"))
        .header("x-api-key", "demo-api-key")
        .json(&serde_json::json!({"status": "KO", "functionality": ["NOTIFICATION_CREATE"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let tmp = tempfile::tempdir().unwrap();
    let reports = tmp.path().join("reports");
    let out = run(&["--target", &base], &fixture("enti/demo.toml"), &reports);
    cannot_run(
        &out,
        &reports,
        &[
            "downtime",
            "NOTIFICATION_CREATE KO since",
            "/status answers 200",
        ],
    );
}
