//! Disconnect and reconnect (seeds/000).
use serde_json::json;

use super::guard::{allowed, HostOperation};
use crate::auth::{Caller, Privilege};
use crate::inventory::{ConnectionState, Host};
use crate::model::EntityRef;
use std::sync::Arc;

use crate::inventory::HostFacts;
use crate::ports::{AgentInstall, AgentSession, SshLogin, SshTarget};
use crate::saga::{Saga, Step, StepFuture};
use crate::tasks::TaskContext;
use crate::tasks::TaskKind;
use crate::tasks::{Task, TaskSpec};
use crate::validate;
use crate::{Core, CoreError};
use ferrocenter_agent_client::AGENT_VERSION;

/// ReconnectHost's optional cnxSpec (what may change) and reconnectSpec.
#[derive(Debug, Clone, Default)]
pub struct ReconnectSpec {
    pub host_name: Option<String>,
    pub port: Option<u16>,
    pub ssl_thumbprint: Option<String>,
    /// With a password: log in as this user (root) and renew the service account.
    pub user_name: Option<String>,
    pub password: Option<String>,
    pub force: bool,
    /// reconnectSpec.syncState: push the server's view back to the host.
    pub sync_state: bool,
    /// Reconnect a connected host too: ZStack's ReconnectHost runs the connect again whatever
    /// the status (vim's only reconnects a disconnected or not-responding host).
    pub also_when_connected: bool,
    /// Refuse a host entering or in maintenance mode, as ZStack does (vim reconnects it).
    pub refuse_in_maintenance: bool,
    /// vAPI's connect refuses a connected host at once; vim's ReconnectHost starts the task,
    /// which may still change a connected host's thumbprint.
    pub if_connected: IfAlready,
}

/// What connect and disconnect do with a host already in the state they would bring it to.
/// The surfaces differ in when they say so, not in what counts as "already".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IfAlready {
    /// Start the task; its own checks answer (vim reports the refusal in the task).
    #[default]
    StartTask,
    /// Refuse with `CoreError::AlreadyInState` before any task starts (vAPI).
    Refuse,
}

fn refuse_if_already(
    if_already: IfAlready,
    host: &Host,
    state: ConnectionState,
) -> Result<(), CoreError> {
    if if_already == IfAlready::Refuse && host.connection_state == state {
        return Err(already(host, state));
    }
    Ok(())
}

fn already(host: &Host, state: ConnectionState) -> CoreError {
    CoreError::already_in_state(format!("host {} is already {}", host.name, state.as_str()))
}

pub(crate) fn host_target(h: &Host) -> EntityRef {
    EntityRef::new("host", h.id.clone())
}

/// A task on the host's queue, started by `caller`.
pub(crate) fn host_task(
    kind: TaskKind,
    host: &Host,
    caller: &Caller,
    description: String,
    cancelable: bool,
    timeout: Option<std::time::Duration>,
) -> TaskSpec {
    TaskSpec {
        kind,
        target: Some(host_target(host)),
        initiator: caller.user.clone(),
        description,
        cancelable,
        timeout,
    }
}

impl Core {
    pub async fn disconnect_host(
        &self,
        caller: &Caller,
        host_id: &str,
        if_disconnected: IfAlready,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostConfigConnection)?;
        let host = self.host(host_id).await?;
        refuse_if_already(if_disconnected, &host, ConnectionState::Disconnected)?;
        let core = self.self_arc();
        let user = caller.user.clone();
        self.tasks
            .submit(
                host_task(
                    TaskKind::HostDisconnect,
                    &host,
                    caller,
                    format!("Disconnect host {}", host.name),
                    false,
                    None,
                ),
                move |_ctx| async move {
                    let mut host = core.host(&host.id).await?;
                    allowed(&host, HostOperation::Disconnect)?;
                    host.connection_state = ConnectionState::Disconnected;
                    host.last_op_at = core.clock.now();
                    core.store.update_host(&host).await?;
                    core.sessions.forget(&host.id);
                    core.record_event(
                        "HostDisconnectedEvent",
                        "host",
                        &host.id,
                        &host.name,
                        &user,
                        format!("Disconnected from {}", host.name),
                        json!({}),
                    )
                    .await;
                    Ok(crate::tasks::TaskResult::Host { host: host.id })
                },
            )
            .await
    }

    /// Reconnects a disconnected or not-responding host, or changes only the thumbprint of a
    /// connected one. The host keeps its id, moId, VMs' ids and events.
    pub async fn reconnect_host(
        &self,
        caller: &Caller,
        host_id: &str,
        spec: ReconnectSpec,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostConfigConnection)?;
        let host = self.host(host_id).await?;
        refuse_if_already(spec.if_connected, &host, ConnectionState::Connected)?;
        if spec.refuse_in_maintenance
            && matches!(
                host.state,
                crate::inventory::HostState::PreMaintenance
                    | crate::inventory::HostState::Maintenance
            )
        {
            return Err(CoreError::invalid_state(format!(
                "host {} is in state[{}]: it cannot be reconnected until it leaves maintenance",
                host.name,
                host.state.as_str()
            )));
        }
        if let Some(h) = &spec.host_name {
            validate::host_name("cnxSpec.hostName", h)?;
        }
        validate::port_opt("cnxSpec.port", spec.port)?;
        let thumbprint =
            validate::thumbprint("cnxSpec.sslThumbprint", spec.ssl_thumbprint.as_deref())?;
        if spec.user_name.is_some() != spec.password.is_some() {
            return Err(CoreError::invalid(
                "cnxSpec.password",
                "userName and password go together",
            ));
        }
        let core = self.self_arc();
        let user = caller.user.clone();
        self.tasks
            .submit(
                host_task(
                    TaskKind::HostReconnect,
                    &host,
                    caller,
                    format!("Reconnect host {}", host.name),
                    false,
                    None,
                ),
                move |ctx| async move {
                    let before = core.host(&host.id).await?;
                    let r = core.reconnect(&ctx, before.clone(), spec, thumbprint).await;
                    match &r {
                        Ok(_) => {
                            core.record_event(
                                "HostConnectedEvent",
                                "host",
                                &before.id,
                                &before.name,
                                &user,
                                format!("Reconnected to {}", before.name),
                                json!({}),
                            )
                            .await;
                        }
                        Err(e) => {
                            core.record_event(
                                "HostReconnectionFailedEvent",
                                "host",
                                &before.id,
                                &before.name,
                                &user,
                                format!("Cannot reconnect to {}: {e}", before.name),
                                json!({}),
                            )
                            .await;
                        }
                    }
                    r
                },
            )
            .await
    }

    /// The checks that change nothing, then the saga.
    async fn reconnect(
        &self,
        ctx: &TaskContext,
        before: Host,
        spec: ReconnectSpec,
        thumbprint: Option<String>,
    ) -> Result<crate::tasks::TaskResult, CoreError> {
        let address = spec
            .host_name
            .clone()
            .unwrap_or_else(|| before.address.clone());
        let port = spec.port.unwrap_or(before.port);
        let new_thumb = thumbprint
            .clone()
            .unwrap_or_else(|| before.thumbprint.clone());
        let only_thumbprint = address == before.address
            && port == before.port
            && spec.user_name.is_none()
            && thumbprint.is_some();
        // A connected host may still change its thumbprint (vim) or be connected again (ZStack).
        let connected_and_may = before.connection_state == ConnectionState::Connected
            && (only_thumbprint || spec.also_when_connected);
        if !connected_and_may {
            allowed(&before, HostOperation::Reconnect)?;
        }
        if (address != before.address || port != before.port)
            && self
                .store
                .find_host_by_address(&address, port)
                .await?
                .is_some_and(|h| h.id != before.id)
        {
            return Err(CoreError::AlreadyConnected {
                name: format!("{address}:{port}"),
            });
        }
        let mut st = Reconnecting {
            core: self.self_arc(),
            host: before.clone(),
            before,
            spec,
            address,
            port,
            thumbprint: new_thumb,
            client: None,
            secret: None,
            renewed: None,
            facts: None,
            vms: 0,
        };
        self.run_saga(&RECONNECT, &mut st, Some(ctx)).await?;
        Ok(crate::tasks::TaskResult::HostReconnected {
            host: st.host.id,
            vms: st.vms,
        })
    }
}

/// The reconnect flow's state: the record before, the working copy the steps fill in.
pub struct Reconnecting {
    core: Arc<Core>,
    before: Host,
    host: Host,
    spec: ReconnectSpec,
    address: String,
    port: u16,
    thumbprint: String,
    client: Option<Arc<dyn AgentSession>>,
    /// The service account's password from now on.
    secret: Option<String>,
    /// The password a renewal replaced, to put back on undo.
    renewed: Option<String>,
    facts: Option<HostFacts>,
    vms: usize,
}

impl Reconnecting {
    fn open(&self) -> Arc<dyn AgentSession> {
        self.core.open_agent(
            &self.before.name,
            &self.address,
            self.port,
            Some(&self.thumbprint),
        )
    }

    fn client(&self) -> Result<Arc<dyn AgentSession>, CoreError> {
        self.client
            .clone()
            .ok_or_else(|| CoreError::internal("host reconnect: no session to the host"))
    }

    fn root_credentials(&self) -> Option<(&str, &str)> {
        match (&self.spec.user_name, &self.spec.password) {
            (Some(u), Some(p)) => Some((u, p)),
            _ => None,
        }
    }
}

/// Reconnecting a host, step by step; undone, the host record is as it was.
pub static RECONNECT: Saga<Reconnecting> = Saga {
    name: "host reconnect",
    steps: &[
        Step {
            name: "connecting state",
            note: "connecting to the host",
            action: connecting,
            undo: Some(restore_record),
        },
        Step {
            name: "connect",
            note: "connecting to the host",
            action: connect,
            undo: None,
        },
        Step {
            name: "service account",
            note: "renewing the service account",
            action: renew_account,
            undo: Some(restore_account),
        },
        Step {
            name: "log in",
            note: "logging in",
            action: log_in,
            undo: None,
        },
        Step {
            name: "hardware",
            note: "re-reading hardware",
            action: hardware,
            undo: None,
        },
        Step {
            name: "inventory",
            note: "re-syncing datastores, networks and VMs",
            action: inventory,
            undo: None,
        },
        Step {
            name: "connected",
            note: "connected",
            action: connected,
            undo: Some(forget_session),
        },
    ],
};

fn connecting(st: &mut Reconnecting) -> StepFuture<'_> {
    Box::pin(async move {
        st.host.connection_state = ConnectionState::Connecting;
        st.core.store.update_host(&st.host).await?;
        Ok(())
    })
}

fn connect(st: &mut Reconnecting) -> StepFuture<'_> {
    Box::pin(async move {
        st.core.sessions.forget(&st.host.id);
        let client = st.open();
        let outdated = match client.about().await {
            Ok(about) if about.version == AGENT_VERSION => None,
            Ok(about) => Some(format!(
                "its agent is version {}, this server's is {AGENT_VERSION}",
                about.version
            )),
            Err(CoreError::NoHost { reason, .. }) if st.may_reinstall() => Some(reason),
            Err(e) => return Err(e),
        };
        if let Some(why) = outdated.filter(|_| st.may_reinstall()) {
            reinstall(st, &why).await?;
            super::add::wait_for_agent(&client).await?;
        }
        st.client = Some(client);
        Ok(())
    })
}

impl Reconnecting {
    /// A host whose agent this server installed over SSH gets it installed again, with the
    /// server's own key, when the agent is out of date or does not answer (seeds/000).
    fn may_reinstall(&self) -> bool {
        self.host.ssh_host_key.is_some()
            && self.host.ssh_user.is_some()
            && self.core.can_bootstrap()
    }
}

async fn reinstall(st: &mut Reconnecting, why: &str) -> Result<(), CoreError> {
    let user = st.host.ssh_user.clone().unwrap_or_default();
    tracing::info!(host = %st.host.name, reason = why, "reinstalling the agent over SSH");
    let target = SshTarget {
        name: st.host.name.clone(),
        address: st.address.clone(),
        port: st.host.ssh_port.unwrap_or(22),
        host_key: st.host.ssh_host_key.clone(),
    };
    let install = AgentInstall {
        agent_port: st.port,
        admin_user: user.clone(),
        admin_password: st.spec.password.clone(),
    };
    st.core
        .install_agent(&target, &SshLogin::ServerKey { user }, &install)
        .await?;
    Ok(())
}

fn restore_record(st: &mut Reconnecting) -> StepFuture<'_> {
    Box::pin(async move {
        st.core.store.update_host(&st.before).await?;
        Ok(())
    })
}

/// With root's credentials, the service account gets a new password.
fn renew_account(st: &mut Reconnecting) -> StepFuture<'_> {
    Box::pin(async move {
        let Some((u, p)) = st.root_credentials() else {
            return Ok(());
        };
        let root = st.open();
        root.login(u, p).await?;
        let old = st.core.secrets.open(&st.before.agent_secret)?;
        let secret = st
            .secret
            .get_or_insert_with(|| hex::encode(rand::random::<[u8; 24]>()))
            .clone();
        root.ensure_service_account(&st.before.agent_user, &secret)
            .await?;
        root.logout().await;
        st.renewed = Some(old);
        Ok(())
    })
}

fn restore_account(st: &mut Reconnecting) -> StepFuture<'_> {
    Box::pin(async move {
        let (Some(old), Some((u, p))) = (st.renewed.clone(), st.root_credentials()) else {
            return Ok(());
        };
        let root = st.open();
        root.login(u, p).await?;
        let r = root
            .ensure_service_account(&st.before.agent_user, &old)
            .await;
        root.logout().await;
        r.map(|_| ())
    })
}

fn log_in(st: &mut Reconnecting) -> StepFuture<'_> {
    Box::pin(async move {
        let core = st.core.clone();
        let secret = match &st.secret {
            Some(s) => s.clone(),
            None => core.secrets.open(&st.before.agent_secret)?,
        };
        let client = st.client()?;
        client.login(&st.before.agent_user, &secret).await?;
        let server_uuid = core.server_uuid().await?;
        client
            .claim(
                &server_uuid,
                &core.config.hosts.server_address,
                st.spec.force,
            )
            .await
    })
}

fn hardware(st: &mut Reconnecting) -> StepFuture<'_> {
    Box::pin(async move {
        let core = st.core.clone();
        let facts = st.client()?.facts().await?;
        core.check_licenses(facts.hardware.cpu_packages, Some(&st.before.id))
            .await?;
        let secret = match &st.secret {
            Some(s) => s.clone(),
            None => core.secrets.open(&st.before.agent_secret)?,
        };
        let host = &mut st.host;
        host.address = st.address.clone();
        host.port = st.port;
        host.thumbprint = st.thumbprint.clone();
        host.agent_secret = core.secrets.seal(&secret)?;
        host.facts = Some(Arc::new(facts.clone()));
        st.facts = Some(facts);
        Ok(())
    })
}

fn inventory(st: &mut Reconnecting) -> StepFuture<'_> {
    Box::pin(async move {
        let core = st.core.clone();
        let client = st.client()?;
        let host = &st.host;
        let facts = st
            .facts
            .as_ref()
            .ok_or_else(|| CoreError::internal("host reconnect: no facts"))?;
        core.sync_storage_and_networks(host, facts).await?;
        let mut vms = client.vms().await?;
        if st.spec.sync_state {
            // A stateless host lost its VMs: register back the ones the server knows.
            for r in core.store.list_vms(Some(&host.id)).await? {
                if vms.iter().any(|v| v.uuid == r.uuid) {
                    continue;
                }
                client.register_vm(&r.info).await?;
            }
            vms = client.vms().await?;
        }
        core.sync_vms(host, &vms).await?;
        st.vms = vms.len();
        Ok(())
    })
}

fn connected(st: &mut Reconnecting) -> StepFuture<'_> {
    Box::pin(async move {
        let core = st.core.clone();
        let client = st.client()?;
        // The server's settings win over changes made on the host while disconnected.
        let in_maintenance = matches!(
            st.host.state,
            crate::inventory::HostState::Maintenance | crate::inventory::HostState::PreMaintenance
        );
        let runtime = client.set_maintenance(in_maintenance).await?;
        let host = &mut st.host;
        host.runtime = Some(runtime.clone());
        host.power_state = runtime.power_state.as_str().to_string();
        host.connection_state = ConnectionState::Connected;
        host.last_op_at = core.clock.now();
        core.store.update_host(host).await?;
        core.sessions.keep(&host.id, client);
        Ok(())
    })
}

fn forget_session(st: &mut Reconnecting) -> StepFuture<'_> {
    Box::pin(async move {
        st.core.sessions.forget(&st.host.id);
        Ok(())
    })
}
