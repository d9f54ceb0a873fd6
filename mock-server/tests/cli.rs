//! The `send-mock` binary: start-up, errors as one line, clean shutdown on Ctrl-C.

use std::process::Command;
use std::time::{Duration, Instant};

mod common;

use common::binary::{BIN, start_binary};

/// Starts send-mock with `args`: it must refuse with exit code 2 and one line; returns it.
fn refused_in_one_line(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    err
}

#[test]
fn a_bad_enti_file_is_one_line_naming_file_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("enti.toml");
    std::fs::write(
        &path,
        "[[ente]]\nname = \"A\"\ntax_id = \"123\"\napi_key = \"k\"\n",
    )
    .unwrap();
    let err = refused_in_one_line(&["--enti".as_ref(), path.as_os_str()]);
    assert!(
        err.contains("enti.toml") && err.contains("11 digits"),
        "{err}"
    );
    let out = Command::new(BIN)
        .args(["--time-scale", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_bad_timeline_script_is_one_line_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), "name: [").unwrap();
    let err = refused_in_one_line(&["--timelines".as_ref(), dir.path().as_os_str()]);
    assert!(
        err.contains("bad timeline script") && err.contains("bad.yaml:1"),
        "{err}"
    );
}

#[test]
fn starts_logs_the_url_and_stops_cleanly_on_ctrl_c() {
    let mock = start_binary(["--listen", "127.0.0.1:0"]);
    let (mut child, url) = (mock.child, mock.base);
    let more = mock
        .log
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_default();
    assert!(
        more.contains("demo-api-key"),
        "the demo key is logged: {more}"
    );
    // The server answers.
    let addr = url.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    std::io::Write::write_all(&mut conn, b"GET /status HTTP/1.1\r\nHost: mock\r\nx-api-key: demo-api-key\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut conn, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn uat_twin_logs_both_urls_and_runs_on_uats_clock() {
    let mock = start_binary(["--listen", "127.0.0.1:0", "--uat-twin"]);
    let storage = mock
        .storage
        .clone()
        .expect("the start-up line names the storage URL");
    assert_ne!(storage, mock.base);
    let c = reqwest::Client::new();
    let clock = mock.get(&c, "/mock/clock").await;
    assert_eq!(
        clock["realTimePerSendDayMs"], 60_000,
        "UAT: one SEND day per minute"
    );
    let r = c.get(format!("{storage}/")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<Code>AccessDenied</Code>")
    );
    mock.kill9();
    // --time-scale still decides the clock.
    let mock = start_binary([
        "--listen",
        "127.0.0.1:0",
        "--uat-twin",
        "--time-scale",
        "1s",
    ]);
    assert_eq!(
        mock.get(&c, "/mock/clock").await["realTimePerSendDayMs"],
        1_000
    );
    mock.kill9();
}
