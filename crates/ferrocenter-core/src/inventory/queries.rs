//! Reading the inventory, for any caller allowed to read it (System.Read). Bindings render
//! these records in their own shapes; they never reach the store themselves.
use crate::auth::{Caller, Privilege};
use crate::inventory::query::{HostField, ListQuery, Page};
use crate::inventory::{
    Cluster, CustomField, Datacenter, Datastore, Folder, Host, HostFilter, Network, VmRecord,
};
use crate::inventory::{FolderKind, ROOT_FOLDER_MOID};
use crate::ports::{MoidEntity, MoidKind};
use crate::{Core, CoreError};

impl Core {
    fn may_read(&self, caller: &Caller) -> Result<(), CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)
    }

    /// The entity of `kind` with this moId, if any.
    pub async fn find_by_moid(
        &self,
        caller: &Caller,
        kind: MoidKind,
        moid: &str,
    ) -> Result<Option<MoidEntity>, CoreError> {
        self.may_read(caller)?;
        if kind == MoidKind::Folder && moid == ROOT_FOLDER_MOID {
            // Made on first use.
            return Ok(Some(MoidEntity::Folder(self.root_folder().await?)));
        }
        if kind == MoidKind::Task {
            if let Some(t) = self.tasks.live_by_moid(moid).await {
                return Ok(Some(MoidEntity::Task(t)));
            }
        }
        match self.store.find_by_moid(kind, moid).await? {
            // A task stored but not yet in the moId map (between its insert and its live
            // entry) is running: its progress lives in memory.
            Some(MoidEntity::Task(t)) => {
                let now = self.tasks.live(&t.id).await.unwrap_or(t);
                Ok(Some(MoidEntity::Task(now)))
            }
            other => Ok(other),
        }
    }

    pub async fn get_host(&self, caller: &Caller, id: &str) -> Result<Host, CoreError> {
        self.may_read(caller)?;
        self.host(id).await
    }

    pub async fn list_hosts(
        &self,
        caller: &Caller,
        filter: &HostFilter,
    ) -> Result<Vec<Host>, CoreError> {
        self.may_read(caller)?;
        Ok(self.store.list_hosts(filter).await?)
    }

    /// Hosts matching a filtered, sorted, paged query (ZStack QueryHost).
    pub async fn query_hosts(
        &self,
        caller: &Caller,
        q: &ListQuery<HostField>,
    ) -> Result<Page<Host>, CoreError> {
        self.may_read(caller)?;
        q.check_size("conditions")?;
        Ok(self.store.query_hosts(q).await?)
    }

    pub async fn get_datacenter(&self, caller: &Caller, id: &str) -> Result<Datacenter, CoreError> {
        self.may_read(caller)?;
        self.store
            .get_datacenter(id)
            .await?
            .ok_or_else(|| CoreError::not_found("datacenter", id))
    }

    pub async fn list_datacenters(&self, caller: &Caller) -> Result<Vec<Datacenter>, CoreError> {
        self.may_read(caller)?;
        Ok(self.store.list_datacenters().await?)
    }

    pub async fn get_cluster(&self, caller: &Caller, id: &str) -> Result<Cluster, CoreError> {
        self.may_read(caller)?;
        self.store
            .get_cluster(id)
            .await?
            .ok_or_else(|| CoreError::not_found("cluster", id))
    }

    pub async fn list_clusters(
        &self,
        caller: &Caller,
        datacenter_id: Option<&str>,
    ) -> Result<Vec<Cluster>, CoreError> {
        self.may_read(caller)?;
        Ok(self.store.list_clusters(datacenter_id).await?)
    }

    pub async fn get_folder(&self, caller: &Caller, id: &str) -> Result<Folder, CoreError> {
        self.may_read(caller)?;
        self.store
            .get_folder(id)
            .await?
            .ok_or_else(|| CoreError::not_found("folder", id))
    }

    /// Child folders of `parent_id` (None: the root folder itself).
    pub async fn list_folders(
        &self,
        caller: &Caller,
        parent_id: Option<&str>,
    ) -> Result<Vec<Folder>, CoreError> {
        self.may_read(caller)?;
        Ok(self.store.list_folders(parent_id).await?)
    }

    pub async fn folders_of_datacenter(
        &self,
        caller: &Caller,
        datacenter_id: &str,
    ) -> Result<Vec<Folder>, CoreError> {
        self.may_read(caller)?;
        Ok(self.store.folders_of_datacenter(datacenter_id).await?)
    }

    pub async fn get_vm(&self, caller: &Caller, id: &str) -> Result<VmRecord, CoreError> {
        self.may_read(caller)?;
        self.store
            .get_vm(id)
            .await?
            .ok_or_else(|| CoreError::not_found("VM", id))
    }

    pub async fn list_vms(
        &self,
        caller: &Caller,
        host_id: Option<&str>,
    ) -> Result<Vec<VmRecord>, CoreError> {
        self.may_read(caller)?;
        Ok(self.store.list_vms(host_id).await?)
    }

    pub async fn query_vms(
        &self,
        caller: &Caller,
        q: &ListQuery<crate::inventory::query::VmField>,
    ) -> Result<Page<VmRecord>, CoreError> {
        self.may_read(caller)?;
        q.check_size("conditions")?;
        Ok(self.store.query_vms(q).await?)
    }

    /// A resource's tags of one kind.
    pub async fn tags_of(
        &self,
        caller: &Caller,
        resource_id: &str,
        kind: crate::inventory::query::TagKind,
    ) -> Result<Vec<String>, CoreError> {
        self.may_read(caller)?;
        Ok(self.store.tags_of(resource_id, kind).await?)
    }

    pub async fn list_datastores(
        &self,
        caller: &Caller,
        datacenter_id: Option<&str>,
    ) -> Result<Vec<Datastore>, CoreError> {
        self.may_read(caller)?;
        Ok(self.store.list_datastores(datacenter_id).await?)
    }

    pub async fn list_networks(
        &self,
        caller: &Caller,
        datacenter_id: Option<&str>,
    ) -> Result<Vec<Network>, CoreError> {
        self.may_read(caller)?;
        Ok(self.store.list_networks(datacenter_id).await?)
    }

    pub async fn datastores_of_host(
        &self,
        caller: &Caller,
        host_id: &str,
    ) -> Result<Vec<Datastore>, CoreError> {
        self.may_read(caller)?;
        Ok(self.store.datastores_of_host(host_id).await?)
    }

    pub async fn networks_of_host(
        &self,
        caller: &Caller,
        host_id: &str,
    ) -> Result<Vec<Network>, CoreError> {
        self.may_read(caller)?;
        Ok(self.store.networks_of_host(host_id).await?)
    }

    pub async fn hosts_of_datastore(
        &self,
        caller: &Caller,
        datastore_id: &str,
    ) -> Result<Vec<Host>, CoreError> {
        self.may_read(caller)?;
        Ok(self.store.hosts_of_datastore(datastore_id).await?)
    }

    pub async fn hosts_of_network(
        &self,
        caller: &Caller,
        network_id: &str,
    ) -> Result<Vec<Host>, CoreError> {
        self.may_read(caller)?;
        Ok(self.store.hosts_of_network(network_id).await?)
    }

    pub async fn list_custom_fields(&self, caller: &Caller) -> Result<Vec<CustomField>, CoreError> {
        self.may_read(caller)?;
        Ok(self.store.list_custom_fields().await?)
    }

    /// A host's named values (custom field values, flags, alarm actions).
    pub async fn host_values(
        &self,
        caller: &Caller,
        host_id: &str,
    ) -> Result<Vec<(String, String)>, CoreError> {
        self.may_read(caller)?;
        Ok(self.store.host_values(host_id).await?)
    }

    /// The datacenter a new standalone host goes to: the one whose host folder it is added
    /// to, or without a folder the only datacenter there is. `field` names the folder input;
    /// `folder` is the name the caller gave and the folder it resolved to.
    pub async fn datacenter_for_new_host(
        &self,
        caller: &Caller,
        field: &str,
        folder: Option<(&str, &Folder)>,
    ) -> Result<String, CoreError> {
        match folder {
            Some((name, f)) => match (f.kind, &f.datacenter_id) {
                (FolderKind::Host, Some(dc)) => Ok(dc.clone()),
                _ => Err(CoreError::invalid(
                    field,
                    format!("{name} is not a host folder"),
                )),
            },
            None => match self.list_datacenters(caller).await?.as_slice() {
                [one] => Ok(one.id.clone()),
                [] => Err(CoreError::invalid(
                    field,
                    "there is no datacenter to add the host to",
                )),
                _ => Err(CoreError::invalid(
                    field,
                    "is required when there are several datacenters",
                )),
            },
        }
    }
}
