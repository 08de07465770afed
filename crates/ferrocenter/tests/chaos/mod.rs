//! The randomized fault-and-invariant suite (docs/reliability.md): a seeded random walk of
//! operations through vAPI, VI/JSON and ZStack against the real server binary and a simulated
//! fleet, with faults injected (server SIGKILL and restart, agents stopped or slowed, the data
//! directory's file system full), and the invariants checked after every step.
//!
//! A seed replays the same sequence of actions: `FERROCENTER_CHAOS_SEED=<seed>
//! FERROCENTER_CHAOS_STEPS=<n>`.
pub mod actions;
pub mod faults;
pub mod invariants;
pub mod observe;
pub mod ops;
pub mod server;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocenter_agent::simulate::Fleet;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use actions::{Action, Fault};
use invariants::{Probe, Violation};
use server::{Api, Reply, ServerProc};

/// What one run does.
#[derive(Debug, Clone)]
pub struct Settings {
    pub seed: u64,
    pub steps: usize,
    pub hosts: usize,
    pub vms_per_host: usize,
    /// The second octet of the fleet's loopback addresses (distinct per test).
    pub octet: u8,
}

impl Settings {
    /// `FERROCENTER_CHAOS_SEED` and `FERROCENTER_CHAOS_STEPS` override the given values.
    pub fn from_env(seed: u64, steps: usize, octet: u8) -> Settings {
        let env = |k: &str| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        Settings {
            seed: env("FERROCENTER_CHAOS_SEED").unwrap_or(seed),
            steps: env("FERROCENTER_CHAOS_STEPS").map_or(steps, |s| s as usize),
            hosts: 6,
            vms_per_host: 3,
            octet,
        }
    }
}

/// The counts a run prints.
#[derive(Debug, Default)]
pub struct Report {
    pub seed: u64,
    pub steps: usize,
    pub ops: BTreeMap<String, usize>,
    pub faults: BTreeMap<&'static str, usize>,
    pub checks: BTreeMap<&'static str, usize>,
    pub violations: Vec<Violation>,
    pub server_starts: usize,
    pub elapsed: Duration,
    pub log: Vec<String>,
}

impl Report {
    pub fn summary(&self) -> String {
        let mut s = format!(
            "chaos seed {} — {} steps in {:.0?}, {} server starts\n",
            self.seed, self.steps, self.elapsed, self.server_starts
        );
        let total_ops: usize = self.ops.values().sum();
        s += &format!("operations run: {total_ops}\n");
        for (k, n) in &self.ops {
            s += &format!("  {k}: {n}\n");
        }
        let total_faults: usize = self.faults.values().sum();
        s += &format!("faults injected: {total_faults}\n");
        for (k, n) in &self.faults {
            s += &format!("  {k}: {n}\n");
        }
        let total_checks: usize = self.checks.values().sum();
        s += &format!("invariant checks made: {total_checks}\n");
        for (k, n) in &self.checks {
            s += &format!("  {k}: {n}\n");
        }
        s += &format!("failures: {}\n", self.violations.len());
        for v in &self.violations {
            s += &format!("  {v}\n");
        }
        s
    }

    /// The failure message: which invariants broke, where, and how to replay it.
    pub fn failure(&self) -> String {
        let mut s = String::new();
        for v in &self.violations {
            s += &format!(
                "INVARIANT {} violated at step {} of seed {}: {}\n",
                v.invariant, v.step, self.seed, v.detail
            );
        }
        let last = self.violations.iter().map(|v| v.step).max().unwrap_or(0);
        s += &format!(
            "replay: FERROCENTER_CHAOS_SEED={} FERROCENTER_CHAOS_STEPS={} cargo nextest run -p ferrocenter -E 'test(chaos_fixed_seeds)'\n",
            self.seed,
            last.clamp(1, self.steps.max(1))
        );
        s += "operation log:\n";
        for l in &self.log {
            s += &format!("  {l}\n");
        }
        s
    }
}

/// An operation sent and not yet answered.
struct Pending {
    step: usize,
    what: String,
    join: JoinHandle<Reply>,
    /// The answer, when it came before `send` returned.
    answer: Option<Result<Reply, String>>,
}

pub struct World {
    pub settings: Settings,
    pub step: usize,
    pub fleet: Fleet,
    pub server: ServerProc,
    pub api: Arc<Api>,
    /// Every VM's name (names are unique in the fleet), in a fixed order the actions index.
    pub vm_names: Vec<String>,
    pub cluster_moid: String,
    pub cluster_uuid: String,
    /// Agent index → (fault, the step after which it is healed).
    pub agent_faults: HashMap<usize, (Fault, usize)>,
    /// (agent, VM) → when it was first seen frozen by a migration.
    pub frozen: HashMap<(usize, String), Instant>,
    pub probes: Vec<Probe>,
    pub restarted_at: Option<Instant>,
    pending: Vec<Pending>,
    pub report: Report,
    /// Invariants already reported in this run: not checked again, so one failure does not
    /// make every later step wait for its bound.
    pub broken: Vec<&'static str>,
    _dir: tempfile::TempDir,
}

impl World {
    pub fn log(&mut self, line: impl Into<String>) {
        let line = format!("step {:>4}: {}", self.step, line.into());
        // `FERROCENTER_CHAOS_LOG=<file>` follows a long run as it goes.
        if let Ok(path) = std::env::var("FERROCENTER_CHAOS_LOG") {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(f, "[seed {}] {line}", self.settings.seed);
            }
        }
        self.report.log.push(line);
    }

    pub fn agent_address(&self, i: usize) -> &str {
        &self.fleet.manifest.hosts[i].address
    }

    pub fn agent_of_address(&self, address: &str) -> Option<usize> {
        let address = address.split(':').next().unwrap_or(address);
        self.fleet
            .manifest
            .hosts
            .iter()
            .position(|h| h.address == address)
    }

    pub fn agent_faulted(&self, i: usize) -> bool {
        self.agent_faults.contains_key(&i)
    }

    /// Sends a request in the background; its answer is logged when it arrives.
    pub async fn send(
        &mut self,
        what: String,
        fut: impl std::future::Future<Output = Reply> + Send + 'static,
    ) {
        let mut join = tokio::spawn(fut);
        // Most answers come at once (a task id); a call that waits for its task stays pending.
        let answer = match tokio::time::timeout(Duration::from_millis(400), &mut join).await {
            Ok(a) => Some(a.map_err(|e| format!("panicked: {e}"))),
            Err(_) => None,
        };
        if answer.is_none() {
            self.log(format!("{what} … answer pending"));
        }
        self.pending.push(Pending {
            step: self.step,
            what,
            join,
            answer,
        });
        self.collect(false).await;
    }

    /// Logs the answers that have arrived (all of them, waiting, when `all`).
    pub async fn collect(&mut self, all: bool) {
        let pending = std::mem::take(&mut self.pending);
        for p in pending {
            if !all && p.answer.is_none() && !p.join.is_finished() {
                self.pending.push(p);
                continue;
            }
            let answer = match p.answer {
                Some(a) => a,
                None => match tokio::time::timeout(Duration::from_secs(30), p.join).await {
                    Ok(a) => a.map_err(|e| format!("panicked: {e}")),
                    Err(_) => Err("no answer in 30 s".into()),
                },
            };
            let answer = match answer {
                Ok(Ok((s, v))) => format!("{s} {}", brief(&v)),
                Ok(Err(e)) | Err(e) => e,
            };
            let line = if p.step == self.step {
                format!("{} → {answer}", p.what)
            } else {
                format!("(answer to step {}) {} → {answer}", p.step, p.what)
            };
            self.log(line);
        }
    }

    fn count_op(&mut self, kind: String) {
        *self.report.ops.entry(kind).or_default() += 1;
    }

    fn count_fault(&mut self, kind: &'static str) {
        *self.report.faults.entry(kind).or_default() += 1;
    }
}

/// An answer shortened for the log: a task id, a fault's type and message, or the first bytes.
pub fn brief(v: &Value) -> String {
    let s = if let Some(f) = v.get("_typeName").and_then(Value::as_str) {
        let msg = v["faultMessage"][0]["message"].as_str().unwrap_or_default();
        format!("{f} {msg}")
    } else if let Some(e) = v.get("error") {
        format!("error {e}")
    } else if let Some(e) = v.get("error_type") {
        format!("{e} {}", v["messages"][0]["default_message"])
    } else {
        v.to_string()
    };
    s.chars().take(160).collect()
}

async fn must(r: Reply, what: &str) -> Value {
    match r {
        Ok((s, v)) if s < 300 => v,
        other => panic!("setup: {what}: {other:?}"),
    }
}

/// Waits for a VI task to end; its info.
pub async fn wait_vim_task(api: &Api, task: &Value, limit: Duration) -> Value {
    let start = Instant::now();
    loop {
        let info = api
            .vim(
                Method::GET,
                &format!("Task/{}/info", task["value"].as_str().unwrap_or_default()),
                None,
            )
            .await;
        if let Ok((200, info)) = &info {
            if matches!(info["state"].as_str(), Some("success" | "error")) {
                return info.clone();
            }
        }
        assert!(
            start.elapsed() < limit,
            "setup: task {task} did not end: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts the fleet and the server, creates a datacenter and a fully automated cluster, and adds
/// half of the hosts to it.
pub async fn start(settings: Settings) -> World {
    let fleet = crate::common::sim_fleet_with(
        settings.hosts,
        settings.vms_per_host,
        settings.octet,
        settings.seed,
        // VMs have 1–8 GiB: a migration takes 0.5–4 s, so faults meet them in flight.
        2 << 30,
    )
    .await;
    let mut vm_names: Vec<String> = (0..settings.hosts)
        .flat_map(|i| fleet.agent(i).vms().into_iter().map(|v| v.name))
        .collect();
    vm_names.sort();
    let dir = tempfile::tempdir().unwrap();
    let port = fleet.manifest.hosts[0].port;
    let server = tokio::task::block_in_place(|| ServerProc::start(dir.path(), port));
    let api = Arc::new(Api::new(&server.base));
    let content = must(
        api.vim(Method::GET, "ServiceInstance/ServiceInstance/content", None)
            .await,
        "content",
    )
    .await;
    let root = content["rootFolder"]["value"].as_str().unwrap().to_string();
    let dc = must(
        api.vim(
            Method::POST,
            &format!("Folder/{root}/CreateDatacenter"),
            Some(json!({"name": "chaos-dc"})),
        )
        .await,
        "CreateDatacenter",
    )
    .await;
    let host_folder = must(
        api.vim(
            Method::GET,
            &format!("Datacenter/{}/hostFolder", dc["value"].as_str().unwrap()),
            None,
        )
        .await,
        "hostFolder",
    )
    .await;
    let cluster = must(
        api.vim(
            Method::POST,
            &format!(
                "Folder/{}/CreateClusterEx",
                host_folder["value"].as_str().unwrap()
            ),
            Some(
                json!({"name": "chaos-cluster", "spec": {"_typeName": "ClusterConfigSpecEx",
                "drsConfig": {"_typeName": "ClusterDrsConfigInfo", "enabled": true,
                "defaultVmBehavior": "fullyAutomated"}}}),
            ),
        )
        .await,
        "CreateClusterEx",
    )
    .await;
    let cluster_moid = cluster["value"].as_str().unwrap().to_string();
    let clusters = must(
        api.zstack(Method::GET, "/zstack/v1/clusters", None).await,
        "QueryCluster",
    )
    .await;
    let cluster_uuid = clusters["inventories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "chaos-cluster")
        .unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let mut w = World {
        settings,
        step: 0,
        fleet,
        server,
        api,
        vm_names,
        cluster_moid,
        cluster_uuid,
        agent_faults: HashMap::new(),
        frozen: HashMap::new(),
        probes: Vec::new(),
        restarted_at: None,
        pending: Vec::new(),
        report: Report::default(),
        broken: Vec::new(),
        _dir: dir,
    };
    for i in 0..w.settings.hosts / 2 {
        let task = must(
            w.api
                .vim(
                    Method::POST,
                    &format!("ClusterComputeResource/{}/AddHost_Task", w.cluster_moid),
                    Some(json!({"spec": ops::connect_spec(&w, i), "asConnected": true})),
                )
                .await,
            "AddHost_Task",
        )
        .await;
        let info = wait_vim_task(&w.api, &task, Duration::from_secs(60)).await;
        assert_eq!(info["state"], "success", "setup add of agent {i}: {info}");
    }
    w.log(format!(
        "setup: {} agents ({} VMs), agents 0..{} added to the cluster",
        w.settings.hosts,
        w.vm_names.len(),
        w.settings.hosts / 2
    ));
    w
}

/// One run: the walk, then a settling phase (faults healed, every bound allowed to pass) and the
/// final checks.
pub async fn run(settings: Settings) -> Report {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(settings.seed);
    let mut w = start(settings.clone()).await;
    let disk_full = w.server.tmpfs;
    for step in 1..=settings.steps {
        w.step = step;
        w.heal_due_faults().await;
        let action = actions::draw(&mut rng, w.settings.hosts, w.vm_names.len(), disk_full);
        // A pause drawn from the seed too: sometimes the next action meets the last one in flight.
        let pause = rng.gen_range(0..300u64);
        match action {
            Action::Op(op) => {
                w.count_op(op.kind());
                ops::perform(&mut w, &op).await;
            }
            Action::Fault(f) => {
                w.count_fault(f.kind());
                faults::inject(&mut w, &f).await;
            }
        }
        w.collect(false).await;
        invariants::check_step(&mut w).await;
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    w.step = settings.steps + 1;
    w.log("settling: faults healed, checks with the full bounds");
    faults::heal_all(&mut w).await;
    w.collect(true).await;
    invariants::settle(&mut w).await;
    w.report.seed = settings.seed;
    w.report.steps = settings.steps;
    w.report.server_starts = w.server.starts;
    w.report.elapsed = started.elapsed();
    tokio::task::block_in_place(|| w.server.stop());
    let World { fleet, report, .. } = w;
    fleet.stop().await;
    report
}
