//! The vim binding: vim25's managed objects, properties, methods and faults over the core.
//! Doors decode a wire format into one [`call::Call`]: VI/JSON (`json/`) and SOAP (`soap/`).
//! docs/api/vi-json.md lists what is served; every other method a served type defines answers
//! a `NotSupported` fault naming it.
//!
//! Layers, each importing only those below it: the doors (`json/`, `soap/`) → `service` (sessions and
//! dispatch) → `methods` → `collector` (PropertyCollector retrieval and waiting) → `read`
//! (every object's properties) → `filters`, `views` (the session's own objects) → `props`
//! (the inventory's properties) → `render`, `tasks`, `content`, `mo`, `names`, `ctx`,
//! `faults`, `session_objects`.
mod anyval;
mod call;
mod collector;
mod content;
mod ctx;
mod faults;
mod filters;
mod json;
mod methods;
mod mo;
mod names;
mod props;
mod read;
mod render;
mod reply;
mod schema;
mod service;
mod session_objects;
mod soap;
mod state;
mod tasks;
mod views;
mod vm_create;

pub use faults::{fault, VimFault};
pub use json::not_supported;
pub use names::properties;
pub use schema::undeclared;
pub use session_objects::CollectorState;
pub use state::VimState;

use axum::extract::FromRef;
use axum::Router;

/// Both doors' routes (VI/JSON and SOAP), for any router whose state hands out a [`VimState`].
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    VimState: FromRef<S>,
{
    json::routes().merge(soap::routes())
}
