//! Evacuation: migrating a host's VMs to the other hosts of its cluster.
use tokio::task::JoinSet;
use tracing::{info, warn};

use super::destinations::{choose, Refused, Target};
use crate::inventory::{ConnectionState, Host, HostFilter, HostState, VmInfo};
use crate::tasks::TaskContext;
use crate::{Core, CoreError};

impl Core {
    /// Migrates `vms` to other hosts of the cluster, at most `max_migrations_per_host` at once.
    /// Returns how many moved; VMs without a destination stay, and the caller waits. A
    /// destination that refused a VM is not offered it again while others can take it.
    pub(crate) async fn evacuate(
        &self,
        ctx: &TaskContext,
        source: &Host,
        vms: Vec<VmInfo>,
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
            let Ok(rt) = agent.runtime().await else {
                continue;
            };
            if rt.in_maintenance {
                continue;
            }
            targets.push(Target::new(h, rt.free_memory_bytes()));
        }
        let src = self.agent(source).await?;
        let total = vms.len();
        let mut moved = 0usize;
        let queue = choose(vms, &mut targets, refused);
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
                    let r = core
                        .migrate_one(src.as_ref(), &source, &dest, vm, &user, None)
                        .await;
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
