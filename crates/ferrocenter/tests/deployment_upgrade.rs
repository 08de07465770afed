//! Upgrade stage 2 (seeds/003 chapter 5): a server started with `--await-setup` takes over a
//! running ferrocenter — the source — reached over HTTPS with its certificate pinned by the
//! thumbprint the operator gives, as the source's SSO administrator.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::deployment::*;
use common::sdk::{run_sdk_script, sdk_python};
use common::*;
use ferrocenter::serve::Server;
use reqwest::Method;
use serde_json::{json, Value};

/// A server awaiting its setup.
async fn start_target() -> TestServer {
    start_awaiting(tempfile::tempdir().unwrap(), ROOT_SETUP_PW, |_| {}).await
}

fn thumbprint(ts: &TestServer) -> String {
    ts.server.as_ref().unwrap().thumbprint.clone()
}

fn api_addr(ts: &TestServer) -> (String, u16) {
    let a = ts.server.as_ref().unwrap().addrs.api;
    (a.ip().to_string(), a.port())
}

fn spec(host: &str, port: u16, thumbprint: &str, password: &str) -> Value {
    json!({"spec": {
        "source_appliance": {
            "hostname": host,
            "https_port": port,
            "ssl_thumbprint": thumbprint,
            "sso_admin_username": ADMIN,
            "sso_admin_password": password,
            "root_password": PASSWORD,
        },
        // Required by the SDK; ferrocenter does not use it (docs/deployment-upgrade.md).
        "source_location": {"hostname": "esx.invalid", "username": "root", "password": "unused"},
        "history": {"data_set": "ALL", "defer_import": false},
        "vcsa_embedded": {"ceip_enabled": false},
        "auto_answer": true,
    }})
}

/// Every error message of a check, with its arguments.
fn errors(check: &Value) -> String {
    check["result"]["errors"]
        .as_array()
        .map(|es| {
            es.iter()
                .map(|e| {
                    format!(
                        "{} {}",
                        e["message"]["default_message"], e["message"]["args"]
                    )
                })
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

async fn check(target: &TestServer, body: &Value) -> Value {
    let (status, v) = root_call(
        target,
        Method::POST,
        "/rest/vcenter/deployment/upgrade?action=check",
        ROOT_SETUP_PW,
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v["value"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn check_reaches_the_source_with_its_certificate_pinned() {
    let source = TestServer::start().await;
    let target = start_target().await;
    let (host, port) = api_addr(&source);
    let right = thumbprint(&source);
    // Another server's certificate: a thumbprint that is well formed but not the source's.
    let wrong = thumbprint(&target);
    assert_ne!(right, wrong);

    let c = check(&target, &spec(&host, port, &wrong, PASSWORD)).await;
    assert_eq!(c["status"], "FAILED", "{c}");
    let e = errors(&c);
    assert!(e.contains("source_appliance.ssl_thumbprint"), "{e}");
    assert!(e.contains(&right), "the thumbprint seen is named: {e}");
    assert!(c.get("source_info").is_none(), "{c}");

    let c = check(&target, &spec(&host, port, &right, "Wrong-Pass-1")).await;
    assert_eq!(c["status"], "FAILED", "{c}");
    assert!(
        errors(&c).contains("source_appliance.sso_admin_password"),
        "{c}"
    );

    let nobody = free_local_addr();
    let (nh, np) = nobody.rsplit_once(':').unwrap();
    let c = check(&target, &spec(nh, np.parse().unwrap(), &right, PASSWORD)).await;
    assert_eq!(c["status"], "FAILED", "{c}");
    assert!(errors(&c).contains("source_appliance.hostname"), "{c}");

    let mut bad = spec(&host, port, &right, PASSWORD);
    bad["spec"]["source_appliance"]
        .as_object_mut()
        .unwrap()
        .remove("ssl_thumbprint");
    bad["spec"]["psc"] = json!({"ceip_enabled": true});
    let c = check(&target, &bad).await;
    assert_eq!(c["status"], "FAILED", "{c}");
    let e = errors(&c);
    assert!(
        e.contains("source_appliance.ssl_thumbprint") && e.contains("psc"),
        "{e}"
    );

    let c = check(&target, &spec(&host, port, &right, PASSWORD)).await;
    assert_eq!(c["status"], "SUCCESS", "{c}");
    let si = &c["source_info"];
    assert_eq!(si["hostname"], host.as_str());
    assert_eq!(si["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(si["deployment_type"], "VCSA_EMBEDDED");
    assert_eq!(si["deployment_size"], "TINY");
    assert_eq!(si["sso_domain_name"], "vsphere.local");
    assert_eq!(si["active_directory_domain"], "");
    assert_eq!(si["dns_servers"], json!([]));
    // Estimates from the source's sizes: the more history, the more to move; deferred, only
    // the core is imported before the target serves.
    let m = &si["data_migration_info"];
    let t = |k: &str, f: &str| m[k][f].as_f64().unwrap_or_else(|| panic!("{k}.{f}: {m}"));
    for k in ["core", "core_events_tasks", "all"] {
        assert!(t(k, "estimated_export_time") >= 1.0, "{m}");
        assert!(t(k, "estimated_import_time") >= 1.0, "{m}");
        assert!(t(k, "required_free_disk_space_on_source") > 0.0, "{m}");
    }
    let space = |k: &str| t(k, "required_free_disk_space_on_source");
    assert!(space("core") <= space("core_events_tasks"), "{m}");
    assert!(space("core_events_tasks") <= space("all"), "{m}");
    assert_eq!(space("all_with_deferred"), space("all"), "{m}");
    assert_eq!(
        t("all_with_deferred", "estimated_import_time"),
        t("core", "estimated_import_time"),
        "{m}"
    );
    // The source's disk: the filesystem of its work directory.
    let disk = &si["disk_info"][0];
    assert!(
        disk["mount_point"]
            .as_str()
            .is_some_and(|p| p.starts_with('/')),
        "{si}"
    );
    let (size, used, free) = (
        disk["size"].as_f64().unwrap(),
        disk["used"].as_f64().unwrap(),
        disk["free"].as_f64().unwrap(),
    );
    assert!(
        size > 0.0 && used > 0.0 && free > 0.0 && used + free <= size * 1.01,
        "{disk}"
    );

    // Nothing changed: the target still awaits its setup, no upgrade has run.
    let (status, d) = root_call(
        &target,
        Method::GET,
        "/rest/vcenter/deployment",
        ROOT_SETUP_PW,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(d["value"]["state"], "INITIALIZED", "{d}");
    let (status, _) = root_call(
        &target,
        Method::GET,
        "/rest/vcenter/deployment/upgrade",
        ROOT_SETUP_PW,
        None,
    )
    .await;
    assert_eq!(status, 400, "upgrade.get before any upgrade");

    // A set-up server is no upgrade's target: check is refused in its state (400).
    let (status, v) = root_call(
        &source,
        Method::POST,
        "/rest/vcenter/deployment/upgrade?action=check",
        PASSWORD,
        Some(spec(&host, port, &right, PASSWORD)),
    )
    .await;
    assert_eq!(status, 400, "{v}");

    // The source's own operation is for its superAdmin only.
    let op = source.user("op", ferrocenter_core::auth::Role::Admin).await;
    let token = source.login(&op).await;
    let (status, _) = source
        .call_json(
            Method::GET,
            "/api/ferrocenter/deployment/export/source",
            &token,
            None,
        )
        .await;
    assert_eq!(status, 403);

    target.stop().await;
    source.stop().await;
}

/// A source managing `fleet`: a datacenter with a cluster holding the first host, the others
/// standalone; hosts heartbeat every second, so a claim taken from it is seen at once.
async fn populated_source(fleet: &ferrocenter_agent::simulate::Fleet) -> TestServer {
    let ts = TestServer::start_with(|a| a.heartbeat_interval_secs = Some("1".into())).await;
    let (core, admin) = ts.core_admin().await;
    let dc = core.create_datacenter(&admin, "DC-Up", "").await.unwrap();
    let cluster = core
        .create_cluster(
            &admin,
            &dc.id,
            "Cluster-Up",
            ferrocenter_core::inventory::AutomationLevel::FullyAutomated,
            "",
        )
        .await
        .unwrap();
    for (i, h) in fleet.manifest.hosts.iter().enumerate() {
        let t = core
            .add_host(
                &admin,
                ferrocenter_core::hosts::AddHostSpec {
                    cluster_id: (i == 0).then(|| cluster.id.clone()),
                    datacenter_id: (i != 0).then(|| dc.id.clone()),
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
    ts
}

/// The inventory by names: datacenters, clusters, hosts, VMs.
async fn names(addr: &str, token: &str) -> Value {
    let mut out = serde_json::Map::new();
    for (path, key) in [
        ("/api/vcenter/datacenter", "name"),
        ("/api/vcenter/cluster", "name"),
        ("/api/vcenter/host", "name"),
        ("/api/vcenter/vm", "name"),
    ] {
        let v = get_json(addr, path, token).await;
        let mut ns: Vec<String> = v
            .as_array()
            .unwrap_or_else(|| panic!("{path}: {v}"))
            .iter()
            .map(|e| e[key].as_str().unwrap().to_string())
            .collect();
        ns.sort();
        out.insert(path.into(), json!(ns));
    }
    Value::Object(out)
}

/// Every host's connection state as `/api/vcenter/host` lists it.
async fn host_states(addr: &str, token: &str) -> Vec<String> {
    get_json(addr, "/api/vcenter/host", token)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["connection_state"].as_str().unwrap().to_string())
        .collect()
}

/// Follows the target's deployment until CONFIGURED or FAILED. Root's password is the
/// source's once the import ran (the source's root is the target's root then): after one
/// refusal of the setup password, the source's is used.
async fn follow(target: &TestServer) -> Value {
    let mut pw = ROOT_SETUP_PW;
    let start = std::time::Instant::now();
    loop {
        let (status, v) = root_call(target, Method::GET, "/api/vcenter/deployment", pw, None).await;
        if status == 401 && pw == ROOT_SETUP_PW {
            pw = PASSWORD;
            continue;
        }
        assert_eq!(status, 200, "{v}");
        let state = v["state"].as_str().unwrap().to_string();
        if state == "CONFIGURED" || state == "FAILED" {
            return v;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "the upgrade did not end: {v}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The upgrade exports left on a server (under its backup staging).
fn exports_left(ts: &TestServer) -> Vec<String> {
    std::fs::read_dir(ts.dir.path().join("backup-staging"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("upgrade-export-"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn upgrade_moves_the_inventory_accounts_and_hosts_to_the_target() {
    let fleet = sim_fleet(3, 2, 31, 91).await;
    let source = populated_source(&fleet).await;
    let source_addr = source.api("").trim_start_matches("https://").to_string();
    let source_token = source.login(ADMIN).await;
    let before = names(&source_addr, &source_token).await;
    assert_eq!(before["/api/vcenter/host"].as_array().unwrap().len(), 3);
    assert_eq!(before["/api/vcenter/vm"].as_array().unwrap().len(), 6);
    let messages = add_history(&source, "moved", 20).await;
    let target = start_target().await;
    let (host, _) = api_addr(&source);

    // Events and tasks only: the source's statistics stay behind.
    let done = upgrade_with(
        &target,
        &source,
        json!({"data_set": "EVENTS_TASKS", "defer_import": false}),
    )
    .await;
    assert_eq!(done["state"], "CONFIGURED", "{done:#}");
    assert_eq!(done["operation"], "UPGRADE");
    let hosts_step = &done["subtasks"]["hosts"];
    assert_eq!(hosts_step["status"], "SUCCEEDED", "{done:#}");
    assert_eq!(
        hosts_step["result"]["info"].as_array().map(Vec::len),
        Some(3),
        "one notification per host moved: {hosts_step}"
    );
    assert!(
        hosts_step["result"].get("warnings").is_none(),
        "{hosts_step}"
    );
    // The history (defer_import false) came before CONFIGURED: the source's events are here.
    assert!(
        done["subtasks"]["history"]["result"]
            .to_string()
            .contains("Imported the source's history"),
        "{done:#}"
    );
    let source_events = source
        .core_admin()
        .await
        .0
        .store
        .list_events(&Default::default())
        .await
        .unwrap();
    let target_events = target
        .server
        .as_ref()
        .unwrap()
        .core
        .store
        .list_events(&Default::default())
        .await
        .unwrap();
    assert!(source_events.iter().any(|e| e.kind == "HostConnectedEvent"));
    let here = event_messages(&target).await;
    assert!(messages.iter().all(|m| here.contains(m)));
    let items = core_of(&target).store.stat_items().await.unwrap();
    assert!(
        !items.iter().any(|i| i == SOURCE_ONLY_ITEM),
        "EVENTS_TASKS brought the source's statistics: {items:?}"
    );
    for e in source_events
        .iter()
        .filter(|e| e.kind == "HostConnectedEvent")
    {
        assert!(
            target_events
                .iter()
                .any(|t| t.kind == e.kind && t.message == e.message),
            "the source's event {} is not on the target",
            e.message
        );
    }

    // The source's SSO administrator logs in on the target's main listener, which serves the
    // same inventory, every host connected to the target.
    let target_addr = target.api("").trim_start_matches("https://").to_string();
    let target_token = login_at(&target_addr, ADMIN).await;
    assert_eq!(names(&target_addr, &target_token).await, before);
    assert_eq!(
        host_states(&target_addr, &target_token).await,
        vec!["CONNECTED"; 3]
    );
    // upgrade.get shows the spec, no password.
    let (status, g) = root_call(
        &target,
        Method::GET,
        "/rest/vcenter/deployment/upgrade",
        PASSWORD,
        None,
    )
    .await;
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["value"]["source_appliance"]["hostname"], host.as_str());
    assert!(!g.to_string().contains(PASSWORD), "{g}");

    // The source finds its claims taken: every host disconnected there, with an event naming
    // the new manager; its export is gone.
    let start = std::time::Instant::now();
    while host_states(&source_addr, &source_token).await != vec!["DISCONNECTED"; 3] {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the source still manages hosts: {:?}",
            host_states(&source_addr, &source_token).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (core, _) = source.core_admin().await;
    let events = core.store.list_events(&Default::default()).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.message.contains("managed by another server now")),
        "no event names the new manager"
    );
    assert!(
        exports_left(&source).is_empty(),
        "{:?}",
        exports_left(&source)
    );
    // The target keeps managing them: its heartbeats find the claims its own.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        host_states(&target_addr, &target_token).await,
        vec!["CONNECTED"; 3]
    );

    target.stop().await;
    source.stop().await;
    drop(fleet);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upgrade_failing_halfway_leaves_the_source_in_charge() {
    let fleet = sim_fleet(2, 1, 32, 92).await;
    let source = populated_source(&fleet).await;
    let source_addr = source.api("").trim_start_matches("https://").to_string();
    let source_token = source.login(ADMIN).await;
    let target = start_target().await;
    let (host, port) = api_addr(&source);
    // The root password is checked once the source's accounts are imported, after the export
    // and download: the upgrade fails there, halfway.
    let mut body = spec(&host, port, &thumbprint(&source), PASSWORD);
    body["spec"]["source_appliance"]["root_password"] = json!("Not-The-Root-Pass-1");
    let (status, v) = root_call(
        &target,
        Method::POST,
        "/rest/vcenter/deployment/upgrade?action=start",
        ROOT_SETUP_PW,
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let done = follow(&target).await;
    assert_eq!(done["state"], "FAILED", "{done:#}");
    assert_eq!(
        done["subtasks"]["export"]["status"], "SUCCEEDED",
        "{done:#}"
    );
    assert_eq!(done["subtasks"]["import"]["status"], "FAILED", "{done:#}");
    assert_eq!(done["subtasks"]["hosts"]["status"], "PENDING", "{done:#}");
    assert!(done.to_string().contains("root_password"), "{done:#}");

    // The source is untouched: it manages every host still, and its export is removed.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        host_states(&source_addr, &source_token).await,
        vec!["CONNECTED"; 2]
    );
    assert!(
        exports_left(&source).is_empty(),
        "{:?}",
        exports_left(&source)
    );

    target.stop().await;
    source.stop().await;
    drop(fleet);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_target_killed_mid_upgrade_is_failed_and_the_source_keeps_its_hosts() {
    let fleet = sim_fleet(2, 1, 33, 93).await;
    let source = populated_source(&fleet).await;
    let source_addr = source.api("").trim_start_matches("https://").to_string();
    let source_token = source.login(ADMIN).await;
    // Travels with the import: the target pauses before each host's claim.
    let (core, _) = source.core_admin().await;
    core.store
        .put_setting(
            ferrocenter_core::deployment::upgrade::start::HOST_PAUSE_KEY,
            "5000",
        )
        .await
        .unwrap();
    let (host, port) = api_addr(&source);

    let dir = tempfile::tempdir().unwrap();
    let (api, appliance) = (free_local_addr(), free_local_addr());
    let args = [
        "--listen",
        api.as_str(),
        "--appliance-listen",
        appliance.as_str(),
        "--await-setup",
        "--root-password",
        ROOT_SETUP_PW,
    ];
    let mut target = spawn_server(dir.path(), &args);
    target.wait_stdout("thumbprint", std::time::Duration::from_secs(60));
    let call = |method: Method, path: &str, pw: &str, body: Option<Value>| {
        let mut rb = client()
            .request(method, format!("https://{appliance}{path}"))
            .basic_auth("root", Some(pw.to_string()));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        async move {
            let r = rb.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, v) = call(
        Method::POST,
        "/rest/vcenter/deployment/upgrade?action=start",
        ROOT_SETUP_PW,
        Some(spec(&host, port, &thumbprint(&source), PASSWORD)),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    // Killed while the hosts step waits before its claims (root is the source's by then).
    // Root's password is the setup's until the import brings the source's root: polling with
    // the source's before then would lock root out.
    let start = std::time::Instant::now();
    let mut pw = ROOT_SETUP_PW;
    loop {
        let (status, d) = call(Method::GET, "/api/vcenter/deployment", pw, None).await;
        if status == 401 && pw == ROOT_SETUP_PW {
            pw = PASSWORD;
            continue;
        }
        if status == 200 && d["subtasks"]["hosts"]["status"] == "RUNNING" {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "never reached the hosts step: {status} {d}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    target.signal(libc::SIGKILL);
    target.wait_exit(std::time::Duration::from_secs(10));

    let mut target = spawn_server(dir.path(), &args);
    target.wait_stdout("thumbprint", std::time::Duration::from_secs(60));
    // Started again with --root-password, root has the operator's password again.
    let (status, d) = call(Method::GET, "/api/vcenter/deployment", ROOT_SETUP_PW, None).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["state"], "FAILED", "{d:#}");
    assert_eq!(d["subtasks"]["hosts"]["status"], "FAILED", "{d:#}");
    // No claim had moved: the source manages every host still.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        host_states(&source_addr, &source_token).await,
        vec!["CONNECTED"; 2]
    );
    // Say the killed attempt had claimed the first host: the source lets it go.
    let target_uuid = ferrocenter::store_identity::read(dir.path())
        .unwrap()
        .expect("the services step recorded the store")
        .server_uuid;
    fleet
        .agent(0)
        .claim(&ferrocenter_agent_client::wire::ClaimRequest {
            server_uuid: target_uuid,
            server_address: "127.0.0.1".into(),
            force: true,
        })
        .unwrap();
    let start = std::time::Instant::now();
    while !host_states(&source_addr, &source_token)
        .await
        .contains(&"DISCONNECTED".to_string())
    {
        assert!(start.elapsed() < std::time::Duration::from_secs(30));
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // A rollback brings the target back to INITIALIZED.
    let (status, v) = call(
        Method::POST,
        "/api/vcenter/deployment?action=rollback",
        ROOT_SETUP_PW,
        None,
    )
    .await;
    assert!(status == 200 || status == 204, "{status} {v}");
    let (_, d) = call(Method::GET, "/api/vcenter/deployment", ROOT_SETUP_PW, None).await;
    assert_eq!(d["state"], "INITIALIZED", "{d:#}");

    // Run again (no pause): every host is the target's and connected there, the one the
    // failed attempt had taken too, though the source recorded it disconnected.
    core.store
        .put_setting(
            ferrocenter_core::deployment::upgrade::start::HOST_PAUSE_KEY,
            "0",
        )
        .await
        .unwrap();
    let (status, v) = call(
        Method::POST,
        "/rest/vcenter/deployment/upgrade?action=start",
        ROOT_SETUP_PW,
        Some(spec(&host, port, &thumbprint(&source), PASSWORD)),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let start = std::time::Instant::now();
    let mut pw = ROOT_SETUP_PW;
    loop {
        let (status, d) = call(Method::GET, "/api/vcenter/deployment", pw, None).await;
        if status == 401 && pw == ROOT_SETUP_PW {
            pw = PASSWORD;
            continue;
        }
        if status == 200 && d["state"] == "CONFIGURED" {
            break;
        }
        assert!(
            status != 200 || d["state"] != "FAILED",
            "the second attempt failed: {d:#}"
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "{status} {d}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let target_token = login_at(&api, ADMIN).await;
    assert_eq!(host_states(&api, &target_token).await, vec!["CONNECTED"; 2]);

    target.signal(libc::SIGTERM);
    target.wait_exit(std::time::Duration::from_secs(30));
    source.stop().await;
    drop(fleet);
}

/// The official SDK's `Upgrade.check` (JSON-RPC) against a target, as the guide's stage 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_official_sdk_checks_an_upgrade_spec() {
    let Some(python) = sdk_python() else {
        println!("SKIPPED: the vSphere Automation SDK for Python (FERROCENTER_VAPI_PYTHON)");
        return;
    };
    let source = TestServer::start().await;
    let target = start_target().await;
    let (host, port) = api_addr(&source);
    let appliance = target
        .appliance("")
        .trim_start_matches("https://")
        .to_string();
    let (right, wrong) = (thumbprint(&source), thumbprint(&target));
    let port = port.to_string();
    let out = run_sdk_script(
        &python,
        "upgrade.py",
        &[
            &appliance,
            ROOT_SETUP_PW,
            &host,
            &port,
            &right,
            &wrong,
            ADMIN,
            PASSWORD,
        ],
    )
    .await;
    assert_eq!(out["status"], "SUCCESS", "{out}");
    assert_eq!(out["source_info"]["hostname"], host.as_str(), "{out}");
    assert_eq!(out["source_info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(out["source_info"]["deployment_type"], "VCSA_EMBEDDED");
    assert_eq!(out["source_info"]["deployment_size"], "TINY");
    assert_eq!(out["source_info"]["sso_domain_name"], "vsphere.local");
    // The SDK reads the estimates and the disk as its types say.
    let m = &out["source_info"]["data_migration_info"];
    assert!(
        m["all"]["estimated_import_time"].as_i64().unwrap() >= 1,
        "{out}"
    );
    assert!(
        m["all"]["required_free_disk_space_on_source"]
            .as_f64()
            .unwrap()
            > 0.0,
        "{out}"
    );
    assert!(
        out["source_info"]["disk_mount_points"][0]
            .as_str()
            .is_some(),
        "{out}"
    );
    assert_eq!(out["wrong_status"], "FAILED", "{out}");
    let errors = out["wrong_errors"].to_string();
    assert!(
        errors.contains("source_appliance.ssl_thumbprint") && errors.contains(&right),
        "{errors}"
    );
    assert_eq!(
        out["get_before_upgrade"], "NotAllowedInCurrentState",
        "{out}"
    );
    target.stop().await;
    source.stop().await;
}

// ---------------------------------------------------------------------------------------------
// History: a deferred import (paused, resumed, completed; a second one cancelled) and the
// history's data set.

/// An item of statistics no server samples by itself: only the source's history brings it.
const SOURCE_ONLY_ITEM: &str = "upgrade.test.source_only";

/// Gives `source` a history beyond its fleet's: `events` events and samples of
/// [`SOURCE_ONLY_ITEM`]; returns the events' messages.
async fn add_history(source: &TestServer, label: &str, events: usize) -> Vec<String> {
    let (core, _) = source.core_admin().await;
    let mut messages = Vec::new();
    for i in 0..events {
        let message = format!("{label} history event {i}");
        core.record_event(
            "upgradeHistoryTest",
            "host",
            "history-host",
            "history host",
            ADMIN,
            message.clone(),
            json!({ "i": i }),
        )
        .await;
        messages.push(message);
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let samples: Vec<_> = (0..40)
        .map(|i| ferrocenter_core::ports::StatSample {
            item: SOURCE_ONLY_ITEM.into(),
            at: now - 60 * (40 - i),
            value: i as f64,
        })
        .collect();
    core.store.record_stats(&samples).await.unwrap();
    messages
}

/// The history import's settings on `ts`, read by its next import's batches; set on a source
/// they travel with the upgrade's import.
async fn history_pace(ts: &TestServer, batch_rows: usize, pause_ms: u64) {
    use ferrocenter_core::history_import::{BATCH_PAUSE_KEY, BATCH_ROWS_KEY};
    let core = &ts.server.as_ref().unwrap().core;
    core.store
        .put_setting(BATCH_ROWS_KEY, &batch_rows.to_string())
        .await
        .unwrap();
    core.store
        .put_setting(BATCH_PAUSE_KEY, &pause_ms.to_string())
        .await
        .unwrap();
}

/// `vcenter.deployment.import_history` on the target's appliance listener, as its root (the
/// source's root once upgraded): `get` when `action` is None.
async fn import_history(target: &TestServer, action: Option<&str>) -> (u16, Value) {
    match action {
        None => {
            root_call(
                target,
                Method::GET,
                "/api/vcenter/deployment/history",
                PASSWORD,
                None,
            )
            .await
        }
        Some(a) => {
            root_call(
                target,
                Method::POST,
                &format!("/api/vcenter/deployment/history?action={a}"),
                PASSWORD,
                None,
            )
            .await
        }
    }
}

/// Polls the import until `done` holds (two minutes at most).
async fn import_until(target: &TestServer, done: impl Fn(&Value) -> bool) -> Value {
    let start = std::time::Instant::now();
    loop {
        let (status, v) = import_history(target, None).await;
        assert_eq!(status, 200, "{v}");
        if done(&v) {
            return v;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "the history import never got there: {v}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Starts an upgrade of `target` from `source` with `history` and follows it to its end.
async fn upgrade_with(target: &TestServer, source: &TestServer, history: Value) -> Value {
    let (host, port) = api_addr(source);
    let mut body = spec(&host, port, &thumbprint(source), PASSWORD);
    body["spec"]["history"] = history;
    let (status, v) = root_call(
        target,
        Method::POST,
        "/rest/vcenter/deployment/upgrade?action=start",
        ROOT_SETUP_PW,
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    follow(target).await
}

fn core_of(ts: &TestServer) -> &std::sync::Arc<ferrocenter_core::Core> {
    &ts.server.as_ref().unwrap().core
}

async fn event_messages(ts: &TestServer) -> std::collections::HashSet<String> {
    core_of(ts)
        .store
        .list_events(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .collect()
}

fn status_of(v: &Value) -> &str {
    v["status"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deferred_history_import_is_paused_resumed_and_a_second_one_cancelled() {
    let fleet = sim_fleet(1, 1, 34, 94).await;
    let source = populated_source(&fleet).await;
    let messages = add_history(&source, "first", 300).await;
    // Small, paced batches (set on the source, they come with the import): the import lasts
    // long enough to be paused.
    history_pace(&source, 10, 150).await;
    let target = start_target().await;

    let done = upgrade_with(
        &target,
        &source,
        json!({"data_set": "ALL", "defer_import": true}),
    )
    .await;
    assert_eq!(done["state"], "CONFIGURED", "{done:#}");
    assert!(
        done["subtasks"]["history"]["result"]
            .to_string()
            .contains("is staged"),
        "{done:#}"
    );
    // The import starts by itself once CONFIGURED, while the server serves.
    let running = import_until(&target, |v| status_of(v) != "PENDING").await;
    assert_eq!(status_of(&running), "RUNNING", "{running:#}");
    let target_addr = target.api("").trim_start_matches("https://").to_string();
    let target_token = login_at(&target_addr, ADMIN).await;
    assert_eq!(
        host_states(&target_addr, &target_token).await,
        vec!["CONNECTED"]
    );

    let (status, v) = import_history(&target, Some("pause")).await;
    assert_eq!(status, 204, "{v}");
    import_until(&target, |v| status_of(v) == "BLOCKED").await;
    // The batch being written when it was paused lands; then nothing more.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (_, paused) = import_history(&target, None).await;
    assert_eq!(status_of(&paused), "BLOCKED", "{paused:#}");
    let total = paused["progress"]["total"].as_u64().unwrap();
    let at = paused["progress"]["completed"].as_u64().unwrap();
    assert!(at < total, "paused after the end: {paused:#}");
    assert!(
        paused["result"]["info"].to_string().contains("Paused by"),
        "{paused:#}"
    );
    // Paused, it stays where it is.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let (_, still) = import_history(&target, None).await;
    assert_eq!(status_of(&still), "BLOCKED", "{still:#}");
    assert_eq!(
        still["progress"]["completed"].as_u64(),
        Some(at),
        "{still:#}"
    );
    let (status, v) = import_history(&target, Some("pause")).await;
    assert_eq!(status, 400, "a second pause: {v}");

    history_pace(&target, 100, 0).await;
    let (status, v) = import_history(&target, Some("resume")).await;
    assert_eq!(status, 204, "{v}");
    let succeeded = import_until(&target, |v| !matches!(status_of(v), "RUNNING" | "PENDING")).await;
    assert_eq!(status_of(&succeeded), "SUCCEEDED", "{succeeded:#}");
    assert_eq!(
        succeeded["progress"]["completed"].as_u64(),
        Some(total),
        "{succeeded:#}"
    );
    // The source's history is on the target: its events, and (data set ALL) its statistics.
    let here = event_messages(&target).await;
    let missing: Vec<_> = messages.iter().filter(|m| !here.contains(*m)).collect();
    assert!(missing.is_empty(), "{} events missing", missing.len());
    let items = core_of(&target).store.stat_items().await.unwrap();
    assert!(items.iter().any(|i| i == SOURCE_ONLY_ITEM), "{items:?}");
    target.stop().await;
    source.stop().await;
    drop(fleet);

    // A second instance moved with a deferred import, cancelled: FAILED for good.
    let source = TestServer::start().await;
    let messages = add_history(&source, "second", 300).await;
    history_pace(&source, 10, 150).await;
    let target = start_target().await;
    let done = upgrade_with(
        &target,
        &source,
        json!({"data_set": "EVENTS_TASKS", "defer_import": true}),
    )
    .await;
    assert_eq!(done["state"], "CONFIGURED", "{done:#}");
    let running = import_until(&target, |v| status_of(v) != "PENDING").await;
    assert_eq!(status_of(&running), "RUNNING", "{running:#}");
    let (status, v) = import_history(&target, Some("cancel")).await;
    assert_eq!(status, 204, "{v}");
    let (_, failed) = import_history(&target, None).await;
    assert_eq!(status_of(&failed), "FAILED", "{failed:#}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (_, failed) = import_history(&target, None).await;
    assert_eq!(failed["error"]["error_type"], "CANCELED", "{failed:#}");
    let at = failed["progress"]["completed"].as_u64().unwrap();
    assert!(
        at < failed["progress"]["total"].as_u64().unwrap(),
        "{failed:#}"
    );
    for action in ["resume", "start"] {
        let (status, v) = import_history(&target, Some(action)).await;
        assert_eq!(status, 400, "{action} after cancel: {v}");
        assert_eq!(v["error_type"], "NOT_ALLOWED_IN_CURRENT_STATE", "{v}");
    }
    // A while later it is still FAILED and imported nothing more.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (_, later) = import_history(&target, None).await;
    assert_eq!(status_of(&later), "FAILED", "{later:#}");
    assert_eq!(later["progress"]["completed"].as_u64(), Some(at));
    let here = event_messages(&target).await;
    assert!(
        messages.iter().any(|m| !here.contains(m)),
        "every event came though the import was cancelled"
    );
    // And after a restart of the target (set up now: it starts serving).
    let mut target = target;
    target.server.take().unwrap().stop().await;
    let again = args(target.dir.path()).resolve().unwrap();
    target.server = Some(Server::start(&again).await.unwrap());
    let (status, restarted) = import_history(&target, None).await;
    assert_eq!(status, 200, "{restarted}");
    assert_eq!(status_of(&restarted), "FAILED", "{restarted:#}");
    assert_eq!(restarted["progress"]["completed"].as_u64(), Some(at));
    let (status, v) = import_history(&target, Some("resume")).await;
    assert_eq!(status, 400, "resume after a restart: {v}");
    target.stop().await;
    source.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Questions: a target whose main listener cannot bind asks `services.listen`, as an install does.

/// How an upgrade went: the questions it raised (each as `question.get` listed it) and its end.
struct Answered {
    questions: Vec<Value>,
    last: Value,
}

/// Follows the target's upgrade to CONFIGURED or FAILED, answering each question raised with
/// what `answer` says for its id.
async fn follow_answering(
    target: &TestServer,
    answer: &(dyn Fn(&str) -> String + Sync),
) -> Answered {
    let mut pw = ROOT_SETUP_PW;
    let mut questions = Vec::new();
    let start = std::time::Instant::now();
    loop {
        let (status, v) = root_call(target, Method::GET, "/api/vcenter/deployment", pw, None).await;
        if status == 401 && pw == ROOT_SETUP_PW {
            pw = PASSWORD;
            continue;
        }
        assert_eq!(status, 200, "{v}");
        match v["state"].as_str().unwrap() {
            "CONFIGURED" | "FAILED" => return Answered { questions, last: v },
            "QUESTION_RAISED" => {
                let (status, q) = root_call(
                    target,
                    Method::GET,
                    "/rest/vcenter/deployment/question",
                    pw,
                    None,
                )
                .await;
                assert_eq!(status, 200, "{q}");
                let q = q["value"]["questions"][0].clone();
                let id = q["id"].as_str().unwrap().to_string();
                questions.push(q);
                let (status, r) = root_call(
                    target,
                    Method::POST,
                    "/rest/vcenter/deployment/question?action=answer",
                    pw,
                    Some(json!({"spec": {"question_id": id, "answer_val": answer(&id)}})),
                )
                .await;
                assert_eq!(status, 200, "{r}");
            }
            _ => {}
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "the upgrade did not end: {v}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_taken_main_listener_asks_whether_to_abort_retry_or_ignore() {
    let source = TestServer::start().await;
    let (host, port) = api_addr(&source);

    // With auto_answer the default, ABORT, fails the upgrade at its services step, unasked.
    let target = start_target().await;
    let main = target.api("").trim_start_matches("https://").to_string();
    let squatter = std::net::TcpListener::bind(&main).unwrap();
    let (status, v) = root_call(
        &target,
        Method::POST,
        "/rest/vcenter/deployment/upgrade?action=start",
        ROOT_SETUP_PW,
        Some(spec(&host, port, &thumbprint(&source), PASSWORD)),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let run = follow_answering(&target, &|id| panic!("asked {id} with auto_answer")).await;
    assert!(run.questions.is_empty());
    let failed = &run.last;
    assert_eq!(failed["state"], "FAILED", "{failed:#}");
    assert_eq!(
        failed["subtasks"]["services"]["status"], "FAILED",
        "{failed:#}"
    );
    assert_eq!(
        failed["subtasks"]["hosts"]["status"], "PENDING",
        "{failed:#}"
    );
    drop(squatter);
    target.stop().await;

    // Asked by hand: RETRY once the address is free goes on to CONFIGURED.
    let target = start_target().await;
    let main = target.api("").trim_start_matches("https://").to_string();
    let squatter = std::sync::Mutex::new(Some(std::net::TcpListener::bind(&main).unwrap()));
    let mut body = spec(&host, port, &thumbprint(&source), PASSWORD);
    body["spec"]["auto_answer"] = json!(false);
    let (status, v) = root_call(
        &target,
        Method::POST,
        "/rest/vcenter/deployment/upgrade?action=start",
        ROOT_SETUP_PW,
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let run = follow_answering(&target, &|id| {
        assert_eq!(id, "services.listen");
        squatter.lock().unwrap().take();
        "RETRY".to_string()
    })
    .await;
    assert_eq!(run.questions.len(), 1, "{:?}", run.questions);
    assert_listen_question(&run.questions[0]);
    assert_eq!(run.last["state"], "CONFIGURED", "{:#}", run.last);
    assert_eq!(run.last["subtasks"]["services"]["status"], "SUCCEEDED");
    login_at(&main, ADMIN).await;
    target.stop().await;
    source.stop().await;
}
