//! Restore (`recovery.restore`): into a freshly started instance, through the appliance
//! listener with a local account, as the seed describes (SSO is not up on a fresh instance).
//! The archive is fetched from its location into a staging directory, checked (manifest,
//! password, every part's checksum, schema version), and imported in one store transaction: a
//! failure at any step leaves the store as it was. Then the server restarts (the same process
//! runs its binary again) so that every service starts from the restored store; clients see
//! errors until it is back, as the seed says, and then read the job's final state, which is
//! kept in `restore-job.json` in the work directory because the store it would live in is the
//! one being replaced. After the restart the reconciliation job runs by itself.
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::archives::read_manifest;
use super::backup_job::{CheckStatus, JobState};
use super::{check_restorable, manifest, open_archive, restore_archive, Manifest, PartId};
use crate::auth::{Caller, Privilege};
use crate::inventory::HostFilter;
use crate::ports::{BackupTarget, Location, LocationSecret, ProcessAction};
use crate::{Core, CoreError};

pub const RECORD_FILE: &str = "restore-job.json";

/// `restore.job.restore_request` (and `restore.restore_request` for validate).
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    pub backup_password: Option<LocationSecret>,
    /// The archive's directory.
    pub location: Location,
    /// Ignore warnings that would stop the restore (none are raised today besides those
    /// `validate` reports).
    pub ignore_warnings: bool,
}

/// `restore.metadata`.
#[derive(Debug, Clone)]
pub struct RestoreMetadata {
    pub timestamp: OffsetDateTime,
    pub parts: Vec<String>,
    pub version: String,
    pub boxname: String,
    pub comment: String,
    pub applicable: bool,
    pub messages: Vec<String>,
}

/// `restore.job.restore_job_status`, and what `restore-job.json` keeps of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RestoreStatus {
    pub state: String,
    pub messages: Vec<String>,
    pub progress: u8,
    pub parts: Vec<String>,
    /// The restored server's instance uuid, until the data directory records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_pending: Option<String>,
    /// The reconciliation still has to run after the restart.
    #[serde(default)]
    pub reconcile_pending: bool,
}

impl RestoreStatus {
    fn none() -> RestoreStatus {
        RestoreStatus {
            state: JobState::None.as_str().into(),
            messages: Vec::new(),
            progress: 0,
            parts: Vec::new(),
            identity_pending: None,
            reconcile_pending: false,
        }
    }
}

#[derive(Default)]
pub(crate) struct RestoreState {
    status: Mutex<Option<RestoreStatus>>,
    /// The running restore, cancelable until the import starts.
    cancel: Mutex<Option<CancellationToken>>,
}

fn record_path(work_dir: &Path) -> PathBuf {
    work_dir.join(RECORD_FILE)
}

/// The last restore's record in `work_dir`, if any.
pub fn read_record(work_dir: &Path) -> Option<RestoreStatus> {
    let text = std::fs::read(record_path(work_dir)).ok()?;
    serde_json::from_slice(&text).ok()
}

fn write_record(work_dir: &Path, s: &RestoreStatus) {
    let path = record_path(work_dir);
    let tmp = work_dir.join(format!("{RECORD_FILE}.partial"));
    let written = serde_json::to_vec_pretty(s)
        .map_err(std::io::Error::other)
        .and_then(|text| std::fs::write(&tmp, text))
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = written {
        error!(file = %path.display(), error = %e, "could not record the restore's state");
    }
}

/// The instance uuid a restore left for the data directory to record; the server calls this
/// before it checks its store against the data directory's record, then
/// [`identity_recorded`].
pub fn pending_identity(work_dir: &Path) -> Option<String> {
    read_record(work_dir)?.identity_pending
}

pub fn identity_recorded(work_dir: &Path) {
    if let Some(mut r) = read_record(work_dir) {
        r.identity_pending = None;
        write_record(work_dir, &r);
    }
}

/// Fetches the archive at `location` into `dir`: the manifest, then each part it names.
pub(crate) async fn fetch_archive(
    target: &dyn BackupTarget,
    location: &Location,
    dir: &Path,
) -> Result<Manifest, CoreError> {
    let m = read_manifest(target, location, "").await?;
    let io = |path: &Path, e: std::io::Error| {
        CoreError::internal(format!(
            "cannot stage the archive in {}: {e}",
            path.display()
        ))
    };
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| io(dir, e))?;
    for p in &m.parts {
        if p.file.contains('/') || p.file.starts_with('.') {
            return Err(CoreError::invalid(
                "location",
                format!(
                    "the manifest names a part file '{}' outside the archive",
                    p.file
                ),
            ));
        }
        let path = dir.join(&p.file);
        let mut f = tokio::fs::File::create(&path)
            .await
            .map_err(|e| io(&path, e))?;
        target
            .get(location, &p.file, &mut f)
            .await
            .map_err(|e| match e {
                crate::ports::LocationError::NotFound { .. } => CoreError::invalid(
                    "location",
                    format!(
                        "the archive at {} has no file {} for its part '{}': it is incomplete",
                        location.url, p.file, p.id
                    ),
                ),
                e => e.into(),
            })?;
        tokio::io::AsyncWriteExt::flush(&mut f)
            .await
            .map_err(|e| io(&path, e))?;
    }
    let text = serde_json::to_vec_pretty(&m).map_err(|e| CoreError::internal(e.to_string()))?;
    // The manifest as read, beside the parts: open_archive checks them against it.
    let mpath = dir.join(manifest::MANIFEST_FILE);
    tokio::fs::write(&mpath, text)
        .await
        .map_err(|e| io(&mpath, e))?;
    Ok(m)
}

impl Core {
    /// `restore.validate`: fetches and checks the archive without touching the store.
    pub async fn restore_validate(
        &self,
        caller: &Caller,
        req: &RestoreRequest,
    ) -> Result<RestoreMetadata, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let staging = self
            .config
            .recovery
            .work_dir
            .join("restore-staging")
            .join(crate::model::new_uuid());
        let r = self.validate_into(req, &staging).await;
        let _ = std::fs::remove_dir_all(&staging);
        r
    }

    async fn validate_into(
        &self,
        req: &RestoreRequest,
        staging: &Path,
    ) -> Result<RestoreMetadata, CoreError> {
        let m = fetch_archive(self.backup_target.as_ref(), &req.location, staging).await?;
        let mut messages = Vec::new();
        let password = req.backup_password.as_ref().map(LocationSecret::expose);
        let opened = open_archive(staging, password).map_err(CoreError::from)?;
        if let Err(e) =
            check_restorable(self.store.as_ref(), &self.config.secret_key, &opened).await
        {
            messages.push(e.to_string());
        }
        if let Err(e) = self.refuse_unless_fresh().await {
            messages.push(e.to_string());
        }
        Ok(RestoreMetadata {
            timestamp: OffsetDateTime::parse(&m.created_at, &Rfc3339)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            parts: m.parts.iter().map(|p| p.id.clone()).collect(),
            version: m.version,
            boxname: m.system_name,
            comment: m.comment,
            applicable: messages.is_empty(),
            messages,
        })
    }

    /// A restore replaces everything: it goes into a freshly started instance, one that
    /// manages no hosts yet.
    async fn refuse_unless_fresh(&self) -> Result<(), CoreError> {
        let hosts = self
            .store
            .list_hosts(&HostFilter {
                limit: Some(1),
                ..HostFilter::default()
            })
            .await?;
        if !hosts.is_empty() {
            return Err(CoreError::invalid_state(
                "a restore goes into a freshly started ferrocenter: this one already manages \
                 hosts",
            ));
        }
        Ok(())
    }

    /// `restore.job.create`: checks what can be checked at once, then restores in the
    /// background; `restore.job.get` follows it.
    pub async fn restore_job_create(
        &self,
        caller: &Caller,
        req: RestoreRequest,
    ) -> Result<RestoreStatus, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        self.refuse_unless_fresh().await?;
        // A location without an archive is said at once, not in the job's end state.
        read_manifest(self.backup_target.as_ref(), &req.location, "").await?;
        let guard = self.recovery.claim("restore")?;
        let token = CancellationToken::new();
        *self.recovery.restore.cancel.lock() = Some(token.clone());
        let status = RestoreStatus {
            state: JobState::InProgress.as_str().into(),
            messages: vec!["Fetching the archive".into()],
            progress: 0,
            ..RestoreStatus::none()
        };
        self.set_restore(status.clone());
        let core = self.self_arc();
        let initiator = caller.user.clone();
        tokio::spawn(async move {
            let _guard = guard;
            let staging = core
                .config
                .recovery
                .work_dir
                .join("restore-staging")
                .join(crate::model::new_uuid());
            let r = tokio::select! {
                r = core.restore_from(&req, &staging, &token) => r,
                () = token.cancelled() => Err(CoreError::Cancelled {
                    message: "the restore was cancelled before the store was touched".into(),
                }),
            };
            let _ = std::fs::remove_dir_all(&staging);
            *core.recovery.restore.cancel.lock() = None;
            match r {
                Ok(parts) => {
                    info!(by = %initiator, location = %req.location.url, "restore complete; restarting");
                    core.finish_restore(parts).await;
                }
                Err(e) => {
                    warn!(location = %req.location.url, error = %e, "restore failed; the store is unchanged");
                    core.set_restore(RestoreStatus {
                        state: JobState::Failed.as_str().into(),
                        messages: vec![e.to_string()],
                        progress: 100,
                        ..RestoreStatus::none()
                    });
                }
            }
        });
        Ok(status)
    }

    async fn restore_from(
        &self,
        req: &RestoreRequest,
        staging: &Path,
        token: &CancellationToken,
    ) -> Result<Vec<String>, CoreError> {
        fetch_archive(self.backup_target.as_ref(), &req.location, staging).await?;
        self.restore_progress(40, "Checking the archive");
        let password = req.backup_password.as_ref().map(LocationSecret::expose);
        let opened = open_archive(staging, password)?;
        check_restorable(self.store.as_ref(), &self.config.secret_key, &opened).await?;
        let parts: Vec<String> = opened.manifest.parts.iter().map(|p| p.id.clone()).collect();
        // From here the import runs to its end: one transaction, all or nothing.
        if token.is_cancelled() {
            return Err(CoreError::Cancelled {
                message: "the restore was cancelled before the store was touched".into(),
            });
        }
        *self.recovery.restore.cancel.lock() = None;
        self.restore_progress(50, "Replacing the store's content");
        restore_archive(
            self.store.as_ref(),
            &self.config.secret_key,
            &opened,
            None::<&[PartId]>,
        )
        .await?;
        Ok(parts)
    }

    async fn finish_restore(&self, parts: Vec<String>) {
        let uuid = self
            .store
            .get_setting(crate::SERVER_UUID_KEY)
            .await
            .ok()
            .flatten();
        self.set_restore(RestoreStatus {
            state: JobState::Succeeded.as_str().into(),
            messages: vec![
                "The store was restored; ferrocenter restarts its services from it".into(),
            ],
            progress: 100,
            parts,
            identity_pending: uuid,
            reconcile_pending: true,
        });
        if let Err(e) = self.machine.lifecycle.process(ProcessAction::Restart).await {
            error!(error = %e, "the restored server could not restart itself; restart it by hand");
        }
    }

    fn restore_progress(&self, progress: u8, message: &str) {
        let mut s = self.restore_status();
        s.progress = progress;
        s.messages = vec![message.to_string()];
        self.set_restore(s);
    }

    fn set_restore(&self, s: RestoreStatus) {
        write_record(&self.config.recovery.work_dir, &s);
        *self.recovery.restore.status.lock() = Some(s);
    }

    fn restore_status(&self) -> RestoreStatus {
        if let Some(s) = self.recovery.restore.status.lock().clone() {
            return s;
        }
        read_record(&self.config.recovery.work_dir).unwrap_or_else(RestoreStatus::none)
    }

    /// `restore.job.get`: the running or last restore (NONE when there was none).
    pub async fn restore_job_get(&self, caller: &Caller) -> Result<RestoreStatus, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(self.restore_status())
    }

    /// `restore.job.cancel`: stops a restore that has not started replacing the store.
    pub async fn restore_job_cancel(
        &self,
        caller: &Caller,
    ) -> Result<super::backup_job::CheckResult, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let token = self.recovery.restore.cancel.lock().clone();
        Ok(match token {
            Some(t) => {
                t.cancel();
                super::backup_job::CheckResult {
                    status: CheckStatus::Ok,
                    messages: vec!["The restore is being cancelled".into()],
                }
            }
            None => super::backup_job::CheckResult {
                status: CheckStatus::Fail,
                messages: vec![
                    "no restore can be cancelled: none is running, or it is already replacing \
                     the store"
                        .into(),
                ],
            },
        })
    }

    /// At start: after a restore, the reconciliation runs once by itself.
    pub async fn resume_after_restore(&self) {
        let work = &self.config.recovery.work_dir;
        let Some(mut r) = read_record(work) else {
            return;
        };
        if !r.reconcile_pending {
            return;
        }
        r.reconcile_pending = false;
        write_record(work, &r);
        if let Err(e) = self.reconciliation_start("restore", false).await {
            warn!(error = %e, "the reconciliation after the restore did not start");
        }
    }
}
