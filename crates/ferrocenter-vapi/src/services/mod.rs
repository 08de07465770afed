//! The declared vAPI services, each a list of operations (see `registry.rs`).
mod cis_session;
mod cis_tasks;
pub mod std_types;
mod vcenter_host;
mod vcenter_ids;
mod vcenter_inventory;
mod vcenter_vm;

use super::registry::Op;
use super::types::Union;

/// Every service served, in the order the coverage table lists them.
pub static SERVICES: &[&[Op]] = &[
    cis_session::OPS,
    cis_tasks::OPS,
    vcenter_host::OPS,
    vcenter_inventory::OPS,
    vcenter_vm::OPS,
];

/// The union rules of the structures these services return, checked on every reply.
pub static UNIONS: &[&Union] = &[
    &cis_tasks::TASK_INFO_UNION,
    &vcenter_host::SUMMARY_UNION,
    &vcenter_vm::POWER_INFO_UNION,
    &vcenter_vm::BOOT_INFO_UNION,
];
