//! `HostStore`: hosts, what operations write and what heartbeats observe.
use async_trait::async_trait;
use ferrocenter_core::inventory::query::{HostField, ListQuery, Page};
use ferrocenter_core::inventory::{
    ConnectionState, Host, HostFacts, HostFilter, HostRuntime, HostState,
};
use ferrocenter_core::ports::{HostRegistration, HostStore, StoreError, TagStore};
use ferrocenter_core::{from_millis, to_millis};

use super::table::{Column, Table, Value};
use crate::rows::{
    bigint_from, bigint_to, enum_from, map_err, moid_number, opt_model_from, opt_model_to,
    strings_from, strings_to,
};

/// Everything but the identity and creation time is written by an update; `moid_num` orders
/// listings by the number in the moId.
pub(super) const HOSTS: Table<Host> = Table {
    name: "hosts",
    columns: &[
        Column::key("id", |h| Ok(Value::Text(&h.id))),
        Column::fixed("moid", |h| Ok(Value::Text(&h.moid))),
        Column::mutable("datacenter_id", |h| Ok(Value::Text(&h.datacenter_id))),
        Column::mutable("cluster_id", |h| {
            Ok(Value::OptText(h.cluster_id.as_deref()))
        }),
        Column::mutable("name", |h| Ok(Value::Text(&h.name))),
        Column::mutable("description", |h| Ok(Value::Text(&h.description))),
        Column::mutable("address", |h| Ok(Value::Text(&h.address))),
        Column::mutable("port", |h| Ok(Value::Int(i64::from(h.port)))),
        Column::mutable("thumbprint", |h| Ok(Value::Text(&h.thumbprint))),
        Column::mutable("agent_user", |h| Ok(Value::Text(&h.agent_user))),
        Column::mutable("agent_secret", |h| Ok(Value::Text(&h.agent_secret))),
        Column::mutable("connection_state", |h| {
            Ok(Value::Text(h.connection_state.as_str()))
        }),
        Column::mutable("state", |h| Ok(Value::Text(h.state.as_str()))),
        Column::mutable("previous_state", |h| {
            Ok(Value::OptText(h.previous_state.map(HostState::as_str)))
        }),
        Column::mutable("power_state", |h| Ok(Value::Text(&h.power_state))),
        Column::mutable("facts", |h| {
            Ok(Value::OptOwned(opt_model_to(h.facts.as_deref())?))
        }),
        Column::mutable("runtime", |h| {
            Ok(Value::OptOwned(opt_model_to(h.runtime.as_ref())?))
        }),
        Column::mutable("management_ip", |h| {
            Ok(Value::OptText(h.management_ip.as_deref()))
        }),
        Column::mutable("ssh_port", |h| Ok(Value::OptInt(h.ssh_port.map(i64::from)))),
        Column::mutable("ssh_host_key", |h| {
            Ok(Value::OptText(h.ssh_host_key.as_deref()))
        }),
        Column::mutable("ssh_user", |h| Ok(Value::OptText(h.ssh_user.as_deref()))),
        Column::mutable("tags", |h| Ok(Value::Owned(strings_to(&h.tags)))),
        Column::mutable("system_tags", |h| {
            Ok(Value::Owned(strings_to(&h.system_tags)))
        }),
        Column::mutable("event_cursor", |h| {
            Ok(Value::Int(bigint_to(h.event_cursor, "event_cursor")?))
        }),
        Column::fixed("created_at", |h| Ok(Value::Int(to_millis(h.created_at)))),
        Column::mutable("last_op_at", |h| Ok(Value::Int(to_millis(h.last_op_at)))),
        Column::derived("moid_num", |h| Ok(Value::Int(moid_number(&h.moid)))),
    ],
};

super::for_each_engine! {
    impl Engine {
        pub(super) fn host(row: &Row) -> Result<Host, StoreError> {
            Ok(Host {
                id: get(row, "id")?,
                moid: get(row, "moid")?,
                datacenter_id: get(row, "datacenter_id")?,
                cluster_id: get(row, "cluster_id")?,
                name: get(row, "name")?,
                description: get(row, "description")?,
                address: get(row, "address")?,
                port: bigint_from(get(row, "port")?, "port")?,
                thumbprint: get(row, "thumbprint")?,
                agent_user: get(row, "agent_user")?,
                agent_secret: get(row, "agent_secret")?,
                connection_state: enum_from(
                    &get::<String>(row, "connection_state")?,
                    ConnectionState::parse,
                    "connection state",
                )?,
                state: enum_from(&get::<String>(row, "state")?, HostState::parse, "host state")?,
                previous_state: get::<Option<String>>(row, "previous_state")?
                    .map(|s| enum_from(&s, HostState::parse, "host state"))
                    .transpose()?,
                power_state: get(row, "power_state")?,
                facts: opt_model_from(get(row, "facts")?)?,
                runtime: opt_model_from(get(row, "runtime")?)?,
                management_ip: get(row, "management_ip")?,
                ssh_port: get::<Option<i64>>(row, "ssh_port")?
                    .map(|p| bigint_from(p, "ssh_port"))
                    .transpose()?,
                ssh_host_key: get(row, "ssh_host_key")?,
                ssh_user: get(row, "ssh_user")?,
                tags: strings_from(&get::<String>(row, "tags")?)?,
                system_tags: strings_from(&get::<String>(row, "system_tags")?)?,
                event_cursor: bigint_from(get(row, "event_cursor")?, "event_cursor")?,
                created_at: from_millis(get(row, "created_at")?),
                last_op_at: from_millis(get(row, "last_op_at")?),
            })
        }

        pub(super) async fn insert_host_on(c: &mut Conn, h: &Host) -> Result<(), StoreError> {
            let sql = HOSTS.insert();
            Self::bind_values(sqlx::query(&sql), HOSTS.insert_values(h)?)
                .execute(&mut *c)
                .await
                .map_err(map_err)?;
            Ok(())
        }

        /// `AND …` terms of a host listing or count.
        fn host_filter(q: &mut sqlx::QueryBuilder<'_, Db>, f: &HostFilter) {
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
    }

    #[async_trait]
    impl HostStore for Engine {
        async fn insert_host(&self, h: &Host) -> Result<(), StoreError> {
            let mut c = self.pool.acquire().await.map_err(map_err)?;
            Self::insert_host_on(&mut c, h).await
        }

        async fn register_host(&self, r: &HostRegistration) -> Result<(), StoreError> {
            self.register(r).await
        }

        async fn get_host(&self, id: &str) -> Result<Option<Host>, StoreError> {
            let row = sqlx::query(&format!(
                "SELECT {} FROM hosts WHERE id = $1",
                HOSTS.select_list()
            ))
            .bind(id)
            .fetch_optional(self.reads())
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
                "SELECT {} FROM hosts WHERE datacenter_id = $1 AND name = $2",
                HOSTS.select_list()
            ))
            .bind(datacenter_id)
            .bind(name)
            .fetch_optional(self.reads())
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
                "SELECT {} FROM hosts WHERE address = $1 AND port = $2",
                HOSTS.select_list()
            ))
            .bind(address)
            .bind(i64::from(port))
            .fetch_optional(self.reads())
            .await
            .map_err(map_err)?;
            row.as_ref().map(Self::host).transpose()
        }

        async fn list_hosts(&self, filter: &HostFilter) -> Result<Vec<Host>, StoreError> {
            let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                "SELECT {} FROM hosts WHERE 1 = 1",
                HOSTS.select_list()
            ));
            Self::host_filter(&mut q, filter);
            // SQLite takes OFFSET only after a LIMIT, so there is always one.
            q.push(" ORDER BY moid_num, moid LIMIT ");
            q.push_bind(filter.limit.map(i64::from).unwrap_or(i64::MAX));
            q.push(" OFFSET ");
            q.push_bind(i64::try_from(filter.offset).unwrap_or(i64::MAX));
            let rows = q.build().fetch_all(self.reads()).await.map_err(map_err)?;
            rows.iter().map(Self::host).collect()
        }

        async fn count_hosts(&self, filter: &HostFilter) -> Result<u64, StoreError> {
            let mut q = sqlx::QueryBuilder::<Db>::new("SELECT COUNT(*) FROM hosts WHERE 1 = 1");
            Self::host_filter(&mut q, filter);
            let n: i64 = q
                .build_query_scalar()
                .fetch_one(self.reads())
                .await
                .map_err(map_err)?;
            bigint_from(n, "host count")
        }

        async fn update_host(&self, h: &Host) -> Result<bool, StoreError> {
            let sql = HOSTS.update();
            let r = Self::bind_values(sqlx::query(&sql), HOSTS.update_values(h)?)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(r.rows_affected() == 1)
        }

        async fn record_host_observation(
            &self,
            id: &str,
            runtime: Option<&HostRuntime>,
            facts: Option<&HostFacts>,
            event_cursor: u64,
        ) -> Result<bool, StoreError> {
            // Facts are large and change only on a resync: kept unless given.
            let r = sqlx::query(
                "UPDATE hosts SET runtime = $2, facts = COALESCE($3, facts), \
                 event_cursor = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(opt_model_to(runtime)?)
            .bind(opt_model_to(facts)?)
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

        async fn query_hosts(&self, lq: &ListQuery<HostField>) -> Result<Page<Host>, StoreError> {
            self.query_table(&HOSTS, "moid_num, moid", lq, Self::host).await
        }
    }
}
