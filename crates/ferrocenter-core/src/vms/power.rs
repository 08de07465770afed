//! Task forms of operations that other surfaces run synchronously: vim's Rename_Task,
//! PowerDownHostToStandBy_Task / PowerUpHostFromStandBy_Task, PowerOnVM_Task / PowerOffVM_Task,
//! and MigrateVM_Task. Permission and state are checked before the task is created, so a caller
//! who may not run it gets the fault at once and no task.
use ferrocenter_agent_client::wire::PowerAction;
use serde_json::json;

use crate::hosts::add::validate_entity_name;
use crate::hosts::agent_fault;
use crate::hosts::connection::host_task;
use crate::auth::{Caller, Privilege};
use crate::inventory::{AutomationLevel, ConnectionState, HostState, VmRecord};
use crate::model::EntityRef;
use crate::tasks::{Task, TaskSpec};
use crate::{Core, CoreError};

impl Core {
    pub async fn rename_host_task(
        &self,
        caller: &Caller,
        host_id: &str,
        new_name: &str,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostConfigConnection)?;
        validate_entity_name("newName", new_name)?;
        let host = self.host(host_id).await?;
        let core = self.self_arc();
        let (who, name) = (caller.clone(), new_name.to_string());
        self.tasks
            .submit(
                host_task(
                    "host.rename",
                    &host,
                    caller,
                    format!("Rename host {} to {new_name}", host.name),
                    false,
                    None,
                ),
                move |_ctx| async move {
                    let h = core.rename_host(&who, &host.id, &name).await?;
                    Ok(json!({"host": h.id}))
                },
            )
            .await
    }

    /// Standby as a task: down needs a connected host not already in standby and no powered-on
    /// VM; up needs a host in standby.
    pub async fn host_standby_task(
        &self,
        caller: &Caller,
        host_id: &str,
        down: bool,
        timeout_secs: i64,
    ) -> Result<Task, CoreError> {
        self.auth.authorize(caller, Privilege::HostConfigPower)?;
        let host = self.host(host_id).await?;
        if host.connection_state != ConnectionState::Connected {
            return Err(CoreError::invalid_state(format!(
                "host {} is {}",
                host.name,
                host.connection_state.as_str()
            )));
        }
        let in_standby = host.power_state == "standBy";
        if down && in_standby {
            return Err(CoreError::invalid_state(format!(
                "host {} is already in standby",
                host.name
            )));
        }
        if !down && !in_standby {
            return Err(CoreError::invalid_state(format!(
                "host {} is not in standby",
                host.name
            )));
        }
        let core = self.self_arc();
        let who = caller.clone();
        let timeout =
            (timeout_secs > 0).then(|| std::time::Duration::from_secs(timeout_secs as u64));
        self.tasks
            .submit(
                host_task(
                    if down {
                        "host.standbyDown"
                    } else {
                        "host.standbyUp"
                    },
                    &host,
                    caller,
                    format!(
                        "{} host {}",
                        if down {
                            "Enter standby on"
                        } else {
                            "Exit standby on"
                        },
                        host.name
                    ),
                    true,
                    timeout,
                ),
                move |ctx| async move {
                    if down {
                        // Like maintenance mode, standby waits until no VM runs on the host.
                        loop {
                            let vms = core.store.list_vms(Some(&host.id)).await?;
                            if !vms.iter().any(|v| v.power_state == "poweredOn") {
                                break;
                            }
                            ctx.progress(10, "waiting for powered-on VMs to stop or move")
                                .await;
                            ctx.sleep(core.config.hosts.maintenance_poll).await?;
                        }
                    }
                    let h = core.host_standby(&who, &host.id, down).await?;
                    Ok(json!({"host": h.id, "powerState": h.power_state}))
                },
            )
            .await
    }

    fn vm_task(kind: &str, vm: &VmRecord, caller: &Caller, description: String) -> TaskSpec {
        TaskSpec {
            kind: kind.into(),
            target: Some(EntityRef::new("vm", vm.id.clone())),
            initiator: caller.user.clone(),
            description,
            cancelable: false,
            timeout: None,
        }
    }

    pub async fn power_vm_task(
        &self,
        caller: &Caller,
        vm_id: &str,
        action: PowerAction,
    ) -> Result<Task, CoreError> {
        let privilege = match action {
            PowerAction::On => Privilege::VirtualMachinePowerOn,
            _ => Privilege::VirtualMachinePowerOff,
        };
        self.auth.authorize(caller, privilege)?;
        let vm = self
            .store
            .get_vm(vm_id)
            .await?
            .ok_or_else(|| CoreError::not_found("VM", vm_id))?;
        let wanted = if action == PowerAction::On {
            "poweredOn"
        } else {
            "poweredOff"
        };
        if vm.power_state == wanted {
            return Err(CoreError::already_in_state(format!(
                "VM {} is already {wanted}",
                vm.name
            )));
        }
        if action == PowerAction::On {
            // Checked again when the task runs; refusing now spares the caller a task.
            crate::hosts::config::power_on_allowed(&self.host(&vm.host_id).await?)?;
        }
        let core = self.self_arc();
        let who = caller.clone();
        let (kind, what) = if action == PowerAction::On {
            ("vm.powerOn", "Power on")
        } else {
            ("vm.powerOff", "Power off")
        };
        self.tasks
            .submit(
                Self::vm_task(kind, &vm, caller, format!("{what} VM {}", vm.name)),
                move |_ctx| async move {
                    let v = core.power_vm(&who, &vm.id, action).await?;
                    Ok(json!({"vm": v.id, "powerState": v.power_state}))
                },
            )
            .await
    }

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
        self.tasks
            .submit(
                Self::vm_task(
                    "vm.migrate",
                    &vm,
                    caller,
                    format!("Migrate VM {} to {}", vm.name, dest.name),
                ),
                move |_ctx| async move {
                    let src = core.agent(&source).await?;
                    let wire = src
                        .vms()
                        .await
                        .map_err(|e| agent_fault(&source.name, e))?
                        .into_iter()
                        .find(|v| v.uuid == vm.uuid)
                        .ok_or_else(|| CoreError::not_found("VM", &vm.name))?;
                    core.migrate_one(&src, &source, &dest, wire, &user).await?;
                    Ok(json!({"vm": vm.id, "host": dest.id}))
                },
            )
            .await
    }

    /// vim ReconfigureComputeResource_Task for a cluster's automation level.
    pub async fn set_cluster_automation_task(
        &self,
        caller: &Caller,
        cluster_id: &str,
        level: AutomationLevel,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostInventoryEditCluster)?;
        let cluster = self
            .store
            .get_cluster(cluster_id)
            .await?
            .ok_or_else(|| CoreError::not_found("cluster", cluster_id))?;
        let core = self.self_arc();
        let who = caller.clone();
        self.tasks
            .submit(
                TaskSpec {
                    kind: "cluster.reconfigure".into(),
                    target: Some(EntityRef::new("cluster", cluster.id.clone())),
                    initiator: caller.user.clone(),
                    description: format!(
                        "Set the automation level of {} to {}",
                        cluster.name,
                        level.as_str()
                    ),
                    cancelable: false,
                    timeout: None,
                },
                move |_ctx| async move {
                    let c = core
                        .set_cluster_automation(&who, &cluster.id, level)
                        .await?;
                    Ok(json!({"cluster": c.id}))
                },
            )
            .await
    }
}
