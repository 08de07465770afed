//! The KVM test-host harness against the real thing: libvirtd, QEMU with /dev/kvm and sshd in
//! network namespaces. Each test starts its own hosts and checks that teardown leaves nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocenter_testkit::kvm::{
    boot_id, firmware_guest_xml, heartbeat, heartbeat_uuid, missing_guest_prerequisites,
    missing_prerequisites, ssh_banner, DiskGuest, DomainType, GuestImage, KernelGuest, TestHost,
    TestHosts, STORAGE_POOL,
};

/// Starts `n` hosts, or prints why not and returns None.
fn hosts(n: usize) -> Option<TestHosts> {
    let missing = missing_prerequisites();
    if !missing.is_empty() {
        println!("SKIPPED: {}", missing.join(", "));
        return None;
    }
    let start = Instant::now();
    let hosts = TestHosts::start(n).unwrap_or_else(|e| panic!("starting {n} test hosts: {e}"));
    println!(
        "{n} hosts started in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Some(hosts)
}

/// Drops the harness and asserts nothing it made is left.
fn teardown(hosts: TestHosts) {
    let footprint = hosts.footprint();
    let t = Instant::now();
    drop(hosts);
    println!("teardown in {:.1} s", t.elapsed().as_secs_f64());
    let left = footprint.leftovers();
    assert!(left.is_empty(), "left after teardown: {left:?}");
}

fn virsh_out(host: &TestHost, args: &[&str]) -> String {
    let out = host.virsh(args).output().unwrap();
    assert!(
        out.status.success(),
        "virsh {args:?} on {}: {}",
        host.hostname(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn domstate(host: &TestHost, name: &str) -> Option<String> {
    let out = host.virsh(&["domstate", name]).output().unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn define_and_start(host: &TestHost, name: &str, xml: &str) {
    let path = std::env::temp_dir().join(format!("{name}-{}.xml", std::process::id()));
    std::fs::write(&path, xml).unwrap();
    virsh_out(host, &["define", path.to_str().unwrap()]);
    std::fs::remove_file(&path).unwrap();
    virsh_out(host, &["start", name]);
}

fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn hosts_have_their_own_uuid_hostname_and_sshd() {
    let Some(hosts) = hosts(2) else { return };
    let [a, b] = hosts.hosts() else {
        panic!("two hosts")
    };
    let uuids: Vec<String> = [a, b]
        .iter()
        .map(|h| {
            let caps = virsh_out(h, &["capabilities"]);
            let uuid = caps
                .split("<uuid>")
                .nth(1)
                .unwrap()
                .split("</uuid>")
                .next()
                .unwrap();
            assert_eq!(
                uuid,
                h.host_uuid(),
                "libvirt reports the configured host_uuid"
            );
            uuid.to_string()
        })
        .collect();
    assert_ne!(uuids[0], uuids[1], "distinct host UUIDs");
    for h in [a, b] {
        assert_eq!(virsh_out(h, &["hostname"]), h.hostname());
        let uname = h.command("uname").arg("-n").output().unwrap();
        assert_eq!(String::from_utf8_lossy(&uname.stdout).trim(), h.hostname());
        // The pool and the bridge network every host gets.
        assert!(virsh_out(h, &["pool-list", "--name"]).contains("default"));
        assert!(virsh_out(h, &["net-list", "--name"]).contains("vmnet"));
        let banner = ssh_banner(h.address(), h.ssh_port()).unwrap();
        assert!(banner.starts_with("SSH-2.0-OpenSSH"), "banner {banner:?}");
    }
    assert_ne!(a.hostname(), b.hostname());
    // libvirt over TLS from the root namespace with the harness's client certificate.
    let tls = format!(
        "{}?pkipath={}",
        b.tls_uri(),
        hosts.client_pki_dir().display()
    );
    let out = Command::new("virsh")
        .args(["-c", &tls, "hostname"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "virsh over TLS: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), b.hostname());
    // A real password login, if sshpass is there (scripts/test.sh installs it).
    if Command::new("sshpass").arg("-V").output().is_ok() {
        for h in [a, b] {
            let out = Command::new("sshpass")
                .arg("-e")
                .env("SSHPASS", h.root_password())
                .args([
                    "ssh",
                    "-o",
                    "StrictHostKeyChecking=no",
                    "-o",
                    "UserKnownHostsFile=/dev/null",
                ])
                .args(["-o", "PubkeyAuthentication=no", "-o", "ConnectTimeout=5"])
                .args(["-p", &h.ssh_port().to_string()])
                .arg(format!("root@{}", h.address()))
                .arg("hostname")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "ssh login: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), h.hostname());
        }
    } else {
        println!("SKIPPED (password login only): sshpass");
    }
    teardown(hosts);
}

#[test]
fn firmware_only_guest_runs() {
    let Some(hosts) = hosts(1) else { return };
    let h = &hosts.hosts()[0];
    define_and_start(h, "fw0", &firmware_guest_xml("fw0"));
    assert_eq!(domstate(h, "fw0").as_deref(), Some("running"));
    // Still running a moment later: SeaBIOS found nothing to boot and waits.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(domstate(h, "fw0").as_deref(), Some("running"));
    virsh_out(h, &["destroy", "fw0"]);
    assert_eq!(domstate(h, "fw0").as_deref(), Some("shut off"));
    teardown(hosts);
}

#[test]
fn kernel_guest_answers_migrates_live_and_shuts_down() {
    let missing = missing_guest_prerequisites();
    if !missing.is_empty() {
        println!("SKIPPED: {}", missing.join(", "));
        return;
    }
    let Some(hosts) = hosts(2) else { return };
    let t = Instant::now();
    let image = GuestImage::prepare().expect("guest image");
    println!("guest image ready in {:.1} s", t.elapsed().as_secs_f64());
    let [a, b] = hosts.hosts() else {
        panic!("two hosts")
    };
    let guest = KernelGuest {
        name: "kg0".into(),
        address: hosts.guest_address(0),
        gateway: hosts.root_address(),
        domain_type: DomainType::for_stock_kernel(),
    };
    println!("kernel guest domain type: {}", guest.domain_type.as_str());
    let t = Instant::now();
    define_and_start(a, &guest.name, &guest.domain_xml(&image));
    let first = wait_for("heartbeat after boot", Duration::from_secs(60), || {
        heartbeat(guest.address).ok()
    });
    println!(
        "kernel guest answered in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert!(first.contains("name=kg0"), "heartbeat {first:?}");
    let boot = boot_id(&first).unwrap().to_string();

    // Heartbeats keep being asked for while the guest moves.
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let poller = {
        let (stop, answered, failed) = (stop.clone(), answered.clone(), failed.clone());
        let address = guest.address;
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match heartbeat(address) {
                    Ok(_) => answered.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    // a → b: peer-to-peer, tunnelled through libvirtd's TLS connection.
    migrate(a, b, &guest.name, &["--tunnelled"]);
    // b → a: peer-to-peer, QEMU's own migration stream over TLS.
    migrate(b, a, &guest.name, &["--tls"]);

    stop.store(true, Ordering::Relaxed);
    poller.join().unwrap();
    println!(
        "heartbeats during migrations: {} answered, {} failed",
        answered.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
    assert!(answered.load(Ordering::Relaxed) > 0);
    let after = heartbeat(guest.address).expect("heartbeat after migrations");
    assert_eq!(
        boot_id(&after),
        Some(boot.as_str()),
        "same boot: not restarted"
    );

    // Guest shutdown through ACPI: the guest's acpid powers it off.
    let t = Instant::now();
    virsh_out(a, &["shutdown", &guest.name]);
    wait_for("guest shut off", Duration::from_secs(60), || {
        (domstate(a, &guest.name).as_deref() == Some("shut off")).then_some(())
    });
    println!("guest shut down in {:.1} s", t.elapsed().as_secs_f64());
    teardown(hosts);
}

#[test]
fn disk_guest_boots_without_a_command_line_and_answers_at_its_macs_address() {
    let missing = missing_guest_prerequisites();
    if !missing.is_empty() {
        println!("SKIPPED: {}", missing.join(", "));
        return;
    }
    let Some(hosts) = hosts(1) else { return };
    let t = Instant::now();
    let image = GuestImage::prepare().expect("guest image");
    println!("guest image ready in {:.1} s", t.elapsed().as_secs_f64());
    let disk_bytes = std::fs::metadata(&image.disk).unwrap().len();
    println!("disk image: {} MiB", disk_bytes >> 20);
    let h = &hosts.hosts()[0];

    // As a management API makes a VM's disk from an image: the image is a volume in the pool,
    // the disk a qcow2 copy of it, larger than the image.
    h.import_volume(&image.disk, "ferro-guest.raw")
        .expect("image volume");
    let copy = "dg0-disk1.qcow2";
    let volume_xml = format!(
        "<volume><name>{copy}</name><capacity unit='bytes'>{}</capacity>\
         <target><format type='qcow2'/></target></volume>",
        disk_bytes * 4
    );
    let xml_path = std::env::temp_dir().join(format!("dg0-vol-{}.xml", std::process::id()));
    std::fs::write(&xml_path, volume_xml).unwrap();
    virsh_out(
        h,
        &[
            "vol-create-from",
            STORAGE_POOL,
            xml_path.to_str().unwrap(),
            "ferro-guest.raw",
            "--inputpool",
            STORAGE_POOL,
        ],
    );
    std::fs::remove_file(&xml_path).unwrap();

    let guest = DiskGuest {
        name: "dg0".into(),
        mac: hosts.guest_mac(0),
        pool: STORAGE_POOL.into(),
        volume: copy.into(),
        format: "qcow2".into(),
        domain_type: DomainType::for_stock_kernel(),
    };
    println!("disk guest domain type: {}", guest.domain_type.as_str());
    let t = Instant::now();
    define_and_start(h, &guest.name, &guest.domain_xml());
    let domain_uuid = virsh_out(h, &["domuuid", &guest.name]);
    let beat = wait_for("heartbeat after boot", Duration::from_secs(90), || {
        hosts.guest_heartbeat_by_mac(&guest.mac).ok()
    });
    println!(
        "disk guest answered at its link-local address in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(
        heartbeat_uuid(&beat).map(str::to_ascii_lowercase),
        Some(domain_uuid.to_ascii_lowercase()),
        "the heartbeat comes from the domain started: {beat:?}"
    );
    let name = format!("name=guest-{}", guest.mac.replace(':', ""));
    assert!(beat.lines().any(|l| l == name), "{name} in {beat:?}");
    assert!(
        beat.lines().any(|l| l == format!("mac={}", guest.mac)),
        "{beat:?}"
    );
    assert!(boot_id(&beat).is_some_and(|b| !b.is_empty()), "{beat:?}");
    // Nothing gave it an IPv4 address: the serial log shows it came up on link-local only.
    let serial = h
        .root_path("/var/log/libvirt/qemu")
        .join(format!("{}-serial.log", guest.name));
    let log = std::fs::read_to_string(&serial).unwrap_or_default();
    assert!(
        log.contains("ip=link-local"),
        "serial console {}: {log}",
        serial.display()
    );

    let t = Instant::now();
    virsh_out(h, &["shutdown", &guest.name]);
    wait_for("disk guest shut off", Duration::from_secs(60), || {
        (domstate(h, &guest.name).as_deref() == Some("shut off")).then_some(())
    });
    println!("disk guest shut down in {:.1} s", t.elapsed().as_secs_f64());
    assert!(
        hosts.guest_heartbeat_by_mac(&guest.mac).is_err(),
        "no heartbeat once it is off"
    );
    teardown(hosts);
}

/// Live-migrates `name` from `from` to `to` and checks it ends up on `to` only, answering.
fn migrate(from: &TestHost, to: &TestHost, name: &str, mode: &[&str]) {
    let t = Instant::now();
    let out = from
        .virsh(&[
            "migrate",
            "--live",
            "--p2p",
            "--persistent",
            "--undefinesource",
            // Converges on a loaded machine: throttle a guest that dirties memory faster
            // than the copy, and pause it to finish after a minute.
            "--auto-converge",
            "--timeout",
            "60",
        ])
        .args(mode)
        .args([name, &to.tls_uri()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "migrate {mode:?} {} → {}: {}",
        from.hostname(),
        to.hostname(),
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "live migration {mode:?} {} → {} in {:.1} s",
        from.hostname(),
        to.hostname(),
        t.elapsed().as_secs_f64()
    );
    // libvirt's own figures for the job (the destination keeps them), printed, not asserted.
    let job = to
        .virsh(&["domjobinfo", "--completed", name])
        .output()
        .unwrap();
    for line in String::from_utf8_lossy(&job.stdout).lines() {
        if line.starts_with("Time elapsed:") || line.starts_with("Total downtime:") {
            println!(
                "  {}",
                line.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
    }
    assert_eq!(domstate(to, name).as_deref(), Some("running"));
    assert_eq!(
        domstate(from, name),
        None,
        "source no longer has the domain"
    );
    assert!(!virsh_out(from, &["list", "--all", "--name"]).contains(name));
}

/// Set in the child process of `a_killed_run_is_cleaned_by_the_next_start`.
const CHILD_ENV: &str = "FERROCENTER_KVM_HARNESS_CHILD";

/// Not a test on its own (hence ignored): the process `a_killed_run_is_cleaned_by_the_next_start`
/// runs and kills. Starts a host, prints what it made, waits.
#[test]
#[ignore = "run by a_killed_run_is_cleaned_by_the_next_start"]
fn child_starts_a_host_and_waits_to_be_killed() {
    assert!(std::env::var_os(CHILD_ENV).is_some(), "run by another test");
    let hosts = TestHosts::start(1).expect("child's host");
    println!("NETNS {}", hosts.hosts()[0].netns());
    println!("READY");
    std::thread::sleep(Duration::from_secs(300));
}

#[test]
fn a_killed_run_is_cleaned_by_the_next_start() {
    let missing = missing_prerequisites();
    if !missing.is_empty() {
        println!("SKIPPED: {}", missing.join(", "));
        return;
    }
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_starts_a_host_and_waits_to_be_killed",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut netns = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(ns) = line.strip_prefix("NETNS ") {
            netns = Some(ns.to_string());
        }
        if line == "READY" {
            break;
        }
    }
    let netns = netns.expect("the child started a host");
    // SIGKILL: no destructor runs, as when nextest kills a test that hangs.
    child.kill().unwrap();
    child.wait().unwrap();
    // Its namespace and daemons are left behind. (The next harness may reuse both the name and,
    // since the kernel recycles namespace inode numbers, the inode: its processes tell.)
    assert!(std::path::Path::new(&format!("/run/netns/{netns}")).exists());
    let out = Command::new("ip")
        .args(["netns", "pids", &netns])
        .output()
        .unwrap();
    let pids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert!(!pids.is_empty(), "and its daemons");
    // The next harness to start cleans the dead run's slot.
    let Some(hosts) = hosts(1) else { return };
    for pid in &pids {
        // Gone, or a zombie waiting for whichever process inherited it to reap it.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next());
        assert!(
            matches!(state, None | Some("Z") | Some("X")),
            "process {pid} of the killed run ended ({state:?})"
        );
    }
    teardown(hosts);
}
