//! One implementation of `Store`, instantiated for SQLite and for PostgreSQL.
use async_trait::async_trait;
use ferrocenter_core::auth::{Group, Principal, Realm};
use ferrocenter_core::inventory::query::{
    ClusterField, Condition, Counting, DatacenterField, HostField, ListQuery, Page, QueryOp,
    QueryValue, TagKind, VmField,
};
use ferrocenter_core::inventory::{
    AdminState, AutomationLevel, Cluster, ConnectionState, CustomField, Datacenter, Datastore,
    Event, EventFilter, Folder, FolderKind, Host, HostFilter, HostState, Network, VmRecord,
};
use ferrocenter_core::model::EntityRef;
use ferrocenter_core::ports::{MoidEntity, MoidKind, Store, StoreError, TaskFilter};
use ferrocenter_core::tasks::Task;
use ferrocenter_core::{from_millis, to_millis, CoreError};
use sqlx::Row;
use time::OffsetDateTime;

use crate::migrations::{self, Migration, CREATE_LEDGER};
use crate::open::OpenError;
use crate::rows::{
    bigint_from, bigint_to, enum_from, error_from, error_to, json_from, json_to, map_err,
    map_in_use, moid_number, role_from, state_from, strings_from, strings_to, value_from,
};

const TASK_COLUMNS: &str = "id, moid, kind, target_kind, target_id, initiator, description, \
    state, progress, progress_message, result, error, cancelable, cancelled, queued_at, \
    started_at, completed_at";
const PRINCIPAL_COLUMNS: &str =
    "id, domain, name, password_hash, role, full_name, disabled, created_at, password_changed_at, \
     digest_verifier";
const DATACENTER_COLUMNS: &str =
    "id, moid, name, description, state, is_default, created_at, last_op_at";
const FOLDER_COLUMNS: &str =
    "id, moid, parent_id, datacenter_id, kind, name, created_at, last_op_at";
const CLUSTER_COLUMNS: &str = "id, moid, datacenter_id, name, description, automation_level, \
    hypervisor_type, state, kind, architecture, created_at, last_op_at";
const HOST_COLUMNS: &str = "id, moid, datacenter_id, cluster_id, name, description, address, \
    port, thumbprint, agent_user, agent_secret, connection_state, state, previous_state, \
    power_state, facts, runtime, management_ip, ssh_port, tags, system_tags, event_cursor, \
    created_at, last_op_at";
const VM_COLUMNS: &str = "id, moid, host_id, uuid, name, power_state, vcpus, memory_bytes, \
    guest_os_id, data, created_at, last_op_at";
const DATASTORE_COLUMNS: &str = "id, moid, datacenter_id, name, url, kind, capacity_bytes, \
    free_bytes, created_at, last_op_at";
const NETWORK_COLUMNS: &str = "id, moid, datacenter_id, name, kind, vlan, created_at, last_op_at";
const EVENT_COLUMNS: &str =
    "seq, time, kind, entity_kind, entity_id, entity_name, user_name, message, data";

/// How a query field reads in SQL. Every string here is a constant of this file: caller text
/// only ever arrives as bound values.
#[derive(Clone, Copy)]
enum Sql {
    /// A column or expression of the queried table.
    Expr(&'static str),
    /// A column of a related table: `key IN (SELECT id FROM table WHERE column <cond>)`;
    /// `sort` is the same value as a scalar expression, for ORDER BY.
    Via {
        key: &'static str,
        table: &'static str,
        column: &'static str,
        sort: &'static str,
    },
    /// The resource's tags of one kind.
    Tag(TagKind),
}

trait SqlField: Copy {
    fn sql(self) -> Sql;
}

/// ZStack's status folds notResponding into Disconnected; every host is KVM.
impl SqlField for HostField {
    fn sql(self) -> Sql {
        Sql::Expr(match self {
            HostField::Id => "id",
            HostField::Moid => "moid",
            HostField::Name => "name",
            HostField::Description => "description",
            HostField::DatacenterId => "datacenter_id",
            HostField::ClusterId => "cluster_id",
            HostField::Address => "address",
            HostField::HypervisorType => "'KVM'",
            HostField::State => "state",
            HostField::Status => {
                "(CASE connection_state WHEN 'connected' THEN 'Connected' \
                 WHEN 'connecting' THEN 'Connecting' ELSE 'Disconnected' END)"
            }
            HostField::CreatedAt => "created_at",
            HostField::LastOpAt => "last_op_at",
            HostField::SshPort => "COALESCE(ssh_port, 22)",
            HostField::ClusterName => {
                return Sql::Via {
                    key: "cluster_id",
                    table: "clusters",
                    column: "name",
                    sort: "(SELECT name FROM clusters WHERE clusters.id = hosts.cluster_id)",
                }
            }
            HostField::DatacenterName => {
                return Sql::Via {
                    key: "datacenter_id",
                    table: "datacenters",
                    column: "name",
                    sort:
                        "(SELECT name FROM datacenters WHERE datacenters.id = hosts.datacenter_id)",
                }
            }
            HostField::Tag(k) => return Sql::Tag(k),
        })
    }
}

impl SqlField for DatacenterField {
    fn sql(self) -> Sql {
        Sql::Expr(match self {
            DatacenterField::Id => "id",
            DatacenterField::Name => "name",
            DatacenterField::Description => "description",
            DatacenterField::State => "state",
            DatacenterField::Type => "'zstack'",
            DatacenterField::IsDefault => "(CASE WHEN is_default THEN 1 ELSE 0 END)",
            DatacenterField::CreatedAt => "created_at",
            DatacenterField::LastOpAt => "last_op_at",
            DatacenterField::Tag(k) => return Sql::Tag(k),
        })
    }
}

impl SqlField for ClusterField {
    fn sql(self) -> Sql {
        Sql::Expr(match self {
            ClusterField::Id => "id",
            ClusterField::Name => "name",
            ClusterField::Description => "description",
            ClusterField::State => "state",
            ClusterField::HypervisorType => "hypervisor_type",
            ClusterField::Type => "kind",
            ClusterField::Architecture => "architecture",
            ClusterField::DatacenterId => "datacenter_id",
            ClusterField::CreatedAt => "created_at",
            ClusterField::LastOpAt => "last_op_at",
            ClusterField::DatacenterName => return Sql::Via {
                key: "datacenter_id",
                table: "datacenters",
                column: "name",
                sort:
                    "(SELECT name FROM datacenters WHERE datacenters.id = clusters.datacenter_id)",
            },
            ClusterField::Tag(k) => return Sql::Tag(k),
        })
    }
}

/// A VM on a host that does not answer is Unknown, as ZStack marks it.
impl SqlField for VmField {
    fn sql(self) -> Sql {
        let via = |column, sort| Sql::Via {
            key: "host_id",
            table: "hosts",
            column,
            sort,
        };
        Sql::Expr(match self {
            VmField::Id => "id",
            VmField::Name => "name",
            VmField::HostId => "host_id",
            VmField::HostName => {
                return via(
                    "name",
                    "(SELECT name FROM hosts WHERE hosts.id = vms.host_id)",
                )
            }
            VmField::ClusterId => {
                return via(
                    "cluster_id",
                    "(SELECT cluster_id FROM hosts WHERE hosts.id = vms.host_id)",
                )
            }
            VmField::DatacenterId => {
                return via(
                    "datacenter_id",
                    "(SELECT datacenter_id FROM hosts WHERE hosts.id = vms.host_id)",
                )
            }
            VmField::State => {
                "(CASE WHEN (SELECT connection_state FROM hosts WHERE hosts.id = vms.host_id) \
                 IN ('notResponding', 'disconnected') THEN 'Unknown' \
                 WHEN power_state = 'poweredOn' THEN 'Running' \
                 WHEN power_state = 'suspended' THEN 'Paused' ELSE 'Stopped' END)"
            }
            VmField::CpuNum => "vcpus",
            VmField::MemoryBytes => "memory_bytes",
            VmField::CreatedAt => "created_at",
            VmField::LastOpAt => "last_op_at",
            VmField::Tag(k) => return Sql::Tag(k),
        })
    }
}

macro_rules! sql_store {
    ($name:ident, $db:ty, $engine:literal, $migrations:expr) => {
        /// The `Store` on this engine. Cheap to clone (a connection pool).
        #[derive(Clone)]
        pub struct $name {
            pool: sqlx::Pool<$db>,
        }

        impl $name {
            pub fn new(pool: sqlx::Pool<$db>) -> Self {
                $name { pool }
            }

            pub fn pool(&self) -> &sqlx::Pool<$db> {
                &self.pool
            }

            /// Applies every migration newer than the database, each in its own transaction.
            pub async fn migrate(&self) -> Result<(), OpenError> {
                let fail = |m: &Migration, e: sqlx::Error| OpenError::Migration {
                    version: m.version,
                    name: m.name.to_string(),
                    reason: e.to_string(),
                };
                sqlx::query(CREATE_LEDGER)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| OpenError::Connect(e.to_string()))?;
                let applied: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| OpenError::Connect(e.to_string()))?;
                let applied = applied.unwrap_or(0);
                let list: &[Migration] = $migrations;
                if let Some(newest) = list.last() {
                    if applied > newest.version {
                        return Err(OpenError::Migration {
                            version: applied,
                            name: "unknown".into(),
                            reason: format!(
                                "the database is at schema version {applied}, newer than this \
                                 build knows ({}); upgrade ferrocenter",
                                newest.version
                            ),
                        });
                    }
                }
                for m in list.iter().filter(|m| m.version > applied) {
                    let mut tx = self.pool.begin().await.map_err(|e| fail(m, e))?;
                    sqlx::raw_sql(m.sql)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| fail(m, e))?;
                    sqlx::query(
                        "INSERT INTO schema_migrations (version, name, applied_at) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(m.version)
                    .bind(m.name)
                    .bind(to_millis(OffsetDateTime::now_utc()))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| fail(m, e))?;
                    tx.commit().await.map_err(|e| fail(m, e))?;
                    tracing::info!(engine = $engine, version = m.version, name = m.name, "applied migration");
                }
                Ok(())
            }

            /// Replaces a host's rows in a link table (`host_datastores`, `host_networks`) in one
            /// transaction. Table and column names are constants of this file, never input.
            async fn replace_host_links(
                &self,
                table: &str,
                column: &str,
                host_id: &str,
                ids: &[String],
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                sqlx::query(&format!("DELETE FROM {table} WHERE host_id = $1"))
                    .bind(host_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                let insert = format!(
                    "INSERT INTO {table} (host_id, {column}) VALUES ($1, $2) ON CONFLICT DO NOTHING"
                );
                for id in ids {
                    sqlx::query(&insert)
                        .bind(host_id)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)
            }

            fn principal(row: &<$db as sqlx::Database>::Row) -> Result<Principal, StoreError> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(Principal {
                    id: row.try_get("id").map_err(g)?,
                    realm: Realm::from_store_key(&row.try_get::<String, _>("domain").map_err(g)?),
                    name: row.try_get("name").map_err(g)?,
                    password_hash: row.try_get("password_hash").map_err(g)?,
                    digest_verifier: row.try_get("digest_verifier").map_err(g)?,
                    role: role_from(&row.try_get::<String, _>("role").map_err(g)?)?,
                    full_name: row.try_get("full_name").map_err(g)?,
                    disabled: row.try_get("disabled").map_err(g)?,
                    created_at: from_millis(row.try_get("created_at").map_err(g)?),
                    password_changed_at: from_millis(
                        row.try_get("password_changed_at").map_err(g)?,
                    ),
                })
            }

            fn group(row: &<$db as sqlx::Database>::Row) -> Result<Group, StoreError> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(Group {
                    id: row.try_get("id").map_err(g)?,
                    realm: Realm::from_store_key(&row.try_get::<String, _>("domain").map_err(g)?),
                    name: row.try_get("name").map_err(g)?,
                    role: row
                        .try_get::<Option<String>, _>("role")
                        .map_err(g)?
                        .map(|r| role_from(&r))
                        .transpose()?,
                    description: row.try_get("description").map_err(g)?,
                })
            }

            fn task(row: &<$db as sqlx::Database>::Row) -> Result<Task, StoreError> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let target_kind: Option<String> = row.try_get("target_kind").map_err(g)?;
                let target_id: Option<String> = row.try_get("target_id").map_err(g)?;
                let progress: i64 = row.try_get("progress").map_err(g)?;
                Ok(Task {
                    id: row.try_get("id").map_err(g)?,
                    moid: row.try_get("moid").map_err(g)?,
                    kind: row.try_get("kind").map_err(g)?,
                    target: match (target_kind, target_id) {
                        (Some(k), Some(i)) => Some(EntityRef::new(k, i)),
                        _ => None,
                    },
                    initiator: row.try_get("initiator").map_err(g)?,
                    description: row.try_get("description").map_err(g)?,
                    state: state_from(&row.try_get::<String, _>("state").map_err(g)?)?,
                    progress: progress.clamp(0, 100) as u8,
                    progress_message: row.try_get("progress_message").map_err(g)?,
                    result: json_from(row.try_get("result").map_err(g)?)?,
                    error: error_from(row.try_get("error").map_err(g)?)?,
                    cancelable: row.try_get("cancelable").map_err(g)?,
                    cancelled: row.try_get("cancelled").map_err(g)?,
                    queued_at: from_millis(row.try_get("queued_at").map_err(g)?),
                    started_at: row
                        .try_get::<Option<i64>, _>("started_at")
                        .map_err(g)?
                        .map(from_millis),
                    completed_at: row
                        .try_get::<Option<i64>, _>("completed_at")
                        .map_err(g)?
                        .map(from_millis),
                })
            }

            fn custom_field(row: &<$db as sqlx::Database>::Row) -> Result<CustomField, StoreError> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(CustomField {
                    key: row.try_get("field_key").map_err(g)?,
                    name: row.try_get("name").map_err(g)?,
                    mo_type: row.try_get("mo_type").map_err(g)?,
                })
            }

            fn datacenter(row: &<$db as sqlx::Database>::Row) -> Result<Datacenter, StoreError> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(Datacenter {
                    id: row.try_get("id").map_err(g)?,
                    moid: row.try_get("moid").map_err(g)?,
                    name: row.try_get("name").map_err(g)?,
                    description: row.try_get("description").map_err(g)?,
                    state: enum_from(
                        &row.try_get::<String, _>("state").map_err(g)?,
                        AdminState::parse,
                        "datacenter state",
                    )?,
                    is_default: row.try_get("is_default").map_err(g)?,
                    created_at: from_millis(row.try_get("created_at").map_err(g)?),
                    last_op_at: from_millis(row.try_get("last_op_at").map_err(g)?),
                })
            }

            fn folder(row: &<$db as sqlx::Database>::Row) -> Result<Folder, StoreError> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(Folder {
                    id: row.try_get("id").map_err(g)?,
                    moid: row.try_get("moid").map_err(g)?,
                    parent_id: row.try_get("parent_id").map_err(g)?,
                    datacenter_id: row.try_get("datacenter_id").map_err(g)?,
                    kind: enum_from(
                        &row.try_get::<String, _>("kind").map_err(g)?,
                        FolderKind::parse,
                        "folder kind",
                    )?,
                    name: row.try_get("name").map_err(g)?,
                    created_at: from_millis(row.try_get("created_at").map_err(g)?),
                    last_op_at: from_millis(row.try_get("last_op_at").map_err(g)?),
                })
            }

            fn cluster(row: &<$db as sqlx::Database>::Row) -> Result<Cluster, StoreError> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(Cluster {
                    id: row.try_get("id").map_err(g)?,
                    moid: row.try_get("moid").map_err(g)?,
                    datacenter_id: row.try_get("datacenter_id").map_err(g)?,
                    name: row.try_get("name").map_err(g)?,
                    description: row.try_get("description").map_err(g)?,
                    automation_level: enum_from(
                        &row.try_get::<String, _>("automation_level").map_err(g)?,
                        AutomationLevel::parse,
                        "automation level",
                    )?,
                    hypervisor_type: row.try_get("hypervisor_type").map_err(g)?,
                    state: enum_from(
                        &row.try_get::<String, _>("state").map_err(g)?,
                        AdminState::parse,
                        "cluster state",
                    )?,
                    kind: row.try_get("kind").map_err(g)?,
                    architecture: row.try_get("architecture").map_err(g)?,
                    created_at: from_millis(row.try_get("created_at").map_err(g)?),
                    last_op_at: from_millis(row.try_get("last_op_at").map_err(g)?),
                })
            }

            fn host(row: &<$db as sqlx::Database>::Row) -> Result<Host, StoreError> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(Host {
                    id: row.try_get("id").map_err(g)?,
                    moid: row.try_get("moid").map_err(g)?,
                    datacenter_id: row.try_get("datacenter_id").map_err(g)?,
                    cluster_id: row.try_get("cluster_id").map_err(g)?,
                    name: row.try_get("name").map_err(g)?,
                    description: row.try_get("description").map_err(g)?,
                    address: row.try_get("address").map_err(g)?,
                    port: bigint_from(row.try_get("port").map_err(g)?, "port")?,
                    thumbprint: row.try_get("thumbprint").map_err(g)?,
                    agent_user: row.try_get("agent_user").map_err(g)?,
                    agent_secret: row.try_get("agent_secret").map_err(g)?,
                    connection_state: enum_from(
                        &row.try_get::<String, _>("connection_state").map_err(g)?,
                        ConnectionState::parse,
                        "connection state",
                    )?,
                    state: enum_from(
                        &row.try_get::<String, _>("state").map_err(g)?,
                        HostState::parse,
                        "host state",
                    )?,
                    previous_state: row
                        .try_get::<Option<String>, _>("previous_state")
                        .map_err(g)?
                        .map(|s| enum_from(&s, HostState::parse, "host state"))
                        .transpose()?,
                    power_state: row.try_get("power_state").map_err(g)?,
                    facts: json_from(row.try_get("facts").map_err(g)?)?,
                    runtime: json_from(row.try_get("runtime").map_err(g)?)?,
                    management_ip: row.try_get("management_ip").map_err(g)?,
                    ssh_port: row
                        .try_get::<Option<i64>, _>("ssh_port")
                        .map_err(g)?
                        .map(|p| bigint_from(p, "ssh_port"))
                        .transpose()?,
                    tags: strings_from(&row.try_get::<String, _>("tags").map_err(g)?)?,
                    system_tags: strings_from(
                        &row.try_get::<String, _>("system_tags").map_err(g)?,
                    )?,
                    event_cursor: bigint_from(
                        row.try_get("event_cursor").map_err(g)?,
                        "event_cursor",
                    )?,
                    created_at: from_millis(row.try_get("created_at").map_err(g)?),
                    last_op_at: from_millis(row.try_get("last_op_at").map_err(g)?),
                })
            }

            fn vm(row: &<$db as sqlx::Database>::Row) -> Result<VmRecord, StoreError> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(VmRecord {
                    id: row.try_get("id").map_err(g)?,
                    moid: row.try_get("moid").map_err(g)?,
                    host_id: row.try_get("host_id").map_err(g)?,
                    uuid: row.try_get("uuid").map_err(g)?,
                    name: row.try_get("name").map_err(g)?,
                    power_state: row.try_get("power_state").map_err(g)?,
                    vcpus: bigint_from(row.try_get("vcpus").map_err(g)?, "vcpus")?,
                    memory_bytes: bigint_from(
                        row.try_get("memory_bytes").map_err(g)?,
                        "memory_bytes",
                    )?,
                    guest_os_id: row.try_get("guest_os_id").map_err(g)?,
                    data: value_from(&row.try_get::<String, _>("data").map_err(g)?)?,
                    created_at: from_millis(row.try_get("created_at").map_err(g)?),
                    last_op_at: from_millis(row.try_get("last_op_at").map_err(g)?),
                })
            }

            fn datastore(row: &<$db as sqlx::Database>::Row) -> Result<Datastore, StoreError> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(Datastore {
                    id: row.try_get("id").map_err(g)?,
                    moid: row.try_get("moid").map_err(g)?,
                    datacenter_id: row.try_get("datacenter_id").map_err(g)?,
                    name: row.try_get("name").map_err(g)?,
                    url: row.try_get("url").map_err(g)?,
                    kind: row.try_get("kind").map_err(g)?,
                    capacity_bytes: bigint_from(
                        row.try_get("capacity_bytes").map_err(g)?,
                        "capacity_bytes",
                    )?,
                    free_bytes: bigint_from(row.try_get("free_bytes").map_err(g)?, "free_bytes")?,
                    created_at: from_millis(row.try_get("created_at").map_err(g)?),
                    last_op_at: from_millis(row.try_get("last_op_at").map_err(g)?),
                })
            }

            fn network(row: &<$db as sqlx::Database>::Row) -> Result<Network, StoreError> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(Network {
                    id: row.try_get("id").map_err(g)?,
                    moid: row.try_get("moid").map_err(g)?,
                    datacenter_id: row.try_get("datacenter_id").map_err(g)?,
                    name: row.try_get("name").map_err(g)?,
                    kind: row.try_get("kind").map_err(g)?,
                    vlan: row
                        .try_get::<Option<i64>, _>("vlan")
                        .map_err(g)?
                        .map(|v| bigint_from(v, "vlan"))
                        .transpose()?,
                    created_at: from_millis(row.try_get("created_at").map_err(g)?),
                    last_op_at: from_millis(row.try_get("last_op_at").map_err(g)?),
                })
            }

            fn event(row: &<$db as sqlx::Database>::Row) -> Result<Event, StoreError> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(Event {
                    seq: row.try_get("seq").map_err(g)?,
                    time: from_millis(row.try_get("time").map_err(g)?),
                    kind: row.try_get("kind").map_err(g)?,
                    entity_kind: row.try_get("entity_kind").map_err(g)?,
                    entity_id: row.try_get("entity_id").map_err(g)?,
                    entity_name: row.try_get("entity_name").map_err(g)?,
                    user: row.try_get("user_name").map_err(g)?,
                    message: row.try_get("message").map_err(g)?,
                    data: value_from(&row.try_get::<String, _>("data").map_err(g)?)?,
                })
            }

            /// `AND …` terms of a host listing or count.
            fn host_filter(q: &mut sqlx::QueryBuilder<'_, $db>, f: &HostFilter) {
                if let Some(dc) = &f.datacenter_id {
                    q.push(" AND datacenter_id = ");
                    q.push_bind(dc.clone());
                }
                if let Some(cluster) = &f.cluster_id {
                    q.push(" AND cluster_id = ");
                    q.push_bind(cluster.clone());
                }
                if let Some(state) = f.connection_state {
                    q.push(" AND connection_state = ");
                    q.push_bind(state.as_str());
                }
            }

            /// `SELECT <columns> FROM <table>`, restricted to one datacenter if given, by name.
            /// One condition of a listing, on a SQL expression from this file's tables.
            /// `expr <op> values`, every value bound.
            fn push_comparison(
                q: &mut sqlx::QueryBuilder<'_, $db>,
                expr: &str,
                op: QueryOp,
                values: &[QueryValue],
            ) {
                let bind = |q: &mut sqlx::QueryBuilder<'_, $db>, v: &QueryValue| match v {
                    QueryValue::Text(t) => {
                        q.push_bind(t.clone());
                    }
                    QueryValue::Int(i) => {
                        q.push_bind(*i);
                    }
                };
                match op {
                    QueryOp::IsNull => {
                        q.push(format!("{expr} IS NULL"));
                    }
                    QueryOp::NotNull => {
                        q.push(format!("{expr} IS NOT NULL"));
                    }
                    QueryOp::In | QueryOp::NotIn => {
                        let not = if op == QueryOp::NotIn { "NOT " } else { "" };
                        q.push(format!("{expr} {not}IN ("));
                        for (i, v) in values.iter().enumerate() {
                            if i > 0 {
                                q.push(", ");
                            }
                            bind(q, v);
                        }
                        q.push(")");
                    }
                    // Case-insensitive on both engines, as ZStack's MySQL compares.
                    QueryOp::Like | QueryOp::NotLike => {
                        let not = if op == QueryOp::NotLike { "NOT " } else { "" };
                        q.push(format!("LOWER({expr}) {not}LIKE LOWER("));
                        bind(q, &values[0]);
                        q.push(")");
                    }
                    op => {
                        let sym = match op {
                            QueryOp::Eq => "=",
                            QueryOp::Ne => "!=",
                            QueryOp::Gt => ">",
                            QueryOp::Ge => ">=",
                            QueryOp::Lt => "<",
                            _ => "<=",
                        };
                        q.push(format!("{expr} {sym} "));
                        bind(q, &values[0]);
                    }
                }
            }

            /// The WHERE clause of a query on `table` (whose key column is `id`).
            fn push_conditions<F: SqlField>(
                q: &mut sqlx::QueryBuilder<'_, $db>,
                table: &str,
                conditions: &[Condition<F>],
            ) {
                q.push(" WHERE 1 = 1");
                for c in conditions {
                    q.push(" AND ");
                    match c.field.sql() {
                        Sql::Expr(e) => Self::push_comparison(q, e, c.op, &c.values),
                        Sql::Via { key, table: other, column, .. } => {
                            q.push(format!("{key} IN (SELECT id FROM {other} WHERE "));
                            Self::push_comparison(q, column, c.op, &c.values);
                            q.push(")");
                        }
                        // ZStack: a negative operator on tags means "has no matching tag";
                        // `is null` means no tag of that kind at all.
                        Sql::Tag(kind) => {
                            let (negate, op) = match c.op {
                                QueryOp::Ne => (true, QueryOp::Eq),
                                QueryOp::NotIn => (true, QueryOp::In),
                                QueryOp::NotLike => (true, QueryOp::Like),
                                QueryOp::IsNull => (true, QueryOp::NotNull),
                                op => (false, op),
                            };
                            q.push(format!(
                                "{table}.id {}IN (SELECT resource_id FROM resource_tags WHERE kind = ",
                                if negate { "NOT " } else { "" }
                            ));
                            q.push_bind(kind.as_str());
                            if op != QueryOp::NotNull {
                                q.push(" AND ");
                                Self::push_comparison(q, "tag", op, &c.values);
                            }
                            q.push(")");
                        }
                    }
                }
            }

            /// A filtered, sorted, paged listing of `table`.
            async fn query_table<F: SqlField, T>(
                &self,
                table: &str,
                columns: &str,
                order: &str,
                lq: &ListQuery<F>,
                map: fn(&<$db as sqlx::Database>::Row) -> Result<T, StoreError>,
            ) -> Result<Page<T>, StoreError> {
                let total = if lq.counting == Counting::No {
                    None
                } else {
                    let mut q =
                        sqlx::QueryBuilder::<$db>::new(format!("SELECT COUNT(*) FROM {table}"));
                    Self::push_conditions(&mut q, table, &lq.conditions);
                    let n: i64 = q.build_query_scalar().fetch_one(&self.pool).await.map_err(map_err)?;
                    Some(bigint_from(n, "count")?)
                };
                if lq.counting == Counting::Only {
                    return Ok(Page { rows: Vec::new(), total });
                }
                let mut q = sqlx::QueryBuilder::<$db>::new(format!("SELECT {columns} FROM {table}"));
                Self::push_conditions(&mut q, table, &lq.conditions);
                q.push(" ORDER BY ");
                if let Some((field, asc)) = lq.sort {
                    let expr = match field.sql() {
                        Sql::Expr(e) => e,
                        Sql::Via { sort, .. } => sort,
                        Sql::Tag(_) => "NULL",
                    };
                    q.push(format!("{expr} {}, ", if asc { "ASC" } else { "DESC" }));
                }
                q.push(order);
                q.push(" LIMIT ");
                q.push_bind(i64::from(lq.limit));
                q.push(" OFFSET ");
                q.push_bind(i64::try_from(lq.offset).unwrap_or(i64::MAX));
                let rows = q.build().fetch_all(&self.pool).await.map_err(map_err)?;
                Ok(Page {
                    rows: rows.iter().map(map).collect::<Result<_, _>>()?,
                    total,
                })
            }

            /// Hosts linked to one row of a link table (names are constants of this file).
            async fn hosts_linked(
                &self,
                table: &str,
                column: &str,
                id: &str,
            ) -> Result<Vec<Host>, StoreError> {
                let rows = sqlx::query(&format!(
                    "SELECT {HOST_COLUMNS} FROM hosts WHERE id IN \
                     (SELECT host_id FROM {table} WHERE {column} = $1) ORDER BY moid_num, id"
                ))
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                rows.iter().map(Self::host).collect()
            }

            async fn list_in_datacenter<T>(
                &self,
                columns: &str,
                table: &str,
                datacenter_id: Option<&str>,
                map: fn(&<$db as sqlx::Database>::Row) -> Result<T, StoreError>,
            ) -> Result<Vec<T>, StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {columns} FROM {table}"
                ));
                if let Some(dc) = datacenter_id {
                    q.push(" WHERE datacenter_id = ");
                    q.push_bind(dc.to_string());
                }
                q.push(" ORDER BY name, id");
                let rows = q.build().fetch_all(&self.pool).await.map_err(map_err)?;
                rows.iter().map(map).collect()
            }
        }

        #[async_trait]
        impl Store for $name {
            fn engine(&self) -> &'static str {
                $engine
            }

            async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
                sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)
            }

            async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(key)
                .bind(value)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn put_setting_if_absent(&self, key: &str, value: &str) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                )
                .bind(key)
                .bind(value)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn next_sequence(&self, name: &str) -> Result<i64, StoreError> {
                sqlx::query_scalar(
                    "INSERT INTO sequences (name, value) VALUES ($1, 1) \
                     ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 \
                     RETURNING value",
                )
                .bind(name)
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)
            }

            async fn reserve_sequence(&self, name: &str, count: u32) -> Result<i64, StoreError> {
                let count = i64::from(count.max(1));
                let last: i64 = sqlx::query_scalar(
                    "INSERT INTO sequences (name, value) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET value = sequences.value + $2 \
                     RETURNING value",
                )
                .bind(name)
                .bind(count)
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(last - count + 1)
            }

            async fn insert_principal(&self, p: &Principal) -> Result<(), StoreError> {
                sqlx::query(&format!(
                    "INSERT INTO principals ({PRINCIPAL_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ))
                .bind(&p.id)
                .bind(p.realm.store_key())
                .bind(&p.name)
                .bind(&p.password_hash)
                .bind(p.role.as_str())
                .bind(&p.full_name)
                .bind(p.disabled)
                .bind(to_millis(p.created_at))
                .bind(to_millis(p.password_changed_at))
                .bind(p.digest_verifier.as_deref())
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn find_principal(
                &self,
                realm: &Realm,
                name: &str,
            ) -> Result<Option<Principal>, StoreError> {
                let row = sqlx::query(&format!(
                    "SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE domain = $1 AND name = $2"
                ))
                .bind(realm.store_key())
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
                row.as_ref().map(Self::principal).transpose()
            }

            async fn list_principals(&self, realm: &Realm) -> Result<Vec<Principal>, StoreError> {
                let rows = sqlx::query(&format!(
                    "SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE domain = $1 ORDER BY name"
                ))
                .bind(realm.store_key())
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                rows.iter().map(Self::principal).collect()
            }

            async fn update_principal(&self, p: &Principal) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE principals SET password_hash = $2, role = $3, full_name = $4, \
                     disabled = $5, password_changed_at = $6, digest_verifier = $7 WHERE id = $1",
                )
                .bind(&p.id)
                .bind(&p.password_hash)
                .bind(p.role.as_str())
                .bind(&p.full_name)
                .bind(p.disabled)
                .bind(to_millis(p.password_changed_at))
                .bind(p.digest_verifier.as_deref())
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn delete_principal(&self, id: &str) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM principals WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn insert_group(&self, g: &Group) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO principal_groups (id, domain, name, role, description) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&g.id)
                .bind(g.realm.store_key())
                .bind(&g.name)
                .bind(g.role.map(|r| r.as_str()))
                .bind(&g.description)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn find_group(&self, realm: &Realm, name: &str) -> Result<Option<Group>, StoreError> {
                let row = sqlx::query(
                    "SELECT id, domain, name, role, description FROM principal_groups \
                     WHERE domain = $1 AND name = $2",
                )
                .bind(realm.store_key())
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
                row.as_ref().map(Self::group).transpose()
            }

            async fn add_group_member(&self, group_id: &str, principal_id: &str) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO group_members (group_id, principal_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(group_id)
                .bind(principal_id)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn remove_group_member(&self, group_id: &str, principal_id: &str) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "DELETE FROM group_members WHERE group_id = $1 AND principal_id = $2",
                )
                .bind(group_id)
                .bind(principal_id)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn groups_of(&self, principal_id: &str) -> Result<Vec<Group>, StoreError> {
                let rows = sqlx::query(
                    "SELECT g.id, g.domain, g.name, g.role, g.description \
                     FROM principal_groups g JOIN group_members m ON m.group_id = g.id \
                     WHERE m.principal_id = $1 ORDER BY g.name",
                )
                .bind(principal_id)
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                rows.iter().map(Self::group).collect()
            }

            async fn insert_task(&self, t: &Task) -> Result<(), StoreError> {
                sqlx::query(&format!(
                    "INSERT INTO tasks ({TASK_COLUMNS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
                ))
                .bind(&t.id)
                .bind(&t.moid)
                .bind(&t.kind)
                .bind(t.target.as_ref().map(|e| e.kind.as_str()))
                .bind(t.target.as_ref().map(|e| e.id.as_str()))
                .bind(&t.initiator)
                .bind(&t.description)
                .bind(t.state.as_str())
                .bind(t.progress as i64)
                .bind(&t.progress_message)
                .bind(t.result.as_ref().map(|v| v.to_string()))
                .bind(error_to(&t.error))
                .bind(t.cancelable)
                .bind(t.cancelled)
                .bind(to_millis(t.queued_at))
                .bind(t.started_at.map(to_millis))
                .bind(t.completed_at.map(to_millis))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn update_task(&self, t: &Task) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE tasks SET state = $2, progress = $3, progress_message = $4, \
                     result = $5, error = $6, cancelled = $7, started_at = $8, completed_at = $9 \
                     WHERE id = $1",
                )
                .bind(&t.id)
                .bind(t.state.as_str())
                .bind(t.progress as i64)
                .bind(&t.progress_message)
                .bind(t.result.as_ref().map(|v| v.to_string()))
                .bind(error_to(&t.error))
                .bind(t.cancelled)
                .bind(t.started_at.map(to_millis))
                .bind(t.completed_at.map(to_millis))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn get_task(&self, id: &str) -> Result<Option<Task>, StoreError> {
                let row = sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.as_ref().map(Self::task).transpose()
            }

            async fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<Task>, StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {TASK_COLUMNS} FROM tasks WHERE 1 = 1"
                ));
                let any_of = |q: &mut sqlx::QueryBuilder<'_, $db>, column: &str, values: Vec<String>| {
                    if values.is_empty() {
                        return;
                    }
                    q.push(format!(" AND {column} IN ("));
                    let mut sep = q.separated(", ");
                    for v in values {
                        sep.push_bind(v);
                    }
                    sep.push_unseparated(")");
                };
                any_of(&mut q, "id", filter.ids.clone());
                any_of(&mut q, "kind", filter.kinds.clone());
                any_of(&mut q, "state", filter.states.iter().map(|s| s.as_str().to_string()).collect());
                any_of(&mut q, "target_id", filter.target_ids.clone());
                any_of(&mut q, "initiator", filter.initiators.clone());
                q.push(" ORDER BY queued_at DESC, moid DESC");
                if let Some(limit) = filter.limit {
                    q.push(" LIMIT ");
                    q.push_bind(limit as i64);
                }
                let rows = q.build().fetch_all(&self.pool).await.map_err(map_err)?;
                rows.iter().map(Self::task).collect()
            }

            async fn fail_unfinished_tasks(
                &self,
                error: &CoreError,
                at: OffsetDateTime,
            ) -> Result<u64, StoreError> {
                let r = sqlx::query(
                    "UPDATE tasks SET state = 'error', error = $1, completed_at = $2 \
                     WHERE state IN ('queued', 'running')",
                )
                .bind(error_to(&Some(error.clone())))
                .bind(to_millis(at))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected())
            }

            async fn insert_folder(&self, f: &Folder) -> Result<(), StoreError> {
                sqlx::query(&format!(
                    "INSERT INTO folders ({FOLDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ))
                .bind(&f.id)
                .bind(&f.moid)
                .bind(&f.parent_id)
                .bind(&f.datacenter_id)
                .bind(f.kind.as_str())
                .bind(&f.name)
                .bind(to_millis(f.created_at))
                .bind(to_millis(f.last_op_at))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn get_folder(&self, id: &str) -> Result<Option<Folder>, StoreError> {
                let row = sqlx::query(&format!("SELECT {FOLDER_COLUMNS} FROM folders WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.as_ref().map(Self::folder).transpose()
            }

            async fn list_folders(&self, parent_id: Option<&str>) -> Result<Vec<Folder>, StoreError> {
                let rows = match parent_id {
                    Some(p) => sqlx::query(&format!(
                        "SELECT {FOLDER_COLUMNS} FROM folders WHERE parent_id = $1 ORDER BY name"
                    ))
                    .bind(p)
                    .fetch_all(&self.pool)
                    .await,
                    None => sqlx::query(&format!(
                        "SELECT {FOLDER_COLUMNS} FROM folders WHERE parent_id IS NULL AND datacenter_id IS NULL ORDER BY name"
                    ))
                    .fetch_all(&self.pool)
                    .await,
                }
                .map_err(map_err)?;
                rows.iter().map(Self::folder).collect()
            }

            async fn folders_of_datacenter(&self, datacenter_id: &str) -> Result<Vec<Folder>, StoreError> {
                let rows = sqlx::query(&format!(
                    "SELECT {FOLDER_COLUMNS} FROM folders WHERE datacenter_id = $1 ORDER BY created_at, moid"
                ))
                .bind(datacenter_id)
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                rows.iter().map(Self::folder).collect()
            }

            async fn delete_folder(&self, id: &str) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM folders WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| map_in_use(e, &format!("folder {id} still contains folders")))?;
                Ok(r.rows_affected() == 1)
            }

            async fn find_by_moid(
                &self,
                kind: MoidKind,
                moid: &str,
            ) -> Result<Option<MoidEntity>, StoreError> {
                let (columns, table) = match kind {
                    MoidKind::Datacenter => (DATACENTER_COLUMNS, "datacenters"),
                    MoidKind::Cluster => (CLUSTER_COLUMNS, "clusters"),
                    MoidKind::Host => (HOST_COLUMNS, "hosts"),
                    MoidKind::Vm => (VM_COLUMNS, "vms"),
                    MoidKind::Datastore => (DATASTORE_COLUMNS, "datastores"),
                    MoidKind::Network => (NETWORK_COLUMNS, "networks"),
                    MoidKind::Folder => (FOLDER_COLUMNS, "folders"),
                    MoidKind::Task => (TASK_COLUMNS, "tasks"),
                };
                let row = sqlx::query(&format!("SELECT {columns} FROM {table} WHERE moid = $1"))
                    .bind(moid)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some(match kind {
                    MoidKind::Datacenter => MoidEntity::Datacenter(Self::datacenter(&row)?),
                    MoidKind::Cluster => MoidEntity::Cluster(Self::cluster(&row)?),
                    MoidKind::Host => MoidEntity::Host(Self::host(&row)?),
                    MoidKind::Vm => MoidEntity::Vm(Self::vm(&row)?),
                    MoidKind::Datastore => MoidEntity::Datastore(Self::datastore(&row)?),
                    MoidKind::Network => MoidEntity::Network(Self::network(&row)?),
                    MoidKind::Folder => MoidEntity::Folder(Self::folder(&row)?),
                    MoidKind::Task => MoidEntity::Task(Self::task(&row)?),
                }))
            }

            async fn ensure_custom_field(
                &self,
                name: &str,
                mo_type: &str,
                new_key: i64,
            ) -> Result<CustomField, StoreError> {
                sqlx::query(
                    "INSERT INTO custom_fields (field_key, name, mo_type) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(new_key)
                .bind(name)
                .bind(mo_type)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                let row = sqlx::query("SELECT field_key, name, mo_type FROM custom_fields WHERE name = $1")
                    .bind(name)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)?;
                Self::custom_field(&row)
            }

            async fn list_custom_fields(&self) -> Result<Vec<CustomField>, StoreError> {
                let rows = sqlx::query("SELECT field_key, name, mo_type FROM custom_fields ORDER BY field_key")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.iter().map(Self::custom_field).collect()
            }

            async fn set_host_value(&self, host_id: &str, name: &str, value: &str) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO host_values (host_id, name, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (host_id, name) DO UPDATE SET value = excluded.value",
                )
                .bind(host_id)
                .bind(name)
                .bind(value)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn host_values(&self, host_id: &str) -> Result<Vec<(String, String)>, StoreError> {
                let rows = sqlx::query("SELECT name, value FROM host_values WHERE host_id = $1 ORDER BY name")
                    .bind(host_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                rows.iter()
                    .map(|r| Ok((r.try_get("name").map_err(g)?, r.try_get("value").map_err(g)?)))
                    .collect()
            }

            async fn query_hosts(&self, lq: &ListQuery<HostField>) -> Result<Page<Host>, StoreError> {
                self.query_table("hosts", HOST_COLUMNS, "moid_num, moid", lq, Self::host).await
            }

            async fn query_datacenters(
                &self,
                lq: &ListQuery<DatacenterField>,
            ) -> Result<Page<Datacenter>, StoreError> {
                self.query_table("datacenters", DATACENTER_COLUMNS, "created_at, id", lq, Self::datacenter)
                    .await
            }

            async fn query_clusters(
                &self,
                lq: &ListQuery<ClusterField>,
            ) -> Result<Page<Cluster>, StoreError> {
                self.query_table("clusters", CLUSTER_COLUMNS, "created_at, id", lq, Self::cluster)
                    .await
            }

            async fn query_vms(&self, lq: &ListQuery<VmField>) -> Result<Page<VmRecord>, StoreError> {
                self.query_table("vms", VM_COLUMNS, "created_at, id", lq, Self::vm).await
            }

            async fn add_tags(
                &self,
                resource_id: &str,
                kind: TagKind,
                tags: &[String],
            ) -> Result<(), StoreError> {
                if tags.is_empty() {
                    return Ok(());
                }
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                for t in tags {
                    sqlx::query(
                        "INSERT INTO resource_tags (resource_id, kind, tag) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(resource_id)
                    .bind(kind.as_str())
                    .bind(t)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn tags_of(
                &self,
                resource_id: &str,
                kind: TagKind,
            ) -> Result<Vec<String>, StoreError> {
                sqlx::query_scalar(
                    "SELECT tag FROM resource_tags WHERE resource_id = $1 AND kind = $2 ORDER BY tag",
                )
                .bind(resource_id)
                .bind(kind.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)
            }

            async fn delete_tags(&self, resource_id: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM resource_tags WHERE resource_id = $1")
                    .bind(resource_id)
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn hosts_of_datastore(&self, datastore_id: &str) -> Result<Vec<Host>, StoreError> {
                self.hosts_linked("host_datastores", "datastore_id", datastore_id).await
            }

            async fn hosts_of_network(&self, network_id: &str) -> Result<Vec<Host>, StoreError> {
                self.hosts_linked("host_networks", "network_id", network_id).await
            }

            async fn insert_datacenter(&self, d: &Datacenter) -> Result<(), StoreError> {
                sqlx::query(&format!(
                    "INSERT INTO datacenters ({DATACENTER_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ))
                .bind(&d.id)
                .bind(&d.moid)
                .bind(&d.name)
                .bind(&d.description)
                .bind(d.state.as_str())
                .bind(d.is_default)
                .bind(to_millis(d.created_at))
                .bind(to_millis(d.last_op_at))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn get_datacenter(&self, id: &str) -> Result<Option<Datacenter>, StoreError> {
                let row = sqlx::query(&format!(
                    "SELECT {DATACENTER_COLUMNS} FROM datacenters WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
                row.as_ref().map(Self::datacenter).transpose()
            }

            async fn list_datacenters(&self) -> Result<Vec<Datacenter>, StoreError> {
                let rows = sqlx::query(&format!(
                    "SELECT {DATACENTER_COLUMNS} FROM datacenters ORDER BY name"
                ))
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                rows.iter().map(Self::datacenter).collect()
            }

            async fn update_datacenter(&self, d: &Datacenter) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE datacenters SET name = $2, description = $3, last_op_at = $4, \
                     state = $5, is_default = $6 WHERE id = $1",
                )
                .bind(&d.id)
                .bind(&d.name)
                .bind(&d.description)
                .bind(to_millis(d.last_op_at))
                .bind(d.state.as_str())
                .bind(d.is_default)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn delete_datacenter(&self, id: &str) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM datacenters WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| {
                        map_in_use(e, &format!("datacenter {id} still contains clusters or hosts"))
                    })?;
                if r.rows_affected() == 1 {
                    self.delete_tags(id).await?;
                }
                Ok(r.rows_affected() == 1)
            }

            async fn insert_cluster(&self, c: &Cluster) -> Result<(), StoreError> {
                sqlx::query(&format!(
                    "INSERT INTO clusters ({CLUSTER_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                ))
                .bind(&c.id)
                .bind(&c.moid)
                .bind(&c.datacenter_id)
                .bind(&c.name)
                .bind(&c.description)
                .bind(c.automation_level.as_str())
                .bind(&c.hypervisor_type)
                .bind(c.state.as_str())
                .bind(&c.kind)
                .bind(c.architecture.as_deref())
                .bind(to_millis(c.created_at))
                .bind(to_millis(c.last_op_at))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn get_cluster(&self, id: &str) -> Result<Option<Cluster>, StoreError> {
                let row = sqlx::query(&format!(
                    "SELECT {CLUSTER_COLUMNS} FROM clusters WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
                row.as_ref().map(Self::cluster).transpose()
            }

            async fn list_clusters(
                &self,
                datacenter_id: Option<&str>,
            ) -> Result<Vec<Cluster>, StoreError> {
                self.list_in_datacenter(CLUSTER_COLUMNS, "clusters", datacenter_id, Self::cluster)
                    .await
            }

            async fn update_cluster(&self, c: &Cluster) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE clusters SET datacenter_id = $2, name = $3, description = $4, \
                     automation_level = $5, hypervisor_type = $6, state = $7, last_op_at = $8, \
                     kind = $9, architecture = $10 WHERE id = $1",
                )
                .bind(&c.id)
                .bind(&c.datacenter_id)
                .bind(&c.name)
                .bind(&c.description)
                .bind(c.automation_level.as_str())
                .bind(&c.hypervisor_type)
                .bind(c.state.as_str())
                .bind(to_millis(c.last_op_at))
                .bind(&c.kind)
                .bind(c.architecture.as_deref())
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn delete_cluster(&self, id: &str) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM clusters WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| map_in_use(e, &format!("cluster {id} still contains hosts")))?;
                if r.rows_affected() == 1 {
                    self.delete_tags(id).await?;
                }
                Ok(r.rows_affected() == 1)
            }

            async fn insert_host(&self, h: &Host) -> Result<(), StoreError> {
                sqlx::query(&format!(
                    "INSERT INTO hosts ({HOST_COLUMNS}, moid_num) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                     $17, $18, $19, $20, $21, $22, $23, $24, $25)"
                ))
                .bind(&h.id)
                .bind(&h.moid)
                .bind(&h.datacenter_id)
                .bind(h.cluster_id.as_deref())
                .bind(&h.name)
                .bind(&h.description)
                .bind(&h.address)
                .bind(i64::from(h.port))
                .bind(&h.thumbprint)
                .bind(&h.agent_user)
                .bind(&h.agent_secret)
                .bind(h.connection_state.as_str())
                .bind(h.state.as_str())
                .bind(h.previous_state.map(|s| s.as_str()))
                .bind(&h.power_state)
                .bind(json_to(h.facts.as_ref()))
                .bind(json_to(h.runtime.as_ref()))
                .bind(h.management_ip.as_deref())
                .bind(h.ssh_port.map(i64::from))
                .bind(strings_to(&h.tags))
                .bind(strings_to(&h.system_tags))
                .bind(bigint_to(h.event_cursor, "event_cursor")?)
                .bind(to_millis(h.created_at))
                .bind(to_millis(h.last_op_at))
                .bind(moid_number(&h.moid))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn get_host(&self, id: &str) -> Result<Option<Host>, StoreError> {
                let row = sqlx::query(&format!("SELECT {HOST_COLUMNS} FROM hosts WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.as_ref().map(Self::host).transpose()
            }

            async fn find_host_by_name(
                &self,
                datacenter_id: &str,
                name: &str,
            ) -> Result<Option<Host>, StoreError> {
                let row = sqlx::query(&format!(
                    "SELECT {HOST_COLUMNS} FROM hosts WHERE datacenter_id = $1 AND name = $2"
                ))
                .bind(datacenter_id)
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
                row.as_ref().map(Self::host).transpose()
            }

            async fn find_host_by_address(
                &self,
                address: &str,
                port: u16,
            ) -> Result<Option<Host>, StoreError> {
                let row = sqlx::query(&format!(
                    "SELECT {HOST_COLUMNS} FROM hosts WHERE address = $1 AND port = $2"
                ))
                .bind(address)
                .bind(i64::from(port))
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
                row.as_ref().map(Self::host).transpose()
            }

            async fn list_hosts(&self, filter: &HostFilter) -> Result<Vec<Host>, StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {HOST_COLUMNS} FROM hosts WHERE 1 = 1"
                ));
                Self::host_filter(&mut q, filter);
                // SQLite takes OFFSET only after a LIMIT, so there is always one.
                q.push(" ORDER BY moid_num, moid LIMIT ");
                q.push_bind(filter.limit.map(i64::from).unwrap_or(i64::MAX));
                q.push(" OFFSET ");
                q.push_bind(i64::try_from(filter.offset).unwrap_or(i64::MAX));
                let rows = q.build().fetch_all(&self.pool).await.map_err(map_err)?;
                rows.iter().map(Self::host).collect()
            }

            async fn count_hosts(&self, filter: &HostFilter) -> Result<u64, StoreError> {
                let mut q =
                    sqlx::QueryBuilder::<$db>::new("SELECT COUNT(*) FROM hosts WHERE 1 = 1");
                Self::host_filter(&mut q, filter);
                let n: i64 = q
                    .build_query_scalar()
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)?;
                bigint_from(n, "host count")
            }

            async fn update_host(&self, h: &Host) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE hosts SET datacenter_id = $2, cluster_id = $3, name = $4, \
                     description = $5, address = $6, port = $7, thumbprint = $8, \
                     agent_user = $9, agent_secret = $10, connection_state = $11, state = $12, \
                     previous_state = $13, power_state = $14, facts = $15, runtime = $16, \
                     management_ip = $17, ssh_port = $18, tags = $19, system_tags = $20, \
                     event_cursor = $21, last_op_at = $22 \
                     WHERE id = $1",
                )
                .bind(&h.id)
                .bind(&h.datacenter_id)
                .bind(h.cluster_id.as_deref())
                .bind(&h.name)
                .bind(&h.description)
                .bind(&h.address)
                .bind(i64::from(h.port))
                .bind(&h.thumbprint)
                .bind(&h.agent_user)
                .bind(&h.agent_secret)
                .bind(h.connection_state.as_str())
                .bind(h.state.as_str())
                .bind(h.previous_state.map(|s| s.as_str()))
                .bind(&h.power_state)
                .bind(json_to(h.facts.as_ref()))
                .bind(json_to(h.runtime.as_ref()))
                .bind(h.management_ip.as_deref())
                .bind(h.ssh_port.map(i64::from))
                .bind(strings_to(&h.tags))
                .bind(strings_to(&h.system_tags))
                .bind(bigint_to(h.event_cursor, "event_cursor")?)
                .bind(to_millis(h.last_op_at))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn record_host_observation(
                &self,
                id: &str,
                runtime: Option<&serde_json::Value>,
                facts: Option<&serde_json::Value>,
                event_cursor: u64,
            ) -> Result<bool, StoreError> {
                // Facts are large and change only on a resync: kept unless given.
                let r = sqlx::query(
                    "UPDATE hosts SET runtime = $2, facts = COALESCE($3, facts), \
                     event_cursor = $4 WHERE id = $1",
                )
                .bind(id)
                .bind(json_to(runtime))
                .bind(json_to(facts))
                .bind(bigint_to(event_cursor, "event_cursor")?)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn transition_host_connection(
                &self,
                id: &str,
                from: ConnectionState,
                to: ConnectionState,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE hosts SET connection_state = $3 \
                     WHERE id = $1 AND connection_state = $2",
                )
                .bind(id)
                .bind(from.as_str())
                .bind(to.as_str())
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn delete_host(&self, id: &str) -> Result<bool, StoreError> {
                // VMs and datastore/network links go with it (ON DELETE CASCADE).
                let r = sqlx::query("DELETE FROM hosts WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                if r.rows_affected() == 1 {
                    self.delete_tags(id).await?;
                }
                Ok(r.rows_affected() == 1)
            }

            async fn insert_vm(&self, v: &VmRecord) -> Result<(), StoreError> {
                self.insert_vms(std::slice::from_ref(v)).await
            }

            async fn insert_vms(&self, vms: &[VmRecord]) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                for v in vms {
                    sqlx::query(&format!(
                        "INSERT INTO vms ({VM_COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                    ))
                    .bind(&v.id)
                    .bind(&v.moid)
                    .bind(&v.host_id)
                    .bind(&v.uuid)
                    .bind(&v.name)
                    .bind(&v.power_state)
                    .bind(i64::from(v.vcpus))
                    .bind(bigint_to(v.memory_bytes, "memory_bytes")?)
                    .bind(&v.guest_os_id)
                    .bind(v.data.to_string())
                    .bind(to_millis(v.created_at))
                    .bind(to_millis(v.last_op_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn find_vms_by_uuids(
                &self,
                uuids: &[String],
            ) -> Result<Vec<VmRecord>, StoreError> {
                let mut out = Vec::new();
                for chunk in uuids.chunks(500) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT {VM_COLUMNS} FROM vms WHERE uuid IN ("
                    ));
                    let mut sep = q.separated(", ");
                    for u in chunk {
                        sep.push_bind(u.clone());
                    }
                    q.push(")");
                    for row in q.build().fetch_all(&self.pool).await.map_err(map_err)? {
                        out.push(Self::vm(&row)?);
                    }
                }
                Ok(out)
            }

            async fn get_vm(&self, id: &str) -> Result<Option<VmRecord>, StoreError> {
                let row = sqlx::query(&format!("SELECT {VM_COLUMNS} FROM vms WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.as_ref().map(Self::vm).transpose()
            }

            async fn find_vm_by_uuid(&self, uuid: &str) -> Result<Option<VmRecord>, StoreError> {
                let row = sqlx::query(&format!("SELECT {VM_COLUMNS} FROM vms WHERE uuid = $1"))
                    .bind(uuid)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.as_ref().map(Self::vm).transpose()
            }

            async fn list_vms(&self, host_id: Option<&str>) -> Result<Vec<VmRecord>, StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new(format!("SELECT {VM_COLUMNS} FROM vms"));
                if let Some(host) = host_id {
                    q.push(" WHERE host_id = ");
                    q.push_bind(host.to_string());
                }
                q.push(" ORDER BY name, id");
                let rows = q.build().fetch_all(&self.pool).await.map_err(map_err)?;
                rows.iter().map(Self::vm).collect()
            }

            async fn powered_on_usage(
                &self,
                host_ids: &[String],
            ) -> Result<std::collections::HashMap<String, (u64, u64)>, StoreError> {
                let mut out = std::collections::HashMap::new();
                // Bounded IN lists keep every engine's parameter limit far away.
                for chunk in host_ids.chunks(500) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT host_id, CAST(SUM(vcpus) AS BIGINT), \
                         CAST(SUM(memory_bytes) AS BIGINT) FROM vms \
                         WHERE power_state = 'poweredOn' AND host_id IN (",
                    );
                    let mut sep = q.separated(", ");
                    for id in chunk {
                        sep.push_bind(id.clone());
                    }
                    q.push(") GROUP BY host_id");
                    for row in q.build().fetch_all(&self.pool).await.map_err(map_err)? {
                        let host: String = row.try_get(0).map_err(map_err)?;
                        let cpus: i64 = row.try_get(1).map_err(map_err)?;
                        let mem: i64 = row.try_get(2).map_err(map_err)?;
                        out.insert(host, (cpus.max(0) as u64, mem.max(0) as u64));
                    }
                }
                Ok(out)
            }

            async fn update_vm(&self, v: &VmRecord) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE vms SET host_id = $2, uuid = $3, name = $4, power_state = $5, \
                     vcpus = $6, memory_bytes = $7, guest_os_id = $8, data = $9, last_op_at = $10 \
                     WHERE id = $1",
                )
                .bind(&v.id)
                .bind(&v.host_id)
                .bind(&v.uuid)
                .bind(&v.name)
                .bind(&v.power_state)
                .bind(i64::from(v.vcpus))
                .bind(bigint_to(v.memory_bytes, "memory_bytes")?)
                .bind(&v.guest_os_id)
                .bind(v.data.to_string())
                .bind(to_millis(v.last_op_at))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn record_vm_power(
                &self,
                seen: &VmRecord,
                power_state: &str,
                at: OffsetDateTime,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE vms SET power_state = $2, last_op_at = $3 WHERE id = $1 \
                     AND host_id = $4 AND power_state = $5 AND last_op_at = $6",
                )
                .bind(&seen.id)
                .bind(power_state)
                .bind(to_millis(at))
                .bind(&seen.host_id)
                .bind(&seen.power_state)
                .bind(to_millis(seen.last_op_at))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn delete_vm(&self, id: &str) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM vms WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn upsert_datastore(&self, d: &Datastore) -> Result<Datastore, StoreError> {
                let row = sqlx::query(&format!(
                    "INSERT INTO datastores ({DATASTORE_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT (datacenter_id, name) DO UPDATE SET url = excluded.url, \
                     kind = excluded.kind, capacity_bytes = excluded.capacity_bytes, \
                     free_bytes = excluded.free_bytes, last_op_at = excluded.last_op_at \
                     RETURNING {DATASTORE_COLUMNS}"
                ))
                .bind(&d.id)
                .bind(&d.moid)
                .bind(&d.datacenter_id)
                .bind(&d.name)
                .bind(&d.url)
                .bind(&d.kind)
                .bind(bigint_to(d.capacity_bytes, "capacity_bytes")?)
                .bind(bigint_to(d.free_bytes, "free_bytes")?)
                .bind(to_millis(d.created_at))
                .bind(to_millis(d.last_op_at))
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
                Self::datastore(&row)
            }

            async fn list_datastores(
                &self,
                datacenter_id: Option<&str>,
            ) -> Result<Vec<Datastore>, StoreError> {
                self.list_in_datacenter(
                    DATASTORE_COLUMNS,
                    "datastores",
                    datacenter_id,
                    Self::datastore,
                )
                .await
            }

            async fn set_host_datastores(&self, host_id: &str, datastore_ids: &[String]) -> Result<(), StoreError> {
                self.replace_host_links("host_datastores", "datastore_id", host_id, datastore_ids).await
            }

            async fn datastores_of_host(
                &self,
                host_id: &str,
            ) -> Result<Vec<Datastore>, StoreError> {
                let rows = sqlx::query(&format!(
                    "SELECT {DATASTORE_COLUMNS} FROM datastores WHERE id IN \
                     (SELECT datastore_id FROM host_datastores WHERE host_id = $1) \
                     ORDER BY name, id"
                ))
                .bind(host_id)
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                rows.iter().map(Self::datastore).collect()
            }

            async fn upsert_network(&self, n: &Network) -> Result<Network, StoreError> {
                let row = sqlx::query(&format!(
                    "INSERT INTO networks ({NETWORK_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (datacenter_id, name) DO UPDATE SET kind = excluded.kind, \
                     vlan = excluded.vlan, last_op_at = excluded.last_op_at \
                     RETURNING {NETWORK_COLUMNS}"
                ))
                .bind(&n.id)
                .bind(&n.moid)
                .bind(&n.datacenter_id)
                .bind(&n.name)
                .bind(&n.kind)
                .bind(n.vlan.map(i64::from))
                .bind(to_millis(n.created_at))
                .bind(to_millis(n.last_op_at))
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
                Self::network(&row)
            }

            async fn list_networks(
                &self,
                datacenter_id: Option<&str>,
            ) -> Result<Vec<Network>, StoreError> {
                self.list_in_datacenter(NETWORK_COLUMNS, "networks", datacenter_id, Self::network)
                    .await
            }

            async fn set_host_networks(&self, host_id: &str, network_ids: &[String]) -> Result<(), StoreError> {
                self.replace_host_links("host_networks", "network_id", host_id, network_ids).await
            }

            async fn networks_of_host(&self, host_id: &str) -> Result<Vec<Network>, StoreError> {
                let rows = sqlx::query(&format!(
                    "SELECT {NETWORK_COLUMNS} FROM networks WHERE id IN \
                     (SELECT network_id FROM host_networks WHERE host_id = $1) \
                     ORDER BY name, id"
                ))
                .bind(host_id)
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                rows.iter().map(Self::network).collect()
            }

            async fn append_event(&self, e: &Event) -> Result<Event, StoreError> {
                let seq: i64 = sqlx::query_scalar(
                    "INSERT INTO events (time, kind, entity_kind, entity_id, entity_name, \
                     user_name, message, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     RETURNING seq",
                )
                .bind(to_millis(e.time))
                .bind(&e.kind)
                .bind(&e.entity_kind)
                .bind(&e.entity_id)
                .bind(&e.entity_name)
                .bind(&e.user)
                .bind(&e.message)
                .bind(e.data.to_string())
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(Event { seq, ..e.clone() })
            }

            async fn list_events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE 1 = 1"
                ));
                if let Some(entity) = &filter.entity_id {
                    q.push(" AND entity_id = ");
                    q.push_bind(entity.clone());
                }
                if let Some(kind) = &filter.kind {
                    q.push(" AND kind = ");
                    q.push_bind(kind.clone());
                }
                if let Some(after) = filter.after_seq {
                    q.push(" AND seq > ");
                    q.push_bind(after);
                }
                q.push(" ORDER BY seq");
                if let Some(limit) = filter.limit {
                    q.push(" LIMIT ");
                    q.push_bind(i64::from(limit));
                }
                let rows = q.build().fetch_all(&self.pool).await.map_err(map_err)?;
                rows.iter().map(Self::event).collect()
            }
        }
    };
}

sql_store!(SqliteStore, sqlx::Sqlite, "sqlite", migrations::SQLITE);
sql_store!(
    PostgresStore,
    sqlx::Postgres,
    "postgresql",
    migrations::POSTGRES
);
