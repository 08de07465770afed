//! The namespaces SOAP 1.1 and XML Schema define.

pub const NS_SOAPENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
pub const NS_XSD: &str = "http://www.w3.org/2001/XMLSchema";
