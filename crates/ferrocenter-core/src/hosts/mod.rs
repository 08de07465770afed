//! Host flows: add, disconnect, reconnect, maintenance with evacuation, remove, and the host
//! operations; each long one is a task written as ordered steps with undo.
pub(crate) mod add;
mod capacity;
pub(crate) mod config;
pub(crate) mod connection;
pub(crate) mod heartbeat;
pub(crate) mod maintenance;
mod power;
mod remove;
pub(crate) mod sync;

pub(crate) use add::validate_entity_name as validate_name;
pub use add::{certificate_thumbprint, AddHostSpec};
pub use capacity::Capacity;
pub use config::{HostUpdate, StateChange};
pub use connection::{IfAlready, ReconnectSpec};
/// VM power actions, as the core's VM operations take them.
pub use ferrocenter_agent_client::wire::PowerAction;
pub use remove::RemoveMode;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use ferrocenter_agent_client::{AgentClient, AgentConnector, AgentError};

use crate::inventory::Host;
use crate::{Core, CoreError};

#[derive(Debug, Clone)]
pub struct HostsConfig {
    /// How often connected hosts are checked.
    pub heartbeat_interval: Duration,
    /// Missed heartbeats after which a host is notResponding.
    pub heartbeat_failures: u32,
    /// Concurrent migrations out of one host while it is evacuated.
    pub max_migrations_per_host: usize,
    /// ZStack's CPU overcommit: available CPUs are cpuNum × this.
    pub cpu_overcommit_ratio: u32,
    /// How this server names itself to agents it claims.
    pub server_address: String,
    /// How often maintenance mode re-checks the VMs on the host.
    pub maintenance_poll: Duration,
    /// The agent port used when an add names none.
    pub default_agent_port: u16,
}

impl Default for HostsConfig {
    fn default() -> Self {
        HostsConfig {
            heartbeat_interval: Duration::from_secs(60),
            heartbeat_failures: 3,
            max_migrations_per_host: 8,
            cpu_overcommit_ratio: 10,
            server_address: "127.0.0.1".into(),
            maintenance_poll: Duration::from_millis(500),
            default_agent_port: 8444,
        }
    }
}

/// Logged-in agent clients, one per connected host.
#[derive(Default)]
pub struct AgentPool {
    clients: Mutex<HashMap<String, AgentClient>>,
}

impl AgentPool {
    pub fn forget(&self, host_id: &str) {
        self.clients.lock().unwrap().remove(host_id);
    }
}

/// The one translation of agent errors into core faults.
pub fn agent_fault(host: &str, e: AgentError) -> CoreError {
    match e {
        AgentError::NoHost { reason, .. } => CoreError::NoHost {
            name: host.to_string(),
            reason,
        },
        AgentError::Timeout { .. } => CoreError::NoHost {
            name: host.to_string(),
            reason: "the host did not answer in time".into(),
        },
        AgentError::InvalidLogin => CoreError::InvalidLogin,
        AgentError::SslVerify {
            thumbprint,
            self_signed,
        } => CoreError::SslVerify {
            thumbprint,
            self_signed,
        },
        AgentError::AlreadyBeingManaged { server_address } => CoreError::AlreadyBeingManaged {
            ip_address: server_address,
        },
        AgentError::NotSupportedHost {
            product, version, ..
        } => CoreError::NotSupportedHost { product, version },
        AgentError::Api { body, .. } => {
            use ferrocenter_agent_client::wire::ErrorCode as C;
            match body.code {
                C::InvalidArgument => {
                    CoreError::invalid(body.field.unwrap_or_else(|| "spec".into()), body.message)
                }
                C::NotFound => CoreError::NotFound {
                    what: "object on the host".into(),
                    id: body.message,
                },
                C::InvalidState | C::Busy => CoreError::invalid_state(body.message),
                C::InsufficientCapacity => CoreError::InvalidState {
                    message: format!("insufficient capacity: {}", body.message),
                },
                C::Unavailable => CoreError::Unavailable {
                    message: body.message,
                },
                C::NotSupported => CoreError::not_supported(body.message),
                C::InvalidLogin | C::Unauthenticated | C::PermissionDenied => {
                    CoreError::InvalidLogin
                }
                C::AlreadyBeingManaged => CoreError::AlreadyBeingManaged {
                    ip_address: body.server_address.unwrap_or_default(),
                },
                C::Internal => CoreError::internal(body.message),
            }
        }
        AgentError::Protocol(m) => CoreError::HostConnect {
            name: host.to_string(),
            reason: m,
        },
    }
}

impl Core {
    pub(crate) fn connector(&self) -> &AgentConnector {
        &self.connector
    }

    /// A logged-in client for a host, reusing the cached one.
    pub(crate) async fn agent(&self, host: &Host) -> Result<AgentClient, CoreError> {
        if let Some(c) = self.agents.clients.lock().unwrap().get(&host.id) {
            return Ok(c.clone());
        }
        let client = self
            .connector
            .client(&host.address, host.port, Some(&host.thumbprint));
        let password = self.secrets.open(&host.agent_secret)?;
        client
            .login(&host.agent_user, &password)
            .await
            .map_err(|e| agent_fault(&host.name, e))?;
        self.agents
            .clients
            .lock()
            .unwrap()
            .insert(host.id.clone(), client.clone());
        Ok(client)
    }

    pub(crate) async fn host(&self, id: &str) -> Result<Host, CoreError> {
        self.store
            .get_host(id)
            .await?
            .ok_or_else(|| CoreError::not_found("host", id))
    }
}
