//! Host flows: add, disconnect, reconnect, maintenance with evacuation, remove, and the host
//! operations. Add, reconnect and entering maintenance are sagas of named steps (`ADD`,
//! `RECONNECT`, `ENTER_MAINTENANCE`; see `crate::saga`).
pub(crate) mod add;
pub mod bootstrap;
mod capacity;
pub(crate) mod claims;
pub(crate) mod config;
pub(crate) mod connection;
pub(crate) mod guard;
pub(crate) mod heartbeat;
pub use heartbeat::HeartbeatRound;
pub(crate) mod in_flight;
pub(crate) mod maintenance;
mod power;
mod remove;
pub(crate) mod sync;

/// VM power actions, as the core's VM operations take them.
pub use crate::ports::PowerAction;
/// Kept here for the bindings that import it from hosts.
pub use crate::validate::certificate_thumbprint;
pub use add::{AddHostSpec, Adding, ADD};
pub use capacity::Capacity;
pub use claims::ClaimIntent;
pub use config::{HostUpdate, StateChange};
pub use connection::{IfAlready, ReconnectSpec, Reconnecting, RECONNECT};
pub use guard::{allowed, HostOperation};
pub use maintenance::{Entering, ENTER_MAINTENANCE};
pub use remove::RemoveMode;

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::inventory::Host;
use crate::ports::{AgentEndpoint, AgentSession};
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

/// Logged-in agent sessions, one per connected host.
#[derive(Default)]
pub struct AgentPool {
    clients: Mutex<HashMap<String, Arc<dyn AgentSession>>>,
}

impl AgentPool {
    pub fn forget(&self, host_id: &str) {
        self.clients.lock().remove(host_id);
    }

    pub(crate) fn keep(&self, host_id: &str, session: Arc<dyn AgentSession>) {
        self.clients.lock().insert(host_id.to_string(), session);
    }
}

impl Core {
    /// A session to an agent that is not (or not yet) a connected host: adds, reconnects,
    /// credential checks.
    pub(crate) fn open_agent(
        &self,
        name: &str,
        address: &str,
        port: u16,
        thumbprint: Option<&str>,
    ) -> Arc<dyn AgentSession> {
        self.agents.open(&AgentEndpoint {
            name: name.to_string(),
            address: address.to_string(),
            port,
            thumbprint: thumbprint.map(str::to_string),
        })
    }

    /// A logged-in session for a host, reusing the cached one.
    pub(crate) async fn agent(&self, host: &Host) -> Result<Arc<dyn AgentSession>, CoreError> {
        if let Some(c) = self.sessions.clients.lock().get(&host.id) {
            return Ok(c.clone());
        }
        let session = self.agents.open(&endpoint(host));
        let password = self.secrets.open(&host.agent_secret)?;
        session.login(&host.agent_user, &password).await?;
        self.sessions.keep(&host.id, session.clone());
        Ok(session)
    }

    pub(crate) async fn host(&self, id: &str) -> Result<Host, CoreError> {
        self.store
            .get_host(id)
            .await?
            .ok_or_else(|| CoreError::not_found("host", id))
    }
}

/// Where a registered host's agent answers.
pub(crate) fn endpoint(host: &Host) -> AgentEndpoint {
    AgentEndpoint {
        name: host.name.clone(),
        address: host.address.clone(),
        port: host.port,
        thumbprint: Some(host.thumbprint.clone()),
    }
}
