//! The faults the binding raises (faults.rs and the `VimFault::new` calls), with the fields it
//! sets, their bases as vim25 has them, and the wrapper a fault inside a value travels in.
use super::decl::Ty::{Bool, Data, MoRef, Str};
use super::decl::{arr, data, opt, req, DataType};

pub static FAULT_TYPES: &[DataType] = &[
    data(
        "LocalizedMethodFault",
        Some("DynamicData"),
        &[
            req("fault", Data("MethodFault")),
            opt("localizedMessage", Str),
        ],
    ),
    // vim25's MethodFault derives from nothing.
    data(
        "MethodFault",
        None,
        &[
            opt("faultCause", Data("LocalizedMethodFault")),
            arr("faultMessage", Data("LocalizableMessage")),
        ],
    ),
    data("RuntimeFault", Some("MethodFault"), &[]),
    data("VimFault", Some("MethodFault"), &[]),
    data("InvalidRequest", Some("RuntimeFault"), &[]),
    data(
        "MethodNotFound",
        Some("InvalidRequest"),
        &[req("receiver", MoRef), req("method", Str)],
    ),
    data(
        "InvalidType",
        Some("InvalidRequest"),
        &[opt("argument", Str)],
    ),
    data(
        "ManagedObjectNotFound",
        Some("RuntimeFault"),
        &[req("obj", MoRef)],
    ),
    data(
        "InvalidArgument",
        Some("RuntimeFault"),
        &[opt("invalidProperty", Str)],
    ),
    data("SecurityError", Some("RuntimeFault"), &[]),
    data(
        "NoPermission",
        Some("SecurityError"),
        &[opt("object", MoRef), opt("privilegeId", Str)],
    ),
    data("NotAuthenticated", Some("NoPermission"), &[]),
    data("RequestCanceled", Some("RuntimeFault"), &[]),
    data("NotSupported", Some("RuntimeFault"), &[]),
    data("NotEnoughLicenses", Some("RuntimeFault"), &[]),
    data("SystemError", Some("RuntimeFault"), &[req("reason", Str)]),
    data("InvalidProperty", Some("MethodFault"), &[req("name", Str)]),
    data("InvalidCollectorVersion", Some("MethodFault"), &[]),
    data("NotFound", Some("VimFault"), &[]),
    data("InvalidState", Some("VimFault"), &[]),
    data("DuplicateName", Some("VimFault"), &[req("name", Str)]),
    data(
        "InvalidName",
        Some("VimFault"),
        &[req("name", Str), opt("entity", MoRef)],
    ),
    data("InvalidLogin", Some("VimFault"), &[]),
    data("Timedout", Some("VimFault"), &[]),
    data("HostConfigFault", Some("VimFault"), &[]),
    data("AdminDisabled", Some("HostConfigFault"), &[]),
    data("AdminNotDisabled", Some("HostConfigFault"), &[]),
    data("HostConnectFault", Some("VimFault"), &[]),
    data("NoHost", Some("HostConnectFault"), &[opt("name", Str)]),
    data(
        "SSLVerifyFault",
        Some("HostConnectFault"),
        &[req("selfSigned", Bool), opt("thumbprint", Str)],
    ),
    data(
        "AlreadyBeingManaged",
        Some("HostConnectFault"),
        &[req("ipAddress", Str)],
    ),
    data(
        "NotSupportedHost",
        Some("HostConnectFault"),
        &[opt("productName", Str), opt("productVersion", Str)],
    ),
    data(
        "AlreadyConnected",
        Some("HostConnectFault"),
        &[req("name", Str)],
    ),
];
