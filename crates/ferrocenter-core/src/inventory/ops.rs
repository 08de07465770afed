//! Creating, changing and deleting datacenters (ZStack zones) and clusters.

use crate::auth::{Caller, Privilege};
use crate::hosts::RemoveMode;
use crate::inventory::query::{ClusterField, DatacenterField, ListQuery, Page, TagKind};
use crate::inventory::{AdminState, AutomationLevel, Cluster, Datacenter, HostFilter, HostState};
use crate::model::{new_uuid, EntityRef};
use crate::ports::StoreError;
use crate::tasks::TaskKind;
use crate::tasks::{Task, TaskSpec};
use crate::validate::entity_name as validate_name;
use crate::{Core, CoreError};

fn taken(what: &str, name: &str) -> impl FnOnce(StoreError) -> CoreError {
    let (what, name) = (what.to_string(), name.to_string());
    move |e| match e {
        StoreError::Conflict(_) => CoreError::AlreadyExists { what, name },
        other => other.into(),
    }
}

/// What a new datacenter may carry beyond its name.
#[derive(Debug, Clone, Default)]
pub struct DatacenterSpec {
    pub name: String,
    pub description: String,
    /// Makes it the default datacenter; the others lose the flag.
    pub is_default: bool,
    /// A client-chosen id (ZStack resourceUuid).
    pub id: Option<String>,
    pub system_tags: Vec<String>,
    pub user_tags: Vec<String>,
}

/// What a new cluster may carry beyond its datacenter and name.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub datacenter_id: String,
    pub name: String,
    pub description: String,
    pub automation_level: AutomationLevel,
    /// Only KVM: ferrocenter manages KVM hosts.
    pub hypervisor_type: Option<String>,
    /// ZStack's cluster type; `zstack` when unset.
    pub kind: Option<String>,
    pub architecture: Option<String>,
    pub id: Option<String>,
    pub system_tags: Vec<String>,
    pub user_tags: Vec<String>,
}

/// A rename and/or a new description; unset fields keep their value.
#[derive(Debug, Clone, Default)]
pub struct EntityUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
}

/// The CPU architectures ZStack clusters accept.
pub const ARCHITECTURES: [&str; 4] = ["x86_64", "aarch64", "mips64el", "loongarch64"];

pub(crate) use crate::validate::uuid as validate_id;

fn validate_description(d: &str) -> Result<(), CoreError> {
    if d.chars().count() > 2048 {
        return Err(CoreError::invalid(
            "description",
            "must be at most 2048 characters",
        ));
    }
    Ok(())
}

impl Core {
    pub async fn create_datacenter(
        &self,
        caller: &Caller,
        name: &str,
        description: &str,
    ) -> Result<Datacenter, CoreError> {
        self.create_datacenter_with(
            caller,
            DatacenterSpec {
                name: name.into(),
                description: description.into(),
                ..Default::default()
            },
        )
        .await
    }

    pub async fn create_datacenter_with(
        &self,
        caller: &Caller,
        spec: DatacenterSpec,
    ) -> Result<Datacenter, CoreError> {
        self.auth.authorize(caller, Privilege::DatacenterCreate)?;
        validate_name("name", &spec.name)?;
        validate_description(&spec.description)?;
        if let Some(id) = &spec.id {
            validate_id("resourceUuid", id)?;
        }
        let now = self.clock.now();
        let seq = self.store.next_sequence("datacenter").await?;
        let d = Datacenter {
            id: spec.id.clone().unwrap_or_else(new_uuid),
            moid: format!("datacenter-{seq}"),
            name: spec.name.clone(),
            description: spec.description.clone(),
            state: AdminState::Enabled,
            is_default: spec.is_default,
            created_at: now,
            last_op_at: now,
        };
        self.store
            .insert_datacenter(&d)
            .await
            .map_err(taken("datacenter", &spec.name))?;
        let rest = async {
            self.create_datacenter_folders(&d).await?;
            self.store
                .add_tags(&d.id, TagKind::System, &spec.system_tags)
                .await?;
            self.store
                .add_tags(&d.id, TagKind::User, &spec.user_tags)
                .await?;
            if d.is_default {
                self.clear_other_defaults(&d.id).await?;
            }
            Ok::<_, CoreError>(())
        };
        if let Err(e) = rest.await {
            // No datacenter without its folders and tags: deleting it removes what was made.
            let _ = self.store.delete_datacenter(&d.id).await;
            return Err(e);
        }
        Ok(d)
    }

    async fn clear_other_defaults(&self, keep: &str) -> Result<(), CoreError> {
        for mut other in self.store.list_datacenters().await? {
            if other.id != keep && other.is_default {
                other.is_default = false;
                self.store.update_datacenter(&other).await?;
            }
        }
        Ok(())
    }

    async fn datacenter_record(&self, id: &str) -> Result<Datacenter, CoreError> {
        self.store
            .get_datacenter(id)
            .await?
            .ok_or_else(|| CoreError::not_found("datacenter", id))
    }

    async fn cluster_record(&self, id: &str) -> Result<Cluster, CoreError> {
        self.store
            .get_cluster(id)
            .await?
            .ok_or_else(|| CoreError::not_found("cluster", id))
    }

    pub async fn query_datacenters(
        &self,
        caller: &Caller,
        q: &ListQuery<DatacenterField>,
    ) -> Result<Page<Datacenter>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        q.check_size("conditions")?;
        Ok(self.store.query_datacenters(q).await?)
    }

    pub async fn query_clusters(
        &self,
        caller: &Caller,
        q: &ListQuery<ClusterField>,
    ) -> Result<Page<Cluster>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        q.check_size("conditions")?;
        Ok(self.store.query_clusters(q).await?)
    }

    pub async fn update_datacenter(
        &self,
        caller: &Caller,
        id: &str,
        u: EntityUpdate,
    ) -> Result<Datacenter, CoreError> {
        self.auth
            .authorize(caller, Privilege::DatacenterReconfigure)?;
        let mut d = self.datacenter_record(id).await?;
        if let Some(n) = u.name {
            validate_name("name", &n)?;
            d.name = n;
        }
        if let Some(desc) = u.description {
            validate_description(&desc)?;
            d.description = desc;
        }
        d.last_op_at = self.clock.now();
        let name = d.name.clone();
        self.store
            .update_datacenter(&d)
            .await
            .map_err(taken("datacenter", &name))?;
        Ok(d)
    }

    /// Enables or disables a datacenter (a disabled one takes no new VMs). Its hosts keep
    /// their own state, as ZStack's ChangeZoneState leaves them.
    pub async fn set_datacenter_state(
        &self,
        caller: &Caller,
        id: &str,
        state: AdminState,
    ) -> Result<Datacenter, CoreError> {
        self.auth
            .authorize(caller, Privilege::DatacenterReconfigure)?;
        let mut d = self.datacenter_record(id).await?;
        d.state = state;
        d.last_op_at = self.clock.now();
        self.store.update_datacenter(&d).await?;
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
        self.create_cluster_with(
            caller,
            ClusterSpec {
                datacenter_id: datacenter_id.into(),
                name: name.into(),
                description: description.into(),
                automation_level,
                hypervisor_type: None,
                kind: None,
                architecture: None,
                id: None,
                system_tags: Vec::new(),
                user_tags: Vec::new(),
            },
        )
        .await
    }

    pub async fn create_cluster_with(
        &self,
        caller: &Caller,
        spec: ClusterSpec,
    ) -> Result<Cluster, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostInventoryCreateCluster)?;
        validate_name("name", &spec.name)?;
        validate_description(&spec.description)?;
        if let Some(id) = &spec.id {
            validate_id("resourceUuid", id)?;
        }
        match spec.hypervisor_type.as_deref() {
            None | Some("KVM") => {}
            Some(other) => {
                return Err(CoreError::invalid(
                    "hypervisorType",
                    format!("'{other}' is not supported: ferrocenter manages KVM hosts"),
                ))
            }
        }
        if let Some(a) = &spec.architecture {
            if !ARCHITECTURES.contains(&a.as_str()) {
                return Err(CoreError::invalid(
                    "architecture",
                    format!("'{a}' is not one of {}", ARCHITECTURES.join(", ")),
                ));
            }
        }
        let kind = spec.kind.clone().unwrap_or_else(|| "zstack".into());
        validate_name("type", &kind)?;
        self.datacenter_record(&spec.datacenter_id).await?;
        let now = self.clock.now();
        let seq = self.store.next_sequence("cluster").await?;
        let c = Cluster {
            id: spec.id.clone().unwrap_or_else(new_uuid),
            moid: format!("domain-c{seq}"),
            datacenter_id: spec.datacenter_id.clone(),
            name: spec.name.clone(),
            description: spec.description.clone(),
            automation_level: spec.automation_level,
            hypervisor_type: "KVM".into(),
            state: AdminState::Enabled,
            kind,
            architecture: spec.architecture.clone(),
            created_at: now,
            last_op_at: now,
        };
        self.store
            .insert_cluster(&c)
            .await
            .map_err(taken("cluster", &spec.name))?;
        let tags = async {
            self.store
                .add_tags(&c.id, TagKind::System, &spec.system_tags)
                .await?;
            self.store
                .add_tags(&c.id, TagKind::User, &spec.user_tags)
                .await
        };
        if let Err(e) = tags.await {
            let _ = self.store.delete_cluster(&c.id).await;
            return Err(e.into());
        }
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
        let mut c = self.cluster_record(cluster_id).await?;
        c.automation_level = level;
        c.last_op_at = self.clock.now();
        self.store.update_cluster(&c).await?;
        Ok(c)
    }

    pub async fn update_cluster(
        &self,
        caller: &Caller,
        id: &str,
        u: EntityUpdate,
    ) -> Result<Cluster, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostInventoryEditCluster)?;
        let mut c = self.cluster_record(id).await?;
        if let Some(n) = u.name {
            validate_name("name", &n)?;
            c.name = n;
        }
        if let Some(desc) = u.description {
            validate_description(&desc)?;
            c.description = desc;
        }
        c.last_op_at = self.clock.now();
        let name = c.name.clone();
        self.store
            .update_cluster(&c)
            .await
            .map_err(taken("cluster", &name))?;
        Ok(c)
    }

    /// Enables or disables a cluster and, as ZStack does, each of its hosts that is not
    /// entering or in maintenance mode.
    pub async fn set_cluster_state(
        &self,
        caller: &Caller,
        id: &str,
        state: AdminState,
    ) -> Result<Cluster, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostInventoryEditCluster)?;
        let mut c = self.cluster_record(id).await?;
        for h in self.cluster_hosts(&c.id).await? {
            if matches!(h.state, HostState::PreMaintenance | HostState::Maintenance) {
                continue;
            }
            self.set_host_admin_state(caller, &h.id, state).await?;
        }
        c.state = state;
        c.last_op_at = self.clock.now();
        self.store.update_cluster(&c).await?;
        Ok(c)
    }

    async fn cluster_hosts(
        &self,
        cluster_id: &str,
    ) -> Result<Vec<crate::inventory::Host>, CoreError> {
        Ok(self
            .store
            .list_hosts(&HostFilter {
                cluster_id: Some(cluster_id.into()),
                ..Default::default()
            })
            .await?)
    }

    /// Removes each host (VMs powered off, claim released; a failure stops the cascade and
    /// leaves the rest in place), then the cluster.
    pub async fn delete_cluster(&self, caller: &Caller, id: &str) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostInventoryDeleteCluster)?;
        let c = self.cluster_record(id).await?;
        let core = self.self_arc();
        let caller = caller.clone();
        self.tasks
            .submit(
                TaskSpec {
                    kind: TaskKind::ClusterDelete,
                    target: Some(EntityRef::new("cluster", c.id.clone())),
                    initiator: caller.user.clone(),
                    description: format!("Delete cluster {}", c.name),
                    cancelable: false,
                    timeout: None,
                },
                move |ctx| async move {
                    let hosts = core.cluster_hosts(&c.id).await?;
                    core.remove_hosts(&caller, &ctx, hosts).await?;
                    core.store.delete_cluster(&c.id).await?;
                    Ok(crate::tasks::TaskResult::Cluster { cluster: c.id })
                },
            )
            .await
    }

    /// Removes the datacenter's clusters and hosts as `delete_cluster` does, then the
    /// datacenter with its folders, datastores and networks. Without `force` a datacenter
    /// holding clusters or hosts is refused before any task starts.
    pub async fn delete_datacenter(
        &self,
        caller: &Caller,
        id: &str,
        force: bool,
    ) -> Result<Task, CoreError> {
        self.auth.authorize(caller, Privilege::DatacenterDelete)?;
        let d = self.datacenter_record(id).await?;
        if !force && self.datacenter_holds_hosts_or_clusters(&d.id).await? {
            return Err(CoreError::invalid_state(format!(
                "datacenter {} still holds clusters or hosts (delete with force to remove them)",
                d.moid
            )));
        }
        let core = self.self_arc();
        let caller = caller.clone();
        self.tasks
            .submit(
                TaskSpec {
                    kind: TaskKind::DatacenterDelete,
                    target: Some(EntityRef::new("datacenter", d.id.clone())),
                    initiator: caller.user.clone(),
                    description: format!("Delete datacenter {}", d.name),
                    cancelable: false,
                    timeout: None,
                },
                move |ctx| async move {
                    let hosts = core
                        .store
                        .list_hosts(&HostFilter {
                            datacenter_id: Some(d.id.clone()),
                            ..Default::default()
                        })
                        .await?;
                    core.remove_hosts(&caller, &ctx, hosts).await?;
                    for c in core.store.list_clusters(Some(&d.id)).await? {
                        core.store.delete_cluster(&c.id).await?;
                    }
                    core.store.delete_datacenter(&d.id).await?;
                    Ok(crate::tasks::TaskResult::Datacenter { datacenter: d.id })
                },
            )
            .await
    }

    async fn datacenter_holds_hosts_or_clusters(&self, id: &str) -> Result<bool, CoreError> {
        let hosts = self
            .store
            .list_hosts(&HostFilter {
                datacenter_id: Some(id.into()),
                limit: Some(1),
                ..Default::default()
            })
            .await?;
        Ok(!hosts.is_empty() || !self.store.list_clusters(Some(id)).await?.is_empty())
    }

    /// Runs a Permissive host removal for each host, one after another, each through its
    /// host's queue; the first failure ends the cascade with that host's error.
    async fn remove_hosts(
        &self,
        caller: &Caller,
        ctx: &crate::tasks::TaskContext,
        hosts: Vec<crate::inventory::Host>,
    ) -> Result<(), CoreError> {
        let n = hosts.len().max(1);
        for (i, h) in hosts.into_iter().enumerate() {
            ctx.progress((i * 90 / n) as u8, format!("removing host {}", h.name))
                .await;
            let t = self
                .remove_host(caller, &h.id, RemoveMode::Permissive)
                .await?;
            let done = self.tasks.wait(&t.id).await?;
            if let Some(e) = done.error {
                return Err(e);
            }
        }
        Ok(())
    }

    /// vim ReconfigureComputeResource_Task for a cluster's automation level.
    pub async fn set_cluster_automation_task(
        &self,
        caller: &Caller,
        cluster_id: &str,
        level: AutomationLevel,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostInventoryEditCluster)?;
        let cluster = self
            .store
            .get_cluster(cluster_id)
            .await?
            .ok_or_else(|| CoreError::not_found("cluster", cluster_id))?;
        let core = self.self_arc();
        let who = caller.clone();
        self.tasks
            .submit(
                TaskSpec {
                    kind: TaskKind::ClusterReconfigure,
                    target: Some(EntityRef::new("cluster", cluster.id.clone())),
                    initiator: caller.user.clone(),
                    description: format!(
                        "Set the automation level of {} to {}",
                        cluster.name,
                        level.as_str()
                    ),
                    cancelable: false,
                    timeout: None,
                },
                move |_ctx| async move {
                    let c = core
                        .set_cluster_automation(&who, &cluster.id, level)
                        .await?;
                    Ok(crate::tasks::TaskResult::Cluster { cluster: c.id })
                },
            )
            .await
    }
}
