//! Bringing the inventory in line with what a host reports: its datastores, networks and VMs.
use std::collections::HashMap;

use time::OffsetDateTime;

use crate::inventory::{Datastore, Host, HostFacts, Network, VmInfo, VmRecord};
use crate::model::new_uuid;
use crate::ports::HostRegistration;
use crate::{Core, CoreError};

fn moid(kind: &str, number: i64) -> String {
    format!("{kind}-{number}")
}

/// `n` moIds of one kind numbered from `first` (`vm-17`, `vm-18`, …).
fn numbered(kind: &str, first: i64, n: usize) -> Vec<String> {
    (0..n as i64).map(|i| moid(kind, first + i)).collect()
}

/// The datastores a host reports, as records of its datacenter with these moIds (an upsert
/// keeps the id and moId of one already known by name there).
fn datastore_records(
    host: &Host,
    facts: &HostFacts,
    moids: Vec<String>,
    now: OffsetDateTime,
) -> Vec<Datastore> {
    facts
        .datastores
        .iter()
        .zip(moids)
        .map(|(d, moid)| Datastore {
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
        .collect()
}

/// The networks a host reports, as datastores are.
fn network_records(
    host: &Host,
    facts: &HostFacts,
    moids: Vec<String>,
    now: OffsetDateTime,
) -> Vec<Network> {
    facts
        .networks
        .iter()
        .zip(moids)
        .map(|(n, moid)| Network {
            id: new_uuid(),
            moid,
            datacenter_id: host.datacenter_id.clone(),
            name: n.name.clone(),
            kind: n.kind.clone(),
            vlan: n.vlan,
            created_at: now,
            last_op_at: now,
        })
        .collect()
}

/// What making a host's VM records match its agent's list changes.
struct VmChanges {
    /// Not on record anywhere; their moIds are still to be given.
    new: Vec<VmRecord>,
    /// On record (here, or on another host they moved from), refreshed and placed here.
    refreshed: Vec<VmRecord>,
    /// On record here and no longer on the host.
    gone: Vec<VmRecord>,
}

/// VMs are matched by instance uuid, so clones sharing a BIOS uuid stay apart; `known` are the
/// records on `host`, `elsewhere` those of the rest of the agent's VMs found on other hosts.
fn vm_changes(
    host: &Host,
    vms: &[VmInfo],
    mut known: HashMap<String, VmRecord>,
    mut elsewhere: HashMap<String, VmRecord>,
    now: OffsetDateTime,
) -> VmChanges {
    let mut new = Vec::new();
    let mut refreshed = Vec::new();
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
                refreshed.push(r);
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
    VmChanges {
        new,
        refreshed,
        gone: known.into_values().collect(),
    }
}

impl Core {
    /// `n` fresh moIds of one kind (`vm-17`, `vm-18`, …) from one reservation; none asked,
    /// none reserved.
    pub(crate) async fn moid_block(&self, kind: &str, n: usize) -> Result<Vec<String>, CoreError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let first = self.store.reserve_sequence(kind, n as u32).await?;
        Ok(numbered(kind, first, n))
    }

    /// Registers (or refreshes) the host's datastores and networks in its datacenter.
    pub(crate) async fn sync_storage_and_networks(
        &self,
        host: &Host,
        facts: &HostFacts,
    ) -> Result<(), CoreError> {
        let now = self.clock.now();
        // One block of moIds per kind (a shared datastore keeps its first moId; the value
        // reserved for it here is left unused, as with a single reservation).
        let ds_moids = self.moid_block("datastore", facts.datastores.len()).await?;
        let mut ds_ids = Vec::new();
        for ds in datastore_records(host, facts, ds_moids, now) {
            ds_ids.push(self.store.upsert_datastore(&ds).await?.id);
        }
        self.store.set_host_datastores(&host.id, &ds_ids).await?;
        let net_moids = self.moid_block("network", facts.networks.len()).await?;
        let mut net_ids = Vec::new();
        for net in network_records(host, facts, net_moids, now) {
            net_ids.push(self.store.upsert_network(&net).await?.id);
        }
        self.store.set_host_networks(&host.id, &net_ids).await?;
        Ok(())
    }

    /// The records of the agent's VMs found on other hosts (a VM that moved here keeps its id
    /// and moId), by instance uuid; `unknown` are those not on record here.
    async fn vms_elsewhere(
        &self,
        unknown: &[String],
    ) -> Result<HashMap<String, VmRecord>, CoreError> {
        if unknown.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(self
            .store
            .find_vms_by_instance_uuids(unknown)
            .await?
            .into_iter()
            .map(|v| (v.instance_uuid.clone(), v))
            .collect())
    }

    /// Makes the VM records of `host` match the agent's list: new VMs are registered, known
    /// ones refreshed (a VM that moved here keeps its id and moId), vanished ones removed.
    pub(crate) async fn sync_vms(&self, host: &Host, vms: &[VmInfo]) -> Result<(), CoreError> {
        let now = self.clock.now();
        let known: HashMap<String, VmRecord> = self
            .store
            .list_vms(Some(&host.id))
            .await?
            .into_iter()
            .map(|v| (v.instance_uuid.clone(), v))
            .collect();
        let unknown: Vec<String> = vms
            .iter()
            .filter(|v| !known.contains_key(v.identity()))
            .map(|v| v.identity().to_string())
            .collect();
        let elsewhere = self.vms_elsewhere(&unknown).await?;
        let mut changes = vm_changes(host, vms, known, elsewhere, now);
        for r in &changes.refreshed {
            self.store.update_vm(r).await?;
        }
        // New VMs: one block of moIds and one transaction, however many there are.
        if !changes.new.is_empty() {
            let moids = self.moid_block("vm", changes.new.len()).await?;
            for (r, moid) in changes.new.iter_mut().zip(moids) {
                r.moid = moid;
            }
            self.store.insert_vms(&changes.new).await?;
        }
        for gone in changes.gone {
            self.store.delete_vm(&gone.id).await?;
        }
        Ok(())
    }

    /// What an add registers in one transaction (`HostStore::register_host`): `host` (its
    /// moId still to be given) with its tags, the datastores and networks of `facts` and the
    /// agent's `vms`. The moIds of all of them come from one reservation.
    pub(crate) async fn host_registration(
        &self,
        mut host: Host,
        facts: &HostFacts,
        vms: &[VmInfo],
        claim_intent_id: Option<String>,
    ) -> Result<HostRegistration, CoreError> {
        let now = self.clock.now();
        let ids: Vec<String> = vms.iter().map(|v| v.identity().to_string()).collect();
        let elsewhere = self.vms_elsewhere(&ids).await?;
        let changes = vm_changes(&host, vms, HashMap::new(), elsewhere, now);
        let (nd, nn, nv) = (
            facts.datastores.len(),
            facts.networks.len(),
            changes.new.len(),
        );
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let firsts = self
            .store
            .reserve_sequences(&[
                ("host", 1),
                ("datastore", count(nd)),
                ("network", count(nn)),
                ("vm", count(nv)),
            ])
            .await?;
        let [h, d, n, v] = firsts[..] else {
            return Err(CoreError::internal(
                "the store reserved the wrong number of blocks",
            ));
        };
        host.moid = moid("host", h);
        let mut new_vms = changes.new;
        for (r, moid) in new_vms.iter_mut().zip(numbered("vm", v, nv)) {
            r.moid = moid;
        }
        Ok(HostRegistration {
            datastores: datastore_records(&host, facts, numbered("datastore", d, nd), now),
            networks: network_records(&host, facts, numbered("network", n, nn), now),
            new_vms,
            moved_vms: changes.refreshed,
            claim_intent_id,
            host,
        })
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
