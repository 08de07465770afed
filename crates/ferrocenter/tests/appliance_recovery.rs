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
use std::os::unix::fs::OpenOptionsExt;

const RESTORED_USER: &str = "restored-op";

/// What the store holds that a restore must bring back, field by field: hosts and VMs (ids,
/// moIds, names, placement, states), their user tags, and the events. Sealed secrets differ by
/// design (each server seals with its own key) and are left out.
#[derive(Debug, PartialEq)]
struct StoreView {
    hosts: Vec<String>,
    vms: Vec<String>,
    tags: Vec<(String, Vec<String>)>,
    events: Vec<String>,
}

async fn store_view(store: &dyn ferrocenter_core::ports::Store) -> StoreView {
    use ferrocenter_core::inventory::query::TagKind;
    use ferrocenter_core::inventory::{EventFilter, HostFilter};
    let mut hosts = Vec::new();
    let mut ids = Vec::new();
    for h in store.list_hosts(&HostFilter::default()).await.unwrap() {
        hosts.push(format!(
            "{} {} {} {:?} {} {:?} {}:{} {} {} {:?} {:?} {}",
            h.id,
            h.moid,
            h.datacenter_id,
            h.cluster_id,
            h.name,
            h.description,
            h.address,
            h.port,
            h.thumbprint,
            h.agent_user,
            h.connection_state,
            h.state,
            h.power_state
        ));
        ids.push(h.id);
    }
    let mut vms = Vec::new();
    for v in store.list_vms(None).await.unwrap() {
        vms.push(format!(
            "{} {} {} {} {} {} {} {} {} {}",
            v.id,
            v.moid,
            v.host_id,
            v.uuid,
            v.instance_uuid,
            v.name,
            v.power_state,
            v.vcpus,
            v.memory_bytes,
            v.guest_os_id
        ));
        ids.push(v.id);
    }
    let mut tags = Vec::new();
    for id in ids {
        tags.push((id.clone(), store.tags_of(&id, TagKind::User).await.unwrap()));
    }
    let events = store
        .list_events(&EventFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            format!(
                "{} {} {} {} {} {} {} {} {}",
                e.seq,
                e.time,
                e.kind,
                e.entity_kind,
                e.entity_id,
                e.entity_name,
                e.user,
                e.message,
                e.data
            )
        })
        .collect();
    hosts.sort();
    vms.sort();
    tags.sort();
    StoreView {
        hosts,
        vms,
        tags,
        events,
    }
}

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
            a.sort_by_key(ToString::to_string);
        }
        out.insert(path.into(), v);
    }
    Value::Object(out)
}

async fn backed_up_server(
    fleet: &ferrocenter_agent::simulate::Fleet,
    ca_file: Option<&str>,
) -> TestServer {
    let ca = ca_file.map(String::from);
    let ts = TestServer::start_with(|a| a.backup_ca_file = ca).await;
    add_fleet_to_dc0(&ts, fleet).await;
    let (core, _) = ts.core_admin().await;
    ts.user(RESTORED_USER, Role::Operator).await;
    let tag = |name: &str| vec!["restore-me".to_string(), format!("name::{name}")];
    for h in core.store.list_hosts(&Default::default()).await.unwrap() {
        core.store
            .add_tags(
                &h.id,
                ferrocenter_core::inventory::query::TagKind::User,
                &tag(&h.name),
            )
            .await
            .unwrap();
    }
    for v in core.store.list_vms(None).await.unwrap() {
        core.store
            .add_tags(
                &v.id,
                ferrocenter_core::inventory::query::TagKind::User,
                &tag(&v.name),
            )
            .await
            .unwrap();
    }
    ts
}

/// Backs up `ts` to the location, stops it, restores a fresh server process from it, and
/// compares. `location` names the archive's directory.
async fn round_trip(python: &str, location_args: &[&str], fleet_octet: u8) {
    round_trip_trusting(python, location_args, fleet_octet, None).await;
}

/// As `round_trip`, both servers trusting the CA in `ca_file` for FTPS and HTTPS.
async fn round_trip_trusting(
    python: &str,
    location_args: &[&str],
    fleet_octet: u8,
    ca_file: Option<&str>,
) {
    let fleet = sim_fleet(2, 3, fleet_octet, 77).await;
    let ts = backed_up_server(&fleet, ca_file).await;
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
    if location_args.len() > 3 {
        assert_eq!(b["wrong_location_password"], "InvalidArgument", "{b}");
    }
    // The backed-up instance is off before the restore, as the seed requires.
    let view_before = store_view(ts.core_admin().await.0.store.as_ref()).await;
    assert!(!view_before.events.is_empty());
    ts.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let (api, appliance) = (free_local_addr(), free_local_addr());
    let extra: Vec<&str> = ca_file
        .map(|f| vec!["--backup-ca-file", f])
        .unwrap_or_default();
    let mut fresh = serve_at(dir.path(), &api, &appliance, &extra);
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
    // Field by field in the restored store: the same hosts, VMs and tags; every event the
    // backed-up server had, in order, before those the restored one recorded since.
    let store =
        ferrocenter_store::open_existing(&ferrocenter_store::default_sqlite_url(dir.path()))
            .await
            .unwrap();
    let view_after = store_view(store.as_ref()).await;
    assert_eq!(view_after.hosts, view_before.hosts);
    assert_eq!(view_after.vms, view_before.vms);
    assert_eq!(view_after.tags, view_before.tags);
    assert!(view_after.tags.iter().all(|(_, t)| t.len() == 2));
    assert_eq!(
        view_after.events[..view_before.events.len()],
        view_before.events[..],
        "the backed-up events"
    );
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

async fn rest(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = client
        .request(method, url)
        .header("vmware-api-session-id", token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Polls a backup job until `done` says so; panics with the last answer after a minute.
async fn poll_job(addr: &str, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let url = format!("https://{addr}/api/appliance/recovery/backup/job/{id}");
    let mut last = Value::Null;
    for _ in 0..600 {
        let (status, v) = rest(&client(), reqwest::Method::GET, url.clone(), token, None).await;
        assert_eq!(status, 200, "{v}");
        if done(&v) {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("backup job {id} never got there: {last}");
}

fn sending(v: &Value) -> bool {
    v["state"] == "INPROGRESS" && v["messages"].to_string().contains("Sending common")
}

/// A location whose first part file is a FIFO nobody reads: the job blocks while sending it,
/// deterministically, so a test can cancel it or kill the server then. `handle` is a second
/// name of the FIFO outside the location, to release the writer afterwards.
fn stalling_location(root: &std::path::Path) -> (String, std::path::PathBuf) {
    let loc = root.join("stalls");
    std::fs::create_dir_all(&loc).unwrap();
    let fifo = loc.join("common.jsonl.zst");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let handle = root.join("fifo-handle");
    std::fs::hard_link(&fifo, &handle).unwrap();
    (loc.to_string_lossy().into_owned(), handle)
}

fn job_body(location: &str) -> Value {
    json!({"piece": {"parts": [], "location_type": "PATH", "location": location}})
}

#[tokio::test]
async fn a_cancelled_backup_removes_what_it_sent_and_fails() {
    let ts = TestServer::start().await;
    let addr = ts.api("").trim_start_matches("https://").to_string();
    let token = ts.login(ADMIN).await;
    let root = tempfile::tempdir().unwrap();
    let (loc, handle) = stalling_location(root.path());
    let (status, job) = rest(
        &ts.client,
        reqwest::Method::POST,
        ts.api("/api/appliance/recovery/backup/job"),
        &token,
        Some(job_body(&loc)),
    )
    .await;
    assert_eq!(status, 200, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    poll_job(&addr, &token, &id, sending).await;
    // A second job waits for none: one backup or restore at a time.
    let other = root.path().join("other").to_string_lossy().into_owned();
    let (status, busy) = rest(
        &ts.client,
        reqwest::Method::POST,
        ts.api("/api/appliance/recovery/backup/job"),
        &token,
        Some(job_body(&other)),
    )
    .await;
    assert_eq!(status, 400, "{busy}");
    assert_eq!(busy["error_type"], "NOT_ALLOWED_IN_CURRENT_STATE", "{busy}");
    let (status, r) = rest(
        &ts.client,
        reqwest::Method::POST,
        ts.api(&format!("/api/appliance/recovery/backup/job/{id}/cancel")),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["status"], "OK", "{r}");
    let done = poll_job(&addr, &token, &id, |v| v["state"] != "INPROGRESS").await;
    assert_eq!(done["state"], "FAILED", "{done}");
    assert!(done["messages"].to_string().contains("cancel"), "{done}");
    // Nothing is left at the location: the file it was sending is removed, no manifest.
    let left: Vec<_> = std::fs::read_dir(&loc).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    // Cancelling an ended job changes nothing.
    let (_, again) = rest(
        &ts.client,
        reqwest::Method::POST,
        ts.api(&format!("/api/appliance/recovery/backup/job/{id}/cancel")),
        &token,
        None,
    )
    .await;
    assert_eq!(again["status"], "FAIL", "{again}");
    // Release the writer still blocked opening the FIFO.
    let _reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&handle)
        .unwrap();
    ts.stop().await;
}

#[tokio::test]
async fn a_server_killed_during_a_backup_fails_the_job_at_its_next_start() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let (loc, _handle) = stalling_location(root.path());
    let (api, appliance) = (free_local_addr(), free_local_addr());
    let mut server = serve_at(data.path(), &api, &appliance, &[]);
    let token = login_at(&api, ADMIN).await;
    let (status, job) = rest(
        &client(),
        reqwest::Method::POST,
        format!("https://{api}/api/appliance/recovery/backup/job"),
        &token,
        Some(job_body(&loc)),
    )
    .await;
    assert_eq!(status, 200, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    poll_job(&api, &token, &id, sending).await;
    let staging = data.path().join("backup-staging").join(&id);
    assert!(staging.is_dir(), "the archive is staged before it is sent");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);

    let (api, appliance) = (free_local_addr(), free_local_addr());
    let _server = serve_at(data.path(), &api, &appliance, &[]);
    let token = login_at(&api, ADMIN).await;
    let v = poll_job(&api, &token, &id, |_| true).await;
    assert_eq!(v["state"], "FAILED", "{v}");
    assert!(v.get("end_time").is_some(), "{v}");
    assert!(
        !staging.exists(),
        "the staging of the killed backup is removed at start"
    );
    assert!(
        !std::path::Path::new(&loc).join("manifest.json").exists(),
        "no archive is marked complete"
    );
}

/// A tampered part, an archive from a newer ferrocenter: `validate` and the job refuse them
/// by name, and the fresh server's store is untouched.
#[tokio::test]
async fn damaged_and_newer_archives_are_refused_and_change_nothing() {
    let source = TestServer::start().await;
    let token = source.login(ADMIN).await;
    let root = tempfile::tempdir().unwrap();
    let good = root.path().join("good");
    let (status, job) = rest(
        &source.client,
        reqwest::Method::POST,
        source.api("/api/appliance/recovery/backup/job"),
        &token,
        Some(job_body(good.to_str().unwrap())),
    )
    .await;
    assert_eq!(status, 200, "{job}");
    let addr = source.api("").trim_start_matches("https://").to_string();
    let done = poll_job(&addr, &token, job["id"].as_str().unwrap(), |v| {
        v["state"] != "INPROGRESS"
    })
    .await;
    assert_eq!(done["state"], "SUCCEEDED", "{done}");
    source.stop().await;

    let copy = |name: &str| {
        let dir = root.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for e in std::fs::read_dir(&good).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
        }
        dir
    };
    let tampered = copy("tampered");
    let part = tampered.join("common.jsonl.zst");
    let mut bytes = std::fs::read(&part).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&part, bytes).unwrap();
    let newer = copy("newer");
    let mpath = newer.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&mpath).unwrap()).unwrap();
    m["schema_version"] = json!(m["schema_version"].as_i64().unwrap() + 1);
    m["version"] = json!("99.0.0");
    std::fs::write(&mpath, serde_json::to_vec(&m).unwrap()).unwrap();

    let fresh = TestServer::start().await;
    let piece = |dir: &std::path::Path| json!({"piece": {"location_type": "PATH", "location": dir.to_str().unwrap()}});
    let post = |path: &str, body: Value| {
        fresh
            .client
            .post(fresh.appliance(path))
            .basic_auth("root", Some(PASSWORD))
            .json(&body)
            .send()
    };
    let r = post("/api/appliance/recovery/restore/validate", piece(&tampered))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error_type"], "INVALID_ARGUMENT", "{v}");
    assert!(v.to_string().contains("checksum"), "{v}");
    assert!(v.to_string().contains("common"), "{v}");

    let r = post("/api/appliance/recovery/restore/validate", piece(&newer))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["applicable"], false, "{v}");
    assert!(v["messages"].to_string().contains("99.0.0"), "{v}");

    for dir in [&tampered, &newer] {
        let r = post("/api/appliance/recovery/restore/job", piece(dir))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let mut state = Value::Null;
        for _ in 0..300 {
            state = fresh
                .client
                .get(fresh.appliance("/api/appliance/recovery/restore/job"))
                .basic_auth("root", Some(PASSWORD))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if state["state"] != "INPROGRESS" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(state["state"], "FAILED", "{state}");
    }
    // The fresh server is as it was: its administrator logs in, its settings are its own.
    let token = fresh.login(ADMIN).await;
    assert!(!token.is_empty());
    fresh.stop().await;
}

/// FTP, FTPS, SCP, HTTP (WebDAV) and HTTPS to vsftpd, OpenSSH and nginx on loopback ports: the
/// same round trip per type (root needed for the throwaway users; `SKIPPED` without it).
#[tokio::test]
async fn backup_over_ftp_ftps_scp_and_webdav_and_restore_through_the_sdk() {
    use ferrocenter_testkit::file_servers::{FtpServer, SshServer, WebDavServer};
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    for tls in [false, true] {
        let Some(server) = FtpServer::start(tls) else {
            eprintln!("SKIPPED: vsftpd and root are needed for the FTP locations");
            return;
        };
        let dir = server.user.home.join("backups/vc1");
        let url = server.url(dir.to_str().unwrap());
        let ca = server
            .tls
            .as_ref()
            .map(|t| t.ca_pem_path.to_string_lossy().into_owned());
        let kind = if tls { "FTPS" } else { "FTP" };
        round_trip_trusting(
            &python,
            &[kind, &url, &server.user.name, &server.user.password],
            24 + u8::from(tls),
            ca.as_deref(),
        )
        .await;
        assert!(dir.join("manifest.json").is_file(), "{kind}");
    }
    let Some(ssh) = SshServer::start() else {
        eprintln!("SKIPPED: sshd and root are needed for the SCP location");
        return;
    };
    let dir = ssh.user.home.join("backups/vc1");
    let url = ssh.url("scp", dir.to_str().unwrap());
    round_trip(
        &python,
        &["SCP", &url, &ssh.user.name, &ssh.user.password],
        26,
    )
    .await;
    assert!(dir.join("manifest.json").is_file(), "SCP");
    drop(ssh);
    for tls in [false, true] {
        let Some(server) = WebDavServer::start(tls) else {
            eprintln!("SKIPPED: nginx with WebDAV and root are needed for the HTTP locations");
            return;
        };
        let url = server.url("/backups/vc1");
        let ca = server
            .tls
            .as_ref()
            .map(|t| t.ca_pem_path.to_string_lossy().into_owned());
        let kind = if tls { "HTTPS" } else { "HTTP" };
        round_trip_trusting(
            &python,
            &[kind, &url, &server.user.name, &server.user.password],
            27 + u8::from(tls),
            ca.as_deref(),
        )
        .await;
        assert!(
            server.user.home.join("backups/vc1/manifest.json").is_file(),
            "{kind}"
        );
    }
}

/// A location that is full, and one nobody answers at: the job is refused or fails naming what
/// failed, and nothing is reported complete. The full disk is a 64 KiB tmpfs (root needed to
/// mount it; `SKIPPED` without).
#[tokio::test]
async fn a_full_or_unreachable_location_fails_by_name() {
    let ts = TestServer::start().await;
    let addr = ts.api("").trim_start_matches("https://").to_string();
    let token = ts.login(ADMIN).await;
    let post = |body: Value| {
        rest(
            &ts.client,
            reqwest::Method::POST,
            ts.api("/api/appliance/recovery/backup/job"),
            &token,
            Some(body),
        )
    };
    let (status, v) = post(json!({"piece": {"parts": [], "location_type": "FTP",
        "location": "ftp://127.0.0.1:1/backups", "location_user": "u",
        "location_password": "p"}}))
    .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error_type"], "INVALID_ARGUMENT", "{v}");
    assert!(v.to_string().contains("'location'"), "{v}");
    assert!(v.to_string().contains("127.0.0.1:1"), "{v}");
    assert!(!v.to_string().contains("\"p\""), "{v}");

    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: root is needed to mount a small tmpfs as a full disk");
        ts.stop().await;
        return;
    }
    let mnt = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(mnt.path())
        .status()
        .unwrap();
    assert!(ok.success(), "mount tmpfs");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.path().to_path_buf());
    // Leave a few hundred bytes: the probe file fits, the archive's parts do not.
    let filler = mnt.path().join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    loop {
        if std::io::Write::write_all(&mut f, &chunk).is_err() {
            break;
        }
    }
    drop(f);
    let loc = mnt.path().join("backups");
    std::fs::create_dir_all(&loc).unwrap_or(());
    let (status, v) = post(job_body(loc.to_str().unwrap())).await;
    let done = if status == 200 {
        poll_job(&addr, &token, v["id"].as_str().unwrap(), |v| {
            v["state"] != "INPROGRESS"
        })
        .await
    } else {
        // The probe did not fit either: refused before starting, naming the location.
        assert_eq!(v["error_type"], "INVALID_ARGUMENT", "{v}");
        v
    };
    assert_ne!(done["state"], "SUCCEEDED", "{done}");
    let text = done.to_string();
    assert!(
        text.contains("No space left") || text.contains("space"),
        "{done}"
    );
    assert!(!loc.join("manifest.json").exists());
    ts.stop().await;
}
