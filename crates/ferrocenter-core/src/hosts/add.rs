//! Adding a host (vim AddHost_Task / AddStandaloneHost_Task, ZStack AddKVMHost).
use rand::RngCore;
use serde_json::json;

use crate::auth::{Caller, Privilege};
use crate::inventory::{ConnectionState, Host, HostState, LockdownMode};
use crate::model::{new_uuid, EntityRef};
use std::sync::Arc;

use super::claims::ClaimIntent;
use crate::inventory::{HostFacts, VmInfo};
use crate::ports::{AgentAbout, AgentInstall, AgentSession, SshLogin, SshTarget};
use crate::saga::{Saga, Step, StepFuture};
use crate::tasks::TaskKind;
use crate::tasks::{Task, TaskSpec};
use crate::validate;
use crate::{Core, CoreError};

/// Everything an add may carry: vim's HostConnectSpec and ZStack's AddKVMHost fields.
#[derive(Debug, Clone, Default)]
pub struct AddHostSpec {
    /// Add into this cluster…
    pub cluster_id: Option<String>,
    /// …or standalone into this datacenter.
    pub datacenter_id: Option<String>,
    /// Address of the agent (vim hostName, ZStack managementIp).
    pub host_name: String,
    pub port: Option<u16>,
    pub ssl_thumbprint: Option<String>,
    pub user_name: String,
    pub password: String,
    pub force: bool,
    pub vim_account_name: Option<String>,
    pub vim_account_password: Option<String>,
    pub management_ip: Option<String>,
    /// `lockdownDisabled`, `lockdownNormal` or `lockdownStrict`.
    pub lockdown_mode: Option<String>,
    /// Inventory name (ZStack `name`); defaults to the host name.
    pub name: Option<String>,
    pub description: Option<String>,
    pub ssh_port: Option<u16>,
    /// Client-chosen id (ZStack resourceUuid).
    pub resource_uuid: Option<String>,
    pub tags: Vec<String>,
    pub system_tags: Vec<String>,
    /// With no thumbprint, accept the certificate the agent presents and pin it (ZStack's
    /// AddKVMHost carries no thumbprint; the credentials are what authenticates the add). The
    /// accepted thumbprint is recorded in the host's connected event.
    pub trust_first_certificate: bool,
}

fn lockdown(s: &str) -> Result<LockdownMode, CoreError> {
    LockdownMode::parse_vim(s).ok_or_else(|| {
        CoreError::invalid(
            "lockdownMode",
            format!("'{s}' is not lockdownDisabled, lockdownNormal or lockdownStrict"),
        )
    })
}

fn random_secret() -> String {
    let mut b = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

impl Core {
    /// Starts adding a host. Input errors are answered at once; everything that needs the host
    /// happens in the returned task.
    pub async fn add_host(&self, caller: &Caller, spec: AddHostSpec) -> Result<Task, CoreError> {
        let (datacenter_id, cluster_id) = match (&spec.cluster_id, &spec.datacenter_id) {
            (Some(c), _) => {
                self.auth
                    .authorize(caller, Privilege::HostInventoryAddHostToCluster)?;
                let cluster = self
                    .store
                    .get_cluster(c)
                    .await?
                    .ok_or_else(|| CoreError::not_found("cluster", c))?;
                (cluster.datacenter_id, Some(cluster.id))
            }
            (None, Some(d)) => {
                self.auth
                    .authorize(caller, Privilege::HostInventoryAddStandaloneHost)?;
                let dc = self
                    .store
                    .get_datacenter(d)
                    .await?
                    .ok_or_else(|| CoreError::not_found("datacenter", d))?;
                (dc.id, None)
            }
            (None, None) => {
                return Err(CoreError::invalid(
                    "cluster",
                    "a cluster or a datacenter is required",
                ))
            }
        };
        validate::host_name("hostName", &spec.host_name)?;
        validate::port_opt("port", spec.port)?;
        validate::credential("userName", &spec.user_name)?;
        validate::credential("password", &spec.password)?;
        let thumbprint = validate::thumbprint("sslThumbprint", spec.ssl_thumbprint.as_deref())?;
        if let Some(a) = &spec.vim_account_name {
            crate::auth::validate_account_name("vimAccountName", a)?;
        }
        if let Some(p) = &spec.vim_account_password {
            if p.len() < 16 {
                return Err(CoreError::invalid(
                    "vimAccountPassword",
                    "must be at least 16 characters",
                ));
            }
        }
        let lockdown_mode = spec.lockdown_mode.as_deref().map(lockdown).transpose()?;
        if let Some(ip) = &spec.management_ip {
            validate::host_name("managementIp", ip)?;
        }
        validate::port_opt("sshPort", spec.ssh_port)?;
        let ssh_pin = super::bootstrap::pinned_host_key(&spec.system_tags)?;
        let name = spec.name.clone().unwrap_or_else(|| spec.host_name.clone());
        validate::entity_name("name", &name)?;
        if let Some(u) = &spec.resource_uuid {
            validate::uuid("resourceUuid", u)?;
        }
        let port = spec.port.unwrap_or(self.config.hosts.default_agent_port);
        self.host_taken(&spec.host_name, port, Some((&datacenter_id, &name)))
            .await?;
        let core = self.self_arc();
        let user = caller.user.clone();
        let task = TaskSpec {
            // Kept apart because vim names them differently (AddHost_Task, AddStandaloneHost_Task).
            kind: if cluster_id.is_some() {
                TaskKind::HostAdd
            } else {
                TaskKind::HostAddStandalone
            },
            target: Some(EntityRef::new(
                "host-address",
                format!("{}:{port}", spec.host_name),
            )),
            initiator: caller.user.clone(),
            description: format!("Add host {name}"),
            cancelable: false,
            timeout: None,
        };
        self.tasks
            .submit(task, move |ctx| async move {
                let mut st = Adding {
                    core: core.clone(),
                    spec,
                    datacenter_id,
                    cluster_id,
                    port,
                    thumbprint,
                    lockdown_mode,
                    name,
                    root: None,
                    about: None,
                    accepted_on_first_use: false,
                    facts: None,
                    set_architecture: false,
                    server_uuid: String::new(),
                    task_id: Some(ctx.id().to_string()),
                    intent: None,
                    claimed: false,
                    account: String::new(),
                    secret: String::new(),
                    account_created: false,
                    service: None,
                    host: None,
                    lockdown_before: None,
                    vms: Vec::new(),
                    ssh_pin,
                    ssh_host_key: None,
                };
                let r = core.run_saga(&ADD, &mut st, Some(&ctx)).await;
                if let Some(root) = &st.root {
                    root.logout().await;
                }
                r?;
                let (Some(host), Some(about)) = (&st.host, &st.about) else {
                    return Err(CoreError::internal("host add ended without its host"));
                };
                core.record_event(
                    "HostConnectedEvent",
                    "host",
                    &host.id,
                    &host.name,
                    &user,
                    format!(
                        "Connected to {} ({} {})",
                        host.name, about.product, about.version
                    ),
                    json!({
                        "address": host.address,
                        "port": host.port,
                        "thumbprint": host.thumbprint,
                        "acceptedOnFirstUse": st.accepted_on_first_use,
                    }),
                )
                .await;
                Ok(crate::tasks::TaskResult::HostAdded {
                    host: host.id.clone(),
                    moid: host.moid.clone(),
                    vms: st.vms.len(),
                })
            })
            .await
    }

    /// A cluster's hosts share one CPU architecture; the first host sets it (then true).
    async fn check_cluster_architecture(
        &self,
        cluster_id: &str,
        arch: &str,
    ) -> Result<bool, CoreError> {
        let Some(mut c) = self.store.get_cluster(cluster_id).await? else {
            return Err(CoreError::not_found("cluster", cluster_id));
        };
        match &c.architecture {
            Some(a) if a != arch => Err(CoreError::invalid_state(format!(
                "the host's CPU architecture {arch} differs from cluster {}'s {a}",
                c.name
            ))),
            Some(_) => Ok(false),
            None => {
                c.architecture = Some(arch.to_string());
                self.store.update_cluster(&c).await?;
                Ok(true)
            }
        }
    }
}

impl Core {
    /// An agent address is connected at most once, and host names are unique within a
    /// datacenter (vim DuplicateName). Checked before an add starts, again when it connects,
    /// and after the store's unique keys refused a registration, to name which one.
    async fn host_taken(
        &self,
        address: &str,
        port: u16,
        name_in: Option<(&str, &str)>,
    ) -> Result<(), CoreError> {
        if let Some(h) = self.store.find_host_by_address(address, port).await? {
            return Err(CoreError::AlreadyConnected { name: h.name });
        }
        if let Some((datacenter_id, name)) = name_in {
            if self
                .store
                .find_host_by_name(datacenter_id, name)
                .await?
                .is_some()
            {
                return Err(CoreError::AlreadyExists {
                    what: "host".into(),
                    name: name.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// The add flow's state: the request, then what each step learns for the ones after it.
pub struct Adding {
    core: Arc<Core>,
    /// The SSH host key the caller pinned (system tag `sshHostKey::`), for a bootstrap.
    ssh_pin: Option<String>,
    /// The SSH host key a bootstrap met, recorded on the host.
    ssh_host_key: Option<String>,
    spec: AddHostSpec,
    datacenter_id: String,
    cluster_id: Option<String>,
    port: u16,
    /// The thumbprint to pin: the request's, or the one accepted on first use.
    thumbprint: Option<String>,
    lockdown_mode: Option<LockdownMode>,
    name: String,
    /// The administrator's session, open until the flow ends.
    root: Option<Arc<dyn AgentSession>>,
    about: Option<AgentAbout>,
    accepted_on_first_use: bool,
    facts: Option<HostFacts>,
    /// This add gave the cluster its CPU architecture.
    set_architecture: bool,
    server_uuid: String,
    /// The add's task, named by its claim intent.
    task_id: Option<String>,
    /// Stored before the claim, until the host record holds what it holds.
    intent: Option<ClaimIntent>,
    /// The agent holds this server's claim (made by this add and not released).
    claimed: bool,
    account: String,
    secret: String,
    /// The service account did not exist before this add.
    account_created: bool,
    service: Option<Arc<dyn AgentSession>>,
    host: Option<Host>,
    /// The host's lockdown mode before this add changed it.
    lockdown_before: Option<LockdownMode>,
    /// The agent's VMs, registered with the host record.
    vms: Vec<VmInfo>,
}

impl Adding {
    fn open(&self, thumbprint: Option<&str>) -> Arc<dyn AgentSession> {
        let a = &self.spec.host_name;
        self.core.open_agent(a, a, self.port, thumbprint)
    }

    fn root(&self) -> Result<&Arc<dyn AgentSession>, CoreError> {
        self.root
            .as_ref()
            .ok_or_else(|| CoreError::internal("host add: no session to the host"))
    }

    fn service(&self) -> Result<&Arc<dyn AgentSession>, CoreError> {
        self.service
            .as_ref()
            .ok_or_else(|| CoreError::internal("host add: no service session"))
    }

    fn host(&self) -> Result<&Host, CoreError> {
        self.host
            .as_ref()
            .ok_or_else(|| CoreError::internal("host add: no host record"))
    }
}

/// Adding a host, step by step.
pub static ADD: Saga<Adding> = Saga {
    name: "host add",
    steps: &[
        Step {
            name: "connect",
            note: "connecting to the host",
            action: connect,
            undo: None,
        },
        Step {
            name: "log in",
            note: "logging in",
            action: log_in,
            undo: None,
        },
        Step {
            name: "cluster architecture",
            note: "checking the cluster's CPU architecture",
            action: cluster_architecture,
            undo: Some(forget_architecture),
        },
        Step {
            name: "licenses",
            note: "checking licenses",
            action: licenses,
            undo: None,
        },
        Step {
            name: "claim intent",
            note: "claiming the host",
            action: record_claim_intent,
            undo: Some(drop_claim_intent),
        },
        Step {
            name: "claim",
            note: "claiming the host",
            action: claim,
            undo: Some(release_claim),
        },
        Step {
            name: "service account",
            note: "creating the service account",
            action: service_account,
            undo: Some(delete_service_account),
        },
        Step {
            name: "service login",
            note: "logging in with the service account",
            action: service_login,
            undo: Some(service_logout),
        },
        Step {
            name: "inventory",
            note: "discovering the host's VMs",
            action: inventory,
            undo: None,
        },
        Step {
            name: "host record",
            note: "registering the host with its datastores, networks and VMs",
            action: host_record,
            undo: Some(delete_host_record),
        },
        Step {
            name: "lockdown",
            note: "setting lockdown mode",
            action: lockdown_step,
            undo: Some(restore_lockdown),
        },
        Step {
            name: "connected",
            note: "connected",
            action: connected,
            undo: Some(forget_session),
        },
    ],
};

fn connect(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        st.core
            .host_taken(&st.spec.host_name, st.port, None)
            .await?;
        let mut root = st.open(st.thumbprint.as_deref());
        let first = match root.about().await {
            Err(CoreError::NoHost { reason, .. }) if st.may_bootstrap() => {
                bootstrap(st, &reason).await?;
                wait_for_agent(&root).await
            }
            other => other,
        };
        let about = match first {
            Ok(a) => a,
            Err(CoreError::SslVerify {
                thumbprint: seen, ..
            }) if st.thumbprint.is_none() && st.spec.trust_first_certificate => {
                root = st.open(Some(&seen));
                st.accepted_on_first_use = true;
                st.thumbprint = Some(seen);
                root.about().await?
            }
            Err(e) => return Err(e),
        };
        st.about = Some(about);
        st.root = Some(root);
        Ok(())
    })
}

impl Adding {
    /// A host added with an SSH port (ZStack's AddKVMHost always has one) whose agent does not
    /// answer gets one installed, when this server can install agents.
    fn may_bootstrap(&self) -> bool {
        self.spec.ssh_port.is_some() && self.core.can_bootstrap()
    }
}

/// Installs the agent over SSH with the add's credentials; they become the agent's
/// administrator login, which the next step uses as for any other host.
async fn bootstrap(st: &mut Adding, agent_reason: &str) -> Result<(), CoreError> {
    let ssh_port = st.spec.ssh_port.unwrap_or(22);
    let target = SshTarget {
        name: st.name.clone(),
        address: st.spec.host_name.clone(),
        port: ssh_port,
        host_key: st.ssh_pin.clone(),
    };
    let login = SshLogin::Password {
        user: st.spec.user_name.clone(),
        password: st.spec.password.clone(),
    };
    let install = AgentInstall {
        agent_port: st.port,
        admin_user: st.spec.user_name.clone(),
        admin_password: Some(st.spec.password.clone()),
    };
    match st.core.install_agent(&target, &login, &install).await {
        Ok(installed) => {
            st.ssh_host_key = Some(installed.host_key);
            Ok(())
        }
        // Neither an agent nor SSH: the host is not there (or not yet), as without bootstrap.
        Err(CoreError::NoHost { reason, .. }) => Err(CoreError::NoHost {
            name: st.name.clone(),
            reason: format!("{agent_reason}; SSH on port {ssh_port}: {reason}"),
        }),
        Err(e) => Err(e),
    }
}

/// A freshly started agent takes a moment to listen: its `about` is asked again for up to 30 s.
pub(super) async fn wait_for_agent(root: &Arc<dyn AgentSession>) -> Result<AgentAbout, CoreError> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match root.about().await {
            Err(CoreError::NoHost { .. }) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            other => return other,
        }
    }
}

fn log_in(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        let root = st.root()?;
        root.login(&st.spec.user_name, &st.spec.password).await?;
        st.facts = Some(root.facts().await?);
        Ok(())
    })
}

fn facts(st: &Adding) -> Result<&HostFacts, CoreError> {
    st.facts
        .as_ref()
        .ok_or_else(|| CoreError::internal("host add: no facts"))
}

fn cluster_architecture(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        if let Some(c) = &st.cluster_id {
            let set = st
                .core
                .check_cluster_architecture(c, &facts(st)?.architecture)
                .await?;
            st.set_architecture |= set;
        }
        Ok(())
    })
}

fn forget_architecture(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        let (true, Some(id)) = (st.set_architecture, &st.cluster_id) else {
            return Ok(());
        };
        if let Some(mut c) = st.core.store.get_cluster(id).await? {
            c.architecture = None;
            st.core.store.update_cluster(&c).await?;
        }
        Ok(())
    })
}

fn licenses(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        let packages = facts(st)?.hardware.cpu_packages;
        st.core.check_licenses(packages, None).await
    })
}

/// Before the claim, the store learns how to reach the agent and release it (the credentials
/// of this add, sealed): a process killed before the host record is written leaves this, and
/// the next start releases the claim with it (`claims.rs`).
fn record_claim_intent(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        let core = st.core.clone();
        let intent = match &st.intent {
            Some(i) => i.clone(),
            None => ClaimIntent {
                id: new_uuid(),
                task_id: st.task_id.clone(),
                address: st.spec.host_name.clone(),
                port: st.port,
                thumbprint: st.thumbprint.clone().unwrap_or_default(),
                agent_user: st.spec.user_name.clone(),
                agent_secret: core.secrets.seal(&st.spec.password)?,
                created_at: core.clock.now(),
            },
        };
        core.write_claim_intent(&intent).await?;
        st.intent = Some(intent);
        Ok(())
    })
}

/// Once the claim is released the intent goes; a claim that could not be released keeps it
/// (stored again if the host record had dropped it), so recovery tries again.
fn drop_claim_intent(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        let Some(intent) = &st.intent else {
            return Ok(());
        };
        if st.claimed {
            st.core.store.put_claim_intent(intent).await?;
        } else {
            st.core.store.delete_claim_intent(&intent.id).await?;
        }
        Ok(())
    })
}

fn claim(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        st.server_uuid = st.core.server_uuid().await?;
        let c = &st.core;
        st.root()?
            .claim(
                &st.server_uuid,
                &c.config.hosts.server_address,
                st.spec.force,
            )
            .await?;
        st.claimed = true;
        Ok(())
    })
}

/// A claim already gone counts as released.
fn release_claim(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        match st.root()?.release_claim(&st.server_uuid).await {
            Ok(()) | Err(CoreError::NotFound { .. }) => {
                st.claimed = false;
                Ok(())
            }
            Err(e) => Err(e),
        }
    })
}

/// Takes back an add that a killed process left half-done: its host record is still
/// `connecting`, without runtime. The administrator's session died with the process; the record
/// holds what the undos need instead (address, port, thumbprint, the service account, which
/// may release the claim too), so the add's own undos run as after a failure: the claim is
/// released and the record goes with its VMs, links and tags. An agent that cannot be reached
/// keeps its claim for now: the record goes all the same, and a claim intent made of it stays
/// (the claim intent's undo keeps an unreleased one) for the heartbeats to release later.
pub(super) async fn take_back_abandoned(core: &Arc<Core>, host: Host) -> Result<(), CoreError> {
    let session = core.open_agent(&host.name, &host.address, host.port, Some(&host.thumbprint));
    let secret = core.secrets.open(&host.agent_secret)?;
    let logged_in = match session.login(&host.agent_user, &secret).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(host = %host.name, error = %e,
                "an add cut short by a restart: its agent cannot be reached, so its claim is released later");
            false
        }
    };
    let id = host.id.clone();
    let intent = ClaimIntent {
        id: new_uuid(),
        task_id: None,
        address: host.address.clone(),
        port: host.port,
        thumbprint: host.thumbprint.clone(),
        agent_user: host.agent_user.clone(),
        agent_secret: host.agent_secret.clone(),
        created_at: core.clock.now(),
    };
    // Stored before the record can go: whatever the undos manage, the claim is never left
    // without something in the store that leads to it. The claim intent's undo drops it once
    // the claim is released.
    core.store.put_claim_intent(&intent).await?;
    let mut st = Adding {
        core: core.clone(),
        spec: AddHostSpec {
            host_name: host.address.clone(),
            ..AddHostSpec::default()
        },
        datacenter_id: host.datacenter_id.clone(),
        cluster_id: host.cluster_id.clone(),
        port: host.port,
        thumbprint: Some(host.thumbprint.clone()),
        lockdown_mode: None,
        name: host.name.clone(),
        root: logged_in.then(|| session.clone()),
        about: None,
        accepted_on_first_use: false,
        facts: None,
        set_architecture: false,
        server_uuid: core.server_uuid().await?,
        task_id: None,
        intent: Some(intent),
        // The record says the add got past its claim.
        claimed: true,
        account: host.agent_user.clone(),
        secret,
        // Whether the account predates the add is not recorded: it stays, as one that did.
        account_created: false,
        service: None,
        ssh_host_key: host.ssh_host_key.clone(),
        host: Some(host),
        lockdown_before: None,
        vms: Vec::new(),
        ssh_pin: None,
    };
    ADD.take_back(&mut st).await;
    if logged_in {
        session.logout().await;
    }
    // The record must go even if its undo failed, or the next start would find it again.
    core.store.delete_host(&id).await?;
    Ok(())
}

fn service_account(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        if st.account.is_empty() {
            st.account = st
                .spec
                .vim_account_name
                .clone()
                .unwrap_or_else(|| format!("ferrocenter-{}", &st.server_uuid[..8]));
            st.secret = st
                .spec
                .vim_account_password
                .clone()
                .unwrap_or_else(random_secret);
        }
        let created = st
            .root()?
            .ensure_service_account(&st.account, &st.secret)
            .await?;
        // A second run finds the account the first one made: still this add's to take back.
        st.account_created |= created;
        Ok(())
    })
}

fn service_login(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        let service = st.open(st.thumbprint.as_deref());
        service.login(&st.account, &st.secret).await?;
        st.service = Some(service);
        Ok(())
    })
}

fn service_logout(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        if let Some(s) = st.service.take() {
            s.logout().await;
        }
        Ok(())
    })
}

/// An account this add created goes; one that existed before stays (with the password this
/// add gave it: the agent does not reveal the old one).
fn delete_service_account(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        if !st.account_created {
            return Ok(());
        }
        st.root()?.delete_service_account(&st.account).await
    })
}

fn host_record(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        let core = st.core.clone();
        if let Some(h) = &st.host {
            if core.store.get_host(&h.id).await?.is_some() {
                forget_intent(st).await;
                return Ok(());
            }
        }
        let spec = &st.spec;
        let facts = facts(st)?;
        let now = core.clock.now();
        let host = Host {
            id: spec.resource_uuid.clone().unwrap_or_else(new_uuid),
            // Given with the moIds of its datastores, networks and VMs.
            moid: String::new(),
            datacenter_id: st.datacenter_id.clone(),
            cluster_id: st.cluster_id.clone(),
            name: st.name.clone(),
            description: spec.description.clone().unwrap_or_default(),
            address: spec.host_name.clone(),
            port: st.port,
            thumbprint: st.thumbprint.clone().unwrap_or_default(),
            agent_user: st.account.clone(),
            agent_secret: core.secrets.seal(&st.secret)?,
            connection_state: ConnectionState::Connecting,
            state: HostState::Enabled,
            previous_state: None,
            power_state: "poweredOn".into(),
            facts: Some(Arc::new(facts.clone())),
            runtime: None,
            management_ip: spec.management_ip.clone(),
            ssh_port: spec.ssh_port,
            ssh_host_key: st.ssh_host_key.clone(),
            ssh_user: st.ssh_host_key.as_ref().map(|_| spec.user_name.clone()),
            tags: spec.tags.clone(),
            system_tags: spec.system_tags.clone(),
            event_cursor: 0,
            created_at: now,
            last_op_at: now,
        };
        let intent = st.intent.as_ref().map(|i| i.id.clone());
        let registration = core.host_registration(host, facts, &st.vms, intent).await?;
        match core.store.register_host(&registration).await {
            Ok(()) => {}
            // Another add of the same name or address got there first (the checks before the
            // task cannot settle a race; the store's unique keys do).
            Err(crate::ports::StoreError::Conflict(why)) => {
                let h = &registration.host;
                core.host_taken(&h.address, h.port, Some((&h.datacenter_id, &h.name)))
                    .await?;
                return Err(crate::ports::StoreError::Conflict(why).into());
            }
            Err(e) => return Err(e.into()),
        }
        st.host = Some(registration.host);
        Ok(())
    })
}

/// The host record holds what the intent held. Dropping it is best effort: an intent left
/// beside a record of the same agent is dropped by recovery without a release.
async fn forget_intent(st: &Adding) {
    if let Some(i) = &st.intent {
        if let Err(e) = st.core.store.delete_claim_intent(&i.id).await {
            tracing::warn!(host = %st.name, error = %e, "a claim intent outlives its host record");
        }
    }
}

/// The record goes with its VMs, datastore and network links and tags.
fn delete_host_record(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        let id = st.host()?.id.clone();
        st.core.store.delete_host(&id).await?;
        Ok(())
    })
}

/// The agent's VMs, read before the record is written so that the record goes in with them.
fn inventory(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        st.vms = st.service()?.vms().await?;
        Ok(())
    })
}

fn lockdown_step(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        let Some(mode) = st.lockdown_mode else {
            return Ok(());
        };
        let service = st.service()?.clone();
        if st.lockdown_before.is_none() {
            st.lockdown_before = Some(service.runtime().await?.lockdown);
        }
        service.set_lockdown(mode).await?;
        Ok(())
    })
}

fn restore_lockdown(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        let Some(mode) = st.lockdown_before else {
            return Ok(());
        };
        st.service()?.set_lockdown(mode).await?;
        Ok(())
    })
}

fn connected(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        let core = st.core.clone();
        let service = st.service()?.clone();
        // Runtime and event cursor in one request, as a heartbeat reads them.
        let (runtime, events) = service.heartbeat(0).await?;
        let cursor = events.next;
        let mut host = st.host()?.clone();
        host.connection_state = ConnectionState::Connected;
        host.runtime = Some(runtime);
        host.event_cursor = cursor;
        host.last_op_at = core.clock.now();
        core.store.update_host(&host).await?;
        core.sessions.keep(&host.id, service);
        st.host = Some(host);
        Ok(())
    })
}

fn forget_session(st: &mut Adding) -> StepFuture<'_> {
    Box::pin(async move {
        st.core.sessions.forget(&st.host()?.id);
        Ok(())
    })
}
