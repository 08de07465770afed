//! Moving a VM to another host: the destination prepares and issues a ticket, the source sends.
use std::time::Duration;

use serde_json::json;
use tracing::warn;

use crate::auth::{Caller, Privilege};
use crate::hosts::endpoint;
use crate::inventory::{ConnectionState, Host, HostState, VmInfo};
use crate::ports::{AgentSession, Migrated};
use crate::tasks::Task;
use crate::tasks::TaskContext;
use crate::tasks::TaskKind;
use crate::{Core, CoreError};

impl Core {
    /// Moves a VM to another connected host of the same datacenter that is not entering or in
    /// maintenance mode.
    pub async fn migrate_vm(
        &self,
        caller: &Caller,
        vm_id: &str,
        dest_host_id: &str,
    ) -> Result<Task, CoreError> {
        self.auth.authorize(caller, Privilege::ResourceMigrate)?;
        let vm = self
            .store
            .get_vm(vm_id)
            .await?
            .ok_or_else(|| CoreError::not_found("VM", vm_id))?;
        let source = self.host(&vm.host_id).await?;
        let dest = self.host(dest_host_id).await?;
        if dest.id == source.id {
            return Err(CoreError::invalid(
                "host",
                format!("VM {} already runs on {}", vm.name, dest.name),
            ));
        }
        if dest.datacenter_id != source.datacenter_id {
            return Err(CoreError::invalid(
                "host",
                format!("{} is in another datacenter", dest.name),
            ));
        }
        for h in [&source, &dest] {
            if h.connection_state != ConnectionState::Connected {
                return Err(CoreError::invalid_state(format!(
                    "host {} is {}",
                    h.name,
                    h.connection_state.as_str()
                )));
            }
        }
        if matches!(
            dest.state,
            HostState::PreMaintenance | HostState::Maintenance | HostState::Disabled
        ) {
            return Err(CoreError::invalid_state(format!(
                "host {} takes no VMs ({})",
                dest.name,
                dest.state.as_str()
            )));
        }
        let core = self.self_arc();
        let user = caller.user.clone();
        let mut spec = Self::vm_task(
            TaskKind::VmMigrate,
            &vm,
            caller,
            format!("Migrate VM {} to {}", vm.name, dest.name),
        );
        // Until the switch-over the hypervisor can abandon the copy.
        spec.cancelable = true;
        self.tasks
            .submit(spec, move |ctx| async move {
                let src = core.agent(&source).await?;
                let wire = src
                    .vms()
                    .await?
                    .into_iter()
                    .find(|v| v.uuid == vm.uuid)
                    .ok_or_else(|| CoreError::not_found("VM", &vm.name))?;
                core.migrate_one(src.as_ref(), &source, &dest, wire, &user, Some(&ctx))
                    .await?;
                Ok(crate::tasks::TaskResult::VmMigrated {
                    vm: vm.id,
                    host: dest.id,
                })
            })
            .await
    }

    pub(crate) async fn migrate_one(
        &self,
        src: &dyn AgentSession,
        source: &Host,
        dest: &Host,
        vm: VmInfo,
        user: &str,
        ctx: Option<&TaskContext>,
    ) -> Result<(), CoreError> {
        let _under_way = self.in_flight.begin_migration(source, dest, &vm.name)?;
        // A removal that ended before this migration began took its host from the store.
        self.host(&source.id).await?;
        self.host(&dest.id).await?;
        let dst = self.agent(dest).await?;
        let ticket = dst.prepare_incoming(&vm).await?;
        // Generous: the copy takes memory ÷ speed on the hosts.
        let timeout = Duration::from_secs(300 + vm.memory_bytes / (64 << 20));
        let to = endpoint(dest);
        let migrating = src.migrate(&vm.uuid, &to, ticket.clone(), timeout);
        let result = match ctx {
            None => migrating.await,
            Some(ctx) => follow(src, &vm, ctx, migrating).await,
        };
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                // The source aborts the destination itself when it can; a source that died
                // cannot, and what the destination made ready would stay.
                if let Err(a) = dst.abort_incoming(&ticket).await {
                    warn!(vm = %vm.uuid, error = %a, "the destination's side of a failed migration was not released");
                }
                return Err(e);
            }
        };
        if let Some(mut record) = self.store.find_vm_by_instance_uuid(vm.identity()).await? {
            record.host_id = dest.id.clone();
            record.power_state = result.vm.power_state.as_str().to_string();
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
}

/// Waits for a migration, reporting the source's progress on the task each second and asking
/// the source to abandon it when the task is cancelled. A cancel that comes after the
/// switch-over is too late: the migration's own outcome stands.
async fn follow(
    src: &dyn AgentSession,
    vm: &VmInfo,
    ctx: &TaskContext,
    migrating: impl std::future::Future<Output = Result<Migrated, CoreError>>,
) -> Result<Migrated, CoreError> {
    tokio::pin!(migrating);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut cancelled = false;
    loop {
        tokio::select! {
            r = &mut migrating => {
                return match r {
                    Err(e) if cancelled => Err(ctx.check().err().unwrap_or(e)),
                    r => r,
                };
            }
            _ = tick.tick() => {
                if let Ok(p) = src.migration_progress(&vm.uuid).await {
                    if p.total_bytes > 0 {
                        ctx.progress(
                            5 + (u16::from(p.percent.min(99)) * 9 / 10) as u8,
                            format!(
                                "copied {} of {} MiB",
                                p.processed_bytes >> 20,
                                p.total_bytes >> 20
                            ),
                        )
                        .await;
                    }
                }
            }
            _ = ctx.stopped(), if !cancelled => {
                cancelled = true;
                if let Err(e) = src.cancel_migration(&vm.uuid).await {
                    warn!(vm = %vm.uuid, error = %e, "the migration could not be cancelled");
                }
            }
        }
    }
}
