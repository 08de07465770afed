//! Infrastructure profiles over `/api` as curl sends them (the guide's HTTP requests): list,
//! export, `validate` and `import` as `vmw-task=true` actions; an import whose document
//! validates but fails while applying (a backup schedule whose location cannot be reached)
//! puts back everything it had already changed, and says which field failed. The official
//! SDK's round trip between two servers is in vapi_python_sdk.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const PATH: &str = "/api/appliance/infraprofile/configs";

#[tokio::test]
async fn an_import_that_fails_while_applying_changes_nothing() {
    let ts = TestServer::start().await;
    let token = ts.login(ADMIN).await;
    let (s, list) = ts.call_json(Method::GET, PATH, &token, None).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 3, "{list}");

    // Settings before: one firewall rule and the policy's 90 days.
    let rules = json!([{"address": "10.1.2.0", "prefix": 24, "policy": "REJECT"}]);
    let firewall = "/api/appliance/networking/firewall/inbound";
    let (s, v) = ts
        .call_json(Method::PUT, firewall, &token, Some(json!({"rules": rules})))
        .await;
    assert_eq!(s, 204, "{v}");
    let read = || async {
        let (_, f) = ts.call_json(Method::GET, firewall, &token, None).await;
        let (_, p) = ts
            .call_json(
                Method::GET,
                "/api/appliance/local-accounts/global-policy",
                &token,
                None,
            )
            .await;
        let (_, sch) = ts
            .call_json(
                Method::GET,
                "/api/appliance/recovery/backup/schedules",
                &token,
                None,
            )
            .await;
        json!({"firewall": f, "policy": p, "schedules": sch})
    };
    let before = read().await;

    // The export, as curl posts it: no body is every profile.
    let (s, doc) = ts
        .call_json(Method::POST, &format!("{PATH}?action=export"), &token, None)
        .await;
    assert_eq!(s, 200, "{doc}");
    let mut d: Value = serde_json::from_str(doc.as_str().unwrap()).unwrap();
    assert_eq!(
        d["profiles"]["ApplianceManagement"]["firewall_inbound"],
        rules
    );

    // A document that changes the policy and the rules (applied first), then adds a schedule
    // whose SFTP location refuses connections (found only when it is applied).
    d["profiles"]["AuthManagement"]["local_accounts_policy"]["max_days"] = json!(30);
    d["profiles"]["ApplianceManagement"]["firewall_inbound"] =
        json!([{"address": "10.3.0.0", "prefix": 16, "policy": "ACCEPT"}]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    d["profiles"]["ApplianceManagement"]["backup_schedules"] = json!([{
        "id": "remote",
        "parts": ["common"],
        "location": format!("sftp://127.0.0.1:{port}/backups"),
        "location_user": "nobody",
        "enable": true,
        "recurrence": {"minute": 0, "hour": 3, "days": []},
        "max_count": 2,
    }]);
    let spec = json!({"config_spec": d.to_string()});

    let (s, id) = ts
        .call_json(
            Method::POST,
            &format!("{PATH}?action=validate&vmw-task=true"),
            &token,
            Some(spec.clone()),
        )
        .await;
    assert_eq!(s, 202, "{id}");
    let t = wait_task(&ts, &token, id.as_str().unwrap(), Duration::from_secs(30)).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    assert_eq!(t["result"]["status"], "VALID", "{t}");
    let info = t["result"]["notifications"]["info"].to_string();
    assert!(
        info.contains("backup schedule remote will be created"),
        "{info}"
    );

    let (s, id) = ts
        .call_json(
            Method::POST,
            &format!("{PATH}?action=import&vmw-task=true"),
            &token,
            Some(spec),
        )
        .await;
    assert_eq!(s, 202, "{id}");
    let t = wait_task(&ts, &token, id.as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(t["status"], "FAILED", "{t}");
    let error = t["error"].to_string();
    assert!(error.contains("location"), "{error}");
    // Everything the import had applied before the failure is as it was.
    assert_eq!(read().await, before);

    // Another document's field out of range: refused by validation, nothing applied.
    d["profiles"]["ApplianceManagement"]["backup_schedules"] = json!([]);
    d["profiles"]["ApplianceManagement"]["firewall_inbound"][0]["prefix"] = json!(33);
    let (s, id) = ts
        .call_json(
            Method::POST,
            &format!("{PATH}?action=import&vmw-task=true"),
            &token,
            Some(json!({"config_spec": d.to_string()})),
        )
        .await;
    assert_eq!(s, 202, "{id}");
    let t = wait_task(&ts, &token, id.as_str().unwrap(), Duration::from_secs(30)).await;
    assert_eq!(t["status"], "FAILED", "{t}");
    assert!(
        t["error"]
            .to_string()
            .contains("firewall_inbound[0].prefix"),
        "{t}"
    );
    assert_eq!(read().await, before);

    // Two different actions name no single operation.
    let (s, v) = ts
        .call_json(
            Method::POST,
            &format!("{PATH}?action=export&action=import"),
            &token,
            None,
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["messages"][0]["args"][0], "action", "{v}");

    // An unknown profile name is not found, naming it.
    let (s, v) = ts
        .call_json(
            Method::POST,
            &format!("{PATH}?action=export"),
            &token,
            Some(json!({"profiles": ["Nonesuch"]})),
        )
        .await;
    assert_eq!(s, 404, "{v}");
    assert!(v.to_string().contains("Nonesuch"), "{v}");
}
