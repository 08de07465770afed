//! What each listener serves: the appliance listener (5480) serves `appliance.*`, `cis.session`
//! and `cis.tasks`, not the `vcenter.*` inventory; an operation of the API that ferrocenter does
//! not serve yet is named as such on both listeners, unlike a misspelt one.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;
use serde_json::{json, Value};

async fn root_token(ts: &TestServer) -> String {
    let r = ts
        .post_basic(ts.appliance("/api/session"), "root", PASSWORD)
        .await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

async fn get(ts: &TestServer, url: String, token: &str) -> (u16, Value) {
    let r = ts
        .client
        .get(url)
        .header("vmware-api-session-id", token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn rpc(ts: &TestServer, url: String, token: &str, service: &str, op: &str) -> Value {
    let body = json!({"jsonrpc": "2.0", "method": "invoke", "id": "1", "params": {
        "serviceId": service, "operationId": op,
        "input": {"STRUCTURE": {"operation-input": {}}},
        "ctx": {"appCtx": {}, "securityCtx": {
            "schemeId": "com.vmware.vapi.std.security.session_id", "sessionId": token}}}});
    let r = ts.client.post(url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn message(v: &Value) -> String {
    v["messages"][0]["default_message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn the_appliance_listener_does_not_serve_the_inventory() {
    let ts = TestServer::start().await;
    let root = root_token(&ts).await;
    let (status, body) = get(&ts, ts.appliance("/api/vcenter/host"), &root).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error_type"], "OPERATION_NOT_FOUND");
    let reply = rpc(
        &ts,
        ts.appliance("/api"),
        &root,
        "com.vmware.vcenter.host",
        "list",
    )
    .await;
    let err = &reply["result"]["error"]["ERROR"];
    assert_eq!(
        err["com.vmware.vapi.std.errors.operation_not_found"]["messages"][0]["STRUCTURE"]
            ["com.vmware.vapi.std.localizable_message"]["default_message"],
        "com.vmware.vcenter.host.list is served on the main listener, not on this one",
        "{reply}"
    );
    // Sessions and tasks are served there.
    let (status, _) = get(&ts, ts.appliance("/api/session"), &root).await;
    assert_eq!(status, 200);
    let (status, _) = get(&ts, ts.appliance("/api/cis/tasks"), &root).await;
    assert_eq!(status, 200);
    // And the main listener still serves the inventory.
    let admin = ts.login(ADMIN).await;
    let (status, _) = get(&ts, ts.api("/api/vcenter/host"), &admin).await;
    assert_eq!(status, 200);
    ts.stop().await;
}

#[tokio::test]
async fn an_operation_not_served_yet_is_named_and_a_typo_is_not() {
    let ts = TestServer::start().await;
    let admin = ts.login(ADMIN).await;
    let root = root_token(&ts).await;
    for (url, token) in [
        (
            ts.api("/api/appliance/update/pending/2.0.0/components"),
            &admin,
        ),
        (
            ts.appliance("/api/appliance/update/pending/2.0.0/components"),
            &root,
        ),
    ] {
        let (status, body) = get(&ts, url, token).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error_type"], "OPERATION_NOT_FOUND");
        assert_eq!(
            message(&body),
            "com.vmware.appliance.update.pending.list_upgradeable_components is part of the \
             vSphere API but ferrocenter does not serve it yet"
        );
    }
    let (status, body) = get(&ts, ts.api("/api/appliance/updatez"), &admin).await;
    assert_eq!(status, 404);
    assert!(!message(&body).contains("does not serve it yet"), "{body}");
    let reply = rpc(
        &ts,
        ts.appliance("/api"),
        &root,
        "com.vmware.appliance.update.pending",
        "list_upgradeable_components$task",
    )
    .await;
    let err = &reply["result"]["error"]["ERROR"]["com.vmware.vapi.std.errors.operation_not_found"];
    assert!(
        err["messages"][0]["STRUCTURE"]["com.vmware.vapi.std.localizable_message"]
            ["default_message"]
            .as_str()
            .unwrap()
            .contains(
                "com.vmware.appliance.update.pending.list_upgradeable_components is part of the \
                 vSphere API"
            ),
        "{reply}"
    );
    ts.stop().await;
}
