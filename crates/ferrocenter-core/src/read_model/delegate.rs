//! The read model as a [`Store`]: hosts, the containers and tags listings name, and moId
//! lookups of hosts go through the view; every other aggregate goes straight to the store.
use std::collections::HashMap;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::ReadModel;
use crate::auth::{Group, PasswordDays, Principal, Realm};
use crate::hosts::ClaimIntent;
use crate::identity_providers::ProviderRecord;
use crate::inventory::query::{
    ClusterField, DatacenterField, HostField, ListQuery, Page, TagKind, VmField,
};
use crate::inventory::{
    Cluster, ConnectionState, CustomField, Datacenter, Datastore, Event, EventFilter, Folder, Host,
    HostFacts, HostFilter, HostRuntime, Network, VmRecord,
};
use crate::ports::{
    AppendBatch, BackupStore, ClaimStore, ContainerStore, DatabaseSize, DatastoreNetworkStore,
    EventStore, HostRegistration, HostStore, IdentityProviderStore, IdentityStore, MoidEntity,
    MoidKind, MoidStore, ScheduleStore, SettingsStore, StatBucket, StatSample, StatSpan,
    StatsStore, StoreError, TableSink, TableSize, TableSource, TagStore, TaskFilter, TaskStore,
    VmStore,
};
use crate::recovery::schedules::BackupSchedule;
use crate::tasks::Task;
use crate::CoreError;

/// Methods that go straight to the store.
macro_rules! to_store {
    ($trait:ident { $(fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty;)* }) => {
        #[async_trait]
        impl $trait for ReadModel {
            $(async fn $name(&self $(, $arg: $ty)*) -> Result<$ret, StoreError> {
                self.store.$name($($arg),*).await
            })*
        }
    };
}

#[async_trait]
impl SettingsStore for ReadModel {
    fn engine(&self) -> &'static str {
        self.store.engine()
    }
    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.store.get_setting(key).await
    }
    async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.store.put_setting(key, value).await
    }
    async fn put_setting_if_absent(&self, key: &str, value: &str) -> Result<bool, StoreError> {
        self.store.put_setting_if_absent(key, value).await
    }
    async fn next_sequence(&self, name: &str) -> Result<i64, StoreError> {
        self.store.next_sequence(name).await
    }
    async fn reserve_sequence(&self, name: &str, count: u32) -> Result<i64, StoreError> {
        self.store.reserve_sequence(name, count).await
    }
    async fn reserve_sequences(&self, blocks: &[(&str, u32)]) -> Result<Vec<i64>, StoreError> {
        self.store.reserve_sequences(blocks).await
    }
    async fn checkpoint(&self) -> Result<(), StoreError> {
        self.store.checkpoint().await
    }
    async fn database_size(&self) -> Result<DatabaseSize, StoreError> {
        self.store.database_size().await
    }
}

to_store!(IdentityStore {
    fn insert_principal(&self, p: &Principal) -> ();
    fn find_principal(&self, realm: &Realm, name: &str) -> Option<Principal>;
    fn list_principals(&self, realm: &Realm) -> Vec<Principal>;
    fn update_principal(&self, p: &Principal) -> bool;
    fn set_digest_verifier_if_unset(&self, id: &str, password_hash: &str, verifier: &str) -> bool;
    fn set_password_days(&self, realm: &Realm, days: PasswordDays, setting: (&str, &str)) -> ();
    fn delete_principal(&self, id: &str) -> bool;
    fn insert_group(&self, g: &Group) -> ();
    fn find_group(&self, realm: &Realm, name: &str) -> Option<Group>;
    fn add_group_member(&self, group_id: &str, principal_id: &str) -> ();
    fn remove_group_member(&self, group_id: &str, principal_id: &str) -> bool;
    fn groups_of(&self, principal_id: &str) -> Vec<Group>;
    fn list_groups(&self, realm: &Realm) -> Vec<Group>;
    fn delete_group(&self, id: &str) -> bool;
    fn group_members(&self, group_id: &str) -> Vec<Principal>;
    fn password_history(&self, principal_id: &str) -> Vec<String>;
    fn update_principal_password(&self, p: &Principal, replaced_hash: &str, keep: usize) -> bool;
});

to_store!(TaskStore {
    fn insert_task(&self, t: &Task) -> ();
    fn update_task(&self, t: &Task) -> bool;
    fn get_task(&self, id: &str) -> Option<Task>;
    fn list_tasks(&self, filter: &TaskFilter) -> Vec<Task>;
    fn count_tasks_by_state(&self) -> Vec<(String, u64)>;
    fn fail_unfinished_tasks(&self, error: &CoreError, at: OffsetDateTime) -> u64;
});

#[async_trait]
impl ContainerStore for ReadModel {
    async fn insert_datacenter(&self, d: &Datacenter) -> Result<(), StoreError> {
        self.write(&d.id, self.store.insert_datacenter(d), |v, _| {
            v.put_datacenter_name(&d.id, &d.name);
        })
        .await
    }
    async fn get_datacenter(&self, id: &str) -> Result<Option<Datacenter>, StoreError> {
        self.store.get_datacenter(id).await
    }
    async fn list_datacenters(&self) -> Result<Vec<Datacenter>, StoreError> {
        self.store.list_datacenters().await
    }
    async fn update_datacenter(&self, d: &Datacenter) -> Result<bool, StoreError> {
        self.write(&d.id, self.store.update_datacenter(d), |v, done| {
            if *done {
                v.put_datacenter_name(&d.id, &d.name);
            }
        })
        .await
    }
    async fn delete_datacenter(&self, id: &str) -> Result<bool, StoreError> {
        self.write(id, self.store.delete_datacenter(id), |v, done| {
            if *done {
                v.remove_datacenter(id);
            }
        })
        .await
    }
    async fn query_datacenters(
        &self,
        q: &ListQuery<DatacenterField>,
    ) -> Result<Page<Datacenter>, StoreError> {
        self.store.query_datacenters(q).await
    }
    async fn insert_cluster(&self, c: &Cluster) -> Result<(), StoreError> {
        self.write(&c.id, self.store.insert_cluster(c), |v, _| {
            v.put_cluster_name(&c.id, &c.name);
        })
        .await
    }
    async fn get_cluster(&self, id: &str) -> Result<Option<Cluster>, StoreError> {
        self.store.get_cluster(id).await
    }
    async fn list_clusters(&self, datacenter_id: Option<&str>) -> Result<Vec<Cluster>, StoreError> {
        self.store.list_clusters(datacenter_id).await
    }
    async fn update_cluster(&self, c: &Cluster) -> Result<bool, StoreError> {
        self.write(&c.id, self.store.update_cluster(c), |v, done| {
            if *done {
                v.put_cluster_name(&c.id, &c.name);
            }
        })
        .await
    }
    async fn delete_cluster(&self, id: &str) -> Result<bool, StoreError> {
        self.write(id, self.store.delete_cluster(id), |v, done| {
            if *done {
                v.remove_cluster(id);
            }
        })
        .await
    }
    async fn query_clusters(
        &self,
        q: &ListQuery<ClusterField>,
    ) -> Result<Page<Cluster>, StoreError> {
        self.store.query_clusters(q).await
    }
    async fn insert_folder(&self, f: &Folder) -> Result<(), StoreError> {
        self.store.insert_folder(f).await
    }
    async fn get_folder(&self, id: &str) -> Result<Option<Folder>, StoreError> {
        self.store.get_folder(id).await
    }
    async fn list_folders(&self, parent_id: Option<&str>) -> Result<Vec<Folder>, StoreError> {
        self.store.list_folders(parent_id).await
    }
    async fn folders_of_datacenter(&self, datacenter_id: &str) -> Result<Vec<Folder>, StoreError> {
        self.store.folders_of_datacenter(datacenter_id).await
    }
    async fn delete_folder(&self, id: &str) -> Result<bool, StoreError> {
        self.store.delete_folder(id).await
    }
}

#[async_trait]
impl HostStore for ReadModel {
    async fn insert_host(&self, h: &Host) -> Result<(), StoreError> {
        self.write(&h.id, self.store.insert_host(h), |v, _| v.put_host(h))
            .await
    }
    async fn get_host(&self, id: &str) -> Result<Option<Host>, StoreError> {
        self.read(|v| v.host(id)).await
    }
    async fn find_host_by_address(
        &self,
        address: &str,
        port: u16,
    ) -> Result<Option<Host>, StoreError> {
        self.read(|v| v.host_by_address(address, port)).await
    }
    async fn find_host_by_name(
        &self,
        datacenter_id: &str,
        name: &str,
    ) -> Result<Option<Host>, StoreError> {
        self.read(|v| v.host_by_name(datacenter_id, name)).await
    }
    async fn list_hosts(&self, filter: &HostFilter) -> Result<Vec<Host>, StoreError> {
        self.read(|v| v.list_hosts(filter)).await
    }
    async fn count_hosts(&self, filter: &HostFilter) -> Result<u64, StoreError> {
        self.read(|v| v.count_hosts(filter)).await
    }
    async fn update_host(&self, h: &Host) -> Result<bool, StoreError> {
        self.write(&h.id, self.store.update_host(h), |v, done| {
            if *done {
                v.put_host(h);
            }
        })
        .await
    }
    async fn record_host_observation(
        &self,
        id: &str,
        runtime: Option<&HostRuntime>,
        facts: Option<&HostFacts>,
        event_cursor: u64,
    ) -> Result<bool, StoreError> {
        let op = self
            .store
            .record_host_observation(id, runtime, facts, event_cursor);
        self.write(id, op, |v, done| {
            if *done {
                v.observe_host(id, runtime, facts, event_cursor);
            }
        })
        .await
    }
    async fn transition_host_connection(
        &self,
        id: &str,
        from: ConnectionState,
        to: ConnectionState,
    ) -> Result<bool, StoreError> {
        let op = self.store.transition_host_connection(id, from, to);
        self.write(id, op, |v, done| {
            if *done {
                v.set_connection(id, to);
            }
        })
        .await
    }
    async fn register_host(&self, r: &HostRegistration) -> Result<(), StoreError> {
        self.register(r).await
    }
    async fn delete_host(&self, id: &str) -> Result<bool, StoreError> {
        self.write(id, self.store.delete_host(id), |v, done| {
            if *done {
                v.remove_host(id);
            }
        })
        .await
    }
    async fn query_hosts(&self, q: &ListQuery<HostField>) -> Result<Page<Host>, StoreError> {
        self.read(|v| v.query_hosts(q)).await
    }
}

to_store!(ClaimStore {
    fn put_claim_intent(&self, c: &ClaimIntent) -> ();
    fn delete_claim_intent(&self, id: &str) -> bool;
    fn list_claim_intents(&self) -> Vec<ClaimIntent>;
});

#[async_trait]
impl VmStore for ReadModel {
    async fn insert_vm(&self, v: &VmRecord) -> Result<(), StoreError> {
        let host = vec![v.host_id.clone()];
        self.vm_write(host, self.store.insert_vm(v)).await
    }
    async fn insert_vms(&self, vms: &[VmRecord]) -> Result<(), StoreError> {
        let hosts = vms.iter().map(|v| v.host_id.clone()).collect();
        self.vm_write(hosts, self.store.insert_vms(vms)).await
    }
    async fn find_vms_by_instance_uuids(
        &self,
        uuids: &[String],
    ) -> Result<Vec<VmRecord>, StoreError> {
        self.store.find_vms_by_instance_uuids(uuids).await
    }
    async fn get_vm(&self, id: &str) -> Result<Option<VmRecord>, StoreError> {
        self.store.get_vm(id).await
    }
    async fn find_vm_by_instance_uuid(
        &self,
        instance_uuid: &str,
    ) -> Result<Option<VmRecord>, StoreError> {
        self.store.find_vm_by_instance_uuid(instance_uuid).await
    }
    async fn find_vm_on_host(
        &self,
        host_id: &str,
        uuid: &str,
    ) -> Result<Option<VmRecord>, StoreError> {
        self.store.find_vm_on_host(host_id, uuid).await
    }
    async fn list_vms(&self, host_id: Option<&str>) -> Result<Vec<VmRecord>, StoreError> {
        self.store.list_vms(host_id).await
    }
    async fn count_vms(&self) -> Result<u64, StoreError> {
        self.store.count_vms().await
    }
    async fn update_vm(&self, v: &VmRecord) -> Result<bool, StoreError> {
        // A migration moves the VM: both hosts' sums change.
        let _vm = self.lock_vm(&v.id).await;
        let mut hosts = self.host_of_vm(&v.id).await?;
        hosts.push(v.host_id.clone());
        self.vm_write(hosts, self.store.update_vm(v)).await
    }
    async fn record_vm_power(
        &self,
        seen: &VmRecord,
        power_state: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let _vm = self.lock_vm(&seen.id).await;
        let host = vec![seen.host_id.clone()];
        let op = self.store.record_vm_power(seen, power_state, at);
        self.vm_write(host, op).await
    }
    async fn powered_on_usage(
        &self,
        host_ids: &[String],
    ) -> Result<HashMap<String, (u64, u64)>, StoreError> {
        self.read(|v| v.usage_of(host_ids)).await
    }
    async fn delete_vm(&self, id: &str) -> Result<bool, StoreError> {
        let _vm = self.lock_vm(id).await;
        let hosts = self.host_of_vm(id).await?;
        self.vm_write(hosts, self.store.delete_vm(id)).await
    }
    async fn query_vms(&self, q: &ListQuery<VmField>) -> Result<Page<VmRecord>, StoreError> {
        self.store.query_vms(q).await
    }
}

to_store!(DatastoreNetworkStore {
    fn upsert_datastore(&self, d: &Datastore) -> Datastore;
    fn list_datastores(&self, datacenter_id: Option<&str>) -> Vec<Datastore>;
    fn set_host_datastores(&self, host_id: &str, datastore_ids: &[String]) -> ();
    fn datastores_of_host(&self, host_id: &str) -> Vec<Datastore>;
    fn hosts_of_datastore(&self, datastore_id: &str) -> Vec<Host>;
    fn upsert_network(&self, n: &Network) -> Network;
    fn list_networks(&self, datacenter_id: Option<&str>) -> Vec<Network>;
    fn set_host_networks(&self, host_id: &str, network_ids: &[String]) -> ();
    fn networks_of_host(&self, host_id: &str) -> Vec<Network>;
    fn hosts_of_network(&self, network_id: &str) -> Vec<Host>;
});

to_store!(EventStore {
    fn append_event(&self, e: &Event) -> Event;
    fn list_events(&self, filter: &EventFilter) -> Vec<Event>;
});

#[async_trait]
impl TagStore for ReadModel {
    async fn add_tags(
        &self,
        resource_id: &str,
        kind: TagKind,
        tags: &[String],
    ) -> Result<(), StoreError> {
        let op = self.store.add_tags(resource_id, kind, tags);
        self.write(resource_id, op, |v, _| v.add_tags(resource_id, kind, tags))
            .await
    }
    async fn tags_of(&self, resource_id: &str, kind: TagKind) -> Result<Vec<String>, StoreError> {
        self.read(|v| v.tags_of(resource_id, kind)).await
    }
    async fn list_all_tags(&self) -> Result<Vec<(String, TagKind, String)>, StoreError> {
        self.store.list_all_tags().await
    }
    async fn delete_tags(&self, resource_id: &str) -> Result<(), StoreError> {
        self.write(resource_id, self.store.delete_tags(resource_id), |v, _| {
            v.remove_tags(resource_id);
        })
        .await
    }
    async fn ensure_custom_field(
        &self,
        name: &str,
        mo_type: &str,
        new_key: i64,
    ) -> Result<CustomField, StoreError> {
        self.store.ensure_custom_field(name, mo_type, new_key).await
    }
    async fn list_custom_fields(&self) -> Result<Vec<CustomField>, StoreError> {
        self.store.list_custom_fields().await
    }
    async fn set_host_value(
        &self,
        host_id: &str,
        name: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        self.store.set_host_value(host_id, name, value).await
    }
    async fn host_values(&self, host_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.store.host_values(host_id).await
    }
}

#[async_trait]
impl MoidStore for ReadModel {
    async fn find_by_moid(
        &self,
        kind: MoidKind,
        moid: &str,
    ) -> Result<Option<MoidEntity>, StoreError> {
        match kind {
            MoidKind::Host => Ok(self
                .read(|v| v.host_by_moid(moid))
                .await?
                .map(MoidEntity::Host)),
            _ => self.store.find_by_moid(kind, moid).await,
        }
    }
}

to_store!(StatsStore {
    fn record_stats(&self, samples: &[StatSample]) -> ();
    fn stat_buckets(&self, item: &str, span: StatSpan, from: i64, to: i64, width: i64) -> Vec<StatBucket>;
    fn stat_items(&self) -> Vec<String>;
    fn prune_stats(&self, raw_before: i64, aggregates_before: i64) -> u64;
});

#[async_trait]
impl BackupStore for ReadModel {
    async fn schema_version(&self) -> Result<i64, StoreError> {
        self.store.schema_version().await
    }
    async fn data_tables(&self) -> Result<Vec<String>, StoreError> {
        self.store.data_tables().await
    }
    async fn table_sizes(&self, tables: &[String]) -> Result<Vec<TableSize>, StoreError> {
        self.store.table_sizes(tables).await
    }
    async fn export_tables(
        &self,
        tables: &[String],
        sink: &mut (dyn TableSink + Send),
    ) -> Result<(), StoreError> {
        self.store.export_tables(tables, sink).await
    }
    async fn import_tables(
        &self,
        clear: &[String],
        source: &mut (dyn TableSource + Send),
    ) -> Result<(), StoreError> {
        self.rebuilt_after(self.store.import_tables(clear, source))
            .await
    }
    /// Appends history only (tasks, events, statistics), none of which the view holds.
    async fn append_rows(&self, batch: AppendBatch<'_>) -> Result<u64, StoreError> {
        self.store.append_rows(batch).await
    }
}

to_store!(ScheduleStore {
    fn insert_backup_schedule(&self, s: &BackupSchedule) -> ();
    fn get_backup_schedule(&self, id: &str) -> Option<BackupSchedule>;
    fn list_backup_schedules(&self) -> Vec<BackupSchedule>;
    fn update_backup_schedule(&self, s: &BackupSchedule) -> bool;
    fn delete_backup_schedule(&self, id: &str) -> bool;
    fn record_backup_schedule_run(&self, id: &str, at: OffsetDateTime) -> bool;
});

to_store!(IdentityProviderStore {
    fn insert_identity_provider(&self, p: &ProviderRecord) -> ();
    fn get_identity_provider(&self, id: &str) -> Option<ProviderRecord>;
    fn list_identity_providers(&self) -> Vec<ProviderRecord>;
    fn update_identity_provider(&self, p: &ProviderRecord) -> bool;
    fn delete_identity_provider(&self, id: &str) -> bool;
});
