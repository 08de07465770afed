//! Records every case builds on, with fixed values so round trips compare whole structs.
use ferrocenter_core::auth::{PasswordAging, PasswordDays, Principal, Realm, Role};
use ferrocenter_core::from_millis;
use ferrocenter_core::inventory::{
    AdminState, AutomationLevel, ClaimInfo, Cluster, ConnectionState, Datacenter, Datastore,
    DatastoreFacts, Event, Folder, FolderKind, Hardware, Host, HostFacts, HostPowerState,
    HostRuntime, HostState, HypervisorVersions, Ipmi, LockdownMode, Network, NetworkFacts,
    NicFacts, Sensor, SensorStatus, VmDisk, VmInfo, VmNic, VmPowerState, VmRecord,
};
use ferrocenter_core::model::EntityRef;
use ferrocenter_core::ports::StoreError;
use ferrocenter_core::tasks::{Task, TaskKind, TaskState};

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
        email: Some("name@example.com".into()),
        description: Some("what it is for".into()),
        disabled: false,
        created_at: at(1_700_000_000_000),
        password_changed_at: at(1_700_000_000_500),
        aging: PasswordAging {
            expires: true,
            expires_at: None,
            inactive_after_expiry: true,
            inactive_days: Some(3),
            days: PasswordDays {
                min: Some(1),
                max: Some(90),
                warn: Some(7),
            },
        },
    }
}

pub(crate) fn task(id: &str, moid: &str, state: TaskState, queued_ms: i64) -> Task {
    Task {
        id: id.into(),
        moid: moid.into(),
        kind: TaskKind::DiagnosticsSleep,
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
        ssh_host_key: None,
        ssh_user: None,
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
        instance_uuid: uuid.into(),
        name: name.into(),
        power_state: "poweredOff".into(),
        vcpus: 2,
        memory_bytes: 4 << 30,
        guest_os_id: "ubuntu64Guest".into(),
        info: VmInfo {
            uuid: uuid.into(),
            instance_uuid: uuid.into(),
            name: name.into(),
            vcpus: 2,
            memory_bytes: 4 << 30,
            power_state: VmPowerState::PoweredOff,
            guest_os_id: "ubuntu64Guest".into(),
            disks: vec![VmDisk {
                label: "Hard disk 1".into(),
                capacity_bytes: 10 << 30,
                datastore: "local".into(),
                image: None,
            }],
            nics: vec![VmNic {
                label: "Network adapter 1".into(),
                mac: "52:54:00:12:34:56".into(),
                network: "default".into(),
            }],
            migrating_to: None,
        },
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

/// Facts with only the CPU package count set.
pub(crate) fn cpus(packages: u32) -> HostFacts {
    HostFacts {
        hardware: Hardware {
            cpu_packages: packages,
            ..Hardware::default()
        },
        ..HostFacts::default()
    }
}

/// Facts with every field set away from its default, so a round trip shows each one kept.
pub(crate) fn full_facts() -> HostFacts {
    HostFacts {
        hostname: "kvm2.ünïcode.lab".into(),
        hardware: Hardware {
            vendor: "Dell".into(),
            model: "R750".into(),
            bios_uuid: "4c4c4544-0042".into(),
            cpu_model: "EPYC 9654".into(),
            cpu_packages: 2,
            cpu_cores: 96,
            cpu_threads: 192,
            cpu_mhz: 2400,
            memory_bytes: u64::MAX,
        },
        architecture: "x86_64".into(),
        os_name: "Debian".into(),
        os_version: "12".into(),
        hypervisor: HypervisorVersions {
            name: "KVM".into(),
            version: "8.2".into(),
            libvirt_version: "9.0.0".into(),
            qemu_version: "7.2.0".into(),
        },
        nics: vec![NicFacts {
            name: "eth0".into(),
            mac: "52:54:00:00:00:01".into(),
            speed_mbps: 25_000,
            link_up: true,
        }],
        datastores: vec![DatastoreFacts {
            name: "local".into(),
            url: "file:///var/lib/libvirt/images".into(),
            kind: "dir".into(),
            capacity_bytes: 1 << 40,
            free_bytes: 1 << 39,
        }],
        networks: vec![NetworkFacts {
            name: "vlan42".into(),
            kind: "bridge".into(),
            vlan: Some(42),
        }],
        boot_time: -1,
        sensors: [
            (Sensor::Cpu, SensorStatus::Normal),
            (Sensor::Fan, SensorStatus::Error),
        ]
        .into_iter()
        .collect(),
        ipmi_address: Some("10.1.0.2".into()),
        ipmi: Ipmi {
            username: Some("root".into()),
            port: Some(623),
            power_status: Some("POWER_ON".into()),
        },
        os_release: Some("bookworm".into()),
        nqn: Some("nqn.2014-08.org.nvmexpress:uuid:1".into()),
        agent_version: "0.1.0".into(),
    }
}

pub(crate) fn full_runtime() -> HostRuntime {
    HostRuntime {
        power_state: HostPowerState::StandBy,
        in_maintenance: true,
        lockdown: LockdownMode::Strict,
        quarantined: true,
        boot_time: 1_700_000_000,
        uptime_secs: 12_345,
        cpu_capacity_mhz: 460_800,
        cpu_used_mhz: 1_000,
        memory_capacity_bytes: 1 << 40,
        memory_used_bytes: 1 << 30,
        vm_count: 7,
        claim: Some(ClaimInfo {
            server_uuid: "s-1".into(),
            server_address: "vc.lab".into(),
            claimed_at: 1_700_000_000,
        }),
    }
}
