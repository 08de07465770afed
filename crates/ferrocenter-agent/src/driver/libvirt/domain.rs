//! VMs as libvirt domains. A VM is a persistent KVM domain (q35, virtio devices); each disk a
//! qcow2 volume in the storage pool its `datastore` names; each NIC an interface on the libvirt
//! network (or host bridge) its `network` names. What libvirt has no place for — the instance
//! uuid, the guest OS id, disk and NIC labels — is kept in the domain's `<metadata>` under
//! ferrocenter's namespace, so it survives agent restarts.
use ferrocenter_agent_client::wire::{ErrorCode, PowerAction, Vm, VmDisk, VmNic, VmPowerState};
use tracing::warn;
use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::ErrorNumber;
use virt::network::Network;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;
use virt::sys;

use super::fault;
use super::xml::{self, esc, Node};
use crate::driver::libvirt_settings::DomainType;
use crate::driver::Resize;
use crate::error::{ApiError, ApiResult};

/// ferrocenter's namespace in a domain's `<metadata>`.
pub const METADATA_NS: &str = "https://ferrocenter.dev/xmlns/libvirt-vm/1";
const DEFAULT_GUEST: &str = "otherLinux64Guest";

fn state_of(d: &Domain) -> ApiResult<VmPowerState> {
    let (state, _) = d.get_state().map_err(|e| fault("domain state", e))?;
    Ok(match state {
        sys::VIR_DOMAIN_RUNNING | sys::VIR_DOMAIN_BLOCKED | sys::VIR_DOMAIN_SHUTDOWN => {
            VmPowerState::PoweredOn
        }
        sys::VIR_DOMAIN_PAUSED | sys::VIR_DOMAIN_PMSUSPENDED => VmPowerState::Suspended,
        _ => VmPowerState::PoweredOff,
    })
}

/// Bytes of an element with libvirt's `unit` attribute (KiB when absent).
fn bytes(n: &Node) -> u64 {
    let v: u64 = n.text.trim().parse().unwrap_or(0);
    let mul: u64 = match n.attr("unit").unwrap_or("KiB") {
        "b" | "bytes" => 1,
        "k" | "KiB" => 1 << 10,
        "KB" => 1000,
        "M" | "MiB" => 1 << 20,
        "MB" => 1_000_000,
        "G" | "GiB" => 1 << 30,
        "GB" => 1_000_000_000,
        "T" | "TiB" => 1 << 40,
        _ => 1 << 10,
    };
    v.saturating_mul(mul)
}

/// The volume behind a disk element: by pool and volume name, or by file path.
pub(super) fn disk_volume(c: &Connect, disk: &Node) -> Option<StorageVol> {
    let src = disk.child("source")?;
    match (src.attr("pool"), src.attr("volume"), src.attr("file")) {
        (Some(pool), Some(vol), _) => {
            let p = StoragePool::lookup_by_name(c, pool).ok()?;
            StorageVol::lookup_by_name(&p, vol).ok()
        }
        (_, _, Some(path)) => StorageVol::lookup_by_path(c, path).ok(),
        _ => None,
    }
}

/// The domain's disk elements (CD-ROMs and floppies are not the VM's disks).
pub(super) fn disk_nodes(doc: &Node) -> Vec<&Node> {
    doc.child("devices")
        .map(|d| {
            d.children("disk")
                .filter(|n| n.attr("device").unwrap_or("disk") == "disk")
                .collect()
        })
        .unwrap_or_default()
}

fn read_vm(c: &Connect, d: &Domain) -> ApiResult<Vm> {
    let desc = d.get_xml_desc(0).map_err(|e| fault("domain XML", e))?;
    let doc = xml::parse(&desc).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("libvirt's domain XML is not XML: {e}"),
        )
    })?;
    let uuid = doc.text_at("uuid").unwrap_or_default();
    let meta = doc.at("metadata/vm");
    let recorded = |kind: &str, key: &str, value: &str, attr: &str| {
        meta.and_then(|m| {
            m.children(kind)
                .find(|n| n.attr(key) == Some(value))
                .and_then(|n| n.attr(attr))
                .map(str::to_string)
        })
    };
    let label = |kind: &str, key: &str, value: &str| recorded(kind, key, value, "label");
    let disks = disk_nodes(&doc)
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let target = n.child("target").and_then(|t| t.attr("dev")).unwrap_or("");
            let vol = disk_volume(c, n);
            let datastore = match n.child("source").and_then(|s| s.attr("pool")) {
                Some(p) => p.to_string(),
                None => vol
                    .as_ref()
                    .and_then(|v| StoragePool::lookup_by_volume(v).ok())
                    .and_then(|p| p.get_name().ok())
                    .unwrap_or_default(),
            };
            VmDisk {
                label: label("disk", "target", target)
                    .unwrap_or_else(|| format!("Hard disk {}", i + 1)),
                capacity_bytes: vol
                    .and_then(|v| v.get_info().ok())
                    .map(|i| i.capacity)
                    .unwrap_or(0),
                datastore,
                image: recorded("disk", "target", target, "image"),
            }
        })
        .collect();
    let nics = doc
        .child("devices")
        .map(|d| d.children("interface").collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let mac = n
                .child("mac")
                .and_then(|m| m.attr("address"))
                .unwrap_or("")
                .to_string();
            let src = n.child("source");
            VmNic {
                label: label("nic", "mac", &mac)
                    .unwrap_or_else(|| format!("Network adapter {}", i + 1)),
                network: src
                    .and_then(|s| s.attr("network").or(s.attr("bridge")))
                    .unwrap_or("")
                    .to_string(),
                mac,
            }
        })
        .collect();
    Ok(Vm {
        instance_uuid: meta
            .and_then(|m| m.text_at("instance-uuid"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| uuid.clone()),
        name: doc.text_at("name").unwrap_or_default(),
        vcpus: doc
            .text_at("vcpu")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1),
        memory_bytes: doc
            .child("currentMemory")
            .or(doc.child("memory"))
            .map(bytes)
            .unwrap_or(0),
        power_state: state_of(d)?,
        guest_os_id: meta
            .and_then(|m| m.text_at("guest-os-id"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_GUEST.into()),
        disks,
        nics,
        migrating_to: None,
        uuid,
    })
}

fn lookup(c: &Connect, uuid: &str) -> ApiResult<Option<Domain>> {
    match Domain::lookup_by_uuid_string(c, uuid) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.code() == ErrorNumber::NoDomain => Ok(None),
        Err(e) => Err(fault("looking up the VM", e)),
    }
}

pub(super) fn domain(c: &Connect, uuid: &str) -> ApiResult<Domain> {
    lookup(c, uuid)?.ok_or_else(|| ApiError::not_found("VM", uuid))
}

pub fn list(c: &Connect) -> ApiResult<Vec<Vm>> {
    let domains = c
        .list_all_domains(sys::VIR_CONNECT_LIST_DOMAINS_PERSISTENT)
        .map_err(|e| fault("listing VMs", e))?;
    let mut out = Vec::new();
    for d in &domains {
        match read_vm(c, d) {
            Ok(vm) => out.push(vm),
            // Gone between the listing and the read.
            Err(e) if e.0.code == ErrorCode::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The VM of `uuid`, if this host holds it: a transient domain (such as one arriving by
/// migration, persistent only once libvirt finishes it) is not yet a VM of this host.
pub fn get(c: &Connect, uuid: &str) -> ApiResult<Option<Vm>> {
    match lookup(c, uuid)? {
        Some(d) if !d.is_persistent().unwrap_or(true) => Ok(None),
        Some(d) => match read_vm(c, &d) {
            Ok(vm) => Ok(Some(vm)),
            Err(e) if e.0.code == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e),
        },
        None => Ok(None),
    }
}

/// The volume of a VM's disk `i` (0-based) in its pool.
fn volume_name(uuid: &str, i: usize) -> String {
    format!("{uuid}-disk{}.qcow2", i + 1)
}

/// Removes the volumes a VM's disks would have, when no domain of that uuid exists here (what
/// libvirt made ready for a migration that was abandoned).
pub fn discard_volumes(c: &Connect, vm: &Vm) -> ApiResult<()> {
    if let Some(d) = lookup(c, &vm.uuid)? {
        match d.is_persistent() {
            // Arrived after all: the VM is this host's now.
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) if e.code() == ErrorNumber::NoDomain => {}
            Err(e) => return Err(fault("looking at an abandoned migration's domain", e)),
        }
        // The paused, transient domain of the incoming copy, which a libvirtd restarted
        // mid-migration keeps: destroying it removes it.
        match d.destroy() {
            Ok(()) => warn!(vm = %vm.uuid, "removed the domain an abandoned migration left"),
            // libvirt removed it itself meanwhile.
            Err(e) if e.code() == ErrorNumber::NoDomain => {}
            Err(e) => return Err(fault("removing an abandoned migration's domain", e)),
        }
    }
    for (i, d) in vm.disks.iter().enumerate() {
        let Ok(pool) = StoragePool::lookup_by_name(c, &d.datastore) else {
            continue;
        };
        // A libvirtd that just started may not have started its pools yet: a volume of an
        // inactive pool cannot be looked at, so the discard is tried again later.
        if !pool.is_active().unwrap_or(false) {
            return Err(ApiError::new(
                ErrorCode::Unavailable,
                format!("storage pool {} is not active yet", d.datastore),
            ));
        }
        let _ = pool.refresh(0);
        if let Ok(v) = StorageVol::lookup_by_name(&pool, &volume_name(&vm.uuid, i)) {
            v.delete(0)
                .map_err(|e| fault("removing an abandoned migration's disk", e))?;
            warn!(vm = %vm.uuid, pool = %d.datastore, "removed the disk an abandoned migration left");
        }
    }
    Ok(())
}

/// A volume the define made, removed again if the define fails.
struct Made {
    pool: String,
    volume: String,
}

fn remove_volumes(c: &Connect, made: &[Made]) {
    for m in made {
        let r = StoragePool::lookup_by_name(c, &m.pool)
            .and_then(|p| StorageVol::lookup_by_name(&p, &m.volume))
            .and_then(|v| v.delete(0));
        if let Err(e) = r {
            warn!(pool = %m.pool, volume = %m.volume, error = %e.message(), "could not remove a volume");
        }
    }
}

fn volume_xml(name: &str, capacity: u64) -> String {
    format!(
        "<volume><name>{}</name><capacity unit='bytes'>{capacity}</capacity>\
         <allocation unit='bytes'>0</allocation><target><format type='qcow2'/></target></volume>",
        esc(name)
    )
}

/// Creates one qcow2 volume, empty or a copy of its image, refusing a disk larger than the
/// pool's free space (thin volumes could overcommit it; ferrocenter does not).
fn create_volume(
    c: &Connect,
    i: usize,
    disk: &VmDisk,
    name: &str,
    pending: u64,
) -> ApiResult<StorageVol> {
    let field = format!("disks[{i}].datastore");
    let pool = StoragePool::lookup_by_name(c, &disk.datastore).map_err(|e| {
        if e.code() == ErrorNumber::NoStoragePool {
            ApiError::invalid(
                &field,
                format!("no storage pool named '{}' on this host", disk.datastore),
            )
        } else {
            fault("storage pool", e)
        }
    })?;
    let _ = pool.refresh(0);
    let info = pool.get_info().map_err(|e| fault("storage pool", e))?;
    if pending.saturating_add(disk.capacity_bytes) > info.available {
        return Err(ApiError::new(
            ErrorCode::InsufficientCapacity,
            format!(
                "storage pool '{}' has {} bytes free: disk {} needs {}",
                disk.datastore,
                info.available.saturating_sub(pending),
                i + 1,
                disk.capacity_bytes
            ),
        ));
    }
    let xml = volume_xml(name, disk.capacity_bytes);
    let made = match &disk.image {
        None => StorageVol::create_xml(&pool, &xml, 0),
        Some(image) => {
            let src = StorageVol::lookup_by_name(&pool, image)
                .or_else(|_| StorageVol::lookup_by_path(c, image))
                .map_err(|_| {
                    ApiError::invalid(
                        &format!("disks[{i}].image"),
                        format!(
                            "no volume '{image}' in storage pool '{}', nor at that path",
                            disk.datastore
                        ),
                    )
                })?;
            let size = src.get_info().map_err(|e| fault("image", e))?.capacity;
            if size > disk.capacity_bytes {
                return Err(ApiError::invalid(
                    &format!("disks[{i}].capacity_bytes"),
                    format!("is smaller than its image ({size} bytes)"),
                ));
            }
            // A copy keeps the image's size: grown to the disk's afterwards.
            StorageVol::create_xml_from(&pool, &xml, &src, 0).and_then(|v| {
                let grown = match v.get_info() {
                    Ok(info) if info.capacity < disk.capacity_bytes => {
                        v.resize(disk.capacity_bytes, 0).map(drop)
                    }
                    Ok(_) => Ok(()),
                    Err(e) => Err(e),
                };
                match grown {
                    Ok(()) => Ok(v),
                    Err(e) => {
                        let _ = v.delete(0);
                        Err(e)
                    }
                }
            })
        }
    };
    made.map_err(|e| {
        let mut f = fault(
            &format!(
                "creating disk {} in storage pool '{}'",
                i + 1,
                disk.datastore
            ),
            e,
        );
        let m = f.0.message.to_ascii_lowercase();
        if m.contains("no space") || m.contains("not enough space") {
            f.0.code = ErrorCode::InsufficientCapacity;
        }
        f
    })
}

fn domain_xml(vm: &Vm, kind: DomainType, arch: &str, volumes: &[(String, String)]) -> String {
    let mut meta = format!(
        "<fc:vm xmlns:fc='{METADATA_NS}'><fc:instance-uuid>{}</fc:instance-uuid>\
         <fc:guest-os-id>{}</fc:guest-os-id>",
        esc(&vm.instance_uuid),
        esc(&vm.guest_os_id)
    );
    let mut devices = String::new();
    for (i, (d, (pool, vol))) in vm.disks.iter().zip(volumes).enumerate() {
        let dev = format!("vd{}", (b'a' + i as u8) as char);
        let image = d
            .image
            .as_ref()
            .map(|i| format!(" image='{}'", esc(i)))
            .unwrap_or_default();
        meta.push_str(&format!(
            "<fc:disk target='{dev}' label='{}'{image}/>",
            esc(&d.label)
        ));
        devices.push_str(&format!(
            "<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>\
             <source pool='{}' volume='{}'/><target dev='{dev}' bus='virtio'/></disk>",
            esc(pool),
            esc(vol)
        ));
    }
    for n in &vm.nics {
        let mac = if n.mac.is_empty() {
            String::new()
        } else {
            meta.push_str(&format!(
                "<fc:nic mac='{}' label='{}'/>",
                esc(&n.mac),
                esc(&n.label)
            ));
            format!("<mac address='{}'/>", esc(&n.mac))
        };
        devices.push_str(&format!(
            "<interface type='network'>{mac}<source network='{}'/><model type='virtio'/></interface>",
            esc(&n.network)
        ));
    }
    meta.push_str("</fc:vm>");
    format!(
        "<domain type='{kind}'><name>{name}</name><uuid>{uuid}</uuid>\
         <metadata>{meta}</metadata>\
         <memory unit='b'>{mem}</memory><currentMemory unit='b'>{mem}</currentMemory>\
         <vcpu placement='static'>{vcpus}</vcpu>\
         <os><type arch='{arch}' machine='q35'>hvm</type><boot dev='hd'/></os>\
         <features><acpi/><apic/></features>{cpu}\
         <clock offset='utc'/><on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot>\
         <on_crash>destroy</on_crash>\
         <devices>{devices}<serial type='pty'/><console type='pty'/>\
         <memballoon model='virtio'/></devices></domain>",
        kind = kind.as_str(),
        cpu = kind.cpu_xml(),
        name = esc(&vm.name),
        uuid = esc(&vm.uuid),
        mem = vm.memory_bytes,
        vcpus = vm.vcpus,
    )
}

fn host_arch(c: &Connect) -> String {
    c.get_capabilities()
        .ok()
        .and_then(|x| xml::parse(&x).ok())
        .and_then(|d| d.text_at("host/cpu/arch"))
        .unwrap_or_else(|| "x86_64".into())
}

/// Defines the VM: checks name, uuid and networks, creates its volumes one by one, defines the
/// domain and starts it if asked; whatever it made is removed again when a step fails.
pub fn define(c: &Connect, vm: &Vm, kind: DomainType) -> ApiResult<Vm> {
    if Domain::lookup_by_name(c, &vm.name).is_ok() {
        return Err(ApiError::invalid(
            "name",
            format!("a VM named '{}' already exists on this host", vm.name),
        ));
    }
    if lookup(c, &vm.uuid)?.is_some() {
        return Err(ApiError::invalid_state(format!(
            "a VM with uuid {} is already registered",
            vm.uuid
        )));
    }
    for (i, n) in vm.nics.iter().enumerate() {
        if let Err(e) = Network::lookup_by_name(c, &n.network) {
            return Err(if e.code() == ErrorNumber::NoNetwork {
                ApiError::invalid(
                    &format!("nics[{i}].network"),
                    format!("no libvirt network named '{}' on this host", n.network),
                )
            } else {
                fault("network", e)
            });
        }
    }
    let mut made: Vec<Made> = Vec::new();
    let mut volumes = Vec::new();
    for (i, d) in vm.disks.iter().enumerate() {
        let name = volume_name(&vm.uuid, i);
        let pending: u64 = vm.disks[..i]
            .iter()
            .filter(|p| p.datastore == d.datastore)
            .map(|p| p.capacity_bytes)
            .sum();
        match create_volume(c, i, d, &name, pending) {
            Ok(_) => {
                made.push(Made {
                    pool: d.datastore.clone(),
                    volume: name.clone(),
                });
                volumes.push((d.datastore.clone(), name));
            }
            Err(e) => {
                remove_volumes(c, &made);
                return Err(e);
            }
        }
    }
    let dom = match Domain::define_xml(c, &domain_xml(vm, kind, &host_arch(c), &volumes)) {
        Ok(d) => d,
        Err(e) => {
            remove_volumes(c, &made);
            return Err(fault("defining the VM", e));
        }
    };
    if vm.power_state == VmPowerState::PoweredOn {
        if let Err(e) = dom.create() {
            let _ = dom.undefine_flags(sys::VIR_DOMAIN_UNDEFINE_NVRAM);
            remove_volumes(c, &made);
            return Err(fault("powering the new VM on", e));
        }
    }
    read_vm(c, &dom)
}

/// Removes a powered-off VM: the domain, then its volumes.
pub fn undefine(c: &Connect, uuid: &str) -> ApiResult<Vm> {
    let d = domain(c, uuid)?;
    let vm = read_vm(c, &d)?;
    let desc = d.get_xml_desc(0).map_err(|e| fault("domain XML", e))?;
    let doc = xml::parse(&desc).unwrap_or_default();
    let volumes: Vec<StorageVol> = disk_nodes(&doc)
        .into_iter()
        .filter_map(|n| disk_volume(c, n))
        .collect();
    if d.is_active().unwrap_or(false) {
        return Err(ApiError::invalid_state(
            "power the VM off before unregistering it",
        ));
    }
    d.undefine_flags(
        sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
            | sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
            | sys::VIR_DOMAIN_UNDEFINE_NVRAM,
    )
    .map_err(|e| fault("removing the VM", e))?;
    for v in volumes {
        if let Err(e) = v.delete(0) {
            warn!(vm = %uuid, error = %e.message(), "the VM is gone but a disk could not be removed");
        }
    }
    Ok(vm)
}

pub fn power(c: &Connect, uuid: &str, action: PowerAction) -> ApiResult<Vm> {
    let d = domain(c, uuid)?;
    let r = match action {
        PowerAction::On if state_of(&d)? == VmPowerState::Suspended => d.resume().map(drop),
        PowerAction::On => d.create().map(drop),
        PowerAction::Off => d.destroy(),
        PowerAction::Reset => d.reset().map(drop),
        PowerAction::Suspend => d.suspend().map(drop),
        PowerAction::Shutdown => d.shutdown().map(drop),
    };
    r.map_err(|e| fault(&format!("power {action:?}"), e))?;
    read_vm(c, &d)
}

/// Sets vCPUs and memory in the (powered-off) domain's configuration; the maximum moves first
/// when growing and last when shrinking, as libvirt requires current ≤ maximum.
pub fn reconfigure(c: &Connect, uuid: &str, resize: Resize) -> ApiResult<Vm> {
    let d = domain(c, uuid)?;
    if d.is_active().unwrap_or(false) {
        return Err(ApiError::invalid_state(
            "power the VM off before changing its CPUs or memory",
        ));
    }
    let config = sys::VIR_DOMAIN_AFFECT_CONFIG;
    if let Some(n) = resize.vcpus {
        let max = d
            .get_vcpus_flags(config | sys::VIR_DOMAIN_VCPU_MAXIMUM)
            .map_err(|e| fault("vCPUs", e))?;
        let steps = if n > max {
            [config | sys::VIR_DOMAIN_VCPU_MAXIMUM, config]
        } else {
            [config, config | sys::VIR_DOMAIN_VCPU_MAXIMUM]
        };
        for f in steps {
            d.set_vcpus_flags(n, f)
                .map_err(|e| fault("setting vCPUs", e))?;
        }
    }
    if let Some(bytes) = resize.memory_bytes {
        let kib = bytes.div_ceil(1024);
        let max = d.get_max_memory().map_err(|e| fault("memory", e))?;
        let mem = sys::VIR_DOMAIN_MEM_CONFIG;
        let steps = if kib > max {
            [mem | sys::VIR_DOMAIN_MEM_MAXIMUM, mem]
        } else {
            [mem, mem | sys::VIR_DOMAIN_MEM_MAXIMUM]
        };
        for f in steps {
            d.set_memory_flags(kib, f)
                .map_err(|e| fault("setting memory", e))?;
        }
    }
    read_vm(c, &d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_xml_carries_metadata_disks_and_nics() {
        let vm = Vm {
            uuid: "6b0c7a52-5a7e-4b39-9a63-2e5a4bfbf001".into(),
            instance_uuid: "i-1".into(),
            name: "web<1>".into(),
            vcpus: 2,
            memory_bytes: 256 << 20,
            power_state: VmPowerState::PoweredOff,
            guest_os_id: "debian12_64Guest".into(),
            disks: vec![VmDisk {
                label: "Hard disk 1".into(),
                capacity_bytes: 1 << 30,
                datastore: "default".into(),
                image: Some("base.qcow2".into()),
            }],
            nics: vec![VmNic {
                label: "Network adapter 1".into(),
                mac: "52:54:00:00:00:01".into(),
                network: "default".into(),
            }],
            migrating_to: None,
        };
        let x = domain_xml(
            &vm,
            DomainType::Kvm,
            "x86_64",
            &[("default".into(), "v.qcow2".into())],
        );
        let doc = xml::parse(&x).unwrap();
        assert_eq!(doc.text_at("name").as_deref(), Some("web<1>"));
        assert_eq!(bytes(doc.child("memory").unwrap()), 256 << 20);
        assert_eq!(
            doc.text_at("metadata/vm/instance-uuid").as_deref(),
            Some("i-1")
        );
        assert_eq!(disk_nodes(&doc).len(), 1);
        assert_eq!(
            doc.at("devices/interface/source").unwrap().attr("network"),
            Some("default")
        );
    }
}
