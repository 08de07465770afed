//! `com.vmware.vcenter.VM` create and delete: `VM.CreateSpec` as the official SDK sends it,
//! read into the core's create spec. New disks (`new_vmdk`), disks copied from an image (a
//! `VMDK_FILE` backing: ferrocenter has no shared disks, so the file named is an image the new
//! disk is a copy of) and network adapters on a network become the VM's; SCSI adapters are accepted and left to the host; devices ferrocenter does
//! not model (CD-ROMs, floppies, serial and parallel ports, boot order, storage policies) are
//! refused as unsupported when given.
use ferrocenter_core::auth::Caller;
use ferrocenter_core::moids::{self, Derived};
use ferrocenter_core::ports::{MoidEntity, MoidKind};
use ferrocenter_core::tasks::{Task, TaskResult};
use ferrocenter_core::vms::{
    datastore_path, IfPoweredOn, NewDisk, NewNic, VmCreateSpec, VmHardwareUpdate,
};
use ferrocenter_core::CoreError;
use serde_json::Value;

use super::ids;
use crate::registry::{Call, Out, Reply};
use crate::types::{field, StructDef, Ty};

const OPAQUE_LIST: Ty = Ty::Optional(&Ty::List(&Ty::Opaque));

const PLACEMENT: StructDef = StructDef {
    name: "com.vmware.vcenter.VM.placement_spec",
    fields: &[
        field("folder", Ty::Optional(&Ty::Id)),
        field("resource_pool", Ty::Optional(&Ty::Id)),
        field("host", Ty::Optional(&Ty::Id)),
        field("cluster", Ty::Optional(&Ty::Id)),
        field("datastore", Ty::Optional(&Ty::Id)),
    ],
};
pub const CPU_UPDATE: StructDef = StructDef {
    name: "com.vmware.vcenter.vm.hardware.cpu.update_spec",
    fields: &[
        field("count", Ty::Optional(&Ty::Long)),
        field("cores_per_socket", Ty::Optional(&Ty::Long)),
        field("hot_add_enabled", Ty::Optional(&Ty::Bool)),
        field("hot_remove_enabled", Ty::Optional(&Ty::Bool)),
    ],
};
pub const MEMORY_UPDATE: StructDef = StructDef {
    name: "com.vmware.vcenter.vm.hardware.memory.update_spec",
    fields: &[
        field("size_MiB", Ty::Optional(&Ty::Long)),
        field("hot_add_enabled", Ty::Optional(&Ty::Bool)),
    ],
};
const VMDK: StructDef = StructDef {
    name: "com.vmware.vcenter.vm.hardware.disk.vmdk_create_spec",
    fields: &[
        field("name", Ty::Optional(&Ty::String)),
        field("capacity", Ty::Optional(&Ty::Long)),
        field("storage_policy", Ty::Optional(&Ty::Opaque)),
    ],
};
const DISK_BACKING: StructDef = StructDef {
    name: "com.vmware.vcenter.vm.hardware.disk.backing_spec",
    fields: &[
        field("type", Ty::Enum(&["VMDK_FILE"])),
        field("vmdk_file", Ty::Optional(&Ty::String)),
    ],
};
const DISK: StructDef = StructDef {
    name: "com.vmware.vcenter.vm.hardware.disk.create_spec",
    fields: &[
        field(
            "type",
            Ty::Optional(&Ty::Enum(&["IDE", "SCSI", "SATA", "NVME"])),
        ),
        field("ide", Ty::Optional(&Ty::Opaque)),
        field("scsi", Ty::Optional(&Ty::Opaque)),
        field("sata", Ty::Optional(&Ty::Opaque)),
        field("nvme", Ty::Optional(&Ty::Opaque)),
        field("backing", Ty::Optional(&Ty::Struct(&DISK_BACKING))),
        field("new_vmdk", Ty::Optional(&Ty::Struct(&VMDK))),
    ],
};
const NIC_BACKING: StructDef = StructDef {
    name: "com.vmware.vcenter.vm.hardware.ethernet.backing_spec",
    fields: &[
        field(
            "type",
            Ty::Enum(&[
                "STANDARD_PORTGROUP",
                "HOST_DEVICE",
                "DISTRIBUTED_PORTGROUP",
                "OPAQUE_NETWORK",
            ]),
        ),
        field("network", Ty::Optional(&Ty::Id)),
        field("distributed_port", Ty::Optional(&Ty::String)),
    ],
};
const NIC: StructDef = StructDef {
    name: "com.vmware.vcenter.vm.hardware.ethernet.create_spec",
    fields: &[
        field(
            "type",
            Ty::Optional(&Ty::Enum(&[
                "E1000", "E1000E", "PCNET32", "VMXNET", "VMXNET2", "VMXNET3",
            ])),
        ),
        field("upt_compatibility_enabled", Ty::Optional(&Ty::Bool)),
        field("upt_v2_compatibility_enabled", Ty::Optional(&Ty::Bool)),
        field("mac_type", Ty::Optional(&Ty::String)),
        field("mac_address", Ty::Optional(&Ty::String)),
        field("pci_slot_number", Ty::Optional(&Ty::Long)),
        field("wake_on_lan_enabled", Ty::Optional(&Ty::Bool)),
        field("backing", Ty::Optional(&Ty::Struct(&NIC_BACKING))),
        field("start_connected", Ty::Optional(&Ty::Bool)),
        field("allow_guest_control", Ty::Optional(&Ty::Bool)),
    ],
};
pub const CREATE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.VM.create_spec",
    fields: &[
        field("guest_OS", Ty::String),
        field("name", Ty::Optional(&Ty::String)),
        field("placement", Ty::Optional(&Ty::Struct(&PLACEMENT))),
        field("hardware_version", Ty::Optional(&Ty::String)),
        field("boot", Ty::Optional(&Ty::Opaque)),
        field("boot_devices", OPAQUE_LIST),
        field("cpu", Ty::Optional(&Ty::Struct(&CPU_UPDATE))),
        field("memory", Ty::Optional(&Ty::Struct(&MEMORY_UPDATE))),
        field("disks", Ty::Optional(&Ty::List(&Ty::Struct(&DISK)))),
        field("nics", Ty::Optional(&Ty::List(&Ty::Struct(&NIC)))),
        field("cdroms", OPAQUE_LIST),
        field("floppies", OPAQUE_LIST),
        field("parallel_ports", OPAQUE_LIST),
        field("serial_ports", OPAQUE_LIST),
        field("sata_adapters", OPAQUE_LIST),
        field("scsi_adapters", OPAQUE_LIST),
        field("nvme_adapters", OPAQUE_LIST),
        field("storage_policy", Ty::Optional(&Ty::Opaque)),
        field("power_on", Ty::Optional(&Ty::Bool)),
    ],
};

/// The core names a create's fields its own way; a vAPI caller sent the create spec's.
fn spec_field(core: &str) -> String {
    for (prefix, tail_from, tail_to) in [
        ("disks[", ".capacity", ".new_vmdk.capacity"),
        // Only a disk from an image names its datastore, in its backing's file.
        ("disks[", ".datastore", ".backing.vmdk_file"),
        ("disks[", ".image", ".backing.vmdk_file"),
        ("nics[", ".network", ".backing.network"),
    ] {
        if let Some(rest) = core.strip_prefix(prefix) {
            if let Some(index) = rest.strip_suffix(tail_from) {
                return format!("spec.{prefix}{index}{tail_to}");
            }
        }
    }
    match core {
        "name" => "spec.name",
        "cpus" => "spec.cpu.count",
        "memory_mib" => "spec.memory.size_MiB",
        "guest_os" => "spec.guest_OS",
        "datastore" => "spec.placement.datastore",
        "host" => "spec.placement.host",
        "cluster" => "spec.placement.cluster",
        "datacenter" => "spec.placement.folder",
        "placement" => "spec.placement",
        other => return format!("spec.{other}"),
    }
    .to_string()
}

/// vAPI's GuestOS names as vim guest ids: `DEBIAN_12_64` → `debian12_64Guest` (the inverse of
/// `vm::guest_os`): a number joins a word before it, and follows a number after `_`.
pub fn guest_id(vapi: &str) -> String {
    let mut out = String::new();
    let mut prev_alpha = false;
    for (i, part) in vapi.split('_').enumerate() {
        let lower = part.to_ascii_lowercase();
        let starts_digit = part.starts_with(|c: char| c.is_ascii_digit());
        if i == 0 {
            out.push_str(&lower);
        } else if starts_digit {
            if !prev_alpha {
                out.push('_');
            }
            out.push_str(&lower);
        } else {
            let mut cs = lower.chars();
            if let Some(f) = cs.next() {
                out.push(f.to_ascii_uppercase());
                out.extend(cs);
            }
        }
        prev_alpha = part.chars().all(|c| c.is_ascii_alphabetic());
    }
    out.push_str("Guest");
    out
}

fn invalid(field: &str, why: impl Into<String>) -> CoreError {
    CoreError::invalid(field, why)
}

async fn moid_entity(
    call: &Call,
    caller: &Caller,
    kind: MoidKind,
    field: &str,
    id: &str,
) -> Result<MoidEntity, CoreError> {
    call.state
        .core
        .find_by_moid(caller, kind, id)
        .await?
        .ok_or_else(|| invalid(field, format!("no object {id}")))
}

/// Reads `VM.CreateSpec` into the core's spec.
async fn read_spec(call: &Call, caller: &Caller, spec: &Value) -> Result<VmCreateSpec, CoreError> {
    for name in [
        "boot",
        "boot_devices",
        "cdroms",
        "floppies",
        "parallel_ports",
        "serial_ports",
        "sata_adapters",
        "nvme_adapters",
        "storage_policy",
    ] {
        let given = match &spec[name] {
            Value::Null => false,
            Value::Array(a) => !a.is_empty(),
            _ => true,
        };
        if given {
            return Err(CoreError::not_supported(format!("VM.create spec.{name}")));
        }
    }
    let p = &spec["placement"];
    let text = |v: &Value| v.as_str().map(String::from);
    let mut out = VmCreateSpec {
        // Unset, the server names it (the vSphere API's "a default name will be generated").
        name: text(&spec["name"]).unwrap_or_else(default_vm_name),
        guest_os_id: text(&spec["guest_OS"]).map(|g| guest_id(&g)),
        vcpus: spec["cpu"]["count"].as_i64().unwrap_or(1),
        memory_mib: spec["memory"]["size_MiB"].as_i64().unwrap_or(1024),
        power_on: spec["power_on"].as_bool().unwrap_or(false),
        ..Default::default()
    };
    if let Some(f) = text(&p["folder"]) {
        let folder = ids::folder(call, caller, &f)
            .await
            .map_err(|_| invalid("spec.placement.folder", format!("no folder {f}")))?;
        if folder.kind != ferrocenter_core::inventory::FolderKind::Vm {
            return Err(invalid(
                "spec.placement.folder",
                format!("{f} is not a virtual machine folder"),
            ));
        }
        out.datacenter_id = folder.datacenter_id;
    }
    if let Some(h) = text(&p["host"]) {
        let host = ids::host(call, caller, &h)
            .await
            .map_err(|_| invalid("spec.placement.host", format!("no host {h}")))?;
        out.host_id = Some(host.id);
    }
    if let Some(c) = text(&p["cluster"]) {
        let cl = ids::cluster(call, caller, &c)
            .await
            .map_err(|_| invalid("spec.placement.cluster", format!("no cluster {c}")))?;
        out.cluster_id = Some(cl.id);
    }
    if let Some(rp) = text(&p["resource_pool"]) {
        let field = "spec.placement.resource_pool";
        match moids::parse(&rp) {
            Some(Derived::ClusterPool { cluster_moid }) => {
                let cl = ids::cluster(call, caller, &cluster_moid)
                    .await
                    .map_err(|_| invalid(field, format!("no resource pool {rp}")))?;
                if out.cluster_id.as_ref().is_some_and(|c| *c != cl.id) {
                    return Err(invalid(field, "is not the cluster's resource pool"));
                }
                out.cluster_id = Some(cl.id);
            }
            Some(Derived::StandalonePool { host_moid }) => {
                let h = ids::host(call, caller, &host_moid)
                    .await
                    .map_err(|_| invalid(field, format!("no resource pool {rp}")))?;
                if out.host_id.as_ref().is_some_and(|x| *x != h.id) {
                    return Err(invalid(field, "is not the host's resource pool"));
                }
                out.host_id = Some(h.id);
            }
            _ => return Err(invalid(field, format!("no resource pool {rp}"))),
        }
    }
    if let Some(d) = text(&p["datastore"]) {
        match moid_entity(
            call,
            caller,
            MoidKind::Datastore,
            "spec.placement.datastore",
            &d,
        )
        .await?
        {
            MoidEntity::Datastore(ds) => out.datastore_id = Some(ds.id),
            _ => {
                return Err(invalid(
                    "spec.placement.datastore",
                    format!("no datastore {d}"),
                ))
            }
        }
    }
    for (i, d) in spec["disks"].as_array().into_iter().flatten().enumerate() {
        let vmdk = &d["new_vmdk"];
        let backing = &d["backing"];
        if vmdk.is_null() && backing.is_null() {
            return Err(invalid(
                &format!("spec.disks[{i}]"),
                "needs new_vmdk (an empty disk) or backing (a copy of an image)",
            ));
        }
        let mut disk = NewDisk {
            // vSphere's default for a new VMDK without a capacity; a copy of an image is grown
            // to new_vmdk's capacity when both are given.
            capacity_bytes: vmdk["capacity"].as_i64().unwrap_or(16 << 30),
            ..Default::default()
        };
        if !backing.is_null() {
            let (ds, image) = image_backing(call, caller, &out, i, backing).await?;
            disk.datastore_id = Some(ds);
            disk.image = Some(image);
        }
        out.disks.push(disk);
    }
    for (i, n) in spec["nics"].as_array().into_iter().flatten().enumerate() {
        let field = format!("spec.nics[{i}].backing.network");
        let Some(net) = n["backing"]["network"].as_str() else {
            return Err(invalid(&field, "is required"));
        };
        match moid_entity(call, caller, MoidKind::Network, &field, net).await? {
            MoidEntity::Network(nw) => out.nics.push(NewNic { network_id: nw.id }),
            _ => return Err(invalid(&field, format!("no network {net}"))),
        }
    }
    Ok(out)
}

/// A disk's `VMDK_FILE` backing, `[datastore] name`: the datastore (by name, in the datacenter
/// the placement is in) and the image's name on it, which the core checks.
async fn image_backing(
    call: &Call,
    caller: &Caller,
    out: &VmCreateSpec,
    i: usize,
    backing: &Value,
) -> Result<(String, String), CoreError> {
    let field = format!("spec.disks[{i}].backing.vmdk_file");
    let Some(path) = backing["vmdk_file"].as_str() else {
        return Err(invalid(&field, "is required with type VMDK_FILE"));
    };
    let Some((ds_name, image)) = datastore_path::split(path) else {
        return Err(invalid(&field, "must be [datastore] name"));
    };
    let core = &call.state.core;
    let datacenter = match (&out.datacenter_id, &out.host_id, &out.cluster_id) {
        (Some(dc), _, _) => Some(dc.clone()),
        (None, Some(h), _) => Some(core.get_host(caller, h).await?.datacenter_id),
        (None, None, Some(c)) => Some(core.get_cluster(caller, c).await?.datacenter_id),
        (None, None, None) => None,
    };
    let Some(datacenter) = datacenter else {
        return Err(invalid(
            "spec.placement",
            "name where the VM goes: a folder, a host or a cluster",
        ));
    };
    let ds = core
        .list_datastores(caller, Some(&datacenter))
        .await?
        .into_iter()
        .find(|d| d.name == ds_name)
        .ok_or_else(|| invalid(&field, format!("no datastore named '{ds_name}' here")))?;
    Ok((ds.id, image.to_string()))
}

pub fn created_vm(t: &Task) -> Value {
    t.result
        .as_ref()
        .and_then(TaskResult::created_vm_moid)
        .map_or(Value::Null, Value::from)
}

pub fn create(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let spec = call.get("spec").cloned().unwrap_or_default();
        let spec = read_spec(&call, &caller, &spec).await?;
        let names = std::sync::Arc::new(spec_field);
        let task = call.state.core.create_vm_named(&caller, spec, names).await;
        Ok(Out::task(task?))
    })
}

/// A running VM is refused with not_allowed_in_current_state, as vCenter does.
pub fn delete(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let vm = ids::vm(&call, &caller, call.text("vm")).await?;
        Ok(Out::task(
            call.state
                .core
                .delete_vm(&caller, &vm.id, IfPoweredOn::Refuse)
                .await?,
        ))
    })
}

/// A name for a VM created without one: unique enough not to meet another.
fn default_vm_name() -> String {
    format!(
        "Virtual Machine {}",
        &ferrocenter_core::model::new_uuid()[..8]
    )
}

/// `vm.hardware.cpu.update` and `vm.hardware.memory.update` of a powered-off VM: `count` and
/// `size_MiB` (unset: unchanged); hot-add settings are not modelled (`unsupported` when set to
/// true).
async fn update_hardware(call: Call, cpu: bool) -> Result<Out, crate::errors::ApiError> {
    let caller = call.caller().await?;
    let vm = ids::vm(&call, &caller, call.text("vm")).await?;
    let spec = call.get("spec").cloned().unwrap_or_default();
    for flag in ["hot_add_enabled", "hot_remove_enabled"] {
        if spec[flag].as_bool() == Some(true) {
            return Err(CoreError::not_supported(format!("spec.{flag}")).into());
        }
    }
    let u = if cpu {
        if spec["cores_per_socket"].as_i64().is_some_and(|c| c != 1) {
            return Err(CoreError::not_supported("spec.cores_per_socket other than 1").into());
        }
        VmHardwareUpdate {
            vcpus: spec["count"].as_i64(),
            memory_mib: None,
        }
    } else {
        VmHardwareUpdate {
            vcpus: None,
            memory_mib: spec["size_MiB"].as_i64(),
        }
    };
    let task = call
        .state
        .core
        .reconfigure_vm(&caller, &vm.id, u)
        .await
        .map_err(|e| match e {
            CoreError::InvalidArgument { field, reason } => CoreError::invalid(
                match field.as_str() {
                    "cpus" => "spec.count",
                    "memory_mib" => "spec.size_MiB",
                    other => other,
                },
                reason,
            ),
            e => e,
        })?;
    Ok(Out::task(task))
}

pub fn update_cpu(call: Call) -> Reply {
    Box::pin(update_hardware(call, true))
}

pub fn update_memory(call: Call) -> Reply {
    Box::pin(update_hardware(call, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vapi_guest_names_become_vim_ids_and_back() {
        for id in [
            "debian12_64Guest",
            "otherLinux64Guest",
            "ubuntu64Guest",
            "windows2019srv_64Guest",
            "centos8_64Guest",
        ] {
            assert_eq!(guest_id(&super::super::vm::guest_os(id)), id);
        }
    }

    #[test]
    fn core_fields_are_named_as_the_spec_spells_them() {
        assert_eq!(spec_field("cpus"), "spec.cpu.count");
        assert_eq!(
            spec_field("disks[2].capacity"),
            "spec.disks[2].new_vmdk.capacity"
        );
        assert_eq!(
            spec_field("disks[1].image"),
            "spec.disks[1].backing.vmdk_file"
        );
        assert_eq!(
            spec_field("disks[1].datastore"),
            "spec.disks[1].backing.vmdk_file"
        );
        assert_eq!(
            spec_field("nics[0].network"),
            "spec.nics[0].backing.network"
        );
    }
}
