//! One test host: its files and network prepared, then its holder, libvirtd and sshd started;
//! and what a test reads from it or runs in it.
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command};

use super::slot::Slot;
use super::{hostroot, libvirtd, netns, secrets, sshd, tls, KvmError, SSH_PORT};

/// One test host. Its daemons run until the [`TestHosts`](super::TestHosts) it belongs to is
/// dropped.
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
    /// libvirtds started again after a stop or kill.
    restarted: std::sync::Mutex<Vec<Child>>,
}

/// A host whose files are written and network is up, before its daemons start.
pub(crate) struct Prepared {
    index: usize,
    hostname: String,
    netns: String,
    address: Ipv4Addr,
    host_uuid: String,
    root_password: String,
    dir: PathBuf,
}

pub(crate) fn host_name(slot: &Slot, i: usize) -> String {
    format!("fc{}-host{i}", slot.k)
}

pub(crate) fn host_address(slot: &Slot, i: usize) -> Ipv4Addr {
    slot.address(2 + i as u8)
}

pub(crate) fn prepare_host(
    slot: &Slot,
    ca: &tls::Ca,
    i: usize,
    all: &[(Ipv4Addr, String)],
) -> Result<Prepared, KvmError> {
    let netns = slot.netns(i);
    let hostname = host_name(slot, i);
    let address = host_address(slot, i);
    let dir = slot.dir.join(format!("host{i}"));
    let host_uuid = secrets::random_uuid()?;
    let root_password = secrets::random_password()?;
    hostroot::create_dirs(&dir)?;
    hostroot::write_shadow(&dir, &secrets::password_hash(&root_password)?)?;
    hostroot::write_hosts(&dir, all)?;
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
    pub(crate) fn start(self) -> Result<TestHost, KvmError> {
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
            restarted: std::sync::Mutex::new(Vec::new()),
        };
        // On an early return `host` is dropped, which stops what it started; the slot's cleanup
        // kills anything else in its namespace.
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
    /// The holder's and the daemons' pids.
    pub(crate) fn pids(&self) -> Vec<u32> {
        let restarted = self
            .restarted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::iter::once(&self.holder)
            .chain(&self.daemons)
            .chain(restarted.iter())
            .map(Child::id)
            .collect()
    }

    /// Kills and reaps the daemons and the holder (QEMU, which libvirtd daemonized, is left for
    /// the slot's cleanup, which kills everything in the namespace).
    fn stop(&mut self) {
        let mut restarted = std::mem::take(
            &mut *self
                .restarted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for child in restarted
            .iter_mut()
            .chain(self.daemons.iter_mut())
            .chain(std::iter::once(&mut self.holder))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

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

    /// Copies the file `source` (e.g. [`super::GuestImage::disk`]) into the storage pool
    /// [`super::STORAGE_POOL`] as the volume `volume` and refreshes the pool so libvirt lists
    /// it; returns the volume's path as the host sees it.
    pub fn import_volume(
        &self,
        source: &std::path::Path,
        volume: &str,
    ) -> Result<PathBuf, KvmError> {
        if volume.is_empty() || volume.contains('/') || volume.starts_with('.') {
            return Err(KvmError::setup(
                "import_volume",
                format!("volume name {volume:?}"),
            ));
        }
        let dest = self.images_dir().join(volume);
        std::fs::copy(source, &dest).map_err(|e| {
            KvmError::setup(
                &format!("copy {} to {}", source.display(), dest.display()),
                e.to_string(),
            )
        })?;
        super::cmd::run(&mut self.virsh(&["pool-refresh", super::STORAGE_POOL]))?;
        Ok(PathBuf::from("/var/lib/libvirt/images").join(volume))
    }

    /// Where the host's daemons write their logs (libvirtd.log, sshd.log); guest logs are in
    /// `root_path("/var/log/libvirt/qemu")`.
    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }

    /// Stops the host's libvirtd (TERM, by the pid it wrote) and waits until it is gone, as a
    /// host whose libvirt is down; teardown copes with its absence.
    pub fn stop_libvirtd(&self) -> Result<(), KvmError> {
        self.signal_libvirtd(libc::SIGTERM)
    }

    /// Kills the host's libvirtd outright (KILL), as a crash: its QEMU processes keep running,
    /// and a libvirtd started again ([`TestHost::start_libvirtd`]) finds them.
    pub fn kill_libvirtd(&self) -> Result<(), KvmError> {
        self.signal_libvirtd(libc::SIGKILL)
    }

    /// Starts the host's libvirtd again after a stop or kill and waits until it answers.
    pub fn start_libvirtd(&self) -> Result<(), KvmError> {
        let child = libvirtd::start(self.holder.id(), &self.dir, &self.libvirt_uri())?;
        self.restarted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(child);
        Ok(())
    }

    fn signal_libvirtd(&self, signal: i32) -> Result<(), KvmError> {
        let pid_file = self.dir.join("libvirtd.pid");
        let pid: u32 = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| {
                KvmError::setup("stop libvirtd", format!("no pid in {}", pid_file.display()))
            })?;
        // SAFETY: a signal to the pid this host's libvirtd wrote.
        unsafe { libc::kill(pid as i32, signal) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while super::footprint::running(pid) {
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

impl Drop for TestHost {
    fn drop(&mut self) {
        self.stop();
    }
}
