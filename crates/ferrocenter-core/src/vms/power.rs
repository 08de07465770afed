//! VM power: on, off, suspend and reset through the VM's host, at once or as a task (vim's
//! PowerOnVM_Task / PowerOffVM_Task check permission and state before the task exists, so a
//! caller who may not run it gets the fault at once and no task).

use crate::auth::{Caller, Privilege};
use crate::hosts::guard::connected as require_connected;
use crate::hosts::{allowed, HostOperation};
use crate::inventory::VmRecord;
use crate::model::EntityRef;
use crate::ports::PowerAction;
use crate::tasks::TaskKind;
use crate::tasks::{Task, TaskSpec};
use crate::{Core, CoreError};

impl Core {
    pub(super) fn vm_task(
        kind: TaskKind,
        vm: &VmRecord,
        caller: &Caller,
        description: String,
    ) -> TaskSpec {
        TaskSpec {
            kind,
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
            allowed(&self.host(&vm.host_id).await?, HostOperation::PowerOnVm)?;
        }
        let core = self.self_arc();
        let who = caller.clone();
        let (kind, what) = if action == PowerAction::On {
            (TaskKind::VmPowerOn, "Power on")
        } else {
            (TaskKind::VmPowerOff, "Power off")
        };
        self.tasks
            .submit(
                Self::vm_task(kind, &vm, caller, format!("{what} VM {}", vm.name)),
                move |_ctx| async move {
                    let v = core.power_vm(&who, &vm.id, action).await?;
                    Ok(crate::tasks::TaskResult::VmPower {
                        vm: v.id,
                        power_state: v.power_state,
                    })
                },
            )
            .await
    }

    /// Powers a VM on or off through its host. Power-on is refused while the host enters or is
    /// in maintenance mode, and on a disabled host.
    pub async fn power_vm(
        &self,
        caller: &Caller,
        vm_id: &str,
        action: PowerAction,
    ) -> Result<VmRecord, CoreError> {
        let privilege = match action {
            PowerAction::On => Privilege::VirtualMachinePowerOn,
            _ => Privilege::VirtualMachinePowerOff,
        };
        self.auth.authorize(caller, privilege)?;
        let mut vm = self
            .store
            .get_vm(vm_id)
            .await?
            .ok_or_else(|| CoreError::not_found("VM", vm_id))?;
        let host = self.host(&vm.host_id).await?;
        require_connected(&host)?;
        if action == PowerAction::On {
            allowed(&host, HostOperation::PowerOnVm)?;
        }
        let agent = self.agent(&host).await?;
        let v = agent.power(&vm.uuid, action).await?;
        vm.power_state = v.power_state.as_str().to_string();
        vm.info = v;
        vm.last_op_at = self.clock.now();
        self.store.update_vm(&vm).await?;
        Ok(vm)
    }
}
