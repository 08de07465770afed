//! The appliance statistics scenario (issue 19): how big 13 months of the default items are on
//! SQLite, what the collector costs, and how fast the monitoring and health calls answer with
//! 10,000 hosts in the store. Everything runs in this process through the core and the real
//! store and probe (the calls' cost without HTTP; the bindings add their rendering).
//!
//! The history is written through the store port as the collector writes it: raw minute
//! samples for the last 7 days, and for the 389 days before them one sample per item per half
//! hour — the rows that survive pruning there are one 30-minute and one daily aggregate per
//! item, exactly what that sample makes.
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use ferrocenter_core::agent_door::{AgentClientDoor, ConnectOptions};
use ferrocenter_core::appliance::health::{Component, MAX_AGE};
use ferrocenter_core::appliance::monitoring::DataRequest;
use ferrocenter_core::auth::{Caller, Realm, Role};
use ferrocenter_core::inventory::{AdminState, ConnectionState, Datacenter, Host, HostState};
use ferrocenter_core::ports::{Clock, ManualClock, StatSample, Store};
use ferrocenter_core::{Core, CoreConfig, Ports};
use serde_json::json;
use time::OffsetDateTime;

pub struct Params {
    pub hosts: usize,
    pub days: i64,
    pub filesystems: usize,
    pub interfaces: usize,
    pub calls: usize,
    pub collector_rounds: u64,
}

const DAY: i64 = 86_400;

/// The default items of a machine with `fs` filesystems and `ifs` interfaces: (per-minute,
/// per-ten-minutes).
fn default_items(fs: usize, ifs: usize) -> (Vec<String>, Vec<String>) {
    let mut minute: Vec<String> = [
        "cpu.util",
        "mem.usage",
        "mem.total",
        "mem.util",
        "swap.usage",
        "swap.util",
        "load.1min",
        "load.5min",
        "load.15min",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    for i in 0..ifs {
        for k in [
            "rx.activity",
            "tx.activity",
            "rx.packetRate",
            "tx.packetRate",
            "rx.error",
            "tx.error",
            "rx.drop",
            "tx.drop",
        ] {
            minute.push(format!("net.{k}.eth{i}"));
        }
    }
    let mut slow = vec!["storage.used.database".to_string()];
    for f in 0..fs {
        for k in ["used", "totalsize", "util"] {
            slow.push(format!("storage.{k}.filesystem.fs{f}"));
        }
    }
    (minute, slow)
}

fn percentiles(mut v: Vec<Duration>) -> serde_json::Value {
    v.sort();
    let at = |q: f64| {
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v[i].as_secs_f64() * 1000.0
    };
    json!({"p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0), "calls": v.len()})
}

async fn insert_hosts(store: &Arc<dyn Store>, n: usize) -> anyhow::Result<()> {
    let t = OffsetDateTime::UNIX_EPOCH;
    store
        .insert_datacenter(&Datacenter {
            id: "dc".into(),
            moid: "datacenter-1".into(),
            name: "DC".into(),
            description: String::new(),
            state: AdminState::Enabled,
            is_default: true,
            created_at: t,
            last_op_at: t,
        })
        .await?;
    for i in 0..n {
        let address = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
        store
            .insert_host(&Host {
                id: format!("h{i}"),
                moid: format!("host-{}", i + 10),
                datacenter_id: "dc".into(),
                cluster_id: None,
                name: address.clone(),
                description: String::new(),
                address,
                port: 8443,
                thumbprint: "AB:CD".into(),
                agent_user: "ferrocenter".into(),
                agent_secret: "sealed".into(),
                connection_state: ConnectionState::Connected,
                state: HostState::Enabled,
                previous_state: None,
                power_state: "poweredOn".into(),
                facts: None,
                runtime: None,
                management_ip: None,
                ssh_port: None,
                ssh_host_key: None,
                ssh_user: None,
                tags: Vec::new(),
                system_tags: Vec::new(),
                event_cursor: 0,
                created_at: t,
                last_op_at: t,
            })
            .await?;
    }
    Ok(())
}

/// 13 months of history ending at `end` (seconds).
async fn history(store: &Arc<dyn Store>, p: &Params, end: i64) -> anyhow::Result<u64> {
    let (minute, slow) = default_items(p.filesystems, p.interfaces);
    let raw_from = end - 7 * DAY;
    let mut written = 0u64;
    let value = |t: i64, k: usize| ((t / 60 + k as i64) % 97) as f64 + 0.25;
    // Before the raw window: one sample per item per half hour.
    let mut t = end - p.days * DAY;
    while t < raw_from {
        let batch: Vec<StatSample> = minute
            .iter()
            .chain(&slow)
            .enumerate()
            .map(|(k, item)| StatSample {
                item: item.clone(),
                at: t,
                value: value(t, k),
            })
            .collect();
        written += batch.len() as u64;
        store.record_stats(&batch).await?;
        t += 1800;
    }
    // The raw window: every minute, the slow items every ten.
    while t < end {
        let mut batch: Vec<StatSample> = minute
            .iter()
            .enumerate()
            .map(|(k, item)| StatSample {
                item: item.clone(),
                at: t,
                value: value(t, k),
            })
            .collect();
        if (t / 60) % 10 == 0 {
            batch.extend(slow.iter().enumerate().map(|(k, item)| StatSample {
                item: item.clone(),
                at: t,
                value: value(t, k),
            }));
        }
        written += batch.len() as u64;
        store.record_stats(&batch).await?;
        t += 60;
    }
    Ok(written)
}

fn process_cpu() -> Duration {
    // SAFETY: rusage is plain integers and timevals, for which all zeroes is a valid value.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes the struct it is given; RUSAGE_SELF is always valid.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(u.ru_utime) + tv(u.ru_stime)
}

pub async fn run(p: Params) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("stats.db");
    let store = ferrocenter_store::open(&format!("sqlite://{}", db.display()))
        .await
        .context("opening the store")?;
    let started = Instant::now();
    insert_hosts(&store, p.hosts).await?;
    let hosts_s = started.elapsed().as_secs_f64();
    let hosts_size = store.database_size().await?.bytes;

    let end = (OffsetDateTime::now_utc().unix_timestamp() / 60) * 60;
    let started = Instant::now();
    let samples = history(&store, &p, end).await?;
    let history_s = started.elapsed().as_secs_f64();
    store.checkpoint().await?;
    let size = store.database_size().await?.bytes;
    let stats_mb = (size.saturating_sub(hosts_size)) as f64 / 1e6;

    let clock = Arc::new(ManualClock::new(OffsetDateTime::from_unix_timestamp(end)?));
    let core = Core::assemble(
        Ports {
            store: store.clone(),
            clock: clock.clone(),
            agents: Arc::new(AgentClientDoor::new(ConnectOptions::default())),
            machine: ferrocenter_system::machine(&Default::default()).0,
            installer: None,
            backup_target: None,
            log_forwarder: None,
            federation: None,
            support_sources: None,
            update_sources: None,
        },
        CoreConfig::default(),
    );
    let caller = Caller {
        principal_id: "bench".into(),
        user: "bench@vsphere.local".into(),
        realm: Realm::sso("vsphere.local"),
        role: Role::Operator,
    };

    // The collector: rounds a minute apart on the clock, as fast as they run; its cost is the
    // process's CPU time per round over the 60 s between rounds.
    let cpu0 = process_cpu();
    let wall0 = Instant::now();
    for round in 0..p.collector_rounds {
        core.collect_statistics(round % 10 == 0).await?;
        clock.advance(Duration::from_secs(60));
    }
    let per_round = (process_cpu() - cpu0) / p.collector_rounds as u32;
    let wall_round = wall0.elapsed() / p.collector_rounds as u32;
    let cpu0 = process_cpu();
    core.prune_statistics().await?;
    let prune = process_cpu() - cpu0;
    let collector_percent = (per_round.as_secs_f64() + prune.as_secs_f64() / 60.0) / 60.0 * 100.0;

    let now = clock.now();
    let req = |names: &[&str], interval: &str, from: OffsetDateTime| DataRequest {
        names: names.iter().map(ToString::to_string).collect(),
        interval: interval.into(),
        function: "AVG".into(),
        start_time: from,
        end_time: now,
    };
    let day_ago = now - Duration::from_secs(DAY as u64);
    let year_ago = now - Duration::from_secs((p.days * DAY) as u64);
    let q5 = req(&["cpu.util"], "MINUTES5", day_ago);
    let qday = req(&["cpu.util"], "DAY1", year_ago);
    let q30 = req(
        &["mem.util"],
        "MINUTES30",
        now - Duration::from_secs(7 * DAY as u64),
    );
    let q6 = req(&["mem.util"], "HOURS6", year_ago);
    assert_eq!(
        core.monitoring_query(&caller, &qday).await?[0].data.len() as i64,
        p.days + 1
    );

    let mut times: Vec<(&str, Vec<Duration>)> = Vec::new();
    macro_rules! measure {
        ($name:expr, $call:expr) => {{
            let mut v = Vec::with_capacity(p.calls);
            for _ in 0..p.calls {
                let t = Instant::now();
                $call;
                v.push(t.elapsed());
            }
            times.push(($name, v));
        }};
    }
    measure!("monitoring.list", core.monitoring_list(&caller).await?);
    measure!(
        "monitoring.get",
        core.monitoring_get(&caller, "net.rx.activity.eth0").await?
    );
    measure!(
        "query MINUTES5 over a day",
        core.monitoring_query(&caller, &q5).await?
    );
    measure!(
        "query MINUTES30 over 7 days",
        core.monitoring_query(&caller, &q30).await?
    );
    measure!(
        "query HOURS6 over 396 days",
        core.monitoring_query(&caller, &q6).await?
    );
    measure!(
        "query DAY1 over 396 days",
        core.monitoring_query(&caller, &qday).await?
    );
    measure!(
        "health.system.get",
        core.health_level(&caller, Component::System).await?
    );
    // A fresh evaluation each call: what the first call of each 10 s window pays.
    measure!("health.system.get (evaluating)", {
        clock.advance(MAX_AGE);
        core.health_level(&caller, Component::System).await?
    });

    let mut calls = serde_json::Map::new();
    println!("statistics: {} hosts, {} days, {} samples written in {history_s:.0} s (hosts {hosts_s:.0} s)", p.hosts, p.days, samples);
    println!(
        "  database: {:.1} MB in all, {stats_mb:.1} MB of statistics (SQLite)",
        size as f64 / 1e6
    );
    println!(
        "  collector: {:.2} ms CPU per round ({:.2} ms wall), prune {:.1} ms: {collector_percent:.4} % of a core",
        per_round.as_secs_f64() * 1e3,
        wall_round.as_secs_f64() * 1e3,
        prune.as_secs_f64() * 1e3
    );
    for (name, v) in times {
        let pc = percentiles(v);
        println!(
            "  {name:<34} p50 {:.3} ms  p99 {:.3} ms",
            pc["p50_ms"].as_f64().unwrap_or(0.0),
            pc["p99_ms"].as_f64().unwrap_or(0.0)
        );
        calls.insert(name.into(), pc);
    }
    println!(
        "{}",
        json!({
            "scenario": "statistics",
            "hosts": p.hosts,
            "days": p.days,
            "samples": samples,
            "database_mb": size as f64 / 1e6,
            "statistics_mb": stats_mb,
            "collector_cpu_ms_per_round": per_round.as_secs_f64() * 1e3,
            "collector_percent_of_core": collector_percent,
            "calls": calls,
        })
    );
    Ok(())
}
