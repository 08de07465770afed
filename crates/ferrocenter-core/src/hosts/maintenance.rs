//! Maintenance mode (seeds/001): no power-on while entering or in it; done when no VM is powered
//! on (and none at all with evacuatePoweredOffVms); a fullyAutomated cluster evacuates.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tracing::warn;

use super::connection::host_task;
use super::guard::{allowed, HostOperation};
use crate::auth::{Caller, Privilege};
use crate::inventory::{AutomationLevel, HostState, VmInfo, VmPowerState};
use crate::placement::Refused;
use crate::saga::{Saga, Step, StepFuture};
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
                    let mut st = Entering {
                        core: core.clone(),
                        ctx: ctx.clone(),
                        host_id: host.id.clone(),
                        evacuate_powered_off,
                        user: user.clone(),
                        previous: None,
                        migrated: 0,
                    };
                    let r = core.run_saga(&ENTER_MAINTENANCE, &mut st, Some(&ctx)).await;
                    let host = core.host(&host.id).await?;
                    match r {
                        Ok(()) => {
                            core.record_event(
                                "EnteredMaintenanceModeEvent",
                                "host",
                                &host.id,
                                &host.name,
                                &user,
                                format!("Host {} is in maintenance mode", host.name),
                                json!({"migrated": st.migrated}),
                            )
                            .await;
                            Ok(crate::tasks::TaskResult::HostInMaintenance {
                                host: host.id,
                                migrated: st.migrated,
                            })
                        }
                        // Only a host that started entering says it did not.
                        Err(e) if st.previous.is_some() => {
                            core.record_event(
                                "ExitMaintenanceModeEvent",
                                "host",
                                &host.id,
                                &host.name,
                                &user,
                                format!("Host {} did not enter maintenance mode: {e}", host.name),
                                json!({}),
                            )
                            .await;
                            Err(e)
                        }
                        Err(e) => Err(e),
                    }
                },
            )
            .await
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

/// The enter-maintenance flow's state.
pub struct Entering {
    core: Arc<Core>,
    ctx: TaskContext,
    host_id: String,
    evacuate_powered_off: bool,
    user: String,
    /// The state the host was in before this flow (set once it started entering).
    previous: Option<HostState>,
    migrated: usize,
}

/// Entering maintenance mode, step by step; undone, the host is back in its previous state
/// and may power VMs on again.
pub static ENTER_MAINTENANCE: Saga<Entering> = Saga {
    name: "host enter maintenance",
    steps: &[
        Step {
            name: "entering",
            note: "entering maintenance mode",
            action: entering,
            undo: Some(back_to_previous_state),
        },
        Step {
            name: "host flag",
            note: "refusing power-on on the host",
            action: host_flag,
            undo: Some(clear_host_flag),
        },
        Step {
            name: "evacuate",
            note: "waiting for VMs to leave or power off",
            action: evacuate,
            undo: None,
        },
        Step {
            name: "in maintenance",
            note: "in maintenance mode",
            action: in_maintenance,
            undo: None,
        },
    ],
};

fn entering(st: &mut Entering) -> StepFuture<'_> {
    Box::pin(async move {
        let core = st.core.clone();
        let mut host = core.host(&st.host_id).await?;
        if st.previous.is_some() {
            // Done already (a retried step).
            return Ok(());
        }
        allowed(&host, HostOperation::EnterMaintenance)?;
        st.previous = Some(host.state);
        host.previous_state = Some(host.state);
        host.state = HostState::PreMaintenance;
        core.store.update_host(&host).await?;
        core.record_event(
            "EnteringMaintenanceModeEvent",
            "host",
            &host.id,
            &host.name,
            &st.user,
            format!("Host {} is entering maintenance mode", host.name),
            json!({}),
        )
        .await;
        Ok(())
    })
}

fn back_to_previous_state(st: &mut Entering) -> StepFuture<'_> {
    Box::pin(async move {
        let Some(previous) = st.previous else {
            return Ok(());
        };
        let mut host = st.core.host(&st.host_id).await?;
        host.state = previous;
        host.previous_state = None;
        st.core.store.update_host(&host).await?;
        Ok(())
    })
}

/// The host itself refuses power-on from now on.
fn host_flag(st: &mut Entering) -> StepFuture<'_> {
    Box::pin(async move {
        let host = st.core.host(&st.host_id).await?;
        st.core.agent(&host).await?.set_maintenance(true).await?;
        Ok(())
    })
}

fn clear_host_flag(st: &mut Entering) -> StepFuture<'_> {
    Box::pin(async move {
        let host = st.core.host(&st.host_id).await?;
        if let Err(err) = async { st.core.agent(&host).await?.set_maintenance(false).await }.await {
            warn!(host = %host.name, error = %err, "could not clear maintenance on the host");
        }
        Ok(())
    })
}

/// Until no VM blocks: a fullyAutomated cluster moves them away, otherwise wait for people to.
fn evacuate(st: &mut Entering) -> StepFuture<'_> {
    Box::pin(async move {
        let core = st.core.clone();
        let ctx = &st.ctx;
        let host = core.host(&st.host_id).await?;
        let agent = core.agent(&host).await?;
        let automated = match &host.cluster_id {
            Some(c) => core
                .store
                .get_cluster(c)
                .await?
                .is_some_and(|c| c.automation_level == AutomationLevel::FullyAutomated),
            None => false,
        };
        let mut refused = Refused::default();
        loop {
            ctx.check()?;
            let vms = agent.vms().await?;
            core.sync_vms(&host, &vms).await?;
            let blocking: Vec<VmInfo> = vms
                .into_iter()
                .filter(|v| st.evacuate_powered_off || v.power_state != VmPowerState::PoweredOff)
                .collect();
            if blocking.is_empty() {
                return Ok(());
            }
            ctx.progress(
                10,
                format!("waiting for {} VMs to leave or power off", blocking.len()),
            )
            .await;
            if automated {
                st.migrated += core
                    .evacuate(ctx, &host, blocking, &st.user, &mut refused)
                    .await?;
            } else {
                ctx.sleep(core.config.hosts.maintenance_poll).await?;
            }
        }
    })
}

fn in_maintenance(st: &mut Entering) -> StepFuture<'_> {
    Box::pin(async move {
        let mut host = st.core.host(&st.host_id).await?;
        host.state = HostState::Maintenance;
        host.last_op_at = st.core.clock.now();
        st.core.store.update_host(&host).await?;
        Ok(())
    })
}
