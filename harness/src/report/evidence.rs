//! The `evidence/` folder: every HTTP exchange as JSON lines, and the files the run downloaded
//! (each already verified against the sha256 SEND announced).

use super::error::ReportError;
use crate::client::transcript::Exchange;
use crate::world::Evidence;
use serde::Serialize;
use std::path::Path;

/// The folder, relative to the run's report folder.
pub const DIR: &str = "evidence";

/// A file name that stays inside `evidence/` whatever SEND called the file.
pub fn safe_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    match safe.trim_start_matches('.') {
        "" => "file".into(),
        s => s.to_string(),
    }
}

/// Where a kept file is, relative to the report folder (what the HTML links to).
pub fn relative_path(name: &str) -> String {
    format!("{DIR}/{}", safe_name(name))
}

pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), ReportError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| ReportError::Json {
        what: path.display().to_string(),
        source,
    })?;
    std::fs::write(path, bytes).map_err(ReportError::io(path))
}

/// Writes `evidence/transcript.jsonl` (line n is the exchange the checklist calls n) and the
/// downloaded files.
pub fn write(dir: &Path, transcript: &[Exchange], evidence: &Evidence) -> Result<(), ReportError> {
    let ev = dir.join(DIR);
    std::fs::create_dir_all(&ev).map_err(ReportError::io(&ev))?;
    let mut lines = String::new();
    for x in transcript {
        lines.push_str(
            &serde_json::to_string(x).map_err(|source| ReportError::Json {
                what: "transcript.jsonl".into(),
                source,
            })?,
        );
        lines.push('\n');
    }
    let path = ev.join("transcript.jsonl");
    std::fs::write(&path, lines).map_err(ReportError::io(&path))?;
    for (_, name, bytes) in &evidence.files {
        let path = dir.join(relative_path(name));
        std::fs::write(&path, bytes).map_err(ReportError::io(&path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_the_evidence_folder() {
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_name(".."), "file");
        assert_eq!(safe_name("PN_LEGAL_FACTS-ab.pdf"), "PN_LEGAL_FACTS-ab.pdf");
        assert_eq!(relative_path("a b.pdf"), "evidence/a_b.pdf");
    }
}
