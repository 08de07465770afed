//! A SOAP 1.1 request envelope: its optional header and the one element in its body.
use super::namespaces::NS_SOAPENV;
use super::tree::{parse, Element, Limits, XmlError};

const NS_SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";

/// Why an envelope cannot be read; each maps to a SOAP fault code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// SOAP 1.2 or another envelope namespace: faultcode VersionMismatch.
    #[error("only SOAP 1.1 envelopes ({NS_SOAPENV}) are served, not {0}")]
    Version(String),
    #[error("the root element is {0}, not a SOAP Envelope")]
    NotEnvelope(String),
    #[error("the envelope has no Body")]
    NoBody,
    #[error("the envelope's Body is empty: it must hold the method's element")]
    EmptyBody,
}

impl EnvelopeError {
    /// SOAP 1.1's fault code for this error: the client sent something wrong.
    pub fn fault_code(&self) -> &'static str {
        match self {
            EnvelopeError::Version(_) => "soapenv:VersionMismatch",
            _ => "soapenv:Client",
        }
    }
}

pub struct Envelope {
    pub header: Option<Element>,
    pub body: Element,
}

pub fn read_envelope(xml: &[u8], limits: Limits) -> Result<Envelope, EnvelopeError> {
    let root = parse(xml, limits)?;
    if root.name != "Envelope" {
        return Err(EnvelopeError::NotEnvelope(root.name));
    }
    if root.ns != NS_SOAPENV {
        return Err(EnvelopeError::Version(if root.ns == NS_SOAP12 {
            "SOAP 1.2".into()
        } else {
            format!("the namespace '{}'", root.ns)
        }));
    }
    let mut header = None;
    let mut body = None;
    for c in root.children {
        if c.ns != NS_SOAPENV {
            continue;
        }
        match c.name.as_str() {
            "Header" => header = Some(c),
            "Body" => body = Some(c),
            _ => {}
        }
    }
    let body = body.ok_or(EnvelopeError::NoBody)?;
    let first = body
        .children
        .into_iter()
        .next()
        .ok_or(EnvelopeError::EmptyBody)?;
    Ok(Envelope {
        header,
        body: first,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(inner: &str) -> String {
        format!(r#"<soapenv:Envelope xmlns:soapenv="{NS_SOAPENV}">{inner}</soapenv:Envelope>"#)
    }

    #[test]
    fn the_body_element_is_found_and_bad_envelopes_say_why() {
        let e = read_envelope(
            env(r#"<soapenv:Header/><soapenv:Body><M xmlns="urn:vim25"><x>1</x></M></soapenv:Body>"#)
                .as_bytes(),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(
            (e.body.ns.as_str(), e.body.name.as_str()),
            ("urn:vim25", "M")
        );
        assert!(e.header.is_some());
        let err = |xml: &str| {
            read_envelope(xml.as_bytes(), Limits::default())
                .err()
                .unwrap()
        };
        assert_eq!(err(&env("")), EnvelopeError::NoBody);
        assert_eq!(err(&env("<soapenv:Body/>")), EnvelopeError::EmptyBody);
        assert_eq!(err("<M/>"), EnvelopeError::NotEnvelope("M".into()));
        let v12 =
            format!(r#"<s:Envelope xmlns:s="{NS_SOAP12}"><s:Body><M/></s:Body></s:Envelope>"#);
        assert_eq!(err(&v12).fault_code(), "soapenv:VersionMismatch");
    }
}
