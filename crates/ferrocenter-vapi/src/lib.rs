//! The vSphere Automation API binding: REST `/api` and `/rest`, and JSON-RPC on `POST /api`.
//!
//! Layers, each importing only those below it: `routes` → the front doors (`dispatch`,
//! `diagnostics`, `accounts`, `openapi`) → `catalog` (the services served) → `services/` (cis, vcenter,
//! appliance: operations and their handlers) → `registry` (what an operation is), `tasks`
//! (core tasks as cis.task.info) → `caller`, `types`, `params`, `errors`, `wire`, `state` →
//! `rules` (the core's input rules as field types).
mod accounts;
mod caller;
mod catalog;
mod diagnostics;
mod dispatch;
pub mod errors;
pub mod openapi;
mod params;
mod registry;
mod routes;
pub mod rules;
mod services;
mod state;
mod tasks;
pub mod types;
pub mod wire;

pub use errors::ApiError;
pub use registry::Catalog;
pub use routes::{appliance_route_table, appliance_routes, route_table, routes};
pub use services::appliance::planned::planned_at;
pub use state::VapiState;
