//! Reconciliation (`recovery.reconciliation.job`): after a restore the store describes the
//! fleet as it was when the backup was made; VMs created, moved or removed since are only known
//! to the hosts' agents. The job asks every host's agent for its VMs and brings the records in
//! line (the same sync the heartbeats do), one host at a time, with progress. A host that does
//! not answer is named in the messages and the job ends FAILED — unless `ignore_warnings`, as
//! the seed's procedure sets it, then SUCCEEDED with those warnings; the heartbeats keep
//! trying such a host either way.
use parking_lot::Mutex;
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::auth::{Caller, Privilege};
use crate::inventory::{ConnectionState, HostFilter};
use crate::{Core, CoreError};

/// `reconciliation.job.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconcileStatus {
    None,
    Running,
    Succeeded,
    Failed,
}

impl ReconcileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReconcileStatus::None => "NONE",
            ReconcileStatus::Running => "RUNNING",
            ReconcileStatus::Succeeded => "SUCCEEDED",
            ReconcileStatus::Failed => "FAILED",
        }
    }
}

/// `reconciliation.job.info`.
#[derive(Debug, Clone)]
pub struct ReconcileInfo {
    pub status: ReconcileStatus,
    pub progress: u8,
    pub messages: Vec<String>,
    /// Why it failed.
    pub error: Option<String>,
    pub start_time: Option<OffsetDateTime>,
    pub end_time: Option<OffsetDateTime>,
    /// Who started it (`restore` after a restore).
    pub initiator: String,
}

impl ReconcileInfo {
    fn none() -> ReconcileInfo {
        ReconcileInfo {
            status: ReconcileStatus::None,
            progress: 0,
            messages: Vec::new(),
            error: None,
            start_time: None,
            end_time: None,
            initiator: String::new(),
        }
    }
}

#[derive(Default)]
pub(crate) struct ReconcileState {
    info: Mutex<Option<ReconcileInfo>>,
}

impl Core {
    /// `reconciliation.job.create`.
    pub async fn reconciliation_create(
        &self,
        caller: &Caller,
        ignore_warnings: bool,
    ) -> Result<ReconcileInfo, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        self.reconciliation_start(&caller.user, ignore_warnings)
            .await
    }

    /// `reconciliation.job.get`; NONE when none ran in this process.
    pub async fn reconciliation_get(&self, caller: &Caller) -> Result<ReconcileInfo, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(self
            .recovery
            .reconcile
            .info
            .lock()
            .clone()
            .unwrap_or_else(ReconcileInfo::none))
    }

    pub(crate) async fn reconciliation_start(
        &self,
        initiator: &str,
        ignore_warnings: bool,
    ) -> Result<ReconcileInfo, CoreError> {
        let info = {
            let mut slot = self.recovery.reconcile.info.lock();
            if slot
                .as_ref()
                .is_some_and(|i| i.status == ReconcileStatus::Running)
            {
                return Err(CoreError::invalid_state(
                    "a reconciliation job is already running",
                ));
            }
            let info = ReconcileInfo {
                status: ReconcileStatus::Running,
                start_time: Some(self.clock.now()),
                initiator: initiator.to_string(),
                messages: vec!["Reading the hosts".into()],
                ..ReconcileInfo::none()
            };
            *slot = Some(info.clone());
            info
        };
        let core = self.self_arc();
        tokio::spawn(async move {
            let (failed, synced) = core.reconcile_hosts().await;
            let mut slot = core.recovery.reconcile.info.lock();
            let Some(i) = slot.as_mut() else { return };
            i.progress = 100;
            i.end_time = Some(core.clock.now());
            i.messages = failed.clone();
            i.messages
                .push(format!("{synced} hosts brought in line with their agents"));
            if failed.is_empty() || ignore_warnings {
                i.status = ReconcileStatus::Succeeded;
                info!(synced, warnings = failed.len(), "reconciliation done");
            } else {
                i.status = ReconcileStatus::Failed;
                i.error = Some(format!(
                    "{} hosts could not be reconciled (set ignore_warnings to accept that)",
                    failed.len()
                ));
                warn!(synced, failed = failed.len(), "reconciliation failed");
            }
        });
        Ok(info)
    }

    /// Syncs every connected host's VMs with its agent: (what failed, how many synced).
    async fn reconcile_hosts(&self) -> (Vec<String>, usize) {
        let hosts = match self.store.list_hosts(&HostFilter::default()).await {
            Ok(h) => h,
            Err(e) => return (vec![format!("the hosts could not be read: {e}")], 0),
        };
        let total = hosts.len().max(1);
        let (mut failed, mut synced) = (Vec::new(), 0usize);
        for (n, h) in hosts.iter().enumerate() {
            if h.connection_state == ConnectionState::Connected {
                let r = async {
                    let vms = self.agent(h).await?.vms().await?;
                    self.sync_vms(h, &vms).await
                }
                .await;
                match r {
                    Ok(()) => synced += 1,
                    Err(e) => failed.push(format!("host {}: {e}", h.name)),
                }
            }
            if let Some(i) = self.recovery.reconcile.info.lock().as_mut() {
                i.progress = u8::try_from((n + 1) * 99 / total).unwrap_or(99);
                i.messages = vec![format!("Reconciled {} of {} hosts", n + 1, hosts.len())];
            }
        }
        (failed, synced)
    }
}
