//! Host capacity as ZStack and vSphere report it: CPUs (ZStack: cpuNum × the overcommit ratio)
//! and memory, total and available, from the last facts and the VMs placed on the host.
use serde::Serialize;

use crate::inventory::Host;
use crate::{Core, CoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capacity {
    pub cpu_num: u64,
    pub total_cpu_capacity: u64,
    pub available_cpu_capacity: u64,
    pub cpu_mhz_total: u64,
    pub total_memory_bytes: u64,
    pub available_memory_bytes: u64,
}

impl Core {
    /// Capacity of a host: VMs that are powered on use their vCPUs and memory.
    pub async fn host_capacity(&self, host: &Host) -> Result<Capacity, CoreError> {
        let hw = host
            .facts
            .as_ref()
            .and_then(|f| f.get("hardware"))
            .cloned()
            .unwrap_or_default();
        let get = |k: &str| hw.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
        let cpu_num = get("cpu_threads");
        let total_cpu = cpu_num * self.config.hosts.cpu_overcommit_ratio as u64;
        let memory = get("memory_bytes");
        let (mut used_cpu, mut used_mem) = (0u64, 0u64);
        for vm in self.store.list_vms(Some(&host.id)).await? {
            if vm.power_state == "poweredOn" {
                used_cpu += vm.vcpus as u64;
                used_mem += vm.memory_bytes;
            }
        }
        Ok(Capacity {
            cpu_num,
            total_cpu_capacity: total_cpu,
            available_cpu_capacity: total_cpu.saturating_sub(used_cpu),
            cpu_mhz_total: get("cpu_cores") * get("cpu_mhz"),
            total_memory_bytes: memory,
            available_memory_bytes: memory.saturating_sub(used_mem),
        })
    }
}
