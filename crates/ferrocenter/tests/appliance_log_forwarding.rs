//! Syslog forwarding against the real server binary and a real rsyslogd on loopback
//! (`ferrocenter-testkit/src/syslog.rs`: imudp, imtcp, imtcp with the gtls driver, imrelp). The
//! official Python SDK (`logging_client.Forwarding`) refuses four receivers and a port out of
//! range with nothing changed, sets UDP, TCP and TLS receivers and tests them (UNKNOWN, UP, UP)
//! with a test message; RELP, beyond the SDK's enumeration, is set over `/api`. rsyslog receives
//! the server's own records over each protocol; their RFC 5424 header and structured data are
//! checked, and no password the test used reaches it. With the receiver stopped, a test reports
//! the stream receivers DOWN naming their address, and the queued records arrive once it is back;
//! the metrics count what each receiver took; bad input over `/api` names the field.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::sdk::{run_sdk_script, sdk_python};
use common::*;
use ferrocenter_testkit::syslog::{Input, SyslogReceiver};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);
/// A password a failed login offers: it must never reach a receiver either.
const WRONG_PASSWORD: &str = "Not-The-Password-913";

/// One received RFC 5424 message, its header split out.
#[derive(Debug)]
struct Parsed {
    pri: u32,
    version: String,
    timestamp: String,
    hostname: String,
    app_name: String,
    procid: String,
    msgid: String,
    rest: String,
}

fn parse(line: &str) -> Parsed {
    let (pri, after) = line
        .strip_prefix('<')
        .and_then(|l| l.split_once('>'))
        .unwrap_or_else(|| panic!("no PRI in {line:?}"));
    let mut parts = after.splitn(7, ' ');
    let mut next = || parts.next().unwrap_or_default().to_string();
    Parsed {
        pri: pri.parse().unwrap(),
        version: next(),
        timestamp: next(),
        hostname: next(),
        app_name: next(),
        procid: next(),
        msgid: next(),
        rest: next(),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

/// The header every forwarded message carries.
fn check_header(p: &Parsed, pid: u32) {
    assert_eq!(p.version, "1", "{p:?}");
    assert_eq!(p.pri / 8, 3, "facility daemon: {p:?}");
    time::OffsetDateTime::parse(&p.timestamp, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("timestamp {:?}: {e}", p.timestamp));
    assert_eq!(p.hostname, host_name());
    assert_eq!(p.app_name, "ferrocenter");
    assert_eq!(p.procid, pid.to_string());
    assert!(!p.msgid.is_empty() && p.msgid != "-", "{p:?}");
    assert!(p.rest.starts_with("[ferrocenter@32473 target=\""), "{p:?}");
}

async fn call(
    addr: &str,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = client()
        .request(method, format!("https://{addr}{path}"))
        .header("vmware-api-session-id", token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn target(host: &str, port: u32, protocol: &str) -> Value {
    json!({"hostname": host, "port": port, "protocol": protocol})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_reach_rsyslog_over_udp_tcp_tls_and_relp() {
    let Some(mut rx) = SyslogReceiver::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let api = free_local_addr();
    let appliance = free_local_addr();
    let ca = rx.certificate.ca_pem_path.display().to_string();
    let p = serve_at(
        &data,
        &api,
        &appliance,
        &["--syslog-ca-file", &ca, "--enable-metrics"],
    );
    let pid = p.child.id();
    let token = login_at(&api, ADMIN).await;
    let path = "/api/appliance/logging/forwarding";

    // Bad input over /api: refused naming the field, nothing stored.
    let bad = [
        (
            json!([
                target("127.0.0.1", 1, "UDP"),
                target("127.0.0.1", 2, "UDP"),
                target("127.0.0.1", 3, "UDP"),
                target("127.0.0.1", 4, "UDP")
            ]),
            "cfg_list",
        ),
        (json!([target("127.0.0.1", 0, "TCP")]), "cfg_list[0].port"),
        (
            json!([
                target("127.0.0.1", 514, "UDP"),
                target("127.0.0.1", 70000, "TCP")
            ]),
            "cfg_list[1].port",
        ),
        (json!([target("127.0.0.1", 514, "SCTP")]), "protocol"),
        (
            json!([target("not a host!", 514, "TCP")]),
            "cfg_list[0].hostname",
        ),
    ];
    for (cfg_list, field) in bad {
        let (status, body) = call(
            &api,
            reqwest::Method::PUT,
            path,
            &token,
            Some(json!({"cfg_list": cfg_list})),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error_type"], "INVALID_ARGUMENT", "{body}");
        assert!(
            body.to_string().contains(field),
            "{field} not named in {body}"
        );
        let (_, now) = call(&api, reqwest::Method::GET, path, &token, None).await;
        assert_eq!(now, json!([]));
    }

    // The SDK sets UDP, TCP and TLS (the most it allows) and tests them.
    let udp = target("127.0.0.1", rx.udp_port.into(), "UDP");
    let tcp = target("127.0.0.1", rx.tcp_port.into(), "TCP");
    let tls = target("localhost", rx.tls_port.into(), "TLS");
    if let Some(python) = sdk_python() {
        let ports = [rx.udp_port, rx.tcp_port, rx.tls_port].map(|p| p.to_string());
        let v = run_sdk_script(
            &python,
            "logging_forwarding.py",
            &[&api, ADMIN, PASSWORD, &ports[0], &ports[1], &ports[2]],
        )
        .await;
        eprintln!("{v}");
        assert_eq!(v["before"], json!([]));
        assert_eq!(v["four"]["class"], "InvalidArgument", "{v}");
        assert_eq!(v["after_four"], json!([]));
        assert_eq!(v["bad_port"]["class"], "InvalidArgument", "{v}");
        assert!(
            v["bad_port"]["message"]
                .as_str()
                .unwrap()
                .contains("cfg_list[1].port"),
            "{v}"
        );
        assert_eq!(v["after_bad_port"], json!([]));
        assert_eq!(v["after_set"], json!([udp, tcp, tls]));
        let states: Vec<&str> = v["test"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["UNKNOWN", "UP", "UP"], "{v}");
    } else {
        eprintln!(
            "SKIPPED: the vSphere Automation SDK for Python is not installed; setting over /api"
        );
        let (status, body) = call(
            &api,
            reqwest::Method::PUT,
            path,
            &token,
            Some(json!({"cfg_list": [udp, tcp, tls]})),
        )
        .await;
        assert_eq!(status, 204, "{body}");
        let (status, body) = call(
            &api,
            reqwest::Method::POST,
            &format!("{path}?action=test"),
            &token,
            Some(json!({"send_test_message": true})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let states: Vec<&str> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["UNKNOWN", "UP", "UP"], "{body}");
    }
    let (_, rest) = call(
        &api,
        reqwest::Method::GET,
        "/rest/appliance/logging/forwarding",
        &token,
        None,
    )
    .await;
    assert_eq!(rest["value"], json!([udp, tcp, tls]));

    // A login with a wrong password and a good one: records, never with the password.
    let r = client()
        .post(format!("https://{api}/api/session"))
        .basic_auth(ADMIN, Some(WRONG_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let _ = login_at(&api, ADMIN).await;

    for input in [Input::Udp, Input::Tcp, Input::Tls] {
        let test = rx
            .wait_for(input, "forwarding test message", WAIT)
            .unwrap_or_else(|| panic!("no test message over {input:?}: {}", rx.log()));
        let t = parse(&test);
        check_header(&t, pid);
        assert_eq!(t.msgid, "test");
        assert_eq!(t.pri, 3 * 8 + 6);
        // The server's own record of the change, with its fields as structured data.
        let changed = rx
            .wait_for(input, "syslog forwarding changed", WAIT)
            .unwrap_or_else(|| panic!("no record of the change over {input:?}: {}", rx.log()));
        eprintln!("{input:?}: {changed}");
        let c = parse(&changed);
        check_header(&c, pid);
        assert_eq!(c.msgid, "log_forwarding");
        assert!(
            c.rest
                .contains("target=\"ferrocenter_core::appliance::log_forwarding\""),
            "{changed}"
        );
        assert!(c.rest.contains(&format!("user=\"{ADMIN}\"")), "{changed}");
        assert!(
            c.rest.contains(&format!("TCP 127.0.0.1:{}", rx.tcp_port)),
            "{changed}"
        );
    }

    // RELP, beyond the SDK's enumeration, over /api.
    let relp = target("127.0.0.1", rx.relp_port.into(), "RELP");
    let (status, body) = call(
        &api,
        reqwest::Method::PUT,
        path,
        &token,
        Some(json!({"cfg_list": [tcp, relp]})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (_, now) = call(&api, reqwest::Method::GET, path, &token, None).await;
    assert_eq!(now, json!([tcp, relp]));
    let (status, body) = call(
        &api,
        reqwest::Method::POST,
        &format!("{path}?action=test"),
        &token,
        Some(json!({"send_test_message": true})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!([{"hostname": "127.0.0.1", "state": "UP"}, {"hostname": "127.0.0.1", "state": "UP"}])
    );
    let test = rx
        .wait_for(Input::Relp, "forwarding test message", WAIT)
        .unwrap_or_else(|| panic!("no test message over RELP: {}", rx.log()));
    check_header(&parse(&test), pid);
    let changed = rx
        .wait_for(Input::Relp, "syslog forwarding changed", WAIT)
        .unwrap_or_else(|| panic!("no record over RELP: {}", rx.log()));
    check_header(&parse(&changed), pid);

    // The receiver down: the stream receivers are DOWN, naming their address.
    rx.stop();
    let (_, body) = call(
        &api,
        reqwest::Method::POST,
        &format!("{path}?action=test"),
        &token,
        Some(json!({})),
    )
    .await;
    let statuses = body.as_array().unwrap();
    for (s, port) in statuses.iter().zip([rx.tcp_port, rx.relp_port]) {
        assert_eq!(s["state"], "DOWN", "{body}");
        assert!(
            s["message"]["default_message"]
                .as_str()
                .unwrap()
                .contains(&format!("127.0.0.1:{port}")),
            "{body}"
        );
    }
    rx.start_again();
    // Records logged while it was down arrive once it is back (the queue held them).
    let (status, _) = call(
        &api,
        reqwest::Method::PUT,
        path,
        &token,
        Some(json!({"cfg_list": [tcp, relp, udp]})),
    )
    .await;
    assert_eq!(status, 204);
    assert!(
        rx.wait_for(Input::Relp, &format!("UDP 127.0.0.1:{}", rx.udp_port), WAIT)
            .is_some(),
        "RELP did not resume: {}",
        rx.log()
    );

    // The metrics count what each receiver took.
    let metrics = client()
        .get(format!("https://{api}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sent = metrics
        .lines()
        .find(|l| {
            l.starts_with("ferrocenter_syslog_sent_messages{") && l.contains("protocol=\"RELP\"")
        })
        .unwrap_or_else(|| panic!("no RELP figure in the metrics:\n{metrics}"));
    let n: f64 = sent.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 1.0, "{sent}");
    assert!(
        metrics.contains("ferrocenter_syslog_dropped_messages{"),
        "{metrics}"
    );

    for input in Input::ALL {
        for line in rx.received(input) {
            assert!(
                !line.contains(PASSWORD) && !line.contains(WRONG_PASSWORD),
                "a password reached rsyslog: {line}"
            );
        }
    }
    let mut p = p;
    p.signal(libc::SIGTERM);
    assert!(p.wait_exit(Duration::from_secs(30)).success());
}
