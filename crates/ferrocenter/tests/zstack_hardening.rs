//! ZStack under hostile input: web hooks (who may ask for one, where it may go, what is logged),
//! jobs that unauthenticated calls must not create, query limits and mistakes, and names.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::{Duration, Instant};

use common::zstack::{code, details, hook_receiver, uuid_hex, ZsClient};
use common::*;
use ferrocenter_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

/// One call as the SDK sends it (fresh `X-Job-UUID`), not polled: status and body.
async fn send(
    ts: &TestServer,
    method: Method,
    path: &str,
    session: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (u16, Value) {
    let mut rb = ts
        .client
        .request(method, ts.api(path))
        .header("X-Job-UUID", uuid_hex())
        .header("Authorization", format!("OAuth {session}"))
        .json(&body);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let r = rb.send().await.unwrap();
    let s = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        s,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// How many hook requests arrive within `wait`.
async fn count_posts(
    rx: &mut tokio::sync::mpsc::Receiver<(std::collections::HashMap<String, String>, Value)>,
    wait: Duration,
) -> usize {
    let end = Instant::now() + wait;
    let mut n = 0;
    while let Ok(Some(_)) = tokio::time::timeout_at(end.into(), rx.recv()).await {
        n += 1;
    }
    n
}

fn zone_body(name: &str) -> Value {
    json!({"params": {"name": name}})
}

#[tokio::test]
async fn web_hooks_only_for_callers_holding_the_privilege() {
    let ts = TestServer::start().await;
    let (url, mut hooks) = hook_receiver().await;
    let hook = [("X-Web-Hook", url.as_str())];

    // A bogus session: the auth error at once, no job, nothing posted.
    let (s, v) = send(
        &ts,
        Method::POST,
        "/zstack/v1/zones",
        "0123456789abcdef0123456789abcdef",
        &hook,
        zone_body("z1"),
    )
    .await;
    assert_eq!((s, code(&v)), (503, "ID.1001"), "{v}");

    // A read-only operator: refused before any job exists, nothing posted.
    ts.user("viewer", Role::Operator).await;
    let viewer = ZsClient::new(ts.client.clone(), &ts.api(""), "viewer", PASSWORD).await;
    let (s, v) = send(
        &ts,
        Method::POST,
        "/zstack/v1/zones",
        &viewer.session,
        &hook,
        zone_body("z2"),
    )
    .await;
    assert_eq!((s, code(&v)), (503, "ID.1002"), "{v}");
    // Also when the body is one the binding refuses before the core runs.
    let (s, v) = send(
        &ts,
        Method::POST,
        "/zstack/v1/zones",
        &viewer.session,
        &hook,
        json!({"params": {}}),
    )
    .await;
    assert_eq!((s, code(&v)), (503, "ID.1002"), "{v}");

    let posts = count_posts(&mut hooks, Duration::from_secs(3)).await;
    println!("hook POSTs from unauthenticated and read-only callers: {posts}");
    assert_eq!(posts, 0);
    ts.stop().await;
}

#[tokio::test]
async fn web_hooks_go_only_to_allowed_destinations() {
    let (url, mut hooks) = hook_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ferrocenter.toml");
    // The allowed prefix: this receiver's scheme, host, port and path.
    std::fs::write(&cfg, format!("zstack_web_hook_allow = [\"{url}\"]\n")).unwrap();
    let ts = TestServer::start_with(|a| a.config = Some(cfg.clone())).await;
    let admin = ZsClient::new(ts.client.clone(), &ts.api(""), "admin", PASSWORD).await;

    // Another port, another path, another scheme: refused, naming the header.
    let port = url.rsplit(':').next().unwrap().trim_end_matches("/hook");
    for bad in [
        format!("http://127.0.0.1:{}/hook", port.parse::<u16>().unwrap() ^ 1),
        url.replace("/hook", "/other"),
        url.replace("http://", "https://"),
        "http://169.254.169.254/latest/meta-data".to_string(),
    ] {
        let (s, v) = send(
            &ts,
            Method::POST,
            "/zstack/v1/zones",
            &admin.session,
            &[("X-Web-Hook", bad.as_str())],
            zone_body("z3"),
        )
        .await;
        assert_eq!(s, 400, "{bad}: {v}");
        assert!(v.as_str().unwrap().contains("X-Web-Hook"), "{v}");
    }
    // The allowed destination (a query string is part of the caller's URL, not of the prefix).
    let with_token = format!("{url}?token=abc");
    let (s, v) = admin
        .sdk_with(
            Method::POST,
            "/zstack/v1/zones",
            Some(zone_body("z4")),
            &[("X-Web-Hook", with_token.as_str())],
        )
        .await;
    assert_eq!((s, &v["inventory"]["name"]), (200, &json!("z4")), "{v}");
    let posts = count_posts(&mut hooks, Duration::from_secs(3)).await;
    assert_eq!(
        posts, 1,
        "the result is posted once to an allowed destination"
    );
    ts.stop().await;
}

#[tokio::test]
async fn unauthenticated_calls_create_no_jobs() {
    let ts = TestServer::start().await;
    let jobs = || ts.server.as_ref().unwrap().zstack_job_count();
    let before = jobs();
    let bogus = "0123456789abcdef0123456789abcdef";
    let zone = "fedcba9876543210fedcba9876543210";
    for i in 0..200 {
        let (method, path, body) = match i % 3 {
            0 => (Method::POST, "/zstack/v1/zones".to_string(), zone_body("z")),
            1 => (
                Method::PUT,
                format!("/zstack/v1/zones/{zone}/actions"),
                json!({"changeZoneState": {"stateEvent": "disable"}}),
            ),
            _ => (
                Method::DELETE,
                format!("/zstack/v1/zones/{zone}"),
                json!({}),
            ),
        };
        let (s, v) = send(&ts, method, &path, bogus, &[], body).await;
        assert_eq!((s, code(&v)), (503, "ID.1001"), "{path}: {v}");
    }
    let after = jobs();
    println!("jobs held before {before}, after 200 unauthenticated calls {after}");
    assert_eq!(after, before);
    ts.stop().await;
}

#[tokio::test]
async fn queries_bound_their_conditions_and_show_no_store_text() {
    let ts = TestServer::start().await;
    let admin = ZsClient::new(ts.client.clone(), &ts.api(""), "admin", PASSWORD).await;
    let many: String = (0..1000)
        .map(|i| format!("q=name!=n{i}"))
        .collect::<Vec<_>>()
        .join("&");
    let (s, v) = admin.get(&format!("/zstack/v1/zones?{many}")).await;
    let text = v.to_string();
    println!("1000 conditions: {s} {}", &text[..text.len().min(300)]);
    for leak in ["SELECT", "sqlite", "database", "Expression tree", "SQL"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    assert_eq!((s, code(&v)), (503, "SYS.1007"), "{v}");
    assert!(
        details(&v).contains("[q]") || details(&v).contains("'q'"),
        "{v}"
    );
    // A hundred conditions still run.
    let some: String = (0..100)
        .map(|i| format!("q=name!=n{i}"))
        .collect::<Vec<_>>()
        .join("&");
    let (s, v) = admin.get(&format!("/zstack/v1/zones?{some}")).await;
    assert_eq!(s, 200, "{v}");
    ts.stop().await;
}

#[tokio::test]
async fn query_mistakes_are_argument_errors_naming_the_condition() {
    let ts = TestServer::start().await;
    let admin = ZsClient::new(ts.client.clone(), &ts.api(""), "admin", PASSWORD).await;
    for (query, named) in [
        ("q=color=red", "color=red"),
        ("q=createDate>yesterday", "createDate>yesterday"),
        ("q=isDefault=maybe", "isDefault=maybe"),
        ("q=createDate~=2020%25", "createDate~=2020%"),
        ("sort=color", "color"),
    ] {
        let (s, v) = admin.get(&format!("/zstack/v1/zones?{query}")).await;
        assert_eq!((s, code(&v)), (503, "SYS.1007"), "{query}: {v}");
        assert!(details(&v).contains(named), "{query}: {v}");
    }
    ts.stop().await;
}

#[tokio::test]
async fn names_must_be_strings_in_one_action_and_plain_text() {
    let ts = TestServer::start().await;
    let admin = ZsClient::new(ts.client.clone(), &ts.api(""), "admin", PASSWORD).await;
    // A number or a boolean where a name goes: refused naming the field, nothing stored.
    for (field, bad) in [
        ("name", json!(18446744073709551615.0_f64)),
        ("name", json!(true)),
        ("description", json!(7)),
    ] {
        let mut p = json!({"name": "numbers"});
        p[field] = bad.clone();
        let (s, v) = send(
            &ts,
            Method::POST,
            "/zstack/v1/zones",
            &admin.session,
            &[],
            json!({"params": p}),
        )
        .await;
        assert_eq!(s, 400, "{field}={bad}: {v}");
        assert!(v.as_str().unwrap().contains(field), "{v}");
    }
    let (s, v) = admin
        .sdk(Method::POST, "/zstack/v1/zones", Some(zone_body("plain")))
        .await;
    assert_eq!(s, 200, "{v}");
    let zone = v["inventory"]["uuid"].as_str().unwrap().to_string();
    // Two action keys: refused naming both, neither applied.
    let (s, v) = send(
        &ts,
        Method::PUT,
        &format!("/zstack/v1/zones/{zone}/actions"),
        &admin.session,
        &[],
        json!({"changeZoneState": {"stateEvent": "disable"}, "updateZone": {"name": "renamed"}}),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let msg = v.as_str().unwrap();
    assert!(
        msg.contains("changeZoneState") && msg.contains("updateZone"),
        "{msg}"
    );
    let inv = admin.inventories(&format!("/zstack/v1/zones/{zone}")).await;
    assert_eq!(
        (inv[0]["name"].as_str(), inv[0]["state"].as_str()),
        (Some("plain"), Some("Enabled"))
    );
    // Bidirectional overrides in a name: the core's name rule refuses them.
    let (s, v) = admin
        .sdk(
            Method::POST,
            "/zstack/v1/clusters",
            Some(json!({"params": {"name": "evil\u{202e}gnp.exe", "zoneUuid": zone, "hypervisorType": "KVM"}})),
        )
        .await;
    assert_eq!((s, code(&v)), (503, "SYS.1007"), "{v}");
    assert!(details(&v).contains("name"), "{v}");
    ts.stop().await;
}

/// The server's own log (a real binary): a web hook's URL appears without its query string.
#[test]
fn web_hook_urls_are_logged_without_their_query() {
    let dir = tempfile::tempdir().unwrap();
    let port = ferrocenter_testkit::free_port();
    // Nothing listens there: the delivery fails and is logged.
    let dead = format!("http://127.0.0.1:{}/hook", ferrocenter_testkit::free_port());
    let data = dir.path().to_string_lossy().into_owned();
    let stdout_path = dir.path().join("server.stdout");
    let stderr_path = dir.path().join("server.stderr");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_ferrocenter"))
        .args([
            "serve",
            "--data-dir",
            &data,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--appliance-listen",
            "127.0.0.1:0",
            "--admin-password",
            PASSWORD,
            "--log-level",
            "debug,sqlx=warn,hyper=warn,hyper_util=warn,reqwest=warn,rustls=warn",
        ])
        // The destination must be allowed for a delivery to be tried at all.
        .env("FERROCENTER_ZSTACK_WEB_HOOK_ALLOW", &dead)
        .env_remove("FERROCENTER_ADMIN_PASSWORD")
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let mut p = Proc {
        child,
        stdout_path,
        stderr_path,
    };
    p.wait_stdout("thumbprint", Duration::from_secs(60));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = client();
        let base = format!("https://127.0.0.1:{port}");
        let admin = ZsClient::new(client.clone(), &base, "admin", PASSWORD).await;
        let hook = format!("{dead}?token=s3cr3t-hook-token");
        let r = client
            .post(format!("{base}/zstack/v1/zones"))
            .header("X-Job-UUID", uuid_hex())
            .header("X-Web-Hook", &hook)
            .header("Authorization", format!("OAuth {}", admin.session))
            .json(&zone_body("logged"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    });
    // The first delivery attempt fails at once; its warning names the destination.
    let start = Instant::now();
    let log = loop {
        let log = p.stderr() + &std::fs::read_to_string(&p.stdout_path).unwrap_or_default();
        if log.contains("web hook") || start.elapsed() > Duration::from_secs(20) {
            break log;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let hook_lines: Vec<&str> = log.lines().filter(|l| l.contains("web hook")).collect();
    println!("{}", hook_lines.join("\n"));
    assert!(!hook_lines.is_empty(), "no web hook line in:\n{log}");
    assert!(
        hook_lines.iter().any(|l| l.contains(&dead)),
        "the destination is named"
    );
    assert!(!log.contains("s3cr3t-hook-token"), "{log}");
    assert!(!log.contains("?token"), "{log}");
}
