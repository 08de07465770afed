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
        let mut caps = self.hosts_capacity(std::slice::from_ref(host)).await?;
        Ok(caps.pop().unwrap_or_else(|| self.capacity_of(host, (0, 0))))
    }

    /// Capacities of a page of hosts, in order, from one usage query.
    pub async fn hosts_capacity(&self, hosts: &[Host]) -> Result<Vec<Capacity>, CoreError> {
        let ids: Vec<String> = hosts.iter().map(|h| h.id.clone()).collect();
        let usage = self.store.powered_on_usage(&ids).await?;
        Ok(hosts
            .iter()
            .map(|h| self.capacity_of(h, usage.get(&h.id).copied().unwrap_or((0, 0))))
            .collect())
    }

    fn capacity_of(&self, host: &Host, used: (u64, u64)) -> Capacity {
        Capacity::of(host, used, self.config.hosts.cpu_overcommit_ratio)
    }
}

impl Capacity {
    /// A host's capacity from its last facts and the vCPUs and memory of its powered-on VMs
    /// (`used`); ZStack's CPU capacity is the threads times `cpu_overcommit_ratio`.
    pub fn of(host: &Host, (used_cpu, used_mem): (u64, u64), cpu_overcommit_ratio: u32) -> Self {
        // Read in place: a listing computes this for every host it looks at.
        let (threads, cores, mhz, memory) = host.facts.as_ref().map_or((0, 0, 0, 0), |f| {
            let hw = &f.hardware;
            (hw.cpu_threads, hw.cpu_cores, hw.cpu_mhz, hw.memory_bytes)
        });
        let cpu_num = u64::from(threads);
        let total_cpu = cpu_num * u64::from(cpu_overcommit_ratio);
        Capacity {
            cpu_num,
            total_cpu_capacity: total_cpu,
            available_cpu_capacity: total_cpu.saturating_sub(used_cpu),
            cpu_mhz_total: u64::from(cores) * u64::from(mhz),
            total_memory_bytes: memory,
            available_memory_bytes: memory.saturating_sub(used_mem),
        }
    }
}
