//! `send-conformance checklist` prints the mock's checklist of a client's calls.

use send_mock::{MockConfig, MockServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prints_the_tree_with_reasons_and_fails_until_everything_passes() {
    let mock = MockServer::start(MockConfig::for_tests()).await.unwrap();
    let base = mock.base_url();
    // One correct call: the preload check turns ✓.
    let r = reqwest::Client::new()
        .post(format!("{base}/delivery/attachments/preload"))
        .header("x-api-key", "demo-api-key")
        .json(&serde_json::json!([{"preloadIdx": "0", "contentType": "application/pdf", "sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_send-conformance"))
            .args(["checklist", "--target", &base, "--api-key", "demo-api-key"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("✓ Have you received at least one valid slot?"),
        "{text}"
    );
    assert!(
        text.contains("✗ Have you created the stream with the property eventType set to TIMELINE?")
            && text.contains("→ no TIMELINE stream was created"),
        "{text}"
    );
    assert!(!text.contains("demo-api-key"));
    mock.stop().await;
}
