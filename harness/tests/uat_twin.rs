//! The harness's UAT path, end to end, against the UAT twin: the `send-mock` binary with
//! `--uat-twin` (storage on its own host with S3 paths, gateway-shaped denials, retryAfter on
//! downloads, 429 on early stream reads), driven by the `send-conformance` binary exactly as a
//! QA runs it against UAT, with a URL target.

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_send-conformance");

fn leaves(node: &Value, out: &mut Vec<(String, bool)>) {
    match node.get("children").and_then(Value::as_array) {
        Some(children) => children.iter().for_each(|c| leaves(c, out)),
        None => out.push((
            node["description"].as_str().unwrap_or_default().to_string(),
            node["result"] == true,
        )),
    }
}

#[test]
fn the_uat_path_passes_on_the_twin_in_the_time_of_its_longest_scenario() {
    let mock = start_send_mock(&[
        "--listen",
        "127.0.0.1:0",
        "--uat-twin",
        "--time-scale",
        "1s",
    ]);
    let base = mock.logged["base_url"].clone();
    let storage = mock.logged["storage_url"].clone();
    assert_ne!(base, storage, "storage is another host");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["run", "--target", &base, "--report-dir"])
        .arg(dir.path())
        .args(["--ente"])
        .arg(fixture("enti/demo.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = dir.path().join("comune-di-esempio-demo/latest");
    let report: Value =
        serde_json::from_slice(&std::fs::read(run.join("report.json")).unwrap()).unwrap();
    for tc in report["testCases"].as_array().unwrap() {
        assert_eq!(tc["verdict"], "passed", "{}: {}", tc["id"], tc["reasons"]);
    }
    // The checklist judged the run's own calls, downloads from the other host included.
    let result: Value =
        serde_json::from_slice(&std::fs::read(run.join("checklistresult.json")).unwrap()).unwrap();
    let mut all = vec![];
    for tc in result["result"].as_array().unwrap() {
        leaves(tc, &mut all);
    }
    assert!(all.len() >= 15, "{all:?}");
    let failed: Vec<_> = all.iter().filter(|(_, ok)| !ok).collect();
    assert!(failed.is_empty(), "checklist leaves false: {failed:?}");
    // Scenarios ran at the same time: the run lasts about as long as its longest one.
    let longest = report["testCases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|tc| tc["scenarios"].as_array().unwrap())
        .chain(report["extras"].as_array().unwrap())
        .map(|s| s["durationMs"].as_u64().unwrap())
        .max()
        .unwrap();
    let wall = report["durationMs"].as_u64().unwrap();
    assert!(
        wall as f64 <= 1.2 * longest as f64,
        "the run took {wall} ms, its longest scenario {longest} ms"
    );
    // Storage calls went to the storage host.
    let transcript = std::fs::read_to_string(run.join("evidence/transcript.jsonl")).unwrap();
    assert!(transcript.contains(&format!(
        "\"url\":\"{storage}/pn-safestorage-eu-south-1-mock/"
    )));
}
