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
use crate::domain::ente::EnteId;
use crate::domain::request::RequestVersion;
use crate::domain::stream::StreamVersion;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use send_checklist::Call;
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
        ente: EnteId,
        items: Vec<(String, String, String)>,
    },
    Upload {
        key: String,
        version: StoredVersion,
    },
    Grant {
        ente: EnteId,
        target: DownloadTarget,
        retry_after_first: bool,
        id: String,
    },
    Submit {
        ente: EnteId,
        version: RequestVersion,
        body: Value,
    },
    Cancel {
        ente: EnteId,
        iun: String,
    },
    Payments {
        ente: EnteId,
        events: Vec<(String, String, i64, DateTime<Utc>)>,
    },
    AddPosition {
        position: crate::config::DebtPosition,
    },
    /// A functionality of the platform went KO or OK again at `at`.
    Downtime {
        functionality: crate::domain::downtime::Functionality,
        ko: bool,
        /// Named so, as `at` is the entry's own instant.
        timestamp: DateTime<Utc>,
    },
    F24Payments {
        ente: EnteId,
        events: Vec<super::F24Payment>,
    },
    PinScript {
        ente: EnteId,
        script: String,
    },
    View {
        ente: EnteId,
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
        ente: EnteId,
        version: StreamVersion,
        spec: StreamSpec,
        replaced: Option<String>,
    },
    UpdateStream {
        ente: EnteId,
        version: StreamVersion,
        id: String,
        spec: StreamSpec,
    },
    DeleteStream {
        ente: EnteId,
        version: StreamVersion,
        id: String,
    },
    DisableStream {
        ente: EnteId,
        version: StreamVersion,
        id: String,
    },
    /// A stream read that acknowledged or expired events.
    Consume {
        ente: EnteId,
        version: StreamVersion,
        id: String,
        last_event_id: Option<u64>,
        /// The last event the read dropped as expired (expiry runs on the io clock, which a
        /// restart does not keep).
        #[serde(default)]
        expired_through: Option<u64>,
    },
    Record {
        ente: EnteId,
        call: Box<Call>,
    },
    ClearCalls {
        ente: EnteId,
    },
}

/// An op, the virtual instant it ran at and its io instant (wall time plus jumps, in ms since
/// the epoch; absent in journals of earlier builds).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_ms: Option<i64>,
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

/// Why a data dir cannot be opened or written; each names the database file.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{}: not a send-mock data dir ({source})", path.display())]
    NotADataDir {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{}: written by another send-mock (format `{found}`); this build reads `{FORMAT}`. Start with an empty --data-dir, or the send-mock that wrote it",
        path.display()
    )]
    OtherFormat { path: PathBuf, found: String },
    #[error("{}: meta has no seed", path.display())]
    NoSeed { path: PathBuf },
    #[error(
        "{}: written for the Enti [{}] but started with [{}]; start with the same --enti or an empty --data-dir",
        path.display(), stored.join(", "), started.join(", ")
    )]
    OtherEnti {
        path: PathBuf,
        stored: Vec<String>,
        started: Vec<String>,
    },
    #[error("{}: op {seq} cannot be read ({source})", path.display())]
    BadOp {
        path: PathBuf,
        seq: i64,
        #[source]
        source: serde_json::Error,
    },
    #[error("an op cannot be written ({0})")]
    Unwritable(#[source] serde_json::Error),
    #[error("{}: this mock already journals", dir.display())]
    AlreadyOpen { dir: PathBuf },
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> JournalError + '_ {
    move |source| JournalError::Sql {
        path: path.to_path_buf(),
        source,
    }
}

/// The data dir's meta: written on first use, then checked (format, Enti) on every start.
fn read_meta(
    conn: &Connection,
    path: &Path,
    enti: &[String],
    new_seed: u64,
) -> Result<Meta, JournalError> {
    let get = |k: &str| -> Result<Option<String>, JournalError> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
            .optional()
            .map_err(sql(path))
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
                .map_err(sql(path))?;
            }
            meta
        }
        Some(f) if f != FORMAT => {
            return Err(JournalError::OtherFormat {
                path: path.to_path_buf(),
                found: f,
            });
        }
        Some(_) => {
            let seed =
                get("seed")?
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| JournalError::NoSeed {
                        path: path.to_path_buf(),
                    })?;
            let stored: Vec<String> = get("enti")?
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if stored != enti {
                return Err(JournalError::OtherEnti {
                    path: path.to_path_buf(),
                    stored,
                    started: enti.to_vec(),
                });
            }
            Meta { seed, enti: stored }
        }
    };
    Ok(meta)
}

/// Every journaled op, in order, with its sequence number.
fn read_entries(conn: &Connection, path: &Path) -> Result<Vec<(i64, Entry)>, JournalError> {
    let mut stmt = conn
        .prepare("SELECT seq, entry FROM journal ORDER BY seq")
        .map_err(sql(path))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .map_err(sql(path))?;
    let mut entries = Vec::new();
    for row in rows {
        let (seq, text) = row.map_err(sql(path))?;
        let entry: Entry = serde_json::from_str(&text).map_err(|source| JournalError::BadOp {
            path: path.to_path_buf(),
            seq,
            source,
        })?;
        entries.push((seq, entry));
    }
    drop(stmt);
    Ok(entries)
}

impl Journal {
    /// Opens (or creates) the journal of `dir`, compacts it (see [`compact`]; the call log
    /// keeps `keep_calls` calls per Ente) and returns it with its meta and the ops to replay.
    /// A journal of another format, or written for other Enti, is refused with the reason.
    pub fn open(
        dir: &Path,
        enti: &[String],
        new_seed: u64,
        keep_calls: usize,
    ) -> Result<(Journal, Meta, Vec<Entry>), JournalError> {
        std::fs::create_dir_all(dir).map_err(|source| JournalError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
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
        .map_err(|source| JournalError::NotADataDir {
            path: path.clone(),
            source,
        })?;
        let meta = read_meta(&conn, &path, enti, new_seed)?;
        let entries = read_entries(&conn, &path)?;
        let mut journal = Journal { conn, path };
        let entries = journal.compact(entries, keep_calls)?;
        Ok((journal, meta, entries))
    }

    /// Applies [`compact`] to the stored journal in one transaction.
    fn compact(
        &mut self,
        entries: Vec<(i64, Entry)>,
        keep_calls: usize,
    ) -> Result<Vec<Entry>, JournalError> {
        let (kept, dropped, renumbered) = compact(entries, keep_calls);
        if dropped.is_empty() && renumbered.is_empty() {
            return Ok(kept.into_iter().map(|(_, e)| e).collect());
        }
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(sql(&path))?;
        {
            let mut delete = tx
                .prepare("DELETE FROM journal WHERE seq = ?1")
                .map_err(sql(&path))?;
            for seq in &dropped {
                delete.execute([seq]).map_err(sql(&path))?;
            }
            let mut update = tx
                .prepare("UPDATE journal SET entry = ?2 WHERE seq = ?1")
                .map_err(sql(&path))?;
            for (seq, entry) in kept.iter().filter(|(s, _)| renumbered.contains(s)) {
                let text = serde_json::to_string(entry).map_err(JournalError::Unwritable)?;
                update.execute(params![seq, text]).map_err(sql(&path))?;
            }
        }
        tx.commit().map_err(sql(&path))?;
        tracing::info!(
            dropped = dropped.len(),
            kept = kept.len(),
            "journal compacted"
        );
        Ok(kept.into_iter().map(|(_, e)| e).collect())
    }

    pub fn append(&mut self, entry: &Entry) -> Result<(), JournalError> {
        let text = serde_json::to_string(entry).map_err(JournalError::Unwritable)?;
        self.conn
            .execute("INSERT INTO journal (entry) VALUES (?1)", [text])
            .map(|_| ())
            .map_err(sql(&self.path))
    }
}

/// What a replay still needs of `entries` (journal sequence numbers with their ops): the
/// call log keeps the newest `keep_calls` calls of each Ente and forgets cleared ones, so the
/// other `Record` ops change nothing and are dropped. Every other op stays: each one changes
/// the store or draws from its seeded generator. (`ClearCalls` stays too: it is rare, and
/// the clock resumes from the last op's instant, which may be a clear.)
///
/// Calls journaled without their id (before ids were journaled) get the id they were shown
/// under, so the calls that remain keep their ids. Returns the ops kept, the sequence numbers
/// dropped and those whose op was given its id (to be rewritten).
pub fn compact(
    mut entries: Vec<(i64, Entry)>,
    keep_calls: usize,
) -> (Vec<(i64, Entry)>, Vec<i64>, std::collections::HashSet<i64>) {
    let mut renumbered = std::collections::HashSet::new();
    let mut last_id = 0;
    for (seq, e) in entries.iter_mut() {
        if let Op::Record { call, .. } = &mut e.op {
            if call.id == 0 {
                call.id = last_id + 1;
                renumbered.insert(*seq);
            }
            last_id = last_id.max(call.id);
        }
    }
    let mut shown: std::collections::HashMap<EnteId, usize> = Default::default();
    let mut cleared = std::collections::HashSet::new();
    let mut dropped = Vec::new();
    for (seq, e) in entries.iter().rev() {
        match &e.op {
            Op::Record { ente, .. } => {
                let n = shown.entry(*ente).or_default();
                if cleared.contains(ente) || *n >= keep_calls {
                    dropped.push(*seq);
                } else {
                    *n += 1;
                }
            }
            Op::ClearCalls { ente } => {
                cleared.insert(*ente);
            }
            _ => {}
        }
    }
    let gone: std::collections::HashSet<i64> = dropped.iter().copied().collect();
    entries.retain(|(seq, _)| !gone.contains(seq));
    renumbered.retain(|seq| !gone.contains(seq));
    dropped.reverse();
    (entries, dropped, renumbered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_round_trip_and_a_foreign_journal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let enti = vec!["80016350821".to_string()];
        let (mut j, meta, ops) = Journal::open(dir.path(), &enti, 42, 10).unwrap();
        assert_eq!((meta.seed, ops.len()), (42, 0));
        let e = Entry {
            at: Utc::now(),
            io_ms: Some(1_796_400_000_000),
            op: Op::Cancel {
                ente: EnteId::new(0),
                iun: "ABCD-EFGH-IJKL-202612-A-1".into(),
            },
        };
        j.append(&e).unwrap();
        drop(j);
        let (_, meta, ops) = Journal::open(dir.path(), &enti, 7, 10).unwrap();
        assert_eq!(meta.seed, 42, "the seed is the data dir's, not the new one");
        assert_eq!(ops, vec![e]);

        let err = Journal::open(dir.path(), &["01199250158".to_string()], 7, 10).unwrap_err();
        assert!(
            err.to_string()
                .contains("written for the Enti [80016350821]"),
            "{err}"
        );

        let conn = Connection::open(dir.path().join("send-mock.db")).unwrap();
        conn.execute(
            "UPDATE meta SET value = 'send-mock-journal/0' WHERE key = 'format'",
            [],
        )
        .unwrap();
        drop(conn);
        let err = Journal::open(dir.path(), &enti, 7, 10).unwrap_err();
        assert!(
            err.to_string().contains("format `send-mock-journal/0`"),
            "{err}"
        );
    }

    fn record(ente: EnteId, id: u64) -> Op {
        Op::Record {
            ente,
            call: Box::new(Call {
                id,
                ..Call::get("/p")
            }),
        }
    }

    fn ids(entries: &[(i64, Entry)]) -> Vec<(i64, Option<(EnteId, u64)>)> {
        entries
            .iter()
            .map(|(seq, e)| match &e.op {
                Op::Record { ente, call } => (*seq, Some((*ente, call.id))),
                _ => (*seq, None),
            })
            .collect()
    }

    #[test]
    fn compaction_keeps_each_entes_newest_calls_under_their_ids_and_every_other_op() {
        let at = Utc::now();
        // Journaled before ids were: every call has id 0 and takes the next number.
        let ops = vec![
            record(EnteId::new(0), 0),
            Op::Advance { micros: 5 },
            record(EnteId::new(1), 0),
            record(EnteId::new(0), 0),
            record(EnteId::new(0), 0),
            Op::ClearCalls {
                ente: EnteId::new(1),
            },
            record(EnteId::new(0), 0),
            record(EnteId::new(1), 0),
            Op::Fire,
        ];
        let entries: Vec<(i64, Entry)> = ops
            .into_iter()
            .enumerate()
            .map(|(i, op)| {
                (
                    i as i64 + 1,
                    Entry {
                        at,
                        io_ms: None,
                        op,
                    },
                )
            })
            .collect();
        let (kept, dropped, renumbered) = compact(entries, 2);
        assert_eq!(
            ids(&kept),
            vec![
                (2, None),
                (5, Some((EnteId::new(0), 4))),
                (6, None),
                (7, Some((EnteId::new(0), 5))),
                (8, Some((EnteId::new(1), 6))),
                (9, None)
            ]
        );
        assert_eq!(dropped, vec![1, 3, 4]);
        assert_eq!(renumbered, [5, 7, 8].into_iter().collect());
        // Ids already journaled are kept; compacting a compacted journal changes nothing.
        let (again, dropped, renumbered) = compact(kept.clone(), 2);
        assert_eq!((again, dropped.len(), renumbered.len()), (kept, 0, 0));
    }

    #[test]
    fn a_compacted_journal_is_stored_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let enti = vec!["80016350821".to_string()];
        let (mut j, _, _) = Journal::open(dir.path(), &enti, 1, 10).unwrap();
        for _ in 0..5 {
            j.append(&Entry {
                at: Utc::now(),
                io_ms: None,
                op: record(EnteId::new(0), 0),
            })
            .unwrap();
        }
        drop(j);
        let (_, _, first) = Journal::open(dir.path(), &enti, 1, 2).unwrap();
        let (_, _, second) = Journal::open(dir.path(), &enti, 1, 2).unwrap();
        assert_eq!(first, second);
        let ids: Vec<u64> = second
            .iter()
            .filter_map(|e| match &e.op {
                Op::Record { call, .. } => Some(call.id),
                _ => None,
            })
            .collect();
        assert_eq!(ids, vec![4, 5]);
    }
}
