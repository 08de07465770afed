//! Hypervisor drivers. The agent keeps accounts, claims, flags, capacity rules, events and
//! migrations; a driver only discovers the hardware and defines, starts and stops domains, so a
//! libvirt driver can replace `sim` without the server noticing.
pub mod sim;

use std::collections::BTreeMap;
use std::time::Duration;

use ferrocenter_agent_client::wire::{
    Datastore, Hardware, HypervisorVersions, Ipmi, Network, Nic, Sensor, SensorStatus, Vm,
    VmPowerState,
};

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
}

pub trait Hypervisor: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn discover(&self) -> Discovered;
    fn set_hostname(&self, hostname: &str);
    fn sensors(&self) -> BTreeMap<Sensor, SensorStatus>;
    fn set_sensor(&self, sensor: Sensor, status: SensorStatus);
    fn list_vms(&self) -> Vec<Vm>;
    fn get_vm(&self, uuid: &str) -> Option<Vm>;
    /// Defines a domain exactly as given (state included); fails if the uuid exists.
    fn define_vm(&self, vm: Vm) -> ApiResult<Vm>;
    fn undefine_vm(&self, uuid: &str) -> ApiResult<Vm>;
    fn set_power(&self, uuid: &str, state: VmPowerState) -> ApiResult<Vm>;
    /// Changes a defined VM's vCPUs and memory (the caller checked it is powered off).
    fn reconfigure_vm(
        &self,
        uuid: &str,
        vcpus: Option<u32>,
        memory_bytes: Option<u64>,
    ) -> ApiResult<Vm>;
    /// How long moving this VM's memory to another host takes.
    fn transfer_time(&self, vm: &Vm) -> Duration;
    /// How long the host is unreachable while it reboots.
    fn reboot_time(&self) -> Duration;
}
