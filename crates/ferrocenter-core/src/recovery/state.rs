//! What the recovery jobs share in memory: one backup or restore at a time, as the seed
//! requires ("verify that no other backup or restore jobs are running").
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::CoreError;

/// Where the recovery jobs keep their files, and the name this server files its scheduled
/// archives under.
#[derive(Debug, Clone)]
pub struct RecoveryConfig {
    /// Staging of archives and the restore record; the server gives its data directory.
    pub work_dir: PathBuf,
    /// `recovery.backup.system_name`: the directory a schedule's archives go into under its
    /// location. The server gives its host name.
    pub system_name: String,
    /// How often the backup scheduler looks at the clock (`schedules`).
    pub schedule_check: std::time::Duration,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            work_dir: std::env::temp_dir().join("ferrocenter-recovery"),
            system_name: "ferrocenter".into(),
            schedule_check: super::schedules::DEFAULT_SCHEDULE_CHECK,
        }
    }
}

#[derive(Default)]
pub(crate) struct RecoveryState {
    running: Arc<Mutex<Option<&'static str>>>,
    pub(crate) restore: super::restore_job::RestoreState,
    pub(crate) reconcile: super::reconcile::ReconcileState,
}

/// Held by the running job; dropping it frees the slot.
pub(crate) struct Claim {
    running: Arc<Mutex<Option<&'static str>>>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        *self.running.lock() = None;
    }
}

impl RecoveryState {
    /// Takes the one slot for a `backup` or a `restore`, or says which job holds it.
    pub(crate) fn claim(&self, what: &'static str) -> Result<Claim, CoreError> {
        let mut r = self.running.lock();
        if let Some(other) = *r {
            return Err(CoreError::invalid_state(format!(
                "a {other} job is running: one backup or restore runs at a time"
            )));
        }
        *r = Some(what);
        Ok(Claim {
            running: self.running.clone(),
        })
    }

    /// Why a new job would wait, if one is running.
    pub(crate) fn busy(&self) -> Option<String> {
        self.running
            .lock()
            .map(|other| format!("a {other} job is running: one backup or restore runs at a time"))
    }
}
