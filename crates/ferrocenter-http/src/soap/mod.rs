//! SOAP 1.1 plumbing shared by the SOAP doors (vim25 at `/sdk`, the Lookup Service): reading an
//! envelope into an element tree with limits, and writing envelopes and faults. What a body
//! element means is each door's business.
//!
//! quick-xml does the XML: it never fetches or expands anything beyond the five predefined
//! entities and character references, and a document type declaration is refused outright, so
//! an entity bomb or an external entity is a fault before anything is expanded.
pub mod envelope;
pub mod namespaces;
pub mod tree;
pub mod write;

pub use envelope::{read_envelope, Envelope};
pub use namespaces::{NS_SOAPENV, NS_XSD, NS_XSI};
pub use tree::{parse, Element, Limits, XmlError};
pub use write::{envelope, escape, fault_envelope};
