//! The libvirt driver against a real libvirtd and QEMU with /dev/kvm (cargo feature `libvirt`).
//!
//! Each test starts its own libvirtd as root in a private mount namespace: libvirt's state,
//! runtime, config, cache and log directories are bind-mounted from a temporary directory, so
//! the daemon shares nothing with the machine's own libvirt (as root, `qemu:///session` is the
//! system daemon, so a session daemon per test is not available). The test connects through
//! the socket in that directory. Without root, /dev/kvm, libvirtd or unshare the tests print
//! `SKIPPED: <what is missing>`.
#![cfg(feature = "libvirt")]
// Test helpers panic on a broken fixture, as a test would.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocenter_agent::accounts::{hash_root_password, AccountsState};
use ferrocenter_agent::agent::Agent;
use ferrocenter_agent::driver::libvirt::LibvirtDriver;
use ferrocenter_agent::driver::Resize;
use ferrocenter_agent::serve::{start_agent, AgentOptions, DriverKind};
use ferrocenter_agent_client::wire::*;
use ferrocenter_agent_client::{AgentConnector, AgentError, ConnectOptions};
use virt::connect::Connect;
use virt::domain::Domain;
use virt::storage_pool::StoragePool;

const POOL: &str = "fc-pool";
const HOST_UUID: &str = "4c1f5f0e-8d2a-4c8e-9d6b-2f3a1b0c9e71";
const ROOT_PW: &str = "Root-Pass-1";

/// A libvirtd of the test's own; destroys its domains and stops when dropped.
struct Libvirtd {
    dir: tempfile::TempDir,
    child: Child,
    uri: String,
}

fn missing() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("root (a private libvirtd needs a mount namespace)".into());
    }
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        return Some("/dev/kvm".into());
    }
    for bin in ["libvirtd", "unshare", "qemu-system-x86_64", "qemu-img"] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).exists()))
            .unwrap_or(false)
            || Path::new("/usr/sbin").join(bin).exists();
        if !found {
            return Some(format!(
                "{bin} (apt-get install libvirt-daemon-system qemu-system-x86)"
            ));
        }
    }
    None
}

impl Libvirtd {
    /// A running daemon, or `None` after printing what is missing.
    fn start(test: &str) -> Option<Libvirtd> {
        if let Some(m) = missing() {
            println!("SKIPPED: {test}: {m}");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["run", "lib", "etc", "cache", "log", "pool"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        std::fs::write(
            d.join("etc/libvirtd.conf"),
            format!(
                "host_uuid = \"{HOST_UUID}\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n"
            ),
        )
        .unwrap();
        // QEMU as root, with no cgroups, security driver, namespaces or virtlogd: none of them
        // is there to have inside a test.
        std::fs::write(
            d.join("etc/qemu.conf"),
            "user = \"root\"\ngroup = \"root\"\ndynamic_ownership = 0\nremember_owner = 0\n\
             security_driver = \"none\"\ncgroup_controllers = [ ]\nnamespaces = [ ]\n\
             stdio_handler = \"file\"\n",
        )
        .unwrap();
        let p = |s: &str| d.join(s).display().to_string();
        let script = format!(
            "set -e; mkdir -p /run/libvirt /var/lib/libvirt /etc/libvirt /var/cache/libvirt /var/log/libvirt; \
             mount --bind {run} /run/libvirt; mount --bind {lib} /var/lib/libvirt; \
             mount --bind {etc} /etc/libvirt; mount --bind {cache} /var/cache/libvirt; \
             mount --bind {log} /var/log/libvirt; exec libvirtd --pid-file {pid}",
            run = p("run"),
            lib = p("lib"),
            etc = p("etc"),
            cache = p("cache"),
            log = p("log"),
            pid = p("libvirtd.pid"),
        );
        let child = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("libvirtd.stderr")).unwrap())
            .spawn()
            .unwrap();
        let sock = d.join("run/libvirt-sock");
        let started = Instant::now();
        while !sock.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "libvirtd did not start: {}",
                std::fs::read_to_string(d.join("libvirtd.stderr")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let uri = format!("qemu:///system?socket={}", sock.display());
        let lv = Libvirtd { dir, child, uri };
        lv.define_pool();
        Some(lv)
    }

    fn connect(&self) -> Connect {
        Connect::open(Some(&self.uri)).unwrap()
    }

    fn pool_dir(&self) -> PathBuf {
        self.dir.path().join("pool")
    }

    /// A directory pool in the test's directory.
    fn define_pool(&self) {
        let c = self.connect();
        let xml = format!(
            "<pool type='dir'><name>{POOL}</name><target><path>{}</path></target></pool>",
            self.pool_dir().display()
        );
        let pool = StoragePool::define_xml(&c, &xml, 0).unwrap();
        pool.create(0).unwrap();
    }

    fn volumes(&self) -> Vec<String> {
        let c = self.connect();
        let p = StoragePool::lookup_by_name(&c, POOL).unwrap();
        p.refresh(0).unwrap();
        let mut v = p.list_volumes().unwrap();
        v.sort();
        v
    }

    fn domains(&self) -> Vec<String> {
        let c = self.connect();
        let mut v: Vec<String> = c
            .list_all_domains(0)
            .unwrap()
            .iter()
            .map(|d| d.get_name().unwrap())
            .collect();
        v.sort();
        v
    }

    fn state(&self, uuid: &str) -> u32 {
        let c = self.connect();
        Domain::lookup_by_uuid_string(&c, uuid)
            .unwrap()
            .get_state()
            .unwrap()
            .0
    }

    fn pool_free(&self) -> u64 {
        let c = self.connect();
        let p = StoragePool::lookup_by_name(&c, POOL).unwrap();
        p.refresh(0).unwrap();
        p.get_info().unwrap().available
    }
}

impl Drop for Libvirtd {
    fn drop(&mut self) {
        if let Ok(c) = Connect::open(Some(&self.uri)) {
            for d in c.list_all_domains(0).unwrap_or_default() {
                let _ = d.destroy();
            }
        }
        // SAFETY: signalling the child this test started.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

async fn agent_on(uri: &str) -> Arc<Agent> {
    agent_with(LibvirtDriver::new(uri)).await
}

async fn agent_with(driver: LibvirtDriver) -> Arc<Agent> {
    let hash = hash_root_password(ROOT_PW).unwrap();
    Agent::start(
        Arc::new(driver),
        "test-host",
        AccountsState::new("root", hash.into()),
        AgentConnector::new(ConnectOptions::default()),
        None,
        Duration::ZERO,
    )
    .await
}

fn spec(name: &str, disks: Vec<VmDisk>, nics: Vec<VmNic>) -> VmSpec {
    VmSpec {
        uuid: None,
        instance_uuid: None,
        name: name.into(),
        vcpus: 1,
        memory_bytes: 128 << 20,
        guest_os_id: "debian12_64Guest".into(),
        disks,
        nics,
        power_on: false,
    }
}

fn disk(n: usize, capacity_bytes: u64) -> VmDisk {
    VmDisk {
        label: format!("Hard disk {n}"),
        capacity_bytes,
        datastore: POOL.into(),
        image: None,
    }
}

/// Power states the agent's event log reports for this VM after `since`.
fn power_events(agent: &Agent, uuid: &str, since: u64) -> Vec<VmPowerState> {
    agent
        .events(since)
        .events
        .into_iter()
        .filter_map(|e| match e.data {
            EventData::VmPowerChanged {
                vm_uuid,
                power_state,
            } if vm_uuid == uuid => Some(power_state),
            _ => None,
        })
        .collect()
}

/// Waits until the agent's event log holds `state` for the VM after `since` (events from
/// libvirt arrive on their own thread).
async fn await_event(agent: &Agent, uuid: &str, since: u64, state: VmPowerState) {
    let started = Instant::now();
    while !power_events(agent, uuid, since).contains(&state) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no {state:?} event for {uuid}: {:?}",
            agent.events(since)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn cursor(agent: &Agent) -> u64 {
    agent.events(0).next
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facts_vm_lifecycle_events_and_faults() {
    let Some(lv) = Libvirtd::start("libvirt driver") else {
        return;
    };
    let agent = agent_on(&lv.uri).await;
    assert_eq!(agent.about().driver, "libvirt");

    // Facts from libvirt and the OS.
    let f = agent.facts().await.unwrap();
    assert_eq!(f.hardware.bios_uuid, HOST_UUID, "libvirt's host uuid");
    assert!(f.hardware.memory_bytes > 0 && f.hardware.cpu_cores > 0 && f.hardware.cpu_threads > 0);
    assert_eq!(f.architecture, std::env::consts::ARCH);
    assert!(
        f.hypervisor.libvirt_version.starts_with("9.")
            || f.hypervisor.libvirt_version.contains('.')
    );
    assert!(
        f.hypervisor.qemu_version.contains('.'),
        "{:?}",
        f.hypervisor
    );
    let pool = f.datastores.iter().find(|d| d.name == POOL).unwrap();
    assert_eq!(pool.kind, "dir");
    assert_eq!(pool.url, format!("file://{}", lv.pool_dir().display()));
    assert!(pool.capacity_bytes >= pool.free_bytes && pool.free_bytes > 0);
    let btime = std::fs::read_to_string("/proc/stat")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("btime ")
                .map(|v| v.trim().parse::<i64>().unwrap())
        })
        .unwrap();
    assert_eq!(f.boot_time, btime);
    assert_eq!(agent.runtime().boot_time, btime);
    assert_eq!(
        agent.runtime().memory_capacity_bytes,
        f.hardware.memory_bytes
    );

    // Create: one qcow2 volume in the pool, a defined domain, powered off.
    let vm = agent
        .create_vm(spec("fc-vm-1", vec![disk(1, 1 << 30)], vec![]))
        .await
        .unwrap();
    assert_eq!(vm.power_state, VmPowerState::PoweredOff);
    assert_eq!(vm.disks, vec![disk(1, 1 << 30)]);
    assert_eq!(lv.volumes(), vec![format!("{}-disk1.qcow2", vm.uuid)]);
    assert_eq!(lv.domains(), vec!["fc-vm-1".to_string()]);
    assert_eq!(agent.vms(), vec![vm.clone()]);

    // Power operations: libvirt's state follows, and each change is an event.
    let since = cursor(&agent);
    let on = agent.power(&vm.uuid, PowerAction::On).await.unwrap();
    assert_eq!(on.power_state, VmPowerState::PoweredOn);
    assert_eq!(lv.state(&vm.uuid), virt::sys::VIR_DOMAIN_RUNNING);
    agent.power(&vm.uuid, PowerAction::Suspend).await.unwrap();
    assert_eq!(lv.state(&vm.uuid), virt::sys::VIR_DOMAIN_PAUSED);
    agent.power(&vm.uuid, PowerAction::On).await.unwrap();
    assert_eq!(lv.state(&vm.uuid), virt::sys::VIR_DOMAIN_RUNNING);
    agent.power(&vm.uuid, PowerAction::Reset).await.unwrap();
    assert_eq!(lv.state(&vm.uuid), virt::sys::VIR_DOMAIN_RUNNING);
    let e = agent
        .reconfigure_vm(
            &vm.uuid,
            Resize {
                vcpus: Some(2),
                memory_bytes: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.0.code, ErrorCode::InvalidState, "{e:?}");
    agent.power(&vm.uuid, PowerAction::Off).await.unwrap();
    assert_eq!(lv.state(&vm.uuid), virt::sys::VIR_DOMAIN_SHUTOFF);
    await_event(&agent, &vm.uuid, since, VmPowerState::PoweredOff).await;
    let seen = power_events(&agent, &vm.uuid, since);
    let want = [
        VmPowerState::PoweredOn,
        VmPowerState::Suspended,
        VmPowerState::PoweredOn,
        VmPowerState::PoweredOff,
    ];
    assert_eq!(&seen[..4], want, "{seen:?}");

    // Changes made behind the agent's back (as when a guest powers itself off) arrive as
    // libvirt events.
    let since = cursor(&agent);
    let c = lv.connect();
    let dom = Domain::lookup_by_uuid_string(&c, &vm.uuid).unwrap();
    dom.create().unwrap();
    await_event(&agent, &vm.uuid, since, VmPowerState::PoweredOn).await;
    assert_eq!(
        agent.vm(&vm.uuid).unwrap().power_state,
        VmPowerState::PoweredOn
    );
    assert_eq!(agent.runtime().memory_used_bytes, 128 << 20);
    let since = cursor(&agent);
    dom.destroy().unwrap();
    await_event(&agent, &vm.uuid, since, VmPowerState::PoweredOff).await;
    assert_eq!(
        agent.vm(&vm.uuid).unwrap().power_state,
        VmPowerState::PoweredOff
    );

    // Reconfigure while off.
    let r = agent
        .reconfigure_vm(
            &vm.uuid,
            Resize {
                vcpus: Some(2),
                memory_bytes: Some(256 << 20),
            },
        )
        .await
        .unwrap();
    assert_eq!((r.vcpus, r.memory_bytes), (2, 256 << 20));
    let r = agent
        .reconfigure_vm(
            &vm.uuid,
            Resize {
                vcpus: Some(1),
                memory_bytes: Some(192 << 20),
            },
        )
        .await
        .unwrap();
    assert_eq!((r.vcpus, r.memory_bytes), (1, 192 << 20));

    // A new agent (a restart) finds the VM with its instance uuid and guest OS (kept in the
    // domain's metadata).
    let again = agent_on(&lv.uri).await;
    let found = again.vm(&vm.uuid).unwrap();
    assert_eq!(found.instance_uuid, vm.instance_uuid);
    assert_eq!(found.guest_os_id, "debian12_64Guest");
    assert_eq!(found.disks, vm.disks);
    drop(again);

    // Faults leave nothing behind.
    let (vols, doms) = (lv.volumes(), lv.domains());
    let e = agent
        .create_vm(spec("fc-vm-1", vec![disk(1, 1 << 30)], vec![]))
        .await
        .unwrap_err();
    assert_eq!(e.0.field.as_deref(), Some("name"), "{e:?}");
    assert!(e.0.message.contains("already exists"), "{e:?}");
    let free = lv.pool_free();
    let e = agent
        .create_vm(spec(
            "fc-vm-2",
            vec![disk(1, 1 << 30), disk(2, free + (1 << 30))],
            vec![],
        ))
        .await
        .unwrap_err();
    assert_eq!(e.0.code, ErrorCode::InsufficientCapacity, "{e:?}");
    assert!(e.0.message.contains(POOL), "{e:?}");
    let e = agent
        .create_vm(spec(
            "fc-vm-3",
            vec![disk(1, 1 << 30)],
            vec![VmNic {
                label: "Network adapter 1".into(),
                mac: String::new(),
                network: "no-such-net".into(),
            }],
        ))
        .await
        .unwrap_err();
    assert_eq!(e.0.field.as_deref(), Some("nics[0].network"), "{e:?}");
    let e = agent
        .create_vm(VmSpec {
            disks: vec![VmDisk {
                datastore: "no-such-pool".into(),
                ..disk(1, 1 << 20)
            }],
            ..spec("fc-vm-4", vec![], vec![])
        })
        .await
        .unwrap_err();
    assert_eq!(e.0.field.as_deref(), Some("disks[0].datastore"), "{e:?}");
    assert_eq!((lv.volumes(), lv.domains()), (vols, doms));
    assert_eq!(agent.vms().len(), 1);

    // A disk from an image: a copy of the image's volume, as large as asked.
    {
        let c = lv.connect();
        let p = StoragePool::lookup_by_name(&c, POOL).unwrap();
        virt::storage_vol::StorageVol::create_xml(
            &p,
            "<volume><name>base.qcow2</name><capacity unit='bytes'>67108864</capacity>\
             <target><format type='qcow2'/></target></volume>",
            0,
        )
        .unwrap();
    }
    let from_image = VmDisk {
        image: Some("base.qcow2".into()),
        ..disk(1, 128 << 20)
    };
    let imaged = agent
        .create_vm(spec("fc-vm-5", vec![from_image.clone()], vec![]))
        .await
        .unwrap();
    assert_eq!(imaged.disks, vec![from_image.clone()]);
    assert!(lv
        .volumes()
        .contains(&format!("{}-disk1.qcow2", imaged.uuid)));
    let e = agent
        .create_vm(spec(
            "fc-vm-6",
            vec![VmDisk {
                image: Some("no-such-image".into()),
                ..from_image.clone()
            }],
            vec![],
        ))
        .await
        .unwrap_err();
    assert_eq!(e.0.field.as_deref(), Some("disks[0].image"), "{e:?}");
    let e = agent
        .create_vm(spec(
            "fc-vm-7",
            vec![VmDisk {
                capacity_bytes: 1 << 20,
                ..from_image
            }],
            vec![],
        ))
        .await
        .unwrap_err();
    assert_eq!(
        e.0.field.as_deref(),
        Some("disks[0].capacity_bytes"),
        "{e:?}"
    );
    agent.unregister_vm(&imaged.uuid).await.unwrap();
    assert!(!lv
        .volumes()
        .contains(&format!("{}-disk1.qcow2", imaged.uuid)));
    {
        let c = lv.connect();
        let p = StoragePool::lookup_by_name(&c, POOL).unwrap();
        virt::storage_vol::StorageVol::lookup_by_name(&p, "base.qcow2")
            .unwrap()
            .delete(0)
            .unwrap();
    }

    // A VM this host already has cannot migrate to it.
    let e = agent.prepare_incoming(vm.clone()).unwrap_err();
    assert_eq!(e.0.code, ErrorCode::InvalidState, "{e:?}");

    // Delete: domain and volume gone.
    let gone = agent.unregister_vm(&vm.uuid).await.unwrap();
    assert_eq!(gone.uuid, vm.uuid);
    assert!(lv.domains().is_empty());
    assert!(lv.volumes().is_empty());
    assert!(agent.vms().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_https_api_of_an_agent_started_with_the_libvirt_driver() {
    let Some(lv) = Libvirtd::start("agent API on libvirt") else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let running = start_agent(AgentOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data.path().to_path_buf(),
        root_user: None,
        root_password: Some(ROOT_PW.into()),
        driver: DriverKind::Libvirt {
            uri: lv.uri.clone(),
            domain_type: None,
            migration: Default::default(),
            migration_uri: None,
        },
        seed: None,
        sim: Default::default(),
    })
    .await
    .unwrap();
    let connector = AgentConnector::new(ConnectOptions::default());
    let c = connector.client("127.0.0.1", running.addr.port(), Some(&running.thumbprint));
    assert_eq!(c.about().await.unwrap().driver, "libvirt");
    c.login("root", ROOT_PW).await.unwrap();
    let facts = c.facts().await.unwrap();
    assert!(facts.datastores.iter().any(|d| d.name == POOL));

    let vm = c
        .create_vm(&VmSpec {
            power_on: true,
            ..spec("fc-api-1", vec![disk(1, 64 << 20)], vec![])
        })
        .await
        .unwrap();
    assert_eq!(vm.power_state, VmPowerState::PoweredOn);
    assert_eq!(lv.state(&vm.uuid), virt::sys::VIR_DOMAIN_RUNNING);
    // A guest shutdown is asked of the guest (one with no OS ignores it); power off is not.
    c.power(&vm.uuid, PowerAction::Shutdown).await.unwrap();
    let off = c.power(&vm.uuid, PowerAction::Off).await.unwrap();
    assert_eq!(off.power_state, VmPowerState::PoweredOff);
    let e = c
        .migrate(
            &vm.uuid,
            &MigrateRequest {
                destination_address: "127.0.0.1".into(),
                destination_port: 1,
                destination_thumbprint: "00".repeat(32),
                migration_id: "m".into(),
                ticket: "t".into(),
            },
            Duration::from_secs(10),
        )
        .await
        .unwrap_err();
    // The driver migrates (docs/kvm-hosts.md); a destination agent that does not answer stops
    // it before libvirt is asked, the VM staying here.
    match e {
        AgentError::Api { body, .. } => assert_eq!(body.code, ErrorCode::Unavailable, "{body:?}"),
        other => panic!("{other:?}"),
    }
    let e = c.reboot(true).await.unwrap_err();
    assert!(
        matches!(e, AgentError::Api { ref body, .. } if body.code == ErrorCode::NotSupported),
        "{e:?}"
    );
    c.unregister_vm(&vm.uuid).await.unwrap();
    assert!(lv.domains().is_empty() && lv.volumes().is_empty());
    running.stop(Duration::from_secs(2)).await;
}

/// Without libvirt's events the driver polls domain states, and changes still reach the
/// agent's event log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polled_domain_states_feed_the_event_log() {
    let Some(lv) = Libvirtd::start("libvirt polling") else {
        return;
    };
    let agent = agent_with(LibvirtDriver::polling(&lv.uri)).await;
    let vm = agent
        .create_vm(spec("fc-poll-1", vec![], vec![]))
        .await
        .unwrap();
    let c = lv.connect();
    let dom = Domain::lookup_by_uuid_string(&c, &vm.uuid).unwrap();
    let since = cursor(&agent);
    dom.create().unwrap();
    await_event(&agent, &vm.uuid, since, VmPowerState::PoweredOn).await;
    let since = cursor(&agent);
    dom.suspend().unwrap();
    await_event(&agent, &vm.uuid, since, VmPowerState::Suspended).await;
    let since = cursor(&agent);
    dom.destroy().unwrap();
    await_event(&agent, &vm.uuid, since, VmPowerState::PoweredOff).await;
    // A domain removed behind the agent's back leaves its view.
    dom.undefine().unwrap();
    let started = Instant::now();
    while !agent.vms().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            agent.vms()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_libvirt_is_reported_and_the_agent_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!(
        "qemu:///system?socket={}",
        dir.path().join("no-daemon-here").display()
    );
    let agent = agent_on(&uri).await;
    let e = agent.facts().await.unwrap_err();
    assert_eq!(e.0.code, ErrorCode::Unavailable, "{e:?}");
    assert!(
        e.0.message.contains("not reachable") && e.0.message.contains(&uri),
        "{e:?}"
    );
    let e = agent
        .create_vm(spec("fc-x", vec![], vec![]))
        .await
        .unwrap_err();
    assert_eq!(e.0.code, ErrorCode::Unavailable, "{e:?}");
    // The agent still answers what it keeps itself.
    assert!(agent.vms().is_empty());
    assert_eq!(agent.runtime().vm_count, 0);
}
