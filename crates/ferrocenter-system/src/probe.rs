//! The system probe on Linux: `/proc` read through the `procfs` crate (stat, loadavg, meminfo,
//! net/dev, uptime, the process's own stat and mountinfo) and each filesystem's space through
//! `statvfs` (the `rustix` crate). Reads are blocking file reads, so each runs on the blocking
//! pool; a hung filesystem holds one of its threads, not the runtime.
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use ferrocenter_core::ports::{
    CpuTimes, FilesystemReading, InterfaceReading, MachineError, SystemProbe, SystemReadings,
};
use procfs::process::{MountInfo, Process};
use procfs::{
    Current, CurrentSI, KernelStats, LoadAverage, Meminfo, Uptime, WithCurrentSystemInfo,
};
use time::OffsetDateTime;

/// Reads this machine.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcProbe;

fn failed(what: &str) -> impl Fn(procfs::ProcError) -> MachineError + '_ {
    move |e| MachineError::Failed(format!("{what}: {e}"))
}

/// Filesystem types that hold no disk space of this machine: kernel views, memory, network
/// shares and read-only images. Everything else mounted read-write is a local disk.
const NOT_LOCAL_DISKS: &[&str] = &[
    // Kernel interfaces.
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "cgroup",
    "cgroup2",
    "securityfs",
    "debugfs",
    "tracefs",
    "pstore",
    "bpf",
    "mqueue",
    "configfs",
    "fusectl",
    "autofs",
    "binfmt_misc",
    "rpc_pipefs",
    "nsfs",
    "efivarfs",
    "selinuxfs",
    "nfsd",
    // Memory.
    "tmpfs",
    "ramfs",
    "hugetlbfs",
    // Network shares: their space is another machine's.
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "ceph",
    "glusterfs",
    "9p",
    // Read-only images: always full, never filling.
    "squashfs",
    "iso9660",
];

/// Whether a mount is a local disk filesystem whose fullness matters.
fn is_local_disk(m: &MountInfo) -> bool {
    let read_only = m.mount_options.contains_key("ro");
    !read_only && !m.fs_type.starts_with("fuse") && !NOT_LOCAL_DISKS.contains(&m.fs_type.as_str())
}

fn space(path: &Path, mount: String) -> Result<FilesystemReading, MachineError> {
    let s = rustix::fs::statvfs(path)
        .map_err(|e| MachineError::Failed(format!("statvfs of {}: {e}", path.display())))?;
    let unit = s.f_frsize;
    Ok(FilesystemReading {
        mount,
        total_bytes: s.f_blocks.saturating_mul(unit),
        used_bytes: s.f_blocks.saturating_sub(s.f_bfree).saturating_mul(unit),
        available_bytes: s.f_bavail.saturating_mul(unit),
    })
}

fn mounts() -> Result<Vec<MountInfo>, MachineError> {
    Ok(Process::myself()
        .and_then(|p| p.mountinfo())
        .map_err(failed("/proc/self/mountinfo"))?
        .0)
}

/// The local disk filesystems, each device once (a bind mount shows a device again: the
/// shortest mount point stands for it). A filesystem statvfs cannot read (unmounted meanwhile,
/// not permitted) or of no size is left out.
fn filesystems() -> Result<Vec<FilesystemReading>, MachineError> {
    let mut candidates: Vec<MountInfo> = mounts()?.into_iter().filter(is_local_disk).collect();
    candidates.sort_by_key(|m| m.mount_point.as_os_str().len());
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for m in candidates {
        if !seen.insert(m.majmin.clone()) {
            continue;
        }
        let mount = m.mount_point.display().to_string();
        match space(&m.mount_point, mount) {
            Ok(fs) if fs.total_bytes > 0 => out.push(fs),
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "filesystem left out of the readings"),
        }
    }
    out.sort_by(|a, b| a.mount.cmp(&b.mount));
    Ok(out)
}

/// The mount point holding `path`: the longest mount point it lies under.
fn mount_of(path: &Path) -> Result<String, MachineError> {
    Ok(mounts()?
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|p| path.starts_with(p))
        .max_by_key(|p| p.as_os_str().len())
        .map_or_else(|| "/".to_string(), |p| p.display().to_string()))
}

fn cpu() -> Result<(u32, CpuTimes), MachineError> {
    let k = KernelStats::current().map_err(failed("/proc/stat"))?;
    let t = &k.total;
    let waiting = t.idle + t.iowait.unwrap_or(0);
    let total = t.user
        + t.nice
        + t.system
        + waiting
        + t.irq.unwrap_or(0)
        + t.softirq.unwrap_or(0)
        + t.steal.unwrap_or(0);
    let count = u32::try_from(k.cpu_time.len()).unwrap_or(u32::MAX).max(1);
    Ok((
        count,
        CpuTimes {
            busy: total.saturating_sub(waiting),
            total,
        },
    ))
}

fn interfaces() -> Result<Vec<InterfaceReading>, MachineError> {
    let mut out: Vec<InterfaceReading> = procfs::net::dev_status()
        .map_err(failed("/proc/net/dev"))?
        .into_values()
        .map(|d| InterfaceReading {
            name: d.name,
            rx_bytes: d.recv_bytes,
            tx_bytes: d.sent_bytes,
            rx_packets: d.recv_packets,
            tx_packets: d.sent_packets,
            rx_errors: d.recv_errs,
            tx_errors: d.sent_errs,
            rx_dropped: d.recv_drop,
            tx_dropped: d.sent_drop,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Everything at once, blocking.
fn read_now() -> Result<SystemReadings, MachineError> {
    let (cpu_count, cpu) = cpu()?;
    let load = LoadAverage::current().map_err(failed("/proc/loadavg"))?;
    let mem = Meminfo::current().map_err(failed("/proc/meminfo"))?;
    let uptime = Uptime::current().map_err(failed("/proc/uptime"))?;
    let rss = Process::myself()
        .and_then(|p| p.stat())
        .map_err(failed("/proc/self/stat"))?
        .rss_bytes()
        .get();
    Ok(SystemReadings {
        taken_at: OffsetDateTime::now_utc(),
        cpu_count,
        cpu,
        load: [
            f64::from(load.one),
            f64::from(load.five),
            f64::from(load.fifteen),
        ],
        mem_total_bytes: mem.mem_total,
        // Kernels before 3.14 have no MemAvailable; free memory is the cautious stand-in.
        mem_available_bytes: mem.mem_available.unwrap_or(mem.mem_free),
        swap_total_bytes: mem.swap_total,
        swap_free_bytes: mem.swap_free,
        filesystems: filesystems()?,
        interfaces: interfaces()?,
        uptime_seconds: uptime.uptime.max(0.0) as u64,
        process_rss_bytes: rss,
    })
}

fn space_at_now(path: PathBuf) -> Result<FilesystemReading, MachineError> {
    let mount = mount_of(&path)?;
    space(&path, mount)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MachineError> + Send + 'static,
) -> Result<T, MachineError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| MachineError::Failed(format!("the probe's reader stopped: {e}")))?
}

#[async_trait]
impl SystemProbe for ProcProbe {
    async fn read(&self) -> Result<SystemReadings, MachineError> {
        blocking(read_now).await
    }

    async fn space_at(&self, path: &Path) -> Result<FilesystemReading, MachineError> {
        let path = path.to_path_buf();
        blocking(move || space_at_now(path)).await
    }

    fn interface_of(&self, ip: std::net::IpAddr) -> Option<String> {
        crate::interfaces::interface_of(ip)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn this_machine_reads_plausibly() {
        let r = ProcProbe.read().await.unwrap();
        assert!(r.cpu_count >= 1);
        assert!(r.cpu.total > 0 && r.cpu.busy <= r.cpu.total, "{:?}", r.cpu);
        assert!(r.load.iter().all(|l| l.is_finite() && *l >= 0.0));
        assert!(r.mem_total_bytes > 0);
        assert!(r.mem_available_bytes <= r.mem_total_bytes);
        assert!(r.swap_free_bytes <= r.swap_total_bytes);
        assert!(r.uptime_seconds > 0);
        // This test process holds at least a megabyte, and less than all memory.
        assert!(r.process_rss_bytes > 1 << 20 && r.process_rss_bytes < r.mem_total_bytes);
        assert!(
            r.interfaces.iter().any(|i| i.name == "lo"),
            "{:?}",
            r.interfaces
        );
        // The root filesystem is a local disk on any machine that runs these tests, and no
        // kernel or memory filesystem is taken for one.
        assert!(!r.filesystems.is_empty());
        for fs in &r.filesystems {
            assert!(fs.total_bytes > 0, "{fs:?}");
            assert!(fs.used_bytes <= fs.total_bytes, "{fs:?}");
            assert!(fs.available_bytes <= fs.total_bytes, "{fs:?}");
            assert!(
                !["/proc", "/sys", "/dev", "/dev/shm", "/dev/pts"].contains(&fs.mount.as_str()),
                "{fs:?}"
            );
        }
        let mut mounts: Vec<&str> = r.filesystems.iter().map(|f| f.mount.as_str()).collect();
        mounts.dedup();
        assert_eq!(mounts.len(), r.filesystems.len(), "each filesystem once");
    }

    #[tokio::test]
    async fn the_space_at_a_path_is_its_filesystems() {
        let dir = std::env::temp_dir();
        let fs = ProcProbe.space_at(&dir).await.unwrap();
        assert!(fs.total_bytes > 0 && fs.used_bytes <= fs.total_bytes);
        assert!(dir.starts_with(&fs.mount), "{dir:?} under {fs:?}");
        let missing = ProcProbe
            .space_at(Path::new("/no/such/place/at/all"))
            .await
            .unwrap_err();
        assert!(missing.to_string().contains("/no/such/place"), "{missing}");
    }
}
