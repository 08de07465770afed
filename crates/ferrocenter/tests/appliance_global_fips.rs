//! Global FIPS (`com.vmware.appliance.system.security.global_fips`) on a real `ferrocenter
//! serve` process: the unmodified official SDK for Python (tests/vapi_sdk/global_fips.py)
//! reads false and enables it; the process restarts itself and comes back on aws-lc-rs's FIPS
//! module; then `openssl s_client` proves the switch on the wire, on the API and the appliance
//! listeners: ChaCha20-Poly1305 (TLS 1.3 and 1.2) and a bare X25519 key exchange, accepted
//! before, are refused, while AES-GCM is accepted. curl disables it again as the seed shows
//! (GET and PUT /api/appliance/system/global-fips), the process restarts, and ChaCha20 is
//! accepted again. In FIPS mode the server also adds and connects a (simulated) host's agent,
//! whose client is on the FIPS module as well.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::sdk::{run_sdk_script, sdk_python};
use common::*;
use serde_json::{json, Value};

const PROVIDER_FIPS: &str = "TLS crypto provider: aws-lc-rs FIPS module";
const PROVIDER_RING: &str = "TLS crypto provider: ring";

/// The handshakes the test tries, each as `openssl s_client` arguments.
const CHACHA_13: &[&str] = &["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"];
const CHACHA_12: &[&str] = &[
    "-tls1_2",
    "-cipher",
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
];
const X25519_ONLY: &[&str] = &["-tls1_3", "-groups", "X25519"];
const AES_GCM_13: &[&str] = &["-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"];
const AES_GCM_12: &[&str] = &[
    "-tls1_2",
    "-cipher",
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256",
];

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
        || Command::new(tool)
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
}

/// A TLS handshake with `addr` as `openssl s_client` makes it with `args`: the suite agreed,
/// or the output of a refused handshake.
fn handshake(addr: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new("openssl")
        .args(["s_client", "-brief", "-connect", addr])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match text.lines().find_map(|l| l.strip_prefix("Ciphersuite: ")) {
        Some(suite) if out.status.success() => Ok(suite.trim().to_string()),
        _ => Err(text),
    }
}

/// Both listeners accept ChaCha20 and X25519 (the default provider) or refuse them (FIPS), and
/// accept AES-GCM in either mode.
fn assert_wire(addrs: &[&str], fips: bool) {
    for addr in addrs {
        for (name, args) in [
            ("TLS 1.3 ChaCha20", CHACHA_13),
            ("TLS 1.2 ChaCha20", CHACHA_12),
            ("X25519 alone", X25519_ONLY),
        ] {
            let got = handshake(addr, args);
            if fips {
                assert!(got.is_err(), "{name} on {addr} in FIPS mode: {got:?}");
            } else {
                assert!(got.is_ok(), "{name} on {addr} without FIPS: {got:?}");
            }
        }
        for (name, args, suite) in [
            ("TLS 1.3 AES-GCM", AES_GCM_13, "TLS_AES_256_GCM_SHA384"),
            ("TLS 1.2 AES-GCM", AES_GCM_12, "-AES128-GCM-SHA256"),
        ] {
            let got = handshake(addr, args).unwrap_or_else(|e| panic!("{name} on {addr}: {e}"));
            assert!(got.contains(suite), "{name} on {addr}: {got}");
        }
    }
}

/// Waits until the server's standard output holds `needle` `n` times: a restart prints the
/// banner again (the same process runs its binary again, so the pid stays).
fn wait_count(p: &mut Proc, needle: &str, n: usize) -> String {
    let start = Instant::now();
    loop {
        let out = std::fs::read_to_string(&p.stdout_path).unwrap_or_default();
        if out.matches(needle).count() >= n {
            return out;
        }
        assert!(
            p.child.try_wait().unwrap().is_none(),
            "the server exited; stdout:\n{out}\nstderr:\n{}",
            p.stderr()
        );
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "{needle:?} not printed {n} times; stdout:\n{out}\nstderr:\n{}",
            p.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `curl` as the seed shows it: `-k` for the self-signed certificate; the status and body.
fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sk", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_string())
}

fn curl_login(addr: &str) -> String {
    let (code, body) = curl(&[
        "-X",
        "POST",
        "-u",
        &format!("{ADMIN}:{PASSWORD}"),
        &format!("https://{addr}/api/session"),
    ]);
    assert_eq!(code, 201, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn curl_get_fips(addr: &str) -> Value {
    let token = curl_login(addr);
    let (code, body) = curl(&[
        "-H",
        &format!("vmware-api-session-id: {token}"),
        &format!("https://{addr}/api/appliance/system/global-fips"),
    ]);
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn enabling_global_fips_restarts_the_server_on_the_fips_module_and_disabling_reverts() {
    for tool in ["openssl", "curl"] {
        if !have(tool) {
            eprintln!("SKIPPED: {tool} is not installed");
            return;
        }
    }
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (api, appliance) = (free_local_addr(), free_local_addr());
    let mut server = serve_at(dir.path(), &api, &appliance, &[]);
    let out = wait_count(&mut server, PROVIDER_RING, 1);
    assert!(!out.contains(PROVIDER_FIPS));
    let addrs = [api.as_str(), appliance.as_str()];
    // Without FIPS, ChaCha20 and X25519 are accepted: the checks below would catch a switch
    // that changed nothing.
    assert_wire(&addrs, false);

    let got = run_sdk_script(&python, "global_fips.py", &[&api, ADMIN, PASSWORD, "get"]).await;
    assert_eq!(got, json!({"enabled": false}));
    let set = run_sdk_script(
        &python,
        "global_fips.py",
        &[&api, ADMIN, PASSWORD, "update", "true"],
    )
    .await;
    assert_eq!(set, json!({"updated": true}), "{}", server.stderr());

    // The process restarts itself on the FIPS module and serves again.
    let out = wait_count(&mut server, PROVIDER_FIPS, 1);
    assert_eq!(out.matches("is serving").count(), 2, "{out}");
    let got = run_sdk_script(&python, "global_fips.py", &[&api, ADMIN, PASSWORD, "get"]).await;
    assert_eq!(got, json!({"enabled": true}));
    assert_wire(&addrs, true);
    // The appliance listener serves the same switch; setting the value in force restarts
    // nothing (the banner count at the end shows it).
    let again = run_sdk_script(
        &python,
        "global_fips.py",
        &[&appliance, ADMIN, PASSWORD, "update", "true"],
    )
    .await;
    assert_eq!(again, json!({"updated": true}));
    assert_eq!(curl_get_fips(&appliance), json!({"enabled": true}));

    // The agent client runs on the FIPS module too: a host's agent (ring, AES-GCM over P-256)
    // is added and connected through it.
    let fleet = sim_fleet(1, 1, 41, 7).await;
    let h = &fleet.manifest.hosts[0];
    let c = client();
    let token = login_at(&api, ADMIN).await;
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut rb = c
            .request(method, format!("https://{api}{path}"))
            .header("vmware-api-session-id", &token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        rb.send()
    };
    let r = call(
        reqwest::Method::POST,
        "/api/vcenter/datacenter",
        Some(json!({"spec": {"name": "DC0"}})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let folders: Value = call(reqwest::Method::GET, "/api/vcenter/folder?type=HOST", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let spec = json!({"spec": {"hostname": h.address, "port": h.port, "user_name": "root",
        "password": ROOT_PW, "thumbprint_verification": "THUMBPRINT",
        "thumbprint": h.thumbprint, "folder": folders[0]["folder"]}});
    let r = call(reqwest::Method::POST, "/api/vcenter/host", Some(spec))
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let hosts: Value = call(reqwest::Method::GET, "/api/vcenter/host", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hosts[0]["connection_state"], "CONNECTED", "{hosts}");

    // Disable with curl as the seed shows it.
    let token = curl_login(&api);
    let (code, body) = curl(&[
        "-X",
        "PUT",
        "-H",
        &format!("vmware-api-session-id: {token}"),
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"enabled": false}"#,
        &format!("https://{api}/api/appliance/system/global-fips"),
    ]);
    assert_eq!(code, 204, "{body}");
    let out = wait_count(&mut server, PROVIDER_RING, 2);
    assert_eq!(curl_get_fips(&api), json!({"enabled": false}));
    assert_wire(&addrs, false);
    let out_now = std::fs::read_to_string(&server.stdout_path).unwrap();
    assert_eq!(
        out_now.matches("is serving").count(),
        3,
        "start, FIPS on, FIPS off: {out}"
    );
    assert!(server.child.try_wait().unwrap().is_none());
    server.signal(libc::SIGTERM);
    server.wait_exit(Duration::from_secs(30));
    fleet.stop().await;
}
