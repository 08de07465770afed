//! The declared vAPI services, each a list of operations (see `registry.rs`).
mod cis_session;
mod cis_tasks;
pub mod std_types;
mod vcenter_host;
mod vcenter_ids;
mod vcenter_inventory;
mod vcenter_vm;

use super::registry::Op;

/// Every service served, in the order the coverage table lists them.
pub static SERVICES: &[&[Op]] = &[
    cis_session::OPS,
    cis_tasks::OPS,
    vcenter_host::OPS,
    vcenter_inventory::OPS,
    vcenter_vm::OPS,
];
