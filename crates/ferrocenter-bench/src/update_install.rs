//! The self-update scenario (issue 26): a real `ferrocenter serve` manages `hosts` simulated
//! hosts (`ferrocenter simulate`, `vms_per_host` VMs each, added through VI/JSON as the server
//! scenario adds them) and installs an update of itself from a signed local repository.
//!
//! The server runs a copy of the ferrocenter binary in a directory of the run (the install
//! renames the new binary over it); the "new" build is that binary with bytes appended, put in
//! a repository by the binary's own `update-repo keygen` and `update-repo build`. The update is
//! checked (`source_type=LOCAL`) and staged, then installed with the guide's line (root on the
//! appliance listener, `vmdir.password`). From the install call: when `update.get` first says
//! INSTALL_IN_PROGRESS, when each listener stops and starts answering `update.get` again, when
//! it says UP_TO_DATE, and when a heartbeat round of the new process has reached every host.
//! Meanwhile the process is watched through /proc (its binary renamed away, the new binary's
//! start check as its child) to tell where the downtime goes.
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::server::api::{http_client, root_call, Api, ADMIN};
use crate::server::reads::connected;
use crate::server::{
    add_fleet, heartbeat_round, start_fleets, ServeCmd, ADMIN_PW, HOSTS_PER_FLEET,
};
use crate::sys::{ferrocenter_binary, machine, tick_hz, until, StealMeter};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Params {
    pub hosts: usize,
    pub vms_per_host: usize,
    pub hosts_per_cluster: usize,
    /// Concurrent clients adding the hosts (setup, not measured).
    pub add_concurrency: usize,
    pub heartbeat_secs: u64,
    /// Keep the run's directory (the server's logs and data) instead of removing it.
    pub keep: bool,
    #[serde(skip)]
    pub binary: Option<PathBuf>,
}

/// How often each listener is asked for `update.get` during the install.
const POLL_EVERY: Duration = Duration::from_millis(100);
/// A poll unanswered for this long counts as not answered.
const POLL_TIMEOUT: Duration = Duration::from_secs(2);

/// The update's version: the next minor version after the running build's.
fn next_version(v: &str) -> anyhow::Result<String> {
    let mut parts = v.split('.');
    let (Some(major), Some(minor)) = (parts.next(), parts.next()) else {
        bail!("the build's version {v} is not major.minor.patch");
    };
    let minor: u64 = minor.parse().context("the build's minor version")?;
    Ok(format!("{major}.{}.0", minor + 1))
}

/// `bin <args>` run to its end; its standard output.
fn tool(bin: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = std::process::Command::new(bin).args(args).output()?;
    if !out.status.success() {
        bail!(
            "ferrocenter {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The binary the server runs (a copy the install may replace), the signing key's public half
/// and the repository holding `version`: the same program with bytes of its own appended.
fn make_repository(
    bin: &Path,
    dir: &Path,
    version: &str,
) -> anyhow::Result<(PathBuf, String, PathBuf)> {
    let own = dir.join("bin").join("ferrocenter");
    std::fs::create_dir_all(dir.join("bin"))?;
    std::fs::copy(bin, &own).with_context(|| format!("copying {}", bin.display()))?;
    let new_binary = dir.join(format!("ferrocenter-{version}"));
    let mut bytes = std::fs::read(bin)?;
    bytes.extend_from_slice(format!("\nferrocenter-bench update build {version}\n").as_bytes());
    std::fs::write(&new_binary, bytes)?;
    let key = dir.join("release.key");
    let out = tool(
        &own,
        &["update-repo", "keygen", "--out", &key.display().to_string()],
    )?;
    let public = out
        .lines()
        .find_map(|l| l.strip_prefix("public key: "))
        .context("update-repo keygen printed no public key")?
        .to_string();
    let repo = dir.join("repo");
    tool(
        &own,
        &[
            "update-repo",
            "build",
            "--binary",
            &new_binary.display().to_string(),
            "--version",
            version,
            "--key",
            &key.display().to_string(),
            "--out",
            &repo.display().to_string(),
        ],
    )?;
    Ok((own, public, repo))
}

/// `update.get` on one listener through a vAPI session of `user` (a session costs one password
/// check; after the restart the old one is unknown and a new one is made).
struct Probe {
    http: reqwest::Client,
    base: String,
    user: &'static str,
    session: Option<String>,
}

impl Probe {
    async fn login(&mut self) -> Option<String> {
        let r = self
            .http
            .post(format!("{}/api/session", self.base))
            .basic_auth(self.user, Some(ADMIN_PW))
            .timeout(POLL_TIMEOUT)
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        r.json().await.ok()
    }

    /// The answer when it is a 200.
    async fn update_get(&mut self) -> Option<Value> {
        for _ in 0..2 {
            let session = match &self.session {
                Some(s) => s.clone(),
                None => {
                    let s = self.login().await?;
                    self.session = Some(s.clone());
                    s
                }
            };
            let r = self
                .http
                .get(format!("{}/api/appliance/update", self.base))
                .header("vmware-api-session-id", session)
                .timeout(POLL_TIMEOUT)
                .send()
                .await
                .ok()?;
            match r.status().as_u16() {
                200 => return r.json().await.ok(),
                401 => self.session = None,
                _ => return None,
            }
        }
        None
    }
}

/// What one listener's polls saw, in seconds since the install call.
#[derive(Debug, Default, serde::Serialize)]
struct Availability {
    install_in_progress_s: Option<f64>,
    /// Each stretch of polls without an answer: (first unanswered, first answered after it).
    unanswered: Vec<(f64, Option<f64>)>,
    up_to_date_s: Option<f64>,
    polls: usize,
    #[serde(skip)]
    last: Value,
}

impl Availability {
    /// From the first unanswered poll to the answer that ended the last stretch.
    fn window_s(&self) -> Option<f64> {
        Some(self.unanswered.last()?.1? - self.unanswered.first()?.0)
    }

    fn unanswered_s(&self) -> f64 {
        self.unanswered
            .iter()
            .filter_map(|(a, b)| Some(b.as_ref()? - a))
            .sum()
    }
}

/// Polls `update.get` every `POLL_EVERY` until it says UP_TO_DATE after an outage, or fails.
async fn follow(mut probe: Probe, t0: Instant, limit: Duration) -> Availability {
    let mut a = Availability::default();
    while t0.elapsed() < limit {
        let at = t0.elapsed().as_secs_f64();
        a.polls += 1;
        match probe.update_get().await {
            Some(v) => {
                if let Some(last) = a.unanswered.last_mut() {
                    last.1.get_or_insert(at);
                }
                let state = v["state"].as_str().unwrap_or("").to_string();
                if state == "INSTALL_IN_PROGRESS" {
                    a.install_in_progress_s.get_or_insert(at);
                }
                a.last = v;
                if !a.unanswered.is_empty() && (state == "UP_TO_DATE" || state == "INSTALL_FAILED")
                {
                    if state == "UP_TO_DATE" {
                        a.up_to_date_s = Some(at);
                    }
                    break;
                }
            }
            None => {
                if a.unanswered.last().is_none_or(|x| x.1.is_some()) {
                    a.unanswered.push((at, None));
                }
            }
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    a
}

/// What /proc shows of the server process during the install, in seconds since the call: its
/// binary renamed away (the swap), the start check (a child process) and the execution of the
/// new binary (the path no longer deleted).
#[derive(Debug, Default, serde::Serialize)]
struct Timeline {
    binary_replaced_s: Option<f64>,
    start_check_from_s: Option<f64>,
    start_check_to_s: Option<f64>,
    executed_s: Option<f64>,
}

fn first_child(pid: u32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .find_map(|c| c.parse().ok())
}

/// Whether `pid` runs (a zombie waiting to be reaped has ended).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| Some(s.rsplit_once(')')?.1.split_whitespace().next()? != "Z"))
        .unwrap_or(false)
}

/// Watches `pid` every 20 ms until `stop`.
async fn watch(pid: u32, t0: Instant, stop: Arc<AtomicBool>) -> Timeline {
    let mut t = Timeline::default();
    let mut check: Option<u32> = None;
    while !stop.load(Ordering::Relaxed) {
        let at = t0.elapsed().as_secs_f64();
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if exe.ends_with(" (deleted)") {
            t.binary_replaced_s.get_or_insert(at);
        } else if t.binary_replaced_s.is_some() && t.executed_s.is_none() && !exe.is_empty() {
            t.executed_s = Some(at);
        }
        match check {
            None if t.binary_replaced_s.is_some() && t.executed_s.is_none() => {
                check = first_child(pid);
                if check.is_some() {
                    t.start_check_from_s = Some(at);
                }
            }
            Some(c) if t.start_check_to_s.is_none() && !running(c) => {
                t.start_check_to_s = Some(at);
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t
}

/// The whole lines the server wrote to `file` from `offset` on; the new offset.
fn read_from(file: &Path, offset: u64) -> (String, u64) {
    let mut bytes = Vec::new();
    let read = std::fs::File::open(file).and_then(|mut f| {
        f.seek(SeekFrom::Start(offset))?;
        f.read_to_end(&mut bytes)
    });
    if read.is_err() {
        return (String::new(), offset);
    }
    // A line being written is read again next time, whole.
    let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    (
        String::from_utf8_lossy(&bytes[..whole]).into_owned(),
        offset + whole as u64,
    )
}

/// Follows the server's stderr from `offset` until a heartbeat round of the process started
/// after the install (the lines after its "installed; starting it") answered all `hosts`:
/// the seconds since `t0` it was seen and that round, and the rounds of the new process.
async fn hosts_back(
    stderr: &Path,
    mut offset: u64,
    hosts: usize,
    t0: Instant,
    limit: Duration,
) -> (Option<(f64, (usize, usize, f64))>, Vec<(usize, usize, f64)>) {
    let mut new_process = false;
    let mut rounds = Vec::new();
    while t0.elapsed() < limit {
        let (text, next) = read_from(stderr, offset);
        offset = next;
        for l in text.lines() {
            if l.contains("installed; starting it") {
                new_process = true;
                rounds.clear();
            } else if let Some(r) = heartbeat_round(l) {
                rounds.push(r);
                if new_process && r.0 >= hosts && r.0 == r.1 {
                    return (Some((t0.elapsed().as_secs_f64(), r)), rounds);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (None, rounds)
}

pub async fn run(p: Params) -> anyhow::Result<()> {
    let bin = ferrocenter_binary(p.binary.clone());
    let dir = std::env::temp_dir().join(format!(
        "ferrocenter-bench-update-install-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)?;
    let t_all = Instant::now();
    let http = http_client()?;
    let mut meter = StealMeter::start();
    let mut steal = serde_json::Map::new();

    let version = next_version(env!("CARGO_PKG_VERSION"))?;
    eprintln!("== making the update repository ({version})");
    let (own, public_key, repo) = make_repository(&bin, &dir, &version)?;
    let binary_mib = std::fs::metadata(&own)?.len() as f64 / 1048576.0;

    let (fleet_procs, fleet) =
        start_fleets(&bin, &dir, p.hosts, p.vms_per_host, HOSTS_PER_FLEET).await?;

    let repo_arg = repo.display().to_string();
    let server = ServeCmd::new(
        &dir,
        &dir.join("data"),
        p.heartbeat_secs,
        &[
            "--admin-password",
            ADMIN_PW,
            "--update-trusted-keys",
            &public_key,
            "--update-local-source",
            &repo_arg,
        ],
    );
    eprintln!("== starting the server");
    let srv = server.start(&own, "server", "is serving").await?;
    let api = Api::login(http.clone(), &server.api, ADMIN_PW).await?;
    let added = add_fleet(&api, &fleet, p.hosts_per_cluster, p.add_concurrency).await?;
    let (api_ref, hosts) = (&api, p.hosts);
    until(
        Instant::now(),
        Duration::from_secs(600),
        Duration::from_secs(1),
        move || async move { connected(api_ref).await == Some(hosts) },
    )
    .await
    .context("the server does not list every host connected")?;
    steal.insert("setup".into(), json!(meter.lap()));

    // Check and stage, as root on the appliance listener (the guide's lines).
    let rest = |path: &str| format!("{}/rest/appliance/update{path}", server.appliance);
    eprintln!("== check (LOCAL) and stage");
    let t = Instant::now();
    let (st, v) = root_call(
        &http,
        reqwest::Method::GET,
        &rest("/pending?source_type=LOCAL"),
        ADMIN_PW,
        None,
    )
    .await?;
    let check_s = t.elapsed().as_secs_f64();
    if st != 200 || v["value"][0]["version"] != version.as_str() {
        bail!("the check answered {st}: {v}");
    }
    let t = Instant::now();
    let (st, v) = root_call(
        &http,
        reqwest::Method::POST,
        &rest(&format!("/pending/{version}?action=stage")),
        ADMIN_PW,
        Some(&json!({"version": version})),
    )
    .await?;
    if st != 200 {
        bail!("stage answered {st}: {v}");
    }
    let (http_ref, staged_url) = (&http, &rest("/staged"));
    let stage_s = until(
        t,
        Duration::from_secs(600),
        Duration::from_millis(100),
        move || async move {
            root_call(http_ref, reqwest::Method::GET, staged_url, ADMIN_PW, None)
                .await
                .is_ok_and(|(st, v)| st == 200 && v["value"]["staging_complete"] == true)
        },
    )
    .await
    .context("the update was not staged within 600 s")?;
    eprintln!("   checked in {check_s:.2} s, staged in {stage_s:.1} s");
    steal.insert("check_stage".into(), json!(meter.lap()));

    // The install.
    let stderr_offset = std::fs::metadata(&srv.stderr)?.len();
    let cpu0 = srv.cpu_ticks();
    let limit = Duration::from_secs(900);
    let probe = |base: &str, user: &'static str| Probe {
        http: http.clone(),
        base: base.to_string(),
        user,
        session: None,
    };
    let (mut appliance_probe, mut api_probe) =
        (probe(&server.appliance, "root"), probe(&server.api, ADMIN));
    // Sessions made before the clock starts: the polls then cost no password check until the
    // restart.
    appliance_probe.update_get().await.context("update.get")?;
    api_probe.update_get().await.context("update.get")?;
    let body =
        json!({"version": version, "user_data": [{"key": "vmdir.password", "value": ADMIN_PW}]});
    eprintln!("== install");
    let stop_watch = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    let watcher = tokio::spawn(watch(srv.pid, t0, stop_watch.clone()));
    let (st, v) = root_call(
        &http,
        reqwest::Method::POST,
        &rest(&format!("/pending/{version}?action=install")),
        ADMIN_PW,
        Some(&body),
    )
    .await?;
    let install_call_s = t0.elapsed().as_secs_f64();
    if st != 200 {
        bail!("install answered {st}: {v}");
    }
    let appliance = tokio::spawn(follow(appliance_probe, t0, limit));
    let main_api = tokio::spawn(follow(api_probe, t0, limit));
    let back = tokio::spawn({
        let stderr = srv.stderr.clone();
        async move { hosts_back(&stderr, stderr_offset, hosts, t0, limit).await }
    });
    let appliance = appliance.await?;
    let main_api = main_api.await?;
    stop_watch.store(true, Ordering::Relaxed);
    let timeline = watcher.await?;
    if appliance.up_to_date_s.is_none() {
        bail!(
            "the install did not end UP_TO_DATE: {:#}; see {}",
            appliance.last,
            srv.stderr.display()
        );
    }
    let (all_back, rounds) = back.await?;
    eprintln!(
        "   API back after {:?} s (appliance listener) / {:?} s (main), every host after {:?} s",
        appliance.unanswered.last().and_then(|x| x.1),
        main_api.unanswered.last().and_then(|x| x.1),
        all_back.map(|x| x.0)
    );
    let api = Api::login(http.clone(), &server.api, ADMIN_PW).await?;
    let connected_after = connected(&api).await;
    let cpu_s = (srv.cpu_ticks() - cpu0) as f64 / tick_hz();
    let rss_mib = srv.rss_kib() as f64 / 1024.0;
    let task = appliance.last["task"].clone();
    let running_version = appliance.last["version"].clone();
    steal.insert("install".into(), json!(meter.lap()));

    srv.stop()?;
    drop(fleet_procs);
    if p.keep {
        eprintln!("   the run's directory is kept: {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }

    let full = json!({
        "scenario": "update-install",
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "machine": machine(),
        "version": env!("CARGO_PKG_VERSION"),
        "engine": "sqlite",
        "parameters": p,
        "total_s": t_all.elapsed().as_secs_f64(),
        "results": {
            "setup": {"hosts": p.hosts, "vms": p.hosts * p.vms_per_host,
                "adds": serde_json::to_value(&added)?, "binary_mib": binary_mib},
            "check_s": check_s,
            "stage_s": stage_s,
            "install": {
                "to_version": version,
                "running_version_after": running_version,
                "install_call_s": install_call_s,
                "install_in_progress_seen_s": appliance.install_in_progress_s,
                "appliance_listener": {
                    "unanswered_window_s": appliance.window_s(),
                    "unanswered_total_s": appliance.unanswered_s(),
                    "unanswered": appliance.unanswered,
                    "polls": appliance.polls,
                },
                "main_listener": {
                    "unanswered_window_s": main_api.window_s(),
                    "unanswered_total_s": main_api.unanswered_s(),
                    "unanswered": main_api.unanswered,
                    "polls": main_api.polls,
                },
                "up_to_date_s": appliance.up_to_date_s,
                "process": serde_json::to_value(&timeline)?,
                "every_host_answered_s": all_back.map(|x| x.0),
                "new_process_heartbeat_rounds": rounds.iter().map(|r| json!({"answered": r.0, "hosts": r.1, "seconds": r.2})).collect::<Vec<_>>(),
                "hosts_listed_connected_after": connected_after,
                "task": task,
                "server_cpu_s": cpu_s,
                "server_rss_mib_after": rss_mib,
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
    let i = &r["install"];
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let p = &i["process"];
    println!(
        "| self-update, {} hosts, {} VMs (SQLite, heartbeat every {} s) | measured | target |",
        r["setup"]["hosts"], r["setup"]["vms"], full["parameters"]["heartbeat_secs"]
    );
    println!("|---|---|---|");
    println!(
        "| check (LOCAL) / stage ({:.0} MiB binary) | {:.2} s / {:.1} s | — |",
        f(&r["setup"]["binary_mib"]),
        f(&r["check_s"]),
        f(&r["stage_s"])
    );
    println!(
        "| install call → update.get INSTALL_IN_PROGRESS | {:.2} s | — |",
        f(&i["install_in_progress_seen_s"])
    );
    for (name, k) in [
        ("main listener (443)", "main_listener"),
        ("appliance listener (5480)", "appliance_listener"),
    ] {
        println!(
            "| API unavailable, {name}: first unanswered poll → answering again | **{:.1} s** ({:.1} s unanswered in all) | < 15 s |",
            f(&i[k]["unanswered_window_s"]),
            f(&i[k]["unanswered_total_s"])
        );
    }
    println!(
        "| process: binary swapped / start check from–to / new binary executed | {:.1} / {:.1}–{:.1} / {:.1} s | — |",
        f(&p["binary_replaced_s"]),
        f(&p["start_check_from_s"]),
        f(&p["start_check_to_s"]),
        f(&p["executed_s"])
    );
    println!(
        "| install call → update.get UP_TO_DATE ({}) | {:.1} s | — |",
        i["running_version_after"],
        f(&i["up_to_date_s"])
    );
    println!(
        "| install call → a heartbeat round of the new process answered by every host | **{:.1} s** | < 60 s |",
        f(&i["every_host_answered_s"])
    );
    println!(
        "| hosts listed connected afterwards (QueryHost) | {} | — |",
        i["hosts_listed_connected_after"]
    );
    println!(
        "| server RSS after; CPU from the install call | {:.0} MiB; {:.1} s | — |",
        f(&i["server_rss_mib_after"]),
        f(&i["server_cpu_s"])
    );
    println!();
    println!("Machine CPU steal: {}", full["machine_cpu_steal_percent"]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_update_is_the_next_minor_version() {
        assert_eq!(next_version("0.1.0").unwrap(), "0.2.0");
        assert_eq!(next_version("3.9.4").unwrap(), "3.10.0");
        assert!(next_version("7").is_err());
    }

    #[test]
    fn the_window_runs_from_the_first_unanswered_poll_to_the_last_answer() {
        let a = Availability {
            unanswered: vec![(1.0, Some(2.0)), (3.0, Some(6.5))],
            ..Default::default()
        };
        assert_eq!(a.window_s(), Some(5.5));
        assert_eq!(a.unanswered_s(), 4.5);
        let open = Availability {
            unanswered: vec![(1.0, None)],
            ..Default::default()
        };
        assert_eq!(open.window_s(), None);
    }

    #[test]
    fn heartbeat_summaries_are_read_from_the_log_line() {
        let l = r#"2026-12-07T16:00:00.000Z  INFO heartbeat round answered=9999 hosts=10000 seconds="4.210""#;
        assert_eq!(heartbeat_round(l), Some((9999, 10000, 4.21)));
        assert_eq!(heartbeat_round("something else"), None);
    }
}
