//! The `send-mock` binary as a child process: started with arguments, its URL read from its log.

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
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = String::new();
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        seen.push_str(&line);
        seen.push('\n');
        if let Some(i) = line.find("base_url=http://") {
            let base = line[i + 9..].split_whitespace().next().unwrap().to_string();
            let (tx, log) = channel();
            std::thread::spawn(move || {
                for line in lines.map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
            return MockProcess { child, base, log };
        }
    }
    let _ = child.kill();
    panic!("no base_url logged: {seen}");
}
