//! VM operations: create, delete, power and migration.
mod create;
mod delete;
mod migrate;
pub(crate) mod names;
mod power;

pub use create::{NewDisk, NewNic, VmCreateSpec, CREATE, DEFAULT_GUEST, VCPUS_MAX};
pub use delete::IfPoweredOn;
