//! Deferred history import (`vcenter.deployment.import_history`, seeds/003 chapter 5,
//! "Historical Data Transfer"): a source server's history — tasks, events and statistics, the
//! tables of the backup part `seat` — streams into this running server's store as a background
//! job while the server serves. It is staged first (`staged`: read from a backup at a location,
//! or from an archive directory on this machine, into the data directory, touching no store
//! row), then started, paused, resumed or cancelled by a superAdmin:
//!
//! ```text
//! PENDING --start--> RUNNING --pause / an error / the server stopped--> BLOCKED
//!                    RUNNING <--resume-- BLOCKED
//!                    RUNNING --its last batch--> SUCCEEDED
//!           RUNNING, BLOCKED --cancel--> FAILED (final: cannot resume)
//! ```
//!
//! Its state lives in the store (`history_import.job`), and how far it got is written with each
//! batch in that batch's own transaction (`history_import.progress`), so a kill leaves it
//! resumable from the last batch in, and no batch is ever imported twice. How each table is
//! merged into a live store is `tables`; the job itself is `job`.
//!
//! pause on a paused import, resume on a running one and cancel on a cancelled one answer
//! AlreadyInState (vAPI `already_in_desired_state`), as the SDK declares; every other call in
//! the wrong state is InvalidState (`not_allowed_in_current_state`). Both are 400.
mod job;
pub mod staged;
pub mod tables;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::auth::{Caller, Privilege};
use crate::model::new_uuid;
use crate::ports::{Location, LocationSecret};
use crate::recovery::open_archive;
use crate::{Core, CoreError};
use staged::Staged;
pub use tables::HistoryTables;

/// The import's record: status, who started it, why it is blocked or failed.
pub const JOB_KEY: &str = "history_import.job";
/// How far it got, written with each batch in the batch's transaction.
pub const PROGRESS_KEY: &str = "history_import.progress";
/// Rows per batch (default [`DEFAULT_BATCH_ROWS`]), read before each batch.
pub const BATCH_ROWS_KEY: &str = "history_import.batch_rows";
/// A pause after each batch in milliseconds (default 0), read before each batch: leaves the
/// store to the server's own work on a busy machine, and lets a test watch a long import.
pub const BATCH_PAUSE_KEY: &str = "history_import.batch_pause_ms";
pub const DEFAULT_BATCH_ROWS: usize = 500;
const MAX_BATCH_ROWS: usize = 10_000;
const MAX_BATCH_PAUSE_MS: u64 = 60_000;

/// The SDK's defaults for an unnamed import (`ImportHistory.start`'s spec).
pub const DEFAULT_NAME: &str = "vcenter.deployment.history.import";
pub const DEFAULT_DESCRIPTION: &str = "vCenter Server history import";

/// `cis.task.status` as the import uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pending,
    Running,
    Blocked,
    Succeeded,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Running => "RUNNING",
            Status::Blocked => "BLOCKED",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
        }
    }
}

/// Why an import is BLOCKED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockReason {
    /// A superAdmin paused it.
    Paused,
    /// The server stopped while it ran.
    Stopped,
    /// It met an error it cannot get past by itself (the staged files, a store write).
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Blocked {
    reason: BlockReason,
    message: String,
    at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    /// The staging it imports (`Staged::id`).
    staging: String,
    status: Status,
    name: String,
    description: String,
    user: Option<String>,
    started_ms: Option<i64>,
    ended_ms: Option<i64>,
    /// The rows staged, kept for when the staged files are gone.
    total: u64,
    blocked: Option<Blocked>,
    /// Why it FAILED.
    error: Option<CoreError>,
}

/// How far an import got: the staged table it is at, the rows of it already in, and the rows
/// of all tables already in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Progress {
    staging: String,
    table: usize,
    offset: u64,
    done: u64,
}

/// What a history import stages from.
#[derive(Debug, Clone)]
pub enum HistorySource {
    /// An archive at a backup location, named as a restore names it; `password` when the
    /// archive has one.
    Location {
        location: Location,
        password: Option<LocationSecret>,
    },
    /// An archive directory on this machine.
    Directory {
        path: PathBuf,
        password: Option<LocationSecret>,
    },
}

/// What is staged, for the caller and for `get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedSummary {
    pub source: String,
    pub backup_time: String,
    /// Rows per staged table, in import order.
    pub tables: Vec<(String, u64)>,
    pub total: u64,
}

impl From<&Staged> for StagedSummary {
    fn from(s: &Staged) -> Self {
        StagedSummary {
            source: s.source.clone(),
            backup_time: s.backup_time.clone(),
            tables: s.tables.iter().map(|t| (t.name.clone(), t.rows)).collect(),
            total: s.total_rows(),
        }
    }
}

/// `ImportHistory.start`'s optional spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartSpec {
    pub name: String,
    pub description: String,
}

/// A notification of the import: what `get` reports beside the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub level: NoteLevel,
    pub id: &'static str,
    pub time: OffsetDateTime,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteLevel {
    Info,
    Warning,
    Error,
}

/// How far an import is: rows in over rows staged, and what it is importing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProgress {
    pub total: u64,
    pub completed: u64,
    /// The table being imported (none once it has ended).
    pub table: Option<String>,
    pub message: String,
}

/// `ImportHistory.get`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportInfo {
    pub status: Status,
    pub name: String,
    pub description: String,
    pub user: Option<String>,
    pub cancelable: bool,
    pub start_time: Option<OffsetDateTime>,
    pub end_time: Option<OffsetDateTime>,
    /// None while PENDING.
    pub progress: Option<ImportProgress>,
    pub notes: Vec<Note>,
    /// Why it FAILED.
    pub error: Option<CoreError>,
    /// What is staged, while it is.
    pub staged: Option<StagedSummary>,
}

/// The import's share of the core: one import at a time.
#[derive(Default)]
pub(crate) struct HistoryImportState {
    /// Serialises every read-change-write of the record (operations, and the job's own end).
    ops: tokio::sync::Mutex<()>,
    /// Held by a job for its whole run: a resumed job waits until a paused one has stopped,
    /// so two never append at once.
    run: Arc<tokio::sync::Mutex<()>>,
    /// Stops the job started last.
    stop: parking_lot::Mutex<Option<CancellationToken>>,
}

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn json_err(e: serde_json::Error) -> CoreError {
    CoreError::internal(format!("the history import's record is unreadable: {e}"))
}

/// The status a record and a staging make: a staging the record does not import is PENDING.
fn status_of(record: Option<&Record>, staged: Option<&Staged>) -> Status {
    match (record, staged) {
        (Some(r), Some(s)) if r.staging == s.id => r.status,
        (_, Some(_)) | (None, None) => Status::Pending,
        (Some(r), None) => r.status,
    }
}

impl Core {
    fn history_dir(&self) -> PathBuf {
        self.config.recovery.work_dir.join(staged::DIR)
    }

    async fn history_record(&self) -> Result<Option<Record>, CoreError> {
        match self.store.get_setting(JOB_KEY).await? {
            Some(text) => serde_json::from_str(&text).map(Some).map_err(json_err),
            None => Ok(None),
        }
    }

    async fn put_history_record(&self, r: &Record) -> Result<(), CoreError> {
        let text = serde_json::to_string(r).map_err(json_err)?;
        Ok(self.store.put_setting(JOB_KEY, &text).await?)
    }

    async fn history_progress(&self) -> Result<Option<Progress>, CoreError> {
        match self.store.get_setting(PROGRESS_KEY).await? {
            Some(text) => serde_json::from_str(&text).map(Some).map_err(json_err),
            None => Ok(None),
        }
    }

    fn staged_history(&self) -> Result<Option<Staged>, CoreError> {
        staged::read(&self.history_dir()).map_err(|e| CoreError::internal(e.to_string()))
    }

    /// Reads the `seat` part of a backup — at a location, with the same location and password
    /// as a restore, or in an archive directory on this machine — into the data directory, and
    /// makes it the PENDING import (replacing a staging not started, or an import that ended).
    /// Refused while an import is RUNNING or BLOCKED. Changes no store row: `start` begins
    /// the import.
    pub async fn stage_history_import(
        &self,
        caller: &Caller,
        source: HistorySource,
    ) -> Result<StagedSummary, CoreError> {
        self.stage_history_tables(caller, source, HistoryTables::All)
            .await
    }

    /// [`Core::stage_history_import`] of only the tables `which` takes: an upgrade whose
    /// `data_set` is EVENTS_TASKS stages no statistics.
    pub async fn stage_history_tables(
        &self,
        caller: &Caller,
        source: HistorySource,
        which: HistoryTables,
    ) -> Result<StagedSummary, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let _ops = self.history_import.ops.lock().await;
        let record = self.history_record().await?;
        let current = self.staged_history().ok().flatten();
        match status_of(record.as_ref(), current.as_ref()) {
            Status::Running | Status::Blocked => {
                return Err(CoreError::invalid_state(
                    "a history import is running or blocked: cancel it before staging another",
                ))
            }
            Status::Pending | Status::Succeeded | Status::Failed => {}
        }
        let work = self.config.recovery.work_dir.clone();
        let id = new_uuid();
        let fetched = work.join(format!("{}.fetch-{id}", staged::DIR));
        let (dir, password) = match source {
            HistorySource::Location { location, password } => {
                let got = crate::recovery::restore_job::fetch_archive(
                    self.backup_target.as_ref(),
                    &location,
                    &fetched,
                )
                .await;
                if let Err(e) = got {
                    let _ = std::fs::remove_dir_all(&fetched);
                    return Err(e);
                }
                (fetched.clone(), password)
            }
            HistorySource::Directory { path, password } => (path, password),
        };
        let here = self.store.schema_version().await?;
        let partial = work.join(format!("{}.partial-{id}", staged::DIR));
        let into = partial.clone();
        let made = tokio::task::spawn_blocking(move || -> Result<Staged, CoreError> {
            let opened = open_archive(&dir, password.as_ref().map(LocationSecret::expose))?;
            if opened.manifest.schema_version != here {
                return Err(CoreError::invalid(
                    "location",
                    format!(
                        "the backup was made by ferrocenter {} at schema version {}; this \
                         server is at schema version {here}: its history cannot be imported",
                        opened.manifest.version, opened.manifest.schema_version
                    ),
                ));
            }
            staged::stage(&opened, &into, id, which)
                .map_err(|e| CoreError::invalid("location", e.to_string()))
        })
        .await
        .map_err(|e| CoreError::internal(format!("staging stopped: {e}")));
        let _ = std::fs::remove_dir_all(&fetched);
        let staged = match made.and_then(|r| r) {
            Ok(s) => s,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&partial);
                return Err(e);
            }
        };
        let dir = self.history_dir();
        let io = |e: std::io::Error| {
            CoreError::internal(format!(
                "cannot stage the history in {}: {e}",
                dir.display()
            ))
        };
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io)?;
        }
        std::fs::rename(&partial, &dir).map_err(io)?;
        info!(source = %staged.source, rows = staged.total_rows(), "history staged for import");
        Ok(StagedSummary::from(&staged))
    }

    /// `import_history.get`: the import's status, progress and notifications.
    pub async fn history_import_get(&self, caller: &Caller) -> Result<ImportInfo, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let record = self.history_record().await?;
        // A damaged staged.json reads as none staged: the record still says where it is.
        let staged = self.staged_history().ok().flatten();
        let status = status_of(record.as_ref(), staged.as_ref());
        let summary = staged.as_ref().map(StagedSummary::from);
        let record = record.filter(|_| status != Status::Pending);
        let Some(r) = record else {
            let description = match &summary {
                Some(s) => format!(
                    "{DEFAULT_DESCRIPTION}: {} rows staged from {} (backup of {})",
                    s.total, s.source, s.backup_time
                ),
                None => format!("{DEFAULT_DESCRIPTION}: no history is staged"),
            };
            return Ok(ImportInfo {
                status,
                name: DEFAULT_NAME.into(),
                description,
                user: None,
                cancelable: false,
                start_time: None,
                end_time: None,
                progress: None,
                notes: Vec::new(),
                error: None,
                staged: summary,
            });
        };
        let p = self
            .history_progress()
            .await?
            .filter(|p| p.staging == r.staging);
        let done = p.as_ref().map_or(0, |p| p.done);
        let table = match (&staged, &p, status) {
            (Some(s), Some(p), Status::Running | Status::Blocked) => {
                s.tables.get(p.table).map(|t| (t, p.offset))
            }
            _ => None,
        };
        let message = match (status, table) {
            (Status::Succeeded, _) => format!("Imported {done} rows of history"),
            (Status::Failed, _) => format!("Cancelled after {done} of {} rows", r.total),
            (_, Some((t, offset))) => format!(
                "Importing {}: {offset} of {} rows",
                tables::rule_of(&t.name).map_or(t.name.as_str(), |r| r.label),
                t.rows
            ),
            _ => format!("{done} of {} rows imported", r.total),
        };
        let mut notes = Vec::new();
        if let Some(b) = &r.blocked {
            notes.push(Note {
                level: match b.reason {
                    BlockReason::Paused => NoteLevel::Info,
                    BlockReason::Stopped => NoteLevel::Warning,
                    BlockReason::Error => NoteLevel::Error,
                },
                id: match b.reason {
                    BlockReason::Paused => "com.ferrocenter.history_import.paused",
                    BlockReason::Stopped => "com.ferrocenter.history_import.server_stopped",
                    BlockReason::Error => "com.ferrocenter.history_import.error",
                },
                time: at(b.at_ms),
                message: b.message.clone(),
            });
        }
        Ok(ImportInfo {
            status,
            name: r.name,
            description: r.description,
            user: r.user,
            cancelable: matches!(status, Status::Running | Status::Blocked),
            start_time: r.started_ms.map(at),
            end_time: r.ended_ms.map(at),
            progress: Some(ImportProgress {
                total: r.total,
                completed: done.min(r.total),
                table: table.map(|(t, _)| t.name.clone()),
                message,
            }),
            notes,
            error: r.error,
            staged: summary.filter(|_| matches!(status, Status::Running | Status::Blocked)),
        })
    }

    /// `import_history.start`: PENDING → RUNNING. Already running: AlreadyInState; paused,
    /// completed or cancelled: InvalidState (a paused import is resumed, an ended one is
    /// staged again).
    pub async fn history_import_start(
        &self,
        caller: &Caller,
        spec: Option<StartSpec>,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let _ops = self.history_import.ops.lock().await;
        let record = self.history_record().await?;
        let staged = self.staged_history()?;
        match status_of(record.as_ref(), staged.as_ref()) {
            Status::Pending => {}
            Status::Running => {
                return Err(CoreError::already_in_state(
                    "the history import is already running",
                ))
            }
            Status::Blocked => {
                return Err(CoreError::invalid_state(
                    "the history import is paused or blocked: resume or cancel it",
                ))
            }
            Status::Succeeded => {
                return Err(CoreError::invalid_state(
                    "the history import has completed: a completed import cannot start again",
                ))
            }
            Status::Failed => {
                return Err(CoreError::invalid_state(
                    "the history import was cancelled: a cancelled import cannot start again",
                ))
            }
        }
        let Some(staged) = staged else {
            return Err(CoreError::invalid_state(
                "no history is staged for import: it is staged when an instance is moved",
            ));
        };
        let spec = spec.unwrap_or_else(|| StartSpec {
            name: DEFAULT_NAME.into(),
            description: DEFAULT_DESCRIPTION.into(),
        });
        let progress = Progress {
            staging: staged.id.clone(),
            table: 0,
            offset: 0,
            done: 0,
        };
        let text = serde_json::to_string(&progress).map_err(json_err)?;
        self.store.put_setting(PROGRESS_KEY, &text).await?;
        self.put_history_record(&Record {
            staging: staged.id.clone(),
            status: Status::Running,
            name: spec.name,
            description: spec.description,
            user: Some(caller.user.clone()),
            started_ms: Some(ms(self.clock.now())),
            ended_ms: None,
            total: staged.total_rows(),
            blocked: None,
            error: None,
        })
        .await?;
        info!(by = %caller.user, rows = staged.total_rows(), "history import started");
        self.spawn_history_job();
        Ok(())
    }

    /// `import_history.pause`: RUNNING → BLOCKED; the job stops after the batch it is writing.
    pub async fn history_import_pause(&self, caller: &Caller) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let _ops = self.history_import.ops.lock().await;
        let mut r = self.current_record("paused").await?;
        match r.status {
            Status::Running => {}
            Status::Blocked => {
                return Err(CoreError::already_in_state(
                    "the history import is already paused or blocked",
                ))
            }
            s => return Err(not_now("paused", s)),
        }
        self.stop_history_job();
        r.status = Status::Blocked;
        r.blocked = Some(Blocked {
            reason: BlockReason::Paused,
            message: format!("Paused by {}", caller.user),
            at_ms: ms(self.clock.now()),
        });
        self.put_history_record(&r).await
    }

    /// `import_history.resume`: BLOCKED → RUNNING, from the last batch imported.
    pub async fn history_import_resume(&self, caller: &Caller) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let _ops = self.history_import.ops.lock().await;
        let mut r = self.current_record("resumed").await?;
        match r.status {
            Status::Blocked => {}
            Status::Running => {
                return Err(CoreError::already_in_state(
                    "the history import is already running",
                ))
            }
            s => return Err(not_now("resumed", s)),
        }
        r.status = Status::Running;
        r.blocked = None;
        self.put_history_record(&r).await?;
        info!(by = %caller.user, "history import resumed");
        self.spawn_history_job();
        Ok(())
    }

    /// `import_history.cancel`: RUNNING or BLOCKED → FAILED, for good; what was imported
    /// stays, the staged files go.
    pub async fn history_import_cancel(&self, caller: &Caller) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let _ops = self.history_import.ops.lock().await;
        let mut r = self.current_record("cancelled").await?;
        match r.status {
            Status::Running | Status::Blocked => {}
            Status::Failed => {
                return Err(CoreError::already_in_state(
                    "the history import is already cancelled",
                ))
            }
            s => return Err(not_now("cancelled", s)),
        }
        self.stop_history_job();
        r.status = Status::Failed;
        r.blocked = None;
        r.ended_ms = Some(ms(self.clock.now()));
        r.error = Some(CoreError::Cancelled {
            message: format!("the history import was cancelled by {}", caller.user),
        });
        self.put_history_record(&r).await?;
        info!(by = %caller.user, "history import cancelled");
        // Once the job has let go of the staged files.
        let run = self.history_import.run.clone();
        let dir = self.history_dir();
        let staging = r.staging.clone();
        tokio::spawn(async move {
            let _running = run.lock().await;
            remove_staged(&dir, &staging);
        });
        Ok(())
    }

    /// At start: an import the previous process left RUNNING is BLOCKED, resumable from its
    /// last batch.
    pub async fn recover_history_import(&self) -> Result<(), CoreError> {
        let _ops = self.history_import.ops.lock().await;
        // A staging or a fetch the previous process did not finish.
        let prefix = format!("{}.", staged::DIR);
        if let Ok(entries) = std::fs::read_dir(&self.config.recovery.work_dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let Some(mut r) = self.history_record().await? else {
            return Ok(());
        };
        if r.status != Status::Running {
            return Ok(());
        }
        r.status = Status::Blocked;
        r.blocked = Some(Blocked {
            reason: BlockReason::Stopped,
            message: "The server stopped while the history import was running; resume it to \
                      continue from the last batch imported"
                .into(),
            at_ms: ms(self.clock.now()),
        });
        warn!("a history import was running when the server stopped: it is blocked until resumed");
        self.put_history_record(&r).await
    }

    /// The record of the import of the current staging (PENDING has none).
    async fn current_record(&self, verb: &str) -> Result<Record, CoreError> {
        let record = self.history_record().await?;
        let staged = self.staged_history().ok().flatten();
        let status = status_of(record.as_ref(), staged.as_ref());
        match record {
            Some(r) if status == r.status => Ok(r),
            _ => Err(not_now(verb, Status::Pending)),
        }
    }

    fn spawn_history_job(&self) {
        let token = CancellationToken::new();
        if let Some(old) = self.history_import.stop.lock().replace(token.clone()) {
            old.cancel();
        }
        let core = self.self_arc();
        tokio::spawn(async move { job::run(core, token).await });
    }

    fn stop_history_job(&self) {
        if let Some(t) = self.history_import.stop.lock().take() {
            t.cancel();
        }
    }
}

fn not_now(what: &str, s: Status) -> CoreError {
    let why = match s {
        Status::Pending => "it has not started",
        Status::Running => "it is running",
        Status::Blocked => "it is paused or blocked",
        Status::Succeeded => "it has completed",
        Status::Failed => "it was cancelled",
    };
    CoreError::invalid_state(format!("the history import cannot be {what}: {why}"))
}

/// Removes the staged files of `staging`, unless another staging has taken their place.
fn remove_staged(dir: &Path, staging: &str) {
    match staged::read(dir) {
        Ok(Some(s)) if s.id == staging => {}
        _ => return,
    }
    crate::staging::remove_dir(dir, "the imported history's staged files");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(staging: &str, status: Status) -> Record {
        Record {
            staging: staging.into(),
            status,
            name: DEFAULT_NAME.into(),
            description: DEFAULT_DESCRIPTION.into(),
            user: None,
            started_ms: None,
            ended_ms: None,
            total: 0,
            blocked: None,
            error: None,
        }
    }

    fn staged(id: &str) -> Staged {
        Staged {
            id: id.into(),
            source: "vc1".into(),
            backup_time: "2026-12-07T00:00:00Z".into(),
            schema_version: 1,
            tables: Vec::new(),
        }
    }

    #[test]
    fn a_staging_the_record_does_not_import_is_pending() {
        assert_eq!(status_of(None, None), Status::Pending);
        assert_eq!(status_of(None, Some(&staged("a"))), Status::Pending);
        let done = record("a", Status::Succeeded);
        assert_eq!(
            status_of(Some(&done), Some(&staged("a"))),
            Status::Succeeded
        );
        assert_eq!(status_of(Some(&done), Some(&staged("b"))), Status::Pending);
        // The staged files gone (imported, or cancelled): the record says.
        assert_eq!(status_of(Some(&done), None), Status::Succeeded);
        let blocked = record("a", Status::Blocked);
        assert_eq!(status_of(Some(&blocked), None), Status::Blocked);
    }

    #[test]
    fn times_keep_their_milliseconds() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_765_000_000_123_000_000).unwrap();
        assert_eq!(at(ms(t)), t);
    }
}
