//! Placement: where VMs go when a host is evacuated, and where a new VM goes.
mod destinations;
mod evacuation;
pub(crate) mod new_vm;

pub(crate) use destinations::Refused;
