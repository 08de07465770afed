//! One harness instance's slot: a number `k` (0..=254) that makes its interface and namespace
//! names and its subnet `10.231.k.0/24` unique among the test processes running at once.
//! Slots are taken under a lock file; a slot whose owner process is gone (a test killed before
//! its teardown ran) is cleaned and reused by the next harness that starts.
use std::fs::{self, File};
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::cmd::{ip, quiet, stdout};
use super::KvmError;

/// Where slots live: host roots (libvirt state, pool images) can grow, so not in /run's tmpfs.
const BASE: &str = "/var/tmp/ferrocenter-kvm";

/// The second octet of every test subnet: `10.231.<slot>.0/24`.
const SUBNET_OCTET: u8 = 231;

/// A taken slot; dropping it cleans everything named after it and frees it.
pub(crate) struct Slot {
    pub(crate) k: u8,
    pub(crate) dir: PathBuf,
}

/// flock(2) on the base directory's lock file for the duration of a closure.
fn locked<T>(f: impl FnOnce() -> T) -> Result<T, KvmError> {
    fs::create_dir_all(BASE).map_err(|e| KvmError::setup(BASE, e.to_string()))?;
    let lock_path = Path::new(BASE).join(".lock");
    let lock = File::create(&lock_path).map_err(|e| KvmError::setup("lock file", e.to_string()))?;
    // SAFETY: flock on a descriptor we own; it is released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(KvmError::setup(
            "flock",
            std::io::Error::last_os_error().to_string(),
        ));
    }
    let out = f();
    drop(lock);
    Ok(out)
}

/// `pid starttime` of a process: the start time tells a reused pid from the owner.
fn identity(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields after it are space separated, starttime is 22nd.
    let after = &stat[stat.rfind(')')? + 2..];
    let start = after.split(' ').nth(19)?;
    Some(format!("{pid} {start}"))
}

fn owner_alive(dir: &Path) -> bool {
    let Ok(owner) = fs::read_to_string(dir.join("owner")) else {
        return false;
    };
    let Some(pid) = owner.split(' ').next().and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    identity(pid).as_deref() == Some(owner.trim())
}

/// Whether anything on the machine already uses `10.231.k.0/24` (an address or a route).
fn subnet_in_use(k: u8) -> bool {
    let prefix = format!("10.{SUBNET_OCTET}.{k}.");
    let addrs = stdout(&mut ip(&["-4", "-o", "addr"])).unwrap_or_default();
    let routes = stdout(&mut ip(&["-4", "route", "show", "table", "all"])).unwrap_or_default();
    addrs.contains(&prefix) || routes.contains(&prefix)
}

impl Slot {
    /// Takes the lowest free slot, first cleaning the slots of owners that are gone.
    pub(crate) fn take() -> Result<Slot, KvmError> {
        locked(|| {
            for k in 0..=254u8 {
                let dir = Path::new(BASE).join(k.to_string());
                if dir.exists() {
                    if owner_alive(&dir) {
                        continue;
                    }
                    clean(k, &dir);
                }
                if subnet_in_use(k) || names_in_use(k) {
                    continue;
                }
                fs::create_dir_all(&dir).map_err(|e| KvmError::setup("slot dir", e.to_string()))?;
                let me = identity(std::process::id())
                    .ok_or_else(|| KvmError::setup("/proc/self/stat", "unreadable"))?;
                File::create(dir.join("owner"))
                    .and_then(|mut f| f.write_all(me.as_bytes()))
                    .map_err(|e| KvmError::setup("slot owner file", e.to_string()))?;
                return Ok(Slot { k, dir });
            }
            Err(KvmError::setup("slot", "all 255 test subnets are in use"))
        })?
    }

    /// The root namespace's bridge, holding the root ends of every host's veth.
    pub(crate) fn bridge(&self) -> String {
        format!("fc{}br", self.k)
    }

    /// The network namespace of host `i` (also the stem of its veth names).
    pub(crate) fn netns(&self, i: usize) -> String {
        format!("fc{}h{i}", self.k)
    }

    /// Address `last` on this slot's subnet.
    pub(crate) fn address(&self, last: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, SUBNET_OCTET, self.k, last)
    }
}

/// Whether a namespace or link named after slot `k` exists although no slot dir claims it.
fn names_in_use(k: u8) -> bool {
    let stem = format!("fc{k}");
    !netns_of(&stem).is_empty() || !links_of(&stem).is_empty()
}

/// Namespaces whose names start with `fc<k>h`.
pub(crate) fn netns_of(stem: &str) -> Vec<String> {
    let list = stdout(&mut ip(&["netns", "list"])).unwrap_or_default();
    list.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| is_ours(n, stem))
        .map(str::to_string)
        .collect()
}

/// Root-namespace links whose names start with `fc<k>` followed by `h` or `br`.
pub(crate) fn links_of(stem: &str) -> Vec<String> {
    let list = stdout(&mut ip(&["-o", "link"])).unwrap_or_default();
    list.lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n))
        .filter(|n| is_ours(n, stem))
        .map(str::to_string)
        .collect()
}

/// `fc12h3`, `fc12h3r` and `fc12br` are slot 12's; `fc123br` is not.
fn is_ours(name: &str, stem: &str) -> bool {
    name.strip_prefix(stem)
        .is_some_and(|rest| rest.starts_with('h') || rest.starts_with("br"))
}

/// Processes whose network namespace is the one at `/run/netns/<name>`.
pub(crate) fn pids_in_netns(name: &str) -> Vec<u32> {
    stdout(&mut ip(&["netns", "pids", name]))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Kills every process in the namespaces of slot `k`, deletes those namespaces and the slot's
/// links, and removes its directory. Safe to run on a half-built or already-clean slot.
pub(crate) fn clean(k: u8, dir: &Path) {
    let stem = format!("fc{k}");
    let namespaces = netns_of(&stem);
    for ns in &namespaces {
        for pid in pids_in_netns(ns) {
            // SAFETY: kill(2) takes plain integers.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
    // A killed process leaves its namespace when it is reaped; wait for that before deleting.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && namespaces.iter().any(|ns| !pids_in_netns(ns).is_empty()) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for ns in &namespaces {
        quiet(&mut ip(&["netns", "del", ns]));
    }
    for link in links_of(&stem) {
        quiet(&mut ip(&["link", "del", &link]));
    }
    let _ = fs::remove_dir_all(dir);
}

impl Drop for Slot {
    fn drop(&mut self) {
        let _ = locked(|| clean(self.k, &self.dir));
    }
}
