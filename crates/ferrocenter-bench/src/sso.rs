//! Single sign-on's cost (issue 24): a real `ferrocenter serve`, and clients that for a fixed
//! window each repeat one way in as fast as the server answers — a password login on `/api`
//! (argon2 behind the hashing gate), a bearer token issued by the token service for a user name
//! and password (the same hash, plus building and signing an assertion), and a vAPI session
//! created from a bearer token (`cis.session.create` with a `saml_bearer_token` context: an
//! XML signature check, no hash). Prints per-second rates and latency percentiles side by side.
//!
//! Sessions made by the loop are deleted again (untimed) so the session table stays the same
//! size for the whole window; every client shares one source address, as a script on one
//! machine would, and a successful login gives its attempt back to the edge's budget.
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::Client;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::server::api::{http_client, ADMIN};
use crate::sys::{ferrocenter_binary, machine, percentile, Proc, StealMeter};

pub struct Params {
    pub seconds: f64,
    pub concurrency: usize,
    pub binary: Option<std::path::PathBuf>,
}

const ADMIN_PW: &str = "Bench-Admin-1";
const WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const WSU: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const WST: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";

#[derive(Clone, Copy)]
enum Way {
    PasswordLogin,
    TokenIssue,
    TokenSession,
}

impl Way {
    fn name(self) -> &'static str {
        match self {
            Way::PasswordLogin => "password login (POST /api/session, Basic)",
            Way::TokenIssue => "bearer token issue (STS, user name and password)",
            Way::TokenSession => "session from a bearer token (cis.session.create)",
        }
    }
}

/// A WS-Trust 1.3 `Issue` for a bearer SAML token, as pyVmomi's `SsoAuthenticator` sends it
/// (a UsernameToken in the Security header, the request in the Body).
fn issue_request(user: &str, password: &str) -> String {
    let now = OffsetDateTime::now_utc();
    let t = |d: OffsetDateTime| d.format(&Rfc3339).unwrap_or_default();
    format!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header><wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><wsu:Timestamp><wsu:Created>{c}</wsu:Created><wsu:Expires>{e}</wsu:Expires></wsu:Timestamp><wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password>{password}</wsse:Password></wsse:UsernameToken></wsse:Security></soapenv:Header><soapenv:Body><wst:RequestSecurityToken xmlns:wst="{WST}"><wst:TokenType>urn:oasis:names:tc:SAML:2.0:assertion</wst:TokenType><wst:RequestType>{WST}/Issue</wst:RequestType><wst:Lifetime><wsu:Created xmlns:wsu="{WSU}">{c}</wsu:Created><wsu:Expires xmlns:wsu="{WSU}">{e}</wsu:Expires></wst:Lifetime><wst:Renewing Allow="true" OK="false"/><wst:Delegatable>true</wst:Delegatable><wst:KeyType>{WST}/Bearer</wst:KeyType></wst:RequestSecurityToken></soapenv:Body></soapenv:Envelope>"#,
        c = t(now),
        e = t(now + time::Duration::minutes(5)),
    )
}

/// The `saml2:Assertion` element of an STS answer, as the client hands it on.
fn assertion_of(answer: &str) -> anyhow::Result<String> {
    let start = answer
        .find("<saml2:Assertion")
        .context("the token service's answer holds no assertion")?;
    let end = answer[start..]
        .find("</saml2:Assertion>")
        .context("the assertion is not closed")?;
    Ok(answer[start..start + end + "</saml2:Assertion>".len()].to_string())
}

async fn issue_token(http: &Client, base: &str) -> anyhow::Result<String> {
    let r = http
        .post(format!("{base}/sts/STSService"))
        .header("content-type", "text/xml; charset=utf-8")
        .header(
            "soapaction",
            "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue",
        )
        .body(issue_request(ADMIN, ADMIN_PW))
        .send()
        .await?;
    let status = r.status();
    let text = r.text().await?;
    if !status.is_success() {
        bail!("token issue answered {status}");
    }
    assertion_of(&text)
}

fn rpc(service: &str, operation: &str, ctx: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": "invoke", "id": "0", "params": {
        "serviceId": service, "operationId": operation, "input": {"STRUCTURE": {"operation-input": {}}},
        "ctx": ctx,
    }})
}

async fn delete_session(http: &Client, base: &str, session: &str) -> anyhow::Result<()> {
    http.delete(format!("{base}/api/session"))
        .header("vmware-api-session-id", session)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// One timed attempt; what follows it (deleting the session) is not timed.
async fn attempt(
    way: Way,
    http: &Client,
    base: &str,
    token: &str,
) -> anyhow::Result<(Duration, Option<String>)> {
    let t = Instant::now();
    match way {
        Way::PasswordLogin => {
            let r = http
                .post(format!("{base}/api/session"))
                .basic_auth(ADMIN, Some(ADMIN_PW))
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("login answered {}", r.status());
            }
            let session: String = r.json().await?;
            Ok((t.elapsed(), Some(session)))
        }
        Way::TokenIssue => {
            issue_token(http, base).await?;
            Ok((t.elapsed(), None))
        }
        Way::TokenSession => {
            let ctx = json!({"securityCtx": {
                "schemeId": "com.vmware.vapi.std.security.saml_bearer_token",
                "samlToken": token,
            }});
            let v: Value = http
                .post(format!("{base}/api"))
                .json(&rpc("com.vmware.cis.session", "create", ctx))
                .send()
                .await?
                .json()
                .await?;
            let session = v["result"]["output"]["SECRET"]
                .as_str()
                .or_else(|| v["result"]["output"].as_str())
                .map(str::to_string);
            match session {
                Some(s) => Ok((t.elapsed(), Some(s))),
                None => bail!("session create answered an error"),
            }
        }
    }
}

/// Every client repeats `way` until the window closes; latencies of the successes, and errors.
async fn phase(
    way: Way,
    http: &Client,
    base: &str,
    token: &str,
    p: &Params,
) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs_f64(p.seconds);
    let started = Instant::now();
    let token = Arc::new(token.to_string());
    let mut workers = Vec::new();
    for _ in 0..p.concurrency {
        let (http, base, token) = (http.clone(), base.to_string(), token.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut first_error = None;
            while Instant::now() < deadline {
                match attempt(way, &http, &base, &token).await {
                    Ok((d, session)) => {
                        lat.push(d.as_secs_f64() * 1000.0);
                        if let Some(s) = session {
                            let _ = delete_session(&http, &base, &s).await;
                        }
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            (lat, errors, first_error)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for w in workers {
        let (l, e, f) = w.await?;
        lat.extend(l);
        errors += e;
        first_error = first_error.or(f);
    }
    let wall = started.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    Ok(json!({
        "way": way.name(),
        "ok": lat.len(),
        "errors": errors,
        "first_error": first_error,
        "per_s": lat.len() as f64 / wall,
        "p50_ms": percentile(&lat, 50.0),
        "p99_ms": percentile(&lat, 99.0),
        "max_ms": lat.last().copied().unwrap_or(0.0),
    }))
}

pub async fn run(p: Params) -> anyhow::Result<()> {
    let bin = ferrocenter_binary(p.binary.clone());
    let dir = std::env::temp_dir().join(format!("ferrocenter-bench-sso-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let port = ferrocenter_testkit::free_port();
    let appliance_port = ferrocenter_testkit::free_port();
    let args: Vec<String> = [
        "serve",
        "--data-dir",
        &dir.join("data").display().to_string(),
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--appliance-listen",
        &format!("127.0.0.1:{appliance_port}"),
        "--admin-password",
        ADMIN_PW,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let mut srv = Proc::spawn(&bin, &args, &dir, "server")?;
    let out = srv.stdout.clone();
    srv.wait_line(&out, Duration::from_secs(120), |l| l.contains("is serving"))
        .await?;
    let base = format!("https://127.0.0.1:{port}");
    let http = http_client()?;
    // One token for every session-create attempt: a bearer token is valid until it expires,
    // and a client re-presents it; the policy's bearer cap (5 minutes) outlives the window.
    let token = issue_token(&http, &base).await?;

    let mut meter = StealMeter::start();
    let mut rows = Vec::new();
    for way in [Way::PasswordLogin, Way::TokenIssue, Way::TokenSession] {
        eprintln!("== {}", way.name());
        let mut row = phase(way, &http, &base, &token, &p).await?;
        row["cpu_steal_pct"] = json!(meter.lap());
        rows.push(row);
    }
    srv.stop()?;
    let _ = std::fs::remove_dir_all(&dir);
    // A way in that never worked is a broken server, not a figure.
    let broken: Vec<&str> = rows
        .iter()
        .filter(|r| r["ok"] == 0)
        .filter_map(|r| r["way"].as_str())
        .collect();

    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "scenario": "sso",
            "machine": machine(),
            "seconds": p.seconds,
            "concurrency": p.concurrency,
            "results": rows,
        }))?
    );
    println!(
        "{:<52} {:>8} {:>8} {:>9} {:>9} {:>7}",
        "way in", "ok", "per s", "p50 ms", "p99 ms", "errors"
    );
    for r in &rows {
        println!(
            "{:<52} {:>8} {:>8.1} {:>9.2} {:>9.2} {:>7}",
            r["way"].as_str().unwrap_or_default(),
            r["ok"],
            r["per_s"].as_f64().unwrap_or(0.0),
            r["p50_ms"].as_f64().unwrap_or(0.0),
            r["p99_ms"].as_f64().unwrap_or(0.0),
            r["errors"],
        );
        if let Some(e) = r["first_error"].as_str() {
            println!("    first error: {e}");
        }
    }
    if !broken.is_empty() {
        bail!("no attempt succeeded: {}", broken.join("; "));
    }
    Ok(())
}
