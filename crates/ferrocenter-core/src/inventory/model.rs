//! Inventory entities as the core keeps them. Every entity has an internal id (32 hex, also its
//! ZStack uuid), a vim moId, a name, and creation and last-operation times.
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq)]
pub struct Datacenter {
    pub id: String,
    pub moid: String,
    pub name: String,
    pub description: String,
    /// ZStack's zone state: a disabled zone takes no new VMs.
    pub state: AdminState,
    /// ZStack's `isDefault`: at most one datacenter has it.
    pub is_default: bool,
    pub created_at: OffsetDateTime,
    pub last_op_at: OffsetDateTime,
}

/// DRS-like placement automation of a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AutomationLevel {
    Manual,
    PartiallyAutomated,
    FullyAutomated,
}

impl AutomationLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            AutomationLevel::Manual => "manual",
            AutomationLevel::PartiallyAutomated => "partiallyAutomated",
            AutomationLevel::FullyAutomated => "fullyAutomated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "manual" => Some(AutomationLevel::Manual),
            "partiallyAutomated" => Some(AutomationLevel::PartiallyAutomated),
            "fullyAutomated" => Some(AutomationLevel::FullyAutomated),
            _ => None,
        }
    }
}

/// ZStack's Enabled/Disabled state of zones, clusters and hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminState {
    Enabled,
    Disabled,
}

impl AdminState {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminState::Enabled => "Enabled",
            AdminState::Disabled => "Disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Enabled" => Some(AdminState::Enabled),
            "Disabled" => Some(AdminState::Disabled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub id: String,
    pub moid: String,
    pub datacenter_id: String,
    pub name: String,
    pub description: String,
    pub automation_level: AutomationLevel,
    pub hypervisor_type: String,
    pub state: AdminState,
    /// ZStack's cluster `type` (`zstack` unless the creator said otherwise).
    pub kind: String,
    /// CPU architecture of the cluster's hosts; the first host sets it when unset.
    pub architecture: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_op_at: OffsetDateTime,
}

/// vim's HostSystemConnectionState, plus `connecting` while an add or reconnect runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConnectionState {
    Connecting,
    Connected,
    NotResponding,
    Disconnected,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::NotResponding => "notResponding",
            ConnectionState::Disconnected => "disconnected",
        }
    }

    /// ZStack's host status: not responding counts as disconnected. Listings filter on it.
    pub fn zstack_status(self) -> &'static str {
        match self {
            ConnectionState::Connected => "Connected",
            ConnectionState::Connecting => "Connecting",
            ConnectionState::NotResponding | ConnectionState::Disconnected => "Disconnected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "connecting" => Some(ConnectionState::Connecting),
            "connected" => Some(ConnectionState::Connected),
            "notResponding" => Some(ConnectionState::NotResponding),
            "disconnected" => Some(ConnectionState::Disconnected),
            _ => None,
        }
    }
}

/// The operator-driven state of a host (ZStack's Enabled/Disabled/PreMaintenance/Maintenance;
/// vim's inMaintenanceMode is `Maintenance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostState {
    Enabled,
    Disabled,
    PreMaintenance,
    Maintenance,
}

impl HostState {
    pub fn as_str(self) -> &'static str {
        match self {
            HostState::Enabled => "Enabled",
            HostState::Disabled => "Disabled",
            HostState::PreMaintenance => "PreMaintenance",
            HostState::Maintenance => "Maintenance",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Enabled" => Some(HostState::Enabled),
            "Disabled" => Some(HostState::Disabled),
            "PreMaintenance" => Some(HostState::PreMaintenance),
            "Maintenance" => Some(HostState::Maintenance),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub id: String,
    pub moid: String,
    pub datacenter_id: String,
    /// None for a standalone host (vim ComputeResource).
    pub cluster_id: Option<String>,
    pub name: String,
    pub description: String,
    /// Where the agent answers: host name or IP, and port.
    pub address: String,
    pub port: u16,
    /// SHA-256 thumbprint of the agent's certificate, canonical form.
    pub thumbprint: String,
    /// The service account the server created on the agent.
    pub agent_user: String,
    /// Its password, sealed with the server's secret key (never stored in clear).
    pub agent_secret: String,
    pub connection_state: ConnectionState,
    pub state: HostState,
    /// The state to return to when entering maintenance fails or is cancelled.
    pub previous_state: Option<HostState>,
    /// `poweredOn`, `standBy`, `poweredOff` or `unknown`.
    pub power_state: String,
    /// The host's facts as last read (None until the first read). Shared: they are most of a
    /// host's size, and hosts are copied (out of the read model, into every heartbeat round)
    /// far more often than their facts change, so a copy of a host shares them.
    pub facts: Option<std::sync::Arc<super::HostFacts>>,
    /// The host's runtime as last read (None until the host first connected).
    pub runtime: Option<super::HostRuntime>,
    pub management_ip: Option<String>,
    pub ssh_port: Option<u16>,
    /// SHA-256 fingerprint of the host's SSH key, recorded when the server installed the agent
    /// over SSH and checked on every later SSH login.
    pub ssh_host_key: Option<String>,
    /// The account the agent was installed through (ZStack's `username`), for reinstalls with
    /// the server's key.
    pub ssh_user: Option<String>,
    pub tags: Vec<String>,
    pub system_tags: Vec<String>,
    /// Event cursor on the agent.
    pub event_cursor: u64,
    pub created_at: OffsetDateTime,
    pub last_op_at: OffsetDateTime,
}

impl Host {
    /// Lockdown (normal or strict) as the runtime last read shows it.
    pub fn in_lockdown(&self) -> bool {
        self.runtime
            .as_ref()
            .is_some_and(|rt| rt.lockdown != super::LockdownMode::Disabled)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct VmRecord {
    pub id: String,
    pub moid: String,
    pub host_id: String,
    /// The VM's BIOS uuid (as the agent knows it on its host; clones share it).
    pub uuid: String,
    /// The VM's identity: unique per VM instance, kept across migrations (vim
    /// `config.instanceUuid`).
    pub instance_uuid: String,
    pub name: String,
    /// `poweredOn`, `poweredOff`, `suspended`.
    pub power_state: String,
    pub vcpus: u32,
    pub memory_bytes: u64,
    pub guest_os_id: String,
    /// The host's full view of the VM as last read.
    pub info: super::VmInfo,
    pub created_at: OffsetDateTime,
    pub last_op_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Datastore {
    pub id: String,
    pub moid: String,
    pub datacenter_id: String,
    pub name: String,
    pub url: String,
    pub kind: String,
    pub capacity_bytes: u64,
    pub free_bytes: u64,
    pub created_at: OffsetDateTime,
    pub last_op_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub id: String,
    pub moid: String,
    pub datacenter_id: String,
    pub name: String,
    pub kind: String,
    pub vlan: Option<u16>,
    pub created_at: OffsetDateTime,
    pub last_op_at: OffsetDateTime,
}

/// One entry of the persisted event log (vim Event types: HostConnectedEvent, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Assigned by the store, increasing.
    pub seq: i64,
    pub time: OffsetDateTime,
    /// The vim event type name.
    pub kind: String,
    pub entity_kind: String,
    pub entity_id: String,
    pub entity_name: String,
    pub user: String,
    pub message: String,
    pub data: serde_json::Value,
}

/// Which hosts a listing returns. Unset fields mean "any".
#[derive(Debug, Clone, Default)]
pub struct HostFilter {
    pub datacenter_id: Option<String>,
    pub cluster_id: Option<String>,
    pub connection_state: Option<ConnectionState>,
    /// Ordered by moId number; paging.
    pub offset: u64,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub entity_id: Option<String>,
    /// Whether the events of what `entity_id` contains count too.
    pub scope: EventScope,
    pub kind: Option<String>,
    /// Only events with a larger seq.
    pub after_seq: Option<i64>,
    pub limit: Option<u32>,
}

/// Which events of an entity a listing returns (vim's EventFilterSpecRecursionOption: `self`,
/// or `children`/`all`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EventScope {
    /// The entity's own events.
    #[default]
    Entity,
    /// Its own and those of what it contains: a datacenter's clusters, hosts and VMs; a
    /// cluster's hosts and the VMs on them; a host's VMs.
    WithContents,
}

/// What a vim Folder holds (its childType): datacenters at the root, and in each datacenter a
/// host, a vm, a network and a datastore folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FolderKind {
    Datacenter,
    Host,
    Vm,
    Network,
    Datastore,
}

impl FolderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FolderKind::Datacenter => "datacenter",
            FolderKind::Host => "host",
            FolderKind::Vm => "vm",
            FolderKind::Network => "network",
            FolderKind::Datastore => "datastore",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "datacenter" => Some(FolderKind::Datacenter),
            "host" => Some(FolderKind::Host),
            "vm" => Some(FolderKind::Vm),
            "network" => Some(FolderKind::Network),
            "datastore" => Some(FolderKind::Datastore),
            _ => None,
        }
    }

    /// The letter vim moIds of this kind carry (`group-h4`).
    pub fn moid_letter(self) -> char {
        match self {
            FolderKind::Datacenter => 'd',
            FolderKind::Host => 'h',
            FolderKind::Vm => 'v',
            FolderKind::Network => 'n',
            FolderKind::Datastore => 's',
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Folder {
    pub id: String,
    pub moid: String,
    /// None only for the root folder.
    pub parent_id: Option<String>,
    /// The datacenter the folder belongs to; None at the root level.
    pub datacenter_id: Option<String>,
    pub kind: FolderKind,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub last_op_at: OffsetDateTime,
}

/// A custom field definition (vim CustomFieldDef): values are set per entity under its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomField {
    pub key: i64,
    pub name: String,
    /// The managed-object type the field applies to (`HostSystem`), or empty for any.
    pub mo_type: String,
}
