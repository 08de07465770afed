//! The operator's unauthenticated endpoints against the real server binary: `/healthz` and
//! `/readyz` on both listeners, `/metrics` absent by default and served with `enable_metrics`
//! in the Prometheus text format, its request counters moving with the requests made.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use common::*;
use ferrocenter_testkit::free_port;
use serde_json::Value;

fn start(data: &Path, extra: &[&str]) -> (Proc, String, String) {
    let api = format!("127.0.0.1:{}", free_port());
    let app = format!("127.0.0.1:{}", free_port());
    let mut args = vec![
        "--listen",
        &api,
        "--appliance-listen",
        &app,
        "--admin-password",
        PASSWORD,
    ];
    args.extend_from_slice(extra);
    let mut p = spawn_server(data, &args);
    p.wait_stdout("thumbprint", Duration::from_secs(60));
    (p, format!("https://{api}"), format!("https://{app}"))
}

fn stop(mut p: Proc) {
    p.signal(libc::SIGTERM);
    assert!(p.wait_exit(Duration::from_secs(30)).success());
}

/// One sample line of the text format: `name{a="x",b="y"} value`.
type Samples = HashMap<String, f64>;

/// Parses the exposition: every line is a comment (`# HELP`, `# TYPE`, `# UNIT`, `# EOF`) or
/// a sample whose value is a number; the key is the name with its labels as written.
fn parse(text: &str) -> Samples {
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    let mut samples = Samples::new();
    for line in text.lines() {
        if line.starts_with('#') {
            let kind = line.split_whitespace().nth(1).unwrap();
            assert!(
                ["HELP", "TYPE", "UNIT", "EOF"].contains(&kind),
                "bad comment line: {line}"
            );
            continue;
        }
        let (key, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let name_end = key.find('{').unwrap_or(key.len());
        let name = &key[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line}"
        );
        if name_end < key.len() {
            assert!(key.ends_with('}'), "{line}");
        }
        let v: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number in {line}"));
        samples.insert(key.to_string(), v);
    }
    samples
}

async fn get(url: String) -> (u16, String) {
    let r = client().get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_answer_unauthenticated_and_metrics_are_off_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let (p, api, app) = start(&dir.path().join("data"), &[]);
    for base in [&api, &app] {
        assert_eq!(get(format!("{base}/healthz")).await, (200, "ok".into()));
        let (status, body) = get(format!("{base}/readyz")).await;
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["ready"], true, "{v}");
        assert_eq!(v["store"]["ready"], true, "{v}");
        assert!(v["store"]["seconds"].as_f64().unwrap() >= 0.0);
        assert_eq!(v["task_engine"]["ready"], true, "{v}");
        assert_eq!(get(format!("{base}/metrics")).await.0, 404);
    }
    stop(p);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_when_enabled_parse_and_count_requests() {
    let dir = tempfile::tempdir().unwrap();
    let (p, api, app) = start(&dir.path().join("data"), &["--enable-metrics"]);
    let scrape = |base: String| async move {
        let r = client()
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
        parse(&r.text().await.unwrap())
    };
    let before = scrape(api.clone()).await;
    for state in ["queued", "running", "success", "error"] {
        assert_eq!(
            before[&format!("ferrocenter_tasks{{state=\"{state}\"}}")],
            0.0
        );
    }
    for state in ["connecting", "connected", "notResponding", "disconnected"] {
        assert_eq!(
            before[&format!("ferrocenter_hosts{{state=\"{state}\"}}")],
            0.0
        );
    }
    assert!(before["ferrocenter_store_query_seconds"] > 0.0);
    // The read model is built at start: no host yet.
    assert_eq!(
        before["ferrocenter_read_model_records{kind=\"hosts\"}"],
        0.0
    );
    assert!(
        before["ferrocenter_connections_total{listener=\"listen\",verdict=\"accept\"}"] >= 1.0,
        "{before:?}"
    );
    let vapi_2xx = "ferrocenter_http_requests_total{surface=\"vapi\",status=\"2xx\"}";
    let vapi_4xx = "ferrocenter_http_requests_total{surface=\"vapi\",status=\"4xx\"}";
    let vim_count = "ferrocenter_http_request_duration_seconds_count{surface=\"vi-json\"}";
    let count = |s: &Samples, k: &str| s.get(k).copied().unwrap_or(0.0);

    // A login and a read (2xx), an unauthenticated read (4xx), one VI/JSON request.
    let c = client();
    let r = c
        .post(format!("{api}/api/session"))
        .basic_auth(ADMIN, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token: String = r.json().await.unwrap();
    let r = c
        .get(format!("{api}/api/appliance/health/system"))
        .header("vmware-api-session-id", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(format!("{api}/api/appliance/health/system"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    c.get(format!("{api}/sdk/vimServiceVersions.xml"))
        .send()
        .await
        .unwrap();

    let after = scrape(api.clone()).await;
    assert_eq!(count(&after, vapi_2xx) - count(&before, vapi_2xx), 2.0);
    assert_eq!(count(&after, vapi_4xx) - count(&before, vapi_4xx), 1.0);
    assert_eq!(count(&after, vim_count) - count(&before, vim_count), 1.0);
    // The scrapes count too, as `other`.
    assert!(
        count(
            &after,
            "ferrocenter_http_requests_total{surface=\"other\",status=\"2xx\"}"
        ) >= 1.0
    );
    // The appliance listener serves the same metrics.
    let app_metrics = scrape(app).await;
    assert!(app_metrics.contains_key("ferrocenter_store_query_seconds"));
    stop(p);
}

#[tokio::test]
async fn readiness_names_what_is_not_ready() {
    let ts = TestServer::start().await;
    let (core, _) = ts.core_admin().await;
    let r = ts.client.get(ts.api("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The task engine stops taking tasks first when the server stops.
    core.tasks.shutdown(Duration::from_millis(10)).await;
    let r = ts.client.get(ts.api("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["ready"], false);
    assert_eq!(v["store"]["ready"], true);
    assert_eq!(v["task_engine"]["ready"], false);
    assert!(v["task_engine"]["reason"]
        .as_str()
        .unwrap()
        .contains("task engine"));
    assert_eq!(
        ts.client
            .get(ts.api("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    ts.stop().await;
}
