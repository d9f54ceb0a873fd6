//! What the harness's tests share: the demo profiles and fixtures.
#![allow(dead_code)]

pub mod html;

use send_conformance::profile::EnteProfile;
use std::path::{Path, PathBuf};

/// The demo profile's text (the mock's built-in Ente, UAT's test citizens).
pub const DEMO: &str = include_str!("../../../fixtures/enti/demo.toml");

/// A file under `fixtures/`.
pub fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(p)
}

/// The demo profile.
pub fn demo() -> EnteProfile {
    EnteProfile::load(&fixture("enti/demo.toml")).expect("the demo profile loads")
}

/// The demo profile with `from` replaced by `to` (once), e.g. a refused address.
pub fn demo_with(from: &str, to: &str) -> EnteProfile {
    assert!(DEMO.contains(from), "the demo profile has no `{from}`");
    EnteProfile::parse(&DEMO.replacen(from, to, 1)).expect("the changed profile parses")
}

/// The `send-mock` binary, built as this test's own binaries are (the harness cannot name
/// another package's binary at compile time). Built once per test process.
pub fn send_mock_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let ours = Path::new(env!("CARGO_BIN_EXE_send-conformance"));
            let dir = ours.parent().expect("a target folder");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = std::process::Command::new(cargo);
            build.args([
                "build",
                "--quiet",
                "-p",
                "mock-server",
                "--bin",
                "send-mock",
            ]);
            if dir.ends_with("release") {
                build.arg("--release");
            }
            let status = build.status().expect("cargo runs");
            assert!(status.success(), "cargo build of send-mock failed");
            dir.join("send-mock")
        })
        .clone()
}

/// A running `send-mock` child, killed when dropped.
pub struct MockChild {
    pub child: std::process::Child,
    /// Every `key=value` of its start-up line (`base_url`, `storage_url`).
    pub logged: std::collections::HashMap<String, String>,
}

impl Drop for MockChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `send-mock` with `args` and reads its start-up line (30 s at most).
#[allow(clippy::zombie_processes)] // MockChild waits for it when dropped
pub fn start_send_mock(args: &[&str]) -> MockChild {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(send_mock_binary())
        .args(args)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("send-mock starts");
    let lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while let Ok(line) =
        rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
    {
        if line.contains("SEND mock listening") {
            let logged = line
                .split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            return MockChild { child, logged };
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("send-mock logged no start-up line within 30 s");
}
