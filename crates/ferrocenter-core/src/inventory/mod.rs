//! The inventory: datacenters, clusters, hosts, VMs, datastores, networks, and events.
pub mod attributes;
mod folders;
pub mod model;
mod ops;
pub use ops::{ClusterSpec, DatacenterSpec, EntityUpdate, ARCHITECTURES};
mod queries;
pub mod query;

pub use model::*;
