//! SIGKILL of the real server binary in the middle of a host flow, then a restart on the same
//! data dir. One second into an evacuation (enter maintenance on a host of a fully automated
//! cluster with six running VMs): the agents finish or abort the migrations they were driving
//! without the server, and once they have, no VM is left "being migrated", every VM is on
//! exactly one host in the server's inventory and where the agents hold it, a new maintenance
//! entry completes, and every VM powers off. Between an add's claim of the agent and its host
//! record: the restart releases the claim. Driven through the operator CLI, as an operator would.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::cli::*;
use common::*;
use ferrocenter_agent_client::wire::VmSpec;
use ferrocenter_testkit::free_port;
use serde_json::Value;

const VMS: usize = 6;
/// Generous: the convergence is expected within seconds; the bound only keeps a hang finite.
const DEADLINE: Duration = Duration::from_secs(120);

fn start_server(data: &Path, api: &str, app: &str) -> (Proc, Cli) {
    let mut p = spawn_server(
        data,
        &[
            "--listen",
            api,
            "--appliance-listen",
            app,
            "--admin-password",
            PASSWORD,
            "--heartbeat-interval-secs",
            "1",
        ],
    );
    let out = p.wait_stdout("thumbprint", Duration::from_secs(60));
    let cli = Cli::to(api, &printed_thumbprint(&out));
    assert!(cli.login(PASSWORD).status.success());
    (p, cli)
}

/// VM names per host address, as the server lists them.
fn server_view(cli: &Cli, hosts: &[String]) -> BTreeMap<String, Vec<String>> {
    hosts
        .iter()
        .map(|h| {
            let mut names: Vec<String> = cli
                .json(&["vm", "list", "--host", h])
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_string())
                .collect();
            names.sort();
            (h.clone(), names)
        })
        .collect()
}

/// VM names per host address, as the agents hold them, and the VMs still being migrated.
fn agents_view(
    fleet: &ferrocenter_agent::simulate::Fleet,
    hosts: &[String],
) -> (BTreeMap<String, Vec<String>>, Vec<String>) {
    let mut frozen = Vec::new();
    let view = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let vms = fleet.agent(i).vms();
            frozen.extend(
                vms.iter()
                    .filter(|v| v.migrating_to.is_some())
                    .map(|v| v.name.clone()),
            );
            let mut names: Vec<String> = vms.into_iter().map(|v| v.name).collect();
            names.sort();
            (h.clone(), names)
        })
        .collect();
    (view, frozen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_one_second_into_maintenance_leaves_no_vm_frozen() {
    // 2 GiB VMs at 1 GiB/s: each copy takes two seconds, so all six are cut by the kill.
    let fleet = sim_fleet_with(3, 0, 13, 77, 1 << 30).await;
    for i in 0..VMS {
        fleet
            .agent(0)
            .create_vm(VmSpec {
                uuid: None,
                instance_uuid: None,
                name: format!("crash-{i}"),
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
    let hosts: Vec<String> = (0..3)
        .map(|i| fleet.manifest.hosts[i].address.clone())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (api, app) = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    let (mut p, cli) = start_server(&data, &api, &app);
    cli.json(&["datacenter", "create", "DC"]);
    cli.json(&[
        "cluster",
        "create",
        "C1",
        "--datacenter",
        "DC",
        "--automation",
        "fullyAutomated",
    ]);
    for (i, h) in fleet.manifest.hosts.iter().enumerate() {
        let port = h.port.to_string();
        let v = cli.json(&[
            "host",
            "add",
            &h.address,
            "--port",
            &port,
            "--cluster",
            "C1",
            "--host-thumbprint",
            &h.thumbprint,
        ]);
        assert_eq!(v[0]["state"], "success", "host {i}: {v}");
    }
    assert_eq!(cli.json(&["host", "show", &hosts[0]])["vms"], VMS);

    cli.json(&["host", "maintenance", "enter", &hosts[0], "--no-wait"]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, frozen) = agents_view(&fleet, &hosts);
    eprintln!("at the kill, {} VMs were being migrated", frozen.len());
    p.signal(libc::SIGKILL);
    p.wait_exit(Duration::from_secs(10));
    drop(p);

    let (mut p, cli) = start_server(&data, &api, &app);
    // The agents settle the migrations by themselves; the server's inventory follows them.
    let start = Instant::now();
    loop {
        let (agents, frozen) = agents_view(&fleet, &hosts);
        let server = server_view(&cli, &hosts);
        if frozen.is_empty() && server == agents {
            eprintln!(
                "settled {:.1} s after the restart: {agents:?}",
                start.elapsed().as_secs_f64()
            );
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "not settled within {DEADLINE:?}: still being migrated {frozen:?}; \
             agents hold {agents:?}, the server lists {server:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (agents, _) = agents_view(&fleet, &hosts);
    let mut all: Vec<&String> = agents.values().flatten().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), VMS, "every VM on exactly one host: {agents:?}");
    assert_eq!(
        agents.values().map(Vec::len).sum::<usize>(),
        VMS,
        "{agents:?}"
    );

    // A new maintenance entry on the same host proceeds and ends.
    let v = cli.json(&["host", "maintenance", "enter", &hosts[0], "--no-wait"]);
    let task = v[0]["task"].as_str().unwrap().to_string();
    let t = until("the new maintenance entry to end", DEADLINE, || {
        let t = cli.json(&["task", "show", &task]);
        (t["state"] == "success" || t["state"] == "error").then_some(t)
    });
    assert_eq!(t["state"], "success", "{t}");
    assert_eq!(cli.json(&["host", "show", &hosts[0]])["vms"], 0);

    // No VM is frozen: each powers off.
    for i in 0..VMS {
        let name = format!("crash-{i}");
        let v: Value = cli.json(&["vm", "power-off", &name]);
        assert_eq!(v[0]["state"], "success", "{name}: {v}");
    }
    let (agents, frozen) = agents_view(&fleet, &hosts);
    assert!(frozen.is_empty());
    assert_eq!(server_view(&cli, &hosts), agents);
    p.signal(libc::SIGTERM);
    p.wait_exit(Duration::from_secs(30));
    fleet.stop().await;
}

/// The add claims the agent, then the server is killed before it writes the host record: the
/// agent answers every request 2 s late (the fleet's slowness fault), so the add's next request
/// after the claim (the service account) has not even reached the agent when the kill comes.
/// Before claim intents, the restart found nothing of the add and the agent stayed claimed by a
/// server that does not list it (another server needed `force`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_claim_and_host_record_leaves_no_claim() {
    let fleet = sim_fleet(1, 1, 14, 78).await;
    let agent = fleet.agent(0);
    let h = &fleet.manifest.hosts[0];
    let port = h.port.to_string();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (api, app) = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    let (mut p, cli) = start_server(&data, &api, &app);
    cli.json(&["datacenter", "create", "DC"]);
    let add = [
        "host",
        "add",
        &h.address,
        "--port",
        &port,
        "--datacenter",
        "DC",
        "--host-thumbprint",
        &h.thumbprint,
    ];
    agent
        .faults
        .slow_ms
        .store(2000, std::sync::atomic::Ordering::SeqCst);
    let mut no_wait = add.to_vec();
    no_wait.push("--no-wait");
    cli.json(&no_wait);
    let start = Instant::now();
    while agent.current_claim().is_none() {
        assert!(
            start.elapsed() < DEADLINE,
            "the add never claimed the agent"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    p.signal(libc::SIGKILL);
    p.wait_exit(Duration::from_secs(10));
    drop(p);
    assert!(
        agent.current_claim().is_some(),
        "the kill came after the claim"
    );
    assert!(
        !agent.has_account(&format!(
            "ferrocenter-{}",
            &agent.current_claim().unwrap().server_uuid[..8]
        )),
        "the kill came before the service account, so before the host record"
    );
    agent.faults.clear();

    let (mut p, cli) = start_server(&data, &api, &app);
    // Recovery runs before the server listens.
    assert!(
        agent.current_claim().is_none(),
        "the restart released the claim"
    );
    assert_eq!(cli.json(&["host", "list"]), serde_json::json!([]));
    // The host adds again, without force.
    let v = cli.json(&add);
    assert_eq!(v[0]["state"], "success", "{v}");
    assert!(agent.current_claim().is_some());
    p.signal(libc::SIGTERM);
    p.wait_exit(Duration::from_secs(30));
    fleet.stop().await;
}
