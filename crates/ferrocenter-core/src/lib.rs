//! The core of ferrocenter: every rule of the control plane lives here, once.
//!
//! Bindings (vAPI, VI/JSON, ZStack) translate wire requests into calls on [`Core`] and render
//! its answers; persistence and the outside world are reached only through the [`ports`].

pub mod agent_door;
pub mod appliance;
pub mod auth;
pub mod deployment;
pub mod diagnostics;
pub mod download_token;
pub mod error;
mod events;
pub mod history_import;
pub mod hosts;
pub mod identity_providers;
pub mod inventory;
pub mod lcm;
pub mod licensing;
pub mod lookup;
pub mod model;
pub mod moids;
mod operations_table;
pub mod operator;
mod placement;
pub mod ports;
pub mod read_model;
pub mod recovery;
pub mod saga;
pub mod secrets;
pub mod sso;
mod staging;
pub mod tasks;
mod ticker;
mod time_util;
pub mod update;
pub mod validate;
pub mod version;
pub mod vms;
pub mod weekly;

pub use error::CoreError;
pub use time_util::{from_millis, to_millis};

use std::sync::Arc;

use auth::{AuthConfig, AuthService};
use ports::{Agents, Clock, HostInstaller, Lifecycle, NoInstaller, NoMachine, Store, SystemProbe};
use tasks::{TaskEngine, TaskEngineConfig};

/// Everything a binding needs, wired once at start.
pub struct Core {
    /// The store behind the read model: every read and write of the core goes through it.
    pub store: Arc<dyn Store>,
    /// The same object as `store`, for building its view at start and reporting its size.
    pub read_model: Arc<read_model::ReadModel>,
    pub clock: Arc<dyn Clock>,
    pub auth: AuthService,
    pub tasks: TaskEngine,
    pub config: CoreConfig,
    /// The door to host agents.
    agents: Arc<dyn Agents>,
    /// Installs agents over SSH on hosts that have none yet.
    installer: Arc<dyn HostInstaller>,
    /// The machine the server runs on (appliance health, statistics, shutdown).
    pub machine: Machine,
    /// The last health evaluation (appliance health).
    health: appliance::health::HealthState,
    /// The inbound firewall rules every listener consults.
    firewall: appliance::firewall::FirewallState,
    /// The identity providers' ports and serialised changes (federation).
    federation: identity_providers::FederationState,
    /// The remote syslog receivers' port (syslog forwarding).
    log_forwarding: appliance::log_forwarding::LogForwardingState,
    /// The server's components, started and stopped as appliance services.
    pub services: appliance::services::Services,
    /// The pending reboot or power-off (appliance shutdown).
    shutdown: appliance::shutdown::ShutdownState,
    /// The statistics collector's last reading and the monitored items with history.
    monitoring: appliance::monitoring::MonitoringState,
    /// Logged-in agent sessions, one per connected host.
    sessions: hosts::AgentPool,
    /// Serialises changes to the local accounts and their policy, so that two concurrent
    /// changes cannot each leave the other as the last superAdmin and then both go through.
    account_writes: tokio::sync::Mutex<()>,
    beats: hosts::heartbeat::Beats,
    /// Claims adds left on agents without a host record, and their retries.
    claims: hosts::claims::Claims,
    /// Migrations and host removals under way, which exclude each other.
    in_flight: hosts::in_flight::InFlight,
    /// VM names creates are using.
    vm_name_book: vms::names::NameBook,
    secrets: secrets::SecretBox,
    /// The security token service's adapter and signing keys (`auth::tokens`).
    tokens: auth::tokens::TokenState,
    /// Where backup archives are written and read (`recovery`).
    backup_target: Arc<dyn ports::BackupTarget>,
    /// The backup or restore running, if any.
    recovery: recovery::RecoveryState,
    /// Where support bundles read the server's logs and configuration.
    support_sources: Arc<dyn ports::SupportSources>,
    /// Where update repositories are read from (`update`).
    update_sources: Arc<dyn ports::UpdateSources>,
    /// The stage running, if any, and the update state's writes (`update`).
    update: update::UpdateState,
    /// The support bundle being made, if any, and the bundles' records.
    support_bundles: appliance::support_bundle::SupportBundleState,
    /// Serialised changes to the associated products and the reports (`lcm`).
    lcm: lcm::LcmState,
    /// The infrastructure profile validation or import running, if any.
    infraprofile: appliance::infraprofile::InfraprofileState,
    /// The deferred history import's operations and job (`history_import`).
    history_import: history_import::HistoryImportState,
    server_uuid: tokio::sync::OnceCell<String>,
    /// Whether the server is set up, and the setup running (`deployment`).
    deployment: deployment::DeploymentState,
    /// When evaluation mode began (licensing), read from the store once.
    evaluation_start: tokio::sync::OnceCell<time::OffsetDateTime>,
    me: std::sync::Weak<Core>,
    /// Step-failure drills of the flows (tests only).
    #[cfg(feature = "test-support")]
    drills: saga::Drills,
}

/// Tunables of the core, filled from the server configuration.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub auth: AuthConfig,
    pub tasks: TaskEngineConfig,
    pub hosts: hosts::HostsConfig,
    pub licensing: licensing::LicenseConfig,
    /// Seals secrets kept at rest (agent service-account passwords).
    pub secret_key: [u8; 32],
    pub agent_connect: agent_door::ConnectOptions,
    pub recovery: recovery::RecoveryConfig,
    pub support_bundle: appliance::support_bundle::SupportBundleConfig,
    /// How long an upgrade's export is kept for a target that stopped asking.
    pub upgrade_export: deployment::upgrade::ExportConfig,
    /// Update planning: how long a report's download URL works.
    pub lcm: lcm::LcmConfig,
    /// The update service: trusted keys, default repository, schedule clock.
    pub update: update::UpdateConfig,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            auth: AuthConfig::default(),
            tasks: TaskEngineConfig::default(),
            hosts: hosts::HostsConfig::default(),
            licensing: licensing::LicenseConfig::default(),
            secret_key: secrets::SecretBox::generate_key(),
            agent_connect: agent_door::ConnectOptions::default(),
            recovery: recovery::RecoveryConfig::default(),
            support_bundle: Default::default(),
            upgrade_export: Default::default(),
            lcm: Default::default(),
            update: Default::default(),
        }
    }
}

/// The setting that holds this server's identity (`Core::server_uuid`): the uuid its agents are claimed
/// with, and the identity a data dir records of its store.
pub const SERVER_UUID_KEY: &str = "server.instance_uuid";

/// The appliance service that is the main listener (`api-listener`), which a setup starts.
pub const API_LISTENER: &str = "api-listener";

/// The machine ports: what the appliance services read and may do.
#[derive(Clone)]
pub struct Machine {
    pub probe: Arc<dyn SystemProbe>,
    pub lifecycle: Arc<dyn Lifecycle>,
}

impl Default for Machine {
    /// No machine: the appliance reports no data and refuses actions.
    fn default() -> Self {
        Machine {
            probe: Arc::new(NoMachine),
            lifecycle: Arc::new(NoMachine),
        }
    }
}

/// Every port a core calls out through.
pub struct Ports {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub agents: Arc<dyn Agents>,
    pub machine: Machine,
    /// None: bootstrap over SSH is not supported.
    pub installer: Option<Arc<dyn HostInstaller>>,
    /// None: no backup location is reachable (every location type is refused).
    pub backup_target: Option<Arc<dyn ports::BackupTarget>>,
    /// None: no log forwarding (tests of the core alone).
    pub log_forwarder: Option<Arc<dyn ports::LogForwarder>>,
    /// None: support bundles hold no logs and no configuration.
    pub support_sources: Option<Arc<dyn ports::SupportSources>>,
    /// None: no update repository can be read.
    pub update_sources: Option<Arc<dyn ports::UpdateSources>>,
    /// None: identity providers cannot be checked, so none can be created.
    pub federation: Option<identity_providers::FederationPorts>,
}

impl Core {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: CoreConfig) -> Arc<Core> {
        let agents = Arc::new(agent_door::AgentClientDoor::new(
            config.agent_connect.clone(),
        ));
        Core::with_agents(store, clock, agents, config)
    }

    /// A core that reaches hosts through `agents` (tests pass a double).
    pub fn with_agents(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        agents: Arc<dyn Agents>,
        config: CoreConfig,
    ) -> Arc<Core> {
        Core::assemble(
            Ports {
                store,
                clock,
                agents,
                machine: Machine::default(),
                installer: None,
                backup_target: None,
                log_forwarder: None,
                support_sources: None,
                update_sources: None,
                federation: None,
            },
            config,
        )
    }

    /// A core over all of its ports (the server passes the real machine).
    pub fn assemble(ports: Ports, config: CoreConfig) -> Arc<Core> {
        let Ports {
            store,
            clock,
            agents,
            machine,
            installer,
            backup_target,
            log_forwarder,
            support_sources,
            update_sources,
            federation,
        } = ports;
        let read_model = read_model::ReadModel::wrap(store, config.hosts.cpu_overcommit_ratio);
        let store: Arc<dyn Store> = read_model.clone();
        let tasks = TaskEngine::new(store.clone(), clock.clone(), config.tasks.clone());
        Arc::new_cyclic(|me| Core {
            machine,
            health: Default::default(),
            firewall: Default::default(),
            log_forwarding: appliance::log_forwarding::LogForwardingState::new(
                log_forwarder.unwrap_or_else(|| Arc::new(ports::NoLogForwarder)),
            ),
            services: appliance::services::Services::new(me.clone(), tasks.clone()),
            federation: identity_providers::FederationState::new(federation.unwrap_or_default()),
            shutdown: Default::default(),
            monitoring: Default::default(),
            auth: AuthService::new(store.clone(), clock.clone(), config.auth.clone()),
            tasks,
            agents,
            installer: installer.unwrap_or_else(|| Arc::new(NoInstaller)),
            sessions: hosts::AgentPool::default(),
            account_writes: tokio::sync::Mutex::new(()),
            beats: Default::default(),
            claims: Default::default(),
            in_flight: Default::default(),
            vm_name_book: Default::default(),
            secrets: secrets::SecretBox::new(&config.secret_key),
            tokens: Default::default(),
            backup_target: backup_target.unwrap_or_else(|| Arc::new(ports::NoBackupTarget)),
            recovery: Default::default(),
            support_sources: support_sources.unwrap_or_else(|| Arc::new(ports::NoSupportSources)),
            support_bundles: Default::default(),
            update_sources: update_sources.unwrap_or_else(|| Arc::new(ports::NoUpdateSources)),
            update: Default::default(),
            lcm: Default::default(),
            infraprofile: Default::default(),
            history_import: Default::default(),
            server_uuid: tokio::sync::OnceCell::new(),
            deployment: Default::default(),
            evaluation_start: tokio::sync::OnceCell::new(),
            me: me.clone(),
            #[cfg(feature = "test-support")]
            drills: saga::Drills::default(),
            config,
            store,
            read_model,
            clock,
        })
    }

    /// This server's instance uuid, made on first use and kept in the store: it is what agents
    /// record as their managing server.
    pub async fn server_uuid(&self) -> Result<String, CoreError> {
        self.server_uuid
            .get_or_try_init(|| async {
                self.store
                    .put_setting_if_absent(SERVER_UUID_KEY, &model::new_uuid())
                    .await?;
                self.store
                    .get_setting(SERVER_UUID_KEY)
                    .await?
                    .ok_or_else(|| CoreError::internal("the server uuid vanished"))
            })
            .await
            .cloned()
    }

    /// The shared handle to this core, for work that outlives a call (task bodies).
    #[allow(
        clippy::expect_used,
        reason = "a Core is only ever made inside its Arc (new_cyclic), and &self keeps it alive"
    )]
    pub(crate) fn self_arc(&self) -> Arc<Core> {
        self.me
            .upgrade()
            .expect("the core is alive while it is used")
    }
}
