//! Destination choice: which host of the cluster takes each VM of an evacuated host.
use std::collections::HashSet;

use crate::inventory::{Host, VmInfo};

/// A candidate destination: the memory it still has free, as last seen minus what this
/// evacuation sends it, and how many VMs it was given this round.
pub(crate) struct Target {
    pub host: Host,
    free: u64,
    given: usize,
}

impl Target {
    pub fn new(host: Host, free: u64) -> Self {
        Target {
            host,
            free,
            given: 0,
        }
    }
}

/// (VM uuid, destination host id) pairs a destination refused during one evacuation.
pub(crate) type Refused = HashSet<(String, String)>;

/// Pairs each VM with a destination that has room for it and has not refused it. VMs no
/// destination can take are left out (they stay, and the evacuation waits).
pub(crate) fn choose(
    vms: Vec<VmInfo>,
    targets: &mut [Target],
    refused: &Refused,
) -> Vec<(VmInfo, Host)> {
    let mut queue = Vec::new();
    for vm in vms {
        let need = vm.running_memory_bytes();
        // The host given the fewest VMs so far, then the one with most free memory: spreads
        // the load across the cluster instead of filling the biggest host.
        if let Some(t) = targets
            .iter_mut()
            .filter(|t| t.free >= need && !refused.contains(&(vm.uuid.clone(), t.host.id.clone())))
            .min_by_key(|t| (t.given, std::cmp::Reverse(t.free)))
        {
            t.free -= need;
            t.given += 1;
            queue.push((vm, t.host.clone()));
        }
    }
    queue
}
