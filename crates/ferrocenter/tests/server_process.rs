//! The `ferrocenter` binary itself: first start, restarts, signals, bad configuration, and
//! recovery of tasks after SIGKILL, on SQLite and on PostgreSQL.
mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::*;
use ferrocenter_testkit::{free_port, pg::PgCluster};
use serde_json::{json, Value};

fn ports() -> (String, String) {
    (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    )
}

#[test]
fn version_prints_the_version() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrocenter"))
        .arg("version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(
        s.starts_with(&format!("ferrocenter {}", env!("CARGO_PKG_VERSION"))),
        "{s}"
    );
}

#[test]
fn invalid_configuration_stops_startup_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (args, key) in [
        (vec!["--listen", "not-an-address"], "listen:"),
        (vec!["--max-body-bytes", "ten"], "max_body_bytes:"),
        (vec!["--database-url", "mysql://x"], "database_url:"),
    ] {
        let mut p = spawn_server(&dir.path().join("d"), &args);
        let status = p.wait_exit(Duration::from_secs(20));
        assert_eq!(status.code(), Some(2), "{args:?}");
        assert!(p.stderr().contains(key), "{args:?}: {}", p.stderr());
    }
    // Environment variables are read too, and named by their key.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrocenter"))
        .args(["serve", "--data-dir"])
        .arg(dir.path().join("e"))
        .env("FERROCENTER_LOCKOUT_MAX_FAILURES", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lockout_max_failures"));
    // A listener that cannot bind names its key too.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = busy.local_addr().unwrap().to_string();
    let mut p = spawn_server(
        &dir.path().join("f"),
        &["--listen", "127.0.0.1:0", "--appliance-listen", &busy_addr],
    );
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(2));
    assert!(p.stderr().contains("appliance_listen"), "{}", p.stderr());
}

#[tokio::test]
async fn first_start_generates_a_password_once_and_sigterm_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (api, app) = ports();
    let args = ["--listen", &api, "--appliance-listen", &app];
    let mut p = spawn_server(&data, &args);
    let out = p.wait_stdout("thumbprint", Duration::from_secs(60));
    let pw_file = data.join("initial-admin-password");
    let pw = std::fs::read_to_string(&pw_file)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(
        std::fs::metadata(&pw_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(out.contains(&pw), "the generated password is printed once");
    assert!(out.contains(&format!("https://{api}")) && out.contains(&format!("https://{app}")));
    assert!(
        !p.stderr().contains(&pw),
        "the password never reaches the logs"
    );
    assert!(std::fs::read_dir(data.join("logs")).unwrap().count() > 0);

    let c = client();
    let r = c
        .post(format!("https://{api}/api/session"))
        .basic_auth(ADMIN, Some(&pw))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token: String = r.json().await.unwrap();
    let logs = std::fs::read_dir(data.join("logs"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(
        !p.stderr().contains(&token) && !logs.contains(&token),
        "tokens are never logged"
    );

    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(0));

    // Second start: same certificate, no new password, the old one still works.
    let first_thumb = printed_thumbprint(&out);
    let mut p = spawn_server(
        &data,
        &[&args[..], &["--admin-password", "Other-Pass-99"]].concat(),
    );
    let out2 = p.wait_stdout("thumbprint", Duration::from_secs(60));
    assert_eq!(printed_thumbprint(&out2), first_thumb);
    assert!(!out2.contains("Generated"));
    // A new client: the old one's pooled connection went away with the first process.
    let r = client()
        .post(format!("https://{api}/api/session"))
        .basic_auth(ADMIN, Some(&pw))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        201,
        "admin_password applies on first start only"
    );
    p.signal(libc::SIGINT);
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

#[tokio::test]
async fn plain_http_listener_serves_the_same_routes() {
    let dir = tempfile::tempdir().unwrap();
    let (api, app) = ports();
    let http = format!("127.0.0.1:{}", free_port());
    let mut p = spawn_server(
        &dir.path().join("d"),
        &[
            "--listen",
            &api,
            "--appliance-listen",
            &app,
            "--http-listen",
            &http,
            "--admin-password",
            PASSWORD,
        ],
    );
    p.wait_stdout("thumbprint", Duration::from_secs(60));
    assert!(
        p.stderr().contains("unencrypted"),
        "a warning names the risk"
    );
    let r = client()
        .post(format!("http://{http}/api/session"))
        .basic_auth(ADMIN, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = client()
        .get(format!("http://{http}/zstack/v1/l3-networks"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

/// SIGKILL while 50 tasks run, restart: no task is left queued or running.
async fn sigkill_recovery(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (api, app) = ports();
    let mut args = vec![
        "--listen".to_string(),
        api.clone(),
        "--appliance-listen".into(),
        app,
        "--admin-password".into(),
        PASSWORD.into(),
        "--enable-diagnostics".into(),
    ];
    if let Some(url) = &database_url {
        args.push("--database-url".into());
        args.push(url.clone());
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut p = spawn_server(&data, &argv);
    p.wait_stdout("thumbprint", Duration::from_secs(60));
    let c = client();
    let base = format!("https://{api}");
    let login = |c: reqwest::Client| {
        let base = base.clone();
        async move {
            let r = c
                .post(format!("{base}/api/session"))
                .basic_auth(ADMIN, Some(PASSWORD))
                .send()
                .await
                .unwrap();
            r.json::<String>().await.unwrap()
        }
    };
    let token = login(c.clone()).await;
    let mut ids = Vec::new();
    for i in 0..50 {
        // Ten entities: five tasks run and the rest wait in their entity's queue.
        let r = c
            .post(format!("{base}/api/ferrocenter/diagnostics/sleep"))
            .header("vmware-api-session-id", &token)
            .json(&json!({"duration_ms": 60000, "target": format!("host-{}", i % 10)}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        ids.push(r.json::<String>().await.unwrap());
    }
    let list = |c: reqwest::Client, token: String, filter: Value| {
        let base = base.clone();
        async move {
            let r = c
                .post(format!("{base}/api/cis/tasks?action=list"))
                .header("vmware-api-session-id", token)
                .json(&json!({ "filter_spec": filter }))
                .send()
                .await
                .unwrap();
            r.json::<Value>()
                .await
                .unwrap()
                .as_object()
                .unwrap()
                .clone()
        }
    };
    let live = list(
        c.clone(),
        token.clone(),
        json!({"status": ["PENDING", "RUNNING"]}),
    )
    .await;
    assert_eq!(live.len(), 50);
    assert!(live.values().any(|t| t["status"] == "RUNNING"));

    p.signal(libc::SIGKILL);
    p.wait_exit(Duration::from_secs(10));
    let mut p = spawn_server(&data, &argv);
    p.wait_stdout("thumbprint", Duration::from_secs(60));
    let c = client();
    let token = login(c.clone()).await;
    let live = list(
        c.clone(),
        token.clone(),
        json!({"status": ["PENDING", "RUNNING"]}),
    )
    .await;
    assert!(live.is_empty(), "left unfinished: {live:?}");
    let all = list(c.clone(), token, json!({"tasks": ids})).await;
    assert_eq!(all.len(), 50);
    for t in all.values() {
        assert_eq!(t["status"], "FAILED");
        let msg = t["error"]["messages"][0]["default_message"]
            .as_str()
            .unwrap();
        assert!(msg.contains("server restarted"), "{msg}");
    }
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

#[tokio::test]
async fn sigkill_with_50_tasks_then_restart_on_sqlite() {
    sigkill_recovery(None).await;
}

#[tokio::test]
async fn sigkill_with_50_tasks_then_restart_on_postgresql() {
    let cluster = match PgCluster::start() {
        Ok(c) => c,
        Err(why) => {
            println!("SKIPPED sigkill_with_50_tasks_then_restart_on_postgresql: {why}");
            return;
        }
    };
    let url = cluster.create_database("fc").unwrap();
    sigkill_recovery(Some(url)).await;
}
