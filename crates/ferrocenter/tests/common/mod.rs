//! Helpers for integration tests: a real server in-process (or as a child process), an HTTPS
//! client, and users of each role.
#![allow(dead_code)]

pub mod cli;
pub mod deployment;
pub mod sdk;
pub mod soap_wire;
pub mod update_repo;
pub mod vim;
pub mod zstack;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferrocenter::config::ServeArgs;
use ferrocenter::serve::Server;
use ferrocenter_core::auth::{Realm, Role};
use reqwest::{Client, Method, Response};
use serde_json::Value;
use tempfile::TempDir;

pub const ADMIN: &str = "administrator@vsphere.local";
pub const PASSWORD: &str = "Initial-Pass-1";

pub fn client() -> Client {
    Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The base arguments of a test server: a temp data dir, free ports, a known password.
pub fn args(dir: &Path) -> ServeArgs {
    ServeArgs {
        data_dir: Some(dir.to_string_lossy().into_owned()),
        listen: Some("127.0.0.1:0".into()),
        appliance_listen: Some("127.0.0.1:0".into()),
        admin_password: Some(PASSWORD.into()),
        enable_diagnostics: Some("true".into()),
        shutdown_grace_secs: Some("2".into()),
        ..Default::default()
    }
}

pub struct TestServer {
    pub server: Option<Server>,
    pub dir: TempDir,
    pub client: Client,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut ServeArgs)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(dir.path());
        tweak(&mut a);
        let cfg = a.resolve().unwrap();
        let server = Server::start(&cfg).await.unwrap();
        TestServer {
            server: Some(server),
            dir,
            client: client(),
        }
    }

    fn server(&self) -> &Server {
        self.server.as_ref().unwrap()
    }

    /// The core and the administrator as a caller, for setting up state without the API.
    pub async fn core_admin(
        &self,
    ) -> (
        std::sync::Arc<ferrocenter_core::Core>,
        ferrocenter_core::auth::Caller,
    ) {
        let core = self.server().core.clone();
        let admin = core
            .auth
            .authenticate(ferrocenter_core::auth::Listener::Api, ADMIN, PASSWORD)
            .await
            .unwrap();
        (core, admin)
    }

    pub fn api(&self, path: &str) -> String {
        format!("https://{}{}", self.server().addrs.api, path)
    }

    pub fn appliance(&self, path: &str) -> String {
        format!("https://{}{}", self.server().addrs.appliance, path)
    }

    /// A user of the SSO domain with this role; returns its login name.
    pub async fn user(&self, name: &str, role: Role) -> String {
        let core = &self.server().core;
        core.auth
            .create_principal(Realm::sso("vsphere.local"), name, PASSWORD, role, None)
            .await
            .unwrap();
        format!("{name}@vsphere.local")
    }

    /// `POST url` with Basic credentials and no body.
    pub async fn post_basic(&self, url: String, user: &str, password: &str) -> Response {
        self.client
            .post(url)
            .basic_auth(user, Some(password))
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, user: &str) -> String {
        let r = self
            .post_basic(self.api("/api/session"), user, PASSWORD)
            .await;
        assert_eq!(r.status(), 201, "login of {user}");
        r.json::<String>().await.unwrap()
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut rb = self.client.request(method, self.api(path));
        if let Some(t) = token {
            rb = rb.header("vmware-api-session-id", t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        rb.send().await.unwrap()
    }

    /// `call` with a session, read as (status, JSON body or null).
    pub async fn call_json(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let r = self.call(method, path, Some(token), body).await;
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }
}

/// Polls a task until it is finished or `limit` passes.
pub async fn wait_task(ts: &TestServer, token: &str, id: &str, limit: Duration) -> Value {
    let start = Instant::now();
    loop {
        let r = ts
            .call(
                Method::GET,
                &format!("/api/cis/tasks/{id}"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        let s = v["status"].as_str().unwrap().to_string();
        if s == "SUCCEEDED" || s == "FAILED" || start.elapsed() > limit {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `ferrocenter` binary as a child process.
pub struct Proc {
    pub child: Child,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
}

/// Runs `ferrocenter ARGS…` with its output captured in files named after `out`.
pub fn spawn_ferrocenter(args: &[&str], out: &Path) -> Proc {
    spawn_binary(Path::new(env!("CARGO_BIN_EXE_ferrocenter")), args, out)
}

/// As `spawn_ferrocenter`, with the binary at `exe` (a copy an update install may replace).
pub fn spawn_binary(exe: &Path, args: &[&str], out: &Path) -> Proc {
    let stdout_path = out.with_extension("stdout");
    let stderr_path = out.with_extension("stderr");
    let child = Command::new(exe)
        .args(args)
        .env_remove("FERROCENTER_ADMIN_PASSWORD")
        .env_remove("FERROCENTER_ROOT_PASSWORD")
        .stdout(Stdio::from(std::fs::File::create(&stdout_path).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&stderr_path).unwrap()))
        .spawn()
        .unwrap();
    Proc {
        child,
        stdout_path,
        stderr_path,
    }
}

pub fn spawn_server(data_dir: &Path, extra: &[&str]) -> Proc {
    let dir = data_dir.to_string_lossy().into_owned();
    let args: Vec<&str> = ["serve", "--data-dir", dir.as_str()]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    spawn_ferrocenter(&args, data_dir)
}

/// `127.0.0.1:PORT` with a port free now.
pub fn free_local_addr() -> String {
    format!("127.0.0.1:{}", ferrocenter_testkit::free_port())
}

/// The server binary on `api` and `appliance` with the test administrator password, once it
/// printed its thumbprint (it serves from then on).
pub fn serve_at(data_dir: &Path, api: &str, appliance: &str, extra: &[&str]) -> Proc {
    let args: Vec<&str> = [
        "--listen",
        api,
        "--appliance-listen",
        appliance,
        "--admin-password",
        PASSWORD,
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .collect();
    let mut p = spawn_server(data_dir, &args);
    p.wait_stdout("thumbprint", Duration::from_secs(60));
    p
}

/// Logs `user` (with the test password) in on `https://{addr}/api/session`: the session id.
pub async fn login_at(addr: &str, user: &str) -> String {
    let r = client()
        .post(format!("https://{addr}/api/session"))
        .basic_auth(user, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "login of {user} on {addr}");
    r.json().await.unwrap()
}

/// `GET https://{addr}{path}` with a session: the JSON answer.
pub async fn get_json(addr: &str, path: &str, token: &str) -> Value {
    client()
        .get(format!("https://{addr}{path}"))
        .header("vmware-api-session-id", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The thumbprint a server or agent printed at start.
pub fn printed_thumbprint(out: &str) -> String {
    out.lines()
        .find(|l| l.contains("thumbprint"))
        .expect("a thumbprint line")
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string()
}

impl Proc {
    /// Waits until standard output contains `needle`; panics with the logs after `limit`.
    pub fn wait_stdout(&mut self, needle: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let out = std::fs::read_to_string(&self.stdout_path).unwrap_or_default();
            if out.contains(needle) {
                return out;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "server exited ({status}) before printing {needle:?}\nstdout:\n{out}\nstderr:\n{}",
                    std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
                );
            }
            if start.elapsed() > limit {
                panic!("no {needle:?} within {limit:?}; stdout:\n{out}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) takes plain integers and touches no memory of ours.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!("server did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const ROOT_PW: &str = "Root-Pass-1";

/// A simulated fleet on 127.<octet>.<per-process>.x, so test binaries running at once do not
/// share addresses; fast migrations and reboots.
pub async fn sim_fleet(
    hosts: usize,
    vms: usize,
    octet: u8,
    seed: u64,
) -> ferrocenter_agent::simulate::Fleet {
    sim_fleet_with(hosts, vms, octet, seed, 64 << 30).await
}

/// As `sim_fleet`, with migrations moving `migration_bytes_per_sec` (VMs have 1–8 GiB).
pub async fn sim_fleet_with(
    hosts: usize,
    vms: usize,
    octet: u8,
    seed: u64,
    migration_bytes_per_sec: u64,
) -> ferrocenter_agent::simulate::Fleet {
    use ferrocenter_agent::driver::sim::SimOptions;
    use ferrocenter_agent::simulate::{start_fleet, SimulateOptions};
    let net = 60 + (std::process::id() % 150) as u8;
    start_fleet(SimulateOptions {
        hosts,
        vms_per_host: vms,
        address_base: std::net::Ipv4Addr::new(127, octet, net, 1),
        port: 0,
        root_user: "root".into(),
        root_password: ROOT_PW.into(),
        seed,
        control: "127.0.0.1:0".parse().unwrap(),
        sim: SimOptions {
            migration_bytes_per_sec,
            reboot_time: Duration::from_millis(300),
        },
        peer_timeout: Duration::from_secs(5),
    })
    .await
    .unwrap()
}

/// Adds every host of `fleet` to a new datacenter `DC0` through the core, as the administrator,
/// each add waited for and required to succeed.
pub async fn add_fleet_to_dc0(
    ts: &TestServer,
    fleet: &ferrocenter_agent::simulate::Fleet,
) -> ferrocenter_core::inventory::Datacenter {
    let (core, admin) = ts.core_admin().await;
    let dc = core.create_datacenter(&admin, "DC0", "").await.unwrap();
    for h in &fleet.manifest.hosts {
        let t = core
            .add_host(
                &admin,
                ferrocenter_core::hosts::AddHostSpec {
                    datacenter_id: Some(dc.id.clone()),
                    host_name: h.address.clone(),
                    port: Some(h.port),
                    ssl_thumbprint: Some(h.thumbprint.clone()),
                    user_name: "root".into(),
                    password: ROOT_PW.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let t = core.tasks.wait(&t.id).await.unwrap();
        assert!(t.error.is_none(), "{:?}", t.error);
    }
    dc
}
