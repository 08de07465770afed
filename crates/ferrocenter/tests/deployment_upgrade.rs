//! Upgrade stage 2 (seeds/003 chapter 5): a server started with `--await-setup` takes over a
//! running ferrocenter — the source — reached over HTTPS with its certificate pinned by the
//! thumbprint the operator gives, as the source's SSO administrator.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;
use ferrocenter::serve::Server;
use reqwest::Method;
use serde_json::{json, Value};

/// Local root's password on the target while it awaits its setup.
const ROOT_SETUP_PW: &str = "Root-Setup-Pass-1";

/// A server awaiting its setup.
async fn start_target() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut a = args(dir.path());
    a.await_setup = Some("true".into());
    a.root_password = Some(ROOT_SETUP_PW.into());
    a.admin_password = None;
    a.listen = Some(free_local_addr());
    let server = Server::start(&a.resolve().unwrap()).await.unwrap();
    TestServer {
        server: Some(server),
        dir,
        client: client(),
    }
}

fn thumbprint(ts: &TestServer) -> String {
    ts.server.as_ref().unwrap().thumbprint.clone()
}

fn api_addr(ts: &TestServer) -> (String, u16) {
    let a = ts.server.as_ref().unwrap().addrs.api;
    (a.ip().to_string(), a.port())
}

/// A call on the appliance listener as root with Basic credentials: status and JSON body.
async fn root_call(
    ts: &TestServer,
    method: Method,
    path: &str,
    password: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = ts
        .client
        .request(method, ts.appliance(path))
        .basic_auth("root", Some(password));
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
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
