//! One host agent: accounts, management claim, host flags, capacity, events, migrations. The
//! HTTP layer (`api`) only parses and calls these methods.
//!
//! The hypervisor is reached through the async driver port and never under `inner`'s lock
//! (a `parking_lot` guard is not `Send`, so a handler future that held one across an `.await`
//! would not compile). The agent keeps its own view of the driver's VMs (`Inner::vms`), updated
//! when its operations finish and from the driver's events; reads and the admission rules work
//! on that view under the lock. An operation on a VM first takes the VM under the lock (`busy`:
//! a second operation, a migration or a delete of it is refused as `busy`), with the memory a
//! power-on needs reserved, then calls the driver without the lock, then records the outcome
//! under the lock again. So admission counts every VM that is on or on its way on, maintenance
//! refuses power-ons from the moment it is set (and waits for those already admitted before it
//! answers), and a frozen VM (migrating away) is never powered, reconfigured or deleted.
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocenter_agent_client::wire::*;
use ferrocenter_agent_client::{AgentConnector, AgentError, AGENT_VERSION};
use ferrocenter_http::login_limit::{LoginLimiter, LoginRate};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::accounts::{validate_account_name, Accounts, AccountsState};
use crate::driver::{
    Discovered, DriverEvent, Hypervisor, Resize, TransferProgress, TransferTarget,
};
use crate::error::{ApiError, ApiResult};
use crate::events::EventLog;
use crate::faults::Faults;

/// CPU a powered-on vCPU is counted as using, for the runtime's usage figures.
const MHZ_PER_VCPU: u64 = 500;
/// How long a prepared incoming migration waits for its source.
const INCOMING_TTL: Duration = Duration::from_secs(600);

pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// The boot time as the wire carries it: Unix seconds (kept in milliseconds inside, for
/// uptime).
fn boot_secs(boot_ms: i64) -> i64 {
    boot_ms.div_euclid(1000)
}

struct Incoming {
    ticket: String,
    vm: Vm,
    state: MigrationState,
    created: Instant,
}

/// A VM taken for an operation. Dropped without `Agent::settle` (the request was cancelled
/// mid-call), it releases the VM and marks it to be read again on the driver's next event.
struct Taken<'a> {
    agent: &'a Agent,
    uuid: String,
    done: bool,
}

impl<'a> Taken<'a> {
    fn new(agent: &'a Agent, uuid: &str) -> Self {
        Taken {
            agent,
            uuid: uuid.to_string(),
            done: false,
        }
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        {
            let mut i = self.agent.inner.lock();
            i.busy.remove(&self.uuid);
            i.stale.insert(self.uuid.clone());
            i.generation += 1;
        }
        self.agent.op_ended.notify_waiters();
    }
}

/// What a finished VM operation left.
enum Settled {
    /// The VM as it is now.
    Now(Vm),
    /// The VM was removed (as it was).
    Gone(Vm),
}

/// Feeds the driver's events into the agent until the driver or the agent goes away.
async fn follow_driver(
    agent: std::sync::Weak<Agent>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<DriverEvent>,
) {
    loop {
        // Leftovers of an abandoned migration are tried again on a timer as well as on a
        // reconnect: a libvirtd that just restarted may still be tearing the incoming copy down
        // or starting its pools when the reconnect's attempt runs.
        let pending = agent
            .upgrade()
            .is_some_and(|a| !a.inner.lock().discards.is_empty());
        let ev = if pending {
            match tokio::time::timeout(DISCARD_RETRY, rx.recv()).await {
                Ok(ev) => ev,
                Err(_) => {
                    let Some(agent) = agent.upgrade() else { return };
                    agent.retry_discards().await;
                    continue;
                }
            }
        } else {
            rx.recv().await
        };
        let Some(ev) = ev else { return };
        let Some(agent) = agent.upgrade() else { return };
        match ev {
            DriverEvent::VmChanged { uuid } => agent.refresh_vm(&uuid).await,
            DriverEvent::Resync => agent.resync().await,
        }
    }
}

/// How often the leftovers of an abandoned migration are tried again while the hypervisor
/// refuses to remove them, and for how many tries (five minutes) before they are left to the
/// operator with a warning naming them.
const DISCARD_RETRY: Duration = Duration::from_secs(2);
const DISCARD_TRIES: u32 = 150;
/// Discards made again after one succeeded (one every `DISCARD_RETRY`): libvirt may still be
/// making or tearing down the incoming copy when the abort arrives (a source that died
/// mid-copy), and a disk that appears after the first discard must go too.
const DISCARD_RECHECKS: u32 = 10;

/// An abandoned incoming migration whose leftovers are not removed yet.
struct Discard {
    vm: Vm,
    tries: u32,
    /// Why the last try failed, so that a retry is logged only when the reason changes.
    last_error: Option<String>,
    /// Discards still to make after a successful one (`DISCARD_RECHECKS`).
    rechecks: u32,
}

/// What survives an agent restart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Persisted {
    pub accounts: AccountsState,
    pub claim: Option<Claim>,
    pub maintenance: bool,
    pub lockdown: LockdownMode,
    pub quarantined: bool,
    pub hostname: String,
    /// The VMs of a driver that forgets them (the simulator); empty otherwise.
    #[serde(default)]
    pub vms: Vec<Vm>,
}

impl Persisted {
    /// The saved VMs, upgraded: those saved before VMs had instance uuids take their BIOS uuid,
    /// as they do in a server's records of that time.
    pub fn take_vms(&mut self) -> Vec<Vm> {
        let mut vms = std::mem::take(&mut self.vms);
        for vm in &mut vms {
            if vm.instance_uuid.is_empty() {
                vm.instance_uuid = vm.uuid.clone();
            }
        }
        vms
    }
}

/// A VM operation in flight (the VM is taken until it ends).
struct Op {
    what: &'static str,
    /// Memory a power-on holds until it has happened.
    reserved_bytes: u64,
}

struct Inner {
    accounts: Accounts,
    claim: Option<Claim>,
    power: HostPowerState,
    maintenance: bool,
    lockdown: LockdownMode,
    quarantined: bool,
    boot_time: i64,
    events: EventLog,
    incoming: HashMap<String, Incoming>,
    migrating_out: HashMap<String, String>,
    /// How far each migration away has come, by VM uuid (while it copies).
    progress: HashMap<String, TransferProgress>,
    /// Abandoned incoming migrations whose leftovers the hypervisor could not remove yet.
    discards: Vec<Discard>,
    /// Memory made unavailable by the "exhaust capacity" fault.
    exhausted_bytes: u64,
    /// The name the host answers to (renames are the agent's, not the OS's).
    hostname: String,
    /// CPU (MHz) and memory of the host, from the last discovery.
    capacity: (u64, u64),
    /// The agent's view of the driver's VMs.
    vms: BTreeMap<String, Vm>,
    /// VM operations in flight, by VM uuid.
    busy: HashMap<String, Op>,
    /// VMs whose driver events arrived while they were busy: read again when the op ends.
    stale: HashSet<String>,
    /// Bumped whenever an operation records its outcome, so a driver event read before it is
    /// not applied over it.
    generation: u64,
}

pub struct Agent {
    pub driver: Arc<dyn Hypervisor>,
    pub faults: Arc<Faults>,
    connector: AgentConnector,
    persist: Option<PathBuf>,
    /// Root and service-account logins per source address (the server's limiter).
    login_budget: LoginLimiter,
    inner: Mutex<Inner>,
    /// Woken when a VM operation ends (maintenance waits for admitted power-ons).
    op_ended: tokio::sync::Notify,
    /// One save at a time: concurrent ones would share the temporary file, and an older
    /// snapshot could land after a newer one.
    saving: Mutex<()>,
}

/// The agent's login budget: 10 attempts at once, then 10 a minute per address. The server's
/// own logins succeed and are given back, so only guessing spends it.
pub const AGENT_LOGIN_RATE: LoginRate = LoginRate {
    burst: 10,
    per_minute: 10,
};

fn validate_hostname(h: &str) -> ApiResult<()> {
    if ferrocenter_agent_client::is_dns_name(h) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "hostname",
            "must be a DNS name: labels of letters, digits and '-', at most 253 characters",
        ))
    }
}

const MAX_VCPUS: u32 = 768;
const MIN_MEMORY: u64 = 4 << 20;
const MAX_MEMORY: u64 = 24 << 40;

fn validate_spec(spec: &VmSpec) -> ApiResult<()> {
    if spec.name.trim().is_empty() || spec.name.len() > 80 {
        return Err(ApiError::invalid("name", "must be 1 to 80 characters"));
    }
    if spec.vcpus == 0 || spec.vcpus > MAX_VCPUS {
        return Err(ApiError::invalid("vcpus", "must be between 1 and 768"));
    }
    if !(MIN_MEMORY..=MAX_MEMORY).contains(&spec.memory_bytes) {
        return Err(ApiError::invalid(
            "memory_bytes",
            "must be between 4 MiB and 24 TiB",
        ));
    }
    if let Some(u) = &spec.uuid {
        if uuid::Uuid::parse_str(u).is_err() {
            return Err(ApiError::invalid("uuid", "is not a UUID"));
        }
    }
    if let Some(u) = &spec.instance_uuid {
        if uuid::Uuid::parse_str(u).is_err() {
            return Err(ApiError::invalid("instance_uuid", "is not a UUID"));
        }
    }
    if spec.guest_os_id.is_empty() || spec.guest_os_id.len() > 64 {
        return Err(ApiError::invalid(
            "guest_os_id",
            "must be 1 to 64 characters",
        ));
    }
    for (i, d) in spec.disks.iter().enumerate() {
        if d.capacity_bytes == 0 {
            return Err(ApiError::invalid(
                &format!("disks[{i}].capacity_bytes"),
                "must be positive",
            ));
        }
        if let Some(image) = &d.image {
            if image.is_empty() || image.len() > 1024 {
                return Err(ApiError::invalid(
                    &format!("disks[{i}].image"),
                    "must be 1 to 1024 characters",
                ));
            }
        }
    }
    Ok(())
}

fn capacity_of(d: &Discovered) -> (u64, u64) {
    let hw = &d.hardware;
    (hw.cpu_cores as u64 * hw.cpu_mhz as u64, hw.memory_bytes)
}

impl Agent {
    /// An agent over `driver`: reads the host and its VMs, then follows the driver's events.
    /// A hypervisor that cannot be reached yet leaves the agent running with no VMs and no
    /// capacity, `hostname` as its name, until the driver connects and asks for a resync.
    pub async fn start(
        driver: Arc<dyn Hypervisor>,
        hostname: &str,
        accounts: AccountsState,
        connector: AgentConnector,
        persist: Option<PathBuf>,
        uptime: Duration,
    ) -> Arc<Agent> {
        let discovered = driver.discover().await;
        let vms = match driver.list_vms().await {
            Ok(v) => v,
            Err(e) => {
                warn!(error = %e.0.message, "cannot list the hypervisor's VMs yet");
                Vec::new()
            }
        };
        let mut boot_time = now_ms() - uptime.as_millis() as i64;
        let (hostname, capacity) = match &discovered {
            Ok(d) => {
                if let Some(b) = d.boot_time {
                    boot_time = b * 1000;
                }
                (d.hostname.clone(), capacity_of(d))
            }
            Err(e) => {
                warn!(error = %e.0.message, "cannot read the host's facts yet");
                (hostname.to_string(), (0, 0))
            }
        };
        let events = driver.subscribe();
        let agent = Arc::new(Agent {
            driver,
            faults: Arc::new(Faults::default()),
            connector,
            persist,
            login_budget: LoginLimiter::new(AGENT_LOGIN_RATE),
            inner: Mutex::new(Inner {
                accounts: Accounts::new(accounts),
                claim: None,
                power: HostPowerState::PoweredOn,
                maintenance: false,
                lockdown: LockdownMode::Disabled,
                quarantined: false,
                boot_time,
                events: EventLog::default(),
                incoming: HashMap::new(),
                migrating_out: HashMap::new(),
                progress: HashMap::new(),
                discards: Vec::new(),
                exhausted_bytes: 0,
                hostname,
                capacity,
                vms: vms.into_iter().map(|v| (v.uuid.clone(), v)).collect(),
                busy: HashMap::new(),
                stale: HashSet::new(),
                generation: 0,
            }),
            op_ended: tokio::sync::Notify::new(),
            saving: Mutex::new(()),
        });
        if let Some(rx) = events {
            tokio::spawn(follow_driver(Arc::downgrade(&agent), rx));
        }
        agent
    }

    /// Restores what a previous run saved (a simulator's VMs go to its driver before `start`:
    /// `Persisted::take_vms`).
    pub fn restore(&self, p: Persisted) {
        let mut i = self.inner.lock();
        i.hostname = p.hostname;
        i.accounts = Accounts::new(p.accounts);
        i.claim = p.claim;
        i.maintenance = p.maintenance;
        i.lockdown = p.lockdown;
        i.quarantined = p.quarantined;
    }

    fn save(&self) {
        let Some(path) = &self.persist else { return };
        let _saving = self.saving.lock();
        let snapshot = {
            let i = self.inner.lock();
            Persisted {
                accounts: i.accounts.state.clone(),
                claim: i.claim.clone(),
                maintenance: i.maintenance,
                lockdown: i.lockdown,
                quarantined: i.quarantined,
                hostname: i.hostname.clone(),
                vms: if self.driver.capabilities().persistent_vms {
                    Vec::new()
                } else {
                    i.vms.values().cloned().collect()
                },
            }
        };
        let tmp = path.with_extension("tmp");
        let write = serde_json::to_vec_pretty(&snapshot)
            .map_err(std::io::Error::other)
            .and_then(|b| std::fs::write(&tmp, b))
            .and_then(|_| std::fs::rename(&tmp, path));
        if let Err(e) = write {
            warn!(error = %e, "could not save agent state");
        }
    }

    fn event(&self, data: EventData) {
        self.inner.lock().events.push(now_ms(), data);
    }

    pub fn about(&self) -> About {
        About {
            product: AGENT_PRODUCT.into(),
            version: AGENT_VERSION.into(),
            api_version: match self.faults.api_version.load(Ordering::SeqCst) {
                0 => API_VERSION,
                v => v - 1,
            },
            driver: self.driver.name().into(),
        }
    }

    // ---- sessions and accounts

    /// Checks a login from `peer` (None: in-process callers), within the address's budget.
    pub fn login(
        &self,
        user: &str,
        password: &str,
        peer: Option<IpAddr>,
    ) -> ApiResult<LoginResponse> {
        if let Some(p) = peer {
            self.login_budget.admit(p).map_err(ApiError::throttled)?;
        }
        let mut i = self.inner.lock();
        if !i.accounts.verify(user, password) {
            return Err(ApiError::new(ErrorCode::InvalidLogin, "login failed"));
        }
        if let Some(p) = peer {
            self.login_budget.refund(p);
        }
        if i.accounts.is_root(user) && i.lockdown != LockdownMode::Disabled {
            // Lockdown closes direct root access; the managing server's account still works.
            return Err(ApiError::new(
                ErrorCode::PermissionDenied,
                "the host is in lockdown mode: root may not log in directly",
            ));
        }
        let token = i.accounts.open_session(user);
        Ok(LoginResponse {
            token,
            user: user.into(),
            idle_timeout_secs: crate::accounts::SESSION_IDLE.as_secs(),
        })
    }

    pub fn session_user(&self, token: &str) -> ApiResult<String> {
        self.inner
            .lock()
            .accounts
            .resolve(token)
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "no valid session"))
    }

    pub fn logout(&self, token: &str) {
        self.inner.lock().accounts.close_session(token);
    }

    pub fn create_account(&self, caller: &str, req: &CreateAccountRequest) -> ApiResult<Account> {
        {
            let mut i = self.inner.lock();
            if !i.accounts.is_root(caller) {
                return Err(ApiError::new(
                    ErrorCode::PermissionDenied,
                    "only the administrator may create accounts",
                ));
            }
            i.accounts.create_service(&req.name, &req.password)?;
        }
        self.save();
        info!(account = %req.name, "service account created");
        Ok(Account {
            name: req.name.clone(),
            root: false,
        })
    }

    pub fn change_password(&self, caller: &str, name: &str, password: &str) -> ApiResult<()> {
        validate_account_name(name)?;
        {
            let mut i = self.inner.lock();
            if !i.accounts.is_root(caller) && caller != name {
                return Err(ApiError::new(
                    ErrorCode::PermissionDenied,
                    "only the administrator or the account itself may change its password",
                ));
            }
            if !i.accounts.exists(name) {
                return Err(ApiError::not_found("account", name));
            }
            i.accounts.set_password(name, password)?;
        }
        self.event(EventData::PasswordChanged {
            account: name.into(),
        });
        self.save();
        Ok(())
    }

    /// Deletes a service account (root only): how a server takes back an add that failed.
    pub fn delete_account(&self, caller: &str, name: &str) -> ApiResult<()> {
        validate_account_name(name)?;
        {
            let mut i = self.inner.lock();
            if !i.accounts.is_root(caller) {
                return Err(ApiError::new(
                    ErrorCode::PermissionDenied,
                    "only the administrator may delete accounts",
                ));
            }
            i.accounts.remove_service(name)?;
        }
        self.save();
        info!(account = %name, "service account deleted");
        Ok(())
    }

    /// Whether an account of this name exists (tests check what a failed add left behind).
    pub fn has_account(&self, name: &str) -> bool {
        self.inner.lock().accounts.exists(name)
    }

    /// The fleet's "change the root password" fault: as if someone changed it on the host.
    pub fn force_root_password(&self, password: &str) -> ApiResult<()> {
        let root = {
            let mut i = self.inner.lock();
            let root = i.accounts.root_user();
            i.accounts.set_password(&root, password)?;
            root
        };
        self.event(EventData::PasswordChanged { account: root });
        Ok(())
    }

    // ---- management claim

    pub fn claim(&self, req: &ClaimRequest) -> ApiResult<Claim> {
        if req.server_uuid.is_empty() || req.server_uuid.len() > 64 {
            return Err(ApiError::invalid(
                "server_uuid",
                "must be 1 to 64 characters",
            ));
        }
        if req.server_address.is_empty() || req.server_address.len() > 255 {
            return Err(ApiError::invalid(
                "server_address",
                "must be 1 to 255 characters",
            ));
        }
        let claim = {
            let mut i = self.inner.lock();
            if let Some(c) = &i.claim {
                if c.server_uuid != req.server_uuid && !req.force {
                    let mut e = ApiError::new(
                        ErrorCode::AlreadyBeingManaged,
                        format!("the host is managed by the server at {}", c.server_address),
                    );
                    e.0.server_address = Some(c.server_address.clone());
                    return Err(e);
                }
            }
            let claim = Claim {
                server_uuid: req.server_uuid.clone(),
                server_address: req.server_address.clone(),
                claimed_at: now_ms(),
            };
            i.claim = Some(claim.clone());
            claim
        };
        self.save();
        Ok(claim)
    }

    pub fn current_claim(&self) -> Option<Claim> {
        self.inner.lock().claim.clone()
    }

    pub fn release_claim(&self, server_uuid: &str) -> ApiResult<()> {
        {
            let mut i = self.inner.lock();
            match &i.claim {
                Some(c) if c.server_uuid == server_uuid => i.claim = None,
                Some(_) => {
                    return Err(ApiError::invalid_state(
                        "the claim belongs to another server",
                    ))
                }
                None => return Err(ApiError::not_found("claim", server_uuid)),
            }
        }
        self.save();
        Ok(())
    }

    // ---- facts and runtime

    /// The host's name as the agent reports it.
    pub fn hostname(&self) -> String {
        self.inner.lock().hostname.clone()
    }

    /// What the host is, read from the driver now (a datastore's free space changes).
    pub async fn facts(&self) -> ApiResult<HostFacts> {
        let d = self.driver.discover().await?;
        let (hostname, boot_time) = {
            let mut i = self.inner.lock();
            i.capacity = capacity_of(&d);
            (i.hostname.clone(), i.boot_time)
        };
        Ok(HostFacts {
            hostname,
            hardware: d.hardware,
            architecture: d.architecture,
            os_name: d.os_name,
            os_version: d.os_version,
            hypervisor: d.hypervisor,
            nics: d.nics,
            datastores: d.datastores,
            networks: d.networks,
            boot_time: boot_secs(boot_time),
            sensors: d.sensors,
            ipmi_address: d.ipmi_address,
            ipmi: d.ipmi,
            os_release: d.os_release,
            nqn: d.nqn,
            agent_version: AGENT_VERSION.into(),
        })
    }

    /// Memory and CPU in use: powered-on VMs, power-ons under way, incoming reservations, and
    /// the exhaustion fault.
    fn usage(&self, i: &Inner) -> (u64, u64) {
        let on = i
            .vms
            .values()
            .filter(|v| v.power_state == VmPowerState::PoweredOn);
        let cpu: u64 = on.clone().map(|v| v.vcpus as u64 * MHZ_PER_VCPU).sum();
        let mem: u64 = on.map(|v| v.memory_bytes).sum::<u64>()
            + i.incoming
                .values()
                .filter(|m| {
                    matches!(
                        m.state,
                        MigrationState::Prepared | MigrationState::Transferring
                    )
                })
                .filter(|m| m.vm.power_state == VmPowerState::PoweredOn)
                .map(|m| m.vm.memory_bytes)
                .sum::<u64>()
            + i.busy.values().map(|o| o.reserved_bytes).sum::<u64>()
            + i.exhausted_bytes;
        (cpu, mem)
    }

    fn admit(&self, i: &Inner, memory: u64) -> ApiResult<()> {
        let (_, cap) = i.capacity;
        let (_, used) = self.usage(i);
        if used.saturating_add(memory) > cap {
            return Err(ApiError::new(
                ErrorCode::InsufficientCapacity,
                format!(
                    "not enough memory: {} bytes requested, {} free",
                    memory,
                    cap.saturating_sub(used)
                ),
            ));
        }
        Ok(())
    }

    pub fn runtime(&self) -> Runtime {
        let i = self.inner.lock();
        let (cpu_cap, mem_cap) = i.capacity;
        let (cpu, mem) = self.usage(&i);
        Runtime {
            power_state: i.power,
            in_maintenance: i.maintenance,
            lockdown: i.lockdown,
            quarantined: i.quarantined,
            boot_time: boot_secs(i.boot_time),
            uptime_secs: ((now_ms() - i.boot_time).max(0) / 1000) as u64,
            cpu_capacity_mhz: cpu_cap,
            cpu_used_mhz: cpu,
            memory_capacity_bytes: mem_cap,
            memory_used_bytes: mem,
            vm_count: i.vms.len() as u32,
            claim: i.claim.clone(),
        }
    }

    fn with_migration(&self, mut vm: Vm) -> Vm {
        vm.migrating_to = self.inner.lock().migrating_out.get(&vm.uuid).cloned();
        vm
    }

    // ---- VMs

    pub fn vms(&self) -> Vec<Vm> {
        let i = self.inner.lock();
        i.vms
            .values()
            .map(|v| {
                let mut v = v.clone();
                v.migrating_to = i.migrating_out.get(&v.uuid).cloned();
                v
            })
            .collect()
    }

    pub fn vm(&self, uuid: &str) -> ApiResult<Vm> {
        let vm = self
            .inner
            .lock()
            .vms
            .get(uuid)
            .cloned()
            .ok_or_else(|| ApiError::not_found("VM", uuid))?;
        Ok(self.with_migration(vm))
    }

    /// Takes a VM for an operation (see the module's comment): refused while it migrates away
    /// or another operation on it runs.
    fn take(
        &self,
        i: &mut Inner,
        uuid: &str,
        what: &'static str,
        reserved_bytes: u64,
    ) -> ApiResult<()> {
        if i.migrating_out.contains_key(uuid) {
            return Err(ApiError::new(ErrorCode::Busy, "the VM is being migrated"));
        }
        if let Some(op) = i.busy.get(uuid) {
            return Err(ApiError::new(
                ErrorCode::Busy,
                format!("another operation on this VM is running ({})", op.what),
            ));
        }
        i.busy.insert(
            uuid.to_string(),
            Op {
                what,
                reserved_bytes,
            },
        );
        Ok(())
    }

    /// Ends an operation on a VM: records what the driver answered and releases the VM. A
    /// failed operation reads the VM again, since a hypervisor may have done part of it.
    async fn settle(&self, mut taken: Taken<'_>, outcome: ApiResult<Settled>) -> ApiResult<Vm> {
        let outcome = match outcome {
            Ok(s) => Ok(s),
            Err(e) => {
                let now = self.driver.get_vm(&taken.uuid).await;
                Err((e, now))
            }
        };
        taken.done = true;
        let stale = {
            let mut i = self.inner.lock();
            i.busy.remove(&taken.uuid);
            i.generation += 1;
            let stale = i.stale.remove(&taken.uuid);
            match &outcome {
                Ok(Settled::Now(vm)) => self.observe(&mut i, vm.clone()),
                Ok(Settled::Gone(vm)) => {
                    i.vms.remove(&vm.uuid);
                }
                Err((_, Ok(Some(vm)))) => self.observe(&mut i, vm.clone()),
                Err((_, Ok(None))) => {
                    i.vms.remove(&taken.uuid);
                }
                Err((_, Err(_))) => {}
            }
            stale
        };
        self.op_ended.notify_waiters();
        if stale {
            self.refresh_vm(&taken.uuid).await;
        }
        self.save();
        match outcome {
            Ok(Settled::Now(vm) | Settled::Gone(vm)) => Ok(vm),
            Err((e, _)) => Err(e),
        }
    }

    /// Records a VM as the driver reports it; a change of power state is an event (a VM new to
    /// the agent counts as powered off before).
    fn observe(&self, i: &mut Inner, mut vm: Vm) {
        vm.migrating_to = None;
        let before = i
            .vms
            .get(&vm.uuid)
            .map(|v| v.power_state)
            .unwrap_or(VmPowerState::PoweredOff);
        if before != vm.power_state {
            i.events.push(
                now_ms(),
                EventData::VmPowerChanged {
                    vm_uuid: vm.uuid.clone(),
                    power_state: vm.power_state,
                },
            );
        }
        i.vms.insert(vm.uuid.clone(), vm);
    }

    pub async fn create_vm(&self, spec: VmSpec) -> ApiResult<Vm> {
        validate_spec(&spec)?;
        let vm = Vm {
            uuid: spec
                .uuid
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            instance_uuid: spec
                .instance_uuid
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            name: spec.name.clone(),
            vcpus: spec.vcpus,
            memory_bytes: spec.memory_bytes,
            power_state: if spec.power_on {
                VmPowerState::PoweredOn
            } else {
                VmPowerState::PoweredOff
            },
            guest_os_id: spec.guest_os_id.clone(),
            disks: spec.disks.clone(),
            nics: spec.nics.clone(),
            migrating_to: None,
        };
        let taken = {
            let mut i = self.inner.lock();
            let mut reserve = 0;
            if spec.power_on {
                if i.maintenance {
                    return Err(ApiError::invalid_state(
                        "the host is in maintenance mode: VMs may not power on",
                    ));
                }
                self.admit(&i, vm.memory_bytes)?;
                reserve = vm.memory_bytes;
            }
            if i.vms.contains_key(&vm.uuid) {
                return Err(ApiError::invalid_state(format!(
                    "a VM with uuid {} is already registered",
                    vm.uuid
                )));
            }
            self.take(&mut i, &vm.uuid, "create", reserve)?;
            Taken::new(self, &vm.uuid)
        };
        let r = self.driver.define_vm(vm).await.map(Settled::Now);
        self.settle(taken, r).await
    }

    /// Deletes a powered-off VM and its disks.
    pub async fn unregister_vm(&self, uuid: &str) -> ApiResult<Vm> {
        let taken = {
            let mut i = self.inner.lock();
            if i.migrating_out.contains_key(uuid) {
                return Err(ApiError::new(ErrorCode::Busy, "the VM is being migrated"));
            }
            let vm = i
                .vms
                .get(uuid)
                .ok_or_else(|| ApiError::not_found("VM", uuid))?;
            if vm.power_state == VmPowerState::PoweredOn {
                return Err(ApiError::invalid_state(
                    "power the VM off before unregistering it",
                ));
            }
            self.take(&mut i, uuid, "delete", 0)?;
            Taken::new(self, uuid)
        };
        let r = self.driver.undefine_vm(uuid).await.map(Settled::Gone);
        self.settle(taken, r).await
    }

    /// Changes vCPUs and memory of a powered-off VM.
    pub async fn reconfigure_vm(&self, uuid: &str, resize: Resize) -> ApiResult<Vm> {
        if let Some(v) = resize.vcpus {
            if v == 0 || v > MAX_VCPUS {
                return Err(ApiError::invalid("vcpus", "must be between 1 and 768"));
            }
        }
        if let Some(m) = resize.memory_bytes {
            if !(MIN_MEMORY..=MAX_MEMORY).contains(&m) {
                return Err(ApiError::invalid(
                    "memory_bytes",
                    "must be between 4 MiB and 24 TiB",
                ));
            }
        }
        let taken = {
            let mut i = self.inner.lock();
            let vm = i
                .vms
                .get(uuid)
                .ok_or_else(|| ApiError::not_found("VM", uuid))?;
            if vm.power_state != VmPowerState::PoweredOff {
                return Err(ApiError::invalid_state(
                    "power the VM off before changing its CPUs or memory",
                ));
            }
            self.take(&mut i, uuid, "reconfigure", 0)?;
            Taken::new(self, uuid)
        };
        let r = self
            .driver
            .reconfigure(uuid, resize)
            .await
            .map(Settled::Now);
        let vm = self.settle(taken, r).await?;
        Ok(self.with_migration(vm))
    }

    pub async fn power(&self, uuid: &str, action: PowerAction) -> ApiResult<Vm> {
        let taken = {
            let mut i = self.inner.lock();
            if i.migrating_out.contains_key(uuid) {
                return Err(ApiError::new(ErrorCode::Busy, "the VM is being migrated"));
            }
            let vm = i
                .vms
                .get(uuid)
                .ok_or_else(|| ApiError::not_found("VM", uuid))?;
            let mut reserve = 0;
            match (action, vm.power_state) {
                (PowerAction::On, VmPowerState::PoweredOn) => {
                    return Err(ApiError::invalid_state("the VM is already powered on"))
                }
                (PowerAction::On, state) => {
                    if i.maintenance {
                        return Err(ApiError::invalid_state(
                            "the host is in maintenance mode: VMs may not power on",
                        ));
                    }
                    if state == VmPowerState::PoweredOff {
                        self.admit(&i, vm.memory_bytes)?;
                        reserve = vm.memory_bytes;
                    }
                }
                (PowerAction::Off, VmPowerState::PoweredOff) => {
                    return Err(ApiError::invalid_state("the VM is already powered off"))
                }
                (PowerAction::Off, _) => {}
                (PowerAction::Suspend, VmPowerState::PoweredOn) => {}
                (PowerAction::Suspend, _) => {
                    return Err(ApiError::invalid_state(
                        "only a powered-on VM can be suspended",
                    ))
                }
                (PowerAction::Reset, VmPowerState::PoweredOn) => {}
                (PowerAction::Reset, _) => {
                    return Err(ApiError::invalid_state("only a powered-on VM can be reset"))
                }
                (PowerAction::Shutdown, VmPowerState::PoweredOn) => {}
                (PowerAction::Shutdown, _) => {
                    return Err(ApiError::invalid_state(
                        "only a powered-on VM's guest can be shut down",
                    ))
                }
            }
            self.take(&mut i, uuid, "power", reserve)?;
            Taken::new(self, uuid)
        };
        let r = self.driver.power(uuid, action).await.map(Settled::Now);
        let vm = self.settle(taken, r).await?;
        Ok(self.with_migration(vm))
    }

    // ---- the driver's events

    /// Reads one VM again after the driver saw it change. A VM an operation holds is left to
    /// that operation (which reads it again when it ends); an answer overtaken by an operation
    /// that ended meanwhile is read again.
    async fn refresh_vm(&self, uuid: &str) {
        for _ in 0..3 {
            let generation = {
                let mut i = self.inner.lock();
                if i.busy.contains_key(uuid) || i.migrating_out.contains_key(uuid) {
                    i.stale.insert(uuid.to_string());
                    return;
                }
                i.generation
            };
            let now = self.driver.get_vm(uuid).await;
            let mut i = self.inner.lock();
            if i.generation != generation {
                continue;
            }
            match now {
                Ok(Some(vm)) => self.observe(&mut i, vm),
                Ok(None) => {
                    i.vms.remove(uuid);
                }
                Err(e) => warn!(vm = %uuid, error = %e.0.message, "cannot read a changed VM"),
            }
            return;
        }
    }

    /// Reads every VM and the host's capacity again (the driver reconnected).
    async fn resync(&self) {
        if let Ok(d) = self.driver.discover().await {
            self.inner.lock().capacity = capacity_of(&d);
        }
        self.retry_discards().await;
        for _ in 0..3 {
            let generation = self.inner.lock().generation;
            let Ok(listed) = self.driver.list_vms().await else {
                return;
            };
            let mut i = self.inner.lock();
            if i.generation != generation {
                continue;
            }
            let held =
                |i: &Inner, u: &str| i.busy.contains_key(u) || i.migrating_out.contains_key(u);
            let present: HashSet<String> = listed.iter().map(|v| v.uuid.clone()).collect();
            let gone: Vec<String> = i
                .vms
                .keys()
                .filter(|u| !present.contains(*u) && !held(&i, u))
                .cloned()
                .collect();
            for u in gone {
                i.vms.remove(&u);
            }
            for vm in listed {
                if !held(&i, &vm.uuid) {
                    self.observe(&mut i, vm);
                }
            }
            return;
        }
    }

    // ---- host operations

    /// Entering maintenance refuses power-ons at once and answers once those admitted before
    /// it have happened, so that what the server evacuates next includes them.
    pub async fn set_maintenance(&self, enabled: bool) -> Runtime {
        self.inner.lock().maintenance = enabled;
        self.save();
        if enabled {
            loop {
                let ended = self.op_ended.notified();
                if !self
                    .inner
                    .lock()
                    .busy
                    .values()
                    .any(|o| o.reserved_bytes > 0)
                {
                    break;
                }
                ended.await;
            }
        }
        self.runtime()
    }

    pub fn set_quarantine(&self, enabled: bool) -> Runtime {
        self.inner.lock().quarantined = enabled;
        self.save();
        self.runtime()
    }

    pub fn set_lockdown(&self, mode: LockdownMode) -> Runtime {
        self.inner.lock().lockdown = mode;
        self.save();
        self.runtime()
    }

    pub async fn rename(&self, hostname: &str) -> ApiResult<HostFacts> {
        validate_hostname(hostname)?;
        self.inner.lock().hostname = hostname.to_string();
        self.save();
        self.facts().await
    }

    pub fn uptime(&self) -> Uptime {
        let boot = self.inner.lock().boot_time;
        Uptime {
            boot_time: boot_secs(boot),
            uptime_secs: ((now_ms() - boot).max(0) / 1000) as u64,
        }
    }

    fn require_maintenance(&self, what: &str, force: bool) -> ApiResult<()> {
        if !force && !self.inner.lock().maintenance {
            return Err(ApiError::invalid_state(format!(
                "the host must be in maintenance mode to {what} (or pass force=true)"
            )));
        }
        Ok(())
    }

    async fn power_off_all_vms(&self) {
        let on: Vec<String> = {
            let i = self.inner.lock();
            i.vms
                .values()
                .filter(|v| v.power_state != VmPowerState::PoweredOff)
                .map(|v| v.uuid.clone())
                .collect()
        };
        for uuid in on {
            if let Ok(vm) = self.driver.power(&uuid, PowerAction::Off).await {
                let mut i = self.inner.lock();
                i.generation += 1;
                self.observe(&mut i, vm);
            }
        }
    }

    fn require_host_power(&self, what: &str) -> ApiResult<()> {
        if self.driver.capabilities().host_power {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::NotSupported,
                format!(
                    "the {} driver does not {what} the host; do it on the host itself",
                    self.driver.name()
                ),
            ))
        }
    }

    /// Reboots: VMs stop, the host is unreachable until the driver says it is back, then comes
    /// back with a new boot time, no sessions, and a `rebooted` event.
    pub fn reboot(self: &Arc<Self>, force: bool) -> ApiResult<()> {
        self.require_host_power("reboot")?;
        self.require_maintenance("reboot", force)?;
        let agent = self.clone();
        tokio::spawn(async move {
            // Let the answer to this request leave before the host goes away.
            tokio::time::sleep(Duration::from_millis(100)).await;
            agent.faults.unreachable.store(true, Ordering::SeqCst);
            agent.power_off_all_vms().await;
            agent.inner.lock().accounts.close_all_sessions();
            if let Err(e) = agent.driver.reboot_host().await {
                warn!(error = %e.0.message, "the host did not reboot");
            }
            let boot = now_ms();
            {
                let mut i = agent.inner.lock();
                i.boot_time = boot;
                i.power = HostPowerState::PoweredOn;
            }
            agent.event(EventData::Rebooted {
                boot_time: boot_secs(boot),
            });
            agent.faults.unreachable.store(false, Ordering::SeqCst);
            agent.save();
            info!("host rebooted");
        });
        Ok(())
    }

    /// Shuts down: VMs stop and the host stops answering until it is powered on again.
    pub fn shutdown(self: &Arc<Self>, force: bool) -> ApiResult<()> {
        self.require_host_power("shut down")?;
        self.require_maintenance("shut down", force)?;
        let agent = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            agent.power_off_all_vms().await;
            {
                let mut i = agent.inner.lock();
                i.power = HostPowerState::PoweredOff;
                i.accounts.close_all_sessions();
            }
            agent.faults.unreachable.store(true, Ordering::SeqCst);
            agent.save();
        });
        Ok(())
    }

    /// Powers a shut-down host on again (the simulated power button).
    pub fn power_on_host(&self) {
        let boot = now_ms();
        {
            let mut i = self.inner.lock();
            if i.power != HostPowerState::PoweredOff {
                return;
            }
            i.power = HostPowerState::PoweredOn;
            i.boot_time = boot;
        }
        self.faults.unreachable.store(false, Ordering::SeqCst);
        self.event(EventData::Rebooted {
            boot_time: boot_secs(boot),
        });
    }

    pub fn standby(&self, action: StandbyAction) -> ApiResult<Runtime> {
        {
            let mut i = self.inner.lock();
            match action {
                StandbyAction::Down => {
                    if i.power == HostPowerState::StandBy {
                        return Err(ApiError::invalid_state("the host is already in standby"));
                    }
                    if i.vms
                        .values()
                        .any(|v| v.power_state == VmPowerState::PoweredOn)
                        || i.busy.values().any(|o| o.reserved_bytes > 0)
                    {
                        return Err(ApiError::invalid_state(
                            "VMs are powered on: migrate or power them off before standby",
                        ));
                    }
                    i.power = HostPowerState::StandBy;
                }
                StandbyAction::Up => {
                    if i.power != HostPowerState::StandBy {
                        return Err(ApiError::invalid_state("the host is not in standby"));
                    }
                    i.power = HostPowerState::PoweredOn;
                }
            }
        }
        Ok(self.runtime())
    }

    /// In standby only the calls that wake or inspect the host are served.
    pub fn check_awake(&self) -> ApiResult<()> {
        if self.inner.lock().power == HostPowerState::StandBy {
            return Err(ApiError::new(
                ErrorCode::Unavailable,
                "the host is in standby",
            ));
        }
        Ok(())
    }

    pub fn events(&self, since: u64) -> EventsPage {
        self.inner.lock().events.since(since, 500)
    }

    // ---- faults (simulated fleets)

    /// Records a sensor's new status, which the driver now reports.
    pub fn note_sensor(&self, sensor: Sensor, status: SensorStatus) {
        self.event(EventData::SensorChanged { sensor, status });
    }

    pub fn exhaust_capacity(&self, on: bool) {
        let mut i = self.inner.lock();
        let (_, cap) = i.capacity;
        i.exhausted_bytes = 0;
        if on {
            let (_, used) = self.usage(&i);
            i.exhausted_bytes = cap.saturating_sub(used);
        }
    }

    // ---- migrations: destination side

    fn require_migration(&self) -> ApiResult<()> {
        if self.driver.capabilities().migration {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::NotSupported,
                format!(
                    "migration is not supported by the {} driver yet",
                    self.driver.name()
                ),
            ))
        }
    }

    pub fn prepare_incoming(&self, vm: Vm) -> ApiResult<IncomingTicket> {
        self.require_migration()?;
        validate_spec(&VmSpec {
            uuid: Some(vm.uuid.clone()),
            instance_uuid: None,
            name: vm.name.clone(),
            vcpus: vm.vcpus,
            memory_bytes: vm.memory_bytes,
            guest_os_id: vm.guest_os_id.clone(),
            disks: vm.disks.clone(),
            nics: vm.nics.clone(),
            power_on: false,
        })
        .map_err(|mut e| {
            e.0.field = e.0.field.map(|f| format!("vm.{f}"));
            e
        })?;
        let mut i = self.inner.lock();
        i.incoming.retain(|_, m| {
            m.created.elapsed() < INCOMING_TTL || m.state == MigrationState::Committed
        });
        if i.maintenance {
            return Err(ApiError::invalid_state(
                "the host is in maintenance mode: it takes no VMs",
            ));
        }
        if i.vms.contains_key(&vm.uuid)
            || i.incoming.values().any(|m| {
                m.vm.uuid == vm.uuid
                    && matches!(
                        m.state,
                        MigrationState::Prepared | MigrationState::Transferring
                    )
            })
        {
            return Err(ApiError::invalid_state(format!(
                "VM {} is already on this host or on its way",
                vm.uuid
            )));
        }
        if vm.power_state == VmPowerState::PoweredOn {
            self.admit(&i, vm.memory_bytes)?;
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let ticket = {
            let mut b = [0u8; 16];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
            hex::encode(b)
        };
        i.incoming.insert(
            id.clone(),
            Incoming {
                ticket: ticket.clone(),
                vm,
                state: MigrationState::Prepared,
                created: Instant::now(),
            },
        );
        Ok(IncomingTicket {
            migration_id: id,
            ticket,
        })
    }

    /// A step the source drives, authenticated by the ticket the destination issued.
    pub async fn incoming_step(
        &self,
        id: &str,
        step: &str,
        req: &TicketRequest,
    ) -> ApiResult<MigrationStatus> {
        let mut aborted = None;
        let committed_vm = {
            let mut i = self.inner.lock();
            let m = i
                .incoming
                .get_mut(id)
                .ok_or_else(|| ApiError::not_found("migration", id))?;
            if m.ticket != req.ticket {
                return Err(ApiError::new(
                    ErrorCode::PermissionDenied,
                    "wrong migration ticket",
                ));
            }
            match (step, m.state) {
                ("status", _) => None,
                ("transfer", MigrationState::Prepared) => {
                    match &req.vm {
                        Some(vm) if vm.uuid == m.vm.uuid => {}
                        _ => {
                            return Err(ApiError::invalid(
                                "vm",
                                "must be the VM this migration was prepared for",
                            ))
                        }
                    }
                    m.state = MigrationState::Transferring;
                    None
                }
                ("commit", MigrationState::Transferring) => {
                    m.state = MigrationState::Committed;
                    let mut vm = m.vm.clone();
                    vm.migrating_to = None;
                    Some(vm)
                }
                ("commit", MigrationState::Committed) => None,
                ("abort", MigrationState::Prepared | MigrationState::Transferring) => {
                    m.state = MigrationState::Aborted;
                    aborted = Some(m.vm.clone());
                    None
                }
                ("abort", MigrationState::Aborted) => None,
                ("transfer" | "commit" | "abort", state) => {
                    return Err(ApiError::invalid_state(format!(
                        "migration {id} is {state:?}: cannot {step}"
                    )))
                }
                (other, _) => return Err(ApiError::not_found("migration step", other)),
            }
        };
        if let Some(vm) = aborted {
            self.discard_incoming(vm).await;
        }
        if let Some(vm) = committed_vm {
            let uuid = vm.uuid.clone();
            let vm = self.driver.receive(vm).await?;
            {
                let mut i = self.inner.lock();
                i.generation += 1;
                self.observe(&mut i, vm);
            }
            self.event(EventData::MigrationEnded {
                vm_uuid: uuid,
                role: MigrationRole::Destination,
                outcome: MigrationState::Committed,
                destination: None,
            });
            self.save();
        }
        let state = self.inner.lock().incoming[id].state;
        Ok(MigrationStatus {
            migration_id: id.into(),
            state,
        })
    }

    /// Removes what an abandoned incoming migration left on the hypervisor (disks it made
    /// ready); kept and tried again when the driver reconnects if the hypervisor is away.
    async fn discard_incoming(&self, vm: Vm) {
        self.try_discard(Discard {
            vm,
            tries: 0,
            last_error: None,
            rechecks: DISCARD_RECHECKS,
        })
        .await;
    }

    async fn retry_discards(&self) {
        let discards = std::mem::take(&mut self.inner.lock().discards);
        for d in discards {
            self.try_discard(d).await;
        }
    }

    async fn try_discard(&self, mut d: Discard) {
        // A new migration of the VM to this host, under way, owns its disks now: nothing is
        // left over. (Committed ones stay on record long after; a VM that arrived is known to
        // the discard itself, by its persistent domain.)
        let taken_again = self.inner.lock().incoming.values().any(|m| {
            m.vm.uuid == d.vm.uuid
                && matches!(
                    m.state,
                    MigrationState::Prepared | MigrationState::Transferring
                )
        });
        if taken_again {
            return;
        }
        let e = match self.driver.discard_incoming(&d.vm).await {
            Ok(()) => {
                if d.tries > 0 {
                    info!(vm = %d.vm.uuid, tries = d.tries + 1, "an abandoned migration's leftovers are gone");
                    d.tries = 0;
                    d.last_error = None;
                }
                if d.rechecks > 0 {
                    d.rechecks -= 1;
                    self.inner.lock().discards.push(d);
                }
                return;
            }
            Err(e) => e,
        };
        d.tries += 1;
        if d.tries >= DISCARD_TRIES {
            warn!(vm = %d.vm.uuid, error = %e.0.message, "gave up removing an abandoned migration's leftovers: remove its disks by hand");
            return;
        }
        // Logged the first time and whenever the reason changes: a retry every few seconds for
        // minutes would otherwise bury the log, or hide why it never succeeds.
        if d.last_error.as_deref() != Some(e.0.message.as_str()) {
            warn!(vm = %d.vm.uuid, tries = d.tries, error = %e.0.message, "an abandoned migration's leftovers stay until the hypervisor answers");
            d.last_error = Some(e.0.message.clone());
        }
        self.inner.lock().discards.push(d);
    }

    // ---- migrations: source side

    /// Moves a VM to a prepared destination. The destination's commit is the switch-over: before
    /// it the VM stays here; after it the VM is removed here. If the commit's outcome cannot be
    /// learned, the VM stays here frozen (no power operations) until the destination answers.
    ///
    /// The migration runs as a task of its own, so a server that goes away mid-request (its
    /// connection dropped, the handler cancelled) leaves it to finish or abort here; either
    /// way the freeze is lifted and a `MigrationEnded` event tells the server what happened.
    pub async fn migrate_out(
        self: &Arc<Self>,
        uuid: &str,
        req: MigrateRequest,
    ) -> ApiResult<MigrationResult> {
        if req.destination_address.is_empty() {
            return Err(ApiError::invalid("destination_address", "is required"));
        }
        if ferrocenter_agent_client::normalize_thumbprint(&req.destination_thumbprint).is_none() {
            return Err(ApiError::invalid(
                "destination_thumbprint",
                "must be a SHA-256 thumbprint (32 hex bytes)",
            ));
        }
        self.require_migration()?;
        let destination = format!("{}:{}", req.destination_address, req.destination_port);
        let vm = {
            let mut i = self.inner.lock();
            let vm = i
                .vms
                .get(uuid)
                .cloned()
                .ok_or_else(|| ApiError::not_found("VM", uuid))?;
            if i.migrating_out.contains_key(uuid) {
                return Err(ApiError::new(
                    ErrorCode::Busy,
                    "a migration of this VM is already running",
                ));
            }
            if let Some(op) = i.busy.get(uuid) {
                return Err(ApiError::new(
                    ErrorCode::Busy,
                    format!("another operation on this VM is running ({})", op.what),
                ));
            }
            i.migrating_out
                .insert(uuid.to_string(), destination.clone());
            vm
        };
        let freeze = Freeze {
            agent: self.clone(),
            uuid: uuid.to_string(),
            destination,
            outcome: MigrationState::Aborted,
            hold: false,
        };
        let agent = self.clone();
        tokio::spawn(async move { agent.send_vm(vm, req, freeze).await })
            .await
            .unwrap_or_else(|e| {
                Err(ApiError::new(
                    ErrorCode::Internal,
                    format!("the migration stopped: {e}"),
                ))
            })
    }

    /// How far the migration of `uuid` away from this host has come.
    pub fn migration_progress(&self, uuid: &str) -> ApiResult<MigrationProgress> {
        let i = self.inner.lock();
        let destination = i
            .migrating_out
            .get(uuid)
            .cloned()
            .ok_or_else(|| ApiError::not_found("migration of VM", uuid))?;
        let p = i.progress.get(uuid).copied().unwrap_or_default();
        let percent = match p.total_bytes {
            0 => 0,
            t => (p.processed_bytes.min(t) * 99 / t) as u8,
        };
        Ok(MigrationProgress {
            destination,
            processed_bytes: p.processed_bytes,
            total_bytes: p.total_bytes,
            percent,
        })
    }

    /// Asks the driver to abandon the migration of `uuid`; the `migrate` call in flight then
    /// fails and the VM stays here.
    pub async fn cancel_migration(&self, uuid: &str) -> ApiResult<MigrationProgress> {
        let now = self.migration_progress(uuid)?;
        self.driver.cancel_transfer(uuid).await?;
        info!(vm = %uuid, "migration cancel requested");
        Ok(now)
    }

    /// The source's side of a migration, detached from the request that asked for it.
    async fn send_vm(
        self: Arc<Self>,
        vm: Vm,
        req: MigrateRequest,
        mut freeze: Freeze,
    ) -> ApiResult<MigrationResult> {
        let started = Instant::now();
        let uuid = vm.uuid.clone();
        let dest = self.connector.client(
            &req.destination_address,
            req.destination_port,
            Some(&req.destination_thumbprint),
        );
        let ticket = |vm: Option<Vm>| TicketRequest {
            ticket: req.ticket.clone(),
            vm,
        };
        if let Err(e) = dest
            .migration_step(&req.migration_id, "transfer", &ticket(Some(vm.clone())))
            .await
        {
            // Whatever the destination holds for this migration is released (best effort).
            let _ = dest
                .migration_step(&req.migration_id, "abort", &ticket(None))
                .await;
            return Err(dest_error("transfer", e));
        }
        let sink = {
            let agent = Arc::downgrade(&self);
            let uuid = uuid.clone();
            Arc::new(move |p: TransferProgress| {
                if let Some(a) = agent.upgrade() {
                    let mut i = a.inner.lock();
                    if i.migrating_out.contains_key(&uuid) {
                        i.progress.insert(uuid.clone(), p);
                    }
                }
            })
        };
        let target = TransferTarget {
            address: req.destination_address.clone(),
        };
        let transferred = self.driver.transfer(&vm, &target, sink).await;
        self.inner.lock().progress.remove(&uuid);
        if let Err(e) = transferred {
            let _ = dest
                .migration_step(&req.migration_id, "abort", &ticket(None))
                .await;
            return Err(e);
        }
        if self.driver.capabilities().transfer_switches_over {
            // The hypervisor has moved the VM: it is the destination's now, whatever the
            // commit answers (a destination agent that misses it adopts the VM from its
            // hypervisor's events).
            freeze.outcome = MigrationState::Committed;
            self.finish_moved(&uuid).await;
            if let Err(e) = dest
                .migration_step(&req.migration_id, "commit", &ticket(None))
                .await
            {
                warn!(vm = %uuid, error = %e, "the destination did not take the commit; it adopts the VM from its hypervisor");
            }
            return Ok(MigrationResult {
                vm,
                duration_ms: started.elapsed().as_millis() as u64,
            });
        }
        match dest
            .migration_step(&req.migration_id, "commit", &ticket(None))
            .await
        {
            Ok(_) => {
                freeze.outcome = MigrationState::Committed;
                self.finish_moved(&uuid).await;
                Ok(MigrationResult {
                    vm,
                    duration_ms: started.elapsed().as_millis() as u64,
                })
            }
            Err(e @ AgentError::Api { .. }) => {
                // The destination refused the commit: it does not have the VM.
                let _ = dest
                    .migration_step(&req.migration_id, "abort", &ticket(None))
                    .await;
                Err(dest_error("commit", e))
            }
            Err(e) => {
                warn!(vm = %uuid, error = %e, "migration commit outcome unknown; VM frozen until the destination answers");
                let agent = self.clone();
                let (id, t) = (req.migration_id.clone(), req.ticket.clone());
                tokio::spawn(async move { agent.resolve_uncertain(dest, freeze, id, t).await });
                Err(ApiError::new(
                    ErrorCode::Unavailable,
                    format!("the destination stopped answering during the switch-over ({e}); the VM stays on this host, frozen, until the destination answers"),
                ))
            }
        }
    }

    async fn finish_moved(&self, uuid: &str) {
        // A hypervisor that switched over has already taken the VM away from here.
        let here = !self.driver.capabilities().transfer_switches_over
            || matches!(self.driver.get_vm(uuid).await, Ok(Some(_)));
        if here {
            if let Err(e) = self.driver.undefine_vm(uuid).await {
                warn!(vm = %uuid, error = %e.0.message, "the migrated VM could not be removed here");
            }
        }
        {
            let mut i = self.inner.lock();
            i.generation += 1;
            i.vms.remove(uuid);
        }
        self.save();
        info!(vm = %uuid, "VM migrated away");
    }

    async fn resolve_uncertain(
        self: Arc<Self>,
        dest: ferrocenter_agent_client::AgentClient,
        mut freeze: Freeze,
        id: String,
        ticket: String,
    ) {
        let req = TicketRequest { ticket, vm: None };
        for _ in 0..720 {
            match dest.migration_step(&id, "status", &req).await {
                Ok(s) if s.state == MigrationState::Committed => {
                    freeze.outcome = MigrationState::Committed;
                    self.finish_moved(&freeze.uuid).await;
                    return;
                }
                Ok(_) | Err(AgentError::Api { .. }) => {
                    let _ = dest.migration_step(&id, "abort", &req).await;
                    info!(vm = %freeze.uuid, "migration aborted after the destination answered again");
                    return;
                }
                Err(_) => tokio::time::sleep(Duration::from_secs(5)).await,
            }
        }
        // An hour without an answer: whether the destination committed is unknowable here, so
        // the VM stays frozen rather than risk running on two hosts; an operator decides.
        warn!(vm = %freeze.uuid, "the destination never answered; the VM stays frozen");
        freeze.hold = true;
    }
}

/// A VM frozen for a migration away: dropped, however the migration ended (finished, failed,
/// or its task cancelled or panicking), it lifts the freeze and records the outcome as an event.
struct Freeze {
    agent: Arc<Agent>,
    uuid: String,
    destination: String,
    /// What dropping it reports; `Committed` once the destination has the VM.
    outcome: MigrationState,
    /// The outcome could not be learned: the VM stays frozen.
    hold: bool,
}

impl Drop for Freeze {
    fn drop(&mut self) {
        if self.hold {
            return;
        }
        self.agent.inner.lock().migrating_out.remove(&self.uuid);
        self.agent.event(EventData::MigrationEnded {
            vm_uuid: self.uuid.clone(),
            role: MigrationRole::Source,
            outcome: self.outcome,
            destination: Some(std::mem::take(&mut self.destination)),
        });
    }
}

fn dest_error(step: &str, e: AgentError) -> ApiError {
    let code = match &e {
        AgentError::Api { body, .. } => body.code,
        AgentError::SslVerify { .. } => ErrorCode::PermissionDenied,
        _ => ErrorCode::Unavailable,
    };
    ApiError::new(
        code,
        format!("migration {step} failed at the destination: {e}"),
    )
}
