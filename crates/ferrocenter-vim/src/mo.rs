//! Managed objects: resolving a MoRef to what it names, and the vim type hierarchy.
use ferrocenter_core::inventory::{
    Cluster, Datacenter, Datastore, Folder, Host, Network, VmRecord,
};
use ferrocenter_core::moids;
use ferrocenter_core::ports::{MoidEntity, MoidKind};
use ferrocenter_core::tasks::Task;
use serde_json::Value;

use super::ctx::Ctx;
use super::faults::{moref, VimFault};

/// The owner of a minimal ResourcePool: a cluster, or a standalone host's ComputeResource.
#[derive(Debug, Clone)]
pub enum PoolOwner {
    Cluster(Box<Cluster>),
    Standalone(Box<Host>),
}

#[derive(Debug, Clone)]
pub enum Mo {
    ServiceInstance,
    SessionManager,
    TaskManager,
    EventManager,
    ViewManager,
    CustomFieldsManager,
    AlarmManager,
    PropertyCollector(String),
    PropertyFilter(String),
    ListView(String),
    ContainerView(String),
    Folder(Folder),
    Datacenter(Datacenter),
    Cluster(Cluster),
    /// A standalone host's ComputeResource (`domain-s<n>` for `host-<n>`).
    ComputeResource(Host),
    ResourcePool(PoolOwner),
    Host(Host),
    Vm(VmRecord),
    Datastore(Datastore),
    Network(Network),
    Task(Task),
}

/// Singletons: type name and moId.
pub const SINGLETONS: &[&str] = &[
    "ServiceInstance",
    "SessionManager",
    "TaskManager",
    "EventManager",
    "ViewManager",
    "CustomFieldsManager",
    "AlarmManager",
];

pub fn compute_resource_moid(h: &Host) -> String {
    moids::compute_resource(&h.moid)
}

pub fn pool_moid(owner: &PoolOwner) -> String {
    match owner {
        PoolOwner::Cluster(c) => moids::cluster_pool(&c.moid),
        PoolOwner::Standalone(h) => moids::standalone_pool(&h.moid),
    }
}

/// The MoRef of a host's parent: its cluster, or its own ComputeResource.
pub fn host_parent(h: &Host, cluster: Option<&Cluster>) -> Value {
    match cluster {
        Some(c) => moref("ClusterComputeResource", &c.moid),
        None => moref("ComputeResource", &compute_resource_moid(h)),
    }
}

impl Mo {
    pub fn type_name(&self) -> &'static str {
        match self {
            Mo::ServiceInstance => "ServiceInstance",
            Mo::SessionManager => "SessionManager",
            Mo::TaskManager => "TaskManager",
            Mo::EventManager => "EventManager",
            Mo::ViewManager => "ViewManager",
            Mo::CustomFieldsManager => "CustomFieldsManager",
            Mo::AlarmManager => "AlarmManager",
            Mo::PropertyCollector(_) => "PropertyCollector",
            Mo::PropertyFilter(_) => "PropertyFilter",
            Mo::ListView(_) => "ListView",
            Mo::ContainerView(_) => "ContainerView",
            Mo::Folder(_) => "Folder",
            Mo::Datacenter(_) => "Datacenter",
            Mo::Cluster(_) => "ClusterComputeResource",
            Mo::ComputeResource(_) => "ComputeResource",
            Mo::ResourcePool(_) => "ResourcePool",
            Mo::Host(_) => "HostSystem",
            Mo::Vm(_) => "VirtualMachine",
            Mo::Datastore(_) => "Datastore",
            Mo::Network(_) => "Network",
            Mo::Task(_) => "Task",
        }
    }

    pub fn moid(&self) -> String {
        match self {
            Mo::PropertyCollector(id)
            | Mo::PropertyFilter(id)
            | Mo::ListView(id)
            | Mo::ContainerView(id) => id.clone(),
            Mo::Folder(f) => f.moid.clone(),
            Mo::Datacenter(d) => d.moid.clone(),
            Mo::Cluster(c) => c.moid.clone(),
            Mo::ComputeResource(h) => compute_resource_moid(h),
            Mo::ResourcePool(o) => pool_moid(o),
            Mo::Host(h) => h.moid.clone(),
            Mo::Vm(v) => v.moid.clone(),
            Mo::Datastore(d) => d.moid.clone(),
            Mo::Network(n) => n.moid.clone(),
            Mo::Task(t) => t.moid.clone(),
            other => other.type_name().to_string(),
        }
    }

    pub fn moref(&self) -> Value {
        moref(self.type_name(), &self.moid())
    }

    pub fn is_entity(&self) -> bool {
        is_a(self.type_name(), "ManagedEntity")
    }
}

/// Whether vim type `actual` is `declared` or derives from it.
pub fn is_a(actual: &str, declared: &str) -> bool {
    if actual == declared {
        return true;
    }
    let parent = match actual {
        "ClusterComputeResource" => "ComputeResource",
        "Folder" | "Datacenter" | "ComputeResource" | "ResourcePool" | "HostSystem"
        | "VirtualMachine" | "Datastore" | "Network" => "ManagedEntity",
        "ListView" | "ContainerView" => "ManagedObjectView",
        "ManagedObjectView" => "View",
        "ManagedEntity" => "ExtensibleManagedObject",
        "Task" => "ExtensibleManagedObject",
        _ => return false,
    };
    is_a(parent, declared)
}

fn not_found(mo_type: &str, mo_id: &str) -> VimFault {
    VimFault::not_found(mo_type, mo_id)
}

/// What a MoRef names, or ManagedObjectNotFound. Session-private objects (collectors, filters,
/// views) are checked by their owners; here only their form is.
pub async fn resolve(ctx: &Ctx<'_>, mo_type: &str, mo_id: &str) -> Result<Mo, VimFault> {
    let find = |kind| async move {
        ctx.state
            .core
            .find_by_moid(&ctx.caller, kind, mo_id)
            .await
            .map_err(VimFault::from)
    };
    let gone = || not_found(mo_type, mo_id);
    let mo = match mo_type {
        t if SINGLETONS.contains(&t) => {
            if mo_id != t {
                return Err(gone());
            }
            match t {
                "ServiceInstance" => Mo::ServiceInstance,
                "SessionManager" => Mo::SessionManager,
                "TaskManager" => Mo::TaskManager,
                "EventManager" => Mo::EventManager,
                "ViewManager" => Mo::ViewManager,
                "AlarmManager" => Mo::AlarmManager,
                _ => Mo::CustomFieldsManager,
            }
        }
        "PropertyCollector" => Mo::PropertyCollector(mo_id.to_string()),
        "PropertyFilter" => Mo::PropertyFilter(mo_id.to_string()),
        "ListView" => Mo::ListView(mo_id.to_string()),
        "ContainerView" => Mo::ContainerView(mo_id.to_string()),
        "Folder" => match find(MoidKind::Folder).await? {
            Some(MoidEntity::Folder(f)) => Mo::Folder(f),
            _ => return Err(gone()),
        },
        "Datacenter" => match find(MoidKind::Datacenter).await? {
            Some(MoidEntity::Datacenter(d)) => Mo::Datacenter(d),
            _ => return Err(gone()),
        },
        "ClusterComputeResource" => match find(MoidKind::Cluster).await? {
            Some(MoidEntity::Cluster(c)) => Mo::Cluster(c),
            _ => return Err(gone()),
        },
        "ComputeResource" => {
            // A cluster is a ComputeResource too.
            if mo_id.starts_with("domain-c") {
                return Box::pin(resolve(ctx, "ClusterComputeResource", mo_id)).await;
            }
            let Some(moids::Derived::ComputeResource { host_moid }) = moids::parse(mo_id) else {
                return Err(gone());
            };
            match standalone_host(ctx, &host_moid).await? {
                Some(h) => Mo::ComputeResource(h),
                None => return Err(gone()),
            }
        }
        "ResourcePool" => match moids::parse(mo_id) {
            Some(moids::Derived::ClusterPool { cluster_moid }) => match ctx
                .state
                .core
                .find_by_moid(&ctx.caller, MoidKind::Cluster, &cluster_moid)
                .await?
            {
                Some(MoidEntity::Cluster(c)) => Mo::ResourcePool(PoolOwner::Cluster(Box::new(c))),
                _ => return Err(gone()),
            },
            Some(moids::Derived::StandalonePool { host_moid }) => {
                match standalone_host(ctx, &host_moid).await? {
                    Some(h) => Mo::ResourcePool(PoolOwner::Standalone(Box::new(h))),
                    None => return Err(gone()),
                }
            }
            _ => return Err(gone()),
        },
        "HostSystem" => match find(MoidKind::Host).await? {
            Some(MoidEntity::Host(h)) => Mo::Host(h),
            _ => return Err(gone()),
        },
        "VirtualMachine" => match find(MoidKind::Vm).await? {
            Some(MoidEntity::Vm(v)) => Mo::Vm(v),
            _ => return Err(gone()),
        },
        "Datastore" => match find(MoidKind::Datastore).await? {
            Some(MoidEntity::Datastore(d)) => Mo::Datastore(d),
            _ => return Err(gone()),
        },
        "Network" => match find(MoidKind::Network).await? {
            Some(MoidEntity::Network(n)) => Mo::Network(n),
            _ => return Err(gone()),
        },
        "Task" => match find(MoidKind::Task).await? {
            Some(MoidEntity::Task(t)) => Mo::Task(t),
            _ => return Err(gone()),
        },
        other => {
            return Err(ferrocenter_core::CoreError::not_supported(format!(
                "the managed object type {other}"
            ))
            .into())
        }
    };
    Ok(mo)
}

async fn standalone_host(ctx: &Ctx<'_>, host_moid: &str) -> Result<Option<Host>, VimFault> {
    match ctx
        .state
        .core
        .find_by_moid(&ctx.caller, MoidKind::Host, host_moid)
        .await?
    {
        Some(MoidEntity::Host(h)) if h.cluster_id.is_none() => Ok(Some(h)),
        _ => Ok(None),
    }
}
