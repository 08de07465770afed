//! A body over the limit, sent over TLS, is answered with each surface's own error (never a
//! connection reset, never plain text where the surface speaks JSON): vAPI `/api`, `/rest`
//! and JSON-RPC, VI/JSON, ZStack, and the host agent.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;
mod raw_http;

use std::time::Duration;

use common::*;
use raw_http::Writing;
use serde_json::Value;

/// 11 MB: over the server's default 10 MiB and the agent's 1 MiB; and 60 MB, which leaves
/// far more unread than socket buffers hold when the server answers.
const SIZES: [(usize, u32); 2] = [(11_000_000, 3), (60_000_000, 1)];

/// Sends `size` bytes of JSON-looking text on a fresh connection: status and body, or the
/// transport error's text.
async fn post_big(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    size: usize,
) -> Result<(u16, String), String> {
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(b"{\"pad\":\"");
    body.resize(size - 2, b'x');
    body.extend_from_slice(b"\"}");
    let mut rb = client()
        .request(method, url)
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let r = rb.send().await.map_err(|e| format!("{e:?}"))?;
    let s = r.status().as_u16();
    Ok((s, r.text().await.map_err(|e| format!("{e:?}"))?))
}

#[tokio::test]
async fn an_11_mb_body_over_tls_gets_each_surfaces_own_error() {
    let ts = TestServer::start_with(|a| a.max_body_bytes = None).await;
    let fleet = sim_fleet(1, 0, 5, 21).await;
    let token = ts.login(ADMIN).await;
    let agent = &fleet.manifest.hosts[0];
    let agent_url = format!("https://{}:{}/api/v1/session", agent.address, agent.port);
    let vapi_api = ts.api("/api/vcenter/datacenter");
    let vapi_rest = ts.api("/rest/vcenter/datacenter");
    let rpc = ts.api("/api");
    let vim = ts.api("/sdk/vim25/8.0.3.0/Folder/group-d1/CreateDatacenter");
    let zstack = ts.api("/zstack/v1/zones");
    let zstack_login = ts.api("/zstack/v1/accounts/login");
    let session = [("vmware-api-session-id", token.as_str())];
    let zs = zstack::ZsClient::new(client(), &ts.api(""), "admin", PASSWORD).await;
    let oauth = format!("OAuth {}", zs.session);
    let zs_auth = [("Authorization", oauth.as_str())];
    use reqwest::Method as M;
    type Case<'a> = (
        &'a str,
        M,
        &'a str,
        &'a [(&'a str, &'a str)],
        fn(&Value) -> bool,
    );
    let cases: [Case; 7] = [
        ("vAPI /api", M::POST, &vapi_api, &session, |v| {
            v["error_type"].is_string()
        }),
        ("vAPI /rest", M::POST, &vapi_rest, &session, |v| {
            v["type"].is_string()
        }),
        ("vAPI JSON-RPC", M::POST, &rpc, &session, |v| {
            v["error"]["code"].is_i64()
        }),
        ("VI/JSON", M::POST, &vim, &session, |v| {
            v["_typeName"].is_string()
        }),
        ("ZStack", M::POST, &zstack, &zs_auth, |v| {
            v["error"]["code"].is_string()
        }),
        ("ZStack login", M::PUT, &zstack_login, &[], |v| {
            v["error"]["code"].is_string()
        }),
        ("agent", M::POST, &agent_url, &[], |v| v["code"].is_string()),
    ];
    let mut failures = Vec::new();
    for (size, attempts) in SIZES {
        for (surface, method, url, headers, shaped) in &cases {
            for attempt in 1..=attempts {
                let surface = format!("{surface} {} MB", size / 1_000_000);
                match post_big(method.clone(), url, headers, size).await {
                    Ok((status, text)) => {
                        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        println!(
                            "{surface} #{attempt}: {status} {}",
                            &text[..text.len().min(160)]
                        );
                        if status < 400 && !surface.starts_with("vAPI JSON-RPC") || !shaped(&v) {
                            failures.push(format!("{surface} #{attempt}: {status} {text:.200}"));
                        }
                    }
                    Err(e) => {
                        println!("{surface} #{attempt}: transport error {e:.200}");
                        failures.push(format!("{surface} #{attempt}: {e:.200}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    ts.stop().await;
}

/// A client that writes the whole 11 MB body before it reads (as curl and scripts do), at once,
/// after an `Expect: 100-continue` pause, or slowly in chunks, reads a whole 413 answer in the
/// surface's own JSON shape: the server drains what is past the limit before answering, so
/// nothing is reset under the client while it still writes.
#[tokio::test]
async fn an_11_mb_body_written_whole_is_answered_not_reset() {
    let ts = TestServer::start_with(|a| a.max_body_bytes = None).await;
    let fleet = sim_fleet(1, 0, 5, 22).await;
    let token = ts.login(ADMIN).await;
    let zs = zstack::ZsClient::new(client(), &ts.api(""), "admin", PASSWORD).await;
    let oauth = format!("OAuth {}", zs.session);
    let server = ts.server.as_ref().unwrap().addrs.api.to_string();
    let agent = &fleet.manifest.hosts[0];
    let agent_addr = format!("{}:{}", agent.address, agent.port);
    let session = [("vmware-api-session-id", token.as_str())];
    let zs_auth = [("Authorization", oauth.as_str())];
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a [(&'a str, &'a str)],
        fn(&Value) -> bool,
    );
    let cases: [Case; 5] = [
        (
            "vAPI /api",
            &server,
            "POST",
            "/api/vcenter/datacenter",
            &session,
            |v| v["error_type"] == "INVALID_REQUEST",
        ),
        (
            "vAPI /rest",
            &server,
            "POST",
            "/rest/vcenter/datacenter",
            &session,
            |v| v["type"] == "com.vmware.vapi.std.errors.invalid_request",
        ),
        (
            "VI/JSON",
            &server,
            "POST",
            "/sdk/vim25/8.0.3.0/Folder/group-d1/CreateDatacenter",
            &session,
            |v| v["_typeName"] == "InvalidRequest",
        ),
        (
            "ZStack",
            &server,
            "POST",
            "/zstack/v1/zones",
            &zs_auth,
            |v| v["error"]["code"].is_string(),
        ),
        ("agent", &agent_addr, "POST", "/api/v1/session", &[], |v| {
            v["code"].is_string()
        }),
    ];
    let size = 11_000_000;
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(b"{\"pad\":\"");
    body.resize(size - 2, b'x');
    body.extend_from_slice(b"\"}");
    let writings = [
        Writing::Whole,
        Writing::ExpectContinue(Duration::from_millis(300)),
        Writing::Slowly {
            chunk: 256 << 10,
            pause: Duration::from_millis(10),
        },
    ];
    let mut failures = Vec::new();
    for (surface, addr, method, path, headers, shaped) in &cases {
        for writing in writings {
            let what = format!("{surface} {writing:?}");
            match raw_http::request(addr, method, path, headers, &body, writing).await {
                Ok(r) => {
                    let text = String::from_utf8_lossy(&r.body);
                    println!("{what}: {} {}", r.status, &text[..text.len().min(160)]);
                    let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                    if r.status != 413 || !shaped(&v) {
                        failures.push(format!("{what}: {} {text:.200}", r.status));
                    }
                }
                Err(e) => {
                    println!("{what}: {e}");
                    failures.push(format!("{what}: {e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    ts.stop().await;
}
