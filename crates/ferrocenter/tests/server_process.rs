//! The `ferrocenter` binary itself: first start, restarts, signals, bad configuration, and
//! recovery of tasks after SIGKILL, on SQLite and on PostgreSQL; the server's TLS identity
//! (the generated certificate's names, an operator's own certificate); the examples under
//! packaging/ (config file, systemd units); completions and the man page.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::*;
use ferrocenter_testkit::{free_port, pg::PgCluster};
use serde_json::{json, Value};

fn ports() -> (String, String) {
    (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    )
}

#[test]
fn version_prints_the_version() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrocenter"))
        .arg("version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(
        s.starts_with(&format!("ferrocenter {}", env!("CARGO_PKG_VERSION"))),
        "{s}"
    );
}

#[test]
fn invalid_configuration_stops_startup_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (args, key) in [
        (vec!["--listen", "not-an-address"], "listen:"),
        (vec!["--max-body-bytes", "ten"], "max_body_bytes:"),
        (vec!["--database-url", "mysql://x"], "database_url:"),
    ] {
        let mut p = spawn_server(&dir.path().join("d"), &args);
        let status = p.wait_exit(Duration::from_secs(20));
        assert_eq!(status.code(), Some(2), "{args:?}");
        assert!(p.stderr().contains(key), "{args:?}: {}", p.stderr());
    }
    // Environment variables are read too, and named by their key.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrocenter"))
        .args(["serve", "--data-dir"])
        .arg(dir.path().join("e"))
        .env("FERROCENTER_LOCKOUT_MAX_FAILURES", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lockout_max_failures"));
    // A listener that cannot bind names its key too.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = busy.local_addr().unwrap().to_string();
    let mut p = spawn_server(
        &dir.path().join("f"),
        &["--listen", "127.0.0.1:0", "--appliance-listen", &busy_addr],
    );
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(2));
    assert!(p.stderr().contains("appliance_listen"), "{}", p.stderr());
}

#[tokio::test]
async fn first_start_generates_a_password_once_and_sigterm_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (api, app) = ports();
    let args = ["--listen", &api, "--appliance-listen", &app];
    let mut p = spawn_server(&data, &args);
    let out = p.wait_stdout("thumbprint", Duration::from_secs(60));
    let pw_file = data.join("initial-admin-password");
    let pw = std::fs::read_to_string(&pw_file)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(
        std::fs::metadata(&pw_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(out.contains(&pw), "the generated password is printed once");
    assert!(
        out.contains("ferrocenter sso user passwd"),
        "the first-start message says how to change the password: {out}"
    );
    assert!(out.contains(&format!("https://{api}")) && out.contains(&format!("https://{app}")));
    assert!(
        !p.stderr().contains(&pw),
        "the password never reaches the logs"
    );
    assert!(std::fs::read_dir(data.join("logs")).unwrap().count() > 0);

    let c = client();
    let r = c
        .post(format!("https://{api}/api/session"))
        .basic_auth(ADMIN, Some(&pw))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token: String = r.json().await.unwrap();
    let logs = std::fs::read_dir(data.join("logs"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(
        !p.stderr().contains(&token) && !logs.contains(&token),
        "tokens are never logged"
    );

    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(0));

    // Second start: same certificate, no new password, the old one still works.
    let first_thumb = printed_thumbprint(&out);
    let mut p = spawn_server(
        &data,
        &[&args[..], &["--admin-password", "Other-Pass-99"]].concat(),
    );
    let out2 = p.wait_stdout("is ignored", Duration::from_secs(60));
    assert!(
        out2.contains("--admin-password (admin_password) is ignored")
            && out2.contains("already initialised"),
        "{out2}"
    );
    assert_eq!(printed_thumbprint(&out2), first_thumb);
    assert!(!out2.contains("Generated"));
    // A new client: the old one's pooled connection went away with the first process.
    let r = client()
        .post(format!("https://{api}/api/session"))
        .basic_auth(ADMIN, Some(&pw))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        201,
        "admin_password applies on first start only"
    );
    p.signal(libc::SIGINT);
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

#[tokio::test]
async fn plain_http_listener_serves_the_same_routes() {
    let dir = tempfile::tempdir().unwrap();
    let (api, app) = ports();
    let http = format!("127.0.0.1:{}", free_port());
    let mut p = spawn_server(
        &dir.path().join("d"),
        &[
            "--listen",
            &api,
            "--appliance-listen",
            &app,
            "--http-listen",
            &http,
            "--admin-password",
            PASSWORD,
        ],
    );
    let out = p.wait_stdout("thumbprint", Duration::from_secs(60));
    assert!(!out.contains("ignored"), "used on the first start: {out}");
    assert!(
        p.stderr().contains("unencrypted"),
        "a warning names the risk"
    );
    let r = client()
        .post(format!("http://{http}/api/session"))
        .basic_auth(ADMIN, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = client()
        .get(format!("http://{http}/zstack/v1/l3-networks"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

/// SIGKILL while 50 tasks run, restart: no task is left queued or running.
async fn sigkill_recovery(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (api, app) = ports();
    let mut args = vec![
        "--listen".to_string(),
        api.clone(),
        "--appliance-listen".into(),
        app,
        "--admin-password".into(),
        PASSWORD.into(),
        "--enable-diagnostics".into(),
    ];
    if let Some(url) = &database_url {
        args.push("--database-url".into());
        args.push(url.clone());
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut p = spawn_server(&data, &argv);
    p.wait_stdout("thumbprint", Duration::from_secs(60));
    let c = client();
    let base = format!("https://{api}");
    let login = |c: reqwest::Client| {
        let base = base.clone();
        async move {
            let r = c
                .post(format!("{base}/api/session"))
                .basic_auth(ADMIN, Some(PASSWORD))
                .send()
                .await
                .unwrap();
            r.json::<String>().await.unwrap()
        }
    };
    let token = login(c.clone()).await;
    let mut ids = Vec::new();
    for i in 0..50 {
        // Ten entities: five tasks run and the rest wait in their entity's queue.
        let r = c
            .post(format!("{base}/api/ferrocenter/diagnostics/sleep"))
            .header("vmware-api-session-id", &token)
            .json(&json!({"duration_ms": 60000, "target": format!("host-{}", i % 10)}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        ids.push(r.json::<String>().await.unwrap());
    }
    let list = |c: reqwest::Client, token: String, filter: Value| {
        let base = base.clone();
        async move {
            let r = c
                .post(format!("{base}/api/cis/tasks?action=list"))
                .header("vmware-api-session-id", token)
                .json(&json!({ "filter_spec": filter }))
                .send()
                .await
                .unwrap();
            r.json::<Value>()
                .await
                .unwrap()
                .as_object()
                .unwrap()
                .clone()
        }
    };
    let live = list(
        c.clone(),
        token.clone(),
        json!({"status": ["PENDING", "RUNNING"]}),
    )
    .await;
    assert_eq!(live.len(), 50);
    assert!(live.values().any(|t| t["status"] == "RUNNING"));

    p.signal(libc::SIGKILL);
    p.wait_exit(Duration::from_secs(10));
    let mut p = spawn_server(&data, &argv);
    p.wait_stdout("thumbprint", Duration::from_secs(60));
    let c = client();
    let token = login(c.clone()).await;
    let live = list(
        c.clone(),
        token.clone(),
        json!({"status": ["PENDING", "RUNNING"]}),
    )
    .await;
    assert!(live.is_empty(), "left unfinished: {live:?}");
    let all = list(c.clone(), token, json!({"tasks": ids})).await;
    assert_eq!(all.len(), 50);
    for t in all.values() {
        assert_eq!(t["status"], "FAILED");
        let msg = t["error"]["messages"][0]["default_message"]
            .as_str()
            .unwrap();
        assert!(msg.contains("server restarted"), "{msg}");
    }
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

#[tokio::test]
async fn sigkill_with_50_tasks_then_restart_on_sqlite() {
    sigkill_recovery(None).await;
}

#[tokio::test]
async fn sigkill_with_50_tasks_then_restart_on_postgresql() {
    let cluster = match PgCluster::start() {
        Ok(c) => c,
        Err(why) => {
            println!("SKIPPED sigkill_with_50_tasks_then_restart_on_postgresql: {why}");
            return;
        }
    };
    let url = cluster.create_database("fc").unwrap();
    sigkill_recovery(Some(url)).await;
}

/// A client that trusts only `ca_pem` and resolves `name` to `addr`.
fn verifying_client(ca_pem: &[u8], name: &str, addr: std::net::SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap())
        .resolve(name, addr)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn host_name() -> String {
    let out = std::process::Command::new("hostname").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn generated_certificate_names_the_listen_address_and_the_host_name() {
    // 127.0.0.2 is not among the names every certificate carries: only --listen puts it there.
    let ts = TestServer::start_with(|a| a.listen = Some("127.0.0.2:0".into())).await;
    let addr = ts.server.as_ref().unwrap().addrs.api;
    let ca = std::fs::read(ts.dir.path().join("tls/server.crt")).unwrap();
    let host = host_name();
    for name in ["127.0.0.2", host.as_str(), "localhost"] {
        let r = verifying_client(&ca, name, addr)
            .post(format!("https://{name}:{}/api/session", addr.port()))
            .basic_auth(ADMIN, Some(PASSWORD))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(r.status(), 201, "{name}");
    }
    // A name it does not carry is refused, so the check above means something.
    let r = verifying_client(&ca, "not-this-host.example", addr)
        .get(format!("https://not-this-host.example:{}/api", addr.port()))
        .send()
        .await;
    assert!(r.is_err());
    ts.stop().await;
}

#[tokio::test]
async fn own_certificate_and_key_are_served_as_they_are() {
    // The operator's CA and a certificate it signed, put where the generated pair would be.
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Example Corp CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["vc.example.test".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let tls = data.path().join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    let chain = format!("{}{}", cert.pem(), ca.pem());
    std::fs::write(tls.join("server.crt"), &chain).unwrap();
    std::fs::write(tls.join("server.key"), key.serialize_pem()).unwrap();

    let dir = data.path().to_string_lossy().into_owned();
    let ts = TestServer::start_with(|a| a.data_dir = Some(dir)).await;
    let server = ts.server.as_ref().unwrap();
    assert_eq!(
        server.thumbprint,
        ferrocenter_client::tls::der_thumbprint(cert.der())
    );
    assert_eq!(
        std::fs::read_to_string(tls.join("server.crt")).unwrap(),
        chain,
        "left as it was"
    );
    let addr = server.addrs.api;
    let r = verifying_client(ca.pem().as_bytes(), "vc.example.test", addr)
        .post(format!(
            "https://vc.example.test:{}/api/session",
            addr.port()
        ))
        .basic_auth(ADMIN, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    ts.stop().await;
}

fn packaging(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../packaging")
        .join(file)
}

#[test]
fn example_config_file_is_accepted_by_the_loader() {
    let c = ferrocenter::config::ServeArgs {
        config: Some(packaging("ferrocenter.toml")),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    assert_eq!(c.data_dir, std::path::PathBuf::from("/var/lib/ferrocenter"));
    assert_eq!(c.listen.to_string(), "0.0.0.0:8443");
}

#[test]
fn example_systemd_units_pass_systemd_analyze_verify() {
    let Ok(version) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        println!("SKIPPED: systemd-analyze is not installed");
        return;
    };
    assert!(version.status.success());
    // verify insists that ExecStart's binary exists: point it at the one under test.
    let dir = tempfile::tempdir().unwrap();
    let mut units = Vec::new();
    for unit in ["ferrocenter.service", "ferrocenter-agent.service"] {
        let text = std::fs::read_to_string(packaging(unit)).unwrap();
        assert!(
            text.contains("ExecStart=/usr/local/bin/ferrocenter "),
            "{unit}"
        );
        let text = text.replace(
            "/usr/local/bin/ferrocenter",
            env!("CARGO_BIN_EXE_ferrocenter"),
        );
        std::fs::write(dir.path().join(unit), text).unwrap();
        units.push(dir.path().join(unit));
    }
    let out = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(&units)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{err}");
}

#[test]
fn completions_and_man_page_come_from_the_command_definitions() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrocenter"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    for shell in ["bash", "zsh", "fish"] {
        let s = run(&["completions", shell]);
        assert!(
            s.contains("ferrocenter") && s.contains("maintenance"),
            "{shell}"
        );
    }
    let man = run(&["manpage"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH ferrocenter"),
        "{man}"
    );
    assert!(man.contains("serve") && man.contains("login"), "{man}");
}
