//! The inventory: datacenters, clusters, hosts, VMs, datastores, networks, and events.
pub mod attributes;
mod folders;
pub mod model;
mod ops;
mod queries;
pub mod query;

pub use model::*;
