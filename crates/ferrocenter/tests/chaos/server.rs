//! The server under test as a child process (so SIGKILL is real and the fleet, in the test
//! process, outlives it), its data directory (on a small tmpfs when the machine allows, for the
//! disk-full fault), and one admin client per surface that logs in again when its session ends.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::common::{self, Proc, ADMIN, PASSWORD};

/// Session limits the run configures, short so that the session invariants are checked often.
pub const SESSION_IDLE: Duration = Duration::from_secs(4);
pub const SESSION_MAX: Duration = Duration::from_secs(12);
/// The shortest ZStack session the configuration accepts.
pub const ZSTACK_SESSION: Duration = Duration::from_secs(60);
/// Size of the tmpfs holding the data directory.
const TMPFS_BYTES: u64 = 96 << 20;

pub struct ServerProc {
    proc: Option<Proc>,
    pub data: PathBuf,
    argv: Vec<String>,
    /// Whether `data` is a tmpfs this run mounted (the disk-full fault needs it).
    pub tmpfs: bool,
    pub base: String,
    pub starts: usize,
}

impl ServerProc {
    pub fn start(root: &Path, agent_port: u16) -> ServerProc {
        let data = root.join("data");
        std::fs::create_dir_all(&data).unwrap();
        let tmpfs = mount_tmpfs(&data);
        let api = format!("127.0.0.1:{}", ferrocenter_testkit::free_port());
        let app = format!("127.0.0.1:{}", ferrocenter_testkit::free_port());
        let argv = [
            "--listen",
            &api,
            "--appliance-listen",
            &app,
            "--admin-password",
            PASSWORD,
            "--session-idle-timeout-secs",
            &SESSION_IDLE.as_secs().to_string(),
            "--session-max-lifetime-secs",
            &SESSION_MAX.as_secs().to_string(),
            "--zstack-session-timeout-secs",
            &ZSTACK_SESSION.as_secs().to_string(),
            "--heartbeat-interval-secs",
            "1",
            "--agent-request-timeout-secs",
            "3",
            "--agent-port",
            &agent_port.to_string(),
            "--max-migrations-per-host",
            "2",
            "--shutdown-grace-secs",
            "1",
            "--log-level",
            "warn",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        let mut s = ServerProc {
            proc: None,
            data,
            argv,
            tmpfs,
            base: format!("https://{api}"),
            starts: 0,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let argv: Vec<&str> = self.argv.iter().map(String::as_str).collect();
        let mut p = common::spawn_server(&self.data, &argv);
        p.wait_stdout("thumbprint", Duration::from_secs(120));
        self.proc = Some(p);
        self.starts += 1;
    }

    /// SIGKILL, then a new process on the same data directory and ports.
    pub fn kill_and_restart(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.signal(libc::SIGKILL);
            p.wait_exit(Duration::from_secs(30));
        }
        self.spawn();
    }

    /// Whether the process still runs; its exit status otherwise.
    pub fn exited(&mut self) -> Option<String> {
        let p = self.proc.as_mut()?;
        match p.child.try_wait() {
            Ok(Some(status)) => Some(format!("{status}; stderr tail: {}", tail(&p.stderr(), 600))),
            _ => None,
        }
    }

    /// Starts the server again after it exited by itself.
    pub fn respawn(&mut self) {
        self.proc = None;
        self.spawn();
    }

    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.signal(libc::SIGTERM);
            let _ = p.child.wait();
        }
        if self.tmpfs {
            let _ = Command::new("umount").arg("-l").arg(&self.data).status();
            self.tmpfs = false;
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        self.stop();
    }
}

fn tail(s: &str, n: usize) -> String {
    let start = s.len().saturating_sub(n);
    let start = (start..s.len())
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(s.len());
    s[start..].to_string()
}

/// Mounts a small tmpfs on `dir`; false (with a printed note) when the machine does not allow it.
fn mount_tmpfs(dir: &Path) -> bool {
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={TMPFS_BYTES}"), "tmpfs"])
        .arg(dir)
        .output();
    match out {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            println!(
                "NOTE: the disk-full fault is skipped: cannot mount a tmpfs on the data dir ({})",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            false
        }
        Err(e) => {
            println!("NOTE: the disk-full fault is skipped: cannot run mount ({e})");
            false
        }
    }
}

struct Token {
    value: String,
    created: Instant,
    used: Instant,
}

/// The administrator on the three surfaces. vAPI and VI/JSON share one token (as the server
/// does); ZStack has its own session.
pub struct Api {
    pub http: Client,
    pub base: String,
    token: Mutex<Option<Token>>,
    zstack: Mutex<Option<(String, Instant)>>,
}

/// A reply: status and JSON (a string for a non-JSON body), or a transport error.
pub type Reply = Result<(u16, Value), String>;

pub const VIM: &str = "/sdk/vim25/8.0.3.0";

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            http: Client::builder()
                .danger_accept_invalid_certs(true)
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            base: base.to_string(),
            token: Mutex::new(None),
            zstack: Mutex::new(None),
        }
    }

    /// Forgets the sessions (a restart ended them).
    pub fn forget_sessions(&self) {
        *self.token.lock() = None;
        *self.zstack.lock() = None;
    }

    pub async fn vapi_login(&self) -> Result<String, String> {
        let r = self
            .http
            .post(format!("{}/api/session", self.base))
            .basic_auth(ADMIN, Some(PASSWORD))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if r.status() != 201 {
            return Err(format!("login answered {}", r.status()));
        }
        r.json::<String>().await.map_err(|e| e.to_string())
    }

    async fn token(&self) -> Result<String, String> {
        {
            let t = self.token.lock();
            if let Some(t) = t.as_ref() {
                let fresh = t.used.elapsed() + Duration::from_secs(1) < SESSION_IDLE
                    && t.created.elapsed() + Duration::from_secs(2) < SESSION_MAX;
                if fresh {
                    return Ok(t.value.clone());
                }
            }
        }
        let value = self.vapi_login().await?;
        let now = Instant::now();
        *self.token.lock() = Some(Token {
            value: value.clone(),
            created: now,
            used: now,
        });
        Ok(value)
    }

    fn touched(&self) {
        if let Some(t) = self.token.lock().as_mut() {
            t.used = Instant::now();
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<Value>,
    ) -> Reply {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            rb = rb.header(*k, v);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.map_err(|e| format!("transport: {e}"))?;
        let status = r.status().as_u16();
        let text = r.text().await.map_err(|e| format!("transport: {e}"))?;
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, v))
    }

    /// A vAPI or VI/JSON call as the administrator; logs in again once if the session ended.
    pub async fn session_call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        for attempt in 0..2 {
            let t = self.token().await?;
            let r = self
                .send(
                    method.clone(),
                    path,
                    &[("vmware-api-session-id", t)],
                    body.clone(),
                )
                .await?;
            let unauthenticated =
                r.0 == 401 || (r.0 == 500 && r.1["_typeName"] == "NotAuthenticated");
            if unauthenticated && attempt == 0 {
                *self.token.lock() = None;
                continue;
            }
            self.touched();
            return Ok(r);
        }
        unreachable!()
    }

    pub async fn vim(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.session_call(method, &format!("{VIM}/{path}"), body)
            .await
    }

    pub async fn zstack_login(&self) -> Result<String, String> {
        let (s, v) = self
            .send(
                Method::PUT,
                "/zstack/v1/accounts/login",
                &[],
                Some(json!({"logInByAccount": {"accountName": "admin",
                    "password": ferrocenter_core::auth::password::digest_hex(PASSWORD)}})),
            )
            .await?;
        match v["inventory"]["uuid"].as_str() {
            Some(u) if s == 200 => Ok(u.to_string()),
            _ => Err(format!("zstack login answered {s}: {v}")),
        }
    }

    async fn zstack_session(&self) -> Result<String, String> {
        if let Some((s, at)) = self.zstack.lock().as_ref() {
            if at.elapsed() + Duration::from_secs(5) < SESSION_MAX.min(ZSTACK_SESSION) {
                return Ok(s.clone());
            }
        }
        let s = self.zstack_login().await?;
        *self.zstack.lock() = Some((s.clone(), Instant::now()));
        Ok(s)
    }

    /// A ZStack call as the SDK makes it (a fresh `X-Job-UUID`), not polled: an API call answers
    /// 202 with the job, a query 200.
    pub async fn zstack(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        for attempt in 0..2 {
            let s = self.zstack_session().await?;
            let r = self
                .send(
                    method.clone(),
                    path,
                    &[
                        ("Authorization", format!("OAuth {s}")),
                        ("X-Job-UUID", common::zstack::uuid_hex()),
                    ],
                    body.clone(),
                )
                .await?;
            if r.1["error"]["code"] == "ID.1001" && attempt == 0 {
                *self.zstack.lock() = None;
                continue;
            }
            return Ok(r);
        }
        unreachable!()
    }
}
