//! The services served: the one list the front doors, the OpenAPI document and task rendering
//! read. It sits above both the registry and the services, so neither imports the other
//! backwards.
use super::registry::Catalog;
use super::services::{cis, vcenter};

/// Every service served, in the order the coverage table lists them.
pub static CATALOG: Catalog = Catalog {
    services: &[
        cis::session::OPS,
        cis::tasks::OPS,
        vcenter::host::OPS,
        vcenter::inventory::OPS,
        vcenter::vm::OPS,
    ],
    unions: &[
        &cis::tasks::TASK_INFO_UNION,
        &vcenter::host::SUMMARY_UNION,
        &vcenter::vm::POWER_INFO_UNION,
        &vcenter::vm::BOOT_INFO_UNION,
    ],
};
