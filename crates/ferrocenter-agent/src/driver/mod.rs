//! Hypervisor drivers. The agent keeps accounts, claims, flags, capacity rules, events and
//! migrations; a driver only discovers the hardware and defines, starts and stops domains, so the
//! libvirt driver replaces `sim` without the server noticing.
//!
//! The port is async. A real hypervisor answers slowly (libvirt's RPCs, volume creation,
//! a guest that takes its time), so a driver never runs on the agent's runtime threads: the
//! libvirt driver moves each blocking call onto tokio's blocking pool itself, while the
//! simulator answers from memory with no thread hop (a 10,000-host fleet lives in one process).
//! The agent never holds its state lock across a driver call; see `agent.rs` for how its
//! admission, maintenance and migration-freeze rules hold without it.
#[cfg(feature = "libvirt")]
pub mod libvirt;
pub mod libvirt_settings;
pub mod sim;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use ferrocenter_agent_client::wire::{
    Datastore, Hardware, HypervisorVersions, Ipmi, Network, Nic, PowerAction, Sensor, SensorStatus,
    Vm,
};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::error::ApiResult;

/// What the hardware and software of the host are, as the driver discovers them.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovered {
    pub hostname: String,
    pub hardware: Hardware,
    pub architecture: String,
    pub os_name: String,
    pub os_version: String,
    pub hypervisor: HypervisorVersions,
    pub nics: Vec<Nic>,
    pub datastores: Vec<Datastore>,
    pub networks: Vec<Network>,
    pub ipmi_address: Option<String>,
    pub ipmi: Ipmi,
    /// The OS release's code name (Debian's `bookworm`).
    pub os_release: Option<String>,
    /// The host's NVMe qualified name.
    pub nqn: Option<String>,
    pub sensors: BTreeMap<Sensor, SensorStatus>,
    /// When the machine booted (Unix seconds), if the driver knows; a simulated host boots
    /// when its agent starts.
    pub boot_time: Option<i64>,
}

/// What a driver can do beyond defining and running VMs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Takes part in the agent-to-agent migration protocol (`transfer`).
    pub migration: bool,
    /// Reboots and shuts the host down (`reboot_host`).
    pub host_power: bool,
    /// The hypervisor keeps its VMs across agent restarts; otherwise the agent saves them in
    /// its state file and hands them back on start.
    pub persistent_vms: bool,
    /// `transfer` itself is the switch-over: when it returns Ok the VM runs at the destination
    /// and no longer here (libvirt's peer-to-peer migration), so the destination's commit only
    /// adopts it. Otherwise the destination's commit is the switch-over.
    pub transfer_switches_over: bool,
}

/// Where a migration goes: the destination host's management address, as the server knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferTarget {
    pub address: String,
}

/// Bytes a transfer has sent and the total the hypervisor expects (0 while unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferProgress {
    pub processed_bytes: u64,
    pub total_bytes: u64,
}

/// Where a driver reports a transfer's progress; called from any thread.
pub type ProgressSink = Arc<dyn Fn(TransferProgress) + Send + Sync>;

/// A change the driver saw on the hypervisor that the agent did not make (a guest that powered
/// itself off, `virsh` used behind the agent's back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverEvent {
    /// Read this VM again (it may be gone).
    VmChanged { uuid: String },
    /// The driver's view may have diverged (it reconnected): read everything again.
    Resync,
}

/// A VM's size as reconfigured while it is off; `None` keeps the current value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resize {
    pub vcpus: Option<u32>,
    pub memory_bytes: Option<u64>,
}

#[async_trait]
pub trait Hypervisor: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn capabilities(&self) -> Capabilities;
    /// The stream of hypervisor-side changes, taken once by the agent; `None` for a driver
    /// whose VMs change only through the agent.
    fn subscribe(&self) -> Option<UnboundedReceiver<DriverEvent>>;
    async fn discover(&self) -> ApiResult<Discovered>;
    async fn list_vms(&self) -> ApiResult<Vec<Vm>>;
    async fn get_vm(&self, uuid: &str) -> ApiResult<Option<Vm>>;
    /// Defines a domain as given (its disks created, started when `power_state` says so);
    /// fails if the uuid exists, and leaves nothing behind when it fails.
    async fn define_vm(&self, vm: Vm) -> ApiResult<Vm>;
    /// Removes the domain and its disks.
    async fn undefine_vm(&self, uuid: &str) -> ApiResult<Vm>;
    /// Performs a power action the agent has already admitted; returns the VM as it is now (a
    /// guest shutdown returns before the guest is off).
    async fn power(&self, uuid: &str, action: PowerAction) -> ApiResult<Vm>;
    /// Changes vCPUs and memory of a powered-off VM.
    async fn reconfigure(&self, uuid: &str, resize: Resize) -> ApiResult<Vm>;
    /// Moves the VM's running state to the destination of an agent-to-agent migration
    /// (`Capabilities::migration`), reporting progress as it goes. A failure leaves the VM
    /// here as it was.
    async fn transfer(&self, vm: &Vm, to: &TransferTarget, progress: ProgressSink)
        -> ApiResult<()>;
    /// Abandons the transfer of `uuid` in flight (its `transfer` then fails); `invalid_state`
    /// when none is running or it is past the point of no return.
    async fn cancel_transfer(&self, uuid: &str) -> ApiResult<()>;
    /// On the destination, at the commit: the VM as this host now holds it. A driver whose
    /// transfer switches over finds it already here; any other defines it.
    async fn receive(&self, vm: Vm) -> ApiResult<Vm>;
    /// On the destination, after an abort: removes what the hypervisor made ready for `vm`
    /// (disks created ahead of the copy), unless the VM is here after all.
    async fn discard_incoming(&self, vm: &Vm) -> ApiResult<()>;
    /// Reboots the machine; returns once it is back (`Capabilities::host_power`).
    async fn reboot_host(&self) -> ApiResult<()>;
}
