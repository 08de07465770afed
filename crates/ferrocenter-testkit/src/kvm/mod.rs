//! KVM test hosts on one machine: each host is a network namespace on a private test subnet
//! with its own mount and UTS namespaces, running its own `libvirtd` (distinct `host_uuid`,
//! TLS listener from a per-harness CA, storage pool `default`, bridge network `vmnet`) and
//! `sshd` (root login with a password the harness chose). docs/kvm-hosts.md ("The test-host
//! harness") describes the layout and the manual cleanup.
//!
//! ```no_run
//! use ferrocenter_testkit::kvm::{missing_prerequisites, TestHosts};
//! let missing = missing_prerequisites();
//! if !missing.is_empty() {
//!     println!("SKIPPED: {}", missing.join(", "));
//!     return;
//! }
//! let hosts = TestHosts::start(2).expect("test hosts");
//! let h = &hosts.hosts()[0];
//! let status = h.virsh(&["list", "--all"]).status().unwrap();
//! // dropping `hosts` kills every process and removes every namespace, link and dir.
//! ```
mod cmd;
mod guest;
mod hostroot;
mod image;
mod libvirtd;
mod netns;
mod prereq;
mod slot;
mod sshd;
mod tls;

use std::fs;
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub use guest::{boot_id, firmware_guest_xml, heartbeat, KernelGuest, GUEST_MEMORY_MIB};
pub use image::GuestImage;
pub use libvirtd::{GUEST_NETWORK, STORAGE_POOL};
pub use netns::HOST_BRIDGE;
pub use prereq::{missing_guest_prerequisites, missing_prerequisites};
pub use sshd::{banner as ssh_banner, SSH_PORT};
pub use tls::CLIENT_DN;

use slot::Slot;

/// Why the harness could not start hosts or build a guest image.
#[derive(Debug, thiserror::Error)]
pub enum KvmError {
    /// Something the machine lacks; tests print `SKIPPED: <this>`.
    #[error("missing: {0}")]
    Missing(String),
    /// A setup step failed (the command or file, and what it said).
    #[error("{step}: {detail}")]
    Setup { step: String, detail: String },
}

impl KvmError {
    pub(crate) fn setup(step: &str, detail: impl Into<String>) -> KvmError {
        KvmError::Setup {
            step: step.to_string(),
            detail: detail.into(),
        }
    }

    pub(crate) fn missing(what: &str) -> KvmError {
        KvmError::Missing(what.to_string())
    }
}

/// A set of test hosts sharing one subnet `10.231.<slot>.0/24` (root namespace `.1`, host `i`
/// at `.2 + i`, guests from `.100`). Dropping it tears everything down.
pub struct TestHosts {
    hosts: Vec<TestHost>,
    slot: Slot,
    client_pki: PathBuf,
}

/// One test host. Its daemons run until the [`TestHosts`] it belongs to is dropped.
pub struct TestHost {
    index: usize,
    hostname: String,
    netns: String,
    address: Ipv4Addr,
    host_uuid: String,
    root_password: String,
    dir: PathBuf,
    holder: Child,
    daemons: Vec<Child>,
}

/// What a harness created, to check after its drop that nothing is left ([`Footprint::leftovers`]).
#[derive(Debug, Clone)]
pub struct Footprint {
    netns: Vec<(String, u64)>,
    links: Vec<String>,
    pids: Vec<u32>,
    dir: PathBuf,
}

impl TestHosts {
    /// Starts `n` hosts (in parallel), each with libvirtd and sshd answering, or says why not.
    /// [`KvmError::Missing`] means the machine lacks something ([`missing_prerequisites`]).
    pub fn start(n: usize) -> Result<TestHosts, KvmError> {
        let missing = missing_prerequisites();
        if !missing.is_empty() {
            return Err(KvmError::Missing(missing.join(", ")));
        }
        if n == 0 || n > 90 {
            return Err(KvmError::setup("TestHosts::start", "1 to 90 hosts"));
        }
        let slot = Slot::take()?;
        netns::create_root_bridge(&slot)?;
        let ca = tls::Ca::new(&slot.k.to_string())?;
        let client_pki = slot.dir.join("client-pki");
        ca.write_client_pkipath(&client_pki)?;

        let mut prepared = Vec::new();
        for i in 0..n {
            prepared.push(prepare_host(&slot, &ca, i)?);
        }
        let started: Vec<Result<TestHost, KvmError>> = std::thread::scope(|s| {
            let handles: Vec<_> = prepared
                .into_iter()
                .map(|p| s.spawn(move || p.start()))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(KvmError::setup("host start", "thread panicked")))
                })
                .collect()
        });
        let mut hosts = Vec::new();
        let mut first_error = None;
        for r in started {
            match r {
                Ok(h) => hosts.push(h),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let harness = TestHosts {
            hosts,
            slot,
            client_pki,
        };
        match first_error {
            // Dropping the harness cleans what the other hosts started.
            Some(e) => Err(e),
            None => Ok(harness),
        }
    }

    /// The hosts, in index order.
    pub fn hosts(&self) -> &[TestHost] {
        &self.hosts
    }

    /// The root namespace's address on the test subnet (`.1`): where a server in the root
    /// namespace is reached from hosts and guests.
    pub fn root_address(&self) -> Ipv4Addr {
        self.slot.address(1)
    }

    /// Guest address number `n` (0..150) on the test subnet (`.100 + n`).
    pub fn guest_address(&self, n: u8) -> Ipv4Addr {
        self.slot.address(100u8.saturating_add(n.min(150)))
    }

    /// A libvirt `pkipath` dir (`cacert.pem`, `clientcert.pem`, `clientkey.pem`) for clients in
    /// the root namespace: `qemu+tls://<host address>/system?pkipath=<this>`.
    pub fn client_pki_dir(&self) -> &Path {
        &self.client_pki
    }

    /// What this harness created (namespaces, links, daemon pids, its dir).
    pub fn footprint(&self) -> Footprint {
        let stem = format!("fc{}", self.slot.k);
        let netns = slot::netns_of(&stem)
            .into_iter()
            .map(|n| {
                let ino = fs::metadata(format!("/run/netns/{n}")).map_or(0, |m| m.ino());
                (n, ino)
            })
            .collect();
        let mut pids = Vec::new();
        for h in &self.hosts {
            pids.push(h.holder.id());
            pids.extend(h.daemons.iter().map(Child::id));
        }
        Footprint {
            netns,
            links: slot::links_of(&stem),
            pids,
            dir: self.slot.dir.clone(),
        }
    }
}

impl Drop for TestHosts {
    fn drop(&mut self) {
        for h in &mut self.hosts {
            for child in h.daemons.iter_mut().chain(std::iter::once(&mut h.holder)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // The slot's drop kills what the daemons left in the namespaces (QEMU), then deletes
        // the namespaces, links and dir.
    }
}

impl Footprint {
    /// What is still there: namespaces, links, processes (the daemons, or any process still
    /// in one of the namespaces), the dir. Empty after a clean teardown.
    pub fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        let listed = cmd::stdout(&mut cmd::ip(&["netns", "list"])).unwrap_or_default();
        for (name, _) in &self.netns {
            if listed
                .lines()
                .any(|l| l.split_whitespace().next() == Some(name))
            {
                left.push(format!("network namespace {name}"));
            }
        }
        for link in &self.links {
            if cmd::ip(&["link", "show", "dev", link])
                .output()
                .is_ok_and(|o| o.status.success())
            {
                left.push(format!("link {link}"));
            }
        }
        for pid in &self.pids {
            if Path::new(&format!("/proc/{pid}")).exists() {
                left.push(format!("process {pid}"));
            }
        }
        let inodes: Vec<String> = self
            .netns
            .iter()
            .map(|(_, ino)| format!("net:[{ino}]"))
            .collect();
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            if let Ok(ns) = fs::read_link(entry.path().join("ns/net")) {
                if inodes.iter().any(|i| ns.to_string_lossy() == *i) {
                    left.push(format!(
                        "process {} in a test namespace",
                        entry.file_name().to_string_lossy()
                    ));
                }
            }
        }
        if self.dir.exists() {
            left.push(format!("dir {}", self.dir.display()));
        }
        left
    }
}

/// A host whose files are written and network is up, before its daemons start.
struct Prepared {
    index: usize,
    hostname: String,
    netns: String,
    address: Ipv4Addr,
    host_uuid: String,
    root_password: String,
    dir: PathBuf,
}

fn prepare_host(slot: &Slot, ca: &tls::Ca, i: usize) -> Result<Prepared, KvmError> {
    let netns = slot.netns(i);
    let hostname = format!("fc{}-host{i}", slot.k);
    let address = slot.address(2 + i as u8);
    let dir = slot.dir.join(format!("host{i}"));
    let host_uuid = random_uuid()?;
    let root_password = random_password()?;
    hostroot::create_dirs(&dir)?;
    hostroot::write_shadow(&dir, &password_hash(&root_password)?)?;
    libvirtd::write_config(&dir.join("etc-libvirt"), &host_uuid, address)?;
    sshd::write_config(&dir.join("etc-ssh"))?;
    ca.write_host_pki(&dir.join("etc-pki"), address, &hostname)?;
    netns::create_host_network(slot, i, address)?;
    Ok(Prepared {
        index: i,
        hostname,
        netns,
        address,
        host_uuid,
        root_password,
        dir,
    })
}

impl Prepared {
    fn start(self) -> Result<TestHost, KvmError> {
        let holder = hostroot::start_holder(&self.netns, &self.dir, &self.hostname)?;
        let mut host = TestHost {
            index: self.index,
            hostname: self.hostname,
            netns: self.netns,
            address: self.address,
            host_uuid: self.host_uuid,
            root_password: self.root_password,
            dir: self.dir,
            holder,
            daemons: Vec::new(),
        };
        // On an early return `host` is dropped with its children still running; the slot's
        // cleanup kills them through their namespace.
        let uri = host.libvirt_uri();
        host.daemons
            .push(libvirtd::start(host.holder.id(), &host.dir, &uri)?);
        libvirtd::define_pool_and_network(&uri, &host.dir)?;
        let reported = libvirtd::capabilities_host_uuid(&uri)?;
        if reported != host.host_uuid {
            return Err(KvmError::setup(
                "libvirtd host_uuid",
                format!(
                    "configured {}, capabilities report {reported}",
                    host.host_uuid
                ),
            ));
        }
        host.daemons
            .push(sshd::start(host.holder.id(), &host.dir, host.address)?);
        Ok(host)
    }
}

impl TestHost {
    /// 0-based index within the harness.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The hostname in the host's UTS namespace (what libvirt and `uname -n` report).
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The host's network namespace (`ip netns exec <this> …`).
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// The host's address on the test subnet (sshd, libvirt TLS, migration).
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// The `host_uuid` written to its libvirtd.conf.
    pub fn host_uuid(&self) -> &str {
        &self.host_uuid
    }

    /// The host's root password (its own /etc/shadow), for SSH password login as `root`.
    pub fn root_password(&self) -> &str {
        &self.root_password
    }

    /// The port sshd listens on at [`TestHost::address`].
    pub fn ssh_port(&self) -> u16 {
        SSH_PORT
    }

    /// The host's libvirt from the root namespace, over its unix socket.
    pub fn libvirt_uri(&self) -> String {
        format!(
            "qemu+unix:///system?socket={}",
            self.root_path("/run/libvirt/libvirt-sock").display()
        )
    }

    /// The host's libvirt over TLS, as other hosts reach it (the migration destination URI).
    pub fn tls_uri(&self) -> String {
        format!("qemu+tls://{}/system", self.address)
    }

    /// Where, in the root namespace, the host's private `path` lives (for paths under its
    /// private dirs: /run/libvirt, /var/lib/libvirt, /etc/libvirt, /var/log/libvirt,
    /// /var/cache/libvirt, /etc/ssh, /etc/pki); other paths are the machine's own.
    pub fn root_path(&self, path: &str) -> PathBuf {
        hostroot::source_of(&self.dir, path).unwrap_or_else(|| PathBuf::from(path))
    }

    /// The storage pool's dir (`/var/lib/libvirt/images` inside), seen from the root namespace.
    pub fn images_dir(&self) -> PathBuf {
        self.root_path("/var/lib/libvirt/images")
    }

    /// Where the host's daemons write their logs (libvirtd.log, sshd.log); guest logs are in
    /// `root_path("/var/log/libvirt/qemu")`.
    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }

    /// Stops the host's libvirtd (TERM, by the pid it wrote) and waits until it is gone, as a
    /// host whose libvirt is down; teardown copes with its absence.
    pub fn stop_libvirtd(&self) -> Result<(), KvmError> {
        let pid_file = self.dir.join("libvirtd.pid");
        let pid: i32 = fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| {
                KvmError::setup("stop libvirtd", format!("no pid in {}", pid_file.display()))
            })?;
        // SAFETY: TERM to the pid this host's libvirtd wrote.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        // The harness holds the daemon as a child it reaps only at teardown: a zombie is gone.
        let running = || {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|st| st.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
                .unwrap_or(false)
        };
        while running() {
            if std::time::Instant::now() > deadline {
                return Err(KvmError::setup("stop libvirtd", "still running after 15 s"));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Ok(())
    }

    /// A command that runs `program` inside the host (its network, mount and UTS namespaces).
    pub fn command(&self, program: &str) -> Command {
        hostroot::command_in(self.holder.id(), program)
    }

    /// The host UUID libvirt reports (`<host><uuid>` of `virsh capabilities`).
    pub fn capabilities_host_uuid(&self) -> Result<String, KvmError> {
        libvirtd::capabilities_host_uuid(&self.libvirt_uri())
    }

    /// `virsh -q -c <libvirt_uri> <args>`, run from the root namespace.
    pub fn virsh(&self, args: &[&str]) -> Command {
        libvirtd::virsh(&self.libvirt_uri(), args)
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], KvmError> {
    let mut buf = [0u8; N];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| KvmError::setup("/dev/urandom", e.to_string()))?;
    Ok(buf)
}

fn random_uuid() -> Result<String, KvmError> {
    let mut b = random_bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

fn random_password() -> Result<String, KvmError> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    Ok(random_bytes::<20>()?
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

/// SHA-512 crypt of `password` (`openssl passwd -6`, the password on stdin, never in argv).
fn password_hash(password: &str) -> Result<String, KvmError> {
    let mut child = Command::new("openssl")
        .args(["passwd", "-6", "-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| KvmError::setup("openssl passwd", e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(format!("{password}\n").as_bytes())
            .map_err(|e| KvmError::setup("openssl passwd", e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| KvmError::setup("openssl passwd", e.to_string()))?;
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || !hash.starts_with("$6$") {
        return Err(KvmError::setup("openssl passwd", "no SHA-512 crypt hash"));
    }
    Ok(hash)
}
