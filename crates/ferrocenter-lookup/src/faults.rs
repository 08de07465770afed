//! The one table from what can go wrong to the Lookup Service's faults: the core's errors, the
//! decoder's and the envelope reader's. Every fault is a SOAP 1.1 `soapenv:Fault` (HTTP 500,
//! text/xml) with the fault object in its `detail`, as vim's are; no internals travel in it.
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use ferrocenter_core::CoreError;
use ferrocenter_http::soap::envelope::EnvelopeError;
use ferrocenter_http::soap::fault_envelope;

use crate::decode::DecodeError;
use crate::encode::{write_fields, Value};
use crate::schema::{NS, SERVICE_INSTANCE};

pub const TEXT_XML: &str = "text/xml; charset=utf-8";

#[derive(Debug)]
pub struct LookupFault {
    code: &'static str,
    message: String,
    /// The fault's type in the schema, and its fields.
    type_: &'static str,
    fields: Vec<(&'static str, Value)>,
}

const SERVER: &str = "ServerFaultCode";

impl LookupFault {
    fn new(type_: &'static str, message: String, fields: Vec<(&'static str, Value)>) -> Self {
        LookupFault {
            code: SERVER,
            message,
            type_,
            fields,
        }
    }

    pub fn xml(&self) -> String {
        let mut inner = String::new();
        let detail = match write_fields(&mut inner, self.type_, &self.fields) {
            Ok(()) => Some(format!(
                r#"<{t}Fault xmlns="{NS}" xsi:type="{t}">{inner}</{t}Fault>"#,
                t = self.type_
            )),
            Err(e) => {
                tracing::error!(error = %e, fault = self.type_, "a lookup fault does not fit its declaration");
                None
            }
        };
        fault_envelope(self.code, &self.message, detail.as_deref())
    }
}

impl IntoResponse for LookupFault {
    fn into_response(self) -> Response {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, TEXT_XML)],
            self.xml(),
        )
            .into_response()
    }
}

impl From<CoreError> for LookupFault {
    fn from(e: CoreError) -> Self {
        let message = e.to_string();
        match e {
            CoreError::NotFound { id, .. } => LookupFault::new(
                "LookupFaultEntryNotFoundFault",
                message.clone(),
                vec![
                    ("errorMessage", Value::Str(message)),
                    ("name", Value::Str(id)),
                ],
            ),
            CoreError::InvalidArgument { field, .. } => LookupFault::new(
                "InvalidArgument",
                message,
                vec![("invalidProperty", Value::Str(field))],
            ),
            CoreError::NotSupported { .. } => LookupFault::new("NotSupported", message, vec![]),
            _ => LookupFault::new(
                "SystemError",
                message.clone(),
                vec![("reason", Value::Str(message))],
            ),
        }
    }
}

impl From<DecodeError> for LookupFault {
    fn from(e: DecodeError) -> Self {
        let message = e.to_string();
        match e {
            DecodeError::MethodNotFound { method, receiver } => {
                let (t, v) = receiver.unwrap_or_else(|| {
                    (
                        SERVICE_INSTANCE.0.to_string(),
                        SERVICE_INSTANCE.1.to_string(),
                    )
                });
                LookupFault::new(
                    "MethodNotFound",
                    message,
                    vec![
                        ("receiver", Value::MoRef(t, v)),
                        ("method", Value::Str(method)),
                    ],
                )
            }
            DecodeError::NotServed(_) => LookupFault::new("NotSupported", message, vec![]),
            DecodeError::NoSuchObject(t, v) => LookupFault::new(
                "ManagedObjectNotFound",
                message,
                vec![("obj", Value::MoRef(t, v))],
            ),
            DecodeError::Missing(ref p)
            | DecodeError::Unexpected(ref p)
            | DecodeError::NotText(ref p) => {
                let p = p.clone();
                LookupFault::new(
                    "InvalidArgument",
                    message,
                    vec![("invalidProperty", Value::Str(p))],
                )
            }
        }
    }
}

impl From<EnvelopeError> for LookupFault {
    fn from(e: EnvelopeError) -> Self {
        LookupFault {
            code: e.fault_code(),
            message: e.to_string(),
            type_: "InvalidRequest",
            fields: vec![],
        }
    }
}

/// A defect of this crate: the answer did not fit its declaration.
pub fn encoding(e: crate::encode::EncodeError) -> LookupFault {
    tracing::error!(error = %e, "a lookup answer does not fit its declaration");
    LookupFault::new(
        "SystemError",
        "the server could not encode its answer".into(),
        vec![(
            "reason",
            Value::str("the server could not encode its answer"),
        )],
    )
}
