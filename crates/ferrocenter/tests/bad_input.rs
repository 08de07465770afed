//! Malformed bodies, wrong content types, oversized bodies, unknown routes and wrong methods:
//! each surface answers in its own shape, never with a 200 or a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn vapi_rest_rejects_bad_bodies_with_invalid_request() {
    let ts = TestServer::start_with(|a| a.max_body_bytes = Some("2048".into())).await;
    let t = ts.login(ADMIN).await;
    let send = |ct: &'static str, body: Vec<u8>| {
        let rb = ts
            .client
            .post(ts.api("/api/cis/tasks?action=list"))
            .header("vmware-api-session-id", &t)
            .header("Content-Type", ct)
            .body(body);
        async move {
            let r = rb.send().await.unwrap();
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            (status, v)
        }
    };
    let (s, v) = send("application/json", b"{not json".to_vec()).await;
    assert_eq!(
        (s, v["error_type"].as_str()),
        (400, Some("INVALID_REQUEST"))
    );
    let (s, v) = send("text/plain", b"{}".to_vec()).await;
    assert_eq!(
        (s, v["error_type"].as_str()),
        (400, Some("INVALID_REQUEST"))
    );
    assert!(v["messages"][0]["default_message"]
        .as_str()
        .unwrap()
        .contains("Content-Type"));
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(4096));
    // Too large: HTTP 413, in vAPI's own error shape.
    let (s, v) = send("application/json", big.into_bytes()).await;
    assert_eq!(
        (s, v["error_type"].as_str()),
        (413, Some("INVALID_REQUEST"))
    );
    assert!(v["messages"][0]["default_message"]
        .as_str()
        .unwrap()
        .contains("2048"));
    let (s, v) = send("application/json", b"[1,2]".to_vec()).await;
    assert_eq!(
        (s, v["error_type"].as_str()),
        (400, Some("INVALID_ARGUMENT"))
    );
    ts.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_each_surface_shape() {
    let ts = TestServer::start().await;
    // vAPI /api: operation_not_found in the /api shape.
    let r = ts
        .call(Method::GET, "/api/vcenter/nothing-here", None, None)
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error_type"],
        "OPERATION_NOT_FOUND"
    );
    let r = ts.call(Method::PUT, "/api/session", None, None).await;
    assert_eq!(r.status(), 405);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error_type"],
        "OPERATION_NOT_FOUND"
    );
    // vAPI /rest: the {type, value} shape.
    let r = ts
        .call(Method::GET, "/rest/com/vmware/nothing", None, None)
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["type"],
        "com.vmware.vapi.std.errors.operation_not_found"
    );
    // VI/JSON: HTTP 500 with a bare fault and the JSON content type.
    let r = ts
        .call(
            Method::POST,
            "/sdk/vim25/8.0.1.0/HostSystem/host-1/ReconnectHost_Task",
            None,
            None,
        )
        .await;
    assert_eq!(r.status(), 500);
    assert_eq!(r.headers()["content-type"], "application/json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["_typeName"], "NotAuthenticated");
    assert!(v["faultMessage"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not authenticated"));
    // ZStack: 404 in plain text, as ZStack answers a path it has no API for.
    let r = ts
        .call(Method::GET, "/zstack/v1/no-such-resources", None, None)
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.text().await.unwrap(),
        "no api mapping to /zstack/v1/no-such-resources"
    );
    // Anything else.
    let r = ts.call(Method::GET, "/nowhere", None, None).await;
    assert_eq!(r.status(), 404);
    ts.stop().await;
}

#[tokio::test]
async fn json_rpc_envelope_errors() {
    let ts = TestServer::start().await;
    let post = |body: &'static str, headers: Vec<(&'static str, &'static str)>| {
        let mut rb = ts
            .client
            .post(ts.api("/api"))
            .header("Content-Type", "application/json")
            .body(body);
        for (k, v) in headers {
            rb = rb.header(k, v);
        }
        async move {
            let r = rb.send().await.unwrap();
            assert_eq!(r.status(), 200, "JSON-RPC answers with HTTP 200");
            r.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(post("{oops", vec![]).await["error"]["code"], -32700);
    assert_eq!(
        post("{\"jsonrpc\":\"1.0\"}", vec![]).await["error"]["code"],
        -32600
    );
    let v = post(
        "{\"jsonrpc\":\"2.0\",\"method\":\"call\",\"id\":\"3\"}",
        vec![],
    )
    .await;
    assert_eq!(
        (v["error"]["code"].as_i64(), v["id"].as_str()),
        (Some(-32601), Some("3"))
    );
    let v = post(
        "{\"jsonrpc\":\"2.0\",\"method\":\"invoke\",\"id\":\"4\",\"params\":{}}",
        vec![],
    )
    .await;
    assert_eq!(v["error"]["code"], -32602);
    let body = "{\"jsonrpc\":\"2.0\",\"method\":\"invoke\",\"id\":\"5\",\"params\":{\"serviceId\":\"com.vmware.appliance.update.pending\",\"operationId\":\"list_upgradeable_components\",\"input\":{\"STRUCTURE\":{\"operation-input\":{}}},\"ctx\":{}}}";
    let v = post(body, vec![("vapi-service", "com.vmware.other")]).await;
    assert_eq!(v["error"]["code"], -31001);
    let v = post(body, vec![("vapi-operation", "set")]).await;
    assert_eq!(v["error"]["code"], -31001);
    // A well-formed call to an operation not served yet: a vAPI error naming it, id echoed.
    let v = post(body, vec![]).await;
    assert_eq!(v["id"], "5");
    let err = &v["result"]["error"]["ERROR"]["com.vmware.vapi.std.errors.operation_not_found"];
    assert_eq!(err["error_type"]["OPTIONAL"], "OPERATION_NOT_FOUND");
    let msg = &err["messages"][0]["STRUCTURE"]["com.vmware.vapi.std.localizable_message"];
    assert!(msg["default_message"]
        .as_str()
        .unwrap()
        .contains("com.vmware.appliance.update.pending.list_upgradeable_components"));
    ts.stop().await;
}
