//! One host agent: accounts, management claim, host flags, capacity, events, migrations. The
//! HTTP layer (`api`) only parses and calls these methods.
use parking_lot::Mutex;
use std::collections::HashMap;
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
use crate::driver::Hypervisor;
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

/// What survives an agent restart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Persisted {
    pub accounts: AccountsState,
    pub claim: Option<Claim>,
    pub maintenance: bool,
    pub lockdown: LockdownMode,
    pub quarantined: bool,
    pub hostname: String,
    pub vms: Vec<Vm>,
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
    /// Memory made unavailable by the "exhaust capacity" fault.
    exhausted_bytes: u64,
}

pub struct Agent {
    pub driver: Arc<dyn Hypervisor>,
    pub faults: Arc<Faults>,
    connector: AgentConnector,
    persist: Option<PathBuf>,
    /// Root and service-account logins per source address (the server's limiter).
    login_budget: LoginLimiter,
    inner: Mutex<Inner>,
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

fn validate_spec(spec: &VmSpec) -> ApiResult<()> {
    if spec.name.trim().is_empty() || spec.name.len() > 80 {
        return Err(ApiError::invalid("name", "must be 1 to 80 characters"));
    }
    if spec.vcpus == 0 || spec.vcpus > 768 {
        return Err(ApiError::invalid("vcpus", "must be between 1 and 768"));
    }
    if spec.memory_bytes < (4 << 20) || spec.memory_bytes > (24 << 40) {
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
    }
    Ok(())
}

impl Agent {
    pub fn new(
        driver: Arc<dyn Hypervisor>,
        accounts: AccountsState,
        connector: AgentConnector,
        persist: Option<PathBuf>,
        uptime: Duration,
    ) -> Agent {
        Agent {
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
                boot_time: now_ms() - uptime.as_millis() as i64,
                events: EventLog::default(),
                incoming: HashMap::new(),
                migrating_out: HashMap::new(),
                exhausted_bytes: 0,
            }),
        }
    }

    /// Restores what a previous run saved.
    pub fn restore(&self, p: Persisted) {
        self.driver.set_hostname(&p.hostname);
        for mut vm in p.vms {
            // Saved before VMs had instance uuids: the BIOS uuid stands in, as it does in a
            // server's records of that time.
            if vm.instance_uuid.is_empty() {
                vm.instance_uuid = vm.uuid.clone();
            }
            let _ = self.driver.define_vm(vm);
        }
        let mut i = self.inner.lock();
        i.accounts = Accounts::new(p.accounts);
        i.claim = p.claim;
        i.maintenance = p.maintenance;
        i.lockdown = p.lockdown;
        i.quarantined = p.quarantined;
    }

    fn save(&self) {
        let Some(path) = &self.persist else { return };
        let snapshot = {
            let i = self.inner.lock();
            Persisted {
                accounts: i.accounts.state.clone(),
                claim: i.claim.clone(),
                maintenance: i.maintenance,
                lockdown: i.lockdown,
                quarantined: i.quarantined,
                hostname: self.driver.discover().hostname,
                vms: self.driver.list_vms(),
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

    pub fn facts(&self) -> HostFacts {
        let d = self.driver.discover();
        let boot_time = self.inner.lock().boot_time;
        HostFacts {
            hostname: d.hostname,
            hardware: d.hardware,
            architecture: d.architecture,
            os_name: d.os_name,
            os_version: d.os_version,
            hypervisor: d.hypervisor,
            nics: d.nics,
            datastores: d.datastores,
            networks: d.networks,
            boot_time: boot_secs(boot_time),
            sensors: self.driver.sensors(),
            ipmi_address: d.ipmi_address,
            ipmi: d.ipmi,
            os_release: d.os_release,
            nqn: d.nqn,
            agent_version: AGENT_VERSION.into(),
        }
    }

    fn capacity(&self) -> (u64, u64) {
        let hw = self.driver.discover().hardware;
        (hw.cpu_cores as u64 * hw.cpu_mhz as u64, hw.memory_bytes)
    }

    /// Memory and CPU in use: powered-on VMs, incoming reservations, and the exhaustion fault.
    fn usage(&self, i: &Inner) -> (u64, u64) {
        let vms = self.driver.list_vms();
        let on = vms
            .iter()
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
            + i.exhausted_bytes;
        (cpu, mem)
    }

    fn admit(&self, i: &Inner, memory: u64) -> ApiResult<()> {
        let (_, cap) = self.capacity();
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
        let (cpu_cap, mem_cap) = self.capacity();
        let i = self.inner.lock();
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
            vm_count: self.driver.list_vms().len() as u32,
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
        self.driver
            .list_vms()
            .into_iter()
            .map(|mut v| {
                v.migrating_to = i.migrating_out.get(&v.uuid).cloned();
                v
            })
            .collect()
    }

    pub fn vm(&self, uuid: &str) -> ApiResult<Vm> {
        let vm = self
            .driver
            .get_vm(uuid)
            .ok_or_else(|| ApiError::not_found("VM", uuid))?;
        Ok(self.with_migration(vm))
    }

    pub fn create_vm(&self, spec: VmSpec) -> ApiResult<Vm> {
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
        {
            let i = self.inner.lock();
            if spec.power_on {
                if i.maintenance {
                    return Err(ApiError::invalid_state(
                        "the host is in maintenance mode: VMs may not power on",
                    ));
                }
                self.admit(&i, vm.memory_bytes)?;
            }
            self.driver.define_vm(vm.clone())?;
        }
        if spec.power_on {
            self.event(EventData::VmPowerChanged {
                vm_uuid: vm.uuid.clone(),
                power_state: VmPowerState::PoweredOn,
            });
        }
        self.save();
        Ok(vm)
    }

    pub fn unregister_vm(&self, uuid: &str) -> ApiResult<Vm> {
        {
            let i = self.inner.lock();
            if i.migrating_out.contains_key(uuid) {
                return Err(ApiError::new(ErrorCode::Busy, "the VM is being migrated"));
            }
            let vm = self
                .driver
                .get_vm(uuid)
                .ok_or_else(|| ApiError::not_found("VM", uuid))?;
            if vm.power_state == VmPowerState::PoweredOn {
                return Err(ApiError::invalid_state(
                    "power the VM off before unregistering it",
                ));
            }
        }
        let vm = self.driver.undefine_vm(uuid)?;
        self.save();
        Ok(vm)
    }

    /// A powered-off VM's vCPUs and memory, within the limits a new VM has.
    pub fn reconfigure_vm(&self, uuid: &str, r: &VmReconfigure) -> ApiResult<Vm> {
        if r.vcpus.is_some_and(|v| v == 0 || v > 768) {
            return Err(ApiError::invalid("vcpus", "must be between 1 and 768"));
        }
        if r.memory_bytes
            .is_some_and(|m| !((4 << 20)..=(24 << 40)).contains(&m))
        {
            return Err(ApiError::invalid(
                "memory_bytes",
                "must be between 4 MiB and 24 TiB",
            ));
        }
        let vm = {
            let i = self.inner.lock();
            if i.migrating_out.contains_key(uuid) {
                return Err(ApiError::new(ErrorCode::Busy, "the VM is being migrated"));
            }
            let vm = self
                .driver
                .get_vm(uuid)
                .ok_or_else(|| ApiError::not_found("VM", uuid))?;
            if vm.power_state != VmPowerState::PoweredOff {
                return Err(ApiError::invalid_state(
                    "power the VM off before changing its CPUs or memory",
                ));
            }
            self.driver.reconfigure_vm(uuid, r.vcpus, r.memory_bytes)?
        };
        self.save();
        Ok(vm)
    }

    pub fn power(&self, uuid: &str, action: PowerAction) -> ApiResult<Vm> {
        let (vm, changed) = {
            let i = self.inner.lock();
            if i.migrating_out.contains_key(uuid) {
                return Err(ApiError::new(ErrorCode::Busy, "the VM is being migrated"));
            }
            let vm = self
                .driver
                .get_vm(uuid)
                .ok_or_else(|| ApiError::not_found("VM", uuid))?;
            let target = match (action, vm.power_state) {
                (PowerAction::On, VmPowerState::PoweredOn) => {
                    return Err(ApiError::invalid_state("the VM is already powered on"))
                }
                (PowerAction::On, _) => {
                    if i.maintenance {
                        return Err(ApiError::invalid_state(
                            "the host is in maintenance mode: VMs may not power on",
                        ));
                    }
                    if vm.power_state == VmPowerState::PoweredOff {
                        self.admit(&i, vm.memory_bytes)?;
                    }
                    VmPowerState::PoweredOn
                }
                (PowerAction::Off, VmPowerState::PoweredOff) => {
                    return Err(ApiError::invalid_state("the VM is already powered off"))
                }
                (PowerAction::Off, _) => VmPowerState::PoweredOff,
                (PowerAction::Suspend, VmPowerState::PoweredOn) => VmPowerState::Suspended,
                (PowerAction::Suspend, _) => {
                    return Err(ApiError::invalid_state(
                        "only a powered-on VM can be suspended",
                    ))
                }
                (PowerAction::Reset, VmPowerState::PoweredOn) => VmPowerState::PoweredOn,
                (PowerAction::Reset, _) => {
                    return Err(ApiError::invalid_state("only a powered-on VM can be reset"))
                }
            };
            let changed = target != vm.power_state;
            (self.driver.set_power(uuid, target)?, changed)
        };
        if changed {
            self.event(EventData::VmPowerChanged {
                vm_uuid: uuid.into(),
                power_state: vm.power_state,
            });
            self.save();
        }
        Ok(vm)
    }

    // ---- host operations

    pub fn set_maintenance(&self, enabled: bool) -> Runtime {
        self.inner.lock().maintenance = enabled;
        self.save();
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

    pub fn rename(&self, hostname: &str) -> ApiResult<HostFacts> {
        validate_hostname(hostname)?;
        self.driver.set_hostname(hostname);
        self.save();
        Ok(self.facts())
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

    fn power_off_all_vms(&self) {
        for vm in self.driver.list_vms() {
            if vm.power_state != VmPowerState::PoweredOff
                && self
                    .driver
                    .set_power(&vm.uuid, VmPowerState::PoweredOff)
                    .is_ok()
            {
                self.event(EventData::VmPowerChanged {
                    vm_uuid: vm.uuid,
                    power_state: VmPowerState::PoweredOff,
                });
            }
        }
    }

    /// Reboots: VMs stop, the host is unreachable for the driver's reboot time, then comes back
    /// with a new boot time, no sessions, and a `rebooted` event.
    pub fn reboot(self: &Arc<Self>, force: bool) -> ApiResult<()> {
        self.require_maintenance("reboot", force)?;
        let agent = self.clone();
        tokio::spawn(async move {
            // Let the answer to this request leave before the host goes away.
            tokio::time::sleep(Duration::from_millis(100)).await;
            agent.faults.unreachable.store(true, Ordering::SeqCst);
            agent.power_off_all_vms();
            agent.inner.lock().accounts.close_all_sessions();
            tokio::time::sleep(agent.driver.reboot_time()).await;
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
        self.require_maintenance("shut down", force)?;
        let agent = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            agent.power_off_all_vms();
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
                    if self
                        .driver
                        .list_vms()
                        .iter()
                        .any(|v| v.power_state == VmPowerState::PoweredOn)
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

    pub fn set_sensor(&self, sensor: Sensor, status: SensorStatus) {
        if self.driver.sensors().get(&sensor) != Some(&status) {
            self.driver.set_sensor(sensor, status);
            self.event(EventData::SensorChanged { sensor, status });
        }
    }

    pub fn exhaust_capacity(&self, on: bool) {
        let (_, cap) = self.capacity();
        let mut i = self.inner.lock();
        i.exhausted_bytes = 0;
        if on {
            let (_, used) = self.usage(&i);
            i.exhausted_bytes = cap.saturating_sub(used);
        }
    }

    // ---- migrations: destination side

    pub fn prepare_incoming(&self, vm: Vm) -> ApiResult<IncomingTicket> {
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
        if self.driver.get_vm(&vm.uuid).is_some()
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
    pub fn incoming_step(
        &self,
        id: &str,
        step: &str,
        req: &TicketRequest,
    ) -> ApiResult<MigrationStatus> {
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
        if let Some(vm) = committed_vm {
            let powered = vm.power_state == VmPowerState::PoweredOn;
            let uuid = vm.uuid.clone();
            self.driver.define_vm(vm)?;
            if powered {
                self.event(EventData::VmPowerChanged {
                    vm_uuid: uuid.clone(),
                    power_state: VmPowerState::PoweredOn,
                });
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
        let destination = format!("{}:{}", req.destination_address, req.destination_port);
        let vm = {
            let mut i = self.inner.lock();
            let vm = self
                .driver
                .get_vm(uuid)
                .ok_or_else(|| ApiError::not_found("VM", uuid))?;
            if i.migrating_out.contains_key(uuid) {
                return Err(ApiError::new(
                    ErrorCode::Busy,
                    "a migration of this VM is already running",
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
        tokio::time::sleep(self.driver.transfer_time(&vm)).await;
        match dest
            .migration_step(&req.migration_id, "commit", &ticket(None))
            .await
        {
            Ok(_) => {
                freeze.outcome = MigrationState::Committed;
                self.finish_moved(&uuid);
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

    fn finish_moved(&self, uuid: &str) {
        let _ = self.driver.undefine_vm(uuid);
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
                    self.finish_moved(&freeze.uuid);
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
