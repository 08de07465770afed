//! The agent's HTTPS JSON API: every request and response body, shared by agent and client.
//! Paths are under `/api/v1`. Timestamps are Unix milliseconds.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Bumped when the API changes incompatibly; the client refuses agents older than it knows.
pub const API_VERSION: u32 = 1;
pub const AGENT_PRODUCT: &str = "ferrocenter-agent";
pub const SESSION_HEADER: &str = "x-agent-session";

/// `GET /api/v1/about`, unauthenticated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct About {
    pub product: String,
    pub version: String,
    pub api_version: u32,
    pub driver: String,
}

/// `POST /api/v1/session`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    pub user: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub user: String,
    pub idle_timeout_secs: u64,
}

/// `POST /api/v1/accounts` (root only): the managing server's service account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateAccountRequest {
    pub name: String,
    pub password: String,
}

/// `PUT /api/v1/accounts/{name}/password`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangePasswordRequest {
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub name: String,
    pub root: bool,
}

/// `POST /api/v1/claim`: which server manages this host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClaimRequest {
    pub server_uuid: String,
    pub server_address: String,
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub server_uuid: String,
    pub server_address: String,
    pub claimed_at: i64,
}

/// Error codes of the agent API; the client maps them to its error type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidLogin,
    Unauthenticated,
    PermissionDenied,
    AlreadyBeingManaged,
    InvalidArgument,
    NotFound,
    InvalidState,
    Busy,
    InsufficientCapacity,
    NotSupported,
    Unavailable,
    Internal,
    /// Too many login attempts from the caller's address (HTTP 429 with `Retry-After`).
    TooManyRequests,
}

/// Every error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// With `already_being_managed`: the address of the server that holds the claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_address: Option<String>,
    /// With `too_many_requests`: seconds until the next attempt is taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HypervisorVersions {
    pub name: String,
    pub version: String,
    pub libvirt_version: String,
    pub qemu_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nic {
    pub name: String,
    pub mac: String,
    pub speed_mbps: u32,
    pub link_up: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Datastore {
    pub name: String,
    pub url: String,
    pub kind: String,
    pub capacity_bytes: u64,
    pub free_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    pub kind: String,
    pub vlan: Option<u16>,
}

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

impl Sensor {
    pub const ALL: [Sensor; 9] = [
        Sensor::Cpu,
        Sensor::Memory,
        Sensor::Disk,
        Sensor::Nic,
        Sensor::Gpu,
        Sensor::PowerSupply,
        Sensor::Fan,
        Sensor::Raid,
        Sensor::Temperature,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SensorStatus {
    Normal,
    Error,
    Unknown,
}

/// `GET /api/v1/facts`: what the host is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostFacts {
    pub hostname: String,
    pub hardware: Hardware,
    pub architecture: String,
    pub os_name: String,
    pub os_version: String,
    pub hypervisor: HypervisorVersions,
    pub nics: Vec<Nic>,
    pub datastores: Vec<Datastore>,
    pub networks: Vec<Network>,
    /// Unix seconds.
    pub boot_time: i64,
    pub sensors: BTreeMap<Sensor, SensorStatus>,
    pub ipmi_address: Option<String>,
    /// The BMC's account, port and power status, when it has them.
    #[serde(default)]
    pub ipmi: Ipmi,
    #[serde(default)]
    pub os_release: Option<String>,
    #[serde(default)]
    pub nqn: Option<String>,
    pub agent_version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipmi {
    pub username: Option<String>,
    pub port: Option<u16>,
    /// ZStack's HostPowerStatus: POWER_ON, POWER_OFF, POWER_SHUTDOWN, POWER_BOOTING,
    /// POWER_UNKNOWN or UN_CONFIGURED.
    pub power_status: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HostPowerState {
    PoweredOn,
    StandBy,
    PoweredOff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockdownMode {
    Disabled,
    Normal,
    Strict,
}

/// `GET /api/v1/runtime`: what the host is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Runtime {
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
    pub claim: Option<Claim>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VmPowerState {
    PoweredOn,
    PoweredOff,
    Suspended,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmDisk {
    pub label: String,
    pub capacity_bytes: u64,
    pub datastore: String,
    /// The image the disk is made from, copied into it (absent: an empty disk). On the libvirt
    /// driver, a volume's name in the disk's storage pool or a volume's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmNic {
    pub label: String,
    pub mac: String,
    pub network: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vm {
    /// The BIOS uuid: the VM's name on this host's API (clones share it).
    pub uuid: String,
    /// Unique per VM instance, made when the VM is defined and kept across migrations; how a
    /// server tells clones apart. Absent from a VM saved by an older agent.
    #[serde(default)]
    pub instance_uuid: String,
    pub name: String,
    pub vcpus: u32,
    pub memory_bytes: u64,
    pub power_state: VmPowerState,
    pub guest_os_id: String,
    pub disks: Vec<VmDisk>,
    pub nics: Vec<VmNic>,
    /// Set while the VM is being migrated away; power operations are refused meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrating_to: Option<String>,
}

/// `POST /api/v1/vms`: create (or register, when `uuid` is given) a VM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmSpec {
    #[serde(default)]
    pub uuid: Option<String>,
    /// Registering a VM a server knows: the instance uuid it had (else the agent makes one).
    #[serde(default)]
    pub instance_uuid: Option<String>,
    pub name: String,
    pub vcpus: u32,
    pub memory_bytes: u64,
    #[serde(default = "default_guest")]
    pub guest_os_id: String,
    #[serde(default)]
    pub disks: Vec<VmDisk>,
    #[serde(default)]
    pub nics: Vec<VmNic>,
    #[serde(default)]
    pub power_on: bool,
}

/// `PATCH /api/v1/vms/{uuid}`: a powered-off VM's vCPUs and memory; unset fields stay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VmReconfigure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
}

fn default_guest() -> String {
    "otherLinux64Guest".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerAction {
    On,
    Off,
    Suspend,
    Reset,
    /// Ask the guest to shut down (ACPI power button); the VM is off once the guest says so,
    /// reported by a `vm_power_changed` event.
    Shutdown,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PowerRequest {
    pub action: PowerAction,
}

/// Body of the flag operations (maintenance, quarantine).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlagRequest {
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockdownRequest {
    pub mode: LockdownMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StandbyAction {
    Down,
    Up,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StandbyRequest {
    pub action: StandbyAction,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenameRequest {
    pub hostname: String,
}

/// `GET /api/v1/host/uptime`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Uptime {
    /// Unix seconds.
    pub boot_time: i64,
    pub uptime_secs: u64,
}

/// What happened on the host, in order; read with `GET /api/v1/events?since=SEQ`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventData {
    VmPowerChanged {
        vm_uuid: String,
        power_state: VmPowerState,
    },
    SensorChanged {
        sensor: Sensor,
        status: SensorStatus,
    },
    Rebooted {
        /// Unix seconds.
        boot_time: i64,
    },
    PasswordChanged {
        account: String,
    },
    /// A migration this host took part in has ended, whether or not the server that asked for
    /// it was still there to hear the answer: the source reports committed (the VM now runs on
    /// the destination) or aborted (it stays here, no longer frozen); the destination reports
    /// the VM it took in.
    MigrationEnded {
        vm_uuid: String,
        role: MigrationRole,
        outcome: MigrationState,
        /// The destination's `address:port`, on the source's report.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        destination: Option<String>,
    },
}

/// Which end of a migration a host was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MigrationRole {
    Source,
    Destination,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub time: i64,
    #[serde(flatten)]
    pub data: EventData,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: Vec<Event>,
    /// Pass as `since` next time.
    pub next: u64,
    /// Events after `since` were dropped from the agent's buffer before they were read.
    pub truncated: bool,
}

/// `GET /api/v1/heartbeat?since=N`: the runtime and the events after `since` in one answer,
/// so that a server's heartbeat is one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub runtime: Runtime,
    pub events: EventsPage,
}

/// `POST /api/v1/migrations` on the destination (by the managing server): reserve capacity and
/// issue the ticket the source will present.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrepareIncoming {
    pub vm: Vm,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IncomingTicket {
    pub migration_id: String,
    pub ticket: String,
}

/// `POST /api/v1/vms/{uuid}/migrate` on the source (by the managing server).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MigrateRequest {
    pub destination_address: String,
    pub destination_port: u16,
    pub destination_thumbprint: String,
    pub migration_id: String,
    pub ticket: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MigrationResult {
    pub vm: Vm,
    pub duration_ms: u64,
}

/// `GET /api/v1/vms/{uuid}/migration` on the source: how far a migration away has come, as
/// the hypervisor counts it (memory and, for local disks, disk bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationProgress {
    /// The destination agent's `address:port`.
    pub destination: String,
    /// Bytes sent so far and the total the hypervisor expects (0 until it knows).
    pub processed_bytes: u64,
    pub total_bytes: u64,
    /// 0–99 while copying; the switch-over is the migration's end, not a percentage.
    pub percent: u8,
}

/// Source → destination calls carry the ticket instead of a session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TicketRequest {
    pub ticket: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<Vm>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MigrationState {
    Prepared,
    Transferring,
    Committed,
    Aborted,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MigrationStatus {
    pub migration_id: String,
    pub state: MigrationState,
}
