//! Staging an update (`pending.stage`): a task that downloads the package of an update the
//! last check found into `<staging dir>/<version>/`, checks it against the signed manifest,
//! unpacks it and checks the new binary is there and executable. One stage at a time; a stage
//! that fails or is cancelled leaves no file behind. Also `staged.delete` and `cancel`.
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::state::{Found, StagedRecord};
use super::{fetch_package, unpack, UpdateError, MAX_PACKAGE_SIZE};
use crate::auth::{Caller, Privilege};
use crate::tasks::{Task, TaskContext, TaskKind, TaskResult, TaskSpec};
use crate::{Core, CoreError};

/// Where a staged update's content is unpacked, inside its directory.
pub const CONTENT_DIR: &str = "content";
/// The binary a package must hold.
pub const BINARY: &str = "ferrocenter";
/// The event a finished stage records.
pub const STAGED_EVENT: &str = "com.ferrocenter.appliance.update.staged";

impl Core {
    /// `pending.stage`: starts the stage task of `version`, one of the last check's updates.
    pub async fn update_pending_stage(
        &self,
        caller: &Caller,
        version: &str,
        component: Option<&str>,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        super::service::refuse_component(component)?;
        let found = self.pending_update(version).await?;
        self.start_update_stage(found, version, &caller.user).await
    }

    pub(crate) async fn start_update_stage(
        &self,
        found: Found,
        version: &str,
        user: &str,
    ) -> Result<Task, CoreError> {
        {
            if self.update.installing.lock().is_some() {
                return Err(CoreError::invalid_state(
                    "an install or rollback is in progress",
                ));
            }
            let mut running = self.update.staging.lock();
            if let Some(id) = running.as_ref() {
                return Err(CoreError::invalid_state(format!(
                    "a stage is in progress (task {id})"
                )));
            }
            *running = Some(String::new());
        }
        let started = self.submit_update_stage(found, version, user).await;
        match &started {
            Ok(t) => *self.update.staging.lock() = Some(t.id.clone()),
            Err(_) => *self.update.staging.lock() = None,
        }
        started
    }

    async fn submit_update_stage(
        &self,
        found: Found,
        version: &str,
        user: &str,
    ) -> Result<Task, CoreError> {
        self.refuse_without_space(&found).await?;
        let record = self.prepare_stage(found, version).await?;
        let core = self.self_arc();
        let who = user.to_string();
        let task = self
            .tasks
            .submit(
                TaskSpec {
                    kind: TaskKind::ApplianceUpdateStage,
                    target: None,
                    initiator: user.to_string(),
                    description: format!("Stage the update {version}"),
                    cancelable: true,
                    timeout: None,
                },
                move |ctx| async move {
                    // Cleared however the body ends, even dropped past the unwind grace.
                    let _running = StagingGuard(core.clone());
                    core.run_update_stage(&ctx, record, &who).await
                },
            )
            .await?;
        tracing::info!(task = %task.id, version, "update stage started");
        Ok(task)
    }

    /// A stage that would fill the disk does not start (an unknown free space does not stop it:
    /// the download is bounded by the signed size anyway).
    async fn refuse_without_space(&self, found: &Found) -> Result<(), CoreError> {
        match self.staging_space(&found.manifest()?).await {
            Ok(Some(short)) => Err(CoreError::invalid_state(short)),
            Ok(None) => Ok(()),
            Err(unknown) => {
                tracing::warn!("{unknown}; staging anyway");
                Ok(())
            }
        }
    }

    /// Replaces what was staged before with the record of a stage of `version` beginning.
    async fn prepare_stage(&self, found: Found, version: &str) -> Result<StagedRecord, CoreError> {
        let previous = self.read_update_record().await?.staged;
        if let Some(s) = &previous {
            if s.version == version && s.complete {
                return Err(CoreError::AlreadyExists {
                    what: "staged update".into(),
                    name: version.to_string(),
                });
            }
            // Another version staged before is replaced.
            remove_dir(&s.dir).await;
        }
        let dir = self.config.update.staging_dir.join(version);
        let record = StagedRecord {
            found,
            version: version.to_string(),
            dir,
            complete: false,
        };
        self.change_update_record(|r| {
            r.staged = None;
            r.failure = None;
        })
        .await?;
        Ok(record)
    }

    /// The stage of `stage_and_install`, inside its task: what is staged already is used.
    pub(crate) async fn stage_within(
        &self,
        ctx: &TaskContext,
        found: Found,
        version: &str,
        user: &str,
    ) -> Result<StagedRecord, CoreError> {
        if let Some(s) = self
            .read_update_record()
            .await?
            .staged
            .filter(|s| s.complete && s.version == version)
        {
            return Ok(s);
        }
        self.refuse_without_space(&found).await?;
        let record = self.prepare_stage(found, version).await?;
        *self.update.staging.lock() = Some(ctx.id().to_string());
        let _running = StagingGuard(self.self_arc());
        self.run_update_stage(ctx, record.clone(), user).await?;
        Ok(StagedRecord {
            complete: true,
            ..record
        })
    }

    async fn run_update_stage(
        &self,
        ctx: &TaskContext,
        record: StagedRecord,
        user: &str,
    ) -> Result<TaskResult, CoreError> {
        let version = record.version.clone();
        let dir = record.dir.clone();
        let mut in_progress = record.clone();
        in_progress.complete = false;
        let id = ctx.id().to_string();
        let staged = match self
            .change_update_record(move |r| {
                r.task = Some(id);
                r.staged = Some(in_progress);
            })
            .await
        {
            Ok(()) => self.stage_into(ctx, &record.found, &dir).await,
            Err(e) => Err(e),
        };
        let outcome = match staged {
            Ok(()) => {
                let mut done = record;
                done.complete = true;
                self.change_update_record(move |r| r.staged = Some(done))
                    .await
            }
            Err(e) => Err(e),
        };
        let (message, result) = match outcome {
            Ok(()) => {
                ctx.progress(100, "Staged").await;
                (
                    format!(
                        "Update {version} staged in {}",
                        record_dir(&self.config.update.staging_dir, &version)
                    ),
                    Ok(TaskResult::UpdateStaged {
                        staged_version: version.clone(),
                    }),
                )
            }
            Err(e) => {
                remove_dir(&self.config.update.staging_dir.join(&version)).await;
                let reason = e.to_string();
                let _ = self
                    .change_update_record(move |r| {
                        r.staged = None;
                        r.failure = Some(reason);
                    })
                    .await;
                (format!("Update {version} not staged: {e}"), Err(e))
            }
        };
        tracing::info!(task = %ctx.id(), "{message}");
        self.record_event(
            STAGED_EVENT,
            "appliance",
            "update",
            "update",
            user,
            message,
            serde_json::json!({"version": version, "staged": result.is_ok()}),
        )
        .await;
        result
    }

    async fn stage_into(
        &self,
        ctx: &TaskContext,
        found: &Found,
        dir: &Path,
    ) -> Result<(), CoreError> {
        remove_dir(dir).await;
        let manifest = found.manifest()?;
        let location = self.update_location(&found.at).await?;
        let written = Arc::new(AtomicU64::new(0));
        let seen = written.clone();
        let progress = move |n: u64| seen.store(n, Ordering::Relaxed);
        let total = manifest.package.size.max(1);
        ctx.progress(0, "Downloading the package").await;
        let download = fetch_package(
            self.update_sources.as_ref(),
            &location,
            &manifest,
            dir,
            &progress,
        );
        tokio::pin!(download);
        let package = loop {
            tokio::select! {
                r = &mut download => break r?,
                _ = ctx.stopped() => return Err(ctx.check().err().unwrap_or_else(|| CoreError::Cancelled { message: "stopped".into() })),
                _ = tokio::time::sleep(Duration::from_millis(250)) => {
                    let n = written.load(Ordering::Relaxed);
                    let pct = (n.min(total) * 90 / total) as u8;
                    ctx.progress(pct, format!("Downloaded {n} of {total} bytes")).await;
                }
            }
        };
        ctx.check()?;
        ctx.progress(90, "Unpacking the package").await;
        let content = dir.join(CONTENT_DIR);
        let target = content.clone();
        tokio::task::spawn_blocking(move || unpack(&package, &target, MAX_PACKAGE_SIZE))
            .await
            .map_err(|e| CoreError::internal(format!("unpacking stopped: {e}")))??;
        ctx.check()?;
        let binary = content.join(BINARY);
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            tokio::fs::metadata(&binary)
                .await
                .map(|m| m.is_file().then_some(m.permissions().mode()))
                .ok()
                .flatten()
        };
        if mode.is_none_or(|m| m & 0o111 == 0) {
            return Err(UpdateError::Package {
                file: manifest.package.file.clone(),
                reason: format!("it holds no executable {BINARY}"),
            }
            .into());
        }
        Ok(())
    }

    /// `staged.delete`: removes the staged update's files and record.
    pub async fn update_staged_delete(&self, caller: &Caller) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        if let Some(id) = self.update.staging.lock().as_ref() {
            return Err(CoreError::invalid_state(format!(
                "a stage is in progress (task {id}): cancel it instead"
            )));
        }
        let staged = self.change_update_record(|r| r.staged.take()).await?;
        if let Some(s) = staged {
            remove_dir(&s.dir).await;
            tracing::info!(user = %caller.user, version = %s.version, "staged update deleted");
        }
        Ok(())
    }

    /// `appliance.update.cancel`: stops the stage in progress and returns once its files are
    /// removed.
    pub async fn update_cancel(&self, caller: &Caller) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let id = self
            .update
            .staging
            .lock()
            .clone()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| CoreError::invalid_state("no stage is in progress"))?;
        self.tasks.cancel(&id, &caller.user).await?;
        self.tasks.wait(&id).await?;
        Ok(())
    }
}

/// Marks the stage as no longer running when dropped.
struct StagingGuard(Arc<Core>);

impl Drop for StagingGuard {
    fn drop(&mut self) {
        *self.0.update.staging.lock() = None;
    }
}

fn record_dir(staging: &Path, version: &str) -> String {
    staging.join(version).display().to_string()
}

pub(crate) async fn remove_dir(dir: &Path) {
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %dir.display(), error = %e, "a staging directory could not be removed");
        }
    }
}
