//! Maintenance mode (seeds/001): no power-on while entering or in it; done when no VM is powered
//! on (and none at all with evacuatePoweredOffVms); a fullyAutomated cluster evacuates.
use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use tracing::warn;

use super::connection::host_task;
use super::guard::{allowed, HostOperation};
use crate::auth::{Caller, Privilege};
use crate::inventory::{AutomationLevel, HostState, VmInfo, VmPowerState};
use crate::placement::Refused;
use crate::tasks::TaskKind;
use crate::tasks::{Task, TaskContext};
use crate::{Core, CoreError};

impl Core {
    pub async fn enter_maintenance(
        &self,
        caller: &Caller,
        host_id: &str,
        timeout_secs: i64,
        evacuate_powered_off: bool,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostConfigMaintenance)?;
        let host = self.host(host_id).await?;
        // A host already in maintenance is refused at once; the connection is checked when
        // the task runs (vim reports that refusal in the task).
        if matches!(
            host.state,
            HostState::Maintenance | HostState::PreMaintenance
        ) {
            allowed(&host, HostOperation::EnterMaintenance)?;
        }
        let core = self.self_arc();
        let user = caller.user.clone();
        self.tasks
            .submit(
                host_task(
                    TaskKind::HostEnterMaintenance,
                    &host,
                    caller,
                    format!("Enter maintenance mode on {}", host.name),
                    true,
                    (timeout_secs > 0).then(|| Duration::from_secs(timeout_secs as u64)),
                ),
                move |ctx| async move {
                    core.enter_steps(&ctx, &host.id, evacuate_powered_off, &user)
                        .await
                },
            )
            .await
    }

    async fn enter_steps(
        &self,
        ctx: &TaskContext,
        host_id: &str,
        evacuate_powered_off: bool,
        user: &str,
    ) -> Result<crate::tasks::TaskResult, CoreError> {
        let mut host = self.host(host_id).await?;
        allowed(&host, HostOperation::EnterMaintenance)?;
        let previous = host.state;
        host.previous_state = Some(previous);
        host.state = HostState::PreMaintenance;
        self.store.update_host(&host).await?;
        self.record_event(
            "EnteringMaintenanceModeEvent",
            "host",
            &host.id,
            &host.name,
            user,
            format!("Host {} is entering maintenance mode", host.name),
            json!({}),
        )
        .await;
        let r = async {
            let agent = self.agent(&host).await?;
            // The host itself refuses power-on from now on.
            agent.set_maintenance(true).await?;
            let automated = match &host.cluster_id {
                Some(c) => self
                    .store
                    .get_cluster(c)
                    .await?
                    .is_some_and(|c| c.automation_level == AutomationLevel::FullyAutomated),
                None => false,
            };
            let mut migrated = 0usize;
            let mut refused = Refused::default();
            loop {
                ctx.check()?;
                let vms = agent.vms().await?;
                self.sync_vms(&host, &vms).await?;
                let blocking: Vec<VmInfo> = vms
                    .into_iter()
                    .filter(|v| evacuate_powered_off || v.power_state != VmPowerState::PoweredOff)
                    .collect();
                if blocking.is_empty() {
                    break;
                }
                ctx.progress(
                    10,
                    format!("waiting for {} VMs to leave or power off", blocking.len()),
                )
                .await;
                if automated {
                    migrated += self
                        .evacuate(ctx, &host, blocking, user, &mut refused)
                        .await?;
                } else {
                    ctx.sleep(self.config.hosts.maintenance_poll).await?;
                }
            }
            Ok::<_, CoreError>(migrated)
        }
        .await;
        match r {
            Ok(migrated) => {
                let mut host = self.host(host_id).await?;
                host.state = HostState::Maintenance;
                host.last_op_at = self.clock.now();
                self.store.update_host(&host).await?;
                self.record_event(
                    "EnteredMaintenanceModeEvent",
                    "host",
                    &host.id,
                    &host.name,
                    user,
                    format!("Host {} is in maintenance mode", host.name),
                    json!({"migrated": migrated}),
                )
                .await;
                Ok(crate::tasks::TaskResult::HostInMaintenance {
                    host: host.id,
                    migrated,
                })
            }
            Err(e) => {
                // Back to where it was: the host may power VMs on again.
                let mut host = self.host(host_id).await?;
                host.state = previous;
                host.previous_state = None;
                self.store.update_host(&host).await?;
                if let Ok(agent) = self.agent(&host).await {
                    if let Err(err) = agent.set_maintenance(false).await {
                        warn!(host = %host.name, error = %err, "could not clear maintenance on the host");
                    }
                }
                self.record_event(
                    "ExitMaintenanceModeEvent",
                    "host",
                    &host.id,
                    &host.name,
                    user,
                    format!("Host {} did not enter maintenance mode: {e}", host.name),
                    json!({}),
                )
                .await;
                Err(e)
            }
        }
    }

    pub async fn exit_maintenance(
        &self,
        caller: &Caller,
        host_id: &str,
        timeout_secs: i64,
    ) -> Result<Task, CoreError> {
        self.exit_maintenance_to(caller, host_id, timeout_secs, None)
            .await
    }

    /// Leaves maintenance mode into `then`, or into the state the host had before.
    pub(crate) async fn exit_maintenance_to(
        &self,
        caller: &Caller,
        host_id: &str,
        timeout_secs: i64,
        then: Option<HostState>,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostConfigMaintenance)?;
        let host = self.host(host_id).await?;
        allowed(&host, HostOperation::ExitMaintenance)?;
        let core = self.self_arc();
        let user = caller.user.clone();
        self.tasks
            .submit(
                host_task(
                    TaskKind::HostExitMaintenance,
                    &host,
                    caller,
                    format!("Exit maintenance mode on {}", host.name),
                    true,
                    (timeout_secs > 0).then(|| Duration::from_secs(timeout_secs as u64)),
                ),
                move |_ctx| async move {
                    let mut host = core.host(&host.id).await?;
                    allowed(&host, HostOperation::ExitMaintenance)?;
                    let agent = core.agent(&host).await?;
                    agent.set_maintenance(false).await?;
                    let before = host.previous_state.take();
                    host.state = then.or(before).unwrap_or(HostState::Enabled);
                    if host.state == HostState::PreMaintenance
                        || host.state == HostState::Maintenance
                    {
                        host.state = HostState::Enabled;
                    }
                    host.last_op_at = core.clock.now();
                    core.store.update_host(&host).await?;
                    core.record_event(
                        "ExitMaintenanceModeEvent",
                        "host",
                        &host.id,
                        &host.name,
                        &user,
                        format!("Host {} has exited maintenance mode", host.name),
                        json!({}),
                    )
                    .await;
                    Ok(crate::tasks::TaskResult::Host { host: host.id })
                },
            )
            .await
    }

    /// VMs per host, for tests and listings.
    pub async fn vm_count_by_host(&self) -> Result<HashMap<String, usize>, CoreError> {
        let mut m = HashMap::new();
        for v in self.store.list_vms(None).await? {
            *m.entry(v.host_id).or_insert(0) += 1;
        }
        Ok(m)
    }
}
