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

/// Mutated requests (bytes flipped, dropped, duplicated, truncated) never panic the envelope
/// reader, the decoder or the fault encoder: each is a request or one fault.
#[cfg(test)]
mod fuzz {
    use super::LookupFault;
    use crate::decode::decode;
    use ferrocenter_http::soap::{read_envelope, Limits};

    /// xorshift64*: reproducible without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const SEEDS: &[&str] = &[
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><List xmlns="urn:lookup"><_this type="LookupServiceRegistration">ServiceRegistration</_this><filterCriteria><nodeId>n</nodeId><serviceType><product>com.vmware.cis</product><type>cs.vapi</type></serviceType><endpointType><protocol>vmomi</protocol></endpointType></filterCriteria></List></s:Body></s:Envelope>"#,
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Get xmlns="urn:lookup"><_this type="LookupServiceRegistration">ServiceRegistration</_this><serviceId>a&amp;b</serviceId></Get></s:Body></s:Envelope>"#,
        r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/><s:Body><RetrieveServiceContent xmlns="urn:lookup"><_this type="LookupServiceInstance">ServiceInstance</_this></RetrieveServiceContent></s:Body></s:Envelope>"#,
    ];
    const PIECES: &[&[u8]] = &[
        b"<",
        b">",
        b"/",
        b"&",
        b";",
        b"\"",
        b"'",
        b"<!DOCTYPE x [<!ENTITY a \"b\">]>",
        b"&a;",
        b"&#0;",
        b"&#x110000;",
        b"<![CDATA[",
        b"]]>",
        b"xmlns:p=\"\"",
        b"p:",
        b"\xff\xfe",
        b"\0",
    ];

    #[test]
    fn mutated_requests_are_requests_or_faults() {
        let mut rng = Rng(0x5EED_1007_u64);
        let limits = Limits {
            max_depth: 16,
            max_elements: 1_000,
        };
        let mut tried = 0usize;
        let (mut decoded, mut faults) = (0usize, 0usize);
        for _ in 0..20_000 {
            let mut doc = SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec();
            for _ in 0..=rng.below(4) {
                let at = rng.below(doc.len() + 1);
                match rng.below(4) {
                    0 if at < doc.len() => doc[at] = (rng.next() & 0xff) as u8,
                    1 => {
                        let end = (at + rng.below(16)).min(doc.len());
                        doc.drain(at..end);
                    }
                    2 => {
                        let p = PIECES[rng.below(PIECES.len())];
                        doc.splice(at..at, p.iter().copied());
                    }
                    _ => doc.truncate(at),
                }
            }
            tried += 1;
            match read_envelope(&doc, limits) {
                Err(e) => {
                    assert!(LookupFault::from(e).xml().contains("<soapenv:Fault>"));
                    faults += 1;
                }
                Ok(env) => match decode(&env.body) {
                    Ok(_) => decoded += 1,
                    Err(e) => {
                        assert!(LookupFault::from(e).xml().contains("<soapenv:Fault>"));
                        faults += 1;
                    }
                },
            }
        }
        eprintln!("lookup decoder fuzz: {tried} inputs, {decoded} requests, {faults} faults");
        assert_eq!(tried, decoded + faults);
        assert!(decoded > 0 && faults > 0);
    }
}
