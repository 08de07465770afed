//! What a task does. The store and every surface know a kind by its name (`host.add`); the
//! names are kept as they always were, so persisted tasks read back.
use std::fmt;

macro_rules! task_kinds {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// Every kind of task the core starts.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum TaskKind {
            $($(#[$doc])* $variant,)*
        }

        impl TaskKind {
            pub const ALL: &'static [TaskKind] = &[$(TaskKind::$variant,)*];

            /// The persisted name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(TaskKind::$variant => $name,)*
                }
            }

            pub fn parse(s: &str) -> Option<TaskKind> {
                match s {
                    $($name => Some(TaskKind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

task_kinds! {
    HostAdd = "host.add",
    /// Kept apart from `HostAdd` because vim names them differently (AddStandaloneHost_Task).
    HostAddStandalone = "host.addStandalone",
    HostDisconnect = "host.disconnect",
    HostReconnect = "host.reconnect",
    HostEnterMaintenance = "host.enterMaintenance",
    HostExitMaintenance = "host.exitMaintenance",
    HostRemove = "host.remove",
    HostReboot = "host.reboot",
    HostShutdown = "host.shutdown",
    HostRename = "host.rename",
    HostStandbyDown = "host.standbyDown",
    HostStandbyUp = "host.standbyUp",
    VmPowerOn = "vm.powerOn",
    VmPowerOff = "vm.powerOff",
    VmMigrate = "vm.migrate",
    VmCreate = "vm.create",
    VmDelete = "vm.delete",
    VmReconfigure = "vm.reconfigure",
    ClusterReconfigure = "cluster.reconfigure",
    ClusterDelete = "cluster.delete",
    DatacenterDelete = "datacenter.delete",
    DiagnosticsSleep = "diagnostics.sleep",
    /// A backup of the server (`recovery.backup.job`).
    ApplianceBackup = "appliance.backup",
    /// A support bundle being made (`appliance.support_bundle.create$task`).
    ApplianceSupportBundle = "appliance.supportBundle",
    /// A validation of an infrastructure profile document (`infraprofile.configs.validate`).
    ApplianceProfileValidate = "appliance.infraprofile.validate",
    /// An import of infrastructure profiles (`infraprofile.configs.import_profile`).
    ApplianceProfileImport = "appliance.infraprofile.import",
    /// An export of the server for an upgrade's target (`com.ferrocenter.deployment.export`).
    DeploymentExport = "deployment.export",
    /// An interoperability report (`vcenter.lcm.discovery.interop_report.create$task`).
    LcmInteropReport = "lcm.interopReport",
    /// A pre-update report (`vcenter.lcm.update.precheck_report.create$task`).
    LcmPrecheckReport = "lcm.precheckReport",
    /// An update downloaded and unpacked (`appliance.update.pending.stage`).
    ApplianceUpdateStage = "appliance.update.stage",
    /// An update installed: the server restarts into it (`appliance.update.pending.install`).
    ApplianceUpdateInstall = "appliance.update.install",
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<TaskKind> for String {
    fn from(k: TaskKind) -> String {
        k.as_str().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::TaskKind;

    #[test]
    fn names_round_trip_and_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for k in TaskKind::ALL {
            assert_eq!(TaskKind::parse(k.as_str()), Some(*k));
            assert!(seen.insert(k.as_str()));
        }
        assert_eq!(TaskKind::HostAdd.as_str(), "host.add");
    }
}
