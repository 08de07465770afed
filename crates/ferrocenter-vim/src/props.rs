//! Property reads of the inventory and the service's singletons (`read.rs` adds the
//! session's own objects).
//! `Ok(None)` is an unset property.
use std::collections::BTreeSet;

use ferrocenter_core::auth::Role;
use ferrocenter_core::inventory::attributes::ALARM_ACTIONS_ENABLED;
use ferrocenter_core::inventory::{
    Cluster, Datacenter, EventFilter, Folder, FolderKind, Host, HostFilter, HostState,
};
use ferrocenter_core::ports::TaskFilter;
use ferrocenter_core::tasks::Task;
use serde_json::{json, Value};

use super::ctx::Ctx;
use super::faults::{moref, VimFault};
use super::mo::{compute_resource_moid, host_parent, pool_moid, Mo, PoolOwner};
use super::{names, render, tasks};

/// Finished tasks stay in recentTask this long, as in vCenter.
const RECENT_TASK_SECS: i64 = 600;
const RECENT_TASK_CAP: u32 = 200;

fn invalid_property(name: &str) -> VimFault {
    VimFault::new("InvalidProperty", format!("no property {name}")).with("name", json!(name))
}

fn refs<'a>(ty: &str, moids: impl IntoIterator<Item = &'a String>) -> Value {
    Value::Array(moids.into_iter().map(|m| moref(ty, m)).collect())
}

pub async fn get(ctx: &Ctx<'_>, mo: &Mo, name: &str) -> Result<Option<Value>, VimFault> {
    if mo.is_entity() {
        if let Some(v) = entity_common(ctx, mo, name).await? {
            return Ok(v);
        }
    }
    let v = match (mo, name) {
        (Mo::ServiceInstance, "content") => Some(super::content::service_content(ctx.state).await?),
        (Mo::ServiceInstance, "serverClock") => Some(json!(ferrocenter_http::time::datetime(
            ctx.state.core.clock.now()
        ))),
        (Mo::ServiceInstance, "capability") => Some(json!({
            "_typeName": "Capability",
            "provisioningSupported": false,
            "multiHostSupported": true,
            "userShellAccessSupported": false,
        })),
        (Mo::SessionManager, "defaultLocale") => Some(json!("en")),
        (Mo::SessionManager, "supportedLocaleList" | "messageLocaleList") => Some(json!(["en"])),
        (Mo::SessionManager, "message") => None,
        (Mo::TaskManager, "recentTask") => Some(recent_tasks(ctx, None).await?),
        (Mo::TaskManager, "maxCollector") | (Mo::EventManager, "maxCollector") => Some(json!(32)),
        (Mo::EventManager, "latestEvent") => {
            let events = ctx
                .state
                .core
                .list_events(&ctx.caller, &EventFilter::default())
                .await?;
            match events.last() {
                Some(e) => Some(tasks::render_event(ctx, e).await?),
                None => None,
            }
        }
        (Mo::CustomFieldsManager, "field") => Some(available_fields(ctx).await?),
        (Mo::Task(t), "info") => Some(tasks::task_info(ctx, t).await?),
        (Mo::Task(_), "value") => Some(json!([])),
        (Mo::Task(_), "availableField") => Some(available_fields(ctx).await?),
        (Mo::Folder(f), _) => folder_prop(ctx, f, name).await?,
        (Mo::Datacenter(d), _) => datacenter_prop(ctx, d, name).await?,
        (Mo::Cluster(c), _) => cluster_prop(ctx, c, name).await?,
        (Mo::ComputeResource(h), _) => standalone_prop(ctx, h, name).await?,
        (Mo::ResourcePool(o), _) => pool_prop(ctx, o, name).await?,
        (Mo::Host(h), _) => host_prop(ctx, h, name).await?,
        (Mo::Vm(v), _) => vm_prop(ctx, v, name).await?,
        (Mo::Datastore(d), _) => datastore_prop(ctx, d, name).await?,
        (Mo::Network(n), _) => network_prop(ctx, n, name).await?,
        _ => return Err(unknown(mo, name)),
    };
    Ok(v)
}

/// A name the type does not have is InvalidProperty; one it has that ferrocenter does not serve
/// is NotSupported naming it.
pub fn unknown(mo: &Mo, name: &str) -> VimFault {
    if names::defines(mo.type_name(), name) {
        ferrocenter_core::CoreError::not_supported(format!("{}.{name}", mo.type_name())).into()
    } else {
        invalid_property(name)
    }
}

/// ManagedEntity and ExtensibleManagedObject properties every entity has. `Ok(None)` means the
/// name is not one of them; `Ok(Some(None))` an unset value.
async fn entity_common(
    ctx: &Ctx<'_>,
    mo: &Mo,
    name: &str,
) -> Result<Option<Option<Value>>, VimFault> {
    let host_values = || async {
        match mo {
            Mo::Host(h) => ctx
                .state
                .core
                .host_values(&ctx.caller, &h.id)
                .await
                .map_err(VimFault::from),
            _ => Ok(Vec::new()),
        }
    };
    let v = match name {
        "name" => Some(json!(entity_name(mo))),
        "overallStatus" | "configStatus" => Some(json!(match mo {
            Mo::Host(h) => render::overall_status(h),
            _ => "green",
        })),
        "configIssue" | "permission" | "triggeredAlarmState" | "declaredAlarmState" | "tag" => {
            Some(json!([]))
        }
        "effectiveRole" => Some(json!([match ctx.caller.role {
            Role::Operator => -2,
            _ => -1,
        }])),
        "disabledMethod" => Some(json!(disabled_methods(mo))),
        "recentTask" => Some(recent_tasks(ctx, entity_id(mo)).await?),
        "availableField" => Some(available_fields(ctx).await?),
        "customValue" | "value" => Some(json!(render::custom_values(&host_values().await?))),
        "alarmActionsEnabled" => Some(json!(host_values()
            .await?
            .iter()
            .find(|(n, _)| n == ALARM_ACTIONS_ENABLED)
            .map(|(_, v)| v == "true")
            .unwrap_or(true))),
        _ => return Ok(None),
    };
    Ok(Some(v))
}

fn entity_name(mo: &Mo) -> String {
    match mo {
        Mo::Folder(f) => f.name.clone(),
        Mo::Datacenter(d) => d.name.clone(),
        Mo::Cluster(c) => c.name.clone(),
        Mo::ComputeResource(h) => h.name.clone(),
        Mo::ResourcePool(_) => "Resources".into(),
        Mo::Host(h) => h.name.clone(),
        Mo::Vm(v) => v.name.clone(),
        Mo::Datastore(d) => d.name.clone(),
        Mo::Network(n) => n.name.clone(),
        other => other.moid(),
    }
}

/// The core id tasks name as their target, for entities that have tasks.
fn entity_id(mo: &Mo) -> Option<&str> {
    match mo {
        Mo::Host(h) => Some(&h.id),
        Mo::Vm(v) => Some(&v.id),
        Mo::Cluster(c) => Some(&c.id),
        Mo::Datacenter(d) => Some(&d.id),
        _ => None,
    }
}

/// Methods the host's state rules out right now, as vCenter lists them.
fn disabled_methods(mo: &Mo) -> Vec<&'static str> {
    use ferrocenter_core::hosts::{allowed, HostOperation as Op};
    let Mo::Host(h) = mo else { return Vec::new() };
    // The core's guard decides; this is only vim's name for each operation.
    let mut d: Vec<&'static str> = Op::ALL
        .into_iter()
        .filter(|op| allowed(h, *op).is_err())
        .filter_map(|op| match op {
            Op::Reconnect => Some("ReconnectHost_Task"),
            Op::Disconnect => Some("DisconnectHost_Task"),
            Op::EnterMaintenance => Some("EnterMaintenanceMode_Task"),
            Op::ExitMaintenance => Some("ExitMaintenanceMode_Task"),
            Op::Reboot => Some("RebootHost_Task"),
            Op::Shutdown => Some("ShutdownHost_Task"),
            Op::StandbyDown => Some("PowerDownHostToStandBy_Task"),
            Op::StandbyUp => Some("PowerUpHostFromStandBy_Task"),
            Op::EnterLockdown => Some("EnterLockdownMode"),
            Op::ExitLockdown => Some("ExitLockdownMode"),
            Op::Uptime => Some("RetrieveHardwareUptime"),
            Op::PowerOnVm => None,
        })
        .collect();
    d.sort();
    d
}

/// Queued and running tasks, and those finished in the last ten minutes (at most 200).
pub async fn recent_tasks(ctx: &Ctx<'_>, target: Option<&str>) -> Result<Value, VimFault> {
    let filter = TaskFilter {
        target_ids: target.map(|t| vec![t.to_string()]).unwrap_or_default(),
        limit: Some(RECENT_TASK_CAP),
        ..Default::default()
    };
    let now = ctx.state.core.clock.now();
    let list: Vec<Task> = ctx.state.core.list_tasks(&ctx.caller, &filter).await?;
    let recent = list.into_iter().filter(|t| match t.completed_at {
        None => true,
        Some(c) => (now - c).whole_seconds() <= RECENT_TASK_SECS,
    });
    let moids: Vec<String> = recent.map(|t| t.moid).collect();
    Ok(refs("Task", moids.iter()))
}

async fn available_fields(ctx: &Ctx<'_>) -> Result<Value, VimFault> {
    let fields = ctx.state.core.list_custom_fields(&ctx.caller).await?;
    Ok(Value::Array(
        fields
            .iter()
            .map(|f| {
                json!({
                    "_typeName": "CustomFieldDef",
                    "key": f.key,
                    "name": f.name,
                    "type": "string",
                    "managedObjectType": f.mo_type,
                })
            })
            .collect(),
    ))
}

/// The datacenter's top-level folder of one kind.
async fn dc_folder(ctx: &Ctx<'_>, dc_id: &str, kind: FolderKind) -> Result<Folder, VimFault> {
    ctx.state
        .core
        .folders_of_datacenter(&ctx.caller, dc_id)
        .await?
        .into_iter()
        .find(|f| f.kind == kind && f.parent_id.is_none())
        .ok_or_else(|| {
            ferrocenter_core::CoreError::internal(format!(
                "datacenter {dc_id} has no {} folder",
                kind.as_str()
            ))
            .into()
        })
}

fn child_types(kind: FolderKind) -> Value {
    json!(match kind {
        FolderKind::Datacenter => vec!["Folder", "Datacenter"],
        FolderKind::Host => vec!["Folder", "ComputeResource"],
        FolderKind::Vm => vec!["Folder", "VirtualMachine"],
        FolderKind::Network => vec!["Folder", "Network"],
        FolderKind::Datastore => vec!["Folder", "Datastore"],
    })
}

/// The MoRefs of what a host folder holds: clusters and standalone hosts' ComputeResources.
async fn compute_resources(ctx: &Ctx<'_>, dc_id: &str) -> Result<Vec<Value>, VimFault> {
    let core = &ctx.state.core;
    let mut out: Vec<Value> = core
        .list_clusters(&ctx.caller, Some(dc_id))
        .await?
        .iter()
        .map(|c| moref("ClusterComputeResource", &c.moid))
        .collect();
    let hosts = core
        .list_hosts(
            &ctx.caller,
            &HostFilter {
                datacenter_id: Some(dc_id.into()),
                ..Default::default()
            },
        )
        .await?;
    out.extend(
        hosts
            .iter()
            .filter(|h| h.cluster_id.is_none())
            .map(|h| moref("ComputeResource", &compute_resource_moid(h))),
    );
    Ok(out)
}

async fn hosts_of_dc(ctx: &Ctx<'_>, dc_id: &str) -> Result<Vec<Host>, VimFault> {
    Ok(ctx
        .state
        .core
        .list_hosts(
            &ctx.caller,
            &HostFilter {
                datacenter_id: Some(dc_id.into()),
                ..Default::default()
            },
        )
        .await?)
}

async fn vms_of_hosts(ctx: &Ctx<'_>, hosts: &[Host]) -> Result<Value, VimFault> {
    let mut moids = Vec::new();
    for h in hosts {
        for v in ctx.state.core.list_vms(&ctx.caller, Some(&h.id)).await? {
            moids.push(v.moid);
        }
    }
    Ok(refs("VirtualMachine", moids.iter()))
}

async fn folder_prop(ctx: &Ctx<'_>, f: &Folder, name: &str) -> Result<Option<Value>, VimFault> {
    let core = &ctx.state.core;
    Ok(match name {
        "childType" => Some(child_types(f.kind)),
        "parent" => match (&f.parent_id, &f.datacenter_id) {
            (Some(p), _) => Some(moref(
                "Folder",
                &core.get_folder(&ctx.caller, p).await?.moid,
            )),
            (None, Some(dc)) => Some(moref(
                "Datacenter",
                &core.get_datacenter(&ctx.caller, dc).await?.moid,
            )),
            (None, None) => None,
        },
        "childEntity" => {
            let mut out: Vec<Value> = core
                .list_folders(&ctx.caller, Some(&f.id))
                .await?
                .iter()
                .map(|c| moref("Folder", &c.moid))
                .collect();
            // Entities live in the top-level folders only (moving them into subfolders is not
            // modelled).
            let top_level = f.parent_id.is_none();
            match (top_level, f.kind, &f.datacenter_id) {
                (true, FolderKind::Datacenter, None) => out.extend(
                    core.list_datacenters(&ctx.caller)
                        .await?
                        .iter()
                        .map(|d| moref("Datacenter", &d.moid)),
                ),
                (true, FolderKind::Host, Some(dc)) => out.extend(compute_resources(ctx, dc).await?),
                (true, FolderKind::Vm, Some(dc)) => {
                    let hosts = hosts_of_dc(ctx, dc).await?;
                    if let Value::Array(a) = vms_of_hosts(ctx, &hosts).await? {
                        out.extend(a);
                    }
                }
                (true, FolderKind::Network, Some(dc)) => out.extend(
                    core.list_networks(&ctx.caller, Some(dc))
                        .await?
                        .iter()
                        .map(|n| moref("Network", &n.moid)),
                ),
                (true, FolderKind::Datastore, Some(dc)) => out.extend(
                    core.list_datastores(&ctx.caller, Some(dc))
                        .await?
                        .iter()
                        .map(|d| moref("Datastore", &d.moid)),
                ),
                _ => {}
            }
            Some(Value::Array(out))
        }
        _ => return Err(unknown(&Mo::Folder(f.clone()), name)),
    })
}

async fn datacenter_prop(
    ctx: &Ctx<'_>,
    d: &Datacenter,
    name: &str,
) -> Result<Option<Value>, VimFault> {
    let core = &ctx.state.core;
    let folder = |kind| async move {
        dc_folder(ctx, &d.id, kind)
            .await
            .map(|f| Some(moref("Folder", &f.moid)))
    };
    Ok(match name {
        "hostFolder" => folder(FolderKind::Host).await?,
        "vmFolder" => folder(FolderKind::Vm).await?,
        "networkFolder" => folder(FolderKind::Network).await?,
        "datastoreFolder" => folder(FolderKind::Datastore).await?,
        "parent" => Some(moref("Folder", &core.root_folder().await?.moid)),
        "datastore" => Some(Value::Array(
            core.list_datastores(&ctx.caller, Some(&d.id))
                .await?
                .iter()
                .map(|x| moref("Datastore", &x.moid))
                .collect(),
        )),
        "network" => Some(Value::Array(
            core.list_networks(&ctx.caller, Some(&d.id))
                .await?
                .iter()
                .map(|x| moref("Network", &x.moid))
                .collect(),
        )),
        _ => return Err(unknown(&Mo::Datacenter(d.clone()), name)),
    })
}

/// Datastores and networks of a set of hosts, each once.
async fn storage_and_networks(
    ctx: &Ctx<'_>,
    hosts: &[Host],
    networks: bool,
) -> Result<Value, VimFault> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for h in hosts {
        let items: Vec<(String, &str)> = if networks {
            ctx.state
                .core
                .networks_of_host(&ctx.caller, &h.id)
                .await?
                .into_iter()
                .map(|n| (n.moid, "Network"))
                .collect()
        } else {
            ctx.state
                .core
                .datastores_of_host(&ctx.caller, &h.id)
                .await?
                .into_iter()
                .map(|d| (d.moid, "Datastore"))
                .collect()
        };
        for (m, t) in items {
            if seen.insert(m.clone()) {
                out.push(moref(t, &m));
            }
        }
    }
    Ok(Value::Array(out))
}

/// ComputeResourceSummary over a set of hosts (connected ones are effective).
fn compute_summary(hosts: &[Host], cluster: bool) -> Value {
    let mut v = json!({});
    let (mut cpu, mut mem, mut cores, mut threads, mut ecpu, mut emem, mut eff) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    for h in hosts {
        let hw = render::host_hardware_summary(h);
        let c = hw["cpuMhz"].as_u64().unwrap_or(0) * hw["numCpuCores"].as_u64().unwrap_or(0);
        let m = hw["memorySize"].as_u64().unwrap_or(0);
        cpu += c;
        mem += m;
        cores += hw["numCpuCores"].as_u64().unwrap_or(0);
        threads += hw["numCpuThreads"].as_u64().unwrap_or(0);
        if h.connection_state == ferrocenter_core::inventory::ConnectionState::Connected
            && h.state != HostState::Maintenance
        {
            ecpu += c;
            emem += m >> 20;
            eff += 1;
        }
    }
    v["_typeName"] = json!(if cluster {
        "ClusterComputeResourceSummary"
    } else {
        "ComputeResourceSummary"
    });
    v["totalCpu"] = json!(cpu);
    v["totalMemory"] = json!(mem);
    v["numCpuCores"] = json!(cores);
    v["numCpuThreads"] = json!(threads);
    v["effectiveCpu"] = json!(ecpu);
    v["effectiveMemory"] = json!(emem);
    v["numHosts"] = json!(hosts.len());
    v["numEffectiveHosts"] = json!(eff);
    v["overallStatus"] = json!("green");
    if cluster {
        v["currentFailoverLevel"] = json!(0);
        v["numVmotions"] = json!(0);
    }
    v
}

async fn cluster_prop(ctx: &Ctx<'_>, c: &Cluster, name: &str) -> Result<Option<Value>, VimFault> {
    let hosts = || async {
        ctx.state
            .core
            .list_hosts(
                &ctx.caller,
                &HostFilter {
                    cluster_id: Some(c.id.clone()),
                    ..Default::default()
                },
            )
            .await
            .map_err(VimFault::from)
    };
    Ok(match name {
        "host" => Some(Value::Array(
            hosts()
                .await?
                .iter()
                .map(|h| moref("HostSystem", &h.moid))
                .collect(),
        )),
        "resourcePool" => Some(moref(
            "ResourcePool",
            &pool_moid(&PoolOwner::Cluster(Box::new(c.clone()))),
        )),
        "parent" => Some(moref(
            "Folder",
            &dc_folder(ctx, &c.datacenter_id, FolderKind::Host)
                .await?
                .moid,
        )),
        "datastore" => Some(storage_and_networks(ctx, &hosts().await?, false).await?),
        "network" => Some(storage_and_networks(ctx, &hosts().await?, true).await?),
        "summary" => Some(compute_summary(&hosts().await?, true)),
        "configurationEx" => Some(json!({
            "_typeName": "ClusterConfigInfoEx",
            "vmSwapPlacement": "vmDirectory",
            "dasConfig": {"_typeName": "ClusterDasConfigInfo", "enabled": false},
            "drsConfig": {
                "_typeName": "ClusterDrsConfigInfo",
                "enabled": true,
                "defaultVmBehavior": c.automation_level.as_str(),
                "vmotionRate": 3,
            },
        })),
        "environmentBrowser" => None,
        _ => return Err(unknown(&Mo::Cluster(c.clone()), name)),
    })
}

async fn standalone_prop(ctx: &Ctx<'_>, h: &Host, name: &str) -> Result<Option<Value>, VimFault> {
    let hosts = std::slice::from_ref(h);
    Ok(match name {
        "host" => Some(json!([moref("HostSystem", &h.moid)])),
        "resourcePool" => Some(moref(
            "ResourcePool",
            &pool_moid(&PoolOwner::Standalone(Box::new(h.clone()))),
        )),
        "parent" => Some(moref(
            "Folder",
            &dc_folder(ctx, &h.datacenter_id, FolderKind::Host)
                .await?
                .moid,
        )),
        "datastore" => Some(storage_and_networks(ctx, hosts, false).await?),
        "network" => Some(storage_and_networks(ctx, hosts, true).await?),
        "summary" => Some(compute_summary(hosts, false)),
        "configurationEx" => Some(
            json!({"_typeName": "ComputeResourceConfigInfo", "vmSwapPlacement": "vmDirectory"}),
        ),
        "environmentBrowser" => None,
        _ => return Err(unknown(&Mo::ComputeResource(h.clone()), name)),
    })
}

async fn pool_prop(ctx: &Ctx<'_>, o: &PoolOwner, name: &str) -> Result<Option<Value>, VimFault> {
    let owner = match o {
        PoolOwner::Cluster(c) => moref("ClusterComputeResource", &c.moid),
        PoolOwner::Standalone(h) => moref("ComputeResource", &compute_resource_moid(h)),
    };
    Ok(match name {
        "owner" | "parent" => Some(owner),
        "resourcePool" => Some(json!([])),
        "vm" => {
            let hosts = match o {
                PoolOwner::Cluster(c) => {
                    ctx.state
                        .core
                        .list_hosts(
                            &ctx.caller,
                            &HostFilter {
                                cluster_id: Some(c.id.clone()),
                                ..Default::default()
                            },
                        )
                        .await?
                }
                PoolOwner::Standalone(h) => vec![(**h).clone()],
            };
            Some(vms_of_hosts(ctx, &hosts).await?)
        }
        _ => return Err(unknown(&Mo::ResourcePool(o.clone()), name)),
    })
}

async fn cluster_of(ctx: &Ctx<'_>, h: &Host) -> Result<Option<Cluster>, VimFault> {
    match &h.cluster_id {
        Some(c) => Ok(Some(ctx.state.core.get_cluster(&ctx.caller, c).await?)),
        None => Ok(None),
    }
}

async fn host_prop(ctx: &Ctx<'_>, h: &Host, name: &str) -> Result<Option<Value>, VimFault> {
    let core = &ctx.state.core;
    let connected = h.connection_state == ferrocenter_core::inventory::ConnectionState::Connected;
    Ok(match name {
        "runtime" => Some(render::host_runtime(h)),
        "summary" => Some(render::host_summary(h, &core.config.hosts.server_address)),
        "hardware" => h.facts.is_some().then(|| render::host_hardware(h)),
        "capability" => connected.then(render::host_capability),
        // Unset while disconnected, as vCenter does.
        "config" => {
            if connected {
                let values = core.host_values(&ctx.caller, &h.id).await?;
                Some(render::host_config(h, h.in_lockdown(), &values))
            } else {
                None
            }
        }
        "configManager" => Some(render::host_config_manager(h)),
        "datastore" => Some(storage_and_networks(ctx, std::slice::from_ref(h), false).await?),
        "network" => Some(storage_and_networks(ctx, std::slice::from_ref(h), true).await?),
        "vm" => Some(vms_of_hosts(ctx, std::slice::from_ref(h)).await?),
        "parent" => Some(host_parent(h, cluster_of(ctx, h).await?.as_ref())),
        "datastoreBrowser" => Some(moref(
            "HostDatastoreBrowser",
            &format!("datastoreBrowser-{}", h.moid),
        )),
        "licensableResource" => Some(render::licensable_resource(h)),
        "systemResources" => Some(render::system_resources()),
        "answerFileValidationState"
        | "answerFileValidationResult"
        | "complianceCheckState"
        | "complianceCheckResult"
        | "remediationState"
        | "remediationResult"
        | "precheckRemediationResult" => None,
        _ => return Err(unknown(&Mo::Host(h.clone()), name)),
    })
}

async fn vm_prop(
    ctx: &Ctx<'_>,
    v: &ferrocenter_core::inventory::VmRecord,
    name: &str,
) -> Result<Option<Value>, VimFault> {
    let core = &ctx.state.core;
    let host = core.get_host(&ctx.caller, &v.host_id).await.ok();
    let connection = || async { core.vm_connection_state(v).await.map_err(VimFault::from) };
    Ok(match name {
        "runtime" => Some(render::vm_runtime(v, host.as_ref(), connection().await?)),
        "summary" => Some(render::vm_summary(v, host.as_ref(), connection().await?)),
        "config" | "guest" | "layoutEx" | "storage" | "environmentBrowser" => None,
        "parent" => match &host {
            Some(h) => Some(moref(
                "Folder",
                &dc_folder(ctx, &h.datacenter_id, FolderKind::Vm).await?.moid,
            )),
            None => None,
        },
        "resourcePool" => match &host {
            Some(h) => Some(moref(
                "ResourcePool",
                &pool_moid(&match cluster_of(ctx, h).await? {
                    Some(c) => PoolOwner::Cluster(Box::new(c)),
                    None => PoolOwner::Standalone(Box::new(h.clone())),
                }),
            )),
            None => None,
        },
        "datastore" | "network" => match &host {
            Some(h) => {
                Some(storage_and_networks(ctx, std::slice::from_ref(h), name == "network").await?)
            }
            None => Some(json!([])),
        },
        _ => return Err(unknown(&Mo::Vm(v.clone()), name)),
    })
}

async fn datastore_prop(
    ctx: &Ctx<'_>,
    d: &ferrocenter_core::inventory::Datastore,
    name: &str,
) -> Result<Option<Value>, VimFault> {
    let core = &ctx.state.core;
    Ok(match name {
        "summary" => Some(render::datastore_summary(d)),
        "info" => Some(json!({
            "_typeName": "DatastoreInfo",
            "name": d.name,
            "url": d.url,
            "freeSpace": d.free_bytes,
            "maxFileSize": d.capacity_bytes,
            "maxMemoryFileSize": d.capacity_bytes,
        })),
        "host" => Some(Value::Array(
            core.hosts_of_datastore(&ctx.caller, &d.id)
                .await?
                .iter()
                .map(|h| {
                    json!({
                        "_typeName": "DatastoreHostMount",
                        "key": moref("HostSystem", &h.moid),
                        "mountInfo": {"_typeName": "HostMountInfo", "accessMode": "readWrite", "mounted": true, "accessible": true},
                    })
                })
                .collect(),
        )),
        "vm" => {
            let hosts = core.hosts_of_datastore(&ctx.caller, &d.id).await?;
            Some(vms_of_hosts(ctx, &hosts).await?)
        }
        "parent" => Some(moref("Folder", &dc_folder(ctx, &d.datacenter_id, FolderKind::Datastore).await?.moid)),
        _ => return Err(unknown(&Mo::Datastore(d.clone()), name)),
    })
}

async fn network_prop(
    ctx: &Ctx<'_>,
    n: &ferrocenter_core::inventory::Network,
    name: &str,
) -> Result<Option<Value>, VimFault> {
    let core = &ctx.state.core;
    Ok(match name {
        "summary" => Some(render::network_summary(n)),
        "host" => Some(Value::Array(
            core.hosts_of_network(&ctx.caller, &n.id)
                .await?
                .iter()
                .map(|h| moref("HostSystem", &h.moid))
                .collect(),
        )),
        "vm" => {
            let hosts = core.hosts_of_network(&ctx.caller, &n.id).await?;
            Some(vms_of_hosts(ctx, &hosts).await?)
        }
        "parent" => Some(moref(
            "Folder",
            &dc_folder(ctx, &n.datacenter_id, FolderKind::Network)
                .await?
                .moid,
        )),
        _ => return Err(unknown(&Mo::Network(n.clone()), name)),
    })
}
