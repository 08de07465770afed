//! Deleting a VM: from its host (with its disks) and from the inventory. A powered-on VM is
//! refused (vim InvalidPowerState, vAPI not_allowed_in_current_state) unless the caller asks for
//! it to be powered off first (ZStack's DestroyVmInstance stops a running VM).
use serde_json::json;

use crate::auth::{Caller, Privilege};
use crate::hosts::guard::connected as require_connected;
use crate::inventory::VmRecord;
use crate::ports::PowerAction;
use crate::tasks::{Task, TaskKind, TaskResult};
use crate::{Core, CoreError};

/// What a delete does with a VM that is powered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfPoweredOn {
    Refuse,
    PowerOff,
}

impl Core {
    /// Deletes a VM as a task; a refusal the VM's state already decides comes at once.
    pub async fn delete_vm(
        &self,
        caller: &Caller,
        vm_id: &str,
        if_on: IfPoweredOn,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::VirtualMachineDelete)?;
        let vm = self
            .store
            .get_vm(vm_id)
            .await?
            .ok_or_else(|| CoreError::not_found("VM", vm_id))?;
        if if_on == IfPoweredOn::PowerOff {
            self.auth
                .authorize(caller, Privilege::VirtualMachinePowerOff)?;
        }
        refuse_powered_on(&vm, if_on)?;
        let core = self.self_arc();
        let who = caller.clone();
        self.tasks
            .submit(
                Self::vm_task(
                    TaskKind::VmDelete,
                    &vm,
                    caller,
                    format!("Delete VM {}", vm.name),
                ),
                move |ctx| async move {
                    let vm = core
                        .store
                        .get_vm(&vm.id)
                        .await?
                        .ok_or_else(|| CoreError::not_found("VM", &vm.id))?;
                    refuse_powered_on(&vm, if_on)?;
                    let host = core.host(&vm.host_id).await?;
                    require_connected(&host)?;
                    if vm.power_state != "poweredOff" {
                        ctx.progress(20, "powering off").await;
                        core.power_vm(&who, &vm.id, PowerAction::Off).await?;
                    }
                    ctx.progress(50, format!("removing the VM from {}", host.name))
                        .await;
                    let agent = core.agent(&host).await?;
                    match agent.unregister_vm(&vm.uuid).await {
                        // Gone from the host already (deleted there by hand): only the record
                        // is left to remove.
                        Err(CoreError::NotFound { .. }) | Ok(()) => {}
                        Err(e) => return Err(e),
                    }
                    core.store.delete_vm(&vm.id).await?;
                    core.record_event(
                        "VmRemovedEvent",
                        "vm",
                        &vm.id,
                        &vm.name,
                        &who.user,
                        format!("Removed {} on {}", vm.name, host.name),
                        json!({"host": host.id}),
                    )
                    .await;
                    Ok(TaskResult::Vm { vm: vm.id })
                },
            )
            .await
    }
}

fn refuse_powered_on(vm: &VmRecord, if_on: IfPoweredOn) -> Result<(), CoreError> {
    if if_on == IfPoweredOn::Refuse && vm.power_state != "poweredOff" {
        return Err(CoreError::invalid_state(format!(
            "VM {} is {}: power it off before deleting it",
            vm.name, vm.power_state
        )));
    }
    Ok(())
}
