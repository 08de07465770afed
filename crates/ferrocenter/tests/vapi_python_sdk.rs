//! The unmodified official vSphere Automation SDK for Python (PyPI `vmware-vcenter`,
//! `vmware-vapi-runtime`, `vmware-vapi-common-client` 9.1.1.0) against the real server and a
//! simulated fleet: `create_vsphere_client` logs in over JSON-RPC, lists and adds hosts, reads
//! datacenters, folders and VMs, powers a VM, starts `VM.relocate$task` and follows it through
//! `com.vmware.cis.tasks`, and deletes its session on exit. `scripts/test.sh` installs the SDK in
//! a virtualenv and names its python in `FERROCENTER_VAPI_PYTHON`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::sdk::{run_sdk_script, sdk_python};
use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn the_official_python_sdk_drives_hosts_vms_and_tasks() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let fleet = sim_fleet(3, 2, 7, 31).await;
    let ts = TestServer::start().await;
    let (core, admin) = ts.core_admin().await;
    core.create_datacenter(&admin, "DC0", "").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fleet_file = dir.path().join("fleet.json");
    let hosts: Vec<Value> = fleet
        .manifest
        .hosts
        .iter()
        .map(|h| json!({"address": h.address, "port": h.port, "thumbprint": h.thumbprint}))
        .collect();
    std::fs::write(
        &fleet_file,
        json!({"hosts": hosts, "root_password": ROOT_PW}).to_string(),
    )
    .unwrap();
    let sessions_before = core.auth.session_count();
    let server = ts.api("").trim_start_matches("https://").to_string();
    let fleet_file = fleet_file.to_string_lossy();
    let v = run_sdk_script(&python, "flow.py", &[&server, ADMIN, PASSWORD, &fleet_file]).await;
    assert_eq!(v["hello"], "8.0.3.0");
    assert_eq!(v["datacenters"], json!(["DC0"]));
    assert_eq!(v["host_folders"], json!([v["host_folder"]]));
    assert_eq!(v["hosts_before"], 0);
    let added = v["added"].as_array().unwrap();
    assert_eq!(added.len(), 2);
    assert!(added
        .iter()
        .all(|h| h.as_str().unwrap().starts_with("host-")));
    assert_eq!(v["bad_thumbprint"], "UnverifiedPeer");
    assert_eq!(v["host_states"], json!(["CONNECTED", "CONNECTED"]));
    assert_eq!(v["host_power"], json!(["POWERED_ON", "POWERED_ON"]));
    assert_eq!(v["connect_connected"], "AlreadyInDesiredState");
    assert_eq!(v["vms_on_first"], 2);
    assert_eq!(v["vm_name_matches"], true);
    assert!(v["vm_cpu"].as_u64().unwrap() > 0);
    assert_eq!(v["after_stop"], "POWERED_OFF");
    assert_eq!(v["after_start"], "POWERED_ON");
    assert_eq!(v["task_id_has_service"], true);
    assert_eq!(v["task_final"], "SUCCEEDED");
    assert_eq!(v["task_operation"], "relocate");
    assert_eq!(v["listed"], true);
    assert_eq!(v["vm_now_on_second"], true);
    assert_eq!(v["missing_datacenter"], "NotFound");
    assert_eq!(v["hosts_after_delete"], 1);
    // The client deleted its sessions (login and the task stub share one) on exit.
    assert_eq!(core.auth.session_count(), sessions_before);
    ts.stop().await;
}

/// `com.vmware.appliance_client.LocalAccounts` and `local_accounts_client.Policy` through the
/// official SDK (tests/vapi_sdk/local_accounts.py): root on the appliance listener manages
/// accounts and the policy; an operator it made logs in there, reads, is refused
/// `Unauthorized` on changes and changes its own password; disabled and expired accounts cannot
/// log in; the last superAdmin stays; root's password changes through the API; the SSO
/// administrator manages local accounts on the main listener and an SSO operator only reads.
#[tokio::test]
async fn the_official_python_sdk_manages_local_accounts_on_both_listeners() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let ts = TestServer::start().await;
    let sso_operator = ts
        .user("watcher", ferrocenter_core::auth::Role::Operator)
        .await;
    let host_port = |url: String| url.trim_start_matches("https://").to_string();
    let v = run_sdk_script(
        &python,
        "local_accounts.py",
        &[
            &host_port(ts.appliance("")),
            &host_port(ts.api("")),
            PASSWORD,
            ADMIN,
            PASSWORD,
            &sso_operator,
        ],
    )
    .await;
    let refused = |what: &str, field: &str| json!([what, field]);
    assert_eq!(v["list_before"], json!(["root"]));
    assert_eq!(v["root"]["roles"], json!(["superAdmin"]));
    assert_eq!(v["root"]["enabled"], true);
    assert_eq!(v["root"]["expires_at"], Value::Null);
    assert_eq!(
        v["policy"],
        json!({"max_days": 90, "min_days": 0, "warn_days": 7, "lockout_after": 5,
               "minimum_length": 8})
    );
    let alice = &v["alice"];
    assert_eq!(alice["roles"], json!(["operator"]));
    assert_eq!(alice["fullname"], "Alice Operator");
    assert_eq!(alice["email"], "alice@example.com");
    assert_eq!(alice["enabled"], true);
    assert_eq!(alice["has_password"], true);
    assert_eq!(alice["changed"], true);
    assert_eq!(alice["max_days"], 90);
    assert!(alice["expires_at"].is_string(), "{alice}");
    assert_eq!(v["create_again"], refused("AlreadyExists", "alice"));
    assert_eq!(v["bad_role"], refused("InvalidArgument", "config.roles[1]"));
    assert_eq!(v["bad_name"], refused("InvalidArgument", "username"));
    assert_eq!(
        v["weak_password"],
        refused("InvalidArgument", "config.password")
    );
    assert_eq!(v["bad_email"], refused("InvalidArgument", "config.email"));
    assert_eq!(v["missing"], refused("NotFound", "nobody"));
    assert_eq!(v["delete_missing"], refused("NotFound", "nobody"));
    assert_eq!(v["list_after_refusals"], json!(["alice", "root"]));
    assert_eq!(v["after_update"]["fullname"], "Alice O.");
    assert_eq!(v["after_update"]["email"], "alice@example.com");
    assert_eq!(v["after_set"]["fullname"], Value::Null);
    assert_eq!(v["after_set"]["email"], Value::Null);

    assert_eq!(v["operator_list"], json!(["alice", "root"]));
    assert_eq!(v["operator_get_root"], json!(["superAdmin"]));
    assert_eq!(v["operator_policy"], 90);
    let unauthorized = refused("Unauthorized", "Appliance.ManageAccounts");
    for k in [
        "operator_create",
        "operator_promotes_itself",
        "operator_deletes_root",
        "operator_sets_policy",
    ] {
        assert_eq!(v[k], unauthorized, "{k}");
    }
    assert_eq!(
        v["operator_own_password_no_old"],
        refused("InvalidArgument", "config.old_password")
    );
    assert_eq!(v["operator_new_password_login"], "ok");

    assert_eq!(v["disabled_login"], "Unauthenticated");
    assert_eq!(v["enabled_login"], "ok");
    assert_eq!(v["expired"]["expires_at"], "2020-01-01T00:00:00");
    assert_eq!(v["expired_login"], "Unauthenticated");

    assert_eq!(v["delete_root"][0], "NotAllowedInCurrentState");
    assert_eq!(v["demote_root"], refused("InvalidArgument", "config.roles"));
    assert_eq!(
        v["disable_root"],
        refused("InvalidArgument", "config.enabled")
    );

    assert_eq!(v["policy_after_set"], json!([60, 10]));
    assert_eq!(v["alice_days_after_policy"], 60);
    assert_eq!(v["policy_lockout"][0], "Unsupported");
    assert!(v["policy_lockout"][1]
        .as_str()
        .unwrap()
        .contains("policy.failed_attempt_count_before_account_lockout"));
    assert_eq!(
        v["policy_bad_days"],
        refused("InvalidArgument", "policy.max_days")
    );

    assert_eq!(
        v["root_no_old"],
        refused("InvalidArgument", "config.old_password")
    );
    assert_eq!(v["root_new_login"], "ok");
    assert_eq!(v["root_old_login"], "Unauthenticated");
    assert_eq!(v["list_after_delete"], json!(["carol", "dave", "root"]));
    assert_eq!(v["deleted_session"][0], "Unauthenticated");

    assert_eq!(v["main_list"], json!(["carol", "dave", "root"]));
    assert_eq!(v["main_erin"], json!(["superAdmin"]));
    assert_eq!(v["root_reset_login"], "ok");
    assert_eq!(v["main_after_delete"], json!(["carol", "dave", "root"]));
    assert_eq!(v["sso_operator_list"], json!(["carol", "dave", "root"]));
    assert_eq!(v["sso_operator_create"], unauthorized);
    ts.stop().await;
}

/// `com.vmware.appliance.recovery.backup_client.Schedules` through the official SDK
/// (tests/vapi_sdk/backup_schedules.py), as the guide's "Schedule a Backup Job": a schedule to
/// a PATH location is created, read, listed, updated and run; the run's archive lands on disk
/// under `<location>/<system name>/S_*`; bad fields are refused naming them; it is deleted.
#[tokio::test]
async fn the_official_python_sdk_manages_backup_schedules() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let ts = TestServer::start().await;
    let backups = tempfile::tempdir().unwrap();
    let location = backups.path().join("nightly").display().to_string();
    let server = ts.api("").trim_start_matches("https://").to_string();
    let v = run_sdk_script(
        &python,
        "backup_schedules.py",
        &[&server, ADMIN, PASSWORD, &location],
    )
    .await;
    let expected = json!({
        "parts": ["common", "seat"],
        "location": location,
        "location_user": null,
        "enable": true,
        "time": [2, 30],
        "days": ["MONDAY", "FRIDAY"],
        "max_count": 3,
    });
    assert_eq!(v["get"], expected);
    assert_eq!(v["list"], json!({ "nightly": expected }));
    assert_eq!(v["create_again"], json!(["AlreadyExists", "nightly"]));
    assert_eq!(
        v["bad_hour"],
        json!(["InvalidArgument", "spec.recurrence_info.hour"])
    );
    assert_eq!(
        v["bad_location"],
        json!(["InvalidArgument", "spec.location"])
    );
    assert_eq!(
        v["bad_max_count"],
        json!(["InvalidArgument", "spec.retention_info.max_count"])
    );
    assert_eq!(v["after_update"]["enable"], false);
    assert_eq!(v["after_update"]["time"], json!([23, 5]));
    assert_eq!(v["after_update"]["days"], json!([]));
    assert_eq!(v["after_update"]["max_count"], 1);
    assert_eq!(v["run_state"], "INPROGRESS");
    assert_eq!(v["run_end"], "SUCCEEDED", "{}", v["run_messages"]);
    assert_eq!(v["missing"], json!(["NotFound", "nobody"]));
    assert_eq!(v["run_missing"], json!(["NotFound", "nobody"]));
    assert_eq!(v["list_after_delete"], json!([]));
    assert_eq!(v["delete_missing"], json!(["NotFound", "nightly"]));
    // The run's archive, under the server's system name, holds its manifest.
    let systems: Vec<_> = std::fs::read_dir(&location)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(systems.len(), 1, "{systems:?}");
    let archives: Vec<_> = std::fs::read_dir(&systems[0])
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(archives.len(), 1, "{archives:?}");
    let name = archives[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(name.starts_with("S_"), "{name}");
    assert!(archives[0].join("manifest.json").is_file());
}

/// `com.vmware.appliance.infraprofile_client.Configs` through the official SDK
/// (tests/vapi_sdk/infraprofile.py), as the guide's "Performing Infrastructure Profile
/// Management Operations": server A's firewall rules, syslog receivers, password policy,
/// global FIPS (off), backup schedule (with a
/// backup password, exported only encrypted) and a cluster's DRS level are exported, validated
/// and imported into server B, whose settings then match A's; a document with a wrong schema
/// version or values out of range is reported by validation and its import refused whole,
/// leaving B as it was.
#[tokio::test]
async fn the_official_python_sdk_exports_and_imports_infrastructure_profiles() {
    use ferrocenter_core::inventory::AutomationLevel;
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let a = TestServer::start().await;
    let b = TestServer::start().await;
    let mut cluster_b = None;
    for (ts, level) in [
        (&a, AutomationLevel::FullyAutomated),
        (&b, AutomationLevel::Manual),
    ] {
        let (core, admin) = ts.core_admin().await;
        let dc = core.create_datacenter(&admin, "dc1", "").await.unwrap();
        let c = core
            .create_cluster(&admin, &dc.id, "c1", level, "")
            .await
            .unwrap();
        cluster_b = Some((core, admin, c.id));
    }
    let level_b = || async {
        let (core, admin, id) = cluster_b.as_ref().unwrap();
        core.get_cluster(admin, id).await.unwrap().automation_level
    };
    let backups = tempfile::tempdir().unwrap();
    let location = backups.path().join("nightly").display().to_string();
    let server = |ts: &TestServer| ts.api("").trim_start_matches("https://").to_string();
    let v = run_sdk_script(
        &python,
        "infraprofile.py",
        &[&server(&a), &server(&b), ADMIN, PASSWORD, &location],
    )
    .await;
    let names: Vec<&str> = v["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "AuthManagement",
            "ApplianceManagement",
            "InventoryManagement"
        ]
    );
    assert_eq!(
        v["export_without_key"],
        json!(["InvalidArgument", "spec.encryption_key"])
    );
    assert_eq!(v["export_unknown_profile"][0], "NotFound");
    // The document: its schema, A's settings, the backup password sealed, never in clear.
    let doc = &v["document"];
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["product"], "ferrocenter");
    assert_eq!(doc["description"], "from A");
    assert_eq!(
        doc["profiles"]["ApplianceManagement"]["syslog_forwarding"],
        json!([
            {"hostname": "127.0.0.1", "port": 5514, "protocol": "UDP"},
            {"hostname": "logs.example.com", "port": 6514, "protocol": "TLS"},
        ])
    );
    assert_eq!(doc["profiles"]["ApplianceManagement"]["global_fips"], false);
    assert!(doc["encryption"]["kdf"]["salt"].is_string(), "{doc}");
    assert_eq!(v["secret_in_clear"], false);
    let schedule = &doc["profiles"]["ApplianceManagement"]["backup_schedules"][0];
    assert_eq!(schedule["id"], "nightly");
    assert!(
        schedule["backup_password"]["sealed"].is_string(),
        "{schedule}"
    );
    assert_eq!(
        doc["profiles"]["InventoryManagement"]["clusters"],
        json!([{"datacenter": "dc1", "name": "c1", "automation_level": "fullyAutomated"}])
    );
    // Validation on B: valid, saying what the import would change.
    assert_eq!(v["validate"]["status"], "VALID", "{}", v["validate"]);
    let info = v["validate"]["info"].to_string();
    assert!(
        info.contains("backup schedule nightly will be created"),
        "{info}"
    );
    assert!(info.contains("cluster dc1/c1 will be set"), "{info}");
    // Broken documents name what is wrong.
    let errors = |k: &str| {
        assert_eq!(v[k]["status"], "INVALID", "{k}: {}", v[k]);
        v[k]["errors"].to_string()
    };
    assert!(errors("validate_wrong_schema").contains("schema_version"));
    let e = errors("validate_out_of_range");
    assert!(
        e.contains("ApplianceManagement.firewall_inbound[1].prefix"),
        "{e}"
    );
    assert!(
        e.contains("AuthManagement.local_accounts_policy.max_days"),
        "{e}"
    );
    assert!(errors("validate_without_key").contains("encryption_key"));
    assert!(errors("validate_wrong_key").contains("encryption_key"));
    // Their imports fail and change nothing.
    assert_eq!(
        v["import_out_of_range"][0], "FAILED",
        "{}",
        v["import_out_of_range"]
    );
    assert_eq!(v["import_wrong_schema"][0], "FAILED");
    assert_eq!(v["b_after_refusals"], v["b_before"]);
    // The import: B's settings are A's.
    assert_eq!(v["import"][0], "SUCCEEDED", "{}", v["import"]);
    assert_ne!(v["b_before"], v["a"]);
    assert_eq!(v["b_after"], v["a"]);
    // (The script ran to its end before these checks: B's cluster was manual when it began.)
    assert_eq!(level_b().await, AutomationLevel::FullyAutomated);
    // The imported schedule opens its backup password with B's key: a run succeeds.
    let (core, admin, _) = cluster_b.as_ref().unwrap();
    let job = core
        .backup_schedule_run(admin, "nightly", None)
        .await
        .unwrap();
    let done = core.tasks.wait(&job.id).await.unwrap();
    assert_eq!(
        done.state,
        ferrocenter_core::tasks::TaskState::Success,
        "{:?}",
        done.error
    );
    // The import is in B's event log.
    let events = core.list_events(admin, &Default::default()).await.unwrap();
    assert!(events
        .iter()
        .any(|e| e.kind == "com.ferrocenter.infraprofile.imported"));
}
