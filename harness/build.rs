//! Writes the git commit the harness was built from into `SEND_CONFORMANCE_COMMIT`, for the
//! provenance of every report (no git at run time: a report names what built it).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let commit = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(c) if !c.is_empty() => {
            // Uncommitted changes to tracked files make the build not that commit's.
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{c}-dirty") } else { c }
        }
        _ => "unknown".into(),
    };
    println!("cargo:rustc-env=SEND_CONFORMANCE_COMMIT={commit}");
    // Run again when HEAD moves, the index changes (a commit, a checkout, an add) or a source
    // changes (which may make the tree dirty).
    for path in [
        "../.git/HEAD",
        "../.git/index",
        "../.git/refs/heads",
        "src",
        "../mock-server/src",
        "../send-wire/src",
    ] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
