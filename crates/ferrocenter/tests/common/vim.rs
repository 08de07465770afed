//! VI/JSON as a curl user drives it: a method is a POST on `BASE/<type>/<moid>/<method>` and a
//! property a GET on `BASE/<type>/<moid>/<name>`, with the session `TestServer::login` answers.
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::TestServer;

pub const BASE: &str = "/sdk/vim25/8.0.3.0";

pub fn moref(t: &str, v: &str) -> Value {
    json!({"_typeName": "ManagedObjectReference", "type": t, "value": v})
}

/// `type/value` of a managed object reference, the path of its methods and properties.
pub fn path_of(r: &Value) -> String {
    format!(
        "{}/{}",
        r["type"].as_str().unwrap(),
        r["value"].as_str().unwrap()
    )
}

/// One VI/JSON request: the status and the JSON answer (`Value::Null` for an empty one). Every
/// answer but 204 must say it is JSON.
pub async fn call(
    ts: &TestServer,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let r = ts
        .call(method, &format!("{BASE}/{path}"), token, body)
        .await;
    let status = r.status().as_u16();
    if status != 204 {
        assert_eq!(
            r.headers().get("content-type").map(|v| v.to_str().unwrap()),
            Some("application/json"),
            "{path}"
        );
    }
    let text = r.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, v)
}

/// A method call that must fault: HTTP 500 with the bare fault object, which carries a message.
/// `Value::Null` sends no body at all.
pub async fn fault(ts: &TestServer, token: &str, path: &str, body: Value) -> Value {
    let body = (!body.is_null()).then_some(body);
    let (s, v) = call(ts, Some(token), Method::POST, path, body).await;
    assert_eq!(s, 500, "{path}: {v}");
    assert!(v["faultMessage"][0]["message"].is_string(), "{v}");
    v
}

/// The message of a fault.
pub fn message(f: &Value) -> &str {
    f["faultMessage"][0]["message"].as_str().unwrap_or_default()
}

/// Polls a task's `info` until the task finishes; the finished TaskInfo.
pub async fn finished_task(ts: &TestServer, token: &str, task: &Value) -> Value {
    assert_eq!(task["type"], "Task", "{task}");
    let path = format!("{}/info", path_of(task));
    for _ in 0..600 {
        let (s, info) = call(ts, Some(token), Method::GET, &path, None).await;
        assert_eq!(s, 200, "{path}: {info}");
        if matches!(info["state"].as_str(), Some("success" | "error")) {
            return info;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {task} did not finish");
}
