//! `ContainerStore`: datacenters, clusters and folders.
use async_trait::async_trait;
use ferrocenter_core::inventory::query::{ClusterField, DatacenterField, ListQuery, Page};
use ferrocenter_core::inventory::{
    AdminState, AutomationLevel, Cluster, Datacenter, Folder, FolderKind,
};
use ferrocenter_core::ports::{ContainerStore, StoreError, TagStore};
use ferrocenter_core::{from_millis, to_millis};

use super::table::{Column, Table, Value};
use crate::rows::{enum_from, map_err, map_in_use};

pub(super) const DATACENTERS: Table<Datacenter> = Table {
    name: "datacenters",
    columns: &[
        Column::key("id", |d| Ok(Value::Text(&d.id))),
        Column::fixed("moid", |d| Ok(Value::Text(&d.moid))),
        Column::mutable("name", |d| Ok(Value::Text(&d.name))),
        Column::mutable("description", |d| Ok(Value::Text(&d.description))),
        Column::mutable("state", |d| Ok(Value::Text(d.state.as_str()))),
        Column::mutable("is_default", |d| Ok(Value::Bool(d.is_default))),
        Column::fixed("created_at", |d| Ok(Value::Int(to_millis(d.created_at)))),
        Column::mutable("last_op_at", |d| Ok(Value::Int(to_millis(d.last_op_at)))),
    ],
};

pub(super) const CLUSTERS: Table<Cluster> = Table {
    name: "clusters",
    columns: &[
        Column::key("id", |c| Ok(Value::Text(&c.id))),
        Column::fixed("moid", |c| Ok(Value::Text(&c.moid))),
        Column::mutable("datacenter_id", |c| Ok(Value::Text(&c.datacenter_id))),
        Column::mutable("name", |c| Ok(Value::Text(&c.name))),
        Column::mutable("description", |c| Ok(Value::Text(&c.description))),
        Column::mutable("automation_level", |c| {
            Ok(Value::Text(c.automation_level.as_str()))
        }),
        Column::mutable("hypervisor_type", |c| Ok(Value::Text(&c.hypervisor_type))),
        Column::mutable("state", |c| Ok(Value::Text(c.state.as_str()))),
        Column::mutable("kind", |c| Ok(Value::Text(&c.kind))),
        Column::mutable("architecture", |c| {
            Ok(Value::OptText(c.architecture.as_deref()))
        }),
        Column::fixed("created_at", |c| Ok(Value::Int(to_millis(c.created_at)))),
        Column::mutable("last_op_at", |c| Ok(Value::Int(to_millis(c.last_op_at)))),
    ],
};

/// Folders are created and deleted, never updated.
pub(super) const FOLDERS: Table<Folder> = Table {
    name: "folders",
    columns: &[
        Column::key("id", |f| Ok(Value::Text(&f.id))),
        Column::fixed("moid", |f| Ok(Value::Text(&f.moid))),
        Column::fixed("parent_id", |f| Ok(Value::OptText(f.parent_id.as_deref()))),
        Column::fixed("datacenter_id", |f| {
            Ok(Value::OptText(f.datacenter_id.as_deref()))
        }),
        Column::fixed("kind", |f| Ok(Value::Text(f.kind.as_str()))),
        Column::fixed("name", |f| Ok(Value::Text(&f.name))),
        Column::fixed("created_at", |f| Ok(Value::Int(to_millis(f.created_at)))),
        Column::fixed("last_op_at", |f| Ok(Value::Int(to_millis(f.last_op_at)))),
    ],
};

super::for_each_engine! {
    impl Engine {
        pub(super) fn datacenter(row: &Row) -> Result<Datacenter, StoreError> {
            Ok(Datacenter {
                id: get(row, "id")?,
                moid: get(row, "moid")?,
                name: get(row, "name")?,
                description: get(row, "description")?,
                state: enum_from(&get::<String>(row, "state")?, AdminState::parse, "datacenter state")?,
                is_default: get(row, "is_default")?,
                created_at: from_millis(get(row, "created_at")?),
                last_op_at: from_millis(get(row, "last_op_at")?),
            })
        }

        pub(super) fn cluster(row: &Row) -> Result<Cluster, StoreError> {
            Ok(Cluster {
                id: get(row, "id")?,
                moid: get(row, "moid")?,
                datacenter_id: get(row, "datacenter_id")?,
                name: get(row, "name")?,
                description: get(row, "description")?,
                automation_level: enum_from(
                    &get::<String>(row, "automation_level")?,
                    AutomationLevel::parse,
                    "automation level",
                )?,
                hypervisor_type: get(row, "hypervisor_type")?,
                state: enum_from(&get::<String>(row, "state")?, AdminState::parse, "cluster state")?,
                kind: get(row, "kind")?,
                architecture: get(row, "architecture")?,
                created_at: from_millis(get(row, "created_at")?),
                last_op_at: from_millis(get(row, "last_op_at")?),
            })
        }

        pub(super) fn folder(row: &Row) -> Result<Folder, StoreError> {
            Ok(Folder {
                id: get(row, "id")?,
                moid: get(row, "moid")?,
                parent_id: get(row, "parent_id")?,
                datacenter_id: get(row, "datacenter_id")?,
                kind: enum_from(&get::<String>(row, "kind")?, FolderKind::parse, "folder kind")?,
                name: get(row, "name")?,
                created_at: from_millis(get(row, "created_at")?),
                last_op_at: from_millis(get(row, "last_op_at")?),
            })
        }
    }

    #[async_trait]
    impl ContainerStore for Engine {
        async fn insert_datacenter(&self, d: &Datacenter) -> Result<(), StoreError> {
            let sql = DATACENTERS.insert();
            Self::bind_values(sqlx::query(&sql), DATACENTERS.insert_values(d)?)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(())
        }

        async fn get_datacenter(&self, id: &str) -> Result<Option<Datacenter>, StoreError> {
            let row = sqlx::query(&format!(
                "SELECT {} FROM datacenters WHERE id = $1",
                DATACENTERS.select_list()
            ))
            .bind(id)
            .fetch_optional(self.reads())
            .await
            .map_err(map_err)?;
            row.as_ref().map(Self::datacenter).transpose()
        }

        async fn list_datacenters(&self) -> Result<Vec<Datacenter>, StoreError> {
            let rows = sqlx::query(&format!(
                "SELECT {} FROM datacenters ORDER BY name",
                DATACENTERS.select_list()
            ))
            .fetch_all(self.reads())
            .await
            .map_err(map_err)?;
            rows.iter().map(Self::datacenter).collect()
        }

        async fn update_datacenter(&self, d: &Datacenter) -> Result<bool, StoreError> {
            let sql = DATACENTERS.update();
            let r = Self::bind_values(sqlx::query(&sql), DATACENTERS.update_values(d)?)
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

        async fn query_datacenters(
            &self,
            lq: &ListQuery<DatacenterField>,
        ) -> Result<Page<Datacenter>, StoreError> {
            self.query_table(&DATACENTERS, "created_at, id", lq, Self::datacenter).await
        }

        async fn insert_cluster(&self, c: &Cluster) -> Result<(), StoreError> {
            let sql = CLUSTERS.insert();
            Self::bind_values(sqlx::query(&sql), CLUSTERS.insert_values(c)?)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(())
        }

        async fn get_cluster(&self, id: &str) -> Result<Option<Cluster>, StoreError> {
            let row = sqlx::query(&format!(
                "SELECT {} FROM clusters WHERE id = $1",
                CLUSTERS.select_list()
            ))
            .bind(id)
            .fetch_optional(self.reads())
            .await
            .map_err(map_err)?;
            row.as_ref().map(Self::cluster).transpose()
        }

        async fn list_clusters(
            &self,
            datacenter_id: Option<&str>,
        ) -> Result<Vec<Cluster>, StoreError> {
            self.list_in_datacenter(&CLUSTERS, datacenter_id, Self::cluster).await
        }

        async fn update_cluster(&self, c: &Cluster) -> Result<bool, StoreError> {
            let sql = CLUSTERS.update();
            let r = Self::bind_values(sqlx::query(&sql), CLUSTERS.update_values(c)?)
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

        async fn query_clusters(
            &self,
            lq: &ListQuery<ClusterField>,
        ) -> Result<Page<Cluster>, StoreError> {
            self.query_table(&CLUSTERS, "created_at, id", lq, Self::cluster).await
        }

        async fn insert_folder(&self, f: &Folder) -> Result<(), StoreError> {
            let sql = FOLDERS.insert();
            Self::bind_values(sqlx::query(&sql), FOLDERS.insert_values(f)?)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(())
        }

        async fn get_folder(&self, id: &str) -> Result<Option<Folder>, StoreError> {
            let row = sqlx::query(&format!(
                "SELECT {} FROM folders WHERE id = $1",
                FOLDERS.select_list()
            ))
            .bind(id)
            .fetch_optional(self.reads())
            .await
            .map_err(map_err)?;
            row.as_ref().map(Self::folder).transpose()
        }

        async fn list_folders(&self, parent_id: Option<&str>) -> Result<Vec<Folder>, StoreError> {
            let columns = FOLDERS.select_list();
            let rows = match parent_id {
                Some(p) => sqlx::query(&format!(
                    "SELECT {columns} FROM folders WHERE parent_id = $1 ORDER BY name"
                ))
                .bind(p)
                .fetch_all(self.reads())
                .await,
                None => sqlx::query(&format!(
                    "SELECT {columns} FROM folders WHERE parent_id IS NULL AND datacenter_id IS NULL ORDER BY name"
                ))
                .fetch_all(self.reads())
                .await,
            }
            .map_err(map_err)?;
            rows.iter().map(Self::folder).collect()
        }

        async fn folders_of_datacenter(&self, datacenter_id: &str) -> Result<Vec<Folder>, StoreError> {
            let rows = sqlx::query(&format!(
                "SELECT {} FROM folders WHERE datacenter_id = $1 ORDER BY created_at, moid",
                FOLDERS.select_list()
            ))
            .bind(datacenter_id)
            .fetch_all(self.reads())
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
    }
}
