//! Removing a host: its VMs are powered off and the claim released, then the record goes; a
//! host already cut off from its agent goes even when its agent cannot be reached. A host that
//! a migration leaves or reaches is not removed (`in_flight.rs`).
use serde_json::json;

use super::connection::host_task;
use crate::auth::{Caller, Privilege};
use crate::inventory::{ConnectionState, VmPowerState};
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
                host_task(
                    TaskKind::HostRemove,
                    &host,
                    caller,
                    format!("Remove host {}", host.name),
                    false,
                    None,
                ),
                move |_ctx| async move {
                    let host = core.host(&host.id).await?;
                    let _removing = core.in_flight.begin_removal(&host)?;
                    let cleanup = async {
                        let agent = core.agent(&host).await?;
                        for vm in agent.vms().await? {
                            if vm.power_state != VmPowerState::PoweredOff {
                                agent.power(&vm.uuid, PowerAction::Off).await?;
                            }
                        }
                        let uuid = core.server_uuid().await?;
                        agent.release_claim(&uuid).await
                    }
                    .await;
                    if let Err(e) = cleanup {
                        // A host already cut off (disconnected, not responding) is removed
                        // whatever its agent answers, as vCenter and ZStack remove one whose
                        // agent is gone; only a connected host's failure stops a Permissive
                        // removal.
                        let cut_off = host.connection_state != ConnectionState::Connected;
                        if mode == RemoveMode::Permissive && !cut_off {
                            return Err(e);
                        }
                        tracing::warn!(host = %host.name, error = %e,
                            "removing without releasing the host's agent");
                        core.record_event(
                            "GeneralHostWarningEvent",
                            "host",
                            &host.id,
                            &host.name,
                            &user,
                            format!(
                                "The agent of {} could not be reached or refused: its VMs were \
                                 not stopped and it was not released, so it may still name this \
                                 server as its manager ({e})",
                                host.name
                            ),
                            json!({"agentReleased": false}),
                        )
                        .await;
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
