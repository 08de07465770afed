//! Core records as vim data objects. Every object carries `_typeName` and every field a strict
//! client requires (vim_rs rejects an object missing one); values ferrocenter does not model
//! are documented in docs/api/vi-json.md.
use std::borrow::Cow;

use ferrocenter_core::inventory::{
    ConnectionState, Datastore, Event, Host, HostFacts, HostState, Network, VmRecord,
};
use ferrocenter_core::tasks::{Task, TaskKind, TaskState};
use serde_json::{json, Value};

use super::faults::{moref, VimFault};
use super::mo::compute_resource_moid;
use super::schema;
use ferrocenter_http::time::datetime;

/// The API version ferrocenter reports in AboutInfo: the newest release it serves, which is
/// the one `/sdk/vimServiceVersions.xml` names first, so a client that negotiated it sees the
/// same version in `about.apiVersion`.
pub const API_VERSION: &str = ferrocenter_http::releases::NEWEST_PUBLISHED;

/// The host's facts as last read; a host never read shows zeros and empty strings.
fn facts(h: &Host) -> Cow<'_, HostFacts> {
    h.facts
        .as_deref()
        .map_or_else(|| Cow::Owned(HostFacts::default()), Cow::Borrowed)
}

/// vim knows connected, notResponding and disconnected; an add or reconnect in flight shows as
/// disconnected until it completes.
pub fn connection_state(c: ConnectionState) -> &'static str {
    match c {
        ConnectionState::Connected => "connected",
        ConnectionState::NotResponding => "notResponding",
        ConnectionState::Connecting | ConnectionState::Disconnected => "disconnected",
    }
}

pub fn overall_status(h: &Host) -> &'static str {
    match h.connection_state {
        ConnectionState::Connected => "green",
        ConnectionState::NotResponding => "red",
        _ => "gray",
    }
}

pub fn host_runtime(h: &Host) -> Value {
    let r = h.runtime.as_ref();
    let mut v = json!({
        "_typeName": "HostRuntimeInfo",
        "connectionState": connection_state(h.connection_state),
        "powerState": match h.power_state.as_str() {
            "poweredOn" | "poweredOff" | "standBy" => h.power_state.as_str(),
            _ => "unknown",
        },
        "standbyMode": if h.power_state == "standBy" { "in" } else { "none" },
        "inMaintenanceMode": h.state == HostState::Maintenance,
        "inQuarantineMode": r.as_ref().is_some_and(|r| r.quarantined),
    });
    let boot_time = match r {
        Some(r) => Some(r.boot_time),
        None => h.facts.as_deref().map(|f| f.boot_time),
    };
    if let Some(bt) = boot_time {
        if let Ok(t) = time::OffsetDateTime::from_unix_timestamp(bt) {
            v["bootTime"] = json!(datetime(t));
        }
    }
    v
}

pub fn host_hardware_summary(h: &Host) -> Value {
    let f = facts(h);
    let hw = &f.hardware;
    json!({
        "_typeName": "HostHardwareSummary",
        "vendor": hw.vendor,
        "model": hw.model,
        "uuid": hw.bios_uuid,
        "memorySize": hw.memory_bytes,
        "cpuModel": hw.cpu_model,
        "cpuMhz": hw.cpu_mhz,
        "numCpuPkgs": hw.cpu_packages,
        "numCpuCores": hw.cpu_cores,
        "numCpuThreads": hw.cpu_threads,
        "numNics": f.nics.len(),
        "numHBAs": 0,
    })
}

/// The host's product, as its agent reports it.
pub fn host_product(h: &Host) -> Value {
    let f = facts(h);
    let hv = &f.hypervisor;
    let name = if hv.name.is_empty() {
        "KVM"
    } else {
        hv.name.as_str()
    };
    json!({
        "_typeName": "AboutInfo",
        "name": name,
        "fullName": format!("{name} {} (libvirt {}, QEMU {})", hv.version, hv.libvirt_version, hv.qemu_version),
        "vendor": "ferrocenter",
        "version": hv.version,
        "build": f.agent_version,
        "osType": format!("linux-{}", f.architecture),
        "productLineId": "kvm",
        "apiType": "HostAgent",
        "apiVersion": f.agent_version,
    })
}

pub fn host_config_summary(h: &Host) -> Value {
    json!({
        "_typeName": "HostConfigSummary",
        "name": h.name,
        "port": h.port,
        "sslThumbprint": h.thumbprint,
        "product": host_product(h),
        "vmotionEnabled": true,
        "faultToleranceEnabled": false,
    })
}

pub fn host_quick_stats(h: &Host) -> Value {
    if h.connection_state != ConnectionState::Connected {
        return json!({"_typeName": "HostListSummaryQuickStats"});
    }
    let r = h.runtime.clone().unwrap_or_default();
    json!({
        "_typeName": "HostListSummaryQuickStats",
        "overallCpuUsage": r.cpu_used_mhz,
        "overallMemoryUsage": r.memory_used_bytes >> 20,
        "distributedCpuFairness": 0,
        "distributedMemoryFairness": 0,
        "uptime": r.uptime_secs,
    })
}

pub fn host_summary(h: &Host, server_ip: &str) -> Value {
    json!({
        "_typeName": "HostListSummary",
        "host": moref("HostSystem", &h.moid),
        "hardware": host_hardware_summary(h),
        "runtime": host_runtime(h),
        "config": host_config_summary(h),
        "quickStats": host_quick_stats(h),
        "overallStatus": overall_status(h),
        "rebootRequired": false,
        "managementServerIp": server_ip,
    })
}

pub fn host_hardware(h: &Host) -> Value {
    let hw = &facts(h).hardware;
    json!({
        "_typeName": "HostHardwareInfo",
        "systemInfo": {
            "_typeName": "HostSystemInfo",
            "vendor": hw.vendor,
            "model": hw.model,
            "uuid": hw.bios_uuid,
        },
        "cpuInfo": {
            "_typeName": "HostCpuInfo",
            "numCpuPackages": hw.cpu_packages,
            "numCpuCores": hw.cpu_cores,
            "numCpuThreads": hw.cpu_threads,
            "hz": u64::from(hw.cpu_mhz) * 1_000_000,
        },
        "cpuPkg": [],
        "memorySize": hw.memory_bytes,
        "smcPresent": false,
    })
}

/// The capabilities of a KVM host under ferrocenter: what the agent can do is true.
pub fn host_capability() -> Value {
    let yes = [
        "rebootSupported",
        "shutdownSupported",
        "vmotionSupported",
        "standbySupported",
        "maintenanceModeSupported",
        "nfsSupported",
        "iscsiSupported",
        "vlanTaggingSupported",
        "backgroundSnapshotsSupported",
        "storageVMotionSupported",
        "nestedHVSupported",
    ];
    let no = [
        "recursiveResourcePoolsSupported",
        "cpuMemoryResourceConfigurationSupported",
        "datastorePrincipalSupported",
        "sanSupported",
        "nicTeamingSupported",
        "highGuestMemSupported",
        "suspendedRelocateSupported",
        "restrictedSnapshotRelocateSupported",
        "perVmSwapFiles",
        "localSwapDatastoreSupported",
        "unsharedSwapVMotionSupported",
        "preAssignedPCIUnitNumbersSupported",
        "screenshotSupported",
        "scaledScreenshotSupported",
        "vmotionWithStorageVMotionSupported",
        "hbrNicSelectionSupported",
        "vrNfcNicSelectionSupported",
        "recordReplaySupported",
        "ftSupported",
        "smpFtSupported",
        "cloneFromSnapshotSupported",
        "deltaDiskBackingsSupported",
        "perVMNetworkTrafficShapingSupported",
        "tpmSupported",
        "virtualExecUsageSupported",
        "storageIORMSupported",
        "vStorageCapable",
        "snapshotRelayoutSupported",
        "vmfsDatastoreMountCapable",
        "eightPlusHostVmfsSharedAccessSupported",
        "vPMCSupported",
        "interVMCommunicationThroughVMCISupported",
        "featureCapabilitiesSupported",
        "latencySensitivitySupported",
        "accel3dSupported",
        "provisioningNicSelectionSupported",
        "ipmiSupported",
        "quickBootSupported",
    ];
    let mut v = json!({"_typeName": "HostCapability", "maxSupportedVMs": 1024, "maxRunningVMs": 1024, "maxSupportedVcpus": 512});
    for k in yes {
        v[k] = json!(true);
    }
    for k in no {
        v[k] = json!(false);
    }
    v
}

/// The part of HostConfigInfo ferrocenter models (docs/api/vi-json.md lists it).
pub fn host_config(h: &Host, lockdown: bool, values: &[(String, String)]) -> Value {
    let flag = |name: &str| {
        values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v == "true")
    };
    let mut v = json!({
        "_typeName": "HostConfigInfo",
        "host": moref("HostSystem", &h.moid),
        "product": host_product(h),
        "adminDisabled": lockdown,
        "lockdownMode": if lockdown { "lockdownNormal" } else { "lockdownDisabled" },
        "sslThumbprintInfo": {
            "_typeName": "HostSslThumbprintInfo",
            "principal": "ferrocenter",
            "ownerTag": "",
            "sslThumbprints": [h.thumbprint],
        },
    });
    if let Some(b) = flag(ferrocenter_core::inventory::attributes::FLAG_BACKGROUND_SNAPSHOTS) {
        v["flags"] = json!({"_typeName": "HostFlagInfo", "backgroundSnapshotsEnabled": b});
    }
    v
}

pub fn host_config_manager(h: &Host) -> Value {
    let n = h.moid.trim_start_matches("host-");
    json!({
        "_typeName": "HostConfigManager",
        "datastoreSystem": moref("HostDatastoreSystem", &format!("datastoreSystem-{n}")),
        "networkSystem": moref("HostNetworkSystem", &format!("networkSystem-{n}")),
        "storageSystem": moref("HostStorageSystem", &format!("storageSystem-{n}")),
        "serviceSystem": moref("HostServiceSystem", &format!("serviceSystem-{n}")),
        "advancedOption": moref("OptionManager", &format!("EsxHostAdvSettings-{n}")),
    })
}

pub fn licensable_resource(h: &Host) -> Value {
    let hw = &facts(h).hardware;
    json!({
        "_typeName": "HostLicensableResourceInfo",
        "resource": [
            {"_typeName": "KeyAnyValue", "key": "numCpuPackages", "value": {"_typeName": "int", "_value": hw.cpu_packages}},
            {"_typeName": "KeyAnyValue", "key": "numCpuCores", "value": {"_typeName": "int", "_value": hw.cpu_cores}},
            {"_typeName": "KeyAnyValue", "key": "memorySize", "value": {"_typeName": "long", "_value": hw.memory_bytes}},
        ],
    })
}

pub fn system_resources() -> Value {
    json!({"_typeName": "HostSystemResourceInfo", "key": "host/system"})
}

/// The custom field values of an entity from its named values.
pub fn custom_values(values: &[(String, String)]) -> Vec<Value> {
    values
        .iter()
        .filter_map(|(n, v)| {
            let key: i64 = n.strip_prefix("field:")?.parse().ok()?;
            Some(json!({"_typeName": "CustomFieldStringValue", "key": key, "value": v}))
        })
        .collect()
}

pub fn connect_info(
    h: &Host,
    info: &Value,
    vms: &[VmRecord],
    datastores: &[Datastore],
    networks: &[Network],
    server_ip: &str,
) -> Value {
    json!({
        "_typeName": "HostConnectInfo",
        "serverIp": info["serverIp"],
        "inDasCluster": false,
        "host": host_summary(h, server_ip),
        "vm": vms.iter().map(vm_summary_for_connect).collect::<Vec<_>>(),
        "vimAccountNameRequired": false,
        "clusterSupported": true,
        "network": networks.iter().map(|n| json!({"_typeName": "HostConnectInfoNetworkInfo", "summary": network_summary(n)})).collect::<Vec<_>>(),
        "datastore": datastores.iter().map(|d| json!({"_typeName": "HostDatastoreConnectInfo", "summary": datastore_summary(d)})).collect::<Vec<_>>(),
        "capability": host_capability(),
    })
}

fn vm_summary_for_connect(v: &VmRecord) -> Value {
    let mut s = vm_summary(v, None, "connected");
    s.as_object_mut().map(|o| o.remove("vm"));
    s
}

pub fn vm_runtime(v: &VmRecord, host: Option<&Host>, connection: &str) -> Value {
    let mut r = json!({
        "_typeName": "VirtualMachineRuntimeInfo",
        "connectionState": connection,
        "powerState": match v.power_state.as_str() {
            "poweredOn" | "poweredOff" | "suspended" => v.power_state.as_str(),
            _ => "poweredOff",
        },
        "faultToleranceState": "notConfigured",
        "toolsInstallerMounted": false,
        "maxCpuUsage": 0,
        "maxMemoryUsage": v.memory_bytes >> 20,
    });
    if let Some(h) = host {
        r["host"] = moref("HostSystem", &h.moid);
    }
    r
}

pub fn vm_summary(v: &VmRecord, host: Option<&Host>, connection: &str) -> Value {
    json!({
        "_typeName": "VirtualMachineSummary",
        "vm": moref("VirtualMachine", &v.moid),
        "runtime": vm_runtime(v, host, connection),
        "config": {
            "_typeName": "VirtualMachineConfigSummary",
            "name": v.name,
            "template": false,
            "vmPathName": format!("[ferrocenter] {}/{}.xml", v.uuid, v.name),
            "memorySizeMB": v.memory_bytes >> 20,
            "numCpu": v.vcpus,
            "uuid": v.uuid,
            "instanceUuid": v.instance_uuid,
            "guestId": v.guest_os_id,
        },
        "quickStats": {"_typeName": "VirtualMachineQuickStats", "guestHeartbeatStatus": "gray"},
        "overallStatus": if connection == "connected" { "green" } else { "gray" },
    })
}

pub fn datastore_summary(d: &Datastore) -> Value {
    json!({
        "_typeName": "DatastoreSummary",
        "datastore": moref("Datastore", &d.moid),
        "name": d.name,
        "url": d.url,
        "capacity": d.capacity_bytes,
        "freeSpace": d.free_bytes,
        "accessible": true,
        "multipleHostAccess": true,
        "type": d.kind,
    })
}

pub fn network_summary(n: &Network) -> Value {
    json!({
        "_typeName": "NetworkSummary",
        "network": moref("Network", &n.moid),
        "name": n.name,
        "accessible": true,
        "ipPoolName": "",
    })
}

/// TaskInfo's method name and descriptionId for a core task kind.
pub fn task_names(kind: TaskKind) -> (&'static str, &'static str) {
    use ferrocenter_core::tasks::TaskKind as K;
    match kind {
        K::HostAdd => ("AddHost_Task", "ClusterComputeResource.addHost"),
        K::HostAddStandalone => ("AddStandaloneHost_Task", "Folder.addStandaloneHost"),
        K::HostDisconnect => ("DisconnectHost_Task", "HostSystem.disconnect"),
        K::HostReconnect => ("ReconnectHost_Task", "HostSystem.reconnect"),
        K::HostEnterMaintenance => (
            "EnterMaintenanceMode_Task",
            "HostSystem.enterMaintenanceMode",
        ),
        K::HostExitMaintenance => ("ExitMaintenanceMode_Task", "HostSystem.exitMaintenanceMode"),
        K::HostRemove => ("Destroy_Task", "HostSystem.destroy"),
        K::HostReboot => ("RebootHost_Task", "HostSystem.reboot"),
        K::HostShutdown => ("ShutdownHost_Task", "HostSystem.shutdown"),
        K::HostRename => ("Rename_Task", "HostSystem.rename"),
        K::HostStandbyDown => (
            "PowerDownHostToStandBy_Task",
            "HostSystem.powerDownHostToStandBy",
        ),
        K::HostStandbyUp => (
            "PowerUpHostFromStandBy_Task",
            "HostSystem.powerUpHostFromStandBy",
        ),
        K::VmPowerOn => ("PowerOnVM_Task", "VirtualMachine.powerOn"),
        K::VmPowerOff => ("PowerOffVM_Task", "VirtualMachine.powerOff"),
        K::VmMigrate => ("MigrateVM_Task", "VirtualMachine.migrate"),
        K::VmCreate => ("CreateVM_Task", "Folder.createVm"),
        K::VmDelete => ("Destroy_Task", "VirtualMachine.destroy"),
        K::VmReconfigure => ("ReconfigVM_Task", "VirtualMachine.reconfigure"),
        K::ClusterReconfigure => (
            "ReconfigureComputeResource_Task",
            "ClusterComputeResource.reconfigureEx",
        ),
        _ => ("ferrocenter.task", "ferrocenter.task"),
    }
}

/// What a task acts on, as the binding found it: a MoRef and a name.
pub struct TaskEntity {
    pub moref: Value,
    pub name: String,
}

/// TaskInfo with every field the task has. `result` is the Any-boxed result, if any.
pub fn task_info(t: &Task, entity: Option<&TaskEntity>, result: Option<Value>) -> Value {
    let (name, description_id) = task_names(t.kind);
    let mut v = json!({
        "_typeName": "TaskInfo",
        "key": t.moid,
        "task": moref("Task", &t.moid),
        "description": {
            "_typeName": "LocalizableMessage",
            "key": description_id,
            "message": t.progress_message.clone().unwrap_or_else(|| t.description.clone()),
        },
        "name": name,
        "descriptionId": description_id,
        "state": t.state.as_str(),
        "cancelled": t.cancelled,
        "cancelable": t.cancelable && !t.state.is_finished(),
        "progress": t.progress,
        "reason": {"_typeName": "TaskReasonUser", "userName": t.initiator},
        "queueTime": datetime(t.queued_at),
        "eventChainId": t.moid.trim_start_matches("task-").parse::<i64>().unwrap_or(0),
    });
    if let Some(e) = entity {
        v["entity"] = e.moref.clone();
        v["entityName"] = json!(e.name);
        v["locked"] = json!([e.moref.clone()]);
    }
    if let Some(s) = t.started_at {
        v["startTime"] = json!(datetime(s));
    }
    if let Some(c) = t.completed_at {
        v["completeTime"] = json!(datetime(c));
    }
    if t.state == TaskState::Error {
        if let Some(e) = &t.error {
            v["error"] = VimFault::from(e.clone()).body();
        }
    }
    if let Some(r) = result {
        v["result"] = r;
    }
    v
}

/// A vim Event from the event log. Host events carry the host argument.
/// vim25's type for an event kind the core records, and for an EventEx its eventTypeId: the
/// kind itself when vim25 declares it (schema/events.rs), vim25's name where it differs, an
/// EventEx naming the kind otherwise — so vim25 clients can read every event.
pub fn vim_event_type(kind: &str) -> (&str, Option<&str>) {
    if let Some((_, vim)) = RENAMED_EVENTS.iter().find(|(core, _)| *core == kind) {
        return (vim, None);
    }
    match kind {
        k if k != "EventEx" && schema::data_type(k).is_some_and(|d| d.is_a("Event")) => (k, None),
        k => ("EventEx", Some(k)),
    }
}

/// The core's kind for a type or eventTypeId a vim client filters by.
pub fn core_event_kind(vim: &str) -> &str {
    RENAMED_EVENTS
        .iter()
        .find(|(_, v)| *v == vim)
        .map_or(vim, |(core, _)| core)
}

/// Core kinds vim25 names otherwise: (core, vim25).
const RENAMED_EVENTS: &[(&str, &str)] = &[("HostNotRespondingEvent", "HostConnectionLostEvent")];

pub fn event(e: &Event, host: Option<&Host>, datacenter: Option<(&str, &str)>) -> Value {
    let (vim_type, extended) = vim_event_type(&e.kind);
    let mut v = json!({
        "_typeName": vim_type,
        "key": e.seq,
        "chainId": e.seq,
        "createdTime": datetime(e.time),
        "userName": e.user,
        "fullFormattedMessage": e.message,
    });
    if let Some(h) = host {
        v["host"] = json!({"_typeName": "HostEventArgument", "name": h.name, "host": moref("HostSystem", &h.moid)});
        if h.cluster_id.is_none() {
            v["computeResource"] = json!({
                "_typeName": "ComputeResourceEventArgument",
                "name": h.name,
                "computeResource": moref("ComputeResource", &compute_resource_moid(h)),
            });
        }
    }
    if let Some((name, moid)) = datacenter {
        v["datacenter"] = json!({"_typeName": "DatacenterEventArgument", "name": name, "datacenter": moref("Datacenter", moid)});
    }
    if let Some(id) = extended {
        v["eventTypeId"] = json!(id);
        v["message"] = json!(e.message);
    }
    v
}
