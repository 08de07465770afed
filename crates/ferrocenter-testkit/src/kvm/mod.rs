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
mod footprint;
mod guest;
mod host;
mod hostroot;
mod image;
mod libvirtd;
mod netns;
mod prereq;
mod secrets;
mod slot;
mod sshd;
mod tls;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

pub use footprint::Footprint;
pub use guest::{
    boot_id, firmware_guest_xml, heartbeat, heartbeat_link_local, heartbeat_uuid,
    link_local_address, DiskGuest, DomainType, KernelGuest, GUEST_MEMORY_MIB,
};
pub use host::TestHost;
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

        let names: Vec<(Ipv4Addr, String)> = (0..n)
            .map(|i| (host::host_address(&slot, i), host::host_name(&slot, i)))
            .collect();
        let mut prepared = Vec::new();
        for i in 0..n {
            prepared.push(host::prepare_host(&slot, &ca, i, &names)?);
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

    /// A MAC for guest number `n` on this harness's segment, `52:54:00:fc:<slot>:<n>` (QEMU's
    /// prefix; unique among the guests of concurrently running harnesses as well).
    pub fn guest_mac(&self, n: u8) -> String {
        format!("52:54:00:fc:{:02x}:{n:02x}", self.slot.k)
    }

    /// The bridge in the root namespace that every host's `br0`, and so every guest, is on
    /// (`fc<k>br`). It has IPv6 on, so guests are reached at their link-local addresses
    /// through it.
    pub fn root_bridge(&self) -> String {
        self.slot.bridge()
    }

    /// The heartbeat of the guest whose NIC has `mac` ([`DiskGuest`], or any guest booted
    /// without an address), asked at its MAC's IPv6 link-local address through
    /// [`TestHosts::root_bridge`] ([`heartbeat_link_local`]).
    pub fn guest_heartbeat_by_mac(&self, mac: &str) -> std::io::Result<String> {
        heartbeat_link_local(mac, &self.slot.bridge())
    }

    /// A libvirt `pkipath` dir (`cacert.pem`, `clientcert.pem`, `clientkey.pem`) for clients in
    /// the root namespace: `qemu+tls://<host address>/system?pkipath=<this>`.
    pub fn client_pki_dir(&self) -> &Path {
        &self.client_pki
    }
}

impl Drop for TestHosts {
    fn drop(&mut self) {
        // Hosts first (each stops its daemons), then `slot`'s own drop kills what the daemons
        // left in the namespaces (QEMU) and deletes the namespaces, links and dir.
        self.hosts.clear();
    }
}
