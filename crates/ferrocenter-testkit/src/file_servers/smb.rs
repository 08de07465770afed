//! Samba's smbd in the foreground (`smbd --foreground --debug-stdout -s CONFIG`) on a loopback
//! port, as a standalone server with its own password database, lock,
//! state, cache and pid directories under a temporary directory (so it neither reads nor touches
//! a system-wide Samba), and one share, `backups`, that is the throwaway user's home. The user's
//! SMB password is set with `smbpasswd -c CONFIG -a -s`, fed on stdin.
use std::io::Write;
use std::process::{Command, Stdio};

use super::process::Daemon;
use super::{is_root, program, ThrowawayUser};

/// The one share the server offers; its root is `user.home`.
pub const SMB_SHARE: &str = "backups";

pub struct SmbServer {
    /// Dropped first: the daemon stops before its user is removed and its directory deleted.
    _daemon: Daemon,
    pub port: u16,
    pub user: ThrowawayUser,
    _dir: tempfile::TempDir,
}

impl SmbServer {
    /// `smb://127.0.0.1:<port>/backups<path>`; `path` is inside the share, i.e. under
    /// `user.home`.
    pub fn url(&self, path: &str) -> String {
        format!("smb://127.0.0.1:{}/{SMB_SHARE}{path}", self.port)
    }

    pub fn start() -> Option<SmbServer> {
        if !is_root() {
            return None;
        }
        let smbd = program("smbd (samba)", &["/usr/sbin/smbd"])?;
        let smbpasswd = program("smbpasswd (samba-common-bin)", &["/usr/bin/smbpasswd"])?;
        let dir = tempfile::tempdir().unwrap();
        let user = ThrowawayUser::create(dir.path());
        let port = crate::free_port();
        let d = dir.path().display();
        for sub in ["private", "lock", "state", "cache", "pid", "ncalrpc", "log"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        // Standalone, loopback only, no NetBIOS, no printers, no guest: a file server and
        // nothing else. Files land owned by the user (smbd switches to it per session).
        let conf = format!(
            "[global]\n\
             server role = standalone server\n\
             workgroup = WORKGROUP\n\
             smb ports = {port}\n\
             interfaces = 127.0.0.1\n\
             bind interfaces only = yes\n\
             disable netbios = yes\n\
             private dir = {d}/private\n\
             lock directory = {d}/lock\n\
             state directory = {d}/state\n\
             cache directory = {d}/cache\n\
             pid directory = {d}/pid\n\
             ncalrpc dir = {d}/ncalrpc\n\
             log file = {d}/log/smbd.%m\n\
             passdb backend = tdbsam:{d}/private/passdb.tdb\n\
             map to guest = never\n\
             load printers = no\n\
             printing = bsd\n\
             printcap name = /dev/null\n\
             disable spoolss = yes\n\
             usershare max shares = 0\n\
             server min protocol = SMB2_02\n\
             \n\
             [{SMB_SHARE}]\n\
             path = {home}\n\
             read only = no\n\
             valid users = {name}\n\
             create mask = 0644\n\
             directory mask = 0755\n",
            home = user.home.display(),
            name = user.name,
        );
        let conf_path = dir.path().join("smb.conf");
        std::fs::write(&conf_path, conf).unwrap();

        // The password twice on stdin (new, then confirmed), never in argv.
        let mut child = Command::new(smbpasswd)
            .arg("-c")
            .arg(&conf_path)
            .args(["-a", "-s", &user.name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("smbpasswd: {e}"));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{0}\n{0}\n", user.password).as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "smbpasswd -a failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );

        // Without `--no-process-group`: smbd then leads a process group of its own, and the
        // SIGTERM it sends its group on the way down (seen with that flag, before the test had
        // finished) reaches its children only, never the test process.
        let mut command = Command::new(smbd);
        command
            .args(["--foreground", "--debug-stdout", "-s"])
            .arg(&conf_path);
        let daemon = Daemon::spawn("smbd", command, port, &dir.path().join("smbd.log"));
        Some(SmbServer {
            port,
            user,
            _daemon: daemon,
            _dir: dir,
        })
    }
}
