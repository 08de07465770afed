//! The export a source makes for an upgrade's target (`com.ferrocenter.deployment.export`):
//! a job, so that no request stays open while a large store is written. `create` starts it
//! and answers at once; the target polls `get` until SUCCEEDED, downloads the files under the
//! export's token, then deletes it. The archive is written by a core task of its own kind
//! through the backup machinery (`Core::stage_archive`: one store snapshot, progress, cancel,
//! failed after a restart), holding the recovery claim while it writes so no backup or restore
//! runs meanwhile. An export nobody polls, downloads or deletes for `ExportConfig::idle` is
//! removed by the sweep, so a target that died leaves nothing behind on the source.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::auth::{Caller, Privilege};
use crate::ports::{ExportFile, LocationSecret};
use crate::recovery::backup_job::{staging_dir, StagedArchive};
use crate::recovery::{BackupSpec, PartId};
use crate::tasks::{with_task_id, Task, TaskContext, TaskKind, TaskResult, TaskSpec, TaskState};
use crate::ticker::Ticker;
use crate::{Core, CoreError};

/// How long exports are kept for a target that stopped asking.
#[derive(Debug, Clone)]
pub struct ExportConfig {
    /// An export not polled, downloaded or deleted for this long is cancelled if it still
    /// runs and removed with its files. A target polls every second or so while it waits and
    /// downloads right after, so only a target that died or lost the source stays away long.
    pub idle: Duration,
    /// How often the sweep looks for idle exports.
    pub sweep_every: Duration,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            idle: Duration::from_secs(10 * 60),
            sweep_every: Duration::from_secs(30),
        }
    }
}

/// Where an export stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportState {
    Running,
    Succeeded,
    Failed,
}

impl ExportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportState::Running => "RUNNING",
            ExportState::Succeeded => "SUCCEEDED",
            ExportState::Failed => "FAILED",
        }
    }
}

/// An export as `get` shows it.
#[derive(Debug, Clone)]
pub struct UpgradeExport {
    pub export: String,
    pub state: ExportState,
    /// Percent done.
    pub progress: u8,
    /// What it does while RUNNING.
    pub message: Option<String>,
    /// Once SUCCEEDED: its files, `manifest.json` last.
    pub files: Vec<ExportFile>,
    /// Once FAILED: why.
    pub error: Option<String>,
    /// When the sweep removes it unless it is polled, downloaded or deleted before.
    pub expires_at: OffsetDateTime,
}

/// What `create` answers: the export, and the token its files are downloaded under.
#[derive(Clone)]
pub struct ExportCreated {
    pub export: UpgradeExport,
    /// The download's credential: never logged.
    pub token: String,
}

impl std::fmt::Debug for ExportCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportCreated")
            .field("export", &self.export)
            .finish_non_exhaustive()
    }
}

/// An export while it is kept (in memory: the directory is under the backup staging, which
/// the next start clears, and its task is failed by the task engine's recovery).
pub(crate) struct ExportEntry {
    dir: PathBuf,
    token: String,
    /// Its last poll, download or creation.
    touched: OffsetDateTime,
    /// One clone per download being served: an export is not idle while a file streams.
    in_use: Arc<()>,
}

/// The shortest backup password an export takes: the target generates a long random one.
const MIN_EXPORT_PASSWORD: usize = 16;

/// An export's file, opened for download. It keeps the export from being swept until it is
/// dropped.
pub struct ExportDownload {
    pub file: ExportReader,
    pub size: u64,
}

/// An export's open file, which holds the export in use while it is read.
pub struct ExportReader {
    file: tokio::fs::File,
    _in_use: Arc<()>,
}

impl tokio::io::AsyncRead for ExportReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.file).poll_read(cx, buf)
    }
}

fn not_found(id: &str) -> CoreError {
    CoreError::not_found("export", id)
}

impl Core {
    /// `com.ferrocenter.deployment.export.create`: starts writing a backup archive of this
    /// server (`common`, with `seat` when `history`) into a directory of its own, encrypted
    /// under `password`, and answers at once with the export RUNNING and its download token.
    pub async fn upgrade_export_create(
        &self,
        caller: &Caller,
        password: &str,
        history: bool,
    ) -> Result<ExportCreated, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        if !self.is_configured() {
            return Err(CoreError::invalid_state(
                "only a set-up server can be an upgrade's source",
            ));
        }
        if password.chars().count() < MIN_EXPORT_PASSWORD {
            return Err(CoreError::invalid(
                "spec.password",
                format!("must be at least {MIN_EXPORT_PASSWORD} characters"),
            ));
        }
        let claim = self.recovery.claim("upgrade export")?;
        // The export is its task: its id is chosen first so that the entry is there before
        // the task can end.
        let id = crate::model::new_uuid();
        let dir = staging_dir(
            &self.config.recovery.work_dir,
            &format!("upgrade-export-{id}"),
        );
        let token = format!("{}{}", crate::model::new_uuid(), crate::model::new_uuid());
        self.deployment.upgrade.exports.lock().insert(
            id.clone(),
            ExportEntry {
                dir: dir.clone(),
                token: token.clone(),
                touched: self.clock.now(),
                in_use: Arc::new(()),
            },
        );
        let mut parts = vec![PartId::Common];
        if history {
            parts.push(PartId::Seat);
        }
        let password = LocationSecret::new(password);
        let core = self.self_arc();
        let submitted = with_task_id(
            id.clone(),
            self.tasks.submit(
                TaskSpec {
                    kind: TaskKind::DeploymentExport,
                    target: None,
                    initiator: caller.user.clone(),
                    description: "Export ferrocenter for an upgrade".into(),
                    cancelable: true,
                    timeout: None,
                },
                move |ctx| async move {
                    let _claim = claim;
                    core.write_export(&ctx, parts, &password, dir).await
                },
            ),
        )
        .await;
        let task = match submitted {
            Ok(t) => t,
            Err(e) => {
                self.deployment.upgrade.exports.lock().remove(&id);
                return Err(e);
            }
        };
        info!(export = %id, by = %caller.user, history, "exporting this server for an upgrade");
        let export = self.export_view(&id, &task).ok_or_else(|| not_found(&id))?;
        Ok(ExportCreated { export, token })
    }

    /// The export's task body: the archive, or nothing left in `dir`.
    async fn write_export(
        &self,
        ctx: &TaskContext,
        parts: Vec<PartId>,
        password: &LocationSecret,
        dir: PathBuf,
    ) -> Result<TaskResult, CoreError> {
        let spec = BackupSpec {
            parts,
            password: Some(password.expose()),
            comment: "export for an upgrade".into(),
            system_name: self.config.recovery.system_name.clone(),
        };
        #[cfg(feature = "test-support")]
        while self
            .deployment
            .upgrade
            .hold_exports
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            ctx.sleep(Duration::from_millis(20)).await?;
        }
        let written = self.stage_archive(ctx, &spec, &dir).await;
        // Deleted while it was written: delete waits for this task's end, then removes the
        // directory; removing it here too keeps a delete that gave up waiting from leaving it.
        let kept = self
            .deployment
            .upgrade
            .exports
            .lock()
            .contains_key(ctx.id());
        match written {
            Ok(StagedArchive { files, .. }) if kept => {
                ctx.progress(100, "Export complete").await;
                Ok(TaskResult::UpgradeExport {
                    export_files: files
                        .into_iter()
                        .map(|(name, bytes)| ExportFile { name, bytes })
                        .collect(),
                })
            }
            other => {
                crate::staging::remove_dir(&dir, "an upgrade export");
                match other {
                    Err(e) => Err(e),
                    Ok(_) => Err(CoreError::Cancelled {
                        message: "the export was deleted".into(),
                    }),
                }
            }
        }
    }

    /// While `hold`, exports started wait before writing (tests only).
    #[cfg(feature = "test-support")]
    pub fn hold_upgrade_exports(&self, hold: bool) {
        self.deployment
            .upgrade
            .hold_exports
            .store(hold, std::sync::atomic::Ordering::SeqCst);
    }

    /// The export as `get` shows it, from its entry and its task.
    fn export_view(&self, id: &str, t: &Task) -> Option<UpgradeExport> {
        let touched = self.deployment.upgrade.exports.lock().get(id)?.touched;
        let state = match t.state {
            TaskState::Queued | TaskState::Running => ExportState::Running,
            TaskState::Success => ExportState::Succeeded,
            TaskState::Error => ExportState::Failed,
        };
        let files = match (&t.result, state) {
            (Some(TaskResult::UpgradeExport { export_files }), ExportState::Succeeded) => {
                export_files.clone()
            }
            _ => Vec::new(),
        };
        Some(UpgradeExport {
            export: id.to_string(),
            state,
            progress: t.progress,
            message: (state == ExportState::Running)
                .then(|| t.progress_message.clone())
                .flatten(),
            files,
            error: t.error.as_ref().map(ToString::to_string),
            expires_at: touched + self.config.upgrade_export.idle,
        })
    }

    /// Marks an export as used now; `None` if there is no such export.
    fn touch_export(&self, id: &str) -> Option<()> {
        let now = self.clock.now();
        let mut exports = self.deployment.upgrade.exports.lock();
        exports.get_mut(id)?.touched = now;
        Some(())
    }

    /// `com.ferrocenter.deployment.export.get`: where the export stands — RUNNING with its
    /// progress, SUCCEEDED with its files and sizes, FAILED with the error. Each call keeps
    /// it from the sweep for another `ExportConfig::idle`.
    pub async fn upgrade_export_get(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<UpgradeExport, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        self.touch_export(id).ok_or_else(|| not_found(id))?;
        let task = self.tasks.get(id).await?;
        self.export_view(id, &task).ok_or_else(|| not_found(id))
    }

    /// Serves one file of a SUCCEEDED export to whoever holds its token (the download route).
    pub async fn upgrade_export_file(
        &self,
        token: &str,
        name: &str,
    ) -> Result<ExportDownload, CoreError> {
        let gone = || CoreError::not_found("export file", name);
        if token.is_empty() {
            return Err(gone());
        }
        let now = self.clock.now();
        let (id, dir, in_use) = {
            let mut exports = self.deployment.upgrade.exports.lock();
            let (id, e) = exports
                .iter_mut()
                .find(|(_, e)| e.token == token)
                .ok_or_else(gone)?;
            e.touched = now;
            (id.clone(), e.dir.clone(), e.in_use.clone())
        };
        let task = self.tasks.get(&id).await.map_err(|_| gone())?;
        let listed = matches!(
            (&task.state, &task.result),
            (TaskState::Success, Some(TaskResult::UpgradeExport { export_files }))
                if export_files.iter().any(|f| f.name == name)
        );
        if !listed {
            return Err(gone());
        }
        let file = tokio::fs::File::open(dir.join(name))
            .await
            .map_err(|_| gone())?;
        let size = file.metadata().await.map_err(|_| gone())?.len();
        Ok(ExportDownload {
            file: ExportReader {
                file,
                _in_use: in_use,
            },
            size,
        })
    }

    /// `com.ferrocenter.deployment.export.delete`: removes an export in any state — a
    /// running one is cancelled first — and its files, which are gone once this returns.
    pub async fn upgrade_export_delete(&self, caller: &Caller, id: &str) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let e = self
            .deployment
            .upgrade
            .exports
            .lock()
            .remove(id)
            .ok_or_else(|| not_found(id))?;
        self.drop_export(id, e, &caller.user).await;
        info!(export = %id, "upgrade export removed");
        Ok(())
    }

    /// Ends an export taken out of the entries: its task stopped, then its directory removed.
    async fn drop_export(&self, id: &str, e: ExportEntry, by: &str) {
        if let Ok(t) = self.tasks.get(id).await {
            if !t.state.is_finished() {
                // Already ending if this fails (it finished meanwhile): the wait below holds.
                let _ = self.tasks.cancel(id, by).await;
                // The engine drops a body that does not stop within its unwind grace, so the
                // wait is bounded; the body removes the directory itself besides.
                let _ = self.tasks.wait(id).await;
            }
        }
        crate::staging::remove_dir(&e.dir, "an upgrade export");
    }

    /// Removes the exports idle for longer than `ExportConfig::idle` (a file being downloaded
    /// keeps its export); returns how many.
    pub async fn upgrade_export_sweep(&self) -> usize {
        let cutoff = self.clock.now() - self.config.upgrade_export.idle;
        let idle: Vec<(String, ExportEntry)> = {
            let mut exports = self.deployment.upgrade.exports.lock();
            let ids: Vec<String> = exports
                .iter()
                .filter(|(_, e)| e.touched <= cutoff && Arc::strong_count(&e.in_use) == 1)
                .map(|(id, _)| id.clone())
                .collect();
            ids.into_iter()
                .filter_map(|id| exports.remove(&id).map(|e| (id, e)))
                .collect()
        };
        let n = idle.len();
        for (id, e) in idle {
            self.drop_export(&id, e, "the export sweep").await;
            warn!(export = %id, idle_secs = self.config.upgrade_export.idle.as_secs(),
                "removed an upgrade export nobody asked for (its target stopped polling)");
        }
        n
    }

    /// Runs the export sweep every `ExportConfig::sweep_every` until `stop`.
    pub fn start_upgrade_export_sweeper(&self, stop: CancellationToken) {
        let core = self.self_arc();
        let every = self.config.upgrade_export.sweep_every;
        tokio::spawn(async move {
            let mut ticker = Ticker::new(every, stop);
            while ticker.next().await {
                core.upgrade_export_sweep().await;
            }
        });
    }
}
