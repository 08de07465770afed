//! Where a new VM goes: among the hosts that can hold it, the one with the most free memory.
use crate::inventory::Host;

/// A host that can hold the VM, with the memory it has free as last read.
pub(crate) struct Candidate {
    pub host: Host,
    pub free_memory: u64,
    /// The first datastore the host sees (the VM's files go there unless the spec says).
    pub first_ds: Option<String>,
}

/// The candidate with the most free memory that has `need` bytes free (0 for a VM created
/// powered off, which takes none); ties go to the lowest moId, so placement is repeatable.
pub(crate) fn choose_host(candidates: Vec<Candidate>, need: u64) -> Option<Candidate> {
    candidates
        .into_iter()
        .filter(|c| c.free_memory >= need)
        .max_by(|a, b| {
            a.free_memory.cmp(&b.free_memory).then_with(|| {
                crate::moids::number(&b.host.moid).cmp(&crate::moids::number(&a.host.moid))
            })
        })
}
