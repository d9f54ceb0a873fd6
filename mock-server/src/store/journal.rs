//! Durability for `--data-dir`: every change to the store is an [`Op`] appended to a SQLite
//! journal before its answer leaves, and a restart replays the journal into a fresh store.
//!
//! The store is deterministic given its inputs: each op carries the virtual instant it ran at,
//! what was drawn outside the store (upload version ids) and the raw request it parsed; inside
//! the lock, IUNs, file keys, download tokens and stream ids come from a generator seeded once
//! per data dir. So replaying the ops in journal order rebuilds the same notifications,
//! timelines, streams and queues, cursors and call log, and pending timeline steps are simply
//! still scheduled. Uploaded files live on disk next to the journal, not in it.
//!
//! SQLite runs in WAL mode with `synchronous = NORMAL`: a committed op survives the process
//! being killed (SIGKILL), not necessarily a power cut.

use super::DownloadTarget;
use super::files::StoredVersion;
use super::streams::StreamSpec;
use crate::checklist::call::Call;
use crate::domain::request::RequestVersion;
use crate::domain::stream::StreamVersion;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The journal format this build writes and reads.
pub const FORMAT: &str = "send-mock-journal/1";

/// One change to the store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Op {
    Preload {
        ente: usize,
        items: Vec<(String, String, String)>,
    },
    Upload {
        key: String,
        version: StoredVersion,
    },
    Grant {
        ente: usize,
        target: DownloadTarget,
        retry_after_first: bool,
        id: String,
    },
    Submit {
        ente: usize,
        version: RequestVersion,
        body: Value,
    },
    Cancel {
        ente: usize,
        iun: String,
    },
    Payments {
        ente: usize,
        events: Vec<(String, String, i64, DateTime<Utc>)>,
    },
    PinScript {
        ente: usize,
        script: String,
    },
    View {
        ente: usize,
        iun: String,
        rec: usize,
    },
    /// The clock jumped by `micros`.
    Advance {
        micros: i64,
    },
    /// Scheduled work ran up to the op's instant.
    Fire,
    CreateStream {
        ente: usize,
        version: StreamVersion,
        spec: StreamSpec,
        replaced: Option<String>,
    },
    UpdateStream {
        ente: usize,
        version: StreamVersion,
        id: String,
        spec: StreamSpec,
    },
    DeleteStream {
        ente: usize,
        version: StreamVersion,
        id: String,
    },
    DisableStream {
        ente: usize,
        version: StreamVersion,
        id: String,
    },
    /// A stream read that acknowledged or expired events.
    Consume {
        ente: usize,
        version: StreamVersion,
        id: String,
        last_event_id: Option<u64>,
    },
    Record {
        ente: usize,
        call: Box<Call>,
    },
    ClearCalls {
        ente: usize,
    },
}

/// An op and the virtual instant it ran at.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub op: Op,
}

/// What a data dir holds besides its ops.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    pub seed: u64,
    /// The tax ids of the Enti, in order: ops refer to Enti by position.
    pub enti: Vec<String>,
}

/// The open journal.
pub struct Journal {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish()
    }
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

impl Journal {
    /// Opens (or creates) the journal of `dir`; returns it with its meta and every op so far.
    /// A journal of another format, or written for other Enti, is refused with the reason.
    pub fn open(
        dir: &Path,
        enti: &[String],
        new_seed: u64,
    ) -> Result<(Journal, Meta, Vec<Entry>), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join("send-mock.db");
        let conn = Connection::open(&path).map_err(sql(&path))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql(&path))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql(&path))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL);",
        )
        .map_err(|e| format!("{}: not a send-mock data dir ({e})", path.display()))?;
        let get = |k: &str| -> Result<Option<String>, String> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()
                .map_err(sql(&path))
        };
        let meta = match get("format")? {
            None => {
                let meta = Meta {
                    seed: new_seed,
                    enti: enti.to_vec(),
                };
                for (k, v) in [
                    ("format", FORMAT.to_string()),
                    ("seed", meta.seed.to_string()),
                    ("enti", meta.enti.join(",")),
                ] {
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                        params![k, v],
                    )
                    .map_err(sql(&path))?;
                }
                meta
            }
            Some(f) if f != FORMAT => {
                return Err(format!(
                    "{}: written by another send-mock (format `{f}`); this build reads `{FORMAT}`. Start with an empty --data-dir, or the send-mock that wrote it",
                    path.display()
                ));
            }
            Some(_) => {
                let seed = get("seed")?
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| format!("{}: meta has no seed", path.display()))?;
                let stored: Vec<String> = get("enti")?
                    .unwrap_or_default()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                if stored != enti {
                    return Err(format!(
                        "{}: written for the Enti [{}] but started with [{}]; start with the same --enti or an empty --data-dir",
                        path.display(),
                        stored.join(", "),
                        enti.join(", ")
                    ));
                }
                Meta { seed, enti: stored }
            }
        };
        let mut stmt = conn
            .prepare("SELECT seq, entry FROM journal ORDER BY seq")
            .map_err(sql(&path))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(sql(&path))?;
        let mut entries = Vec::new();
        for row in rows {
            let (seq, text) = row.map_err(sql(&path))?;
            let entry: Entry = serde_json::from_str(&text)
                .map_err(|e| format!("{}: op {seq} cannot be read ({e})", path.display()))?;
            entries.push(entry);
        }
        drop(stmt);
        Ok((Journal { conn, path }, meta, entries))
    }

    pub fn append(&mut self, entry: &Entry) -> Result<(), String> {
        let text = serde_json::to_string(entry).map_err(|e| e.to_string())?;
        self.conn
            .execute("INSERT INTO journal (entry) VALUES (?1)", [text])
            .map(|_| ())
            .map_err(sql(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_round_trip_and_a_foreign_journal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let enti = vec!["80016350821".to_string()];
        let (mut j, meta, ops) = Journal::open(dir.path(), &enti, 42).unwrap();
        assert_eq!((meta.seed, ops.len()), (42, 0));
        let e = Entry {
            at: Utc::now(),
            op: Op::Cancel {
                ente: 0,
                iun: "ABCD-EFGH-IJKL-202612-A-1".into(),
            },
        };
        j.append(&e).unwrap();
        drop(j);
        let (_, meta, ops) = Journal::open(dir.path(), &enti, 7).unwrap();
        assert_eq!(meta.seed, 42, "the seed is the data dir's, not the new one");
        assert_eq!(ops, vec![e]);

        let err = Journal::open(dir.path(), &["01199250158".to_string()], 7).unwrap_err();
        assert!(err.contains("written for the Enti [80016350821]"), "{err}");

        let conn = Connection::open(dir.path().join("send-mock.db")).unwrap();
        conn.execute(
            "UPDATE meta SET value = 'send-mock-journal/0' WHERE key = 'format'",
            [],
        )
        .unwrap();
        drop(conn);
        let err = Journal::open(dir.path(), &enti, 7).unwrap_err();
        assert!(err.contains("format `send-mock-journal/0`"), "{err}");
    }
}
