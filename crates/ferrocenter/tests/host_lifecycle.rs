//! Host flows through the core's Rust API against simulated agents and a real SQLite store.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use ferrocenter_core::hosts::PowerAction as CorePower;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use ferrocenter_agent::driver::sim::SimOptions;
use ferrocenter_agent::simulate::{start_fleet, Fleet, SimulateOptions};
use ferrocenter_agent_client::wire::{ErrorCode, PowerAction, VmPowerState};
use ferrocenter_agent_client::ConnectOptions;
use ferrocenter_core::auth::{Caller, Realm, Role};
use ferrocenter_core::hosts::{AddHostSpec, HostsConfig, IfAlready, ReconnectSpec, RemoveMode};
use ferrocenter_core::inventory::{
    AutomationLevel, ConnectionState, EventFilter, HostFilter, HostState,
};
use ferrocenter_core::licensing::LicenseConfig;
use ferrocenter_core::ports::SystemClock;
use ferrocenter_core::tasks::{Task, TaskState};
use ferrocenter_core::{Core, CoreConfig, CoreError};
use serde_json::json;

const ROOT_PW: &str = "Root-Pass-1";

struct Env {
    core: Arc<Core>,
    fleet: Fleet,
    admin: Caller,
    _dir: tempfile::TempDir,
}

fn admin() -> Caller {
    Caller {
        principal_id: "p".into(),
        user: "administrator@vsphere.local".into(),
        realm: Realm::sso("vsphere.local"),
        role: Role::SuperAdmin,
    }
}

async fn env_with(hosts: usize, vms: usize, tweak: impl FnOnce(&mut CoreConfig)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = ferrocenter_store::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    let mut config = CoreConfig {
        hosts: HostsConfig {
            maintenance_poll: Duration::from_millis(100),
            ..HostsConfig::default()
        },
        agent_connect: ConnectOptions {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            ..ConnectOptions::default()
        },
        ..CoreConfig::default()
    };
    tweak(&mut config);
    let core = Core::new(store, Arc::new(SystemClock), config);
    let net = 60 + (std::process::id() % 150) as u8;
    let fleet = start_fleet(SimulateOptions {
        hosts,
        vms_per_host: vms,
        address_base: Ipv4Addr::new(127, 1, net, 1),
        port: 0,
        root_user: "root".into(),
        root_password: ROOT_PW.into(),
        seed: 7,
        control: "127.0.0.1:0".parse().unwrap(),
        sim: SimOptions {
            migration_bytes_per_sec: 64 << 30,
            reboot_time: Duration::from_millis(500),
        },
        peer_timeout: Duration::from_secs(5),
    })
    .await
    .unwrap();
    Env {
        core,
        fleet,
        admin: admin(),
        _dir: dir,
    }
}

async fn env(hosts: usize, vms: usize) -> Env {
    env_with(hosts, vms, |_| {}).await
}

async fn wait(core: &Core, t: &Task) -> Task {
    for _ in 0..1200 {
        let t = core.tasks.get(&t.id).await.unwrap();
        if t.state.is_finished() {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {} did not finish", t.id);
}

fn spec(e: &Env, i: usize, cluster: &str) -> AddHostSpec {
    let h = &e.fleet.manifest.hosts[i];
    AddHostSpec {
        cluster_id: Some(cluster.into()),
        host_name: h.address.clone(),
        port: Some(h.port),
        ssl_thumbprint: Some(h.thumbprint.clone()),
        user_name: "root".into(),
        password: ROOT_PW.into(),
        ..Default::default()
    }
}

async fn cluster(e: &Env, level: AutomationLevel) -> String {
    let dc = e.core.create_datacenter(&e.admin, "dc1", "").await.unwrap();
    e.core
        .create_cluster(&e.admin, &dc.id, "c1", level, "")
        .await
        .unwrap()
        .id
}

async fn add(e: &Env, s: AddHostSpec) -> Result<String, CoreError> {
    let t = e.core.add_host(&e.admin, s).await?;
    let t = wait(&e.core, &t).await;
    match t.state {
        TaskState::Success => Ok(t.result.unwrap().host().unwrap().to_string()),
        _ => Err(t.error.unwrap()),
    }
}

async fn fault(e: &Env, i: usize, body: serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!(
            "http://{}/agents/{i}/faults",
            e.fleet.manifest.control
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

async fn host_count(e: &Env) -> u64 {
    e.core
        .store
        .count_hosts(&HostFilter::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn add_registers_everything_and_uses_a_service_account() {
    let e = env(1, 4).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let id = add(&e, spec(&e, 0, &c)).await.unwrap();
    let h = e.core.store.get_host(&id).await.unwrap().unwrap();
    assert_eq!(h.connection_state, ConnectionState::Connected);
    assert_eq!(h.state, HostState::Enabled);
    assert!(h.moid.starts_with("host-"));
    assert_eq!(h.cluster_id.as_deref(), Some(c.as_str()));
    assert_ne!(h.agent_user, "root");
    assert!(!h.agent_secret.is_empty());
    assert_eq!(e.core.store.list_vms(Some(&id)).await.unwrap().len(), 4);
    assert_eq!(e.core.store.datastores_of_host(&id).await.unwrap().len(), 2);
    assert_eq!(e.core.store.networks_of_host(&id).await.unwrap().len(), 2);
    let events = e
        .core
        .store
        .list_events(&EventFilter {
            entity_id: Some(id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(events.iter().any(|ev| ev.kind == "HostConnectedEvent"));
    // The agent records this server as its manager.
    let claim = e.fleet.agent(0).current_claim().unwrap();
    assert_eq!(claim.server_uuid, e.core.server_uuid().await.unwrap());
    // root's password changing on the host does not disturb the server.
    fault(
        &e,
        0,
        json!({"fault": "root_password", "password": "Changed-Pass-2"}),
    )
    .await;
    let t = e
        .core
        .disconnect_host(&e.admin, &id, IfAlready::StartTask)
        .await
        .unwrap();
    assert_eq!(wait(&e.core, &t).await.state, TaskState::Success);
    // Already disconnected: refused before any task (vAPI), or the task fails (vim).
    assert!(matches!(
        e.core
            .disconnect_host(&e.admin, &id, IfAlready::Refuse)
            .await,
        Err(CoreError::AlreadyInState { .. })
    ));
    let t = e
        .core
        .disconnect_host(&e.admin, &id, IfAlready::StartTask)
        .await
        .unwrap();
    assert!(matches!(
        wait(&e.core, &t).await.error,
        Some(CoreError::AlreadyInState { .. })
    ));
    let t = e
        .core
        .reconnect_host(&e.admin, &id, ReconnectSpec::default())
        .await
        .unwrap();
    let t = wait(&e.core, &t).await;
    assert_eq!(t.state, TaskState::Success, "{:?}", t.error);
    let connect = ReconnectSpec {
        if_connected: IfAlready::Refuse,
        ..Default::default()
    };
    assert!(matches!(
        e.core.reconnect_host(&e.admin, &id, connect).await,
        Err(CoreError::AlreadyInState { .. })
    ));
    // Adding the same host twice is AlreadyConnected.
    match e.core.add_host(&e.admin, spec(&e, 0, &c)).await {
        Err(CoreError::AlreadyConnected { .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_datacenter_holding_clusters_or_hosts_is_deleted_only_with_force() {
    let e = env(1, 1).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let dc = e
        .core
        .list_datacenters(&e.admin)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.name == "dc1")
        .unwrap();
    // An empty cluster is enough to refuse, before any task.
    assert!(matches!(
        e.core.delete_datacenter(&e.admin, &dc.id, false).await,
        Err(CoreError::InvalidState { .. })
    ));
    add(&e, spec(&e, 0, &c)).await.unwrap();
    assert!(matches!(
        e.core.delete_datacenter(&e.admin, &dc.id, false).await,
        Err(CoreError::InvalidState { .. })
    ));
    assert_eq!(host_count(&e).await, 1);
    let t = e
        .core
        .delete_datacenter(&e.admin, &dc.id, true)
        .await
        .unwrap();
    let t = wait(&e.core, &t).await;
    assert_eq!(t.state, TaskState::Success, "{:?}", t.error);
    assert_eq!(host_count(&e).await, 0);
    // An empty datacenter needs no force.
    let empty = e.core.create_datacenter(&e.admin, "dc2", "").await.unwrap();
    let t = e
        .core
        .delete_datacenter(&e.admin, &empty.id, false)
        .await
        .unwrap();
    assert_eq!(wait(&e.core, &t).await.state, TaskState::Success);
    assert!(e.core.list_datacenters(&e.admin).await.unwrap().is_empty());
}

#[tokio::test]
async fn evaluation_mode_ends_after_its_period() {
    let e = env_with(2, 0, |c| {
        c.licensing = LicenseConfig {
            cpu_capacity: None,
            evaluation: Duration::from_secs(1),
        }
    })
    .await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    add(&e, spec(&e, 0, &c)).await.unwrap();
    // The period counts from the first check, not from each add.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    match add(&e, spec(&e, 1, &c)).await {
        Err(CoreError::NotEnoughLicenses { message }) => {
            assert!(message.contains("evaluation period"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn add_faults_leave_nothing_behind() {
    let e = env_with(3, 1, |c| {
        c.licensing = LicenseConfig {
            cpu_capacity: Some(4),
            ..LicenseConfig::default()
        }
    })
    .await;
    let c = cluster(&e, AutomationLevel::Manual).await;

    // No thumbprint: SSLVerifyFault carrying the agent's thumbprint.
    let mut s = spec(&e, 0, &c);
    s.ssl_thumbprint = None;
    match add(&e, s).await {
        Err(CoreError::SslVerify { thumbprint, .. }) => {
            assert_eq!(thumbprint, e.fleet.manifest.hosts[0].thumbprint);
        }
        other => panic!("{other:?}"),
    }
    // Wrong password.
    let mut s = spec(&e, 0, &c);
    s.password = "wrong-wrong".into();
    assert_eq!(add(&e, s).await.unwrap_err(), CoreError::InvalidLogin);
    // Unreachable.
    fault(&e, 1, json!({"fault": "stop_answering", "enabled": true})).await;
    assert!(matches!(
        add(&e, spec(&e, 1, &c)).await,
        Err(CoreError::NoHost { .. })
    ));
    fault(&e, 1, json!({"fault": "clear"})).await;
    // An agent too old.
    fault(&e, 1, json!({"fault": "api_version", "api_version": 0})).await;
    assert!(matches!(
        add(&e, spec(&e, 1, &c)).await,
        Err(CoreError::NotSupportedHost { .. })
    ));
    fault(&e, 1, json!({"fault": "clear"})).await;
    // Managed by another server: AlreadyBeingManaged unless force.
    e.fleet
        .agent(2)
        .claim(&ferrocenter_agent_client::wire::ClaimRequest {
            server_uuid: "other".into(),
            server_address: "10.9.9.9".into(),
            force: false,
        })
        .unwrap();
    match add(&e, spec(&e, 2, &c)).await {
        Err(CoreError::AlreadyBeingManaged { ip_address }) => assert_eq!(ip_address, "10.9.9.9"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        host_count(&e).await,
        0,
        "no failed add leaves a host behind"
    );
    // Licenses: capacity 4 packages; hosts have 1 or 2.
    let mut added = 0;
    let mut refused = false;
    for i in 0..3 {
        let mut s = spec(&e, i, &c);
        s.force = true;
        match add(&e, s).await {
            Ok(_) => added += 1,
            Err(CoreError::NotEnoughLicenses { .. }) => {
                refused = true;
                // The claim taken before the check was... not taken: licenses come first.
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    assert!(added >= 2);
    let packages: u64 = e
        .core
        .store
        .list_hosts(&HostFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|h| u64::from(h.facts.as_deref().unwrap().hardware.cpu_packages))
        .sum();
    assert!(packages <= 4);
    assert_eq!(refused, added < 3);
    // Bad input is refused at once, naming the field.
    let mut s = spec(&e, 0, &c);
    s.host_name = "not a host".into();
    match e.core.add_host(&e.admin, s).await {
        Err(CoreError::InvalidArgument { field, .. }) => assert_eq!(field, "hostName"),
        other => panic!("{other:?}"),
    }
    let mut s = spec(&e, 0, &c);
    s.ssl_thumbprint = Some("12:34".into());
    match e.core.add_host(&e.admin, s).await {
        Err(CoreError::InvalidArgument { field, .. }) => assert_eq!(field, "sslThumbprint"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn reconnect_rules() {
    let e = env(1, 2).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let id = add(&e, spec(&e, 0, &c)).await.unwrap();
    let moid = e.core.store.get_host(&id).await.unwrap().unwrap().moid;
    // Connected: only a thumbprint-only change is allowed.
    let t = e
        .core
        .reconnect_host(&e.admin, &id, ReconnectSpec::default())
        .await
        .unwrap();
    assert!(matches!(
        wait(&e.core, &t).await.error,
        Some(CoreError::InvalidState { .. })
    ));
    let same = ReconnectSpec {
        ssl_thumbprint: Some(e.fleet.manifest.hosts[0].thumbprint.to_lowercase()),
        ..Default::default()
    };
    let t = e.core.reconnect_host(&e.admin, &id, same).await.unwrap();
    assert_eq!(wait(&e.core, &t).await.state, TaskState::Success);
    // A wrong thumbprint on reconnect: SSLVerifyFault, and the host stays as it was.
    let t = e
        .core
        .disconnect_host(&e.admin, &id, IfAlready::StartTask)
        .await
        .unwrap();
    wait(&e.core, &t).await;
    let bad = ReconnectSpec {
        ssl_thumbprint: Some("00".repeat(32)),
        ..Default::default()
    };
    let t = e.core.reconnect_host(&e.admin, &id, bad).await.unwrap();
    assert!(matches!(
        wait(&e.core, &t).await.error,
        Some(CoreError::SslVerify { .. })
    ));
    let h = e.core.store.get_host(&id).await.unwrap().unwrap();
    assert_eq!(h.connection_state, ConnectionState::Disconnected);
    assert_eq!(h.thumbprint, e.fleet.manifest.hosts[0].thumbprint);
    // VMs created on the host while it was disconnected appear after the reconnect; the host
    // keeps its identity.
    let agent = e.fleet.agent(0);
    agent
        .create_vm(ferrocenter_agent_client::wire::VmSpec {
            uuid: None,
            instance_uuid: None,
            name: "made-while-away".into(),
            vcpus: 1,
            memory_bytes: 1 << 30,
            guest_os_id: "debian12_64Guest".into(),
            disks: vec![],
            nics: vec![],
            power_on: false,
        })
        .await
        .unwrap();
    agent.set_maintenance(true).await;
    let t = e
        .core
        .reconnect_host(&e.admin, &id, ReconnectSpec::default())
        .await
        .unwrap();
    let t = wait(&e.core, &t).await;
    assert_eq!(t.state, TaskState::Success, "{:?}", t.error);
    let h = e.core.store.get_host(&id).await.unwrap().unwrap();
    assert_eq!(h.moid, moid);
    assert_eq!(e.core.store.list_vms(Some(&id)).await.unwrap().len(), 3);
    // The server's settings win: the host is not in maintenance for the server, so neither is it.
    assert!(!agent.runtime().in_maintenance);
    let kinds: Vec<String> = e
        .core
        .store
        .list_events(&EventFilter {
            entity_id: Some(id.clone()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|ev| ev.kind)
        .collect();
    assert!(kinds.contains(&"HostDisconnectedEvent".to_string()));
    assert!(kinds.contains(&"HostReconnectionFailedEvent".to_string()));
}

async fn powered_on(e: &Env, host: &str) -> Vec<ferrocenter_core::inventory::VmRecord> {
    e.core
        .store
        .list_vms(Some(host))
        .await
        .unwrap()
        .into_iter()
        .filter(|v| v.power_state == "poweredOn")
        .collect()
}

#[tokio::test]
async fn maintenance_in_a_manual_cluster_waits_for_the_operator() {
    let e = env(1, 3).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let id = add(&e, spec(&e, 0, &c)).await.unwrap();
    let vms = e.core.store.list_vms(Some(&id)).await.unwrap();
    let t = e
        .core
        .enter_maintenance(&e.admin, &id, 0, false)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        e.core.tasks.get(&t.id).await.unwrap().state,
        TaskState::Running
    );
    assert_eq!(
        e.core.store.get_host(&id).await.unwrap().unwrap().state,
        HostState::PreMaintenance
    );
    // Entering twice is refused.
    assert!(matches!(
        e.core.enter_maintenance(&e.admin, &id, 0, false).await,
        Err(CoreError::InvalidState { .. })
    ));
    // Power-on is refused while entering, by the server and by the host.
    for v in &vms {
        let _ = e.core.power_vm(&e.admin, &v.id, CorePower::Off).await;
    }
    match e.core.power_vm(&e.admin, &vms[0].id, CorePower::On).await {
        Err(CoreError::InvalidState { .. }) => {}
        other => panic!("{other:?}"),
    }
    let direct = e
        .fleet
        .agent(0)
        .power(&vms[0].uuid, PowerAction::On)
        .await
        .unwrap_err();
    assert_eq!(direct.0.code, ErrorCode::InvalidState);
    let t = wait(&e.core, &t).await;
    assert_eq!(t.state, TaskState::Success, "{:?}", t.error);
    let h = e.core.store.get_host(&id).await.unwrap().unwrap();
    assert_eq!(h.state, HostState::Maintenance);
    // In maintenance: still no power-on; exit restores it.
    assert!(e
        .core
        .power_vm(&e.admin, &vms[0].id, CorePower::On)
        .await
        .is_err());
    let t = e.core.exit_maintenance(&e.admin, &id, 0).await.unwrap();
    assert_eq!(wait(&e.core, &t).await.state, TaskState::Success);
    e.core
        .power_vm(&e.admin, &vms[0].id, CorePower::On)
        .await
        .unwrap();
    assert!(matches!(
        e.core.exit_maintenance(&e.admin, &id, 0).await,
        Err(CoreError::InvalidState { .. })
    ));
}

#[tokio::test]
async fn maintenance_timeout_and_cancel_restore_the_previous_state() {
    let e = env(1, 2).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let id = add(&e, spec(&e, 0, &c)).await.unwrap();
    let t = e
        .core
        .enter_maintenance(&e.admin, &id, 1, false)
        .await
        .unwrap();
    let t = wait(&e.core, &t).await;
    assert!(
        matches!(t.error, Some(CoreError::Timeout { .. })),
        "{:?}",
        t.error
    );
    let h = e.core.store.get_host(&id).await.unwrap().unwrap();
    assert_eq!(h.state, HostState::Enabled);
    assert!(!e.fleet.agent(0).runtime().in_maintenance);

    let t = e
        .core
        .enter_maintenance(&e.admin, &id, 0, false)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    e.core.cancel_task(&e.admin, &t.id).await.unwrap();
    let t = wait(&e.core, &t).await;
    assert!(
        matches!(t.error, Some(CoreError::Cancelled { .. })),
        "{:?}",
        t.error
    );
    assert!(t.cancelled);
    assert_eq!(
        e.core.store.get_host(&id).await.unwrap().unwrap().state,
        HostState::Enabled
    );
    // VMs can power on again.
    let vm = e.core.store.list_vms(Some(&id)).await.unwrap().remove(0);
    if vm.power_state == "poweredOn" {
        e.core
            .power_vm(&e.admin, &vm.id, CorePower::Off)
            .await
            .unwrap();
    }
    e.core
        .power_vm(&e.admin, &vm.id, CorePower::On)
        .await
        .unwrap();
}

#[tokio::test]
async fn fully_automated_cluster_evacuates_100_vms() {
    let e = env(4, 0).await;
    let c = cluster(&e, AutomationLevel::FullyAutomated).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(add(&e, spec(&e, i, &c)).await.unwrap());
    }
    // 100 powered-on VMs on the first host.
    let agent = e.fleet.agent(0);
    for i in 0..100 {
        agent
            .create_vm(ferrocenter_agent_client::wire::VmSpec {
                uuid: None,
                instance_uuid: None,
                name: format!("evac-{i:03}"),
                vcpus: 1,
                memory_bytes: 512 << 20,
                guest_os_id: "debian12_64Guest".into(),
                disks: vec![],
                nics: vec![],
                power_on: true,
            })
            .await
            .unwrap();
    }
    let t = e
        .core
        .enter_maintenance(&e.admin, &ids[0], 0, false)
        .await
        .unwrap();
    let t = wait(&e.core, &t).await;
    assert_eq!(t.state, TaskState::Success, "{:?}", t.error);
    assert!(matches!(
        t.result,
        Some(ferrocenter_core::tasks::TaskResult::HostInMaintenance { migrated: 100, .. })
    ));
    assert!(powered_on(&e, &ids[0]).await.is_empty());
    // Every VM is on exactly one host, in the store and on the agents.
    let mut on_agents = std::collections::HashMap::new();
    for i in 0..4 {
        for v in e.fleet.agent(i).vms() {
            *on_agents.entry(v.uuid).or_insert(0) += 1;
        }
    }
    assert_eq!(on_agents.len(), 100);
    assert!(on_agents.values().all(|n| *n == 1));
    let records = e.core.store.list_vms(None).await.unwrap();
    assert_eq!(records.len(), 100);
    for r in &records {
        assert_ne!(r.host_id, ids[0]);
        assert_eq!(r.power_state, "poweredOn");
    }
    let migrated = e
        .core
        .store
        .list_events(&EventFilter {
            kind: Some("VmMigratedEvent".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(migrated.len(), 100);
    // Spread: no destination took everything.
    let counts = e.core.vm_count_by_host().await.unwrap();
    assert!(counts.values().all(|n| *n < 100));
}

#[tokio::test]
async fn remove_permissive_and_enforcing() {
    let e = env(2, 2).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let a = add(&e, spec(&e, 0, &c)).await.unwrap();
    let b = add(&e, spec(&e, 1, &c)).await.unwrap();
    // Permissive: the host is unreachable, so the removal aborts and nothing changes.
    fault(&e, 0, json!({"fault": "refuse_tls", "enabled": true})).await;
    let t = e
        .core
        .remove_host(&e.admin, &a, RemoveMode::Permissive)
        .await
        .unwrap();
    let t = wait(&e.core, &t).await;
    // The cached session may still reach the agent over an open connection; refuse_tls drops
    // only new ones, so accept either outcome but require consistency.
    if t.state == TaskState::Error {
        assert!(e.core.store.get_host(&a).await.unwrap().is_some());
        // Enforcing removes it regardless.
        let t = e
            .core
            .remove_host(&e.admin, &a, RemoveMode::Enforcing)
            .await
            .unwrap();
        assert_eq!(wait(&e.core, &t).await.state, TaskState::Success);
    }
    assert!(e.core.store.get_host(&a).await.unwrap().is_none());
    assert!(e.core.store.list_vms(Some(&a)).await.unwrap().is_empty());
    fault(&e, 0, json!({"fault": "clear"})).await;
    // Permissive on a reachable host: VMs are stopped and the claim released.
    let t = e
        .core
        .remove_host(&e.admin, &b, RemoveMode::Permissive)
        .await
        .unwrap();
    assert_eq!(wait(&e.core, &t).await.state, TaskState::Success);
    assert!(e
        .fleet
        .agent(1)
        .vms()
        .iter()
        .all(|v| v.power_state == VmPowerState::PoweredOff));
    assert!(e.fleet.agent(1).current_claim().is_none());
    assert_eq!(host_count(&e).await, 0);
}

#[tokio::test]
async fn heartbeats_mark_not_responding_and_reconnect_when_the_host_returns() {
    let e = env(2, 1).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let a = add(&e, spec(&e, 0, &c)).await.unwrap();
    let b = add(&e, spec(&e, 1, &c)).await.unwrap();
    let state = |id: String| {
        let core = e.core.clone();
        async move {
            core.store
                .get_host(&id)
                .await
                .unwrap()
                .unwrap()
                .connection_state
        }
    };
    // Three missed heartbeats make a host notResponding.
    fault(&e, 0, json!({"fault": "refuse_tls", "enabled": true})).await;
    fault(&e, 0, json!({"fault": "stop_answering", "enabled": true})).await;
    for _ in 0..3 {
        e.core.heartbeat_round().await;
    }
    assert_eq!(state(a.clone()).await, ConnectionState::NotResponding);
    assert_eq!(state(b.clone()).await, ConnectionState::Connected);
    // It answers again: the next rounds reconnect it without an operator.
    fault(&e, 0, json!({"fault": "clear"})).await;
    for _ in 0..4 {
        e.core.heartbeat_round().await;
        if state(a.clone()).await == ConnectionState::Connected {
            break;
        }
    }
    assert_eq!(state(a.clone()).await, ConnectionState::Connected);
    // VM power changes made on the host reach the inventory through the event cursor.
    let vm = e.core.store.list_vms(Some(&b)).await.unwrap().remove(0);
    let action = if vm.power_state == "poweredOn" {
        PowerAction::Off
    } else {
        PowerAction::On
    };
    e.fleet.agent(1).power(&vm.uuid, action).await.unwrap();
    e.core.heartbeat_round().await;
    let after = e.core.store.get_vm(&vm.id).await.unwrap().unwrap();
    assert_ne!(after.power_state, vm.power_state);
    let kinds: Vec<String> = e
        .core
        .store
        .list_events(&EventFilter {
            entity_id: Some(a.clone()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|ev| ev.kind)
        .collect();
    assert!(
        kinds.contains(&"HostNotRespondingEvent".to_string()),
        "{kinds:?}"
    );
}

/// A migration the inventory did not record (the server's write failed on a full disk, or the
/// server died after the agents' switch-over) is learnt from the destination's events: found by
/// the fault-and-invariant suite (docs/reliability.md, seed 20261206).
#[tokio::test]
async fn a_migration_the_inventory_missed_is_learnt_from_the_destination() {
    let e = env(2, 1).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let a = add(&e, spec(&e, 0, &c)).await.unwrap();
    let b = add(&e, spec(&e, 1, &c)).await.unwrap();
    let vm = e.core.store.list_vms(Some(&a)).await.unwrap().remove(0);
    let wire = e.fleet.agent(0).vm(&vm.uuid).unwrap();
    assert_eq!(wire.power_state, VmPowerState::PoweredOn);
    // The agents move it between themselves; the server records nothing.
    let ticket = e.fleet.agent(1).prepare_incoming(wire).unwrap();
    let dest = &e.fleet.manifest.hosts[1];
    e.fleet
        .agent(0)
        .migrate_out(
            &vm.uuid,
            ferrocenter_agent_client::wire::MigrateRequest {
                destination_address: dest.address.clone(),
                destination_port: dest.port,
                destination_thumbprint: dest.thumbprint.clone(),
                migration_id: ticket.migration_id,
                ticket: ticket.ticket,
            },
        )
        .await
        .unwrap();
    assert!(e.fleet.agent(0).vms().is_empty());
    for _ in 0..3 {
        e.core.heartbeat_round().await;
    }
    let after = e.core.store.get_vm(&vm.id).await.unwrap().unwrap();
    assert_eq!(
        after.host_id, b,
        "the inventory places the VM where the agents hold it"
    );
}

#[tokio::test]
async fn an_add_cut_short_by_a_restart_leaves_no_host() {
    let e = env(1, 1).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let id = add(&e, spec(&e, 0, &c)).await.unwrap();
    // Make the stored host look like an add that never finished, and one like a reconnect.
    let mut h = e.core.store.get_host(&id).await.unwrap().unwrap();
    h.connection_state = ConnectionState::Connecting;
    e.core.store.update_host(&h).await.unwrap();
    assert_eq!(e.core.recover_hosts().await.unwrap(), (0, 1));
    assert_eq!(
        e.core
            .store
            .get_host(&id)
            .await
            .unwrap()
            .unwrap()
            .connection_state,
        ConnectionState::Disconnected
    );
    h.runtime = None;
    e.core.store.update_host(&h).await.unwrap();
    assert_eq!(e.core.recover_hosts().await.unwrap(), (1, 0));
    assert!(e.core.store.get_host(&id).await.unwrap().is_none());
    assert!(e.core.store.list_vms(Some(&id)).await.unwrap().is_empty());
}

#[tokio::test]
async fn standalone_hosts_and_the_smaller_operations() {
    let e = env(1, 2).await;
    let dc = e
        .core
        .create_datacenter(&e.admin, "dc-standalone", "")
        .await
        .unwrap();
    // Names are unique and validated.
    assert!(matches!(
        e.core
            .create_datacenter(&e.admin, "dc-standalone", "")
            .await,
        Err(CoreError::AlreadyExists { .. })
    ));
    assert!(matches!(
        e.core.create_datacenter(&e.admin, "bad/name", "").await,
        Err(CoreError::InvalidArgument { .. })
    ));
    let mut s = spec(&e, 0, "");
    s.cluster_id = None;
    s.datacenter_id = Some(dc.id.clone());
    s.name = Some("kvm-a".into());
    s.description = Some("rack 4".into());
    s.ssh_port = Some(22);
    s.tags = vec!["gold".into()];
    s.system_tags = vec!["pageTableExtensionDisabled".into()];
    s.management_ip = Some("10.20.30.40".into());
    let mut bad = s.clone();
    bad.resource_uuid = Some("NOT-A-UUID".into());
    match e.core.add_host(&e.admin, bad).await {
        Err(CoreError::InvalidArgument { field, .. }) => assert_eq!(field, "resourceUuid"),
        other => panic!("{other:?}"),
    }
    s.resource_uuid = Some("0123456789abcdef0123456789abcdef".into());
    let id = add(&e, s).await.unwrap();
    assert_eq!(
        id, "0123456789abcdef0123456789abcdef",
        "resourceUuid becomes the host's id"
    );
    let h = e.core.store.get_host(&id).await.unwrap().unwrap();
    assert_eq!(h.cluster_id, None);
    // Another host may not take the same name in the datacenter.
    let mut dup = spec(&e, 0, "");
    dup.cluster_id = None;
    dup.datacenter_id = Some(dc.id.clone());
    dup.host_name = "127.0.0.9".into();
    dup.name = Some("kvm-a".into());
    assert!(matches!(
        e.core.add_host(&e.admin, dup).await,
        Err(CoreError::AlreadyExists { .. })
    ));
    assert_eq!(
        (h.name.as_str(), h.description.as_str(), h.ssh_port),
        ("kvm-a", "rack 4", Some(22))
    );
    assert_eq!(
        h.system_tags,
        vec!["pageTableExtensionDisabled".to_string()]
    );

    // Capacity follows the VMs' power state.
    let cap = e.core.host_capacity(&h).await.unwrap();
    assert_eq!(cap.total_cpu_capacity, cap.cpu_num * 10);
    let vm = e.core.store.list_vms(Some(&id)).await.unwrap().remove(0);
    if vm.power_state != "poweredOn" {
        e.core
            .power_vm(&e.admin, &vm.id, CorePower::On)
            .await
            .unwrap();
    }
    let on = e.core.host_capacity(&h).await.unwrap();
    e.core
        .power_vm(&e.admin, &vm.id, CorePower::Off)
        .await
        .unwrap();
    let off = e.core.host_capacity(&h).await.unwrap();
    assert!(matches!(
        e.core.power_vm_task(&e.admin, &vm.id, CorePower::Off).await,
        Err(CoreError::AlreadyInState { .. })
    ));
    assert_eq!(
        off.available_memory_bytes - on.available_memory_bytes,
        vm.memory_bytes
    );
    assert_eq!(
        off.available_cpu_capacity - on.available_cpu_capacity,
        vm.vcpus as u64
    );

    // Rename, uptime, connection info, lockdown, disable/enable, standby.
    assert_eq!(
        e.core
            .rename_host(&e.admin, &id, "kvm-b")
            .await
            .unwrap()
            .name,
        "kvm-b"
    );
    assert!(matches!(
        e.core.rename_host(&e.admin, &id, "").await,
        Err(CoreError::InvalidArgument { .. })
    ));
    assert!(e.core.host_uptime(&e.admin, &id).await.unwrap() >= 3600);
    let info = e.core.host_connection_info(&e.admin, &id).await.unwrap();
    assert_eq!(info["vm"].as_array().unwrap().len(), 2);
    assert_eq!(info["datastore"].as_array().unwrap().len(), 2);
    e.core.host_lockdown(&e.admin, &id, true).await.unwrap();
    assert_eq!(
        e.fleet.agent(0).runtime().lockdown,
        ferrocenter_agent_client::wire::LockdownMode::Normal
    );
    assert!(matches!(
        e.core.host_lockdown(&e.admin, &id, true).await,
        Err(CoreError::AlreadyInState { .. })
    ));
    e.core.host_lockdown(&e.admin, &id, false).await.unwrap();
    assert!(matches!(
        e.core.host_lockdown(&e.admin, &id, false).await,
        Err(CoreError::AlreadyInState { .. })
    ));
    e.core
        .set_host_admin_state(
            &e.admin,
            &id,
            ferrocenter_core::inventory::AdminState::Disabled,
        )
        .await
        .unwrap();
    assert!(matches!(
        e.core.power_vm(&e.admin, &vm.id, CorePower::On).await,
        Err(CoreError::InvalidState { .. })
    ));
    e.core
        .set_host_admin_state(
            &e.admin,
            &id,
            ferrocenter_core::inventory::AdminState::Enabled,
        )
        .await
        .unwrap();
    for v in e.core.store.list_vms(Some(&id)).await.unwrap() {
        if v.power_state == "poweredOn" {
            e.core
                .power_vm(&e.admin, &v.id, CorePower::Off)
                .await
                .unwrap();
        }
    }
    assert_eq!(
        e.core
            .host_standby(&e.admin, &id, true)
            .await
            .unwrap()
            .power_state,
        "standBy"
    );
    assert_eq!(
        e.core
            .host_standby(&e.admin, &id, false)
            .await
            .unwrap()
            .power_state,
        "poweredOn"
    );

    // Reboot and shutdown need maintenance mode unless forced.
    assert!(matches!(
        e.core.host_power(&e.admin, &id, true, false).await,
        Err(CoreError::InvalidState { .. })
    ));
    let t = e.core.host_power(&e.admin, &id, true, true).await.unwrap();
    let t = wait(&e.core, &t).await;
    assert_eq!(t.state, TaskState::Success, "{:?}", t.error);

    // Operators may look but not change.
    let op = Caller {
        role: Role::Operator,
        ..admin()
    };
    assert!(matches!(
        e.core.rename_host(&op, &id, "x").await,
        Err(CoreError::NoPermission { .. })
    ));
    assert!(matches!(
        e.core.enter_maintenance(&op, &id, 0, false).await,
        Err(CoreError::NoPermission { .. })
    ));
}

#[tokio::test]
async fn an_evacuation_passes_over_a_destination_that_refuses_a_vm() {
    let e = env(3, 0).await;
    let c = cluster(&e, AutomationLevel::FullyAutomated).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(add(&e, spec(&e, i, &c)).await.unwrap());
    }
    let vm_spec =
        |name: &str, uuid: Option<String>, gib: u64| ferrocenter_agent_client::wire::VmSpec {
            uuid,
            instance_uuid: None,
            name: name.into(),
            vcpus: 1,
            memory_bytes: gib << 30,
            guest_os_id: "debian12_64Guest".into(),
            disks: vec![],
            nics: vec![],
            power_on: true,
        };
    // The destination the evacuation prefers (the most free memory) already holds a VM with
    // the uuid of the one to move, so it refuses it ("already on this host") every time.
    let free = |i: usize| {
        let rt = e.fleet.agent(i).runtime();
        rt.memory_capacity_bytes - rt.memory_used_bytes
    };
    if free(1) == free(2) {
        e.fleet
            .agent(2)
            .create_vm(vm_spec("filler", None, 1))
            .await
            .unwrap();
    }
    let preferred = if free(1) > free(2) { 1 } else { 2 };
    let vm = e
        .fleet
        .agent(0)
        .create_vm(vm_spec("a", None, 1))
        .await
        .unwrap();
    let mut twin = vm_spec("twin", Some(vm.uuid.clone()), 1);
    twin.power_on = false;
    e.fleet.agent(preferred).create_vm(twin).await.unwrap();
    let t = e
        .core
        .enter_maintenance(&e.admin, &ids[0], 20, false)
        .await
        .unwrap();
    let t = wait(&e.core, &t).await;
    assert_eq!(t.state, TaskState::Success, "{:?}", t.error);
    let other = 3 - preferred;
    assert!(e
        .fleet
        .agent(other)
        .vms()
        .iter()
        .any(|v| v.uuid == vm.uuid && v.name == "a"));
    assert!(e.fleet.agent(0).vms().is_empty());
}

#[tokio::test]
async fn a_destination_dying_mid_evacuation_loses_no_vm() {
    let e = env(3, 0).await;
    let c = cluster(&e, AutomationLevel::FullyAutomated).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(add(&e, spec(&e, i, &c)).await.unwrap());
    }
    let src = e.fleet.agent(0);
    for i in 0..16 {
        src.create_vm(ferrocenter_agent_client::wire::VmSpec {
            uuid: None,
            instance_uuid: None,
            name: format!("big-{i:02}"),
            vcpus: 2,
            // 8 GiB at 64 GiB/s: each copy takes 125 ms, long enough to be cut.
            memory_bytes: 8 << 30,
            guest_os_id: "debian12_64Guest".into(),
            disks: vec![],
            nics: vec![],
            power_on: true,
        })
        .await
        .unwrap();
    }
    let t = e
        .core
        .enter_maintenance(&e.admin, &ids[0], 10, false)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    fault(&e, 1, json!({"fault": "stop_answering", "enabled": true})).await;
    let t = wait(&e.core, &t).await;
    fault(&e, 1, json!({"fault": "clear"})).await;
    // Once the destination answers again, every migration it was part of resolves.
    for _ in 0..100 {
        if src.vms().iter().all(|v| v.migrating_to.is_none()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut seen = std::collections::HashMap::new();
    for i in 0..3 {
        for v in e.fleet.agent(i).vms() {
            assert!(v.migrating_to.is_none());
            *seen.entry(v.uuid).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.len(), 16, "no VM lost");
    assert!(seen.values().all(|n| *n == 1), "no VM on two hosts");
    // The task either finished (the rest went to the third host) or failed with a clear reason.
    match t.state {
        TaskState::Success => assert!(e
            .fleet
            .agent(0)
            .vms()
            .iter()
            .all(|v| v.power_state != VmPowerState::PoweredOn)),
        _ => assert!(t.error.is_some()),
    }
}

#[tokio::test]
async fn changed_credentials_stop_the_automatic_reconnects() {
    let e = env(1, 0).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let id = add(&e, spec(&e, 0, &c)).await.unwrap();
    let account = e
        .core
        .store
        .get_host(&id)
        .await
        .unwrap()
        .unwrap()
        .agent_user;
    fault(&e, 0, json!({"fault": "stop_answering", "enabled": true})).await;
    for _ in 0..3 {
        e.core.heartbeat_round().await;
    }
    assert_eq!(
        e.core
            .store
            .get_host(&id)
            .await
            .unwrap()
            .unwrap()
            .connection_state,
        ConnectionState::NotResponding
    );
    // While it was away, someone changed the service account's password on the host.
    e.fleet
        .agent(0)
        .change_password("root", &account, "a-brand-new-password-0001")
        .unwrap();
    fault(&e, 0, json!({"fault": "clear"})).await;
    e.core.heartbeat_round().await;
    let h = e.core.store.get_host(&id).await.unwrap().unwrap();
    assert_eq!(h.connection_state, ConnectionState::Disconnected);
    let kinds: Vec<String> = e
        .core
        .store
        .list_events(&EventFilter {
            entity_id: Some(id.clone()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|ev| ev.kind)
        .collect();
    assert!(
        kinds.contains(&"HostCnxFailedAccountFailedEvent".to_string()),
        "{kinds:?}"
    );
    // No more tries: further rounds leave it disconnected.
    e.core.heartbeat_round().await;
    assert_eq!(
        e.core
            .store
            .get_host(&id)
            .await
            .unwrap()
            .unwrap()
            .connection_state,
        ConnectionState::Disconnected
    );
    // An operator reconnects with root's credentials; the service account is renewed.
    let t = e
        .core
        .reconnect_host(
            &e.admin,
            &id,
            ReconnectSpec {
                user_name: Some("root".into()),
                password: Some(ROOT_PW.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let t = wait(&e.core, &t).await;
    assert_eq!(t.state, TaskState::Success, "{:?}", t.error);
}

#[tokio::test]
async fn reconnect_faults() {
    let e = env_with(2, 1, |c| {
        c.licensing = LicenseConfig {
            cpu_capacity: Some(64),
            ..LicenseConfig::default()
        }
    })
    .await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let id = add(&e, spec(&e, 0, &c)).await.unwrap();
    let disconnect = || async {
        let t = e
            .core
            .disconnect_host(&e.admin, &id, IfAlready::StartTask)
            .await
            .unwrap();
        wait(&e.core, &t).await;
    };
    let reconnect = |s: ReconnectSpec| async {
        let t = e.core.reconnect_host(&e.admin, &id, s).await.unwrap();
        wait(&e.core, &t).await.error
    };
    disconnect().await;
    // InvalidName: a bad new address is refused at once, naming the field.
    match e
        .core
        .reconnect_host(
            &e.admin,
            &id,
            ReconnectSpec {
                host_name: Some("bad host".into()),
                ..Default::default()
            },
        )
        .await
    {
        Err(CoreError::InvalidArgument { field, .. }) => assert_eq!(field, "cnxSpec.hostName"),
        other => panic!("{other:?}"),
    }
    // NoHost.
    fault(&e, 0, json!({"fault": "stop_answering", "enabled": true})).await;
    assert!(matches!(
        reconnect(ReconnectSpec::default()).await,
        Some(CoreError::NoHost { .. })
    ));
    fault(&e, 0, json!({"fault": "clear"})).await;
    // NotSupportedHost.
    fault(&e, 0, json!({"fault": "api_version", "api_version": 0})).await;
    assert!(matches!(
        reconnect(ReconnectSpec::default()).await,
        Some(CoreError::NotSupportedHost { .. })
    ));
    fault(&e, 0, json!({"fault": "clear"})).await;
    // AlreadyBeingManaged unless force.
    e.fleet
        .agent(0)
        .claim(&ferrocenter_agent_client::wire::ClaimRequest {
            server_uuid: "another-server".into(),
            server_address: "10.1.1.1".into(),
            force: true,
        })
        .unwrap();
    assert!(matches!(
        reconnect(ReconnectSpec::default()).await,
        Some(CoreError::AlreadyBeingManaged { ref ip_address }) if ip_address == "10.1.1.1"
    ));
    assert_eq!(
        reconnect(ReconnectSpec {
            force: true,
            ..Default::default()
        })
        .await,
        None
    );
    // NotEnoughLicenses: another host takes most of the capacity while this one is away.
    disconnect().await;
    let other = add(&e, spec(&e, 1, &c)).await.unwrap();
    let mut h = e.core.store.get_host(&other).await.unwrap().unwrap();
    Arc::make_mut(h.facts.as_mut().unwrap())
        .hardware
        .cpu_packages = 64;
    e.core.store.update_host(&h).await.unwrap();
    assert!(matches!(
        reconnect(ReconnectSpec::default()).await,
        Some(CoreError::NotEnoughLicenses { .. })
    ));
    assert_eq!(
        e.core
            .store
            .get_host(&id)
            .await
            .unwrap()
            .unwrap()
            .connection_state,
        ConnectionState::Disconnected,
        "a failed reconnect leaves the host as it was"
    );
}

#[tokio::test]
async fn evacuating_powered_off_vms_and_shutdown() {
    let e = env(2, 0).await;
    let c = cluster(&e, AutomationLevel::FullyAutomated).await;
    let a = add(&e, spec(&e, 0, &c)).await.unwrap();
    let b = add(&e, spec(&e, 1, &c)).await.unwrap();
    for (i, on) in [(0, true), (1, false), (2, false)] {
        e.fleet
            .agent(0)
            .create_vm(ferrocenter_agent_client::wire::VmSpec {
                uuid: None,
                instance_uuid: None,
                name: format!("mixed-{i}"),
                vcpus: 1,
                memory_bytes: 1 << 30,
                guest_os_id: "debian12_64Guest".into(),
                disks: vec![],
                nics: vec![],
                power_on: on,
            })
            .await
            .unwrap();
    }
    // Without evacuatePoweredOffVms, powered-off VMs may stay.
    let t = e
        .core
        .enter_maintenance(&e.admin, &a, 0, false)
        .await
        .unwrap();
    assert_eq!(wait(&e.core, &t).await.state, TaskState::Success);
    assert_eq!(e.fleet.agent(0).vms().len(), 2);
    let t = e.core.exit_maintenance(&e.admin, &a, 0).await.unwrap();
    wait(&e.core, &t).await;
    // With it, they move too.
    let t = e
        .core
        .enter_maintenance(&e.admin, &a, 0, true)
        .await
        .unwrap();
    let t = wait(&e.core, &t).await;
    assert_eq!(t.state, TaskState::Success, "{:?}", t.error);
    assert!(e.fleet.agent(0).vms().is_empty());
    assert_eq!(e.core.store.list_vms(Some(&b)).await.unwrap().len(), 3);
    // In maintenance, shutdown is allowed without force.
    let t = e.core.host_power(&e.admin, &a, false, false).await.unwrap();
    assert_eq!(wait(&e.core, &t).await.state, TaskState::Success);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        e.fleet.agent(0).runtime().power_state,
        ferrocenter_agent_client::wire::HostPowerState::PoweredOff
    );
}

#[tokio::test]
async fn sync_state_registers_lost_vms_back_and_vm_connection_follows_the_host() {
    let e = env(1, 2).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let id = add(&e, spec(&e, 0, &c)).await.unwrap();
    let vms = e.core.store.list_vms(Some(&id)).await.unwrap();
    assert_eq!(
        e.core.vm_connection_state(&vms[0]).await.unwrap(),
        "connected"
    );
    let t = e
        .core
        .disconnect_host(&e.admin, &id, IfAlready::StartTask)
        .await
        .unwrap();
    wait(&e.core, &t).await;
    assert_eq!(
        e.core.vm_connection_state(&vms[0]).await.unwrap(),
        "disconnected"
    );
    // The host "reboots stateless" and forgets its VMs.
    let agent = e.fleet.agent(0);
    for v in agent.vms() {
        if v.power_state != VmPowerState::PoweredOff {
            agent.power(&v.uuid, PowerAction::Off).await.unwrap();
        }
        agent.unregister_vm(&v.uuid).await.unwrap();
    }
    let t = e
        .core
        .reconnect_host(
            &e.admin,
            &id,
            ReconnectSpec {
                sync_state: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let t = wait(&e.core, &t).await;
    assert_eq!(t.state, TaskState::Success, "{:?}", t.error);
    let mut back: Vec<String> = agent.vms().into_iter().map(|v| v.uuid).collect();
    let mut known: Vec<String> = vms.iter().map(|v| v.uuid.clone()).collect();
    back.sort();
    known.sort();
    assert_eq!(back, known, "the host has the server's VMs again");
    // Same identities in the inventory.
    let after = e.core.store.list_vms(Some(&id)).await.unwrap();
    let mut ids: Vec<&str> = after.iter().map(|v| v.id.as_str()).collect();
    let mut before: Vec<&str> = vms.iter().map(|v| v.id.as_str()).collect();
    ids.sort();
    before.sort();
    assert_eq!(ids, before);
}

#[tokio::test]
async fn folders() {
    let e = env(1, 0).await;
    let root = e.core.root_folder().await.unwrap();
    assert_eq!(
        (root.moid.as_str(), root.name.as_str()),
        ("group-d1", "Datacenters")
    );
    assert_eq!(
        e.core.root_folder().await.unwrap().id,
        root.id,
        "one root folder"
    );
    let dc = e
        .core
        .create_datacenter(&e.admin, "dc-f", "")
        .await
        .unwrap();
    let folders = e.core.store.folders_of_datacenter(&dc.id).await.unwrap();
    let mut kinds: Vec<(&str, char)> = folders
        .iter()
        .map(|f| (f.kind.as_str(), f.moid.chars().nth(6).unwrap()))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("datastore", 's'),
            ("host", 'h'),
            ("network", 'n'),
            ("vm", 'v')
        ]
    );
    let host_folder = e
        .core
        .datacenter_folder(&dc.id, ferrocenter_core::inventory::FolderKind::Host)
        .await
        .unwrap();
    let sub = e
        .core
        .create_folder(&e.admin, &host_folder.id, "rack-4")
        .await
        .unwrap();
    assert_eq!(sub.kind, ferrocenter_core::inventory::FolderKind::Host);
    assert_eq!(sub.datacenter_id.as_deref(), Some(dc.id.as_str()));
    assert!(matches!(
        e.core
            .create_folder(&e.admin, &host_folder.id, "rack-4")
            .await,
        Err(CoreError::AlreadyExists { .. })
    ));
    assert!(matches!(
        e.core.create_folder(&e.admin, &host_folder.id, "a/b").await,
        Err(CoreError::InvalidArgument { .. })
    ));
    assert!(matches!(
        e.core.create_folder(&e.admin, "nope", "x").await,
        Err(CoreError::NotFound { .. })
    ));
    let listed = e
        .core
        .store
        .list_folders(Some(&host_folder.id))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    // A folder with children cannot be deleted; deleting the datacenter takes its folders.
    assert!(e.core.store.delete_folder(&host_folder.id).await.is_err());
    e.core.store.delete_datacenter(&dc.id).await.unwrap();
    assert!(e
        .core
        .store
        .folders_of_datacenter(&dc.id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(e.core.store.list_folders(None).await.unwrap().len(), 1);
}
