//! The invariants, checked after every step with bounded polling where the system converges
//! asynchronously. Each has a name that a failure message carries.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::observe::server_view;
use super::server::{SESSION_IDLE, SESSION_MAX};
use super::World;

pub const VM_ONE_AGENT: &str = "vm.on_exactly_one_host";
pub const VM_INVENTORY: &str = "vm.inventory_matches_agents";
pub const HOST_HALF_ADDED: &str = "host.no_half_added";
pub const CLAIM_WITHOUT_HOST: &str = "claim.has_host_record";
pub const TASK_AFTER_RESTART: &str = "task.terminal_after_restart";
pub const TASK_BOUND: &str = "task.terminal_within_bound";
pub const MIGRATION_FROZEN: &str = "migration.no_vm_frozen_past_timeout";
pub const SESSION_IDLE_ENDS: &str = "session.vapi_ends_after_idle_limit";
pub const SESSION_MAX_ENDS: &str = "session.vapi_ends_after_max_lifetime";
pub const SESSION_ZSTACK_ENDS: &str = "session.zstack_ends_after_max_lifetime";
pub const SESSION_RENEW_BOUNDED: &str = "session.renew_keeps_vapi_max_lifetime";
pub const SERVER_ALIVE: &str = "server.stays_up";

/// How long a converging invariant may stay false.
const CONVERGE: Duration = Duration::from_secs(20);
/// A host may be connecting this long (adds to a slowed agent take a while).
const CONNECTING: Duration = Duration::from_secs(30);
/// A VM may stay frozen by a migration this long while its destination answers.
pub const FROZEN: Duration = Duration::from_secs(60);
/// An operator gives up on (cancels) a task running this long...
const CANCEL_AFTER: Duration = Duration::from_secs(45);
/// ...and every task must be over this long after it started.
const TASK_LIMIT: Duration = Duration::from_secs(120);
/// Slack past a session limit before the token must be refused.
const SLACK: Duration = Duration::from_secs(2);
/// How often a new session probe of each kind is opened.
const PROBE_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct Violation {
    pub invariant: &'static str,
    pub step: usize,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at step {}: {}",
            self.invariant, self.step, self.detail
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    /// A vAPI token used once, then left idle.
    Idle,
    /// A vAPI token used at every step.
    Busy,
    /// A ZStack session.
    Zstack,
    /// A vAPI token renewed for a year through ZStack's RenewSession.
    Renewed,
}

#[derive(Debug)]
pub struct Probe {
    kind: ProbeKind,
    token: String,
    created: Instant,
    used: Instant,
    /// The server process it was opened on: a restart ends every session, so a probe from an
    /// earlier process proves nothing.
    server_start: usize,
}

impl World {
    /// Whether to check `invariant` (not once it failed), counting the check.
    fn counted(&mut self, invariant: &'static str) -> bool {
        if self.broken.contains(&invariant) {
            return false;
        }
        *self.report.checks.entry(invariant).or_default() += 1;
        true
    }

    fn violated(&mut self, invariant: &'static str, detail: String) {
        self.log(format!("INVARIANT {invariant} VIOLATED: {detail}"));
        println!(
            "seed {} step {}: INVARIANT {invariant} VIOLATED: {detail}",
            self.settings.seed, self.step
        );
        self.report.violations.push(Violation {
            invariant,
            step: self.step,
            detail,
        });
        self.broken.push(invariant);
    }

    /// Polls `check` until it holds or `bound` passes; records a violation then.
    async fn eventually(&mut self, invariant: &'static str, bound: Duration, check: Check) {
        if !self.counted(invariant) {
            return;
        }
        let start = Instant::now();
        loop {
            match check.run(self).await {
                Ok(()) => return,
                Err(e) if start.elapsed() >= bound => {
                    self.violated(invariant, format!("{e} (still after {bound:?})"));
                    return;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Check {
    VmOneAgent,
    VmInventory,
    HostHalfAdded,
    ClaimWithoutHost,
    NoLiveTask,
}

impl Check {
    async fn run(self, w: &World) -> Result<(), String> {
        match self {
            Check::VmOneAgent => vm_one_agent(w),
            Check::VmInventory => vm_inventory(w).await,
            Check::HostHalfAdded => host_half_added(w).await,
            Check::ClaimWithoutHost => claims(w).await,
            Check::NoLiveTask => {
                let live = live_tasks(w).await?;
                if live.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "tasks left unfinished by the restart: {}",
                        describe_tasks(&live)
                    ))
                }
            }
        }
    }
}

/// After every step.
pub async fn check_step(w: &mut World) {
    server_alive(w).await;
    w.eventually(VM_ONE_AGENT, CONVERGE, Check::VmOneAgent)
        .await;
    w.eventually(CLAIM_WITHOUT_HOST, CONVERGE, Check::ClaimWithoutHost)
        .await;
    w.eventually(HOST_HALF_ADDED, CONNECTING, Check::HostHalfAdded)
        .await;
    w.eventually(VM_INVENTORY, CONVERGE, Check::VmInventory)
        .await;
    frozen_migrations(w);
    task_bound(w).await;
    sessions(w).await;
}

/// Right after a restart, before any new operation: nothing the dead process ran is still live.
pub async fn after_restart(w: &mut World) {
    w.eventually(
        TASK_AFTER_RESTART,
        Duration::from_secs(10),
        Check::NoLiveTask,
    )
    .await;
}

/// The end of a run: every bound is allowed to pass, then every invariant must hold.
pub async fn settle(w: &mut World) {
    // Fresh session probes, so that every kind reaches its limit during the settling.
    sessions(w).await;
    let start = Instant::now();
    while start.elapsed() < FROZEN + Duration::from_secs(5) {
        frozen_migrations(w);
        if w.frozen.is_empty() || w.broken.contains(&MIGRATION_FROZEN) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    frozen_migrations(w);
    // The server's view of hosts that were faulted catches up at the next reconnect try.
    w.eventually(HOST_HALF_ADDED, CONNECTING, Check::HostHalfAdded)
        .await;
    w.eventually(CLAIM_WITHOUT_HOST, CONVERGE, Check::ClaimWithoutHost)
        .await;
    w.eventually(VM_ONE_AGENT, CONVERGE, Check::VmOneAgent)
        .await;
    w.eventually(VM_INVENTORY, Duration::from_secs(40), Check::VmInventory)
        .await;
    // Sessions: the probes still open reach their limits.
    let wait = SESSION_MAX + SLACK + Duration::from_secs(1);
    tokio::time::sleep(wait).await;
    sessions(w).await;
    task_bound(w).await;
}

async fn server_alive(w: &mut World) {
    if !w.counted(SERVER_ALIVE) {
        return;
    }
    if let Some(status) = tokio::task::block_in_place(|| w.server.exited()) {
        w.violated(
            SERVER_ALIVE,
            format!("the server exited by itself: {status}"),
        );
        tokio::task::block_in_place(|| w.server.respawn());
        w.api.forget_sessions();
        w.restarted_at = Some(Instant::now());
    }
}

/// Every VM is defined on exactly one agent (a migration's switch-over is atomic).
fn vm_one_agent(w: &World) -> Result<(), String> {
    let mut seen: BTreeMap<String, Vec<usize>> =
        w.vm_names.iter().map(|n| (n.clone(), Vec::new())).collect();
    for i in 0..w.settings.hosts {
        for v in w.fleet.agent(i).vms() {
            seen.entry(v.name).or_default().push(i);
        }
    }
    let bad: Vec<String> = seen
        .iter()
        .filter(|(_, on)| on.len() != 1)
        .map(|(n, on)| format!("{n} on agents {on:?}"))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join("; "))
    }
}

/// For every host the server shows connected (and whose agent is not faulted), the VMs the
/// server places there are exactly the VMs that agent holds.
async fn vm_inventory(w: &World) -> Result<(), String> {
    let view = server_view(&w.api).await?;
    let mut bad = Vec::new();
    for h in &view.hosts {
        let Some(i) = w.agent_of_address(&h.address) else {
            continue;
        };
        if h.status != "Connected" || w.agent_faulted(i) {
            continue;
        }
        let server: BTreeSet<String> = view
            .vms
            .iter()
            .filter(|v| v.host_uuid.as_deref() == Some(h.uuid.as_str()))
            .map(|v| v.name.clone())
            .collect();
        let agent: BTreeSet<String> = w.fleet.agent(i).vms().into_iter().map(|v| v.name).collect();
        if server != agent {
            let only_server: Vec<_> = server.difference(&agent).collect();
            let only_agent: Vec<_> = agent.difference(&server).collect();
            bad.push(format!(
                "host {} (agent {i}): the server places {only_server:?} there but the agent does not hold them; the agent holds {only_agent:?} the server does not place there",
                h.address
            ));
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join("; "))
    }
}

/// No host stays connecting, and a connected host has its facts.
async fn host_half_added(w: &World) -> Result<(), String> {
    let view = server_view(&w.api).await?;
    let bad: Vec<String> = view
        .hosts
        .iter()
        .filter(|h| {
            !w.agent_of_address(&h.address)
                .is_some_and(|i| w.agent_faulted(i))
        })
        .filter(|h| h.status == "Connecting" || (h.status == "Connected" && h.cpu_num == 0))
        .map(|h| format!("host {} is {} with {} CPUs", h.address, h.status, h.cpu_num))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join("; "))
    }
}

/// An agent that says this server manages it has a host record in the server.
async fn claims(w: &World) -> Result<(), String> {
    let view = server_view(&w.api).await?;
    let bad: Vec<String> = (0..w.settings.hosts)
        .filter(|i| !w.agent_faulted(*i))
        .filter(|i| w.fleet.agent(*i).current_claim().is_some())
        .filter(|i| view.host_at(w.agent_address(*i)).is_none())
        .map(|i| {
            format!(
                "agent {i} ({}) is claimed but the server has no host for it",
                w.agent_address(i)
            )
        })
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join("; "))
    }
}

/// The tasks still queued or running, by id.
async fn live_tasks(w: &World) -> Result<serde_json::Map<String, Value>, String> {
    let (s, v) = w
        .api
        .session_call(
            Method::POST,
            "/api/cis/tasks?action=list",
            Some(json!({"filter_spec": {"status": ["PENDING", "RUNNING"]}})),
        )
        .await?;
    if s != 200 {
        return Err(format!("tasks.list answered {s}: {v}"));
    }
    v.as_object()
        .cloned()
        .ok_or_else(|| format!("tasks.list: {v}"))
}

fn describe_tasks(tasks: &serde_json::Map<String, Value>) -> String {
    tasks
        .iter()
        .map(|(id, t)| {
            format!(
                "{id} {} {} on {} ({}%)",
                t["operation"].as_str().unwrap_or("?"),
                t["status"].as_str().unwrap_or("?"),
                t["target"]["id"].as_str().unwrap_or("?"),
                t["progress"]["completed"]
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn age(t: &Value) -> Option<Duration> {
    let start = OffsetDateTime::parse(t["start_time"].as_str()?, &Rfc3339).ok()?;
    (OffsetDateTime::now_utc() - start).try_into().ok()
}

/// Tasks running long are cancelled, as an operator would; none may outlive the bound.
async fn task_bound(w: &mut World) {
    if !w.counted(TASK_BOUND) {
        return;
    }
    let live = match live_tasks(w).await {
        Ok(l) => l,
        Err(e) => {
            w.log(format!("task check skipped: {e}"));
            return;
        }
    };
    let mut over = serde_json::Map::new();
    for (id, t) in &live {
        let Some(age) = age(t) else { continue };
        if age > TASK_LIMIT {
            over.insert(id.clone(), t.clone());
        } else if age > CANCEL_AFTER {
            let r = w
                .api
                .session_call(
                    Method::POST,
                    &format!("/api/cis/tasks/{id}?action=cancel"),
                    None,
                )
                .await;
            let r = r.map(|(s, v)| format!("{s} {}", super::brief(&v)));
            w.log(format!("cancel task {id} running for {age:.0?}: {r:?}"));
        }
    }
    if !over.is_empty() {
        w.violated(
            TASK_BOUND,
            format!(
                "running past {TASK_LIMIT:?} (cancel asked after {CANCEL_AFTER:?}): {}",
                describe_tasks(&over)
            ),
        );
    }
}

/// A VM frozen by a migration (the agent refuses its power operations) is released within the
/// bound once its destination answers.
fn frozen_migrations(w: &mut World) {
    if !w.counted(MIGRATION_FROZEN) {
        return;
    }
    let mut now_frozen = std::collections::HashMap::new();
    for i in 0..w.settings.hosts {
        for v in w.fleet.agent(i).vms() {
            let Some(to) = v.migrating_to else { continue };
            let key = (i, v.name.clone());
            let dest_down = w.agent_of_address(&to).is_some_and(|d| w.agent_faulted(d));
            let since = match w.frozen.get(&key) {
                // The agent waits for a destination that does not answer: allowed.
                _ if dest_down => Instant::now(),
                Some(t) => *t,
                None => Instant::now(),
            };
            now_frozen.insert(key, (since, to));
        }
    }
    w.frozen = now_frozen
        .iter()
        .map(|(k, (t, _))| (k.clone(), *t))
        .collect();
    let over: Vec<String> = now_frozen
        .iter()
        .filter(|(_, (t, _))| t.elapsed() > FROZEN)
        .map(|((i, n), (t, to))| {
            format!(
                "{n} on agent {i} frozen migrating to {to} for {:.0?}",
                t.elapsed()
            )
        })
        .collect();
    if !over.is_empty() {
        w.violated(MIGRATION_FROZEN, over.join("; "));
    }
}

async fn vapi_refused(w: &World, token: &str) -> Result<bool, String> {
    let (s, _) = w
        .api
        .send(
            Method::GET,
            "/api/session",
            &[("vmware-api-session-id", token.to_string())],
            None,
        )
        .await?;
    Ok(s == 401)
}

async fn zstack_refused(w: &World, session: &str) -> Result<bool, String> {
    let (_, v) = w
        .api
        .send(
            Method::GET,
            "/zstack/v1/zones",
            &[("Authorization", format!("OAuth {session}"))],
            None,
        )
        .await?;
    Ok(v["error"]["code"] == "ID.1001")
}

/// Opens the probes that are missing, and checks those past their limits.
async fn sessions(w: &mut World) {
    let mut keep = Vec::new();
    for mut p in std::mem::take(&mut w.probes) {
        if p.server_start != w.server.starts {
            continue;
        }
        let (invariant, due) = match p.kind {
            ProbeKind::Idle => (SESSION_IDLE_ENDS, p.used + SESSION_IDLE + SLACK),
            ProbeKind::Busy => (SESSION_MAX_ENDS, p.created + SESSION_MAX + SLACK),
            ProbeKind::Zstack => (SESSION_ZSTACK_ENDS, p.created + SESSION_MAX + SLACK),
            ProbeKind::Renewed => (SESSION_RENEW_BOUNDED, p.created + SESSION_MAX + SLACK),
        };
        if Instant::now() < due {
            if p.kind == ProbeKind::Busy {
                // Kept busy so that only the absolute limit ends it; ended early is no failure
                // (a restart ends every session).
                if let Ok(false) = vapi_refused(w, &p.token).await {
                    p.used = Instant::now();
                    keep.push(p);
                }
            } else {
                keep.push(p);
            }
            continue;
        }
        if !w.counted(invariant) {
            continue;
        }
        let refused = match p.kind {
            ProbeKind::Zstack => zstack_refused(w, &p.token).await,
            _ => vapi_refused(w, &p.token).await,
        };
        match refused {
            Ok(true) => {}
            Ok(false) => w.violated(
                invariant,
                format!(
                    "a {:?} session was still accepted {:.1?} after login ({:.1?} after its last use); limits: idle {SESSION_IDLE:?}, max {SESSION_MAX:?}",
                    p.kind,
                    p.created.elapsed(),
                    p.used.elapsed()
                ),
            ),
            Err(e) => w.log(format!("session probe not checked: {e}")),
        }
    }
    w.probes = keep;
    for kind in [
        ProbeKind::Idle,
        ProbeKind::Busy,
        ProbeKind::Zstack,
        ProbeKind::Renewed,
    ] {
        // A new probe of each kind every few seconds, so that limits are checked often.
        if w.probes
            .iter()
            .any(|p| p.kind == kind && p.created.elapsed() < PROBE_EVERY)
        {
            continue;
        }
        let token = match kind {
            ProbeKind::Zstack => w.api.zstack_login().await,
            _ => w.api.vapi_login().await,
        };
        let Ok(token) = token else { continue };
        if kind == ProbeKind::Renewed {
            let r = w
                .api
                .send(
                    Method::PUT,
                    &format!("/zstack/v1/accounts/sessions/{token}/renew"),
                    &[
                        ("Authorization", format!("OAuth {token}")),
                        ("X-Job-UUID", crate::common::zstack::uuid_hex()),
                    ],
                    Some(json!({"renewSession": {"duration": 31_536_000}})),
                )
                .await;
            w.log(format!(
                "session probe: RenewSession of a vAPI token → {}",
                match &r {
                    Ok((s, v)) => format!("{s} {}", super::brief(v)),
                    Err(e) => e.clone(),
                }
            ));
        }
        let now = Instant::now();
        w.probes.push(Probe {
            kind,
            token,
            created: now,
            used: now,
            server_start: w.server.starts,
        });
    }
}
