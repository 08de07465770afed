//! Installing a staged update (`pending.install`, `pending.stage_and_install`): the answers
//! checked, a backup to the first backup schedule's location, new tasks refused and running
//! ones drained, then an install plan written for the server process, which stops, swaps its
//! binary, checks the new one starts and executes it — or puts the previous binary and store
//! back and executes that (ferrocenter's `self_update`). The server that starts next reads
//! the plan's outcome and ends the install task with it ([`Core::finish_update_install`]).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::state::StagedRecord;
use super::{sha256_file, BINARY, CONTENT_DIR};
use crate::auth::{Caller, Privilege, Realm, ADMINISTRATOR};
use crate::ports::ProcessAction;
use crate::tasks::{Task, TaskContext, TaskKind, TaskResult, TaskSpec, TaskState};
use crate::{Core, CoreError};

/// The answer every install needs: the SSO administrator's password, as vCenter asks it.
pub const VMDIR_PASSWORD: &str = "vmdir.password";
/// `"true"` skips the backup made before an install.
pub const SKIP_BACKUP: &str = "backup.skip";
/// The event an install's end records.
pub const INSTALLED_EVENT: &str = "com.ferrocenter.appliance.update.installed";

/// What the server process is asked to do, and what it did: written by the install task,
/// completed by the process before it executes the next binary, read by the server that
/// starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallPlan {
    /// The install task.
    pub task: String,
    pub version: String,
    pub from_version: String,
    /// The staged binary.
    pub binary: PathBuf,
    /// Its SHA-256, checked again just before it replaces the running one.
    pub binary_sha256: String,
    /// The manifest's `schema_version`: the store is snapshotted for a rollback when set.
    pub schema_version: Option<u64>,
    pub user: String,
    /// A rollback: `binary` is unused, the process puts back the binary it kept as
    /// `<exe>.previous` at the last install.
    #[serde(default)]
    pub rollback: bool,
    /// None until the process acted.
    pub outcome: Option<InstallOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum InstallOutcome {
    /// The process began changing the binary and store: a process that starts and finds this
    /// puts them back (the previous one stopped mid-way).
    Swapping,
    /// The new binary is in place and passed its start check; it is executed next.
    Swapped,
    /// The new binary could not be put in place or did not start; the previous binary and
    /// store are back.
    RolledBack { reason: String },
}

impl InstallPlan {
    pub fn read(path: &Path) -> std::io::Result<Option<InstallPlan>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces the file whole (written aside, synced, renamed), so a reader never sees half.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let tmp = path.with_extension("json.tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}

type RestartFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<TaskResult, CoreError>> + Send + 'a>>;

type StagedFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<StagedRecord, CoreError>> + Send + 'a>,
>;

/// The install running, for `update.get` and to refuse a second one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Installing {
    Install,
    Rollback,
}

impl Core {
    /// `pending.install`: installs `version`, which must be staged.
    pub async fn update_pending_install(
        &self,
        caller: &Caller,
        version: &str,
        user_data: &BTreeMap<String, String>,
        component: Option<&str>,
    ) -> Result<Task, CoreError> {
        let (_, skip_backup) = self
            .install_request(caller, version, user_data, component)
            .await?;
        let staged = self
            .read_update_record()
            .await?
            .staged
            .filter(|s| s.complete && s.version == version)
            .ok_or_else(|| {
                CoreError::invalid_state(format!(
                    "the update {version} is not staged: stage it first (pending.stage)"
                ))
            })?;
        self.submit_install(version, &caller.user, skip_backup, move |_core, _ctx| {
            Box::pin(async move { Ok(staged) })
        })
        .await
    }

    /// `pending.stage_and_install`: stages `version` and installs it once staged, in one task.
    pub async fn update_pending_stage_and_install(
        &self,
        caller: &Caller,
        version: &str,
        user_data: &BTreeMap<String, String>,
        component: Option<&str>,
    ) -> Result<Task, CoreError> {
        let (found, skip_backup) = self
            .install_request(caller, version, user_data, component)
            .await?;
        let (v, who) = (version.to_string(), caller.user.clone());
        self.submit_install(version, &caller.user, skip_backup, move |core, ctx| {
            Box::pin(async move { core.stage_within(ctx, found, &v, &who).await })
        })
        .await
    }

    /// What both installs check first: the caller, the component, the version pending and the
    /// answers; the update found and whether the backup is skipped.
    async fn install_request(
        &self,
        caller: &Caller,
        version: &str,
        user_data: &BTreeMap<String, String>,
        component: Option<&str>,
    ) -> Result<(super::state::Found, bool), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        super::service::refuse_component(component)?;
        let found = self.pending_update(version).await?;
        self.refuse_bad_answers(version, user_data).await?;
        Ok((found, skip_backup(user_data)))
    }

    /// The answers' errors as an invalid argument naming the first bad one.
    async fn refuse_bad_answers(
        &self,
        version: &str,
        user_data: &BTreeMap<String, String>,
    ) -> Result<(), CoreError> {
        match self
            .answer_errors(version, user_data)
            .await?
            .into_iter()
            .next()
        {
            Some((field, message)) => Err(CoreError::invalid(field, message)),
            None => Ok(()),
        }
    }

    /// What is wrong with the answers to an update's questions, each with its field.
    pub(crate) async fn answer_errors(
        &self,
        version: &str,
        user_data: &BTreeMap<String, String>,
    ) -> Result<Vec<(String, String)>, CoreError> {
        let mut errors = Vec::new();
        for key in user_data.keys() {
            if key != VMDIR_PASSWORD && key != SKIP_BACKUP {
                errors.push((
                    format!("user_data.{key}"),
                    format!("the update {version} asks no such question"),
                ));
            }
        }
        if let Some(v) = user_data.get(SKIP_BACKUP) {
            if v != "true" && v != "false" {
                errors.push((
                    format!("user_data.{SKIP_BACKUP}"),
                    format!("{v:?} is not true or false"),
                ));
            }
        }
        match user_data.get(VMDIR_PASSWORD) {
            None => errors.push((
                format!("user_data.{VMDIR_PASSWORD}"),
                "the Single Sign-On administrator's password is required".to_string(),
            )),
            Some(pw) => {
                let realm = Realm::sso(self.auth.sso_domain());
                let admin = self.store.find_principal(&realm, ADMINISTRATOR).await?;
                let ok = match admin {
                    Some(p) => self.auth.verify_current_password(&p, pw).await?,
                    None => false,
                };
                if !ok {
                    errors.push((
                        format!("user_data.{VMDIR_PASSWORD}"),
                        format!(
                            "is not the password of {ADMINISTRATOR}@{}",
                            self.auth.sso_domain()
                        ),
                    ));
                }
            }
        }
        Ok(errors)
    }

    async fn submit_install<F>(
        &self,
        version: &str,
        user: &str,
        skip_backup: bool,
        staged: F,
    ) -> Result<Task, CoreError>
    where
        F: for<'a> FnOnce(&'a Core, &'a TaskContext) -> StagedFuture<'a> + Send + 'static,
    {
        let who = user.to_string();
        self.submit_restart(
            Installing::Install,
            version,
            user,
            format!("Install the update {version}"),
            move |core, ctx| {
                Box::pin(async move {
                    let record = staged(core, ctx).await?;
                    core.install_staged(ctx, record, &who, skip_backup).await
                })
            },
        )
        .await
    }

    /// Starts the task of an install or rollback: one at a time; shown in progress until the
    /// process stops; a failure before the restart recorded as the install's end (the next
    /// server records the others).
    async fn submit_restart<F>(
        &self,
        what: Installing,
        version: &str,
        user: &str,
        description: String,
        body: F,
    ) -> Result<Task, CoreError>
    where
        F: for<'a> FnOnce(&'a Core, &'a TaskContext) -> RestartFuture<'a> + Send + 'static,
    {
        self.claim_install(what)?;
        let core = self.self_arc();
        let (v, who) = (version.to_string(), user.to_string());
        let rollback = what == Installing::Rollback;
        let submitted = self
            .tasks
            .submit(
                TaskSpec {
                    kind: TaskKind::ApplianceUpdateInstall,
                    target: None,
                    initiator: user.to_string(),
                    description,
                    // Past the swap nothing can stop it; before, a drain or backup may be long
                    // but is left to finish (vCenter's install is not cancelable either).
                    cancelable: false,
                    timeout: None,
                },
                move |ctx| async move {
                    let _installing = InstallingGuard(core.clone());
                    let outcome = body(&core, &ctx).await;
                    let restarting = core.update.restarting.load(Ordering::SeqCst);
                    if let (Err(e), false) = (&outcome, restarting) {
                        core.record_install_end(&v, &who, rollback, Err(e.to_string()))
                            .await;
                    }
                    outcome
                },
            )
            .await;
        match &submitted {
            Ok(t) => {
                let id = t.id.clone();
                self.change_update_record(move |r| {
                    r.task = Some(id);
                    r.install_failure = None;
                })
                .await?;
                tracing::info!(task = %t.id, version, rollback, "update install started");
            }
            Err(_) => *self.update.installing.lock() = None,
        }
        submitted
    }

    pub(crate) fn claim_install(&self, what: Installing) -> Result<(), CoreError> {
        let mut installing = self.update.installing.lock();
        if installing.is_some() {
            return Err(CoreError::invalid_state(
                "an install or rollback is in progress",
            ));
        }
        if let Some(id) = self.update.staging.lock().as_ref() {
            return Err(CoreError::invalid_state(format!(
                "a stage is in progress (task {id})"
            )));
        }
        *installing = Some(what);
        Ok(())
    }

    async fn install_staged(
        &self,
        ctx: &TaskContext,
        staged: StagedRecord,
        user: &str,
        skip_backup: bool,
    ) -> Result<TaskResult, CoreError> {
        let version = staged.version.clone();
        let manifest = staged.found.manifest()?;
        ctx.progress(5, "Checking the staged update").await;
        let binary = staged.dir.join(CONTENT_DIR).join(BINARY);
        let b = binary.clone();
        let (_, binary_sha256) = tokio::task::spawn_blocking(move || sha256_file(&b))
            .await
            .map_err(|e| CoreError::internal(format!("hashing stopped: {e}")))?
            .map_err(|e| {
                CoreError::invalid_state(format!(
                    "the staged binary {} cannot be read ({e}): stage the update again",
                    binary.display()
                ))
            })?;
        if skip_backup {
            tracing::info!(task = %ctx.id(), "the backup before the install is skipped (user_data)");
        } else {
            self.backup_before_install(ctx, &version, user).await?;
        }
        self.drain_tasks(ctx).await?;
        let plan = InstallPlan {
            task: ctx.id().to_string(),
            version,
            from_version: self.running_release().await?,
            binary,
            binary_sha256,
            schema_version: manifest.schema_version,
            user: user.to_string(),
            rollback: false,
            outcome: None,
        };
        self.restart_into(ctx, &plan).await
    }

    /// Writes the plan and asks the process to carry it out; comes back only if that could
    /// not be asked (new tasks are taken again then).
    async fn restart_into(
        &self,
        ctx: &TaskContext,
        plan: &InstallPlan,
    ) -> Result<TaskResult, CoreError> {
        let version = &plan.version;
        ctx.progress(70, format!("Restarting into {version}")).await;
        let asked = match self.write_install_plan(plan).await {
            Ok(()) => self
                .machine
                .lifecycle
                .process(ProcessAction::Install)
                .await
                .map_err(|e| CoreError::Unavailable {
                    message: format!("the server cannot restart into {version}: {e}"),
                }),
            Err(e) => Err(e),
        };
        if let Err(e) = asked {
            self.remove_install_plan().await;
            self.tasks.resume();
            return Err(e);
        }
        // The process stops now; the server that starts next ends this task, and until the
        // process stops the install is shown in progress.
        self.update.restarting.store(true, Ordering::SeqCst);
        ctx.stopped().await;
        Err(CoreError::Unavailable {
            message: format!("the server is restarting into {version}"),
        })
    }

    /// `pending.rollback`: puts the version that ran before the last install back, when that
    /// install changed no schema.
    pub async fn update_pending_rollback(&self, caller: &Caller) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let installed = self
            .read_update_record()
            .await?
            .installed
            .filter(|i| i.can_roll_back)
            .ok_or_else(|| CoreError::not_found("installed update", "the last install"))?;
        if installed.schema_version.is_some() {
            return Err(CoreError::invalid_state(format!(
                "the update {} changed the store's schema, which {} cannot read: restore the \
                 backup taken before its install instead",
                installed.version, installed.from_version
            )));
        }
        let target = installed.from_version.clone();
        let who = caller.user.clone();
        self.submit_restart(
            Installing::Rollback,
            &target,
            &caller.user,
            format!("Roll the update {} back to {target}", installed.version),
            move |core, ctx| {
                Box::pin(async move {
                    core.drain_tasks(ctx).await?;
                    let plan = InstallPlan {
                        task: ctx.id().to_string(),
                        version: installed.from_version.clone(),
                        from_version: installed.version.clone(),
                        binary: PathBuf::new(),
                        binary_sha256: String::new(),
                        schema_version: None,
                        user: who,
                        rollback: true,
                        outcome: None,
                    };
                    core.restart_into(ctx, &plan).await
                })
            },
        )
        .await
    }

    /// A backup to the first backup schedule's location, waited for; none when no schedule
    /// is set (the precheck warns of it).
    async fn backup_before_install(
        &self,
        ctx: &TaskContext,
        version: &str,
        user: &str,
    ) -> Result<(), CoreError> {
        let Some(schedule) = self.store.list_backup_schedules().await?.into_iter().next() else {
            return Ok(());
        };
        ctx.progress(
            10,
            format!("Backing up to schedule {}'s location", schedule.id),
        )
        .await;
        let job = self
            .run_schedule(
                &schedule,
                user,
                Some(format!("before the install of {version}")),
            )
            .await
            .map_err(|e| {
                CoreError::invalid_state(format!(
                    "the backup before the install could not start: {e}; nothing was installed"
                ))
            })?;
        let done = self.tasks.wait(&job.id).await?;
        if done.state != TaskState::Success {
            let why = done
                .error
                .map(|e| e.to_string())
                .unwrap_or_else(|| "it did not succeed".into());
            return Err(CoreError::invalid_state(format!(
                "the backup before the install (job {}) failed: {why}; nothing was installed",
                job.id
            )));
        }
        Ok(())
    }

    /// Refuses new tasks and waits for the running ones (this one aside) to end; takes them
    /// again if they do not end within `update_drain_timeout`.
    async fn drain_tasks(&self, ctx: &TaskContext) -> Result<(), CoreError> {
        self.tasks.pause();
        let deadline = tokio::time::Instant::now() + self.config.update.drain_timeout;
        loop {
            let others = self.tasks.running_count().saturating_sub(1);
            if others == 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                self.tasks.resume();
                return Err(CoreError::invalid_state(format!(
                    "{others} tasks were still running after {} s; nothing was installed: \
                     try again when they have ended",
                    self.config.update.drain_timeout.as_secs()
                )));
            }
            ctx.progress(
                40,
                format!("New tasks refused; waiting for {others} running tasks to end"),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn write_install_plan(&self, plan: &InstallPlan) -> Result<(), CoreError> {
        let path = self.config.update.install_plan.clone();
        let plan = plan.clone();
        tokio::task::spawn_blocking(move || plan.write(&path))
            .await
            .map_err(|e| CoreError::internal(format!("writing the install plan stopped: {e}")))?
            .map_err(|e| CoreError::internal(format!("the install plan cannot be written: {e}")))
    }

    async fn remove_install_plan(&self) {
        let path = &self.config.update.install_plan;
        if let Err(e) = tokio::fs::remove_file(path).await {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "the install plan could not be removed");
            }
        }
    }

    /// At start, before serving: ends the install task the previous process left with what
    /// that process did, and forgets the plan.
    pub async fn finish_update_install(&self) -> Result<(), CoreError> {
        let path = self.config.update.install_plan.clone();
        let p = path.clone();
        let plan = tokio::task::spawn_blocking(move || InstallPlan::read(&p))
            .await
            .map_err(|e| CoreError::internal(format!("reading the install plan stopped: {e}")))?
            .map_err(|e| CoreError::internal(format!("the install plan is unreadable: {e}")))?;
        let Some(plan) = plan else {
            return Ok(());
        };
        let outcome = match &plan.outcome {
            Some(InstallOutcome::Swapped) => Ok(()),
            // The server process undoes an interrupted swap before the core starts; one left
            // here was not undone.
            Some(InstallOutcome::Swapping) => Err(format!(
                "the server stopped while {} was being put in place",
                plan.version
            )),
            Some(InstallOutcome::RolledBack { reason }) => Err(format!(
                "{reason}; the previous version {} was put back",
                plan.from_version
            )),
            None => Err(format!(
                "the server stopped before {} was put in place; {} runs",
                plan.version, plan.from_version
            )),
        };
        let task_outcome = match &outcome {
            Ok(()) => Ok(TaskResult::UpdateInstalled {
                installed_version: plan.version.clone(),
            }),
            Err(why) if plan.rollback => Err(CoreError::internal(format!(
                "{} was not put back: {why}",
                plan.version
            ))),
            Err(why) => Err(CoreError::internal(format!(
                "the update {} was not installed: {why}",
                plan.version
            ))),
        };
        // A plan whose task is gone (a store put back from before it) still ends the install.
        if let Err(e) = self.tasks.settle(&plan.task, task_outcome).await {
            tracing::warn!(task = %plan.task, error = %e, "the install task could not be ended");
        }
        if plan.rollback {
            if outcome.is_ok() {
                // The release rolled back to; this build's own needs no record.
                let back = (plan.version != super::RUNNING_VERSION).then(|| {
                    super::state::InstalledRecord {
                        version: plan.version.clone(),
                        from_version: plan.from_version.clone(),
                        schema_version: None,
                        can_roll_back: false,
                    }
                });
                self.change_update_record(|r| r.installed = back).await?;
            }
        } else if outcome.is_ok() {
            let staged = self
                .change_update_record(|r| {
                    r.last_check.retain(|f| {
                        f.manifest().is_ok_and(|m| {
                            crate::version::compare_versions(&m.version, &plan.version)
                                == std::cmp::Ordering::Greater
                        })
                    });
                    r.installed = Some(super::state::InstalledRecord {
                        version: plan.version.clone(),
                        from_version: plan.from_version.clone(),
                        schema_version: plan.schema_version,
                        can_roll_back: true,
                    });
                    r.staged.take()
                })
                .await?;
            if let Some(s) = staged {
                super::stage::remove_dir(&s.dir).await;
            }
            self.reconnect_outdated_agents().await;
        }
        self.record_install_end(&plan.version, &plan.user, plan.rollback, outcome)
            .await;
        self.remove_install_plan().await;
        Ok(())
    }

    /// Reconnects each connected host whose agent is not this server's version: the reconnect
    /// installs the server's agent again over SSH where the host was added with SSH
    /// (seeds/000's agent version check), so agents follow the server after an update.
    async fn reconnect_outdated_agents(&self) {
        let hosts = match self
            .store
            .list_hosts(&crate::inventory::HostFilter {
                connection_state: Some(crate::inventory::ConnectionState::Connected),
                ..Default::default()
            })
            .await
        {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "hosts with an outdated agent could not be listed");
                return;
            }
        };
        let caller = crate::hosts::heartbeat::system_caller();
        for h in hosts {
            let outdated = h.facts.as_ref().is_some_and(|f| {
                !f.agent_version.is_empty()
                    && f.agent_version != ferrocenter_agent_client::AGENT_VERSION
            });
            if !outdated {
                continue;
            }
            let spec = crate::hosts::ReconnectSpec {
                also_when_connected: true,
                ..Default::default()
            };
            if let Err(e) = self.reconnect_host(&caller, &h.id, spec).await {
                tracing::warn!(host = %h.name, error = %e, "a host with an outdated agent could not be reconnected");
            }
        }
    }

    /// Records how an install ended: the failure for `update.get`, an event, a log line.
    async fn record_install_end(
        &self,
        version: &str,
        user: &str,
        rollback: bool,
        outcome: Result<(), String>,
    ) {
        let failure = outcome.as_ref().err().cloned();
        let f = failure.clone();
        if let Err(e) = self
            .change_update_record(move |r| r.install_failure = f)
            .await
        {
            tracing::warn!(error = %e, "the install's end could not be recorded");
        }
        let message = match (&failure, rollback) {
            (None, false) => format!("Update {version} installed"),
            (Some(why), false) => format!("Update {version} not installed: {why}"),
            (None, true) => format!("Update rolled back to {version}"),
            (Some(why), true) => format!("Update not rolled back to {version}: {why}"),
        };
        tracing::info!(version, "{message}");
        self.record_event(
            INSTALLED_EVENT,
            "appliance",
            "update",
            "update",
            user,
            message,
            serde_json::json!({
                "version": version,
                "rollback": rollback,
                "succeeded": failure.is_none(),
            }),
        )
        .await;
    }
}

fn skip_backup(user_data: &BTreeMap<String, String>) -> bool {
    user_data.get(SKIP_BACKUP).is_some_and(|v| v == "true")
}

/// Marks the install as no longer running when dropped.
struct InstallingGuard(std::sync::Arc<Core>);

impl Drop for InstallingGuard {
    fn drop(&mut self) {
        if !self.0.update.restarting.load(Ordering::SeqCst) {
            *self.0.update.installing.lock() = None;
        }
    }
}
