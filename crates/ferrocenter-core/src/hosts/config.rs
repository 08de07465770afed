//! Host configuration: name, record fields, enabled/disabled, lockdown, and what a host reports
//! about itself (uptime, connection info).
use serde_json::json;

use super::connection::host_task;
use super::guard::{allowed, HostOperation};
use crate::auth::{Caller, Privilege};
use crate::inventory::{AdminState, Host, HostState, LockdownMode};
use crate::tasks::Task;
use crate::tasks::TaskKind;
use crate::validate;
use crate::{Core, CoreError};

/// What an enable or disable did: changed the state at once, or started leaving maintenance.
#[derive(Debug)]
pub enum StateChange {
    Done(Box<Host>),
    /// The task that leaves maintenance mode into the asked state.
    Started(Box<Task>),
}

/// Fields of a host record an operator may change (ZStack UpdateHost / UpdateKVMHost); unset
/// fields keep their value.
#[derive(Debug, Clone, Default)]
pub struct HostUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    /// The agent's address (ZStack managementIp).
    pub address: Option<String>,
    pub ssh_port: Option<u16>,
    /// Credentials to check against the agent (ZStack username / password).
    pub user_name: Option<String>,
    pub password: Option<String>,
}

impl Core {
    pub async fn rename_host(
        &self,
        caller: &Caller,
        host_id: &str,
        new_name: &str,
    ) -> Result<Host, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostConfigConnection)?;
        validate::entity_name("newName", new_name)?;
        let mut host = self.host(host_id).await?;
        let taken = self
            .store
            .find_host_by_name(&host.datacenter_id, new_name)
            .await?
            .is_some_and(|h| h.id != host.id);
        if taken {
            return Err(CoreError::AlreadyExists {
                what: "host".into(),
                name: new_name.into(),
            });
        }
        host.name = new_name.to_string();
        host.last_op_at = self.clock.now();
        self.store.update_host(&host).await?;
        // A session names its host in the faults it reports: the next one takes the new name.
        self.sessions.forget(&host.id);
        Ok(host)
    }

    /// Enables or disables a host; on a host in maintenance mode this leaves maintenance into
    /// the asked state (ZStack's ChangeHostState). A host still entering maintenance is refused:
    /// cancel that task first.
    pub async fn change_host_state(
        &self,
        caller: &Caller,
        host_id: &str,
        want: AdminState,
    ) -> Result<StateChange, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostConfigMaintenance)?;
        let host = self.host(host_id).await?;
        let target = match want {
            AdminState::Enabled => HostState::Enabled,
            AdminState::Disabled => HostState::Disabled,
        };
        match host.state {
            HostState::Maintenance => self
                .exit_maintenance_to(caller, host_id, 0, Some(target))
                .await
                .map(|t| StateChange::Started(Box::new(t))),
            HostState::PreMaintenance => Err(CoreError::invalid_state(format!(
                "host {} is entering maintenance mode; cancel that task first",
                host.name
            ))),
            _ => self
                .set_host_admin_state(caller, host_id, want)
                .await
                .map(|h| StateChange::Done(Box::new(h))),
        }
    }

    /// ZStack's UpdateHost / UpdateKVMHost: changes the record only, never reconnects. A new
    /// address is used from the next contact with the agent. Credentials are checked against
    /// the agent and not kept: ferrocenter holds only its own service account.
    pub async fn update_host(
        &self,
        caller: &Caller,
        host_id: &str,
        u: HostUpdate,
    ) -> Result<Host, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostConfigConnection)?;
        let mut host = self.host(host_id).await?;
        if let Some(d) = &u.description {
            if d.chars().count() > 2048 {
                return Err(CoreError::invalid(
                    "description",
                    "must be at most 2048 characters",
                ));
            }
        }
        validate::port_opt("sshPort", u.ssh_port)?;
        if u.user_name.is_some() != u.password.is_some() {
            return Err(CoreError::invalid(
                "password",
                "username and password go together",
            ));
        }
        if let Some(n) = &u.name {
            validate::entity_name("name", n)?;
            let taken = self
                .store
                .find_host_by_name(&host.datacenter_id, n)
                .await?
                .is_some_and(|h| h.id != host.id);
            if taken {
                return Err(CoreError::AlreadyExists {
                    what: "host".into(),
                    name: n.clone(),
                });
            }
        }
        if let Some(a) = &u.address {
            validate::host_name("managementIp", a)?;
            // ZStack refuses any address already in use, the host's own included.
            if self
                .store
                .find_host_by_address(a, host.port)
                .await?
                .is_some()
            {
                return Err(CoreError::invalid(
                    "managementIp",
                    format!("there has been a host having managementIp[{a}]"),
                ));
            }
        }
        if let (Some(user), Some(password)) = (&u.user_name, &u.password) {
            let address = u.address.as_deref().unwrap_or(&host.address);
            let probe = self.open_agent(&host.name, address, host.port, Some(&host.thumbprint));
            probe.login(user, password).await?;
            probe.logout().await;
        }
        let renamed = u.name.is_some();
        if let Some(n) = u.name {
            host.name = n;
        }
        if let Some(d) = u.description {
            host.description = d;
        }
        if let Some(p) = u.ssh_port {
            host.ssh_port = Some(p);
        }
        // A new address, or a new name for the faults a session reports: open a fresh one.
        let moved = u.address.is_some() || renamed;
        if let Some(a) = u.address {
            host.address = a;
        }
        host.last_op_at = self.clock.now();
        self.store.update_host(&host).await?;
        if moved {
            self.sessions.forget(&host.id);
        }
        Ok(host)
    }

    /// Enters (normal mode) or exits lockdown. A host already in the asked mode is refused
    /// with `AlreadyInState`.
    pub async fn host_lockdown(
        &self,
        caller: &Caller,
        host_id: &str,
        enter: bool,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::HostConfigConnection)?;
        let mut host = self.host(host_id).await?;
        allowed(
            &host,
            if enter {
                HostOperation::EnterLockdown
            } else {
                HostOperation::ExitLockdown
            },
        )?;
        let agent = self.agent(&host).await?;
        let mode = if enter {
            LockdownMode::Normal
        } else {
            LockdownMode::Disabled
        };
        let rt = agent.set_lockdown(mode).await?;
        // The runtime carries the lockdown mode the surfaces report.
        host.runtime = Some(rt);
        host.last_op_at = self.clock.now();
        self.store.update_host(&host).await?;
        Ok(())
    }

    /// RetrieveHardwareUptime: seconds since the host booted.
    pub async fn host_uptime(&self, caller: &Caller, host_id: &str) -> Result<u64, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let host = self.host(host_id).await?;
        allowed(&host, HostOperation::Uptime)?;
        let agent = self.agent(&host).await?;
        agent.uptime_secs().await
    }

    /// QueryHostConnectionInfo: the host, its VMs, datastores and networks as last synced.
    pub async fn host_connection_info(
        &self,
        caller: &Caller,
        host_id: &str,
    ) -> Result<serde_json::Value, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let host = self.host(host_id).await?;
        let vms = self.store.list_vms(Some(&host.id)).await?;
        let ds = self.store.datastores_of_host(&host.id).await?;
        let nets = self.store.networks_of_host(&host.id).await?;
        Ok(json!({
            "host": host.id,
            "name": host.name,
            "connectionState": host.connection_state.as_str(),
            "serverIp": self.config.hosts.server_address,
            "inDasCluster": false,
            "vm": vms.iter().map(|v| json!({"name": v.name, "uuid": v.uuid, "powerState": v.power_state})).collect::<Vec<_>>(),
            "datastore": ds.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
            "network": nets.iter().map(|n| n.name.clone()).collect::<Vec<_>>(),
        }))
    }

    /// ZStack's enable/disable: a disabled host takes no new VMs and powers none on.
    pub async fn set_host_admin_state(
        &self,
        caller: &Caller,
        host_id: &str,
        state: AdminState,
    ) -> Result<Host, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostConfigMaintenance)?;
        let mut host = self.host(host_id).await?;
        match (host.state, state) {
            (HostState::PreMaintenance | HostState::Maintenance, _) => {
                return Err(CoreError::invalid_state(format!(
                    "host {} is in maintenance; exit it first",
                    host.name
                )))
            }
            (_, AdminState::Enabled) => host.state = HostState::Enabled,
            (_, AdminState::Disabled) => host.state = HostState::Disabled,
        }
        host.last_op_at = self.clock.now();
        self.store.update_host(&host).await?;
        Ok(host)
    }

    pub async fn rename_host_task(
        &self,
        caller: &Caller,
        host_id: &str,
        new_name: &str,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::HostConfigConnection)?;
        validate::entity_name("newName", new_name)?;
        let host = self.host(host_id).await?;
        let core = self.self_arc();
        let (who, name) = (caller.clone(), new_name.to_string());
        self.tasks
            .submit(
                host_task(
                    TaskKind::HostRename,
                    &host,
                    caller,
                    format!("Rename host {} to {new_name}", host.name),
                    false,
                    None,
                ),
                move |_ctx| async move {
                    let h = core.rename_host(&who, &host.id, &name).await?;
                    Ok(crate::tasks::TaskResult::Host { host: h.id })
                },
            )
            .await
    }
}
