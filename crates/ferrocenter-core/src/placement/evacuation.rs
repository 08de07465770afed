//! Evacuation: migrating a host's VMs to the other hosts of its cluster.
use std::collections::HashSet;

use ferrocenter_agent_client::wire::{Runtime, Vm, VmPowerState};
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::inventory::{ConnectionState, Host, HostFilter, HostState};
use crate::tasks::TaskContext;
use crate::{Core, CoreError};

/// Memory a candidate destination still has free, as last seen minus what this evacuation
/// sends it, and how many VMs it was given this round.
struct Target {
    host: Host,
    free: u64,
    given: usize,
}

/// (VM uuid, destination host id) pairs a destination refused during one evacuation.
pub(crate) type Refused = HashSet<(String, String)>;

impl Core {
    /// Migrates `vms` to other hosts of the cluster, at most `max_migrations_per_host` at once.
    /// Returns how many moved; VMs without a destination stay, and the caller waits. A
    /// destination that refused a VM is not offered it again while others can take it.
    pub(crate) async fn evacuate(
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
}
