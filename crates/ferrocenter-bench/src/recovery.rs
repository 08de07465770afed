//! The backup-and-restore scenario (issue 22): a real `ferrocenter serve` holding `hosts` hosts
//! and `hosts × vms_per_host` VMs backs itself up through vAPI to a `PATH` location while
//! clients keep getting VMs by id; then a second, fresh server process is restored from the
//! archive through its appliance listener as `root`, restarts itself, and answers a host list.
//!
//! The inventory is written through the store port while the first server is stopped (as the
//! store's archive benchmark writes it): adding 10,000 hosts through a simulated fleet takes
//! minutes and keeps a second process busy beside the measurement, and backup and restore read
//! and write only the store. The hosts' addresses are loopback addresses where no agent listens,
//! so the server's first heartbeat round marks them not responding (its events are part of the
//! archive); the heartbeat interval is an hour, so no round overlaps the measurement.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ferrocenter_core::inventory::{
    ConnectionState, Event, Hardware, Host, HostFacts, HostState, HypervisorVersions, NicFacts,
    VmDisk, VmInfo, VmNic, VmPowerState, VmRecord,
};
use ferrocenter_core::ports::Store;
use ferrocenter_core::secrets::SecretBox;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::server::api::{http_client, Api};
use crate::server::ServeCmd;
use crate::sys::{ferrocenter_binary, machine, percentile, tick_hz, Proc, StealMeter};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Params {
    pub hosts: usize,
    pub vms_per_host: usize,
    pub hosts_per_cluster: usize,
    /// Clients getting VMs by id before and during the backup.
    pub get_clients: usize,
    /// The window measured before the backup starts.
    pub baseline_seconds: f64,
    /// Encrypt the archive (`backup_password`).
    pub encrypt: bool,
    #[serde(skip)]
    pub binary: Option<PathBuf>,
}

const ADMIN_PW: &str = "Bench-Admin-1";
/// The backup password; a throwaway for this run's archive.
const BACKUP_PW: &str = "Bench-Backup-1";
const BACKUP_JOB: &str = "/api/appliance/recovery/backup/job";
const RESTORE_JOB: &str = "/api/appliance/recovery/restore/job";
const RECONCILIATION_JOB: &str = "/api/appliance/recovery/reconciliation/job";

/// A server of this scenario: no heartbeat during the run (its hosts are written through the
/// store, with no agents behind them).
fn server(dir: &Path, data: &Path) -> ServeCmd {
    ServeCmd::new(dir, data, 3600, &["--admin-password", ADMIN_PW])
}

/// Facts as an agent reports them, distinct per host (BIOS uuid, host name, MACs) so the
/// archive compresses as a real one would, not as repeated rows.
fn facts(i: usize) -> HostFacts {
    HostFacts {
        hostname: format!("kvm{i:05}.bench.lab"),
        hardware: Hardware {
            vendor: "Dell Inc.".into(),
            model: "PowerEdge R650".into(),
            bios_uuid: format!(
                "4c4c4544-{:04x}-{:04x}-8053-b4c04f{:06x}",
                i >> 16,
                i & 0xffff,
                i
            ),
            cpu_model: "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz".into(),
            cpu_packages: 2,
            cpu_cores: 64,
            cpu_threads: 128,
            cpu_mhz: 2000,
            memory_bytes: 512 << 30,
        },
        architecture: "x86_64".into(),
        os_name: "Debian GNU/Linux".into(),
        os_version: "12".into(),
        hypervisor: HypervisorVersions {
            name: "QEMU/KVM".into(),
            version: "7.2.0".into(),
            libvirt_version: "9.0.0".into(),
            qemu_version: "7.2.0".into(),
        },
        nics: (0..2)
            .map(|n| NicFacts {
                name: format!("eno{}", n + 1),
                mac: mac(0x10 + n, i),
                speed_mbps: 25_000,
                link_up: true,
            })
            .collect(),
        boot_time: 1_760_000_000 + i as i64,
        agent_version: env!("CARGO_PKG_VERSION").into(),
        ..HostFacts::default()
    }
}

fn mac(prefix: usize, i: usize) -> String {
    format!(
        "52:54:{prefix:02x}:{:02x}:{:02x}:{:02x}",
        (i >> 16) & 255,
        (i >> 8) & 255,
        i & 255
    )
}

/// Writes the inventory into a stopped server's store: `clusters` already made through the API
/// (ids), hosts spread over them, VMs on each host, one event per host and VM as adds and
/// inventory syncs leave them. moIds come from the store's sequences as the core takes them.
async fn populate(
    store: &Arc<dyn Store>,
    key: &[u8; 32],
    datacenter_id: &str,
    clusters: &[String],
    p: &Params,
) -> anyhow::Result<()> {
    let sealer = SecretBox::new(key);
    let now = OffsetDateTime::now_utc();
    let first_host = store
        .reserve_sequence("host", u32::try_from(p.hosts)?)
        .await?;
    let first_vm = store
        .reserve_sequence("vm", u32::try_from(p.hosts * p.vms_per_host)?)
        .await?;
    for i in 0..p.hosts {
        // 127.200.0.0/16 and up: loopback addresses where nothing listens on the agent port.
        let address = format!("127.{}.{}.{}", 200 + (i >> 16), (i >> 8) & 255, i & 255);
        let host = Host {
            id: format!("bench-host-{i:06}"),
            moid: format!("host-{}", first_host + i as i64),
            datacenter_id: datacenter_id.into(),
            cluster_id: Some(clusters[i / p.hosts_per_cluster].clone()),
            name: address.clone(),
            description: String::new(),
            address,
            port: 8443,
            thumbprint: format!("AB:CD:{:02X}:{:02X}", (i >> 8) & 255, i & 255),
            agent_user: format!("ferrocenter-{i:06}"),
            agent_secret: sealer.seal(&format!("service-password-{i}"))?,
            connection_state: ConnectionState::Connected,
            state: HostState::Enabled,
            previous_state: None,
            power_state: "poweredOn".into(),
            facts: Some(Arc::new(facts(i))),
            runtime: None,
            management_ip: None,
            ssh_port: None,
            ssh_host_key: None,
            ssh_user: None,
            tags: Vec::new(),
            system_tags: Vec::new(),
            event_cursor: 0,
            created_at: now,
            last_op_at: now,
        };
        store.insert_host(&host).await?;
        let vms: Vec<VmRecord> = (0..p.vms_per_host)
            .map(|j| {
                let n = i * p.vms_per_host + j;
                let uuid = format!("564d{:04x}-{:04x}-4000-8000-{n:012x}", i & 0xffff, j);
                let name = format!("vm-{i:05}-{j:02}");
                let on = j % 2 == 0;
                VmRecord {
                    id: format!("bench-vm-{n:07}"),
                    moid: format!("vm-{}", first_vm + n as i64),
                    host_id: host.id.clone(),
                    uuid: uuid.clone(),
                    instance_uuid: uuid.clone(),
                    name: name.clone(),
                    power_state: if on { "poweredOn" } else { "poweredOff" }.into(),
                    vcpus: 2,
                    memory_bytes: 4 << 30,
                    guest_os_id: "debian12_64Guest".into(),
                    info: VmInfo {
                        uuid: uuid.clone(),
                        instance_uuid: uuid,
                        name,
                        vcpus: 2,
                        memory_bytes: 4 << 30,
                        power_state: if on {
                            VmPowerState::PoweredOn
                        } else {
                            VmPowerState::PoweredOff
                        },
                        guest_os_id: "debian12_64Guest".into(),
                        disks: vec![VmDisk {
                            label: "Hard disk 1".into(),
                            capacity_bytes: 20 << 30,
                            datastore: "local".into(),
                            image: Some("debian-12.qcow2".into()),
                        }],
                        nics: vec![VmNic {
                            label: "Network adapter 1".into(),
                            mac: mac(0x20, n),
                            network: "default".into(),
                        }],
                        migrating_to: None,
                    },
                    created_at: now,
                    last_op_at: now,
                }
            })
            .collect();
        store.insert_vms(&vms).await?;
        store
            .append_event(&Event {
                seq: 0,
                time: now,
                kind: "HostAddedEvent".into(),
                entity_kind: "HostSystem".into(),
                entity_id: host.id.clone(),
                entity_name: host.name.clone(),
                user: "administrator@vsphere.local".into(),
                message: format!("Added host {}", host.name),
                data: json!({"vms": p.vms_per_host}),
            })
            .await?;
    }
    Ok(())
}

/// Gets of VMs by id (`GET /api/vcenter/vm/{vm}`) from `clients` loops until stopped: each
/// get's start (seconds since `t0`) and latency (ms), and the errors.
struct GetLoad {
    stop: Arc<AtomicBool>,
    errors: Arc<AtomicUsize>,
    workers: Vec<tokio::task::JoinHandle<Vec<(f64, f64)>>>,
    t0: Instant,
}

impl GetLoad {
    fn start(api: &Api, vms: Arc<Vec<String>>, clients: usize) -> GetLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let errors = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        let workers = (0..clients)
            .map(|c| {
                let (api, vms, stop, errors) =
                    (api.clone(), vms.clone(), stop.clone(), errors.clone());
                tokio::spawn(async move {
                    let mut out = Vec::new();
                    // A fixed stride per client: every client walks the whole inventory.
                    let mut k = c * 7919;
                    while !stop.load(Ordering::Relaxed) {
                        k = (k + 104_729) % vms.len();
                        let t = Instant::now();
                        match api.vapi_get(&format!("/vcenter/vm/{}", vms[k])).await {
                            Ok(v) if v["name"].is_string() => out.push((
                                t.duration_since(t0).as_secs_f64(),
                                t.elapsed().as_secs_f64() * 1000.0,
                            )),
                            r => {
                                if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                                    eprintln!("vm get: {:?}", r.err());
                                }
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        GetLoad {
            stop,
            errors,
            workers,
            t0,
        }
    }

    fn since_start(&self, at: Instant) -> f64 {
        at.duration_since(self.t0).as_secs_f64()
    }

    async fn finish(self) -> (Vec<(f64, f64)>, usize) {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for w in self.workers {
            all.extend(w.await.unwrap_or_default());
        }
        (all, self.errors.load(Ordering::Relaxed))
    }
}

/// The gets that started within [from, to) seconds.
fn window(samples: &[(f64, f64)], from: f64, to: f64) -> Value {
    let mut lat: Vec<f64> = samples
        .iter()
        .filter(|(t, _)| *t >= from && *t < to)
        .map(|(_, l)| *l)
        .collect();
    lat.sort_by(f64::total_cmp);
    json!({
        "requests": lat.len(),
        "requests_per_s": lat.len() as f64 / (to - from).max(1e-9),
        "p50_ms": percentile(&lat, 50.0),
        "p99_ms": percentile(&lat, 99.0),
        "max_ms": lat.last().copied().unwrap_or(0.0),
        "seconds": to - from,
    })
}

/// Files and bytes under `dir`, recursively.
fn archive_files(dir: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let meta = e.metadata()?;
        if meta.is_dir() {
            for (name, n) in archive_files(&e.path())? {
                out.push((format!("{}/{name}", e.file_name().to_string_lossy()), n));
            }
        } else {
            out.push((e.file_name().to_string_lossy().into_owned(), meta.len()));
        }
    }
    out.sort();
    Ok(out)
}

fn piece(location: &Path, parts: bool, encrypt: bool) -> Value {
    let mut p = json!({"location_type": "PATH", "location": location.display().to_string()});
    if parts {
        p["parts"] = json!(["seat"]);
    }
    if encrypt {
        p["backup_password"] = json!(BACKUP_PW);
    }
    json!({ "piece": p })
}

/// Waits for the first heartbeat round (over every stored host) to be logged.
async fn first_heartbeat_round(p: &mut Proc) -> anyhow::Result<String> {
    let err = p.stderr.clone();
    p.wait_line(&err, Duration::from_secs(600), |l| {
        l.contains("heartbeat round")
    })
    .await
}

pub async fn run(p: Params) -> anyhow::Result<()> {
    let bin = ferrocenter_binary(p.binary.clone());
    let dir =
        std::env::temp_dir().join(format!("ferrocenter-bench-recovery-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let t_all = Instant::now();
    let http = http_client()?;
    let mut meter = StealMeter::start();
    let mut steal = serde_json::Map::new();

    // The backed-up server: a first start makes its store and accounts, the containers are
    // made through the API, then the hosts and VMs are written while it is stopped.
    let data_a = dir.join("backed-up");
    let a = server(&dir, &data_a);
    eprintln!("== starting the server to back up");
    let srv = a.start(&bin, "backed-up-1", "is serving").await?;
    let api = Api::login(http.clone(), &a.api, ADMIN_PW).await?;
    let dc = api
        .vim(
            "Folder",
            "group-d1",
            "CreateDatacenter",
            json!({"name": "DC"}),
        )
        .await?;
    let dc_moid = dc["value"].as_str().context("datacenter")?.to_string();
    let folder = api.vim_get("Datacenter", &dc_moid, "hostFolder").await?;
    let folder = folder["value"].as_str().context("hostFolder")?.to_string();
    let n_clusters = p.hosts.div_ceil(p.hosts_per_cluster);
    for k in 0..n_clusters {
        api.vim(
            "Folder",
            &folder,
            "CreateClusterEx",
            json!({"name": format!("C{k:03}"), "spec": {"_typeName": "ClusterConfigSpecEx"}}),
        )
        .await?;
    }
    srv.stop()?;

    eprintln!(
        "== writing {} hosts and {} VMs into its store",
        p.hosts,
        p.hosts * p.vms_per_host
    );
    let populated_s = {
        let started = Instant::now();
        let store = ferrocenter_store::open(&ferrocenter_store::default_sqlite_url(&data_a))
            .await
            .context("opening the stopped server's store")?;
        let key: [u8; 32] = std::fs::read(data_a.join("secret.key"))?
            .try_into()
            .map_err(|_| anyhow::anyhow!("secret.key is not 32 bytes"))?;
        let dcs = store.list_datacenters().await?;
        let dc_id = dcs
            .iter()
            .find(|d| d.moid == dc_moid)
            .context("the datacenter made through the API")?
            .id
            .clone();
        let mut clusters = store.list_clusters(Some(&dc_id)).await?;
        clusters.sort_by(|x, y| x.name.cmp(&y.name));
        let cluster_ids: Vec<String> = clusters.into_iter().map(|c| c.id).collect();
        anyhow::ensure!(cluster_ids.len() == n_clusters, "clusters missing");
        populate(&store, &key, &dc_id, &cluster_ids, &p).await?;
        store.checkpoint().await?;
        started.elapsed().as_secs_f64()
    };
    eprintln!("   written in {populated_s:.1} s");

    eprintln!("== starting it again with the inventory");
    let mut srv = a.start(&bin, "backed-up-2", "is serving").await?;
    let hb = first_heartbeat_round(&mut srv).await?;
    eprintln!("   first heartbeat round done: {hb}");
    let api = Api::login(http.clone(), &a.api, ADMIN_PW).await?;
    let vms = Arc::new(vm_moids(&api, p.hosts * p.vms_per_host).await?);
    let sizes = api
        .vapi_get("/appliance/recovery/backup/parts/common")
        .await
        .ok();
    let seat = api
        .vapi_get("/appliance/recovery/backup/parts/seat")
        .await
        .ok();
    steal.insert("populate".into(), json!(meter.lap()));

    eprintln!(
        "== {} clients getting VMs by id: {} s before the backup, then during it",
        p.get_clients, p.baseline_seconds
    );
    let load = GetLoad::start(&api, vms.clone(), p.get_clients);
    tokio::time::sleep(Duration::from_secs_f64(p.baseline_seconds)).await;
    let location = dir.join("archive").join("bench");
    let cpu0 = srv.cpu_ticks();
    let rss_before = srv.rss_kib() as f64 / 1024.0;
    let backup_start = Instant::now();
    let created: Value = post_json(
        &api.http,
        &format!("{}{BACKUP_JOB}", a.api),
        Auth::Session(api_session(&a.api, &http).await?),
        &piece(&location, true, p.encrypt),
    )
    .await?;
    let job_id = created["id"].as_str().context("backup job id")?.to_string();
    let backup_session = api_session(&a.api, &http).await?;
    let (final_state, status) = loop {
        let v = get_json(
            &http,
            &format!("{}{BACKUP_JOB}/{job_id}", a.api),
            &Auth::Session(backup_session.clone()),
        )
        .await?;
        let state = v["state"].as_str().unwrap_or("").to_string();
        if state != "INPROGRESS" {
            break (state, v);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let backup_s = backup_start.elapsed().as_secs_f64();
    let backup_cpu_s = (srv.cpu_ticks() - cpu0) as f64 / tick_hz();
    let backup_peak_rss = srv.peak_rss_kib() as f64 / 1024.0;
    let (b_from, b_to) = (
        load.since_start(backup_start),
        load.since_start(backup_start) + backup_s,
    );
    let (samples, get_errors) = load.finish().await;
    steal.insert("backup".into(), json!(meter.lap()));
    if final_state != "SUCCEEDED" {
        bail!("the backup ended {final_state}: {status}");
    }
    let files = archive_files(&location)?;
    let archive_bytes: u64 = files.iter().map(|f| f.1).sum();
    let before = window(&samples, 0.0, b_from);
    let during = window(&samples, b_from, b_to);
    eprintln!(
        "   backup {backup_s:.1} s, archive {:.1} MiB; gets before {before}, during {during}",
        archive_bytes as f64 / 1_048_576.0
    );
    srv.stop()?;

    // The restore: a fresh server, its appliance listener, root with Basic on every call.
    let data_b = dir.join("restored");
    let b = server(&dir, &data_b);
    eprintln!("== starting a fresh server and restoring the archive into it");
    let mut fresh = b.start(&bin, "restored", "is serving").await?;
    let root = Auth::Basic("root".into(), ADMIN_PW.into());
    let restore_start = Instant::now();
    let created = post_json(
        &http,
        &format!("{}{RESTORE_JOB}", b.appliance),
        root.clone(),
        &piece(&location, false, p.encrypt),
    )
    .await?;
    eprintln!("   restore job: {}", created["state"]);
    let mut unanswered = 0usize;
    let restored = loop {
        match get_json(&http, &format!("{}{RESTORE_JOB}", b.appliance), &root).await {
            Ok(v) if v["state"] == "INPROGRESS" => {}
            Ok(v) => break v,
            // The server restarts itself after the import: errors until it answers again.
            Err(_) => unanswered += 1,
        }
        anyhow::ensure!(!fresh.exited(), "the restored server exited");
        anyhow::ensure!(
            restore_start.elapsed() < Duration::from_secs(1800),
            "the restore did not end within 30 min"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let restore_s = restore_start.elapsed().as_secs_f64();
    if restored["state"] != "SUCCEEDED" {
        bail!("the restore ended: {restored}");
    }
    // Until the restored accounts log in on the main listener and a host list answers with
    // the whole inventory.
    let listed_s = loop {
        if let Ok(api) = Api::login(http.clone(), &b.api, ADMIN_PW).await {
            if let Ok(n) = crate::server::reads::count_hosts(&api).await {
                if n == p.hosts {
                    let one = api.vapi_get("/vcenter/host?names=127.200.0.1").await?;
                    anyhow::ensure!(
                        one.as_array().is_some_and(|a| a.len() == 1),
                        "vAPI host list by name: {one}"
                    );
                    break restore_start.elapsed().as_secs_f64();
                }
                bail!("the restored server lists {n} hosts, not {}", p.hosts);
            }
        }
        anyhow::ensure!(!fresh.exited(), "the restored server exited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The reconciliation the restore starts: every host's agent is asked (none answers here).
    let rec = loop {
        let v = get_json(
            &http,
            &format!("{}{RECONCILIATION_JOB}", b.appliance),
            &root,
        )
        .await?;
        let st = v["status"].as_str().unwrap_or("").to_string();
        if st == "SUCCEEDED" || st == "FAILED" || restore_start.elapsed().as_secs() > 900 {
            break json!({"status": st, "after_restore_start_s": restore_start.elapsed().as_secs_f64()});
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    steal.insert("restore".into(), json!(meter.lap()));
    fresh.stop()?;
    let _ = std::fs::remove_dir_all(&dir);

    let full = json!({
        "scenario": "backup-restore",
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "machine": machine(),
        "version": env!("CARGO_PKG_VERSION"),
        "engine": "sqlite",
        "parameters": p,
        "total_s": t_all.elapsed().as_secs_f64(),
        "results": {
            "inventory": {"hosts": p.hosts, "vms": p.hosts * p.vms_per_host,
                "clusters": n_clusters, "written_through_store_s": populated_s,
                "part_common_kib": sizes, "part_seat_kib": seat},
            "backup": {"seconds": backup_s, "state": final_state,
                "archive_bytes": archive_bytes, "archive_mib": archive_bytes as f64 / 1_048_576.0,
                "files": files.iter().map(|(n, b)| json!({"name": n, "bytes": b})).collect::<Vec<_>>(),
                "encrypted": p.encrypt, "parts": ["common", "seat"],
                "server_cpu_s": backup_cpu_s, "server_rss_before_mib": rss_before,
                "server_peak_rss_mib": backup_peak_rss},
            "gets_vm_by_id": {"clients": p.get_clients, "before_backup": before,
                "during_backup": during, "errors": get_errors},
            "restore": {"seconds": restore_s, "state": restored["state"],
                "polls_unanswered_during_restart": unanswered,
                "host_list_answered_after_s": listed_s,
                "reconciliation": rec},
        },
        "machine_cpu_steal_percent": Value::Object(steal),
    });
    println!("{}", serde_json::to_string_pretty(&full)?);
    println!();
    print_table(&full);
    Ok(())
}

/// The populated VMs' moIds: one block of the `vm` sequence, whose start the first VM, listed
/// by name, tells.
async fn vm_moids(api: &Api, n: usize) -> anyhow::Result<Vec<String>> {
    let listed = api.vapi_get("/vcenter/vm?names=vm-00000-00").await?;
    let first = listed
        .as_array()
        .and_then(|a| a.first())
        .and_then(|v| v["vm"].as_str())
        .context("VM vm-00000-00 is not listed")?;
    let base: i64 = first
        .strip_prefix("vm-")
        .and_then(|n| n.parse().ok())
        .context("VM moId")?;
    Ok((0..n as i64).map(|n| format!("vm-{}", base + n)).collect())
}

#[derive(Clone)]
enum Auth {
    Session(String),
    Basic(String, String),
}

fn with_auth(rb: reqwest::RequestBuilder, auth: &Auth) -> reqwest::RequestBuilder {
    match auth {
        Auth::Session(s) => rb.header("vmware-api-session-id", s),
        Auth::Basic(u, pw) => rb.basic_auth(u, Some(pw)),
    }
}

/// A vAPI session of the administrator.
async fn api_session(base: &str, http: &reqwest::Client) -> anyhow::Result<String> {
    Ok(http
        .post(format!("{base}/api/session"))
        .basic_auth(crate::server::api::ADMIN, Some(ADMIN_PW))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

async fn post_json(
    http: &reqwest::Client,
    url: &str,
    auth: Auth,
    body: &Value,
) -> anyhow::Result<Value> {
    let r = with_auth(http.post(url), &auth).json(body).send().await?;
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("POST {url}: {status}: {v}");
    }
    Ok(v)
}

async fn get_json(http: &reqwest::Client, url: &str, auth: &Auth) -> anyhow::Result<Value> {
    let r = with_auth(http.get(url), auth)
        .timeout(Duration::from_secs(10))
        .send()
        .await?;
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("GET {url}: {status}: {v}");
    }
    Ok(v)
}

fn print_table(full: &Value) {
    let r = &full["results"];
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let (b, g, rs) = (&r["backup"], &r["gets_vm_by_id"], &r["restore"]);
    println!(
        "| backup and restore, {} hosts, {} VMs (SQLite) | measured | target |",
        r["inventory"]["hosts"], r["inventory"]["vms"]
    );
    println!("|---|---|---|");
    println!(
        "| backup job (common + seat{}, PATH), start → SUCCEEDED | {:.1} s, archive {:.1} MiB in {} files, server CPU {:.1} s | < 30 s |",
        if b["encrypted"] == true { ", encrypted" } else { "" },
        f(&b["seconds"]), f(&b["archive_mib"]), b["files"].as_array().map_or(0, Vec::len), f(&b["server_cpu_s"])
    );
    for (label, w) in [
        ("before the backup", &g["before_backup"]),
        ("during the backup", &g["during_backup"]),
    ] {
        println!(
            "| GET /api/vcenter/vm/{{vm}}, {} clients, {label} | p50 {:.2} ms, p99 {:.2} ms, max {:.0} ms, {:.0} req/s | answers while a backup runs |",
            g["clients"], f(&w["p50_ms"]), f(&w["p99_ms"]), f(&w["max_ms"]), f(&w["requests_per_s"])
        );
    }
    println!(
        "| restore job into a fresh server, create → SUCCEEDED (after its restart) | {:.1} s | < 60 s |",
        f(&rs["seconds"])
    );
    println!(
        "| restore create → restored admin logs in and the host list answers {} hosts | {:.1} s | — |",
        r["inventory"]["hosts"], f(&rs["host_list_answered_after_s"])
    );
    println!(
        "| reconciliation after the restore (no agent answers here) | {} after {:.1} s | — |",
        rs["reconciliation"]["status"],
        f(&rs["reconciliation"]["after_restore_start_s"])
    );
    println!();
    println!(
        "Get errors: {}. Machine CPU steal: {}",
        g["errors"], full["machine_cpu_steal_percent"]
    );
}
