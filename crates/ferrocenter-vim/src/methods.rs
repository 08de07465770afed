//! Method calls on inventory objects, hosts, VMs, tasks, events, views and collectors. Each
//! arm parses the parameters, calls one core operation and renders its answer.
use ferrocenter_core::hosts::{AddHostSpec, IfAlready, PowerAction, ReconnectSpec, RemoveMode};
use ferrocenter_core::inventory::{AutomationLevel, FolderKind};
use ferrocenter_core::tasks::Task;
use ferrocenter_core::CoreError;
use serde_json::{json, Map, Value};

use super::ctx::{opt_bool, opt_int, opt_obj, opt_str, Ctx};
use super::faults::{moref, VimFault};
use super::mo::{self, Mo};
use super::reply::{no_content, ok, unset, Reply};
use super::{collector, filters, names, props, render, tasks, views, vm_create};
use ferrocenter_core::vms::IfPoweredOn;

fn task_ref(t: &Task) -> Reply {
    ok(moref("Task", &t.moid))
}

/// vim answers a bad entity or host name with InvalidName carrying the name.
fn name_fault(e: CoreError, field: &str, value: &str) -> VimFault {
    match &e {
        CoreError::InvalidArgument { field: f, .. }
            if f == field
                || f.ends_with(&format!(".{field}"))
                || f == field.rsplit('.').next().unwrap_or(field) =>
        {
            VimFault::new("InvalidName", e.to_string()).with("name", json!(value))
        }
        _ => e.into(),
    }
}

/// Core fields of a host add are named as AddKVMHost/HostConnectSpec spell them; vim callers
/// see them under the parameter that holds them.
fn spec_fault(e: CoreError, param: &str, host_name: &str) -> VimFault {
    match e {
        CoreError::InvalidArgument { field, reason } if field == "hostName" => VimFault::new(
            "InvalidName",
            format!("invalid value for '{param}.hostName': {reason}"),
        )
        .with("name", json!(host_name)),
        CoreError::InvalidArgument { field, reason } if !field.contains('.') => {
            CoreError::invalid(format!("{param}.{field}"), reason).into()
        }
        other => other.into(),
    }
}

fn not_supported_field(field: &str, why: &str) -> VimFault {
    CoreError::not_supported(format!("{field} ({why})")).into()
}

/// What HostConnectSpec carries that ferrocenter refuses (hostGateway, sslCertificate), and
/// its port (unset, 0 and -1 mean the default) — shared by add and reconnect.
fn connect_spec_port(spec: &Map<String, Value>, param: &str) -> Result<Option<u16>, VimFault> {
    let f = |n: &str| format!("{param}.{n}");
    if opt_obj(spec, "hostGateway")?.is_some() {
        return Err(not_supported_field(
            &f("hostGateway"),
            "host gateways are not modelled",
        ));
    }
    if opt_str(spec, "sslCertificate")?.is_some() {
        return Err(not_supported_field(
            &f("sslCertificate"),
            "give the certificate's SHA-256 thumbprint in sslThumbprint",
        ));
    }
    match opt_int(spec, "port")? {
        None | Some(-1) | Some(0) => Ok(None),
        Some(p) => Ok(Some(ferrocenter_core::validate::port(&f("port"), p)?)),
    }
}

/// HostConnectSpec → the core's add spec.
fn connect_spec(spec: &Map<String, Value>, param: &str) -> Result<AddHostSpec, VimFault> {
    let f = |n: &str| format!("{param}.{n}");
    let port = connect_spec_port(spec, param)?;
    Ok(AddHostSpec {
        host_name: opt_str(spec, "hostName")?
            .ok_or_else(|| VimFault::from(CoreError::invalid(f("hostName"), "is required")))?
            .to_string(),
        port,
        ssl_thumbprint: opt_str(spec, "sslThumbprint")?.map(String::from),
        user_name: opt_str(spec, "userName")?.unwrap_or("").to_string(),
        password: opt_str(spec, "password")?.unwrap_or("").to_string(),
        force: opt_bool(spec, "force")?.unwrap_or(false),
        vim_account_name: opt_str(spec, "vimAccountName")?.map(String::from),
        vim_account_password: opt_str(spec, "vimAccountPassword")?.map(String::from),
        management_ip: opt_str(spec, "managementIp")?.map(String::from),
        lockdown_mode: opt_str(spec, "lockdownMode")?.map(String::from),
        ..Default::default()
    })
}

async fn add_host(
    ctx: &Ctx<'_>,
    mut spec: AddHostSpec,
    connected: bool,
) -> Result<Reply, VimFault> {
    if !connected {
        return Err(not_supported_field(
            "asConnected=false",
            "hosts are added connected; disconnect afterwards",
        ));
    }
    let host_name = spec.host_name.clone();
    if spec.user_name.is_empty() {
        return Err(CoreError::invalid("spec.userName", "is required").into());
    }
    spec.name = None;
    let t = ctx
        .state
        .core
        .add_host(&ctx.caller, spec)
        .await
        .map_err(|e| spec_fault(e, "spec", &host_name))?;
    Ok(task_ref(&t))
}

fn automation_level(
    spec: Option<&Map<String, Value>>,
) -> Result<Option<AutomationLevel>, VimFault> {
    let Some(drs) = spec.map(|s| opt_obj(s, "drsConfig")).transpose()?.flatten() else {
        return Ok(None);
    };
    match opt_str(drs, "defaultVmBehavior")? {
        None => Ok(None),
        Some(b) => AutomationLevel::parse(b).map(Some).ok_or_else(|| {
            CoreError::invalid(
                "spec.drsConfig.defaultVmBehavior",
                format!("'{b}' is not manual, partiallyAutomated or fullyAutomated"),
            )
            .into()
        }),
    }
}

pub async fn invoke(ctx: &Ctx<'_>, mo: &Mo, method: &str) -> Result<Reply, VimFault> {
    let core = &ctx.state.core;
    let c = &ctx.caller;
    match (mo, method) {
        // Collectors, filters and views.
        (Mo::PropertyCollector(id), "CreateFilter") => {
            Ok(ok(collector::create_filter(ctx, id).await?))
        }
        (Mo::PropertyCollector(_), "RetrievePropertiesEx") => {
            Ok(opt(collector::retrieve(ctx, true).await?))
        }
        (Mo::PropertyCollector(_), "RetrieveProperties") => {
            Ok(opt(collector::retrieve(ctx, false).await?))
        }
        (Mo::PropertyCollector(_), "ContinueRetrievePropertiesEx") => {
            Ok(opt(collector::continue_retrieve(ctx, false)?))
        }
        (Mo::PropertyCollector(_), "CancelRetrievePropertiesEx") => {
            collector::continue_retrieve(ctx, true)?;
            Ok(no_content())
        }
        (Mo::PropertyCollector(id), "WaitForUpdatesEx") => Ok(opt(collector::wait_for_updates(
            ctx,
            id,
            collector::Wait::Ex,
        )
        .await?)),
        (Mo::PropertyCollector(id), "WaitForUpdates") => Ok(opt(collector::wait_for_updates(
            ctx,
            id,
            collector::Wait::UntilChanged,
        )
        .await?)),
        (Mo::PropertyCollector(id), "CheckForUpdates") => Ok(opt(collector::wait_for_updates(
            ctx,
            id,
            collector::Wait::Check,
        )
        .await?)),
        (Mo::PropertyCollector(id), "CancelWaitForUpdates") => {
            filters::cancel_wait(ctx, id)?;
            Ok(no_content())
        }
        (Mo::PropertyCollector(_), "CreatePropertyCollector") => {
            Ok(ok(filters::create_collector(ctx)))
        }
        (Mo::PropertyCollector(id), "DestroyPropertyCollector") => {
            filters::destroy_collector(ctx, id)?;
            Ok(no_content())
        }
        (Mo::PropertyFilter(id), "DestroyPropertyFilter") => {
            filters::destroy_filter(ctx, id)?;
            Ok(no_content())
        }
        (Mo::ViewManager, "CreateListView") => Ok(ok(views::create_list_view(ctx).await?)),
        (Mo::ViewManager, "CreateContainerView") => {
            Ok(ok(views::create_container_view(ctx).await?))
        }
        (Mo::ListView(id), "ModifyListView") => Ok(ok(views::modify_list_view(ctx, id).await?)),
        (Mo::ListView(id) | Mo::ContainerView(id), "DestroyView") => {
            views::destroy_view(ctx, id, mo.type_name())?;
            Ok(no_content())
        }

        // Tasks and events.
        (Mo::Task(t), "CancelTask") => {
            tasks::cancel(ctx, t).await?;
            Ok(no_content())
        }
        (Mo::EventManager, "QueryEvents") => Ok(ok(tasks::query_events(ctx).await?)),
        (Mo::CustomFieldsManager, "SetField") => {
            let (t, id) = ctx.req_moref("entity")?;
            let key = ctx.req_int("key")?;
            let value = ctx.req_str("value")?;
            match mo::resolve(ctx, &t, &id).await? {
                Mo::Host(h) => core.set_host_field_by_key(c, &h.id, key, value).await?,
                other => {
                    return Err(not_supported_field(
                        &format!("SetField on a {}", other.type_name()),
                        "custom values are kept for hosts",
                    ))
                }
            }
            Ok(no_content())
        }

        (Mo::AlarmManager, "EnableAlarmActions" | "AreAlarmActionsEnabled") => {
            let (t, id) = ctx.req_moref("entity")?;
            let host = match mo::resolve(ctx, &t, &id).await? {
                Mo::Host(h) => h,
                other => {
                    return Err(not_supported_field(
                        &format!("{method} on a {}", other.type_name()),
                        "alarm actions are kept for hosts",
                    ))
                }
            };
            if method == "EnableAlarmActions" {
                core.set_host_alarm_actions(c, &host.id, ctx.req_bool("enabled")?)
                    .await?;
                return Ok(no_content());
            }
            Ok(ok(props::get(ctx, &Mo::Host(host), "alarmActionsEnabled")
                .await?
                .unwrap_or(json!(true))))
        }

        // Inventory.
        (Mo::Folder(f), "CreateDatacenter") => {
            if f.kind != FolderKind::Datacenter
                || f.datacenter_id.is_some()
                || f.parent_id.is_some()
            {
                return Err(not_supported_field(
                    "CreateDatacenter",
                    "datacenters are created in the root folder",
                ));
            }
            let name = ctx.req_str("name")?;
            let d = core
                .create_datacenter(c, name, "")
                .await
                .map_err(|e| name_fault(e, "name", name))?;
            Ok(ok(moref("Datacenter", &d.moid)))
        }
        (Mo::Folder(f), "CreateFolder") => {
            let name = ctx.req_str("name")?;
            let nf = core
                .create_folder(c, &f.id, name)
                .await
                .map_err(|e| name_fault(e, "name", name))?;
            Ok(ok(moref("Folder", &nf.moid)))
        }
        (Mo::Folder(f), "CreateClusterEx" | "CreateCluster") => {
            let dc = host_folder_dc(f, method)?;
            let name = ctx.req_str("name")?;
            let level =
                automation_level(ctx.opt_obj("spec")?)?.unwrap_or(AutomationLevel::FullyAutomated);
            let cl = core
                .create_cluster(c, dc, name, level, "")
                .await
                .map_err(|e| name_fault(e, "name", name))?;
            Ok(ok(moref("ClusterComputeResource", &cl.moid)))
        }
        (Mo::Folder(f), "AddStandaloneHost_Task") => {
            let dc = host_folder_dc(f, method)?;
            let mut spec = connect_spec(ctx.req_obj("spec")?, "spec")?;
            spec.datacenter_id = Some(dc.to_string());
            add_host(ctx, spec, ctx.req_bool("addConnected")?).await
        }
        (Mo::Cluster(cl), "AddHost_Task") => {
            let mut spec = connect_spec(ctx.req_obj("spec")?, "spec")?;
            spec.cluster_id = Some(cl.id.clone());
            add_host(ctx, spec, ctx.req_bool("asConnected")?).await
        }
        (Mo::Cluster(cl), "ReconfigureComputeResource_Task") => {
            let spec = ctx.req_obj("spec")?;
            let level = automation_level(Some(spec))?.ok_or_else(|| {
                not_supported_field(
                    "ReconfigureComputeResource_Task without spec.drsConfig.defaultVmBehavior",
                    "only the automation level is configurable",
                )
            })?;
            Ok(task_ref(
                &core.set_cluster_automation_task(c, &cl.id, level).await?,
            ))
        }
        (Mo::ComputeResource(h), "Destroy_Task") => Ok(task_ref(
            &core.remove_host(c, &h.id, RemoveMode::Permissive).await?,
        )),

        // Hosts.
        (Mo::Host(h), _) => host_method(ctx, h, method).await,

        // VMs.
        (Mo::Folder(f), "CreateVM_Task") => {
            let (spec, origins) = vm_create::spec(ctx, f).await?;
            let names = std::sync::Arc::new(move |f: &str| origins.name(f));
            Ok(task_ref(&core.create_vm_named(c, spec, names).await?))
        }
        // vCenter refuses a powered-on VM with InvalidPowerState (an InvalidState).
        (Mo::Vm(v), "Destroy_Task") => Ok(task_ref(
            &core.delete_vm(c, &v.id, IfPoweredOn::Refuse).await?,
        )),
        (Mo::Vm(v), "ReconfigVM_Task") => {
            let u = vm_create::reconfigure(ctx.req_obj("spec")?)?;
            Ok(task_ref(
                &core
                    .reconfigure_vm(c, &v.id, u)
                    .await
                    .map_err(vm_create::reconfigure_fault)?,
            ))
        }
        (Mo::Vm(v), "PowerOnVM_Task") => Ok(task_ref(
            &core.power_vm_task(c, &v.id, PowerAction::On).await?,
        )),
        (Mo::Vm(v), "PowerOffVM_Task") => Ok(task_ref(
            &core.power_vm_task(c, &v.id, PowerAction::Off).await?,
        )),
        (Mo::Vm(v), "MigrateVM_Task") => {
            let (t, id) = ctx.opt_moref("host")?.ok_or_else(|| {
                not_supported_field("MigrateVM_Task without host", "name the destination host")
            })?;
            let dest = match mo::resolve(ctx, &t, &id).await? {
                Mo::Host(d) => d,
                other => {
                    return Err(CoreError::invalid(
                        "host",
                        format!("must be a HostSystem, not a {}", other.type_name()),
                    )
                    .into())
                }
            };
            Ok(task_ref(&core.migrate_vm(c, &v.id, &dest.id).await?))
        }

        (m, "Reload") if m.is_entity() => Ok(no_content()),
        (m, name) => Err(unimplemented(m, name)),
    }
}

fn opt(v: Option<Value>) -> Reply {
    match v {
        Some(v) => ok(v),
        None => unset(),
    }
}

/// The datacenter of a top-level host folder, where clusters and hosts are created.
fn host_folder_dc<'f>(
    f: &'f ferrocenter_core::inventory::Folder,
    method: &str,
) -> Result<&'f str, VimFault> {
    match (&f.datacenter_id, f.kind, &f.parent_id) {
        (Some(dc), FolderKind::Host, None) => Ok(dc),
        _ => Err(not_supported_field(
            &format!("Folder.{method} on {}", f.moid),
            "use the datacenter's hostFolder",
        )),
    }
}

fn unimplemented(mo: &Mo, name: &str) -> VimFault {
    if names::defines(mo.type_name(), name) {
        CoreError::not_supported(format!("{}.{name}", mo.type_name())).into()
    } else {
        VimFault::method_not_found(mo.type_name(), &mo.moid(), name)
    }
}

async fn host_method(
    ctx: &Ctx<'_>,
    h: &ferrocenter_core::inventory::Host,
    method: &str,
) -> Result<Reply, VimFault> {
    let core = &ctx.state.core;
    let c = &ctx.caller;
    match method {
        "DisconnectHost_Task" => Ok(task_ref(
            &core.disconnect_host(c, &h.id, IfAlready::StartTask).await?,
        )),
        "ReconnectHost_Task" => {
            let mut spec = ReconnectSpec::default();
            let mut host_name = String::new();
            if let Some(cnx) = ctx.opt_obj("cnxSpec")? {
                let s = connect_spec_partial(cnx)?;
                host_name = s.host_name.clone().unwrap_or_default();
                spec = s;
            }
            if let Some(r) = ctx.opt_obj("reconnectSpec")? {
                spec.sync_state = opt_bool(r, "syncState")?.unwrap_or(false);
            }
            let t = core
                .reconnect_host(c, &h.id, spec)
                .await
                .map_err(|e| name_fault(e, "cnxSpec.hostName", &host_name))?;
            Ok(task_ref(&t))
        }
        "EnterMaintenanceMode_Task" => {
            let timeout = ctx.req_int("timeout")?;
            let evacuate = ctx.opt_bool("evacuatePoweredOffVms")?.unwrap_or(false);
            Ok(task_ref(
                &core.enter_maintenance(c, &h.id, timeout, evacuate).await?,
            ))
        }
        "ExitMaintenanceMode_Task" => {
            let timeout = ctx.req_int("timeout")?;
            Ok(task_ref(&core.exit_maintenance(c, &h.id, timeout).await?))
        }
        "RebootHost_Task" | "ShutdownHost_Task" => {
            let force = ctx.req_bool("force")?;
            Ok(task_ref(
                &core
                    .host_power(c, &h.id, method == "RebootHost_Task", force)
                    .await?,
            ))
        }
        "PowerDownHostToStandBy_Task" => {
            let timeout = ctx.req_int("timeoutSec")?;
            Ok(task_ref(
                &core.host_standby_task(c, &h.id, true, timeout).await?,
            ))
        }
        "PowerUpHostFromStandBy_Task" => {
            let timeout = ctx.req_int("timeoutSec")?;
            Ok(task_ref(
                &core.host_standby_task(c, &h.id, false, timeout).await?,
            ))
        }
        "EnterLockdownMode" | "ExitLockdownMode" => {
            let enter = method == "EnterLockdownMode";
            core.host_lockdown(c, &h.id, enter)
                .await
                .map_err(|e| match e {
                    // Lockdown has its own faults for "already in that mode".
                    CoreError::AlreadyInState { message } if enter => {
                        VimFault::new("AdminDisabled", message)
                    }
                    CoreError::AlreadyInState { message } => {
                        VimFault::new("AdminNotDisabled", message)
                    }
                    other => other.into(),
                })?;
            Ok(no_content())
        }
        "Destroy_Task" => {
            if h.cluster_id.is_none() {
                return Err(not_supported_field(
                    &format!("HostSystem.Destroy_Task on the standalone host {}", h.moid),
                    "destroy its ComputeResource instead",
                ));
            }
            Ok(task_ref(
                &core.remove_host(c, &h.id, RemoveMode::Permissive).await?,
            ))
        }
        "Rename_Task" => {
            let name = ctx.req_str("newName")?;
            let t = core
                .rename_host_task(c, &h.id, name)
                .await
                .map_err(|e| name_fault(e, "newName", name))?;
            Ok(task_ref(&t))
        }
        "QueryHostConnectionInfo" => {
            let info = core.host_connection_info(c, &h.id).await?;
            let vms = core.list_vms(c, Some(&h.id)).await?;
            let ds = core.datastores_of_host(c, &h.id).await?;
            let nets = core.networks_of_host(c, &h.id).await?;
            Ok(ok(render::connect_info(
                h,
                &info,
                &vms,
                &ds,
                &nets,
                &core.config.hosts.server_address,
            )))
        }
        "RetrieveHardwareUptime" => Ok(ok(json!(core.host_uptime(c, &h.id).await?))),
        "UpdateFlags" => {
            let flags = ctx.req_obj("flagInfo")?;
            core.set_host_flags(c, &h.id, opt_bool(flags, "backgroundSnapshotsEnabled")?)
                .await?;
            Ok(no_content())
        }
        "setCustomValue" => {
            let key = ctx.req_str("key")?;
            let value = ctx.req_str("value")?;
            core.set_host_custom_value(c, &h.id, key, value).await?;
            Ok(no_content())
        }
        "Reload" => Ok(no_content()),
        other => Err(unimplemented(&Mo::Host(h.clone()), other)),
    }
}

/// ReconnectHost's cnxSpec: only what it sets changes.
fn connect_spec_partial(cnx: &Map<String, Value>) -> Result<ReconnectSpec, VimFault> {
    let port = connect_spec_port(cnx, "cnxSpec")?;
    Ok(ReconnectSpec {
        refuse_in_maintenance: false,
        host_name: opt_str(cnx, "hostName")?.map(String::from),
        port,
        ssl_thumbprint: opt_str(cnx, "sslThumbprint")?.map(String::from),
        user_name: opt_str(cnx, "userName")?.map(String::from),
        password: opt_str(cnx, "password")?.map(String::from),
        force: opt_bool(cnx, "force")?.unwrap_or(false),
        sync_state: false,
        also_when_connected: false,
        if_connected: IfAlready::StartTask,
    })
}
