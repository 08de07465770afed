//! Installing an update for real: the server binary, copied where the test owns it, runs as a
//! child process; an update repository made by `ferrocenter update-repo build` holds the new
//! binary; the guide's curl lines (root on 5480 over /rest, `user_data` with
//! `vmdir.password`) stage and install it; the process stops, swaps its binary, checks the new
//! one starts, and executes it under the same pid, with its simulated hosts connected again.
//! A package whose binary cannot start is rolled back: the previous binary and store are put
//! back, and the install task and `update.get` say why.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::sdk::{run_sdk_script, sdk_python};
use common::update_repo::{build, keygen, Key};
use common::*;
use serde_json::{json, Value};

const VERSION: &str = "0.2.0";

/// The server binary copied into `dir/bin`, where an install may replace it.
fn own_binary(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("ferrocenter");
    std::fs::copy(env!("CARGO_BIN_EXE_ferrocenter"), &exe).unwrap();
    exe
}

/// Archives (directories holding a manifest) anywhere under `dir`.
fn archives(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            n += usize::from(p.join("manifest.json").exists()) + archives(&p);
        }
    }
    n
}

fn sha256(path: &Path) -> String {
    ferrocenter_core::update::sha256_file(path).unwrap().1
}

struct Server {
    proc: Proc,
    api: String,
    app: String,
    data: PathBuf,
}

fn start(dir: &Path, exe: &Path, key: &Key, repo: &Path) -> Server {
    let data = dir.join("data");
    let (api, app) = (free_local_addr(), free_local_addr());
    let args = [
        "serve",
        "--data-dir",
        data.to_str().unwrap(),
        "--listen",
        &api,
        "--appliance-listen",
        &app,
        "--admin-password",
        PASSWORD,
        "--heartbeat-interval-secs",
        "1",
        "--enable-diagnostics",
        "--update-trusted-keys",
        &key.public,
        "--update-local-source",
        repo.to_str().unwrap(),
    ];
    let mut proc = spawn_binary(exe, &args, &dir.join("server"));
    proc.wait_stdout("thumbprint", Duration::from_secs(60));
    Server {
        proc,
        api,
        app,
        data,
    }
}

impl Server {
    /// A request as root on the appliance listener with Basic credentials, as the guide's
    /// curl lines send it; (status, body), or None while the server does not answer.
    async fn root(&self, method: &str, path: &str, body: Option<&str>) -> Option<(u16, Value)> {
        let c = client();
        let url = format!("https://{}{path}", self.app);
        let mut rb = c
            .request(method.parse().unwrap(), url)
            .basic_auth("root", Some(PASSWORD))
            .timeout(Duration::from_secs(10));
        if let Some(b) = body {
            rb = rb
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let r = rb.send().await.ok()?;
        let status = r.status().as_u16();
        Some((status, r.json().await.unwrap_or(Value::Null)))
    }

    async fn must(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        self.root(method, path, body)
            .await
            .expect("the server answers")
    }

    /// `update.get` once it answers with `state` (the server may be restarting meanwhile);
    /// the answer and how long the API did not answer.
    async fn wait_state(&self, state: &str, limit: Duration) -> (Value, Duration) {
        let start = Instant::now();
        let mut down = Duration::ZERO;
        let mut down_since: Option<Instant> = None;
        loop {
            match self.root("GET", "/rest/appliance/update", None).await {
                Some((200, v)) => {
                    if let Some(t) = down_since.take() {
                        down += t.elapsed();
                    }
                    if v["value"]["state"] == state {
                        return (v["value"].clone(), down);
                    }
                }
                Some(_) | None => {
                    down_since.get_or_insert_with(Instant::now);
                }
            }
            assert!(
                start.elapsed() < limit,
                "no {state} within {limit:?}; stderr:\n{}",
                self.proc.stderr()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn session(&self) -> String {
        login_at(&self.api, ADMIN).await
    }
}

/// Adds every simulated host through `/api/vcenter/host` into a new datacenter's host folder.
async fn add_hosts(s: &Server, fleet: &ferrocenter_agent::simulate::Fleet) -> Vec<String> {
    let token = s.session().await;
    let c = client();
    let api = |path: &str| format!("https://{}/api{path}", s.api);
    let r = c
        .post(api("/vcenter/datacenter"))
        .header("vmware-api-session-id", &token)
        .json(&json!({"spec": {"name": "DC"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let folders: Value = c
        .get(api("/vcenter/folder?type=HOST"))
        .header("vmware-api-session-id", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let folder = folders[0]["folder"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for h in &fleet.manifest.hosts {
        let r = c
            .post(api("/vcenter/host"))
            .header("vmware-api-session-id", &token)
            .json(&json!({"spec": {
                "hostname": h.address,
                "port": h.port,
                "user_name": "root",
                "password": ROOT_PW,
                "folder": folder,
                "thumbprint_verification": "THUMBPRINT",
                "thumbprint": h.thumbprint,
            }}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        ids.push(r.json::<String>().await.unwrap());
    }
    ids
}

/// Starts the diagnostics' sleep task of `ms` milliseconds.
async fn sleep_task(s: &Server, token: &str, ms: u64) -> reqwest::Response {
    client()
        .post(format!(
            "https://{}/api/ferrocenter/diagnostics/sleep",
            s.api
        ))
        .header("vmware-api-session-id", token)
        .json(&json!({"duration_ms": ms}))
        .send()
        .await
        .unwrap()
}

/// Waits until `n` hosts are connected.
async fn wait_connected(s: &Server, n: usize) {
    let start = Instant::now();
    loop {
        let states = host_states(s).await;
        if states.iter().all(|c| c == "CONNECTED") && states.len() == n {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{states:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The hosts' connection states.
async fn host_states(s: &Server) -> Vec<String> {
    let token = s.session().await;
    let v = get_json(&s.api, "/api/vcenter/host", &token).await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| h["connection_state"].as_str().unwrap().to_string())
        .collect()
}

async fn task(s: &Server, id: &str) -> Value {
    let token = s.session().await;
    get_json(&s.api, &format!("/api/cis/tasks/{id}"), &token).await
}

fn install_body(password: &str) -> String {
    format!(
        r#"{{"version":"{VERSION}","user_data":[{{"key":"vmdir.password","value":"{password}"}}]}}"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_guides_install_swaps_the_binary_in_place_and_the_hosts_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let exe = own_binary(dir.path());
    let before = sha256(&exe);
    // The new build: the same program with bytes of its own, so it is a different file.
    let new_binary = dir.path().join("ferrocenter-0.2.0");
    let mut bytes = std::fs::read(&exe).unwrap();
    bytes.extend_from_slice(b"\nferrocenter test build 0.2.0\n");
    std::fs::write(&new_binary, bytes).unwrap();
    let key = keygen(dir.path(), "release.key");
    let repo = build(dir.path(), &key, &new_binary, VERSION, &[]);
    let s = start(dir.path(), &exe, &key, &repo);
    let pid = s.proc.child.id();
    let fleet = sim_fleet(3, 2, 21, 7).await;
    let hosts = add_hosts(&s, &fleet).await;
    assert_eq!(hosts.len(), 3);

    // Check and stage (the guide's lines), then the answers.
    let (st, v) = s
        .must(
            "GET",
            "/rest/appliance/update/pending?source_type=LOCAL",
            None,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["value"][0]["version"], VERSION);
    let install_path = format!("/rest/appliance/update/pending/{VERSION}?action=install");
    let (st, v) = s
        .must("POST", &install_path, Some(&install_body(PASSWORD)))
        .await;
    assert_eq!(st, 400, "an update not staged is not installed: {v}");
    assert!(v.to_string().contains("not staged"), "{v}");
    let (st, v) = s
        .must(
            "POST",
            &format!("/rest/appliance/update/pending/{VERSION}?action=stage"),
            Some(&format!(r#"{{"version":"{VERSION}"}}"#)),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    s.wait_state("UPDATES_PENDING", Duration::from_secs(60))
        .await;
    let (st, v) = s
        .must(
            "POST",
            &format!("/rest/appliance/update/pending/{VERSION}?action=precheck"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let questions: Vec<&str> = v["value"]["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["data_item"].as_str().unwrap())
        .collect();
    assert_eq!(questions, ["vmdir.password", "backup.skip"], "{v}");
    let (st, v) = s
        .must(
            "POST",
            &format!("/rest/appliance/update/pending/{VERSION}?action=validate"),
            Some(&install_body("Wrong-Pass-1")),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let errors = v["value"]["errors"].to_string();
    assert!(errors.contains("user_data.vmdir.password"), "{v}");
    for (body, field) in [
        (install_body("Wrong-Pass-1"), "user_data.vmdir.password"),
        (
            format!(r#"{{"version":"{VERSION}","user_data":[]}}"#),
            "user_data.vmdir.password",
        ),
    ] {
        let (st, v) = s.must("POST", &install_path, Some(&body)).await;
        assert_eq!(st, 400, "{v}");
        assert!(v.to_string().contains(field), "{v}");
    }
    assert_eq!(sha256(&exe), before, "a refused install changes nothing");
    // Two wrong answers: the password check backs off (1 s, doubling) like a login.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // A task running when the install starts is waited for; new ones are refused meanwhile.
    let token = s.session().await;
    let sleep = sleep_task(&s, &token, 3000).await;
    assert_eq!(sleep.status(), 202);
    let sleep_id: String = sleep.json().await.unwrap();
    let (st, v) = s
        .must("POST", &install_path, Some(&install_body(PASSWORD)))
        .await;
    assert_eq!(st, 200, "{v}");
    let (mut info, _) = s
        .wait_state("INSTALL_IN_PROGRESS", Duration::from_secs(10))
        .await;
    // The install's progress says when it refuses new tasks and waits for the sleep.
    let start = Instant::now();
    while !info.to_string().contains("New tasks refused") {
        assert!(start.elapsed() < Duration::from_secs(30), "{info}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        info = s
            .wait_state("INSTALL_IN_PROGRESS", Duration::from_secs(10))
            .await
            .0;
    }
    // A second install, or a stage, while it runs: refused, naming why.
    let stage_body = format!(r#"{{"version":"{VERSION}"}}"#);
    for (action, body) in [("install", install_body(PASSWORD)), ("stage", stage_body)] {
        let (st, v) = s
            .must(
                "POST",
                &format!("/rest/appliance/update/pending/{VERSION}?action={action}"),
                Some(&body),
            )
            .await;
        assert_eq!(st, 400, "{action}: {v}");
        assert!(
            v.to_string()
                .contains("an install or rollback is in progress"),
            "{action}: {v}"
        );
    }
    assert_eq!(info["task"]["subtask_order"], json!(["install"]), "{info}");
    let refused = sleep_task(&s, &token, 10).await;
    assert_eq!(refused.status(), 503, "new tasks wait for the install");

    let (info, down) = s.wait_state("UP_TO_DATE", Duration::from_secs(120)).await;
    assert_eq!(info["version"], VERSION, "the release installed: {info}");
    println!(
        "API did not answer for {:.1} s during the install",
        down.as_secs_f64()
    );
    assert_eq!(s.proc.child.id(), pid);
    assert!(
        std::fs::read_link(format!("/proc/{pid}/exe"))
            .unwrap()
            .ends_with("bin/ferrocenter"),
        "the same pid runs the binary at the same path"
    );
    assert_eq!(
        sha256(&exe),
        sha256(&new_binary),
        "the new binary is in place"
    );
    assert_eq!(sha256(&exe.with_file_name("ferrocenter.previous")), before);
    let sleep = task(&s, &sleep_id).await;
    assert_eq!(
        sleep["status"], "SUCCEEDED",
        "the running task ended on its own before the restart: {sleep}"
    );
    assert_eq!(info["task"]["status"], "SUCCEEDED", "{info}");
    assert!(info["task"]["error"].is_null(), "{info}");
    // /rest shows the subtasks map as a list of key and value.
    assert_eq!(info["task"]["subtasks"][0]["key"], "install", "{info}");
    assert_eq!(info["task"]["subtasks"][0]["value"]["status"], "SUCCEEDED");
    let (st, v) = s.must("GET", "/rest/appliance/update/staged", None).await;
    assert_eq!(st, 400, "nothing is staged after the install: {v}");
    assert!(!s.data.join("update").join("install.json").exists());

    // Every host is connected again to the new process.
    wait_connected(&s, 3).await;

    // The update changed no schema: it can be rolled back, over /api as the SSO administrator.
    let token = s.session().await;
    let r = client()
        .post(format!(
            "https://{}/api/appliance/update/pending?action=rollback",
            s.api
        ))
        .header("vmware-api-session-id", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    // Until the rollback task is the one shown, ended: the state is UP_TO_DATE before too.
    let start = Instant::now();
    loop {
        let (info, _) = s.wait_state("UP_TO_DATE", Duration::from_secs(120)).await;
        let rolled_back = info["task"]["description"]
            .to_string()
            .contains("back to 0.1.0");
        if rolled_back && info["task"]["status"] == "SUCCEEDED" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "{info}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(sha256(&exe), before, "the previous binary is back");
    assert_eq!(s.proc.child.id(), pid);
    let (_, v) = s.must("GET", "/rest/appliance/update", None).await;
    assert_eq!(v["value"]["version"], env!("CARGO_PKG_VERSION"), "{v}");
    wait_connected(&s, 3).await;
    let r = client()
        .post(format!(
            "https://{}/api/appliance/update/pending?action=rollback",
            s.api
        ))
        .header("vmware-api-session-id", s.session().await)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "nothing left to roll back");

    // The official SDK installs it again: check, questions, validate, stage and install in one
    // call, followed through the restart.
    if let Some(python) = sdk_python() {
        let v = run_sdk_script(
            &python,
            "update_install.py",
            &[&s.api, ADMIN, PASSWORD, PASSWORD, "true"],
        )
        .await;
        assert_eq!(v["validate_errors"], 0, "{v}");
        assert_eq!(
            (&v["state"], &v["task"]),
            (&json!("UP_TO_DATE"), &json!("SUCCEEDED")),
            "{v}"
        );
        assert_eq!(v["version"], VERSION, "{v}");
        assert_eq!(sha256(&exe), sha256(&new_binary));
        assert_eq!(s.proc.child.id(), pid);
        wait_connected(&s, 3).await;
    } else {
        eprintln!("SKIPPED (the SDK part): the vSphere Automation SDK for Python is not installed");
    }
    fleet.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_binary_that_cannot_start_is_rolled_back_and_a_failed_backup_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let exe = own_binary(dir.path());
    let before = sha256(&exe);
    let broken = dir.path().join("broken");
    std::fs::write(
        &broken,
        "#!/bin/sh\necho 'ferrocenter 0.2.0: the store needs migration 99, which is missing' >&2\nexit 3\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let key = keygen(dir.path(), "release.key");
    let repo = build(
        dir.path(),
        &key,
        &broken,
        VERSION,
        &["--schema-version", "99"],
    );
    let s = start(dir.path(), &exe, &key, &repo);
    let pid = s.proc.child.id();
    let (st, v) = s
        .must(
            "GET",
            "/rest/appliance/update/pending?source_type=LOCAL",
            None,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let db = s.data.join("ferrocenter.db");
    assert!(db.exists());

    // A backup schedule: the install backs up to its location first.
    let backups = dir.path().join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let token = s.session().await;
    let r = client()
        .post(format!(
            "https://{}/api/appliance/recovery/backup/schedules/before-updates",
            s.api
        ))
        .header("vmware-api-session-id", &token)
        .json(&json!({"spec": {"location": backups.to_str().unwrap()}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());

    // Stage and install in one call, as the guide's last curl line does.
    let (st, v) = s
        .must(
            "POST",
            &format!("/rest/appliance/update/pending/{VERSION}?action=stage-and-install"),
            Some(&install_body(PASSWORD)),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (info, _) = s
        .wait_state("INSTALL_FAILED", Duration::from_secs(120))
        .await;
    assert_eq!(
        s.proc.child.id(),
        pid,
        "the previous binary runs in the same process"
    );
    assert_eq!(sha256(&exe), before, "the previous binary is back");
    let t = &info["task"];
    assert_eq!(t["status"], "FAILED", "{info}");
    let msg = t["error"].to_string();
    assert!(
        msg.contains("migration 99") && msg.contains("previous version"),
        "the reason is the new binary's own: {msg}"
    );
    // The rollback copy of the store was taken and the store still opens: the API answers
    // from it with the staged update kept for another try.
    assert!(s
        .data
        .join("update")
        .join("rollback")
        .join("ferrocenter.db")
        .exists());
    let (st, v) = s.must("GET", "/rest/appliance/update/staged", None).await;
    assert_eq!(st, 200, "the staged update stays for another try: {v}");
    assert_eq!(
        archives(&backups),
        1,
        "the backup before the install was taken"
    );

    // Another try with the official SDK, skipping the backup: the staged update used, the same
    // end.
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED (the SDK part): the vSphere Automation SDK for Python is not installed");
        return;
    };
    let v = run_sdk_script(
        &python,
        "update_install.py",
        &[&s.api, ADMIN, PASSWORD, PASSWORD, "true"],
    )
    .await;
    assert_eq!(
        v["questions"],
        json!([{"data_item": "vmdir.password", "type": "PASSWORD"},
               {"data_item": "backup.skip", "type": "BOOLEAN"}]),
        "{v}"
    );
    assert_eq!(archives(&backups), 1, "backup.skip: no second backup");
    assert_eq!(v["validate_errors"], 0, "{v}");
    assert_eq!(v["state"], "INSTALL_FAILED", "{v}");
    assert_eq!(v["task"], "FAILED", "{v}");
    assert!(v["error"].as_str().unwrap().contains("migration 99"), "{v}");
    assert!(
        v["states"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "unreachable"),
        "the SDK followed the restart: {v}"
    );
    assert_eq!(s.proc.child.id(), pid);
    assert_eq!(sha256(&exe), before);

    // The backup's location a file now: the backup fails, so nothing is installed and nothing
    // stops.
    std::fs::remove_dir_all(&backups).unwrap();
    std::fs::write(&backups, "not a directory").unwrap();
    let (st, v) = s
        .must(
            "POST",
            &format!("/rest/appliance/update/pending/{VERSION}?action=install"),
            Some(&install_body(PASSWORD)),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let start = Instant::now();
    let info = loop {
        let (st, v) = s.must("GET", "/rest/appliance/update", None).await;
        assert_eq!(st, 200, "the server never stops: {v}");
        if v["value"]["state"] == "INSTALL_FAILED" && v["value"]["task"]["status"] == "FAILED" {
            break v["value"].clone();
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let msg = info["task"]["error"].to_string();
    assert!(
        msg.contains("backup before the install") && msg.contains("nothing was installed"),
        "{msg}"
    );
    assert_eq!(sha256(&exe), before);
    let sleep = sleep_task(&s, &s.session().await, 10).await;
    assert_eq!(sleep.status(), 202, "tasks are taken again");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_mid_install_puts_the_previous_binary_and_store_back_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let exe = own_binary(dir.path());
    let before = sha256(&exe);
    let key = keygen(dir.path(), "release.key");
    let repo = build(dir.path(), &key, &exe, VERSION, &[]);
    let mut s = start(dir.path(), &exe, &key, &repo);
    s.proc.signal(libc::SIGTERM);
    assert_eq!(s.proc.wait_exit(Duration::from_secs(30)).code(), Some(0));
    // What a process killed in the middle of an install leaves: the store copied aside, then
    // changed by the new version (here, a datacenter made after the copy), the new binary in
    // place, the previous one kept, and a plan saying the swap began.
    let db = s.data.join("ferrocenter.db");
    let rollback = s.data.join("update").join("rollback");
    std::fs::create_dir_all(&rollback).unwrap();
    std::fs::copy(&db, rollback.join("ferrocenter.db")).unwrap();
    let s = start(dir.path(), &exe, &key, &repo);
    let token = s.session().await;
    let r = client()
        .post(format!("https://{}/api/vcenter/datacenter", s.api))
        .header("vmware-api-session-id", &token)
        .json(&json!({"spec": {"name": "made-by-the-new-version"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut p = s.proc;
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(0));
    let new_binary = dir.path().join("ferrocenter-0.2.0");
    let mut bytes = std::fs::read(&exe).unwrap();
    bytes.extend_from_slice(b"\nferrocenter test build 0.2.0\n");
    std::fs::write(&new_binary, bytes).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&new_binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::copy(&exe, exe.with_file_name("ferrocenter.previous")).unwrap();
    std::fs::copy(&new_binary, &exe).unwrap();
    let plan = ferrocenter_core::update::InstallPlan {
        task: "a-task-of-the-killed-process".into(),
        version: VERSION.into(),
        from_version: env!("CARGO_PKG_VERSION").into(),
        binary: new_binary.clone(),
        binary_sha256: sha256(&new_binary),
        schema_version: Some(1),
        user: "root".into(),
        rollback: false,
        outcome: Some(ferrocenter_core::update::InstallOutcome::Swapping),
    };
    plan.write(&s.data.join("update").join("install.json"))
        .unwrap();

    let s = start(dir.path(), &exe, &key, &repo);
    assert_eq!(sha256(&exe), before, "the previous binary is back");
    let (info, _) = s
        .wait_state("INSTALL_FAILED", Duration::from_secs(30))
        .await;
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"), "{info}");
    assert!(
        s.proc
            .stderr()
            .contains("the server stopped while 0.2.0 was being put in place"),
        "{}",
        s.proc.stderr()
    );
    let token = s.session().await;
    let dcs = get_json(&s.api, "/api/vcenter/datacenter", &token).await;
    assert!(
        !dcs.to_string().contains("made-by-the-new-version"),
        "the store is the copy from before the install: {dcs}"
    );
    assert!(!s.data.join("update").join("install.json").exists());
}
