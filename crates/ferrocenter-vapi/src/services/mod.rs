//! The declared vAPI services, each a list of operations (see `registry.rs`), grouped by the
//! API they belong to. `catalog.rs` lists the ones served.
pub mod appliance;
pub mod cis;
pub mod sso;
pub mod std_types;
pub mod vcenter;
