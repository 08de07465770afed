//! The upgrade (move) scenario (issue 25): a real `ferrocenter serve` — the source — manages
//! `hosts` simulated hosts (`ferrocenter simulate`, `vms_per_host` VMs each) added through
//! VI/JSON as the server scenario adds them, with `history_events` extra events written into
//! its store while it is stopped (beside the events and tasks of its own adds). A second,
//! fresh `ferrocenter serve --await-setup` — the target — is given the upgrade spec on its
//! appliance listener as `root` (`history: ALL, defer_import: true`) and followed through
//! `deployment.get`.
//!
//! Measured from `upgrade.start`: when the target's main listener logs the source's
//! administrator in (serving), when it is CONFIGURED, when it lists every host connected, when
//! the source lists none connected (its heartbeat sees each claim taken, so this depends on the
//! source's heartbeat interval), and the deferred history import's rate. Per-step durations
//! come from the deployment record. The hosts must be real agents: the claims move through them.
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::server::api::{http_client, root_call, Api, ADMIN};
use crate::server::reads::connected;
use crate::server::{add_fleet, start_fleets, ServeCmd};
use crate::sys::{ferrocenter_binary, machine, tick_hz, until, Proc, StealMeter};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Params {
    pub hosts: usize,
    pub vms_per_host: usize,
    pub hosts_per_cluster: usize,
    /// Concurrent clients adding the source's hosts (setup, not measured).
    pub add_concurrency: usize,
    /// Events written into the source's store beside its own.
    pub history_events: usize,
    /// Both servers' heartbeat interval.
    pub heartbeat_secs: u64,
    #[serde(skip)]
    pub binary: Option<PathBuf>,
}

/// The source's SSO administrator's password, which is its root's too.
const ADMIN_PW: &str = "Bench-Admin-1";
/// The target's root password while it awaits its setup.
const ROOT_SETUP_PW: &str = "Bench-Root-Setup-1";
/// Hosts per `simulate` process: each of its hosts holds a connection from the source and one
/// from the target, under this machine's cap of 20,000 descriptors per process.
const HOSTS_PER_FLEET: usize = 5_000;
const STEPS: [&str; 6] = [
    "validate", "export", "import", "history", "services", "hosts",
];

fn s(v: impl ToString) -> String {
    v.to_string()
}

/// The certificate thumbprint a server printed at its start.
fn printed_thumbprint(p: &Proc) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(&p.stdout)?;
    text.lines()
        .find_map(|l| l.split("SHA-256 thumbprint:").nth(1))
        .map(|t| t.trim().to_string())
        .context("no thumbprint in the server's start banner")
}

fn spec(port: u16, thumbprint: &str) -> Value {
    json!({"spec": {
        "source_appliance": {
            "hostname": "127.0.0.1",
            "https_port": port,
            "ssl_thumbprint": thumbprint,
            "sso_admin_username": ADMIN,
            "sso_admin_password": ADMIN_PW,
            "root_password": ADMIN_PW,
        },
        "source_location": {"hostname": "unused", "username": "unused", "password": "unused"},
        "history": {"data_set": "ALL", "defer_import": true},
        "vcsa_embedded": {"ceip_enabled": false},
        "auto_answer": true,
    }})
}

fn parse_time(v: &Value) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(v.as_str()?, &Rfc3339).ok()
}

/// Seconds from `start_time` to `end_time` of a task-shaped value.
fn duration_s(v: &Value) -> Option<f64> {
    Some((parse_time(&v["end_time"])? - parse_time(&v["start_time"])?).as_seconds_f64())
}

/// One look at the deferred history import: seconds since `upgrade.start`, its status, rows
/// done and the table being imported.
#[derive(Debug, Clone, serde::Serialize)]
struct ImportSample {
    at_s: f64,
    status: String,
    completed: u64,
    total: u64,
    table: String,
}

/// Follows the target's history import until it ends (or `limit`).
async fn follow_history(
    http: reqwest::Client,
    url: String,
    t0: Instant,
    limit: Duration,
) -> (Vec<ImportSample>, Value) {
    let mut samples = Vec::new();
    let mut last = Value::Null;
    let give_up = Instant::now() + limit;
    while Instant::now() < give_up {
        if let Ok((200, v)) = root_call(&http, reqwest::Method::GET, &url, ADMIN_PW, None).await {
            let status = v["status"].as_str().unwrap_or("").to_string();
            let p = &v["progress"];
            samples.push(ImportSample {
                at_s: t0.elapsed().as_secs_f64(),
                status: status.clone(),
                completed: p["completed"].as_u64().unwrap_or(0),
                total: p["total"].as_u64().unwrap_or(0),
                table: p["message"]["args"][0].as_str().unwrap_or("").to_string(),
            });
            last = v;
            if status == "SUCCEEDED" || status == "FAILED" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (samples, last)
}

/// Rows per second while `table` was the one being imported: from its first look to its
/// last (the rows before and after belong to other tables).
fn table_rate(samples: &[ImportSample], table: &str) -> Value {
    let mut it = samples
        .iter()
        .filter(|x| x.table == table && x.status == "RUNNING");
    let (Some(a), Some(b)) = (it.next(), it.next_back()) else {
        return Value::Null;
    };
    let (rows, secs) = (b.completed.saturating_sub(a.completed), b.at_s - a.at_s);
    json!({"rows": rows, "seconds": secs, "rows_per_s": rows as f64 / secs.max(1e-9)})
}

pub async fn run(p: Params) -> anyhow::Result<()> {
    let bin = ferrocenter_binary(p.binary.clone());
    let dir =
        std::env::temp_dir().join(format!("ferrocenter-bench-upgrade-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let t_all = Instant::now();
    let http = http_client()?;
    let mut meter = StealMeter::start();
    let mut steal = serde_json::Map::new();

    let (fleet_procs, fleet) =
        start_fleets(&bin, &dir, p.hosts, p.vms_per_host, HOSTS_PER_FLEET).await?;

    let source_data = dir.join("source");
    let source = ServeCmd::new(
        &dir,
        &source_data,
        p.heartbeat_secs,
        &["--admin-password", ADMIN_PW],
    );
    eprintln!("== starting the source");
    let src = source.start(&bin, "source-1", "is serving").await?;
    let api = Api::login(http.clone(), &source.api, ADMIN_PW).await?;
    let added = add_fleet(&api, &fleet, p.hosts_per_cluster, p.add_concurrency).await?;
    src.stop()?;

    eprintln!(
        "== writing {} events into the source's store (stopped)",
        p.history_events
    );
    let history_s = {
        let started = Instant::now();
        let store = ferrocenter_store::open(&ferrocenter_store::default_sqlite_url(&source_data))
            .await
            .context("opening the stopped source's store")?;
        crate::history_import::history(store.as_ref(), "source", p.history_events, 0).await?;
        store.checkpoint().await?;
        started.elapsed().as_secs_f64()
    };
    eprintln!("   written in {history_s:.1} s");
    // The banner ends with the thumbprint.
    let src = source.start(&bin, "source-2", "SHA-256 thumbprint").await?;
    let thumbprint = printed_thumbprint(&src)?;
    let source_port: u16 = source
        .api
        .rsplit(':')
        .next()
        .and_then(|x| x.parse().ok())
        .context("source port")?;
    let api = Api::login(http.clone(), &source.api, ADMIN_PW).await?;
    let (source_api, hosts) = (&api, p.hosts);
    let all_source = until(
        Instant::now(),
        Duration::from_secs(p.heartbeat_secs + 600),
        Duration::from_secs(1),
        move || async move { connected(source_api).await == Some(hosts) },
    )
    .await;
    anyhow::ensure!(
        all_source.is_some(),
        "the source does not list all {} hosts connected",
        p.hosts
    );
    let source_events = api
        .vapi_get("/appliance/recovery/backup/parts/seat")
        .await
        .ok();
    steal.insert("setup".into(), json!(meter.lap()));

    let target_data = dir.join("target");
    let target = ServeCmd::new(
        &dir,
        &target_data,
        p.heartbeat_secs,
        &["--await-setup", "--root-password", ROOT_SETUP_PW],
    );
    eprintln!("== starting the target (awaiting its setup)");
    let tgt = target.start(&bin, "target", "thumbprint").await?;
    // Once the thumbprint is printed the appliance listener may still be binding.
    let (h, url) = (
        &http,
        &format!("{}/api/vcenter/deployment", target.appliance),
    );
    until(
        Instant::now(),
        Duration::from_secs(60),
        Duration::from_millis(50),
        move || async move {
            root_call(h, reqwest::Method::GET, url, ROOT_SETUP_PW, None)
                .await
                .is_ok_and(|(st, v)| st == 200 && v["state"] == "INITIALIZED")
        },
    )
    .await
    .context("the target's appliance listener does not answer INITIALIZED")?;

    eprintln!("== upgrade.start");
    let cpu0 = tgt.cpu_ticks();
    let t0 = Instant::now();
    let (status, v) = root_call(
        &http,
        reqwest::Method::POST,
        &format!(
            "{}/rest/vcenter/deployment/upgrade?action=start",
            target.appliance
        ),
        ROOT_SETUP_PW,
        Some(&spec(source_port, &thumbprint)),
    )
    .await?;
    if status != 200 {
        bail!("upgrade.start answered {status}: {v}");
    }
    // Serving: the main listener logs the source's administrator in.
    let serving = {
        let (http, url) = (http.clone(), format!("{}/api/session", target.api));
        tokio::spawn(async move {
            let (http, url) = (&http, &url);
            until(
                t0,
                Duration::from_secs(1800),
                Duration::from_millis(50),
                move || async move {
                    http.post(url)
                        .basic_auth(ADMIN, Some(ADMIN_PW))
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success())
                },
            )
            .await
        })
    };
    // Root's password is the source's once the import ran.
    let mut pw = ROOT_SETUP_PW;
    let mut peak_rss_kib = 0;
    let mut steps_seen = serde_json::Map::new();
    let deployment_url = format!("{}/api/vcenter/deployment", target.appliance);
    let (done, configured_s) = loop {
        peak_rss_kib = peak_rss_kib.max(tgt.peak_rss_kib());
        match root_call(&http, reqwest::Method::GET, &deployment_url, pw, None).await {
            Ok((401, _)) if pw == ROOT_SETUP_PW => {
                pw = ADMIN_PW;
                continue;
            }
            Ok((200, v)) => {
                for step in STEPS {
                    let st = v["subtasks"][step]["status"].as_str().unwrap_or("");
                    if st != "PENDING" && !steps_seen.contains_key(step) {
                        let at = t0.elapsed().as_secs_f64();
                        eprintln!("   {at:7.1} s: {step} {st}");
                        steps_seen.insert(step.into(), json!(at));
                    }
                }
                let state = v["state"].as_str().unwrap_or("").to_string();
                if state == "CONFIGURED" || state == "FAILED" {
                    break (v, t0.elapsed().as_secs_f64());
                }
            }
            Ok((st, v)) => eprintln!("   deployment.get: {st} {v}"),
            Err(e) => eprintln!("   deployment.get: {e:#}"),
        }
        anyhow::ensure!(
            t0.elapsed() < Duration::from_secs(3600),
            "the upgrade did not end within an hour"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if done["state"] != "CONFIGURED" {
        bail!("the upgrade ended {}: {done:#}", done["state"]);
    }
    eprintln!("   CONFIGURED after {configured_s:.1} s");
    let history = tokio::spawn(follow_history(
        http.clone(),
        format!("{}/api/vcenter/deployment/history", target.appliance),
        t0,
        Duration::from_secs(3600),
    ));
    let serving_s = serving.await?;
    eprintln!("   serving after {serving_s:?} s");

    let target_api = Api::login(http.clone(), &target.api, ADMIN_PW).await?;
    let target_api = &target_api;
    let all_connected_s = until(
        t0,
        Duration::from_secs(600),
        Duration::from_millis(200),
        move || async move { connected(target_api).await == Some(hosts) },
    )
    .await;
    eprintln!("   every host connected on the target after {all_connected_s:?} s");
    let source_released_s = until(
        t0,
        Duration::from_secs(2 * p.heartbeat_secs + 300),
        Duration::from_millis(500),
        move || async move { connected(source_api).await == Some(0) },
    )
    .await;
    eprintln!("   the source manages no host after {source_released_s:?} s");
    let (samples, import) = history.await?;
    let cpu_s = (tgt.cpu_ticks() - cpu0) as f64 / tick_hz();
    peak_rss_kib = peak_rss_kib.max(tgt.peak_rss_kib());
    steal.insert("upgrade".into(), json!(meter.lap()));

    let hosts_result = &done["subtasks"]["hosts"]["result"];
    let count = |k: &str| hosts_result[k].as_array().map_or(0, Vec::len);
    let steps: serde_json::Map<String, Value> = STEPS
        .iter()
        .map(|k| (s(k), json!(duration_s(&done["subtasks"][*k]))))
        .collect();
    let import_total = import["progress"]["total"].as_u64().unwrap_or(0);
    let import_s = duration_s(&import);
    let events_rate = table_rate(&samples, "events");

    tgt.stop()?;
    src.stop()?;
    drop(fleet_procs);
    let _ = std::fs::remove_dir_all(&dir);

    let full = json!({
        "scenario": "upgrade",
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "machine": machine(),
        "version": env!("CARGO_PKG_VERSION"),
        "engine": "sqlite",
        "parameters": p,
        "total_s": t_all.elapsed().as_secs_f64(),
        "results": {
            "setup": {"hosts": p.hosts, "vms": p.hosts * p.vms_per_host,
                "adds": serde_json::to_value(&added)?,
                "extra_events_written_s": history_s,
                "source_seat_part": source_events},
            "upgrade": {
                "serving_after_s": serving_s,
                "configured_after_s": configured_s,
                "every_host_connected_on_target_after_s": all_connected_s,
                "source_manages_none_after_s": source_released_s,
                "steps_s": Value::Object(steps),
                "steps_first_seen_running_after_s": Value::Object(steps_seen),
                "hosts_moved": count("info"),
                "hosts_not_moved": count("warnings"),
                "target_cpu_s": cpu_s,
                "target_peak_rss_mib": peak_rss_kib as f64 / 1024.0,
            },
            "deferred_history_import": {
                "status": import["status"],
                "rows": import_total,
                "seconds": import_s,
                "rows_per_s": import_s.map(|x| import_total as f64 / x.max(1e-9)),
                "events": events_rate,
                "ended_after_upgrade_start_s": samples.last().map(|x| x.at_s),
            },
        },
        "machine_cpu_steal_percent": Value::Object(steal),
    });
    println!("{}", serde_json::to_string_pretty(&full)?);
    println!();
    print_table(&full);
    Ok(())
}

fn print_table(full: &Value) {
    let r = &full["results"];
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let (u, h) = (&r["upgrade"], &r["deferred_history_import"]);
    println!(
        "| upgrade (move), {} hosts, {} VMs (SQLite) | measured | target |",
        r["setup"]["hosts"], r["setup"]["vms"]
    );
    println!("|---|---|---|");
    println!(
        "| upgrade.start → the target's main listener logs the administrator in | {:.1} s | < 60 s |",
        f(&u["serving_after_s"])
    );
    println!(
        "| upgrade.start → CONFIGURED (every claim moved) | {:.1} s | — |",
        f(&u["configured_after_s"])
    );
    println!(
        "| upgrade.start → every host CONNECTED on the target | {:.1} s | < 120 s |",
        f(&u["every_host_connected_on_target_after_s"])
    );
    println!(
        "| upgrade.start → the source lists no host connected (heartbeat every {} s) | {:.1} s | — |",
        full["parameters"]["heartbeat_secs"],
        f(&u["source_manages_none_after_s"])
    );
    let steps: Vec<String> = STEPS
        .iter()
        .map(|k| format!("{k} {:.1}", f(&u["steps_s"][*k])))
        .collect();
    println!("| steps (s) | {} | — |", steps.join(", "));
    println!(
        "| hosts moved / not moved | {} / {} | — |",
        u["hosts_moved"], u["hosts_not_moved"]
    );
    println!(
        "| target peak RSS, CPU during the move and import | {:.0} MiB, {:.1} s | — |",
        f(&u["target_peak_rss_mib"]),
        f(&u["target_cpu_s"])
    );
    println!(
        "| deferred history import ({} rows) | {:.1} s, {:.0} rows/s; events {:.0}/s | — |",
        h["rows"],
        f(&h["seconds"]),
        f(&h["rows_per_s"]),
        f(&h["events"]["rows_per_s"])
    );
    println!();
    println!("Machine CPU steal: {}", full["machine_cpu_steal_percent"]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_s: f64, completed: u64, table: &str) -> ImportSample {
        ImportSample {
            at_s,
            status: "RUNNING".into(),
            completed,
            total: 1000,
            table: table.into(),
        }
    }

    #[test]
    fn a_tables_rate_runs_from_its_first_look_to_its_last() {
        let s = vec![
            sample(0.0, 0, "tasks"),
            sample(1.0, 100, "events"),
            sample(2.0, 500, "events"),
            sample(3.0, 900, "statistics"),
        ];
        let r = table_rate(&s, "events");
        assert_eq!(r["rows"], 400);
        assert_eq!(r["seconds"], 1.0);
        assert!(
            table_rate(&s, "tasks").is_null(),
            "one look measures no rate"
        );
        assert!(table_rate(&s, "nothing").is_null());
    }

    #[test]
    fn step_durations_come_from_the_records_times() {
        let v = json!({"start_time": "2026-12-07T10:00:00.000Z", "end_time": "2026-12-07T10:00:02.500Z"});
        assert_eq!(duration_s(&v), Some(2.5));
        assert_eq!(duration_s(&json!({})), None);
    }
}
