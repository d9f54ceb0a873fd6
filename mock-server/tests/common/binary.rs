//! The `send-mock` binary as a child process: started with arguments, its URL read from its log,
//! driven over HTTP with the demo key.

use reqwest::Client;
use serde_json::Value;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_send-mock");

/// A running `send-mock`.
pub struct MockProcess {
    pub child: Child,
    /// `http://127.0.0.1:PORT`, as logged.
    pub base: String,
    /// The storage listener's URL, when it has one.
    pub storage: Option<String>,
    /// The log lines after the URL's (read on a thread, so the child never blocks on a pipe).
    pub log: Receiver<String>,
}

/// Starts `send-mock` with `args` and `RUST_LOG=info`, and waits up to 30 s for the URL it logs.
#[allow(clippy::zombie_processes)] // the caller owns the child and waits for it
pub fn start_binary<I, S>(args: I) -> MockProcess
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("send-mock starts");
    // Lines arrive through a channel, so the deadline holds even if the child logs nothing.
    let lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let (tx, log) = channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = String::new();
    while let Ok(line) = log.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        seen.push_str(&line);
        seen.push('\n');
        let field = |name: &str| {
            let i = line.find(&format!("{name}=http://"))?;
            Some(
                line[i + name.len() + 1..]
                    .split_whitespace()
                    .next()?
                    .to_string(),
            )
        };
        if let Some(base) = field("base_url") {
            let storage = field("storage_url");
            return MockProcess {
                child,
                base,
                storage,
                log,
            };
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("no base_url logged within 30 s: {seen}");
}

impl MockProcess {
    /// SIGKILL (`Child::kill` on Unix): no shutdown code runs.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn url(&self, p: &str) -> String {
        format!("{}{p}", self.base)
    }

    /// `GET p` with the demo key; asserts a 2xx and returns the JSON body.
    pub async fn get(&self, c: &Client, p: &str) -> Value {
        let r = c
            .get(self.url(p))
            .header("x-api-key", super::DEMO_KEY)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "GET {p}: {}", r.status());
        r.json().await.unwrap()
    }

    /// `POST p` with the demo key; asserts a 2xx and returns the JSON body (null if none).
    pub async fn post(&self, c: &Client, p: &str, body: &Value) -> Value {
        let r = c
            .post(self.url(p))
            .header("x-api-key", super::DEMO_KEY)
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "POST {p}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }
}
