//! The core's lookup records as the schema's data objects.
use ferrocenter_core::lookup::{Attribute, Endpoint, Registration};

use crate::encode::Value;
use crate::schema::{DEPLOYMENT_INFORMATION, L10N, LOOKUP_SERVICE, SERVICE_REGISTRATION};

/// `LookupServiceContent`: the managed objects a client starts from.
pub fn service_content() -> Value {
    Value::Data(
        "LookupServiceContent",
        vec![
            ("lookupService", Value::moref(LOOKUP_SERVICE)),
            ("serviceRegistration", Value::moref(SERVICE_REGISTRATION)),
            (
                "deploymentInformationService",
                Value::moref(DEPLOYMENT_INFORMATION),
            ),
            ("l10n", Value::moref(L10N)),
        ],
    )
}

fn attributes(list: &[Attribute]) -> Value {
    Value::List(
        list.iter()
            .map(|a| {
                Value::Data(
                    "LookupServiceRegistrationAttribute",
                    vec![("key", Value::str(&a.key)), ("value", Value::str(&a.value))],
                )
            })
            .collect(),
    )
}

fn endpoint(e: &Endpoint) -> Value {
    Value::Data(
        "LookupServiceRegistrationEndpoint",
        vec![
            ("url", Value::str(&e.url)),
            (
                "endpointType",
                Value::Data(
                    "LookupServiceRegistrationEndpointType",
                    vec![
                        ("protocol", Value::str(&e.endpoint_type.protocol)),
                        ("type", Value::str(&e.endpoint_type.type_)),
                    ],
                ),
            ),
            (
                "sslTrust",
                Value::List(e.ssl_trust.iter().map(Value::str).collect()),
            ),
            ("endpointAttributes", attributes(&e.attributes)),
        ],
    )
}

/// `LookupServiceRegistrationInfo`.
pub fn registration(r: &Registration) -> Value {
    Value::Data(
        "LookupServiceRegistrationInfo",
        vec![
            ("serviceVersion", Value::str(&r.service_version)),
            ("vendorNameDefault", Value::str("ferrocenter")),
            (
                "serviceEndpoints",
                Value::List(r.endpoints.iter().map(endpoint).collect()),
            ),
            ("serviceAttributes", attributes(&r.attributes)),
            ("serviceNameDefault", Value::str(&r.name)),
            ("serviceDescriptionDefault", Value::str(&r.description)),
            ("ownerId", Value::str(&r.owner_id)),
            (
                "serviceType",
                Value::Data(
                    "LookupServiceRegistrationServiceType",
                    vec![
                        ("product", Value::str(&r.service_type.product)),
                        ("type", Value::str(&r.service_type.type_)),
                    ],
                ),
            ),
            ("nodeId", Value::str(&r.node_id)),
            ("serviceId", Value::str(&r.service_id)),
            ("siteId", Value::str(&r.site_id)),
        ],
    )
}
