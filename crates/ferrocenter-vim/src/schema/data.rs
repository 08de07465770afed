//! Data object and enum types that served methods take. A field ferrocenter ignores is still
//! declared when clients send it, so it decodes with its type.
use super::decl::Ty::{Any, Bool, Data, DateTime, Enum, Int, Long, MoRef, Str};
use super::decl::{arr, data, opt, req, req_arr, DataType, EnumType};

pub static DATA_TYPES: &[DataType] = &[
    data(
        "DynamicData",
        None,
        &[
            opt("dynamicType", Str),
            arr("dynamicProperty", Data("DynamicProperty")),
        ],
    ),
    // PropertyCollector.
    data(
        "PropertyFilterSpec",
        Some("DynamicData"),
        &[
            req_arr("propSet", Data("PropertySpec")),
            req_arr("objectSet", Data("ObjectSpec")),
            opt("reportMissingObjectsInResults", Bool),
        ],
    ),
    data(
        "PropertySpec",
        Some("DynamicData"),
        &[req("type", Str), opt("all", Bool), arr("pathSet", Str)],
    ),
    data(
        "ObjectSpec",
        Some("DynamicData"),
        &[
            req("obj", MoRef),
            opt("skip", Bool),
            arr("selectSet", Data("SelectionSpec")),
        ],
    ),
    data("SelectionSpec", Some("DynamicData"), &[opt("name", Str)]),
    data(
        "TraversalSpec",
        Some("SelectionSpec"),
        &[
            req("type", Str),
            req("path", Str),
            opt("skip", Bool),
            arr("selectSet", Data("SelectionSpec")),
        ],
    ),
    data(
        "RetrieveOptions",
        Some("DynamicData"),
        &[opt("maxObjects", Int)],
    ),
    data(
        "WaitOptions",
        Some("DynamicData"),
        &[opt("maxWaitSeconds", Int), opt("maxObjectUpdates", Int)],
    ),
    // Hosts.
    data(
        "HostConnectSpec",
        Some("DynamicData"),
        &[
            opt("hostName", Str),
            opt("port", Int),
            opt("sslThumbprint", Str),
            opt("userName", Str),
            opt("password", Str),
            opt("vmFolder", MoRef),
            req("force", Bool),
            opt("vimAccountName", Str),
            opt("vimAccountPassword", Str),
            opt("managementIp", Str),
            opt("lockdownMode", Enum("HostLockdownMode")),
            opt("hostGateway", Data("HostGatewaySpec")),
            opt("sslCertificate", Str),
        ],
    ),
    data(
        "HostGatewaySpec",
        Some("DynamicData"),
        &[
            req("gatewayType", Str),
            opt("gatewayId", Str),
            opt("trustVerificationToken", Str),
            arr("hostAuthParams", Data("KeyValue")),
        ],
    ),
    data(
        "KeyValue",
        Some("DynamicData"),
        &[req("key", Str), req("value", Str)],
    ),
    data(
        "HostSystemReconnectSpec",
        Some("DynamicData"),
        &[opt("syncState", Bool)],
    ),
    data(
        "HostMaintenanceSpec",
        Some("DynamicData"),
        &[
            opt("vsanMode", Data("VsanHostDecommissionMode")),
            opt("purpose", Str),
        ],
    ),
    data(
        "VsanHostDecommissionMode",
        Some("DynamicData"),
        &[req("objectAction", Str)],
    ),
    data(
        "HostFlagInfo",
        Some("DynamicData"),
        &[opt("backgroundSnapshotsEnabled", Bool)],
    ),
    // Clusters.
    data(
        "ComputeResourceConfigSpec",
        Some("DynamicData"),
        &[
            opt("vmSwapPlacement", Str),
            opt("spbmEnabled", Bool),
            opt("defaultHardwareVersionKey", Str),
            opt("maximumHardwareVersionKey", Str),
        ],
    ),
    data(
        "ClusterConfigSpecEx",
        Some("ComputeResourceConfigSpec"),
        &[
            opt("dasConfig", Data("ClusterDasConfigInfo")),
            opt("drsConfig", Data("ClusterDrsConfigInfo")),
            opt("inHciWorkflow", Bool),
        ],
    ),
    data(
        "ClusterConfigSpec",
        Some("DynamicData"),
        &[
            opt("dasConfig", Data("ClusterDasConfigInfo")),
            opt("drsConfig", Data("ClusterDrsConfigInfo")),
        ],
    ),
    data(
        "ClusterDasConfigInfo",
        Some("DynamicData"),
        &[
            opt("enabled", Bool),
            opt("vmMonitoring", Str),
            opt("hostMonitoring", Str),
            opt("vmComponentProtecting", Str),
            opt("failoverLevel", Int),
            opt("admissionControlEnabled", Bool),
        ],
    ),
    data(
        "ClusterDrsConfigInfo",
        Some("DynamicData"),
        &[
            opt("enabled", Bool),
            opt("enableVmBehaviorOverrides", Bool),
            opt("defaultVmBehavior", Enum("DrsBehavior")),
            opt("vmotionRate", Int),
            opt("scaleDescendantsShares", Str),
            arr("option", Data("OptionValue")),
        ],
    ),
    data(
        "OptionValue",
        Some("DynamicData"),
        &[req("key", Str), opt("value", Any)],
    ),
    // Events.
    data(
        "EventFilterSpec",
        Some("DynamicData"),
        &[
            opt("entity", Data("EventFilterSpecByEntity")),
            opt("time", Data("EventFilterSpecByTime")),
            opt("userName", Data("EventFilterSpecByUsername")),
            opt("eventChainId", Int),
            opt("alarm", MoRef),
            opt("scheduledTask", MoRef),
            opt("disableFullMessage", Bool),
            arr("category", Str),
            arr("type", Str),
            arr("tag", Str),
            arr("eventTypeId", Str),
            opt("maxCount", Int),
            opt("delayedInit", Bool),
        ],
    ),
    data(
        "EventFilterSpecByEntity",
        Some("DynamicData"),
        &[
            req("entity", MoRef),
            req("recursion", Enum("EventFilterSpecRecursionOption")),
        ],
    ),
    data(
        "EventFilterSpecByTime",
        Some("DynamicData"),
        &[opt("beginTime", DateTime), opt("endTime", DateTime)],
    ),
    data(
        "EventFilterSpecByUsername",
        Some("DynamicData"),
        &[req("systemUser", Bool), arr("userList", Str)],
    ),
    data(
        "LocalizableMessage",
        Some("DynamicData"),
        &[
            req("key", Str),
            arr("arg", Data("KeyAnyValue")),
            opt("message", Str),
        ],
    ),
    data(
        "KeyAnyValue",
        Some("DynamicData"),
        &[req("key", Str), req("value", Any)],
    ),
    data("LongValue", Some("DynamicData"), &[req("value", Long)]),
    // VMs: what CreateVM_Task reads.
    data(
        "VirtualMachineConfigSpec",
        Some("DynamicData"),
        &[
            opt("changeVersion", Str),
            opt("name", Str),
            opt("version", Str),
            opt("uuid", Str),
            opt("instanceUuid", Str),
            opt("guestId", Str),
            opt("annotation", Str),
            opt("files", Data("VirtualMachineFileInfo")),
            opt("numCPUs", Int),
            opt("numCoresPerSocket", Int),
            opt("memoryMB", Long),
            opt("memoryHotAddEnabled", Bool),
            opt("cpuHotAddEnabled", Bool),
            opt("firmware", Str),
            arr("deviceChange", Data("VirtualDeviceConfigSpec")),
        ],
    ),
    data(
        "VirtualMachineFileInfo",
        Some("DynamicData"),
        &[
            opt("vmPathName", Str),
            opt("snapshotDirectory", Str),
            opt("suspendDirectory", Str),
            opt("logDirectory", Str),
        ],
    ),
    data(
        "VirtualDeviceConfigSpec",
        Some("DynamicData"),
        &[
            opt("operation", Enum("VirtualDeviceConfigSpecOperation")),
            opt(
                "fileOperation",
                Enum("VirtualDeviceConfigSpecFileOperation"),
            ),
            req("device", Data("VirtualDevice")),
        ],
    ),
    data(
        "Description",
        Some("DynamicData"),
        &[req("label", Str), req("summary", Str)],
    ),
    data(
        "VirtualDevice",
        Some("DynamicData"),
        &[
            req("key", Int),
            opt("deviceInfo", Data("Description")),
            opt("backing", Data("VirtualDeviceBackingInfo")),
            opt("controllerKey", Int),
            opt("unitNumber", Int),
        ],
    ),
    data("VirtualDeviceBackingInfo", Some("DynamicData"), &[]),
    data(
        "VirtualDeviceFileBackingInfo",
        Some("VirtualDeviceBackingInfo"),
        &[req("fileName", Str), opt("datastore", MoRef)],
    ),
    data(
        "VirtualDiskFlatVer2BackingInfo",
        Some("VirtualDeviceFileBackingInfo"),
        &[
            req("diskMode", Str),
            opt("split", Bool),
            opt("writeThrough", Bool),
            opt("thinProvisioned", Bool),
            opt("eagerlyScrub", Bool),
            opt("uuid", Str),
        ],
    ),
    data(
        "VirtualDeviceDeviceBackingInfo",
        Some("VirtualDeviceBackingInfo"),
        &[req("deviceName", Str), opt("useAutoDetect", Bool)],
    ),
    data(
        "VirtualEthernetCardNetworkBackingInfo",
        Some("VirtualDeviceDeviceBackingInfo"),
        &[],
    ),
    data(
        "VirtualDisk",
        Some("VirtualDevice"),
        &[req("capacityInKB", Long), opt("capacityInBytes", Long)],
    ),
    data(
        "VirtualEthernetCard",
        Some("VirtualDevice"),
        &[
            opt("addressType", Str),
            opt("macAddress", Str),
            opt("wakeOnLanEnabled", Bool),
        ],
    ),
    data("VirtualE1000", Some("VirtualEthernetCard"), &[]),
    data("VirtualE1000e", Some("VirtualEthernetCard"), &[]),
    data("VirtualPCNet32", Some("VirtualEthernetCard"), &[]),
    data("VirtualVmxnet", Some("VirtualEthernetCard"), &[]),
    data("VirtualVmxnet3", Some("VirtualVmxnet"), &[]),
    data(
        "VirtualController",
        Some("VirtualDevice"),
        &[opt("busNumber", Int)],
    ),
    data(
        "VirtualSCSIController",
        Some("VirtualController"),
        &[
            opt("hotAddRemove", Bool),
            req("sharedBus", Enum("VirtualSCSISharing")),
        ],
    ),
    data(
        "VirtualLsiLogicController",
        Some("VirtualSCSIController"),
        &[],
    ),
    data(
        "VirtualLsiLogicSASController",
        Some("VirtualSCSIController"),
        &[],
    ),
    data(
        "ParaVirtualSCSIController",
        Some("VirtualSCSIController"),
        &[],
    ),
];

pub static ENUMS: &[EnumType] = &[
    EnumType {
        name: "DrsBehavior",
        values: &["manual", "partiallyAutomated", "fullyAutomated"],
    },
    EnumType {
        name: "HostLockdownMode",
        values: &["lockdownDisabled", "lockdownNormal", "lockdownStrict"],
    },
    EnumType {
        name: "EventFilterSpecRecursionOption",
        values: &["self", "children", "all"],
    },
    EnumType {
        name: "VirtualMachineMovePriority",
        values: &["lowPriority", "highPriority", "defaultPriority"],
    },
    EnumType {
        name: "VirtualDeviceConfigSpecOperation",
        values: &["add", "remove", "edit"],
    },
    EnumType {
        name: "VirtualDeviceConfigSpecFileOperation",
        values: &["create", "destroy", "replace"],
    },
    EnumType {
        name: "VirtualSCSISharing",
        values: &["noSharing", "virtualSharing", "physicalSharing"],
    },
    EnumType {
        name: "VirtualMachinePowerState",
        values: &["poweredOff", "poweredOn", "suspended"],
    },
];
