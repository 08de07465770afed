use std::collections::HashMap;

use async_trait::async_trait;
use time::OffsetDateTime;

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
use crate::recovery::schedules::BackupSchedule;
use crate::tasks::{Task, TaskKind, TaskState};
use crate::CoreError;

/// Why a store call failed. The core turns these into [`CoreError`]s; callers never see SQL.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is already taken; the text names the key.
    #[error("record already exists: {0}")]
    Conflict(String),
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored value could not be read back.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Backend(String),
}

/// Which tasks a listing returns. Empty vectors mean "any".
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub ids: Vec<String>,
    pub kinds: Vec<TaskKind>,
    pub states: Vec<TaskState>,
    pub target_ids: Vec<String>,
    pub initiators: Vec<String>,
    /// Newest first, at most this many (no limit when unset).
    pub limit: Option<u32>,
}

/// The kinds of entity the store finds by vim moId (each table's moid column is unique).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoidKind {
    Datacenter,
    Cluster,
    Host,
    Vm,
    Datastore,
    Network,
    Folder,
    Task,
}

/// An entity found by its moId.
#[derive(Debug, Clone, PartialEq)]
pub enum MoidEntity {
    Datacenter(Datacenter),
    Cluster(Cluster),
    Host(Host),
    Vm(VmRecord),
    Datastore(Datastore),
    Network(Network),
    Folder(Folder),
    Task(Task),
}

/// The only door to persistence: every aggregate's store in one object. SQLite and PostgreSQL
/// implement it with the same semantics; one test suite runs against both.
///
/// It has no methods of its own, so anything implementing every aggregate's trait is a `Store`,
/// and callers holding an `Arc<dyn Store>` call any aggregate's methods without importing its
/// trait.
pub trait Store:
    SettingsStore
    + IdentityStore
    + TaskStore
    + ContainerStore
    + HostStore
    + ClaimStore
    + VmStore
    + DatastoreNetworkStore
    + EventStore
    + TagStore
    + MoidStore
    + StatsStore
    + BackupStore
    + ScheduleStore
    + IdentityProviderStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: SettingsStore
        + IdentityStore
        + TaskStore
        + ContainerStore
        + HostStore
        + ClaimStore
        + VmStore
        + DatastoreNetworkStore
        + EventStore
        + TagStore
        + MoidStore
        + StatsStore
        + BackupStore
        + ScheduleStore
        + IdentityProviderStore
        + Send
        + Sync
        + 'static
{
}

/// The server's own small state: named settings (instance id, first-start flag), the counters
/// vim moIds come from, and which engine keeps them.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// `sqlite` or `postgresql`.
    fn engine(&self) -> &'static str;

    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Inserts only if absent; returns whether this call inserted it.
    async fn put_setting_if_absent(&self, key: &str, value: &str) -> Result<bool, StoreError>;

    /// Next value of a named counter, starting at 1: vim moIds (`task-77`) come from these.
    async fn next_sequence(&self, name: &str) -> Result<i64, StoreError>;
    /// Reserves `count` (≥ 1) consecutive values of a sequence at once; the first of them.
    async fn reserve_sequence(&self, name: &str, count: u32) -> Result<i64, StoreError>;
    /// Several reservations in one transaction (an add numbers its host, datastores, networks
    /// and VMs at once): for each `(name, count)` the first value reserved. A count of 0
    /// reserves nothing (its first value is not to be used).
    async fn reserve_sequences(&self, blocks: &[(&str, u32)]) -> Result<Vec<i64>, StoreError>;

    /// At a clean stop: folds an engine's write-ahead log into the database and empties it, so
    /// that the data at rest is one file (SQLite); a no-op where the engine keeps no such log
    /// beside the data (PostgreSQL manages its own).
    async fn checkpoint(&self) -> Result<(), StoreError>;

    /// How much room the database takes, measured by the engine itself, and where its files
    /// lie on this machine when that can be known (appliance health weighs it against the
    /// free space there).
    async fn database_size(&self) -> Result<DatabaseSize, StoreError>;
}

/// The database's size and place, as [`SettingsStore::database_size`] measures them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSize {
    /// SQLite: the pages in use (page count × page size) plus the write-ahead log beside the
    /// file; PostgreSQL: `pg_database_size` of this database.
    pub bytes: u64,
    /// SQLite: the database file. PostgreSQL: the server's data directory, only when the
    /// server runs on this machine (a Unix socket or a loopback address) and lets this user
    /// read the setting; otherwise unknown.
    pub location: Option<std::path::PathBuf>,
}

/// Identities: principals (users and solution accounts) per realm, groups, and membership.
/// Roles are stored on principals and groups.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    async fn insert_principal(&self, p: &Principal) -> Result<(), StoreError>;
    async fn find_principal(
        &self,
        realm: &Realm,
        name: &str,
    ) -> Result<Option<Principal>, StoreError>;
    async fn list_principals(&self, realm: &Realm) -> Result<Vec<Principal>, StoreError>;
    /// Replaces the mutable fields (password hash, role, full name, e-mail, disabled, password
    /// aging); false if absent.
    async fn update_principal(&self, p: &Principal) -> Result<bool, StoreError>;
    /// Sets the digest verifier of principal `id` if it has none and its password hash is still
    /// `password_hash` (the one the verifier was derived from); false otherwise. Nothing else of
    /// the record is written, so a login's backfill cannot undo a change made meanwhile.
    async fn set_digest_verifier_if_unset(
        &self,
        id: &str,
        password_hash: &str,
        verifier: &str,
    ) -> Result<bool, StoreError>;
    /// Gives every principal of the realm these password days and writes the setting that
    /// records them (the local accounts' policy), in one transaction.
    async fn set_password_days(
        &self,
        realm: &Realm,
        days: PasswordDays,
        setting: (&str, &str),
    ) -> Result<(), StoreError>;
    async fn delete_principal(&self, id: &str) -> Result<bool, StoreError>;
    async fn insert_group(&self, g: &Group) -> Result<(), StoreError>;
    async fn find_group(&self, realm: &Realm, name: &str) -> Result<Option<Group>, StoreError>;
    async fn add_group_member(&self, group_id: &str, principal_id: &str) -> Result<(), StoreError>;
    async fn remove_group_member(
        &self,
        group_id: &str,
        principal_id: &str,
    ) -> Result<bool, StoreError>;
    async fn groups_of(&self, principal_id: &str) -> Result<Vec<Group>, StoreError>;
    /// The groups of a realm, by name.
    async fn list_groups(&self, realm: &Realm) -> Result<Vec<Group>, StoreError>;
    /// Deletes a group and its memberships (not its members); false if absent.
    async fn delete_group(&self, id: &str) -> Result<bool, StoreError>;
    /// The principals in a group, by name.
    async fn group_members(&self, group_id: &str) -> Result<Vec<Principal>, StoreError>;
    /// The hashes of a principal's earlier passwords, newest first.
    async fn password_history(&self, principal_id: &str) -> Result<Vec<String>, StoreError>;
    /// Writes `p` (its new password) and, in the same transaction, records `replaced_hash`
    /// (the password it replaces) in its history, keeping the newest `keep` entries; false if
    /// the principal is absent (then nothing is written).
    async fn update_principal_password(
        &self,
        p: &Principal,
        replaced_hash: &str,
        keep: usize,
    ) -> Result<bool, StoreError>;
}

/// Tasks: their progress and outcome, kept after they end so surfaces can list recent ones.
#[async_trait]
pub trait TaskStore: Send + Sync {
    async fn insert_task(&self, t: &Task) -> Result<(), StoreError>;
    /// Writes the task's mutable fields; false if it does not exist.
    async fn update_task(&self, t: &Task) -> Result<bool, StoreError>;
    async fn get_task(&self, id: &str) -> Result<Option<Task>, StoreError>;
    async fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<Task>, StoreError>;
    /// How many tasks are recorded in each state (`TaskState::as_str`), states with none left
    /// out: one grouped count, for the operator's metrics.
    async fn count_tasks_by_state(&self) -> Result<Vec<(String, u64)>, StoreError>;
    /// Ends every queued or running task with `error`; returns how many it ended.
    async fn fail_unfinished_tasks(
        &self,
        error: &CoreError,
        at: OffsetDateTime,
    ) -> Result<u64, StoreError>;
}

/// The inventory's containers: datacenters (ZStack zones), clusters and folders. Inserts fail
/// with Conflict on a taken unique key (names, moIds); updates return false if the row is gone.
#[async_trait]
pub trait ContainerStore: Send + Sync {
    async fn insert_datacenter(&self, d: &Datacenter) -> Result<(), StoreError>;
    async fn get_datacenter(&self, id: &str) -> Result<Option<Datacenter>, StoreError>;
    async fn list_datacenters(&self) -> Result<Vec<Datacenter>, StoreError>;
    async fn update_datacenter(&self, d: &Datacenter) -> Result<bool, StoreError>;
    /// Refused (Conflict) while clusters or hosts are in it.
    async fn delete_datacenter(&self, id: &str) -> Result<bool, StoreError>;
    /// Datacenters (ZStack zones) matching a query, in creation order by default.
    async fn query_datacenters(
        &self,
        q: &ListQuery<DatacenterField>,
    ) -> Result<Page<Datacenter>, StoreError>;

    async fn insert_cluster(&self, c: &Cluster) -> Result<(), StoreError>;
    async fn get_cluster(&self, id: &str) -> Result<Option<Cluster>, StoreError>;
    async fn list_clusters(&self, datacenter_id: Option<&str>) -> Result<Vec<Cluster>, StoreError>;
    async fn update_cluster(&self, c: &Cluster) -> Result<bool, StoreError>;
    /// Refused (Conflict) while hosts are in it.
    async fn delete_cluster(&self, id: &str) -> Result<bool, StoreError>;
    /// Clusters matching a query, in creation order by default.
    async fn query_clusters(
        &self,
        q: &ListQuery<ClusterField>,
    ) -> Result<Page<Cluster>, StoreError>;

    /// Folders: names are unique under one parent (Conflict).
    async fn insert_folder(&self, f: &Folder) -> Result<(), StoreError>;
    async fn get_folder(&self, id: &str) -> Result<Option<Folder>, StoreError>;
    /// The children of `parent_id`, ordered by name; None lists the root folder itself.
    async fn list_folders(&self, parent_id: Option<&str>) -> Result<Vec<Folder>, StoreError>;
    /// The folders of a datacenter (in no particular order).
    async fn folders_of_datacenter(&self, datacenter_id: &str) -> Result<Vec<Folder>, StoreError>;
    /// Refused (Conflict) while the folder has child folders.
    async fn delete_folder(&self, id: &str) -> Result<bool, StoreError>;
}

/// Hosts: the records operations own (placement, connection, maintenance, credentials) and
/// what heartbeats observe (runtime, facts, event cursor), written separately. Inserts fail
/// with Conflict on a taken name, address or moId; updates return false if the row is gone.
#[async_trait]
pub trait HostStore: Send + Sync {
    async fn insert_host(&self, h: &Host) -> Result<(), StoreError>;
    async fn get_host(&self, id: &str) -> Result<Option<Host>, StoreError>;
    async fn find_host_by_address(
        &self,
        address: &str,
        port: u16,
    ) -> Result<Option<Host>, StoreError>;
    async fn find_host_by_name(
        &self,
        datacenter_id: &str,
        name: &str,
    ) -> Result<Option<Host>, StoreError>;
    async fn list_hosts(&self, filter: &HostFilter) -> Result<Vec<Host>, StoreError>;
    async fn count_hosts(&self, filter: &HostFilter) -> Result<u64, StoreError>;
    async fn update_host(&self, h: &Host) -> Result<bool, StoreError>;
    /// What a heartbeat read from the agent (runtime, event cursor, and facts after a resync),
    /// written without touching the fields operations own: a heartbeat that overlaps a
    /// disconnect or a maintenance change must not write the old state back.
    async fn record_host_observation(
        &self,
        id: &str,
        runtime: Option<&HostRuntime>,
        facts: Option<&HostFacts>,
        event_cursor: u64,
    ) -> Result<bool, StoreError>;
    /// Moves the connection state from `from` to `to` only if it is still `from`; whether it did.
    async fn transition_host_connection(
        &self,
        id: &str,
        from: ConnectionState,
        to: ConnectionState,
    ) -> Result<bool, StoreError>;
    /// Writes everything an add registers in one transaction, all of it or none (see
    /// [`HostRegistration`]); Conflict on a taken name, address or moId.
    async fn register_host(&self, r: &HostRegistration) -> Result<(), StoreError>;
    /// Deletes the host with its VMs and its links to datastores and networks.
    async fn delete_host(&self, id: &str) -> Result<bool, StoreError>;
    /// Hosts matching a query: conditions ANDed, sorted (moId order by default), paged, with
    /// the total before paging when asked.
    async fn query_hosts(&self, q: &ListQuery<HostField>) -> Result<Page<Host>, StoreError>;
}

/// What an add registers of a host at once, so that a host is either wholly on record or not
/// at all: the record, its tags, the datastores and networks it sees (upserted by datacenter
/// and name, as [`DatastoreNetworkStore`]'s upserts, and linked to it), its VMs (new ones
/// inserted, ones on record on another host moved to it), and the claim intent the record now
/// stands in for (deleted).
#[derive(Debug, Clone)]
pub struct HostRegistration {
    /// With its tags (`system_tags`, `tags`), stored with it.
    pub host: Host,
    pub datastores: Vec<Datastore>,
    pub networks: Vec<Network>,
    pub new_vms: Vec<VmRecord>,
    pub moved_vms: Vec<VmRecord>,
    pub claim_intent_id: Option<String>,
}

/// Claims an add is making on agents, kept from before the claim until the host record holds
/// what they hold, so that a claim a killed process left can still be released.
#[async_trait]
pub trait ClaimStore: Send + Sync {
    /// Stores the intent; one with the same id already stored is kept as it is.
    async fn put_claim_intent(&self, c: &ClaimIntent) -> Result<(), StoreError>;
    /// Whether it was there.
    async fn delete_claim_intent(&self, id: &str) -> Result<bool, StoreError>;
    /// Oldest first.
    async fn list_claim_intents(&self) -> Result<Vec<ClaimIntent>, StoreError>;
}

/// Virtual machines: each on one host, found by id or by the hypervisor's uuid.
#[async_trait]
pub trait VmStore: Send + Sync {
    async fn insert_vm(&self, v: &VmRecord) -> Result<(), StoreError>;
    /// Inserts all of them in one transaction, or none.
    async fn insert_vms(&self, vms: &[VmRecord]) -> Result<(), StoreError>;
    /// The VMs with these instance uuids, wherever they are.
    async fn find_vms_by_instance_uuids(
        &self,
        uuids: &[String],
    ) -> Result<Vec<VmRecord>, StoreError>;
    async fn get_vm(&self, id: &str) -> Result<Option<VmRecord>, StoreError>;
    /// The VM with this instance uuid (its identity), wherever it is.
    async fn find_vm_by_instance_uuid(
        &self,
        instance_uuid: &str,
    ) -> Result<Option<VmRecord>, StoreError>;
    /// The VM a host knows by this BIOS uuid (what the host's agent names it by; another host
    /// may have a VM with the same one, a clone).
    async fn find_vm_on_host(
        &self,
        host_id: &str,
        uuid: &str,
    ) -> Result<Option<VmRecord>, StoreError>;
    async fn list_vms(&self, host_id: Option<&str>) -> Result<Vec<VmRecord>, StoreError>;
    /// How many VMs the inventory holds, without reading them.
    async fn count_vms(&self) -> Result<u64, StoreError>;
    async fn update_vm(&self, v: &VmRecord) -> Result<bool, StoreError>;
    /// A power state a heartbeat read from a host's agent, written only if the VM is still on
    /// that host with the power state and last operation time the heartbeat read (`seen`): a
    /// power operation or a migration that wrote meanwhile is newer than the observation.
    async fn record_vm_power(
        &self,
        seen: &VmRecord,
        power_state: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// vCPUs and memory bytes of the powered-on VMs of each host given (hosts without any are
    /// absent): one query for a whole page of hosts.
    async fn powered_on_usage(
        &self,
        host_ids: &[String],
    ) -> Result<HashMap<String, (u64, u64)>, StoreError>;
    async fn delete_vm(&self, id: &str) -> Result<bool, StoreError>;
    /// VMs matching a query, in creation order by default.
    async fn query_vms(&self, q: &ListQuery<VmField>) -> Result<Page<VmRecord>, StoreError>;
}

/// Datastores and networks, unique by name per datacenter, and which hosts see them.
#[async_trait]
pub trait DatastoreNetworkStore: Send + Sync {
    /// Inserts the datastore, or returns the existing one with the same datacenter and name
    /// after refreshing its capacity, free space, url and kind.
    async fn upsert_datastore(&self, d: &Datastore) -> Result<Datastore, StoreError>;
    async fn list_datastores(
        &self,
        datacenter_id: Option<&str>,
    ) -> Result<Vec<Datastore>, StoreError>;
    /// Replaces the set of datastores a host sees.
    async fn set_host_datastores(
        &self,
        host_id: &str,
        datastore_ids: &[String],
    ) -> Result<(), StoreError>;
    async fn datastores_of_host(&self, host_id: &str) -> Result<Vec<Datastore>, StoreError>;
    /// The hosts that see a datastore, ordered by moId number.
    async fn hosts_of_datastore(&self, datastore_id: &str) -> Result<Vec<Host>, StoreError>;

    async fn upsert_network(&self, n: &Network) -> Result<Network, StoreError>;
    async fn list_networks(&self, datacenter_id: Option<&str>) -> Result<Vec<Network>, StoreError>;
    async fn set_host_networks(
        &self,
        host_id: &str,
        network_ids: &[String],
    ) -> Result<(), StoreError>;
    async fn networks_of_host(&self, host_id: &str) -> Result<Vec<Network>, StoreError>;
    /// The hosts attached to a network, ordered by moId number.
    async fn hosts_of_network(&self, network_id: &str) -> Result<Vec<Host>, StoreError>;
}

/// Events: an append-only log, numbered in the order written.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends an event; returns it with its assigned seq.
    async fn append_event(&self, e: &Event) -> Result<Event, StoreError>;
    /// Oldest first.
    async fn list_events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError>;
}

/// What users attach to resources: ZStack tags, vim custom fields and hosts' named values.
#[async_trait]
pub trait TagStore: Send + Sync {
    /// Adds tags of one kind to a resource (existing ones are kept). Deleting a host, cluster
    /// or datacenter deletes its tags.
    async fn add_tags(
        &self,
        resource_id: &str,
        kind: TagKind,
        tags: &[String],
    ) -> Result<(), StoreError>;
    /// A resource's tags of one kind, sorted.
    async fn tags_of(&self, resource_id: &str, kind: TagKind) -> Result<Vec<String>, StoreError>;
    /// Every resource's tags (resource, kind, tag), for building the read model.
    async fn list_all_tags(&self) -> Result<Vec<(String, TagKind, String)>, StoreError>;
    async fn delete_tags(&self, resource_id: &str) -> Result<(), StoreError>;

    /// The field named `name`, defined with `new_key` if it does not exist yet.
    async fn ensure_custom_field(
        &self,
        name: &str,
        mo_type: &str,
        new_key: i64,
    ) -> Result<CustomField, StoreError>;
    /// Ordered by key.
    async fn list_custom_fields(&self) -> Result<Vec<CustomField>, StoreError>;
    /// Sets one named value of a host (replacing it); the values go when the host goes.
    async fn set_host_value(
        &self,
        host_id: &str,
        name: &str,
        value: &str,
    ) -> Result<(), StoreError>;
    /// A host's named values, ordered by name.
    async fn host_values(&self, host_id: &str) -> Result<Vec<(String, String)>, StoreError>;
}

/// vim's lookup by moId, across the aggregates that have one.
#[async_trait]
pub trait MoidStore: Send + Sync {
    /// The entity of `kind` whose moId is `moid`.
    async fn find_by_moid(
        &self,
        kind: MoidKind,
        moid: &str,
    ) -> Result<Option<MoidEntity>, StoreError>;
}

/// One statistic read at one moment (appliance monitoring).
#[derive(Debug, Clone, PartialEq)]
pub struct StatSample {
    /// The monitored item's id (`cpu.util`).
    pub item: String,
    /// Seconds since the Unix epoch, UTC.
    pub at: i64,
    pub value: f64,
}

/// Which copy of the statistics a read uses: the raw samples (kept for days), or the
/// aggregates every sample is folded into as it is written (kept for the whole retention).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatSpan {
    Raw,
    /// 30-minute aggregates, starting at UTC multiples of 30 minutes.
    HalfHour,
    /// 6-hour aggregates, starting at 00, 06, 12 and 18 UTC.
    SixHours,
    /// Daily aggregates, starting at UTC midnight.
    Day,
}

impl StatSpan {
    /// The width of one aggregate in seconds (a raw sample has none: 0).
    pub fn seconds(self) -> i64 {
        match self {
            StatSpan::Raw => 0,
            StatSpan::HalfHour => 1800,
            StatSpan::SixHours => 21_600,
            StatSpan::Day => 86_400,
        }
    }
}

/// The samples of one interval of a query, aggregated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatBucket {
    /// Which interval: 0 is the one starting at the read's origin.
    pub index: i64,
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

/// Appliance statistics: raw samples for days, and 30-minute, 6-hour and daily aggregates for
/// the whole retention, which writing a sample updates in the same transaction.
#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Writes the samples and folds each into its aggregates (every span but raw), all in one
    /// transaction. A sample of an item at a second already written replaces nothing (the
    /// first is kept).
    async fn record_stats(&self, samples: &[StatSample]) -> Result<(), StoreError>;
    /// The samples of `item` from `span` between `from` and `to` (seconds, both inclusive; an
    /// aggregate is taken when it starts in them), grouped into intervals of `width` seconds
    /// from `from`: only intervals holding samples, in order.
    async fn stat_buckets(
        &self,
        item: &str,
        span: StatSpan,
        from: i64,
        to: i64,
        width: i64,
    ) -> Result<Vec<StatBucket>, StoreError>;
    /// Every item that has statistics, in no particular order.
    async fn stat_items(&self) -> Result<Vec<String>, StoreError>;
    /// Deletes raw samples taken before `raw_before` and aggregates starting before
    /// `aggregates_before` (seconds); how many rows went.
    async fn prune_stats(&self, raw_before: i64, aggregates_before: i64)
        -> Result<u64, StoreError>;
}

/// One stored value in an engine-neutral form: what a backup carries, so that an archive made
/// from SQLite restores into PostgreSQL and the other way round. Serialised as plain JSON.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Text(String),
}

/// How big a table is, measured by the engine (`BackupStore::table_sizes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSize {
    pub table: String,
    pub rows: u64,
    pub columns: u64,
    /// The bytes of its values written as text: the size of its rows in an archive before
    /// compression (an upper bound of what they take compressed).
    pub bytes: u64,
}

/// Where an export writes: tables one after the other, each a header then its rows. An error
/// stops the export; the sink keeps its own cause for its caller.
pub trait TableSink {
    fn begin_table(&mut self, table: &str, columns: &[String]) -> Result<(), StoreError>;
    fn row(&mut self, cells: Vec<Cell>) -> Result<(), StoreError>;
}

/// What an import reads: tables one after the other, each a header then its rows until `None`.
pub trait TableSource {
    /// The next table and its columns, or `None` at the end.
    fn next_table(&mut self) -> Result<Option<(String, Vec<String>)>, StoreError>;
    /// The next row of the current table, or `None` at its end.
    fn next_row(&mut self) -> Result<Option<Vec<Cell>>, StoreError>;
}

/// How an appended row meets a row already holding its key (`BackupStore::append_rows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// No taken key is expected: one fails the batch (`StoreError::Conflict`).
    Fail,
    /// The row already there stays; the appended one is left out.
    Skip { key: &'static [&'static str] },
    /// The appended row is folded into the one already there: `sum` columns added, `least`
    /// the smaller, `greatest` the larger; its other columns keep their value.
    Fold {
        key: &'static [&'static str],
        sum: &'static [&'static str],
        least: &'static [&'static str],
        greatest: &'static [&'static str],
    },
}

/// An appended column whose value names a row of another table by one of its unique columns
/// (`by`): the store writes that row's `key` instead, looked up in the same statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLookup {
    pub column: &'static str,
    pub table: &'static str,
    pub key: &'static str,
    pub by: &'static str,
}

/// Rows appended to a live table in one transaction (`BackupStore::append_rows`).
#[derive(Debug, Clone)]
pub struct AppendBatch<'a> {
    pub table: &'a str,
    /// The columns the cells are for, by name; a column left out takes its default (a
    /// generated key is given by the store).
    pub columns: &'a [String],
    pub rows: Vec<Vec<Cell>>,
    pub lookups: &'a [KeyLookup],
    pub on_conflict: OnConflict,
    /// A setting (key, value) written in the same transaction.
    pub progress: (&'a str, &'a str),
}

/// Backup and restore: the store's tables exported from one consistent snapshot, and a whole
/// content replaced in one transaction. Which table belongs to which part of a backup is the
/// core's rule (`recovery::parts`); the store only moves rows.
#[async_trait]
pub trait BackupStore: Send + Sync {
    /// The schema version the store is at (its last migration).
    async fn schema_version(&self) -> Result<i64, StoreError>;
    /// Every table holding the server's data, without the engine's and the migrations' own.
    async fn data_tables(&self) -> Result<Vec<String>, StoreError>;
    /// Row counts and value bytes of these tables.
    async fn table_sizes(&self, tables: &[String]) -> Result<Vec<TableSize>, StoreError>;
    /// Writes these tables, in this order, all read from one snapshot (SQLite: one read
    /// transaction; PostgreSQL: one REPEATABLE READ, READ ONLY transaction), so that writes
    /// going on meanwhile are either wholly in or wholly out.
    async fn export_tables(
        &self,
        tables: &[String],
        sink: &mut (dyn TableSink + Send),
    ) -> Result<(), StoreError>;
    /// In one transaction: empties every table of `clear`, then inserts what `source` holds
    /// (each of its tables must be one of `clear`), and moves generated keys past the rows
    /// inserted. A failure leaves the store as it was.
    async fn import_tables(
        &self,
        clear: &[String],
        source: &mut (dyn TableSource + Send),
    ) -> Result<(), StoreError>;
    /// In one transaction: appends `batch.rows` to `batch.table` without emptying anything
    /// (the live server's own rows stay), meeting taken keys by `batch.on_conflict`, and writes
    /// the setting `batch.progress` — so a batch is in the store exactly when the caller's
    /// record of its progress says so, and a batch imported again after a crash is never
    /// doubled. Generated keys left out of `batch.columns` are the store's to give. Returns how
    /// many rows were inserted or folded (rows skipped on a taken key are not counted).
    async fn append_rows(&self, batch: AppendBatch<'_>) -> Result<u64, StoreError>;
}

/// Backup schedules (`recovery.backup.schedules`): what a schedule runs, where, and when it last
/// ran. Passwords arrive sealed by the core; the store never sees them in the clear.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Conflict when the id is taken.
    async fn insert_backup_schedule(&self, s: &BackupSchedule) -> Result<(), StoreError>;
    async fn get_backup_schedule(&self, id: &str) -> Result<Option<BackupSchedule>, StoreError>;
    /// Ordered by id.
    async fn list_backup_schedules(&self) -> Result<Vec<BackupSchedule>, StoreError>;
    /// Writes everything but the id, `created_at` and `last_run_at`; false if it is gone.
    async fn update_backup_schedule(&self, s: &BackupSchedule) -> Result<bool, StoreError>;
    /// Whether it was there.
    async fn delete_backup_schedule(&self, id: &str) -> Result<bool, StoreError>;
    /// Sets `last_run_at`; false if it is gone.
    async fn record_backup_schedule_run(
        &self,
        id: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// External identity providers (`vcenter.identity.providers`). The configuration is the core's
/// JSON; secrets arrive sealed by the core.
#[async_trait]
pub trait IdentityProviderStore: Send + Sync {
    /// Conflict when the id is taken. With `is_default` set, every other provider is made
    /// non-default in the same transaction.
    async fn insert_identity_provider(&self, p: &ProviderRecord) -> Result<(), StoreError>;
    async fn get_identity_provider(&self, id: &str) -> Result<Option<ProviderRecord>, StoreError>;
    /// Ordered by creation, then id.
    async fn list_identity_providers(&self) -> Result<Vec<ProviderRecord>, StoreError>;
    /// Writes everything but the id and `created_at` (and clears the others' default as insert
    /// does); false if it is gone.
    async fn update_identity_provider(&self, p: &ProviderRecord) -> Result<bool, StoreError>;
    /// Whether it was there.
    async fn delete_identity_provider(&self, id: &str) -> Result<bool, StoreError>;
}
