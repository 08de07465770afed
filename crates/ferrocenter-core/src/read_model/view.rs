//! What the read model holds: every host with its indexes, the names hosts are listed by
//! (their datacenter's and cluster's), and every resource's tags. Plain data changed only under
//! the read model's lock, by the same write that changed the store.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::matching::{self, Cell, Field};
use crate::hosts::Capacity;
use crate::inventory::query::{HostField, ListQuery, Page, QueryOp, QueryValue, TagKind};
use crate::inventory::{ConnectionState, Host, HostFacts, HostFilter, HostRuntime};
use crate::licensing::cpu_packages;
use crate::moids::listing_order;
use crate::to_millis;

/// A host's place in listing order: the number its moId ends with, then the moId.
type OrderKey = (i64, String);

#[derive(Debug, Default)]
struct Tags {
    system: BTreeSet<String>,
    user: BTreeSet<String>,
}

impl Tags {
    fn of(&self, kind: TagKind) -> &BTreeSet<String> {
        match kind {
            TagKind::System => &self.system,
            TagKind::User => &self.user,
        }
    }

    fn of_mut(&mut self, kind: TagKind) -> &mut BTreeSet<String> {
        match kind {
            TagKind::System => &mut self.system,
            TagKind::User => &mut self.user,
        }
    }
}

#[derive(Debug)]
pub(super) struct View {
    hosts: HashMap<String, Host>,
    order: BTreeMap<OrderKey, String>,
    by_moid: HashMap<String, String>,
    by_address: HashMap<(String, u16), String>,
    by_name: HashMap<(String, String), String>,
    datacenter_names: HashMap<String, String>,
    cluster_names: HashMap<String, String>,
    tags: HashMap<String, Tags>,
    /// vCPUs and memory of each host's powered-on VMs, as the store sums them (hosts without
    /// any are absent).
    usage: HashMap<String, (u64, u64)>,
    /// The CPU packages of the connected hosts (`licensing::cpu_packages`), summed as hosts
    /// change, for the license check every add makes.
    connected_packages: u64,
    /// The capacity rule's setting (`HostsConfig::cpu_overcommit_ratio`).
    cpu_overcommit_ratio: u32,
}

/// How many records the view holds, for the figures an operator sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewSize {
    pub hosts: usize,
    pub tagged_resources: usize,
    pub containers: usize,
    pub hosts_with_vm_usage: usize,
}

/// What a host adds to the licensed CPU packages in use: its packages while connected.
fn licensed(h: &Host) -> u64 {
    if h.connection_state == ConnectionState::Connected {
        u64::from(cpu_packages(h.facts.as_deref()))
    } else {
        0
    }
}

fn order_key(h: &Host) -> OrderKey {
    (listing_order(&h.moid), h.moid.clone())
}

fn filtered(h: &Host, f: &HostFilter) -> bool {
    f.datacenter_id
        .as_ref()
        .is_none_or(|d| *d == h.datacenter_id)
        && f.cluster_id
            .as_ref()
            .is_none_or(|c| h.cluster_id.as_ref() == Some(c))
        && f.connection_state.is_none_or(|s| s == h.connection_state)
}

impl View {
    pub(super) fn new(cpu_overcommit_ratio: u32) -> Self {
        View {
            hosts: HashMap::new(),
            order: BTreeMap::new(),
            by_moid: HashMap::new(),
            by_address: HashMap::new(),
            by_name: HashMap::new(),
            datacenter_names: HashMap::new(),
            cluster_names: HashMap::new(),
            tags: HashMap::new(),
            usage: HashMap::new(),
            connected_packages: 0,
            cpu_overcommit_ratio,
        }
    }

    pub(super) fn size(&self) -> ViewSize {
        ViewSize {
            hosts: self.hosts.len(),
            tagged_resources: self.tags.len(),
            containers: self.datacenter_names.len() + self.cluster_names.len(),
            hosts_with_vm_usage: self.usage.len(),
        }
    }

    // --- hosts -------------------------------------------------------------------------

    pub(super) fn put_host(&mut self, h: &Host) {
        self.unindex(&h.id);
        self.connected_packages += licensed(h);
        self.order.insert(order_key(h), h.id.clone());
        self.by_moid.insert(h.moid.clone(), h.id.clone());
        self.by_address
            .insert((h.address.clone(), h.port), h.id.clone());
        self.by_name
            .insert((h.datacenter_id.clone(), h.name.clone()), h.id.clone());
        self.hosts.insert(h.id.clone(), h.clone());
    }

    /// Drops a host's index entries and its share of the sums (not the host).
    fn unindex(&mut self, id: &str) {
        let Some(old) = self.hosts.get(id) else {
            return;
        };
        self.connected_packages = self.connected_packages.saturating_sub(licensed(old));
        self.order.remove(&order_key(old));
        self.by_moid.remove(&old.moid);
        self.by_address.remove(&(old.address.clone(), old.port));
        self.by_name
            .remove(&(old.datacenter_id.clone(), old.name.clone()));
    }

    pub(super) fn remove_host(&mut self, id: &str) {
        self.unindex(id);
        self.hosts.remove(id);
        self.tags.remove(id);
        // Its VMs went with it.
        self.usage.remove(id);
    }

    pub(super) fn set_usage(&mut self, host_id: &str, usage: Option<(u64, u64)>) {
        match usage {
            Some(u) => self.usage.insert(host_id.to_string(), u),
            None => self.usage.remove(host_id),
        };
    }

    pub(super) fn usage_of(&self, host_ids: &[String]) -> HashMap<String, (u64, u64)> {
        host_ids
            .iter()
            .filter_map(|id| Some((id.clone(), *self.usage.get(id)?)))
            .collect()
    }

    pub(super) fn observe_host(
        &mut self,
        id: &str,
        runtime: Option<&HostRuntime>,
        facts: Option<&HostFacts>,
        event_cursor: u64,
    ) {
        if let Some(h) = self.hosts.get_mut(id) {
            self.connected_packages = self.connected_packages.saturating_sub(licensed(h));
            h.runtime = runtime.cloned();
            if let Some(f) = facts {
                h.facts = Some(std::sync::Arc::new(f.clone()));
            }
            h.event_cursor = event_cursor;
            self.connected_packages += licensed(h);
        }
    }

    pub(super) fn note_counters(&mut self, id: &str, rt: &HostRuntime) {
        let Some(was) = self.hosts.get_mut(id).and_then(|h| h.runtime.as_mut()) else {
            return;
        };
        if was.same_state(rt) {
            was.uptime_secs = rt.uptime_secs;
            was.cpu_used_mhz = rt.cpu_used_mhz;
            was.memory_used_bytes = rt.memory_used_bytes;
        }
    }

    pub(super) fn set_connection(&mut self, id: &str, to: ConnectionState) {
        if let Some(h) = self.hosts.get_mut(id) {
            self.connected_packages = self.connected_packages.saturating_sub(licensed(h));
            h.connection_state = to;
            self.connected_packages += licensed(h);
        }
    }

    /// The licensed CPU packages of the connected hosts, but for `except`'s.
    pub(super) fn connected_cpu_packages(&self, except: Option<&str>) -> u64 {
        let theirs = except.and_then(|id| self.hosts.get(id)).map_or(0, licensed);
        self.connected_packages.saturating_sub(theirs)
    }

    pub(super) fn host(&self, id: &str) -> Option<Host> {
        self.hosts.get(id).cloned()
    }

    pub(super) fn host_by_moid(&self, moid: &str) -> Option<Host> {
        self.by_moid.get(moid).and_then(|id| self.host(id))
    }

    pub(super) fn host_by_address(&self, address: &str, port: u16) -> Option<Host> {
        self.by_address
            .get(&(address.to_string(), port))
            .and_then(|id| self.host(id))
    }

    pub(super) fn host_by_name(&self, datacenter_id: &str, name: &str) -> Option<Host> {
        self.by_name
            .get(&(datacenter_id.to_string(), name.to_string()))
            .and_then(|id| self.host(id))
    }

    fn hosts_in_order(&self) -> impl Iterator<Item = &Host> {
        self.order.values().filter_map(|id| self.hosts.get(id))
    }

    pub(super) fn list_hosts(&self, f: &HostFilter) -> Vec<Host> {
        let limit = f.limit.map_or(usize::MAX, |l| l as usize);
        self.hosts_in_order()
            .filter(|h| filtered(h, f))
            .skip(usize::try_from(f.offset).unwrap_or(usize::MAX))
            .take(limit)
            .cloned()
            .collect()
    }

    pub(super) fn count_hosts(&self, f: &HostFilter) -> u64 {
        self.hosts.values().filter(|h| filtered(h, f)).count() as u64
    }

    /// A host's field as the listing sees it.
    fn host_field<'a>(&'a self, h: &'a Host, f: HostField) -> Field<'a> {
        let v = |c| Field::Value(c);
        match f {
            HostField::Id => v(Cell::text(&h.id)),
            HostField::Moid => v(Cell::text(&h.moid)),
            HostField::Name => v(Cell::text(&h.name)),
            // A description never given is empty and compares as null (ZStack's null).
            HostField::Description => v(Cell::opt_text(
                Some(h.description.as_str()).filter(|d| !d.is_empty()),
            )),
            HostField::DatacenterId => v(Cell::text(&h.datacenter_id)),
            HostField::ClusterId => v(Cell::opt_text(h.cluster_id.as_deref())),
            HostField::Address => v(Cell::text(&h.address)),
            HostField::HypervisorType => v(Cell::text("KVM")),
            HostField::State => v(Cell::text(h.state.as_str())),
            HostField::Status => v(Cell::text(h.connection_state.zstack_status())),
            HostField::CreatedAt => v(Cell::Int(to_millis(h.created_at))),
            HostField::LastOpAt => v(Cell::Int(to_millis(h.last_op_at))),
            HostField::SshPort => v(Cell::Int(i64::from(h.ssh_port.unwrap_or(22)))),
            HostField::ClusterName => Field::Via(
                h.cluster_id
                    .as_ref()
                    .and_then(|c| self.cluster_names.get(c))
                    .map(|n| Cell::text(n)),
            ),
            HostField::DatacenterName => Field::Via(
                self.datacenter_names
                    .get(&h.datacenter_id)
                    .map(|n| Cell::text(n)),
            ),
            HostField::Tag(kind) => Field::Tags(self.tags.get(&h.id).map(|t| t.of(kind))),
            HostField::CpuNum
            | HostField::TotalCpuCapacity
            | HostField::AvailableCpuCapacity
            | HostField::TotalMemoryCapacity
            | HostField::AvailableMemoryCapacity => {
                let used = self.usage.get(&h.id).copied().unwrap_or((0, 0));
                let c = Capacity::of(h, used, self.cpu_overcommit_ratio);
                let n = match f {
                    HostField::CpuNum => c.cpu_num,
                    HostField::TotalCpuCapacity => c.total_cpu_capacity,
                    HostField::AvailableCpuCapacity => c.available_cpu_capacity,
                    HostField::TotalMemoryCapacity => c.total_memory_bytes,
                    _ => c.available_memory_bytes,
                };
                v(Cell::Int(i64::try_from(n).unwrap_or(i64::MAX)))
            }
        }
    }

    pub(super) fn query_hosts(&self, q: &ListQuery<HostField>) -> Page<Host> {
        // A condition naming ids or moIds picks its hosts through the indexes: a get by id
        // costs the same at any fleet size.
        let picked: Option<Vec<&Host>> = q.conditions.iter().find_map(|c| {
            if !matches!(c.op, QueryOp::Eq | QueryOp::In)
                || !matches!(c.field, HostField::Id | HostField::Moid)
            {
                return None;
            }
            let find = |v: &QueryValue| -> Option<&Host> {
                let QueryValue::Text(t) = v else { return None };
                match c.field {
                    HostField::Id => self.hosts.get(t.as_str()),
                    HostField::Moid => self
                        .by_moid
                        .get(t.as_str())
                        .and_then(|id| self.hosts.get(id)),
                    _ => None,
                }
            };
            let mut hosts: Vec<&Host> = c.values.iter().filter_map(find).collect();
            hosts.sort_by_key(|h| order_key(h));
            hosts.dedup_by(|a, b| a.id == b.id);
            Some(hosts)
        });
        match picked {
            Some(hosts) => matching::query(hosts.into_iter(), q, |h, f| self.host_field(h, f)),
            None => matching::query(self.hosts_in_order(), q, |h, f| self.host_field(h, f)),
        }
    }

    // --- containers and tags -----------------------------------------------------------

    pub(super) fn put_datacenter_name(&mut self, id: &str, name: &str) {
        self.datacenter_names
            .insert(id.to_string(), name.to_string());
    }

    pub(super) fn remove_datacenter(&mut self, id: &str) {
        self.datacenter_names.remove(id);
        self.tags.remove(id);
    }

    pub(super) fn put_cluster_name(&mut self, id: &str, name: &str) {
        self.cluster_names.insert(id.to_string(), name.to_string());
    }

    pub(super) fn remove_cluster(&mut self, id: &str) {
        self.cluster_names.remove(id);
        self.tags.remove(id);
    }

    pub(super) fn add_tags(&mut self, resource_id: &str, kind: TagKind, tags: &[String]) {
        if tags.is_empty() {
            return;
        }
        self.tags
            .entry(resource_id.to_string())
            .or_default()
            .of_mut(kind)
            .extend(tags.iter().cloned());
    }

    pub(super) fn tags_of(&self, resource_id: &str, kind: TagKind) -> Vec<String> {
        self.tags
            .get(resource_id)
            .map(|t| t.of(kind).iter().cloned().collect())
            .unwrap_or_default()
    }

    pub(super) fn remove_tags(&mut self, resource_id: &str) {
        self.tags.remove(resource_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{HostFacts, HostState};

    fn host(id: &str, packages: u32, state: ConnectionState) -> Host {
        let mut facts = HostFacts::default();
        facts.hardware.cpu_packages = packages;
        Host {
            id: id.into(),
            moid: format!("host-{}", id.len()),
            datacenter_id: "dc".into(),
            cluster_id: None,
            name: id.into(),
            description: String::new(),
            address: id.into(),
            port: 8443,
            thumbprint: String::new(),
            agent_user: String::new(),
            agent_secret: String::new(),
            connection_state: state,
            state: HostState::Enabled,
            previous_state: None,
            power_state: "poweredOn".into(),
            facts: Some(std::sync::Arc::new(facts)),
            runtime: None,
            management_ip: None,
            ssh_port: None,
            ssh_host_key: None,
            ssh_user: None,
            tags: Vec::new(),
            system_tags: Vec::new(),
            event_cursor: 0,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            last_op_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    /// The licensed packages in use follow connects, disconnects, new facts and removals
    /// without a look at every host.
    #[test]
    fn licensed_packages_follow_every_change() {
        let mut v = View::new(10);
        v.put_host(&host("a", 2, ConnectionState::Connected));
        v.put_host(&host("bb", 1, ConnectionState::Connecting));
        assert_eq!(v.connected_cpu_packages(None), 2);
        v.set_connection("bb", ConnectionState::Connected);
        assert_eq!(v.connected_cpu_packages(None), 3);
        assert_eq!(v.connected_cpu_packages(Some("a")), 1);
        let mut more = HostFacts::default();
        more.hardware.cpu_packages = 4;
        v.observe_host("bb", None, Some(&more), 0);
        assert_eq!(v.connected_cpu_packages(None), 6);
        v.set_connection("a", ConnectionState::NotResponding);
        assert_eq!(v.connected_cpu_packages(None), 4);
        // An update that rewrites the whole record replaces its share.
        v.put_host(&host("bb", 1, ConnectionState::Connected));
        assert_eq!(v.connected_cpu_packages(None), 1);
        v.remove_host("bb");
        assert_eq!(v.connected_cpu_packages(None), 0);
    }
}
