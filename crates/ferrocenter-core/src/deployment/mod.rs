//! The deployment of this server (`vcenter.deployment`, seeds/003 chapter 5): whether it is set
//! up, and the setup that makes it so. A server started with `await_setup` begins INITIALIZED
//! and serves only this API until an install (`install`) brings it to CONFIGURED; a server
//! that set itself up on first start (the silent path) is CONFIGURED from the start.
//!
//! The deployment record lives in the store (setting `deployment.record`), written at every
//! step, so what a client reads survives the process: a setup the process died in is FAILED
//! on the next start, with the step it was at, and `rollback` brings the server back to
//! INITIALIZED with a clean store.
//!
//! States (table 5-1): INITIALIZED → CONFIG_IN_PROGRESS ⇄ QUESTION_RAISED → CONFIGURED |
//! FAILED; FAILED and CONFIGURED are final for the setup, and only `rollback` leaves FAILED.
//! NOT_INITIALIZED (stage 1 not done) is never ferrocenter's: its stage 1 is installing the
//! binary.
pub mod install;
pub mod questions;
mod record;
pub mod spec_problems;
pub(crate) mod steps;
pub mod upgrade;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::appliance::health::Text;
use crate::auth::{Caller, Privilege};
use crate::ports::{NoSetupHost, SetupHost};
use crate::{Core, CoreError};

pub use questions::{Question, QuestionType};

/// `vcenter.deployment.appliance_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApplianceState {
    NotInitialized,
    Initialized,
    ConfigInProgress,
    QuestionRaised,
    Failed,
    Configured,
}

impl ApplianceState {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplianceState::NotInitialized => "NOT_INITIALIZED",
            ApplianceState::Initialized => "INITIALIZED",
            ApplianceState::ConfigInProgress => "CONFIG_IN_PROGRESS",
            ApplianceState::QuestionRaised => "QUESTION_RAISED",
            ApplianceState::Failed => "FAILED",
            ApplianceState::Configured => "CONFIGURED",
        }
    }

    /// A setup is running (possibly waiting for an answer).
    pub fn in_progress(self) -> bool {
        matches!(
            self,
            ApplianceState::ConfigInProgress | ApplianceState::QuestionRaised
        )
    }
}

/// `vcenter.deployment.operation`: what the deployment did or does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operation {
    Install,
    Upgrade,
    Rollback,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Install => "INSTALL",
            Operation::Upgrade => "UPGRADE",
            Operation::Rollback => "ROLLBACK",
        }
    }
}

/// `cis.task.status` of the deployment and of each subtask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepStatus {
    Pending,
    Running,
    Blocked,
    Succeeded,
    Failed,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "PENDING",
            StepStatus::Running => "RUNNING",
            StepStatus::Blocked => "BLOCKED",
            StepStatus::Succeeded => "SUCCEEDED",
            StepStatus::Failed => "FAILED",
        }
    }
}

/// `cis.task.progress`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub completed: u64,
    pub total: u64,
    pub message: Text,
}

/// `vcenter.deployment.notifications`: what a check or a step found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notifications {
    pub info: Vec<Notification>,
    pub warnings: Vec<Notification>,
    pub errors: Vec<Notification>,
}

impl Notifications {
    pub fn is_empty(&self) -> bool {
        self.info.is_empty() && self.warnings.is_empty() && self.errors.is_empty()
    }

    pub(crate) fn add_info(&mut self, id: &str, message: impl Into<String>, now: OffsetDateTime) {
        self.info.push(notification(id, message, now));
    }

    pub(crate) fn add_warning(
        &mut self,
        id: &str,
        message: impl Into<String>,
        now: OffsetDateTime,
    ) {
        self.warnings.push(notification(id, message, now));
    }
}

/// `vcenter.deployment.notification`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub time: Option<OffsetDateTime>,
    pub message: Text,
    pub resolution: Option<Text>,
}

/// One step of a setup (`deployment.task`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subtask {
    pub description: Text,
    pub status: StepStatus,
    pub progress: Option<Progress>,
    pub result: Option<Notifications>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub start_time: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub end_time: Option<OffsetDateTime>,
    pub error: Option<Text>,
}

/// `vcenter.deployment.info`: the state and the last operation, as `get` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub state: ApplianceState,
    /// None while no operation ran (INITIALIZED, or set up silently on first start).
    pub operation: Option<Operation>,
    pub description: Text,
    pub status: StepStatus,
    pub cancelable: bool,
    pub progress: Option<Progress>,
    pub subtask_order: Vec<String>,
    pub subtasks: BTreeMap<String, Subtask>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub start_time: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub end_time: Option<OffsetDateTime>,
    pub error: Option<Text>,
    /// Who started the operation.
    pub user: Option<String>,
    /// The install's spec, its password withheld (`install.get`).
    pub install_spec: Option<install::InstallSpec>,
    /// The questions waiting for an answer (QUESTION_RAISED).
    pub questions: Vec<Question>,
    /// The store held another instance's data when the setup began and the setup did not wipe
    /// it: a rollback leaves it (the operator never agreed to lose it).
    #[serde(default)]
    pub kept_data: bool,
}

impl Deployment {
    fn initialized() -> Deployment {
        Deployment {
            state: ApplianceState::Initialized,
            operation: None,
            description: text(
                "com.ferrocenter.deployment.awaiting_setup",
                "The server is ready to be set up.",
                vec![],
            ),
            status: StepStatus::Pending,
            cancelable: false,
            progress: None,
            subtask_order: vec![],
            subtasks: BTreeMap::new(),
            start_time: None,
            end_time: None,
            error: None,
            user: None,
            install_spec: None,
            questions: vec![],
            kept_data: false,
        }
    }

    /// A server set up on its first start, without the API.
    fn configured_silently() -> Deployment {
        Deployment {
            state: ApplianceState::Configured,
            description: text(
                "com.ferrocenter.deployment.first_start",
                "The server set itself up on its first start.",
                vec![],
            ),
            status: StepStatus::Succeeded,
            ..Deployment::initialized()
        }
    }
}

/// A localizable text whose English form has its arguments filled in.
pub(crate) fn text(id: &str, default_message: impl Into<String>, args: Vec<String>) -> Text {
    Text {
        id: id.to_string(),
        default_message: default_message.into(),
        args,
    }
}

/// A notification whose message has the same id and no arguments.
pub(crate) fn notification(
    id: &str,
    message: impl Into<String>,
    now: OffsetDateTime,
) -> Notification {
    Notification {
        id: id.to_string(),
        time: Some(now),
        message: text(id, message, vec![]),
        resolution: None,
    }
}

/// How the server started, as the server binary saw the data dir.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartMode {
    /// Set up on first start (or before): serve everything.
    SetUp,
    /// Wait for a setup through the API: the data dir records no store of its own.
    AwaitSetup,
}

/// The deployment's record, and what a running setup needs to be answered or cancelled.
#[derive(Default)]
pub(crate) struct DeploymentState {
    current: Mutex<Option<Deployment>>,
    /// The answer a raised question waits for.
    answers: Mutex<Option<questions::Pending>>,
    /// Cancels the running setup.
    cancel: Mutex<Option<CancellationToken>>,
    host: OnceLock<Arc<dyn SetupHost>>,
    /// The upgrade's own state (`upgrade`).
    pub(crate) upgrade: upgrade::UpgradeState,
}

impl DeploymentState {
    pub(crate) fn host(&self) -> Arc<dyn SetupHost> {
        self.host
            .get()
            .cloned()
            .unwrap_or_else(|| Arc::new(NoSetupHost))
    }
}

/// The services a server not set up yet serves: the deployment's, and sessions to call them.
const SERVED_BEFORE_SETUP: &[&str] = &["com.vmware.vcenter.deployment", "com.vmware.cis.session"];

impl Core {
    /// Plugs in the machine side of setups (certificate, the data dir's store record).
    pub fn set_setup_host(&self, host: Arc<dyn SetupHost>) {
        let _ = self.deployment.host.set(host);
    }

    /// Reads the deployment at start. A setup that was running is FAILED now (its process is
    /// gone); a server awaiting setup with nothing recorded is INITIALIZED. Returns the state.
    pub async fn open_deployment(&self, mode: StartMode) -> Result<ApplianceState, CoreError> {
        if let Some(domain) = self.store.get_setting(record::DOMAIN_KEY).await? {
            self.auth.set_sso_domain(&domain);
        }
        let d = match record::load(self).await? {
            Some(mut d) if d.state.in_progress() => {
                let step = d
                    .subtask_order
                    .iter()
                    .find(|s| {
                        d.subtasks
                            .get(*s)
                            .is_some_and(|t| t.status != StepStatus::Succeeded)
                    })
                    .cloned()
                    .unwrap_or_default();
                let now = self.clock.now();
                let why = text(
                    "com.ferrocenter.deployment.interrupted",
                    format!(
                        "The server stopped during the setup (at the step '{step}'); roll back \
                         with com.vmware.vcenter.deployment.rollback and start it again."
                    ),
                    vec![step.clone()],
                );
                if let Some(t) = d.subtasks.get_mut(&step) {
                    t.status = StepStatus::Failed;
                    t.end_time = Some(now);
                    t.error = Some(why.clone());
                }
                d.state = ApplianceState::Failed;
                d.status = StepStatus::Failed;
                d.cancelable = false;
                d.questions.clear();
                d.end_time = Some(now);
                d.error = Some(why);
                record::save(self, &d).await?;
                tracing::warn!(step, "a setup was interrupted by the server's stop: FAILED");
                d
            }
            // Set up, but the data dir does not record this store as its own: another
            // instance's store, which the setup asks about (reuse or wipe).
            Some(d) if d.state == ApplianceState::Configured && mode == StartMode::AwaitSetup => {
                Deployment::initialized()
            }
            Some(d) => d,
            None if mode == StartMode::AwaitSetup => Deployment::initialized(),
            // Recorded once, so its time stays the first start's.
            None => {
                let now = self.clock.now();
                let d = Deployment {
                    start_time: Some(now),
                    end_time: Some(now),
                    ..Deployment::configured_silently()
                };
                record::save(self, &d).await?;
                d
            }
        };
        let state = d.state;
        *self.deployment.current.lock() = Some(d);
        Ok(state)
    }

    /// The deployment's state now.
    pub fn deployment_state(&self) -> ApplianceState {
        self.deployment
            .current
            .lock()
            .as_ref()
            .map_or(ApplianceState::Configured, |d| d.state)
    }

    /// Whether the server is set up (and serves everything).
    pub fn is_configured(&self) -> bool {
        self.deployment_state() == ApplianceState::Configured
    }

    /// Refuses every service but the deployment's until the server is set up.
    pub fn admit_before_setup(&self, service: &str) -> Result<(), CoreError> {
        let state = self.deployment_state();
        if state == ApplianceState::Configured
            || SERVED_BEFORE_SETUP
                .iter()
                .any(|s| service == *s || service.starts_with(&format!("{s}.")))
        {
            return Ok(());
        }
        Err(CoreError::Unavailable {
            message: format!(
                "the server is not set up (deployment state {}): set it up with \
                 com.vmware.vcenter.deployment.install first",
                state.as_str()
            ),
        })
    }

    /// `deployment.get`.
    pub async fn deployment_get(&self, caller: &Caller) -> Result<Deployment, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        self.deployment
            .current
            .lock()
            .clone()
            .ok_or_else(|| CoreError::not_found("deployment state", "this server"))
    }

    /// Writes and publishes the deployment.
    pub(crate) async fn put_deployment(&self, d: Deployment) -> Result<(), CoreError> {
        record::save(self, &d).await?;
        *self.deployment.current.lock() = Some(d);
        Ok(())
    }

    /// Changes the published deployment and writes it.
    pub(crate) async fn update_deployment(
        &self,
        change: impl FnOnce(&mut Deployment),
    ) -> Result<Deployment, CoreError> {
        let d = {
            let mut guard = self.deployment.current.lock();
            let d = guard.get_or_insert_with(Deployment::initialized);
            change(d);
            d.clone()
        };
        record::save(self, &d).await?;
        Ok(d)
    }

    /// `deployment.rollback`: from FAILED back to INITIALIZED, the store emptied but for root
    /// — unless it held another instance's data the setup was not told to wipe, which stays.
    pub async fn deployment_rollback(&self, caller: &Caller) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let state = self.deployment_state();
        if state != ApplianceState::Failed {
            return Err(CoreError::invalid_state(format!(
                "a rollback undoes a failed setup; the deployment is {}",
                state.as_str()
            )));
        }
        let now = self.clock.now();
        self.deployment
            .host()
            .forget_store_identity()
            .map_err(|e| CoreError::internal(e.to_string()))?;
        self.services.stop_by_name(crate::API_LISTENER).await?;
        // Read before the wipe, which puts it back: a server keeps its uuid across a
        // rollback even in a process that had not read it yet (the agents an upgrade claimed
        // before it failed name it).
        self.server_uuid().await?;
        let kept = self
            .deployment
            .current
            .lock()
            .as_ref()
            .is_some_and(|d| d.kept_data);
        if kept {
            tracing::info!("rollback: the store keeps the other instance's data it held");
        } else {
            record::wipe_store(self).await?;
        }
        let mut d = Deployment::initialized();
        d.operation = Some(Operation::Rollback);
        d.description = text(
            "com.ferrocenter.deployment.rollback",
            "Roll back a failed setup.",
            vec![],
        );
        d.status = StepStatus::Succeeded;
        d.start_time = Some(now);
        d.end_time = Some(self.clock.now());
        d.user = Some(caller.user.clone());
        self.put_deployment(d).await?;
        tracing::info!(user = %caller.user, "the failed setup was rolled back: INITIALIZED");
        Ok(())
    }
}
