//! VM operations: create, delete, reconfigure, power and migration.
mod create;
pub mod datastore_path;
mod delete;
mod migrate;
pub(crate) mod names;
mod power;
mod reconfigure;

pub use create::{FieldNames, NewDisk, NewNic, VmCreateSpec, CREATE, DEFAULT_GUEST, VCPUS_MAX};
pub use delete::IfPoweredOn;
pub use reconfigure::VmHardwareUpdate;
