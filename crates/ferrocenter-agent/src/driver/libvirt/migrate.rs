//! Live migration through libvirt: peer to peer (the source libvirtd connects to the
//! destination's over TLS, authenticated by the hosts' certificates, never libvirt's plain TCP),
//! the destination made persistent and the source undefined by libvirt itself, local disks
//! copied alongside memory (`NON_SHARED_DISK`), progress read from libvirt's job statistics and
//! a cancel through `virDomainAbortJob`. libvirt keeps the guest running here until its
//! switch-over and resumes it here when the migration fails, so a failure leaves the VM on
//! this host only.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrocenter_agent_client::wire::{ErrorCode, Vm};
use tracing::{info, warn};
use virt::connect::Connect;
use virt::domain::{Domain, MigrateParameters};
use virt::error::ErrorNumber;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;
use virt::sys;

use super::domain::{disk_nodes, disk_volume, domain};
use super::{fault, xml};
use crate::driver::libvirt_settings::MigrationTransport;
use crate::driver::{ProgressSink, TransferProgress, TransferTarget};
use crate::error::{ApiError, ApiResult};

/// The destination libvirtd's URI for a host at `address`: `{address}` in the template is
/// replaced (an IPv6 address gets its brackets).
pub fn destination_uri(template: &str, address: &str) -> String {
    let host = if address.contains(':') && !address.starts_with('[') {
        format!("[{address}]")
    } else {
        address.to_string()
    };
    template.replace("{address}", &host)
}

/// Storage pool types whose volumes only this host sees: their disks are copied.
const LOCAL_POOLS: &[&str] = &["dir", "fs", "logical", "disk", "zfs"];

/// The VM's volumes on storage only this host sees.
fn local_volumes(c: &Connect, d: &Domain) -> ApiResult<Vec<StorageVol>> {
    let desc = d.get_xml_desc(0).map_err(|e| fault("domain XML", e))?;
    let doc = xml::parse(&desc).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("libvirt's domain XML is not XML: {e}"),
        )
    })?;
    let mut out = Vec::new();
    for n in disk_nodes(&doc) {
        let Some(v) = disk_volume(c, n) else {
            // Whether a file outside every pool is shared cannot be told: neither copying
            // it nor leaving it is safe.
            return Err(ApiError::new(
                ErrorCode::NotSupported,
                "migrating a VM with a disk outside every storage pool",
            ));
        };
        let pool = StoragePool::lookup_by_volume(&v).map_err(|e| fault("storage pool", e))?;
        let pool_xml = pool.get_xml_desc(0).map_err(|e| fault("storage pool", e))?;
        let kind = xml::parse(&pool_xml)
            .ok()
            .and_then(|p| p.attr("type").map(str::to_string))
            .unwrap_or_else(|| "dir".into());
        if LOCAL_POOLS.contains(&kind.as_str()) {
            out.push(v);
        }
    }
    Ok(out)
}

/// Migrates the domain of `vm` to the libvirtd at `dest_uri`; blocks until libvirt is done.
pub fn transfer(
    c: &Connect,
    vm: &Vm,
    to: &TransferTarget,
    dest_uri: &str,
    transport: MigrationTransport,
    progress: ProgressSink,
) -> ApiResult<()> {
    let d = domain(c, &vm.uuid)?;
    let active = d.is_active().map_err(|e| fault("domain state", e))?;
    let local = local_volumes(c, &d)?;
    let mut flags = sys::VIR_MIGRATE_PEER2PEER
        | sys::VIR_MIGRATE_PERSIST_DEST
        | sys::VIR_MIGRATE_UNDEFINE_SOURCE;
    let mut params = MigrateParameters::default();
    if active {
        // Auto-converge: a guest that dirties memory faster than the link carries is slowed
        // down until the copy catches up, rather than the migration running forever.
        flags |= sys::VIR_MIGRATE_LIVE | sys::VIR_MIGRATE_AUTO_CONVERGE;
        match transport {
            MigrationTransport::Tls => {
                flags |= sys::VIR_MIGRATE_TLS;
                // Straight to the address the server knows, not to whatever the destination's
                // hostname resolves to; the disks' NBD stream follows it.
                params.uri = Some(format!(
                    "tcp://{}",
                    destination_uri("{address}", &to.address)
                ));
            }
            MigrationTransport::Tunnelled => flags |= sys::VIR_MIGRATE_TUNNELLED,
        }
        if !local.is_empty() {
            flags |= sys::VIR_MIGRATE_NON_SHARED_DISK;
        }
    } else {
        if !local.is_empty() {
            return Err(ApiError::new(
                ErrorCode::NotSupported,
                "moving a powered-off VM whose disks are on local storage (libvirt copies \
                 local disks only while the VM runs): power it on, or put its disks on \
                 shared storage",
            ));
        }
        flags |= sys::VIR_MIGRATE_OFFLINE;
    }
    // Checked from here first so that a destination that cannot be reached, or lacks the
    // VM's network, is refused by name before any copying starts.
    let mut dconn = Connect::open(Some(dest_uri)).map_err(|e| {
        ApiError::new(
            ErrorCode::Unavailable,
            format!(
                "the destination's libvirt at {dest_uri} is not reachable from this host: {}",
                e.message()
            ),
        )
    })?;
    let check = check_destination(&dconn, vm);
    let _ = dconn.close();
    check?;

    let done = Arc::new(AtomicBool::new(false));
    let watcher = active.then(|| {
        let (done, progress) = (done.clone(), progress.clone());
        let d = d.clone();
        std::thread::Builder::new()
            .name("libvirt-migration".into())
            .spawn(move || watch(&d, &done, &progress))
    });
    let started = std::time::Instant::now();
    let r = d.migrate_to_uri3(Some(dest_uri), params, flags);
    done.store(true, Ordering::SeqCst);
    if let Some(Ok(t)) = watcher {
        let _ = t.join();
    }
    match r {
        Ok(()) => {
            info!(vm = %vm.uuid, to = %to.address, seconds = started.elapsed().as_secs_f64(), disks = local.len(), "libvirt migrated the VM");
            // The copies libvirt made leave these behind.
            for v in local {
                if let Err(e) = v.delete(0) {
                    warn!(vm = %vm.uuid, error = %e.message(), "a migrated disk's source copy could not be removed");
                }
            }
            Ok(())
        }
        Err(e) if e.code() == ErrorNumber::OperationAborted => Err(ApiError::new(
            ErrorCode::InvalidState,
            "the migration was cancelled; the VM stays on this host",
        )),
        Err(e) => Err(fault("migrating the VM", e)),
    }
}

/// What the destination must have for the VM: each NIC's network.
fn check_destination(dest: &Connect, vm: &Vm) -> ApiResult<()> {
    for (i, n) in vm.nics.iter().enumerate() {
        let field = format!("vm.nics[{i}].network");
        match virt::network::Network::lookup_by_name(dest, &n.network) {
            Ok(net) if net.is_active().unwrap_or(false) => {}
            Ok(_) => {
                return Err(ApiError::invalid(
                    &field,
                    format!(
                        "the destination's network '{}' for the VM's NIC is not active",
                        n.network
                    ),
                ))
            }
            Err(e) if e.code() == ErrorNumber::NoNetwork => {
                return Err(ApiError::invalid(
                    &field,
                    format!(
                        "the destination has no network named '{}' for the VM's NIC",
                        n.network
                    ),
                ))
            }
            Err(e) => return Err(fault("the destination's networks", e)),
        }
    }
    Ok(())
}

/// Reports the job's progress every half second until the migration call returns.
fn watch(d: &Domain, done: &AtomicBool, progress: &ProgressSink) {
    while !done.load(Ordering::SeqCst) {
        // virDomainGetJobInfo, not the typed-parameter call: the binding's wrapper of the
        // latter mishandles the empty answer libvirt gives before the job starts.
        if let Ok(s) = d.get_job_info() {
            let total = s.data_total.unwrap_or(0);
            if total > 0 {
                progress(TransferProgress {
                    processed_bytes: s.data_processed.unwrap_or(0),
                    total_bytes: total,
                });
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Aborts the migration job of `uuid`.
pub fn cancel(c: &Connect, uuid: &str) -> ApiResult<()> {
    let d = domain(c, uuid)?;
    // SAFETY: `d` is a live domain handle for the duration of the call; the binding has no
    // wrapper for virDomainAbortJob.
    let r = unsafe { sys::virDomainAbortJob(d.as_ptr()) };
    if r == 0 {
        return Ok(());
    }
    let e = virt::error::Error::last_error();
    Err(match e.code() {
        ErrorNumber::OperationInvalid => ApiError::invalid_state(format!(
            "no migration of VM {uuid} is running here: {}",
            e.message()
        )),
        _ => fault("cancelling the migration", e),
    })
}
