//! The one declaration of the Lookup Service's wire: its data types, faults and operations.
//! The WSDL (`wsdl.rs`) is generated from it, the encoder (`encode.rs`) writes nothing it does
//! not declare, in the order it declares, and the decoder (`decode.rs`) refuses what it does
//! not declare. Names and shapes are those of vCenter's `lookup.wsdl` (namespace `urn:lookup`)
//! as clients compiled against it (suds, JAX-WS, govmomi) send and expect them.

pub const NS: &str = "urn:lookup";
/// The SOAPAction the WSDL's binding names.
pub const SOAP_ACTION: &str = "urn:lookup/2.0";

/// The managed objects and their fixed ids (`LookupServiceContent` names them).
pub const SERVICE_INSTANCE: (&str, &str) = ("LookupServiceInstance", "ServiceInstance");
pub const SERVICE_REGISTRATION: (&str, &str) = ("LookupServiceRegistration", "ServiceRegistration");
pub const LOOKUP_SERVICE: (&str, &str) = ("LookupLookupService", "lookupService");
pub const DEPLOYMENT_INFORMATION: (&str, &str) = (
    "LookupDeploymentInformationService",
    "deploymentInformationService",
);
pub const L10N: (&str, &str) = ("LookupL10n", "l10n");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    String,
    AnyUri,
    MoRef,
    /// A data type (or fault) of [`TYPES`], by name.
    Data(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub optional: bool,
    pub many: bool,
}

const fn one(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        optional: false,
        many: false,
    }
}

const fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        optional: true,
        many: false,
    }
}

const fn many(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        optional: true,
        many: true,
    }
}

/// A complex type: its base (whose fields come first) and its own fields. Faults are data types
/// too; each has an element `<Name>Fault` for SOAP fault details.
#[derive(Debug)]
pub struct DataType {
    pub name: &'static str,
    pub base: Option<&'static str>,
    pub fields: &'static [Field],
    pub fault: bool,
}

const fn data(name: &'static str, base: &'static str, fields: &'static [Field]) -> DataType {
    DataType {
        name,
        base: Some(base),
        fields,
        fault: false,
    }
}

const fn fault(name: &'static str, base: &'static str, fields: &'static [Field]) -> DataType {
    DataType {
        name,
        base: Some(base),
        fields,
        fault: true,
    }
}

const S: Ty = Ty::String;
const ATTRIBUTE: Ty = Ty::Data("LookupServiceRegistrationAttribute");

pub const TYPES: &[DataType] = &[
    DataType {
        name: "DynamicData",
        base: None,
        fields: &[],
        fault: false,
    },
    data(
        "LookupServiceContent",
        "DynamicData",
        &[
            one("lookupService", Ty::MoRef),
            opt("serviceRegistration", Ty::MoRef),
            one("deploymentInformationService", Ty::MoRef),
            one("l10n", Ty::MoRef),
        ],
    ),
    data(
        "LookupServiceRegistrationAttribute",
        "DynamicData",
        &[one("key", S), one("value", S)],
    ),
    data(
        "LookupServiceRegistrationServiceType",
        "DynamicData",
        &[one("product", S), one("type", S)],
    ),
    data(
        "LookupServiceRegistrationEndpointType",
        "DynamicData",
        &[opt("protocol", S), opt("type", S)],
    ),
    data(
        "LookupServiceRegistrationEndpoint",
        "DynamicData",
        &[
            one("url", Ty::AnyUri),
            one(
                "endpointType",
                Ty::Data("LookupServiceRegistrationEndpointType"),
            ),
            many("sslTrust", S),
            many("endpointAttributes", ATTRIBUTE),
        ],
    ),
    data(
        "LookupServiceRegistrationMutableServiceInfo",
        "DynamicData",
        &[
            one("serviceVersion", S),
            opt("vendorNameResourceKey", S),
            opt("vendorNameDefault", S),
            opt("vendorProductInfoResourceKey", S),
            opt("vendorProductInfoDefault", S),
            many(
                "serviceEndpoints",
                Ty::Data("LookupServiceRegistrationEndpoint"),
            ),
            many("serviceAttributes", ATTRIBUTE),
            opt("serviceNameResourceKey", S),
            opt("serviceNameDefault", S),
            opt("serviceDescriptionResourceKey", S),
            opt("serviceDescriptionDefault", S),
        ],
    ),
    data(
        "LookupServiceRegistrationCommonServiceInfo",
        "LookupServiceRegistrationMutableServiceInfo",
        &[
            one("ownerId", S),
            one(
                "serviceType",
                Ty::Data("LookupServiceRegistrationServiceType"),
            ),
            opt("nodeId", S),
        ],
    ),
    data(
        "LookupServiceRegistrationInfo",
        "LookupServiceRegistrationCommonServiceInfo",
        &[one("serviceId", S), one("siteId", S)],
    ),
    data(
        "LookupServiceRegistrationFilter",
        "DynamicData",
        &[
            opt("siteId", S),
            opt("nodeId", S),
            opt(
                "serviceType",
                Ty::Data("LookupServiceRegistrationServiceType"),
            ),
            opt(
                "endpointType",
                Ty::Data("LookupServiceRegistrationEndpointType"),
            ),
        ],
    ),
    DataType {
        name: "MethodFault",
        base: None,
        fields: &[],
        fault: true,
    },
    fault("RuntimeFault", "MethodFault", &[]),
    fault("InvalidRequest", "RuntimeFault", &[]),
    fault(
        "MethodNotFound",
        "InvalidRequest",
        &[one("receiver", Ty::MoRef), one("method", S)],
    ),
    fault(
        "ManagedObjectNotFound",
        "RuntimeFault",
        &[one("obj", Ty::MoRef)],
    ),
    fault(
        "InvalidArgument",
        "RuntimeFault",
        &[opt("invalidProperty", S)],
    ),
    fault("NotSupported", "RuntimeFault", &[]),
    fault("SystemError", "RuntimeFault", &[one("reason", S)]),
    fault(
        "LookupFaultServiceFault",
        "MethodFault",
        &[opt("errorMessage", S)],
    ),
    fault(
        "LookupFaultEntryNotFoundFault",
        "LookupFaultServiceFault",
        &[one("name", S)],
    ),
];

/// One operation of the Lookup Service: the managed object type it is called on, its
/// parameters after `_this`, what it returns and the faults it declares.
#[derive(Debug)]
pub struct Operation {
    pub name: &'static str,
    pub receiver: (&'static str, &'static str),
    pub params: &'static [Field],
    pub returns: Option<Field>,
    pub faults: &'static [&'static str],
}

pub const OPERATIONS: &[Operation] = &[
    Operation {
        name: "RetrieveServiceContent",
        receiver: SERVICE_INSTANCE,
        params: &[],
        returns: Some(one("returnval", Ty::Data("LookupServiceContent"))),
        faults: &["RuntimeFault"],
    },
    Operation {
        name: "List",
        receiver: SERVICE_REGISTRATION,
        params: &[opt(
            "filterCriteria",
            Ty::Data("LookupServiceRegistrationFilter"),
        )],
        returns: Some(many("returnval", Ty::Data("LookupServiceRegistrationInfo"))),
        faults: &["RuntimeFault"],
    },
    Operation {
        name: "Get",
        receiver: SERVICE_REGISTRATION,
        params: &[one("serviceId", S)],
        returns: Some(one("returnval", Ty::Data("LookupServiceRegistrationInfo"))),
        faults: &["LookupFaultEntryNotFoundFault", "RuntimeFault"],
    },
    Operation {
        name: "GetSiteId",
        receiver: SERVICE_REGISTRATION,
        params: &[],
        returns: Some(one("returnval", S)),
        faults: &["RuntimeFault"],
    },
];

/// Operations of vCenter's `lookup.wsdl` not served: ferrocenter's registrations are its own
/// (no Create, Set, Delete by clients), and it has no HA backup or locale settings. They answer
/// a `NotSupported` fault naming them; any other name is `MethodNotFound`.
pub const NOT_SERVED: &[&str] = &[
    "Create",
    "Set",
    "Delete",
    "RetrieveHaBackupConfiguration",
    "GetLocale",
    "SetLocale",
];

pub fn data_type(name: &str) -> Option<&'static DataType> {
    TYPES.iter().find(|t| t.name == name)
}

pub fn operation(name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.name == name)
}

/// Every field of a type, its bases' first (the order of the schema's extensions).
pub fn all_fields(t: &DataType) -> Vec<Field> {
    let mut out = match t.base.and_then(data_type) {
        Some(b) => all_fields(b),
        None => vec![],
    };
    out.extend_from_slice(t.fields);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_type_is_declared_once() {
        let mut names: Vec<_> = TYPES.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TYPES.len());
        let refs = TYPES
            .iter()
            .flat_map(|t| t.fields.iter().map(|f| f.ty))
            .chain(
                OPERATIONS
                    .iter()
                    .flat_map(|o| o.params.iter().chain(o.returns.iter()).map(|f| f.ty)),
            );
        for ty in refs {
            if let Ty::Data(n) = ty {
                assert!(data_type(n).is_some(), "{n}");
            }
        }
        for t in TYPES {
            if let Some(b) = t.base {
                assert_eq!(data_type(b).map(|b| b.fault), Some(t.fault), "{}", t.name);
            }
        }
        for o in OPERATIONS {
            assert!(!NOT_SERVED.contains(&o.name));
            for f in o.faults {
                assert!(data_type(f).is_some_and(|t| t.fault), "{f}");
            }
        }
    }
}
