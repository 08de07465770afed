//! Hosts.
use std::sync::Arc;

use ferrocenter_core::inventory::{
    ConnectionState, Host, HostFacts, HostFilter, HostRuntime, HostState, VmRecord,
};
use ferrocenter_core::ports::Store;

use crate::fixtures::{
    at, cluster, conflict, cpus, datacenter, datastore, full_facts, full_runtime, host, network, vm,
};
use crate::Case;

pub(crate) const CASES: &[(&str, Case)] = crate::cases![
    hosts_round_trip_every_field,
    hosts_are_unique_per_address_and_port,
    heartbeat_writes_leave_operation_fields_alone,
    host_listing_filters_pages_and_orders,
    deleting_a_host_removes_its_vms_and_links,
];

async fn hosts_round_trip_every_field(s: Arc<dyn Store>) {
    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "DC"))
        .await
        .unwrap();
    s.insert_cluster(&cluster("c1", "domain-c1", "dc1", "C"))
        .await
        .unwrap();
    // Every optional field unset.
    let bare = host("h1", "host-1", "dc1", "kvm1.example.com");
    s.insert_host(&bare).await.unwrap();
    assert_eq!(s.get_host("h1").await.unwrap(), Some(bare.clone()));
    // Every field set, with values near their type's limits.
    let full = Host {
        id: "h2".into(),
        moid: "host-2".into(),
        datacenter_id: "dc1".into(),
        cluster_id: Some("c1".into()),
        name: "kvm2".into(),
        description: "rack 4, ünïcode".into(),
        address: "10.0.0.2".into(),
        port: u16::MAX,
        thumbprint: "12:34:56".into(),
        agent_user: "svc-ferrocenter".into(),
        agent_secret: "sealed:abc".into(),
        connection_state: ConnectionState::NotResponding,
        state: HostState::PreMaintenance,
        previous_state: Some(HostState::Disabled),
        power_state: "standBy".into(),
        facts: Some(Arc::new(full_facts())),
        runtime: Some(full_runtime()),
        management_ip: Some("192.168.1.2".into()),
        ssh_port: Some(2222),
        ssh_host_key: Some("SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s".into()),
        ssh_user: Some("root".into()),
        tags: vec!["gpu".into(), "rack:4".into()],
        system_tags: vec!["ferrocenter:managed".into()],
        event_cursor: i64::MAX as u64,
        created_at: at(1_700_000_009_000),
        last_op_at: at(1_700_000_009_999),
    };
    s.insert_host(&full).await.unwrap();
    assert_eq!(s.get_host("h2").await.unwrap(), Some(full.clone()));
    assert_eq!(
        s.find_host_by_address("10.0.0.2", u16::MAX).await.unwrap(),
        Some(full.clone())
    );
    assert_eq!(
        s.find_host_by_address("10.0.0.2", 8443).await.unwrap(),
        None
    );
    assert_eq!(s.get_host("missing").await.unwrap(), None);

    // Updates write every field but id, moid and created_at; setting back to None works.
    let mut updated = bare.clone();
    updated.cluster_id = Some("c1".into());
    updated.name = "renamed".into();
    updated.description = "d".into();
    updated.address = "kvm1b.example.com".into();
    updated.port = 9443;
    updated.thumbprint = "FF".into();
    updated.agent_user = "u2".into();
    updated.agent_secret = "sealed:2".into();
    updated.connection_state = ConnectionState::Disconnected;
    updated.state = HostState::Maintenance;
    updated.previous_state = Some(HostState::Enabled);
    updated.power_state = "poweredOff".into();
    updated.facts = Some(Arc::new(HostFacts {
        hostname: "k".into(),
        ..HostFacts::default()
    }));
    updated.runtime = Some(HostRuntime {
        vm_count: 3,
        ..HostRuntime::default()
    });
    updated.management_ip = Some("fe80::1".into());
    updated.ssh_port = Some(22);
    updated.ssh_host_key = Some("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU".into());
    updated.ssh_user = Some("deploy".into());
    updated.tags = vec!["a".into()];
    updated.system_tags = vec!["b".into(), "c".into()];
    updated.event_cursor = 77;
    updated.last_op_at = at(1_800_000_000_000);
    assert!(s.update_host(&updated).await.unwrap());
    assert_eq!(s.get_host("h1").await.unwrap(), Some(updated.clone()));
    let mut cleared = full.clone();
    cleared.cluster_id = None;
    cleared.previous_state = None;
    cleared.facts = None;
    cleared.runtime = None;
    cleared.management_ip = None;
    cleared.ssh_port = None;
    cleared.ssh_host_key = None;
    cleared.ssh_user = None;
    cleared.tags = Vec::new();
    cleared.system_tags = Vec::new();
    assert!(s.update_host(&cleared).await.unwrap());
    assert_eq!(s.get_host("h2").await.unwrap(), Some(cleared));
    assert!(!s
        .update_host(&host("nope", "host-99", "dc1", "x"))
        .await
        .unwrap());
    // A host must be in a known datacenter and cluster.
    conflict(
        s.insert_host(&host("h3", "host-3", "nodc", "10.0.0.3"))
            .await,
    );
    let mut orphan = host("h3", "host-3", "dc1", "10.0.0.3");
    orphan.cluster_id = Some("noc".into());
    conflict(s.insert_host(&orphan).await);
}

async fn hosts_are_unique_per_address_and_port(s: Arc<dyn Store>) {
    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "DC"))
        .await
        .unwrap();
    s.insert_host(&host("h1", "host-1", "dc1", "10.0.0.1"))
        .await
        .unwrap();
    // Same address and port.
    conflict(
        s.insert_host(&host("h2", "host-2", "dc1", "10.0.0.1"))
            .await,
    );
    // Same moId.
    conflict(
        s.insert_host(&host("h2", "host-1", "dc1", "10.0.0.2"))
            .await,
    );
    // Same id.
    conflict(
        s.insert_host(&host("h1", "host-2", "dc1", "10.0.0.2"))
            .await,
    );
    // Same address on another port is another host.
    let mut other_port = host("h2", "host-2", "dc1", "10.0.0.1");
    other_port.port = 8444;
    // …but not under the same name in the datacenter.
    conflict(s.insert_host(&other_port).await);
    other_port.name = "second".into();
    s.insert_host(&other_port).await.unwrap();
    assert_eq!(
        s.find_host_by_name("dc1", "second")
            .await
            .unwrap()
            .map(|h| h.id),
        Some("h2".to_string())
    );
    assert!(s
        .find_host_by_name("dc1", "nobody")
        .await
        .unwrap()
        .is_none());
    // An update cannot move a host onto a taken address.
    other_port.port = 8443;
    conflict(s.update_host(&other_port).await);
    assert_eq!(s.count_hosts(&HostFilter::default()).await.unwrap(), 2);
}

/// A heartbeat's observation and a connection-state transition change only their own columns,
/// so an operation that changed the host meanwhile is not undone.
async fn heartbeat_writes_leave_operation_fields_alone(s: Arc<dyn Store>) {
    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "DC"))
        .await
        .unwrap();
    let mut h = host("h1", "host-1", "dc1", "10.0.0.1");
    h.facts = Some(Arc::new(cpus(8)));
    s.insert_host(&h).await.unwrap();
    // An operation puts the host in maintenance and disconnects it…
    let mut op = h.clone();
    op.state = HostState::Maintenance;
    op.connection_state = ConnectionState::Disconnected;
    assert!(s.update_host(&op).await.unwrap());
    // …while a heartbeat that read it before records what it saw.
    let rt = HostRuntime {
        uptime_secs: 42,
        ..HostRuntime::default()
    };
    assert!(s
        .record_host_observation("h1", Some(&rt), None, 17)
        .await
        .unwrap());
    let got = s.get_host("h1").await.unwrap().unwrap();
    assert_eq!(got.state, HostState::Maintenance);
    assert_eq!(got.connection_state, ConnectionState::Disconnected);
    assert_eq!(got.runtime, Some(rt.clone()));
    assert_eq!(got.event_cursor, 17);
    assert_eq!(got.facts, h.facts, "facts are kept unless given");
    let facts = cpus(16);
    s.record_host_observation("h1", Some(&rt), Some(&facts), 18)
        .await
        .unwrap();
    assert_eq!(
        s.get_host("h1").await.unwrap().unwrap().facts,
        Some(Arc::new(facts))
    );
    assert!(!s
        .record_host_observation("nope", Some(&rt), None, 1)
        .await
        .unwrap());

    // Connected → notResponding only from connected.
    assert!(!s
        .transition_host_connection(
            "h1",
            ConnectionState::Connected,
            ConnectionState::NotResponding
        )
        .await
        .unwrap());
    assert_eq!(
        s.get_host("h1").await.unwrap().unwrap().connection_state,
        ConnectionState::Disconnected
    );
    op.connection_state = ConnectionState::Connected;
    s.update_host(&op).await.unwrap();
    assert!(s
        .transition_host_connection(
            "h1",
            ConnectionState::Connected,
            ConnectionState::NotResponding
        )
        .await
        .unwrap());
    let got = s.get_host("h1").await.unwrap().unwrap();
    assert_eq!(got.connection_state, ConnectionState::NotResponding);
    assert_eq!(got.state, HostState::Maintenance);
}

async fn host_listing_filters_pages_and_orders(s: Arc<dyn Store>) {
    for (id, moid, name) in [
        ("dc1", "datacenter-1", "One"),
        ("dc2", "datacenter-2", "Two"),
    ] {
        s.insert_datacenter(&datacenter(id, moid, name))
            .await
            .unwrap();
    }
    s.insert_cluster(&cluster("c1", "domain-c1", "dc1", "C"))
        .await
        .unwrap();
    // Inserted out of order; "host-10" sorts before "host-2" as text but not by number.
    for (id, moid, dc, cluster, state) in [
        ("a", "host-2", "dc1", Some("c1"), ConnectionState::Connected),
        ("b", "host-10", "dc1", None, ConnectionState::Disconnected),
        ("c", "host-1", "dc1", Some("c1"), ConnectionState::Connected),
        ("d", "host-3", "dc2", None, ConnectionState::Connected),
    ] {
        let mut h = host(id, moid, dc, &format!("{id}.example.com"));
        h.cluster_id = cluster.map(Into::into);
        h.connection_state = state;
        s.insert_host(&h).await.unwrap();
    }
    let moids = |v: Vec<Host>| v.into_iter().map(|h| h.moid).collect::<Vec<_>>();
    let all = HostFilter::default();
    assert_eq!(
        moids(s.list_hosts(&all).await.unwrap()),
        ["host-1", "host-2", "host-3", "host-10"]
    );
    assert_eq!(s.count_hosts(&all).await.unwrap(), 4);
    let dc1 = HostFilter {
        datacenter_id: Some("dc1".into()),
        ..Default::default()
    };
    assert_eq!(
        moids(s.list_hosts(&dc1).await.unwrap()),
        ["host-1", "host-2", "host-10"]
    );
    assert_eq!(s.count_hosts(&dc1).await.unwrap(), 3);
    let in_c1 = HostFilter {
        cluster_id: Some("c1".into()),
        ..Default::default()
    };
    assert_eq!(
        moids(s.list_hosts(&in_c1).await.unwrap()),
        ["host-1", "host-2"]
    );
    assert_eq!(s.count_hosts(&in_c1).await.unwrap(), 2);
    let connected_dc1 = HostFilter {
        datacenter_id: Some("dc1".into()),
        connection_state: Some(ConnectionState::Connected),
        ..Default::default()
    };
    assert_eq!(
        moids(s.list_hosts(&connected_dc1).await.unwrap()),
        ["host-1", "host-2"]
    );
    let disconnected = HostFilter {
        connection_state: Some(ConnectionState::Disconnected),
        ..Default::default()
    };
    assert_eq!(
        moids(s.list_hosts(&disconnected).await.unwrap()),
        ["host-10"]
    );
    assert_eq!(s.count_hosts(&disconnected).await.unwrap(), 1);
    // Paging: offset and limit together, each alone, and past the end. Counts ignore paging.
    let page = |offset, limit| HostFilter {
        offset,
        limit,
        ..Default::default()
    };
    assert_eq!(
        moids(s.list_hosts(&page(1, Some(2))).await.unwrap()),
        ["host-2", "host-3"]
    );
    assert_eq!(
        moids(s.list_hosts(&page(0, Some(1))).await.unwrap()),
        ["host-1"]
    );
    assert_eq!(
        moids(s.list_hosts(&page(2, None)).await.unwrap()),
        ["host-3", "host-10"]
    );
    assert!(s.list_hosts(&page(4, Some(10))).await.unwrap().is_empty());
    assert_eq!(s.count_hosts(&page(2, Some(1))).await.unwrap(), 4);
    let none = HostFilter {
        cluster_id: Some("nope".into()),
        ..Default::default()
    };
    assert!(s.list_hosts(&none).await.unwrap().is_empty());
    assert_eq!(s.count_hosts(&none).await.unwrap(), 0);
}

async fn deleting_a_host_removes_its_vms_and_links(s: Arc<dyn Store>) {
    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "DC"))
        .await
        .unwrap();
    for (id, moid, address) in [("h1", "host-1", "10.0.0.1"), ("h2", "host-2", "10.0.0.2")] {
        s.insert_host(&host(id, moid, "dc1", address))
            .await
            .unwrap();
    }
    s.insert_vm(&vm("v1", "vm-1", "h1", "u1", "web"))
        .await
        .unwrap();
    s.insert_vm(&vm("v2", "vm-2", "h1", "u2", "db"))
        .await
        .unwrap();
    s.insert_vm(&vm("v3", "vm-3", "h2", "u3", "other"))
        .await
        .unwrap();
    let ds = s
        .upsert_datastore(&datastore("ds1", "datastore-1", "dc1", "shared", 10))
        .await
        .unwrap();
    let net = s
        .upsert_network(&network("n1", "network-1", "dc1", "br0", Some(10)))
        .await
        .unwrap();
    for h in ["h1", "h2"] {
        s.set_host_datastores(h, std::slice::from_ref(&ds.id))
            .await
            .unwrap();
        s.set_host_networks(h, std::slice::from_ref(&net.id))
            .await
            .unwrap();
    }
    assert!(s.delete_host("h1").await.unwrap());
    assert!(!s.delete_host("h1").await.unwrap());
    assert_eq!(s.get_host("h1").await.unwrap(), None);
    assert_eq!(s.get_vm("v1").await.unwrap(), None);
    assert_eq!(s.find_vm_by_instance_uuid("u2").await.unwrap(), None);
    assert!(s.list_vms(Some("h1")).await.unwrap().is_empty());
    assert!(s.datastores_of_host("h1").await.unwrap().is_empty());
    assert!(s.networks_of_host("h1").await.unwrap().is_empty());
    // The other host, the datastore and the network stay.
    let ids = |v: Vec<VmRecord>| v.into_iter().map(|v| v.id).collect::<Vec<_>>();
    assert_eq!(ids(s.list_vms(None).await.unwrap()), ["v3"]);
    assert_eq!(s.datastores_of_host("h2").await.unwrap(), vec![ds.clone()]);
    assert_eq!(s.networks_of_host("h2").await.unwrap(), vec![net.clone()]);
    assert_eq!(s.list_datastores(None).await.unwrap(), vec![ds]);
    assert_eq!(s.list_networks(None).await.unwrap(), vec![net]);
}
