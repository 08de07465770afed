//! The door to host agents: everything the host and VM flows ask of a host, in the core's own
//! terms. The adapter over the agent's HTTPS client lives in `crate::agent_door`; tests use a
//! double. Errors are already core faults (NoHost, InvalidLogin, SslVerify carrying the
//! presented thumbprint, AlreadyBeingManaged, …), named after the host the session was opened for.
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::inventory::{HostFacts, HostRuntime, LockdownMode, Sensor, SensorStatus, VmInfo};
use crate::CoreError;

/// Where an agent answers and how the core refers to it in faults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentEndpoint {
    /// The host's inventory name (or the address, before it has one): faults name it.
    pub name: String,
    pub address: String,
    pub port: u16,
    /// The pinned certificate thumbprint; None accepts none (the first contact reports it).
    pub thumbprint: Option<String>,
}

/// Opens sessions to agents. Nothing is sent until the first call on a session.
pub trait Agents: Send + Sync + 'static {
    fn open(&self, endpoint: &AgentEndpoint) -> Arc<dyn AgentSession>;
}

/// The agent's product, as its unauthenticated `about` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentAbout {
    pub product: String,
    pub version: String,
}

/// The VM power actions the core asks of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    On,
    Off,
    Suspend,
    Reset,
}

/// What happened on a host since a cursor, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    VmPowerChanged {
        vm_uuid: String,
    },
    SensorChanged {
        sensor: Sensor,
        status: SensorStatus,
    },
    Rebooted,
    PasswordChanged {
        account: String,
    },
    /// A migration ended on this host, seen or not by the server that started it.
    MigrationEnded {
        vm_uuid: String,
        /// The VM now runs on the destination (else it stayed on the source).
        committed: bool,
        /// Reported by the destination's `address:port` when this host was the source.
        destination: Option<(String, u16)>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentEvents {
    pub events: Vec<AgentEvent>,
    /// The cursor to read from next time.
    pub next: u64,
    /// Events after the cursor were dropped before they were read: resync.
    pub truncated: bool,
}

/// What the destination of a migration issued for the source to present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationTicket {
    pub migration_id: String,
    pub ticket: String,
}

/// A finished migration: the VM as the destination holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Migrated {
    pub vm: VmInfo,
    pub duration_ms: u64,
}

/// How far a migration away from a host has come, as its hypervisor counts bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrationProgress {
    pub processed_bytes: u64,
    pub total_bytes: u64,
    /// 0–99 while copying.
    pub percent: u8,
}

/// One agent, through one (lazily logged-in) session.
#[async_trait]
pub trait AgentSession: Send + Sync {
    async fn about(&self) -> Result<AgentAbout, CoreError>;
    async fn login(&self, user: &str, password: &str) -> Result<(), CoreError>;
    /// Ends the session; a failure is of no interest to the flows.
    async fn logout(&self);

    /// The server's service account: created, or given this password if it exists already
    /// (a host added before, removed, and added again). True when it was created.
    async fn ensure_service_account(&self, name: &str, password: &str) -> Result<bool, CoreError>;
    /// Deletes a service account; one that is already gone is no error.
    async fn delete_service_account(&self, name: &str) -> Result<(), CoreError>;
    /// Records this server as the host's manager; `force` takes it from another server.
    async fn claim(
        &self,
        server_uuid: &str,
        server_address: &str,
        force: bool,
    ) -> Result<(), CoreError>;
    async fn release_claim(&self, server_uuid: &str) -> Result<(), CoreError>;

    async fn facts(&self) -> Result<HostFacts, CoreError>;
    async fn runtime(&self) -> Result<HostRuntime, CoreError>;
    async fn events(&self, since: u64) -> Result<AgentEvents, CoreError>;
    /// The runtime, then the events after `since`: a heartbeat, in one request where the
    /// agent can answer it.
    async fn heartbeat(&self, since: u64) -> Result<(HostRuntime, AgentEvents), CoreError>;
    async fn uptime_secs(&self) -> Result<u64, CoreError>;

    /// The host refuses power-on while the flag is set.
    async fn set_maintenance(&self, on: bool) -> Result<HostRuntime, CoreError>;
    async fn set_lockdown(&self, mode: LockdownMode) -> Result<HostRuntime, CoreError>;
    async fn standby(&self, down: bool) -> Result<HostRuntime, CoreError>;
    async fn reboot(&self, force: bool) -> Result<(), CoreError>;
    async fn shutdown(&self, force: bool) -> Result<(), CoreError>;

    async fn vms(&self) -> Result<Vec<VmInfo>, CoreError>;
    async fn vm(&self, uuid: &str) -> Result<VmInfo, CoreError>;
    /// Registers a VM the server knows back on a host that lost it, powered off.
    async fn register_vm(&self, vm: &VmInfo) -> Result<(), CoreError>;
    /// A powered-off VM's vCPUs and memory; unset ones stay.
    async fn reconfigure_vm(
        &self,
        uuid: &str,
        vcpus: Option<u32>,
        memory_bytes: Option<u64>,
    ) -> Result<VmInfo, CoreError>;
    /// Removes a powered-off VM from its host, with its disks.
    async fn unregister_vm(&self, uuid: &str) -> Result<(), CoreError>;
    async fn power(&self, uuid: &str, action: PowerAction) -> Result<VmInfo, CoreError>;

    /// On the destination: reserve room for `vm` and issue the ticket the source presents.
    async fn prepare_incoming(&self, vm: &VmInfo) -> Result<MigrationTicket, CoreError>;
    /// On the source: send the VM to `destination` with its ticket.
    async fn migrate(
        &self,
        vm_uuid: &str,
        destination: &AgentEndpoint,
        ticket: MigrationTicket,
        timeout: Duration,
    ) -> Result<Migrated, CoreError>;
    /// On the destination: release what was prepared for a migration that failed.
    async fn abort_incoming(&self, ticket: &MigrationTicket) -> Result<(), CoreError>;
    /// On the source: how far the migration of `vm_uuid` has come.
    async fn migration_progress(&self, vm_uuid: &str) -> Result<MigrationProgress, CoreError>;
    /// On the source: abandon the migration of `vm_uuid` (its `migrate` then fails).
    async fn cancel_migration(&self, vm_uuid: &str) -> Result<(), CoreError>;
}
