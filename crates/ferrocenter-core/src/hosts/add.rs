//! Adding a host (vim AddHost_Task / AddStandaloneHost_Task, ZStack AddKVMHost).
use rand::RngCore;
use serde_json::json;

use crate::auth::{Caller, Privilege};
use crate::inventory::query::TagKind;
use crate::inventory::{ConnectionState, Host, HostState, LockdownMode};
use crate::model::{new_uuid, EntityRef};
use crate::saga::UndoLog;
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
        if spec.user_name.is_empty() {
            return Err(CoreError::invalid("userName", "is required"));
        }
        if spec.password.is_empty() {
            return Err(CoreError::invalid("password", "is required"));
        }
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
        let name = spec.name.clone().unwrap_or_else(|| spec.host_name.clone());
        validate::entity_name("name", &name)?;
        if let Some(u) = &spec.resource_uuid {
            validate::uuid("resourceUuid", u)?;
        }
        let port = spec.port.unwrap_or(self.config.hosts.default_agent_port);
        if let Some(h) = self
            .store
            .find_host_by_address(&spec.host_name, port)
            .await?
        {
            return Err(CoreError::AlreadyConnected { name: h.name });
        }
        // Host names are unique within a datacenter (vim DuplicateName); the store's unique
        // index settles a race between two adds.
        if self
            .store
            .find_host_by_name(&datacenter_id, &name)
            .await?
            .is_some()
        {
            return Err(CoreError::AlreadyExists {
                what: "host".into(),
                name,
            });
        }
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
                let mut saga = UndoLog::new();
                let r = core
                    .add_steps(
                        &ctx,
                        &mut saga,
                        spec,
                        datacenter_id,
                        cluster_id,
                        port,
                        thumbprint,
                        lockdown_mode,
                        name,
                        &user,
                    )
                    .await;
                saga.finish(r).await
            })
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn add_steps(
        &self,
        ctx: &crate::tasks::TaskContext,
        saga: &mut UndoLog,
        spec: AddHostSpec,
        datacenter_id: String,
        cluster_id: Option<String>,
        port: u16,
        thumbprint: Option<String>,
        lockdown_mode: Option<LockdownMode>,
        name: String,
        user: &str,
    ) -> Result<serde_json::Value, CoreError> {
        if let Some(h) = self
            .store
            .find_host_by_address(&spec.host_name, port)
            .await?
        {
            return Err(CoreError::AlreadyConnected { name: h.name });
        }
        ctx.progress(5, "connecting to the host").await;
        let open = |thumbprint: Option<&str>| {
            self.open_agent(&spec.host_name, &spec.host_name, port, thumbprint)
        };
        let mut root = open(thumbprint.as_deref());
        let mut accepted_on_first_use = false;
        let mut pinned = thumbprint.clone();
        let about = match root.about().await {
            Ok(a) => a,
            Err(CoreError::SslVerify {
                thumbprint: seen, ..
            }) if thumbprint.is_none() && spec.trust_first_certificate => {
                root = open(Some(&seen));
                accepted_on_first_use = true;
                pinned = Some(seen);
                root.about().await?
            }
            Err(e) => return Err(e),
        };
        let thumbprint = pinned.unwrap_or_default();
        ctx.progress(15, "logging in").await;
        root.login(&spec.user_name, &spec.password).await?;
        let facts = root.facts().await?;
        if let Some(c) = &cluster_id {
            self.check_cluster_architecture(c, &facts.architecture)
                .await?;
        }
        ctx.progress(25, "checking licenses").await;
        self.check_licenses(facts.hardware.cpu_packages, None)
            .await?;

        ctx.progress(35, "claiming the host").await;
        let server_uuid = self.server_uuid().await?;
        root.claim(&server_uuid, &self.config.hosts.server_address, spec.force)
            .await?;
        {
            let root = root.clone();
            let server_uuid = server_uuid.clone();
            saga.on_undo(
                "claim",
                async move { root.release_claim(&server_uuid).await },
            );
        }

        ctx.progress(45, "creating the service account").await;
        let account = spec
            .vim_account_name
            .clone()
            .unwrap_or_else(|| format!("ferrocenter-{}", &server_uuid[..8]));
        let secret = spec
            .vim_account_password
            .clone()
            .unwrap_or_else(random_secret);
        root.ensure_service_account(&account, &secret).await?;
        let service = open(Some(&thumbprint));
        service.login(&account, &secret).await?;
        root.logout().await;

        ctx.progress(55, "registering the host").await;
        let now = self.clock.now();
        let seq = self.store.next_sequence("host").await?;
        let mut host = Host {
            id: spec.resource_uuid.clone().unwrap_or_else(new_uuid),
            moid: format!("host-{seq}"),
            datacenter_id,
            cluster_id,
            name: name.clone(),
            description: spec.description.clone().unwrap_or_default(),
            address: spec.host_name.clone(),
            port,
            thumbprint: thumbprint.clone(),
            agent_user: account,
            agent_secret: self.secrets.seal(&secret)?,
            connection_state: ConnectionState::Connecting,
            state: HostState::Enabled,
            previous_state: None,
            power_state: "poweredOn".into(),
            facts: crate::inventory::facts::to_json(&facts),
            runtime: None,
            management_ip: spec.management_ip.clone(),
            ssh_port: spec.ssh_port,
            tags: spec.tags.clone(),
            system_tags: spec.system_tags.clone(),
            event_cursor: 0,
            created_at: now,
            last_op_at: now,
        };
        match self.store.insert_host(&host).await {
            Ok(()) => {}
            Err(crate::ports::StoreError::Conflict(_)) => {
                return Err(CoreError::AlreadyExists {
                    what: "host".into(),
                    name: host.name.clone(),
                })
            }
            Err(e) => return Err(e.into()),
        }
        {
            let store = self.store.clone();
            let id = host.id.clone();
            saga.on_undo("host record", async move {
                store.delete_host(&id).await.map(|_| ()).map_err(Into::into)
            });
        }
        self.store
            .add_tags(&host.id, TagKind::System, &spec.system_tags)
            .await?;
        self.store
            .add_tags(&host.id, TagKind::User, &spec.tags)
            .await?;

        ctx.progress(70, "discovering datastores, networks and VMs")
            .await;
        self.sync_storage_and_networks(&host, &facts).await?;
        let vms = service.vms().await?;
        self.sync_vms(&host, &vms).await?;
        if let Some(mode) = lockdown_mode {
            service.set_lockdown(mode).await?;
        }
        let runtime = service.runtime().await?;
        let cursor = service.events(0).await.map(|p| p.next).unwrap_or(0);

        ctx.progress(90, "connected").await;
        host.connection_state = ConnectionState::Connected;
        host.set_runtime(&runtime);
        host.event_cursor = cursor;
        host.last_op_at = self.clock.now();
        self.store.update_host(&host).await?;
        self.sessions.keep(&host.id, service);
        self.record_event(
            "HostConnectedEvent",
            "host",
            &host.id,
            &host.name,
            user,
            format!(
                "Connected to {} ({} {})",
                host.name, about.product, about.version
            ),
            json!({
                "address": host.address,
                "port": host.port,
                "thumbprint": host.thumbprint,
                "acceptedOnFirstUse": accepted_on_first_use,
            }),
        )
        .await;
        Ok(json!({"host": host.id, "moid": host.moid, "vms": vms.len()}))
    }

    /// A cluster's hosts share one CPU architecture; the first host sets it.
    async fn check_cluster_architecture(
        &self,
        cluster_id: &str,
        arch: &str,
    ) -> Result<(), CoreError> {
        let Some(mut c) = self.store.get_cluster(cluster_id).await? else {
            return Err(CoreError::not_found("cluster", cluster_id));
        };
        match &c.architecture {
            Some(a) if a != arch => Err(CoreError::invalid_state(format!(
                "the host's CPU architecture {arch} differs from cluster {}'s {a}",
                c.name
            ))),
            Some(_) => Ok(()),
            None => {
                c.architecture = Some(arch.to_string());
                self.store.update_cluster(&c).await?;
                Ok(())
            }
        }
    }
}
