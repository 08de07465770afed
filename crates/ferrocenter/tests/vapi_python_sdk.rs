//! The unmodified official vSphere Automation SDK for Python (PyPI `vmware-vcenter`,
//! `vmware-vapi-runtime`, `vmware-vapi-common-client` 9.1.1.0) against the real server and a
//! simulated fleet: `create_vsphere_client` logs in over JSON-RPC, lists and adds hosts, reads
//! datacenters, folders and VMs, powers a VM, starts `VM.relocate$task` and follows it through
//! `com.vmware.cis.tasks`, and deletes its session on exit. `scripts/test.sh` installs the SDK in
//! a virtualenv and names its python in `FERROCENTER_VAPI_PYTHON`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn sdk_python() -> Option<String> {
    match std::env::var("FERROCENTER_VAPI_PYTHON") {
        Ok(p) if std::path::Path::new(&p).exists() => Some(p),
        _ if std::env::var("CI").is_ok() => {
            panic!("FERROCENTER_VAPI_PYTHON is not set in CI: scripts/test.sh installs the SDK")
        }
        _ => None,
    }
}

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
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vapi_sdk/flow.py");
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(&python)
            .args([script, &server, ADMIN, PASSWORD])
            .arg(&fleet_file)
            .output(),
    )
    .await
    .expect("the SDK run ended")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the SDK run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
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
