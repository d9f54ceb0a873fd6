//! `send-conformance proxy` between a client and SEND: the upstream is the `send-mock` binary
//! as the UAT twin (storage on its own host, presigned S3 paths), the client is the harness's
//! own `send-conformance run` pointed at the proxy as a PT points its software. The proxy's
//! live checklist must agree, check by check, with the one the mock keeps of the same calls.

mod common;

use common::*;
use send_conformance::proxy::{Proxy, ProxyOptions};
use send_conformance::report::i18n::Lang;
use send_conformance::target::Target;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_send-conformance");
const KEY: &str = "demo-api-key";

/// Every node of a checklist as `(id, ok, reason of a failed leaf)`, in tree order. Evidence
/// ids are left out: the mock numbers its own call log, the proxy its transcript.
fn verdicts(checks: &Value) -> Vec<(String, bool, Option<String>)> {
    fn walk(n: &Value, out: &mut Vec<(String, bool, Option<String>)>) {
        for c in n.as_array().into_iter().flatten() {
            let leaf = c["children"].as_array().is_none_or(|k| k.is_empty());
            let ok = c["ok"] == true;
            let reason = (leaf && !ok).then(|| c["reason"].as_str().unwrap_or("").to_string());
            out.push((c["id"].as_str().unwrap_or("").to_string(), ok, reason));
            walk(&c["children"], out);
        }
    }
    let mut out = vec![];
    walk(checks, &mut out);
    out
}

async fn mock_checklist(base: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}/mock/checklist"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The harness run, as a PT's software, through `proxy` (blocking: it is another process).
async fn run_through(proxy: &str, report_dir: &Path, tags: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--target", proxy, "--report-dir"])
        .arg(report_dir)
        .arg("--ente")
        .arg(fixture("enti/demo.toml"));
    if let Some(t) = tags {
        cmd.args(["--tags", t]);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

async fn start_proxy(upstream: &str, report_dir: &Path) -> Proxy {
    Proxy::start(ProxyOptions {
        upstream: Target::parse(upstream).unwrap(),
        profile: demo(),
        listen: "127.0.0.1:0".parse().unwrap(),
        report_dir: report_dir.to_path_buf(),
        lang: Lang::It,
    })
    .await
    .unwrap()
}

fn twin() -> MockChild {
    start_send_mock(&[
        "--listen",
        "127.0.0.1:0",
        "--uat-twin",
        "--time-scale",
        "500ms",
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_through_the_proxy_is_judged_as_the_mock_judges_it() {
    let mock = twin();
    let base = mock.logged["base_url"].clone();
    let dir = tempfile::tempdir().unwrap();
    let proxy = start_proxy(&base, dir.path()).await;
    let out = run_through(&proxy.base_url(), &dir.path().join("run"), None).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "the client passes every TC through the proxy:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = proxy.checklist();
    let theirs = mock_checklist(&base).await;
    assert_eq!(ours["ok"], true, "{:#}", ours["checks"]);
    assert_eq!(verdicts(&ours["checks"]), verdicts(&theirs["checks"]));
    assert!(verdicts(&ours["checks"]).len() >= 20);
    // Downloads went through the proxy to the storage host, with the signature intact: the
    // transcript names the storage's own URL, redacted.
    let done = proxy.write_report().unwrap();
    let transcript =
        std::fs::read_to_string(done.report_dir.join("evidence/transcript.jsonl")).unwrap();
    let storage = mock.logged["storage_url"].clone();
    let downloads: Vec<Value> = transcript
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|x| x["url"].as_str().unwrap().starts_with(&storage) && x["method"] == "GET")
        .collect();
    assert!(
        downloads.len() >= 4,
        "document, form, AAR, legal facts: {downloads:?}"
    );
    assert!(
        downloads.iter().all(|x| x["status"] == 200),
        "{downloads:?}"
    );
    assert!(downloads.iter().all(|x| {
        x["url"]
            .as_str()
            .unwrap()
            .contains("X-Amz-Signature=[REDACTED]")
    }));
    assert!(!transcript.contains(KEY), "the key is never written");
    let result: Value = serde_json::from_slice(
        &std::fs::read(done.report_dir.join("checklistresult.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(result["target"]["kind"], "mock");
    assert_eq!(
        result["evidence"]["code"], "rehearsal",
        "a mock upstream is no go-live evidence"
    );
    assert!(
        result["calls"]
            .as_str()
            .unwrap()
            .contains("PT's own software")
    );
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_skips_tc_invio_03_gets_the_same_cross_and_reason_from_both() {
    let mock = twin();
    let base = mock.logged["base_url"].clone();
    let dir = tempfile::tempdir().unwrap();
    let proxy = start_proxy(&base, dir.path()).await;
    run_through(
        &proxy.base_url(),
        &dir.path().join("run"),
        Some("not @TC-INVIO-03"),
    )
    .await;
    let ours = verdicts(&proxy.checklist()["checks"]);
    let theirs = verdicts(&mock_checklist(&base).await["checks"]);
    assert_eq!(ours, theirs);
    let tc3 = ours.iter().find(|(id, _, _)| id == "TC-INVIO-03").unwrap();
    assert!(
        !tc3.1,
        "TC-INVIO-03 is not passed by a client that skips it"
    );
    let reasons: Vec<_> = ours
        .iter()
        .filter(|(id, ok, r)| id.starts_with("TC-INVIO-03") && !ok && r.is_some())
        .collect();
    assert!(!reasons.is_empty(), "{ours:?}");
    let tc1 = ours.iter().find(|(id, _, _)| id == "TC-INVIO-01").unwrap();
    assert!(tc1.1, "the TCs it ran still pass: {ours:?}");
    proxy.stop().await;
}

/// The binary as a PT runs it: a few calls, one with another Ente's key, then SIGTERM; the
/// report of what was seen is written, with the other key's call flagged and no secret.
#[test]
fn sigterm_mid_run_writes_the_report_of_what_was_seen() {
    use std::io::{BufRead, BufReader};
    let mock = start_send_mock(&["--listen", "127.0.0.1:0"]);
    let base = mock.logged["base_url"].clone();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args([
            "proxy",
            "--upstream",
            &base,
            "--listen",
            "127.0.0.1:0",
            "--report-dir",
        ])
        .arg(dir.path())
        .arg("--ente")
        .arg(fixture("enti/demo.toml"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let proxy = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in `{first}`"))
        .to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let secret = rt.block_on(async {
        let c = reqwest::Client::new();
        let pdf = b"%PDF-1.4 atto".to_vec();
        let sha = {
            use base64::Engine as _;
            use sha2::Digest as _;
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&pdf))
        };
        let slots: Value = c
            .post(format!("{proxy}/delivery/attachments/preload"))
            .header("x-api-key", KEY)
            .json(&serde_json::json!([{"preloadIdx": "0", "contentType": "application/pdf", "sha256": sha}]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let url = slots[0]["url"].as_str().unwrap();
        assert!(url.starts_with(&proxy), "the upload URL points at the proxy: {url}");
        let put = c
            .put(url)
            .header("content-type", "application/pdf")
            .header("x-amz-meta-secret", slots[0]["secret"].as_str().unwrap())
            .header("x-amz-checksum-sha256", &sha)
            .body(pdf)
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());
        let other = c
            .get(format!("{proxy}/delivery/v2.6/requests?notificationRequestId=eA=="))
            .header("x-api-key", "another-entes-key")
            .send()
            .await
            .unwrap();
        assert!(other.status().is_client_error());
        slots[0]["secret"].as_str().unwrap().to_string()
    });
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "not every TC passed: exit 1");
    let ente = dir.path().join("comune-di-esempio-demo");
    let run = std::fs::read_dir(&ente)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for f in [
        "report.html",
        "checklist.json",
        "checklistresult.json",
        "evidence/summary.md",
        "evidence/transcript.jsonl",
    ] {
        assert!(run.join(f).is_file(), "{f} written");
    }
    let transcript = std::fs::read_to_string(run.join("evidence/transcript.jsonl")).unwrap();
    assert_eq!(transcript.lines().count(), 3, "{transcript}");
    let checklist: Value =
        serde_json::from_slice(&std::fs::read(run.join("checklist.json")).unwrap()).unwrap();
    let flagged = checklist["otherKeyCalls"].as_array().unwrap();
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!(flagged[0]["callId"], 3);
    for f in [
        "report.html",
        "checklist.json",
        "checklistresult.json",
        "evidence/summary.md",
        "evidence/transcript.jsonl",
    ] {
        let text = std::fs::read_to_string(run.join(f)).unwrap();
        assert!(
            !text.contains(KEY) && !text.contains("another-entes-key"),
            "a key in {f}"
        );
        assert!(!text.contains(&secret), "the upload secret in {f}");
    }
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(
        html.contains("Collaudo SEND del software del PT"),
        "Italian by default"
    );
}

/// Mistakes cost no run: an upstream the proxy cannot forward to, or the demo Ente on UAT, is
/// refused at once with one line and exit code 2.
#[test]
fn a_wrong_upstream_or_the_demo_ente_on_uat_is_refused_at_once() {
    for (upstream, says) in [
        ("embedded", "not to the embedded mock"),
        ("ftp://x", "--upstream"),
        ("uat", "demo API key"),
    ] {
        let out = Command::new(BIN)
            .args([
                "proxy",
                "--upstream",
                upstream,
                "--listen",
                "127.0.0.1:0",
                "--ente",
            ])
            .arg(fixture("enti/demo.toml"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{upstream}: {err}");
        assert!(err.contains(says), "{upstream}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}
