//! `com.vmware.vcenter.VM` (list, get, create, delete, relocate and relocate$task), `com.vmware.vcenter.vm.power`
//! (get, start, stop) and `com.vmware.vcenter.system` (hello).
use ferrocenter_core::auth::Caller;
use ferrocenter_core::hosts::PowerAction;
use std::collections::HashMap;

use ferrocenter_core::inventory::query::{HostField, ListQuery};
use ferrocenter_core::inventory::{Cluster, Datacenter, FolderKind, Host, VmRecord};
use ferrocenter_core::ports::MoidKind;
use ferrocenter_core::tasks::TaskKind;
use ferrocenter_core::CoreError;
use serde_json::{json, Map, Value};

use super::ids::{self as ids, admits, set};
use super::vm_create;
use crate::errors::ApiError;
use crate::registry::{http, op, Call, Http, Op, Out, Reply, TaskVariant};
use crate::rules::{self, Rule};
use crate::types::{field, Field, StructDef, Ty, Union};

const POWER_STATES: &[&str] = &["POWERED_OFF", "POWERED_ON", "SUSPENDED"];

const FILTER_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.VM.filter_spec",
    fields: &[
        field("vms", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("names", Ty::Optional(&Ty::Set(&Ty::String))),
        field("folders", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("datacenters", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("hosts", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("clusters", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("resource_pools", Ty::Optional(&Ty::Set(&Ty::Id))),
        field(
            "power_states",
            Ty::Optional(&Ty::Set(&Ty::Enum(POWER_STATES))),
        ),
    ],
};
const SUMMARY: StructDef = StructDef {
    name: "com.vmware.vcenter.VM.summary",
    fields: &[
        field("vm", Ty::Id),
        field("name", Ty::String),
        field("power_state", Ty::Enum(POWER_STATES)),
        field("cpu_count", Ty::Optional(&Ty::Long)),
        field("memory_size_MiB", Ty::Optional(&Ty::Long)),
    ],
};
const IDENTITY: StructDef = StructDef {
    name: "com.vmware.vcenter.vm.identity.info",
    fields: &[
        field("name", Ty::String),
        field("bios_uuid", Ty::String),
        field("instance_uuid", Ty::String),
    ],
};
const HARDWARE: StructDef = StructDef {
    name: "com.vmware.vcenter.vm.hardware.info",
    fields: &[
        field("version", Ty::String),
        field("upgrade_policy", Ty::String),
        field("upgrade_version", Ty::Optional(&Ty::String)),
        field("upgrade_status", Ty::String),
        field("upgrade_error", Ty::Optional(&Ty::Opaque)),
    ],
};
const BOOT: StructDef = StructDef {
    name: "com.vmware.vcenter.vm.hardware.boot.info",
    fields: &[
        field("type", Ty::String),
        field("efi_legacy_boot", Ty::Optional(&Ty::Bool)),
        field("network_protocol", Ty::Optional(&Ty::String)),
        field("delay", Ty::Long),
        field("retry", Ty::Bool),
        field("retry_delay", Ty::Long),
        field("enter_setup_mode", Ty::Bool),
    ],
};
const CPU: StructDef = StructDef {
    name: "com.vmware.vcenter.vm.hardware.cpu.info",
    fields: &[
        field("count", Ty::Long),
        field("cores_per_socket", Ty::Long),
        field("hot_add_enabled", Ty::Bool),
        field("hot_remove_enabled", Ty::Bool),
    ],
};
const MEMORY: StructDef = StructDef {
    name: "com.vmware.vcenter.vm.hardware.memory.info",
    fields: &[
        field("size_MiB", Ty::Long),
        field("hot_add_enabled", Ty::Bool),
        field("hot_add_increment_size_MiB", Ty::Optional(&Ty::Long)),
        field("hot_add_limit_MiB", Ty::Optional(&Ty::Long)),
    ],
};
/// Devices are not modelled yet: these maps are empty (opaque values, so any shape decodes).
const DEVICES: Ty = Ty::Map(&Ty::Opaque);
const INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.VM.info",
    fields: &[
        field("guest_OS", Ty::String),
        field("name", Ty::String),
        field("identity", Ty::Optional(&Ty::Struct(&IDENTITY))),
        field("power_state", Ty::Enum(POWER_STATES)),
        field("instant_clone_frozen", Ty::Optional(&Ty::Bool)),
        field("hardware", Ty::Struct(&HARDWARE)),
        field("boot", Ty::Struct(&BOOT)),
        field("boot_devices", Ty::List(&Ty::Opaque)),
        field("cpu", Ty::Struct(&CPU)),
        field("memory", Ty::Struct(&MEMORY)),
        field("disks", DEVICES),
        field("nics", DEVICES),
        field("cdroms", DEVICES),
        field("floppies", DEVICES),
        field("parallel_ports", DEVICES),
        field("serial_ports", DEVICES),
        field("sata_adapters", DEVICES),
        field("scsi_adapters", DEVICES),
        field("nvme_adapters", Ty::Optional(&DEVICES)),
    ],
};
const PLACEMENT: StructDef = StructDef {
    name: "com.vmware.vcenter.VM.relocate_placement_spec",
    fields: &[
        field("folder", Ty::Optional(&Ty::Id)),
        field("resource_pool", Ty::Optional(&Ty::Id)),
        field("host", Ty::Optional(&Ty::Id)),
        field("cluster", Ty::Optional(&Ty::Id)),
        field("datastore", Ty::Optional(&Ty::Id)),
    ],
};
const DISK_RELOCATE: StructDef = StructDef {
    name: "com.vmware.vcenter.VM.disk_relocate_spec",
    fields: &[field("datastore", Ty::Optional(&Ty::Id))],
};
const RELOCATE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.VM.relocate_spec",
    fields: &[
        field("placement", Ty::Optional(&Ty::Struct(&PLACEMENT))),
        field("disks", Ty::Optional(&Ty::Map(&Ty::Struct(&DISK_RELOCATE)))),
    ],
};
const POWER_INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.vm.power.info",
    fields: &[
        field("state", Ty::Enum(POWER_STATES)),
        field("clean_power_off", Ty::Optional(&Ty::Bool)),
    ],
};
const HELLO_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.system.hello_spec",
    fields: &[field("api_releases", Ty::Rule(Rule::ApiReleases))],
};
const HELLO_RESULT: StructDef = StructDef {
    name: "com.vmware.vcenter.system.hello_result",
    fields: &[field("api_release", Ty::String)],
};

pub const POWER_INFO_UNION: Union = Union {
    structure: "com.vmware.vcenter.vm.power.info",
    discriminant: "state",
    cases: &[
        ("POWERED_OFF", &[("clean_power_off", true)]),
        ("POWERED_ON", &[]),
        ("SUSPENDED", &[]),
    ],
};

pub const BOOT_INFO_UNION: Union = Union {
    structure: "com.vmware.vcenter.vm.hardware.boot.info",
    discriminant: "type",
    cases: &[
        (
            "EFI",
            &[("efi_legacy_boot", true), ("network_protocol", true)],
        ),
        ("BIOS", &[]),
    ],
};

const VM_SERVICE: &str = "com.vmware.vcenter.VM";
const POWER: &str = "com.vmware.vcenter.vm.power";
const VM: &[Field] = &[field("vm", Ty::Id)];

pub const OPS: &[Op] = &[
    op(
        VM_SERVICE,
        "list",
        &[field("filter", Ty::Optional(&Ty::Struct(&FILTER_SPEC)))],
        Ty::List(&Ty::Struct(&SUMMARY)),
        &[http("GET", "/vcenter/vm")],
        list,
    ),
    op(
        VM_SERVICE,
        "get",
        VM,
        Ty::Struct(&INFO),
        &[http("GET", "/vcenter/vm/{vm}")],
        get,
    ),
    Op {
        task_kind: Some(TaskKind::VmCreate),
        result: vm_create::created_vm,
        rest: Some(&[http("POST", "/vcenter/vm")]),
        ..op(
            VM_SERVICE,
            "create",
            &[field("spec", Ty::Struct(&vm_create::CREATE_SPEC))],
            Ty::Id,
            // `/api` takes the spec as the body, `/rest` wraps it as {"spec": …}.
            &[Http {
                method: "POST",
                path: "/vcenter/vm",
                action: None,
                body: Some("spec"),
            }],
            vm_create::create,
        )
    },
    Op {
        task_kind: Some(TaskKind::VmDelete),
        ..op(
            VM_SERVICE,
            "delete",
            VM,
            Ty::Void,
            &[http("DELETE", "/vcenter/vm/{vm}")],
            vm_create::delete,
        )
    },
    Op {
        task: TaskVariant::Also,
        task_kind: Some(TaskKind::VmMigrate),
        ..op(
            VM_SERVICE,
            "relocate",
            &[
                field("vm", Ty::Id),
                field("spec", Ty::Struct(&RELOCATE_SPEC)),
            ],
            Ty::Void,
            &[Http {
                method: "POST",
                path: "/vcenter/vm/{vm}",
                action: Some("relocate"),
                body: None,
            }],
            relocate,
        )
    },
    Op {
        task_kind: Some(TaskKind::VmReconfigure),
        rest: Some(&[http("PATCH", "/vcenter/vm/{vm}/hardware/cpu")]),
        ..op(
            "com.vmware.vcenter.vm.hardware.cpu",
            "update",
            &[
                field("vm", Ty::Id),
                field("spec", Ty::Struct(&vm_create::CPU_UPDATE)),
            ],
            Ty::Void,
            &[Http {
                method: "PATCH",
                path: "/vcenter/vm/{vm}/hardware/cpu",
                action: None,
                body: Some("spec"),
            }],
            vm_create::update_cpu,
        )
    },
    Op {
        task_kind: Some(TaskKind::VmReconfigure),
        rest: Some(&[http("PATCH", "/vcenter/vm/{vm}/hardware/memory")]),
        ..op(
            "com.vmware.vcenter.vm.hardware.memory",
            "update",
            &[
                field("vm", Ty::Id),
                field("spec", Ty::Struct(&vm_create::MEMORY_UPDATE)),
            ],
            Ty::Void,
            &[Http {
                method: "PATCH",
                path: "/vcenter/vm/{vm}/hardware/memory",
                action: None,
                body: Some("spec"),
            }],
            vm_create::update_memory,
        )
    },
    op(
        POWER,
        "get",
        VM,
        Ty::Struct(&POWER_INFO),
        &[http("GET", "/vcenter/vm/{vm}/power")],
        power_get,
    ),
    Op {
        task_kind: Some(TaskKind::VmPowerOn),
        ..op(
            POWER,
            "start",
            VM,
            Ty::Void,
            &[http("POST", "/vcenter/vm/{vm}/power/start")],
            power_start,
        )
    },
    Op {
        task_kind: Some(TaskKind::VmPowerOff),
        ..op(
            POWER,
            "stop",
            VM,
            Ty::Void,
            &[http("POST", "/vcenter/vm/{vm}/power/stop")],
            power_stop,
        )
    },
    op(
        "com.vmware.vcenter.system",
        "hello",
        &[field("spec", Ty::Struct(&HELLO_SPEC))],
        Ty::Struct(&HELLO_RESULT),
        &[Http {
            method: "POST",
            path: "/vcenter/system",
            action: Some("hello"),
            body: Some("spec"),
        }],
        hello,
    ),
];

fn power_state(vm: &VmRecord) -> &'static str {
    match vm.power_state.as_str() {
        "poweredOn" => "POWERED_ON",
        "suspended" => "SUSPENDED",
        _ => "POWERED_OFF",
    }
}

/// vim guest ids as vAPI's GuestOS names: `debian12_64Guest` → `DEBIAN_12_64`.
pub(super) fn guest_os(id: &str) -> String {
    let base = id.strip_suffix("Guest").unwrap_or(id);
    let mut out = String::new();
    let mut prev: Option<char> = None;
    for c in base.chars() {
        let boundary = c.is_ascii_uppercase()
            || (c.is_ascii_digit() && prev.is_some_and(|p| p.is_ascii_alphabetic()));
        if boundary && !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
        prev = Some(c);
    }
    out
}

async fn host_of(call: &Call, caller: &Caller, vm: &VmRecord) -> Result<Host, CoreError> {
    call.state.core.get_host(caller, &vm.host_id).await
}

fn list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let core = &call.state.core;
        let f = call.get("filter");
        let (vms, names, folders, dcs, hosts, clusters, pools, states) = (
            set(f, "vms"),
            set(f, "names"),
            set(f, "folders"),
            set(f, "datacenters"),
            set(f, "hosts"),
            set(f, "clusters"),
            set(f, "resource_pools"),
            set(f, "power_states"),
        );
        if [&vms, &names, &dcs, &hosts, &clusters]
            .iter()
            .any(|s| s.as_ref().is_some_and(Vec::is_empty))
        {
            return Ok(Out::Value(Value::Array(Vec::new())));
        }
        // The host, datacenter and cluster filters go to the store, so only those hosts, and
        // only their datacenters and clusters, are read; maps keep the joins linear (a listing
        // of every VM joined each to a scan of every host before).
        let dc_ids = ids::ids_of(&call, &caller, MoidKind::Datacenter, &dcs).await?;
        let cluster_ids = ids::ids_of(&call, &caller, MoidKind::Cluster, &clusters).await?;
        let conditions: Vec<_> = [
            ids::one_of(HostField::Moid, &hosts),
            ids::one_of(HostField::DatacenterId, &dc_ids),
            ids::one_of(HostField::ClusterId, &cluster_ids),
        ]
        .into_iter()
        .flatten()
        .collect::<Result<_, _>>()?;
        let narrowed = !conditions.is_empty();
        let all_hosts: Vec<Host> = if narrowed {
            let q = ListQuery::<HostField> {
                conditions,
                limit: u32::MAX,
                ..Default::default()
            };
            core.query_hosts(&caller, &q).await?.rows
        } else {
            core.list_hosts(&caller, &Default::default()).await?
        };
        let by_id: HashMap<&str, &Host> = all_hosts.iter().map(|h| (h.id.as_str(), h)).collect();
        let (datacenters, all_clusters) = if narrowed {
            let mut dcs = HashMap::new();
            let mut cls = HashMap::new();
            for h in &all_hosts {
                if !dcs.contains_key(&h.datacenter_id) {
                    let d = core.get_datacenter(&caller, &h.datacenter_id).await?;
                    dcs.insert(h.datacenter_id.clone(), d);
                }
                if let Some(c) = h.cluster_id.as_ref().filter(|c| !cls.contains_key(*c)) {
                    cls.insert(c.clone(), core.get_cluster(&caller, c).await?);
                }
            }
            (dcs.into_values().collect(), cls.into_values().collect())
        } else {
            (
                core.list_datacenters(&caller).await?,
                core.list_clusters(&caller, None).await?,
            )
        };
        let dc_by_id: HashMap<&str, &Datacenter> =
            datacenters.iter().map(|d| (d.id.as_str(), d)).collect();
        let cluster_by_id: HashMap<&str, &Cluster> = all_clusters
            .iter()
            .map(|c: &Cluster| (c.id.as_str(), c))
            .collect();
        let vm_rows = match &hosts {
            Some(_) => {
                let mut rows = Vec::new();
                for h in &all_hosts {
                    rows.extend(core.list_vms(&caller, Some(&h.id)).await?);
                }
                rows
            }
            None => core.list_vms(&caller, None).await?,
        };
        let mut out = Vec::new();
        for vm in vm_rows {
            let Some(h) = by_id.get(vm.host_id.as_str()).copied() else {
                continue;
            };
            let dc = dc_by_id.get(h.datacenter_id.as_str()).copied();
            let cluster = h
                .cluster_id
                .as_deref()
                .and_then(|c| cluster_by_id.get(c).copied());
            let pool =
                ferrocenter_core::moids::host_pool(&h.moid, cluster.map(|c| c.moid.as_str()));
            let vm_folder = match (&folders, dc) {
                (Some(_), Some(d)) => core
                    .datacenter_folder(&d.id, FolderKind::Vm)
                    .await
                    .map(|f| f.moid)
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let ok = admits(&vms, &vm.moid)
                && admits(&names, &vm.name)
                && admits(&hosts, &h.moid)
                && admits(&dcs, dc.map(|d| d.moid.as_str()).unwrap_or(""))
                && admits(&folders, &vm_folder)
                && admits(&pools, &pool)
                && admits(&states, power_state(&vm))
                && clusters
                    .as_ref()
                    .is_none_or(|s| cluster.is_some_and(|c| s.contains(&c.moid)));
            if ok {
                out.push(json!({
                    "vm": vm.moid,
                    "name": vm.name,
                    "power_state": power_state(&vm),
                    "cpu_count": vm.vcpus,
                    "memory_size_MiB": vm.memory_bytes >> 20,
                }));
            }
        }
        Ok(Out::Value(Value::Array(out)))
    })
}

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let vm = ids::vm(&call, &caller, call.text("vm")).await?;
        let empty = Value::Object(Map::new());
        Ok(Out::Value(json!({
            "guest_OS": guest_os(&vm.guest_os_id),
            "name": vm.name,
            "identity": {"name": vm.name, "bios_uuid": vm.uuid, "instance_uuid": vm.instance_uuid},
            "power_state": power_state(&vm),
            "hardware": {"version": "VMX_21", "upgrade_policy": "NEVER", "upgrade_status": "NONE"},
            "boot": {"type": "BIOS", "delay": 0, "retry": false, "retry_delay": 10000,
                     "enter_setup_mode": false},
            "boot_devices": [],
            "cpu": {"count": vm.vcpus, "cores_per_socket": 1, "hot_add_enabled": false,
                    "hot_remove_enabled": false},
            "memory": {"size_MiB": vm.memory_bytes >> 20, "hot_add_enabled": false},
            "disks": empty, "nics": empty, "cdroms": empty, "floppies": empty,
            "parallel_ports": empty, "serial_ports": empty, "sata_adapters": empty,
            "scsi_adapters": empty,
        })))
    })
}

/// Moves a VM to `spec.placement.host` (a live migration). Storage and folder moves are not
/// modelled, nor a destination the server picks: naming another datastore, disk placement or
/// folder, or no host, is refused as unsupported (the request is valid vAPI).
fn relocate(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let vm = ids::vm(&call, &caller, call.text("vm")).await?;
        let spec = call.get("spec").cloned().unwrap_or_default();
        let placement = &spec["placement"];
        for (name, what) in [
            ("datastore", "spec.placement.datastore"),
            ("folder", "spec.placement.folder"),
        ] {
            if !placement[name].is_null() {
                return Err(CoreError::not_supported(format!("VM.relocate {what}")).into());
            }
        }
        if spec.get("disks").is_some_and(|d| !d.is_null()) {
            return Err(CoreError::not_supported("VM.relocate spec.disks").into());
        }
        let Some(host_moid) = placement["host"].as_str() else {
            return Err(CoreError::not_supported("VM.relocate without spec.placement.host").into());
        };
        let dest = ids::host(&call, &caller, host_moid).await?;
        if let Some(c) = placement["cluster"].as_str() {
            let c = ids::cluster(&call, &caller, c).await?;
            if dest.cluster_id.as_deref() != Some(c.id.as_str()) {
                return Err(CoreError::invalid(
                    "spec.placement.cluster",
                    format!("host {} is not in cluster {}", dest.moid, c.moid),
                )
                .into());
            }
        }
        Ok(Out::task(
            call.state
                .core
                .migrate_vm(&caller, &vm.id, &dest.id)
                .await?,
        ))
    })
}

fn power_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let vm = ids::vm(&call, &caller, call.text("vm")).await?;
        let _ = host_of(&call, &caller, &vm).await?;
        let state = power_state(&vm);
        // The union on `state`: POWERED_OFF carries clean_power_off. ferrocenter's stop is a
        // hard power-off, not a guest shutdown.
        Ok(Out::Value(if state == "POWERED_OFF" {
            json!({"state": state, "clean_power_off": false})
        } else {
            json!({"state": state})
        }))
    })
}

async fn power(call: Call, action: PowerAction) -> Result<Out, ApiError> {
    let caller = call.caller().await?;
    let vm = ids::vm(&call, &caller, call.text("vm")).await?;
    Ok(Out::task(
        call.state
            .core
            .power_vm_task(&caller, &vm.id, action)
            .await?,
    ))
}

fn power_start(call: Call) -> Reply {
    Box::pin(power(call, PowerAction::On))
}

fn power_stop(call: Call) -> Reply {
    Box::pin(power(call, PowerAction::Off))
}

/// Picks the first of the client's releases this server speaks (VI/JSON's range).
fn hello(call: Call) -> Reply {
    Box::pin(async move {
        // As vCenter, hello needs a session.
        let _ = call.caller().await?;
        let releases: Vec<String> = call
            .get("spec")
            .and_then(|s| s.get("api_releases"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        rules::api_releases("spec.api_releases", &releases)?;
        let chosen = releases
            .iter()
            .find(|r| ferrocenter_http::releases::release_ok(r))
            .cloned()
            .unwrap_or_default();
        Ok(Out::Value(json!({"api_release": chosen})))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_ids_become_vapi_names() {
        assert_eq!(guest_os("debian12_64Guest"), "DEBIAN_12_64");
        assert_eq!(guest_os("otherLinux64Guest"), "OTHER_LINUX_64");
        assert_eq!(guest_os("ubuntu64Guest"), "UBUNTU_64");
        assert_eq!(guest_os("windows2019srv_64Guest"), "WINDOWS_2019SRV_64");
    }
}
