//! Changing a powered-off VM's vCPUs and memory (vim ReconfigVM_Task's numCPUs and memoryMB,
//! vAPI's hardware.cpu and hardware.memory update). A running VM is refused at once: hot-add
//! is not modelled.
use serde_json::json;

use super::create::{MEMORY_MIB_MAX, MEMORY_MIB_MIN, VCPUS_MAX};
use crate::auth::{Caller, Privilege};
use crate::hosts::guard::connected as require_connected;
use crate::inventory::VmRecord;
use crate::tasks::{Task, TaskKind, TaskResult};
use crate::{Core, CoreError};

/// What to change; unset fields stay. Named `cpus` and `memory_mib` in faults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VmHardwareUpdate {
    pub vcpus: Option<i64>,
    pub memory_mib: Option<i64>,
}

fn refuse_running(vm: &VmRecord) -> Result<(), CoreError> {
    if vm.power_state != "poweredOff" {
        return Err(CoreError::invalid_state(format!(
            "VM {} is {}: power it off before changing its CPUs or memory",
            vm.name, vm.power_state
        )));
    }
    Ok(())
}

impl Core {
    pub async fn reconfigure_vm(
        &self,
        caller: &Caller,
        vm_id: &str,
        u: VmHardwareUpdate,
    ) -> Result<Task, CoreError> {
        if u.vcpus.is_some() {
            self.auth
                .authorize(caller, Privilege::VirtualMachineConfigCpuCount)?;
        }
        if u.memory_mib.is_some() {
            self.auth
                .authorize(caller, Privilege::VirtualMachineConfigMemory)?;
        }
        // An update that sets nothing changes nothing and succeeds, as vCenter's does (vAPI's
        // update specs and vim's ReconfigVM_Task leave every unset field as it is).
        let nothing = u.vcpus.is_none() && u.memory_mib.is_none();
        if u.vcpus.is_some_and(|v| !(1..=VCPUS_MAX).contains(&v)) {
            return Err(CoreError::invalid(
                "cpus",
                format!("must be between 1 and {VCPUS_MAX}"),
            ));
        }
        if u.memory_mib
            .is_some_and(|m| !(MEMORY_MIB_MIN..=MEMORY_MIB_MAX).contains(&m))
        {
            return Err(CoreError::invalid(
                "memory_mib",
                format!("must be between {MEMORY_MIB_MIN} and {MEMORY_MIB_MAX} MiB"),
            ));
        }
        let vm = self
            .store
            .get_vm(vm_id)
            .await?
            .ok_or_else(|| CoreError::not_found("VM", vm_id))?;
        if !nothing {
            refuse_running(&vm)?;
        }
        let core = self.self_arc();
        let user = caller.user.clone();
        self.tasks
            .submit(
                Self::vm_task(
                    TaskKind::VmReconfigure,
                    &vm,
                    caller,
                    format!("Reconfigure VM {}", vm.name),
                ),
                move |_ctx| async move {
                    if nothing {
                        return Ok(TaskResult::Vm { vm: vm.id });
                    }
                    let mut vm = core
                        .store
                        .get_vm(&vm.id)
                        .await?
                        .ok_or_else(|| CoreError::not_found("VM", &vm.id))?;
                    refuse_running(&vm)?;
                    let host = core.host(&vm.host_id).await?;
                    require_connected(&host)?;
                    let agent = core.agent(&host).await?;
                    let info = agent
                        .reconfigure_vm(
                            &vm.uuid,
                            u.vcpus.map(|v| v as u32),
                            u.memory_mib.map(|m| (m as u64) << 20),
                        )
                        .await?;
                    vm.vcpus = info.vcpus;
                    vm.memory_bytes = info.memory_bytes;
                    vm.info = info;
                    vm.last_op_at = core.clock.now();
                    core.store.update_vm(&vm).await?;
                    core.record_event(
                        "VmReconfiguredEvent",
                        "vm",
                        &vm.id,
                        &vm.name,
                        &user,
                        format!(
                            "Reconfigured {}: {} vCPUs, {} MiB",
                            vm.name,
                            vm.vcpus,
                            vm.memory_bytes >> 20
                        ),
                        json!({"vcpus": vm.vcpus, "memory_bytes": vm.memory_bytes}),
                    )
                    .await;
                    Ok(TaskResult::Vm { vm: vm.id })
                },
            )
            .await
    }
}
