//! A simulated fleet driven through the agent client: every endpoint, every injected fault, and
//! migrations that fail without ever leaving a VM on both hosts or on neither.
// Test helpers panic on a broken fixture, as a test would.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use ferrocenter_agent::driver::sim::SimOptions;
use ferrocenter_agent::simulate::{start_fleet, Fleet, SimulateOptions};
use ferrocenter_agent_client::wire::*;
use ferrocenter_agent_client::{AgentClient, AgentConnector, AgentError, ConnectOptions};
use serde_json::json;

const ROOT_PW: &str = "Root-Pass-1";
const SERVICE: &str = "ferrocenter-svc";
const SERVICE_PW: &str = "b7c1d2e3f4a5968778695a4b3c2d1e0f";

/// Each test gets its own loopback subnet so tests can run side by side.
static NEXT_NET: AtomicU8 = AtomicU8::new(0);

async fn fleet(hosts: usize, vms: usize) -> Fleet {
    let net = 40 + NEXT_NET.fetch_add(1, Ordering::SeqCst) + (std::process::id() % 150) as u8;
    start_fleet(SimulateOptions {
        hosts,
        vms_per_host: vms,
        address_base: Ipv4Addr::new(127, 0, net, 1),
        port: 0,
        root_user: "root".into(),
        root_password: ROOT_PW.into(),
        seed: 42,
        control: "127.0.0.1:0".parse().unwrap(),
        sim: SimOptions {
            migration_bytes_per_sec: 8 << 30,
            reboot_time: Duration::from_millis(700),
        },
        peer_timeout: Duration::from_secs(2),
    })
    .await
    .unwrap()
}

fn connector() -> AgentConnector {
    AgentConnector::new(ConnectOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(3),
        pool_idle_timeout: Duration::from_secs(30),
    })
}

fn client(c: &AgentConnector, f: &Fleet, i: usize) -> AgentClient {
    let h = &f.manifest.hosts[i];
    c.client(&h.address, h.port, Some(&h.thumbprint))
}

async fn fault(f: &Fleet, i: usize, body: serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("http://{}/agents/{i}/faults", f.manifest.control))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "fault {body}");
}

/// Logs in as root, creates the service account and claims the host, as the server will.
async fn managed(c: &AgentConnector, f: &Fleet, i: usize) -> AgentClient {
    let a = client(c, f, i);
    a.about().await.unwrap();
    a.login("root", ROOT_PW).await.unwrap();
    a.create_account(SERVICE, SERVICE_PW).await.unwrap();
    let s = client(c, f, i);
    s.login(SERVICE, SERVICE_PW).await.unwrap();
    s.claim(&ClaimRequest {
        server_uuid: "server-a".into(),
        server_address: "10.0.0.1".into(),
        force: false,
    })
    .await
    .unwrap();
    s
}

fn api_code(e: &AgentError) -> Option<ErrorCode> {
    e.code()
}

#[tokio::test]
async fn thumbprint_pinning() {
    let f = fleet(1, 0).await;
    let c = connector();
    let h = &f.manifest.hosts[0];
    // No thumbprint: the error carries the agent's, so a caller can verify and retry with it.
    let e = c
        .client(&h.address, h.port, None)
        .about()
        .await
        .unwrap_err();
    match e {
        AgentError::SslVerify {
            thumbprint,
            self_signed,
        } => {
            assert_eq!(thumbprint, h.thumbprint);
            assert!(self_signed);
        }
        other => panic!("expected SslVerify, got {other:?}"),
    }
    let wrong = "00:".repeat(31) + "00";
    let e = c
        .client(&h.address, h.port, Some(&wrong))
        .about()
        .await
        .unwrap_err();
    assert!(matches!(e, AgentError::SslVerify { .. }), "{e:?}");
    // Lower-case and colon-less thumbprints are the same pin.
    let plain = h.thumbprint.replace(':', "").to_lowercase();
    let about = c
        .client(&h.address, h.port, Some(&plain))
        .about()
        .await
        .unwrap();
    assert_eq!(about.product, AGENT_PRODUCT);
    assert_eq!(about.driver, "sim");
    // A pooled connection verified under one pin is never reused under another.
    let e = c
        .client(&h.address, h.port, Some(&wrong))
        .about()
        .await
        .unwrap_err();
    assert!(matches!(e, AgentError::SslVerify { .. }), "{e:?}");
    f.stop().await;
}

/// The client sockets of this process connected to `peer`.
fn sockets_to(peer: std::net::SocketAddrV4) -> Vec<i32> {
    let mut fds = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let Ok(fd) = entry.unwrap().file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        // SAFETY: getpeername on a descriptor of this process into a zeroed sockaddr_in of the
        // size passed; it fails harmlessly on descriptors that are not sockets.
        let addr = unsafe {
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            let mut len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let ok = libc::getpeername(fd, std::ptr::addr_of_mut!(sa).cast(), &mut len) == 0;
            (ok && i32::from(sa.sin_family) == libc::AF_INET).then(|| {
                std::net::SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr)),
                    u16::from_be(sa.sin_port),
                )
            })
        };
        if addr == Some(peer) {
            fds.push(fd);
        }
    }
    fds
}

fn int_option(fd: i32, level: i32, name: i32) -> i32 {
    let mut v: libc::c_int = -1;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt of an int option into an int of the size passed.
    let rc =
        unsafe { libc::getsockopt(fd, level, name, std::ptr::addr_of_mut!(v).cast(), &mut len) };
    assert_eq!(rc, 0, "getsockopt({level}, {name})");
    v
}

/// A server keeps one idle connection to each agent between heartbeats (a minute apart). With
/// reqwest's default TCP_USER_TIMEOUT of 30 s, Linux ended about half of them 30 s after their
/// last request although the agents answered every keepalive probe, so each round paid for new
/// TLS handshakes: the client's connections have no user timeout, and keepalive on so that an
/// idle connection to a dead agent still ends.
#[tokio::test]
async fn idle_agent_connections_have_keepalive_and_no_user_timeout() {
    let f = fleet(1, 0).await;
    let c = connector();
    let a = client(&c, &f, 0);
    a.about().await.unwrap();
    let h = &f.manifest.hosts[0];
    let peer = std::net::SocketAddrV4::new(h.address.parse().unwrap(), h.port);
    let fds = sockets_to(peer);
    assert_eq!(fds.len(), 1, "one pooled connection to {peer}");
    assert_eq!(
        int_option(fds[0], libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT),
        0,
        "TCP_USER_TIMEOUT (ms)"
    );
    assert_eq!(int_option(fds[0], libc::SOL_SOCKET, libc::SO_KEEPALIVE), 1);
    assert_eq!(
        int_option(fds[0], libc::IPPROTO_TCP, libc::TCP_KEEPIDLE),
        15
    );
    // The same connection serves the next request.
    a.about().await.unwrap();
    assert_eq!(sockets_to(peer), fds);
    f.stop().await;
}

#[tokio::test]
async fn logins_accounts_and_claims() {
    let f = fleet(1, 0).await;
    let c = connector();
    let a = client(&c, &f, 0);
    // Wrong password and unknown user are indistinguishable.
    assert_eq!(
        a.login("root", "nope-nope").await.unwrap_err(),
        AgentError::InvalidLogin
    );
    assert_eq!(
        a.login("ghost", ROOT_PW).await.unwrap_err(),
        AgentError::InvalidLogin
    );
    // Without a login there is no session.
    assert!(matches!(a.facts().await, Err(AgentError::Protocol(_))));

    a.login("root", ROOT_PW).await.unwrap();
    let e = a.create_account("bad name", SERVICE_PW).await.unwrap_err();
    assert_eq!(field(&e), Some("name"));
    let e = a.create_account(SERVICE, "short").await.unwrap_err();
    assert_eq!(field(&e), Some("password"));
    a.create_account(SERVICE, SERVICE_PW).await.unwrap();
    let e = a.create_account(SERVICE, SERVICE_PW).await.unwrap_err();
    assert_eq!(api_code(&e), Some(ErrorCode::InvalidState));

    let s = client(&c, &f, 0);
    s.login(SERVICE, SERVICE_PW).await.unwrap();
    // Only root creates accounts.
    let e = s.create_account("other", SERVICE_PW).await.unwrap_err();
    assert_eq!(api_code(&e), Some(ErrorCode::PermissionDenied));

    let claim = |uuid: &str, addr: &str, force: bool| ClaimRequest {
        server_uuid: uuid.into(),
        server_address: addr.into(),
        force,
    };
    s.claim(&claim("server-a", "10.0.0.1", false))
        .await
        .unwrap();
    // The same server claiming again is fine; another one is told who manages the host.
    s.claim(&claim("server-a", "10.0.0.1", false))
        .await
        .unwrap();
    let e = s
        .claim(&claim("server-b", "10.0.0.2", false))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        AgentError::AlreadyBeingManaged {
            server_address: "10.0.0.1".into()
        }
    );
    let e = s.claim(&claim("", "10.0.0.2", false)).await.unwrap_err();
    assert_eq!(field(&e), Some("server_uuid"));
    s.claim(&claim("server-b", "10.0.0.2", true)).await.unwrap();
    assert_eq!(
        s.runtime().await.unwrap().claim.unwrap().server_address,
        "10.0.0.2"
    );
    let e = s.release_claim("server-a").await.unwrap_err();
    assert_eq!(api_code(&e), Some(ErrorCode::InvalidState));
    s.release_claim("server-b").await.unwrap();
    assert!(s.runtime().await.unwrap().claim.is_none());
    assert_eq!(s.current_claim().await.unwrap(), None);

    // A service account changes its own password; old sessions end.
    s.change_password(SERVICE, "0123456789abcdef0123456789")
        .await
        .unwrap();
    assert_eq!(
        s.login(SERVICE, SERVICE_PW).await.unwrap_err(),
        AgentError::InvalidLogin
    );
    s.login(SERVICE, "0123456789abcdef0123456789")
        .await
        .unwrap();
    let e = s.change_password("root", "whatever-1").await.unwrap_err();
    assert_eq!(api_code(&e), Some(ErrorCode::PermissionDenied));
    s.logout().await.unwrap();
    f.stop().await;
}

fn field(e: &AgentError) -> Option<&str> {
    match e {
        AgentError::Api { body, .. } => body.field.as_deref(),
        _ => None,
    }
}

#[tokio::test]
async fn facts_runtime_and_host_operations() {
    let f = fleet(2, 3).await;
    let c = connector();
    let s = managed(&c, &f, 0).await;
    let facts = s.facts().await.unwrap();
    assert_eq!(facts.hostname, f.manifest.hosts[0].hostname);
    assert_eq!(facts.sensors.len(), 9);
    assert!(facts.sensors.values().all(|v| *v == SensorStatus::Normal));
    assert!(facts.hardware.memory_bytes >= 256 << 30);
    assert!(facts.hardware.cpu_threads >= facts.hardware.cpu_cores);
    assert!(!facts.nics.is_empty() && facts.datastores.len() == 2 && facts.networks.len() == 2);
    assert!(facts.ipmi_address.is_some());
    assert_eq!(facts.agent_version, ferrocenter_agent_client::AGENT_VERSION);
    // Another host has other hardware identity.
    let other = managed(&c, &f, 1).await.facts().await.unwrap();
    assert_ne!(other.hardware.bios_uuid, facts.hardware.bios_uuid);

    let rt = s.runtime().await.unwrap();
    assert_eq!(rt.power_state, HostPowerState::PoweredOn);
    assert_eq!(rt.vm_count, 3);
    assert!(rt.memory_used_bytes > 0 && rt.memory_used_bytes < rt.memory_capacity_bytes);

    assert!(s.set_maintenance(true).await.unwrap().in_maintenance);
    assert!(s.set_quarantine(true).await.unwrap().quarantined);
    assert_eq!(
        s.set_lockdown(LockdownMode::Normal).await.unwrap().lockdown,
        LockdownMode::Normal
    );
    // Lockdown closes root's direct login; the service account keeps working.
    let root = client(&c, &f, 0);
    let e = root.login("root", ROOT_PW).await.unwrap_err();
    assert_eq!(api_code(&e), Some(ErrorCode::PermissionDenied));
    s.set_lockdown(LockdownMode::Disabled).await.unwrap();
    root.login("root", ROOT_PW).await.unwrap();
    s.set_quarantine(false).await.unwrap();
    s.set_maintenance(false).await.unwrap();

    assert_eq!(
        s.rename("esx-renamed.lab").await.unwrap().hostname,
        "esx-renamed.lab"
    );
    let e = s.rename("bad_name!").await.unwrap_err();
    assert_eq!(field(&e), Some("hostname"));
    let up = s.uptime().await.unwrap();
    assert!(up.uptime_secs >= 3600);

    // Reboot needs maintenance mode; in it, the host goes away and comes back with VMs off.
    let e = s.reboot(false).await.unwrap_err();
    assert_eq!(api_code(&e), Some(ErrorCode::InvalidState));
    let boot = s.uptime().await.unwrap().boot_time;
    s.set_maintenance(true).await.unwrap();
    s.reboot(false).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(matches!(s.runtime().await, Err(AgentError::NoHost { .. })));
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(s.uptime().await.unwrap().boot_time > boot);
    assert!(s
        .vms()
        .await
        .unwrap()
        .iter()
        .all(|v| v.power_state == VmPowerState::PoweredOff));
    assert!(
        s.runtime().await.unwrap().in_maintenance,
        "maintenance survives the reboot"
    );
    s.set_maintenance(false).await.unwrap();
    for vm in s.vms().await.unwrap() {
        s.power(&vm.uuid, PowerAction::On).await.unwrap();
    }

    // Standby: refused with VMs running; once they are off the host sleeps and wakes.
    let e = s.standby(StandbyAction::Down).await.unwrap_err();
    assert_eq!(api_code(&e), Some(ErrorCode::InvalidState));
    for vm in s.vms().await.unwrap() {
        s.power(&vm.uuid, PowerAction::Off).await.unwrap();
    }
    assert_eq!(
        s.standby(StandbyAction::Down).await.unwrap().power_state,
        HostPowerState::StandBy
    );
    let e = s.facts().await.unwrap_err();
    assert_eq!(api_code(&e), Some(ErrorCode::Unavailable));
    assert_eq!(
        s.runtime().await.unwrap().power_state,
        HostPowerState::StandBy
    );
    s.standby(StandbyAction::Up).await.unwrap();
    s.facts().await.unwrap();

    // Shutdown (in maintenance) makes the host unreachable until it is powered on.
    s.set_maintenance(true).await.unwrap();
    s.shutdown(false).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(matches!(s.runtime().await, Err(AgentError::NoHost { .. })));
    fault(&f, 0, json!({"fault": "power_on"})).await;
    let rt = s.runtime().await.unwrap();
    assert_eq!(rt.power_state, HostPowerState::PoweredOn);
    f.stop().await;
}

#[tokio::test]
async fn vm_lifecycle_capacity_and_events() {
    let f = fleet(1, 0).await;
    let c = connector();
    let s = managed(&c, &f, 0).await;
    let spec = |name: &str, gib: u64, on: bool| VmSpec {
        uuid: None,
        instance_uuid: None,
        name: name.into(),
        vcpus: 2,
        memory_bytes: gib << 30,
        guest_os_id: "debian12_64Guest".into(),
        disks: vec![VmDisk {
            label: "Hard disk 1".into(),
            capacity_bytes: 10 << 30,
            datastore: "nfs-shared-01".into(),
            image: None,
        }],
        nics: vec![],
        power_on: on,
    };
    for (bad, field_name) in [
        (
            VmSpec {
                vcpus: 0,
                ..spec("a", 1, false)
            },
            "vcpus",
        ),
        (
            VmSpec {
                memory_bytes: 1,
                ..spec("a", 1, false)
            },
            "memory_bytes",
        ),
        (
            VmSpec {
                name: "".into(),
                ..spec("a", 1, false)
            },
            "name",
        ),
        (
            VmSpec {
                uuid: Some("not-a-uuid".into()),
                instance_uuid: None,
                ..spec("a", 1, false)
            },
            "uuid",
        ),
    ] {
        let e = s.create_vm(&bad).await.unwrap_err();
        assert_eq!(field(&e), Some(field_name), "{bad:?}");
    }
    let vm = s.create_vm(&spec("web-1", 2, true)).await.unwrap();
    assert_eq!(vm.power_state, VmPowerState::PoweredOn);
    assert_eq!(s.vm(&vm.uuid).await.unwrap(), vm);
    assert_eq!(s.vms().await.unwrap().len(), 1);
    let e = s
        .create_vm(&VmSpec {
            uuid: Some(vm.uuid.clone()),
            instance_uuid: None,
            ..spec("dup", 1, false)
        })
        .await
        .unwrap_err();
    assert_eq!(api_code(&e), Some(ErrorCode::InvalidState));

    // Power state machine.
    assert_eq!(
        s.power(&vm.uuid, PowerAction::Suspend)
            .await
            .unwrap()
            .power_state,
        VmPowerState::Suspended
    );
    let e = s.power(&vm.uuid, PowerAction::Reset).await.unwrap_err();
    assert_eq!(api_code(&e), Some(ErrorCode::InvalidState));
    assert_eq!(
        s.power(&vm.uuid, PowerAction::On)
            .await
            .unwrap()
            .power_state,
        VmPowerState::PoweredOn
    );
    assert_eq!(
        s.power(&vm.uuid, PowerAction::Reset)
            .await
            .unwrap()
            .power_state,
        VmPowerState::PoweredOn
    );
    let e = s.power(&vm.uuid, PowerAction::On).await.unwrap_err();
    assert_eq!(api_code(&e), Some(ErrorCode::InvalidState));
    // A powered-on VM cannot be unregistered.
    let e = s.unregister_vm(&vm.uuid).await.unwrap_err();
    assert_eq!(api_code(&e), Some(ErrorCode::InvalidState));
    s.power(&vm.uuid, PowerAction::Off).await.unwrap();

    // Maintenance mode: nothing powers on.
    s.set_maintenance(true).await.unwrap();
    let e = s.power(&vm.uuid, PowerAction::On).await.unwrap_err();
    assert_eq!(api_code(&e), Some(ErrorCode::InvalidState));
    s.set_maintenance(false).await.unwrap();

    // Exhausted capacity: power-on fails for lack of memory, and works once it is cleared.
    fault(&f, 0, json!({"fault": "exhaust_capacity", "enabled": true})).await;
    let e = s.power(&vm.uuid, PowerAction::On).await.unwrap_err();
    assert_eq!(api_code(&e), Some(ErrorCode::InsufficientCapacity));
    fault(
        &f,
        0,
        json!({"fault": "exhaust_capacity", "enabled": false}),
    )
    .await;
    s.power(&vm.uuid, PowerAction::On).await.unwrap();
    s.power(&vm.uuid, PowerAction::Off).await.unwrap();
    assert_eq!(s.unregister_vm(&vm.uuid).await.unwrap().uuid, vm.uuid);
    assert!(matches!(
        s.vm(&vm.uuid).await,
        Err(AgentError::Api { status: 404, .. })
    ));

    // Events, read by cursor.
    fault(
        &f,
        0,
        json!({"fault": "sensor", "sensor": "fan", "status": "Error"}),
    )
    .await;
    let page = s.events(0).await.unwrap();
    let kinds: Vec<&EventData> = page.events.iter().map(|e| &e.data).collect();
    assert!(kinds.iter().any(|d| matches!(
        d,
        EventData::VmPowerChanged {
            power_state: VmPowerState::Suspended,
            ..
        }
    )));
    assert!(kinds.iter().any(|d| matches!(
        d,
        EventData::SensorChanged {
            sensor: Sensor::Fan,
            status: SensorStatus::Error
        }
    )));
    assert_eq!(
        s.facts().await.unwrap().sensors[&Sensor::Fan],
        SensorStatus::Error
    );
    let later = s.events(page.next).await.unwrap();
    assert!(later.events.is_empty());
    assert!(page.events.windows(2).all(|w| w[0].seq < w[1].seq));
    // A heartbeat: the runtime and the same events by the same cursor, in one answer.
    let beat = s.heartbeat(0).await.unwrap();
    assert_eq!(beat.events, page);
    assert_eq!(beat.runtime.vm_count, s.runtime().await.unwrap().vm_count);
    assert!(s
        .heartbeat(page.next)
        .await
        .unwrap()
        .events
        .events
        .is_empty());
    f.stop().await;
}

#[tokio::test]
async fn connection_faults_map_to_client_errors() {
    let f = fleet(1, 0).await;
    let c = connector();
    let s = managed(&c, &f, 0).await;

    fault(&f, 0, json!({"fault": "stop_answering", "enabled": true})).await;
    let e = s.runtime().await.unwrap_err();
    assert!(matches!(e, AgentError::Timeout { .. }), "{e:?}");
    fault(&f, 0, json!({"fault": "clear"})).await;
    s.runtime().await.unwrap();

    fault(&f, 0, json!({"fault": "slow", "ms": 4000})).await;
    let e = s.runtime().await.unwrap_err();
    assert!(matches!(e, AgentError::Timeout { .. }), "{e:?}");
    fault(&f, 0, json!({"fault": "slow", "ms": 300})).await;
    let t = std::time::Instant::now();
    s.runtime().await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    fault(&f, 0, json!({"fault": "clear"})).await;

    fault(&f, 0, json!({"fault": "refuse_tls", "enabled": true})).await;
    let fresh = connector();
    let e = client(&fresh, &f, 0).about().await.unwrap_err();
    assert!(matches!(e, AgentError::NoHost { .. }), "{e:?}");
    fault(&f, 0, json!({"fault": "refuse_tls", "enabled": false})).await;

    fault(&f, 0, json!({"fault": "api_version", "api_version": 0})).await;
    let e = s.about().await.unwrap_err();
    assert!(
        matches!(e, AgentError::NotSupportedHost { api_version: 0, .. }),
        "{e:?}"
    );
    fault(&f, 0, json!({"fault": "clear"})).await;
    s.about().await.unwrap();

    // Someone changes root's password on the host: the old one fails, an event says so.
    fault(
        &f,
        0,
        json!({"fault": "root_password", "password": "Changed-Pass-2"}),
    )
    .await;
    let r = client(&c, &f, 0);
    assert_eq!(
        r.login("root", ROOT_PW).await.unwrap_err(),
        AgentError::InvalidLogin
    );
    r.login("root", "Changed-Pass-2").await.unwrap();
    let ev = s.events(0).await.unwrap();
    assert!(ev.events.iter().any(|e| e.data
        == EventData::PasswordChanged {
            account: "root".into()
        }));

    // A reboot: unreachable for a while, back with a new boot time; the client logs in again.
    let before = s.uptime().await.unwrap().boot_time;
    fault(&f, 0, json!({"fault": "reboot"})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(matches!(s.runtime().await, Err(AgentError::NoHost { .. })));
    tokio::time::sleep(Duration::from_millis(900)).await;
    let after = s.uptime().await.unwrap().boot_time;
    assert!(after > before);
    assert!(s
        .events(0)
        .await
        .unwrap()
        .events
        .iter()
        .any(|e| matches!(e.data, EventData::Rebooted { .. })));

    // Bad fault requests are refused by name.
    let r = reqwest::Client::new()
        .post(format!("http://{}/agents/0/faults", f.manifest.control))
        .json(&json!({"fault": "meteor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = reqwest::Client::new()
        .post(format!("http://{}/agents/99/faults", f.manifest.control))
        .json(&json!({"fault": "clear"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    f.stop().await;
}

async fn where_is(clients: &[&AgentClient], uuid: &str) -> Vec<usize> {
    let mut found = vec![];
    for (i, c) in clients.iter().enumerate() {
        if c.vms().await.unwrap().iter().any(|v| v.uuid == uuid) {
            found.push(i);
        }
    }
    found
}

fn migrate_req(f: &Fleet, dest: usize, t: &IncomingTicket) -> MigrateRequest {
    let h = &f.manifest.hosts[dest];
    MigrateRequest {
        destination_address: h.address.clone(),
        destination_port: h.port,
        destination_thumbprint: h.thumbprint.clone(),
        migration_id: t.migration_id.clone(),
        ticket: t.ticket.clone(),
    }
}

#[tokio::test]
async fn migration_moves_a_vm_and_failures_leave_it_on_the_source() {
    let f = fleet(2, 2).await;
    let c = connector();
    let src = managed(&c, &f, 0).await;
    let dst = managed(&c, &f, 1).await;
    let vms = src.vms().await.unwrap();
    let (vm, vm2) = (vms[0].clone(), vms[1].clone());
    let long = Duration::from_secs(20);

    // Success: the VM ends on the destination only, in the same power state.
    let t = dst.prepare_incoming(&vm).await.unwrap();
    let r = src
        .migrate(&vm.uuid, &migrate_req(&f, 1, &t), long)
        .await
        .unwrap();
    assert_eq!(r.vm.uuid, vm.uuid);
    assert_eq!(where_is(&[&src, &dst], &vm.uuid).await, vec![1]);
    assert_eq!(dst.vm(&vm.uuid).await.unwrap().power_state, vm.power_state);
    // A ticket is good for one migration.
    let e = src
        .migrate(&vm2.uuid, &migrate_req(&f, 1, &t), long)
        .await
        .unwrap_err();
    assert!(e.code().is_some(), "{e:?}");
    assert_eq!(where_is(&[&src, &dst], &vm2.uuid).await, vec![0]);

    // A wrong ticket: the destination refuses the source.
    let t = dst.prepare_incoming(&vm2).await.unwrap();
    let mut bad = migrate_req(&f, 1, &t);
    bad.ticket = "0".repeat(32);
    let e = src.migrate(&vm2.uuid, &bad, long).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::PermissionDenied));
    assert_eq!(where_is(&[&src, &dst], &vm2.uuid).await, vec![0]);
    assert!(src.vm(&vm2.uuid).await.unwrap().migrating_to.is_none());

    // A second concurrent migration of the same VM is refused.
    fault(&f, 1, json!({"fault": "slow", "ms": 1500})).await;
    let req = migrate_req(&f, 1, &t);
    let (a, b) = tokio::join!(src.migrate(&vm2.uuid, &req, long), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        src.migrate(&vm2.uuid, &req, long).await
    });
    assert!(a.is_ok(), "{a:?}");
    assert_eq!(b.unwrap_err().code(), Some(ErrorCode::Busy));
    fault(&f, 1, json!({"fault": "clear"})).await;
    assert_eq!(where_is(&[&src, &dst], &vm2.uuid).await, vec![1]);

    // Capacity: a destination without room refuses to prepare.
    let back = dst.vm(&vm.uuid).await.unwrap();
    fault(&f, 0, json!({"fault": "exhaust_capacity", "enabled": true})).await;
    if back.power_state == VmPowerState::PoweredOn {
        let e = src.prepare_incoming(&back).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InsufficientCapacity));
    }
    fault(&f, 0, json!({"fault": "clear"})).await;

    // The destination refuses TLS: the transfer never starts, the VM stays.
    let t = src.prepare_incoming(&back).await.unwrap();
    fault(&f, 0, json!({"fault": "refuse_tls", "enabled": true})).await;
    let e = dst
        .migrate(&back.uuid, &migrate_req(&f, 0, &t), long)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Unavailable), "{e:?}");
    fault(&f, 0, json!({"fault": "clear"})).await;
    assert_eq!(where_is(&[&src, &dst], &back.uuid).await, vec![1]);

    // The destination stops answering during the transfer: the commit's outcome is unknown, so
    // the VM stays on the source, frozen; when the destination answers again the migration is
    // aborted there and the VM is released on the source. Never on both, never on neither.
    let big = dst.vm(&vm2.uuid).await.unwrap();
    let t = src.prepare_incoming(&big).await.unwrap();
    let req = migrate_req(&f, 0, &t);
    let (r, _) = tokio::join!(dst.migrate(&big.uuid, &req, long), async {
        // The transfer of 1–8 GiB at 8 GiB/s takes 125 ms to 1 s; stop answering right after
        // the transfer step was accepted.
        tokio::time::sleep(Duration::from_millis(60)).await;
        fault(&f, 0, json!({"fault": "stop_answering", "enabled": true})).await;
    });
    let e = r.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Unavailable), "{e:?}");
    let frozen = dst.vm(&big.uuid).await.unwrap();
    assert!(frozen.migrating_to.is_some());
    let pe = dst.power(&big.uuid, PowerAction::Off).await.unwrap_err();
    assert_eq!(pe.code(), Some(ErrorCode::Busy));
    fault(&f, 0, json!({"fault": "clear"})).await;
    let mut released = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if dst.vm(&big.uuid).await.unwrap().migrating_to.is_none() {
            released = true;
            break;
        }
    }
    assert!(
        released,
        "the source resolved the migration once the destination answered"
    );
    assert_eq!(where_is(&[&src, &dst], &big.uuid).await, vec![1]);
    f.stop().await;
}
