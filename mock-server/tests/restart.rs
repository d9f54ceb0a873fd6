//! `send-mock --data-dir`: what was answered with a 2xx survives SIGKILL. The process is killed
//! mid-way through a paper delivery, restarted on the same data dir, and every notification,
//! the unacknowledged stream events, the checklist log and the pending timeline steps are back
//! and carry on with the clock.

use reqwest::Client;
use serde_json::{Value, json};
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

mod common;

use common::binary::{BIN, MockProcess, start_binary};
use common::sha256_b64;

/// Starts the binary on `data_dir` and waits for its URL.
fn start(data_dir: &Path, extra: &[&str]) -> MockProcess {
    let mut args: Vec<OsString> = [
        "--listen",
        "127.0.0.1:0",
        "--time-scale",
        "1h",
        "--lenient-retry-after",
        "--data-dir",
    ]
    .map(OsString::from)
    .into();
    args.push(data_dir.into());
    args.extend(extra.iter().map(OsString::from));
    start_binary(args)
}

async fn advance(m: &MockProcess, c: &Client, d: &str) {
    m.post(c, "/mock/clock/advance", &json!({"duration": d}))
        .await;
}

async fn upload(m: &MockProcess, c: &Client) -> Value {
    let pdf = b"%PDF-1.4 atto da notificare".to_vec();
    let sha = sha256_b64(&pdf);
    let slots = m
        .post(
            c,
            "/delivery/attachments/preload",
            &json!([{"preloadIdx": "0", "contentType": "application/pdf", "sha256": sha}]),
        )
        .await;
    let slot = &slots[0];
    let r = c
        .put(slot["url"].as_str().unwrap())
        .header("content-type", "application/pdf")
        .header("x-amz-meta-secret", slot["secret"].as_str().unwrap())
        .header("x-amz-checksum-sha256", &sha)
        .body(pdf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let version = r.headers()["x-amz-version-id"]
        .to_str()
        .unwrap()
        .to_string();
    json!({"contentType": "application/pdf", "digests": {"sha256": sha}, "ref": {"key": slot["key"], "versionToken": version}})
}

fn request(protocol: &str, doc: &Value, address: &str, pec: Option<&str>) -> Value {
    let mut rec = json!({"recipientType": "PF", "taxId": "BNRMHL75C06G702B", "denomination": "Michelangelo Buonarroti",
        "physicalAddress": {"address": address, "zip": "00100", "municipality": "Roma", "province": "RM"}});
    if let Some(p) = pec {
        rec["digitalDomicile"] = json!({"type": "PEC", "address": p});
    }
    json!({"paProtocolNumber": protocol, "idempotenceToken": "t", "subject": "Avviso", "senderDenomination": "Comune di Esempio (demo)",
        "senderTaxId": "80016350821", "taxonomyCode": "010202N", "notificationFeePolicy": "FLAT_RATE",
        "physicalCommunicationType": "AR_REGISTERED_LETTER", "recipients": [rec], "documents": [doc]})
}

fn statuses(detail: &Value) -> Vec<String> {
    detail["notificationStatusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_answered_2xx_is_lost_to_sigkill_and_timelines_continue() {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::new();
    let m = start(dir.path(), &[]);
    let stream = m
        .post(
            &c,
            "/delivery-progresses/v2.9/streams",
            &json!({"title": "all", "eventType": "TIMELINE", "groups": []}),
        )
        .await["streamId"]
        .as_str()
        .unwrap()
        .to_string();
    let doc = upload(&m, &c).await;
    let mut ids = Vec::new();
    for (p, addr, pec) in [
        ("P-1", "Via Roma 1", Some("prova@pec.it")),
        ("P-2", "Via @OK_AR", None),
    ] {
        let r = m
            .post(&c, "/delivery/v2.6/requests", &request(p, &doc, addr, pec))
            .await;
        ids.push(r["notificationRequestId"].as_str().unwrap().to_string());
    }
    advance(&m, &c, "10m").await;
    advance(&m, &c, "2h").await;
    let mut iuns = Vec::new();
    for id in &ids {
        let st = m
            .get(
                &c,
                &format!("/delivery/v2.6/requests?notificationRequestId={id}"),
            )
            .await;
        assert_eq!(st["notificationRequestStatus"], "ACCEPTED");
        iuns.push(st["iun"].as_str().unwrap().to_string());
    }
    // Read and acknowledge part of the stream.
    let events = format!("/delivery-progresses/v2.9/streams/{stream}/events");
    let first = m.get(&c, &events).await;
    let acked = first[4]["eventId"].as_str().unwrap().to_string();
    let unacked = m.get(&c, &format!("{events}?lastEventId={acked}")).await;
    assert!(!unacked.as_array().unwrap().is_empty());
    let details: Vec<Value> = futures_join(&m, &c, &iuns).await;
    assert!(
        !statuses(&details[1]).contains(&"DELIVERED".to_string()),
        "the letter is still on its way"
    );
    let checks_before = m.get(&c, "/mock/checklist").await["checks"].clone();
    let clock_before = m.get(&c, "/mock/clock").await["now"]
        .as_str()
        .unwrap()
        .to_string();

    m.kill9();
    let m = start(dir.path(), &[]);
    // The checklist log is back: the same calls make the same tree, evidence ids included.
    assert_eq!(m.get(&c, "/mock/checklist").await["checks"], checks_before);

    let after: Vec<Value> = futures_join(&m, &c, &iuns).await;
    assert_eq!(
        after, details,
        "notifications and timelines are back as they were"
    );
    let clock_after = m.get(&c, "/mock/clock").await["now"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        clock_after >= clock_before,
        "the clock does not go back: {clock_before} → {clock_after}"
    );
    // The acknowledged events stay acknowledged, the others are delivered again.
    let again = m.get(&c, &format!("{events}?lastEventId={acked}")).await;
    assert_eq!(again, unacked);
    // Pending steps continue: the letter is delivered once time passes.
    advance(&m, &c, "30d").await;
    let letter = m
        .get(
            &c,
            &format!("/delivery/v2.9/notifications/sent/{}", iuns[1]),
        )
        .await;
    assert!(
        statuses(&letter).contains(&"DELIVERED".to_string()),
        "{:?}",
        statuses(&letter)
    );
    assert!(
        letter["timeline"].as_array().unwrap().len()
            > details[1]["timeline"].as_array().unwrap().len()
    );
    m.kill9();

    // A data dir is refused, with the reason, when started for other Enti.
    let enti = dir.path().join("enti.toml");
    std::fs::write(
        &enti,
        "[[ente]]\nname = \"B\"\ntax_id = \"01199250158\"\napi_key = \"k2\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .arg("--enti")
        .arg(&enti)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("written for the Enti [80016350821]"), "{err}");
}

async fn futures_join(m: &MockProcess, c: &Client, iuns: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for i in iuns {
        out.push(
            m.get(c, &format!("/delivery/v2.9/notifications/sent/{i}"))
                .await,
        );
    }
    out
}
