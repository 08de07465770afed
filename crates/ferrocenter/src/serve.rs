//! `ferrocenter serve`: open the data dir and store, recover tasks, make the first-start
//! accounts, start the listeners; stop gracefully on request.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferrocenter_agent_client::ConnectOptions;
use ferrocenter_api::{BoundAddrs, ListenerOptions, Listeners};
use ferrocenter_core::agent_door::AgentClientDoor;
use ferrocenter_core::appliance::global_fips;
use ferrocenter_core::appliance::monitoring::StatsCollector;
use ferrocenter_core::auth::{
    generate_password, AuthConfig, Bootstrap, LockoutPolicy, Realm, SessionPolicy, ROOT,
};
use ferrocenter_core::deployment::{ApplianceState, StartMode};
use ferrocenter_core::hosts::HostsConfig;
use ferrocenter_core::licensing::LicenseConfig;
use ferrocenter_core::ports::SystemClock;
use ferrocenter_core::recovery::{restore_job, RecoveryConfig};
use ferrocenter_core::secrets::SecretBox;
use ferrocenter_core::tasks::TaskEngineConfig;
use ferrocenter_core::{Core, CoreConfig, CoreError, Ports};
use ferrocenter_system::{MachineOptions, ProcessRequests};
use tracing::{info, warn};

use crate::config::ServeConfig;
use crate::store_identity::{self, StoreIdentity};
use crate::tls;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("data_dir: cannot create {path}: {reason}")]
    DataDir { path: PathBuf, reason: String },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    Store(#[from] ferrocenter_store::OpenError),
    /// The store is missing, empty, corrupt or not this data dir's: starting would lose data.
    #[error("refusing to start: {problem}.\n{advice}")]
    StoreRefused { problem: String, advice: String },
    #[error("first-start setup failed: {0}")]
    Bootstrap(CoreError),
    #[error("task recovery failed: {0}")]
    Recover(CoreError),
    #[error(transparent)]
    Listen(#[from] ferrocenter_api::ServeError),
    #[error("agent bootstrap: {0}")]
    Installer(#[from] ferrocenter_ssh::SshError),
    #[error("global FIPS: {0}")]
    Fips(String),
    #[error("root_password: required to await the setup (--root-password, FERROCENTER_ROOT_PASSWORD or the configuration file): the local root is who sets the server up")]
    RootPassword,
}

impl StartError {
    /// The process's exit code: 65 (EX_DATAERR) when the store was refused, so that a service
    /// manager can tell it from a configuration error (2) and not restart into it.
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::StoreRefused { .. } => EXIT_STORE_REFUSED,
            _ => 2,
        }
    }
}

/// See [`StartError::exit_code`].
pub const EXIT_STORE_REFUSED: u8 = 65;

pub const INITIAL_PASSWORD_FILE: &str = "initial-admin-password";

/// Printed when `--admin-password` meets a data dir whose accounts already exist.
pub const ADMIN_PASSWORD_IGNORED: &str = "Note: --admin-password (admin_password) is ignored: \
     this data dir is already initialised and its accounts keep their passwords. Use a new \
     --data-dir to start afresh.";

/// A started server.
pub struct Server {
    pub core: Arc<Core>,
    pub addrs: BoundAddrs,
    pub thumbprint: String,
    /// The TLS crypto provider every listener and client of this process uses.
    pub tls_provider: &'static str,
    /// Set on the first start when no password was configured: shown once, then only in the file.
    pub generated_password: Option<String>,
    /// `--admin-password` was given but the data dir's accounts already existed.
    pub admin_password_ignored: bool,
    /// Started awaiting its setup (`vcenter.deployment.install`): only the appliance listener
    /// serves until then.
    pub awaiting_setup: bool,
    /// Where an appliance reboot or power-off asks this process to restart or stop.
    pub process_requests: ProcessRequests,
    listeners: Listeners,
    sweeper: tokio::task::JoinHandle<()>,
    background: tokio_util::sync::CancellationToken,
    grace: Duration,
    /// Appliance statistics, sampled from the start (`appliance.monitoring`).
    pub statistics: Arc<StatsCollector>,
}

/// Creates the data dir (and parents) readable by the owner only.
pub fn make_dir(path: &Path) -> Result<(), StartError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| StartError::DataDir {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

impl Server {
    /// ZStack jobs held in memory (those that ended without a core task).
    pub fn zstack_job_count(&self) -> usize {
        self.listeners.zstack_jobs.len()
    }

    pub async fn start(cfg: &ServeConfig) -> Result<Server, StartError> {
        make_dir(&cfg.data_dir)?;
        let listening: Vec<_> = [
            Some(cfg.listen),
            Some(cfg.appliance_listen),
            cfg.http_listen,
        ]
        .into_iter()
        .flatten()
        .map(|a| a.ip())
        .collect();
        let identity = tls::load_or_create(&cfg.data_dir.join("tls"), &listening)?;
        let url = cfg
            .database_url
            .clone()
            .unwrap_or_else(|| ferrocenter_store::default_sqlite_url(&cfg.data_dir));
        // A restore replaced the store with another instance's: the data dir records its
        // identity now, before the store is checked against the record.
        if let Some(uuid) = restore_job::pending_identity(&cfg.data_dir) {
            if let Some(mut r) = store_identity::read(&cfg.data_dir)? {
                r.server_uuid = uuid;
                store_identity::write(&cfg.data_dir, &r)?;
            }
            restore_job::identity_recorded(&cfg.data_dir);
        }
        let recorded = store_identity::read(&cfg.data_dir)?;
        let opened = match &recorded {
            Some(_) => ferrocenter_store::open_existing(&url).await,
            None => ferrocenter_store::open(&url).await,
        };
        let store = match opened {
            Ok(s) => s,
            Err(e) if e.is_damage() => {
                return Err(store_identity::damaged(
                    &e,
                    &cfg.data_dir,
                    recorded.as_ref(),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(r) = &recorded {
            store_identity::verify(
                store.as_ref(),
                r,
                &cfg.data_dir,
                &ferrocenter_store::redact(&url),
            )
            .await?;
        }
        info!(engine = store.engine(), "store opened and checked");
        // Before any TLS configuration or HTTPS client exists: they all take the process's
        // provider, which global FIPS decides.
        let fips = global_fips::stored(store.as_ref())
            .await
            .map_err(|e| StartError::Fips(e.to_string()))?;
        ferrocenter_tls::install(fips).map_err(|e| StartError::Fips(e.to_string()))?;
        let tls_provider = ferrocenter_tls::name(&ferrocenter_tls::provider());
        info!(
            global_fips = fips,
            provider = tls_provider,
            "TLS crypto provider chosen"
        );
        let agent_connect = ConnectOptions {
            request_timeout: cfg.agent_request_timeout,
            pool_idle_timeout: cfg.agent_idle_timeout,
            ..ConnectOptions::default()
        };
        let (machine, process_requests) = ferrocenter_system::machine(&MachineOptions {
            allow_machine_actions: cfg.appliance_machine_actions,
        });
        let core = Core::assemble(
            Ports {
                store,
                clock: Arc::new(SystemClock),
                agents: Arc::new(AgentClientDoor::new(agent_connect.clone())),
                machine,
                installer: Some(installer(cfg)?),
                backup_target: Some(Arc::new(
                    ferrocenter_system::BackupLocations::new(ferrocenter_system::LocationTrust {
                        extra_roots_der: cfg.backup_trusted_ca.clone(),
                    })
                    .map_err(|e| StartError::Bootstrap(CoreError::from(e)))?,
                )),
                log_forwarder: Some(syslog_forwarder(cfg)?),
                federation: Some(ferrocenter_system::federation::federation()),
                support_sources: Some(Arc::new(crate::support::ServerSources {
                    logs_dir: cfg.data_dir.join(crate::support::LOGS_DIR),
                    given: cfg.given.clone(),
                    config_file: cfg.config_file.clone(),
                })),
                update_sources: Some(Arc::new(
                    ferrocenter_system::update_source::RepositorySources::new(
                        cfg.update_trusted_ca.clone(),
                    )
                    .map_err(|e| {
                        StartError::Bootstrap(CoreError::from(
                            ferrocenter_core::update::UpdateError::from(e),
                        ))
                    })?,
                )),
            },
            CoreConfig {
                auth: AuthConfig {
                    sessions: SessionPolicy {
                        idle_timeout: cfg.session_idle_timeout,
                        max_lifetime: cfg.session_max_lifetime,
                    },
                    lockout: LockoutPolicy {
                        max_failures: cfg.lockout_max_failures,
                        window: cfg.lockout_window,
                        duration: cfg.lockout_duration,
                        ..LockoutPolicy::default()
                    },
                    ..AuthConfig::default()
                },
                tasks: TaskEngineConfig {
                    unwind_grace: cfg.shutdown_grace.max(Duration::from_secs(1)),
                },
                hosts: HostsConfig {
                    server_address: cfg.listen.ip().to_string(),
                    heartbeat_interval: cfg.heartbeat_interval,
                    max_migrations_per_host: cfg.max_migrations_per_host,
                    cpu_overcommit_ratio: cfg.cpu_overcommit_ratio,
                    default_agent_port: cfg.agent_port,
                    ..HostsConfig::default()
                },
                licensing: LicenseConfig {
                    cpu_capacity: cfg.license_cpu_packages,
                    ..LicenseConfig::default()
                },
                secret_key: load_or_create_key(&cfg.data_dir)?,
                agent_connect,
                recovery: RecoveryConfig {
                    work_dir: cfg.data_dir.clone(),
                    system_name: tls::host_name().unwrap_or_else(|| "ferrocenter".into()),
                    ..RecoveryConfig::default()
                },
                support_bundle: cfg.support_bundle.clone(),
                upgrade_export: Default::default(),
                lcm: cfg.lcm.clone(),
                update: ferrocenter_core::update::UpdateConfig {
                    staging_dir: cfg.data_dir.join("update").join("staged"),
                    install_plan: install_plan_path(&cfg.data_dir),
                    ..cfg.update.clone()
                },
            },
        );
        // A data dir that records its store is set up; otherwise --await-setup (or a setup by
        // API begun earlier, which the store records) keeps the server waiting for one.
        let mode = if recorded.is_none() && cfg.await_setup {
            StartMode::AwaitSetup
        } else {
            if recorded.is_some() && cfg.await_setup {
                info!("await_setup is ignored: this data dir is already set up");
            }
            StartMode::SetUp
        };
        let setup_host = Arc::new(crate::setup_host::DataDirSetup {
            data_dir: cfg.data_dir.clone(),
            listening: listening.clone(),
            engine: core.store.engine().to_string(),
            database: ferrocenter_store::redact(&url),
            reload: Default::default(),
        });
        core.set_setup_host(setup_host.clone());
        core.set_upgrade_sources(Arc::new(crate::upgrade_source::ClientSources));
        let deployment = core
            .open_deployment(mode)
            .await
            .map_err(StartError::Bootstrap)?;
        let awaiting = deployment != ApplianceState::Configured;
        core.tasks.recover().await.map_err(StartError::Recover)?;
        // A new binary's start check leaves the install's end to the run that follows it.
        if !cfg.start_check {
            core.finish_update_install()
                .await
                .map_err(StartError::Recover)?;
        }
        core.clear_recovery_staging();
        core.clear_support_bundle_partials();
        // Built before the hosts are recovered and any listener accepts, so that no request
        // waits for it.
        core.read_model
            .load()
            .await
            .map_err(|e| StartError::Recover(e.into()))?;
        info!(size = ?core.read_model.size(), "read model built");
        core.recover_hosts().await.map_err(StartError::Recover)?;
        core.recover_history_import()
            .await
            .map_err(StartError::Recover)?;
        // Before any listener accepts: the stored inbound firewall rules apply from the start.
        core.load_firewall().await.map_err(StartError::Bootstrap)?;
        core.load_log_forwarding()
            .await
            .map_err(StartError::Bootstrap)?;
        // The stored SSO lockout policy replaces the configuration's before any login.
        core.apply_stored_sso_policies()
            .await
            .map_err(StartError::Bootstrap)?;
        let FirstStart {
            generated: generated_password,
            admin_password_ignored,
        } = if awaiting {
            setup_root(&core, cfg).await?
        } else {
            first_start(&core, cfg).await?
        };
        if recorded.is_none() && !awaiting {
            let server_uuid = core.server_uuid().await.map_err(StartError::Bootstrap)?;
            store_identity::write(
                &cfg.data_dir,
                &StoreIdentity {
                    server_uuid,
                    engine: core.store.engine().to_string(),
                    database: ferrocenter_store::redact(&url),
                    initialised_at: time::OffsetDateTime::now_utc()
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                },
            )?;
        }

        let listeners = ferrocenter_api::start(
            core.clone(),
            &ListenerOptions {
                listen: cfg.listen,
                appliance_listen: cfg.appliance_listen,
                http_listen: cfg.http_listen,
                cert_pem: identity.cert_pem.clone(),
                key_pem: identity.key_pem.clone(),
                max_body_bytes: cfg.max_body_bytes,
                diagnostics: cfg.enable_diagnostics,
                zstack_session_lifetime: cfg.zstack_session_timeout,
                zstack_trust_agent_on_first_use: cfg.zstack_trust_agent_on_first_use,
                login_rate: cfg.login_rate,
                zstack_web_hooks: cfg.zstack_web_hooks.clone(),
                metrics: cfg.enable_metrics,
                external_address: cfg.external_address.clone(),
                ssl_trust: vec![identity.cert_base64.clone()],
                await_setup: awaiting,
            },
        )
        .await?;
        let _ = setup_host.reload.set(listeners.tls.clone());
        for listener in listeners.components(cfg.shutdown_grace) {
            core.services.register(listener);
        }
        let sweep_core = core.clone();
        let sweeper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                sweep_core.auth.sweep_sessions();
            }
        });
        let background = tokio_util::sync::CancellationToken::new();
        core.start_heartbeats(background.clone());
        core.resume_after_restore().await;
        core.start_backup_schedules(background.clone());
        core.start_update_checks(background.clone());
        core.start_support_bundle_sweeper(background.clone());
        core.start_upgrade_export_sweeper(background.clone());
        let statistics = Arc::new(StatsCollector::new(core.clone()));
        statistics.start();
        core.services.register(statistics.clone());
        Ok(Server {
            statistics,
            core,
            addrs: listeners.addrs,
            thumbprint: identity.thumbprint,
            tls_provider,
            generated_password,
            admin_password_ignored,
            awaiting_setup: awaiting,
            process_requests,
            listeners,
            sweeper,
            background,
            grace: cfg.shutdown_grace,
        })
    }

    /// The lines every start prints: where to connect and which certificate to expect.
    pub fn banner(&self) -> String {
        if self.awaiting_setup {
            return format!(
                "ferrocenter {} is awaiting setup\n  appliance management:          https://{}\n  \
                 set it up: POST https://{}/rest/vcenter/deployment/install?action=start (as root; docs/deployment.md)\n  \
                 API (/api /rest /sdk /zstack) once set up: https://{}\n  \
                 TLS certificate SHA-256 thumbprint: {}\n  TLS crypto provider: {}\n",
                env!("CARGO_PKG_VERSION"),
                self.addrs.appliance,
                self.addrs.appliance,
                self.addrs.api,
                self.thumbprint,
                self.tls_provider
            );
        }
        let mut s = format!(
            "ferrocenter {} is serving\n  API (/api /rest /sdk /zstack): https://{}\n  appliance management:          https://{}\n",
            env!("CARGO_PKG_VERSION"),
            self.addrs.api,
            self.addrs.appliance
        );
        if let Some(h) = self.addrs.http {
            s += &format!("  plain HTTP (unencrypted):      http://{h}\n");
        }
        s += &format!(
            "  TLS certificate SHA-256 thumbprint: {}\n  TLS crypto provider: {}\n",
            self.thumbprint, self.tls_provider
        );
        // On standard output, where the operator who passed the password is looking.
        if self.admin_password_ignored {
            s += ADMIN_PASSWORD_IGNORED;
            s.push('\n');
        }
        s
    }

    /// Stops accepting, lets requests and tasks finish within the grace period, records any
    /// task still unfinished as failed, and leaves the store as one file (no write-ahead log).
    pub async fn stop(self) {
        info!(grace_s = self.grace.as_secs(), "shutting down");
        self.sweeper.abort();
        self.background.cancel();
        self.statistics.stop().await;
        let (_, ()) = tokio::join!(
            self.listeners.shutdown(self.grace),
            self.core.tasks.shutdown(self.grace)
        );
        if let Err(e) = self.core.store.checkpoint().await {
            warn!(error = %e, "the store's write-ahead log was not emptied at stop");
        }
        info!("stopped");
    }
}

/// The key that seals secrets at rest, made on first start (`DATA/secret.key`, mode 0600).
/// The process's syslog forwarder, trusting `syslog_ca_file` for TLS receivers.
fn syslog_forwarder(
    cfg: &ServeConfig,
) -> Result<Arc<dyn ferrocenter_core::ports::LogForwarder>, StartError> {
    let forwarder = crate::logging::forwarder().clone();
    forwarder
        .trust(&cfg.syslog_trusted_ca)
        .map_err(|e| StartError::Bootstrap(CoreError::invalid("syslog_ca_file", e)))?;
    Ok(Arc::new(forwarder))
}

fn load_or_create_key(data_dir: &Path) -> Result<[u8; 32], StartError> {
    let path = data_dir.join("secret.key");
    let err = |reason: String| StartError::DataDir {
        path: path.clone(),
        reason,
    };
    match std::fs::read(&path) {
        Ok(bytes) => bytes
            .try_into()
            .map_err(|_| err("is not a 32-byte key".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretBox::generate_key();
            tls::write_private(&path, &key).map_err(|e| err(e.to_string()))?;
            Ok(key)
        }
        Err(e) => Err(err(e.to_string())),
    }
}

/// What the first-start step did.
struct FirstStart {
    /// The password, if it was generated.
    generated: Option<String>,
    /// A configured admin password met accounts that already exist.
    admin_password_ignored: bool,
}

/// Creates the first accounts when the store has none.
async fn first_start(core: &Core, cfg: &ServeConfig) -> Result<FirstStart, StartError> {
    if core
        .store
        .get_setting("auth.initialised")
        .await
        .map_err(|e| StartError::Bootstrap(e.into()))?
        .is_some()
    {
        if cfg.admin_password.is_some() {
            info!("admin_password is used on first start only; ignored");
        }
        return Ok(FirstStart {
            generated: None,
            admin_password_ignored: cfg.admin_password.is_some(),
        });
    }
    let file = cfg.data_dir.join(INITIAL_PASSWORD_FILE);
    let (password, generated) = match &cfg.admin_password {
        Some(pw) => (pw.clone(), None),
        None => {
            // A first start that failed half-way left its password here; reuse it so the
            // accounts it already created keep a known password.
            let pw = match std::fs::read_to_string(&file) {
                Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
                _ => {
                    let pw = generate_password(20);
                    tls::write_private(&file, format!("{pw}\n").as_bytes())?;
                    pw
                }
            };
            (pw.clone(), Some(pw))
        }
    };
    match core.auth.bootstrap(&password).await {
        Ok(Bootstrap::Created) | Ok(Bootstrap::AlreadyInitialised) => Ok(FirstStart {
            generated,
            admin_password_ignored: false,
        }),
        Err(e) => Err(StartError::Bootstrap(e)),
    }
}

/// A server awaiting its setup: only the local root, with the configured password (given
/// again, it replaces the one the store holds, so the operator of this machine gets in even
/// on a store another instance left).
async fn setup_root(core: &Core, cfg: &ServeConfig) -> Result<FirstStart, StartError> {
    let root = core
        .store
        .find_principal(&Realm::Local, ROOT)
        .await
        .map_err(|e| StartError::Bootstrap(e.into()))?;
    match (&cfg.root_password, root) {
        (Some(pw), _) => {
            core.auth
                .set_root_password(pw)
                .await
                .map_err(StartError::Bootstrap)?;
        }
        (None, Some(_)) => {}
        (None, None) => return Err(StartError::RootPassword),
    }
    Ok(FirstStart {
        generated: None,
        admin_password_ignored: cfg.admin_password.is_some(),
    })
}

/// Waits for SIGTERM or SIGINT; fails only if the handlers cannot be installed.
pub async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => info!("SIGTERM received"),
        _ = int.recv() => info!("SIGINT received"),
    }
    Ok(())
}

/// Prints the generated password once, on standard output only.
pub fn announce_generated_password(data_dir: &Path, pw: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Generated the initial password of administrator@vsphere.local and root: {pw}\n\
         It is also in {} (mode 0600). Change it after logging in:\n  \
         ferrocenter login --server <this server> --user administrator@vsphere.local\n  \
         ferrocenter sso user passwd\n\
         (it asks for the current and the new password; root's is changed through the \
         appliance API, local_accounts.update).",
        data_dir.join(INITIAL_PASSWORD_FILE).display()
    );
}

/// The SSH installer of agents, as configured.
fn installer(
    cfg: &ServeConfig,
) -> Result<Arc<dyn ferrocenter_core::ports::HostInstaller>, StartError> {
    let mut config = ferrocenter_ssh::InstallerConfig::this_server()?;
    if let Some(b) = &cfg.bootstrap_agent_binary {
        config.agent_binary = b.clone();
    }
    config.layout.driver = cfg.bootstrap_agent_driver.clone();
    Ok(Arc::new(ferrocenter_ssh::SshInstaller::new(config)))
}

/// Where an update install's plan is kept between the install task and the next start.
pub fn install_plan_path(data_dir: &Path) -> PathBuf {
    data_dir.join("update").join("install.json")
}
