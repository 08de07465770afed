//! Helpers for the setup tests (install, upgrade, history import): a server awaiting its
//! setup, calls as local root on its appliance listener, and the `/rest` error shape.
use ferrocenter::config::ServeArgs;
use ferrocenter::serve::Server;
use reqwest::Method;
use serde_json::Value;

use super::{args, client, free_local_addr, TestServer};

/// Local root's password while a server awaits its setup.
pub const ROOT_SETUP_PW: &str = "Root-Setup-Pass-1";

/// Serve arguments for a server awaiting its setup with `root_password` for local root.
pub fn await_setup(a: &mut ServeArgs, root_password: &str) {
    a.await_setup = Some("true".into());
    a.root_password = Some(root_password.into());
    a.admin_password = None;
    // The main listener's address must be known before it listens: a fixed free port.
    a.listen = Some(free_local_addr());
}

/// A server awaiting its setup on the data dir `dir`, with `root_password` for local root.
pub async fn start_awaiting(
    dir: tempfile::TempDir,
    root_password: &str,
    tweak: impl FnOnce(&mut ServeArgs),
) -> TestServer {
    let mut a = args(dir.path());
    await_setup(&mut a, root_password);
    tweak(&mut a);
    let cfg = a.resolve().unwrap();
    let server = Server::start(&cfg).await.unwrap();
    assert_eq!(
        server.addrs.api.to_string(),
        a.listen.clone().unwrap(),
        "addrs.api is the address the main listener will take"
    );
    TestServer {
        server: Some(server),
        dir,
        client: client(),
    }
}

/// A call on the appliance listener as root with Basic credentials: status and JSON body.
pub async fn root_call(
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

/// The text of a vAPI error or notification message, with its arguments.
pub fn message_text(m: &Value) -> String {
    format!(
        "{} {}",
        m["default_message"].as_str().unwrap_or_default(),
        m["args"]
    )
}

/// The `/rest` error body's type, e.g. `com.vmware.vapi.std.errors.invalid_argument`, and the
/// text of its messages.
pub fn rest_error(body: &Value) -> (String, String) {
    let kind = body["type"].as_str().unwrap_or_default().to_string();
    let text = body["value"]["messages"]
        .as_array()
        .map(|ms| ms.iter().map(message_text).collect::<Vec<_>>().join(" | "))
        .unwrap_or_else(|| body.to_string());
    (kind, text)
}

/// The `services.listen` question as a setup raises it when the main listener cannot start.
pub fn assert_listen_question(q: &Value) {
    assert_eq!(q["id"], "services.listen", "{q}");
    assert_eq!(q["type"], "ABORT_RETRY_IGNORE", "{q}");
    assert_eq!(q["default_answer"], "ABORT", "{q}");
    let mut answers: Vec<&str> = q["possible_answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    answers.sort_unstable();
    assert_eq!(answers, ["ABORT", "IGNORE", "RETRY"], "{q}");
}
