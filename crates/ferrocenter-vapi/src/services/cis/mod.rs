//! `com.vmware.cis`: sessions and tasks.
pub mod session;
pub mod tasks;
