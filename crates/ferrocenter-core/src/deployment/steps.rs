//! How a setup (an install or an upgrade) runs as steps: it begins only from INITIALIZED, each
//! step's start and end are recorded as a subtask with the overall progress, a cancel is
//! honoured between steps until the point of no return, and the end is written as CONFIGURED
//! or FAILED. One place for both setups, so they cannot drift apart.
use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;

use crate::appliance::health::Text;
use crate::{Core, CoreError};

use super::install::InstallSpec;
use super::questions::{Question, QuestionType};
use super::{
    notification, text, ApplianceState, Deployment, Notification, Notifications, Operation,
    Progress, StepStatus, Subtask,
};

/// A setup's steps.
pub(super) struct Plan {
    /// `install` or `upgrade`: the subtasks' description ids.
    pub kind: &'static str,
    /// How its messages name it ("setup", "upgrade").
    pub noun: &'static str,
    /// A subtask's description: `{title} {what}.`
    pub title: &'static str,
    /// In order: (name, what its progress message says is starting).
    pub steps: &'static [(&'static str, &'static str)],
    /// From this step on the setup can no longer be cancelled.
    pub no_return_from: &'static str,
}

/// What a setup begins with.
pub(super) struct Begin {
    pub operation: Operation,
    pub description: Text,
    pub user: String,
    pub install_spec: Option<InstallSpec>,
    /// See [`Deployment::kept_data`].
    pub kept_data: bool,
}

fn success() -> Text {
    text(
        "com.vmware.vcenter.deploy.task.complete.success",
        "Task has completed successfully.",
        vec![],
    )
}

impl Plan {
    pub(super) fn starting(&self, step: &str) -> Text {
        let what = self
            .steps
            .iter()
            .find(|(n, _)| *n == step)
            .map_or(step, |(_, w)| *w);
        text(
            "install.ciscommon.component.starting",
            format!("Starting {what}..."),
            vec![what.to_string()],
        )
    }

    fn total(&self) -> u64 {
        self.steps.len() as u64
    }

    fn past_return(&self, step: &str) -> bool {
        let at = |s: &str| self.steps.iter().position(|(n, _)| *n == s);
        matches!((at(step), at(self.no_return_from)), (Some(a), Some(b)) if a >= b)
    }

    fn subtasks(&self) -> BTreeMap<String, Subtask> {
        self.steps
            .iter()
            .map(|(name, what)| {
                (
                    name.to_string(),
                    Subtask {
                        description: text(
                            &format!("com.ferrocenter.deployment.{}.step.{name}", self.kind),
                            format!("{} {what}.", self.title),
                            vec![],
                        ),
                        status: StepStatus::Pending,
                        progress: None,
                        result: None,
                        start_time: None,
                        end_time: None,
                        error: None,
                    },
                )
            })
            .collect()
    }
}

impl Core {
    /// Only a server awaiting its setup may begin one.
    pub(crate) fn require_awaiting_setup(&self) -> Result<(), CoreError> {
        let state = self.deployment_state();
        if state != ApplianceState::Initialized {
            return Err(CoreError::invalid_state(format!(
                "the server can be set up only when INITIALIZED; it is {}",
                state.as_str()
            )));
        }
        Ok(())
    }

    /// Records the setup as running (CONFIG_IN_PROGRESS, every step pending) and returns what
    /// cancels it. The state check and the move happen under one lock: two starts (of an
    /// install or an upgrade) cannot both begin.
    pub(super) async fn begin_setup(
        &self,
        plan: &Plan,
        begin: Begin,
    ) -> Result<CancellationToken, CoreError> {
        let now = self.clock.now();
        let cancel = CancellationToken::new();
        {
            let mut cur = self.deployment.current.lock();
            if cur.as_ref().map(|d| d.state) != Some(ApplianceState::Initialized) {
                drop(cur);
                self.require_awaiting_setup()?;
                return Err(CoreError::invalid_state("another setup began meanwhile"));
            }
            *cur = Some(Deployment {
                state: ApplianceState::ConfigInProgress,
                operation: Some(begin.operation),
                description: begin.description,
                status: StepStatus::Running,
                cancelable: true,
                progress: Some(Progress {
                    completed: 0,
                    total: plan.total(),
                    message: plan.starting(plan.steps[0].0),
                }),
                subtask_order: plan.steps.iter().map(|(n, _)| n.to_string()).collect(),
                subtasks: plan.subtasks(),
                start_time: Some(now),
                end_time: None,
                error: None,
                user: Some(begin.user),
                install_spec: begin.install_spec,
                questions: vec![],
                kept_data: begin.kept_data,
            });
            *self.deployment.cancel.lock() = Some(cancel.clone());
        }
        self.update_deployment(|_| {}).await?;
        Ok(cancel)
    }

    /// Asks the running setup of this operation to stop at its next step (or question).
    pub(super) async fn cancel_setup(
        &self,
        caller: &crate::auth::Caller,
        operation: Operation,
        plan: &Plan,
    ) -> Result<(), CoreError> {
        let d = self.deployment_get(caller).await?;
        if !d.state.in_progress() || d.operation != Some(operation) {
            return Err(CoreError::invalid_state(format!(
                "no {} is running: the deployment is {}",
                plan.kind,
                d.state.as_str()
            )));
        }
        if !d.cancelable {
            return Err(CoreError::invalid_state(format!(
                "the {} is past the point it can be cancelled ({})",
                plan.noun, plan.no_return_from
            )));
        }
        if let Some(c) = self.deployment.cancel.lock().as_ref() {
            c.cancel();
        }
        tracing::info!(user = %caller.user, "{} cancel requested", plan.noun);
        Ok(())
    }

    /// A step begins (or the setup stops there, cancelled).
    pub(super) async fn begin_step(
        &self,
        plan: &Plan,
        name: &str,
        cancel: &CancellationToken,
    ) -> Result<(), CoreError> {
        if cancel.is_cancelled() {
            return Err(CoreError::Cancelled {
                message: format!("the {} was cancelled before the step '{name}'", plan.noun),
            });
        }
        let now = self.clock.now();
        let no_return = plan.past_return(name);
        self.update_deployment(|d| {
            if let Some(t) = d.subtasks.get_mut(name) {
                t.status = StepStatus::Running;
                t.start_time = Some(now);
            }
            if let Some(p) = d.progress.as_mut() {
                p.message = plan.starting(name);
            }
            if no_return {
                d.cancelable = false;
            }
        })
        .await?;
        Ok(())
    }

    /// A step ended well, with what it found.
    pub(super) async fn end_step(&self, name: &str, found: Notifications) -> Result<(), CoreError> {
        let now = self.clock.now();
        self.update_deployment(|d| {
            if let Some(t) = d.subtasks.get_mut(name) {
                t.status = StepStatus::Succeeded;
                t.end_time = Some(now);
                t.progress = Some(Progress {
                    completed: 1,
                    total: 1,
                    message: success(),
                });
                t.result = (!found.is_empty()).then_some(found);
            }
            if let Some(p) = d.progress.as_mut() {
                p.completed += 1;
            }
        })
        .await?;
        Ok(())
    }

    /// The `services` step's main listener, for either setup: when it cannot start, the
    /// `services.listen` question (ABORT_RETRY_IGNORE, default ABORT) decides — abort the
    /// setup with the error, retry, or go on with the listener stopped, which is the warning
    /// returned.
    pub(super) async fn start_main_listener(
        &self,
        plan: &Plan,
        auto_answer: bool,
        cancel: &CancellationToken,
    ) -> Result<Option<Notification>, CoreError> {
        loop {
            let e = match self.services.start_by_name(crate::API_LISTENER).await {
                Ok(()) => return Ok(None),
                Err(e) => e,
            };
            let q = Question::new(
                "services.listen",
                QuestionType::AbortRetryIgnore,
                "ABORT",
                text(
                    "com.ferrocenter.deployment.question.services_listen",
                    format!(
                        "The main listener could not start: {e}. Abort the {}, retry, or \
                         ignore (finish the {} with the main listener stopped; start it later \
                         as the service api-listener)?",
                        plan.noun, plan.noun
                    ),
                    vec![e.to_string()],
                ),
            );
            match self.ask(q, auto_answer, cancel).await?.as_str() {
                "RETRY" => continue,
                "IGNORE" => {
                    let id = format!("com.ferrocenter.deployment.{}.listener_stopped", plan.kind);
                    let stopped = format!("The main listener is stopped: {e}.");
                    return Ok(Some(notification(&id, stopped, self.clock.now())));
                }
                _ => return Err(e),
            }
        }
    }

    /// Writes the setup's end: CONFIGURED, or FAILED with the error on the step that ran.
    pub(super) async fn finish_setup(&self, plan: &Plan, outcome: &Result<(), CoreError>) {
        *self.deployment.cancel.lock() = None;
        let now = self.clock.now();
        let failed = outcome.as_ref().err().map(|e| {
            text(
                "com.vmware.vcenter.deploy.task.failed",
                format!("The {} failed: {e}", plan.noun),
                vec![e.to_string()],
            )
        });
        let result = self
            .update_deployment(|d| {
                d.end_time = Some(now);
                d.cancelable = false;
                d.questions.clear();
                match &failed {
                    None => {
                        d.state = ApplianceState::Configured;
                        d.status = StepStatus::Succeeded;
                        d.progress = Some(Progress {
                            completed: plan.total(),
                            total: plan.total(),
                            message: success(),
                        });
                    }
                    Some(why) => {
                        d.state = ApplianceState::Failed;
                        d.status = StepStatus::Failed;
                        d.error = Some(why.clone());
                        if let Some(p) = d.progress.as_mut() {
                            p.message = why.clone();
                        }
                        for t in d.subtasks.values_mut() {
                            if t.status == StepStatus::Running {
                                t.status = StepStatus::Failed;
                                t.end_time = Some(now);
                                t.error = Some(why.clone());
                            }
                        }
                    }
                }
            })
            .await;
        match (outcome, result) {
            (_, Err(e)) => {
                tracing::error!(error = %e, "the {}'s end could not be recorded", plan.noun);
            }
            (Ok(()), Ok(_)) => tracing::info!("{} done: CONFIGURED", plan.noun),
            (Err(e), Ok(_)) => tracing::warn!(error = %e, "{} FAILED", plan.noun),
        }
    }
}
