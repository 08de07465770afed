//! Disconnect and reconnect (seeds/000).
use serde_json::json;

use super::guard::{allowed, HostOperation};
use crate::auth::{Caller, Privilege};
use crate::inventory::{ConnectionState, Host};
use crate::model::EntityRef;
use crate::saga::UndoLog;
use crate::tasks::TaskKind;
use crate::tasks::{Task, TaskSpec};
use crate::validate;
use crate::{Core, CoreError};

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
                    Ok(json!({"host": host.id}))
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
                    let r = core
                        .reconnect_steps(&ctx, before.clone(), spec, thumbprint)
                        .await;
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
                            .await
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
                            .await
                        }
                    }
                    r
                },
            )
            .await
    }

    async fn reconnect_steps(
        &self,
        ctx: &crate::tasks::TaskContext,
        before: Host,
        spec: ReconnectSpec,
        thumbprint: Option<String>,
    ) -> Result<serde_json::Value, CoreError> {
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
        let mut saga = UndoLog::new();
        let mut host = before.clone();
        host.connection_state = ConnectionState::Connecting;
        self.store.update_host(&host).await?;
        {
            let store = self.store.clone();
            let b = before.clone();
            saga.on_undo("connection state", async move {
                store.update_host(&b).await.map(|_| ()).map_err(Into::into)
            });
        }
        let r = async {
            ctx.progress(10, "connecting to the host").await;
            self.sessions.forget(&host.id);
            let open = || self.open_agent(&before.name, &address, port, Some(&new_thumb));
            let client = open();
            client.about().await?;
            let mut secret = self.secrets.open(&before.agent_secret)?;
            if let (Some(u), Some(p)) = (&spec.user_name, &spec.password) {
                ctx.progress(20, "renewing the service account").await;
                let root = open();
                root.login(u, p).await?;
                secret = hex::encode(rand::random::<[u8; 24]>());
                root.ensure_service_account(&before.agent_user, &secret)
                    .await?;
            }
            ctx.progress(30, "logging in").await;
            client.login(&before.agent_user, &secret).await?;
            let server_uuid = self.server_uuid().await?;
            client
                .claim(&server_uuid, &self.config.hosts.server_address, spec.force)
                .await?;
            ctx.progress(50, "re-reading hardware").await;
            let facts = client.facts().await?;
            self.check_licenses(facts.hardware.cpu_packages, Some(&before.id))
                .await?;
            host.address = address.clone();
            host.port = port;
            host.thumbprint = new_thumb.clone();
            host.agent_secret = self.secrets.seal(&secret)?;
            host.set_facts(&facts);
            ctx.progress(70, "re-syncing datastores, networks and VMs")
                .await;
            self.sync_storage_and_networks(&host, &facts).await?;
            let mut vms = client.vms().await?;
            if spec.sync_state {
                // A stateless host lost its VMs: register back the ones the server knows.
                for r in self.store.list_vms(Some(&host.id)).await? {
                    if vms.iter().any(|v| v.uuid == r.uuid) {
                        continue;
                    }
                    let known = r.read_info().ok_or_else(|| {
                        CoreError::internal(format!("stored VM {} is unreadable", r.id))
                    })?;
                    client.register_vm(&known).await?;
                }
                vms = client.vms().await?;
            }
            self.sync_vms(&host, &vms).await?;
            // The server's settings win over changes made on the host while disconnected.
            let in_maintenance = matches!(
                host.state,
                crate::inventory::HostState::Maintenance
                    | crate::inventory::HostState::PreMaintenance
            );
            let runtime = client.set_maintenance(in_maintenance).await?;
            host.set_runtime(&runtime);
            host.power_state = runtime.power_state.as_str().to_string();
            host.connection_state = ConnectionState::Connected;
            host.last_op_at = self.clock.now();
            self.store.update_host(&host).await?;
            self.sessions.keep(&host.id, client);
            Ok(json!({"host": host.id, "vms": vms.len()}))
        }
        .await;
        saga.finish(r).await
    }
}
