//! Each host's libvirtd: a copy of the machine's `/etc/libvirt` with the host's settings (its
//! own `host_uuid`, TLS listening on its address, QEMU run without cgroups, virtlogd or
//! security drivers so that several libvirtds share one machine), started in the host's
//! namespaces, then given the storage pool `default` and the bridge network `vmnet`.
use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::cmd::{run, stdout};
use super::hostroot::command_in;
use super::netns::HOST_BRIDGE;
use super::tls::CLIENT_DN;
use super::KvmError;

/// The libvirt network (type bridge, on `br0`) guests of every host are attached to.
pub const GUEST_NETWORK: &str = "vmnet";
/// The dir storage pool of every host, on its `/var/lib/libvirt/images`.
pub const STORAGE_POOL: &str = "default";

/// Copies the machine's libvirt configuration into `etc` (the host's future `/etc/libvirt`)
/// without its defined domains, networks and pools, and applies the host's settings.
pub(crate) fn write_config(etc: &Path, host_uuid: &str, address: Ipv4Addr) -> Result<(), KvmError> {
    let io = |what: &str| {
        let what = what.to_string();
        move |e: std::io::Error| KvmError::setup(&what, e.to_string())
    };
    if let Ok(entries) = fs::read_dir("/etc/libvirt") {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                fs::copy(&path, etc.join(entry.file_name())).map_err(io("copy /etc/libvirt"))?;
            }
        }
    }
    let libvirtd = [
        ("host_uuid", format!("\"{host_uuid}\"")),
        ("listen_tls", "1".into()),
        ("listen_tcp", "0".into()),
        ("listen_addr", format!("\"{address}\"")),
        ("auth_tls", "\"none\"".into()),
        ("tls_allowed_dn_list", format!("[\"{CLIENT_DN}\"]")),
        ("auth_unix_rw", "\"none\"".into()),
        ("auth_unix_ro", "\"none\"".into()),
        (
            "key_file",
            "\"/etc/pki/libvirt/private/serverkey.pem\"".into(),
        ),
        ("cert_file", "\"/etc/pki/libvirt/servercert.pem\"".into()),
        ("ca_file", "\"/etc/pki/CA/cacert.pem\"".into()),
        // Keepalives from clients (a migration's source among them) tolerate minutes without an
        // answer: on a loaded two-core CI machine a starved libvirtd missed the default 5 × 5 s
        // and a migration failed with "client socket is closed".
        ("keepalive_interval", "30".into()),
        ("keepalive_count", "10".into()),
    ];
    let ip = address.to_string();
    let qemu = [
        // One machine, many libvirtds: no shared cgroup tree, no per-VM mount namespace, no
        // AppArmor profiles, no chown of the shared guest kernel, no virtlogd.
        ("user", "\"root\"".to_string()),
        ("group", "\"root\"".into()),
        ("dynamic_ownership", "0".into()),
        ("remember_owner", "0".into()),
        ("security_driver", "\"none\"".into()),
        ("cgroup_controllers", "[ ]".into()),
        ("namespaces", "[ ]".into()),
        ("stdio_handler", "\"file\"".into()),
        // The destination tells the source where to send the migration stream: its address,
        // since its hostname resolves nowhere.
        ("migration_address", format!("\"{ip}\"")),
        ("migration_host", format!("\"{ip}\"")),
        ("default_tls_x509_cert_dir", "\"/etc/pki/qemu\"".into()),
        ("default_tls_x509_verify", "1".into()),
        // The peer-to-peer migration connection's own keepalive (see libvirtd's above).
        ("keepalive_interval", "30".into()),
        ("keepalive_count", "10".into()),
    ];
    set_keys(&etc.join("libvirtd.conf"), &libvirtd)?;
    set_keys(&etc.join("qemu.conf"), &qemu)?;
    Ok(())
}

/// Comments out any active setting of the given keys and appends ours: libvirt's parser uses
/// the first occurrence of a key.
fn set_keys(path: &Path, keys: &[(&str, String)]) -> Result<(), KvmError> {
    let old = fs::read_to_string(path).unwrap_or_default();
    let mut out = String::new();
    for line in old.lines() {
        let key = line.split('=').next().unwrap_or("").trim();
        if !line.trim_start().starts_with('#') && keys.iter().any(|(k, _)| *k == key) {
            out.push('#');
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("\n# ferrocenter test host\n");
    for (k, v) in keys {
        out.push_str(&format!("{k} = {v}\n"));
    }
    fs::write(path, out).map_err(|e| KvmError::setup(&path.display().to_string(), e.to_string()))
}

/// Where a host's libvirtd caches what it probed of QEMU (seconds of work per start).
const CAPS_CACHE: &str = "cache-libvirt/qemu/capabilities";

/// The probe results of an earlier host, shared by every later one. libvirt checks each
/// cached file against the QEMU binary, its own version and the kernel, and probes again when
/// one no longer matches, so a stale seed costs only the probe it would have made anyway.
fn caps_seed() -> std::path::PathBuf {
    Path::new(super::slot::BASE).join("qemu-capabilities")
}

fn copy_xml_files(from: &Path, to: &Path) {
    let Ok(entries) = fs::read_dir(from) else {
        return;
    };
    if fs::create_dir_all(to).is_err() {
        return;
    }
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "xml") {
            // Written beside, then renamed: a concurrent reader sees a whole file or none.
            let tmp = to.join(format!(
                ".{}.{}",
                entry.file_name().to_string_lossy(),
                std::process::id()
            ));
            if fs::copy(&path, &tmp).is_ok() {
                let _ = fs::rename(&tmp, to.join(entry.file_name()));
            }
        }
    }
}

/// Starts libvirtd in the host's namespaces and waits until it answers on its socket.
pub(crate) fn start(holder: u32, host_dir: &Path, uri: &str) -> Result<Child, KvmError> {
    copy_xml_files(&caps_seed(), &host_dir.join(CAPS_CACHE));
    let log_path = host_dir.join("logs/libvirtd.log");
    // Appended to: a libvirtd started again keeps its predecessor's log.
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| KvmError::setup("libvirtd log", e.to_string()))?;
    let mut child = command_in(holder, "libvirtd")
        .arg("--listen")
        .arg("--pid-file")
        .arg(host_dir.join("libvirtd.pid"))
        .stdin(Stdio::null())
        .stdout(
            log.try_clone()
                .map_err(|e| KvmError::setup("libvirtd log", e.to_string()))?,
        )
        .stderr(log)
        .spawn()
        .map_err(|e| KvmError::setup("libvirtd", e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log = fs::read_to_string(&log_path).unwrap_or_default();
            return Err(KvmError::setup(
                "libvirtd",
                format!("exited with {status}: {log}"),
            ));
        }
        if virsh(uri, &["version"])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            copy_xml_files(&host_dir.join(CAPS_CACHE), &caps_seed());
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(KvmError::setup("libvirtd", "did not answer within 60 s"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `virsh -c <uri> <args>`.
pub(crate) fn virsh(uri: &str, args: &[&str]) -> Command {
    let mut c = Command::new("virsh");
    c.args(["-q", "-c", uri]).args(args).stdin(Stdio::null());
    c
}

/// Defines, builds and starts the pool `default` and the network `vmnet`, both autostarted.
pub(crate) fn define_pool_and_network(uri: &str, host_dir: &Path) -> Result<(), KvmError> {
    let v = |args: &[&str]| run(&mut virsh(uri, args)).map(|_| ());
    v(&[
        "pool-define-as",
        STORAGE_POOL,
        "dir",
        "--target",
        "/var/lib/libvirt/images",
    ])?;
    v(&["pool-build", STORAGE_POOL])?;
    v(&["pool-start", STORAGE_POOL])?;
    v(&["pool-autostart", STORAGE_POOL])?;
    let xml = host_dir.join("vmnet.xml");
    fs::write(
        &xml,
        format!(
            "<network>\n  <name>{GUEST_NETWORK}</name>\n  <forward mode='bridge'/>\n  <bridge name='{HOST_BRIDGE}'/>\n</network>\n"
        ),
    )
    .map_err(|e| KvmError::setup("vmnet.xml", e.to_string()))?;
    v(&["net-define", &xml.to_string_lossy()])?;
    v(&["net-start", GUEST_NETWORK])?;
    v(&["net-autostart", GUEST_NETWORK])?;
    Ok(())
}

/// The host UUID libvirt reports in its capabilities.
pub(crate) fn capabilities_host_uuid(uri: &str) -> Result<String, KvmError> {
    let caps = stdout(&mut virsh(uri, &["capabilities"]))?;
    caps.split("<uuid>")
        .nth(1)
        .and_then(|rest| rest.split("</uuid>").next())
        .map(str::to_string)
        .ok_or_else(|| {
            KvmError::setup("virsh capabilities", "no <uuid> in the host's capabilities")
        })
}
