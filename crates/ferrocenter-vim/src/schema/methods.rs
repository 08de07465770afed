//! Every method the binding serves, with its parameters (after `_this`) and its result.
//! docs/api/vi-json.md is the table of what each does.
use super::decl::Ty::{self, Bool, Data, DateTime, Enum, Int, Long, MoRef, Str};
use super::decl::{arr, opt, req, req_arr, Field, Method};

const fn m(name: &'static str, params: &'static [Field], returns: Option<Field>) -> Method {
    Method {
        name,
        params,
        returns,
    }
}

const fn ret(ty: Ty) -> Option<Field> {
    Some(req("returnval", ty))
}

/// A result that is unset when there is nothing to answer (no objects, no change).
const fn ret_opt(ty: Ty) -> Option<Field> {
    Some(opt("returnval", ty))
}

const fn ret_arr(ty: Ty) -> Option<Field> {
    Some(arr("returnval", ty))
}

const TASK: Option<Field> = ret(MoRef);

pub static METHODS: &[Method] = &[
    // Any object: a property read (SOAP's form of VI/JSON's GET).
    m("Fetch", &[req("prop", Str)], ret(Ty::Any)),
    // ServiceInstance.
    m("RetrieveServiceContent", &[], ret(Data("ServiceContent"))),
    m("CurrentTime", &[], ret(DateTime)),
    // SessionManager.
    m(
        "Login",
        &[
            req("userName", Str),
            req("password", Str),
            opt("locale", Str),
        ],
        ret(Data("UserSession")),
    ),
    m(
        "LoginByToken",
        &[opt("locale", Str)],
        ret(Data("UserSession")),
    ),
    m("Logout", &[], None),
    m("AcquireCloneTicket", &[], ret(Str)),
    m(
        "CloneSession",
        &[req("cloneTicket", Str)],
        ret(Data("UserSession")),
    ),
    m(
        "SessionIsActive",
        &[req("sessionID", Str), req("userName", Str)],
        ret(Bool),
    ),
    m("TerminateSession", &[req_arr("sessionId", Str)], None),
    // Folder.
    m("CreateDatacenter", &[req("name", Str)], ret(MoRef)),
    m("CreateFolder", &[req("name", Str)], ret(MoRef)),
    m(
        "CreateClusterEx",
        &[req("name", Str), req("spec", Data("ClusterConfigSpecEx"))],
        ret(MoRef),
    ),
    m(
        "CreateCluster",
        &[req("name", Str), req("spec", Data("ClusterConfigSpec"))],
        ret(MoRef),
    ),
    m(
        "AddStandaloneHost_Task",
        &[
            req("spec", Data("HostConnectSpec")),
            opt("compResSpec", Data("ComputeResourceConfigSpec")),
            req("addConnected", Bool),
            opt("license", Str),
        ],
        TASK,
    ),
    // ClusterComputeResource.
    m(
        "AddHost_Task",
        &[
            req("spec", Data("HostConnectSpec")),
            req("asConnected", Bool),
            opt("resourcePool", MoRef),
            opt("license", Str),
        ],
        TASK,
    ),
    m(
        "ReconfigureComputeResource_Task",
        &[
            req("spec", Data("ComputeResourceConfigSpec")),
            req("modify", Bool),
        ],
        TASK,
    ),
    // ManagedEntity.
    m("Destroy_Task", &[], TASK),
    m("Rename_Task", &[req("newName", Str)], TASK),
    m("Reload", &[], None),
    m(
        "setCustomValue",
        &[req("key", Str), req("value", Str)],
        None,
    ),
    m(
        "CreateVM_Task",
        &[
            req("config", Data("VirtualMachineConfigSpec")),
            req("pool", MoRef),
            opt("host", MoRef),
        ],
        TASK,
    ),
    // VirtualMachine.
    m(
        "ReconfigVM_Task",
        &[req("spec", Data("VirtualMachineConfigSpec"))],
        TASK,
    ),
    m("PowerOnVM_Task", &[opt("host", MoRef)], TASK),
    m("PowerOffVM_Task", &[], TASK),
    m(
        "MigrateVM_Task",
        &[
            opt("pool", MoRef),
            opt("host", MoRef),
            req("priority", Enum("VirtualMachineMovePriority")),
            opt("state", Enum("VirtualMachinePowerState")),
        ],
        TASK,
    ),
    // HostSystem.
    m("DisconnectHost_Task", &[], TASK),
    m(
        "ReconnectHost_Task",
        &[
            opt("cnxSpec", Data("HostConnectSpec")),
            opt("reconnectSpec", Data("HostSystemReconnectSpec")),
        ],
        TASK,
    ),
    m(
        "EnterMaintenanceMode_Task",
        &[
            req("timeout", Int),
            opt("evacuatePoweredOffVms", Bool),
            opt("maintenanceSpec", Data("HostMaintenanceSpec")),
        ],
        TASK,
    ),
    m("ExitMaintenanceMode_Task", &[req("timeout", Int)], TASK),
    m("RebootHost_Task", &[req("force", Bool)], TASK),
    m("ShutdownHost_Task", &[req("force", Bool)], TASK),
    m(
        "PowerDownHostToStandBy_Task",
        &[req("timeoutSec", Int), opt("evacuatePoweredOffVms", Bool)],
        TASK,
    ),
    m(
        "PowerUpHostFromStandBy_Task",
        &[req("timeoutSec", Int)],
        TASK,
    ),
    m("EnterLockdownMode", &[], None),
    m("ExitLockdownMode", &[], None),
    m("QueryHostConnectionInfo", &[], ret(Data("HostConnectInfo"))),
    m("RetrieveHardwareUptime", &[], ret(Long)),
    m(
        "UpdateFlags",
        &[req("flagInfo", Data("HostFlagInfo"))],
        None,
    ),
    // Task, EventManager, CustomFieldsManager, AlarmManager.
    m("CancelTask", &[], None),
    m(
        "QueryEvents",
        &[req("filter", Data("EventFilterSpec"))],
        ret_arr(Data("Event")),
    ),
    m(
        "SetField",
        &[req("entity", MoRef), req("key", Int), req("value", Str)],
        None,
    ),
    m(
        "EnableAlarmActions",
        &[req("entity", MoRef), req("enabled", Bool)],
        None,
    ),
    m("AreAlarmActionsEnabled", &[req("entity", MoRef)], ret(Bool)),
    // ViewManager and views.
    m("CreateListView", &[arr("obj", MoRef)], ret(MoRef)),
    m(
        "CreateContainerView",
        &[
            req("container", MoRef),
            arr("type", Str),
            req("recursive", Bool),
        ],
        ret(MoRef),
    ),
    m(
        "ModifyListView",
        &[arr("add", MoRef), arr("remove", MoRef)],
        ret_arr(MoRef),
    ),
    m("DestroyView", &[], None),
    // PropertyCollector and PropertyFilter.
    m(
        "CreateFilter",
        &[
            req("spec", Data("PropertyFilterSpec")),
            req("partialUpdates", Bool),
        ],
        ret(MoRef),
    ),
    m(
        "RetrievePropertiesEx",
        &[
            req_arr("specSet", Data("PropertyFilterSpec")),
            req("options", Data("RetrieveOptions")),
        ],
        ret_opt(Data("RetrieveResult")),
    ),
    m(
        "RetrieveProperties",
        &[req_arr("specSet", Data("PropertyFilterSpec"))],
        ret_arr(Data("ObjectContent")),
    ),
    m(
        "ContinueRetrievePropertiesEx",
        &[req("token", Str)],
        ret(Data("RetrieveResult")),
    ),
    m("CancelRetrievePropertiesEx", &[req("token", Str)], None),
    m(
        "WaitForUpdatesEx",
        &[opt("version", Str), opt("options", Data("WaitOptions"))],
        ret_opt(Data("UpdateSet")),
    ),
    m(
        "WaitForUpdates",
        &[opt("version", Str)],
        ret(Data("UpdateSet")),
    ),
    m(
        "CheckForUpdates",
        &[opt("version", Str)],
        ret_opt(Data("UpdateSet")),
    ),
    m("CancelWaitForUpdates", &[], None),
    m("CreatePropertyCollector", &[], ret(MoRef)),
    m("DestroyPropertyCollector", &[], None),
    m("DestroyPropertyFilter", &[], None),
];

pub fn method(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == name)
}
