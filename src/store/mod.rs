//! The store: every scored call in an embedded SQLite database, and the queries reports make.
//!
//! **In:** scored calls ([`NewCall`]: transcript, scorecard, metadata and the keys that say what
//! they were made from), re-scorings, and report filters. **Out:** which calls are already
//! scored with the same inputs ([`Store::scored_index`]), a call's scorecard and transcript back,
//! and the rows a report is built from ([`query`]).
//!
//! # Crash safety
//! The database is in WAL mode, and each call — its row, utterances (with words), rule results
//! and findings — is written in one transaction. A process killed at any moment (SIGKILL
//! included) leaves every committed call whole and no trace of the one it was writing: SQLite
//! rolls the torn transaction back on the next open. `synchronous = NORMAL` makes commits durable
//! against a killed process; a power cut may lose the last commits (never corrupt the file), and
//! a rerun scores those calls again. A call is identified by its call id (CONTRACT §1), so
//! storing it again replaces it: a call is never in the store twice.
//!
//! # Schema (version 1)
//! - `runs`: one row per `score` / `rescore` invocation (the command and when it started).
//! - `rule_sets`: each rule set ever used: its content fingerprint, the standard's name and
//!   version, where it was read from.
//! - `calls`: one row per call id: the recording (path, SHA-256, sample rate, encoding, layout),
//!   the keys of its transcript and of all its scoring inputs, speech tracks, events and warnings
//!   (JSON), agent, queue and start time (with the call's own day and ISO week), the score, the
//!   rule set and the run that scored it.
//! - `utterances`: per call, in order: party, times, text, normalised text, words (JSON).
//! - `results`: per call and rule: verdict, deduction, critical, note.
//! - `findings`: per call and rule, in order: times, party, words heard, message, suggestion.
//!
//! **Threads:** a [`Store`] is one connection, used from one thread (the batch's writer). Other
//! processes may read (a report) while a batch writes.

pub mod meta;
pub mod query;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};

use crate::call::CallEvent;
use crate::model::{env_path, home_dir, HOME_ENV};
use crate::party::{Party, Seconds};
use crate::rules::{Finding, Layout, RuleId, RuleResult, RuleSet, Verdict};
use crate::scorecard::{CardUtterance, Scorecard, StandardRef};
use crate::transcript::{CallTranscript, Track, Utterance};

pub use meta::{CallMeta, Date, Timestamp};

/// Environment variable that names the database.
pub const DB_ENV: &str = "ZHIJIAN_DB";

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    command TEXT NOT NULL,
    started_at INTEGER NOT NULL
);
CREATE TABLE rule_sets (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    dir TEXT NOT NULL
);
CREATE TABLE calls (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    audio_sha256 TEXT NOT NULL,
    transcript_key TEXT NOT NULL,
    inputs_key TEXT NOT NULL,
    duration REAL NOT NULL,
    sample_rate INTEGER NOT NULL,
    encoding TEXT NOT NULL,
    layout TEXT NOT NULL,
    tracks TEXT NOT NULL,
    events TEXT NOT NULL,
    warnings TEXT NOT NULL,
    agent_id TEXT,
    queue TEXT,
    started_at INTEGER,
    started_offset INTEGER,
    local_date TEXT,
    week TEXT,
    rule_set INTEGER NOT NULL REFERENCES rule_sets(id),
    score INTEGER NOT NULL,
    full_score INTEGER NOT NULL,
    critical_failure INTEGER NOT NULL,
    partial INTEGER NOT NULL,
    scored_in INTEGER NOT NULL REFERENCES runs(id)
);
CREATE INDEX calls_agent ON calls(agent_id);
CREATE INDEX calls_date ON calls(local_date);
CREATE INDEX calls_score ON calls(score);
CREATE TABLE utterances (
    call INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    party TEXT NOT NULL,
    start REAL NOT NULL,
    end REAL NOT NULL,
    text TEXT NOT NULL,
    normalized TEXT NOT NULL,
    words TEXT NOT NULL,
    PRIMARY KEY (call, seq)
) WITHOUT ROWID;
CREATE TABLE results (
    call INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    rule TEXT NOT NULL,
    name TEXT NOT NULL,
    verdict TEXT NOT NULL,
    deduction INTEGER NOT NULL,
    critical INTEGER NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (call, rule)
) WITHOUT ROWID;
CREATE INDEX results_rule ON results(rule, verdict);
CREATE TABLE findings (
    call INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    rule TEXT NOT NULL,
    seq INTEGER NOT NULL,
    start REAL NOT NULL,
    end REAL NOT NULL,
    party TEXT NOT NULL,
    text TEXT NOT NULL,
    message TEXT NOT NULL,
    suggestion TEXT,
    violation INTEGER NOT NULL,
    PRIMARY KEY (call, rule, seq)
) WITHOUT ROWID;
";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Set-up: the database cannot be opened or created. Retrying does not help until fixed.
    #[error("{}: cannot open the store: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{}: cannot create the store's directory: {source}", path.display())]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Set-up: `report` or `rescore` on a store that does not exist.
    #[error("{}: no store there yet (`zhijian score` creates it; --db names another)", .0.display())]
    Missing(PathBuf),
    /// Set-up: a database made by a newer zhijian.
    #[error("{}: store schema version {found} is newer than this zhijian's ({SCHEMA_VERSION}); upgrade zhijian", path.display())]
    Newer { path: PathBuf, found: i64 },
    /// Run-time: a read or write failed (disk full, locked by another writer for too long…).
    /// Retrying may help.
    #[error("{}: {source}", path.display())]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// Run-time: a stored value cannot be read back (the database was edited by hand).
    #[error("{}: call {call_id}: bad stored {what}: {detail}", path.display())]
    Corrupt {
        path: PathBuf,
        call_id: String,
        what: &'static str,
        detail: String,
    },
}

impl StoreError {
    /// Whether trying the same operation again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Sql { .. })
    }
}

/// A run of `score` or `rescore`, as the store numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunId(pub i64);

/// A scored call, ready to commit.
pub struct NewCall<'a> {
    pub transcript: &'a CallTranscript,
    pub card: &'a Scorecard,
    pub meta: &'a CallMeta,
    /// SHA-256 of the WAV file's bytes.
    pub audio_sha256: &'a str,
    /// The transcript cache key (audio, model, decoding settings).
    pub transcript_key: &'a str,
    /// Everything but the rules that the scorecard depends on: the transcript key, the call id,
    /// the sidecar (events), channel flags. With the rules' fingerprint it decides whether a
    /// rerun can skip the call.
    pub inputs_key: &'a str,
    pub rules: &'a RuleSet,
}

/// What a stored call was scored from: a rerun skips the call when both are unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoredWith {
    pub inputs_key: String,
    pub rules_fingerprint: String,
}

/// A stored call, as `rescore` walks them.
#[derive(Debug, Clone)]
pub struct StoredCall {
    pub row: i64,
    pub call_id: String,
    pub rules_fingerprint: String,
    pub score: u32,
}

/// The scoring database (see the module doc).
pub struct Store {
    conn: Connection,
    path: PathBuf,
    rule_set_ids: HashMap<String, i64>,
}

/// Default: `$ZHIJIAN_HOME/zhijian.db` if `ZHIJIAN_HOME` is set, else
/// `$XDG_DATA_HOME/zhijian/zhijian.db`, else `~/.local/share/zhijian/zhijian.db`.
pub fn default_path() -> PathBuf {
    default_path_from(&|k| std::env::var_os(k))
}

fn default_path_from(get: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    if let Some(home) = env_path(get, HOME_ENV) {
        return home.join("zhijian.db");
    }
    match env_path(get, "XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        Some(data) => data.join("zhijian/zhijian.db"),
        None => home_dir(get).join(".local/share/zhijian/zhijian.db"),
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    // Plain data (strings, numbers, enums): serialising it cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

impl Store {
    /// Opens the database at `path`, creating it (and its directory) if needed.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        Store::open_with(path, OpenFlags::default())
    }

    /// Opens a database that must already exist (for reports and re-scoring).
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        Store::open_with(path, OpenFlags::default() - OpenFlags::SQLITE_OPEN_CREATE)
    }

    fn open_with(path: &Path, flags: OpenFlags) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        // Another process (a batch, a report) may hold the write lock for a moment.
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            rule_set_ids: HashMap::new(),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let version = |conn: &Connection| -> rusqlite::Result<i64> {
            conn.pragma_query_value(None, "user_version", |r| r.get(0))
        };
        // The common case, an up-to-date store, takes no write lock (a report may run beside a
        // batch).
        match version(&self.conn).map_err(open_err)? {
            SCHEMA_VERSION => return Ok(()),
            0 => {}
            found => return Err(StoreError::Newer { path, found }),
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(open_err)?;
        // Another process may have created the schema while this one waited for the lock.
        if version(&tx).map_err(open_err)? == 0 {
            tx.execute_batch(SCHEMA)
                .and_then(|()| tx.pragma_update(None, "user_version", SCHEMA_VERSION))
                .map_err(open_err)?;
        }
        tx.commit().map_err(open_err)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// Records the start of a run; `now` is Unix seconds (the caller's clock).
    pub fn begin_run(&mut self, command: &str, now: i64) -> Result<RunId, StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs (command, started_at) VALUES (?1, ?2)",
                params![command, now],
            )
            .map_err(|e| self.sql(e))?;
        Ok(RunId(self.conn.last_insert_rowid()))
    }

    /// What every stored call was scored from, by call id.
    pub fn scored_index(&self) -> Result<HashMap<String, ScoredWith>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.call_id, c.inputs_key, r.fingerprint
                 FROM calls c JOIN rule_sets r ON r.id = c.rule_set",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    ScoredWith {
                        inputs_key: r.get(1)?,
                        rules_fingerprint: r.get(2)?,
                    },
                ))
            })
            .and_then(|rows| rows.collect::<Result<HashMap<_, _>, _>>());
        rows.map_err(|e| self.sql(e))
    }

    /// Every stored call, in call id order.
    pub fn calls(&self) -> Result<Vec<StoredCall>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.id, c.call_id, r.fingerprint, c.score
                 FROM calls c JOIN rule_sets r ON r.id = c.rule_set ORDER BY c.call_id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(StoredCall {
                    row: r.get(0)?,
                    call_id: r.get(1)?,
                    rules_fingerprint: r.get(2)?,
                    score: r.get(3)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
        rows.map_err(|e| self.sql(e))
    }

    /// Stores a scored call — row, utterances, results, findings — in one transaction,
    /// replacing any earlier scoring of the same call id.
    pub fn commit_call(&mut self, run: RunId, call: &NewCall<'_>) -> Result<(), StoreError> {
        let result = self.try_commit_call(run, call);
        result.map_err(|e| self.sql(e))
    }

    fn try_commit_call(&mut self, run: RunId, call: &NewCall<'_>) -> rusqlite::Result<()> {
        let Store {
            conn, rule_set_ids, ..
        } = self;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let rule_set = rule_set_id(&tx, rule_set_ids, call.rules)?;
        {
            let (t, card, meta) = (call.transcript, call.card, call.meta);
            tx.execute("DELETE FROM calls WHERE call_id = ?1", [&card.call_id])?;
            tx.execute(
                "INSERT INTO calls (call_id, source, audio_sha256, transcript_key, inputs_key, duration,
                    sample_rate, encoding, layout, tracks, events, warnings, agent_id, queue,
                    started_at, started_offset, local_date, week, rule_set, score, full_score,
                    critical_failure, partial, scored_in)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                    ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
                params![
                    card.call_id,
                    t.source.to_string_lossy(),
                    call.audio_sha256,
                    call.transcript_key,
                    call.inputs_key,
                    t.duration.0,
                    t.sample_rate,
                    t.encoding,
                    layout_name(card.layout),
                    json(&t.tracks),
                    json(&card.events),
                    json(&card.warnings),
                    meta.agent_id,
                    meta.queue,
                    meta.started_at.map(|s| s.unix),
                    meta.started_at.map(|s| s.offset_minutes),
                    meta.started_at.map(|s| s.local_date().to_string()),
                    meta.started_at.map(|s| s.local_date().iso_week()),
                    rule_set,
                    card.score,
                    card.full_score,
                    card.critical_failure,
                    card.partial,
                    run.0,
                ],
            )?;
            let row = tx.last_insert_rowid();
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO utterances (call, seq, party, start, end, text, normalized, words)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for (seq, u) in t.utterances.iter().enumerate() {
                    insert.execute(params![
                        row,
                        seq as i64,
                        u.party.as_str(),
                        u.start.0,
                        u.end.0,
                        u.text,
                        u.normalized,
                        json(&u.words)
                    ])?;
                }
            }
            insert_results(&tx, row, &card.rules)?;
        }
        tx.commit()?;
        rule_set_ids.insert(call.rules.fingerprint().to_string(), rule_set);
        Ok(())
    }

    /// Replaces a stored call's scoring (results, findings, score, rule set) with `card`, in one
    /// transaction; its transcript stays.
    pub fn replace_scoring(
        &mut self,
        run: RunId,
        row: i64,
        card: &Scorecard,
        rules: &RuleSet,
    ) -> Result<(), StoreError> {
        let result = self.try_replace_scoring(run, row, card, rules);
        result.map_err(|e| self.sql(e))
    }

    fn try_replace_scoring(
        &mut self,
        run: RunId,
        row: i64,
        card: &Scorecard,
        rules: &RuleSet,
    ) -> rusqlite::Result<()> {
        let Store {
            conn, rule_set_ids, ..
        } = self;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let rule_set = rule_set_id(&tx, rule_set_ids, rules)?;
        {
            tx.execute("DELETE FROM findings WHERE call = ?1", [row])?;
            tx.execute("DELETE FROM results WHERE call = ?1", [row])?;
            tx.execute(
                "UPDATE calls SET rule_set = ?2, score = ?3, full_score = ?4, critical_failure = ?5,
                    events = ?6, warnings = ?7, scored_in = ?8 WHERE id = ?1",
                params![
                    row,
                    rule_set,
                    card.score,
                    card.full_score,
                    card.critical_failure,
                    json(&card.events),
                    json(&card.warnings),
                    run.0
                ],
            )?;
            insert_results(&tx, row, &card.rules)?;
        }
        tx.commit()?;
        rule_set_ids.insert(rules.fingerprint().to_string(), rule_set);
        Ok(())
    }

    fn corrupt(&self, call_id: &str, what: &'static str, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            call_id: call_id.to_string(),
            what,
            detail: detail.to_string(),
        }
    }

    fn row_of(&self, call_id: &str) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row("SELECT id FROM calls WHERE call_id = ?1", [call_id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// The stored transcript of the call in `row`, and the events its rules saw.
    pub fn transcript(&self, row: i64) -> Result<(CallTranscript, Vec<CallEvent>), StoreError> {
        type Head = (String, String, f64, u32, String, String, String, String);
        let head: Head = self
            .conn
            .prepare_cached(
                "SELECT call_id, source, duration, sample_rate, encoding, tracks, events, warnings
                 FROM calls WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([row], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                })
            })
            .map_err(|e| self.sql(e))?;
        let (call_id, source, duration, sample_rate, encoding, tracks, events, warnings) = head;
        let tracks: Vec<Track> =
            serde_json::from_str(&tracks).map_err(|e| self.corrupt(&call_id, "tracks", e))?;
        let events: Vec<CallEvent> =
            serde_json::from_str(&events).map_err(|e| self.corrupt(&call_id, "events", e))?;
        let warnings: Vec<String> =
            serde_json::from_str(&warnings).map_err(|e| self.corrupt(&call_id, "warnings", e))?;
        let utterances = self.utterances(row, &call_id)?;
        Ok((
            CallTranscript {
                call_id,
                source: PathBuf::from(source),
                duration: Seconds(duration),
                sample_rate,
                encoding,
                tracks,
                utterances,
                warnings,
                // The tones only ever served to infer events, and the events the call was
                // scored with are stored as they were merged.
                tones: Default::default(),
            },
            events,
        ))
    }

    fn utterances(&self, row: i64, call_id: &str) -> Result<Vec<Utterance>, StoreError> {
        type Raw = (String, f64, f64, String, String, String);
        let raw: Vec<Raw> = self
            .conn
            .prepare_cached(
                "SELECT party, start, end, text, normalized, words FROM utterances
                 WHERE call = ?1 ORDER BY seq",
            )
            .and_then(|mut s| {
                s.query_map([row], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .and_then(|rows| rows.collect())
            })
            .map_err(|e| self.sql(e))?;
        raw.into_iter()
            .map(|(party, start, end, text, normalized, words)| {
                Ok(Utterance {
                    party: parse_party(&party)
                        .ok_or_else(|| self.corrupt(call_id, "party", &party))?,
                    start: Seconds(start),
                    end: Seconds(end),
                    text,
                    normalized,
                    words: serde_json::from_str(&words)
                        .map_err(|e| self.corrupt(call_id, "words", e))?,
                })
            })
            .collect()
    }

    /// The stored scorecard of a call id (as `zhijian score` printed it when it scored the
    /// call).
    pub fn scorecard(&self, call_id: &str) -> Result<Option<Scorecard>, StoreError> {
        let Some(row) = self.row_of(call_id)? else {
            return Ok(None);
        };
        self.scorecard_at(row).map(Some)
    }

    /// The scorecard of the call in `row`.
    pub fn scorecard_at(&self, row: i64) -> Result<Scorecard, StoreError> {
        type Head = (String, u32, u32, bool, bool, String, String, String, String);
        let head: Head = self
            .conn
            .prepare_cached(
                "SELECT c.call_id, c.score, c.full_score, c.critical_failure, c.partial, c.layout,
                    r.name, r.version, r.dir
                 FROM calls c JOIN rule_sets r ON r.id = c.rule_set WHERE c.id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([row], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ))
                })
            })
            .map_err(|e| self.sql(e))?;
        let (call_id, score, full_score, critical_failure, partial, layout, name, version, dir) =
            head;
        let (transcript, events) = self.transcript(row)?;
        let layout =
            parse_layout(&layout).ok_or_else(|| self.corrupt(&call_id, "layout", &layout))?;
        Ok(Scorecard {
            score,
            full_score,
            critical_failure,
            source: (!transcript.source.as_os_str().is_empty()).then(|| transcript.source.clone()),
            duration: transcript.duration,
            layout,
            standard: StandardRef {
                name,
                version,
                rules: PathBuf::from(dir),
            },
            rules: self.results(row, &call_id)?,
            utterances: transcript
                .utterances
                .iter()
                .map(|u| CardUtterance {
                    party: u.party,
                    start: u.start,
                    end: u.end,
                    text: u.text.clone(),
                })
                .collect(),
            events,
            warnings: transcript.warnings,
            partial,
            call_id,
        })
    }

    fn results(&self, row: i64, call_id: &str) -> Result<Vec<RuleResult>, StoreError> {
        type RawResult = (String, String, String, u32, bool, String);
        let raw: Vec<RawResult> = self
            .conn
            .prepare_cached(
                "SELECT rule, name, verdict, deduction, critical, note FROM results
                 WHERE call = ?1 ORDER BY seq",
            )
            .and_then(|mut s| {
                s.query_map([row], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .and_then(|rows| rows.collect())
            })
            .map_err(|e| self.sql(e))?;
        type RawFinding = (
            String,
            f64,
            f64,
            String,
            String,
            String,
            Option<String>,
            bool,
        );
        let findings: Vec<RawFinding> = self
            .conn
            .prepare_cached(
                "SELECT rule, start, end, party, text, message, suggestion, violation FROM findings
                 WHERE call = ?1 ORDER BY rule, seq",
            )
            .and_then(|mut s| {
                s.query_map([row], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                })
                .and_then(|rows| rows.collect())
            })
            .map_err(|e| self.sql(e))?;
        let mut results = Vec::with_capacity(raw.len());
        for (rule, name, verdict, deduction, critical, note) in raw {
            let id: RuleId = rule.parse().map_err(|e| self.corrupt(call_id, "rule", e))?;
            let verdict: Verdict = verdict
                .parse()
                .map_err(|e| self.corrupt(call_id, "verdict", e))?;
            let mut mine = Vec::new();
            for (f_rule, start, end, party, text, message, suggestion, violation) in &findings {
                if *f_rule == rule {
                    mine.push(Finding {
                        rule: id,
                        start: Seconds(*start),
                        end: Seconds(*end),
                        party: parse_party(party)
                            .ok_or_else(|| self.corrupt(call_id, "party", party))?,
                        text: text.clone(),
                        message: message.clone(),
                        suggestion: suggestion.clone(),
                        violation: *violation,
                    });
                }
            }
            results.push(RuleResult {
                rule: id,
                name,
                verdict,
                deduction,
                critical,
                findings: mine,
                note,
            });
        }
        Ok(results)
    }

    /// `PRAGMA integrity_check` and the foreign keys: "ok" when the database is sound, else
    /// the problems found.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        let mut problems: Vec<String> = self
            .conn
            .prepare("PRAGMA integrity_check")
            .and_then(|mut s| {
                s.query_map([], |r| r.get(0))
                    .and_then(|rows| rows.collect())
            })
            .map_err(|e| self.sql(e))?;
        problems.retain(|p| p != "ok");
        let dangling: i64 = self
            .conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.sql(e))?;
        if dangling > 0 {
            problems.push(format!("{dangling} row(s) point to missing rows"));
        }
        Ok(if problems.is_empty() {
            "ok".into()
        } else {
            problems.join("\n")
        })
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// The id of `rules` in `rule_sets`, adding it if new. `known` holds the ids of committed rows
/// only: an id from a transaction that may still roll back must not be remembered.
fn rule_set_id(
    tx: &Transaction<'_>,
    known: &HashMap<String, i64>,
    rules: &RuleSet,
) -> rusqlite::Result<i64> {
    if let Some(id) = known.get(rules.fingerprint()) {
        return Ok(*id);
    }
    tx.execute(
        "INSERT OR IGNORE INTO rule_sets (fingerprint, name, version, dir) VALUES (?1, ?2, ?3, ?4)",
        params![
            rules.fingerprint(),
            rules.standard.name,
            rules.standard.version,
            rules.dir.to_string_lossy()
        ],
    )?;
    tx.query_row(
        "SELECT id FROM rule_sets WHERE fingerprint = ?1",
        [rules.fingerprint()],
        |r| r.get(0),
    )
}

fn insert_results(tx: &Transaction<'_>, row: i64, results: &[RuleResult]) -> rusqlite::Result<()> {
    let mut result = tx.prepare_cached(
        "INSERT INTO results (call, seq, rule, name, verdict, deduction, critical, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut finding = tx.prepare_cached(
        "INSERT INTO findings (call, rule, seq, start, end, party, text, message, suggestion, violation)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (seq, r) in results.iter().enumerate() {
        result.execute(params![
            row,
            seq as i64,
            r.rule.as_str(),
            r.name,
            r.verdict.as_str(),
            r.deduction,
            r.critical,
            r.note
        ])?;
        for (seq, f) in r.findings.iter().enumerate() {
            finding.execute(params![
                row,
                r.rule.as_str(),
                seq as i64,
                f.start.0,
                f.end.0,
                f.party.as_str(),
                f.text,
                f.message,
                f.suggestion,
                f.violation
            ])?;
        }
    }
    Ok(())
}

fn layout_name(layout: Layout) -> &'static str {
    match layout {
        Layout::TwoParty => "two_party",
        Layout::Mono => "mono",
    }
}

fn parse_layout(name: &str) -> Option<Layout> {
    match name {
        "two_party" => Some(Layout::TwoParty),
        "mono" => Some(Layout::Mono),
        _ => None,
    }
}

fn parse_party(name: &str) -> Option<Party> {
    [Party::Agent, Party::Customer, Party::Mixed]
        .into_iter()
        .find(|p| p.as_str() == name)
}

#[cfg(test)]
mod tests;
