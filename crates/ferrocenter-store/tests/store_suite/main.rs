//! One suite, two engines: every case runs on SQLite and on PostgreSQL.
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ferrocenter_core::auth::{Group, Principal, Realm, Role};
use ferrocenter_core::inventory::query::{
    ClusterField, Condition, Counting, DatacenterField, HostField, ListQuery, QueryOp, QueryValue,
    TagKind, VmField,
};
use ferrocenter_core::inventory::{
    AdminState, AutomationLevel, Cluster, ConnectionState, CustomField, Datacenter, Datastore,
    Event, EventFilter, Folder, FolderKind, Host, HostFilter, HostState, Network, VmRecord,
};
use ferrocenter_core::model::EntityRef;
use ferrocenter_core::ports::{MoidEntity, MoidKind, Store, StoreError, TaskFilter};
use ferrocenter_core::tasks::{Task, TaskState};
use ferrocenter_core::{from_millis, CoreError};
use ferrocenter_testkit::pg::PgCluster;

type Case = fn(Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        const CASES: &[(&str, Case)] = &[$((stringify!($name), |s| Box::pin($name(s)))),*];
    };
}

cases!(
    zone_cluster_and_vm_queries,
    settings_round_trip,
    sequences_count_from_one_per_name,
    principals_are_unique_per_realm,
    principal_updates_and_deletes,
    groups_and_membership,
    tasks_round_trip_every_field,
    task_listing_filters_and_orders,
    unfinished_tasks_are_failed,
    datacenter_and_cluster_crud,
    non_empty_datacenters_and_clusters_are_kept,
    hosts_round_trip_every_field,
    hosts_are_unique_per_address_and_port,
    heartbeat_writes_leave_operation_fields_alone,
    host_listing_filters_pages_and_orders,
    deleting_a_host_removes_its_vms_and_links,
    vms_round_trip_and_unique_uuid,
    datastores_upsert_and_host_links,
    networks_upsert_and_host_links,
    events_append_and_filter,
    folders_nest_and_are_unique_per_parent,
    entities_are_found_by_moid,
    hosts_of_datastores_and_networks,
    custom_fields_and_host_values,
    host_queries_filter_sort_page_and_count,
);

fn at(ms: i64) -> time::OffsetDateTime {
    from_millis(ms)
}

fn principal(realm: Realm, name: &str) -> Principal {
    Principal {
        id: uuid::Uuid::new_v4().simple().to_string(),
        realm,
        name: name.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        digest_verifier: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$ZGln".into()),
        role: Role::Operator,
        full_name: Some("Full Name".into()),
        disabled: false,
        created_at: at(1_700_000_000_000),
        password_changed_at: at(1_700_000_000_500),
    }
}

fn task(id: &str, moid: &str, state: TaskState, queued_ms: i64) -> Task {
    Task {
        id: id.into(),
        moid: moid.into(),
        kind: "diagnostics.sleep".into(),
        target: Some(EntityRef::new("host", "h1")),
        initiator: "administrator@vsphere.local".into(),
        description: "Sleep".into(),
        state,
        progress: 0,
        progress_message: None,
        result: None,
        error: None,
        cancelable: true,
        cancelled: false,
        queued_at: at(queued_ms),
        started_at: None,
        completed_at: None,
    }
}

async fn settings_round_trip(s: Arc<dyn Store>) {
    assert_eq!(s.get_setting("a").await.unwrap(), None);
    s.put_setting("a", "1").await.unwrap();
    s.put_setting("a", "2").await.unwrap();
    assert_eq!(s.get_setting("a").await.unwrap().as_deref(), Some("2"));
    assert!(s.put_setting_if_absent("b", "x").await.unwrap());
    assert!(!s.put_setting_if_absent("b", "y").await.unwrap());
    assert_eq!(s.get_setting("b").await.unwrap().as_deref(), Some("x"));
}

async fn sequences_count_from_one_per_name(s: Arc<dyn Store>) {
    assert_eq!(s.next_sequence("task").await.unwrap(), 1);
    assert_eq!(s.next_sequence("task").await.unwrap(), 2);
    assert_eq!(s.next_sequence("host").await.unwrap(), 1);
    // Concurrent callers never receive the same value.
    let mut handles = Vec::new();
    for _ in 0..20 {
        let s = s.clone();
        handles.push(tokio::spawn(
            async move { s.next_sequence("vm").await.unwrap() },
        ));
    }
    let mut got = Vec::new();
    for h in handles {
        got.push(h.await.unwrap());
    }
    got.sort();
    assert_eq!(got, (1..=20).collect::<Vec<_>>());
    // A reserved block follows on, and the next value comes after it.
    assert_eq!(s.reserve_sequence("vm", 10).await.unwrap(), 21);
    assert_eq!(s.next_sequence("vm").await.unwrap(), 31);
    assert_eq!(s.reserve_sequence("fresh", 5).await.unwrap(), 1);
    assert_eq!(s.next_sequence("fresh").await.unwrap(), 6);
}

async fn principals_are_unique_per_realm(s: Arc<dyn Store>) {
    let sso = Realm::sso("vsphere.local");
    let p = principal(sso.clone(), "alice");
    s.insert_principal(&p).await.unwrap();
    assert_eq!(
        s.find_principal(&sso, "alice").await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(
        s.find_principal(&Realm::Local, "alice").await.unwrap(),
        None
    );
    match s.insert_principal(&principal(sso.clone(), "alice")).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    // The same name in another realm is another principal.
    s.insert_principal(&principal(Realm::Local, "alice"))
        .await
        .unwrap();
    s.insert_principal(&principal(sso.clone(), "bob"))
        .await
        .unwrap();
    let names: Vec<String> = s
        .list_principals(&sso)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["alice", "bob"]);
}

async fn principal_updates_and_deletes(s: Arc<dyn Store>) {
    let mut p = principal(Realm::Local, "root");
    s.insert_principal(&p).await.unwrap();
    p.role = Role::SuperAdmin;
    p.disabled = true;
    p.password_hash = "$argon2id$other".into();
    p.digest_verifier = None;
    p.full_name = None;
    p.password_changed_at = at(1_800_000_000_000);
    assert!(s.update_principal(&p).await.unwrap());
    assert_eq!(
        s.find_principal(&Realm::Local, "root").await.unwrap(),
        Some(p.clone())
    );
    assert!(s.delete_principal(&p.id).await.unwrap());
    assert!(!s.delete_principal(&p.id).await.unwrap());
    assert!(!s.update_principal(&p).await.unwrap());
}

async fn groups_and_membership(s: Arc<dyn Store>) {
    let sso = Realm::sso("vsphere.local");
    let p = principal(sso.clone(), "carol");
    s.insert_principal(&p).await.unwrap();
    let g = Group {
        id: "g1".into(),
        realm: sso.clone(),
        name: "SystemConfiguration.Administrators".into(),
        role: Some(Role::Admin),
        description: "admins".into(),
    };
    let g2 = Group {
        id: "g2".into(),
        realm: sso.clone(),
        name: "Readers".into(),
        role: None,
        description: String::new(),
    };
    s.insert_group(&g).await.unwrap();
    s.insert_group(&g2).await.unwrap();
    assert!(matches!(
        s.insert_group(&g).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.find_group(&sso, &g.name).await.unwrap(), Some(g.clone()));
    s.add_group_member(&g.id, &p.id).await.unwrap();
    s.add_group_member(&g.id, &p.id).await.unwrap(); // idempotent
    s.add_group_member(&g2.id, &p.id).await.unwrap();
    assert_eq!(
        s.groups_of(&p.id).await.unwrap(),
        vec![g2.clone(), g.clone()]
    );
    assert!(s.remove_group_member(&g2.id, &p.id).await.unwrap());
    assert_eq!(s.groups_of(&p.id).await.unwrap(), vec![g.clone()]);
    // Foreign keys hold: membership of an unknown principal is refused, and deleting a
    // principal removes its memberships.
    assert!(s.add_group_member(&g.id, "nobody").await.is_err());
    s.delete_principal(&p.id).await.unwrap();
    assert!(s.groups_of(&p.id).await.unwrap().is_empty());
}

async fn tasks_round_trip_every_field(s: Arc<dyn Store>) {
    let mut t = task("t1", "task-1", TaskState::Queued, 1_000);
    s.insert_task(&t).await.unwrap();
    assert_eq!(s.get_task("t1").await.unwrap(), Some(t.clone()));
    t.state = TaskState::Error;
    t.progress = 42;
    t.progress_message = Some("half way".into());
    t.result = Some(serde_json::json!({"a": [1, 2]}));
    t.error = Some(CoreError::Timeout {
        message: "too slow".into(),
    });
    t.cancelled = true;
    t.started_at = Some(at(2_000));
    t.completed_at = Some(at(3_000));
    assert!(s.update_task(&t).await.unwrap());
    assert_eq!(s.get_task("t1").await.unwrap(), Some(t.clone()));
    let mut untargeted = task("t2", "task-2", TaskState::Success, 1_500);
    untargeted.target = None;
    s.insert_task(&untargeted).await.unwrap();
    assert_eq!(s.get_task("t2").await.unwrap(), Some(untargeted));
    assert_eq!(s.get_task("missing").await.unwrap(), None);
    assert!(matches!(
        s.insert_task(&t).await,
        Err(StoreError::Conflict(_))
    ));
}

async fn task_listing_filters_and_orders(s: Arc<dyn Store>) {
    for (i, state) in [
        TaskState::Queued,
        TaskState::Running,
        TaskState::Success,
        TaskState::Error,
    ]
    .into_iter()
    .enumerate()
    {
        let mut t = task(
            &format!("t{i}"),
            &format!("task-{i}"),
            state,
            1_000 + i as i64,
        );
        if i == 3 {
            t.initiator = "root".into();
            t.target = Some(EntityRef::new("host", "h2"));
        }
        s.insert_task(&t).await.unwrap();
    }
    let ids = |v: Vec<Task>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_tasks(&TaskFilter::default()).await.unwrap()),
        ["t3", "t2", "t1", "t0"]
    );
    let f = TaskFilter {
        states: vec![TaskState::Queued, TaskState::Error],
        ..Default::default()
    };
    assert_eq!(ids(s.list_tasks(&f).await.unwrap()), ["t3", "t0"]);
    let f = TaskFilter {
        initiators: vec!["root".into()],
        ..Default::default()
    };
    assert_eq!(ids(s.list_tasks(&f).await.unwrap()), ["t3"]);
    let f = TaskFilter {
        target_ids: vec!["h1".into()],
        limit: Some(2),
        ..Default::default()
    };
    assert_eq!(ids(s.list_tasks(&f).await.unwrap()), ["t2", "t1"]);
    let f = TaskFilter {
        ids: vec!["t0".into(), "t2".into(), "nope".into()],
        kinds: vec!["diagnostics.sleep".into()],
        ..Default::default()
    };
    assert_eq!(ids(s.list_tasks(&f).await.unwrap()), ["t2", "t0"]);
}

async fn unfinished_tasks_are_failed(s: Arc<dyn Store>) {
    for (i, state) in [TaskState::Queued, TaskState::Running, TaskState::Success]
        .into_iter()
        .enumerate()
    {
        s.insert_task(&task(
            &format!("t{i}"),
            &format!("task-{i}"),
            state,
            i as i64,
        ))
        .await
        .unwrap();
    }
    let reason = CoreError::Internal {
        message: "server restarted".into(),
    };
    assert_eq!(
        s.fail_unfinished_tasks(&reason, at(9_000)).await.unwrap(),
        2
    );
    for id in ["t0", "t1"] {
        let t = s.get_task(id).await.unwrap().unwrap();
        assert_eq!(t.state, TaskState::Error);
        assert_eq!(t.error, Some(reason.clone()));
        assert_eq!(t.completed_at, Some(at(9_000)));
    }
    assert_eq!(
        s.get_task("t2").await.unwrap().unwrap().state,
        TaskState::Success
    );
    assert_eq!(
        s.fail_unfinished_tasks(&reason, at(9_500)).await.unwrap(),
        0
    );
}

fn datacenter(id: &str, moid: &str, name: &str) -> Datacenter {
    Datacenter {
        id: id.into(),
        moid: moid.into(),
        name: name.into(),
        description: format!("{name} description"),
        state: AdminState::Enabled,
        is_default: false,
        created_at: at(1_700_000_000_000),
        last_op_at: at(1_700_000_000_100),
    }
}

fn cluster(id: &str, moid: &str, dc: &str, name: &str) -> Cluster {
    Cluster {
        id: id.into(),
        moid: moid.into(),
        datacenter_id: dc.into(),
        name: name.into(),
        description: String::new(),
        automation_level: AutomationLevel::PartiallyAutomated,
        hypervisor_type: "KVM".into(),
        state: AdminState::Enabled,
        kind: "zstack".into(),
        architecture: None,
        created_at: at(1_700_000_001_000),
        last_op_at: at(1_700_000_001_100),
    }
}

/// A host with every optional field unset.
fn host(id: &str, moid: &str, dc: &str, address: &str) -> Host {
    Host {
        id: id.into(),
        moid: moid.into(),
        datacenter_id: dc.into(),
        cluster_id: None,
        name: address.into(),
        description: String::new(),
        address: address.into(),
        port: 8443,
        thumbprint: "AB:CD:EF".into(),
        agent_user: "ferrocenter".into(),
        agent_secret: "sealed:xyz".into(),
        connection_state: ConnectionState::Connected,
        state: HostState::Enabled,
        previous_state: None,
        power_state: "poweredOn".into(),
        facts: None,
        runtime: None,
        management_ip: None,
        ssh_port: None,
        tags: Vec::new(),
        system_tags: Vec::new(),
        event_cursor: 0,
        created_at: at(1_700_000_002_000),
        last_op_at: at(1_700_000_002_100),
    }
}

fn vm(id: &str, moid: &str, host_id: &str, uuid: &str, name: &str) -> VmRecord {
    VmRecord {
        id: id.into(),
        moid: moid.into(),
        host_id: host_id.into(),
        uuid: uuid.into(),
        name: name.into(),
        power_state: "poweredOff".into(),
        vcpus: 2,
        memory_bytes: 4 << 30,
        guest_os_id: "ubuntu64Guest".into(),
        data: serde_json::json!({"name": name, "disks": [{"size": 10}]}),
        created_at: at(1_700_000_003_000),
        last_op_at: at(1_700_000_003_100),
    }
}

fn datastore(id: &str, moid: &str, dc: &str, name: &str, free: u64) -> Datastore {
    Datastore {
        id: id.into(),
        moid: moid.into(),
        datacenter_id: dc.into(),
        name: name.into(),
        url: format!("ds:///vmfs/volumes/{name}/"),
        kind: "NFS".into(),
        capacity_bytes: 1 << 40,
        free_bytes: free,
        created_at: at(1_700_000_004_000),
        last_op_at: at(1_700_000_004_100),
    }
}

fn network(id: &str, moid: &str, dc: &str, name: &str, vlan: Option<u16>) -> Network {
    Network {
        id: id.into(),
        moid: moid.into(),
        datacenter_id: dc.into(),
        name: name.into(),
        kind: "bridge".into(),
        vlan,
        created_at: at(1_700_000_005_000),
        last_op_at: at(1_700_000_005_100),
    }
}

fn event(kind: &str, entity_id: &str, ms: i64) -> Event {
    Event {
        seq: 0,
        time: at(ms),
        kind: kind.into(),
        entity_kind: "HostSystem".into(),
        entity_id: entity_id.into(),
        entity_name: format!("name of {entity_id}"),
        user: "administrator@vsphere.local".into(),
        message: format!("{kind} on {entity_id}"),
        data: serde_json::json!({"reason": "test", "n": ms}),
    }
}

fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    match r {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
}

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
        facts: Some(serde_json::json!({
            "cpu": {"model": "EPYC", "cores": 64, "ghz": 2.45},
            "nics": ["eth0", "eth1"],
            "secure_boot": true,
            "note": null,
        })),
        runtime: Some(serde_json::json!({"uptime": 12345, "load": [0.5, 0.25]})),
        management_ip: Some("192.168.1.2".into()),
        ssh_port: Some(2222),
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
    updated.facts = Some(serde_json::json!({"k": "v"}));
    updated.runtime = Some(serde_json::json!([1, 2, 3]));
    updated.management_ip = Some("fe80::1".into());
    updated.ssh_port = Some(22);
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

/// A heartbeat's observation and a connection-state transition change only their own columns,
/// so an operation that changed the host meanwhile is not undone.
async fn heartbeat_writes_leave_operation_fields_alone(s: Arc<dyn Store>) {
    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "DC"))
        .await
        .unwrap();
    let mut h = host("h1", "host-1", "dc1", "10.0.0.1");
    h.facts = Some(serde_json::json!({"cpu": 8}));
    s.insert_host(&h).await.unwrap();
    // An operation puts the host in maintenance and disconnects it…
    let mut op = h.clone();
    op.state = HostState::Maintenance;
    op.connection_state = ConnectionState::Disconnected;
    assert!(s.update_host(&op).await.unwrap());
    // …while a heartbeat that read it before records what it saw.
    let rt = serde_json::json!({"uptime": 42});
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
    let facts = serde_json::json!({"cpu": 16});
    s.record_host_observation("h1", Some(&rt), Some(&facts), 18)
        .await
        .unwrap();
    assert_eq!(s.get_host("h1").await.unwrap().unwrap().facts, Some(facts));
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
    assert_eq!(s.find_vm_by_uuid("u2").await.unwrap(), None);
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

async fn vms_round_trip_and_unique_uuid(s: Arc<dyn Store>) {
    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "DC"))
        .await
        .unwrap();
    for (id, moid, address) in [("h1", "host-1", "10.0.0.1"), ("h2", "host-2", "10.0.0.2")] {
        s.insert_host(&host(id, moid, "dc1", address))
            .await
            .unwrap();
    }
    let mut v = vm("v1", "vm-1", "h1", "4c4c4544-0042", "web");
    v.vcpus = u32::MAX;
    v.memory_bytes = i64::MAX as u64;
    s.insert_vm(&v).await.unwrap();
    assert_eq!(s.get_vm("v1").await.unwrap(), Some(v.clone()));
    assert_eq!(
        s.find_vm_by_uuid("4c4c4544-0042").await.unwrap(),
        Some(v.clone())
    );
    assert_eq!(s.find_vm_by_uuid("nope").await.unwrap(), None);
    assert_eq!(s.get_vm("nope").await.unwrap(), None);
    // uuid, moId and id are unique.
    conflict(
        s.insert_vm(&vm("v2", "vm-2", "h1", "4c4c4544-0042", "x"))
            .await,
    );
    conflict(s.insert_vm(&vm("v2", "vm-1", "h1", "other", "x")).await);
    conflict(s.insert_vm(&vm("v1", "vm-2", "h1", "other", "x")).await);
    // A VM on an unknown host is refused.
    conflict(s.insert_vm(&vm("v2", "vm-2", "noh", "other", "x")).await);
    s.insert_vm(&vm("v2", "vm-2", "h1", "u2", "app"))
        .await
        .unwrap();
    s.insert_vm(&vm("v3", "vm-3", "h2", "u3", "zz"))
        .await
        .unwrap();
    let names = |v: Vec<VmRecord>| v.into_iter().map(|v| v.name).collect::<Vec<_>>();
    assert_eq!(names(s.list_vms(Some("h1")).await.unwrap()), ["app", "web"]);
    assert_eq!(names(s.list_vms(None).await.unwrap()), ["app", "web", "zz"]);
    // Powered-on usage per host, in one query: only powered-on VMs count.
    let mut v2 = s.get_vm("v2").await.unwrap().unwrap();
    v2.power_state = "poweredOn".into();
    s.update_vm(&v2).await.unwrap();
    let mut v3 = s.get_vm("v3").await.unwrap().unwrap();
    v3.power_state = "poweredOn".into();
    v3.vcpus = 3;
    s.update_vm(&v3).await.unwrap();
    let usage = s
        .powered_on_usage(&["h1".into(), "h2".into(), "nope".into()])
        .await
        .unwrap();
    assert_eq!(usage.get("h1"), Some(&(2, 4 << 30)));
    assert_eq!(usage.get("h2"), Some(&(3, 4 << 30)));
    assert_eq!(usage.len(), 2);
    // A batch goes in whole or not at all: a duplicate uuid leaves none of it.
    let batch = [
        vm("v4", "vm-4", "h1", "u4", "b1"),
        vm("v5", "vm-5", "h1", "u2", "dup"),
    ];
    conflict(s.insert_vms(&batch).await);
    assert_eq!(s.get_vm("v4").await.unwrap(), None);
    s.insert_vms(&[batch[0].clone(), vm("v5", "vm-5", "h2", "u5", "b2")])
        .await
        .unwrap();
    let mut found = s
        .find_vms_by_uuids(&["u4".into(), "u5".into(), "u3".into(), "none".into()])
        .await
        .unwrap();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        found.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
        ["v3", "v4", "v5"]
    );
    assert_eq!(found[1], batch[0]);
    for id in ["v4", "v5"] {
        assert!(s.delete_vm(id).await.unwrap());
    }

    // Updates write every field but id, moid and created_at, including moving host.
    v.host_id = "h2".into();
    v.uuid = "new-uuid".into();
    v.name = "web2".into();
    v.power_state = "poweredOn".into();
    v.vcpus = 8;
    v.memory_bytes = 16 << 30;
    v.guest_os_id = "rhel9_64Guest".into();
    v.data = serde_json::json!({"changed": true});
    v.last_op_at = at(1_800_000_000_000);
    assert!(s.update_vm(&v).await.unwrap());
    assert_eq!(s.get_vm("v1").await.unwrap(), Some(v.clone()));
    assert_eq!(s.find_vm_by_uuid("4c4c4544-0042").await.unwrap(), None);
    assert_eq!(names(s.list_vms(Some("h2")).await.unwrap()), ["web2", "zz"]);
    let mut clash = v.clone();
    clash.uuid = "u2".into();
    conflict(s.update_vm(&clash).await);
    assert!(!s
        .update_vm(&vm("nope", "vm-9", "h1", "u9", "x"))
        .await
        .unwrap());
    assert!(s.delete_vm("v1").await.unwrap());
    assert!(!s.delete_vm("v1").await.unwrap());
    assert_eq!(names(s.list_vms(None).await.unwrap()), ["app", "zz"]);

    // A heartbeat's power observation lands only on the VM as it read it.
    let seen = s.find_vm_by_uuid("u2").await.unwrap().unwrap();
    let mut op = seen.clone();
    op.power_state = "poweredOn".into();
    op.last_op_at = at(1_800_000_001_000);
    assert!(s.update_vm(&op).await.unwrap());
    let later = at(1_800_000_002_000);
    assert!(!s.record_vm_power(&seen, "poweredOff", later).await.unwrap());
    assert_eq!(s.get_vm(&seen.id).await.unwrap(), Some(op.clone()));
    assert!(s.record_vm_power(&op, "suspended", later).await.unwrap());
    let got = s.get_vm(&seen.id).await.unwrap().unwrap();
    assert_eq!(
        (got.power_state.as_str(), got.last_op_at),
        ("suspended", later)
    );
    assert_eq!(
        got.data, op.data,
        "only the power state and its time are written"
    );
    let mut moved = got.clone();
    moved.host_id = "elsewhere".into();
    assert!(!s.record_vm_power(&moved, "poweredOn", later).await.unwrap());
}

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

async fn events_append_and_filter(s: Arc<dyn Store>) {
    let mut appended = Vec::new();
    for (kind, entity, ms) in [
        ("HostConnectedEvent", "h1", 1_000),
        ("HostDisconnectedEvent", "h1", 2_000),
        ("HostConnectedEvent", "h2", 3_000),
        ("HostConnectedEvent", "h1", 4_000),
        ("VmPoweredOnEvent", "v1", 5_000),
    ] {
        let e = event(kind, entity, ms);
        let got = s.append_event(&e).await.unwrap();
        assert_eq!(Event { seq: got.seq, ..e }, got);
        appended.push(got);
    }
    assert!(appended.windows(2).all(|w| w[0].seq < w[1].seq));
    let seqs = |v: Vec<Event>| v.into_iter().map(|e| e.seq).collect::<Vec<_>>();
    let seq = |i: usize| appended[i].seq;
    // Everything, oldest first, every field read back.
    assert_eq!(
        s.list_events(&EventFilter::default()).await.unwrap(),
        appended
    );
    let f = EventFilter {
        entity_id: Some("h1".into()),
        ..Default::default()
    };
    assert_eq!(
        seqs(s.list_events(&f).await.unwrap()),
        [seq(0), seq(1), seq(3)]
    );
    let f = EventFilter {
        kind: Some("HostConnectedEvent".into()),
        ..Default::default()
    };
    assert_eq!(
        seqs(s.list_events(&f).await.unwrap()),
        [seq(0), seq(2), seq(3)]
    );
    let f = EventFilter {
        after_seq: Some(seq(1)),
        ..Default::default()
    };
    assert_eq!(
        seqs(s.list_events(&f).await.unwrap()),
        [seq(2), seq(3), seq(4)]
    );
    let f = EventFilter {
        after_seq: Some(seq(0)),
        limit: Some(2),
        ..Default::default()
    };
    assert_eq!(seqs(s.list_events(&f).await.unwrap()), [seq(1), seq(2)]);
    let f = EventFilter {
        entity_id: Some("h1".into()),
        kind: Some("HostConnectedEvent".into()),
        after_seq: Some(seq(0)),
        limit: Some(10),
    };
    assert_eq!(seqs(s.list_events(&f).await.unwrap()), [seq(3)]);
    let f = EventFilter {
        after_seq: Some(seq(4)),
        ..Default::default()
    };
    assert!(s.list_events(&f).await.unwrap().is_empty());
    // Concurrent appends each get their own seq.
    let mut handles = Vec::new();
    for i in 0..20 {
        let s = s.clone();
        handles.push(tokio::spawn(async move {
            s.append_event(&event("Busy", "x", i)).await.unwrap().seq
        }));
    }
    let mut got = Vec::new();
    for h in handles {
        got.push(h.await.unwrap());
    }
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 20);
    assert!(got[0] > seq(4));
}

/// Runs a case on a fresh database, then reopens it: the migrations must be a no-op the second
/// time and what was written must still be there.
async fn run_case(url: &str, case: &Case, engine: &str) {
    let store = ferrocenter_store::open(url).await.unwrap();
    assert_eq!(store.engine(), engine);
    store.put_setting("suite.marker", "kept").await.unwrap();
    case(store).await;
    let again = ferrocenter_store::open(url).await.unwrap();
    assert_eq!(
        again.get_setting("suite.marker").await.unwrap().as_deref(),
        Some("kept")
    );
}

#[tokio::test]
async fn store_suite_sqlite() {
    for (name, case) in CASES {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        eprintln!("sqlite: {name}");
        run_case(&url, case, "sqlite").await;
    }
}

#[tokio::test]
async fn store_suite_postgres() {
    let cluster = match PgCluster::start() {
        Ok(c) => c,
        Err(why) => {
            println!("SKIPPED store_suite_postgres: {why}");
            return;
        }
    };
    for (i, (name, case)) in CASES.iter().enumerate() {
        let url = cluster.create_database(&format!("case{i}")).unwrap();
        eprintln!("postgresql: {name}");
        run_case(&url, case, "postgresql").await;
    }
}

#[tokio::test]
async fn bad_urls_name_the_key() {
    let e = ferrocenter_store::open("mysql://x").await.err().unwrap();
    assert!(e.to_string().starts_with("database_url:"), "{e}");
}

fn folder(
    id: &str,
    parent: Option<&str>,
    dc: Option<&str>,
    kind: FolderKind,
    name: &str,
) -> Folder {
    Folder {
        id: id.into(),
        moid: format!("group-{}", id),
        parent_id: parent.map(str::to_string),
        datacenter_id: dc.map(str::to_string),
        kind,
        name: name.into(),
        created_at: at(1_700_000_000_000),
        last_op_at: at(1_700_000_000_500),
    }
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

async fn custom_fields_and_host_values(s: Arc<dyn Store>) {
    let f = s
        .ensure_custom_field("owner", "HostSystem", 7)
        .await
        .unwrap();
    assert_eq!(
        f,
        CustomField {
            key: 7,
            name: "owner".into(),
            mo_type: "HostSystem".into()
        }
    );
    // An existing name keeps its key.
    assert_eq!(s.ensure_custom_field("owner", "", 8).await.unwrap(), f);
    s.ensure_custom_field("rack", "", 9).await.unwrap();
    let names: Vec<_> = s
        .list_custom_fields()
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.key, f.name))
        .collect();
    assert_eq!(names, [(7, "owner".to_string()), (9, "rack".to_string())]);

    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "One"))
        .await
        .unwrap();
    s.insert_host(&host("h1", "host-1", "dc1", "10.0.0.1"))
        .await
        .unwrap();
    s.set_host_value("h1", "field:7", "ops").await.unwrap();
    s.set_host_value("h1", "alarmActionsEnabled", "false")
        .await
        .unwrap();
    s.set_host_value("h1", "field:7", "infra").await.unwrap();
    assert_eq!(
        s.host_values("h1").await.unwrap(),
        [
            ("alarmActionsEnabled".to_string(), "false".to_string()),
            ("field:7".to_string(), "infra".to_string())
        ]
    );
    // Values need their host, and go with it.
    assert!(s.set_host_value("nope", "x", "y").await.is_err());
    assert!(s.delete_host("h1").await.unwrap());
    assert!(s.host_values("h1").await.unwrap().is_empty());
}

async fn host_queries_filter_sort_page_and_count(s: Arc<dyn Store>) {
    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "Zone-A"))
        .await
        .unwrap();
    s.insert_datacenter(&datacenter("dc2", "datacenter-2", "Zone-B"))
        .await
        .unwrap();
    s.insert_cluster(&cluster("c1", "domain-c1", "dc1", "web"))
        .await
        .unwrap();
    // Five hosts: names, states, connection states, creation times and a description that is
    // empty on some.
    let rows = [
        (
            "h1",
            "host-1",
            "dc1",
            Some("c1"),
            "esx-01",
            ConnectionState::Connected,
            HostState::Enabled,
            100,
        ),
        (
            "h2",
            "host-2",
            "dc1",
            Some("c1"),
            "ESX-02",
            ConnectionState::NotResponding,
            HostState::Disabled,
            200,
        ),
        (
            "h3",
            "host-3",
            "dc1",
            None,
            "kvm-03",
            ConnectionState::Connecting,
            HostState::Maintenance,
            300,
        ),
        (
            "h4",
            "host-4",
            "dc2",
            None,
            "kvm-04",
            ConnectionState::Disconnected,
            HostState::Enabled,
            400,
        ),
        (
            "h10",
            "host-10",
            "dc2",
            None,
            "kvm-10",
            ConnectionState::Connected,
            HostState::Enabled,
            500,
        ),
    ];
    for (i, (id, moid, dc, cl, name, conn, state, created)) in rows.into_iter().enumerate() {
        let mut h = host(id, moid, dc, &format!("10.0.0.{}", i + 1));
        h.cluster_id = cl.map(String::from);
        h.name = name.into();
        h.connection_state = conn;
        h.state = state;
        h.created_at = at(created);
        h.description = if i % 2 == 0 {
            "rack".into()
        } else {
            String::new()
        };
        s.insert_host(&h).await.unwrap();
    }
    let t = |v: &str| QueryValue::Text(v.into());
    let cond = |f, op, vals: Vec<QueryValue>| Condition::new(f, op, vals, "q").unwrap();
    let ids = |conds: Vec<Condition<HostField>>| {
        let s = s.clone();
        async move {
            let q = ListQuery {
                conditions: conds,
                ..Default::default()
            };
            s.query_hosts(&q)
                .await
                .unwrap()
                .rows
                .into_iter()
                .map(|h| h.id)
                .collect::<Vec<_>>()
        }
    };
    use HostField as F;
    use QueryOp as O;
    assert_eq!(
        ids(vec![]).await,
        ["h1", "h2", "h3", "h4", "h10"],
        "moId order"
    );
    assert_eq!(
        ids(vec![cond(F::Name, O::Eq, vec![t("kvm-03")])]).await,
        ["h3"]
    );
    assert_eq!(
        ids(vec![cond(F::DatacenterId, O::Ne, vec![t("dc1")])]).await,
        ["h4", "h10"]
    );
    let ms = QueryValue::Int;
    assert_eq!(
        ids(vec![cond(F::CreatedAt, O::Ge, vec![ms(300)])]).await,
        ["h3", "h4", "h10"]
    );
    assert_eq!(
        ids(vec![cond(F::CreatedAt, O::Le, vec![ms(200)])]).await,
        ["h1", "h2"]
    );
    assert_eq!(
        ids(vec![cond(F::CreatedAt, O::Gt, vec![ms(400)])]).await,
        ["h10"]
    );
    assert_eq!(
        ids(vec![cond(F::CreatedAt, O::Lt, vec![ms(200)])]).await,
        ["h1"]
    );
    assert_eq!(
        ids(vec![cond(
            F::State,
            O::In,
            vec![t("Disabled"), t("Maintenance")]
        )])
        .await,
        ["h2", "h3"]
    );
    assert_eq!(
        ids(vec![cond(F::State, O::NotIn, vec![t("Enabled")])]).await,
        ["h2", "h3"]
    );
    // LIKE is case-insensitive and takes SQL patterns as given.
    assert_eq!(
        ids(vec![cond(F::Name, O::Like, vec![t("esx%")])]).await,
        ["h1", "h2"]
    );
    assert_eq!(
        ids(vec![cond(F::Name, O::NotLike, vec![t("%0_")])]).await,
        ["h10"]
    );
    // Status folds notResponding into Disconnected.
    assert_eq!(
        ids(vec![cond(F::Status, O::Eq, vec![t("Disconnected")])]).await,
        ["h2", "h4"]
    );
    assert_eq!(
        ids(vec![cond(F::Status, O::Lt, vec![t("Connected")])]).await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(vec![cond(F::ClusterId, O::IsNull, vec![])]).await,
        ["h3", "h4", "h10"]
    );
    assert_eq!(
        ids(vec![cond(F::ClusterId, O::NotNull, vec![])]).await,
        ["h1", "h2"]
    );
    assert_eq!(
        ids(vec![cond(F::HypervisorType, O::Eq, vec![t("KVM")])])
            .await
            .len(),
        5
    );
    // Cross-resource fields, and conditions ANDed.
    assert_eq!(
        ids(vec![cond(F::ClusterName, O::Eq, vec![t("web")])]).await,
        ["h1", "h2"]
    );
    assert_eq!(
        ids(vec![
            cond(F::DatacenterName, O::Eq, vec![t("Zone-A")]),
            cond(F::Description, O::Eq, vec![t("rack")])
        ])
        .await,
        ["h1", "h3"]
    );
    // A value is data, never SQL.
    assert!(ids(vec![cond(F::Name, O::Eq, vec![t("x' OR '1'='1")])])
        .await
        .is_empty());
    // Sort, page, count (the total is before paging).
    let page = s
        .query_hosts(&ListQuery {
            sort: Some((F::CreatedAt, false)),
            limit: 2,
            offset: 1,
            counting: Counting::With,
            ..Default::default()
        })
        .await
        .unwrap();
    let got: Vec<_> = page.rows.iter().map(|h| h.id.as_str()).collect();
    assert_eq!((got, page.total), (vec!["h4", "h3"], Some(5)));
    let by_name = s
        .query_hosts(&ListQuery {
            conditions: vec![cond(F::DatacenterId, O::Eq, vec![t("dc2")])],
            sort: Some((F::Name, false)),
            ..Default::default()
        })
        .await
        .unwrap();
    let got: Vec<_> = by_name.rows.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(got, ["h10", "h4"]);
    let by_cluster_name = s
        .query_hosts(&ListQuery {
            conditions: vec![cond(F::ClusterId, O::NotNull, vec![])],
            sort: Some((F::ClusterName, true)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_cluster_name.rows.len(), 2);
    let only = s
        .query_hosts(&ListQuery {
            conditions: vec![cond(F::DatacenterId, O::Eq, vec![t("dc2")])],
            counting: Counting::Only,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((only.rows.len(), only.total), (0, Some(2)));

    // Tags: a positive operator finds hosts with a matching tag, a negative one hosts without.
    s.add_tags(
        "h1",
        TagKind::System,
        &["pageTableExtensionDisabled".into()],
    )
    .await
    .unwrap();
    s.add_tags("h3", TagKind::System, &["reservedMemory::2G".into()])
        .await
        .unwrap();
    s.add_tags("h3", TagKind::User, &["web".into()])
        .await
        .unwrap();
    let sys = F::Tag(TagKind::System);
    assert_eq!(
        ids(vec![cond(
            sys,
            O::Eq,
            vec![t("pageTableExtensionDisabled")]
        )])
        .await,
        ["h1"]
    );
    assert_eq!(
        ids(vec![cond(sys, O::Like, vec![t("reservedMemory::%")])]).await,
        ["h3"]
    );
    assert_eq!(
        ids(vec![cond(
            sys,
            O::Ne,
            vec![t("pageTableExtensionDisabled")]
        )])
        .await,
        ["h2", "h3", "h4", "h10"]
    );
    assert_eq!(
        ids(vec![cond(F::Tag(TagKind::User), O::IsNull, vec![])]).await,
        ["h1", "h2", "h4", "h10"]
    );
    assert_eq!(
        ids(vec![cond(F::Tag(TagKind::User), O::NotNull, vec![])]).await,
        ["h3"]
    );
    assert_eq!(
        s.tags_of("h3", TagKind::System).await.unwrap(),
        ["reservedMemory::2G"]
    );
    // Adding a tag twice keeps one; a deleted host's tags go with it.
    s.add_tags("h3", TagKind::User, &["web".into()])
        .await
        .unwrap();
    assert_eq!(s.tags_of("h3", TagKind::User).await.unwrap(), ["web"]);
    assert!(s.delete_host("h3").await.unwrap());
    assert!(s.tags_of("h3", TagKind::User).await.unwrap().is_empty());
    // SshPort reads 22 when never set.
    assert_eq!(
        ids(vec![cond(F::SshPort, O::Eq, vec![QueryValue::Int(22)])])
            .await
            .len(),
        4
    );
}

/// Zones (datacenters), clusters and VMs are queried like hosts, with their own fields.
fn lq<F>(conditions: Vec<Condition<F>>) -> ListQuery<F> {
    ListQuery {
        conditions,
        ..Default::default()
    }
}

fn qc<F: Copy>(f: F, op: QueryOp, v: Vec<QueryValue>) -> Condition<F> {
    Condition::new(f, op, v, "q").unwrap()
}

async fn zone_cluster_and_vm_queries(s: Arc<dyn Store>) {
    let mut a = datacenter("dc1", "datacenter-1", "Zone-A");
    a.is_default = true;
    s.insert_datacenter(&a).await.unwrap();
    let mut b = datacenter("dc2", "datacenter-2", "Zone-B");
    b.state = AdminState::Disabled;
    b.created_at = at(1_800_000_000_000);
    s.insert_datacenter(&b).await.unwrap();
    let mut c1 = cluster("c1", "domain-c1", "dc1", "web");
    c1.architecture = Some("x86_64".into());
    s.insert_cluster(&c1).await.unwrap();
    let mut c2 = cluster("c2", "domain-c2", "dc2", "db");
    c2.kind = "custom".into();
    s.insert_cluster(&c2).await.unwrap();
    let got = s.get_cluster("c1").await.unwrap().unwrap();
    assert_eq!(got.architecture.as_deref(), Some("x86_64"));
    assert_eq!(s.get_cluster("c2").await.unwrap().unwrap().kind, "custom");
    let d = s.get_datacenter("dc2").await.unwrap().unwrap();
    assert_eq!((d.state, d.is_default), (AdminState::Disabled, false));
    let mut h1 = host("h1", "host-1", "dc1", "10.0.0.1");
    h1.cluster_id = Some("c1".into());
    h1.connection_state = ConnectionState::Connected;
    s.insert_host(&h1).await.unwrap();
    let mut h2 = host("h2", "host-2", "dc2", "10.0.0.2");
    h2.cluster_id = Some("c2".into());
    h2.connection_state = ConnectionState::NotResponding;
    s.insert_host(&h2).await.unwrap();
    let mut v1 = vm("v1", "vm-1", "h1", "u1", "alpha");
    v1.power_state = "poweredOn".into();
    v1.vcpus = 4;
    s.insert_vm(&v1).await.unwrap();
    let mut v2 = vm("v2", "vm-2", "h1", "u2", "beta");
    v2.power_state = "poweredOff".into();
    v2.vcpus = 1;
    s.insert_vm(&v2).await.unwrap();
    let v3 = vm("v3", "vm-3", "h2", "u3", "gamma");
    s.insert_vm(&v3).await.unwrap();
    s.add_tags("dc2", TagKind::User, &["lab".into()])
        .await
        .unwrap();

    let t = |v: &str| QueryValue::Text(v.into());
    let zones = |lq: ListQuery<DatacenterField>| {
        let s = s.clone();
        async move {
            let p = s.query_datacenters(&lq).await.unwrap();
            p.rows.into_iter().map(|d| d.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(zones(lq(vec![])).await, ["dc1", "dc2"]);
    assert_eq!(
        zones(lq(vec![qc(
            DatacenterField::IsDefault,
            QueryOp::Eq,
            vec![QueryValue::Int(1)]
        )]))
        .await,
        ["dc1"]
    );
    assert_eq!(
        zones(lq(vec![qc(
            DatacenterField::State,
            QueryOp::Eq,
            vec![t("Disabled")]
        )]))
        .await,
        ["dc2"]
    );
    assert_eq!(
        zones(lq(vec![qc(
            DatacenterField::Tag(TagKind::User),
            QueryOp::Eq,
            vec![t("lab")]
        )]))
        .await,
        ["dc2"]
    );
    let mut sorted = lq(vec![]);
    sorted.sort = Some((DatacenterField::Name, false));
    assert_eq!(zones(sorted).await, ["dc2", "dc1"]);

    let clusters = |lq: ListQuery<ClusterField>| {
        let s = s.clone();
        async move {
            let p = s.query_clusters(&lq).await.unwrap();
            p.rows.into_iter().map(|c| c.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        clusters(lq(vec![qc(
            ClusterField::DatacenterName,
            QueryOp::Eq,
            vec![t("Zone-B")]
        )]))
        .await,
        ["c2"]
    );
    assert_eq!(
        clusters(lq(vec![qc(
            ClusterField::Architecture,
            QueryOp::IsNull,
            vec![]
        )]))
        .await,
        ["c2"]
    );
    assert_eq!(
        clusters(lq(vec![qc(
            ClusterField::Type,
            QueryOp::Eq,
            vec![t("zstack")]
        )]))
        .await,
        ["c1"]
    );

    let vms = |lq: ListQuery<VmField>| {
        let s = s.clone();
        async move {
            let p = s.query_vms(&lq).await.unwrap();
            p.rows.into_iter().map(|v| v.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        vms(lq(vec![qc(
            VmField::State,
            QueryOp::Eq,
            vec![t("Running")]
        )]))
        .await,
        ["v1"]
    );
    // A VM on a host that does not answer is Unknown, whatever its last power state.
    assert_eq!(
        vms(lq(vec![qc(
            VmField::State,
            QueryOp::Eq,
            vec![t("Unknown")]
        )]))
        .await,
        ["v3"]
    );
    assert_eq!(
        vms(lq(vec![qc(VmField::ClusterId, QueryOp::Eq, vec![t("c1")])])).await,
        ["v1", "v2"]
    );
    assert_eq!(
        vms(lq(vec![qc(
            VmField::DatacenterId,
            QueryOp::Eq,
            vec![t("dc2")]
        )]))
        .await,
        ["v3"]
    );
    assert_eq!(
        vms(lq(vec![qc(
            VmField::CpuNum,
            QueryOp::Ge,
            vec![QueryValue::Int(2)]
        )]))
        .await,
        ["v1", "v3"]
    );
    let mut by_host = lq(vec![]);
    by_host.sort = Some((VmField::HostName, false));
    by_host.counting = Counting::With;
    let p = s.query_vms(&by_host).await.unwrap();
    assert_eq!(p.total, Some(3));
    assert_eq!(p.rows[0].id, "v3");
    // A deleted datacenter's tags go with it.
    s.delete_vm("v3").await.unwrap();
    assert!(s.delete_host("h2").await.unwrap());
    assert!(s.delete_cluster("c2").await.unwrap());
    assert!(s.delete_datacenter("dc2").await.unwrap());
    assert!(s.tags_of("dc2", TagKind::User).await.unwrap().is_empty());
}
