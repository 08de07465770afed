//! Appliance health against the real server on this machine (the real system probe, a real
//! SQLite store): the official Python SDK on the appliance listener as `root` and on the main
//! listener as administrator@vsphere.local and as an operator (who reads and is refused the
//! settings update), and curl-style `/api` and `/rest` calls. The levels depend on this machine,
//! so the tests check what must hold whatever they are: one of the five levels, the guide's
//! composite, a message for every level that is not green, and no gray where the probe reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::sdk::{run_sdk_script, sdk_python};
use common::*;
use ferrocenter_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

const LEVELS: [&str; 5] = ["green", "gray", "yellow", "orange", "red"];

/// The guide's composite, written again here from the guide so the server's is checked against
/// an independent reading of the rule: the strongest trouble; gray only beside green.
fn composite(levels: &[&str]) -> &'static str {
    for l in ["red", "orange", "yellow", "gray"] {
        if levels.contains(&l) {
            return l;
        }
    }
    "green"
}

async fn run_health(python: &str, server: &str, user: &str) -> Value {
    run_sdk_script(python, "health.py", &[server, user, PASSWORD]).await
}

/// What must hold of any health the SDK read from this machine.
fn check_health(v: &Value, who: &str) {
    let level = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("{who}: {k} in {v}"));
    for k in [
        "system",
        "load",
        "mem",
        "swap",
        "storage",
        "databasestorage",
        "softwarepackages",
        "applmgmt",
    ] {
        assert!(LEVELS.contains(&level(k)), "{who}: {k} = {}", level(k));
    }
    // The real probe reads this machine: nothing it serves is without data.
    for k in ["load", "mem", "swap", "storage", "databasestorage"] {
        assert_ne!(level(k), "gray", "{who}: {k}: {}", v["messages"][k]);
    }
    assert_eq!(level("softwarepackages"), "gray");
    assert_eq!(level("applmgmt"), "green");
    let db = v["database"]["status"].as_str().unwrap();
    let expected_db = match level("databasestorage") {
        "red" => "UNHEALTHY",
        "orange" => "DEGRADED",
        _ => "HEALTHY",
    };
    assert_eq!(db, expected_db, "{who}: {}", v["database"]);
    let db_level = match db {
        "HEALTHY" => "green",
        "DEGRADED" => "orange",
        _ => "red",
    };
    // Software packages say whether updates exist, not whether something runs: not part of
    // the composite (docs/appliance.md).
    let parts = [
        level("load"),
        level("mem"),
        level("swap"),
        level("storage"),
        level("databasestorage"),
        db_level,
        level("applmgmt"),
    ];
    assert_eq!(level("system"), composite(&parts), "{who}: {v}");
    // Every level that is not green is explained; a green one has nothing to explain.
    let messages = &v["messages"];
    for k in [
        "system",
        "load",
        "mem",
        "swap",
        "storage",
        "databasestorage",
        "softwarepackages",
        "applmgmt",
    ] {
        let list = messages[k].as_array().unwrap();
        if level(k) == "green" {
            assert!(list.is_empty(), "{who}: {k} is green yet says {list:?}");
        } else {
            assert!(!list.is_empty(), "{who}: {k} is {} unexplained", level(k));
        }
        for m in list {
            assert!(m["id"].as_str().is_some_and(|s| !s.is_empty()), "{m}");
            assert!(m["time"].is_string(), "{m}");
            assert!(m["message"]["id"]
                .as_str()
                .unwrap()
                .starts_with("com.ferrocenter.appliance.health."));
        }
    }
    assert_eq!(
        messages["databasestorage"], messages["database-storage"],
        "{who}: one item, two names"
    );
    assert_eq!(messages["softwarepackages"], messages["software-packages"]);
    assert!(
        messages["softwarepackages"][0]["message"]["default_message"]
            .as_str()
            .unwrap()
            .contains("no update service")
    );
    assert_eq!(
        messages["database"].as_array().unwrap().len(),
        v["database"]["messages"].as_array().unwrap().len()
    );
    assert_eq!(
        v["unknown_item"], "NotFound: health item 'nosuch' was not found",
        "{who}"
    );
    // Every answer above came from one evaluation, a moment ago.
    assert_eq!(v["same_evaluation"], true, "{who}");
    let age = v["lastcheck_age_s"].as_f64().unwrap();
    assert!((-1.0..300.0).contains(&age), "{who}: lastcheck {age} s ago");
}

#[tokio::test]
async fn the_official_sdk_reads_health_on_both_listeners_and_only_admins_change_settings() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let ts = TestServer::start().await;
    let operator = ts.user("healthop", Role::Operator).await;
    let appliance = ts.appliance("").trim_start_matches("https://").to_string();
    let main = ts.api("").trim_start_matches("https://").to_string();
    for (server, user, may_change) in [
        (&appliance, "root", true),
        (&main, ADMIN, true),
        (&main, operator.as_str(), false),
    ] {
        let v = run_health(&python, server, user).await;
        eprintln!("{user} on {server}: {v}");
        check_health(&v, user);
        let before = &v["settings_before"];
        assert!(before["manual"].is_boolean() && before["scheduled"].is_boolean());
        if may_change {
            assert_eq!(v["settings_update"], "ok", "{user}");
            assert_eq!(
                v["settings_after"]["manual"],
                json!(!before["manual"].as_bool().unwrap())
            );
            assert_eq!(v["settings_after"]["scheduled"], before["scheduled"]);
        } else {
            assert_eq!(v["settings_update"], "Unauthorized", "{user}");
        }
    }
    ts.stop().await;
}

#[tokio::test]
async fn curl_reads_health_and_changes_settings_on_api_and_rest() {
    let ts = TestServer::start().await;
    let admin = ts.login(ADMIN).await;
    let op = ts.login(&ts.user("curlop", Role::Operator).await).await;

    let (status, level) = ts
        .call_json(Method::GET, "/api/appliance/health/system", &op, None)
        .await;
    assert_eq!(status, 200);
    assert!(LEVELS.contains(&level.as_str().unwrap()), "{level}");
    let (status, wrapped) = ts
        .call_json(
            Method::GET,
            "/rest/appliance/health/software-packages",
            &op,
            None,
        )
        .await;
    assert_eq!((status, wrapped), (200, json!({"value": "gray"})));
    let (status, db) = ts
        .call_json(Method::GET, "/api/appliance/health/database", &op, None)
        .await;
    assert_eq!(status, 200);
    assert!(
        db["status"].is_string() && db["messages"].is_array(),
        "{db}"
    );
    let (status, list) = ts
        .call_json(
            Method::GET,
            "/api/appliance/health/software-packages/messages",
            &op,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["id"], "softwarepackages.no_update_check", "{list}");
    let (status, err) = ts
        .call_json(
            Method::GET,
            "/api/appliance/health/disk/messages",
            &op,
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(err["error_type"], "NOT_FOUND");
    assert_eq!(
        err["messages"][0]["default_message"],
        "health item 'disk' was not found"
    );
    let (status, at) = ts
        .call_json(
            Method::GET,
            "/api/appliance/health/system/lastcheck",
            &op,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(at.as_str().unwrap().ends_with('Z'), "{at}");

    // Settings: an operator is refused and nothing changes; an admin changes one field.
    let settings = "/api/appliance/health/settings";
    let change = json!({"health_settings": {"db_health_check_state_scheduled_backup": true}});
    let (status, err) = ts
        .call_json(Method::PATCH, settings, &op, Some(change.clone()))
        .await;
    assert_eq!(status, 403, "{err}");
    let (_, now) = ts.call_json(Method::GET, settings, &op, None).await;
    assert_eq!(
        now,
        json!({"db_health_check_state_manual_backup": false,
               "db_health_check_state_scheduled_backup": false})
    );
    let (status, _) = ts
        .call_json(Method::PATCH, settings, &admin, Some(change))
        .await;
    assert_eq!(status, 204);
    let (_, now) = ts.call_json(Method::GET, settings, &op, None).await;
    assert_eq!(
        now,
        json!({"db_health_check_state_manual_backup": false,
               "db_health_check_state_scheduled_backup": true})
    );
    // Bad input names its field and changes nothing.
    for (body, field) in [
        (
            json!({"health_settings": {"db_health_check_state_manual_backup": "yes"}}),
            "health_settings.db_health_check_state_manual_backup",
        ),
        (
            json!({"health_settings": {"db_health_check_state_manual": true}}),
            "health_settings.db_health_check_state_manual",
        ),
        (json!({}), "health_settings"),
    ] {
        let (status, err) = ts
            .call_json(Method::PATCH, settings, &admin, Some(body))
            .await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(err["error_type"], "INVALID_ARGUMENT");
        assert!(
            err["messages"][0]["default_message"]
                .as_str()
                .unwrap()
                .contains(field),
            "{field}: {err}"
        );
    }
    let (_, unchanged) = ts.call_json(Method::GET, settings, &op, None).await;
    assert_eq!(unchanged, now);
    // /rest: the same operation under the same path, wrapped.
    let (status, body) = ts
        .call_json(
            Method::PATCH,
            "/rest/appliance/health/settings",
            &admin,
            Some(json!({"health_settings": {"db_health_check_state_manual_backup": true}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, got) = ts
        .call_json(Method::GET, "/rest/appliance/health/settings", &op, None)
        .await;
    assert_eq!(
        got,
        json!({"value": {"db_health_check_state_manual_backup": true,
                         "db_health_check_state_scheduled_backup": true}})
    );

    // The appliance listener serves the same service to root.
    let r = ts
        .post_basic(ts.appliance("/api/session"), "root", PASSWORD)
        .await;
    let root: String = r.json().await.unwrap();
    let r = ts
        .client
        .get(ts.appliance("/api/appliance/health/mem"))
        .header("vmware-api-session-id", &root)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let level: Value = r.json().await.unwrap();
    assert!(LEVELS.contains(&level.as_str().unwrap()), "{level}");
    ts.stop().await;
}
