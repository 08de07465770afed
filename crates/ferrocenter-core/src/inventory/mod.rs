//! The inventory: datacenters, clusters, hosts, VMs, datastores, networks, and events.
pub mod attributes;
pub mod facts;
mod folders;
pub use folders::ROOT_FOLDER_MOID;
pub mod model;
mod ops;
pub use ops::{ClusterSpec, DatacenterSpec, EntityUpdate, ARCHITECTURES};
mod queries;
pub mod query;

pub use facts::{
    ClaimInfo, DatastoreFacts, Hardware, HostFacts, HostPowerState, HostRuntime,
    HypervisorVersions, Ipmi, LockdownMode, NetworkFacts, NicFacts, Sensor, SensorStatus, VmDisk,
    VmInfo, VmNic, VmPowerState,
};
pub use model::*;
