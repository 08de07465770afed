//! `com.vmware.appliance`: the appliance management services (health, monitoring, local
//! accounts, services, shutdown, firewall, backup and restore, backup schedules, syslog
//! forwarding, support bundles, infrastructure profiles, global FIPS, the update policy), and
//! `vcenter.deployment` (setup, and the deferred history import), one module per service.
//! `planned.rs` lists every appliance operation of the SDK that is not served yet, so a call to
//! one is told so by name.
pub mod deployment;
pub mod deployment_history;
pub mod deployment_upgrade;
pub mod firewall;
pub mod global_fips;
pub mod health;
pub mod infraprofile;
pub mod local_accounts;
pub mod logging_forwarding;
pub mod monitoring;
pub mod planned;
pub mod recovery;
pub mod recovery_schedules;
pub mod services;
pub mod shutdown;
pub mod support_bundle;
pub mod update;
pub mod update_pending;
pub mod update_policy;

use crate::registry::Op;
use crate::types::Union;

/// The appliance services served, in the order the coverage table lists them.
pub const SERVICES: &[&[Op]] = &[
    health::OPS,
    monitoring::OPS,
    local_accounts::OPS,
    services::OPS,
    shutdown::OPS,
    firewall::OPS,
    recovery::OPS,
    recovery_schedules::OPS,
    support_bundle::OPS,
    infraprofile::OPS,
    global_fips::OPS,
    logging_forwarding::OPS,
    update::OPS,
    update_pending::OPS,
    update_policy::OPS,
    deployment::OPS,
    deployment_history::OPS,
    deployment_upgrade::OPS,
];

/// The union rules of the appliance services' replies.
pub const UNIONS: &[&Union] = &[
    &logging_forwarding::CONNECTION_STATUS_UNION,
    &support_bundle::INFO_UNION,
    &deployment::INFO_UNION,
    &deployment::TASK_UNION,
    &deployment_history::INFO_UNION,
];
