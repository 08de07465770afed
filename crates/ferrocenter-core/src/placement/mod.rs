//! Placement: where VMs go when a host is evacuated.
mod destinations;
mod evacuation;

pub(crate) use destinations::Refused;
