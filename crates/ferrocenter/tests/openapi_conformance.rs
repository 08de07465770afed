//! The OpenAPI document of `/api` against the server that serves it: schemathesis generates
//! requests from `GET /api/openapi.json` (valid ones, and ones the document forbids) and runs
//! every check on the answers — a valid request must not be refused as malformed, a request the
//! document forbids must be refused, answers must match their schemas, no 5xx. The real server
//! binary runs with a datacenter and two hosts of a simulated fleet. `scripts/test.sh` installs
//! schemathesis in a virtualenv and names its `st` in `FERROCENTER_SCHEMATHESIS`; its settings
//! (fixed seed, examples per operation) and the vAPI check are in `tests/openapi_conformance/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn schemathesis() -> Option<String> {
    match std::env::var("FERROCENTER_SCHEMATHESIS") {
        Ok(p) if std::path::Path::new(&p).exists() => Some(p),
        _ if std::env::var("CI").is_ok() => {
            panic!("FERROCENTER_SCHEMATHESIS is not set in CI: scripts/test.sh installs it")
        }
        _ => None,
    }
}

/// The number after `label` on a line of schemathesis' summary (`Tested: 25`).
fn figure(out: &str, label: &str) -> Option<u64> {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_to_its_openapi_document() {
    let Some(st) = schemathesis() else {
        eprintln!("SKIPPED: schemathesis is not installed (FERROCENTER_SCHEMATHESIS)");
        return;
    };
    let fleet = sim_fleet(3, 2, 19, 1816).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let api = free_local_addr();
    // schemathesis sends every operation with wrong credentials too, hundreds of logins from
    // one address: the per-address login budget (tested in login_hardening.rs) would answer
    // 429 where this run checks for 401, so the budget is set beyond what the run spends.
    let mut p = serve_at(
        &data,
        &api,
        &free_local_addr(),
        &[
            "--login-rate-burst",
            "100000",
            "--login-rate-per-min",
            "1000000",
        ],
    );
    let base = format!("https://{api}");
    let c = client();
    let token = login_at(&api, ADMIN).await;
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut rb = c
            .request(method, format!("{base}{path}"))
            .header("vmware-api-session-id", &token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        rb.send()
    };

    // A little inventory, so that reads find something and operations on ids have targets.
    let r = call(
        reqwest::Method::POST,
        "/api/vcenter/datacenter",
        Some(json!({"spec": {"name": "DC0"}})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let folders: Value = call(reqwest::Method::GET, "/api/vcenter/folder?type=HOST", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let host_folder = folders[0]["folder"].as_str().unwrap().to_string();
    for h in fleet.manifest.hosts.iter().take(2) {
        let spec = json!({"spec": {"hostname": h.address, "port": h.port, "user_name": "root",
            "password": ROOT_PW, "thumbprint_verification": "THUMBPRINT",
            "thumbprint": h.thumbprint, "folder": host_folder}});
        let r = call(reqwest::Method::POST, "/api/vcenter/host", Some(spec))
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    let doc = get_json(&api, "/api/openapi.json", &token).await;
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();

    let here = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/openapi_conformance");
    let started = Instant::now();
    let out = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new(&st)
            .current_dir(dir.path())
            .env("FERROCENTER_ST_SESSION", &token)
            .env("SCHEMATHESIS_HOOKS", format!("{here}/vapi_checks.py"))
            .args(["--config-file", &format!("{here}/schemathesis.toml")])
            .args(["run", "--no-color", "--checks", "all", "--url", &base])
            .arg(format!("{base}/api/openapi.json"))
            .output(),
    )
    .await
    .expect("the schemathesis run ended")
    .unwrap();
    let took = started.elapsed();
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found the server and its OpenAPI document disagreeing:\n{report}"
    );
    // Every operation but those disabled in the settings (the session's delete, the
    // destructive appliance operations) was exercised.
    let disabled = std::fs::read_to_string(format!("{here}/schemathesis.toml"))
        .unwrap()
        .matches("enabled = false")
        .count();
    assert_eq!(
        figure(&report, "Tested:"),
        Some((operations - disabled) as u64),
        "{report}"
    );
    println!(
        "schemathesis: {} operations, {} cases, no failures, {:.1} s",
        operations - disabled,
        report
            .lines()
            .filter_map(|l| l.trim().split_once(" generated"))
            .find_map(|(n, _)| n.parse::<u64>().ok())
            .unwrap_or(0),
        took.as_secs_f64()
    );
    p.signal(libc::SIGTERM);
    p.wait_exit(Duration::from_secs(30));
}
