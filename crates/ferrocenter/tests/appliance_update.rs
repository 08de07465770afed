//! The software update service (`com.vmware.appliance.update*`) on a real server: the policy as
//! the guide's curl line sets it on the appliance listener with root's Basic credentials, as the
//! unmodified official SDK for Python sets and reads it (tests/vapi_sdk/update_policy.py), bad
//! input naming the field with nothing changed, the password kept sealed and never returned, and
//! what a read-only role may do.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::sdk::{run_sdk_script, sdk_python};
use common::*;
use ferrocenter_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

/// The guide's example: check a custom URL on Friday 23:30 and Saturday 12:30, stage what is
/// found.
const GUIDE_POLICY: &str = r#"{"policy":
{"auto_stage": true,"check_schedule": [{"day": "FRIDAY","hour": 23,"minute": 30},{"day": 
"SATURDAY","hour": 12,"minute": 30}],"custom_URL":"https://123.com"}}"#;

async fn rest(
    ts: &TestServer,
    method: Method,
    url: String,
    user: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let mut rb = ts
        .client
        .request(method, url)
        .basic_auth(user, Some(PASSWORD));
    if let Some(b) = body {
        rb = rb
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_guides_policy_is_set_as_root_on_the_appliance_listener_and_read_on_every_path() {
    let ts = TestServer::start().await;
    let default = json!({
        "default_URL": "",
        "check_schedule": [],
        "auto_stage": false,
        "auto_update": false,
        "manual_control": true,
        "certificate_check": true,
    });
    let (code, got) = rest(
        &ts,
        Method::GET,
        ts.appliance("/rest/appliance/update/policy"),
        "root",
        None,
    )
    .await;
    assert_eq!((code, &got), (200, &json!({ "value": default })));

    let (code, body) = rest(
        &ts,
        Method::PUT,
        ts.appliance("/rest/appliance/update/policy"),
        "root",
        Some(GUIDE_POLICY),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let set = json!({
        "custom_URL": "https://123.com",
        "default_URL": "",
        "check_schedule": [
            {"day": "FRIDAY", "hour": 23, "minute": 30},
            {"day": "SATURDAY", "hour": 12, "minute": 30},
        ],
        "auto_stage": true,
        "auto_update": false,
        "manual_control": true,
        "certificate_check": true,
    });
    let (code, got) = rest(
        &ts,
        Method::GET,
        ts.appliance("/rest/appliance/update/policy"),
        "root",
        None,
    )
    .await;
    assert_eq!((code, got), (200, json!({ "value": set })));
    let token = ts.login(ADMIN).await;
    let (code, got) = ts
        .call_json(Method::GET, "/api/appliance/update/policy", &token, None)
        .await;
    assert_eq!((code, &got), (200, &set));

    // Bad input names the field and changes nothing.
    for (policy, field) in [
        (
            json!({"check_schedule": [{"day": "FUNDAY", "hour": 1, "minute": 0}], "auto_stage": false}),
            "policy.check_schedule[0].day",
        ),
        (
            json!({"check_schedule": [{"day": "MONDAY", "hour": 1, "minute": 61}], "auto_stage": false}),
            "policy.check_schedule[0].minute",
        ),
        (
            json!({"custom_URL": "ftp://mirror/x", "check_schedule": [], "auto_stage": false}),
            "policy.custom_URL",
        ),
        (
            json!({"check_schedule": [], "auto_stage": true}),
            "policy.auto_stage",
        ),
    ] {
        let (code, body) = ts
            .call_json(
                Method::PUT,
                "/api/appliance/update/policy",
                &token,
                Some(json!({ "policy": policy })),
            )
            .await;
        assert_eq!(code, 400, "{body}");
        assert!(body.to_string().contains(field), "{field}: {body}");
    }
    let (_, got) = ts
        .call_json(Method::GET, "/api/appliance/update/policy", &token, None)
        .await;
    assert_eq!(got, set);

    // An operator reads it and may not change it.
    let operator = ts.user("updateop", Role::Operator).await;
    let op_token = ts.login(&operator).await;
    let (code, got) = ts
        .call_json(Method::GET, "/api/appliance/update/policy", &op_token, None)
        .await;
    assert_eq!((code, got), (200, set));
    let (code, _) = ts
        .call_json(
            Method::PUT,
            "/api/appliance/update/policy",
            &op_token,
            Some(json!({"policy": {"check_schedule": [], "auto_stage": false}})),
        )
        .await;
    assert_eq!(code, 403);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_sdk_sets_a_policy_with_a_login_whose_password_stays_sealed() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let ts = TestServer::start().await;
    let server = ts.api("").trim_start_matches("https://").to_string();
    let v = run_sdk_script(&python, "update_policy.py", &[&server, ADMIN, PASSWORD]).await;
    assert_eq!(
        v["got"],
        json!({
            "custom_URL": "https://updates.example.test/ferrocenter",
            "default_URL": "",
            "username": "mirror",
            "check_schedule": [
                {"day": "FRIDAY", "hour": 23, "minute": 30},
                {"day": "SATURDAY", "hour": 12, "minute": 30},
            ],
            "auto_stage": true,
            "auto_update": false,
            "manual_control": true,
            "certificate_check": false,
        }),
        "{v}"
    );
    assert_eq!(v["bad"]["class"], "InvalidArgument", "{v}");
    assert!(
        v["bad"]["message"]
            .as_str()
            .unwrap()
            .contains("policy.check_schedule[0].hour"),
        "{v}"
    );
    // The password is kept sealed with the server's key, and no answer carries it.
    let (core, _) = ts.core_admin().await;
    let stored = core
        .store
        .get_setting("appliance.update.policy")
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.contains("Mirror-Secret-77"), "{stored}");
    assert!(stored.contains("\"password\":\""), "{stored}");
    let token = ts.login(ADMIN).await;
    let (_, got) = ts
        .call_json(Method::GET, "/api/appliance/update/policy", &token, None)
        .await;
    assert!(!got.to_string().contains("Mirror-Secret"), "{got}");
    assert!(got.get("password").is_none());
    ts.stop().await;
}
