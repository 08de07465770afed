//! Placement: where VMs go when a host is evacuated.
mod evacuation;

pub(crate) use evacuation::Refused;
