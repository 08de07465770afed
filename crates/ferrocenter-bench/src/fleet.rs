//! The `fleet` scenario: `ferrocenter simulate` alone, read through the agent client.
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocenter_agent_client::{AgentConnector, ConnectOptions};
use serde::Deserialize;
use serde_json::json;

use crate::sys::{cpu_ticks, machine, over_fleet, proc_status_kib};

#[derive(Deserialize)]
struct ManifestHost {
    address: String,
    port: u16,
    thumbprint: String,
}

#[derive(Deserialize)]
struct Manifest {
    hosts: Vec<ManifestHost>,
}

#[allow(clippy::too_many_arguments)]
pub async fn fleet(
    hosts: usize,
    vms: usize,
    concurrency: usize,
    binary: PathBuf,
    address_base: String,
    port: u16,
) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("ferrocenter-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let manifest_path = dir.join("manifest.json");
    let password = "Bench-Root-1";
    let start = Instant::now();
    let mut child = Command::new(&binary)
        .args([
            "simulate",
            "--hosts",
            &hosts.to_string(),
            "--vms-per-host",
            &vms.to_string(),
        ])
        .args(["--address-base", &address_base, "--port", &port.to_string()])
        .args([
            "--root-password",
            password,
            "--control",
            "127.0.0.1:0",
            "--manifest",
        ])
        .arg(&manifest_path)
        .stdout(Stdio::null())
        .stderr(match std::env::var_os("FERROCENTER_BENCH_SIM_LOG") {
            Some(p) => Stdio::from(std::fs::File::create(p)?),
            None => Stdio::null(),
        })
        .spawn()?;
    let pid = child.id();
    while !manifest_path.exists() {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("simulate exited early: {status}");
        }
        if start.elapsed() > Duration::from_secs(600) {
            let _ = child.kill();
            anyhow::bail!("simulate did not come up within 600 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let up_s = start.elapsed().as_secs_f64();
    let rss_up_kib = proc_status_kib(pid, "VmRSS:").unwrap_or(0);
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(&manifest_path)?)?;
    let connector = AgentConnector::new(ConnectOptions {
        request_timeout: Duration::from_secs(60),
        ..ConnectOptions::default()
    });
    let clients: Arc<Vec<_>> = Arc::new(
        manifest
            .hosts
            .iter()
            .map(|h| connector.client(&h.address, h.port, Some(&h.thumbprint)))
            .collect(),
    );
    let ticks0 = cpu_ticks(pid).unwrap_or(0);
    let c = clients.clone();
    let (login_s, login_err) = over_fleet(hosts, concurrency, move |i| {
        let c = c[i].clone();
        async move {
            match c.login("root", password).await {
                Ok(_) => true,
                Err(e) => {
                    eprintln!("login to {}: {e}", c.host());
                    false
                }
            }
        }
    })
    .await;
    let c = clients.clone();
    let (facts_s, facts_err) = over_fleet(hosts, concurrency, move |i| {
        let c = c[i].clone();
        async move { c.facts().await.is_ok() }
    })
    .await;
    let ticks1 = cpu_ticks(pid).unwrap_or(0);
    let rss_end_kib = proc_status_kib(pid, "VmRSS:").unwrap_or(0);
    let hwm_kib = proc_status_kib(pid, "VmHWM:").unwrap_or(0);
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    let tick_hz = crate::sys::tick_hz();
    let report = json!({
        "scenario": "fleet",
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "machine": machine(),
        "version": env!("CARGO_PKG_VERSION"),
        "parameters": {"hosts": hosts, "vms_per_host": vms, "concurrency": concurrency},
        "results": {
            "simulate_up_s": up_s,
            "simulate_rss_mib_after_start": rss_up_kib as f64 / 1024.0,
            "simulate_rss_mib_after_reads": rss_end_kib as f64 / 1024.0,
            "simulate_peak_rss_mib": hwm_kib as f64 / 1024.0,
            "root_logins_per_s": hosts as f64 / login_s,
            "login_errors": login_err,
            "facts_hosts_per_s": hosts as f64 / facts_s,
            "facts_errors": facts_err,
            "simulate_cpu_s_during_reads": (ticks1 - ticks0) as f64 / tick_hz,
        },
        "targets": {"simulate_up_s": "< 60", "simulate_rss_mib": "< 1536", "facts_hosts_per_s": ">= 500"},
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    println!();
    println!("| figure | value | target |");
    println!("|---|---|---|");
    println!("| simulate up ({hosts} hosts × {vms} VMs) | {up_s:.1} s | < 60 s |");
    println!(
        "| simulate peak RSS | {:.0} MiB | < 1536 MiB |",
        hwm_kib as f64 / 1024.0
    );
    println!(
        "| root logins | {:.0} /s ({} errors) | — |",
        hosts as f64 / login_s,
        login_err
    );
    println!(
        "| facts read through the client | {:.0} hosts/s ({} errors) | ≥ 500 hosts/s |",
        hosts as f64 / facts_s,
        facts_err
    );
    Ok(())
}
