//! Datastores, networks and the hosts that see them.
use std::sync::Arc;

use ferrocenter_core::inventory::{Datastore, Host, Network};
use ferrocenter_core::ports::Store;

use crate::fixtures::{at, conflict, datacenter, datastore, host, network};
use crate::Case;

pub(crate) const CASES: &[(&str, Case)] = crate::cases![
    datastores_upsert_and_host_links,
    networks_upsert_and_host_links,
    hosts_of_datastores_and_networks,
];

async fn datastores_upsert_and_host_links(s: Arc<dyn Store>) {
    for (id, moid, name) in [
        ("dc1", "datacenter-1", "One"),
        ("dc2", "datacenter-2", "Two"),
    ] {
        s.insert_datacenter(&datacenter(id, moid, name))
            .await
            .unwrap();
    }
    s.insert_host(&host("h1", "host-1", "dc1", "10.0.0.1"))
        .await
        .unwrap();
    let first = datastore("ds1", "datastore-1", "dc1", "nfs-a", 100);
    assert_eq!(s.upsert_datastore(&first).await.unwrap(), first);
    // The same datacenter and name: the existing row keeps its id, moId and creation time, and
    // its capacity, free space, url, kind and last operation are refreshed.
    let mut again = datastore("ds-new", "datastore-9", "dc1", "nfs-a", 42);
    again.url = "nfs://server/export".into();
    again.kind = "NFS41".into();
    again.capacity_bytes = 2 << 40;
    again.created_at = at(1_900_000_000_000);
    again.last_op_at = at(1_900_000_000_500);
    let got = s.upsert_datastore(&again).await.unwrap();
    let expected = Datastore {
        id: "ds1".into(),
        moid: "datastore-1".into(),
        created_at: first.created_at,
        ..again.clone()
    };
    assert_eq!(got, expected);
    assert_eq!(
        s.list_datastores(Some("dc1")).await.unwrap(),
        vec![expected.clone()]
    );
    // The same name in another datacenter is another datastore.
    let other_dc = datastore("ds2", "datastore-2", "dc2", "nfs-a", 7);
    assert_eq!(s.upsert_datastore(&other_dc).await.unwrap(), other_dc);
    let local = datastore("ds3", "datastore-3", "dc1", "local", 5);
    s.upsert_datastore(&local).await.unwrap();
    // A new datastore may not take another's moId.
    conflict(
        s.upsert_datastore(&datastore("ds4", "datastore-3", "dc1", "x", 1))
            .await,
    );
    let ids = |v: Vec<Datastore>| v.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_datastores(Some("dc1")).await.unwrap()),
        ["ds3", "ds1"]
    );
    assert_eq!(ids(s.list_datastores(Some("dc2")).await.unwrap()), ["ds2"]);
    assert_eq!(
        ids(s.list_datastores(None).await.unwrap()),
        ["ds3", "ds1", "ds2"]
    );

    assert!(s.datastores_of_host("h1").await.unwrap().is_empty());
    s.set_host_datastores("h1", &["ds1".into(), "ds3".into(), "ds1".into()])
        .await
        .unwrap();
    assert_eq!(
        ids(s.datastores_of_host("h1").await.unwrap()),
        ["ds3", "ds1"]
    );
    // Replaces, not adds.
    s.set_host_datastores("h1", &["ds2".into()]).await.unwrap();
    assert_eq!(ids(s.datastores_of_host("h1").await.unwrap()), ["ds2"]);
    // An unknown datastore is refused and the previous set stays.
    assert!(s
        .set_host_datastores("h1", &["ds1".into(), "nope".into()])
        .await
        .is_err());
    assert_eq!(ids(s.datastores_of_host("h1").await.unwrap()), ["ds2"]);
    s.set_host_datastores("h1", &[]).await.unwrap();
    assert!(s.datastores_of_host("h1").await.unwrap().is_empty());
}

async fn networks_upsert_and_host_links(s: Arc<dyn Store>) {
    for (id, moid, name) in [
        ("dc1", "datacenter-1", "One"),
        ("dc2", "datacenter-2", "Two"),
    ] {
        s.insert_datacenter(&datacenter(id, moid, name))
            .await
            .unwrap();
    }
    s.insert_host(&host("h1", "host-1", "dc1", "10.0.0.1"))
        .await
        .unwrap();
    let first = network("n1", "network-1", "dc1", "vlan10", Some(10));
    assert_eq!(s.upsert_network(&first).await.unwrap(), first);
    let mut again = network("n-new", "network-9", "dc1", "vlan10", None);
    again.kind = "ovs".into();
    again.created_at = at(1_900_000_000_000);
    again.last_op_at = at(1_900_000_000_500);
    let got = s.upsert_network(&again).await.unwrap();
    let expected = Network {
        id: "n1".into(),
        moid: "network-1".into(),
        created_at: first.created_at,
        ..again.clone()
    };
    assert_eq!(got, expected);
    assert_eq!(
        s.list_networks(Some("dc1")).await.unwrap(),
        vec![expected.clone()]
    );
    let max_vlan = network("n2", "network-2", "dc2", "vlan10", Some(u16::MAX));
    assert_eq!(s.upsert_network(&max_vlan).await.unwrap(), max_vlan);
    s.upsert_network(&network("n3", "network-3", "dc1", "br0", None))
        .await
        .unwrap();
    conflict(
        s.upsert_network(&network("n4", "network-3", "dc1", "x", None))
            .await,
    );
    let ids = |v: Vec<Network>| v.into_iter().map(|n| n.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_networks(Some("dc1")).await.unwrap()),
        ["n3", "n1"]
    );
    assert_eq!(ids(s.list_networks(Some("dc2")).await.unwrap()), ["n2"]);
    assert_eq!(
        ids(s.list_networks(None).await.unwrap()),
        ["n3", "n1", "n2"]
    );

    s.set_host_networks("h1", &["n1".into(), "n3".into()])
        .await
        .unwrap();
    assert_eq!(ids(s.networks_of_host("h1").await.unwrap()), ["n3", "n1"]);
    s.set_host_networks("h1", &["n2".into()]).await.unwrap();
    assert_eq!(ids(s.networks_of_host("h1").await.unwrap()), ["n2"]);
    assert!(s
        .set_host_networks("h1", &["n1".into(), "nope".into()])
        .await
        .is_err());
    assert_eq!(ids(s.networks_of_host("h1").await.unwrap()), ["n2"]);
    s.set_host_networks("h1", &[]).await.unwrap();
    assert!(s.networks_of_host("h1").await.unwrap().is_empty());
}

async fn hosts_of_datastores_and_networks(s: Arc<dyn Store>) {
    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "One"))
        .await
        .unwrap();
    for (id, moid, addr) in [
        ("h10", "host-10", "10.0.0.10"),
        ("h2", "host-2", "10.0.0.2"),
        ("h3", "host-3", "10.0.0.3"),
    ] {
        s.insert_host(&host(id, moid, "dc1", addr)).await.unwrap();
    }
    s.upsert_datastore(&datastore("ds1", "datastore-1", "dc1", "nfs", 1))
        .await
        .unwrap();
    s.upsert_network(&network("n1", "network-1", "dc1", "VM Network", None))
        .await
        .unwrap();
    s.set_host_datastores("h10", &["ds1".into()]).await.unwrap();
    s.set_host_datastores("h2", &["ds1".into()]).await.unwrap();
    s.set_host_networks("h3", &["n1".into()]).await.unwrap();
    let ids = |v: Vec<Host>| v.into_iter().map(|h| h.id).collect::<Vec<_>>();
    // Ordered by moId number, not text.
    assert_eq!(
        ids(s.hosts_of_datastore("ds1").await.unwrap()),
        ["h2", "h10"]
    );
    assert_eq!(ids(s.hosts_of_network("n1").await.unwrap()), ["h3"]);
    assert!(s.hosts_of_network("nope").await.unwrap().is_empty());
}
