//! `com.vmware.vcenter.datacenter` (create, delete, list, get), `.cluster` (list, get) and
//! `.folder` (list).
use ferrocenter_core::auth::Caller;
use ferrocenter_core::inventory::{
    AutomationLevel, Folder, FolderKind, ROOT_FOLDER_MOID as ROOT_FOLDER,
};
use ferrocenter_core::tasks::TaskKind;
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use super::ids::{self as ids, admits, set};
use crate::errors::ApiError;
use crate::registry::{http, op, Call, Op, Out, Reply};
use crate::rules::Rule;
use crate::types::{field, StructDef, Ty};

const DC_CREATE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.datacenter.create_spec",
    fields: &[
        field("name", Ty::Rule(Rule::EntityName)),
        // Datacenters live in the root folder; operator folders at the root are not modelled.
        field("folder", Ty::Optional(&Ty::Enum(&[ROOT_FOLDER]))),
    ],
};
const DC_FILTER_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.datacenter.filter_spec",
    fields: &[
        field("datacenters", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("names", Ty::Optional(&Ty::Set(&Ty::String))),
        field("folders", Ty::Optional(&Ty::Set(&Ty::Id))),
    ],
};
const DC_SUMMARY: StructDef = StructDef {
    name: "com.vmware.vcenter.datacenter.summary",
    fields: &[field("datacenter", Ty::Id), field("name", Ty::String)],
};
const DC_INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.datacenter.info",
    fields: &[
        field("name", Ty::String),
        field("datastore_folder", Ty::Id),
        field("host_folder", Ty::Id),
        field("network_folder", Ty::Id),
        field("vm_folder", Ty::Id),
    ],
};
const CLUSTER_FILTER_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.cluster.filter_spec",
    fields: &[
        field("clusters", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("names", Ty::Optional(&Ty::Set(&Ty::String))),
        field("folders", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("datacenters", Ty::Optional(&Ty::Set(&Ty::Id))),
    ],
};
const CLUSTER_SUMMARY: StructDef = StructDef {
    name: "com.vmware.vcenter.cluster.summary",
    fields: &[
        field("cluster", Ty::Id),
        field("name", Ty::String),
        field("ha_enabled", Ty::Bool),
        field("drs_enabled", Ty::Bool),
    ],
};
const CLUSTER_INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.cluster.info",
    fields: &[field("name", Ty::String), field("resource_pool", Ty::Id)],
};
const FOLDER_TYPES: &[&str] = &[
    "DATACENTER",
    "DATASTORE",
    "HOST",
    "NETWORK",
    "VIRTUAL_MACHINE",
];
const FOLDER_FILTER_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.folder.filter_spec",
    fields: &[
        field("folders", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("names", Ty::Optional(&Ty::Set(&Ty::String))),
        field("type", Ty::Optional(&Ty::Enum(FOLDER_TYPES))),
        field("parent_folders", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("datacenters", Ty::Optional(&Ty::Set(&Ty::Id))),
    ],
};
const FOLDER_SUMMARY: StructDef = StructDef {
    name: "com.vmware.vcenter.folder.summary",
    fields: &[
        field("folder", Ty::Id),
        field("name", Ty::String),
        field("type", Ty::Enum(FOLDER_TYPES)),
    ],
};

const DATACENTER: &str = "com.vmware.vcenter.datacenter";
const CLUSTER: &str = "com.vmware.vcenter.cluster";
const FOLDER: &str = "com.vmware.vcenter.folder";

pub const OPS: &[Op] = &[
    op(
        DATACENTER,
        "create",
        &[field("spec", Ty::Struct(&DC_CREATE_SPEC))],
        Ty::Id,
        &[http("POST", "/vcenter/datacenter")],
        dc_create,
    ),
    Op {
        task_kind: Some(TaskKind::DatacenterDelete),
        ..op(
            DATACENTER,
            "delete",
            &[
                field("datacenter", Ty::Id),
                field("force", Ty::Optional(&Ty::Bool)),
            ],
            Ty::Void,
            &[http("DELETE", "/vcenter/datacenter/{datacenter}")],
            dc_delete,
        )
    },
    op(
        DATACENTER,
        "list",
        &[field("filter", Ty::Optional(&Ty::Struct(&DC_FILTER_SPEC)))],
        Ty::List(&Ty::Struct(&DC_SUMMARY)),
        &[http("GET", "/vcenter/datacenter")],
        dc_list,
    ),
    op(
        DATACENTER,
        "get",
        &[field("datacenter", Ty::Id)],
        Ty::Struct(&DC_INFO),
        &[http("GET", "/vcenter/datacenter/{datacenter}")],
        dc_get,
    ),
    op(
        CLUSTER,
        "list",
        &[field(
            "filter",
            Ty::Optional(&Ty::Struct(&CLUSTER_FILTER_SPEC)),
        )],
        Ty::List(&Ty::Struct(&CLUSTER_SUMMARY)),
        &[http("GET", "/vcenter/cluster")],
        cluster_list,
    ),
    op(
        CLUSTER,
        "get",
        &[field("cluster", Ty::Id)],
        Ty::Struct(&CLUSTER_INFO),
        &[http("GET", "/vcenter/cluster/{cluster}")],
        cluster_get,
    ),
    op(
        FOLDER,
        "list",
        &[field(
            "filter",
            Ty::Optional(&Ty::Struct(&FOLDER_FILTER_SPEC)),
        )],
        Ty::List(&Ty::Struct(&FOLDER_SUMMARY)),
        &[http("GET", "/vcenter/folder")],
        folder_list,
    ),
];

fn dc_create(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let spec = call.get("spec").cloned().unwrap_or_default();
        let name = spec.get("name").and_then(Value::as_str).unwrap_or("");
        let d = call.state.core.create_datacenter(&caller, name, "").await?;
        Ok(Out::Value(json!(d.moid)))
    })
}

fn dc_delete(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let d = ids::datacenter(&call, &caller, call.text("datacenter")).await?;
        let force = call.get("force").and_then(Value::as_bool).unwrap_or(false);
        Ok(Out::task(
            call.state
                .core
                .delete_datacenter(&caller, &d.id, force)
                .await?,
        ))
    })
}

async fn dc_info(
    call: &Call,
    d: &ferrocenter_core::inventory::Datacenter,
) -> Result<Value, CoreError> {
    let core = &call.state.core;
    let folder = |k| core.datacenter_folder(&d.id, k);
    Ok(json!({
        "name": d.name,
        "datastore_folder": folder(FolderKind::Datastore).await?.moid,
        "host_folder": folder(FolderKind::Host).await?.moid,
        "network_folder": folder(FolderKind::Network).await?.moid,
        "vm_folder": folder(FolderKind::Vm).await?.moid,
    }))
}

fn dc_list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let f = call.get("filter");
        let (dcs, names, folders) = (set(f, "datacenters"), set(f, "names"), set(f, "folders"));
        let mut out = Vec::new();
        for d in call.state.core.list_datacenters(&caller).await? {
            if admits(&dcs, &d.moid) && admits(&names, &d.name) && admits(&folders, ROOT_FOLDER) {
                out.push(json!({"datacenter": d.moid, "name": d.name}));
            }
        }
        Ok(Out::Value(Value::Array(out)))
    })
}

fn dc_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let d = ids::datacenter(&call, &caller, call.text("datacenter")).await?;
        Ok(Out::Value(dc_info(&call, &d).await?))
    })
}

/// vim's resource pool of a cluster (`resgroup-c<N>` for `domain-c<N>`).
fn resource_pool(cluster_moid: &str) -> String {
    ferrocenter_core::moids::cluster_pool(cluster_moid)
}

fn cluster_list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let core = &call.state.core;
        let f = call.get("filter");
        let (clusters, names, folders, dcs) = (
            set(f, "clusters"),
            set(f, "names"),
            set(f, "folders"),
            set(f, "datacenters"),
        );
        let datacenters = core.list_datacenters(&caller).await?;
        let mut out = Vec::new();
        for c in core.list_clusters(&caller, None).await? {
            let dc = datacenters.iter().find(|d| d.id == c.datacenter_id);
            let host_folder = match (&folders, dc) {
                (Some(_), Some(d)) => core
                    .datacenter_folder(&d.id, FolderKind::Host)
                    .await
                    .map(|f| f.moid)
                    .unwrap_or_default(),
                _ => String::new(),
            };
            if admits(&clusters, &c.moid)
                && admits(&names, &c.name)
                && admits(&dcs, dc.map(|d| d.moid.as_str()).unwrap_or(""))
                && admits(&folders, &host_folder)
            {
                out.push(json!({
                    "cluster": c.moid,
                    "name": c.name,
                    // ferrocenter has no HA; automatic placement is what DRS stands for here.
                    "ha_enabled": false,
                    "drs_enabled": c.automation_level != AutomationLevel::Manual,
                }));
            }
        }
        Ok(Out::Value(Value::Array(out)))
    })
}

fn cluster_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let c = ids::cluster(&call, &caller, call.text("cluster")).await?;
        Ok(Out::Value(
            json!({"name": c.name, "resource_pool": resource_pool(&c.moid)}),
        ))
    })
}

fn folder_type(k: FolderKind) -> &'static str {
    match k {
        FolderKind::Datacenter => "DATACENTER",
        FolderKind::Host => "HOST",
        FolderKind::Vm => "VIRTUAL_MACHINE",
        FolderKind::Network => "NETWORK",
        FolderKind::Datastore => "DATASTORE",
    }
}

/// Every folder: the root, then each datacenter's folders and their subfolders.
async fn all_folders(
    call: &Call,
    caller: &Caller,
) -> Result<Vec<(Folder, Option<String>)>, ApiError> {
    let core = &call.state.core;
    let mut out = Vec::new();
    if let Some(ferrocenter_core::ports::MoidEntity::Folder(root)) = core
        .find_by_moid(
            caller,
            ferrocenter_core::ports::MoidKind::Folder,
            ROOT_FOLDER,
        )
        .await?
    {
        out.push((root, None));
    }
    for d in core.list_datacenters(caller).await? {
        for f in core.folders_of_datacenter(caller, &d.id).await? {
            out.push((f, Some(d.moid.clone())));
        }
    }
    Ok(out)
}

fn folder_list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let f = call.get("filter");
        let (folders, names, parents, dcs) = (
            set(f, "folders"),
            set(f, "names"),
            set(f, "parent_folders"),
            set(f, "datacenters"),
        );
        let kind = f.and_then(|f| f.get("type")).and_then(Value::as_str);
        let all = all_folders(&call, &caller).await?;
        let moid_of = |id: &str| {
            all.iter()
                .find(|(x, _)| x.id == id)
                .map(|(x, _)| x.moid.clone())
        };
        let mut out = Vec::new();
        for (folder, dc) in &all {
            let parent = match &folder.parent_id {
                Some(p) => moid_of(p),
                // A datacenter's own folders hang off the datacenter, not a folder.
                None => None,
            };
            let t = folder_type(folder.kind);
            let ok = admits(&folders, &folder.moid)
                && admits(&names, &folder.name)
                && kind.is_none_or(|k| k == t)
                && parents
                    .as_ref()
                    .is_none_or(|s| parent.as_ref().is_some_and(|p| s.contains(p)))
                && dcs
                    .as_ref()
                    .is_none_or(|s| dc.as_ref().is_some_and(|d| s.contains(d)));
            if ok {
                out.push(json!({"folder": folder.moid, "name": folder.name, "type": t}));
            }
        }
        Ok(Out::Value(Value::Array(out)))
    })
}
