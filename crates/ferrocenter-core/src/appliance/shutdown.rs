//! Appliance shutdown (`com.vmware.appliance.shutdown`): a reboot or power-off pending for a
//! delay in minutes, with a reason; `get` shows it, `cancel` drops it, a new request replaces
//! it, a delay of 0 acts at once.
//!
//! What it acts on is `ports::Lifecycle`'s to say: by default the ferrocenter process (a reboot
//! restarts it, a power-off stops it the clean way a SIGTERM does); the machine itself only
//! when the server is configured to allow it (`appliance_machine_actions`).
//!
//! The pending action lives in memory only: a restart of the server, for whatever reason,
//! clears it. A reboot that could be replayed from the store after the reboot it asked for
//! would loop.
use std::time::Duration;

use parking_lot::Mutex;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::auth::{Caller, Privilege};
use crate::ports::{MachineAction, ProcessAction};
use crate::{Core, CoreError};

/// The longest delay: a week.
pub const DELAY_MAX_MINUTES: i64 = 7 * 24 * 60;
/// The longest reason kept.
pub const REASON_MAX_CHARS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownAction {
    Reboot,
    PowerOff,
}

impl ShutdownAction {
    /// As `shutdown_config.action` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            ShutdownAction::Reboot => "reboot",
            ShutdownAction::PowerOff => "poweroff",
        }
    }
}

/// What `get` answers: the pending action, or none (action and reason empty, no time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownConfig {
    pub shutdown_time: Option<OffsetDateTime>,
    pub action: String,
    pub reason: String,
}

struct Pending {
    action: ShutdownAction,
    at: OffsetDateTime,
    reason: String,
    cancel: CancellationToken,
}

#[derive(Default)]
pub(crate) struct ShutdownState {
    pending: Mutex<Option<Pending>>,
}

/// `delay`: whole minutes, 0 (now) to [`DELAY_MAX_MINUTES`].
pub fn delay(minutes: i64) -> Result<Duration, CoreError> {
    if !(0..=DELAY_MAX_MINUTES).contains(&minutes) {
        return Err(CoreError::invalid(
            "delay",
            format!("must be 0 to {DELAY_MAX_MINUTES} minutes; {minutes} is not"),
        ));
    }
    Ok(Duration::from_secs(minutes.unsigned_abs() * 60))
}

/// `reason`: any text of at most [`REASON_MAX_CHARS`] characters.
pub fn reason(text: &str) -> Result<(), CoreError> {
    if text.chars().count() > REASON_MAX_CHARS {
        return Err(CoreError::invalid(
            "reason",
            format!("must be at most {REASON_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

impl Core {
    /// The pending action, if any.
    pub async fn shutdown_get(&self, caller: &Caller) -> Result<ShutdownConfig, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(match &*self.shutdown.pending.lock() {
            Some(p) => ShutdownConfig {
                shutdown_time: Some(p.at),
                action: p.action.as_str().to_string(),
                reason: p.reason.clone(),
            },
            None => ShutdownConfig {
                shutdown_time: None,
                action: String::new(),
                reason: String::new(),
            },
        })
    }

    /// Schedules `action` in `delay_minutes`, replacing whatever was pending.
    pub async fn shutdown_schedule(
        &self,
        caller: &Caller,
        action: ShutdownAction,
        delay_minutes: i64,
        why: &str,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let wait = delay(delay_minutes)?;
        reason(why)?;
        let at = self.clock.now() + wait;
        let cancel = CancellationToken::new();
        // A token is cancelled under the lock, so the timer that finds its own uncancelled
        // under the lock is still the pending one.
        let replaced = {
            let mut pending = self.shutdown.pending.lock();
            let old = pending.replace(Pending {
                action,
                at,
                reason: why.to_string(),
                cancel: cancel.clone(),
            });
            if let Some(old) = &old {
                old.cancel.cancel();
            }
            old
        };
        if let Some(old) = replaced {
            info!(
                replaced = old.action.as_str(),
                "appliance shutdown: the pending action was replaced"
            );
        }
        info!(
            action = action.as_str(),
            delay_minutes,
            by = %caller.user,
            reason = why,
            "appliance shutdown scheduled"
        );
        let core = self.self_arc();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = cancel.cancelled() => return,
            }
            {
                let mut pending = core.shutdown.pending.lock();
                if cancel.is_cancelled() {
                    return;
                }
                *pending = None;
            }
            core.shutdown_now(action).await;
        });
        Ok(())
    }

    /// Drops the pending action; nothing pending is not an error.
    pub async fn shutdown_cancel(&self, caller: &Caller) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let dropped = {
            let mut pending = self.shutdown.pending.lock();
            let p = pending.take();
            if let Some(p) = &p {
                p.cancel.cancel();
            }
            p
        };
        if let Some(p) = dropped {
            info!(
                action = p.action.as_str(),
                by = %caller.user,
                "appliance shutdown cancelled"
            );
        }
        Ok(())
    }

    async fn shutdown_now(&self, action: ShutdownAction) {
        let lifecycle = &self.machine.lifecycle;
        let done = if lifecycle.acts_on_machine() {
            warn!(
                action = action.as_str(),
                "appliance shutdown: the machine now"
            );
            lifecycle
                .machine(match action {
                    ShutdownAction::Reboot => MachineAction::Reboot,
                    ShutdownAction::PowerOff => MachineAction::PowerOff,
                })
                .await
        } else {
            warn!(
                action = action.as_str(),
                "appliance shutdown: the ferrocenter process now"
            );
            lifecycle
                .process(match action {
                    ShutdownAction::Reboot => ProcessAction::Restart,
                    ShutdownAction::PowerOff => ProcessAction::Stop,
                })
                .await
        };
        if let Err(e) = done {
            error!(action = action.as_str(), error = %e, "appliance shutdown failed");
        }
    }
}
