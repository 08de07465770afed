//! The services served on each listener: the one list the front doors, the OpenAPI document and
//! task rendering read. It sits above both the registry and the services, so neither imports
//! the other backwards.
//!
//! The main listener (443) serves everything; the appliance listener (5480) serves what the
//! management guide puts there — `appliance.*` (with `vcenter.deployment` and its history
//! import, which the appliance services carry), `cis.session` and `cis.tasks`, and update
//! planning (`vcenter.lcm`, whose tasks the guide polls there) — and not the `vcenter.*`
//! inventory.
use ferrocenter_core::auth::Listener;

use super::registry::{Catalog, Op};
use super::services::{appliance, cis, sso, vcenter};
use super::types::Union;

const CIS: &[&[Op]] = &[cis::session::OPS, cis::tasks::OPS];
const CIS_UNIONS: &[&Union] = &[&cis::tasks::TASK_INFO_UNION];
const VCENTER: &[&[Op]] = &[
    vcenter::host::OPS,
    vcenter::inventory::OPS,
    vcenter::vm::OPS,
    vcenter::identity_providers::OPS,
    vcenter::identity_providers::ROOTS_OPS,
    vcenter::identity_providers::DIRECTORY_OPS,
    vcenter::tokenservice::OPS,
];
const VCENTER_UNIONS: &[&Union] = &[
    &vcenter::host::CREATE_SPEC_UNION,
    &vcenter::host::SUMMARY_UNION,
    &vcenter::vm::POWER_INFO_UNION,
    &vcenter::vm::BOOT_INFO_UNION,
    &vcenter::identity_providers::SUMMARY_UNION,
    &vcenter::identity_providers::INFO_UNION,
];

/// Update planning (`vcenter.lcm`): served on both listeners.
const LCM: &[&[Op]] = &[vcenter::lcm::OPS];

/// ferrocenter's own SSO administration (users, groups, policies): the main listener only.
const SSO: &[&[Op]] = &[sso::OPS];

/// Every service the main listener serves, in the order the coverage table lists them.
pub static MAIN: Catalog = Catalog {
    groups: &[CIS, VCENTER, LCM, appliance::SERVICES, SSO],
    unions: &[CIS_UNIONS, VCENTER_UNIONS, &[], appliance::UNIONS, &[]],
};

/// The appliance listener's services.
pub static APPLIANCE: Catalog = Catalog {
    groups: &[CIS, LCM, appliance::SERVICES],
    unions: &[CIS_UNIONS, &[], appliance::UNIONS],
};

/// The catalog a listener serves.
pub fn for_listener(listener: Listener) -> &'static Catalog {
    match listener {
        Listener::Appliance => &APPLIANCE,
        Listener::Api => &MAIN,
    }
}
