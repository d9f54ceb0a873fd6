//! Connections that never finish their headers, that idle, or that are too many: each is
//! closed (or refused) by the mock's own limits, while the mock keeps answering everyone else.
//! (How fast, with 10,000 half-sent requests held open, is measured by the bench.)

mod common;

use common::*;
use send_mock::MockConfig;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn limited(max_connections: Option<usize>) -> MockConfig {
    MockConfig {
        header_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(800),
        max_connections,
        ..MockConfig::for_tests()
    }
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// A connection the peer had not closed after this long.
#[derive(Debug)]
struct StillOpen(#[allow(dead_code)] Duration);

/// Waits (at most `limit`) for the peer to close: the read returns 0 bytes or an error.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> Result<Vec<u8>, StillOpen> {
    let mut got = vec![];
    let mut buf = [0u8; 4096];
    let end = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(end, s.read(&mut buf)).await {
            Err(_) => return Err(StillOpen(limit)),
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

async fn status_on_a_fresh_connection(app: &TestApp) -> String {
    let mut s = connect(app).await;
    s.write_all(b"GET /status HTTP/1.1\r\nhost: mock\r\nx-api-key: demo-api-key\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let got = closed_within(&mut s, Duration::from_secs(10))
        .await
        .unwrap();
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn half_sent_requests_are_closed_by_the_header_timeout_while_others_are_served() {
    let app = spawn_with(limited(None)).await;
    let mut slow = vec![];
    for _ in 0..200 {
        let mut s = connect(&app).await;
        s.write_all(b"GET /status HTTP/1.1\r\nhost: mock\r\nx-api-key: demo")
            .await
            .unwrap();
        slow.push(s);
    }
    // The mock answers a well-formed request meanwhile.
    let answer = status_on_a_fresh_connection(&app).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Every half-sent request is closed, with nothing answered to it.
    for s in &mut slow {
        let got = closed_within(s, Duration::from_secs(10)).await.unwrap();
        assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    }
    app.mock.stop().await;
}

#[tokio::test]
async fn idle_connections_are_closed_and_a_slow_body_is_not_a_slow_head() {
    let app = spawn_with(limited(None)).await;
    // One request, then nothing: the keep-alive connection is closed by the idle timeout.
    let mut s = connect(&app).await;
    s.write_all(b"GET /status HTTP/1.1\r\nhost: mock\r\nx-api-key: demo-api-key\r\n\r\n")
        .await
        .unwrap();
    let got = closed_within(&mut s, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    // A connection that never sends a byte, likewise.
    let mut silent = connect(&app).await;
    assert!(
        closed_within(&mut silent, Duration::from_secs(10))
            .await
            .is_ok()
    );
    // A head sent at once and a body that trickles for longer than the header timeout: the
    // request is served (the body has its own, longer, limit).
    let body = serde_json::to_vec(&serde_json::json!({"duration": "1m"})).unwrap();
    let mut s = connect(&app).await;
    let head = format!(
        "POST /mock/clock/advance HTTP/1.1\r\nhost: mock\r\nx-api-key: demo-api-key\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(4) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        s.write_all(chunk).await.unwrap();
    }
    let got = closed_within(&mut s, Duration::from_secs(10))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    app.mock.stop().await;
}

#[tokio::test]
async fn beyond_the_cap_a_connection_gets_a_503_problem_at_once() {
    let app = spawn_with(limited(Some(5))).await;
    let mut held = vec![];
    for _ in 0..5 {
        held.push(connect(&app).await);
    }
    // Let the mock count them.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut extra = connect(&app).await;
    let got = closed_within(&mut extra, Duration::from_secs(5))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("application/problem+json") && text.contains("5 connections"));
    // Once they go, new connections are served again.
    drop(held);
    let mut answer = String::new();
    for _ in 0..50 {
        answer = status_on_a_fresh_connection(&app).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    app.mock.stop().await;
}

#[tokio::test]
async fn expect_100_continue_with_a_body_over_the_limit_gets_413_before_any_byte_of_it() {
    let app = spawn_with(limited(None)).await;
    let mut s = connect(&app).await;
    s.write_all(
        b"POST /delivery/v2.6/requests HTTP/1.1\r\nhost: mock\r\nx-api-key: demo-api-key\r\ncontent-type: application/json\r\ncontent-length: 1073741824\r\nexpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("answered at once, not after a timeout")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(!text.contains("100 Continue"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    app.mock.stop().await;
}
