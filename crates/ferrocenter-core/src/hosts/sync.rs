//! Bringing the inventory in line with what a host reports: its datastores, networks and VMs.
use std::collections::HashMap;

use crate::inventory::{Datastore, Host, HostFacts, Network, VmInfo, VmRecord};
use crate::model::new_uuid;
use crate::{Core, CoreError};

impl Core {
    /// `n` fresh moIds of one kind (`vm-17`, `vm-18`, …) from one reservation; none asked,
    /// none reserved.
    pub(crate) async fn moid_block(&self, kind: &str, n: usize) -> Result<Vec<String>, CoreError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let first = self.store.reserve_sequence(kind, n as u32).await?;
        Ok((0..n as i64)
            .map(|i| format!("{kind}-{}", first + i))
            .collect())
    }

    /// Registers (or refreshes) the host's datastores and networks in its datacenter.
    pub(crate) async fn sync_storage_and_networks(
        &self,
        host: &Host,
        facts: &HostFacts,
    ) -> Result<(), CoreError> {
        let now = self.clock.now();
        let mut ds_ids = Vec::new();
        // One block of moIds per kind (a shared datastore keeps its first moId; the value
        // reserved for it here is left unused, as with a single reservation).
        let ds_moids = self.moid_block("datastore", facts.datastores.len()).await?;
        for (d, moid) in facts.datastores.iter().zip(ds_moids) {
            let ds = self
                .store
                .upsert_datastore(&Datastore {
                    id: new_uuid(),
                    moid,
                    datacenter_id: host.datacenter_id.clone(),
                    name: d.name.clone(),
                    url: d.url.clone(),
                    kind: d.kind.clone(),
                    capacity_bytes: d.capacity_bytes,
                    free_bytes: d.free_bytes,
                    created_at: now,
                    last_op_at: now,
                })
                .await?;
            ds_ids.push(ds.id);
        }
        self.store.set_host_datastores(&host.id, &ds_ids).await?;
        let mut net_ids = Vec::new();
        let net_moids = self.moid_block("network", facts.networks.len()).await?;
        for (n, moid) in facts.networks.iter().zip(net_moids) {
            let net = self
                .store
                .upsert_network(&Network {
                    id: new_uuid(),
                    moid,
                    datacenter_id: host.datacenter_id.clone(),
                    name: n.name.clone(),
                    kind: n.kind.clone(),
                    vlan: n.vlan,
                    created_at: now,
                    last_op_at: now,
                })
                .await?;
            net_ids.push(net.id);
        }
        self.store.set_host_networks(&host.id, &net_ids).await?;
        Ok(())
    }

    /// Makes the VM records of `host` match the agent's list: new VMs are registered, known
    /// ones refreshed (a VM that moved here keeps its id and moId), vanished ones removed. VMs
    /// are matched by instance uuid, so clones sharing a BIOS uuid stay apart.
    pub(crate) async fn sync_vms(&self, host: &Host, vms: &[VmInfo]) -> Result<(), CoreError> {
        let now = self.clock.now();
        let mut known: HashMap<String, VmRecord> = self
            .store
            .list_vms(Some(&host.id))
            .await?
            .into_iter()
            .map(|v| (v.instance_uuid.clone(), v))
            .collect();
        // VMs the host has that are not on record here: moved from another host, or new.
        let unknown: Vec<String> = vms
            .iter()
            .filter(|v| !known.contains_key(v.identity()))
            .map(|v| v.identity().to_string())
            .collect();
        let mut elsewhere: HashMap<String, VmRecord> = if unknown.is_empty() {
            HashMap::new()
        } else {
            self.store
                .find_vms_by_instance_uuids(&unknown)
                .await?
                .into_iter()
                .map(|v| (v.instance_uuid.clone(), v))
                .collect()
        };
        let mut new = Vec::new();
        for vm in vms {
            let existing = known
                .remove(vm.identity())
                .or_else(|| elsewhere.remove(vm.identity()));
            match existing {
                Some(mut r) => {
                    r.host_id = host.id.clone();
                    r.uuid = vm.uuid.clone();
                    r.name = vm.name.clone();
                    r.power_state = vm.power_state.as_str().to_string();
                    r.vcpus = vm.vcpus;
                    r.memory_bytes = vm.memory_bytes;
                    r.guest_os_id = vm.guest_os_id.clone();
                    r.info = vm.clone();
                    r.last_op_at = now;
                    self.store.update_vm(&r).await?;
                }
                None => new.push(VmRecord {
                    id: new_uuid(),
                    moid: String::new(),
                    host_id: host.id.clone(),
                    uuid: vm.uuid.clone(),
                    instance_uuid: vm.identity().to_string(),
                    name: vm.name.clone(),
                    power_state: vm.power_state.as_str().to_string(),
                    vcpus: vm.vcpus,
                    memory_bytes: vm.memory_bytes,
                    guest_os_id: vm.guest_os_id.clone(),
                    info: vm.clone(),
                    created_at: now,
                    last_op_at: now,
                }),
            }
        }
        // New VMs: one block of moIds and one transaction, however many there are.
        if !new.is_empty() {
            let moids = self.moid_block("vm", new.len()).await?;
            for (r, moid) in new.iter_mut().zip(moids) {
                r.moid = moid;
            }
            self.store.insert_vms(&new).await?;
        }
        for gone in known.into_values() {
            self.store.delete_vm(&gone.id).await?;
        }
        Ok(())
    }
}

impl Core {
    /// A VM's connection state follows its host's (vim VirtualMachineConnectionState).
    pub async fn vm_connection_state(&self, vm: &VmRecord) -> Result<&'static str, CoreError> {
        let host = self.host(&vm.host_id).await?;
        Ok(match host.connection_state {
            crate::inventory::ConnectionState::Connected => "connected",
            crate::inventory::ConnectionState::NotResponding => "notResponding",
            crate::inventory::ConnectionState::Disconnected
            | crate::inventory::ConnectionState::Connecting => "disconnected",
        })
    }
}
