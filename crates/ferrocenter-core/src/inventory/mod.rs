//! The inventory: datacenters, clusters, hosts, VMs, datastores, networks, and events.
mod folders;
pub mod model;
mod ops;

pub use model::*;
