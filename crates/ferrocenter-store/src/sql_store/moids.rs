//! `MoidStore`: vim's lookup by moId, over the aggregates' tables.
use async_trait::async_trait;
use ferrocenter_core::ports::{MoidEntity, MoidKind, MoidStore, StoreError};

use super::containers::{CLUSTERS, DATACENTERS, FOLDERS};
use super::datastores_networks::{DATASTORES, NETWORKS};
use super::hosts::HOSTS;
use super::tasks::TASKS;
use super::vms::VMS;
use crate::rows::map_err;

/// `SELECT <columns> FROM <table>` of a kind's table.
fn select(kind: MoidKind) -> String {
    let (columns, table) = match kind {
        MoidKind::Datacenter => (DATACENTERS.select_list(), DATACENTERS.name),
        MoidKind::Cluster => (CLUSTERS.select_list(), CLUSTERS.name),
        MoidKind::Host => (HOSTS.select_list(), HOSTS.name),
        MoidKind::Vm => (VMS.select_list(), VMS.name),
        MoidKind::Datastore => (DATASTORES.select_list(), DATASTORES.name),
        MoidKind::Network => (NETWORKS.select_list(), NETWORKS.name),
        MoidKind::Folder => (FOLDERS.select_list(), FOLDERS.name),
        MoidKind::Task => (TASKS.select_list(), TASKS.name),
    };
    format!("SELECT {columns} FROM {table}")
}

super::for_each_engine! {
    #[async_trait]
    impl MoidStore for Engine {
        async fn find_by_moid(
            &self,
            kind: MoidKind,
            moid: &str,
        ) -> Result<Option<MoidEntity>, StoreError> {
            let row = sqlx::query(&format!("{} WHERE moid = $1", select(kind)))
                .bind(moid)
                .fetch_optional(self.reads())
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
    }
}
