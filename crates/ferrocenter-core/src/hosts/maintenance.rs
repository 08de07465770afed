//! Maintenance mode (seeds/001): no power-on while entering or in it; done when no VM is powered
//! on (and none at all with evacuatePoweredOffVms); a fullyAutomated cluster evacuates.
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use ferrocenter_agent_client::wire::{MigrateRequest, Runtime, Vm, VmPowerState};
use serde_json::json;
use tokio::task::JoinSet;
use tracing::{info, warn};

use super::agent_fault;
use super::connection::host_task;
use super::sync::power_str;
use crate::auth::{Caller, Privilege};
use crate::inventory::{AutomationLevel, ConnectionState, Host, HostFilter, HostState};
use crate::tasks::{Task, TaskContext};
use crate::{Core, CoreError};

/// Memory a candidate destination still has free, as last seen minus what this evacuation
/// sends it, and how many VMs it was given this round.
struct Target {
    host: Host,
    free: u64,
    given: usize,
}

/// (VM uuid, destination host id) pairs a destination refused during one evacuation.
type Refused = HashSet<(String, String)>;

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
        if matches!(
            host.state,
            HostState::Maintenance | HostState::PreMaintenance
        ) {
            return Err(CoreError::invalid_state(format!(
                "host {} is already in or entering maintenance mode",
                host.name
            )));
        }
        let core = self.self_arc();
        let user = caller.user.clone();
        self.tasks
            .submit(
                host_task(
                    "host.enterMaintenance",
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
    ) -> Result<serde_json::Value, CoreError> {
        let mut host = self.host(host_id).await?;
        if matches!(
            host.state,
            HostState::Maintenance | HostState::PreMaintenance
        ) {
            return Err(CoreError::invalid_state(format!(
                "host {} is already in or entering maintenance mode",
                host.name
            )));
        }
        if host.connection_state != ConnectionState::Connected {
            return Err(CoreError::invalid_state(format!(
                "host {} is {}",
                host.name,
                host.connection_state.as_str()
            )));
        }
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
            agent
                .set_maintenance(true)
                .await
                .map_err(|e| agent_fault(&host.name, e))?;
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
                let vms = agent.vms().await.map_err(|e| agent_fault(&host.name, e))?;
                self.sync_vms(&host, &vms).await?;
                let blocking: Vec<Vm> = vms
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
                Ok(json!({"host": host.id, "migrated": migrated}))
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

    /// Migrates `vms` to other hosts of the cluster, at most `max_migrations_per_host` at once.
    /// Returns how many moved; VMs without a destination stay, and the caller waits. A
    /// destination that refused a VM is not offered it again while others can take it.
    async fn evacuate(
        &self,
        ctx: &TaskContext,
        source: &Host,
        vms: Vec<Vm>,
        user: &str,
        refused: &mut Refused,
    ) -> Result<usize, CoreError> {
        let candidates = self
            .store
            .list_hosts(&HostFilter {
                cluster_id: source.cluster_id.clone(),
                connection_state: Some(ConnectionState::Connected),
                ..Default::default()
            })
            .await?;
        let mut targets = Vec::new();
        for h in candidates {
            if h.id == source.id || h.state != HostState::Enabled {
                continue;
            }
            let Ok(agent) = self.agent(&h).await else {
                continue;
            };
            let Ok(rt): Result<Runtime, _> = agent.runtime().await else {
                continue;
            };
            if rt.in_maintenance {
                continue;
            }
            targets.push(Target {
                free: rt
                    .memory_capacity_bytes
                    .saturating_sub(rt.memory_used_bytes),
                host: h,
                given: 0,
            });
        }
        let src = self.agent(source).await?;
        let total = vms.len();
        let mut moved = 0usize;
        let mut queue: Vec<(Vm, Host)> = Vec::new();
        for vm in vms {
            let need = if vm.power_state == VmPowerState::PoweredOn {
                vm.memory_bytes
            } else {
                0
            };
            // The host given the fewest VMs so far, then the one with most free memory: spreads
            // the load across the cluster instead of filling the biggest host.
            if let Some(t) = targets
                .iter_mut()
                .filter(|t| {
                    t.free >= need && !refused.contains(&(vm.uuid.clone(), t.host.id.clone()))
                })
                .min_by_key(|t| (t.given, std::cmp::Reverse(t.free)))
            {
                t.free -= need;
                t.given += 1;
                queue.push((vm, t.host.clone()));
            }
        }
        if queue.is_empty() {
            // Nobody else can take them: a refusal may have been passing, so every destination
            // is offered again after the pause.
            refused.clear();
            ctx.sleep(self.config.hosts.maintenance_poll).await?;
            return Ok(0);
        }
        let limit = self.config.hosts.max_migrations_per_host.max(1);
        let mut running = JoinSet::new();
        let mut pending = queue.into_iter();
        let mut last_err = None;
        loop {
            while running.len() < limit {
                let Some((vm, dest)) = pending.next() else {
                    break;
                };
                let core = self.self_arc();
                let src = src.clone();
                let source = source.clone();
                let user = user.to_string();
                running.spawn(async move {
                    let pair = (vm.uuid.clone(), dest.id.clone());
                    let r = core.migrate_one(&src, &source, &dest, vm, &user).await;
                    (pair, r)
                });
            }
            tokio::select! {
                next = running.join_next() => match next {
                    None => break,
                    Some(Ok((_, Ok(())))) => {
                        moved += 1;
                        ctx.progress(
                            (10 + 85 * moved / total.max(1)).min(95) as u8,
                            format!("migrated {moved} of {total} VMs"),
                        )
                        .await;
                    }
                    Some(Ok((pair, Err(e)))) => {
                        warn!(host = %source.name, error = %e, "a migration failed; the VM stays");
                        refused.insert(pair);
                        last_err = Some(e);
                    }
                    Some(Err(e)) => last_err = Some(CoreError::internal(e.to_string())),
                },
                _ = ctx.stopped() => {
                    // Running migrations finish on their own (each leaves its VM on one host);
                    // no new ones start.
                    while let Some(r) = running.join_next().await {
                        if matches!(r, Ok((_, Ok(())))) { moved += 1; }
                    }
                    ctx.check()?;
                }
            }
        }
        if moved == 0 {
            if let Some(e) = last_err {
                info!(error = %e, "no VM could be migrated this round");
            }
            ctx.sleep(self.config.hosts.maintenance_poll).await?;
        }
        Ok(moved)
    }

    pub(crate) async fn migrate_one(
        &self,
        src: &ferrocenter_agent_client::AgentClient,
        source: &Host,
        dest: &Host,
        vm: Vm,
        user: &str,
    ) -> Result<(), CoreError> {
        let dst = self.agent(dest).await?;
        let ticket = dst
            .prepare_incoming(&vm)
            .await
            .map_err(|e| agent_fault(&dest.name, e))?;
        let req = MigrateRequest {
            destination_address: dest.address.clone(),
            destination_port: dest.port,
            destination_thumbprint: dest.thumbprint.clone(),
            migration_id: ticket.migration_id,
            ticket: ticket.ticket,
        };
        // Generous: the copy takes memory ÷ speed on the hosts.
        let timeout = Duration::from_secs(300 + vm.memory_bytes / (64 << 20));
        let result = src
            .migrate(&vm.uuid, &req, timeout)
            .await
            .map_err(|e| agent_fault(&source.name, e))?;
        if let Some(mut record) = self.store.find_vm_by_uuid(&vm.uuid).await? {
            record.host_id = dest.id.clone();
            record.power_state = power_str(&result.vm);
            record.last_op_at = self.clock.now();
            self.store.update_vm(&record).await?;
            self.record_event(
                "VmMigratedEvent",
                "vm",
                &record.id,
                &record.name,
                user,
                format!("Migrated {} from {} to {}", record.name, source.name, dest.name),
                json!({"source": source.id, "destination": dest.id, "duration_ms": result.duration_ms}),
            )
            .await;
        }
        Ok(())
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
        if host.state != HostState::Maintenance {
            return Err(CoreError::invalid_state(format!(
                "host {} is not in maintenance mode",
                host.name
            )));
        }
        let core = self.self_arc();
        let user = caller.user.clone();
        self.tasks
            .submit(
                host_task(
                    "host.exitMaintenance",
                    &host,
                    caller,
                    format!("Exit maintenance mode on {}", host.name),
                    true,
                    (timeout_secs > 0).then(|| Duration::from_secs(timeout_secs as u64)),
                ),
                move |_ctx| async move {
                    let mut host = core.host(&host.id).await?;
                    if host.state != HostState::Maintenance {
                        return Err(CoreError::invalid_state(format!(
                            "host {} is not in maintenance mode",
                            host.name
                        )));
                    }
                    let agent = core.agent(&host).await?;
                    agent
                        .set_maintenance(false)
                        .await
                        .map_err(|e| agent_fault(&host.name, e))?;
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
                    Ok(json!({"host": host.id}))
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
