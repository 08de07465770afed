//! One vim call as a door hands it to the binding, whichever wire it came in on.
use axum::http::{HeaderMap, Method};
use serde_json::Value;

/// One vim call, decoded.
pub struct Call {
    pub method: Method,
    pub mo_type: String,
    pub mo_id: String,
    pub name: String,
    /// Method parameters keyed by name; an absent body is an empty object.
    pub params: serde_json::Map<String, Value>,
    pub headers: HeaderMap,
    /// The caller's address (logins are counted by it).
    pub peer: Option<std::net::IpAddr>,
    /// The whole SOAP envelope, kept for `LoginByToken` only: its WS-Security header carries
    /// the token and the request's signature covers the Body. `None` on VI/JSON.
    pub envelope: Option<String>,
}
