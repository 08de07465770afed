//! The read model: an in-memory view of the inventory (hosts, the names they are listed by,
//! tags) in front of the store. It is itself a [`Store`]: every write goes to the store first
//! and, once the store has taken it, to the view, before the write returns, so a read after an
//! acknowledged write never sees older data; reads of hosts are answered from memory. The
//! store stays the source of truth: the view is built from it on first use and again after a
//! restore replaced the tables under it.
//!
//! Two writes of one record are applied to the view in the order the store took them (a lock
//! per record, held across both); building the view waits until no write is under way.
mod delegate;
mod matching;
mod view;

use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{Mutex, RwLock};

use crate::inventory::query::TagKind;
use crate::inventory::{HostFilter, HostRuntime};
use crate::ports::{HostRegistration, Store, StoreError};
use view::View;
pub use view::ViewSize;

/// Locks that order the writes of one record; records share them by hash.
const STRIPES: usize = 64;

fn stripe_of(key: &str) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() as usize) % STRIPES
}

pub struct ReadModel {
    store: Arc<dyn Store>,
    /// Writes hold it shared; building the view holds it alone.
    gate: RwLock<()>,
    stripes: Vec<Mutex<()>>,
    /// Locks that order the writes of one VM (apart from the hosts', which a VM's write takes
    /// while holding its own).
    vm_stripes: Vec<Mutex<()>>,
    loaded: AtomicBool,
    view: std::sync::RwLock<View>,
    cpu_overcommit_ratio: u32,
}

impl ReadModel {
    /// The store with a view in front (the view is built on first use); capacities are
    /// computed with `cpu_overcommit_ratio` (`HostsConfig`'s).
    pub fn wrap(store: Arc<dyn Store>, cpu_overcommit_ratio: u32) -> Arc<ReadModel> {
        Arc::new(ReadModel {
            store,
            gate: RwLock::new(()),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            vm_stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            loaded: AtomicBool::new(false),
            view: std::sync::RwLock::new(View::new(cpu_overcommit_ratio)),
            cpu_overcommit_ratio,
        })
    }

    /// Builds the view now if it is not built (a server does at start, so that the first
    /// request does not wait for it).
    pub async fn load(&self) -> Result<(), StoreError> {
        if self.loaded.load(Ordering::Acquire) {
            return Ok(());
        }
        let _alone = self.gate.write().await;
        if self.loaded.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut view = View::new(self.cpu_overcommit_ratio);
        for dc in self.store.list_datacenters().await? {
            view.put_datacenter_name(&dc.id, &dc.name);
        }
        for c in self.store.list_clusters(None).await? {
            view.put_cluster_name(&c.id, &c.name);
        }
        for (resource, kind, tag) in self.store.list_all_tags().await? {
            view.add_tags(&resource, kind, std::slice::from_ref(&tag));
        }
        let hosts = self.store.list_hosts(&HostFilter::default()).await?;
        let ids: Vec<String> = hosts.iter().map(|h| h.id.clone()).collect();
        for h in &hosts {
            view.put_host(h);
        }
        for (host, usage) in self.store.powered_on_usage(&ids).await? {
            view.set_usage(&host, Some(usage));
        }
        *self.write_view() = view;
        self.loaded.store(true, Ordering::Release);
        Ok(())
    }

    /// A heartbeat's reading that moved only the counters ([`HostRuntime::same_state`]): kept
    /// in the view and not written to the store. It replaces the counters only if the state
    /// the view holds is still the one the reading was compared with.
    pub fn note_counters(&self, host_id: &str, rt: &HostRuntime) {
        if self.loaded.load(Ordering::Acquire) {
            self.write_view().note_counters(host_id, rt);
        }
    }

    /// The licensed CPU packages of the connected hosts, but for `except`'s (the host an add
    /// or reconnect is about).
    pub async fn connected_cpu_packages(&self, except: Option<&str>) -> Result<u32, StoreError> {
        let n = self.read(|v| v.connected_cpu_packages(except)).await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// How much the view holds (zero until built).
    pub fn size(&self) -> ViewSize {
        self.read_view().size()
    }

    /// Forgets the view after something replaced the store's tables; the next read builds it.
    async fn rebuilt_after<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let _alone = self.gate.write().await;
        let r = op.await;
        self.loaded.store(false, Ordering::Release);
        *self.write_view() = View::new(self.cpu_overcommit_ratio);
        r
    }

    /// Runs a read on the view, building it first if needed.
    async fn read<T>(&self, f: impl FnOnce(&View) -> T) -> Result<T, StoreError> {
        self.load().await?;
        Ok(f(&self.read_view()))
    }

    /// A write of the record `key`: the store's, then (if the store took it and the view is
    /// built) the view's, under the record's lock.
    async fn write<T>(
        &self,
        key: &str,
        op: impl Future<Output = Result<T, StoreError>>,
        apply: impl FnOnce(&mut View, &T),
    ) -> Result<T, StoreError> {
        let _shared = self.gate.read().await;
        let _record = self.stripe(key).lock().await;
        let r = op.await?;
        if self.loaded.load(Ordering::Acquire) {
            apply(&mut self.write_view(), &r);
        }
        Ok(r)
    }

    /// A write of VMs: the store's, then each host whose VMs it changed (`hosts`: where the
    /// VMs were and where the write puts them) has its powered-on usage summed again by the
    /// store, under the host's lock, so the view holds the store's sum after this write. Were
    /// that sum not to be read, the view is dropped and built again at the next read rather
    /// than left stale; the write itself stands.
    async fn vm_write<T>(
        &self,
        hosts: Vec<String>,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let _shared = self.gate.read().await;
        let r = op.await?;
        self.sum_usage_again(hosts).await;
        Ok(r)
    }

    /// An add's registration: the host and its tags as `write` puts them, then the powered-on
    /// usage of the host and of any host its VMs were on before, as `vm_write` sums it.
    async fn register(&self, r: &HostRegistration) -> Result<(), StoreError> {
        // The VMs it moves are locked as a move of one VM locks it, in one order.
        let mut stripes: Vec<usize> = r.moved_vms.iter().map(|v| stripe_of(&v.id)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        let mut _vms = Vec::with_capacity(stripes.len());
        for s in stripes {
            _vms.push(self.vm_stripes[s].lock().await);
        }
        let mut hosts = vec![r.host.id.clone()];
        for v in &r.moved_vms {
            hosts.extend(self.host_of_vm(&v.id).await?);
        }
        let _shared = self.gate.read().await;
        {
            let _record = self.stripe(&r.host.id).lock().await;
            self.store.register_host(r).await?;
            if self.loaded.load(Ordering::Acquire) {
                let mut v = self.write_view();
                v.put_host(&r.host);
                v.add_tags(&r.host.id, TagKind::System, &r.host.system_tags);
                v.add_tags(&r.host.id, TagKind::User, &r.host.tags);
            }
        }
        self.sum_usage_again(hosts).await;
        Ok(())
    }

    /// Each of `hosts` has its powered-on usage summed by the store again (the caller holds
    /// the gate shared).
    async fn sum_usage_again(&self, mut hosts: Vec<String>) {
        if !self.loaded.load(Ordering::Acquire) {
            return;
        }
        hosts.sort();
        hosts.dedup();
        for host in hosts {
            let _record = self.stripe(&host).lock().await;
            match self
                .store
                .powered_on_usage(std::slice::from_ref(&host))
                .await
            {
                Ok(u) => self.write_view().set_usage(&host, u.get(&host).copied()),
                Err(e) => {
                    tracing::warn!(error = %e, host = %host, "read model: VM usage unread, rebuilding");
                    self.loaded.store(false, Ordering::Release);
                    break;
                }
            }
        }
    }

    /// The host a stored VM is on, for a write that may move or delete it.
    async fn host_of_vm(&self, vm_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .store
            .get_vm(vm_id)
            .await?
            .map(|v| v.host_id)
            .into_iter()
            .collect())
    }

    fn stripe(&self, key: &str) -> &Mutex<()> {
        &self.stripes[stripe_of(key)]
    }

    /// Held by a write of one VM from reading where it is to summing its hosts again, so that
    /// two moves of one VM cannot leave a host's sum from between them.
    async fn lock_vm(&self, vm_id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        self.vm_stripes[stripe_of(vm_id)].lock().await
    }

    // The view's changes do not panic (no unwrapping, no indexing); were one to, its lock's
    // poison is not turned into a failure of every later read.
    fn read_view(&self) -> std::sync::RwLockReadGuard<'_, View> {
        self.view
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_view(&self) -> std::sync::RwLockWriteGuard<'_, View> {
        self.view
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
