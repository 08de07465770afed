//! Appliance services and shutdown against the real server: the official Python SDK on the
//! appliance listener as `root` and on the main listener as administrator@vsphere.local (lists,
//! stops and starts the heartbeat loop and the other listener — whose port then refuses
//! connections and then takes them again — is refused stopping its own listener, schedules and
//! cancels a reboot) and as an operator (reads, refused control); `/api` and `/rest` calls; and
//! the server binary as a process restarted by a reboot of delay 0 (same process, same port,
//! same data) and stopped by a power-off (exit 0).
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::{Duration, Instant};

use common::sdk::{run_sdk_script, sdk_python};
use common::*;
use ferrocenter_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

const SERVICES: [&str; 5] = [
    "api-listener",
    "appliance-listener",
    "heartbeat",
    "statistics-collector",
    "task-engine",
];

fn check_admin_run(v: &Value, own: &str, other: &str) {
    let list = v["list"].as_object().unwrap();
    let mut names: Vec<&str> = list.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, SERVICES, "{v}");
    for (name, info) in list {
        assert_eq!(info["state"], "STARTED", "{name}: {v}");
        assert!(!info["description"].as_str().unwrap().is_empty());
    }
    assert_eq!(v["unknown"]["error"], "NotFound", "{v}");
    assert_eq!(v["stop_heartbeat"], Value::Null, "{v}");
    assert_eq!(v["heartbeat_after_stop"], "STOPPED");
    assert_eq!(v["heartbeat_after_start"], "STARTED");
    assert_eq!(v["heartbeat_after_restart"], "STARTED");
    for k in ["stop_own_listener", "restart_own_listener"] {
        assert_eq!(v[k]["error"], "NotAllowedInCurrentState", "{k}: {v}");
        assert!(
            v[k]["message"].as_str().unwrap().contains(own),
            "{k} names {own}: {v}"
        );
    }
    assert_eq!(v["own_after"], "STARTED");
    assert_eq!(v["other_before"], "connected", "{v}");
    assert_eq!(v["stop_other_listener"], Value::Null, "{other}: {v}");
    assert_eq!(v["other_after_stop"], "STOPPED");
    assert_eq!(v["other_connect_stopped"], "refused", "{other}: {v}");
    assert_eq!(v["other_after_start"], "STARTED");
    assert_eq!(v["other_connect_started"], "connected");
    assert_eq!(
        v["shutdown_before"],
        json!({"action": "", "reason": "", "time": false})
    );
    assert_eq!(v["reboot"], Value::Null, "{v}");
    assert_eq!(v["pending"]["action"], "reboot");
    assert_eq!(v["pending"]["reason"], "sdk reboot test");
    let in_s = v["pending"]["in_s"].as_f64().unwrap();
    assert!((1700.0..=1801.0).contains(&in_s), "30 minutes: {in_s}");
    assert_eq!(
        v["after_cancel"],
        json!({"action": "", "reason": "", "time": false})
    );
    assert_eq!(v["poweroff"], Value::Null, "{v}");
    assert_eq!(
        v["pending_poweroff"],
        json!({"action": "poweroff", "reason": "sdk poweroff test"}),
        "{v}"
    );
    assert_eq!(v["after_poweroff_cancel"], "", "{v}");
    assert_eq!(v["bad_delay"]["error"], "InvalidArgument", "{v}");
    assert!(v["bad_delay"]["message"]
        .as_str()
        .unwrap()
        .contains("delay"));
}

#[tokio::test]
async fn the_official_sdk_controls_services_and_shutdown_on_both_listeners() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let ts = TestServer::start().await;
    let operator = ts.user("servicesop", Role::Operator).await;
    let appliance = ts.appliance("").trim_start_matches("https://").to_string();
    let main = ts.api("").trim_start_matches("https://").to_string();
    let v = run_sdk_script(
        &python,
        "services.py",
        &[
            &appliance,
            "root",
            PASSWORD,
            "appliance-listener",
            "api-listener",
            &main,
        ],
    )
    .await;
    eprintln!("root on the appliance listener: {v}");
    check_admin_run(&v, "appliance-listener", "api-listener");
    let v = run_sdk_script(
        &python,
        "services.py",
        &[
            &main,
            ADMIN,
            PASSWORD,
            "api-listener",
            "appliance-listener",
            &appliance,
        ],
    )
    .await;
    eprintln!("administrator on the main listener: {v}");
    check_admin_run(&v, "api-listener", "appliance-listener");

    let v = run_sdk_script(
        &python,
        "services.py",
        &[
            &main,
            &operator,
            PASSWORD,
            "api-listener",
            "appliance-listener",
            &appliance,
        ],
    )
    .await;
    eprintln!("operator on the main listener: {v}");
    assert_eq!(v["list"].as_object().unwrap().len(), SERVICES.len());
    for k in ["stop_heartbeat", "stop_other_listener", "reboot"] {
        assert_eq!(v[k]["error"], "Unauthorized", "{k}: {v}");
    }
    assert_eq!(v["other_before"], "connected");
    let (core, admin) = ts.core_admin().await;
    for s in core.services_list(&admin).await.unwrap() {
        assert_eq!(s.state.as_str(), "STARTED", "{}", s.name);
    }
    ts.stop().await;
}

#[tokio::test]
async fn curl_lists_services_and_is_refused_stopping_its_own_listener() {
    let ts = TestServer::start().await;
    let admin = ts.login(ADMIN).await;
    let op = ts.login(&ts.user("curlsvcop", Role::Operator).await).await;
    let (status, list) = ts
        .call_json(Method::GET, "/api/appliance/services", &op, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["task-engine"]["state"], "STARTED", "{list}");
    let (status, wrapped) = ts
        .call_json(Method::GET, "/rest/appliance/services/heartbeat", &op, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(wrapped["value"]["state"], "STARTED", "{wrapped}");
    let (status, err) = ts
        .call_json(
            Method::POST,
            "/api/appliance/services/heartbeat/stop",
            &op,
            None,
        )
        .await;
    assert_eq!(status, 403, "{err}");
    // The statistics collector stops and starts as a service.
    for (action, state) in [("stop", "STOPPED"), ("start", "STARTED")] {
        let (status, err) = ts
            .call_json(
                Method::POST,
                &format!("/api/appliance/services/statistics-collector/{action}"),
                &admin,
                None,
            )
            .await;
        assert_eq!(status, 204, "{action}: {err}");
        let (_, info) = ts
            .call_json(
                Method::GET,
                "/api/appliance/services/statistics-collector",
                &op,
                None,
            )
            .await;
        assert_eq!(info["state"], state, "{action}: {info}");
    }
    let (status, err) = ts
        .call_json(
            Method::POST,
            "/api/appliance/services/api-listener/stop",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error_type"], "NOT_ALLOWED_IN_CURRENT_STATE");
    assert!(err["messages"][0]["default_message"]
        .as_str()
        .unwrap()
        .contains("'api-listener'"));
    // The task engine stopped: tasks are refused, saying so; started, they run again.
    let (status, _) = ts
        .call_json(
            Method::POST,
            "/api/appliance/services/task-engine/stop",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let sleep = json!({"duration_ms": 10});
    let (status, err) = ts
        .call_json(
            Method::POST,
            "/api/ferrocenter/diagnostics/sleep",
            &admin,
            Some(sleep.clone()),
        )
        .await;
    assert_eq!(status, 503, "{err}");
    assert!(err.to_string().contains("task engine is stopped"), "{err}");
    let (status, _) = ts
        .call_json(
            Method::POST,
            "/rest/appliance/services/task-engine/start",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, err) = ts
        .call_json(
            Method::POST,
            "/api/ferrocenter/diagnostics/sleep",
            &admin,
            Some(sleep),
        )
        .await;
    assert!(status < 300, "{status} {err}");
    // Shutdown: nothing pending; a bad delay names the field.
    let (status, got) = ts
        .call_json(Method::GET, "/api/appliance/shutdown", &op, None)
        .await;
    assert_eq!((status, got), (200, json!({"action": "", "reason": ""})));
    let (status, err) = ts
        .call_json(
            Method::POST,
            "/api/appliance/shutdown/reboot",
            &admin,
            Some(json!({"delay": 100000, "reason": "x"})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error_type"], "INVALID_ARGUMENT");
    assert!(err.to_string().contains("delay"), "{err}");
    ts.stop().await;
}

/// How many times the server printed its banner.
fn starts(p: &Proc) -> usize {
    std::fs::read_to_string(&p.stdout_path)
        .unwrap_or_default()
        .matches(" is serving")
        .count()
}

#[tokio::test]
async fn reboot_restarts_the_process_and_poweroff_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (api, app) = (free_local_addr(), free_local_addr());
    let mut p = serve_at(&data, &api, &app, &["--shutdown-grace-secs", "2"]);
    let pid = p.child.id();
    let c = client();
    let token = login_at(&api, ADMIN).await;
    let r = c
        .post(format!("https://{api}/api/vcenter/datacenter"))
        .header("vmware-api-session-id", &token)
        .json(&json!({"spec": {"name": "DC-kept"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(format!("https://{api}/api/appliance/shutdown/reboot"))
        .header("vmware-api-session-id", &token)
        .json(&json!({"delay": 0, "reason": "restart test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    let started = Instant::now();
    while starts(&p) < 2 {
        assert!(
            p.child.try_wait().unwrap().is_none(),
            "the server exited instead of restarting: {}",
            p.stderr()
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no second start: {}",
            p.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The same process, run again: the same port, the same data; sessions were in memory.
    assert_eq!(p.child.id(), pid);
    let r = c
        .get(format!("https://{api}/api/vcenter/datacenter"))
        .header("vmware-api-session-id", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let token = login_at(&api, ADMIN).await;
    let dcs = get_json(&api, "/api/vcenter/datacenter", &token).await;
    assert_eq!(dcs[0]["name"], "DC-kept", "{dcs}");
    // The pending action did not survive the restart.
    let got = get_json(&api, "/api/appliance/shutdown", &token).await;
    assert_eq!(got["action"], "");

    let r = c
        .post(format!("https://{app}/api/session"))
        .basic_auth("root", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    let root: String = r.json().await.unwrap();
    let r = c
        .post(format!("https://{app}/api/appliance/shutdown/poweroff"))
        .header("vmware-api-session-id", &root)
        .json(&json!({"delay": 0, "reason": "poweroff test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let status = p.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{}", p.stderr());
    assert_eq!(starts(&p), 2);
    assert!(p.stderr().contains("stopped"), "{}", p.stderr());
}
