//! vsftpd in the foreground (`listen=YES`, `background=NO`) on a loopback port, logging the
//! throwaway user in to its home; with TLS, explicit FTPS required for login and data.
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use super::process::Daemon;
use super::{is_root, program, TestCertificate, ThrowawayUser};

pub struct FtpServer {
    /// Dropped first: the daemon stops before its user is removed and its directory deleted.
    _daemon: Daemon,
    pub port: u16,
    pub user: ThrowawayUser,
    /// Set when the server speaks FTPS: the CA the client must trust.
    pub tls: Option<TestCertificate>,
    _dir: tempfile::TempDir,
}

impl FtpServer {
    /// `ftp://127.0.0.1:<port>` or `ftps://…` followed by `path` (absolute on the server: the
    /// user's home is `user.home`).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls.is_some() { "ftps" } else { "ftp" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    pub fn start(tls: bool) -> Option<FtpServer> {
        if !is_root() {
            return None;
        }
        let vsftpd = program("vsftpd", &["/usr/sbin/vsftpd"])?;
        let dir = tempfile::tempdir().unwrap();
        let user = ThrowawayUser::create(dir.path());
        let port = crate::free_port();
        // Passive data ports are the kernel's ephemeral ones (vsftpd's default), so parallel
        // servers do not collide.
        let mut conf = format!(
            "listen=YES\nlisten_ipv6=NO\nbackground=NO\nlisten_address=127.0.0.1\nlisten_port={port}\n\
             anonymous_enable=NO\nlocal_enable=YES\nwrite_enable=YES\nlocal_umask=022\n\
             pam_service_name=vsftpd\nseccomp_sandbox=NO\nuserlist_enable=NO\n\
             secure_chroot_dir=/var/run/vsftpd/empty\nxferlog_enable=NO\nconnect_from_port_20=NO\n\
             pasv_enable=YES\npasv_address=127.0.0.1\nmax_per_ip=50\nuse_localtime=NO\n"
        );
        let certificate = if tls {
            let cert = TestCertificate::create(dir.path());
            conf.push_str(&format!(
                "ssl_enable=YES\nallow_anon_ssl=NO\nforce_local_logins_ssl=YES\n\
                 force_local_data_ssl=YES\nssl_tlsv1=NO\nssl_sslv2=NO\nssl_sslv3=NO\n\
                 require_ssl_reuse=NO\nssl_ciphers=HIGH\nrsa_cert_file={}\nrsa_private_key_file={}\n",
                cert.cert_pem_path.display(),
                cert.key_pem_path.display()
            ));
            Some(cert)
        } else {
            None
        };
        let conf_path = dir.path().join("vsftpd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        // vsftpd refuses a configuration file others can write.
        std::fs::set_permissions(&conf_path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::create_dir_all("/var/run/vsftpd/empty").unwrap();
        let mut command = Command::new(vsftpd);
        command.arg(&conf_path);
        let daemon = Daemon::spawn("vsftpd", command, port, &dir.path().join("vsftpd.log"));
        Some(FtpServer {
            port,
            user,
            tls: certificate,
            _daemon: daemon,
            _dir: dir,
        })
    }
}
