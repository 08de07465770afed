//! `ferrocenter serve` configuration: command-line flags, `FERROCENTER_<FLAG>` environment
//! variables and a TOML file, in that order of precedence, over built-in defaults.
use ferrocenter_api::LoginRate;
use ferrocenter_core::lookup::ExternalAddress;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Flags of `ferrocenter serve`. Every one is optional here so that the file and the defaults
/// can fill what the command line and environment leave unset.
#[derive(Debug, Default, Clone, clap::Args, serde::Serialize)]
pub struct ServeArgs {
    /// A TOML file with any of the settings below (keys in snake_case).
    #[arg(long, env = "FERROCENTER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database, TLS key and certificate, logs and backups [default: ./ferrocenter-data].
    #[arg(long, env = "FERROCENTER_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<String>,
    /// HTTPS for /api, /rest, /sdk and /zstack [default: 127.0.0.1:8443].
    #[arg(long, env = "FERROCENTER_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// HTTPS for appliance management with local accounts [default: 127.0.0.1:5480].
    #[arg(long, env = "FERROCENTER_APPLIANCE_LISTEN", value_name = "ADDR")]
    pub appliance_listen: Option<String>,
    /// Plain HTTP serving the same routes as --listen (off unless set). Unencrypted.
    #[arg(long, env = "FERROCENTER_HTTP_LISTEN", value_name = "ADDR")]
    pub http_listen: Option<String>,
    /// Host name or address (and port) clients reach the server at: HOST, HOST:PORT or
    /// [IPv6]:PORT. The Lookup Service's registrations name their URLs with it [default: the
    /// --listen address, or this machine's host name when that is a wildcard; the port defaults
    /// to --listen's].
    #[arg(long, env = "FERROCENTER_EXTERNAL_ADDRESS", value_name = "HOST[:PORT]")]
    pub external_address: Option<String>,
    /// sqlite://PATH or postgres://… [default: a SQLite file in the data dir].
    #[arg(
        long,
        env = "FERROCENTER_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Initial password of administrator@vsphere.local and root; used on first start only.
    #[arg(
        long,
        env = "FERROCENTER_ADMIN_PASSWORD",
        value_name = "PW",
        hide_env_values = true
    )]
    pub admin_password: Option<String>,
    /// Start unconfigured: only the appliance listener serves, for local root, until the setup
    /// is done through `vcenter.deployment.install` (docs/deployment.md) [default: false].
    #[arg(long, env = "FERROCENTER_AWAIT_SETUP", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub await_setup: Option<String>,
    /// The password of the local root account while the server awaits its setup (required
    /// with --await-setup on a data dir not set up yet).
    #[arg(
        long,
        env = "FERROCENTER_ROOT_PASSWORD",
        value_name = "PW",
        hide_env_values = true
    )]
    pub root_password: Option<String>,
    /// Seconds a session may stay unused [default: 1800].
    #[arg(long, env = "FERROCENTER_SESSION_IDLE_TIMEOUT_SECS", value_name = "S")]
    pub session_idle_timeout_secs: Option<String>,
    /// Seconds a session may live at most [default: 86400].
    #[arg(long, env = "FERROCENTER_SESSION_MAX_LIFETIME_SECS", value_name = "S")]
    pub session_max_lifetime_secs: Option<String>,
    /// Failed logins from one address that lock an account for that address [default: 5].
    /// After a free first failure, each doubles the wait before the next attempt (1 s, 2 s, …).
    #[arg(long, env = "FERROCENTER_LOCKOUT_MAX_FAILURES", value_name = "N")]
    pub lockout_max_failures: Option<String>,
    /// Window in which failures are counted, in seconds [default: 180].
    #[arg(long, env = "FERROCENTER_LOCKOUT_WINDOW_SECS", value_name = "S")]
    pub lockout_window_secs: Option<String>,
    /// How long a locked account stays locked, in seconds [default: 900].
    #[arg(long, env = "FERROCENTER_LOCKOUT_DURATION_SECS", value_name = "S")]
    pub lockout_duration_secs: Option<String>,
    /// Login attempts one address may make at once before it must wait [default: 30].
    #[arg(long, env = "FERROCENTER_LOGIN_RATE_BURST", value_name = "N")]
    pub login_rate_burst: Option<String>,
    /// Login attempts one address regains per minute [default: 30]. Successful logins do not
    /// count.
    #[arg(long, env = "FERROCENTER_LOGIN_RATE_PER_MIN", value_name = "N")]
    pub login_rate_per_min: Option<String>,
    /// Seconds given to requests and tasks in flight at shutdown [default: 10].
    #[arg(long, env = "FERROCENTER_SHUTDOWN_GRACE_SECS", value_name = "S")]
    pub shutdown_grace_secs: Option<String>,
    /// Largest accepted request body in bytes [default: 10485760].
    #[arg(long, env = "FERROCENTER_MAX_BODY_BYTES", value_name = "N")]
    pub max_body_bytes: Option<String>,
    /// Log filter, e.g. info or debug,sqlx=warn [default: info].
    #[arg(long, env = "FERROCENTER_LOG_LEVEL", value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Seconds between heartbeats to each connected host [default: 60].
    #[arg(long, env = "FERROCENTER_HEARTBEAT_INTERVAL_SECS", value_name = "S")]
    pub heartbeat_interval_secs: Option<String>,
    /// Seconds an agent has to answer one request before the host counts as unreachable
    /// [default: 30].
    #[arg(long, env = "FERROCENTER_AGENT_REQUEST_TIMEOUT_SECS", value_name = "S")]
    pub agent_request_timeout_secs: Option<String>,
    /// Seconds an idle connection to an agent is kept for reuse [default: 90]. Below the
    /// heartbeat interval the server holds no descriptor per idle host (a fleet larger than the
    /// process's descriptor limit needs this), at the cost of a TLS handshake per heartbeat.
    #[arg(long, env = "FERROCENTER_AGENT_IDLE_TIMEOUT_SECS", value_name = "S")]
    pub agent_idle_timeout_secs: Option<String>,
    /// The driver of agents installed over SSH (a host added with SSH credentials and no
    /// agent): libvirt or sim [default: libvirt].
    #[arg(
        long,
        env = "FERROCENTER_BOOTSTRAP_AGENT_DRIVER",
        value_name = "DRIVER"
    )]
    pub bootstrap_agent_driver: Option<String>,
    /// The agent binary installed over SSH [default: this server's own executable].
    #[arg(long, env = "FERROCENTER_BOOTSTRAP_AGENT_BINARY", value_name = "FILE")]
    pub bootstrap_agent_binary: Option<PathBuf>,
    /// Concurrent migrations out of a host being evacuated [default: 8].
    #[arg(long, env = "FERROCENTER_MAX_MIGRATIONS_PER_HOST", value_name = "N")]
    pub max_migrations_per_host: Option<String>,
    /// ZStack's CPU overcommit ratio: available CPUs are cpuNum × this [default: 10].
    #[arg(long, env = "FERROCENTER_CPU_OVERCOMMIT_RATIO", value_name = "N")]
    pub cpu_overcommit_ratio: Option<String>,
    /// Licensed CPU packages; unset means evaluation mode (unlimited for 60 days).
    #[arg(long, env = "FERROCENTER_LICENSE_CPU_PACKAGES", value_name = "N")]
    pub license_cpu_packages: Option<String>,
    /// Serve ferrocenter's diagnostic operations (a sleep task) [default: false].
    #[arg(long, env = "FERROCENTER_ENABLE_DIAGNOSTICS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enable_diagnostics: Option<String>,
    /// Serve Prometheus metrics at /metrics on every listener, unauthenticated [default: false].
    #[arg(long, env = "FERROCENTER_ENABLE_METRICS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enable_metrics: Option<String>,
    /// Port of the host agents when an add names none (ZStack's AddKVMHost never does)
    /// [default: 8444].
    #[arg(long, env = "FERROCENTER_AGENT_PORT", value_name = "PORT")]
    pub agent_port: Option<String>,
    /// Lifetime of a ZStack session (fixed, not sliding) in seconds [default: 7200].
    #[arg(
        long,
        env = "FERROCENTER_ZSTACK_SESSION_TIMEOUT_SECS",
        value_name = "S"
    )]
    pub zstack_session_timeout_secs: Option<String>,
    /// ZStack AddKVMHost carries no certificate thumbprint: accept and pin the agent's
    /// certificate on first contact (the credentials authenticate the add). With false, such
    /// adds need the system tag `sslThumbprint::<thumbprint>` [default: true].
    #[arg(long, env = "FERROCENTER_ZSTACK_TRUST_AGENT_ON_FIRST_USE", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub zstack_trust_agent_on_first_use: Option<String>,
    /// URL prefixes ZStack's `X-Web-Hook` may name, comma-separated (scheme, host, port and
    /// path, e.g. https://hooks.example.com:8443/zstack); a web hook to anywhere else is
    /// refused [default: none].
    #[arg(
        long,
        env = "FERROCENTER_ZSTACK_WEB_HOOK_ALLOW",
        value_name = "URLS",
        value_delimiter = ','
    )]
    pub zstack_web_hook_allow: Option<Vec<String>>,
    /// Let the appliance's reboot and power-off act on the machine (systemctl reboot,
    /// poweroff) rather than restart or stop the ferrocenter process [default: false].
    #[arg(long, env = "FERROCENTER_APPLIANCE_MACHINE_ACTIONS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub appliance_machine_actions: Option<String>,
    /// PEM file of CA certificates that FTPS and HTTPS backup locations may chain to, besides
    /// the public web roots (an organisation's own CA).
    #[arg(long, env = "FERROCENTER_BACKUP_CA_FILE", value_name = "PATH")]
    pub backup_ca_file: Option<String>,
    /// PEM file of CA certificates that TLS syslog receivers may chain to, besides the public
    /// web roots.
    #[arg(long, env = "FERROCENTER_SYSLOG_CA_FILE", value_name = "PATH")]
    pub syslog_ca_file: Option<String>,
    /// Public keys update repositories must be signed with, comma-separated: each a base64
    /// Ed25519 key as `update-repo keygen` prints it, or the path of a file holding one (its
    /// `.pub` file) [default: none, so every repository is refused].
    #[arg(
        long,
        env = "FERROCENTER_UPDATE_TRUSTED_KEYS",
        value_name = "KEYS",
        value_delimiter = ','
    )]
    pub update_trusted_keys: Option<Vec<String>>,
    /// PEM file of CA certificates that HTTPS update repositories may chain to, besides the
    /// public web roots.
    #[arg(long, env = "FERROCENTER_UPDATE_CA_FILE", value_name = "PATH")]
    pub update_ca_file: Option<String>,
    /// The update repository checked when neither the request nor the update policy names one
    /// (the policy's `default_URL`) [default: none].
    #[arg(long, env = "FERROCENTER_UPDATE_DEFAULT_URL", value_name = "URL")]
    pub update_default_url: Option<String>,
    /// The LOCAL update source: an ISO 9660 image file or a directory (a mounted image)
    /// holding an update repository [default: none].
    #[arg(long, env = "FERROCENTER_UPDATE_LOCAL_SOURCE", value_name = "PATH")]
    pub update_local_source: Option<String>,
    /// Largest support bundle written, compressed, in bytes [default: 1073741824].
    #[arg(long, env = "FERROCENTER_SUPPORT_BUNDLE_MAX_BYTES", value_name = "N")]
    pub support_bundle_max_bytes: Option<String>,
    /// Seconds a support bundle's download URL stays valid [default: 3600].
    #[arg(
        long,
        env = "FERROCENTER_SUPPORT_BUNDLE_URL_LIFETIME_SECS",
        value_name = "S"
    )]
    pub support_bundle_url_lifetime_secs: Option<String>,
    /// Seconds a support bundle is kept before the sweep removes it [default: 604800].
    #[arg(
        long,
        env = "FERROCENTER_SUPPORT_BUNDLE_RETENTION_SECS",
        value_name = "S"
    )]
    pub support_bundle_retention_secs: Option<String>,
    /// More partitions support bundles may be written to, as NAME=DIR, comma-separated;
    /// `data` (DATA/support-bundles) is always one and the default.
    #[arg(
        long,
        env = "FERROCENTER_SUPPORT_BUNDLE_PARTITIONS",
        value_name = "NAME=DIR",
        value_delimiter = ','
    )]
    pub support_bundle_partitions: Option<Vec<String>>,
    /// Seconds an LCM report's download URL (`reports.get`) stays valid [default: 3600].
    #[arg(
        long,
        env = "FERROCENTER_LCM_REPORT_URL_LIFETIME_SECS",
        value_name = "S"
    )]
    pub lcm_report_url_lifetime_secs: Option<String>,
}

/// The TOML file: the same keys, typed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<String>,
    listen: Option<String>,
    appliance_listen: Option<String>,
    http_listen: Option<String>,
    external_address: Option<String>,
    database_url: Option<String>,
    admin_password: Option<String>,
    await_setup: Option<bool>,
    root_password: Option<String>,
    session_idle_timeout_secs: Option<u64>,
    session_max_lifetime_secs: Option<u64>,
    lockout_max_failures: Option<u32>,
    lockout_window_secs: Option<u64>,
    lockout_duration_secs: Option<u64>,
    login_rate_burst: Option<u32>,
    login_rate_per_min: Option<u32>,
    shutdown_grace_secs: Option<u64>,
    max_body_bytes: Option<u64>,
    log_level: Option<String>,
    enable_diagnostics: Option<bool>,
    enable_metrics: Option<bool>,
    heartbeat_interval_secs: Option<u64>,
    agent_request_timeout_secs: Option<u64>,
    agent_idle_timeout_secs: Option<u64>,
    bootstrap_agent_driver: Option<String>,
    bootstrap_agent_binary: Option<PathBuf>,
    max_migrations_per_host: Option<u64>,
    cpu_overcommit_ratio: Option<u64>,
    license_cpu_packages: Option<u64>,
    zstack_session_timeout_secs: Option<u64>,
    agent_port: Option<u64>,
    zstack_trust_agent_on_first_use: Option<bool>,
    zstack_web_hook_allow: Option<Vec<String>>,
    appliance_machine_actions: Option<bool>,
    backup_ca_file: Option<String>,
    syslog_ca_file: Option<String>,
    update_trusted_keys: Option<Vec<String>>,
    update_ca_file: Option<String>,
    update_default_url: Option<String>,
    update_local_source: Option<String>,
    support_bundle_max_bytes: Option<u64>,
    support_bundle_url_lifetime_secs: Option<u64>,
    support_bundle_retention_secs: Option<u64>,
    support_bundle_partitions: Option<Vec<String>>,
    lcm_report_url_lifetime_secs: Option<u64>,
}

/// A resolved, validated configuration.
#[derive(Clone)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    /// A new binary's start check during an update install (`self_update::START_CHECK_ENV`):
    /// start, stop, and leave the install plan alone.
    pub start_check: bool,
    pub listen: SocketAddr,
    pub appliance_listen: SocketAddr,
    pub http_listen: Option<SocketAddr>,
    /// Where clients reach the server (`external_address`): as configured, else the `listen`
    /// address, or this machine's host name (which the generated certificate names) when that
    /// is a wildcard. Without a port, the main listener's bound port is meant.
    pub external_address: ExternalAddress,
    /// None: the SQLite file in the data dir.
    pub database_url: Option<String>,
    pub admin_password: Option<String>,
    /// Start unconfigured and wait for `vcenter.deployment.install`.
    pub await_setup: bool,
    /// Local root's password while awaiting setup.
    pub root_password: Option<String>,
    pub session_idle_timeout: Duration,
    pub session_max_lifetime: Duration,
    pub lockout_max_failures: u32,
    pub lockout_window: Duration,
    pub lockout_duration: Duration,
    pub login_rate: LoginRate,
    pub shutdown_grace: Duration,
    pub max_body_bytes: usize,
    pub log_level: String,
    pub enable_diagnostics: bool,
    pub enable_metrics: bool,
    pub heartbeat_interval: Duration,
    pub agent_request_timeout: Duration,
    pub agent_idle_timeout: Duration,
    pub bootstrap_agent_driver: String,
    /// None: this server's own executable.
    pub bootstrap_agent_binary: Option<PathBuf>,
    pub max_migrations_per_host: usize,
    pub cpu_overcommit_ratio: u32,
    pub license_cpu_packages: Option<u32>,
    pub zstack_session_timeout: Duration,
    pub agent_port: u16,
    pub zstack_trust_agent_on_first_use: bool,
    pub zstack_web_hooks: ferrocenter_api::HookDestinations,
    /// The appliance's reboot and power-off act on the machine, not the process.
    pub appliance_machine_actions: bool,
    /// DER certificates from `backup_ca_file`.
    pub backup_trusted_ca: Vec<Vec<u8>>,
    /// DER certificates from `syslog_ca_file`.
    pub syslog_trusted_ca: Vec<Vec<u8>>,
    /// `update_trusted_keys`.
    pub update: ferrocenter_core::update::UpdateConfig,
    /// DER certificates from `update_ca_file`.
    pub update_trusted_ca: Vec<Vec<u8>>,
    /// `support_bundle_*`: partitions, size limit, URL lifetime, retention.
    pub support_bundle: ferrocenter_core::appliance::support_bundle::SupportBundleConfig,
    /// `lcm_report_url_lifetime_secs`.
    pub lcm: ferrocenter_core::lcm::LcmConfig,
    /// The configuration as given on the command line and in the environment, and the file,
    /// for support bundles (which redact them).
    pub given: serde_json::Value,
    pub config_file: Option<PathBuf>,
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("appliance_listen", &self.appliance_listen)
            .field("http_listen", &self.http_listen)
            .field(
                "database_url",
                &self.database_url.as_deref().map(ferrocenter_store::redact),
            )
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "<set>"),
            )
            .field("await_setup", &self.await_setup)
            .field(
                "root_password",
                &self.root_password.as_ref().map(|_| "<set>"),
            )
            .finish_non_exhaustive()
    }
}

/// The certificates of a PEM file, refused naming the key when it holds none or is unreadable.
fn read_ca_file(key: &'static str, path: &str) -> Result<Vec<Vec<u8>>, ConfigError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| invalid(key, format!("{path}: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(key, format!("{path} holds no PEM certificate")));
    }
    Ok(certs.into_iter().map(|c| c.as_ref().to_vec()).collect())
}

/// A setting that cannot be used; the message starts with the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{key}: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("config file {path}: {reason}")]
    File { path: PathBuf, reason: String },
}

pub(crate) fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

fn addr(key: &'static str, v: &str) -> Result<SocketAddr, ConfigError> {
    v.parse().map_err(|_| {
        invalid(
            key,
            format!("'{v}' is not a socket address like 127.0.0.1:8443 or [::1]:8443"),
        )
    })
}

fn number<T: std::str::FromStr>(key: &'static str, v: &str) -> Result<T, ConfigError> {
    v.trim()
        .parse()
        .map_err(|_| invalid(key, format!("'{v}' is not a valid non-negative integer")))
}

fn boolean(key: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(invalid(key, format!("'{v}' is not true or false"))),
    }
}

fn secs(key: &'static str, v: u64, min: u64, max: u64) -> Result<Duration, ConfigError> {
    if v < min || v > max {
        return Err(invalid(key, format!("{v} is outside {min}..={max}")));
    }
    Ok(Duration::from_secs(v))
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| {
        // toml's message does not always name the key; the line the error points at does.
        let key = e.span().and_then(|span| {
            let line_start = text[..span.start.min(text.len())]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let line = text[line_start..].lines().next().unwrap_or("");
            line.split_once('=').map(|(k, _)| k.trim().to_string())
        });
        ConfigError::File {
            path: path.to_path_buf(),
            reason: match key {
                Some(k) if !k.is_empty() => format!("{k}: {}", e.message()),
                _ => e.message().to_string(),
            },
        }
    })
}

impl ServeArgs {
    /// Resolves flags, environment, file and defaults into a checked configuration.
    pub fn resolve(&self) -> Result<ServeConfig, ConfigError> {
        let file = match &self.config {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };
        // A flag or variable (text) wins over the file (typed) which wins over the default.
        macro_rules! pick_num {
            ($key:ident, $ty:ty, $default:expr) => {
                match &self.$key {
                    Some(v) => number::<$ty>(stringify!($key), v)?,
                    None => file.$key.map(|x| x as $ty).unwrap_or($default),
                }
            };
        }
        let data_dir = PathBuf::from(
            self.data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| "./ferrocenter-data".into()),
        );
        if data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "must not be empty"));
        }
        let listen = addr(
            "listen",
            self.listen
                .as_deref()
                .or(file.listen.as_deref())
                .unwrap_or("127.0.0.1:8443"),
        )?;
        let appliance_listen = addr(
            "appliance_listen",
            self.appliance_listen
                .as_deref()
                .or(file.appliance_listen.as_deref())
                .unwrap_or("127.0.0.1:5480"),
        )?;
        let http_listen = self
            .http_listen
            .as_deref()
            .or(file.http_listen.as_deref())
            .filter(|s| !s.is_empty())
            .map(|v| addr("http_listen", v))
            .transpose()?;
        let external_address = match self
            .external_address
            .as_deref()
            .or(file.external_address.as_deref())
        {
            Some(v) => ExternalAddress::parse(v).map_err(|e| match e {
                ferrocenter_core::CoreError::InvalidArgument { reason, .. } => {
                    invalid("external_address", format!("'{v}': {reason}"))
                }
                other => invalid("external_address", other.to_string()),
            })?,
            None if listen.ip().is_unspecified() => ExternalAddress {
                host: crate::tls::host_name().unwrap_or_else(|| "localhost".into()),
                port: None,
            },
            None => ExternalAddress {
                host: listen.ip().to_string(),
                port: None,
            },
        };
        let database_url = self.database_url.clone().or(file.database_url);
        if let Some(url) = &database_url {
            let ok = url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://");
            if !ok {
                return Err(invalid(
                    "database_url",
                    format!(
                        "'{}' must start with sqlite:, postgres:// or postgresql://",
                        ferrocenter_store::redact(url)
                    ),
                ));
            }
        }
        let admin_password = self.admin_password.clone().or(file.admin_password);
        if let Some(pw) = &admin_password {
            ferrocenter_core::auth::validate_new_password("admin_password", pw)
                .map_err(|e| invalid("admin_password", e.to_string()))?;
        }
        let await_setup = match &self.await_setup {
            Some(v) => boolean("await_setup", v)?,
            None => file.await_setup.unwrap_or(false),
        };
        let root_password = self.root_password.clone().or(file.root_password);
        if let Some(pw) = &root_password {
            ferrocenter_core::auth::validate_new_password("root_password", pw)
                .map_err(|e| invalid("root_password", e.to_string()))?;
        }
        let day = 7 * 24 * 3600;
        let session_idle_timeout = secs(
            "session_idle_timeout_secs",
            pick_num!(session_idle_timeout_secs, u64, 1800),
            1,
            day,
        )?;
        let session_max_lifetime = secs(
            "session_max_lifetime_secs",
            pick_num!(session_max_lifetime_secs, u64, 86_400),
            1,
            30 * 24 * 3600,
        )?;
        if session_idle_timeout > session_max_lifetime {
            return Err(invalid(
                "session_idle_timeout_secs",
                "must not exceed session_max_lifetime_secs",
            ));
        }
        let lockout_max_failures = pick_num!(lockout_max_failures, u32, 5);
        if lockout_max_failures == 0 || lockout_max_failures > 1000 {
            return Err(invalid(
                "lockout_max_failures",
                format!("{lockout_max_failures} is outside 1..=1000"),
            ));
        }
        let lockout_window = secs(
            "lockout_window_secs",
            pick_num!(lockout_window_secs, u64, 180),
            1,
            day,
        )?;
        let lockout_duration = secs(
            "lockout_duration_secs",
            pick_num!(lockout_duration_secs, u64, 900),
            1,
            day,
        )?;
        let login_rate = LoginRate {
            burst: pick_num!(login_rate_burst, u32, 30),
            per_minute: pick_num!(login_rate_per_min, u32, 30),
        };
        if login_rate.burst == 0 || login_rate.burst > 100_000 {
            return Err(invalid(
                "login_rate_burst",
                format!("{} is outside 1..=100000", login_rate.burst),
            ));
        }
        if login_rate.per_minute > 1_000_000 {
            return Err(invalid(
                "login_rate_per_min",
                format!("{} is above 1000000", login_rate.per_minute),
            ));
        }
        let shutdown_grace = secs(
            "shutdown_grace_secs",
            pick_num!(shutdown_grace_secs, u64, 10),
            0,
            3600,
        )?;
        let max_body_bytes = pick_num!(max_body_bytes, u64, 10 * 1024 * 1024);
        if !(1024..=1024 * 1024 * 1024).contains(&max_body_bytes) {
            return Err(invalid(
                "max_body_bytes",
                format!("{max_body_bytes} is outside 1024..=1073741824"),
            ));
        }
        let log_level = self
            .log_level
            .clone()
            .or(file.log_level)
            .unwrap_or_else(|| "info".into());
        tracing_subscriber::EnvFilter::try_new(&log_level)
            .map_err(|e| invalid("log_level", format!("'{log_level}': {e}")))?;
        let enable_diagnostics = match &self.enable_diagnostics {
            Some(v) => boolean("enable_diagnostics", v)?,
            None => file.enable_diagnostics.unwrap_or(false),
        };
        let enable_metrics = match &self.enable_metrics {
            Some(v) => boolean("enable_metrics", v)?,
            None => file.enable_metrics.unwrap_or(false),
        };
        let heartbeat_interval = secs(
            "heartbeat_interval_secs",
            pick_num!(heartbeat_interval_secs, u64, 60),
            1,
            3600,
        )?;
        let agent_request_timeout = secs(
            "agent_request_timeout_secs",
            pick_num!(agent_request_timeout_secs, u64, 30),
            1,
            3600,
        )?;
        let agent_idle_timeout = secs(
            "agent_idle_timeout_secs",
            pick_num!(agent_idle_timeout_secs, u64, 90),
            1,
            3600,
        )?;
        let bootstrap_agent_driver = self
            .bootstrap_agent_driver
            .clone()
            .or(file.bootstrap_agent_driver)
            .unwrap_or_else(|| "libvirt".into());
        if !matches!(bootstrap_agent_driver.as_str(), "libvirt" | "sim") {
            return Err(invalid(
                "bootstrap_agent_driver",
                format!("'{bootstrap_agent_driver}' is not libvirt or sim"),
            ));
        }
        let bootstrap_agent_binary = self
            .bootstrap_agent_binary
            .clone()
            .or(file.bootstrap_agent_binary);
        let zstack_session_timeout = secs(
            "zstack_session_timeout_secs",
            pick_num!(zstack_session_timeout_secs, u64, 7200),
            60,
            31_536_000,
        )?;
        let agent_port = pick_num!(agent_port, u64, 8444);
        if !(1..=65535).contains(&agent_port) {
            return Err(invalid(
                "agent_port",
                format!("{agent_port} is outside 1..=65535"),
            ));
        }
        let zstack_trust_agent_on_first_use = match &self.zstack_trust_agent_on_first_use {
            Some(v) => boolean("zstack_trust_agent_on_first_use", v)?,
            None => file.zstack_trust_agent_on_first_use.unwrap_or(true),
        };
        let appliance_machine_actions = match &self.appliance_machine_actions {
            Some(v) => boolean("appliance_machine_actions", v)?,
            None => file.appliance_machine_actions.unwrap_or(false),
        };
        let backup_trusted_ca = match self
            .backup_ca_file
            .as_deref()
            .or(file.backup_ca_file.as_deref())
        {
            Some(path) => read_ca_file("backup_ca_file", path)?,
            None => Vec::new(),
        };
        let syslog_trusted_ca = match self
            .syslog_ca_file
            .as_deref()
            .or(file.syslog_ca_file.as_deref())
        {
            Some(path) => read_ca_file("syslog_ca_file", path)?,
            None => Vec::new(),
        };
        let update_trusted_ca = match self
            .update_ca_file
            .as_deref()
            .or(file.update_ca_file.as_deref())
        {
            Some(path) => read_ca_file("update_ca_file", path)?,
            None => Vec::new(),
        };
        let update_keys: Vec<String> = self
            .update_trusted_keys
            .clone()
            .or(file.update_trusted_keys)
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect();
        let default_url = self
            .update_default_url
            .clone()
            .or(file.update_default_url)
            .map(|u| u.trim().to_string())
            .unwrap_or_default();
        if !default_url.is_empty() {
            ferrocenter_core::update::policy::check_repository_url(
                "update_default_url",
                &default_url,
            )
            .map_err(|e| invalid("update_default_url", e.to_string()))?;
        }
        let update = ferrocenter_core::update::UpdateConfig {
            trusted_keys: ferrocenter_core::update::TrustedKeys::from_entries(&update_keys)
                .map_err(|e| match e {
                    ferrocenter_core::update::UpdateError::Key { entry, reason } => {
                        invalid("update_trusted_keys", format!("{entry}: {reason}"))
                    }
                    other => invalid("update_trusted_keys", other.to_string()),
                })?,
            default_url,
            local_source: self
                .update_local_source
                .clone()
                .or(file.update_local_source)
                .filter(|p| !p.trim().is_empty())
                .map(PathBuf::from),
            ..Default::default()
        };
        let zstack_web_hooks = ferrocenter_api::HookDestinations::new(
            &self
                .zstack_web_hook_allow
                .clone()
                .or(file.zstack_web_hook_allow)
                .unwrap_or_default()
                .into_iter()
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .collect::<Vec<_>>(),
        )
        .map_err(|e| invalid("zstack_web_hook_allow", e.to_string()))?;
        let max_migrations_per_host = pick_num!(max_migrations_per_host, u64, 8);
        if !(1..=64).contains(&max_migrations_per_host) {
            return Err(invalid(
                "max_migrations_per_host",
                format!("{max_migrations_per_host} is outside 1..=64"),
            ));
        }
        let cpu_overcommit_ratio = pick_num!(cpu_overcommit_ratio, u64, 10);
        if !(1..=100).contains(&cpu_overcommit_ratio) {
            return Err(invalid(
                "cpu_overcommit_ratio",
                format!("{cpu_overcommit_ratio} is outside 1..=100"),
            ));
        }
        let license_cpu_packages = match &self.license_cpu_packages {
            Some(v) => Some(number::<u64>("license_cpu_packages", v)?),
            None => file.license_cpu_packages,
        };
        if license_cpu_packages.is_some_and(|n| n == 0 || n > 1_000_000) {
            return Err(invalid(
                "license_cpu_packages",
                "must be between 1 and 1000000",
            ));
        }
        let support_bundle = crate::support::resolve(
            &data_dir,
            crate::support::Given {
                max_bytes: pick_num!(support_bundle_max_bytes, u64, 1 << 30),
                url_lifetime_secs: pick_num!(support_bundle_url_lifetime_secs, u64, 3600),
                retention_secs: pick_num!(support_bundle_retention_secs, u64, 604_800),
                partitions: self
                    .support_bundle_partitions
                    .clone()
                    .or(file.support_bundle_partitions)
                    .unwrap_or_default(),
            },
        )?;
        let lcm_lifetime = pick_num!(lcm_report_url_lifetime_secs, u64, 3600);
        if !(1..=366 * 86_400).contains(&lcm_lifetime) {
            return Err(invalid(
                "lcm_report_url_lifetime_secs",
                format!("{lcm_lifetime} is outside 1..=31622400"),
            ));
        }
        let lcm = ferrocenter_core::lcm::LcmConfig {
            report_url_lifetime: Duration::from_secs(lcm_lifetime),
        };
        let given = serde_json::to_value(self).unwrap_or_default();
        Ok(ServeConfig {
            start_check: false,
            support_bundle,
            lcm,
            given,
            config_file: self.config.clone(),
            data_dir,
            listen,
            appliance_listen,
            http_listen,
            external_address,
            database_url,
            admin_password,
            await_setup,
            root_password,
            session_idle_timeout,
            session_max_lifetime,
            lockout_max_failures,
            lockout_window,
            lockout_duration,
            login_rate,
            shutdown_grace,
            max_body_bytes: max_body_bytes as usize,
            log_level,
            enable_diagnostics,
            enable_metrics,
            heartbeat_interval,
            agent_request_timeout,
            agent_idle_timeout,
            bootstrap_agent_driver,
            bootstrap_agent_binary,
            max_migrations_per_host: max_migrations_per_host as usize,
            cpu_overcommit_ratio: cpu_overcommit_ratio as u32,
            license_cpu_packages: license_cpu_packages.map(|n| n as u32),
            zstack_session_timeout,
            agent_port: agent_port as u16,
            zstack_trust_agent_on_first_use,
            zstack_web_hooks,
            appliance_machine_actions,
            backup_trusted_ca,
            syslog_trusted_ca,
            update,
            update_trusted_ca,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_key(args: ServeArgs) -> String {
        args.resolve().unwrap_err().to_string()
    }

    #[test]
    fn defaults() {
        let c = ServeArgs::default().resolve().unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8443");
        assert_eq!(c.appliance_listen.to_string(), "127.0.0.1:5480");
        assert_eq!(c.http_listen, None);
        assert_eq!(c.data_dir, PathBuf::from("./ferrocenter-data"));
        assert_eq!(c.session_idle_timeout, Duration::from_secs(1800));
        assert_eq!(c.session_max_lifetime, Duration::from_secs(86_400));
        assert_eq!(c.lockout_max_failures, 5);
        assert_eq!(c.max_body_bytes, 10 * 1024 * 1024);
        assert!(!c.enable_diagnostics);
        assert!(!c.appliance_machine_actions);
        assert_eq!(c.agent_request_timeout, Duration::from_secs(30));
        assert_eq!(c.agent_idle_timeout, Duration::from_secs(90));
        assert_eq!(c.zstack_session_timeout, Duration::from_secs(7200));
        assert!(c.zstack_trust_agent_on_first_use);
        assert_eq!(
            c.external_address,
            ExternalAddress {
                host: "127.0.0.1".into(),
                port: None
            }
        );
    }

    #[test]
    fn the_external_address_is_never_a_wildcard() {
        let wild = ServeArgs {
            listen: Some("0.0.0.0:8443".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(
            wild.external_address.host,
            crate::tls::host_name().unwrap_or_else(|| "localhost".into())
        );
        let named = ServeArgs {
            listen: Some("0.0.0.0:8443".into()),
            external_address: Some("VC.example.com:443".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(
            named.external_address,
            ExternalAddress {
                host: "vc.example.com".into(),
                port: Some(443)
            }
        );
    }

    #[test]
    fn update_trusted_keys_are_base64_keys_or_files() {
        let (key, _) = ferrocenter_core::update::SigningKey::generate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k.pub");
        std::fs::write(&file, key.public_key().to_base64()).unwrap();
        let c = ServeArgs {
            update_trusted_keys: Some(vec![
                key.public_key().to_base64(),
                format!(" {} ", file.display()),
            ]),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(
            c.update.trusted_keys.keys(),
            &[key.public_key(), key.public_key()]
        );
        let none = ServeArgs::default().resolve().unwrap();
        assert!(none.update.trusted_keys.is_empty());
        assert_eq!(none.update.default_url, "");
        assert_eq!(none.update.local_source, None);
        let set = ServeArgs {
            update_default_url: Some(" https://updates.example/ferrocenter ".into()),
            update_local_source: Some("/srv/update.iso".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(
            set.update.default_url,
            "https://updates.example/ferrocenter"
        );
        assert_eq!(
            set.update.local_source.as_deref(),
            Some(Path::new("/srv/update.iso"))
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases: Vec<(ServeArgs, &str)> = vec![
            (
                ServeArgs {
                    update_trusted_keys: Some(vec!["/nonexistent/release.key.pub".into()]),
                    ..Default::default()
                },
                "update_trusted_keys: /nonexistent/release.key.pub:",
            ),
            (
                ServeArgs {
                    update_default_url: Some("ftp://updates.example".into()),
                    ..Default::default()
                },
                "update_default_url",
            ),
            (
                ServeArgs {
                    update_ca_file: Some("/nonexistent/ca.pem".into()),
                    ..Default::default()
                },
                "update_ca_file:",
            ),
            (
                ServeArgs {
                    agent_request_timeout_secs: Some("0".into()),
                    ..Default::default()
                },
                "agent_request_timeout_secs:",
            ),
            (
                ServeArgs {
                    agent_idle_timeout_secs: Some("0".into()),
                    ..Default::default()
                },
                "agent_idle_timeout_secs:",
            ),
            (
                ServeArgs {
                    zstack_session_timeout_secs: Some("59".into()),
                    ..Default::default()
                },
                "zstack_session_timeout_secs:",
            ),
            (
                ServeArgs {
                    agent_port: Some("0".into()),
                    ..Default::default()
                },
                "agent_port:",
            ),
            (
                ServeArgs {
                    listen: Some("nope".into()),
                    ..Default::default()
                },
                "listen:",
            ),
            (
                ServeArgs {
                    appliance_listen: Some("1.2.3.4".into()),
                    ..Default::default()
                },
                "appliance_listen:",
            ),
            (
                ServeArgs {
                    http_listen: Some("x:y".into()),
                    ..Default::default()
                },
                "http_listen:",
            ),
            (
                ServeArgs {
                    external_address: Some("0.0.0.0".into()),
                    ..Default::default()
                },
                "external_address:",
            ),
            (
                ServeArgs {
                    external_address: Some("vc.example.com:0".into()),
                    ..Default::default()
                },
                "external_address:",
            ),
            (
                ServeArgs {
                    database_url: Some("mysql://a".into()),
                    ..Default::default()
                },
                "database_url:",
            ),
            (
                ServeArgs {
                    admin_password: Some("short".into()),
                    ..Default::default()
                },
                "admin_password:",
            ),
            (
                ServeArgs {
                    session_idle_timeout_secs: Some("-1".into()),
                    ..Default::default()
                },
                "session_idle_timeout_secs:",
            ),
            (
                ServeArgs {
                    session_idle_timeout_secs: Some("90000".into()),
                    session_max_lifetime_secs: Some("100".into()),
                    ..Default::default()
                },
                "session_idle_timeout_secs:",
            ),
            (
                ServeArgs {
                    lockout_max_failures: Some("0".into()),
                    ..Default::default()
                },
                "lockout_max_failures:",
            ),
            (
                ServeArgs {
                    max_body_bytes: Some("10".into()),
                    ..Default::default()
                },
                "max_body_bytes:",
            ),
            (
                ServeArgs {
                    login_rate_burst: Some("0".into()),
                    ..Default::default()
                },
                "login_rate_burst:",
            ),
            (
                ServeArgs {
                    login_rate_per_min: Some("9999999".into()),
                    ..Default::default()
                },
                "login_rate_per_min:",
            ),
            (
                ServeArgs {
                    zstack_web_hook_allow: Some(vec!["http://hooks.example/?token=x".into()]),
                    ..Default::default()
                },
                "zstack_web_hook_allow:",
            ),
            (
                ServeArgs {
                    log_level: Some("[[".into()),
                    ..Default::default()
                },
                "log_level:",
            ),
            (
                ServeArgs {
                    enable_diagnostics: Some("maybe".into()),
                    ..Default::default()
                },
                "enable_diagnostics:",
            ),
            (
                ServeArgs {
                    zstack_trust_agent_on_first_use: Some("sometimes".into()),
                    ..Default::default()
                },
                "zstack_trust_agent_on_first_use:",
            ),
        ];
        for (args, key) in cases {
            let msg = err_key(args);
            assert!(msg.starts_with(key), "{msg:?} should start with {key}");
        }
    }

    #[test]
    fn file_fills_what_flags_leave_unset_and_names_bad_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fc.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9443\"\nlockout_max_failures = 3\n",
        )
        .unwrap();
        let c = ServeArgs {
            config: Some(path.clone()),
            lockout_max_failures: Some("7".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9443");
        assert_eq!(c.lockout_max_failures, 7);

        std::fs::write(&path, "listne = \"x\"\n").unwrap();
        let msg = err_key(ServeArgs {
            config: Some(path.clone()),
            ..Default::default()
        });
        assert!(msg.contains("listne"), "{msg}");
        std::fs::write(&path, "max_body_bytes = \"big\"\n").unwrap();
        let msg = err_key(ServeArgs {
            config: Some(path),
            ..Default::default()
        });
        assert!(
            msg.contains("max_body_bytes") || msg.contains("integer"),
            "{msg}"
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let c = ServeArgs {
            admin_password: Some("Sup3r-Secret!".into()),
            database_url: Some("postgres://u:dbpass@h/d".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        let s = format!("{c:?}");
        assert!(!s.contains("Sup3r-Secret!") && !s.contains("dbpass"), "{s}");
    }
}
