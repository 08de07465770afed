//! The operator CLI against a real server: login (password from the environment), datacenter
//! create and list, host list, `--output json` parsed back, the session file's mode, exit codes
//! for usage, login and connection failures, logout.
mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use common::*;
use ferrocenter_client::tls::der_thumbprint;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::Value;

struct Cli {
    config: tempfile::TempDir,
    server: String,
    thumbprint: String,
}

impl Cli {
    fn run(&self, args: &[&str], password: Option<&str>) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ferrocenter"));
        c.args(args)
            .env("FERROCENTER_CONFIG_DIR", self.config.path())
            .env_remove("FERROCENTER_SERVER")
            .env_remove("FERROCENTER_USER")
            .env_remove("FERROCENTER_PASSWORD");
        if let Some(p) = password {
            c.env("FERROCENTER_PASSWORD", p);
        }
        c.output().unwrap()
    }

    fn login(&self, password: &str) -> Output {
        self.run(
            &[
                "login",
                "--server",
                &self.server,
                "--user",
                ADMIN,
                "--no-verify",
                "--thumbprint",
                &self.thumbprint,
            ],
            Some(password),
        )
    }
}

fn json_of(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

// The server runs in this process; the CLI runs as a child process the test waits on, so the
// server needs threads of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_datacenters_hosts_and_exit_codes() {
    let ts = TestServer::start().await;
    let pem = std::fs::read(ts.dir.path().join("tls/server.crt")).unwrap();
    let der = CertificateDer::from_pem_slice(&pem).unwrap();
    let cli = Cli {
        config: tempfile::tempdir().unwrap(),
        server: ts.api("").trim_start_matches("https://").to_string(),
        thumbprint: der_thumbprint(der.as_ref()),
    };
    let o = cli.login(PASSWORD);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = cli.config.path().join("session.json");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(!std::fs::read_to_string(&file).unwrap().contains(PASSWORD));

    let v = json_of(&cli.run(&["datacenter", "create", "DC1", "--output", "json"], None));
    let id = v[0]["datacenter"].as_str().unwrap().to_string();
    assert!(id.starts_with("datacenter-"));
    let v = json_of(&cli.run(&["datacenter", "list", "--output", "json"], None));
    assert_eq!(v[0]["name"], "DC1");
    let table = cli.run(&["datacenter", "list"], None);
    let text = String::from_utf8_lossy(&table.stdout).to_string();
    assert!(text.starts_with("DATACENTER"), "{text}");
    assert!(text.contains(&id) && text.contains("DC1"), "{text}");
    assert_eq!(
        json_of(&cli.run(&["host", "list", "--output", "json"], None)),
        serde_json::json!([])
    );

    // Failures: a taken name (4), a wrong password (3), --no-verify alone (2, usage).
    let o = cli.run(&["datacenter", "create", "DC1"], None);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = cli.login("wrong-password");
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = cli.run(
        &[
            "login",
            "--server",
            &cli.server,
            "--user",
            ADMIN,
            "--no-verify",
        ],
        Some(PASSWORD),
    );
    assert_eq!(o.status.code(), Some(2));
    // An unverifiable certificate: 3, and no session is kept over the good one.
    let o = cli.run(
        &["login", "--server", &cli.server, "--user", ADMIN],
        Some(PASSWORD),
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SSL_SECURITY"));

    let o = cli.run(&["logout"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!file.exists());
    let o = cli.run(&["datacenter", "list"], None);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not logged in"));
    ts.stop().await;
}
