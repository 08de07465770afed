//! What a host reports about itself, as the core reads it: its facts (what it is), its runtime
//! (what it is doing) and its VMs. The agent door fills these from the agent's answers; the
//! store keeps them as JSON in the same shape the agent sends (the `facts`, `runtime` and VM
//! `data` columns), so these models are read back from it and bindings never parse it by key.
//! Every field has a default: a record written by an older server still reads.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hardware {
    pub vendor: String,
    pub model: String,
    pub bios_uuid: String,
    pub cpu_model: String,
    pub cpu_packages: u32,
    pub cpu_cores: u32,
    pub cpu_threads: u32,
    pub cpu_mhz: u32,
    pub memory_bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HypervisorVersions {
    pub name: String,
    pub version: String,
    pub libvirt_version: String,
    pub qemu_version: String,
}

/// A physical NIC of the host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NicFacts {
    pub name: String,
    pub mac: String,
    pub speed_mbps: u32,
    pub link_up: bool,
}

/// A datastore as the host reports it (the inventory's `Datastore` is made from it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatastoreFacts {
    pub name: String,
    pub url: String,
    pub kind: String,
    pub capacity_bytes: u64,
    pub free_bytes: u64,
}

/// A network as the host reports it (the inventory's `Network` is made from it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkFacts {
    pub name: String,
    pub kind: String,
    pub vlan: Option<u16>,
}

/// The host's hardware sensors (ZStack's per-sensor status fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensor {
    Cpu,
    Memory,
    Disk,
    Nic,
    Gpu,
    PowerSupply,
    Fan,
    Raid,
    Temperature,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SensorStatus {
    Normal,
    Error,
    Unknown,
}

impl SensorStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SensorStatus::Normal => "Normal",
            SensorStatus::Error => "Error",
            SensorStatus::Unknown => "Unknown",
        }
    }
}

/// The BMC's account, port and power status, when it has them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ipmi {
    pub username: Option<String>,
    pub port: Option<u16>,
    /// ZStack's HostPowerStatus: POWER_ON, POWER_OFF, POWER_SHUTDOWN, POWER_BOOTING,
    /// POWER_UNKNOWN or UN_CONFIGURED.
    pub power_status: Option<String>,
}

/// What the host is: hardware, software, NICs, storage, networks, sensors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostFacts {
    pub hostname: String,
    pub hardware: Hardware,
    pub architecture: String,
    pub os_name: String,
    pub os_version: String,
    pub hypervisor: HypervisorVersions,
    pub nics: Vec<NicFacts>,
    pub datastores: Vec<DatastoreFacts>,
    pub networks: Vec<NetworkFacts>,
    /// Unix seconds.
    pub boot_time: i64,
    pub sensors: BTreeMap<Sensor, SensorStatus>,
    pub ipmi_address: Option<String>,
    pub ipmi: Ipmi,
    pub os_release: Option<String>,
    pub nqn: Option<String>,
    pub agent_version: String,
}

impl HostFacts {
    /// A sensor's status; a sensor the host does not report is `Unknown`.
    pub fn sensor(&self, s: Sensor) -> SensorStatus {
        self.sensors
            .get(&s)
            .copied()
            .unwrap_or(SensorStatus::Unknown)
    }
}

/// The host's own power state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HostPowerState {
    #[default]
    PoweredOn,
    StandBy,
    PoweredOff,
}

impl HostPowerState {
    /// vim's HostSystemPowerState names, which the host record keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            HostPowerState::PoweredOn => "poweredOn",
            HostPowerState::StandBy => "standBy",
            HostPowerState::PoweredOff => "poweredOff",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockdownMode {
    #[default]
    Disabled,
    Normal,
    Strict,
}

impl LockdownMode {
    /// vim's HostLockdownMode names (`lockdownNormal`), the form AddHost's spec carries.
    pub fn parse_vim(s: &str) -> Option<Self> {
        match s {
            "lockdownDisabled" => Some(LockdownMode::Disabled),
            "lockdownNormal" => Some(LockdownMode::Normal),
            "lockdownStrict" => Some(LockdownMode::Strict),
            _ => None,
        }
    }
}

/// Which server manages the host, as the host records it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClaimInfo {
    pub server_uuid: String,
    pub server_address: String,
    pub claimed_at: i64,
}

/// What the host is doing: power, flags, uptime, load.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostRuntime {
    pub power_state: HostPowerState,
    pub in_maintenance: bool,
    pub lockdown: LockdownMode,
    pub quarantined: bool,
    /// Unix seconds.
    pub boot_time: i64,
    pub uptime_secs: u64,
    pub cpu_capacity_mhz: u64,
    pub cpu_used_mhz: u64,
    pub memory_capacity_bytes: u64,
    pub memory_used_bytes: u64,
    pub vm_count: u32,
    pub claim: Option<ClaimInfo>,
}

impl HostRuntime {
    /// Whether two readings differ at most in what moves by itself between heartbeats (uptime,
    /// CPU and memory in use). Such a reading is news for the read model, not for the store.
    pub fn same_state(&self, other: &HostRuntime) -> bool {
        let settled = |r: &HostRuntime| HostRuntime {
            uptime_secs: 0,
            cpu_used_mhz: 0,
            memory_used_bytes: 0,
            ..r.clone()
        };
        settled(self) == settled(other)
    }

    /// Memory the host can still give a VM.
    pub fn free_memory_bytes(&self) -> u64 {
        self.memory_capacity_bytes
            .saturating_sub(self.memory_used_bytes)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VmPowerState {
    PoweredOn,
    #[default]
    PoweredOff,
    Suspended,
}

impl VmPowerState {
    /// vim's VirtualMachinePowerState names, which the VM record keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            VmPowerState::PoweredOn => "poweredOn",
            VmPowerState::PoweredOff => "poweredOff",
            VmPowerState::Suspended => "suspended",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VmDisk {
    pub label: String,
    pub capacity_bytes: u64,
    pub datastore: String,
    /// The image the disk was made from, a name on its datastore (absent: made empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VmNic {
    pub label: String,
    pub mac: String,
    pub network: String,
}

/// A VM as its host reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VmInfo {
    /// The BIOS uuid: how the host's agent names the VM; clones share it.
    pub uuid: String,
    /// Unique per VM instance, kept across migrations; empty from an agent too old to say.
    pub instance_uuid: String,
    pub name: String,
    pub vcpus: u32,
    pub memory_bytes: u64,
    pub power_state: VmPowerState,
    pub guest_os_id: String,
    pub disks: Vec<VmDisk>,
    pub nics: Vec<VmNic>,
    /// Set while the VM is being migrated away; power operations are refused meanwhile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrating_to: Option<String>,
}

impl VmInfo {
    /// What tells this VM apart from every other: its instance uuid, or for an agent that
    /// reports none, its BIOS uuid (what records made before instance uuids were keyed by).
    pub fn identity(&self) -> &str {
        if self.instance_uuid.is_empty() {
            &self.uuid
        } else {
            &self.instance_uuid
        }
    }

    /// Memory the VM needs on a destination: only a running VM takes memory.
    pub fn running_memory_bytes(&self) -> u64 {
        if self.power_state == VmPowerState::PoweredOn {
            self.memory_bytes
        } else {
            0
        }
    }
}
