//! The inbound firewall against the real server binary, from two loopback source addresses
//! (127.0.0.1 and 127.0.0.2: Linux routes all of 127.0.0.0/8 to the loopback interface, so a
//! client socket bound to either reaches a listener on 127.0.0.1). The official Python SDK sets
//! the rules (`Inbound(stub_config).set([...])`); connections from the refused address are
//! closed before the TLS handshake on both listeners while the other address is served; the
//! rules survive a restart of the server and a stop and start of the appliance listener as an
//! appliance service (`appliance-listener`, its socket bound again); a bad prefix and a rule
//! set that would lock the caller out are refused naming the field or the rule, and change
//! nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use common::sdk::{run_sdk_script, sdk_python};
use common::*;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

const NEAR: &str = "127.0.0.1";
const FAR: &str = "127.0.0.2";

/// What a raw TCP connection from `source` met before sending anything.
#[derive(Debug, PartialEq, Eq)]
enum Met {
    /// Still open after a while: the server waits for the TLS handshake.
    Open,
    /// Closed without a byte (FIN).
    Closed,
    /// Reset.
    Reset,
}

async fn raw_from(source: &str, to: SocketAddr) -> Met {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(source.parse().unwrap(), 0))
        .unwrap();
    let mut stream = match socket.connect(to).await {
        Ok(s) => s,
        // A reset that comes before the client saw its connect complete.
        Err(e) if e.kind() == ErrorKind::ConnectionReset => return Met::Reset,
        Err(e) => panic!("connect from {source}: {e}"),
    };
    let mut buf = [0u8; 16];
    match tokio::time::timeout(Duration::from_millis(700), stream.read(&mut buf)).await {
        Err(_) => Met::Open,
        Ok(Ok(0)) => Met::Closed,
        Ok(Ok(n)) => panic!("the server sent {n} bytes before the client's hello"),
        Ok(Err(e)) if e.kind() == ErrorKind::ConnectionReset => Met::Reset,
        Ok(Err(e)) => panic!("read from {source}: {e}"),
    }
}

/// `GET /healthz` over HTTPS from `source`: the status, or the error's text.
async fn https_from(source: &str, to: SocketAddr) -> Result<u16, String> {
    let c = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .local_address(source.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    c.get(format!("https://{to}/healthz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("{e:?}"))
}

struct Addrs {
    api: SocketAddr,
    appliance: SocketAddr,
}

impl Addrs {
    /// Free ports on 127.0.0.1, kept across restarts of the server.
    fn free() -> Addrs {
        Addrs {
            api: free_local_addr().parse().unwrap(),
            appliance: free_local_addr().parse().unwrap(),
        }
    }
}

fn start(data: &Path, a: &Addrs) -> Proc {
    serve_at(data, &a.api.to_string(), &a.appliance.to_string(), &[])
}

fn stop(mut p: Proc) {
    p.signal(libc::SIGTERM);
    assert!(p.wait_exit(Duration::from_secs(30)).success());
}

/// Both listeners serve `near`; `far` meets `far_meets` on both, before any TLS.
async fn check_listeners(a: &Addrs, far_meets: Met) {
    for to in [a.api, a.appliance] {
        assert_eq!(https_from(NEAR, to).await, Ok(200), "{NEAR} → {to}");
        assert_eq!(raw_from(NEAR, to).await, Met::Open, "{NEAR} → {to}");
        let far = https_from(FAR, to).await;
        match far_meets {
            Met::Open => assert_eq!(far, Ok(200), "{FAR} → {to}"),
            _ => assert!(far.is_err(), "{FAR} → {to} was served: {far:?}"),
        }
        assert_eq!(raw_from(FAR, to).await, far_meets, "{FAR} → {to}");
    }
}

fn rule(address: &str, prefix: i64, policy: &str, interface: Option<&str>) -> Value {
    json!({"address": address, "prefix": prefix, "policy": policy, "interface_name": interface})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_rules_refuse_one_loopback_address_before_tls_and_survive_a_restart() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let a = Addrs::free();
    let p = start(&data, &a);
    check_listeners(&a, Met::Open).await;

    let main = a.api.to_string();
    let v = run_sdk_script(
        &python,
        "firewall.py",
        &[&main, ADMIN, PASSWORD, "set", FAR, "32", "REJECT"],
    )
    .await;
    eprintln!("{v}");
    assert_eq!(v["before"], json!([]));
    // A bad prefix in the third rule: refused naming it, nothing changed.
    assert_eq!(v["bad_prefix"]["class"], "InvalidArgument", "{v}");
    assert!(
        v["bad_prefix"]["message"]
            .as_str()
            .unwrap()
            .contains("rules[2].prefix"),
        "{v}"
    );
    assert_eq!(v["after_bad_prefix"], json!([]));
    // The caller's own address (127.0.0.1) on the listener it calls through.
    assert_eq!(v["lockout"]["class"], "NotAllowedInCurrentState", "{v}");
    let lockout = v["lockout"]["message"].as_str().unwrap();
    assert!(
        lockout.contains("rules[1]") && lockout.contains(NEAR),
        "{lockout}"
    );
    assert_eq!(v["after_lockout"], json!([]));
    let set = json!([
        rule(FAR, 32, "REJECT", None),
        rule("10.0.0.0", 8, "ACCEPT", Some("lo"))
    ]);
    assert_eq!(v["after_set"], set);
    // REJECT resets the connection before the TLS handshake; the other address is served.
    check_listeners(&a, Met::Reset).await;

    // The rules are in the store, in force from the first connection after a restart, and
    // read back on the appliance listener as root.
    stop(p);
    let p = start(&data, &a);
    check_listeners(&a, Met::Reset).await;
    let app = a.appliance.to_string();
    let v = run_sdk_script(&python, "firewall.py", &[&app, "root", PASSWORD, "get"]).await;
    assert_eq!(v["before"], set);

    // IGNORE closes without a word.
    let v = run_sdk_script(
        &python,
        "firewall.py",
        &[&app, "root", PASSWORD, "set", FAR, "32", "IGNORE"],
    )
    .await;
    assert_eq!(v["after_set"][0], rule(FAR, 32, "IGNORE", None));
    check_listeners(&a, Met::Closed).await;
    stop(p);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_sets_and_reads_rules_and_an_operator_only_reads() {
    use ferrocenter_core::auth::Role;
    let ts = TestServer::start().await;
    let admin = ts.login(ADMIN).await;
    let op = ts.login(&ts.user("fwop", Role::Operator).await).await;
    let path = "/api/appliance/networking/firewall/inbound";
    let rules = json!({"rules": [
        {"address": "2001:db8::", "prefix": 32, "policy": "IGNORE"},
        {"address": "192.0.2.0", "prefix": 24, "policy": "RETURN", "interface_name": "lo"},
    ]});
    let r = ts
        .call(reqwest::Method::PUT, path, Some(&op), Some(rules.clone()))
        .await;
    assert_eq!(r.status(), 403);
    let r = ts
        .call(
            reqwest::Method::PUT,
            path,
            Some(&admin),
            Some(rules.clone()),
        )
        .await;
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    let r = ts.call(reqwest::Method::GET, path, Some(&op), None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), rules["rules"]);
    // An IPv6 prefix on an IPv4 address, refused naming the field; nothing changes.
    let r = ts
        .call(
            reqwest::Method::PUT,
            path,
            Some(&admin),
            Some(json!({"rules": [{"address": "192.0.2.1", "prefix": 64, "policy": "ACCEPT"}]})),
        )
        .await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error_type"], "INVALID_ARGUMENT");
    assert!(e["messages"][0]["args"][0] == "rules[0].prefix", "{e}");
    let r = ts
        .call(
            reqwest::Method::GET,
            "/rest/appliance/networking/firewall/inbound",
            Some(&op),
            None,
        )
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["value"], rules["rules"]);
    ts.stop().await;
}

/// `METHOD https://{to}{path}` with a session, from 127.0.0.1, which must succeed.
async fn call_ok(
    method: reqwest::Method,
    to: SocketAddr,
    path: &str,
    token: &str,
    body: Option<Value>,
) {
    let mut rb = client()
        .request(method, format!("https://{to}{path}"))
        .header("vmware-api-session-id", token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status();
    assert!(
        status.is_success(),
        "{path}: {status} {}",
        r.text().await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_stopped_and_started_as_a_service_keeps_the_firewall() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let a = Addrs::free();
    let p = start(&data, &a);
    let token = login_at(&a.api.to_string(), ADMIN).await;
    let rules = json!({"rules": [rule(FAR, 32, "REJECT", None)]});
    let path = "/api/appliance/networking/firewall/inbound";
    call_ok(reqwest::Method::PUT, a.api, path, &token, Some(rules)).await;
    check_listeners(&a, Met::Reset).await;

    // Through the main listener: the appliance listener stopped (its port refuses
    // connections), then started again on a new socket.
    let svc = "/api/appliance/services/appliance-listener";
    call_ok(
        reqwest::Method::POST,
        a.api,
        &format!("{svc}/stop"),
        &token,
        None,
    )
    .await;
    let refused = tokio::net::TcpStream::connect(a.appliance).await;
    assert!(refused.is_err(), "the stopped listener took a connection");
    call_ok(
        reqwest::Method::POST,
        a.api,
        &format!("{svc}/start"),
        &token,
        None,
    )
    .await;
    // The started listener still refuses 127.0.0.2 before TLS and serves 127.0.0.1.
    check_listeners(&a, Met::Reset).await;
    stop(p);
}
