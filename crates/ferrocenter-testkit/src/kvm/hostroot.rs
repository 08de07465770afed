//! A host's private filesystem view: its own mount and UTS namespaces (entered together with its
//! network namespace) in which libvirt's, sshd's and the TLS directories and `/etc/shadow` are
//! bind mounts of directories under the host's dir, and the hostname is the host's own.
//!
//! A holder process (`sleep infinity`, started through `ip netns exec` and `unshare`) keeps the
//! namespaces alive; every daemon and command of the host is started with `nsenter` into the
//! holder's namespaces.
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::KvmError;

/// The paths each host has to itself, and the name of their source under the host's dir.
pub(crate) const PRIVATE_DIRS: &[(&str, &str)] = &[
    ("/run/libvirt", "run-libvirt"),
    ("/var/lib/libvirt", "lib-libvirt"),
    ("/etc/libvirt", "etc-libvirt"),
    ("/var/log/libvirt", "log-libvirt"),
    ("/var/cache/libvirt", "cache-libvirt"),
    ("/etc/ssh", "etc-ssh"),
    ("/etc/pki", "etc-pki"),
    // Where ferrocenter's SSH bootstrap installs its agent, and root's authorized keys.
    ("/opt/ferrocenter-agent", "opt-ferrocenter-agent"),
    ("/var/lib/ferrocenter-agent", "lib-ferrocenter-agent"),
    ("/root/.ssh", "root-ssh"),
];

/// The host's `/etc/shadow`, a copy with the harness's root password.
const SHADOW: &str = "shadow";
/// The host's `/etc/hosts`: the machine's plus every host of the harness, so that a hostname
/// lookup (libvirt makes them during migration) never waits for a DNS server the test
/// subnet cannot reach.
const HOSTS: &str = "hosts";

/// Where, in the root namespace, the host's view of `path` lives (e.g. its libvirt socket).
pub(crate) fn source_of(host_dir: &Path, path: &str) -> Option<PathBuf> {
    PRIVATE_DIRS.iter().find_map(|(target, src)| {
        path.strip_prefix(target)
            .map(|rest| host_dir.join(src).join(rest.trim_start_matches('/')))
    })
}

/// Creates the host's dirs (empty) and the mount points they cover, which may be absent on the
/// machine (`/run/libvirt` is made by systemd-tmpfiles, `/etc/pki` is not Debian's).
pub(crate) fn create_dirs(host_dir: &Path) -> Result<(), KvmError> {
    for (target, src) in PRIVATE_DIRS {
        fs::create_dir_all(host_dir.join(src))
            .and_then(|()| fs::create_dir_all(target))
            .map_err(|e| KvmError::setup(&format!("mkdir {target}"), e.to_string()))?;
    }
    // QEMU's logs (and the guests' serial logs) go here; Debian's package makes it.
    fs::create_dir_all(host_dir.join("log-libvirt/qemu"))
        .map_err(|e| KvmError::setup("mkdir log-libvirt/qemu", e.to_string()))?;
    fs::create_dir_all(host_dir.join("logs"))
        .map_err(|e| KvmError::setup("mkdir logs", e.to_string()))?;
    Ok(())
}

/// Writes the host's `/etc/shadow`: the machine's, with root's password hash replaced.
pub(crate) fn write_shadow(host_dir: &Path, root_hash: &str) -> Result<(), KvmError> {
    let system = fs::read_to_string("/etc/shadow")
        .map_err(|e| KvmError::setup("/etc/shadow", e.to_string()))?;
    let mut out = String::new();
    for line in system.lines() {
        let mut fields: Vec<&str> = line.split(':').collect();
        if fields.first() == Some(&"root") && fields.len() > 2 {
            fields[1] = root_hash;
        }
        out.push_str(&fields.join(":"));
        out.push('\n');
    }
    let path = host_dir.join(SHADOW);
    fs::write(&path, out).map_err(|e| KvmError::setup("shadow copy", e.to_string()))?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640))
        .map_err(|e| KvmError::setup("shadow copy", e.to_string()))
}

/// Writes the host's `/etc/hosts`: the machine's, then `address hostname` for each host.
pub(crate) fn write_hosts(
    host_dir: &Path,
    hosts: &[(std::net::Ipv4Addr, String)],
) -> Result<(), KvmError> {
    let mut out = fs::read_to_string("/etc/hosts").unwrap_or_default();
    out.push_str("\n# ferrocenter test hosts\n");
    for (address, name) in hosts {
        out.push_str(&format!("{address} {name}\n"));
    }
    fs::write(host_dir.join(HOSTS), out).map_err(|e| KvmError::setup("hosts copy", e.to_string()))
}

/// Starts the holder in `netns`: it bind mounts the private paths, sets `hostname`, and sleeps.
/// Returns once the mounts are in place.
pub(crate) fn start_holder(
    netns: &str,
    host_dir: &Path,
    hostname: &str,
) -> Result<Child, KvmError> {
    let ready = host_dir.join("holder-ready");
    let mut script = String::from("set -e\n");
    for (target, src) in PRIVATE_DIRS {
        script.push_str(&format!(
            "mount --bind '{}' '{target}'\n",
            host_dir.join(src).display()
        ));
    }
    script.push_str(&format!(
        "mount --bind '{}' /etc/shadow\nmount --bind '{}' /etc/hosts\nhostname '{hostname}'\ntouch '{}'\nexec sleep infinity\n",
        host_dir.join(SHADOW).display(),
        host_dir.join(HOSTS).display(),
        ready.display()
    ));
    let log = fs::File::create(host_dir.join("logs/holder.log"))
        .map_err(|e| KvmError::setup("holder log", e.to_string()))?;
    let mut child = Command::new("ip")
        .args(["netns", "exec", netns, "unshare", "--mount", "--uts"])
        .args(["--propagation", "private", "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| KvmError::setup("ip netns exec … unshare", e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            let log = fs::read_to_string(host_dir.join("logs/holder.log")).unwrap_or_default();
            return Err(KvmError::setup(
                "namespace holder",
                format!("{status}: {log}"),
            ));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(KvmError::setup("namespace holder", "not ready within 10 s"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(child)
}

/// A command that runs `program` in the namespaces (network, mount, UTS) of process `holder`.
pub(crate) fn command_in(holder: u32, program: &str) -> Command {
    let mut c = Command::new("nsenter");
    c.args(["-t", &holder.to_string(), "-n", "-m", "-u", "--", program]);
    c
}
