//! The task engine seen through `/api/cis/tasks`: progress, per-entity queues, cancel, timeout.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::*;
use ferrocenter_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

async fn sleep_task(ts: &TestServer, token: &str, body: Value) -> String {
    let r = ts
        .call(
            Method::POST,
            "/api/ferrocenter/diagnostics/sleep",
            Some(token),
            Some(body),
        )
        .await;
    assert_eq!(r.status(), 202);
    r.json::<String>().await.unwrap()
}

async fn status(ts: &TestServer, token: &str, id: &str) -> Value {
    ts.call(
        Method::GET,
        &format!("/api/cis/tasks/{id}"),
        Some(token),
        None,
    )
    .await
    .json()
    .await
    .unwrap()
}

#[tokio::test]
async fn a_task_runs_to_success_with_progress_and_result() {
    let ts = TestServer::start().await;
    let t = ts.login(ADMIN).await;
    let id = sleep_task(&ts, &t, json!({"duration_ms": 300})).await;
    assert!(id.ends_with(":com.ferrocenter.diagnostics"), "{id}");
    let v = wait_task(&ts, &t, &id, Duration::from_secs(10)).await;
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["progress"]["completed"], 100);
    assert_eq!(v["progress"]["total"], 100);
    assert_eq!(v["result"], json!({"slept_ms": 300}));
    assert_eq!(v["user"], ADMIN);
    assert_eq!(v["service"], "com.ferrocenter.diagnostics");
    assert_eq!(v["operation"], "sleep");
    assert!(v["start_time"].is_string() && v["end_time"].is_string());
    assert!(v.get("error").is_none());
    // The same through /rest, wrapped.
    let r = ts
        .client
        .get(ts.api(&format!("/rest/cis/tasks/{id}")))
        .header("vmware-api-session-id", &t)
        .send()
        .await
        .unwrap();
    let w: Value = r.json().await.unwrap();
    assert_eq!(w["value"], v);
    ts.stop().await;
}

#[tokio::test]
async fn failing_tasks_carry_the_error() {
    let ts = TestServer::start().await;
    let t = ts.login(ADMIN).await;
    let id = sleep_task(
        &ts,
        &t,
        json!({"duration_ms": 10, "fail_message": "disk on fire"}),
    )
    .await;
    let v = wait_task(&ts, &t, &id, Duration::from_secs(10)).await;
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["error"]["error_type"], "INTERNAL_SERVER_ERROR");
    assert!(v["error"]["messages"][0]["default_message"]
        .as_str()
        .unwrap()
        .contains("disk on fire"));
    assert!(v.get("result").is_none());
    ts.stop().await;
}

#[tokio::test]
async fn tasks_on_one_entity_run_one_at_a_time_others_concurrently() {
    let ts = TestServer::start().await;
    let t = ts.login(ADMIN).await;
    let a = sleep_task(&ts, &t, json!({"duration_ms": 1500, "target": "host-1"})).await;
    let b = sleep_task(&ts, &t, json!({"duration_ms": 200, "target": "host-1"})).await;
    let c = sleep_task(&ts, &t, json!({"duration_ms": 200, "target": "host-2"})).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(status(&ts, &t, &a).await["status"], "RUNNING");
    // b waits behind a; c, on another entity, has already finished.
    let vb = status(&ts, &t, &b).await;
    assert_eq!(vb["status"], "PENDING");
    assert!(vb.get("progress").is_none() && vb.get("start_time").is_none());
    assert_eq!(status(&ts, &t, &c).await["status"], "SUCCEEDED");
    let va = wait_task(&ts, &t, &a, Duration::from_secs(10)).await;
    let vb = wait_task(&ts, &t, &b, Duration::from_secs(10)).await;
    assert_eq!(vb["status"], "SUCCEEDED");
    // b started only once a had ended.
    assert!(vb["start_time"].as_str().unwrap() >= va["end_time"].as_str().unwrap());
    ts.stop().await;
}

#[tokio::test]
async fn cancel_running_and_queued_tasks() {
    let ts = TestServer::start().await;
    let t = ts.login(ADMIN).await;
    let running = sleep_task(&ts, &t, json!({"duration_ms": 20000, "target": "e"})).await;
    let queued = sleep_task(&ts, &t, json!({"duration_ms": 100, "target": "e"})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(&ts, &t, &running).await["cancelable"], true);
    for id in [&queued, &running] {
        let r = ts
            .call(
                Method::POST,
                &format!("/api/cis/tasks/{id}?action=cancel"),
                Some(&t),
                None,
            )
            .await;
        assert_eq!(r.status(), 204, "cancel {id}");
    }
    for id in [&queued, &running] {
        let v = wait_task(&ts, &t, id, Duration::from_secs(10)).await;
        assert_eq!(v["status"], "FAILED");
        assert_eq!(v["error"]["error_type"], "CANCELED");
        // A task that never started still satisfies the FAILED union: start and end are set.
        assert!(v["start_time"].is_string() && v["end_time"].is_string());
    }
    // Cancelling a finished task is not allowed in its state; an unknown one is not found.
    let r = ts
        .call(
            Method::POST,
            &format!("/api/cis/tasks/{running}?action=cancel"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error_type"],
        "NOT_ALLOWED_IN_CURRENT_STATE"
    );
    let r = ts
        .call(
            Method::POST,
            "/api/cis/tasks/nope?action=cancel",
            Some(&t),
            None,
        )
        .await;
    assert_eq!(r.status(), 404);
    ts.stop().await;
}

#[tokio::test]
async fn non_cancelable_running_tasks_refuse_cancel() {
    let ts = TestServer::start().await;
    let t = ts.login(ADMIN).await;
    let id = sleep_task(&ts, &t, json!({"duration_ms": 800, "cancelable": false})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = ts
        .call(
            Method::POST,
            &format!("/api/cis/tasks/{id}?action=cancel"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(r.status(), 400);
    let v = wait_task(&ts, &t, &id, Duration::from_secs(10)).await;
    assert_eq!(v["status"], "SUCCEEDED");
    ts.stop().await;
}

#[tokio::test]
async fn timeouts_end_tasks_with_timed_out() {
    let ts = TestServer::start().await;
    let t = ts.login(ADMIN).await;
    let id = sleep_task(&ts, &t, json!({"duration_ms": 20000, "timeout_ms": 300})).await;
    let v = wait_task(&ts, &t, &id, Duration::from_secs(10)).await;
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["error"]["error_type"], "TIMED_OUT");
    ts.stop().await;
}

#[tokio::test]
async fn only_the_initiator_or_global_cancel_task_may_cancel() {
    let ts = TestServer::start().await;
    let admin = ts.login(ADMIN).await;
    let op = ts.user("watcher", Role::Operator).await;
    let op = ts.login(&op).await;
    let id = sleep_task(&ts, &admin, json!({"duration_ms": 5000})).await;
    let r = ts
        .call(
            Method::POST,
            &format!("/api/cis/tasks/{id}?action=cancel"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_type"], "UNAUTHORIZED");
    assert_eq!(body["messages"][0]["args"][0], "Global.CancelTask");
    // The operator can still read it.
    assert_eq!(status(&ts, &op, &id).await["status"], "RUNNING");
    let r = ts
        .call(
            Method::POST,
            &format!("/api/cis/tasks/{id}?action=cancel"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status(), 204);
    ts.stop().await;
}

#[tokio::test]
async fn list_filters_by_status_service_user_and_id() {
    let ts = TestServer::start().await;
    let t = ts.login(ADMIN).await;
    let done = sleep_task(&ts, &t, json!({"duration_ms": 0})).await;
    wait_task(&ts, &t, &done, Duration::from_secs(10)).await;
    let long = sleep_task(&ts, &t, json!({"duration_ms": 20000})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let list = |body: Value| {
        let rb = ts
            .client
            .post(ts.api("/api/cis/tasks?action=list"))
            .header("vmware-api-session-id", &t)
            .json(&body);
        async move {
            let r = rb.send().await.unwrap();
            assert_eq!(r.status(), 200);
            let v: Value = r.json().await.unwrap();
            let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            (keys, v)
        }
    };
    let mut both = vec![done.clone(), long.clone()];
    both.sort();
    assert_eq!(list(json!({})).await.0, both);
    assert_eq!(
        list(json!({"filter_spec": {"status": ["RUNNING"]}}))
            .await
            .0,
        vec![long.clone()]
    );
    assert_eq!(
        list(json!({"filter_spec": {"status": ["SUCCEEDED"]}}))
            .await
            .0,
        vec![done.clone()]
    );
    assert!(list(json!({"filter_spec": {"status": ["BLOCKED"]}}))
        .await
        .0
        .is_empty());
    assert_eq!(
        list(json!({"filter_spec": {"tasks": [done.clone()]}}))
            .await
            .0,
        vec![done.clone()]
    );
    assert_eq!(
        list(json!({"filter_spec": {"services": ["com.ferrocenter.diagnostics"]}}))
            .await
            .0,
        both
    );
    assert!(
        list(json!({"filter_spec": {"services": ["com.vmware.vcenter.host"]}}))
            .await
            .0
            .is_empty()
    );
    assert_eq!(
        list(json!({"filter_spec": {"users": ["VSPHERE.LOCAL\\administrator"]}}))
            .await
            .0,
        both
    );
    assert!(
        list(json!({"filter_spec": {"users": ["someone@vsphere.local"]}}))
            .await
            .0
            .is_empty()
    );
    let (_, v) = list(json!({"result_spec": {"exclude_result": true}})).await;
    assert!(v[&done].get("result").is_none());

    // Bad filters name the field.
    let r = ts
        .call(
            Method::POST,
            "/api/cis/tasks?action=list",
            Some(&t),
            Some(json!({"filter_spec": {"status": "RUNNING"}})),
        )
        .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_type"], "INVALID_ARGUMENT");
    assert_eq!(body["messages"][0]["args"][0], "filter_spec.status");
    ts.stop().await;
}

#[tokio::test]
async fn bad_task_input_names_the_field() {
    let ts = TestServer::start().await;
    let t = ts.login(ADMIN).await;
    for (body, field) in [
        (json!({}), "duration_ms"),
        (json!({"duration_ms": -5}), "duration_ms"),
        (json!({"duration_ms": "x"}), "duration_ms"),
        (json!({"duration_ms": 99999999}), "duration_ms"),
        (json!({"duration_ms": 1, "target": "a b"}), "target"),
        (json!({"duration_ms": 1, "timeout_ms": 0}), "timeout_ms"),
        (json!({"duration_ms": 1, "cancelable": "yes"}), "cancelable"),
        (json!({"duration_ms": 1, "colour": "red"}), "colour"),
    ] {
        let r = ts
            .call(
                Method::POST,
                "/api/ferrocenter/diagnostics/sleep",
                Some(&t),
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status(), 400, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error_type"], "INVALID_ARGUMENT", "{body}");
        assert_eq!(v["messages"][0]["args"][0], field, "{body}");
    }
    let r = ts
        .call(Method::GET, "/api/cis/tasks/unknown", Some(&t), None)
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["error_type"], "NOT_FOUND");
    ts.stop().await;
}

#[tokio::test]
async fn graceful_stop_records_running_tasks_as_failed() {
    let ts = TestServer::start().await;
    let t = ts.login(ADMIN).await;
    let id = sleep_task(&ts, &t, json!({"duration_ms": 60000})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let core = ts.server.as_ref().unwrap().core.clone();
    let core_id = id.split(':').next().unwrap().to_string();
    ts.stop().await;
    let task = core.store.get_task(&core_id).await.unwrap().unwrap();
    assert_eq!(task.state, ferrocenter_core::tasks::TaskState::Error);
    assert!(
        task.error.unwrap().to_string().contains("shut down"),
        "the reason says the server shut down"
    );
}

/// Progress is kept in memory while a task runs; a get and a list both show it.
#[tokio::test]
async fn running_tasks_show_their_progress_in_get_and_list() {
    let ts = TestServer::start().await;
    let t = ts.login(ADMIN).await;
    let id = sleep_task(&ts, &t, json!({"duration_ms": 4000})).await;
    let mut seen = 0;
    for _ in 0..100 {
        let v = status(&ts, &t, &id).await;
        let done = v["progress"]["completed"].as_i64().unwrap_or(0);
        if v["status"] == "RUNNING" && (10..100).contains(&done) {
            seen = done;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen > 0, "no progress seen while running");
    let listed: Value = ts
        .call(
            Method::POST,
            "/api/cis/tasks?action=list",
            Some(&t),
            Some(json!({})),
        )
        .await
        .json()
        .await
        .unwrap();
    let in_list = listed[&id]["progress"]["completed"].as_i64().unwrap_or(0);
    assert!(in_list >= seen, "list shows {in_list}, get showed {seen}");
    ts.stop().await;
}
