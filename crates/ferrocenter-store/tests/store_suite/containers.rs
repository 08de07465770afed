//! Datacenters, clusters and folders.
use std::sync::Arc;

use ferrocenter_core::inventory::{AdminState, AutomationLevel, Cluster, Datacenter, FolderKind};
use ferrocenter_core::ports::{Store, StoreError};

use crate::fixtures::{at, cluster, conflict, datacenter, datastore, folder, host, network};
use crate::Case;

pub(crate) const CASES: &[(&str, Case)] = crate::cases![
    datacenter_and_cluster_crud,
    non_empty_datacenters_and_clusters_are_kept,
    folders_nest_and_are_unique_per_parent,
];

async fn datacenter_and_cluster_crud(s: Arc<dyn Store>) {
    let mut dc = datacenter("dc1", "datacenter-1", "Zeta");
    s.insert_datacenter(&dc).await.unwrap();
    s.insert_datacenter(&datacenter("dc2", "datacenter-2", "Alpha"))
        .await
        .unwrap();
    assert_eq!(s.get_datacenter("dc1").await.unwrap(), Some(dc.clone()));
    assert_eq!(s.get_datacenter("nope").await.unwrap(), None);
    // Names, moIds and ids are unique.
    conflict(
        s.insert_datacenter(&datacenter("dc3", "datacenter-3", "Zeta"))
            .await,
    );
    conflict(
        s.insert_datacenter(&datacenter("dc3", "datacenter-1", "Other"))
            .await,
    );
    conflict(
        s.insert_datacenter(&datacenter("dc1", "datacenter-3", "Other"))
            .await,
    );
    let names = |v: Vec<Datacenter>| v.into_iter().map(|d| d.name).collect::<Vec<_>>();
    assert_eq!(
        names(s.list_datacenters().await.unwrap()),
        ["Alpha", "Zeta"]
    );

    dc.name = "Beta".into();
    dc.description = "renamed".into();
    dc.last_op_at = at(1_800_000_000_000);
    assert!(s.update_datacenter(&dc).await.unwrap());
    assert_eq!(s.get_datacenter("dc1").await.unwrap(), Some(dc.clone()));
    let mut clash = dc.clone();
    clash.name = "Alpha".into();
    conflict(s.update_datacenter(&clash).await);
    assert!(!s
        .update_datacenter(&datacenter("gone", "datacenter-9", "Gone"))
        .await
        .unwrap());

    let mut c = cluster("c1", "domain-c1", "dc1", "Prod");
    s.insert_cluster(&c).await.unwrap();
    assert_eq!(s.get_cluster("c1").await.unwrap(), Some(c.clone()));
    // Cluster names are unique per datacenter only.
    conflict(
        s.insert_cluster(&cluster("c2", "domain-c2", "dc1", "Prod"))
            .await,
    );
    s.insert_cluster(&cluster("c2", "domain-c2", "dc2", "Prod"))
        .await
        .unwrap();
    s.insert_cluster(&cluster("c3", "domain-c3", "dc1", "Dev"))
        .await
        .unwrap();
    conflict(
        s.insert_cluster(&cluster("c4", "domain-c1", "dc1", "Test"))
            .await,
    );
    // A cluster in an unknown datacenter is refused.
    conflict(
        s.insert_cluster(&cluster("c5", "domain-c5", "nodc", "Test"))
            .await,
    );
    let ids = |v: Vec<Cluster>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_clusters(Some("dc1")).await.unwrap()),
        ["c3", "c1"]
    );
    assert_eq!(ids(s.list_clusters(Some("dc2")).await.unwrap()), ["c2"]);
    assert_eq!(
        ids(s.list_clusters(None).await.unwrap()),
        ["c3", "c1", "c2"]
    );
    assert!(s.list_clusters(Some("nope")).await.unwrap().is_empty());

    c.name = "Production".into();
    c.description = "the big one".into();
    c.automation_level = AutomationLevel::FullyAutomated;
    c.hypervisor_type = "KVM-9".into();
    c.state = AdminState::Disabled;
    c.last_op_at = at(1_800_000_000_000);
    assert!(s.update_cluster(&c).await.unwrap());
    assert_eq!(s.get_cluster("c1").await.unwrap(), Some(c.clone()));
    let mut clash = c.clone();
    clash.name = "Dev".into();
    conflict(s.update_cluster(&clash).await);

    assert!(s.delete_cluster("c3").await.unwrap());
    assert!(!s.delete_cluster("c3").await.unwrap());
    assert_eq!(s.get_cluster("c3").await.unwrap(), None);
    assert!(s.delete_cluster("c1").await.unwrap());
    assert!(s.delete_cluster("c2").await.unwrap());
    assert!(s.delete_datacenter("dc2").await.unwrap());
    assert!(!s.delete_datacenter("dc2").await.unwrap());
    assert_eq!(names(s.list_datacenters().await.unwrap()), ["Beta"]);
}

async fn non_empty_datacenters_and_clusters_are_kept(s: Arc<dyn Store>) {
    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "DC"))
        .await
        .unwrap();
    s.insert_cluster(&cluster("c1", "domain-c1", "dc1", "C"))
        .await
        .unwrap();
    // A datacenter with a cluster.
    conflict(s.delete_datacenter("dc1").await);
    let mut h = host("h1", "host-1", "dc1", "10.0.0.1");
    h.cluster_id = Some("c1".into());
    s.insert_host(&h).await.unwrap();
    // A cluster with a host.
    conflict(s.delete_cluster("c1").await);
    assert!(s.get_cluster("c1").await.unwrap().is_some());
    // A datacenter with a standalone host only.
    h.cluster_id = None;
    assert!(s.update_host(&h).await.unwrap());
    assert!(s.delete_cluster("c1").await.unwrap());
    conflict(s.delete_datacenter("dc1").await);
    assert!(s.get_datacenter("dc1").await.unwrap().is_some());
    assert!(s.delete_host("h1").await.unwrap());
    // Datastores and networks do not keep a datacenter: they go with it.
    s.upsert_datastore(&datastore("ds1", "datastore-1", "dc1", "nfs", 1))
        .await
        .unwrap();
    s.upsert_network(&network("n1", "network-1", "dc1", "br0", None))
        .await
        .unwrap();
    assert!(s.delete_datacenter("dc1").await.unwrap());
    assert!(s.list_datastores(None).await.unwrap().is_empty());
    assert!(s.list_networks(None).await.unwrap().is_empty());
}

async fn folders_nest_and_are_unique_per_parent(s: Arc<dyn Store>) {
    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "dc1"))
        .await
        .unwrap();
    let root = folder("d1", None, None, FolderKind::Datacenter, "Datacenters");
    s.insert_folder(&root).await.unwrap();
    let hf = folder("h2", None, Some("dc1"), FolderKind::Host, "host");
    s.insert_folder(&hf).await.unwrap();
    let sub = folder("h3", Some("h2"), Some("dc1"), FolderKind::Host, "rack");
    s.insert_folder(&sub).await.unwrap();
    assert_eq!(s.get_folder("h3").await.unwrap(), Some(sub.clone()));
    assert!(matches!(
        s.insert_folder(&folder(
            "h4",
            Some("h2"),
            Some("dc1"),
            FolderKind::Host,
            "rack"
        ))
        .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.list_folders(None).await.unwrap(), vec![root]);
    assert_eq!(s.list_folders(Some("h2")).await.unwrap(), vec![sub]);
    assert_eq!(s.folders_of_datacenter("dc1").await.unwrap().len(), 2);
    assert!(matches!(
        s.delete_folder("h2").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(s.delete_folder("h3").await.unwrap());
    assert!(s.delete_folder("h2").await.unwrap());
    s.insert_folder(&folder("h5", None, Some("dc1"), FolderKind::Host, "host"))
        .await
        .unwrap();
    // Deleting the datacenter takes its folders with it.
    assert!(s.delete_datacenter("dc1").await.unwrap());
    assert!(s.folders_of_datacenter("dc1").await.unwrap().is_empty());
}
