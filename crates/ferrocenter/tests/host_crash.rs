//! SIGKILL of a server process in the middle of 500 concurrent adds and an evacuation: after the
//! restart every host is fully registered or absent, every task is terminal, and no VM is lost
//! or on two hosts. The server is this test binary re-run as a child process; the simulated
//! fleet lives in the parent so it outlives the kill.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocenter_agent::driver::sim::SimOptions;
use ferrocenter_agent::simulate::{start_fleet, Manifest, SimulateOptions};
use ferrocenter_agent_client::wire::VmSpec;
use ferrocenter_core::auth::{Caller, Realm, Role};
use ferrocenter_core::hosts::{AddHostSpec, HostsConfig};
use ferrocenter_core::inventory::{AutomationLevel, ConnectionState, HostFilter, HostState};
use ferrocenter_core::ports::{SystemClock, TaskFilter};
use ferrocenter_core::tasks::TaskState;
use ferrocenter_core::{Core, CoreConfig};

const HOSTS: usize = 500;
const ROOT_PW: &str = "Root-Pass-1";

fn admin() -> Caller {
    Caller {
        principal_id: "p".into(),
        user: "administrator@vsphere.local".into(),
        realm: Realm::sso("vsphere.local"),
        role: Role::SuperAdmin,
    }
}

async fn core(db: &str, key: [u8; 32]) -> Arc<Core> {
    let store = ferrocenter_store::open(&format!("sqlite://{db}"))
        .await
        .unwrap();
    Core::new(
        store,
        Arc::new(SystemClock),
        CoreConfig {
            secret_key: key,
            hosts: HostsConfig {
                maintenance_poll: Duration::from_millis(100),
                ..HostsConfig::default()
            },
            ..CoreConfig::default()
        },
    )
}

fn key_from_env() -> [u8; 32] {
    hex::decode(std::env::var("FC_CHILD_KEY").unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

/// The server side: run only as the child of the test below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as the child process of sigkill_mid_adds_and_evacuation"]
async fn child_server_process() {
    let Ok(db) = std::env::var("FC_CHILD_DB") else {
        return;
    };
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(std::env::var("FC_CHILD_MANIFEST").unwrap()).unwrap(),
    )
    .unwrap();
    let core = core(&db, key_from_env()).await;
    let a = admin();
    let dc = core.create_datacenter(&a, "dc", "").await.unwrap();
    let cl = core
        .create_cluster(&a, &dc.id, "c", AutomationLevel::FullyAutomated, "")
        .await
        .unwrap();
    // Host 0 first, so there is something to evacuate, then the rest all at once.
    let add = |i: usize| {
        let h = &manifest.hosts[i];
        AddHostSpec {
            cluster_id: Some(cl.id.clone()),
            host_name: h.address.clone(),
            port: Some(h.port),
            ssl_thumbprint: Some(h.thumbprint.clone()),
            user_name: "root".into(),
            password: ROOT_PW.into(),
            ..Default::default()
        }
    };
    for i in 0..4 {
        let t = core.add_host(&a, add(i)).await.unwrap();
        while !core.tasks.get(&t.id).await.unwrap().state.is_finished() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Start the evacuation, then the other adds, so that both are under way at the kill.
    let host0 = core
        .store
        .find_host_by_address(&manifest.hosts[0].address, manifest.hosts[0].port)
        .await
        .unwrap()
        .unwrap();
    core.enter_maintenance(&a, &host0.id, 0, false)
        .await
        .unwrap();
    for i in 4..HOSTS {
        core.add_host(&a, add(i)).await.unwrap();
    }
    println!("EVACUATING");
    tokio::time::sleep(Duration::from_secs(600)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_adds_and_evacuation() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fc.db").to_string_lossy().into_owned();
    let manifest_path = dir.path().join("manifest.json");
    let net = 20 + (std::process::id() % 100) as u8;
    let fleet = start_fleet(SimulateOptions {
        hosts: HOSTS,
        vms_per_host: 2,
        address_base: Ipv4Addr::new(127, 2, net, 1),
        port: 0,
        root_user: "root".into(),
        root_password: ROOT_PW.into(),
        seed: 3,
        control: "127.0.0.1:0".parse().unwrap(),
        sim: SimOptions {
            // 2 GiB VMs at 4 GiB/s: each copy takes half a second, so some are cut.
            migration_bytes_per_sec: 4 << 30,
            reboot_time: Duration::from_secs(1),
        },
        peer_timeout: Duration::from_secs(5),
    })
    .await
    .unwrap();
    fleet.write_manifest(&manifest_path).unwrap();
    for i in 0..30 {
        fleet
            .agent(0)
            .create_vm(VmSpec {
                uuid: None,
                instance_uuid: None,
                name: format!("evac-{i}"),
                vcpus: 1,
                memory_bytes: 2 << 30,
                guest_os_id: "debian12_64Guest".into(),
                disks: vec![],
                nics: vec![],
                power_on: true,
            })
            .await
            .unwrap();
    }
    let total_vms = HOSTS * 2 + 30;
    let key = ferrocenter_core::secrets::SecretBox::generate_key();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_server_process",
            "--ignored",
            "--nocapture",
        ])
        .env("FC_CHILD_DB", &db)
        .env("FC_CHILD_MANIFEST", &manifest_path)
        .env("FC_CHILD_KEY", hex::encode(key))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("EVACUATING") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(300))
        .expect("the child server started evacuating");
    // Migrations and most adds are under way: kill it outright.
    tokio::time::sleep(Duration::from_millis(100)).await;
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    child.wait().unwrap();

    // Restart on the same database.
    let core = core(&db, key).await;
    let failed = core.tasks.recover().await.unwrap();
    core.recover_hosts().await.unwrap();
    let live = core
        .list_tasks(
            &admin(),
            &TaskFilter {
                states: vec![TaskState::Queued, TaskState::Running],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(live.is_empty(), "{} tasks left unfinished", live.len());
    let hosts = core.store.list_hosts(&HostFilter::default()).await.unwrap();
    assert!(!hosts.is_empty() && hosts.len() <= HOSTS);
    for h in &hosts {
        assert_eq!(h.connection_state, ConnectionState::Connected, "{}", h.name);
        assert!(
            h.runtime.is_some() && h.facts.is_some(),
            "{} is fully registered",
            h.name
        );
        assert_ne!(
            h.state,
            HostState::PreMaintenance,
            "no maintenance entry is left half-done"
        );
    }
    eprintln!(
        "after the kill: {} of {HOSTS} hosts registered, {failed} tasks failed by the restart",
        hosts.len()
    );

    // Migrations under way when the server died finish or abort on the agents by themselves.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30)
        && (0..HOSTS).any(|i| {
            fleet
                .agent(i)
                .vms()
                .iter()
                .any(|v| v.migrating_to.is_some())
        })
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut seen = std::collections::HashMap::new();
    for i in 0..HOSTS {
        for v in fleet.agent(i).vms() {
            *seen.entry(v.uuid).or_insert(0usize) += 1;
        }
    }
    assert_eq!(seen.len(), total_vms, "no VM lost");
    assert!(seen.values().all(|n| *n == 1), "no VM on two hosts");
    // In the inventory, a VM appears at most once (the uuid is unique) and only on known hosts.
    let records = core.store.list_vms(None).await.unwrap();
    assert!(records.len() <= total_vms);
    for r in &records {
        assert!(
            seen.contains_key(&r.uuid),
            "the inventory knows no VM the hosts do not have"
        );
    }
    fleet.stop().await;
}
