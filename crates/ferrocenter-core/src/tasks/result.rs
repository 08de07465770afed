//! What a finished task produced. The tasks table keeps each result as the JSON object its
//! variant serialises to: untagged, with the keys tasks have always stored, so results written
//! before this enum read back, and surfaces read fields instead of digging by key.
use serde::{Deserialize, Serialize};

/// One variant per shape of outcome; the task's kind says which operation produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum TaskResult {
    /// A host added (clustered or standalone): its id, its vim moId and how many VMs it has.
    HostAdded {
        host: String,
        moid: String,
        vms: usize,
    },
    /// A host reconnected, with the VMs found on it.
    HostReconnected {
        host: String,
        vms: usize,
    },
    /// A host entered maintenance after migrating this many VMs away.
    HostInMaintenance {
        host: String,
        migrated: usize,
    },
    /// A host's power changed (standby), with its power state after.
    HostPower {
        host: String,
        #[serde(rename = "powerState")]
        power_state: String,
    },
    /// Any other host operation: the host it acted on.
    Host {
        host: String,
    },
    /// A VM's power changed, with its power state after.
    VmPower {
        vm: String,
        #[serde(rename = "powerState")]
        power_state: String,
    },
    /// A VM migrated to `host`.
    VmMigrated {
        vm: String,
        host: String,
    },
    /// A VM created: its id and its vim moId.
    VmCreated {
        vm: String,
        moid: String,
    },
    /// Any other VM operation (delete, reconfigure): the VM it acted on.
    Vm {
        vm: String,
    },
    Cluster {
        cluster: String,
    },
    Datacenter {
        datacenter: String,
    },
    /// The diagnostics sleep task.
    Slept {
        slept_ms: u64,
    },
    /// A backup written to its location.
    Backup {
        backup: crate::recovery::backup_job::BackupOutcome,
    },
    /// A support bundle made: its id (`appliance.support_bundle`).
    SupportBundle {
        support_bundle: String,
    },
    /// An infrastructure profile document validated.
    ProfileValidation {
        validation: crate::appliance::infraprofile::ValidationOutcome,
    },
    /// Infrastructure profiles imported: what was imported.
    ProfileImport {
        imported: String,
    },
    /// An export for an upgrade written: its files, `manifest.json` last.
    UpgradeExport {
        export_files: Vec<crate::ports::ExportFile>,
    },
    /// An interoperability report made: the report and its CSV's id (`lcm`).
    LcmInteropReport {
        interop_report: Box<crate::lcm::InteropOutcome>,
    },
    /// A pre-update report made: the report and its CSV's id (`lcm`).
    LcmPrecheckReport {
        precheck_report: Box<crate::lcm::PrecheckOutcome>,
    },
    /// An update staged: its version (`appliance.update.pending.stage`).
    UpdateStaged {
        staged_version: String,
    },
    /// An update installed: the version now running (`appliance.update.pending.install`).
    UpdateInstalled {
        installed_version: String,
    },
}

impl TaskResult {
    /// The host the outcome names: the one acted on, added, or a migration's destination.
    pub fn host(&self) -> Option<&str> {
        match self {
            TaskResult::HostAdded { host, .. }
            | TaskResult::HostReconnected { host, .. }
            | TaskResult::HostInMaintenance { host, .. }
            | TaskResult::HostPower { host, .. }
            | TaskResult::Host { host }
            | TaskResult::VmMigrated { host, .. } => Some(host),
            _ => None,
        }
    }

    /// The vim moId of the VM a create made.
    pub fn created_vm_moid(&self) -> Option<&str> {
        match self {
            TaskResult::VmCreated { moid, .. } => Some(moid),
            _ => None,
        }
    }

    /// The vim moId of the host an add created.
    pub fn added_host_moid(&self) -> Option<&str> {
        match self {
            TaskResult::HostAdded { moid, .. } => Some(moid),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TaskResult;

    /// Each result as the tasks table holds it today (a serde_json::Value's text: keys sorted).
    #[test]
    fn results_read_and_write_as_stored_before() {
        let stored = [
            r#"{"host":"h","moid":"host-1","vms":2}"#,
            r#"{"host":"h","vms":2}"#,
            r#"{"host":"h","migrated":3}"#,
            r#"{"host":"h","powerState":"standBy"}"#,
            r#"{"host":"h"}"#,
            r#"{"powerState":"poweredOn","vm":"v"}"#,
            r#"{"host":"h","vm":"v"}"#,
            r#"{"moid":"vm-1","vm":"v"}"#,
            r#"{"vm":"v"}"#,
            r#"{"cluster":"c"}"#,
            r#"{"datacenter":"d"}"#,
            r#"{"slept_ms":10}"#,
            r#"{"support_bundle":"b"}"#,
            r#"{"export_files":[{"bytes":3,"name":"manifest.json"}]}"#,
        ];
        let mut seen = std::collections::HashSet::new();
        for text in stored {
            let r: TaskResult = serde_json::from_str(text).unwrap();
            assert!(
                seen.insert(std::mem::discriminant(&r)),
                "{text} read as {r:?}"
            );
            let again = serde_json::to_value(&r).unwrap().to_string();
            assert_eq!(again, text);
        }
        assert_eq!(seen.len(), stored.len());
        assert!(serde_json::from_str::<TaskResult>(r#"{"host":"h","x":1}"#).is_err());
    }
}
