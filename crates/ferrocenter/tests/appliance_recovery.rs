//! File-based backup and restore through the unmodified official vSphere Automation SDK for
//! Python (`com.vmware.appliance.recovery.*`, tests/vapi_sdk/recovery.py): a server managing a
//! simulated fleet backs itself up (with the optional part `seat`, encrypted) to a location;
//! the backed-up server stops; a freshly started server process is restored from the archive
//! through its appliance listener as `root` with user and password on every call, restarts
//! itself, and reconciles with the hosts' agents. Then its inventory equals the backed-up one
//! field by field, a user that only the backed-up server had logs in, and the hosts are
//! connected through the service accounts the archive carried.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::sdk::{run_sdk_script, sdk_python};
use common::*;
use ferrocenter_core::auth::Role;
use serde_json::{json, Value};

const RESTORED_USER: &str = "restored-op";

/// The inventory as vAPI lists it, sorted, for a field-by-field comparison.
async fn inventory(addr: &str, token: &str) -> Value {
    let mut out = serde_json::Map::new();
    for path in [
        "/api/vcenter/datacenter",
        "/api/vcenter/host",
        "/api/vcenter/vm",
    ] {
        let mut v = get_json(addr, path, token).await;
        if let Some(a) = v.as_array_mut() {
            a.sort_by_key(|x| x.to_string());
        }
        out.insert(path.into(), v);
    }
    Value::Object(out)
}

async fn backed_up_server(fleet: &ferrocenter_agent::simulate::Fleet) -> TestServer {
    let ts = TestServer::start().await;
    let (core, admin) = ts.core_admin().await;
    let dc = core.create_datacenter(&admin, "DC0", "").await.unwrap();
    for h in &fleet.manifest.hosts {
        let t = core
            .add_host(
                &admin,
                ferrocenter_core::hosts::AddHostSpec {
                    datacenter_id: Some(dc.id.clone()),
                    host_name: h.address.clone(),
                    port: Some(h.port),
                    ssl_thumbprint: Some(h.thumbprint.clone()),
                    user_name: "root".into(),
                    password: ROOT_PW.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let t = core.tasks.wait(&t.id).await.unwrap();
        assert!(t.error.is_none(), "{:?}", t.error);
    }
    ts.user(RESTORED_USER, Role::Operator).await;
    ts
}

/// Backs up `ts` to the location, stops it, restores a fresh server process from it, and
/// compares. `location` names the archive's directory.
async fn round_trip(python: &str, location_args: &[&str], fleet_octet: u8) {
    let fleet = sim_fleet(2, 3, fleet_octet, 77).await;
    let ts = backed_up_server(&fleet).await;
    let main = ts.api("").trim_start_matches("https://").to_string();
    let token = ts.login(ADMIN).await;
    let before = inventory(&main, &token).await;
    assert_eq!(before["/api/vcenter/host"].as_array().unwrap().len(), 2);
    assert_eq!(before["/api/vcenter/vm"].as_array().unwrap().len(), 6);

    let mut args = vec!["backup", main.as_str(), ADMIN, PASSWORD];
    args.extend_from_slice(location_args);
    let b = run_sdk_script(python, "recovery.py", &args).await;
    assert_eq!(b["parts"], json!(["common", "seat"]), "{b}");
    assert_eq!(b["optional"], json!(["seat"]));
    assert!(b["sizes_kb"]["common"].as_u64().unwrap() > 0, "{b}");
    assert_eq!(b["validate_before"], "OK", "{b}");
    assert_eq!(b["created_state"], "INPROGRESS");
    assert_eq!(b["final_state"], "SUCCEEDED", "{b}");
    assert_eq!(b["final_progress"], 100);
    assert_eq!(b["has_end_time"], true);
    assert_eq!(b["listed"], true);
    assert_eq!(b["details"]["status"], "SUCCEEDED");
    assert_eq!(b["details"]["type"], "MANUAL");
    assert!(b["details"]["size"].as_u64().unwrap() > 0);
    // The location now holds an archive: validate fails, and a second job there is refused
    // naming the field.
    assert_eq!(b["validate_after"], "FAIL", "{b}");
    assert_eq!(b["second_job_same_place"], "InvalidArgument");
    assert_eq!(b["bad_part"], "InvalidArgument");
    assert_eq!(b["missing_job"], "NotFound");
    // The backed-up instance is off before the restore, as the seed requires.
    ts.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let (api, appliance) = (free_local_addr(), free_local_addr());
    let mut fresh = serve_at(dir.path(), &api, &appliance, &[]);
    let mut args = vec!["restore", appliance.as_str(), PASSWORD];
    args.extend_from_slice(location_args);
    let r = run_sdk_script(python, "recovery.py", &args).await;
    assert_eq!(r["validate_wrong_password"], "InvalidArgument", "{r}");
    assert_eq!(r["validate_no_password"], "InvalidArgument", "{r}");
    assert_eq!(r["metadata"]["parts"], json!(["common", "seat"]));
    assert_eq!(r["metadata"]["applicable"], true, "{r}");
    assert_eq!(r["metadata"]["comment"], "sdk backup");
    assert_eq!(r["state_before"], "NONE");
    assert_eq!(r["created_state"], "INPROGRESS");
    assert_eq!(r["final_state"], "SUCCEEDED", "{r}\n{}", fresh.stderr());
    assert_eq!(r["final_progress"], 100);
    assert_eq!(r["restored_parts"], json!(["common", "seat"]));
    assert_eq!(r["reconciliation"], "SUCCEEDED", "{r}");
    // The server restarted itself: the same process ran its binary again.
    assert!(
        fresh.child.try_wait().unwrap().is_none(),
        "the server exited"
    );

    // The backed-up instance's accounts: a user only it had logs in on 443.
    let restored = login_at(&api, &format!("{RESTORED_USER}@vsphere.local")).await;
    assert!(!restored.is_empty());
    let token = login_at(&api, ADMIN).await;
    let after = inventory(&api, &token).await;
    assert_eq!(after, before, "the restored inventory differs");
    fresh.signal(libc::SIGTERM);
    fresh.wait_exit(Duration::from_secs(30));
}

#[tokio::test]
async fn backup_to_a_path_and_restore_into_a_fresh_server_through_the_sdk() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let target = tempfile::tempdir().unwrap();
    let location = target.path().join("backups").join("first");
    let location = location.to_string_lossy().into_owned();
    round_trip(&python, &["PATH", &location], 21).await;
    // The archive on disk: the manifest and both parts, encrypted.
    let mut names: Vec<String> = std::fs::read_dir(&location)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "common.jsonl.zst.enc",
            "manifest.json",
            "seat.jsonl.zst.enc"
        ]
    );
}

/// The same over SFTP to a real OpenSSH sshd with a password user (root needed to make the
/// throwaway user; `SKIPPED` without it).
#[tokio::test]
async fn backup_over_sftp_and_restore_from_it_through_the_sdk() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let Some(server) = ferrocenter_testkit::file_servers::SshServer::start() else {
        eprintln!("SKIPPED: sshd and root are needed for the SFTP location");
        return;
    };
    let dir = server.user.home.join("backups/vc1");
    let url = server.url("sftp", dir.to_str().unwrap());
    round_trip(
        &python,
        &["SFTP", &url, &server.user.name, &server.user.password],
        22,
    )
    .await;
    assert!(dir.join("manifest.json").is_file());
}

/// The same over SMB to a real samba smbd (root needed; `SKIPPED` without it).
#[tokio::test]
async fn backup_over_smb_and_restore_from_it_through_the_sdk() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let Some(server) = ferrocenter_testkit::file_servers::SmbServer::start() else {
        eprintln!("SKIPPED: smbd and root are needed for the SMB location");
        return;
    };
    let url = server.url("/backups/vc1");
    round_trip(
        &python,
        &["SMB", &url, &server.user.name, &server.user.password],
        23,
    )
    .await;
    assert!(server.user.home.join("backups/vc1/manifest.json").is_file());
}
