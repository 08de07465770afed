//! nginx in the foreground (`daemon off`) with the DAV module (PUT, DELETE, MKCOL) and the
//! dav-ext module (PROPFIND), basic authentication for the throwaway user, and with TLS a
//! certificate from the test CA. Workers run as the throwaway user, so files land owned by it.
use std::process::Command;

use super::process::Daemon;
use super::{is_root, program, TestCertificate, ThrowawayUser};

const DAV_EXT: &str = "/usr/lib/nginx/modules/ngx_http_dav_ext_module.so";

pub struct WebDavServer {
    /// Dropped first: the daemon stops before its user is removed and its directory deleted.
    _daemon: Daemon,
    pub port: u16,
    pub user: ThrowawayUser,
    pub tls: Option<TestCertificate>,
    _dir: tempfile::TempDir,
}

impl WebDavServer {
    /// `http://127.0.0.1:<port><path>` (or https); `path` is under the served root, `user.home`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// Stops serving at once (nginx's fast shutdown drops open connections): a repository that
    /// disappears in the middle of a download.
    pub fn stop_now(&self) {
        self._daemon.terminate();
    }

    pub fn start(tls: bool) -> Option<WebDavServer> {
        Self::start_serving(tls, "")
    }

    /// A server that sends each response at most `rate` (nginx's `limit_rate`, e.g. `256k`):
    /// for tests that need a download to last.
    pub fn start_limited(tls: bool, rate: &str) -> Option<WebDavServer> {
        Self::start_serving(tls, &format!("limit_rate {rate};\n"))
    }

    fn start_serving(tls: bool, location_extra: &str) -> Option<WebDavServer> {
        if !is_root() {
            return None;
        }
        let nginx = program("nginx", &["/usr/sbin/nginx"])?;
        program(
            "nginx's dav-ext module (libnginx-mod-http-dav-ext)",
            &[DAV_EXT],
        )?;
        let dir = tempfile::tempdir().unwrap();
        let user = ThrowawayUser::create(dir.path());
        let port = crate::free_port();
        let d = dir.path().display();
        // nginx's own scheme for a plain password in its user file; only this server reads it.
        std::fs::write(
            dir.path().join("htpasswd"),
            format!("{}:{{PLAIN}}{}\n", user.name, user.password),
        )
        .unwrap();
        let (listen, certificate) = if tls {
            let cert = TestCertificate::create(dir.path());
            let listen = format!(
                "listen 127.0.0.1:{port} ssl;\n ssl_certificate {};\n ssl_certificate_key {};\n",
                cert.cert_pem_path.display(),
                cert.key_pem_path.display()
            );
            (listen, Some(cert))
        } else {
            (format!("listen 127.0.0.1:{port};\n"), None)
        };
        let conf = format!(
            "load_module {DAV_EXT};\nuser {user} users;\nworker_processes 1;\ndaemon off;\n\
             pid {d}/nginx.pid;\nerror_log {d}/error.log info;\nevents {{ worker_connections 256; }}\n\
             http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
             server {{\n {listen} root {home};\n client_max_body_size 0;\n\
             auth_basic \"backups\";\n auth_basic_user_file {d}/htpasswd;\n\
             location / {{\n dav_methods PUT DELETE MKCOL COPY MOVE;\n dav_ext_methods PROPFIND OPTIONS;\n\
             create_full_put_path off;\n dav_access user:rw group:r;\n autoindex on;\n {location_extra} }}\n }}\n}}\n",
            user = user.name,
            home = user.home.display(),
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut command = Command::new(nginx);
        command
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.path().join("error.log"));
        let daemon = Daemon::spawn("nginx", command, port, &dir.path().join("nginx.log"));
        Some(WebDavServer {
            port,
            user,
            tls: certificate,
            _daemon: daemon,
            _dir: dir,
        })
    }
}
