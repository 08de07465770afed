//! Real identity servers on loopback ports for the federation tests:
//!
//! - [`Slapd`]: OpenLDAP's slapd with a test directory (`dc=example,dc=com`: users, groups, an
//!   administrators group, a read-only bind account), listening with plain LDAP and with LDAPS
//!   (a certificate of a throwaway CA, for 127.0.0.1 and localhost).
//! - [`OidcProvider`]: `oidc-provider-mock` (PyPI), an OpenID Connect provider for tests that
//!   serves discovery, JWKS and tokens.
//! - [`StaticJson`]: Python's `http.server` over a directory of documents, for providers that
//!   answer what no real one would (a bad JWKS).
//!
//! Each starts the real program in the foreground with its own files under a temporary
//! directory, waits until it listens, and stops it when dropped; `start` prints
//! `SKIPPED: …` and answers `None` when the program is not installed.
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::file_servers::process::Daemon;
use crate::file_servers::TestCertificate;

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";
const SCHEMAS: [&str; 4] = ["core", "cosine", "inetorgperson", "nis"];

/// The test directory's suffix.
pub const BASE_DN: &str = "dc=example,dc=com";
pub const USERS_DN: &str = "ou=users,dc=example,dc=com";
pub const GROUPS_DN: &str = "ou=groups,dc=example,dc=com";
/// The read-only account the provider binds with (the guide's `user_name`).
pub const READER_DN: &str = "uid=reader,ou=users,dc=example,dc=com";
pub const READER_PASSWORD: &str = "reader-Secret-1";
/// The group of administrators (alice is in it); `operators` holds bob.
pub const ADMINS_GROUP: &str = "vcenter-admins";
pub const USERS: [&str; 3] = ["alice", "bob", "reader"];

pub struct Slapd {
    _daemon: Daemon,
    _dir: tempfile::TempDir,
    pub ldap_port: u16,
    pub ldaps_port: u16,
    /// The CA that signed the LDAPS certificate.
    pub certificate: TestCertificate,
}

fn directory_ldif() -> String {
    let mut l = format!(
        "dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: {USERS_DN}\nobjectClass: organizationalUnit\nou: users\n\n\
         dn: {GROUPS_DN}\nobjectClass: organizationalUnit\nou: groups\n\n"
    );
    for (uid, cn, password) in [
        ("alice", "Alice Admin", "alice-Secret-1"),
        ("bob", "Bob Operator", "bob-Secret-1"),
        ("reader", "Directory Reader", READER_PASSWORD),
    ] {
        l.push_str(&format!(
            "dn: uid={uid},{USERS_DN}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {cn}\n\
             sn: {uid}\nmail: {uid}@example.com\nuserPassword: {password}\n\n"
        ));
    }
    for (cn, member) in [(ADMINS_GROUP, "alice"), ("operators", "bob")] {
        l.push_str(&format!(
            "dn: cn={cn},{GROUPS_DN}\nobjectClass: groupOfNames\ncn: {cn}\n\
             member: uid={member},{USERS_DN}\n\n"
        ));
    }
    l
}

impl Slapd {
    pub fn start() -> Option<Slapd> {
        for (p, package) in [(SLAPD, "slapd"), (SLAPADD, "slapd")] {
            if !Path::new(p).exists() {
                println!("SKIPPED: {p} is not installed (Debian package {package})");
                return None;
            }
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let d = dir.path();
        std::fs::create_dir_all(d.join("db")).expect("the database directory");
        let certificate = TestCertificate::create(d);
        let mut conf = String::new();
        for s in SCHEMAS {
            conf.push_str(&format!("include /etc/ldap/schema/{s}.schema\n"));
        }
        conf.push_str(&format!(
            "modulepath /usr/lib/ldap\nmoduleload back_mdb\n\
             pidfile {pid}\n\
             TLSCACertificateFile {ca}\nTLSCertificateFile {cert}\nTLSCertificateKeyFile {key}\n\
             database mdb\nmaxsize 16777216\nsuffix \"{BASE_DN}\"\n\
             rootdn \"cn=admin,{BASE_DN}\"\ndirectory {db}\n\
             access to attrs=userPassword by anonymous auth by * none\n\
             access to * by users read by * none\n",
            pid = d.join("slapd.pid").display(),
            ca = certificate.ca_pem_path.display(),
            cert = certificate.cert_pem_path.display(),
            key = certificate.key_pem_path.display(),
            db = d.join("db").display(),
        ));
        std::fs::write(d.join("slapd.conf"), conf).expect("writing slapd.conf");
        std::fs::write(d.join("directory.ldif"), directory_ldif()).expect("writing the LDIF");
        let out = Command::new(SLAPADD)
            .arg("-f")
            .arg(d.join("slapd.conf"))
            .arg("-l")
            .arg(d.join("directory.ldif"))
            .output()
            .expect("running slapadd");
        assert!(
            out.status.success(),
            "slapadd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ldap_port = crate::free_port();
        let ldaps_port = crate::free_port();
        let mut command = Command::new(SLAPD);
        command
            .arg("-d")
            .arg("0")
            .arg("-f")
            .arg(d.join("slapd.conf"))
            .arg("-h")
            .arg(format!(
                "ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/"
            ));
        let daemon = Daemon::spawn("slapd", command, ldap_port, &d.join("slapd.out"));
        Some(Slapd {
            _daemon: daemon,
            _dir: dir,
            ldap_port,
            ldaps_port,
            certificate,
        })
    }

    pub fn ldap_url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.ldap_port)
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    /// The CA certificate, PEM, that LDAPS clients trust.
    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(&self.certificate.ca_pem_path).expect("reading the CA")
    }
}

/// Where scripts/test.sh installs oidc-provider-mock; `FERROCENTER_OIDC_PROVIDER_MOCK` names
/// another.
const OIDC_MOCK: &str = "/var/cache/ferrocenter-ci/oidc-provider-mock/bin/oidc-provider-mock";

pub struct OidcProvider {
    daemon: Option<Daemon>,
    dir: tempfile::TempDir,
    program: PathBuf,
    args: Vec<String>,
    pub port: u16,
}

impl OidcProvider {
    pub fn start() -> Option<OidcProvider> {
        Self::start_with_args(&[])
    }

    /// Started with more of its options (e.g. `--token-max-age=-3600`, whose tokens are
    /// born expired).
    pub fn start_with_args(args: &[&str]) -> Option<OidcProvider> {
        let program = std::env::var_os("FERROCENTER_OIDC_PROVIDER_MOCK")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(OIDC_MOCK));
        if !program.exists() {
            println!(
                "SKIPPED: {} is missing (PyPI package oidc-provider-mock; scripts/test.sh installs it)",
                program.display()
            );
            return None;
        }
        let mut p = OidcProvider {
            daemon: None,
            dir: tempfile::tempdir().expect("a temporary directory"),
            program,
            args: args.iter().map(ToString::to_string).collect(),
            port: crate::free_port(),
        };
        p.start_again();
        Some(p)
    }

    /// (Re)starts it on the same port (its signing key is new each time).
    pub fn start_again(&mut self) {
        if self.daemon.is_some() {
            return;
        }
        let mut command = Command::new(&self.program);
        command
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(self.port.to_string())
            .args(&self.args);
        self.daemon = Some(Daemon::spawn(
            "oidc-provider-mock",
            command,
            self.port,
            &self.dir.path().join("oidc.out"),
        ));
    }

    /// Stops it: its port refuses connections until [`OidcProvider::start_again`].
    pub fn stop(&mut self) {
        self.daemon = None;
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn discovery_endpoint(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer())
    }
}

/// Python's `http.server` serving `files` (path under the root → content).
pub struct StaticJson {
    _daemon: Daemon,
    _dir: tempfile::TempDir,
    pub port: u16,
}

impl StaticJson {
    /// `files` are written with `{base}` replaced by this server's `http://127.0.0.1:port`.
    pub fn start(files: &[(&str, &str)]) -> Option<StaticJson> {
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"]
            .into_iter()
            .find(|p| Path::new(p).exists());
        let Some(python) = python else {
            println!("SKIPPED: python3 is not installed");
            return None;
        };
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = crate::free_port();
        let base = format!("http://127.0.0.1:{port}");
        let root = dir.path().join("root");
        for (path, content) in files {
            let p = root.join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().expect("a parent")).expect("the document's folder");
            std::fs::write(&p, content.replace("{base}", &base)).expect("writing a document");
        }
        let mut command = Command::new(python);
        command
            .arg("-m")
            .arg("http.server")
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--directory")
            .arg(&root)
            .arg(port.to_string());
        let daemon = Daemon::spawn("http.server", command, port, &dir.path().join("http.out"));
        Some(StaticJson {
            _daemon: daemon,
            _dir: dir,
            port,
        })
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
