//! `ferrocenter-bench`: runs a scenario against real processes and prints one JSON report and a
//! readable table. Figures are printed, never asserted.
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use ferrocenter_agent_client::{AgentConnector, ConnectOptions};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Semaphore;

#[derive(Parser)]
#[command(name = "ferrocenter-bench")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Start `ferrocenter simulate` and read every host's facts through the agent client.
    Fleet {
        #[arg(long, default_value_t = 10_000)]
        hosts: usize,
        #[arg(long, default_value_t = 10)]
        vms_per_host: usize,
        /// Concurrent client requests.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// 1,000 hosts, for a quick smoke run.
        #[arg(long)]
        quick: bool,
        /// The ferrocenter binary [default: next to this one].
        #[arg(long)]
        binary: Option<PathBuf>,
        #[arg(long, default_value = "127.0.100.1")]
        address_base: String,
        #[arg(long, default_value_t = 8444)]
        port: u16,
    },
}

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

fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_default();
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": cpu,
        "memory_gib": (mem_kib as f64 / 1048576.0 * 10.0).round() / 10.0,
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
    })
}

/// Runs `op` on every host index with `concurrency` in flight; returns (seconds, errors).
async fn over_fleet<F, Fut>(n: usize, concurrency: usize, op: F) -> (f64, usize)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let sem = Arc::new(Semaphore::new(concurrency));
    let op = Arc::new(op);
    let start = Instant::now();
    let mut joins = Vec::with_capacity(n);
    for i in 0..n {
        let permit = sem.clone().acquire_owned().await.unwrap();
        let op = op.clone();
        joins.push(tokio::spawn(async move {
            let ok = op(i).await;
            drop(permit);
            ok
        }));
    }
    let mut errors = 0;
    for j in joins {
        if !j.await.unwrap_or(false) {
            errors += 1;
        }
    }
    (start.elapsed().as_secs_f64(), errors)
}

#[allow(clippy::too_many_arguments)]
async fn fleet(
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
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    let tick_hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
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
    let r = &report["results"];
    println!();
    println!("| figure | value | target |");
    println!("|---|---|---|");
    println!(
        "| simulate up ({hosts} hosts × {vms} VMs) | {:.1} s | < 60 s |",
        r["simulate_up_s"].as_f64().unwrap()
    );
    println!(
        "| simulate peak RSS | {:.0} MiB | < 1536 MiB |",
        r["simulate_peak_rss_mib"].as_f64().unwrap()
    );
    println!(
        "| root logins | {:.0} /s ({} errors) | — |",
        r["root_logins_per_s"].as_f64().unwrap(),
        login_err
    );
    println!(
        "| facts read through the client | {:.0} hosts/s ({} errors) | ≥ 500 hosts/s |",
        r["facts_hosts_per_s"].as_f64().unwrap(),
        facts_err
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // One connection per simulated host stays open in the client's pool.
    ferrocenter_agent::simulate::raise_fd_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.scenario {
        Scenario::Fleet {
            hosts,
            vms_per_host,
            concurrency,
            quick,
            binary,
            address_base,
            port,
        } => {
            let binary = binary.unwrap_or_else(|| {
                std::env::current_exe()
                    .ok()
                    .and_then(|p| p.parent().map(|d| d.join("ferrocenter")))
                    .unwrap_or_else(|| PathBuf::from("ferrocenter"))
            });
            let hosts = if quick { 1000 } else { hosts };
            rt.block_on(fleet(
                hosts,
                vms_per_host,
                concurrency,
                binary,
                address_base,
                port,
            ))
        }
    }
}
