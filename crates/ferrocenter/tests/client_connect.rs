//! The client library against the real server: certificate verification by CA file, by CA
//! directory, refused when untrusted, accepted when pinned; logins, clone tickets, and the
//! errors' stable codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::*;
use ferrocenter_client::tls::{der_thumbprint, normalize_thumbprint};
use ferrocenter_client::{ConnectOptions, Connection, Credentials, ErrorCode, TlsSettings};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

struct Pki {
    ca_pem: String,
    other_ca_pem: String,
    server_thumbprint: String,
}

fn new_ca() -> (rcgen::Certificate, KeyPair) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    (params.self_signed(&key).unwrap(), key)
}

/// A CA, a server certificate it signed (in the server's tls dir), and an unrelated CA.
fn pki(tls_dir: &std::path::Path) -> Pki {
    let (ca, ca_key) = new_ca();
    let (other, _) = new_ca();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    std::fs::create_dir_all(tls_dir).unwrap();
    std::fs::write(tls_dir.join("server.crt"), cert.pem()).unwrap();
    std::fs::write(tls_dir.join("server.key"), key.serialize_pem()).unwrap();
    Pki {
        ca_pem: ca.pem(),
        other_ca_pem: other.pem(),
        server_thumbprint: der_thumbprint(cert.der()),
    }
}

async fn server_with_ca() -> (TestServer, Pki) {
    let mut pki_out = None;
    let ts = TestServer::start_with(|a| {
        let dir = std::path::PathBuf::from(a.data_dir.clone().unwrap()).join("tls");
        pki_out = Some(pki(&dir));
    })
    .await;
    (ts, pki_out.unwrap())
}

fn options(ts: &TestServer, tls: TlsSettings, credentials: Option<Credentials>) -> ConnectOptions {
    let host = ts.api("").trim_start_matches("https://").to_string();
    ConnectOptions {
        host,
        host_type: ferrocenter_client::HostType::ManagementServer,
        credentials,
        tls,
        timeout: Duration::from_secs(20),
    }
}

fn admin() -> Option<Credentials> {
    Some(Credentials::Password {
        user: ADMIN.into(),
        password: PASSWORD.into(),
    })
}

#[tokio::test]
async fn certificates_are_verified_by_ca_file_directory_or_pin() {
    let (ts, pki) = server_with_ca().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let other_file = dir.path().join("other.pem");
    std::fs::write(&other_file, &pki.other_ca_pem).unwrap();
    let ca_dir = dir.path().join("cas");
    std::fs::create_dir_all(&ca_dir).unwrap();
    std::fs::write(ca_dir.join("corp-ca.pem"), &pki.ca_pem).unwrap();
    std::fs::write(ca_dir.join("README"), "not a certificate").unwrap();

    // By CA file, as a config file names it.
    let tls = TlsSettings::from_config(&format!(
        "vix.enableSslCertificateCheck = \"TRUE\"\nvix.sslCertificateFile = \"{}\"\n",
        ca_file.display()
    ))
    .unwrap();
    let c = Connection::connect(options(&ts, tls, admin()))
        .await
        .unwrap();
    let about = c
        .get("ServiceInstance", "ServiceInstance", "content")
        .await
        .unwrap();
    assert_eq!(about["about"]["apiType"], "VirtualCenter");
    c.disconnect().await.unwrap();

    // By CA directory.
    let tls = TlsSettings {
        ssl_certificate_directory: Some(ca_dir.clone()),
        ..Default::default()
    };
    let c = Connection::connect(options(&ts, tls, admin()))
        .await
        .unwrap();
    c.disconnect().await.unwrap();

    // Untrusted: the system's roots, or another CA. No handle is created.
    for tls in [
        TlsSettings::default(),
        TlsSettings {
            ssl_certificate_file: Some(other_file.clone()),
            ..Default::default()
        },
    ] {
        let e = Connection::connect(options(&ts, tls, admin()))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::SslSecurity, "{e}");
        // The refusal names the certificate presented, as an SSLVerifyFault does.
        assert_eq!(
            e.detail.as_ref().map(|d| d["thumbprint"].clone()),
            Some(serde_json::json!(pki.server_thumbprint)),
            "{e:?}"
        );
    }

    // Pinned: verification off only with the server's thumbprint; another pin is refused.
    let pinned = |t: &str| TlsSettings {
        enable_ssl_certificate_check: false,
        thumbprint: Some(t.to_string()),
        ..Default::default()
    };
    let c = Connection::connect(options(&ts, pinned(&pki.server_thumbprint), admin()))
        .await
        .unwrap();
    c.disconnect().await.unwrap();
    let wrong = normalize_thumbprint(&"00".repeat(32)).unwrap();
    let e = Connection::connect(options(&ts, pinned(&wrong), admin()))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::SslSecurity, "{e}");
    assert_eq!(
        e.detail.as_ref().map(|d| d["thumbprint"].clone()),
        Some(serde_json::json!(pki.server_thumbprint)),
        "{e:?}"
    );
    let off = TlsSettings {
        enable_ssl_certificate_check: false,
        ..Default::default()
    };
    let e = Connection::connect(options(&ts, off, admin()))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    ts.stop().await;
}

#[tokio::test]
async fn logins_clone_tickets_and_error_codes() {
    let (ts, pki) = server_with_ca().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let tls = || TlsSettings {
        ssl_certificate_file: Some(ca_file.clone()),
        ..Default::default()
    };
    let core = ts.core_admin().await.0;
    let before = core.auth.session_count();

    // Credentials are mandatory; a wrong password is INVALID_LOGIN with the server's fault.
    let e = Connection::connect(options(&ts, tls(), None))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    let bad = Some(Credentials::Password {
        user: ADMIN.into(),
        password: "wrong".into(),
    });
    let e = Connection::connect(options(&ts, tls(), bad))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.fault.as_deref()),
        (ErrorCode::InvalidLogin, Some("InvalidLogin"))
    );

    // A clone ticket logs in once.
    let c = Connection::connect(options(&ts, tls(), admin()))
        .await
        .unwrap();
    assert_eq!(core.auth.session_count(), before + 1);
    let ticket = c.acquire_clone_ticket().await.unwrap();
    let clone = Connection::connect(options(
        &ts,
        tls(),
        Some(Credentials::CloneTicket(ticket.clone())),
    ))
    .await
    .unwrap();
    let e = Connection::connect(options(&ts, tls(), Some(Credentials::CloneTicket(ticket))))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidLogin, "{e}");
    // Disconnecting ends the sessions (and consumes the handles).
    clone.disconnect().await.unwrap();
    c.disconnect().await.unwrap();
    assert_eq!(core.auth.session_count(), before);

    // Nothing listening: HOST_NOT_REACHABLE.
    let mut o = options(&ts, tls(), admin());
    o.host = format!("127.0.0.1:{}", ferrocenter_testkit::free_port());
    let e = Connection::connect(o).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::HostNotReachable, "{e}");
    ts.stop().await;
}

#[tokio::test]
async fn direct_connections_to_a_managed_host_warn() {
    let fleet = sim_fleet(2, 0, 10, 51).await;
    let ts = TestServer::start().await;
    let (core, admin) = ts.core_admin().await;
    let dc = core.create_datacenter(&admin, "DC0", "").await.unwrap();
    let managed = &fleet.manifest.hosts[0];
    let t = core
        .add_host(
            &admin,
            ferrocenter_core::hosts::AddHostSpec {
                datacenter_id: Some(dc.id.clone()),
                host_name: managed.address.clone(),
                port: Some(managed.port),
                ssl_thumbprint: Some(managed.thumbprint.clone()),
                user_name: "root".into(),
                password: ROOT_PW.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let t = core.tasks.wait(&t.id).await.unwrap();
    assert!(t.error.is_none(), "{:?}", t.error);
    let agent = |h: &ferrocenter_agent::simulate::ManifestHost, credentials| ConnectOptions {
        host: format!("{}:{}", h.address, h.port),
        host_type: ferrocenter_client::HostType::HostAgent,
        credentials: Some(credentials),
        tls: TlsSettings {
            enable_ssl_certificate_check: false,
            thumbprint: Some(h.thumbprint.clone()),
            ..Default::default()
        },
        timeout: Duration::from_secs(20),
    };
    let root = || Credentials::Password {
        user: "root".into(),
        password: ROOT_PW.into(),
    };
    let c = Connection::connect(agent(managed, root())).await.unwrap();
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("connect to the server instead"));
    let facts = c.agent("GET", "/facts", None).await.unwrap();
    assert!(facts["hostname"].is_string());
    c.disconnect().await.unwrap();
    let free = &fleet.manifest.hosts[1];
    let c = Connection::connect(agent(free, root())).await.unwrap();
    assert!(c.warnings.is_empty());
    c.disconnect().await.unwrap();
    let e = Connection::connect(agent(
        free,
        Credentials::Password {
            user: "root".into(),
            password: "Wrong-Pass-9".into(),
        },
    ))
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidLogin);
    let e = Connection::connect(agent(free, Credentials::CloneTicket("t".into())))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotSupported);
    ts.stop().await;
}
