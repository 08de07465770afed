//! `Folder.CreateVM_Task(config, pool, host)` (and `ReconfigVM_Task`'s CPUs and memory): a `VirtualMachineConfigSpec` read into the
//! core's create spec. Disks (`VirtualDisk` added with `fileOperation` create: empty; without a
//! `fileOperation` and a `backing.fileName` of `[datastore] name`: a copy of that image, since
//! ferrocenter has no shared disks to attach) and network adapters (any `VirtualEthernetCard`
//! on a network backing) become the VM's; controllers are
//! accepted and left to the host. The core names fields its own way; vim callers see them as
//! the spec spells them (`config.numCPUs`, `config.deviceChange[3].device.backing.network`).
use ferrocenter_core::inventory::{Datastore, Folder, FolderKind, Network};
use ferrocenter_core::vms::{datastore_path, NewDisk, NewNic, VmCreateSpec, VmHardwareUpdate};
use ferrocenter_core::CoreError;
use serde_json::{Map, Value};

use super::ctx::{moref_of, opt_int, opt_obj, opt_str, Ctx};
use super::faults::VimFault;
use super::mo::{self, Mo, PoolOwner};
use super::schema;

/// Where each core disk and NIC came from in `deviceChange`, to name fields as the caller did.
#[derive(Default, Clone)]
pub struct Origins {
    disks: Vec<DiskOrigin>,
    nics: Vec<usize>,
}

/// A disk's change, and whether its datastore was named by `backing.fileName` (else by
/// `backing.datastore`, or not at all).
#[derive(Clone, Copy)]
struct DiskOrigin {
    at: usize,
    ds_in_file_name: bool,
}

impl Origins {
    /// A core field as the caller spelled it.
    pub fn name(&self, core: &str) -> String {
        let indexed = |rest: &str, at: &dyn Fn(usize) -> Option<(usize, bool)>| {
            let (i, tail) = rest.split_once(']')?;
            let (at, ds_in_file_name) = at(i.parse::<usize>().ok()?)?;
            let tail = match tail {
                ".capacity" => ".device.capacityInKB",
                ".datastore" if ds_in_file_name => ".device.backing.fileName",
                ".datastore" => ".device.backing.datastore",
                ".image" => ".device.backing.fileName",
                ".network" => ".device.backing.network",
                other => other,
            };
            Some(format!("config.deviceChange[{at}]{tail}"))
        };
        if let Some(rest) = core.strip_prefix("disks[") {
            let disk = |i: usize| self.disks.get(i).map(|d| (d.at, d.ds_in_file_name));
            if let Some(n) = indexed(rest, &disk) {
                return n;
            }
        }
        if let Some(rest) = core.strip_prefix("nics[") {
            let nic = |i: usize| self.nics.get(i).map(|at| (*at, false));
            if let Some(n) = indexed(rest, &nic) {
                return n;
            }
        }
        match core {
            "name" => "config.name",
            "cpus" => "config.numCPUs",
            "memory_mib" => "config.memoryMB",
            "guest_os" => "config.guestId",
            "datastore" => "config.files.vmPathName",
            "cluster" | "datacenter" | "placement" => "pool",
            "host" => "host",
            other => other,
        }
        .to_string()
    }
}

fn invalid(field: impl Into<String>, why: impl Into<String>) -> VimFault {
    CoreError::invalid(field, why).into()
}

/// The datastore a `[name] path` file name is on.
fn bracketed(path: &str) -> Option<&str> {
    datastore_path::split(path).map(|(ds, _)| ds)
}

/// Reads a CreateVM_Task call into the core's spec, with where each device came from.
pub async fn spec(ctx: &Ctx<'_>, folder: &Folder) -> Result<(VmCreateSpec, Origins), VimFault> {
    let core = &ctx.state.core;
    let c = &ctx.caller;
    let datacenter_id = match (&folder.datacenter_id, folder.kind) {
        (Some(dc), FolderKind::Vm) => dc.clone(),
        _ => {
            return Err(CoreError::not_supported(format!(
                "Folder.CreateVM_Task on {} (use a datacenter's vmFolder)",
                folder.moid
            ))
            .into())
        }
    };
    let config = ctx.req_obj("config")?;
    let mut spec = VmCreateSpec {
        name: opt_str(config, "name")?
            .ok_or_else(|| invalid("config.name", "is required"))?
            .to_string(),
        guest_os_id: opt_str(config, "guestId")?.map(String::from),
        datacenter_id: Some(datacenter_id.clone()),
        vcpus: opt_int(config, "numCPUs")?.unwrap_or(1),
        memory_mib: opt_int(config, "memoryMB")?
            .ok_or_else(|| invalid("config.memoryMB", "is required"))?,
        ..Default::default()
    };
    // The pool says the cluster (or the standalone host); `host` narrows it.
    let (pt, pid) = ctx.req_moref("pool")?;
    match mo::resolve(ctx, &pt, &pid).await? {
        Mo::ResourcePool(PoolOwner::Cluster(cl)) => spec.cluster_id = Some(cl.id.clone()),
        Mo::ResourcePool(PoolOwner::Standalone(h)) => spec.host_id = Some(h.id.clone()),
        other => {
            return Err(invalid(
                "pool",
                format!("must be a ResourcePool, not a {}", other.type_name()),
            ))
        }
    }
    if let Some((ht, hid)) = ctx.opt_moref("host")? {
        match mo::resolve(ctx, &ht, &hid).await? {
            Mo::Host(h) => {
                if spec.host_id.as_ref().is_some_and(|s| *s != h.id) {
                    return Err(invalid("host", "is not the host of the pool"));
                }
                spec.host_id = Some(h.id);
            }
            other => {
                return Err(invalid(
                    "host",
                    format!("must be a HostSystem, not a {}", other.type_name()),
                ))
            }
        }
    }
    let datastores = core.list_datastores(c, Some(&datacenter_id)).await?;
    let networks = core.list_networks(c, Some(&datacenter_id)).await?;
    let ds_named = |field: &str, name: &str| -> Result<&Datastore, VimFault> {
        datastores.iter().find(|d| d.name == name).ok_or_else(|| {
            invalid(
                field,
                format!("no datastore named {name} in the datacenter"),
            )
        })
    };
    if let Some(files) = opt_obj(config, "files")? {
        if let Some(path) = opt_str(files, "vmPathName")? {
            let field = "config.files.vmPathName";
            let name = bracketed(path)
                .ok_or_else(|| invalid(field, "must start with the datastore: [name]"))?;
            if !name.is_empty() {
                spec.datastore_id = Some(ds_named(field, name)?.id.clone());
            }
        }
    }
    let mut origins = Origins::default();
    let changes = match config.get("deviceChange") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(invalid("config.deviceChange", "must be an array")),
    };
    for (i, ch) in changes.iter().enumerate() {
        let at = |f: &str| format!("config.deviceChange[{i}]{f}");
        let ch = ch
            .as_object()
            .ok_or_else(|| invalid(at(""), "must be a VirtualDeviceConfigSpec"))?;
        let op = opt_str(ch, "operation")?.unwrap_or("add");
        if op != "add" {
            return Err(invalid(
                at(".operation"),
                "a new VM's devices can only be added",
            ));
        }
        let device = opt_obj(ch, "device")?.ok_or_else(|| invalid(at(".device"), "is required"))?;
        let ty = opt_str(device, "_typeName")?.unwrap_or("");
        let backing = opt_obj(device, "backing")?;
        if is_a(ty, "VirtualDisk") {
            let kb = opt_int(device, "capacityInKB")?;
            let bytes = opt_int(device, "capacityInBytes")?;
            let capacity = match (bytes, kb) {
                (Some(b), _) if b > 0 => b,
                (_, Some(k)) => k.saturating_mul(1024),
                _ => return Err(invalid(at(".device.capacityInKB"), "is required")),
            };
            let file_name = match backing {
                Some(b) => opt_str(b, "fileName")?,
                None => None,
            };
            let mut disk = NewDisk {
                capacity_bytes: capacity,
                ..Default::default()
            };
            let mut ds_in_file_name = false;
            match opt_str(ch, "fileOperation")? {
                Some("create") => {}
                // vSphere attaches the existing disk; ferrocenter has no shared disks, so the
                // VM gets a new disk that is a copy of that file, an image on the datastore.
                None => {
                    let field = at(".device.backing.fileName");
                    let (ds, image) = file_name
                        .and_then(datastore_path::split)
                        .filter(|(ds, image)| !ds.is_empty() && !image.is_empty())
                        .ok_or_else(|| {
                            invalid(
                                &field,
                                "name the image the new disk is copied from: [datastore] name \
                                 (or set fileOperation create for an empty disk)",
                            )
                        })?;
                    disk.datastore_id = Some(ds_named(&field, ds)?.id.clone());
                    disk.image = Some(image.to_string());
                    ds_in_file_name = true;
                }
                Some(_) => {
                    return Err(invalid(
                        at(".fileOperation"),
                        "must be create (an empty disk) or unset (a copy of an image)",
                    ))
                }
            }
            if let (Some(b), None) = (backing, &disk.image) {
                if let Some(ds) = b.get("datastore").filter(|v| !v.is_null()) {
                    let (_, id) = moref_of(
                        ds.as_object().ok_or_else(|| {
                            invalid(at(".device.backing.datastore"), "must be a MoRef")
                        })?,
                        &at(".device.backing.datastore"),
                    )?;
                    let d = datastores.iter().find(|d| d.moid == id).ok_or_else(|| {
                        invalid(
                            at(".device.backing.datastore"),
                            format!("no datastore {id}"),
                        )
                    })?;
                    disk.datastore_id = Some(d.id.clone());
                } else if let Some(name) = file_name.and_then(bracketed) {
                    if !name.is_empty() {
                        disk.datastore_id =
                            Some(ds_named(&at(".device.backing.fileName"), name)?.id.clone());
                        ds_in_file_name = true;
                    }
                }
            }
            origins.disks.push(DiskOrigin {
                at: i,
                ds_in_file_name,
            });
            spec.disks.push(disk);
        } else if is_a(ty, "VirtualEthernetCard") {
            let field = at(".device.backing");
            let b = backing.ok_or_else(|| invalid(&field, "is required"))?;
            let net: &Network = match b.get("network").filter(|v| !v.is_null()) {
                Some(n) => {
                    let (_, id) = moref_of(
                        n.as_object().ok_or_else(|| {
                            invalid(format!("{field}.network"), "must be a MoRef")
                        })?,
                        &format!("{field}.network"),
                    )?;
                    networks.iter().find(|n| n.moid == id).ok_or_else(|| {
                        invalid(format!("{field}.network"), format!("no network {id}"))
                    })?
                }
                None => {
                    let name = opt_str(b, "deviceName")?
                        .ok_or_else(|| invalid(format!("{field}.network"), "name the network"))?;
                    networks.iter().find(|n| n.name == name).ok_or_else(|| {
                        invalid(
                            format!("{field}.deviceName"),
                            format!("no network named {name}"),
                        )
                    })?
                }
            };
            origins.nics.push(i);
            spec.nics.push(NewNic {
                network_id: net.id.clone(),
            });
        } else if is_a(ty, "VirtualController") {
            // The host gives the VM its controllers.
        } else {
            return Err(CoreError::not_supported(format!("{} of type {ty}", at(".device"))).into());
        }
    }
    Ok((spec, origins))
}

/// ReconfigVM_Task's spec: numCPUs and memoryMB of a powered-off VM; anything else set is
/// NotSupported, naming it.
pub fn reconfigure(spec: &Map<String, Value>) -> Result<VmHardwareUpdate, VimFault> {
    for (k, val) in spec {
        if val.is_null()
            || matches!(
                k.as_str(),
                "_typeName" | "numCPUs" | "memoryMB" | "changeVersion"
            )
        {
            continue;
        }
        if val.as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        return Err(CoreError::not_supported(format!(
            "ReconfigVM_Task spec.{k} (only numCPUs and memoryMB of a powered-off VM)"
        ))
        .into());
    }
    Ok(VmHardwareUpdate {
        vcpus: opt_int(spec, "numCPUs")?,
        memory_mib: opt_int(spec, "memoryMB")?,
    })
}

/// A reconfigure's core fault, its field named as the spec spells it.
pub fn reconfigure_fault(e: CoreError) -> VimFault {
    match e {
        CoreError::InvalidArgument { field, reason } => {
            let field = match field.as_str() {
                "cpus" => "spec.numCPUs".to_string(),
                "memory_mib" => "spec.memoryMB".to_string(),
                _ => field,
            };
            CoreError::invalid(field, reason).into()
        }
        e => e.into(),
    }
}

/// Whether the declared type `ty` is `base` or derives from it.
fn is_a(ty: &str, base: &str) -> bool {
    schema::data_type(ty).is_some_and(|t| t.is_a(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_named_as_the_caller_sent_them() {
        let o = Origins {
            disks: vec![
                DiskOrigin {
                    at: 1,
                    ds_in_file_name: false,
                },
                DiskOrigin {
                    at: 4,
                    ds_in_file_name: true,
                },
            ],
            nics: vec![2, 3],
        };
        assert_eq!(
            o.name("disks[1].image"),
            "config.deviceChange[4].device.backing.fileName"
        );
        assert_eq!(
            o.name("disks[1].datastore"),
            "config.deviceChange[4].device.backing.fileName"
        );
        assert_eq!(
            o.name("disks[0].datastore"),
            "config.deviceChange[1].device.backing.datastore"
        );
        assert_eq!(o.name("cpus"), "config.numCPUs");
        assert_eq!(
            o.name("disks[0].capacity"),
            "config.deviceChange[1].device.capacityInKB"
        );
        assert_eq!(
            o.name("nics[1].network"),
            "config.deviceChange[3].device.backing.network"
        );
        assert_eq!(bracketed("[local] vm/vm.vmx"), Some("local"));
        assert_eq!(bracketed("local"), None);
    }
}
