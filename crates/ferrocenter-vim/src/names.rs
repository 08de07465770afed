//! The methods and properties vim defines on each type ferrocenter serves. A name listed here
//! that ferrocenter does not implement answers NotSupported naming it; a name not listed is
//! MethodNotFound (methods) or InvalidProperty (properties). docs/api/vi-json.md is the table
//! of what is implemented.

const ENTITY: &[&str] = &[
    "Destroy_Task",
    "Reload",
    "Rename_Task",
    "setCustomValue",
    "alarmActionsEnabled",
    "availableField",
    "configIssue",
    "configStatus",
    "customValue",
    "declaredAlarmState",
    "disabledMethod",
    "effectiveRole",
    "name",
    "overallStatus",
    "parent",
    "permission",
    "recentTask",
    "tag",
    "triggeredAlarmState",
    "value",
];

/// seeds/000's operation list for HostSystem, methods and properties.
pub const HOST_SYSTEM: &[&str] = &[
    "AcquireCimServicesTicket",
    "ConfigureCryptoKey",
    "Destroy_Task",
    "DisconnectHost_Task",
    "EnableCrypto",
    "EnterLockdownMode",
    "EnterMaintenanceMode_Task",
    "ExitLockdownMode",
    "ExitMaintenanceMode_Task",
    "PowerDownHostToStandBy_Task",
    "PowerUpHostFromStandBy_Task",
    "PrepareCrypto",
    "QueryHostConnectionInfo",
    "QueryMemoryOverhead",
    "QueryMemoryOverheadEx",
    "QueryProductLockerLocation",
    "QueryTpmAttestationReport",
    "RebootHost_Task",
    "ReconfigureHostForDAS_Task",
    "ReconnectHost_Task",
    "Reload",
    "Rename_Task",
    "RetrieveFreeEpcMemory",
    "RetrieveHardwareUptime",
    "setCustomValue",
    "ShutdownHost_Task",
    "UpdateFlags",
    "UpdateIpmi",
    "UpdateProductLockerLocation_Task",
    "UpdateSystemResources",
    "UpdateSystemSwapConfiguration",
    "alarmActionsEnabled",
    "answerFileValidationResult",
    "answerFileValidationState",
    "availableField",
    "capability",
    "complianceCheckResult",
    "complianceCheckState",
    "config",
    "configIssue",
    "configManager",
    "configStatus",
    "customValue",
    "datastore",
    "datastoreBrowser",
    "declaredAlarmState",
    "disabledMethod",
    "effectiveRole",
    "hardware",
    "licensableResource",
    "name",
    "network",
    "overallStatus",
    "parent",
    "permission",
    "precheckRemediationResult",
    "recentTask",
    "remediationResult",
    "remediationState",
    "runtime",
    "summary",
    "systemResources",
    "tag",
    "triggeredAlarmState",
    "value",
    "vm",
];

const TYPES: &[(&str, &[&str])] = &[
    (
        "ServiceInstance",
        &[
            "CurrentTime",
            "RetrieveServiceContent",
            "RetrieveProductComponents",
            "ValidateMigration",
            "QueryVMotionCompatibility",
            "content",
            "capability",
            "serverClock",
        ],
    ),
    (
        "SessionManager",
        &[
            "Login",
            "Logout",
            "AcquireCloneTicket",
            "CloneSession",
            "SessionIsActive",
            "TerminateSession",
            "LoginByToken",
            "LoginExtensionByCertificate",
            "LoginExtensionBySubjectName",
            "LoginBySSPI",
            "ImpersonateUser",
            "AcquireLocalTicket",
            "AcquireGenericServiceTicket",
            "SetLocale",
            "UpdateServiceMessage",
            "currentSession",
            "sessionList",
            "defaultLocale",
            "supportedLocaleList",
            "message",
            "messageLocaleList",
        ],
    ),
    (
        "Folder",
        &[
            "AddStandaloneHost_Task",
            "BatchAddHostsToCluster_Task",
            "BatchAddStandaloneHosts_Task",
            "CreateCluster",
            "CreateClusterEx",
            "CreateDatacenter",
            "CreateDVS_Task",
            "CreateFolder",
            "CreateStoragePod",
            "CreateVM_Task",
            "MoveIntoFolder_Task",
            "RegisterVM_Task",
            "UnregisterAndDestroy_Task",
            "childEntity",
            "childType",
            "namespace",
        ],
    ),
    (
        "Datacenter",
        &[
            "PowerOnMultiVM_Task",
            "QueryConnectionInfo",
            "QueryConnectionInfoViaSpec",
            "QueryDatacenterConfigOptionDescriptor",
            "ReconfigureDatacenter_Task",
            "configuration",
            "datastore",
            "datastoreFolder",
            "hostFolder",
            "network",
            "networkFolder",
            "vmFolder",
        ],
    ),
    (
        "ComputeResource",
        &[
            "ReconfigureComputeResource_Task",
            "configurationEx",
            "datastore",
            "environmentBrowser",
            "host",
            "lifecycleManaged",
            "network",
            "resourcePool",
            "summary",
        ],
    ),
    (
        "ClusterComputeResource",
        &[
            "AddHost_Task",
            "MoveHostInto_Task",
            "MoveInto_Task",
            "ReconfigureCluster_Task",
            "RecommendHostsForVm",
            "RefreshRecommendation",
            "ApplyRecommendation",
            "PlaceVm",
            "EnterMaintenanceMode",
            "action",
            "configuration",
            "drsFault",
            "drsRecommendation",
            "migrationHistory",
            "recommendation",
            "summaryEx",
        ],
    ),
    (
        "ResourcePool",
        &[
            "CreateResourcePool",
            "CreateVApp",
            "ImportVApp",
            "MoveIntoResourcePool",
            "UpdateConfig",
            "config",
            "owner",
            "resourcePool",
            "runtime",
            "summary",
            "vm",
        ],
    ),
    (
        "VirtualMachine",
        &[
            "PowerOnVM_Task",
            "PowerOffVM_Task",
            "MigrateVM_Task",
            "RelocateVM_Task",
            "ResetVM_Task",
            "SuspendVM_Task",
            "ShutdownGuest",
            "RebootGuest",
            "ReconfigVM_Task",
            "CloneVM_Task",
            "CreateSnapshot_Task",
            "UnregisterVM",
            "config",
            "datastore",
            "environmentBrowser",
            "guest",
            "guestHeartbeatStatus",
            "layout",
            "layoutEx",
            "network",
            "resourceConfig",
            "resourcePool",
            "rootSnapshot",
            "runtime",
            "snapshot",
            "storage",
            "summary",
        ],
    ),
    (
        "Datastore",
        &[
            "RefreshDatastore",
            "RenameDatastore",
            "DestroyDatastore",
            "browser",
            "capability",
            "host",
            "info",
            "iormConfiguration",
            "summary",
            "vm",
        ],
    ),
    ("Network", &["DestroyNetwork", "host", "summary", "vm"]),
    (
        "Task",
        &[
            "CancelTask",
            "SetTaskDescription",
            "SetTaskState",
            "UpdateProgress",
            "info",
            "availableField",
            "value",
            "setCustomValue",
        ],
    ),
    (
        "TaskManager",
        &[
            "CreateCollectorForTasks",
            "CreateCollectorWithInfoFilterForTasks",
            "CreateTask",
            "ReadNextTasksByViewSpec",
            "description",
            "maxCollector",
            "recentTask",
        ],
    ),
    (
        "EventManager",
        &[
            "QueryEvents",
            "CreateCollectorForEvents",
            "LogUserEvent",
            "PostEvent",
            "RetrieveArgumentDescription",
            "QueryEventsByIds",
            "description",
            "latestEvent",
            "maxCollector",
        ],
    ),
    (
        "CustomFieldsManager",
        &[
            "AddCustomFieldDef",
            "RemoveCustomFieldDef",
            "RenameCustomFieldDef",
            "SetField",
            "field",
        ],
    ),
    (
        "AlarmManager",
        &[
            "AcknowledgeAlarm",
            "AreAlarmActionsEnabled",
            "ClearTriggeredAlarms",
            "CreateAlarm",
            "DisableAlarm",
            "EnableAlarm",
            "EnableAlarmActions",
            "GetAlarm",
            "GetAlarmState",
            "defaultExpression",
            "description",
        ],
    ),
    (
        "ViewManager",
        &[
            "CreateContainerView",
            "CreateInventoryView",
            "CreateListView",
            "CreateListViewFromView",
            "viewList",
        ],
    ),
    (
        "ListView",
        &[
            "DestroyView",
            "ModifyListView",
            "ResetListView",
            "ResetListViewFromView",
            "view",
        ],
    ),
    (
        "ContainerView",
        &["DestroyView", "container", "recursive", "type", "view"],
    ),
    (
        "PropertyCollector",
        &[
            "CancelRetrievePropertiesEx",
            "CancelWaitForUpdates",
            "CheckForUpdates",
            "ContinueRetrievePropertiesEx",
            "CreateFilter",
            "CreatePropertyCollector",
            "DestroyPropertyCollector",
            "RetrieveProperties",
            "RetrievePropertiesEx",
            "WaitForUpdates",
            "WaitForUpdatesEx",
            "filter",
        ],
    ),
    (
        "PropertyFilter",
        &["DestroyPropertyFilter", "partialUpdates", "spec"],
    ),
];

fn is_entity(t: &str) -> bool {
    super::mo::is_a(t, "ManagedEntity")
}

/// Whether vim defines `name` (a method or a property) on type `t` or one of its parents.
pub fn defines(t: &str, name: &str) -> bool {
    if t == "HostSystem" {
        return HOST_SYSTEM.contains(&name);
    }
    if is_entity(t) && ENTITY.contains(&name) {
        return true;
    }
    let own = |t: &str| {
        TYPES
            .iter()
            .any(|(ty, names)| *ty == t && names.contains(&name))
    };
    own(t) || (t == "ClusterComputeResource" && own("ComputeResource"))
}

/// Whether ferrocenter serves objects of this type at all.
pub fn served(t: &str) -> bool {
    t == "HostSystem" || TYPES.iter().any(|(ty, _)| *ty == t)
}

/// Every property vim defines on a served type `t` (methods left out), for callers that read
/// them all.
pub fn properties(t: &str) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = if t == "HostSystem" {
        HOST_SYSTEM.to_vec()
    } else {
        TYPES
            .iter()
            .filter(|(ty, _)| {
                *ty == t || (t == "ClusterComputeResource" && *ty == "ComputeResource")
            })
            .flat_map(|(_, n)| n.iter().copied())
            .chain(if is_entity(t) { ENTITY } else { &[] }.iter().copied())
            .collect()
    };
    all.retain(|n| {
        n.starts_with(|c: char| c.is_ascii_lowercase()) && crate::schema::method(n).is_none()
    });
    all.sort_unstable();
    all.dedup();
    all
}
