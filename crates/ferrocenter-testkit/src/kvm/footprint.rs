//! What a harness created, recorded before its drop so a test can check afterwards that
//! nothing is left: namespaces, links, daemon processes, any process in those namespaces, dirs.
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use super::{cmd, slot, TestHosts};

/// What a harness created, to check after its drop that nothing is left ([`Footprint::leftovers`]).
#[derive(Debug, Clone)]
pub struct Footprint {
    netns: Vec<(String, u64)>,
    links: Vec<String>,
    pids: Vec<u32>,
    dir: PathBuf,
}

impl TestHosts {
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
            pids.extend(h.pids());
        }
        Footprint {
            netns,
            links: slot::links_of(&stem),
            pids,
            dir: self.slot.dir.clone(),
        }
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
            if running(*pid) {
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

/// Whether `pid` is a process that has not exited. A zombie has: it waits only to be reaped by
/// whichever process inherited it, which may be slow to do so.
pub(crate) fn running(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next().map(str::to_string))
            .is_some_and(|state| state != "Z" && state != "X")
    })
}
