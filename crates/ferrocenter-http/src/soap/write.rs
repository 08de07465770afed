//! Writing response envelopes and faults.
use std::borrow::Cow;

use super::namespaces::{NS_SOAPENV, NS_XSD, NS_XSI};

/// Text and attribute values escaped for XML.
pub fn escape(s: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(s)
}

/// A response envelope around `body` (already XML), declaring the prefixes replies use:
/// `soapenv`, `xsd` and `xsi`.
pub fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="{NS_SOAPENV}" xmlns:xsd="{NS_XSD}" xmlns:xsi="{NS_XSI}">
<soapenv:Body>
{body}
</soapenv:Body>
</soapenv:Envelope>"#
    )
}

/// A `soapenv:Fault` envelope; `detail` is XML placed inside `<detail>`.
pub fn fault_envelope(code: &str, message: &str, detail: Option<&str>) -> String {
    let detail = detail
        .map(|d| format!("<detail>{d}</detail>"))
        .unwrap_or_default();
    envelope(&format!(
        "<soapenv:Fault><faultcode>{}</faultcode><faultstring>{}</faultstring>{detail}</soapenv:Fault>",
        escape(code),
        escape(message)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::envelope::read_envelope;
    use crate::soap::tree::Limits;

    #[test]
    fn a_fault_reads_back() {
        let xml = fault_envelope("ServerFaultCode", "a < b & c", Some("<X/>"));
        let e = read_envelope(xml.as_bytes(), Limits::default()).unwrap();
        assert_eq!(e.body.name, "Fault");
        assert_eq!(e.body.child("faultstring").unwrap().text, "a < b & c");
        assert!(e.body.child("detail").unwrap().child("X").is_some());
    }
}
