//! OpenSSH's sshd in the foreground (`sshd -D -e -f CONFIG -p PORT`) with its own host key,
//! password login for the throwaway user only, and the SFTP subsystem (internal-sftp); `scp`
//! runs as the user's command for SCP.
use std::process::Command;

use super::process::Daemon;
use super::{is_root, program, ThrowawayUser};

pub struct SshServer {
    /// Dropped first: the daemon stops before its user is removed and its directory deleted.
    _daemon: Daemon,
    pub port: u16,
    pub user: ThrowawayUser,
    _dir: tempfile::TempDir,
}

impl SshServer {
    /// `<scheme>://127.0.0.1:<port><path>`; `path` is absolute on the server.
    pub fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    pub fn start() -> Option<SshServer> {
        if !is_root() {
            return None;
        }
        let sshd = program("sshd", &["/usr/sbin/sshd"])?;
        let keygen = program("ssh-keygen", &["/usr/bin/ssh-keygen"])?;
        program("scp", &["/usr/bin/scp"])?;
        let dir = tempfile::tempdir().unwrap();
        let user = ThrowawayUser::create(dir.path());
        let host_key = dir.path().join("host_ed25519");
        let status = Command::new(keygen)
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&host_key)
            .status()
            .unwrap();
        assert!(status.success(), "ssh-keygen");
        let port = crate::free_port();
        let conf = format!(
            "ListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nPasswordAuthentication yes\n\
             KbdInteractiveAuthentication no\nPubkeyAuthentication no\nUsePAM no\n\
             PermitRootLogin no\nAllowUsers {}\nStrictModes no\nSubsystem sftp internal-sftp\n\
             MaxStartups 100\nMaxSessions 50\n",
            host_key.display(),
            dir.path().join("sshd.pid").display(),
            user.name
        );
        let conf_path = dir.path().join("sshd_config");
        std::fs::write(&conf_path, conf).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let mut command = Command::new(sshd);
        command
            .args(["-D", "-e", "-f"])
            .arg(&conf_path)
            .args(["-p", &port.to_string()]);
        let daemon = Daemon::spawn("sshd", command, port, &dir.path().join("sshd.log"));
        Some(SshServer {
            port,
            user,
            _daemon: daemon,
            _dir: dir,
        })
    }
}
