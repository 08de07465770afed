//! The vim faults each served method may raise besides `RuntimeFault` (which any may), as the
//! WSDL's operations list them: vim25's declared faults that the binding actually raises.
static RAISES: &[(&str, &[&str])] = &[
    ("Login", &["InvalidLogin"]),
    ("LoginByToken", &["InvalidLogin"]),
    ("CloneSession", &["InvalidLogin"]),
    ("TerminateSession", &["NotFound"]),
    ("CreateDatacenter", &["DuplicateName", "InvalidName"]),
    ("CreateFolder", &["DuplicateName", "InvalidName"]),
    ("CreateClusterEx", &["DuplicateName", "InvalidName"]),
    ("CreateCluster", &["DuplicateName", "InvalidName"]),
    (
        "AddStandaloneHost_Task",
        &["InvalidLogin", "HostConnectFault", "DuplicateName"],
    ),
    (
        "AddHost_Task",
        &[
            "InvalidLogin",
            "HostConnectFault",
            "DuplicateName",
            "InvalidState",
        ],
    ),
    ("Rename_Task", &["DuplicateName", "InvalidName"]),
    ("Destroy_Task", &["VimFault"]),
    (
        "CreateVM_Task",
        &["DuplicateName", "InvalidName", "InvalidState"],
    ),
    ("ReconfigVM_Task", &["InvalidState"]),
    ("PowerOnVM_Task", &["InvalidState"]),
    ("PowerOffVM_Task", &["InvalidState"]),
    ("MigrateVM_Task", &["InvalidState"]),
    (
        "ReconnectHost_Task",
        &[
            "InvalidLogin",
            "InvalidState",
            "InvalidName",
            "HostConnectFault",
        ],
    ),
    ("EnterMaintenanceMode_Task", &["InvalidState", "Timedout"]),
    ("ExitMaintenanceMode_Task", &["InvalidState", "Timedout"]),
    ("RebootHost_Task", &["InvalidState"]),
    ("ShutdownHost_Task", &["InvalidState"]),
    ("PowerDownHostToStandBy_Task", &["InvalidState", "Timedout"]),
    ("PowerUpHostFromStandBy_Task", &["InvalidState", "Timedout"]),
    ("EnterLockdownMode", &["HostConfigFault"]),
    ("ExitLockdownMode", &["HostConfigFault"]),
    ("CancelTask", &["InvalidState"]),
    ("CreateFilter", &["InvalidProperty"]),
    ("RetrievePropertiesEx", &["InvalidProperty"]),
    ("RetrieveProperties", &["InvalidProperty"]),
    ("ContinueRetrievePropertiesEx", &["InvalidProperty"]),
    ("Fetch", &["InvalidProperty"]),
    ("WaitForUpdatesEx", &["InvalidCollectorVersion"]),
    ("WaitForUpdates", &["InvalidCollectorVersion"]),
    ("CheckForUpdates", &["InvalidCollectorVersion"]),
];

/// The faults `method` may raise besides RuntimeFault.
pub fn raises(method: &str) -> &'static [&'static str] {
    RAISES
        .iter()
        .find(|(m, _)| *m == method)
        .map_or(&[], |(_, f)| f)
}

#[cfg(test)]
mod tests {
    use super::super::{data_type, method};
    use super::*;

    #[test]
    fn every_raised_fault_is_a_declared_fault_of_a_served_method() {
        for (m, faults) in RAISES {
            assert!(method(m).is_some(), "{m} is not served");
            for f in *faults {
                let d = data_type(f).unwrap_or_else(|| panic!("{m}: {f} is not declared"));
                assert!(d.is_a("MethodFault"), "{m}: {f} is not a fault");
            }
        }
    }
}
