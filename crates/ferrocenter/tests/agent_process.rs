//! `ferrocenter agent` and `ferrocenter simulate` as processes.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::*;
use ferrocenter_agent_client::{AgentConnector, AgentError, ConnectOptions};
use ferrocenter_testkit::free_port;

fn spawn(args: &[&str], dir: &std::path::Path) -> Proc {
    spawn_ferrocenter(args, &dir.join("out"))
}

#[tokio::test]
async fn agent_keeps_its_state_and_certificate_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("agent");
    let data_s = data.to_string_lossy().into_owned();
    let listen = format!("127.0.0.1:{}", free_port());

    // First start without a root password is refused, naming the key.
    let mut p = spawn(
        &["agent", "--listen", &listen, "--data-dir", &data_s],
        dir.path(),
    );
    assert_eq!(p.wait_exit(Duration::from_secs(20)).code(), Some(2));
    assert!(p.stderr().contains("root_password"), "{}", p.stderr());
    // A build without the libvirt driver says how to get one (a build with it is tested
    // against a real libvirtd in ferrocenter-agent's libvirt_driver tests).
    if !cfg!(feature = "libvirt") {
        let mut p = spawn(
            &[
                "agent",
                "--listen",
                &listen,
                "--data-dir",
                &data_s,
                "--driver",
                "libvirt",
                "--root-password",
                "Root-Pass-1",
            ],
            dir.path(),
        );
        assert_eq!(p.wait_exit(Duration::from_secs(20)).code(), Some(2));
        assert!(
            p.stderr().contains("feature `libvirt`") && p.stderr().contains("--features libvirt"),
            "{}",
            p.stderr()
        );
    }

    let args = [
        "agent",
        "--listen",
        &listen,
        "--data-dir",
        &data_s,
        "--root-password",
        "Root-Pass-1",
    ];
    let mut p = spawn(&args, dir.path());
    let out = p.wait_stdout("thumbprint", Duration::from_secs(30));
    let thumb = printed_thumbprint(&out);
    let c = AgentConnector::new(ConnectOptions::default());
    let port: u16 = listen.rsplit(':').next().unwrap().parse().unwrap();
    let a = c.client("127.0.0.1", port, Some(&thumb));
    a.about().await.unwrap();
    a.login("root", "Root-Pass-1").await.unwrap();
    a.create_account("svc", "0123456789abcdef0123")
        .await
        .unwrap();
    a.rename("kvm-01.lab").await.unwrap();
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(20)).code(), Some(0));

    // Restart: same certificate, the service account and the name survive; a new root password
    // on the command line does not replace the stored one.
    let args2 = [
        "agent",
        "--listen",
        &listen,
        "--data-dir",
        &data_s,
        "--root-password",
        "Other-Pass-2",
    ];
    let mut p = spawn(&args2, dir.path());
    let out = p.wait_stdout("thumbprint", Duration::from_secs(30));
    assert_eq!(printed_thumbprint(&out), thumb);
    let c = AgentConnector::new(ConnectOptions::default());
    let s = c.client("127.0.0.1", port, Some(&thumb));
    s.login("svc", "0123456789abcdef0123").await.unwrap();
    assert_eq!(s.facts().await.unwrap().hostname, "kvm-01.lab");
    assert_eq!(
        s.login("root", "Other-Pass-2").await.unwrap_err(),
        AgentError::InvalidLogin
    );
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(20)).code(), Some(0));
}

#[tokio::test]
async fn simulate_writes_a_manifest_and_serves_every_host() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("manifest.json");
    let port = free_port().to_string();
    let mut p = spawn(
        &[
            "simulate",
            "--hosts",
            "5",
            "--vms-per-host",
            "3",
            "--address-base",
            "127.0.77.1",
            "--port",
            &port,
            "--root-password",
            "Root-Pass-1",
            "--control",
            "127.0.0.1:0",
            "--manifest",
            &manifest.to_string_lossy(),
        ],
        dir.path(),
    );
    p.wait_stdout("hosts up", Duration::from_secs(30));
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let hosts = m["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 5);
    let c = AgentConnector::new(ConnectOptions::default());
    let mut thumbs = std::collections::HashSet::new();
    for (i, h) in hosts.iter().enumerate() {
        assert_eq!(h["address"], format!("127.0.77.{}", i + 1));
        assert_eq!(h["root_user"], "root");
        let a = c.client(
            h["address"].as_str().unwrap(),
            h["port"].as_u64().unwrap() as u16,
            h["thumbprint"].as_str(),
        );
        a.login("root", "Root-Pass-1").await.unwrap();
        assert_eq!(a.vms().await.unwrap().len(), 3);
        assert_eq!(a.facts().await.unwrap().hostname, h["hostname"]);
        thumbs.insert(h["thumbprint"].as_str().unwrap().to_string());
    }
    assert_eq!(thumbs.len(), 5, "each host has its own certificate");
    // Bad values are refused by name.
    let mut bad = spawn(
        &[
            "simulate",
            "--hosts",
            "0",
            "--root-password",
            "Root-Pass-1",
            "--manifest",
            "/tmp/x.json",
        ],
        dir.path(),
    );
    assert_eq!(bad.wait_exit(Duration::from_secs(20)).code(), Some(2));
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(20)).code(), Some(0));
}
