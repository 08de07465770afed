//! The export a server makes as an upgrade's source (`com.ferrocenter.deployment.export`) is a
//! job: `create` answers at once, `get` is polled until SUCCEEDED with the files listed, the
//! files are downloaded under the token, `delete` removes it in any state.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;
use ferrocenter_core::auth::Role;
use ferrocenter_core::ports::EXPORT_DOWNLOAD_PATH;
use reqwest::Method;
use serde_json::{json, Value};

const EXPORT: &str = "/api/ferrocenter/deployment/export";
const EXPORT_PW: &str = "an-export-password-of-some-length";

/// The upgrade exports left on a server (under its backup staging).
fn exports_left(ts: &TestServer) -> Vec<String> {
    std::fs::read_dir(ts.dir.path().join("backup-staging"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("upgrade-export-"))
                .collect()
        })
        .unwrap_or_default()
}

async fn create(ts: &TestServer, token: &str, history: bool) -> Value {
    let (status, v) = ts
        .call_json(
            Method::POST,
            EXPORT,
            token,
            Some(json!({"spec": {"password": EXPORT_PW, "history": history}})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

/// Polls `get` until the export is no longer RUNNING; every RUNNING answer is checked.
async fn follow(ts: &TestServer, token: &str, id: &str) -> Value {
    let start = std::time::Instant::now();
    loop {
        let (status, v) = ts
            .call_json(Method::GET, &format!("{EXPORT}/{id}"), token, None)
            .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["export"], id);
        assert!(v["expires_at"].is_string(), "{v}");
        assert!(
            v.get("token").is_none(),
            "get does not repeat the token: {v}"
        );
        if v["state"] != "RUNNING" {
            return v;
        }
        assert!(v["progress"].as_u64().unwrap() <= 100, "{v}");
        assert_eq!(v["files"], json!([]), "no files before it is written: {v}");
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "the export was not written: {v}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_export_is_polled_until_written_then_downloaded_and_deleted() {
    let ts = TestServer::start().await;
    let token = ts.login(ADMIN).await;

    let c = create(&ts, &token, true).await;
    assert_eq!(c["state"], "RUNNING", "{c}");
    let id = c["export"].as_str().unwrap().to_string();
    let dl = c["token"].as_str().unwrap().to_string();
    assert!(dl.len() >= 64, "{c}");

    let done = follow(&ts, &token, &id).await;
    assert_eq!(done["state"], "SUCCEEDED", "{done}");
    assert_eq!(done["progress"], 100, "{done}");
    assert!(done.get("error").is_none(), "{done}");
    let files = done["files"].as_array().unwrap().clone();
    let names: Vec<&str> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names.last(), Some(&"manifest.json"), "{done}");
    assert!(names.len() >= 3, "common, seat and the manifest: {done}");

    // Every file listed downloads with the size listed, and together they are the archive,
    // encrypted under the password given.
    let got = tempfile::tempdir().unwrap();
    for f in &files {
        let name = f["name"].as_str().unwrap();
        let r = ts
            .call(
                Method::GET,
                &format!("{EXPORT_DOWNLOAD_PATH}{dl}/{name}"),
                None,
                None,
            )
            .await;
        assert_eq!(r.status(), 200, "{name}");
        let body = r.bytes().await.unwrap();
        assert_eq!(body.len() as u64, f["bytes"].as_u64().unwrap(), "{name}");
        std::fs::write(got.path().join(name), &body).unwrap();
    }
    let opened = ferrocenter_core::recovery::open_archive(got.path(), Some(EXPORT_PW)).unwrap();
    assert_eq!(opened.manifest.parts.len(), 2);
    assert!(
        ferrocenter_core::recovery::open_archive(got.path(), Some("another-password")).is_err()
    );

    // The export is a task like a backup, listed under ferrocenter's own service.
    let (core, _) = ts.core_admin().await;
    let t = core.tasks.get(&id).await.unwrap();
    assert_eq!(t.kind.as_str(), "deployment.export");

    let (status, v) = ts
        .call_json(Method::DELETE, &format!("{EXPORT}/{id}"), &token, None)
        .await;
    assert_eq!(status, 204, "{v}");
    assert!(exports_left(&ts).is_empty(), "{:?}", exports_left(&ts));
    let (status, v) = ts
        .call_json(Method::GET, &format!("{EXPORT}/{id}"), &token, None)
        .await;
    assert_eq!(status, 404, "{v}");
    assert_eq!(v["error_type"], "NOT_FOUND", "{v}");
    let r = ts
        .call(
            Method::GET,
            &format!("{EXPORT_DOWNLOAD_PATH}{dl}/manifest.json"),
            None,
            None,
        )
        .await;
    assert_eq!(r.status(), 404);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_running_export_deleted_leaves_no_files_and_frees_the_recovery_lock() {
    let ts = TestServer::start().await;
    let token = ts.login(ADMIN).await;
    let (core, _) = ts.core_admin().await;

    // Held before it writes, so it is RUNNING when it is deleted.
    core.hold_upgrade_exports(true);
    let c = create(&ts, &token, false).await;
    let id = c["export"].as_str().unwrap().to_string();
    let dl = c["token"].as_str().unwrap().to_string();
    let (status, v) = ts
        .call_json(Method::GET, &format!("{EXPORT}/{id}"), &token, None)
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["state"], "RUNNING", "{v}");
    // Its files are not served while it runs.
    let r = ts
        .call(
            Method::GET,
            &format!("{EXPORT_DOWNLOAD_PATH}{dl}/manifest.json"),
            None,
            None,
        )
        .await;
    assert_eq!(r.status(), 404);
    // It holds the recovery lock: no second export runs meanwhile.
    let (status, v) = ts
        .call_json(
            Method::POST,
            EXPORT,
            &token,
            Some(json!({"spec": {"password": EXPORT_PW, "history": false}})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error_type"], "NOT_ALLOWED_IN_CURRENT_STATE", "{v}");

    let (status, v) = ts
        .call_json(Method::DELETE, &format!("{EXPORT}/{id}"), &token, None)
        .await;
    assert_eq!(status, 204, "{v}");
    assert!(exports_left(&ts).is_empty(), "{:?}", exports_left(&ts));
    let t = core.tasks.get(&id).await.unwrap();
    assert!(t.state.is_finished() && t.cancelled, "{t:?}");
    let (status, _) = ts
        .call_json(Method::GET, &format!("{EXPORT}/{id}"), &token, None)
        .await;
    assert_eq!(status, 404);

    // Released: the next export runs to its end.
    core.hold_upgrade_exports(false);
    let c = create(&ts, &token, false).await;
    let id = c["export"].as_str().unwrap().to_string();
    let done = follow(&ts, &token, &id).await;
    assert_eq!(done["state"], "SUCCEEDED", "{done}");
    assert_eq!(exports_left(&ts).len(), 1);
    let (status, _) = ts
        .call_json(Method::DELETE, &format!("{EXPORT}/{id}"), &token, None)
        .await;
    assert_eq!(status, 204);
    assert!(exports_left(&ts).is_empty());
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_superadmin_exports_and_an_unknown_export_is_not_found() {
    let ts = TestServer::start().await;
    let token = ts.login(ADMIN).await;
    let op = ts.user("op", Role::Admin).await;
    let op_token = ts.login(&op).await;

    let c = create(&ts, &token, false).await;
    let id = c["export"].as_str().unwrap().to_string();
    for (method, path, body) in [
        (
            Method::POST,
            EXPORT.to_string(),
            Some(json!({"spec": {"password": EXPORT_PW, "history": false}})),
        ),
        (Method::GET, format!("{EXPORT}/{id}"), None),
        (Method::DELETE, format!("{EXPORT}/{id}"), None),
    ] {
        let (status, v) = ts.call_json(method.clone(), &path, &op_token, body).await;
        assert_eq!(status, 403, "{method} {path}: {v}");
    }
    // The administrator's refused delete left it in place.
    let done = follow(&ts, &token, &id).await;
    assert_eq!(done["state"], "SUCCEEDED", "{done}");

    // A password too short to protect the archive, or none, is refused by name; nothing is
    // written.
    for spec in [json!({"password": "short"}), json!({"history": true})] {
        let (status, v) = ts
            .call_json(Method::POST, EXPORT, &token, Some(json!({ "spec": spec })))
            .await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(v["error_type"], "INVALID_ARGUMENT", "{v}");
        assert!(v.to_string().contains("spec.password"), "{v}");
    }
    assert_eq!(exports_left(&ts).len(), 1, "only the written export");

    for method in [Method::GET, Method::DELETE] {
        let (status, v) = ts
            .call_json(
                method.clone(),
                &format!("{EXPORT}/no-such-export"),
                &token,
                None,
            )
            .await;
        assert_eq!(status, 404, "{method}: {v}");
    }
    let (status, _) = ts
        .call_json(Method::DELETE, &format!("{EXPORT}/{id}"), &token, None)
        .await;
    assert_eq!(status, 204);
    ts.stop().await;
}
