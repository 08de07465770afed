//! Support bundles (`com.vmware.appliance.support_bundle`): the official Python SDK
//! (tests/vapi_sdk/support_bundle.py) makes one on a server process that has written logs,
//! run a task and an encrypted backup; it is downloaded once through its URL, unpacked, and
//! every secret the test used is searched for in it. curl drives the seed's requests. In-process
//! servers check component selection, partitions, URL expiry, the size limit and the retention
//! sweep.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::sdk::{run_sdk_script, sdk_python};
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const BACKUP_PW: &str = "Backup-Secret-1";

/// Every file under `dir`, as (path relative to it, bytes).
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Unpacks a `.tgz` with the system's tar; returns the directory the bundle's root is in.
fn untar(tgz: &Path, into: &Path) -> PathBuf {
    std::fs::create_dir_all(into).unwrap();
    let st = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(tgz)
        .arg("-C")
        .arg(into)
        .status()
        .unwrap();
    assert!(st.success(), "tar -xzf {}", tgz.display());
    into.to_path_buf()
}

/// `curl -k` with a session, as the seed shows: (status, body).
fn curl(method: &str, url: &str, session: &str, body: Option<&str>) -> (u16, String) {
    let mut c = std::process::Command::new("curl");
    c.args(["-sk", "-X", method, "-w", "\n%{http_code}", url])
        .args(["-H", &format!("vmware-api-session-id: {session}")]);
    if let Some(b) = body {
        c.args(["-H", "Content-Type: application/json", "-d", b]);
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "curl {method} {url}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_string())
}

async fn wait_task_at(addr: &str, token: &str, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let v = get_json(addr, &format!("/api/cis/tasks/{id}"), token).await;
        let s = v["status"].as_str().unwrap_or("").to_string();
        if s == "SUCCEEDED" || s == "FAILED" || start.elapsed() > Duration::from_secs(120) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_bundle_made_through_the_sdk_holds_the_servers_state_and_no_secret() {
    let Some(python) = sdk_python() else {
        println!("SKIPPED: the vSphere Automation SDK for Python (FERROCENTER_VAPI_PYTHON)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let conf = dir.path().join("ferrocenter.toml");
    std::fs::write(
        &conf,
        format!(
            "log_level = \"info\"\nadmin_password = \"{PASSWORD}\"\n\
             zstack_web_hook_allow = [\"https://hooks.example.com/zstack\"]\n"
        ),
    )
    .unwrap();
    let api = free_local_addr();
    let appliance = free_local_addr();
    let _server = serve_at(
        &data,
        &api,
        &appliance,
        &["--config", conf.to_str().unwrap(), "--enable-diagnostics"],
    );
    let token = login_at(&api, ADMIN).await;

    // Something to find in the bundle: a task and an encrypted backup of its own.
    let sleep = client()
        .post(format!("https://{api}/api/ferrocenter/diagnostics/sleep"))
        .header("vmware-api-session-id", &token)
        .json(&json!({"duration_ms": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(sleep.status(), 202);
    let sleep_id: String = sleep.json().await.unwrap();
    wait_task_at(&api, &token, &sleep_id).await;
    let sleep_task = sleep_id.split(':').next().unwrap().to_string();
    let backup_dir = dir.path().join("backup");
    let r = client()
        .post(format!("https://{api}/api/appliance/recovery/backup/job"))
        .header("vmware-api-session-id", &token)
        .json(&json!({"piece": {
            "parts": ["seat"],
            "backup_password": BACKUP_PW,
            "location_type": "PATH",
            "location": backup_dir.to_str().unwrap(),
            "comment": "before the support case",
        }}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let job: Value = r.json().await.unwrap();
    let job_id = job["id"].as_str().unwrap().to_string();
    let start = Instant::now();
    loop {
        let j = get_json(
            &api,
            &format!("/api/appliance/recovery/backup/job/{job_id}"),
            &token,
        )
        .await;
        if j["state"] != "INPROGRESS" || start.elapsed() > Duration::from_secs(60) {
            assert_eq!(j["state"], "SUCCEEDED", "{j}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let out_dir = dir.path().join("sdk");
    std::fs::create_dir_all(&out_dir).unwrap();
    let v = run_sdk_script(
        &python,
        "support_bundle.py",
        &[&api, ADMIN, PASSWORD, out_dir.to_str().unwrap()],
    )
    .await;
    assert_eq!(
        v["components"]["ferrocenter"],
        json!([
            "logs",
            "configuration",
            "tasks-events",
            "store",
            "health",
            "statistics",
            "fleet"
        ]),
        "{v}"
    );
    assert_eq!(v["task_status"], "SUCCEEDED", "{v}");
    assert_eq!(v["task_service"], "com.vmware.appliance.support_bundle");
    assert_eq!(v["task_operation"], "create");
    let listed = v["listed"].as_array().unwrap();
    let mine = listed
        .iter()
        .find(|i| i["description"] == "SDK support case 4242")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(mine["status"], "SUCCEEDED");
    assert_eq!(mine["downloadable"], true);
    assert_eq!(mine["content_type"], "LOGS");
    assert!(mine["has_generation_time"] == true && mine["has_expiration_time"] == true);
    let url = mine["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("https://{api}/support-bundle/download/")),
        "{url}"
    );
    assert!(!url.contains(&token), "the URL is not the session id");
    assert_eq!(v["first_only"].as_array().unwrap().len(), 1);
    assert_eq!(v["available"], json!([mine["id"]]));
    assert_eq!(v["failed"], json!([]));
    assert_eq!(v["download_status"], 200);
    assert_eq!(v["download_bytes"], mine["size"]);
    assert_eq!(v["second_download_status"], 404, "a URL is used once");
    assert_eq!(v["after_download"][0]["downloadable"], false);
    assert_eq!(v["bad_partition"], "InvalidArgument", "{v}");
    assert!(
        v["bad_partition_message"]
            .as_str()
            .unwrap()
            .contains("spec.partition"),
        "{v}"
    );
    let checksum = mine["checksum_value"].as_str().unwrap();
    let tgz = std::fs::read(out_dir.join("bundle.tgz")).unwrap();
    assert_eq!(
        checksum,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&tgz))
    );

    // What it holds, with real content.
    let id = mine["id"].as_str().unwrap();
    let root = out_dir
        .join("unpacked")
        .join(format!("ferrocenter-support-{id}"));
    let files = files_under(&root);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "MANIFEST.json",
        "configuration/command-line-and-environment.json",
        "configuration/file.json",
        "tasks-events/tasks.json",
        "tasks-events/events.json",
        "store/store.json",
        "health/health.json",
        "statistics/statistics.json",
        "fleet/agents.json",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(
        names.iter().any(|n| n.starts_with("logs/ferrocenter.log")),
        "{names:?}"
    );
    let read = |n: &str| -> Value {
        serde_json::from_slice(&files.iter().find(|(f, _)| f == n).unwrap().1).unwrap()
    };
    let tasks = read("tasks-events/tasks.json");
    let kinds: Vec<&str> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"appliance.backup"), "{kinds:?}");
    assert!(tasks
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == sleep_task && t["kind"] == "diagnostics.sleep"));
    assert!(read("tasks-events/events.json").is_array());
    assert!(tasks
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == job_id && t["state"] == "success"));
    let store = read("store/store.json");
    assert_eq!(store["engine"], "sqlite");
    assert!(store["schema_version"].as_i64().unwrap() >= 14, "{store}");
    let health = read("health/health.json");
    assert_eq!(health["items"].as_array().unwrap().len(), 9);
    let cfg = read("configuration/command-line-and-environment.json");
    assert_eq!(cfg["admin_password"], "<redacted>", "{cfg}");
    assert_eq!(cfg["listen"], api.as_str());
    let file = read("configuration/file.json");
    assert_eq!(file["values"]["log_level"], "info");
    assert_eq!(file["values"]["admin_password"], "<redacted>");
    let log = files
        .iter()
        .find(|(n, _)| n.starts_with("logs/"))
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .unwrap();
    assert!(log.contains("backup started"), "the log holds the run");

    // No secret anywhere: the passwords used, the session, the data dir's keys.
    let tls_key = std::fs::read_to_string(data.join("tls/server.key")).unwrap();
    let secret_key = std::fs::read(data.join("secret.key")).unwrap();
    let mut secrets: Vec<Vec<u8>> = vec![
        PASSWORD.into(),
        BACKUP_PW.into(),
        token.clone().into(),
        hex::encode(&secret_key).into(),
        secret_key.clone(),
    ];
    for line in tls_key.lines().filter(|l| !l.starts_with("-----")) {
        secrets.push(line.into());
    }
    let url_token = url.rsplit('/').next().unwrap().to_string();
    for (name, bytes) in &files {
        for s in &secrets {
            assert!(
                !contains(bytes, s),
                "{name} holds a secret ({} bytes of it)",
                s.len()
            );
        }
    }

    // The seed's curl requests; the token of the first bundle is in no log of the second.
    let base = format!("https://{api}/api/appliance/support-bundle");
    let (code, body) = curl("GET", &format!("{base}/components"), &token, None);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("tasks-events"));
    let (code, body) = curl(
        "POST",
        &format!("{base}?vmw-task=true"),
        &token,
        Some(r#"{"description":"curl case","components":{"ferrocenter":["logs","store"]}}"#),
    );
    assert_eq!(code, 202, "{body}");
    let task: String = serde_json::from_str(&body).unwrap();
    let t = wait_task_at(&api, &token, &task).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    let (code, body) = curl("GET", &base, &token, None);
    assert_eq!(code, 200, "{body}");
    let list: Value = serde_json::from_str(&body).unwrap();
    let second = list["supportbundle_operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["description"] == "curl case")
        .unwrap()
        .clone();
    let r = client()
        .get(second["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tgz2 = dir.path().join("second.tgz");
    std::fs::write(&tgz2, r.bytes().await.unwrap()).unwrap();
    let unpacked2 = untar(&tgz2, &dir.path().join("second"));
    let files2 = files_under(&unpacked2);
    let tops: std::collections::BTreeSet<&str> = files2
        .iter()
        .map(|(n, _)| n.split('/').nth(1).unwrap())
        .collect();
    assert_eq!(
        tops,
        ["MANIFEST.json", "logs", "store"].into_iter().collect(),
        "only the components asked for"
    );
    for (name, bytes) in &files2 {
        assert!(
            !contains(bytes, url_token.as_bytes()),
            "{name} holds a download token"
        );
        assert!(!contains(bytes, PASSWORD.as_bytes()), "{name}");
    }
    // Deleted: gone from the list and its URL.
    let (code, _) = curl(
        "DELETE",
        &format!("{base}/{}", second["id"].as_str().unwrap()),
        &token,
        None,
    );
    assert_eq!(code, 204);
    let (code, body) = curl("GET", &base, &token, None);
    assert_eq!(code, 200);
    assert!(!body.contains("curl case"), "{body}");
}

async fn create(ts: &TestServer, token: &str, spec: Value) -> (u16, Value) {
    ts.call_json(
        Method::POST,
        "/api/appliance/support-bundle?vmw-task=true",
        token,
        Some(spec),
    )
    .await
}

async fn list(ts: &TestServer, token: &str) -> Vec<Value> {
    let (s, v) = ts
        .call_json(Method::GET, "/api/appliance/support-bundle", token, None)
        .await;
    assert_eq!(s, 200, "{v}");
    v["supportbundle_operations"].as_array().unwrap().clone()
}

fn dir_files(d: &Path) -> Vec<String> {
    std::fs::read_dir(d)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn selection_partition_bad_input_and_the_appliance_listener() {
    let scratch = tempfile::tempdir().unwrap();
    let part = format!("scratch={}", scratch.path().display());
    let ts = TestServer::start_with(|a| a.support_bundle_partitions = Some(vec![part])).await;
    let token = ts.login(ADMIN).await;
    let (s, v) = create(
        &ts,
        &token,
        json!({"description": "x", "partition": "nowhere"}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(v["error_type"], "INVALID_ARGUMENT");
    assert!(v.to_string().contains("spec.partition"), "{v}");
    let (s, v) = create(
        &ts,
        &token,
        json!({"description": "x", "components": {"ferrocenter": ["nope"]}}),
    )
    .await;
    assert_eq!(s, 400);
    assert!(v.to_string().contains("spec.components.ferrocenter"), "{v}");
    let op = ts
        .login(
            &ts.user("sbop", ferrocenter_core::auth::Role::Operator)
                .await,
        )
        .await;
    let (s, _) = create(&ts, &op, json!({"description": "x"})).await;
    assert_eq!(s, 403, "an operator reads bundles but does not make them");

    let (s, id) = create(
        &ts,
        &token,
        json!({"description": "two parts", "partition": "scratch",
               "components": {"ferrocenter": ["fleet", "statistics"]}, "content_type": "ALL"}),
    )
    .await;
    assert_eq!(s, 202, "{id}");
    let t = wait_task(&ts, &token, id.as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    let core_id = id.as_str().unwrap().split(':').next().unwrap();
    assert_eq!(dir_files(scratch.path()), vec![format!("{core_id}.tgz")]);
    let b = list(&ts, &op).await.remove(0);
    assert_eq!(b["content_type"], "ALL");
    let url = b["url"].as_str().unwrap().to_string();
    // Made through the main listener: not served on the appliance listener.
    let path = url.split_once("/support-bundle/").unwrap().1;
    let other = ts.appliance(&format!("/support-bundle/{path}"));
    assert_eq!(ts.client.get(other).send().await.unwrap().status(), 404);
    let r = ts.client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let tgz = scratch.path().join("copy.tgz");
    std::fs::write(&tgz, r.bytes().await.unwrap()).unwrap();
    let files = files_under(&untar(&tgz, &scratch.path().join("x")));
    let tops: std::collections::BTreeSet<&str> = files
        .iter()
        .map(|(n, _)| n.split('/').nth(1).unwrap())
        .collect();
    assert_eq!(
        tops,
        ["MANIFEST.json", "cores", "fleet", "statistics"]
            .into_iter()
            .collect()
    );

    // An event of the test's, with a secret in its data, for the next bundle.
    let (core, _) = ts.core_admin().await;
    core.record_event(
        "SupportCaseTestEvent",
        "datacenter",
        "datacenter-0",
        "DC-support",
        ADMIN,
        "made by the support bundle test".into(),
        json!({"password": "Event-Secret-3", "note": "kept"}),
    )
    .await;

    // Made on the appliance listener (root, basic auth): its URL names that listener.
    let r = ts
        .client
        .post(ts.appliance("/api/appliance/support-bundle?vmw-task=true"))
        .basic_auth("root", Some(PASSWORD))
        .json(&json!({"description": "from 5480",
                      "components": {"ferrocenter": ["store", "tasks-events"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let task: String = r.json().await.unwrap();
    let t = wait_task(&ts, &token, &task, Duration::from_secs(60)).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    let b = list(&ts, &token)
        .await
        .into_iter()
        .find(|b| b["description"] == "from 5480")
        .unwrap();
    let url = b["url"].as_str().unwrap();
    assert!(
        url.starts_with(&ts.appliance("/support-bundle/download/")),
        "{url}"
    );
    let main = ts.api(&format!(
        "/support-bundle/{}",
        url.split_once("/support-bundle/").unwrap().1
    ));
    assert_eq!(ts.client.get(main).send().await.unwrap().status(), 404);
    let r = ts.client.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let tgz = scratch.path().join("appliance.tgz");
    std::fs::write(&tgz, r.bytes().await.unwrap()).unwrap();
    let files = files_under(&untar(&tgz, &scratch.path().join("y")));
    let (_, events) = files
        .iter()
        .find(|(n, _)| n.ends_with("tasks-events/events.json"))
        .unwrap();
    let events: Value = serde_json::from_slice(events).unwrap();
    let mine = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "SupportCaseTestEvent")
        .unwrap_or_else(|| panic!("{events}"));
    assert_eq!(mine["data"]["note"], "kept");
    assert_eq!(mine["data"]["password"], "<redacted>");
    assert!(files.iter().all(|(_, b)| !contains(b, b"Event-Secret-3")));
    assert_eq!(
        ts.client
            .get(ts.api("/support-bundle/download/0123"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    ts.stop().await;
}

#[tokio::test]
async fn expiry_and_the_retention_sweep() {
    let ts = TestServer::start_with(|a| {
        a.support_bundle_url_lifetime_secs = Some("1".into());
        a.support_bundle_retention_secs = Some("4".into());
    })
    .await;
    let token = ts.login(ADMIN).await;
    let (s, id) = create(
        &ts,
        &token,
        json!({"description": "short-lived", "components": {"ferrocenter": ["store"]}}),
    )
    .await;
    assert_eq!(s, 202, "{id}");
    let t = wait_task(&ts, &token, id.as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    let dir = ts.dir.path().join("support-bundles");
    assert_eq!(dir_files(&dir).len(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let b = list(&ts, &token).await.remove(0);
    assert_eq!(b["downloadable"], false, "{b}");
    let r = ts
        .client
        .get(b["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "an expired URL");
    // The sweep (every min(retention, 60 s)) removes it without anyone listing.
    let start = Instant::now();
    while !dir_files(&dir).is_empty() && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(dir_files(&dir).is_empty(), "the sweep removed the file");
    assert!(list(&ts, &token).await.is_empty());
    ts.stop().await;
}

#[tokio::test]
async fn a_bundle_over_the_size_limit_fails_and_leaves_nothing() {
    let ts = TestServer::start_with(|a| a.support_bundle_max_bytes = Some("1024".into())).await;
    let token = ts.login(ADMIN).await;
    let (s, id) = create(&ts, &token, json!({"description": "too big"})).await;
    assert_eq!(s, 202, "{id}");
    let t = wait_task(&ts, &token, id.as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(t["status"], "FAILED", "{t}");
    assert!(t.to_string().contains("size limit"), "{t}");
    let b = list(&ts, &token).await.remove(0);
    assert_eq!(b["status"], "FAILED");
    assert!(
        b["failure_reason"]["default_message"]
            .as_str()
            .unwrap()
            .contains("support_bundle_max_bytes"),
        "{b}"
    );
    assert!(b.get("url").is_none());
    let dir = ts.dir.path().join("support-bundles");
    assert!(dir_files(&dir).is_empty(), "{:?}", dir_files(&dir));
    // Filters: FAILED is found, available is not.
    let (s, v) = ts
        .call_json(
            Method::GET,
            "/api/appliance/support-bundle?filter.creation_status=FAILED&filter.available=false",
            &token,
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["supportbundle_operations"].as_array().unwrap().len(), 1);
    let (s, v) = ts
        .call_json(
            Method::GET,
            "/api/appliance/support-bundle?filter.available=true",
            &token,
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["supportbundle_operations"].as_array().unwrap().is_empty());
    let (s, v) = ts
        .call_json(
            Method::GET,
            "/api/appliance/support-bundle?iteration.size=0",
            &token,
            None,
        )
        .await;
    assert_eq!(s, 400, "{v}");
    ts.stop().await;
}

#[tokio::test]
async fn one_bundle_at_a_time_and_a_cancelled_one_leaves_nothing() {
    let ts = TestServer::start().await;
    // A large log file (real JSON lines, as the server writes them) keeps the first bundle
    // busy redacting it while the second create and the cancel arrive.
    let logs = ts.dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut text = String::new();
    for i in 0..400_000 {
        text.push_str(&format!(
            "{{\"timestamp\":\"2026-01-01T00:00:00Z\",\"level\":\"INFO\",\"fields\":{{\"message\":\"filler {i}\"}}}}\n"
        ));
    }
    std::fs::write(logs.join("ferrocenter.log.2026-01-01"), text).unwrap();
    let token = ts.login(ADMIN).await;
    let (s, first) = create(&ts, &token, json!({"description": "slow"})).await;
    assert_eq!(s, 202, "{first}");
    let (s, v) = create(&ts, &token, json!({"description": "second"})).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error_type"], "NOT_ALLOWED_IN_CURRENT_STATE", "{v}");
    let id = first.as_str().unwrap();
    let r = ts
        .call(
            Method::POST,
            &format!("/api/cis/tasks/{id}?action=cancel"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status(), 204);
    let t = wait_task(&ts, &token, id, Duration::from_secs(120)).await;
    assert_eq!(t["status"], "FAILED", "{t}");
    let b = list(&ts, &token).await;
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(b[0]["status"], "CANCELLED");
    assert!(b[0].get("url").is_none());
    let dir = ts.dir.path().join("support-bundles");
    assert!(dir_files(&dir).is_empty(), "{:?}", dir_files(&dir));
    // The slot is free again.
    let (s, v) = create(
        &ts,
        &token,
        json!({"description": "after", "components": {"ferrocenter": ["store"]}}),
    )
    .await;
    assert_eq!(s, 202, "{v}");
    let t = wait_task(&ts, &token, v.as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    ts.stop().await;
}
