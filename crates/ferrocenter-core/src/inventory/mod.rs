//! The inventory: datacenters, clusters, hosts, VMs, datastores, networks, and events.
pub mod model;
mod ops;

pub use model::*;
