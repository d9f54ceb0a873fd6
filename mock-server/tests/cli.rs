//! The `send-mock` binary: start-up, errors as one line, clean shutdown on Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_send-mock");

#[test]
fn a_bad_enti_file_is_one_line_naming_file_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("enti.toml");
    std::fs::write(
        &path,
        "[[ente]]\nname = \"A\"\ntax_id = \"123\"\napi_key = \"k\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--enti"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
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
fn starts_logs_the_url_and_stops_cleanly_on_ctrl_c() {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut url = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = String::new();
    while url.is_none() && Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        seen.push_str(&line);
        seen.push('\n');
        if let Some(i) = line.find("base_url=http://") {
            url = Some(line[i + 9..].split_whitespace().next().unwrap().to_string());
        }
    }
    let url = url.unwrap_or_else(|| panic!("no base_url logged: {seen}"));
    let more: String = lines.next().and_then(Result::ok).unwrap_or_default();
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
