//! Backup jobs (`recovery.backup.job`): a backup runs as a core task (`appliance.backup`), so it
//! has progress, cancel, and a failed state after a server restart like every task. The archive
//! is written to a staging directory under the server's work directory from one snapshot of the
//! store, then uploaded file by file, `manifest.json` last: a location holding part files
//! without a manifest holds no complete archive, and nothing lists it as one. A cancelled or
//! failed job removes what it uploaded and its staging directory.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tracing::{info, warn};

use super::{manifest, parse_parts, write_archive, BackupSpec, RecoveryError};
use crate::auth::{Caller, Privilege};
use crate::ports::{BackupTarget, Location, LocationError, LocationSecret};
use crate::tasks::{Task, TaskContext, TaskKind, TaskResult, TaskSpec, TaskState};
use crate::{Core, CoreError};

/// Who started a backup: a person (`MANUAL`) or a schedule (`SCHEDULED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BackupJobType {
    Manual,
    Scheduled,
}

impl BackupJobType {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupJobType::Manual => "MANUAL",
            BackupJobType::Scheduled => "SCHEDULED",
        }
    }
}

/// A backup to run.
#[derive(Debug, Clone)]
pub struct BackupRequest {
    /// Optional parts by id (`seat`); `common` is always included.
    pub parts: Vec<String>,
    /// Encrypts the archive; never stored.
    pub backup_password: Option<LocationSecret>,
    /// Where the archive goes: the directory that will hold its files.
    pub location: Location,
    pub comment: Option<String>,
    pub job_type: BackupJobType,
}

/// The states vAPI's `backup_restore_process_state` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    None,
    InProgress,
    Succeeded,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::None => "NONE",
            JobState::InProgress => "INPROGRESS",
            JobState::Succeeded => "SUCCEEDED",
            JobState::Failed => "FAILED",
        }
    }
}

/// What a finished backup recorded in its task's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupOutcome {
    pub location: String,
    pub location_user: String,
    pub job_type: BackupJobType,
    pub parts: Vec<String>,
    /// Bytes written to the location.
    pub size: u64,
    pub encrypted: bool,
}

/// A backup job as `job.get` and `job.details` show it.
#[derive(Debug, Clone)]
pub struct BackupJob {
    pub id: String,
    pub state: JobState,
    pub messages: Vec<String>,
    pub progress: u8,
    pub start_time: OffsetDateTime,
    pub end_time: Option<OffsetDateTime>,
    pub location: String,
    pub location_user: String,
    pub job_type: BackupJobType,
    /// Bytes written, once known.
    pub size: Option<u64>,
    pub cancelable: bool,
    pub cancelled: bool,
}

/// How a `validate` went: `Fail` with the reasons, `Warning` when it would run but something is
/// worth knowing, else `Ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    Ok,
    Warning,
    Fail,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "OK",
            CheckStatus::Warning => "WARNING",
            CheckStatus::Fail => "FAIL",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CheckResult {
    pub status: CheckStatus,
    pub messages: Vec<String>,
}

/// The task description names the location and who started the job, so a running job, and
/// one the server lost in a crash, still say where it was going and for whom.
const DESCRIPTION_PREFIX: &str = "Back up ferrocenter to ";
const SCHEDULED_PREFIX: &str = "Scheduled backup of ferrocenter to ";

fn description(location: &Location, job_type: BackupJobType) -> String {
    match job_type {
        BackupJobType::Manual => format!("{DESCRIPTION_PREFIX}{}", location.url),
        BackupJobType::Scheduled => format!("{SCHEDULED_PREFIX}{}", location.url),
    }
}

/// The type and location a description names.
fn from_description(d: &str) -> (BackupJobType, &str) {
    match d.strip_prefix(SCHEDULED_PREFIX) {
        Some(url) => (BackupJobType::Scheduled, url),
        None => (
            BackupJobType::Manual,
            d.strip_prefix(DESCRIPTION_PREFIX).unwrap_or_default(),
        ),
    }
}

/// An archive written into a staging directory.
pub(crate) struct StagedArchive {
    pub manifest: super::Manifest,
    /// Its files and their sizes, `manifest.json` last.
    pub files: Vec<(String, u64)>,
}

/// Where a job's archive is staged before it is uploaded.
pub(crate) fn staging_dir(work_dir: &Path, job: &str) -> PathBuf {
    work_dir.join("backup-staging").join(job)
}

impl Core {
    /// `backup.job.create`: checks the request and the location, then starts the job.
    pub async fn backup_job_create(
        &self,
        caller: &Caller,
        req: BackupRequest,
    ) -> Result<BackupJob, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        self.backup_start(&caller.user, req).await
    }

    /// Starts a backup for `initiator` without an authorization check (schedules call this).
    pub(crate) async fn backup_start(
        &self,
        initiator: &str,
        req: BackupRequest,
    ) -> Result<BackupJob, CoreError> {
        let parts = parse_parts(&req.parts)?;
        if let Some(pw) = &req.backup_password {
            if pw.expose().is_empty() {
                return Err(CoreError::invalid(
                    "backup_password",
                    "must not be empty (leave it unset for an unencrypted archive)",
                ));
            }
        }
        self.backup_target.check(&req.location).await?;
        refuse_if_archive_there(self.backup_target.as_ref(), &req.location).await?;
        let guard = self.recovery.claim("backup")?;
        let core = self.self_arc();
        let loc = req.location.clone();
        let task = self
            .tasks
            .submit(
                TaskSpec {
                    kind: TaskKind::ApplianceBackup,
                    target: None,
                    initiator: initiator.to_string(),
                    description: description(&loc, req.job_type),
                    cancelable: true,
                    timeout: None,
                },
                move |ctx| async move {
                    let _guard = guard;
                    core.run_backup(&ctx, req, parts).await
                },
            )
            .await?;
        info!(job = %task.id, location = %loc.url, "backup started");
        Ok(job_of(&task))
    }

    async fn run_backup(
        &self,
        ctx: &TaskContext,
        req: BackupRequest,
        parts: Vec<super::PartId>,
    ) -> Result<TaskResult, CoreError> {
        let staging = staging_dir(&self.config.recovery.work_dir, ctx.id());
        let result = self.backup_into(ctx, &req, &parts, &staging).await;
        crate::staging::remove_dir(&staging, "a backup's staging directory");
        result
    }

    /// Writes an archive of the store into `dir` from one snapshot, and lists its files with
    /// their sizes, `manifest.json` last. Stops as soon as the task is asked to (what was
    /// written is left for the caller, who owns `dir`, to remove). A backup then uploads the
    /// files; an upgrade's export keeps them for its target to download.
    pub(crate) async fn stage_archive(
        &self,
        ctx: &TaskContext,
        spec: &BackupSpec<'_>,
        dir: &Path,
    ) -> Result<StagedArchive, CoreError> {
        ctx.progress(5, "Reading the store").await;
        let m = ctx
            .or_stop(write_archive(
                self.store.as_ref(),
                &self.config.secret_key,
                dir,
                spec,
                self.clock.now(),
            ))
            .await??;
        let mut files: Vec<(String, u64)> =
            m.parts.iter().map(|p| (p.file.clone(), p.bytes)).collect();
        let manifest_len = std::fs::metadata(dir.join(manifest::MANIFEST_FILE))
            .map_err(|e| RecoveryError::Io {
                path: dir.to_path_buf(),
                source: e,
            })?
            .len();
        files.push((manifest::MANIFEST_FILE.to_string(), manifest_len));
        ctx.check()?;
        Ok(StagedArchive { manifest: m, files })
    }

    async fn backup_into(
        &self,
        ctx: &TaskContext,
        req: &BackupRequest,
        parts: &[super::PartId],
        staging: &Path,
    ) -> Result<TaskResult, CoreError> {
        let spec = BackupSpec {
            parts: parts.to_vec(),
            password: req.backup_password.as_ref().map(LocationSecret::expose),
            comment: req.comment.clone().unwrap_or_default(),
            system_name: self.config.recovery.system_name.clone(),
        };
        let StagedArchive { manifest: m, files } = self.stage_archive(ctx, &spec, staging).await?;
        let total: u64 = files.iter().map(|f| f.1).sum();
        let target = self.backup_target.clone();
        let mut sent = Vec::new();
        let uploaded = async {
            target.mkdirs(&req.location, "").await?;
            let mut done = 0u64;
            for (name, len) in &files {
                ctx.progress(
                    50 + u8::try_from(done * 49 / total.max(1)).unwrap_or(49),
                    format!("Sending {name}"),
                )
                .await;
                let mut f = tokio::fs::File::open(staging.join(name))
                    .await
                    .map_err(|e| RecoveryError::Io {
                        path: staging.join(name),
                        source: e,
                    })?;
                sent.push(name.clone());
                tokio::select! {
                    r = target.put(&req.location, name, &mut f, *len) => r?,
                    () = ctx.stopped() => ctx.check()?,
                }
                done += len;
                ctx.check()?;
            }
            Ok::<_, CoreError>(())
        }
        .await;
        if let Err(e) = uploaded {
            // The manifest goes last, so what was sent is no archive; removing it keeps the
            // location as it was.
            for name in sent.iter().rev() {
                if let Err(d) = target.delete(&req.location, name).await {
                    warn!(file = %name, error = %d, "could not remove a partial backup file");
                }
            }
            return Err(e);
        }
        ctx.progress(100, "Backup complete").await;
        Ok(TaskResult::Backup {
            backup: BackupOutcome {
                location: req.location.url.clone(),
                location_user: req.location.user.clone().unwrap_or_default(),
                job_type: req.job_type,
                parts: m.parts.iter().map(|p| p.id.clone()).collect(),
                size: total,
                encrypted: m.encryption.is_some(),
            },
        })
    }

    /// At start: staging left by a backup or restore the previous process did not finish
    /// (its task is failed by the task engine's recovery) is removed.
    pub fn clear_recovery_staging(&self) {
        for d in ["backup-staging", "restore-staging"] {
            let dir = self.config.recovery.work_dir.join(d);
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {
                    warn!(dir = %dir.display(), "removed the staging a stopped backup or restore left");
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    warn!(dir = %dir.display(), error = %e, "could not remove a stopped backup's staging");
                }
            }
        }
    }

    /// `backup.validate`: what `job.create` would check, without starting: the parts, the
    /// location (reachable, credentials, writable) and that it holds no archive already.
    pub async fn backup_validate(
        &self,
        caller: &Caller,
        req: &BackupRequest,
    ) -> Result<CheckResult, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let mut messages = Vec::new();
        if let Err(e) = parse_parts(&req.parts) {
            messages.push(e.to_string());
        }
        match self.backup_target.check(&req.location).await {
            Ok(()) => {
                if let Err(e) =
                    refuse_if_archive_there(self.backup_target.as_ref(), &req.location).await
                {
                    messages.push(e.to_string());
                }
            }
            Err(e) => messages.push(e.to_string()),
        }
        if let Some(busy) = self.recovery.busy() {
            return Ok(CheckResult {
                status: if messages.is_empty() {
                    CheckStatus::Warning
                } else {
                    CheckStatus::Fail
                },
                messages: [messages, vec![busy]].concat(),
            });
        }
        Ok(CheckResult {
            status: if messages.is_empty() {
                CheckStatus::Ok
            } else {
                CheckStatus::Fail
            },
            messages,
        })
    }

    /// `backup.job.get`.
    pub async fn backup_job_get(&self, caller: &Caller, id: &str) -> Result<BackupJob, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let t = self
            .tasks
            .get(id)
            .await
            .ok()
            .filter(|t| t.kind == TaskKind::ApplianceBackup)
            .ok_or_else(|| CoreError::not_found("backup job", id))?;
        Ok(job_of(&t))
    }

    /// `backup.job.list` and `job.details.list`: every backup job, newest first.
    pub async fn backup_job_list(&self, caller: &Caller) -> Result<Vec<BackupJob>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let tasks = self
            .tasks
            .list(&crate::ports::TaskFilter {
                kinds: vec![TaskKind::ApplianceBackup],
                ..Default::default()
            })
            .await?;
        Ok(tasks.iter().map(job_of).collect())
    }

    /// `backup.job.cancel`: asks a running job to stop; it removes what it uploaded. A job
    /// that already ended is not changed (`Fail` with the reason).
    pub async fn backup_job_cancel(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<CheckResult, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let job = self.backup_job_get(caller, id).await?;
        if job.state != JobState::InProgress {
            return Ok(CheckResult {
                status: CheckStatus::Fail,
                messages: vec![format!(
                    "backup job {id} is not running (it is {})",
                    job.state.as_str()
                )],
            });
        }
        match self.tasks.cancel(id, &caller.user).await {
            Ok(()) => Ok(CheckResult {
                status: CheckStatus::Ok,
                messages: vec![format!("backup job {id} is being cancelled")],
            }),
            Err(e) => Ok(CheckResult {
                status: CheckStatus::Fail,
                messages: vec![e.to_string()],
            }),
        }
    }
}

/// A job's view of its task.
fn job_of(t: &Task) -> BackupJob {
    let outcome = match &t.result {
        Some(TaskResult::Backup { backup }) => Some(backup),
        _ => None,
    };
    let state = match t.state {
        TaskState::Queued | TaskState::Running => JobState::InProgress,
        TaskState::Success => JobState::Succeeded,
        TaskState::Error => JobState::Failed,
    };
    let mut messages = Vec::new();
    if let Some(m) = &t.progress_message {
        if state == JobState::InProgress {
            messages.push(m.clone());
        }
    }
    if let Some(e) = &t.error {
        messages.push(e.to_string());
    }
    if state == JobState::Succeeded {
        messages.push("Backup job completed".into());
    }
    BackupJob {
        id: t.id.clone(),
        state,
        messages,
        progress: t.progress,
        start_time: t.started_at.unwrap_or(t.queued_at),
        end_time: t.completed_at,
        location: outcome.map_or_else(
            || from_description(&t.description).1.to_string(),
            |o| o.location.clone(),
        ),
        location_user: outcome.map(|o| o.location_user.clone()).unwrap_or_default(),
        job_type: outcome.map_or_else(|| from_description(&t.description).0, |o| o.job_type),
        size: outcome.map(|o| o.size),
        cancelable: t.cancelable && !t.state.is_finished(),
        cancelled: t.cancelled,
    }
}

/// A directory that already holds an archive is not written over (the seed asks for an empty
/// or new directory).
async fn refuse_if_archive_there(
    target: &dyn BackupTarget,
    location: &Location,
) -> Result<(), CoreError> {
    match target.list(location, "").await {
        Ok(entries) => {
            if entries
                .iter()
                .any(|e| !e.is_dir && e.name == manifest::MANIFEST_FILE)
            {
                return Err(CoreError::invalid(
                    "location",
                    format!(
                        "{} already holds a backup: choose a new or empty directory",
                        location.url
                    ),
                ));
            }
            Ok(())
        }
        Err(LocationError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
