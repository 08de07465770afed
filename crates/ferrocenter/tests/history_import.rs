//! Deferred history import (`vcenter.deployment.import_history`, seeds/003 chapter 5): a source
//! server with history (tasks, events, statistics) backs itself up to a real location; a
//! second server, which has history of its own, stages the backup's `seat` part and imports it
//! in the background while it serves, driven over `/api` with an SSO superAdmin and over the
//! appliance listener's `/rest` with root. Afterwards both servers' rows are there, none
//! twice. Batches are made small and slow through the import's settings, so that pause and
//! resume are seen; nothing is timed.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use common::*;
use ferrocenter_core::auth::{Caller, Role};
use ferrocenter_core::diagnostics::SleepSpec;
use ferrocenter_core::history_import::{
    HistorySource, BATCH_PAUSE_KEY, BATCH_ROWS_KEY, JOB_KEY, PROGRESS_KEY,
};
use ferrocenter_core::inventory::EventFilter;
use ferrocenter_core::ports::{Location, LocationSecret, LocationType, TaskFilter};
use ferrocenter_core::Core;
use reqwest::Method;
use serde_json::{json, Value};

const BACKUP_PASSWORD: &str = "History-Pass-1";
const SOURCE_EVENTS: usize = 400;
const SOURCE_TASKS: usize = 12;
const HISTORY: &str = "/api/vcenter/deployment/history";

/// Finished tasks, events and statistics samples made on `core`, labelled `who`.
async fn make_history(core: &Core, admin: &Caller, who: &str, tasks: usize, events: usize) {
    for _ in 0..tasks {
        let t = core
            .diagnostic_sleep(
                admin,
                SleepSpec {
                    duration_ms: 1,
                    target: None,
                    cancelable: false,
                    timeout_ms: None,
                    fail_message: None,
                },
            )
            .await
            .unwrap();
        core.tasks.wait(&t.id).await.unwrap();
    }
    for i in 0..events {
        core.record_event(
            "historyTest",
            "host",
            &format!("{who}-host"),
            &format!("{who} host"),
            "administrator@vsphere.local",
            format!("{who} event {i}"),
            json!({ "i": i }),
        )
        .await;
    }
    // Two readings: the second has rates; both write samples and aggregates.
    core.collect_statistics(true).await.unwrap();
    core.collect_statistics(true).await.unwrap();
}

async fn rows(core: &Core, table: &str) -> u64 {
    core.store.table_sizes(&[table.to_string()]).await.unwrap()[0].rows
}

/// Tasks by id and events as (message, time), as the core lists them.
async fn listings(core: &Core, admin: &Caller) -> (Vec<(String, String)>, Vec<(String, i64)>) {
    let tasks = core
        .list_tasks(admin, &TaskFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.moid))
        .collect();
    let events = core
        .list_events(admin, &EventFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.message, e.time.unix_timestamp()))
        .collect();
    (tasks, events)
}

/// Backs `ts` up (with the part `seat`, encrypted) to `location` through the backup job.
async fn backup(ts: &TestServer, piece: Value) {
    let token = ts.login(ADMIN).await;
    let (status, job) = ts
        .call_json(
            Method::POST,
            "/api/appliance/recovery/backup/job",
            &token,
            Some(json!({ "piece": piece })),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let path = format!("/api/appliance/recovery/backup/job/{id}");
    for _ in 0..600 {
        let (_, v) = ts.call_json(Method::GET, &path, &token, None).await;
        match v["state"].as_str() {
            Some("SUCCEEDED") => return,
            Some("INPROGRESS") => tokio::time::sleep(Duration::from_millis(100)).await,
            _ => panic!("the backup failed: {v}"),
        }
    }
    panic!("the backup never finished");
}

async fn get(ts: &TestServer, token: &str) -> Value {
    let (status, v) = ts.call_json(Method::GET, HISTORY, token, None).await;
    assert_eq!(status, 200, "{v}");
    v
}

async fn act(ts: &TestServer, token: &str, action: &str, body: Option<Value>) -> (u16, Value) {
    ts.call_json(
        Method::POST,
        &format!("{HISTORY}?action={action}"),
        token,
        body,
    )
    .await
}

/// The same action over the appliance listener's `/rest`, as root with Basic credentials.
async fn act_as_root(ts: &TestServer, action: &str) -> (u16, Value) {
    let r = ts
        .client
        .post(ts.appliance(&format!("/rest/vcenter/deployment/history?action={action}")))
        .basic_auth("root", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn get_as_root(ts: &TestServer) -> Value {
    let r = ts
        .client
        .get(ts.appliance("/rest/vcenter/deployment/history"))
        .basic_auth("root", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["value"].clone()
}

/// Polls `get` until `done` holds; panics with the last answer after two minutes.
async fn wait_for(ts: &TestServer, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..1200 {
        let v = get(ts, token).await;
        if done(&v) {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the history import never got there: {last}");
}

fn status(v: &Value) -> &str {
    v["status"].as_str().unwrap_or("")
}

/// Every task once (by id and by moId), every event the two servers made once, the source's
/// events at their own times.
fn assert_merged(
    tasks: &[(String, String)],
    events: &[(String, i64)],
    source_tasks: &[(String, String)],
    source_events: &[(String, i64)],
    own_tasks: &[(String, String)],
    own_events: &[(String, i64)],
) {
    let ids: HashSet<&str> = tasks.iter().map(|(id, _)| id.as_str()).collect();
    let moids: HashSet<&str> = tasks.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(ids.len(), tasks.len(), "a task id twice");
    assert_eq!(moids.len(), tasks.len(), "a task moId twice");
    for (id, _) in source_tasks.iter().chain(own_tasks) {
        assert!(ids.contains(id.as_str()), "task {id} is missing");
    }
    assert_eq!(tasks.len(), source_tasks.len() + own_tasks.len());
    let mut counted: BTreeMap<&str, usize> = BTreeMap::new();
    for (m, _) in events {
        *counted.entry(m.as_str()).or_default() += 1;
    }
    for (m, t) in source_events.iter().chain(own_events) {
        assert_eq!(counted.get(m.as_str()), Some(&1), "event {m:?}");
        assert!(events.contains(&(m.clone(), *t)), "event {m:?} at {t}");
    }
    assert_eq!(events.len(), source_events.len() + own_events.len());
}

/// The whole life of an import over both listeners: staged from a backup at an SFTP location,
/// started, paused, resumed, finished; then a second staging cancelled for good; and who may
/// call it.
#[tokio::test]
async fn history_from_a_backup_merges_into_a_live_server_over_both_listeners() {
    let Some(ssh) = ferrocenter_testkit::file_servers::SshServer::start() else {
        eprintln!("SKIPPED: sshd and root are needed for the SFTP location");
        return;
    };
    let source = TestServer::start().await;
    let (core, admin) = source.core_admin().await;
    make_history(&core, &admin, "source", SOURCE_TASKS, SOURCE_EVENTS).await;
    let dir = ssh.user.home.join("backups/history");
    let url = ssh.url("sftp", dir.to_str().unwrap());
    backup(
        &source,
        json!({
            "parts": ["seat"],
            "location_type": "SFTP",
            "location": url,
            "location_user": ssh.user.name,
            "location_password": ssh.user.password,
            "backup_password": BACKUP_PASSWORD,
        }),
    )
    .await;
    // What the backup holds: read after it, it includes the backup's own task.
    let (source_tasks, source_events) = listings(&core, &admin).await;
    let source_samples = rows(&core, "stat_samples").await;
    assert!(source_samples > 0);
    source.stop().await;

    let target = TestServer::start().await;
    let (core, admin) = target.core_admin().await;
    make_history(&core, &admin, "target", 3, 5).await;
    let (own_tasks, own_events) = listings(&core, &admin).await;
    let own_samples = rows(&core, "stat_samples").await;

    // Before anything is staged: PENDING, and nothing to start.
    let token = target.login(ADMIN).await;
    let nothing = get(&target, &token).await;
    assert_eq!(status(&nothing), "PENDING", "{nothing}");
    let (code, refused) = act(&target, &token, "start", None).await;
    assert_eq!(code, 400, "{refused}");
    assert_eq!(refused["error_type"], "NOT_ALLOWED_IN_CURRENT_STATE");

    let location = Location {
        kind: LocationType::Sftp,
        url: url.clone(),
        user: Some(ssh.user.name.clone()),
        password: Some(LocationSecret::new(ssh.user.password.clone())),
    };
    let stage = || HistorySource::Location {
        location: location.clone(),
        password: Some(LocationSecret::new(BACKUP_PASSWORD)),
    };
    // A wrong backup password is refused naming the field.
    let wrong = core
        .stage_history_import(
            &admin,
            HistorySource::Location {
                location: location.clone(),
                password: Some(LocationSecret::new("Wrong-Pass-1")),
            },
        )
        .await
        .unwrap_err();
    assert!(wrong.to_string().contains("backup password"), "{wrong}");
    let summary = core.stage_history_import(&admin, stage()).await.unwrap();
    let staged: BTreeMap<String, u64> = summary.tables.iter().cloned().collect();
    assert_eq!(staged["tasks"], source_tasks.len() as u64, "{summary:?}");
    assert_eq!(staged["events"], source_events.len() as u64);
    assert_eq!(staged["stat_samples"], source_samples);
    // Staging changed no row.
    assert_eq!(
        listings(&core, &admin).await,
        (own_tasks.clone(), own_events.clone())
    );
    assert_eq!(core.store.get_setting(JOB_KEY).await.unwrap(), None);

    // Small, slow batches: the import is still running when it is paused.
    core.store.put_setting(BATCH_ROWS_KEY, "5").await.unwrap();
    core.store
        .put_setting(BATCH_PAUSE_KEY, "100")
        .await
        .unwrap();
    let pending = get(&target, &token).await;
    assert_eq!(status(&pending), "PENDING", "{pending}");
    for absent in ["progress", "start_time", "end_time", "result", "error"] {
        assert!(pending.get(absent).is_none(), "{pending}");
    }
    let total = summary.total.to_string();
    assert!(
        pending["description"]["default_message"]
            .as_str()
            .unwrap()
            .contains(&total),
        "{pending}"
    );
    let (code, r) = act(&target, &token, "pause", None).await;
    assert_eq!(
        (code, r["error_type"].as_str()),
        (400, Some("NOT_ALLOWED_IN_CURRENT_STATE"))
    );

    let spec = json!({"spec": {"name": "moved-history", "description": "History of the old vc"}});
    let (code, r) = act(&target, &token, "start", Some(spec)).await;
    assert_eq!(code, 204, "{r}");
    let running = get(&target, &token).await;
    assert_eq!(status(&running), "RUNNING", "{running}");
    assert_eq!(
        running["description"]["default_message"],
        "History of the old vc"
    );
    assert_eq!(running["progress"]["total"], summary.total);
    assert!(running.get("start_time").is_some() && running.get("end_time").is_none());
    let (code, r) = act(&target, &token, "start", None).await;
    assert_eq!(
        (code, r["error_type"].as_str()),
        (400, Some("ALREADY_IN_DESIRED_STATE"))
    );

    let (code, r) = act(&target, &token, "pause", None).await;
    assert_eq!(code, 204, "{r}");
    let paused = get(&target, &token).await;
    assert_eq!(status(&paused), "BLOCKED", "{paused}");
    assert!(paused.get("error").is_none(), "{paused}");
    let note = &paused["result"]["info"][0];
    assert!(
        note["message"]["default_message"]
            .as_str()
            .unwrap()
            .contains("Paused by"),
        "{paused}"
    );
    let (code, r) = act(&target, &token, "pause", None).await;
    assert_eq!(
        (code, r["error_type"].as_str()),
        (400, Some("ALREADY_IN_DESIRED_STATE"))
    );
    let (code, r) = act(&target, &token, "start", None).await;
    assert_eq!(
        (code, r["error_type"].as_str()),
        (400, Some("NOT_ALLOWED_IN_CURRENT_STATE"))
    );
    // While it is paused nothing more comes in.
    let at_pause = get(&target, &token).await["progress"]["completed"].clone();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        get(&target, &token).await["progress"]["completed"],
        at_pause
    );
    assert!(at_pause.as_u64().unwrap() < summary.total, "{at_pause}");
    // The server serves meanwhile, and its new rows are kept too.
    core.record_event(
        "historyTest",
        "host",
        "target-host",
        "target host",
        "administrator@vsphere.local",
        "target event while paused".into(),
        json!({}),
    )
    .await;

    // Resumed by root over the appliance listener's /rest, now in big, quick batches.
    core.store.put_setting(BATCH_ROWS_KEY, "200").await.unwrap();
    core.store.put_setting(BATCH_PAUSE_KEY, "0").await.unwrap();
    let (code, r) = act_as_root(&target, "resume").await;
    assert_eq!(code, 200, "{r}");
    let (code, r) = act_as_root(&target, "resume").await;
    assert!(
        code == 400 || status(&get_as_root(&target).await) == "SUCCEEDED",
        "{code} {r}"
    );
    let done = wait_for(&target, &token, |v| status(v) != "RUNNING").await;
    assert_eq!(status(&done), "SUCCEEDED", "{done}");
    assert_eq!(done["progress"]["completed"], summary.total, "{done}");
    assert!(done.get("end_time").is_some(), "{done}");
    assert_eq!(get_as_root(&target).await["status"], "SUCCEEDED");

    let (tasks, events) = listings(&core, &admin).await;
    let mut own_events = own_events;
    own_events.extend(
        listings(&core, &admin)
            .await
            .1
            .into_iter()
            .filter(|(m, _)| m == "target event while paused"),
    );
    assert_merged(
        &tasks,
        &events,
        &source_tasks,
        &source_events,
        &own_tasks,
        &own_events,
    );
    assert!(rows(&core, "stat_samples").await >= own_samples.max(source_samples));
    // Tasks the source had not finished (its backup's own) are closed here.
    let all = core
        .list_tasks(&admin, &TaskFilter::default())
        .await
        .unwrap();
    assert!(
        all.iter().all(|t| t.state.is_finished()),
        "an unfinished task was imported"
    );
    // The cis.tasks listing holds the imported tasks too.
    let (code, listed) = target
        .call_json(
            Method::POST,
            "/api/cis/tasks?action=list",
            &token,
            Some(json!({})),
        )
        .await;
    assert_eq!(code, 200, "{listed}");
    let listed = listed.to_string();
    for (id, _) in &source_tasks {
        assert!(listed.contains(id.as_str()), "task {id} is not listed");
    }
    // A completed import cannot change any more.
    for action in ["start", "pause", "resume"] {
        let (code, r) = act(&target, &token, action, None).await;
        assert_eq!(
            (code, r["error_type"].as_str()),
            (400, Some("NOT_ALLOWED_IN_CURRENT_STATE")),
            "{action}"
        );
    }

    // A second staging is cancelled: FAILED for good.
    core.store.put_setting(BATCH_ROWS_KEY, "5").await.unwrap();
    core.store
        .put_setting(BATCH_PAUSE_KEY, "100")
        .await
        .unwrap();
    core.stage_history_import(&admin, stage()).await.unwrap();
    assert_eq!(status(&get(&target, &token).await), "PENDING");
    let (code, r) = act(&target, &token, "cancel", None).await;
    assert_eq!(
        (code, r["error_type"].as_str()),
        (400, Some("NOT_ALLOWED_IN_CURRENT_STATE"))
    );
    let (code, _) = act(&target, &token, "start", None).await;
    assert_eq!(code, 204);
    let (code, r) = act(&target, &token, "cancel", None).await;
    assert_eq!(code, 204, "{r}");
    let failed = get(&target, &token).await;
    assert_eq!(status(&failed), "FAILED", "{failed}");
    assert_eq!(failed["error"]["error_type"], "CANCELED", "{failed}");
    assert!(failed.get("end_time").is_some());
    let (code, r) = act(&target, &token, "resume", None).await;
    assert_eq!(
        (code, r["error_type"].as_str()),
        (400, Some("NOT_ALLOWED_IN_CURRENT_STATE"))
    );
    let (code, r) = act(&target, &token, "cancel", None).await;
    assert_eq!(
        (code, r["error_type"].as_str()),
        (400, Some("ALREADY_IN_DESIRED_STATE"))
    );
    let (code, r) = act_as_root(&target, "resume").await;
    assert_eq!(code, 400, "{r}");
    assert_eq!(status(&get(&target, &token).await), "FAILED");
    // Its staged files are gone once the job has let go of them.
    let staged_dir = target.dir.path().join("history-import");
    for _ in 0..100 {
        if !staged_dir.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!staged_dir.exists());

    // Only a superAdmin: an administrator and an operator are refused, even get; no one
    // unauthenticated.
    for (name, role) in [("hist-admin", Role::Admin), ("hist-op", Role::Operator)] {
        let user = target.user(name, role).await;
        let t = target.login(&user).await;
        let (code, _) = target.call_json(Method::GET, HISTORY, &t, None).await;
        assert_eq!(code, 403, "{user}");
        let (code, _) = act(&target, &t, "pause", None).await;
        assert_eq!(code, 403, "{user}");
    }
    let r = target.call(Method::GET, HISTORY, None, None).await;
    assert_eq!(r.status(), 401);
    target.stop().await;
}

/// A staged file damaged mid-import stops the import BLOCKED with the reason; put back, the
/// import resumes where it was and completes, each row once. Staged here from a local archive
/// directory (a PATH backup), the other form `stage_history_import` takes.
#[tokio::test]
async fn a_damaged_staging_blocks_the_import_until_it_is_put_back() {
    let source = TestServer::start().await;
    let (core, admin) = source.core_admin().await;
    make_history(&core, &admin, "source", 4, 120).await;
    let archive = tempfile::tempdir().unwrap();
    let at = archive.path().join("vc1");
    backup(
        &source,
        json!({"parts": ["seat"], "location_type": "PATH", "location": at.to_str().unwrap()}),
    )
    .await;
    let (source_tasks, source_events) = listings(&core, &admin).await;
    source.stop().await;

    let target = TestServer::start().await;
    let (core, admin) = target.core_admin().await;
    make_history(&core, &admin, "target", 2, 3).await;
    let (own_tasks, own_events) = listings(&core, &admin).await;
    core.stage_history_import(
        &admin,
        HistorySource::Directory {
            path: at.clone(),
            password: None,
        },
    )
    .await
    .unwrap();
    let staged: &Path = &target.dir.path().join("history-import");
    let events_file = staged.join("events.jsonl.zst");
    let good = std::fs::read(&events_file).unwrap();
    let mut bad = good.clone();
    let middle = bad.len() / 2;
    bad[middle] ^= 0xff;
    std::fs::write(&events_file, &bad).unwrap();

    let token = target.login(ADMIN).await;
    let (code, r) = act(&target, &token, "start", None).await;
    assert_eq!(code, 204, "{r}");
    let blocked = wait_for(&target, &token, |v| status(v) != "RUNNING").await;
    assert_eq!(status(&blocked), "BLOCKED", "{blocked}");
    assert!(blocked.get("error").is_none(), "{blocked}");
    let why = blocked["result"]["errors"][0]["message"]["default_message"]
        .as_str()
        .unwrap();
    assert!(
        why.contains("events.jsonl.zst") && why.contains("checksum"),
        "{why}"
    );
    // The tasks before it are in; not one event of the damaged file.
    let (tasks, events) = listings(&core, &admin).await;
    assert_eq!(tasks.len(), own_tasks.len() + source_tasks.len());
    assert_eq!(events.len(), own_events.len());

    std::fs::write(&events_file, &good).unwrap();
    let (code, r) = act(&target, &token, "resume", None).await;
    assert_eq!(code, 204, "{r}");
    let done = wait_for(&target, &token, |v| status(v) != "RUNNING").await;
    assert_eq!(status(&done), "SUCCEEDED", "{done}");
    let (tasks, events) = listings(&core, &admin).await;
    assert_merged(
        &tasks,
        &events,
        &source_tasks,
        &source_events,
        &own_tasks,
        &own_events,
    );
    // The progress record is this import's, at its end.
    let p: Value =
        serde_json::from_str(&core.store.get_setting(PROGRESS_KEY).await.unwrap().unwrap())
            .unwrap();
    assert_eq!(p["done"], done["progress"]["total"]);
    target.stop().await;
}

/// The server process killed mid-import: at its next start the import is BLOCKED saying the
/// server stopped, and resumed it continues from the last batch written — every row once.
#[tokio::test]
async fn a_server_killed_mid_import_resumes_from_its_last_batch() {
    let source = TestServer::start().await;
    let (core, admin) = source.core_admin().await;
    make_history(&core, &admin, "source", 3, SOURCE_EVENTS).await;
    let archive = tempfile::tempdir().unwrap();
    let at = archive.path().join("vc1");
    backup(
        &source,
        json!({"parts": ["seat"], "location_type": "PATH", "location": at.to_str().unwrap()}),
    )
    .await;
    let (source_tasks, source_events) = listings(&core, &admin).await;
    source.stop().await;

    // Staged by an in-process server, which then stops: the binary takes its data directory.
    let mut staging = TestServer::start().await;
    let (core, admin) = staging.core_admin().await;
    make_history(&core, &admin, "target", 2, 3).await;
    let (own_tasks, own_events) = listings(&core, &admin).await;
    core.stage_history_import(
        &admin,
        HistorySource::Directory {
            path: at.clone(),
            password: None,
        },
    )
    .await
    .unwrap();
    core.store.put_setting(BATCH_ROWS_KEY, "5").await.unwrap();
    core.store.put_setting(BATCH_PAUSE_KEY, "50").await.unwrap();
    drop((core, admin));
    staging.server.take().unwrap().stop().await;
    let data = staging.dir.path().to_path_buf();

    let (api, appliance) = (free_local_addr(), free_local_addr());
    let mut server = serve_at(&data, &api, &appliance, &[]);
    let token = login_at(&api, ADMIN).await;
    let r = client()
        .post(format!("https://{api}{HISTORY}?action=start"))
        .header("vmware-api-session-id", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // Some batches in, then SIGKILL.
    for _ in 0..600 {
        let v = get_json(&api, HISTORY, &token).await;
        assert_eq!(status(&v), "RUNNING", "{v}");
        if v["progress"]["completed"].as_u64().unwrap() >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.signal(libc::SIGKILL);
    server.wait_exit(Duration::from_secs(30));

    let mut server = serve_at(&data, &api, &appliance, &[]);
    let token = login_at(&api, ADMIN).await;
    let blocked = get_json(&api, HISTORY, &token).await;
    assert_eq!(status(&blocked), "BLOCKED", "{blocked}");
    let why = blocked["result"]["warnings"][0]["message"]["default_message"]
        .as_str()
        .unwrap();
    assert!(why.contains("server stopped"), "{why}");
    let completed = blocked["progress"]["completed"].as_u64().unwrap();
    assert!(completed >= 20, "{blocked}");
    let r = client()
        .post(format!(
            "https://{appliance}/rest/vcenter/deployment/history?action=resume"
        ))
        .basic_auth("root", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut last = Value::Null;
    for _ in 0..1200 {
        last = get_json(&api, HISTORY, &token).await;
        if status(&last) != "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status(&last), "SUCCEEDED", "{last}");
    server.signal(libc::SIGTERM);
    server.wait_exit(Duration::from_secs(30));

    // In the store: every row once, though a batch was being written when the server died.
    let store = ferrocenter_store::open_existing(&ferrocenter_store::default_sqlite_url(&data))
        .await
        .unwrap();
    let tasks: Vec<(String, String)> = store
        .list_tasks(&TaskFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.moid))
        .collect();
    let events: Vec<(String, i64)> = store
        .list_events(&EventFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.message, e.time.unix_timestamp()))
        .collect();
    assert_merged(
        &tasks,
        &events,
        &source_tasks,
        &source_events,
        &own_tasks,
        &own_events,
    );
}

/// The official SDK's `ImportHistory` on both listeners: the guide's sample flow (pause a
/// RUNNING import, resume a paused one) as root on the appliance listener, and a cancel as the
/// SSO administrator on the main listener.
#[tokio::test]
async fn the_official_python_sdk_pauses_resumes_and_cancels_an_import() {
    use common::sdk::{run_sdk_script, sdk_python};
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let source = TestServer::start().await;
    let (core, admin) = source.core_admin().await;
    make_history(&core, &admin, "source", 3, 100).await;
    let archive = tempfile::tempdir().unwrap();
    let at = archive.path().join("vc1");
    backup(
        &source,
        json!({"parts": ["seat"], "location_type": "PATH", "location": at.to_str().unwrap()}),
    )
    .await;
    source.stop().await;

    let target = TestServer::start().await;
    let (core, admin) = target.core_admin().await;
    let stage = || async {
        core.stage_history_import(
            &admin,
            HistorySource::Directory {
                path: at.clone(),
                password: None,
            },
        )
        .await
        .unwrap()
    };
    let summary = stage().await;
    core.store.put_setting(BATCH_ROWS_KEY, "5").await.unwrap();
    core.store.put_setting(BATCH_PAUSE_KEY, "20").await.unwrap();
    let host_port = |url: String| url.trim_start_matches("https://").to_string();
    let appliance = host_port(target.appliance(""));
    let v = run_sdk_script(
        &python,
        "import_history.py",
        &[&appliance, "root", PASSWORD, "run"],
    )
    .await;
    assert_eq!(v["before"]["status"], "PENDING", "{v}");
    assert_eq!(
        v["before"]["service"],
        "com.vmware.vcenter.deployment.import_history"
    );
    assert_eq!(v["pause_pending"], "NotAllowedInCurrentState");
    assert_eq!(v["started"]["status"], "RUNNING", "{v}");
    assert_eq!(v["started"]["description"], "History by the SDK");
    assert_eq!(v["started"]["total"], summary.total);
    assert_eq!(v["start_again"], "AlreadyInDesiredState");
    assert_eq!(v["paused"]["status"], "BLOCKED", "{v}");
    assert!(
        v["paused"]["info"][0]
            .as_str()
            .unwrap()
            .contains("Paused by root"),
        "{v}"
    );
    assert_eq!(v["pause_again"], "AlreadyInDesiredState");
    assert_eq!(v["ended"]["status"], "SUCCEEDED", "{v}");
    assert_eq!(v["ended"]["completed"], summary.total);
    assert_eq!(v["ended"]["has_end_time"], true);
    assert_eq!(v["resume_ended"], "NotAllowedInCurrentState");

    stage().await;
    let main = host_port(target.api(""));
    let v = run_sdk_script(
        &python,
        "import_history.py",
        &[&main, ADMIN, PASSWORD, "cancel"],
    )
    .await;
    assert_eq!(v["started"]["status"], "RUNNING", "{v}");
    assert_eq!(v["started"]["description"], "vCenter Server history import");
    assert_eq!(v["cancelled"]["status"], "FAILED", "{v}");
    assert_eq!(v["cancelled"]["error"], "Canceled", "{v}");
    assert_eq!(v["cancelled"]["cancelable"], false);
    assert_eq!(v["resume_cancelled"], "NotAllowedInCurrentState");
    assert_eq!(v["cancel_again"], "AlreadyInDesiredState");
    target.stop().await;
}
