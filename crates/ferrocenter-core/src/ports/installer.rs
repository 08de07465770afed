//! The door to a host that has no agent yet: log in over SSH, check it can run KVM guests,
//! copy this server's agent to it and start it. Adding a host then goes on through the agent as
//! for any other host. The real adapter is `ferrocenter-ssh`; a server without it answers that
//! bootstrap is not supported.
use async_trait::async_trait;

use crate::CoreError;

/// Where to log in, and which host key to expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// The host's inventory name (or its address, before it has one): faults name it.
    pub name: String,
    pub address: String,
    pub port: u16,
    /// The host key's SHA-256 fingerprint (`SHA256:…`) recorded on an earlier login or pinned by
    /// the caller; None accepts the key presented and reports it (trust on first use).
    pub host_key: Option<String>,
}

/// How to log in. A password is used for this login only and never kept.
#[derive(Clone, PartialEq, Eq)]
pub enum SshLogin {
    Password {
        user: String,
        password: String,
    },
    /// The server's own key, which a password login left in the account's authorized keys.
    ServerKey {
        user: String,
    },
}

impl std::fmt::Debug for SshLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SshLogin::Password { user, .. } => write!(f, "Password {{ user: {user:?} }}"),
            SshLogin::ServerKey { user } => write!(f, "ServerKey {{ user: {user:?} }}"),
        }
    }
}

impl SshLogin {
    pub fn user(&self) -> &str {
        match self {
            SshLogin::Password { user, .. } | SshLogin::ServerKey { user } => user,
        }
    }
}

/// The server's SSH key pair, as the installer makes and reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerKey {
    /// OpenSSH private key (PEM); kept sealed at rest by the core.
    pub private_openssh: String,
    /// The `authorized_keys` line.
    pub public_openssh: String,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServerKey {{ public: {:?} }}", self.public_openssh)
    }
}

/// What to install and how the agent starts.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentInstall {
    /// The port the agent serves its API on.
    pub agent_port: u16,
    /// The agent's administrator account and its first password, set when the agent has no
    /// state yet (an agent already there keeps its accounts). The password goes to the agent
    /// on its standard input, never on a command line or into a file.
    pub admin_user: String,
    pub admin_password: Option<String>,
}

impl std::fmt::Debug for AgentInstall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentInstall")
            .field("agent_port", &self.agent_port)
            .field("admin_user", &self.admin_user)
            .finish_non_exhaustive()
    }
}

/// How the installed agent is kept running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supervision {
    /// A systemd service (`ferrocenter-agent.service`), enabled at boot.
    Systemd,
    /// No systemd on the host: a shell loop that restarts the agent, started detached.
    Supervised,
}

impl Supervision {
    pub fn as_str(self) -> &'static str {
        match self {
            Supervision::Systemd => "systemd",
            Supervision::Supervised => "supervised",
        }
    }
}

/// What the installer found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The host key's SHA-256 fingerprint, to record for later logins.
    pub host_key: String,
    /// `uname -m` of the host.
    pub architecture: String,
    pub supervision: Supervision,
    /// How many bytes of agent were copied (0 when the same binary was already there).
    pub copied_bytes: u64,
}

#[async_trait]
pub trait HostInstaller: Send + Sync + 'static {
    /// Whether this server can bootstrap agents at all.
    fn available(&self) -> bool;
    /// A new key pair for the server's own logins.
    fn new_server_key(&self) -> Result<ServerKey, CoreError>;
    /// Logs in, checks the host (KVM, libvirt, architecture), installs this server's agent and
    /// starts it. With a password login, `server_key`'s public half is added to the account's
    /// authorized keys so later reinstalls need no password. Faults: `InvalidLogin` for refused
    /// credentials, `HostConnect` naming what is wrong (port closed, host key changed, no KVM,
    /// libvirt not running, another architecture), `NoHost` when the address does not resolve.
    async fn install(
        &self,
        target: &SshTarget,
        login: &SshLogin,
        server_key: &ServerKey,
        install: &AgentInstall,
    ) -> Result<Installed, CoreError>;
}

/// A server built without an installer: bootstrap is refused, naming the operation.
pub struct NoInstaller;

#[async_trait]
impl HostInstaller for NoInstaller {
    fn available(&self) -> bool {
        false
    }

    fn new_server_key(&self) -> Result<ServerKey, CoreError> {
        Err(CoreError::NotSupported {
            operation: "agent bootstrap over SSH".into(),
        })
    }

    async fn install(
        &self,
        _: &SshTarget,
        _: &SshLogin,
        _: &ServerKey,
        _: &AgentInstall,
    ) -> Result<Installed, CoreError> {
        Err(CoreError::NotSupported {
            operation: "agent bootstrap over SSH".into(),
        })
    }
}
