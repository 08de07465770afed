//! Install stage 2 (seeds/003 chapter 5): a server started with `--await-setup` serves only the
//! appliance listener, for local root, until `vcenter.deployment.install` has set it up; then
//! the main listener opens and the SSO administrator the spec named logs in there.
//!
//! The seed's procedure runs verbatim with the real `curl`; the other tests drive the same
//! operations with reqwest: bad specs, states and status codes, the questions a setup raises
//! (a store that holds another instance's data, a certificate that does not name this host, a
//! main listener address that cannot be bound) answered by hand and by default, cancel and
//! rollback, and a server killed in the middle of its setup.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use common::deployment::*;
use common::*;
use ferrocenter::serve::Server;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The SSO administrator's password the install specs set.
const SSO_PW: &str = "Sso-Admin-Pass-1";

/// A name no test machine is called: a certificate for it does not name this host.
const FOREIGN_NAME: &str = "elsewhere.invalid";

fn api_addr(ts: &TestServer) -> String {
    ts.api("").trim_start_matches("https://").to_string()
}

fn appliance_addr(ts: &TestServer) -> String {
    ts.appliance("").trim_start_matches("https://").to_string()
}

/// `POST /rest/vcenter/deployment/install?action=start` with `body` as root.
async fn install_start(ts: &TestServer, pw: &str, body: Value) -> (u16, Value) {
    root_call(
        ts,
        Method::POST,
        "/rest/vcenter/deployment/install?action=start",
        pw,
        Some(body),
    )
    .await
}

/// `GET /rest/vcenter/deployment`'s value.
async fn info(ts: &TestServer, pw: &str) -> Value {
    let (status, body) = root_call(ts, Method::GET, "/rest/vcenter/deployment", pw, None).await;
    assert_eq!(status, 200, "{body}");
    body["value"].clone()
}

fn spec(domain: &str, password: &str, auto_answer: bool) -> Value {
    json!({"spec": {
        "vcsa_embedded": {
            "ceip_enabled": true,
            "standalone": {"sso_domain_name": domain, "sso_admin_password": password}
        },
        "auto_answer": auto_answer
    }})
}

/// What a setup went through: every state and info it showed, every question it raised.
#[derive(Default)]
struct Run {
    states: Vec<String>,
    running: Vec<Value>,
    questions: Vec<Value>,
    last: Value,
}

/// Polls the deployment until a final state (CONFIGURED, FAILED), answering every raised
/// question whose id `answer` knows (a question it does not know fails the test).
async fn follow(ts: &TestServer, pw: &str, answer: &dyn Fn(&str) -> Option<String>) -> Run {
    let mut run = Run::default();
    let mut answered: HashSet<String> = HashSet::new();
    let start = Instant::now();
    loop {
        let i = info(ts, pw).await;
        let state = i["state"].as_str().unwrap().to_string();
        if run.states.last() != Some(&state) {
            run.states.push(state.clone());
        }
        if i["status"] == "RUNNING" || i["status"] == "BLOCKED" {
            assert_running_shape(&i);
            run.running.push(i.clone());
        }
        match state.as_str() {
            "CONFIGURED" | "FAILED" => {
                run.last = i;
                return run;
            }
            "QUESTION_RAISED" => {
                let (status, q) = root_call(
                    ts,
                    Method::GET,
                    "/rest/vcenter/deployment/question",
                    pw,
                    None,
                )
                .await;
                // The question may have been answered by now by the setup moving on.
                if status == 200 {
                    for q in q["value"]["questions"].as_array().unwrap() {
                        let id = q["id"].as_str().unwrap().to_string();
                        if answered.contains(&id) {
                            continue;
                        }
                        let val = answer(&id).unwrap_or_else(|| panic!("unexpected question {q}"));
                        run.questions.push(q.clone());
                        let (status, body) = root_call(
                            ts,
                            Method::POST,
                            "/rest/vcenter/deployment/question?action=answer",
                            pw,
                            Some(json!({"spec": {"question_id": id, "answer_val": val}})),
                        )
                        .await;
                        assert_eq!(status, 200, "answer {val} to {id}: {body}");
                        answered.insert(id);
                    }
                }
            }
            _ => {}
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "setup did not end within 120 s; states {:?}, last {i}",
            run.states
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts the setup with `body`, which must be accepted (200), and follows it to its end.
async fn setup(
    ts: &TestServer,
    pw: &str,
    body: Value,
    answer: &dyn Fn(&str) -> Option<String>,
) -> Run {
    let (status, reply) = install_start(ts, pw, body).await;
    assert_eq!(status, 200, "install.start: {reply}");
    follow(ts, pw, answer).await
}

fn no_questions(id: &str) -> Option<String> {
    panic!("no question expected, got {id}")
}

/// The shape of a deployment info while the setup runs (seeds/003 ch. 5 step 4).
fn assert_running_shape(i: &Value) {
    assert!(
        i["state"] == "CONFIG_IN_PROGRESS" || i["state"] == "QUESTION_RAISED",
        "{i}"
    );
    if i["state"] == "QUESTION_RAISED" {
        // cis.task's BLOCKED (waiting on the operator) is what the implementation shows while a
        // question waits; the contract said RUNNING (reported, not enforced).
        assert!(i["status"] == "RUNNING" || i["status"] == "BLOCKED", "{i}");
    } else {
        assert_eq!(i["status"], "RUNNING", "{i}");
    }
    assert_eq!(i["operation"], "INSTALL", "{i}");
    let p = &i["progress"];
    let (done, total) = (
        p["completed"].as_i64().unwrap(),
        p["total"].as_i64().unwrap(),
    );
    assert!(0 <= done && done <= total && total > 0, "{p}");
    assert!(p["message"]["id"].is_string(), "{p}");
    assert!(p["message"]["default_message"].is_string(), "{p}");
    assert!(p["message"]["args"].is_array(), "{p}");
    assert_subtasks(i);
}

/// `subtask_order` lists the subtasks, which `/rest` renders as a `[{key, value}]` map.
fn assert_subtasks(i: &Value) {
    let order: Vec<&str> = i["subtask_order"]
        .as_array()
        .unwrap_or_else(|| panic!("subtask_order: {i}"))
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(!order.is_empty(), "{i}");
    let keys: HashSet<&str> = i["subtasks"]
        .as_array()
        .unwrap_or_else(|| panic!("subtasks as [{{key, value}}]: {i}"))
        .iter()
        .map(|e| {
            assert!(e["value"]["status"].is_string(), "{e}");
            e["key"].as_str().unwrap()
        })
        .collect();
    assert_eq!(keys, order.iter().copied().collect(), "{i}");
}

/// The shape of a deployment info after a successful setup (seeds/003 ch. 5 step 4).
fn assert_configured(i: &Value) {
    assert_eq!(i["state"], "CONFIGURED", "{i}");
    assert_eq!(i["status"], "SUCCEEDED", "{i}");
    assert_eq!(i["cancelable"], false, "{i}");
    assert_eq!(i["operation"], "INSTALL", "{i}");
    // The install's own service (…deployment.install) or the deployment's.
    assert!(
        i["service"]
            .as_str()
            .is_some_and(|s| s.starts_with("com.vmware.vcenter.deployment")),
        "{i}"
    );
    let p = &i["progress"];
    assert_eq!(p["completed"], p["total"], "{p}");
    assert_eq!(
        p["message"]["id"], "com.vmware.vcenter.deploy.task.complete.success",
        "{p}"
    );
    assert!(p["message"]["args"].is_array(), "{p}");
    assert_eq!(
        i["description"]["id"], "com.vmware.vcenter.deploy.task.description.op.install",
        "{i}"
    );
    assert!(i["start_time"].is_string(), "{i}");
    assert!(i["end_time"].is_string(), "{i}");
    assert_subtasks(i);
}

/// Logs `user` in on the main listener: the session id.
async fn main_login(ts: &TestServer, user: &str, password: &str) -> String {
    let r = ts.post_basic(ts.api("/api/session"), user, password).await;
    assert_eq!(r.status(), 201, "login of {user} on the main listener");
    r.json().await.unwrap()
}

fn main_refuses_connections(ts: &TestServer) {
    let addr = api_addr(ts);
    match std::net::TcpStream::connect(&addr) {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}"),
        Ok(_) => panic!("the main listener {addr} accepts before the setup is done"),
    }
}

/// `curl -k -s ARGS… URL`, which must end well: its status code and JSON body.
async fn curl(args: &[&str]) -> (u16, Value) {
    let out = tokio::process::Command::new("curl")
        .args(["-k", "-s", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .await
        .expect("curl runs");
    assert!(out.status.success(), "curl {args:?}: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    let body = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    };
    (code.trim().parse().unwrap(), body)
}

fn curl_available() -> bool {
    std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

// ---------------------------------------------------------------------------------------------
// (i) The seed's procedure, verbatim with curl.

#[tokio::test]
async fn the_seeds_curl_sequence_sets_up_a_new_instance() {
    if !curl_available() {
        eprintln!("SKIPPED: curl is not installed");
        return;
    }
    let ts = start_awaiting(tempfile::tempdir().unwrap(), ROOT_SETUP_PW, |_| {}).await;
    main_refuses_connections(&ts);
    let base = format!("https://{}", appliance_addr(&ts));
    let user = format!("root:{ROOT_SETUP_PW}");

    // 1. The state is INITIALIZED.
    let url = format!("{base}/rest/vcenter/deployment");
    let (status, body) = curl(&["-u", &user, "-X", "GET", &url]).await;
    assert_eq!(status, 200, "{body}");
    let v = &body["value"];
    assert_eq!(v["state"], "INITIALIZED", "{body}");
    assert_eq!(v["status"], "PENDING", "{body}");
    assert_eq!(v["cancelable"], false, "{body}");
    assert_eq!(v["service"], "com.vmware.vcenter.deployment", "{body}");
    assert!(v["description"]["id"].is_string(), "{body}");
    assert!(v.get("operation").is_some(), "{body}");
    // /api: the same without the wrapper.
    let (status, api) = curl(&[
        "-u",
        &user,
        "-X",
        "GET",
        &format!("{base}/api/vcenter/deployment"),
    ])
    .await;
    assert_eq!(status, 200, "{api}");
    assert_eq!(api["state"], "INITIALIZED", "{api}");
    assert_eq!(api["status"], "PENDING", "{api}");

    // 2. The check, with the seed's body (only the password filled in).
    let seed_body = r#"{
  "spec": {
    "vcsa_embedded": {
        "ceip_enabled": true,
        "standalone": {
        "sso_domain_name": "vsphere.local",
        "sso_admin_password": "<your_password>"        
      }    
    },
    "auto_answer": true
  }
}"#
    .replace("<your_password>", SSO_PW);
    let json_type = "Content-Type: application/json";
    let check = format!("{base}/rest/vcenter/deployment/install?action=check");
    let (status, body) = curl(&[
        "-u", &user, "-X", "POST", "-H", json_type, "-d", &seed_body, &check,
    ])
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"value": {"status": "SUCCESS"}}));

    // 3. Start.
    let start = format!("{base}/rest/vcenter/deployment/install?action=start");
    let (status, body) = curl(&[
        "-u", &user, "-X", "POST", "-H", json_type, "-d", &seed_body, &start,
    ])
    .await;
    assert_eq!(status, 200, "{body}");

    // 4. Follow it until CONFIGURED.
    let began = Instant::now();
    let mut running = Vec::new();
    let done = loop {
        let (status, body) = curl(&["-u", &user, "-X", "GET", &url]).await;
        assert_eq!(status, 200, "{body}");
        let v = body["value"].clone();
        assert_ne!(v["state"], "FAILED", "{body}");
        assert_ne!(v["state"], "QUESTION_RAISED", "auto_answer: {body}");
        if v["state"] == "CONFIGURED" {
            break v;
        }
        if v["status"] == "RUNNING" {
            running.push(v);
        }
        assert!(began.elapsed() < Duration::from_secs(120), "{body}");
    };
    // The setup may end between two polls (it takes a fraction of a second), so the running
    // bodies are checked as far as seen; the held setups of the question and cancel tests check
    // that shape every time.
    eprintln!("{} RUNNING bodies seen", running.len());
    for v in &running {
        assert_running_shape(v);
    }
    let completed: Vec<i64> = running
        .iter()
        .map(|v| v["progress"]["completed"].as_i64().unwrap())
        .collect();
    assert!(
        completed.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {completed:?}"
    );
    assert_configured(&done);

    // The main listener serves now, and the spec's administrator logs in there.
    let r = ts
        .client
        .post(ts.api("/api/session"))
        .basic_auth(ADMIN, Some(SSO_PW))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        201,
        "administrator@vsphere.local on the main listener"
    );
    // The setup is over: starting it again is refused.
    let (status, body) = curl(&[
        "-u", &user, "-X", "POST", "-H", json_type, "-d", &seed_body, &start,
    ])
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["type"], "com.vmware.vapi.std.errors.not_allowed_in_current_state",
        "{body}"
    );
    ts.stop().await;
}

// ---------------------------------------------------------------------------------------------
// (ii) Bad input, states and status codes.

#[tokio::test]
async fn bad_specs_are_named_and_change_nothing() {
    let ts = start_awaiting(tempfile::tempdir().unwrap(), ROOT_SETUP_PW, |_| {}).await;
    let pw = ROOT_SETUP_PW;
    let check = "/rest/vcenter/deployment/install?action=check";

    let weak = spec("vsphere.local", "short", false);
    let bad_domain = spec("bad domain!", SSO_PW, false);
    let mut unknown = spec("vsphere.local", SSO_PW, false);
    unknown["spec"]["vcsa_embedded"]["standalone"]["colour"] = json!("blue");
    let replicated = json!({"spec": {"vcsa_embedded": {"ceip_enabled": true, "replicated": {
        "partner_hostname": "partner.example.com", "https_port": 443,
        "sso_admin_password": SSO_PW}}}});
    let cases = [
        (weak, "vcsa_embedded.standalone.sso_admin_password"),
        (bad_domain, "vcsa_embedded.standalone.sso_domain_name"),
        (unknown, "vcsa_embedded.standalone.colour"),
        (replicated, "vcsa_embedded.replicated"),
    ];
    for (body, field) in cases {
        let (status, reply) = root_call(&ts, Method::POST, check, pw, Some(body.clone())).await;
        assert_eq!(status, 200, "check {body}: {reply}");
        let v = &reply["value"];
        assert_eq!(v["status"], "FAILED", "{field}: {reply}");
        let errors = v["result"]["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{field}: no result.errors in {reply}"));
        assert!(!errors.is_empty(), "{reply}");
        for e in errors {
            assert!(e["id"].is_string(), "{e}");
            assert!(e["message"]["id"].is_string(), "{e}");
            assert!(e["message"]["default_message"].is_string(), "{e}");
            assert!(e["message"]["args"].is_array(), "{e}");
        }
        assert!(
            errors
                .iter()
                .any(|e| message_text(&e["message"]).contains(field)),
            "no error names {field}: {reply}"
        );
        // The password is never echoed.
        assert!(!reply.to_string().contains(SSO_PW), "{reply}");
        assert_eq!(info(&ts, pw).await["state"], "INITIALIZED");

        // start refuses the same spec, naming the field, and changes nothing either.
        let (status, reply) = install_start(&ts, pw, body).await;
        assert_eq!(status, 400, "start with a bad {field}: {reply}");
        let (kind, text) = rest_error(&reply);
        // A replicated instance is refused as unsupported, which vAPI may also say so.
        let kinds: &[&str] = if field == "vcsa_embedded.replicated" {
            &[
                "com.vmware.vapi.std.errors.invalid_argument",
                "com.vmware.vapi.std.errors.unsupported",
            ]
        } else {
            &["com.vmware.vapi.std.errors.invalid_argument"]
        };
        assert!(kinds.contains(&kind.as_str()), "{reply}");
        assert!(text.contains(field), "{field} not named: {reply}");
        assert_eq!(info(&ts, pw).await["state"], "INITIALIZED");
    }

    // A good spec checks out, twice over: the check changes no state.
    let good = spec("corp.local", SSO_PW, false);
    for _ in 0..2 {
        let (status, reply) = root_call(&ts, Method::POST, check, pw, Some(good.clone())).await;
        assert_eq!(
            (status, reply),
            (200, json!({"value": {"status": "SUCCESS"}}))
        );
        assert_eq!(info(&ts, pw).await["state"], "INITIALIZED");
    }
    main_refuses_connections(&ts);
    ts.stop().await;
}

#[tokio::test]
async fn before_the_setup_only_the_deployment_and_sessions_are_served_to_root() {
    let ts = start_awaiting(tempfile::tempdir().unwrap(), ROOT_SETUP_PW, |_| {}).await;
    let pw = ROOT_SETUP_PW;
    main_refuses_connections(&ts);

    // 401: a wrong password, or no credentials, on each deployment operation.
    for (method, path, body) in [
        (Method::GET, "/rest/vcenter/deployment", None),
        (Method::GET, "/rest/vcenter/deployment/install", None),
        (
            Method::POST,
            "/rest/vcenter/deployment/install?action=check",
            Some(spec("vsphere.local", SSO_PW, true)),
        ),
        (
            Method::POST,
            "/rest/vcenter/deployment/install?action=start",
            Some(spec("vsphere.local", SSO_PW, true)),
        ),
        (Method::GET, "/rest/vcenter/deployment/question", None),
        (Method::GET, "/api/vcenter/deployment", None),
    ] {
        let (status, reply) = root_call(&ts, method.clone(), path, "Wrong-Pass-1", body).await;
        assert_eq!(status, 401, "{method} {path}: {reply}");
        let r = ts
            .client
            .request(method, ts.appliance(path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path} without credentials");
        // A success clears the failure (a first failure is free of backoff), and the wrong
        // passwords started nothing.
        assert_eq!(info(&ts, pw).await["state"], "INITIALIZED");
    }

    // A session works as Basic does, on /api and /rest alike.
    let r = ts
        .post_basic(ts.appliance("/api/session"), "root", pw)
        .await;
    assert_eq!(r.status(), 201);
    let token: String = r.json().await.unwrap();
    let r = ts
        .client
        .get(ts.appliance("/api/vcenter/deployment"))
        .header("vmware-api-session-id", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let api: Value = r.json().await.unwrap();
    assert_eq!(api["state"], "INITIALIZED", "{api}");
    assert!(api.get("value").is_none(), "/api has no wrapper: {api}");
    let r = ts
        .post_basic(ts.appliance("/rest/com/vmware/cis/session"), "root", pw)
        .await;
    assert_eq!(r.status(), 200);

    // 503 for everything else, naming the deployment state.
    for path in [
        "/rest/appliance/health/system",
        "/api/appliance/health/system",
        "/api/appliance/local-accounts",
        "/api/cis/tasks",
    ] {
        let (status, reply) = root_call(&ts, Method::GET, path, pw, None).await;
        assert_eq!(status, 503, "{path}: {reply}");
        let text = reply.to_string();
        assert!(
            text.to_lowercase().contains("service_unavailable"),
            "{path}: {reply}"
        );
        assert!(
            text.contains("INITIALIZED"),
            "{path} names no state: {reply}"
        );
    }

    // 400: question get and answer with no question raised; install.get before a setup;
    // cancel with nothing running; rollback when not FAILED.
    for (method, path, body) in [
        (Method::GET, "/rest/vcenter/deployment/install", None),
        (Method::GET, "/rest/vcenter/deployment/question", None),
        (
            Method::POST,
            "/rest/vcenter/deployment/question?action=answer",
            Some(json!({"spec": {"question_id": "store.reuse", "answer_val": "YES"}})),
        ),
        (
            Method::POST,
            "/rest/vcenter/deployment/install?action=cancel",
            None,
        ),
    ] {
        let (status, reply) = root_call(&ts, method.clone(), path, pw, body).await;
        assert_eq!(status, 400, "{method} {path}: {reply}");
    }
    let (status, reply) = root_call(
        &ts,
        Method::POST,
        "/rest/vcenter/deployment?action=rollback",
        pw,
        None,
    )
    .await;
    assert!(
        (400..500).contains(&status),
        "rollback when INITIALIZED: {status} {reply}"
    );
    assert_eq!(info(&ts, pw).await["state"], "INITIALIZED");

    // A setup to corp.local: its administrator is administrator@corp.local.
    let run = setup(&ts, pw, spec("corp.local", SSO_PW, false), &no_questions).await;
    assert_configured(&run.last);
    let token = main_login(&ts, "administrator@corp.local", SSO_PW).await;
    let (status, _) = ts
        .call_json(Method::GET, "/api/session", &token, None)
        .await;
    assert_eq!(status, 200);
    // install.get shows the spec it ran with, never the password.
    let (status, got) = root_call(
        &ts,
        Method::GET,
        "/rest/vcenter/deployment/install",
        pw,
        None,
    )
    .await;
    if status == 200 {
        let st = &got["value"]["vcsa_embedded"]["standalone"];
        assert_eq!(st["sso_domain_name"], "corp.local", "{got}");
        assert!(!got.to_string().contains(SSO_PW), "{got}");
    } else {
        assert_eq!(status, 400, "install.get after the setup: {got}");
    }
    // Once configured, the appliance listener serves everything again.
    let (status, reply) =
        root_call(&ts, Method::GET, "/api/appliance/health/system", pw, None).await;
    assert_eq!(status, 200, "{reply}");
    // A configured instance refuses another start and rollback.
    let (status, reply) = install_start(&ts, pw, spec("vsphere.local", SSO_PW, true)).await;
    assert_eq!(status, 400, "{reply}");
    assert_eq!(
        rest_error(&reply).0,
        "com.vmware.vapi.std.errors.not_allowed_in_current_state"
    );
    let (status, _) = root_call(
        &ts,
        Method::POST,
        "/rest/vcenter/deployment?action=rollback",
        pw,
        None,
    )
    .await;
    assert!((400..500).contains(&status));
    assert_eq!(info(&ts, pw).await["state"], "CONFIGURED");
    ts.stop().await;
}

// ---------------------------------------------------------------------------------------------
// (iii) Questions: a store that holds another instance's data, a certificate for another name.

/// The data dir of an instance that ran (a datacenter `DC-before` in its store), with its
/// store record removed and a certificate for another name in `tls/`: a setup on it asks
/// whether to keep that data and whether to make a certificate for this host. Returns the
/// SHA-256 of the foreign certificate's DER.
async fn used_data_dir(dir: &Path) -> Vec<u8> {
    let cfg = args(dir).resolve().unwrap();
    let server = Server::start(&cfg).await.unwrap();
    let core = server.core.clone();
    let admin = core
        .auth
        .authenticate(ferrocenter_core::auth::Listener::Api, ADMIN, PASSWORD)
        .await
        .unwrap();
    core.create_datacenter(&admin, "DC-before", "")
        .await
        .unwrap();
    server.stop().await;
    let record = ferrocenter::store_identity::path(dir);
    std::fs::remove_file(&record).unwrap();
    foreign_certificate(dir)
}

/// Puts a self-signed certificate for FOREIGN_NAME in `DIR/tls`: its DER's SHA-256.
fn foreign_certificate(dir: &Path) -> Vec<u8> {
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    let ck = rcgen::generate_simple_self_signed(vec![FOREIGN_NAME.to_string()]).unwrap();
    std::fs::write(tls.join("server.crt"), ck.cert.pem()).unwrap();
    std::fs::write(tls.join("server.key"), ck.key_pair.serialize_pem()).unwrap();
    Sha256::digest(ck.cert.der()).to_vec()
}

/// SHA-256 of the first certificate in `DIR/tls/server.crt`.
fn certificate_file_digest(dir: &Path) -> Vec<u8> {
    let pem = std::fs::read_to_string(dir.join("tls/server.crt")).unwrap();
    pem_digest(&pem)
}

/// The DER of the first certificate in a PEM text.
fn pem_der(pem: &str) -> Vec<u8> {
    let begin = "-----BEGIN CERTIFICATE-----";
    let start = pem.find(begin).expect("a PEM certificate") + begin.len();
    let end = start + pem[start..].find("-----END CERTIFICATE-----").unwrap();
    let b64: String = pem[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

fn pem_digest(pem: &str) -> Vec<u8> {
    Sha256::digest(pem_der(pem)).to_vec()
}

/// SHA-256 of the certificate `addr` presents (read with curl, which takes any with -k).
async fn served_digest(addr: &str) -> Option<Vec<u8>> {
    if !curl_available() {
        return None;
    }
    let out = tokio::process::Command::new("curl")
        .args(["-k", "-s", "-o", "/dev/null", "-w", "%{certs}"])
        .arg(format!("https://{addr}/healthz"))
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("BEGIN CERTIFICATE"),
        "curl -w %{{certs}} showed no certificate of {addr}: {out:?}"
    );
    Some(pem_digest(&text))
}

async fn datacenters(ts: &TestServer, token: &str) -> Vec<String> {
    let (status, list) = ts
        .call_json(Method::GET, "/api/vcenter/datacenter", token, None)
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect()
}

fn assert_yes_no_question(q: &Value, id: &str) {
    assert_eq!(q["id"], id, "{q}");
    assert_eq!(q["type"], "YES_NO", "{q}");
    assert_eq!(q["default_answer"], "YES", "{q}");
    let answers: HashSet<&str> = q["possible_answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(answers, HashSet::from(["YES", "NO"]), "{q}");
    assert!(q["question"]["id"].is_string(), "{q}");
    assert!(q["question"]["default_message"].is_string(), "{q}");
    assert!(q["question"]["args"].is_array(), "{q}");
}

#[tokio::test]
async fn questions_are_raised_and_answered_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = used_data_dir(dir.path()).await;
    // The earlier instance's root has PASSWORD; the setup's root is given the same, so either
    // account answers whichever way the store question goes.
    let ts = start_awaiting(dir, PASSWORD, |_| {}).await;
    let pw = PASSWORD;
    let (status, _) = install_start(&ts, pw, spec("vsphere.local", SSO_PW, false)).await;
    assert_eq!(status, 200);

    // Wait for the first question and try the wrong answers on it.
    let began = Instant::now();
    loop {
        let i = info(&ts, pw).await;
        assert_ne!(i["state"], "CONFIGURED", "no question raised: {i}");
        assert_ne!(i["state"], "FAILED", "{i}");
        if i["state"] == "QUESTION_RAISED" {
            assert_running_shape(&i);
            break;
        }
        assert!(began.elapsed() < Duration::from_secs(60), "{i}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answer = "/rest/vcenter/deployment/question?action=answer";
    let (status, reply) = root_call(
        &ts,
        Method::POST,
        answer,
        pw,
        Some(json!({"spec": {"question_id": "no.such.question", "answer_val": "YES"}})),
    )
    .await;
    assert_eq!(status, 400, "{reply}");
    let (kind, text) = rest_error(&reply);
    assert_eq!(
        kind, "com.vmware.vapi.std.errors.invalid_argument",
        "{reply}"
    );
    assert!(text.contains("question_id"), "{reply}");
    let (_, q) = root_call(
        &ts,
        Method::GET,
        "/rest/vcenter/deployment/question",
        pw,
        None,
    )
    .await;
    let first = q["value"]["questions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, reply) = root_call(
        &ts,
        Method::POST,
        answer,
        pw,
        Some(json!({"spec": {"question_id": first, "answer_val": "RETRY"}})),
    )
    .await;
    assert_eq!(status, 400, "{reply}");
    let (kind, text) = rest_error(&reply);
    assert_eq!(
        kind, "com.vmware.vapi.std.errors.invalid_argument",
        "{reply}"
    );
    assert!(text.contains("answer_val"), "{reply}");
    // While a question waits, install.get shows the spec without its password.
    let (status, got) = root_call(
        &ts,
        Method::GET,
        "/rest/vcenter/deployment/install",
        pw,
        None,
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        got["value"]["vcsa_embedded"]["standalone"]["sso_domain_name"], "vsphere.local",
        "{got}"
    );
    assert_eq!(got["value"]["auto_answer"], false, "{got}");
    assert!(!got.to_string().contains(SSO_PW), "{got}");
    // A second start while one runs is refused.
    let (status, _) = install_start(&ts, pw, spec("vsphere.local", SSO_PW, false)).await;
    assert_eq!(status, 400);

    // NO to both: the store is wiped, the certificate kept.
    let run = follow(&ts, pw, &|_| Some("NO".to_string())).await;
    assert_configured(&run.last);
    let ids: Vec<&str> = run
        .questions
        .iter()
        .map(|q| q["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.iter().copied().collect::<HashSet<_>>(),
        HashSet::from(["store.reuse", "certificate.regenerate"]),
        "{ids:?}"
    );
    for q in &run.questions {
        assert_yes_no_question(q, q["id"].as_str().unwrap());
    }
    let token = main_login(&ts, ADMIN, SSO_PW).await;
    assert_eq!(datacenters(&ts, &token).await, Vec::<String>::new());
    assert_eq!(certificate_file_digest(ts.dir.path()), foreign);
    if let Some(served) = served_digest(&api_addr(&ts)).await {
        assert_eq!(
            served, foreign,
            "the main listener serves the kept certificate"
        );
    }
    ts.stop().await;
}

#[tokio::test]
async fn auto_answer_takes_every_default_without_asking() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = used_data_dir(dir.path()).await;
    let ts = start_awaiting(dir, PASSWORD, |_| {}).await;
    let pw = PASSWORD;
    let run = setup(
        &ts,
        pw,
        spec("vsphere.local", PASSWORD, true),
        &no_questions,
    )
    .await;
    assert_configured(&run.last);
    assert!(
        !run.states.iter().any(|s| s == "QUESTION_RAISED"),
        "{:?}",
        run.states
    );
    // store.reuse's default, YES, kept the earlier instance's data…
    let token = main_login(&ts, ADMIN, PASSWORD).await;
    assert_eq!(
        datacenters(&ts, &token).await,
        vec!["DC-before".to_string()]
    );
    // …and certificate.regenerate's, YES, made a new certificate, which is served.
    let now = certificate_file_digest(ts.dir.path());
    assert_ne!(now, foreign, "the certificate was not regenerated");
    if let Some(served) = served_digest(&api_addr(&ts)).await {
        assert_eq!(served, now, "the main listener serves the new certificate");
    }
    if let Some(host) = ferrocenter::tls::host_name() {
        // The DER holds the subject alternative names as plain ASCII.
        let pem = std::fs::read_to_string(ts.dir.path().join("tls/server.crt")).unwrap();
        let der = pem_der(&pem);
        let der_text = String::from_utf8_lossy(&der);
        assert!(der_text.contains(&host), "the new certificate names {host}");
        assert!(!der_text.contains(FOREIGN_NAME));
    }
    ts.stop().await;
}

// ---------------------------------------------------------------------------------------------
// (iv) The main listener's address is taken: ABORT fails the setup, rollback and a new start
// set it up; RETRY after freeing the address goes on.

#[tokio::test]
async fn a_taken_address_aborted_fails_and_rollback_allows_a_new_setup() {
    let ts = start_awaiting(tempfile::tempdir().unwrap(), ROOT_SETUP_PW, |_| {}).await;
    let pw = ROOT_SETUP_PW;
    let squatter = std::net::TcpListener::bind(api_addr(&ts)).unwrap();
    let run = setup(&ts, pw, spec("vsphere.local", SSO_PW, false), &|id| {
        (id == "services.listen").then(|| "ABORT".to_string())
    })
    .await;
    assert_eq!(run.questions.len(), 1, "{:?}", run.questions);
    assert_listen_question(&run.questions[0]);
    let failed = &run.last;
    assert_eq!(failed["state"], "FAILED", "{failed}");
    assert_eq!(failed["status"], "FAILED", "{failed}");
    assert!(!failed["error"].is_null(), "{failed}");
    assert!(failed["end_time"].is_string(), "{failed}");
    // FAILED is final for install.start.
    let (status, reply) = install_start(&ts, pw, spec("vsphere.local", SSO_PW, true)).await;
    assert_eq!(status, 400, "{reply}");
    assert_eq!(
        rest_error(&reply).0,
        "com.vmware.vapi.std.errors.not_allowed_in_current_state"
    );
    // Still nothing but the deployment is served.
    let (status, _) = root_call(&ts, Method::GET, "/api/appliance/health/system", pw, None).await;
    assert_eq!(status, 503);

    let (status, reply) = root_call(
        &ts,
        Method::POST,
        "/rest/vcenter/deployment?action=rollback",
        pw,
        None,
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let i = info(&ts, pw).await;
    assert_eq!(i["state"], "INITIALIZED", "{i}");
    drop(squatter);
    let run = setup(&ts, pw, spec("vsphere.local", SSO_PW, false), &no_questions).await;
    assert_configured(&run.last);
    main_login(&ts, ADMIN, SSO_PW).await;
    ts.stop().await;
}

#[tokio::test]
async fn a_taken_address_retried_once_free_goes_on() {
    let ts = start_awaiting(tempfile::tempdir().unwrap(), ROOT_SETUP_PW, |_| {}).await;
    let pw = ROOT_SETUP_PW;
    let squatter = std::sync::Mutex::new(Some(std::net::TcpListener::bind(api_addr(&ts)).unwrap()));
    let run = setup(&ts, pw, spec("vsphere.local", SSO_PW, false), &|id| {
        assert_eq!(id, "services.listen");
        squatter.lock().unwrap().take();
        Some("RETRY".to_string())
    })
    .await;
    assert_eq!(run.questions.len(), 1);
    assert_listen_question(&run.questions[0]);
    assert_configured(&run.last);
    main_login(&ts, ADMIN, SSO_PW).await;
    ts.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Cancel.

#[tokio::test]
async fn a_cancelled_setup_fails_and_rolls_back_keeping_data_it_was_not_told_to_wipe() {
    let dir = tempfile::tempdir().unwrap();
    used_data_dir(dir.path()).await;
    let ts = start_awaiting(dir, PASSWORD, |_| {}).await;
    let pw = PASSWORD;
    let (status, _) = install_start(&ts, pw, spec("vsphere.local", SSO_PW, false)).await;
    assert_eq!(status, 200);
    // Held on its first question; cancel as soon as the info says it can be.
    let began = Instant::now();
    let mut seen = Vec::new();
    loop {
        let i = info(&ts, pw).await;
        seen.push(format!("{}/{}", i["state"], i["cancelable"]));
        if i["cancelable"] == true {
            assert_running_shape(&i);
            assert!(
                i["state"] == "CONFIG_IN_PROGRESS" || i["state"] == "QUESTION_RAISED",
                "{i}"
            );
            break;
        }
        assert!(
            i["state"] != "CONFIGURED" && i["state"] != "FAILED",
            "never cancelable before {i}; seen {seen:?}"
        );
        assert!(began.elapsed() < Duration::from_secs(60), "{seen:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, reply) = root_call(
        &ts,
        Method::POST,
        "/rest/vcenter/deployment/install?action=cancel",
        pw,
        None,
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let run = follow(&ts, pw, &|id| panic!("question {id} after cancel")).await;
    let failed = run.last;
    assert_eq!(failed["state"], "FAILED", "{failed}");
    assert_eq!(failed["cancelable"], false, "{failed}");
    assert!(
        failed["error"]
            .to_string()
            .to_lowercase()
            .contains("cancel"),
        "the error says cancelled: {failed}"
    );
    // Rollback: INITIALIZED, root still logs in. The cancel came before store.reuse was
    // answered, so the other instance's data stays and the next setup asks again; NO wipes it.
    let (status, reply) = root_call(
        &ts,
        Method::POST,
        "/rest/vcenter/deployment?action=rollback",
        pw,
        None,
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(info(&ts, pw).await["state"], "INITIALIZED");
    let asked = std::sync::Mutex::new(Vec::new());
    let run = setup(&ts, pw, spec("vsphere.local", SSO_PW, false), &|id| {
        asked.lock().unwrap().push(id.to_string());
        Some(if id == "store.reuse" { "NO" } else { "YES" }.to_string())
    })
    .await;
    assert_configured(&run.last);
    assert!(
        asked.lock().unwrap().iter().any(|q| q == "store.reuse"),
        "the rollback kept the other instance's data, so the setup asks about it: {:?}",
        asked.lock().unwrap()
    );
    let token = main_login(&ts, ADMIN, SSO_PW).await;
    assert_eq!(datacenters(&ts, &token).await, Vec::<String>::new());
    ts.stop().await;
}

// ---------------------------------------------------------------------------------------------
// (v) A server killed while its setup waits on a question.

fn spawn_awaiting(data: &Path, api: &str, appliance: &str, extra: &[&str]) -> Proc {
    let args: Vec<&str> = ["--listen", api, "--appliance-listen", appliance]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    let mut p = spawn_server(data, &args);
    // The banner says the server awaits its setup, and where to set it up.
    p.wait_stdout("awaiting setup", Duration::from_secs(60));
    p.wait_stdout(&format!("https://{appliance}"), Duration::from_secs(10));
    p
}

/// A client for the child server's appliance listener.
struct Appliance {
    addr: String,
    client: reqwest::Client,
}

impl Appliance {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = self
            .client
            .request(method, format!("https://{}{path}", self.addr))
            .basic_auth("root", Some(ROOT_SETUP_PW));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn info(&self) -> Value {
        let (status, body) = self
            .call(Method::GET, "/rest/vcenter/deployment", None)
            .await;
        assert_eq!(status, 200, "{body}");
        body["value"].clone()
    }

    async fn wait_state(&self, want: &[&str]) -> Value {
        let began = Instant::now();
        loop {
            let i = self.info().await;
            if want.iter().any(|w| i["state"] == *w) {
                return i;
            }
            assert!(i["state"] != "FAILED" || want.contains(&"FAILED"), "{i}");
            assert!(began.elapsed() < Duration::from_secs(120), "{i}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn a_server_killed_during_its_setup_restarts_failed_and_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    foreign_certificate(&data);
    let (api, appliance) = (free_local_addr(), free_local_addr());
    let mut p = spawn_awaiting(
        &data,
        &api,
        &appliance,
        &["--await-setup", "--root-password", ROOT_SETUP_PW],
    );
    assert_eq!(
        std::net::TcpStream::connect(&api).unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );
    let a = Appliance {
        addr: appliance.clone(),
        client: client(),
    };
    let (status, reply) = a
        .call(
            Method::POST,
            "/rest/vcenter/deployment/install?action=start",
            Some(spec("vsphere.local", SSO_PW, false)),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let i = a.wait_state(&["QUESTION_RAISED"]).await;
    assert_running_shape(&i);
    p.signal(libc::SIGKILL);
    p.wait_exit(Duration::from_secs(30));
    drop(p);

    // Restarted from a config file this time (await_setup, root_password keys).
    let config = dir.path().join("ferrocenter.toml");
    std::fs::write(
        &config,
        format!("await_setup = true\nroot_password = \"{ROOT_SETUP_PW}\"\n"),
    )
    .unwrap();
    let config = config.to_string_lossy().into_owned();
    let p = spawn_awaiting(&data, &api, &appliance, &["--config", &config]);
    // A new client: the old one's pooled connection died with the killed server.
    let a = Appliance {
        addr: appliance.clone(),
        client: client(),
    };
    let failed = a.info().await;
    assert_eq!(failed["state"], "FAILED", "{failed}");
    assert_eq!(failed["status"], "FAILED", "{failed}");
    assert!(
        failed["error"]
            .to_string()
            .to_lowercase()
            .contains("stopped"),
        "the error says the server stopped during the setup: {failed}"
    );
    assert_eq!(
        std::net::TcpStream::connect(&api).unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );
    let (status, _) = a
        .call(
            Method::POST,
            "/rest/vcenter/deployment/install?action=start",
            Some(spec("vsphere.local", SSO_PW, true)),
        )
        .await;
    assert_eq!(status, 400);
    let (status, reply) = a
        .call(
            Method::POST,
            "/rest/vcenter/deployment?action=rollback",
            None,
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(a.info().await["state"], "INITIALIZED");
    let (status, reply) = a
        .call(
            Method::POST,
            "/rest/vcenter/deployment/install?action=start",
            Some(spec("vsphere.local", SSO_PW, true)),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let done = a.wait_state(&["CONFIGURED"]).await;
    assert_configured(&done);
    let r = client()
        .post(format!("https://{api}/api/session"))
        .basic_auth(ADMIN, Some(SSO_PW))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    drop(p);
}

// ---------------------------------------------------------------------------------------------
// The official SDK: Deployment.get, Install.check/start, Question.get/answer over JSON-RPC.

#[tokio::test]
async fn the_official_python_sdk_sets_up_a_new_instance() {
    let Some(python) = sdk::sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let foreign = foreign_certificate(dir.path());
    let ts = start_awaiting(dir, ROOT_SETUP_PW, |_| {}).await;
    let v = sdk::run_sdk_script(
        &python,
        "deployment_install.py",
        &[&appliance_addr(&ts), ROOT_SETUP_PW, SSO_PW, "YES"],
    )
    .await;
    assert_eq!(v["wrong_password"], "Unauthenticated", "{v}");
    assert_eq!(v["before"]["state"], "INITIALIZED", "{v}");
    assert_eq!(v["before"]["status"], "PENDING", "{v}");
    assert_eq!(v["before"]["cancelable"], false, "{v}");
    assert_eq!(
        v["before"]["service"], "com.vmware.vcenter.deployment",
        "{v}"
    );
    assert_eq!(v["question_before"], "NotAllowedInCurrentState", "{v}");
    assert_eq!(v["check_weak"]["status"], "FAILED", "{v}");
    let errors = v["check_weak"]["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| message_text(&e["message"])
                .contains("vcsa_embedded.standalone.sso_admin_password")),
        "{v}"
    );
    assert_eq!(v["start_weak"], "InvalidArgument", "{v}");
    assert_eq!(v["check_good"], "SUCCESS", "{v}");
    assert_eq!(v["state_after_checks"], "INITIALIZED", "{v}");
    assert_eq!(v["start_again"], "NotAllowedInCurrentState", "{v}");
    let questions = v["questions"].as_array().unwrap();
    assert_eq!(questions.len(), 1, "{v}");
    let q = &questions[0];
    assert_eq!(q["id"], "certificate.regenerate", "{v}");
    assert_eq!(q["type"], "YES_NO", "{v}");
    assert_eq!(q["default_answer"], "YES", "{v}");
    assert!(q["question"]["default_message"].is_string(), "{v}");
    assert_eq!(q["running"]["state"], "QUESTION_RAISED", "{v}");
    let status = q["running"]["status"].as_str().unwrap();
    assert!(status == "RUNNING" || status == "BLOCKED", "{v}");
    assert_eq!(q["running"]["operation"], "INSTALL", "{v}");
    assert!(
        q["running"]["progress"]["total"].as_i64().unwrap() > 0,
        "{v}"
    );
    assert_eq!(v["bad_question_id"], "InvalidArgument", "{v}");
    assert_eq!(
        v["spec_while_raised"],
        json!({"sso_domain_name": "vsphere.local", "password_shown": false}),
        "{v}"
    );
    let last = v["states"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last, "CONFIGURED", "{v}");
    let f = &v["final"];
    assert_eq!(f["status"], "SUCCEEDED", "{v}");
    assert_eq!(f["cancelable"], false, "{v}");
    assert_eq!(f["progress"]["completed"], f["progress"]["total"], "{v}");
    assert_eq!(
        f["progress"]["message"]["id"], "com.vmware.vcenter.deploy.task.complete.success",
        "{v}"
    );
    assert_eq!(
        f["description"]["id"], "com.vmware.vcenter.deploy.task.description.op.install",
        "{v}"
    );
    assert_eq!(f["has_start_time"], true, "{v}");
    assert_eq!(f["has_end_time"], true, "{v}");
    let mut order: Vec<Value> = f["subtask_order"].as_array().unwrap().clone();
    order.sort_by_key(|s| s.as_str().unwrap().to_string());
    assert_eq!(Value::Array(order), f["subtasks"], "{v}");
    assert_eq!(v["question_after"], "NotAllowedInCurrentState", "{v}");
    // YES regenerated the certificate; the SSO administrator logs in on the main listener.
    assert_ne!(certificate_file_digest(ts.dir.path()), foreign);
    main_login(&ts, ADMIN, SSO_PW).await;
    ts.stop().await;
}
