//! Plumbing the protocol bindings share: reading request bodies, the wire time format, the
//! VI/JSON releases served, request logging, the caller's address, the per-address login
//! budget, a SAML token's `Authorization` header forms (also used by the agent), and the import-graph check each crate's tests run. It holds no rule of the control plane and no binding; a binding crate depends on this
//! one and on the core, never on another binding.

pub mod body;
pub mod import_graph;
pub mod logging;
pub mod login_limit;
pub mod peer;
pub mod releases;
pub mod saml_header;
pub mod soap;
pub mod time;
