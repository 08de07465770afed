//! `DatastoreNetworkStore`: datastores and networks, and which hosts see them.
use async_trait::async_trait;
use ferrocenter_core::inventory::{Datastore, Host, Network};
use ferrocenter_core::ports::{DatastoreNetworkStore, StoreError};
use ferrocenter_core::{from_millis, to_millis};

use super::hosts::HOSTS;
use super::table::{Column, Table, Value};
use crate::rows::{bigint_from, bigint_to, map_err};

/// A table linking hosts to what they see: `host_id` and the column naming the other side.
pub(super) struct HostLinks {
    table: &'static str,
    column: &'static str,
}

pub(super) const DATASTORE_LINKS: HostLinks = HostLinks {
    table: "host_datastores",
    column: "datastore_id",
};

pub(super) const NETWORK_LINKS: HostLinks = HostLinks {
    table: "host_networks",
    column: "network_id",
};

/// One per datacenter and name; an upsert refreshes what the hosts report of it.
pub(super) const DATASTORES: Table<Datastore> = Table {
    name: "datastores",
    columns: &[
        Column::key("id", |d| Ok(Value::Text(&d.id))),
        Column::fixed("moid", |d| Ok(Value::Text(&d.moid))),
        Column::fixed("datacenter_id", |d| Ok(Value::Text(&d.datacenter_id))),
        Column::fixed("name", |d| Ok(Value::Text(&d.name))),
        Column::mutable("url", |d| Ok(Value::Text(&d.url))),
        Column::mutable("kind", |d| Ok(Value::Text(&d.kind))),
        Column::mutable("capacity_bytes", |d| {
            Ok(Value::Int(bigint_to(d.capacity_bytes, "capacity_bytes")?))
        }),
        Column::mutable("free_bytes", |d| {
            Ok(Value::Int(bigint_to(d.free_bytes, "free_bytes")?))
        }),
        Column::fixed("created_at", |d| Ok(Value::Int(to_millis(d.created_at)))),
        Column::mutable("last_op_at", |d| Ok(Value::Int(to_millis(d.last_op_at)))),
    ],
};

/// One per datacenter and name, like datastores.
pub(super) const NETWORKS: Table<Network> = Table {
    name: "networks",
    columns: &[
        Column::key("id", |n| Ok(Value::Text(&n.id))),
        Column::fixed("moid", |n| Ok(Value::Text(&n.moid))),
        Column::fixed("datacenter_id", |n| Ok(Value::Text(&n.datacenter_id))),
        Column::fixed("name", |n| Ok(Value::Text(&n.name))),
        Column::mutable("kind", |n| Ok(Value::Text(&n.kind))),
        Column::mutable("vlan", |n| Ok(Value::OptInt(n.vlan.map(i64::from)))),
        Column::fixed("created_at", |n| Ok(Value::Int(to_millis(n.created_at)))),
        Column::mutable("last_op_at", |n| Ok(Value::Int(to_millis(n.last_op_at)))),
    ],
};

/// `INSERT … ON CONFLICT (datacenter_id, name) DO UPDATE SET <refresh> RETURNING <columns>`.
fn upsert<T>(table: &Table<T>) -> String {
    format!(
        "{} ON CONFLICT (datacenter_id, name) DO UPDATE SET {} RETURNING {}",
        table.insert(),
        table.refresh(),
        table.select_list()
    )
}

super::for_each_engine! {
    impl Engine {
        pub(super) fn datastore(row: &Row) -> Result<Datastore, StoreError> {
            Ok(Datastore {
                id: get(row, "id")?,
                moid: get(row, "moid")?,
                datacenter_id: get(row, "datacenter_id")?,
                name: get(row, "name")?,
                url: get(row, "url")?,
                kind: get(row, "kind")?,
                capacity_bytes: bigint_from(get(row, "capacity_bytes")?, "capacity_bytes")?,
                free_bytes: bigint_from(get(row, "free_bytes")?, "free_bytes")?,
                created_at: from_millis(get(row, "created_at")?),
                last_op_at: from_millis(get(row, "last_op_at")?),
            })
        }

        pub(super) fn network(row: &Row) -> Result<Network, StoreError> {
            Ok(Network {
                id: get(row, "id")?,
                moid: get(row, "moid")?,
                datacenter_id: get(row, "datacenter_id")?,
                name: get(row, "name")?,
                kind: get(row, "kind")?,
                vlan: get::<Option<i64>>(row, "vlan")?
                    .map(|v| bigint_from(v, "vlan"))
                    .transpose()?,
                created_at: from_millis(get(row, "created_at")?),
                last_op_at: from_millis(get(row, "last_op_at")?),
            })
        }

        /// Replaces a host's rows in a link table in one transaction. Table and column names
        /// are constants of this file, never input.
        async fn replace_host_links(
            &self,
            links: &HostLinks,
            host_id: &str,
            ids: &[String],
        ) -> Result<(), StoreError> {
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            Self::replace_host_links_on(&mut tx, links, host_id, ids).await?;
            tx.commit().await.map_err(map_err)
        }

        pub(super) async fn replace_host_links_on(
            c: &mut Conn,
            links: &HostLinks,
            host_id: &str,
            ids: &[String],
        ) -> Result<(), StoreError> {
            let HostLinks { table, column } = links;
            sqlx::query(&format!("DELETE FROM {table} WHERE host_id = $1"))
                .bind(host_id)
                .execute(&mut *c)
                .await
                .map_err(map_err)?;
            for chunk in ids.chunks(500) {
                let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                    "INSERT INTO {table} (host_id, {column}) "
                ));
                q.push_values(chunk, |mut row, id| {
                    row.push_bind(host_id.to_string()).push_bind(id.clone());
                });
                q.push(" ON CONFLICT DO NOTHING");
                q.build().execute(&mut *c).await.map_err(map_err)?;
            }
            Ok(())
        }

        pub(super) async fn upsert_datastore_on(c: &mut Conn, d: &Datastore) -> Result<Datastore, StoreError> {
            let sql = upsert(&DATASTORES);
            let row = Self::bind_values(sqlx::query(&sql), DATASTORES.insert_values(d)?)
                .fetch_one(&mut *c)
                .await
                .map_err(map_err)?;
            Self::datastore(&row)
        }

        pub(super) async fn upsert_network_on(c: &mut Conn, n: &Network) -> Result<Network, StoreError> {
            let sql = upsert(&NETWORKS);
            let row = Self::bind_values(sqlx::query(&sql), NETWORKS.insert_values(n)?)
                .fetch_one(&mut *c)
                .await
                .map_err(map_err)?;
            Self::network(&row)
        }

        /// The rows of `target` linked to one host (names are constants of this file).
        async fn linked_to_host<T: 'static>(
            &self,
            target: &Table<T>,
            links: &HostLinks,
            host_id: &str,
            map: fn(&Row) -> Result<T, StoreError>,
        ) -> Result<Vec<T>, StoreError> {
            let rows = sqlx::query(&format!(
                "SELECT {} FROM {} WHERE id IN \
                 (SELECT {} FROM {} WHERE host_id = $1) \
                 ORDER BY name, id",
                target.select_list(),
                target.name,
                links.column,
                links.table
            ))
            .bind(host_id)
            .fetch_all(self.reads())
            .await
            .map_err(map_err)?;
            rows.iter().map(map).collect()
        }

        /// Hosts linked to one row of a link table (names are constants of this file).
        async fn hosts_linked(
            &self,
            links: &HostLinks,
            id: &str,
        ) -> Result<Vec<Host>, StoreError> {
            let rows = sqlx::query(&format!(
                "SELECT {} FROM hosts WHERE id IN \
                 (SELECT host_id FROM {} WHERE {} = $1) ORDER BY moid_num, id",
                HOSTS.select_list(),
                links.table,
                links.column
            ))
            .bind(id)
            .fetch_all(self.reads())
            .await
            .map_err(map_err)?;
            rows.iter().map(Self::host).collect()
        }
    }

    #[async_trait]
    impl DatastoreNetworkStore for Engine {
        async fn upsert_datastore(&self, d: &Datastore) -> Result<Datastore, StoreError> {
            let mut c = self.pool.acquire().await.map_err(map_err)?;
            Self::upsert_datastore_on(&mut c, d).await
        }

        async fn list_datastores(
            &self,
            datacenter_id: Option<&str>,
        ) -> Result<Vec<Datastore>, StoreError> {
            self.list_in_datacenter(&DATASTORES, datacenter_id, Self::datastore).await
        }

        async fn set_host_datastores(&self, host_id: &str, datastore_ids: &[String]) -> Result<(), StoreError> {
            self.replace_host_links(&DATASTORE_LINKS, host_id, datastore_ids).await
        }

        async fn datastores_of_host(&self, host_id: &str) -> Result<Vec<Datastore>, StoreError> {
            self.linked_to_host(&DATASTORES, &DATASTORE_LINKS, host_id, Self::datastore)
                .await
        }

        async fn hosts_of_datastore(&self, datastore_id: &str) -> Result<Vec<Host>, StoreError> {
            self.hosts_linked(&DATASTORE_LINKS, datastore_id).await
        }

        async fn upsert_network(&self, n: &Network) -> Result<Network, StoreError> {
            let mut c = self.pool.acquire().await.map_err(map_err)?;
            Self::upsert_network_on(&mut c, n).await
        }

        async fn list_networks(
            &self,
            datacenter_id: Option<&str>,
        ) -> Result<Vec<Network>, StoreError> {
            self.list_in_datacenter(&NETWORKS, datacenter_id, Self::network).await
        }

        async fn set_host_networks(&self, host_id: &str, network_ids: &[String]) -> Result<(), StoreError> {
            self.replace_host_links(&NETWORK_LINKS, host_id, network_ids).await
        }

        async fn networks_of_host(&self, host_id: &str) -> Result<Vec<Network>, StoreError> {
            self.linked_to_host(&NETWORKS, &NETWORK_LINKS, host_id, Self::network)
                .await
        }

        async fn hosts_of_network(&self, network_id: &str) -> Result<Vec<Host>, StoreError> {
            self.hosts_linked(&NETWORK_LINKS, network_id).await
        }
    }
}
