//! Removing a host: its VMs are powered off and the claim released, then the record goes.
use serde_json::json;

use super::connection::host_task;
use crate::auth::{Caller, Privilege};
use crate::inventory::VmPowerState;
use crate::ports::PowerAction;
use crate::tasks::Task;
use crate::tasks::TaskKind;
use crate::{Core, CoreError};

/// ZStack's deleteMode: Permissive stops the VMs and aborts on any error; Enforcing always
/// removes the host from the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveMode {
    Permissive,
    Enforcing,
}

impl Core {
    pub async fn remove_host(
        &self,
        caller: &Caller,
        host_id: &str,
        mode: RemoveMode,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostInventoryRemoveHostFromCluster)?;
        let host = self.host(host_id).await?;
        let core = self.self_arc();
        let user = caller.user.clone();
        self.tasks
            .submit(
                host_task(TaskKind::HostRemove, &host, caller, format!("Remove host {}", host.name), false, None),
                move |_ctx| async move {
                    let host = core.host(&host.id).await?;
                    let cleanup = async {
                        let agent = core.agent(&host).await?;
                        for vm in agent.vms().await? {
                            if vm.power_state != VmPowerState::PoweredOff {
                                agent
                                    .power(&vm.uuid, PowerAction::Off)
                                    .await?;
                            }
                        }
                        let uuid = core.server_uuid().await?;
                        agent
                            .release_claim(&uuid)
                            .await
                    }
                    .await;
                    if let Err(e) = cleanup {
                        if mode == RemoveMode::Permissive {
                            return Err(e);
                        }
                        tracing::warn!(host = %host.name, error = %e, "removing anyway (Enforcing)");
                    }
                    core.store.delete_host(&host.id).await?;
                    core.sessions.forget(&host.id);
                    core.record_event(
                        "HostRemovedEvent",
                        "host",
                        &host.id,
                        &host.name,
                        &user,
                        format!("Removed host {}", host.name),
                        json!({}),
                    )
                    .await;
                    Ok(crate::tasks::TaskResult::Host { host: host.id })
                },
            )
            .await
    }
}
