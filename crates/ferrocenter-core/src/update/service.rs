//! The update service (`appliance.update`, `.pending`, `.staged`): checking the sources for
//! updates, showing them, checking one and its answers before install (install.rs installs).
use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::install::{Installing, SKIP_BACKUP, VMDIR_PASSWORD};
use super::policy::check_repository_url;
use super::state::{Found, FoundAt};
use super::{check_source, Manifest, UpdateSummary};
use crate::auth::{Caller, Privilege};
use crate::deployment::{notification, Notifications};
use crate::ports::{LocationSecret, UpdateLocation};
use crate::tasks::Task;
use crate::{Core, CoreError};

/// The version this server runs.
pub const RUNNING_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The event a check records.
pub const CHECKED_EVENT: &str = "com.ferrocenter.appliance.update.checked";

/// `pending.source_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceType {
    LastCheck,
    Local,
    LocalAndOnline,
}

impl SourceType {
    /// The SDK's names, and `DEFAULT`, which the management guide's curl line sends
    /// (`?source_type=DEFAULT`), as LOCAL_AND_ONLINE.
    pub fn parse(s: &str) -> Result<SourceType, CoreError> {
        match s {
            "LAST_CHECK" => Ok(SourceType::LastCheck),
            "LOCAL" => Ok(SourceType::Local),
            "LOCAL_AND_ONLINE" | "DEFAULT" => Ok(SourceType::LocalAndOnline),
            other => Err(CoreError::invalid(
                "source_type",
                format!("{other:?} is not LAST_CHECK, LOCAL, LOCAL_AND_ONLINE or DEFAULT"),
            )),
        }
    }
}

/// `update.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateServiceState {
    UpToDate,
    UpdatesPending,
    StageInProgress,
    InstallInProgress,
    InstallFailed,
    RollbackInProgress,
}

impl UpdateServiceState {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateServiceState::UpToDate => "UP_TO_DATE",
            UpdateServiceState::UpdatesPending => "UPDATES_PENDING",
            UpdateServiceState::StageInProgress => "STAGE_IN_PROGRESS",
            UpdateServiceState::InstallInProgress => "INSTALL_IN_PROGRESS",
            UpdateServiceState::InstallFailed => "INSTALL_FAILED",
            UpdateServiceState::RollbackInProgress => "ROLLBACK_IN_PROGRESS",
        }
    }
}

/// `update.info`.
#[derive(Debug, Clone)]
pub struct UpdateInfo {
    pub state: UpdateServiceState,
    /// The running or last stage task.
    pub task: Option<Task>,
    pub version: String,
    pub latest_query_time: Option<OffsetDateTime>,
}

/// One of the server's services an install stops (`update.service_info`).
#[derive(Debug, Clone)]
pub struct StoppedService {
    pub service: String,
    pub description: String,
}

/// `pending.info`: the update's signed manifest, and what installing it means here.
#[derive(Debug, Clone)]
pub struct PendingInfo {
    pub manifest: Manifest,
    pub staged: bool,
    pub services_will_be_stopped: Vec<StoppedService>,
}

/// `pending.precheck_result`.
#[derive(Debug, Clone)]
pub struct PrecheckResult {
    pub check_time: OffsetDateTime,
    pub reboot_required: bool,
    pub issues: Notifications,
    /// What `validate`, `install` and `stage_and_install` take in `user_data`.
    pub questions: Vec<UpdateQuestion>,
}

/// `pending.question`.
#[derive(Debug, Clone)]
pub struct UpdateQuestion {
    pub data_item: &'static str,
    pub text: &'static str,
    pub description: &'static str,
    pub kind: QuestionKind,
}

/// `pending.question.input_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionKind {
    Boolean,
    Password,
}

impl QuestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Boolean => "BOOLEAN",
            QuestionKind::Password => "PASSWORD",
        }
    }
}

/// `staged.info`.
#[derive(Debug, Clone)]
pub struct StagedInfo {
    pub staging_complete: bool,
    pub summary: UpdateSummary,
}

impl Core {
    /// `appliance.update.get`.
    pub async fn update_get(&self, caller: &Caller) -> Result<UpdateInfo, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let r = self.read_update_record().await?;
        let running = self.update.staging.lock().clone();
        // The stage running is shown from its start, before its body records its id.
        let id = running
            .clone()
            .filter(|id| !id.is_empty())
            .or(r.task.clone());
        let task = match &id {
            Some(id) => self.tasks.get(id).await.ok(),
            None => None,
        };
        let installing = *self.update.installing.lock();
        let state = if installing == Some(Installing::Rollback) {
            UpdateServiceState::RollbackInProgress
        } else if installing.is_some() {
            UpdateServiceState::InstallInProgress
        } else if running.is_some() {
            UpdateServiceState::StageInProgress
        } else if r.install_failure.is_some() {
            UpdateServiceState::InstallFailed
        } else if r.last_check.is_empty() && r.staged.is_none() {
            UpdateServiceState::UpToDate
        } else {
            UpdateServiceState::UpdatesPending
        };
        Ok(UpdateInfo {
            state,
            task,
            version: release_of(&r),
            latest_query_time: r.latest_query_time,
        })
    }

    /// `pending.list`: the updates of the last check, or of a check of the sources now.
    pub async fn update_pending_list(
        &self,
        caller: &Caller,
        source_type: SourceType,
        url: Option<&str>,
    ) -> Result<Vec<UpdateSummary>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let found = match source_type {
            SourceType::LastCheck => self.read_update_record().await?.last_check,
            SourceType::Local => {
                let path = self.config.update.local_source.clone().ok_or_else(|| {
                    CoreError::invalid(
                        "source_type",
                        "LOCAL: no local update source is configured (update_local_source)",
                    )
                })?;
                self.check_update_sources(vec![FoundAt::Local { path }], &caller.user)
                    .await?
            }
            SourceType::LocalAndOnline => {
                let mut at = Vec::new();
                if let Some(path) = self.config.update.local_source.clone() {
                    at.push(FoundAt::Local { path });
                }
                at.extend(self.online_source(url).await?);
                if at.is_empty() {
                    return Err(CoreError::invalid(
                        "url",
                        "no repository to check: give url, set the policy's custom_URL or \
                         the server's update_default_url, or configure update_local_source",
                    ));
                }
                self.check_update_sources(at, &caller.user).await?
            }
        };
        found.iter().map(|f| Ok(f.manifest()?.summary())).collect()
    }

    /// The online repository: `url`, else the policy's, else the server's default.
    pub(crate) async fn online_source(
        &self,
        url: Option<&str>,
    ) -> Result<Option<FoundAt>, CoreError> {
        if let Some(u) = url.map(str::trim).filter(|u| !u.is_empty()) {
            check_repository_url("url", u)?;
            return Ok(Some(FoundAt::Url {
                url: u.to_string(),
                policy_login: false,
                certificate_check: true,
            }));
        }
        let policy = self.read_update_policy().await?;
        if let Some(u) = policy.custom_url {
            return Ok(Some(FoundAt::Url {
                url: u,
                policy_login: policy.username.is_some(),
                certificate_check: policy.certificate_check,
            }));
        }
        let d = &self.config.update.default_url;
        Ok((!d.is_empty()).then(|| FoundAt::Url {
            url: d.clone(),
            policy_login: false,
            certificate_check: true,
        }))
    }

    /// The location to read `at` from, with the policy's login when it applies.
    pub(crate) async fn update_location(&self, at: &FoundAt) -> Result<UpdateLocation, CoreError> {
        Ok(match at {
            FoundAt::Local { path } => UpdateLocation::Local(path.clone()),
            FoundAt::Url {
                url,
                policy_login,
                certificate_check,
            } => {
                let mut login = None;
                if *policy_login {
                    let p = self.read_update_policy().await?;
                    // Only to the repository the login was given for.
                    if p.custom_url.as_deref() == Some(url.as_str()) {
                        if let Some(user) = p.username {
                            let pw = match &p.password {
                                Some(sealed) => self.secrets.open(sealed)?,
                                None => String::new(),
                            };
                            login = Some((user, LocationSecret::new(pw)));
                        }
                    }
                }
                UpdateLocation::Url {
                    url: url.clone(),
                    login,
                    certificate_check: *certificate_check,
                }
            }
        })
    }

    /// Checks each source, keeps what they offer (the first source's copy of a version) as
    /// the last check, and records the check.
    pub(crate) async fn check_update_sources(
        &self,
        sources: Vec<FoundAt>,
        user: &str,
    ) -> Result<Vec<Found>, CoreError> {
        let running = self.running_release().await?;
        let mut found: Vec<Found> = Vec::new();
        let mut failure = None;
        for at in sources {
            let location = self.update_location(&at).await?;
            match check_source(
                self.update_sources.as_ref(),
                &location,
                &self.config.update.trusted_keys,
                &running,
            )
            .await
            {
                Ok(Some(p)) => {
                    let m = &p.repository.manifest;
                    if !found.iter().any(|f| {
                        f.manifest()
                            .map(|x| x.version == m.version)
                            .unwrap_or(false)
                    }) {
                        found.push(Found {
                            at,
                            manifest: String::from_utf8_lossy(&m.to_json()).into_owned(),
                        });
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    failure = Some((location.describe(), e));
                    break;
                }
            }
        }
        let now = self.clock.now();
        let (message, data) = match &failure {
            Some((where_, e)) => (
                format!("Update check of {where_} failed: {e}"),
                serde_json::json!({"source": where_, "error": e.to_string()}),
            ),
            None => (
                format!(
                    "Update check found {}",
                    if found.is_empty() {
                        "no update".to_string()
                    } else {
                        found
                            .iter()
                            .filter_map(|f| f.manifest().ok().map(|m| m.version))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
                serde_json::json!({"updates": found.len()}),
            ),
        };
        let stored = found.clone();
        let failed = failure.as_ref().map(|(_, e)| e.to_string());
        self.change_update_record(move |r| {
            r.latest_query_time = Some(now);
            if let Some(f) = failed {
                r.failure = Some(f);
            } else {
                r.last_check = stored;
                r.failure = None;
            }
        })
        .await?;
        tracing::info!(user, "{message}");
        self.record_event(
            CHECKED_EVENT,
            "appliance",
            "update",
            "update",
            user,
            message,
            data,
        )
        .await;
        match failure {
            Some((_, e)) => Err(e.into()),
            None => Ok(found),
        }
    }

    /// The update `version` of the last check; not found, named, when there is none.
    pub(crate) async fn pending_update(&self, version: &str) -> Result<Found, CoreError> {
        let r = self.read_update_record().await?;
        for f in r.last_check {
            if f.manifest()?.version == version {
                return Ok(f);
            }
        }
        Err(CoreError::not_found("pending update version", version))
    }

    /// `pending.get`.
    pub async fn update_pending_get(
        &self,
        caller: &Caller,
        version: &str,
        component: Option<&str>,
    ) -> Result<PendingInfo, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        refuse_component(component)?;
        let found = self.pending_update(version).await?;
        let staged = self
            .read_update_record()
            .await?
            .staged
            .is_some_and(|s| s.version == version && s.complete);
        let services_will_be_stopped = self
            .services
            .infos()
            .into_iter()
            .map(|i| StoppedService {
                service: i.name,
                description: i.description,
            })
            .collect();
        Ok(PendingInfo {
            manifest: found.manifest()?,
            staged,
            services_will_be_stopped,
        })
    }

    /// `pending.precheck`: whether the update can be staged and installed here.
    pub async fn update_pending_precheck(
        &self,
        caller: &Caller,
        version: &str,
        component: Option<&str>,
    ) -> Result<PrecheckResult, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        refuse_component(component)?;
        let m = self.pending_update(version).await?.manifest()?;
        let now = self.clock.now();
        let mut issues = Notifications::default();
        match self.staging_space(&m).await {
            Ok(Some(short)) => issues.errors.push(notification(
                "com.ferrocenter.appliance.update.space",
                short,
                now,
            )),
            Ok(None) => {}
            Err(e) => issues.warnings.push(notification(
                "com.ferrocenter.appliance.update.space",
                e,
                now,
            )),
        }
        if self.store.list_backup_schedules().await?.is_empty() {
            issues.warnings.push(notification(
                "com.ferrocenter.appliance.update.backup",
                "no backup schedule is set, so the install makes no backup first: set one \
                 (recovery.backup.schedules) or take a backup with recovery.backup.job.create",
                now,
            ));
        }
        if self.update.installing.lock().is_some() {
            issues.errors.push(notification(
                "com.ferrocenter.appliance.update.busy",
                "an install or rollback is in progress",
                now,
            ));
        }
        if self.update.staging.lock().is_some() {
            issues.errors.push(notification(
                "com.ferrocenter.appliance.update.busy",
                "a stage is in progress",
                now,
            ));
        }
        Ok(PrecheckResult {
            check_time: now,
            reboot_required: false,
            issues,
            questions: vec![
                UpdateQuestion {
                    data_item: VMDIR_PASSWORD,
                    text: "Single Sign-On administrator password",
                    description: "The password of the Single Sign-On administrator, checked \
                                  before the install starts.",
                    kind: QuestionKind::Password,
                },
                UpdateQuestion {
                    data_item: SKIP_BACKUP,
                    text: "Skip the backup before the install",
                    description: "true: install without the backup to the first backup \
                                  schedule's location that is otherwise made first.",
                    kind: QuestionKind::Boolean,
                },
            ],
        })
    }

    /// Whether the staging directory has room for `m`'s package and its content (twice the
    /// package's size): `Some(why)` when it has not; `Err` when its free space is unknown.
    pub(crate) async fn staging_space(&self, m: &Manifest) -> Result<Option<String>, String> {
        let dir = &self.config.update.staging_dir;
        let needed = m.package.size.saturating_mul(2);
        let mut probe_at = dir.as_path();
        while !probe_at.exists() {
            match probe_at.parent() {
                Some(p) => probe_at = p,
                None => break,
            }
        }
        match self.machine.probe.space_at(probe_at).await {
            Ok(fs) if fs.available_bytes < needed => Ok(Some(format!(
                "{} has {} bytes free; staging {} needs {needed}",
                dir.display(),
                fs.available_bytes,
                m.version
            ))),
            Ok(_) => Ok(None),
            Err(e) => Err(format!(
                "the free space of {} could not be read: {e}",
                dir.display()
            )),
        }
    }

    /// `pending.validate`: the answers to the precheck's questions, each error naming its
    /// `user_data` key.
    pub async fn update_pending_validate(
        &self,
        caller: &Caller,
        version: &str,
        user_data: &BTreeMap<String, String>,
        component: Option<&str>,
    ) -> Result<Notifications, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        refuse_component(component)?;
        self.pending_update(version).await?;
        let now = self.clock.now();
        let mut out = Notifications::default();
        for (field, message) in self.answer_errors(version, user_data).await? {
            out.errors.push(notification(
                "com.ferrocenter.appliance.update.user_data",
                format!("{field}: {message}"),
                now,
            ));
        }
        Ok(out)
    }

    /// `staged.get`: the update staged or being staged.
    pub async fn update_staged_get(&self, caller: &Caller) -> Result<StagedInfo, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let running = self.update.staging.lock().is_some();
        // A record left incomplete with no stage running is a stage the server stopped in:
        // nothing is staged (the next stage removes its files).
        let s = self
            .read_update_record()
            .await?
            .staged
            .filter(|s| s.complete || running)
            .ok_or_else(|| CoreError::invalid_state("no update is staged"))?;
        Ok(StagedInfo {
            staging_complete: s.complete,
            summary: s.found.manifest()?.summary(),
        })
    }
}

/// ferrocenter is updated whole: a pending operation naming a `component` is refused.
pub(crate) fn refuse_component(component: Option<&str>) -> Result<(), CoreError> {
    match component.filter(|c| !c.is_empty()) {
        Some(c) => Err(CoreError::invalid(
            "component",
            format!("{c:?}: ferrocenter is updated whole and has no components"),
        )),
        None => Ok(()),
    }
}

/// The release running: the version of the last update installed (its signed manifest's, the
/// label the binary was released under), else this build's.
fn release_of(r: &super::state::UpdateRecord) -> String {
    r.installed
        .as_ref()
        .map_or_else(|| RUNNING_VERSION.to_string(), |i| i.version.clone())
}

impl Core {
    /// The release running ([`release_of`]): what updates are compared with and what
    /// `update.get` shows.
    pub(crate) async fn running_release(&self) -> Result<String, CoreError> {
        Ok(release_of(&self.read_update_record().await?))
    }
}
