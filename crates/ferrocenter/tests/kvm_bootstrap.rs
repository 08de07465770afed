//! Agent bootstrap over SSH against real hosts: network-namespace test hosts (testkit `kvm`)
//! with their own sshd and libvirtd. ZStack's AddKVMHost with only the SSH password installs
//! the server's agent and adds the host; wrong passwords, a host key that is not the pinned
//! one and a host without libvirt fail with nothing left behind; reconnect reinstalls an agent
//! that stopped, with the server's own key.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::zstack::{code, details, ZsClient};
use common::{TestServer, PASSWORD};
use ferrocenter_testkit::kvm::{missing_prerequisites, TestHost, TestHosts};
use reqwest::Method;
use serde_json::{json, Value};

const POST: Method = Method::POST;
const PUT: Method = Method::PUT;

/// The SHA-256 fingerprint of the host's ed25519 SSH key, as `ssh-keygen -lf` prints it.
fn host_key_fingerprint(h: &TestHost) -> String {
    let key = h.root_path("/etc/ssh/ssh_host_ed25519_key.pub");
    let out = std::process::Command::new("ssh-keygen")
        .arg("-lf")
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "ssh-keygen -lf {}", key.display());
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

/// The pid the host's agent supervisor recorded, if it runs.
fn supervisor_pid(h: &TestHost) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(h.root_path("/opt/ferrocenter-agent/supervisor.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: signal 0 only checks that the process exists.
    (unsafe { libc::kill(pid, 0) } == 0).then_some(pid)
}

/// Stops the host's agent (TERM to its supervisor) and waits until it is gone.
async fn stop_agent(h: &TestHost) {
    let Some(pid) = supervisor_pid(h) else { return };
    // SAFETY: TERM to the supervisor the test host runs; it stops the agent with it.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    while supervisor_pid(h).is_some() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        supervisor_pid(h).is_none(),
        "the agent on {} did not stop",
        h.hostname()
    );
}

async fn add_kvm_host(
    zc: &ZsClient,
    cluster: &str,
    h: &TestHost,
    name: &str,
    password: &str,
    tags: Value,
) -> (u16, Value) {
    let body = json!({"params": {"name": name, "managementIp": h.address().to_string(),
                                 "clusterUuid": cluster, "username": "root", "password": password,
                                 "sshPort": h.ssh_port()},
                      "systemTags": tags});
    zc.sdk(POST, "/zstack/v1/hosts/kvm", Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_kvm_host_installs_the_agent_over_ssh() {
    let missing = missing_prerequisites();
    if !missing.is_empty() {
        println!("SKIPPED: {}", missing.join(", "));
        return;
    }
    let hosts = tokio::task::spawn_blocking(|| TestHosts::start(2))
        .await
        .unwrap()
        .expect("test hosts");
    let [h0, h1] = hosts.hosts() else {
        panic!("two hosts")
    };
    let ts = TestServer::start_with(|a| {
        a.bootstrap_agent_binary = Some(PathBuf::from(env!("CARGO_BIN_EXE_ferrocenter")));
        a.bootstrap_agent_driver = Some("sim".into());
    })
    .await;
    let zc = ZsClient::new(ts.client.clone(), &ts.api(""), "admin", PASSWORD).await;
    let (s, v) = zc
        .sdk(
            POST,
            "/zstack/v1/zones",
            Some(json!({"params": {"name": "z"}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let zone = v["inventory"]["uuid"].as_str().unwrap().to_string();
    let (s, v) = zc
        .sdk(
            POST,
            "/zstack/v1/clusters",
            Some(json!({"params": {"name": "c", "zoneUuid": zone, "hypervisorType": "KVM"}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let cluster = v["inventory"]["uuid"].as_str().unwrap().to_string();
    let count = || async { zc.get("/zstack/v1/hosts?count=true").await.1["total"].clone() };

    // A wrong password: ZStack's SYS.1006, nothing installed, no host.
    let (s, v) = add_kvm_host(&zc, &cluster, h0, "kvm-0", "Wrong-Pass-1", json!([])).await;
    assert_eq!((s, code(&v)), (503, "SYS.1006"), "{v}");
    assert!(details(&v).contains("user name or password"), "{v}");
    assert_eq!(count().await, 0);
    assert!(!h0.root_path("/opt/ferrocenter-agent/ferrocenter").exists());

    // A pinned host key that is not the host's: refused before logging in.
    let other = host_key_fingerprint(h1);
    let (s, v) = add_kvm_host(
        &zc,
        &cluster,
        h0,
        "kvm-0",
        h0.root_password(),
        json!([format!("sshHostKey::{other}")]),
    )
    .await;
    assert_eq!((s, code(&v)), (503, "HOST.1003"), "{v}");
    assert!(details(&v).contains("host key changed"), "{v}");
    assert!(details(&v).contains(&other), "{v}");
    assert_eq!(count().await, 0);

    // The password only: the agent is installed, started and the host added.
    let started = Instant::now();
    let (s, v) = add_kvm_host(
        &zc,
        &cluster,
        h0,
        "kvm-0",
        h0.root_password(),
        json!([format!("sshHostKey::{}", host_key_fingerprint(h0))]),
    )
    .await;
    println!(
        "SSH bootstrap to connected: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(s, 200, "{v}");
    let inv = &v["inventory"];
    assert_eq!(
        (&inv["status"], &inv["username"], &inv["hostname"]),
        (&json!("Connected"), &json!("root"), &json!(h0.hostname())),
        "{v}"
    );
    let h0_uuid = inv["uuid"].as_str().unwrap().to_string();
    assert!(supervisor_pid(h0).is_some(), "the agent runs on the host");
    // Trust on first use for the second host; the password is nowhere on the server or host.
    let (s, v) = add_kvm_host(&zc, &cluster, h1, "kvm-1", h1.root_password(), json!([])).await;
    assert_eq!(s, 200, "{v}");
    for dir in [
        ts.dir.path().to_path_buf(),
        h0.root_path("/var/lib/ferrocenter-agent"),
    ] {
        let out = std::process::Command::new("grep")
            .args(["-rlF", h0.root_password()])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.stdout.is_empty(),
            "the SSH password is kept in {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // The agent stops and its binary is gone: reconnect installs it again with the server's
    // key (no password given).
    stop_agent(h0).await;
    std::fs::remove_file(h0.root_path("/opt/ferrocenter-agent/ferrocenter")).unwrap();
    let (s, v) = zc
        .sdk(
            PUT,
            &format!("/zstack/v1/hosts/{h0_uuid}/actions"),
            Some(json!({"reconnectHost": {}})),
        )
        .await;
    assert_eq!(
        (s, &v["inventory"]["status"]),
        (200, &json!("Connected")),
        "{v}"
    );
    assert!(h0.root_path("/opt/ferrocenter-agent/ferrocenter").exists());
    assert!(supervisor_pid(h0).is_some());

    // libvirt stops on the second host: a new add there is refused, naming it.
    let (s, v) = zc
        .sdk(
            Method::DELETE,
            &format!(
                "/zstack/v1/hosts/{}",
                zc.inventories("/zstack/v1/hosts?q=name=kvm-1").await[0]["uuid"]
                    .as_str()
                    .unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    stop_agent(h1).await;
    h1.stop_libvirtd().unwrap();
    let (s, v) = add_kvm_host(&zc, &cluster, h1, "kvm-1", h1.root_password(), json!([])).await;
    assert_eq!((s, code(&v)), (503, "HOST.1003"), "{v}");
    assert!(details(&v).contains("libvirt is not running"), "{v}");
    assert_eq!(count().await, 1);

    // A host without KVM (its /dev/kvm hidden under a regular file, in that host's mount
    // namespace only): refused, naming it, with nothing installed.
    h1.start_libvirtd().unwrap();
    let hide = h1.root_path("/var/lib/libvirt/no-kvm");
    std::fs::write(&hide, b"").unwrap();
    let mount = h1
        .command("mount")
        .args(["--bind", "/var/lib/libvirt/no-kvm", "/dev/kvm"])
        .status()
        .unwrap();
    assert!(
        mount.success(),
        "bind-mount over /dev/kvm on {}",
        h1.hostname()
    );
    let _ = std::fs::remove_file(h1.root_path("/opt/ferrocenter-agent/ferrocenter"));
    let (s, v) = add_kvm_host(&zc, &cluster, h1, "kvm-1", h1.root_password(), json!([])).await;
    assert_eq!((s, code(&v)), (503, "HOST.1003"), "{v}");
    assert!(details(&v).contains("/dev/kvm"), "{v}");
    assert_eq!(count().await, 1);
    assert!(!h1.root_path("/opt/ferrocenter-agent/ferrocenter").exists());
    let umount = h1.command("umount").arg("/dev/kvm").status().unwrap();
    assert!(umount.success());

    ts.stop().await;
    for h in [h0, h1] {
        stop_agent(h).await;
    }
    let footprint = hosts.footprint();
    tokio::task::spawn_blocking(move || drop(hosts))
        .await
        .unwrap();
    let left = footprint.leftovers();
    assert!(left.is_empty(), "left after teardown: {left:?}");
}
