//! The ZStack REST binding (`/zstack/v1/…`): sessions, zones, clusters, hosts, read-only VMs
//! and jobs (docs/api/zstack.md).
//!
//! Layers, each importing only those below it: `routes` → the APIs (`session`, `zones`,
//! `clusters`, `hosts`, `host_actions`, `vms`) → `listing` (every query and get, once) and
//! `jobs` (202, polls, web hooks) → `caller`, `params`, `query`, `render`, `errors`, `state`,
//! `job_store`.
mod caller;
mod clusters;
mod errors;
mod host_actions;
mod hosts;
mod job_store;
mod jobs;
mod listing;
mod params;
mod query;
mod render;
mod routes;
mod session;
mod state;
mod vm_actions;
mod vms;
mod zones;

pub use job_store::{BadDestination, HookDestinations, JobStore, MAX_JOBS};
pub use routes::{loggable_path, no_api_mapping, routes};
pub use state::ZstackState;
