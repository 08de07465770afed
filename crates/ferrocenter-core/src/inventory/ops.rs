//! Creating and changing datacenters and clusters.
use crate::auth::{Caller, Privilege};
use crate::hosts::validate_name;
use crate::inventory::{AdminState, AutomationLevel, Cluster, Datacenter};
use crate::model::new_uuid;
use crate::ports::StoreError;
use crate::{Core, CoreError};

fn taken(what: &str, name: &str) -> impl FnOnce(StoreError) -> CoreError {
    let (what, name) = (what.to_string(), name.to_string());
    move |e| match e {
        StoreError::Conflict(_) => CoreError::AlreadyExists { what, name },
        other => other.into(),
    }
}

impl Core {
    pub async fn create_datacenter(
        &self,
        caller: &Caller,
        name: &str,
        description: &str,
    ) -> Result<Datacenter, CoreError> {
        self.auth.authorize(caller, Privilege::DatacenterCreate)?;
        validate_name("name", name)?;
        let now = self.clock.now();
        let seq = self.store.next_sequence("datacenter").await?;
        let d = Datacenter {
            id: new_uuid(),
            moid: format!("datacenter-{seq}"),
            name: name.into(),
            description: description.into(),
            created_at: now,
            last_op_at: now,
        };
        self.store
            .insert_datacenter(&d)
            .await
            .map_err(taken("datacenter", name))?;
        if let Err(e) = self.create_datacenter_folders(&d).await {
            // No datacenter without its folders: deleting it removes any made so far.
            let _ = self.store.delete_datacenter(&d.id).await;
            return Err(e);
        }
        Ok(d)
    }

    pub async fn create_cluster(
        &self,
        caller: &Caller,
        datacenter_id: &str,
        name: &str,
        automation_level: AutomationLevel,
        description: &str,
    ) -> Result<Cluster, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostInventoryCreateCluster)?;
        validate_name("name", name)?;
        self.store
            .get_datacenter(datacenter_id)
            .await?
            .ok_or_else(|| CoreError::not_found("datacenter", datacenter_id))?;
        let now = self.clock.now();
        let seq = self.store.next_sequence("cluster").await?;
        let c = Cluster {
            id: new_uuid(),
            moid: format!("domain-c{seq}"),
            datacenter_id: datacenter_id.into(),
            name: name.into(),
            description: description.into(),
            automation_level,
            hypervisor_type: "KVM".into(),
            state: AdminState::Enabled,
            created_at: now,
            last_op_at: now,
        };
        self.store
            .insert_cluster(&c)
            .await
            .map_err(taken("cluster", name))?;
        Ok(c)
    }

    pub async fn set_cluster_automation(
        &self,
        caller: &Caller,
        cluster_id: &str,
        level: AutomationLevel,
    ) -> Result<Cluster, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostInventoryEditCluster)?;
        let mut c = self
            .store
            .get_cluster(cluster_id)
            .await?
            .ok_or_else(|| CoreError::not_found("cluster", cluster_id))?;
        c.automation_level = level;
        c.last_op_at = self.clock.now();
        self.store.update_cluster(&c).await?;
        Ok(c)
    }
}
