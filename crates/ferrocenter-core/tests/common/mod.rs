//! A core over a real SQLite store in a tempdir and an in-process simulated fleet.
#![allow(dead_code)]
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use ferrocenter_agent::driver::sim::SimOptions;
use ferrocenter_agent::simulate::{start_fleet, Fleet, SimulateOptions};
use ferrocenter_agent_client::ConnectOptions;
use ferrocenter_core::agent_door::AgentClientDoor;
use ferrocenter_core::auth::{Caller, Realm, Role};
use ferrocenter_core::hosts::{AddHostSpec, HostsConfig};
use ferrocenter_core::inventory::AutomationLevel;
use ferrocenter_core::ports::{ManualClock, SystemClock};
use ferrocenter_core::tasks::{Task, TaskResult, TaskState};
use ferrocenter_core::{Core, CoreConfig, CoreError, Machine, Ports};

pub const ROOT_PW: &str = "Root-Pass-1";

pub struct Env {
    pub core: Arc<Core>,
    pub fleet: Fleet,
    pub admin: Caller,
    _dir: tempfile::TempDir,
}

pub async fn env(hosts: usize, vms: usize, net: u8) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = ferrocenter_store::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    let config = CoreConfig {
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
    let core = Core::new(store, Arc::new(SystemClock), config);
    let fleet = start_fleet(SimulateOptions {
        hosts,
        vms_per_host: vms,
        address_base: Ipv4Addr::new(127, 2, net, 1),
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
        admin: Caller {
            principal_id: "p".into(),
            user: "administrator@vsphere.local".into(),
            realm: Realm::sso("vsphere.local"),
            role: Role::SuperAdmin,
        },
        _dir: dir,
    }
}

/// A core over a real SQLite store in `dir`, on `clock`, with `machine` and no hosts: where the
/// appliance tests start.
pub async fn appliance_core(
    dir: &std::path::Path,
    clock: Arc<ManualClock>,
    machine: Machine,
) -> Arc<Core> {
    core_with(dir, clock, machine, None, CoreConfig::default()).await
}

/// As `appliance_core`, with update sources and a configuration.
pub async fn core_with(
    dir: &std::path::Path,
    clock: Arc<ManualClock>,
    machine: Machine,
    update_sources: Option<Arc<dyn ferrocenter_core::ports::UpdateSources>>,
    config: CoreConfig,
) -> Arc<Core> {
    let store = ferrocenter_store::open(&format!("sqlite://{}", dir.join("t.db").display()))
        .await
        .unwrap();
    Core::assemble(
        Ports {
            store,
            clock,
            agents: Arc::new(AgentClientDoor::new(ConnectOptions::default())),
            machine,
            installer: None,
            backup_target: None,
            log_forwarder: None,
            federation: None,
            support_sources: None,
            update_sources,
        },
        config,
    )
}

/// A caller of the SSO domain with `role`.
pub fn sso_caller(role: Role) -> Caller {
    Caller {
        principal_id: format!("p-{role}"),
        user: format!("{role}@vsphere.local"),
        realm: Realm::sso("vsphere.local"),
        role,
    }
}

/// The task's end: its result, or its error.
pub async fn finish(core: &Core, t: Task) -> Result<Option<TaskResult>, CoreError> {
    for _ in 0..1200 {
        let t = core.tasks.get(&t.id).await.unwrap();
        if t.state.is_finished() {
            return match t.state {
                TaskState::Success => Ok(t.result),
                _ => Err(t.error.unwrap()),
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {} did not finish", t.id);
}

pub fn spec(e: &Env, i: usize, cluster: &str) -> AddHostSpec {
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

pub async fn cluster(e: &Env, level: AutomationLevel) -> String {
    let dc = e.core.create_datacenter(&e.admin, "dc1", "").await.unwrap();
    e.core
        .create_cluster(&e.admin, &dc.id, "c1", level, "")
        .await
        .unwrap()
        .id
}

pub async fn add(e: &Env, s: AddHostSpec) -> Result<String, CoreError> {
    let t = e.core.add_host(&e.admin, s).await?;
    let r = finish(&e.core, t).await?;
    Ok(r.as_ref().and_then(TaskResult::host).unwrap().to_string())
}
