//! The software update service (`com.vmware.appliance.update*`) on a real server: the policy as
//! the guide's curl line sets it on the appliance listener with root's Basic credentials, as the
//! unmodified official SDK for Python sets and reads it (tests/vapi_sdk/update_policy.py), bad
//! input naming the field with nothing changed, the password kept sealed and never returned, and
//! what a read-only role may do.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::path::Path;

use common::sdk::{run_sdk_script, sdk_python};
use common::update_repo::{build, keygen, publish_as, small_binary, Key};
use common::*;
use ferrocenter_core::auth::Role;
use ferrocenter_testkit::file_servers::WebDavServer;
use reqwest::Method;
use serde_json::{json, Value};

/// The guide's example: check a custom URL on Friday 23:30 and Saturday 12:30, stage what is
/// found.
const GUIDE_POLICY: &str = r#"{"policy":
{"auto_stage": true,"check_schedule": [{"day": "FRIDAY","hour": 23,"minute": 30},{"day": 
"SATURDAY","hour": 12,"minute": 30}],"custom_URL":"https://123.com"}}"#;

async fn rest(
    ts: &TestServer,
    method: Method,
    url: String,
    user: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let mut rb = ts
        .client
        .request(method, url)
        .basic_auth(user, Some(PASSWORD));
    if let Some(b) = body {
        rb = rb
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_guides_policy_is_set_as_root_on_the_appliance_listener_and_read_on_every_path() {
    let ts = TestServer::start().await;
    let default = json!({
        "default_URL": "",
        "check_schedule": [],
        "auto_stage": false,
        "auto_update": false,
        "manual_control": true,
        "certificate_check": true,
    });
    let (code, got) = rest(
        &ts,
        Method::GET,
        ts.appliance("/rest/appliance/update/policy"),
        "root",
        None,
    )
    .await;
    assert_eq!((code, &got), (200, &json!({ "value": default })));

    let (code, body) = rest(
        &ts,
        Method::PUT,
        ts.appliance("/rest/appliance/update/policy"),
        "root",
        Some(GUIDE_POLICY),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let set = json!({
        "custom_URL": "https://123.com",
        "default_URL": "",
        "check_schedule": [
            {"day": "FRIDAY", "hour": 23, "minute": 30},
            {"day": "SATURDAY", "hour": 12, "minute": 30},
        ],
        "auto_stage": true,
        "auto_update": false,
        "manual_control": true,
        "certificate_check": true,
    });
    let (code, got) = rest(
        &ts,
        Method::GET,
        ts.appliance("/rest/appliance/update/policy"),
        "root",
        None,
    )
    .await;
    assert_eq!((code, got), (200, json!({ "value": set })));
    let token = ts.login(ADMIN).await;
    let (code, got) = ts
        .call_json(Method::GET, "/api/appliance/update/policy", &token, None)
        .await;
    assert_eq!((code, &got), (200, &set));

    // Bad input names the field and changes nothing.
    for (policy, field) in [
        (
            json!({"check_schedule": [{"day": "FUNDAY", "hour": 1, "minute": 0}], "auto_stage": false}),
            "policy.check_schedule[0].day",
        ),
        (
            json!({"check_schedule": [{"day": "MONDAY", "hour": 1, "minute": 61}], "auto_stage": false}),
            "policy.check_schedule[0].minute",
        ),
        (
            json!({"custom_URL": "ftp://mirror/x", "check_schedule": [], "auto_stage": false}),
            "policy.custom_URL",
        ),
        (
            json!({"check_schedule": [], "auto_stage": true}),
            "policy.auto_stage",
        ),
    ] {
        let (code, body) = ts
            .call_json(
                Method::PUT,
                "/api/appliance/update/policy",
                &token,
                Some(json!({ "policy": policy })),
            )
            .await;
        assert_eq!(code, 400, "{body}");
        assert!(body.to_string().contains(field), "{field}: {body}");
    }
    let (_, got) = ts
        .call_json(Method::GET, "/api/appliance/update/policy", &token, None)
        .await;
    assert_eq!(got, set);

    // An operator reads it and may not change it.
    let operator = ts.user("updateop", Role::Operator).await;
    let op_token = ts.login(&operator).await;
    let (code, got) = ts
        .call_json(Method::GET, "/api/appliance/update/policy", &op_token, None)
        .await;
    assert_eq!((code, got), (200, set));
    let (code, _) = ts
        .call_json(
            Method::PUT,
            "/api/appliance/update/policy",
            &op_token,
            Some(json!({"policy": {"check_schedule": [], "auto_stage": false}})),
        )
        .await;
    assert_eq!(code, 403);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_sdk_sets_a_policy_with_a_login_whose_password_stays_sealed() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let ts = TestServer::start().await;
    let server = ts.api("").trim_start_matches("https://").to_string();
    let v = run_sdk_script(&python, "update_policy.py", &[&server, ADMIN, PASSWORD]).await;
    assert_eq!(
        v["got"],
        json!({
            "custom_URL": "https://updates.example.test/ferrocenter",
            "default_URL": "",
            "username": "mirror",
            "check_schedule": [
                {"day": "FRIDAY", "hour": 23, "minute": 30},
                {"day": "SATURDAY", "hour": 12, "minute": 30},
            ],
            "auto_stage": true,
            "auto_update": false,
            "manual_control": true,
            "certificate_check": false,
        }),
        "{v}"
    );
    assert_eq!(v["bad"]["class"], "InvalidArgument", "{v}");
    assert!(
        v["bad"]["message"]
            .as_str()
            .unwrap()
            .contains("policy.check_schedule[0].hour"),
        "{v}"
    );
    // The password is kept sealed with the server's key, and no answer carries it.
    let (core, _) = ts.core_admin().await;
    let stored = core
        .store
        .get_setting("appliance.update.policy")
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.contains("Mirror-Secret-77"), "{stored}");
    assert!(stored.contains("\"password\":\""), "{stored}");
    let token = ts.login(ADMIN).await;
    let (_, got) = ts
        .call_json(Method::GET, "/api/appliance/update/policy", &token, None)
        .await;
    assert!(!got.to_string().contains("Mirror-Secret"), "{got}");
    assert!(got.get("password").is_none());
    ts.stop().await;
}

/// A server trusting `key`, with `local` as its LOCAL update source.
async fn update_server(key: &Key, local: Option<&Path>) -> TestServer {
    let public = key.public.clone();
    let local = local.map(|p| p.to_string_lossy().into_owned());
    TestServer::start_with(move |a| {
        a.update_trusted_keys = Some(vec![public]);
        a.update_local_source = local;
    })
    .await
}

/// Polls `/rest/appliance/update` as root until no stage runs; the last answer.
/// Stages `version` and waits until its download has begun (and has not ended).
async fn stage_until_downloading(ts: &TestServer, token: &str, version: &str) {
    let (code, v) = ts
        .call_json(
            Method::POST,
            &format!("/api/appliance/update/pending/{version}?action=stage"),
            token,
            None,
        )
        .await;
    assert_eq!(code, 204, "{v}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, i) = ts
            .call_json(Method::GET, "/api/appliance/update", token, None)
            .await;
        assert_eq!(
            i["state"], "STAGE_IN_PROGRESS",
            "finished before the test could act on it: {i}"
        );
        if i["task"]["progress"]["completed"].as_u64().unwrap_or(0) > 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{i}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn wait_staged(ts: &TestServer) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (code, v) = rest(
            ts,
            Method::GET,
            ts.appliance("/rest/appliance/update"),
            "root",
            None,
        )
        .await;
        assert_eq!(code, 200, "{v}");
        if v["value"]["state"] != "STAGE_IN_PROGRESS"
            && matches!(
                v["value"]["task"]["status"].as_str(),
                Some("SUCCEEDED" | "FAILED")
            )
        {
            return v["value"].clone();
        }
        assert!(std::time::Instant::now() < deadline, "still staging: {v}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The guide's curl lines in order, as root with Basic credentials on the appliance listener:
/// check (`source_type=DEFAULT`), stage, poll, get; then the rest of the service on that update.
#[tokio::test(flavor = "multi_thread")]
async fn the_guides_curl_lines_check_and_stage_an_update_from_a_local_directory() {
    let work = tempfile::tempdir().unwrap();
    let key = keygen(work.path(), "release.key");
    let binary = small_binary(work.path());
    let repo = build(
        work.path(),
        &key,
        &binary,
        "0.2.0",
        &["--severity", "IMPORTANT", "--update-type", "FIX"],
    );
    let ts = update_server(&key, Some(&repo)).await;
    let (code, v) = rest(
        &ts,
        Method::GET,
        ts.appliance("/rest/appliance/update"),
        "root",
        None,
    )
    .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["value"]["state"], "UP_TO_DATE");
    assert_eq!(v["value"]["version"], env!("CARGO_PKG_VERSION"));

    // curl -X GET '…/rest/appliance/update/pending?source_type=DEFAULT'
    let (code, v) = rest(
        &ts,
        Method::GET,
        ts.appliance("/rest/appliance/update/pending?source_type=DEFAULT"),
        "root",
        None,
    )
    .await;
    assert_eq!(code, 200, "{v}");
    let list = v["value"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    assert_eq!(list[0]["version"], "0.2.0");
    assert_eq!(list[0]["severity"], "IMPORTANT");
    assert_eq!(list[0]["update_type"], "FIX");

    // An operator may read but not stage.
    let operator = ts.user("stageop", Role::Operator).await;
    let op_token = ts.login(&operator).await;
    let (code, _) = ts
        .call_json(
            Method::GET,
            "/api/appliance/update/pending/0.2.0",
            &op_token,
            None,
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = ts
        .call_json(
            Method::POST,
            "/api/appliance/update/pending/0.2.0?action=stage",
            &op_token,
            None,
        )
        .await;
    assert_eq!(code, 403);

    // curl -X POST '…/rest/appliance/update/pending/0.2.0?action=stage' -d '{"version":"0.2.0"}'
    let (code, v) = rest(
        &ts,
        Method::POST,
        ts.appliance("/rest/appliance/update/pending/0.2.0?action=stage"),
        "root",
        Some(r#"{"version":"0.2.0"}"#),
    )
    .await;
    assert_eq!(code, 200, "{v}");
    // curl -X GET '…/rest/appliance/update', until the stage is done.
    let info = wait_staged(&ts).await;
    assert_eq!(info["state"], "UPDATES_PENDING", "{info}");
    let task = &info["task"];
    assert_eq!(task["status"], "SUCCEEDED", "{info}");
    assert_eq!(task["progress"]["completed"], 100, "{info}");
    assert_eq!(task["subtask_order"], json!(["stage"]));
    // The guide polls the stage at /rest/appliance/task/<id>: cis.tasks' task.
    let token = ts.login(ADMIN).await;
    let (code, tasks) = ts
        .call_json(Method::GET, "/api/cis/tasks", &token, None)
        .await;
    assert_eq!(code, 200, "{tasks}");
    let (id, _) = tasks
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, t)| {
            t["service"] == "com.vmware.appliance.update.pending" && t["operation"] == "stage"
        })
        .unwrap_or_else(|| panic!("the stage task is listed: {tasks}"));
    let (code, v) = rest(
        &ts,
        Method::GET,
        ts.appliance(&format!("/rest/appliance/task/{id}")),
        "root",
        None,
    )
    .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["value"]["status"], "SUCCEEDED", "{v}");
    assert!(info["latest_query_time"].is_string(), "{info}");
    let staged_binary = ts
        .dir
        .path()
        .join("update/staged/0.2.0/content/ferrocenter");
    assert_eq!(
        std::fs::read(&staged_binary).unwrap(),
        std::fs::read(&binary).unwrap()
    );

    // The same version again: already staged.
    let (code, v) = rest(
        &ts,
        Method::POST,
        ts.appliance("/rest/appliance/update/pending/0.2.0?action=stage"),
        "root",
        Some(r#"{"version":"0.2.0"}"#),
    )
    .await;
    assert_eq!(code, 400, "{v}");
    assert!(v.to_string().contains("already_exists"), "{v}");

    let token = ts.login(ADMIN).await;
    let (code, staged) = ts
        .call_json(Method::GET, "/api/appliance/update/staged", &token, None)
        .await;
    assert_eq!(code, 200, "{staged}");
    assert_eq!(staged["staging_complete"], true);
    assert_eq!(staged["version"], "0.2.0");
    let (code, p) = ts
        .call_json(
            Method::GET,
            "/api/appliance/update/pending/0.2.0",
            &token,
            None,
        )
        .await;
    assert_eq!(code, 200, "{p}");
    assert_eq!(p["staged"], true);
    assert!(
        p["services_will_be_stopped"].as_array().unwrap().len() > 1,
        "{p}"
    );
    let (code, check) = ts
        .call_json(
            Method::POST,
            "/api/appliance/update/pending/0.2.0?action=precheck",
            &token,
            None,
        )
        .await;
    assert_eq!(code, 200, "{check}");
    assert_eq!(check["reboot_required"], false);
    assert!(
        check["issues"]["warnings"].to_string().contains("backup"),
        "{check}"
    );
    let (code, n) = ts
        .call_json(
            Method::POST,
            "/api/appliance/update/pending/0.2.0?action=validate",
            &token,
            Some(json!({"user_data": {"vmdir.password": "x"}})),
        )
        .await;
    assert_eq!(code, 200, "{n}");
    assert!(
        n["errors"].to_string().contains("user_data.vmdir.password"),
        "{n}"
    );
    let (code, e) = ts
        .call_json(
            Method::GET,
            "/api/appliance/update/pending/9.9.9",
            &token,
            None,
        )
        .await;
    assert_eq!(code, 404);
    assert!(e.to_string().contains("9.9.9"), "{e}");
    // The stored results are what LAST_CHECK lists.
    let (code, last) = ts
        .call_json(
            Method::GET,
            "/api/appliance/update/pending?source_type=LAST_CHECK",
            &token,
            None,
        )
        .await;
    assert_eq!((code, last[0]["version"].clone()), (200, json!("0.2.0")));

    let (code, _) = ts
        .call_json(Method::DELETE, "/api/appliance/update/staged", &token, None)
        .await;
    assert_eq!(code, 204);
    assert!(!ts.dir.path().join("update/staged/0.2.0").exists());
    let (code, _) = ts
        .call_json(Method::GET, "/api/appliance/update/staged", &token, None)
        .await;
    assert_eq!(code, 400);
    ts.stop().await;
}

/// LOCAL reads an ISO image the tool made; a tampered repository is refused with its cause
/// and nothing is listed or staged; LOCAL without a local source names the setting.
#[tokio::test(flavor = "multi_thread")]
async fn an_iso_image_is_the_local_source_and_a_tampered_one_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let key = keygen(work.path(), "k");
    let binary = small_binary(work.path());
    let iso = work.path().join("update.iso");
    build(
        work.path(),
        &key,
        &binary,
        "0.3.0",
        &["--iso", iso.to_str().unwrap()],
    );
    let ts = update_server(&key, Some(&iso)).await;
    let token = ts.login(ADMIN).await;
    let (code, v) = ts
        .call_json(
            Method::GET,
            "/api/appliance/update/pending?source_type=LOCAL",
            &token,
            None,
        )
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v[0]["version"], "0.3.0");
    ts.stop().await;

    // The manifest changed after signing.
    let repo = build(work.path(), &key, &binary, "0.4.0", &[]);
    let manifest = repo.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replacen("0.4.0", "0.4.1", 1)).unwrap();
    let ts = update_server(&key, Some(&repo)).await;
    let token = ts.login(ADMIN).await;
    let (code, v) = ts
        .call_json(
            Method::GET,
            "/api/appliance/update/pending?source_type=LOCAL_AND_ONLINE",
            &token,
            None,
        )
        .await;
    assert_eq!(code, 400, "{v}");
    assert!(v.to_string().contains("changed after signing"), "{v}");
    let (code, v) = ts
        .call_json(
            Method::GET,
            "/api/appliance/update/pending?source_type=LAST_CHECK",
            &token,
            None,
        )
        .await;
    assert_eq!((code, v), (200, json!([])));
    let (code, _) = ts
        .call_json(
            Method::POST,
            "/api/appliance/update/pending/0.4.1?action=stage",
            &token,
            None,
        )
        .await;
    assert_eq!(code, 404);
    assert!(!ts.dir.path().join("update/staged").exists());
    ts.stop().await;

    // No local source: LOCAL names the setting; no repository at all names `url`.
    let ts = update_server(&key, None).await;
    let token = ts.login(ADMIN).await;
    for (query, field) in [
        ("LOCAL", "update_local_source"),
        ("LOCAL_AND_ONLINE", "url"),
    ] {
        let (code, v) = ts
            .call_json(
                Method::GET,
                &format!("/api/appliance/update/pending?source_type={query}"),
                &token,
                None,
            )
            .await;
        assert_eq!(code, 400, "{v}");
        assert!(v.to_string().contains(field), "{query}: {v}");
    }
    ts.stop().await;
}

/// The guide's curl lines against a repository nginx serves with basic authentication, its
/// login given in the policy; then a stage of a large package, slowed by nginx, cancelled
/// part-way, which leaves no file behind and the service back to UPDATES_PENDING.
#[tokio::test(flavor = "multi_thread")]
async fn the_policys_repository_on_nginx_is_staged_and_a_slow_stage_is_cancelled() {
    let Some(nginx) = WebDavServer::start_limited(false, "1m") else {
        eprintln!("SKIPPED: nginx is not available (scripts/test.sh installs it)");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let key = keygen(work.path(), "k");
    let small = small_binary(work.path());
    let url = publish_as(
        &build(work.path(), &key, &small, "0.5.0", &[]),
        &nginx,
        "small",
    );
    let ts = update_server(&key, None).await;
    let policy = json!({"policy": {
        "custom_URL": url,
        "username": nginx.user.name,
        "password": nginx.user.password,
        "check_schedule": [],
        "auto_stage": false,
    }});
    let (code, v) = rest(
        &ts,
        Method::PUT,
        ts.appliance("/rest/appliance/update/policy"),
        "root",
        Some(&policy.to_string()),
    )
    .await;
    assert_eq!(code, 200, "{v}");
    let (code, v) = rest(
        &ts,
        Method::GET,
        ts.appliance("/rest/appliance/update/pending?source_type=DEFAULT"),
        "root",
        None,
    )
    .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["value"][0]["version"], "0.5.0", "{v}");
    let (code, v) = rest(
        &ts,
        Method::POST,
        ts.appliance("/rest/appliance/update/pending/0.5.0?action=stage"),
        "root",
        Some(r#"{"version":"0.5.0"}"#),
    )
    .await;
    assert_eq!(code, 200, "{v}");
    let info = wait_staged(&ts).await;
    assert_eq!(info["task"]["status"], "SUCCEEDED", "{info}");
    assert_eq!(
        std::fs::read(
            ts.dir
                .path()
                .join("update/staged/0.5.0/content/ferrocenter")
        )
        .unwrap(),
        std::fs::read(&small).unwrap()
    );

    // A package that takes seconds at nginx's 1 MB/s: random bytes do not compress.
    let big = work.path().join("ferrocenter-big");
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let noise: Vec<u8> = (0..6_000_000u32)
        .map(|_| {
            // xorshift64: bytes zstd cannot shrink.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(&big, noise).unwrap();
    let big_url = publish_as(&build(work.path(), &key, &big, "0.6.0", &[]), &nginx, "big");
    let token = ts.login(ADMIN).await;
    let (code, v) = ts
        .call_json(
            Method::GET,
            &format!("/api/appliance/update/pending?source_type=LOCAL_AND_ONLINE&url={big_url}"),
            &token,
            None,
        )
        .await;
    // The big repository's URL carries no login: nginx refuses it, and says so.
    assert_eq!(code, 400, "{v}");
    assert!(v.to_string().contains("refused the login"), "{v}");
    let policy = json!({"policy": {
        "custom_URL": big_url,
        "username": nginx.user.name,
        "password": nginx.user.password,
        "check_schedule": [],
        "auto_stage": false,
    }});
    let (code, _) = ts
        .call_json(
            Method::PUT,
            "/api/appliance/update/policy",
            &token,
            Some(policy),
        )
        .await;
    assert_eq!(code, 204);
    let (code, v) = ts
        .call_json(
            Method::GET,
            "/api/appliance/update/pending?source_type=LOCAL_AND_ONLINE",
            &token,
            None,
        )
        .await;
    assert_eq!(
        (code, v[0]["version"].clone()),
        (200, json!("0.6.0")),
        "{v}"
    );
    stage_until_downloading(&ts, &token, "0.6.0").await;
    let staging = ts.dir.path().join("update/staged/0.6.0");
    assert!(
        staging.exists(),
        "the download is under way in {}",
        staging.display()
    );
    // A second stage while one runs is refused; so is deleting what is being staged.
    let (code, v) = ts
        .call_json(
            Method::POST,
            "/api/appliance/update/pending/0.6.0?action=stage",
            &token,
            None,
        )
        .await;
    assert_eq!(code, 400, "{v}");
    assert!(
        v.to_string().contains("NOT_ALLOWED_IN_CURRENT_STATE"),
        "{v}"
    );
    let (code, _) = ts
        .call_json(Method::DELETE, "/api/appliance/update/staged", &token, None)
        .await;
    assert_eq!(code, 400);
    let (code, v) = rest(
        &ts,
        Method::POST,
        ts.appliance("/rest/appliance/update?action=cancel"),
        "root",
        None,
    )
    .await;
    assert_eq!(code, 200, "{v}");
    assert!(!staging.exists(), "a cancelled stage leaves no file");
    let (_, i) = ts
        .call_json(Method::GET, "/api/appliance/update", &token, None)
        .await;
    assert_eq!(i["state"], "UPDATES_PENDING", "{i}");
    assert_eq!(i["task"]["status"], "FAILED", "{i}");
    let (code, _) = ts
        .call_json(Method::GET, "/api/appliance/update/staged", &token, None)
        .await;
    assert_eq!(code, 400, "nothing is staged");

    // Staged again, and the repository disappears mid-download: the stage fails saying so,
    // leaving no file, and the server goes on.
    stage_until_downloading(&ts, &token, "0.6.0").await;
    nginx.stop_now();
    let i = wait_staged(&ts).await;
    assert_eq!(i["task"]["status"], "FAILED", "{i}");
    assert_eq!(i["state"], "UPDATES_PENDING", "{i}");
    assert!(!staging.exists(), "a failed stage leaves no file");
    let error = i["task"]["error"].to_string();
    assert!(
        error.contains("SERVICE_UNAVAILABLE") && error.contains("ferrocenter.zst"),
        "the repository's outage, naming the file: {error}"
    );
    ts.stop().await;
}

/// The official SDK for Python: Pending.list (LOCAL), get, precheck, validate, stage,
/// Update.get until staged, Staged.get and delete (tests/vapi_sdk/update.py).
#[tokio::test(flavor = "multi_thread")]
async fn the_official_sdk_checks_stages_and_deletes_an_update() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let key = keygen(work.path(), "k");
    let binary = small_binary(work.path());
    let repo = build(work.path(), &key, &binary, "0.7.0", &[]);
    let ts = update_server(&key, Some(&repo)).await;
    let server = ts.api("").trim_start_matches("https://").to_string();
    let v = run_sdk_script(&python, "update.py", &[&server, ADMIN, PASSWORD]).await;
    assert_eq!(v["list"][0]["version"], "0.7.0", "{v}");
    assert_eq!(v["get"]["staged"], false, "{v}");
    assert_eq!(v["precheck"]["reboot_required"], false, "{v}");
    assert!(
        v["validate"][0]
            .as_str()
            .unwrap()
            .contains("user_data.bogus.key"),
        "{v}"
    );
    assert_eq!(
        v["update"],
        json!({"state": "UPDATES_PENDING", "version": env!("CARGO_PKG_VERSION"),
               "task": "SUCCEEDED", "subtasks": ["stage"]}),
        "{v}"
    );
    assert_eq!(
        v["staged"],
        json!({"version": "0.7.0", "complete": true}),
        "{v}"
    );
    assert_eq!(v["after_delete"], "NotAllowedInCurrentState", "{v}");
    assert!(!ts.dir.path().join("update/staged/0.7.0").exists());
    ts.stop().await;
}
