//! The Lookup Service binding (seeds/003 chapter 2): SOAP at `/lookupservice/sdk` and its WSDL
//! at `/lookupservice/wsdl/lookup.wsdl`. Which endpoints are registered and what a filter
//! matches are the core's rules (`ferrocenter_core::lookup`); this crate decodes envelopes,
//! calls the core and encodes answers and faults. docs/api/lookup.md lists what is served.
//!
//! Layers, each importing only those below it: `service` (routes and dispatch) → `decode`,
//! `render`, `faults`, `wsdl` → `encode` → `schema` (the one declaration of the wire's types
//! and operations, which the WSDL, the encoder and the decoder all read); `state` stands apart.
mod decode;
mod encode;
mod faults;
mod render;
mod schema;
mod service;
mod state;
mod wsdl;

pub use service::{routes, SDK_PATH, WSDL_PATH};
pub use state::LookupState;

/// The operations served and those of vCenter's `lookup.wsdl` answered `NotSupported`, for the
/// coverage table of docs/api/lookup.md.
pub fn coverage() -> (Vec<&'static str>, Vec<&'static str>) {
    (
        schema::OPERATIONS.iter().map(|o| o.name).collect(),
        schema::NOT_SERVED.to_vec(),
    )
}
