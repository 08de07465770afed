//! Each host's sshd: the machine's `/etc/ssh` copied without its host keys, fresh host keys,
//! root login with the harness's password (checked against the host's own `/etc/shadow`),
//! listening on the host's address.
use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::cmd::run;
use super::hostroot::command_in;
use super::prereq::find_program;
use super::KvmError;

/// The port every host's sshd listens on.
pub const SSH_PORT: u16 = 22;

/// Copies `/etc/ssh` (config files, one level of `*.d` dirs) into `etc` and generates host keys.
pub(crate) fn write_config(etc: &Path) -> Result<(), KvmError> {
    let io = |e: std::io::Error| KvmError::setup("copy /etc/ssh", e.to_string());
    for entry in fs::read_dir("/etc/ssh").map_err(io)?.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("ssh_host_") {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            fs::create_dir_all(etc.join(&name)).map_err(io)?;
            for inner in fs::read_dir(&path).map_err(io)?.flatten() {
                if inner.path().is_file() {
                    fs::copy(inner.path(), etc.join(&name).join(inner.file_name())).map_err(io)?;
                }
            }
        } else if path.is_file() {
            fs::copy(&path, etc.join(&name)).map_err(io)?;
        }
    }
    for kind in ["ed25519", "ecdsa"] {
        let key = etc.join(format!("ssh_host_{kind}_key"));
        run(Command::new("ssh-keygen")
            .args([
                "-q",
                "-N",
                "",
                "-t",
                kind,
                "-C",
                "ferrocenter-test-host",
                "-f",
            ])
            .arg(&key))?;
    }
    Ok(())
}

/// Starts sshd in the host's namespaces and waits for its banner on `address:22`.
pub(crate) fn start(holder: u32, host_dir: &Path, address: Ipv4Addr) -> Result<Child, KvmError> {
    let sshd = find_program("sshd").ok_or_else(|| KvmError::missing("sshd"))?;
    // Privilege separation chroots into /run/sshd, which systemd-tmpfiles would have made.
    fs::create_dir_all("/run/sshd").map_err(|e| KvmError::setup("/run/sshd", e.to_string()))?;
    let log = fs::File::create(host_dir.join("logs/sshd.log"))
        .map_err(|e| KvmError::setup("sshd log", e.to_string()))?;
    let mut child = command_in(holder, &sshd.to_string_lossy())
        .args(["-D", "-e"])
        .args(["-o", &format!("ListenAddress={address}:{SSH_PORT}")])
        .args(["-o", "PidFile=none", "-o", "PermitRootLogin=yes"])
        .args(["-o", "PasswordAuthentication=yes", "-o", "UsePAM=no"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| KvmError::setup("sshd", e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log = fs::read_to_string(host_dir.join("logs/sshd.log")).unwrap_or_default();
            return Err(KvmError::setup(
                "sshd",
                format!("exited with {status}: {log}"),
            ));
        }
        if banner(address, SSH_PORT).is_ok() {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(KvmError::setup("sshd", "no banner within 20 s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The identification line an SSH server sends first (e.g. `SSH-2.0-OpenSSH_9.2p1 …`).
pub fn banner(address: Ipv4Addr, port: u16) -> std::io::Result<String> {
    let mut stream =
        TcpStream::connect_timeout(&SocketAddr::from((address, port)), Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut buf = [0u8; 256];
    let mut line = Vec::new();
    while !line.ends_with(b"\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        line.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&line).trim_end().to_string())
}
