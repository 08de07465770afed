//! The real adapters of the core's machine ports (`ferrocenter_core::ports::SystemProbe` and
//! `Lifecycle`): the twin of `ferrocenter-store` for the machine the server runs on; and the
//! backup locations' adapters (`BackupTarget`); the update repositories' (`UpdateSources`).
mod backup_location;
pub mod federation;
mod http_client;
mod interfaces;
mod lifecycle;
mod probe;
pub mod syslog;
pub mod update_source;

use std::sync::Arc;

use ferrocenter_core::Machine;

pub use backup_location::{BackupLocations, LocationTrust, NFS_UNSUPPORTED};
pub use lifecycle::{exec_binary, reexec, ProcessRequests, SystemLifecycle, EXIT_RESTART};
pub use probe::ProcProbe;

/// What the server gives the machine adapters.
#[derive(Debug, Clone, Default)]
pub struct MachineOptions {
    /// Reboot and power-off act on the machine itself only when this is set; otherwise they
    /// restart or stop the ferrocenter process.
    pub allow_machine_actions: bool,
}

/// The machine ports for a running server, and where its main loop hears that the process is
/// to restart or stop.
pub fn machine(options: &MachineOptions) -> (Machine, ProcessRequests) {
    let (lifecycle, requests) = SystemLifecycle::new(options.allow_machine_actions);
    (
        Machine {
            probe: Arc::new(ProcProbe),
            lifecycle: Arc::new(lifecycle),
        },
        requests,
    )
}
