//! Records every case builds on, with fixed values so round trips compare whole structs.
use ferrocenter_core::auth::{Principal, Realm, Role};
use ferrocenter_core::from_millis;
use ferrocenter_core::inventory::{
    AdminState, AutomationLevel, Cluster, ConnectionState, Datacenter, Datastore, Event, Folder,
    FolderKind, Host, HostState, Network, VmRecord,
};
use ferrocenter_core::model::EntityRef;
use ferrocenter_core::ports::StoreError;
use ferrocenter_core::tasks::{Task, TaskState};

pub(crate) fn at(ms: i64) -> time::OffsetDateTime {
    from_millis(ms)
}

pub(crate) fn principal(realm: Realm, name: &str) -> Principal {
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

pub(crate) fn task(id: &str, moid: &str, state: TaskState, queued_ms: i64) -> Task {
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

pub(crate) fn datacenter(id: &str, moid: &str, name: &str) -> Datacenter {
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

pub(crate) fn cluster(id: &str, moid: &str, dc: &str, name: &str) -> Cluster {
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
pub(crate) fn host(id: &str, moid: &str, dc: &str, address: &str) -> Host {
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

pub(crate) fn vm(id: &str, moid: &str, host_id: &str, uuid: &str, name: &str) -> VmRecord {
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

pub(crate) fn datastore(id: &str, moid: &str, dc: &str, name: &str, free: u64) -> Datastore {
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

pub(crate) fn network(id: &str, moid: &str, dc: &str, name: &str, vlan: Option<u16>) -> Network {
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

pub(crate) fn event(kind: &str, entity_id: &str, ms: i64) -> Event {
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

pub(crate) fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    match r {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
}

pub(crate) fn folder(
    id: &str,
    parent: Option<&str>,
    dc: Option<&str>,
    kind: FolderKind,
    name: &str,
) -> Folder {
    Folder {
        id: id.into(),
        moid: format!("group-{id}"),
        parent_id: parent.map(str::to_string),
        datacenter_id: dc.map(str::to_string),
        kind,
        name: name.into(),
        created_at: at(1_700_000_000_000),
        last_op_at: at(1_700_000_000_500),
    }
}
