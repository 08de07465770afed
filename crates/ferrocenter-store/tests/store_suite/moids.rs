//! Lookup by moId.
use std::sync::Arc;

use ferrocenter_core::inventory::FolderKind;
use ferrocenter_core::ports::{MoidEntity, MoidKind, Store};
use ferrocenter_core::tasks::TaskState;

use crate::fixtures::{cluster, datacenter, datastore, folder, host, network, task, vm};
use crate::Case;

pub(crate) const CASES: &[(&str, Case)] = crate::cases![entities_are_found_by_moid];

async fn entities_are_found_by_moid(s: Arc<dyn Store>) {
    let dc = datacenter("dc1", "datacenter-1", "One");
    s.insert_datacenter(&dc).await.unwrap();
    let c = cluster("c1", "domain-c2", "dc1", "C");
    s.insert_cluster(&c).await.unwrap();
    let h = host("h1", "host-3", "dc1", "10.0.0.1");
    s.insert_host(&h).await.unwrap();
    let v = vm("v1", "vm-4", "h1", "uuid-1", "web");
    s.insert_vm(&v).await.unwrap();
    let d = s
        .upsert_datastore(&datastore("ds1", "datastore-5", "dc1", "nfs", 1))
        .await
        .unwrap();
    let n = s
        .upsert_network(&network("n1", "network-6", "dc1", "VM Network", None))
        .await
        .unwrap();
    let f = folder("h7", None, Some("dc1"), FolderKind::Host, "host");
    s.insert_folder(&f).await.unwrap();
    let t = task("t1", "task-8", TaskState::Queued, 1_700_000_000_000);
    s.insert_task(&t).await.unwrap();
    let find = |k, m: &'static str| {
        let s = s.clone();
        async move { s.find_by_moid(k, m).await.unwrap() }
    };
    assert_eq!(
        find(MoidKind::Datacenter, "datacenter-1").await,
        Some(MoidEntity::Datacenter(dc))
    );
    assert_eq!(
        find(MoidKind::Cluster, "domain-c2").await,
        Some(MoidEntity::Cluster(c))
    );
    assert_eq!(
        find(MoidKind::Host, "host-3").await,
        Some(MoidEntity::Host(h))
    );
    assert_eq!(find(MoidKind::Vm, "vm-4").await, Some(MoidEntity::Vm(v)));
    assert_eq!(
        find(MoidKind::Datastore, "datastore-5").await,
        Some(MoidEntity::Datastore(d))
    );
    assert_eq!(
        find(MoidKind::Network, "network-6").await,
        Some(MoidEntity::Network(n))
    );
    assert_eq!(
        find(MoidKind::Folder, "group-h7").await,
        Some(MoidEntity::Folder(f))
    );
    assert_eq!(
        find(MoidKind::Task, "task-8").await,
        Some(MoidEntity::Task(t))
    );
    // A moId of another kind, or none at all, finds nothing.
    assert_eq!(find(MoidKind::Host, "vm-4").await, None);
    assert_eq!(find(MoidKind::Vm, "vm-404").await, None);
}
