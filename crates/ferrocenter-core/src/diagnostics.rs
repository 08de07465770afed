//! ferrocenter's own diagnostic operations, enabled with `--enable-diagnostics`. The sleep task
//! exercises the task engine end to end (queues, progress, cancel, timeout, restart recovery)
//! without touching any host.
use std::time::Duration;

use crate::auth::{Caller, Privilege};
use crate::model::EntityRef;
use crate::tasks::{Task, TaskSpec};
use crate::{Core, CoreError};

const MAX_MS: u64 = 3_600_000;

/// A task that sleeps in ten steps, reporting progress after each.
#[derive(Debug, Clone, Default)]
pub struct SleepSpec {
    pub duration_ms: u64,
    /// Tasks naming the same target run one at a time.
    pub target: Option<String>,
    pub cancelable: bool,
    pub timeout_ms: Option<u64>,
    /// When set, the task fails with this message after sleeping.
    pub fail_message: Option<String>,
}

impl SleepSpec {
    fn validate(&self) -> Result<(), CoreError> {
        if self.duration_ms > MAX_MS {
            return Err(CoreError::invalid(
                "duration_ms",
                format!("must be at most {MAX_MS}"),
            ));
        }
        if let Some(t) = &self.target {
            if t.is_empty()
                || t.len() > 80
                || !t
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(CoreError::invalid(
                    "target",
                    "must be 1 to 80 letters, digits, '-', '_' or '.'",
                ));
            }
        }
        if let Some(t) = self.timeout_ms {
            if t == 0 || t > MAX_MS {
                return Err(CoreError::invalid(
                    "timeout_ms",
                    format!("must be between 1 and {MAX_MS}"),
                ));
            }
        }
        if let Some(m) = &self.fail_message {
            if m.len() > 1000 {
                return Err(CoreError::invalid(
                    "fail_message",
                    "must be at most 1000 bytes",
                ));
            }
        }
        Ok(())
    }
}

impl Core {
    pub async fn diagnostic_sleep(
        &self,
        caller: &Caller,
        spec: SleepSpec,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::FerrocenterDiagnostics)?;
        spec.validate()?;
        let task_spec = TaskSpec {
            kind: crate::tasks::TaskKind::DiagnosticsSleep,
            target: spec.target.clone().map(|t| EntityRef::new("diagnostic", t)),
            initiator: caller.user.clone(),
            description: format!("Sleep for {} ms", spec.duration_ms),
            cancelable: spec.cancelable,
            timeout: spec.timeout_ms.map(Duration::from_millis),
        };
        self.tasks
            .submit(task_spec, move |ctx| async move {
                let step = Duration::from_millis(spec.duration_ms / 10);
                for i in 1..=10u8 {
                    ctx.sleep(step).await?;
                    ctx.progress(i * 10, format!("slept {i} of 10 steps")).await;
                }
                match spec.fail_message {
                    Some(m) => Err(CoreError::internal(m)),
                    None => Ok(crate::tasks::TaskResult::Slept {
                        slept_ms: spec.duration_ms,
                    }),
                }
            })
            .await
    }
}
