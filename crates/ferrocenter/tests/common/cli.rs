//! The operator CLI as a child process, logged in to a server started in-process or as the
//! binary.
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use ferrocenter_client::tls::der_thumbprint;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::Value;

use super::{TestServer, ADMIN, ROOT_PW};

pub struct Cli {
    pub config: tempfile::TempDir,
    pub server: String,
    pub thumbprint: String,
}

impl Cli {
    pub fn new(ts: &TestServer) -> Cli {
        let pem = std::fs::read(ts.dir.path().join("tls/server.crt")).unwrap();
        let der = CertificateDer::from_pem_slice(&pem).unwrap();
        Cli::to(
            ts.api("").trim_start_matches("https://"),
            &der_thumbprint(der.as_ref()),
        )
    }

    /// For a server at `address` (host:port) presenting this certificate thumbprint.
    pub fn to(address: &str, thumbprint: &str) -> Cli {
        Cli {
            config: tempfile::tempdir().unwrap(),
            server: address.to_string(),
            thumbprint: thumbprint.to_string(),
        }
    }

    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ferrocenter"));
        c.args(args)
            .env("FERROCENTER_CONFIG_DIR", self.config.path())
            .env_remove("FERROCENTER_SERVER")
            .env_remove("FERROCENTER_USER")
            .env_remove("FERROCENTER_PASSWORD")
            .env_remove("FERROCENTER_HOST_PASSWORD");
        c.envs(env.iter().copied());
        c
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().unwrap()
    }

    pub fn run(&self, args: &[&str], password: Option<&str>) -> Output {
        match password {
            Some(p) => self.run_env(args, &[("FERROCENTER_PASSWORD", p)]),
            None => self.run_env(args, &[]),
        }
    }

    /// A command that must succeed, its `--output json` parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        json_of(&self.run_env(&all, &[("FERROCENTER_HOST_PASSWORD", ROOT_PW)]))
    }

    /// A command that must fail with `code`; its standard error.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let o = self.run_env(args, &[("FERROCENTER_HOST_PASSWORD", ROOT_PW)]);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
        err
    }

    pub fn login_args(&self) -> Vec<&str> {
        vec![
            "login",
            "--server",
            &self.server,
            "--user",
            ADMIN,
            "--no-verify",
            "--thumbprint",
            &self.thumbprint,
        ]
    }

    pub fn login(&self, password: &str) -> Output {
        self.run(&self.login_args(), Some(password))
    }
}

pub fn json_of(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&o.stdout));
    })
}

/// Polls until `f` answers something.
pub fn until<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
