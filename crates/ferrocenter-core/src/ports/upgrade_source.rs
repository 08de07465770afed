//! The server an upgrade moves from (`deployment::upgrade`), reached over HTTPS with its
//! certificate pinned by the SHA-256 thumbprint the operator gave: no trust on first use, no
//! plain HTTP. The server binary implements it over the client library.
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Where the source serves and which certificate it must present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAddress {
    pub hostname: String,
    pub port: u16,
    /// `AB:CD:…`, SHA-256.
    pub thumbprint: String,
}

/// Why the source could not be used, each naming the spec field it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpgradeSourceError {
    /// No answer at the address (`source_appliance.hostname` / `https_port`).
    #[error("{0}")]
    Unreachable(String),
    /// The certificate presented is not the pinned one (`source_appliance.ssl_thumbprint`).
    #[error("the source presented a certificate with the SHA-256 thumbprint {}, not the one given", seen.as_deref().unwrap_or("(none read)"))]
    Thumbprint { seen: Option<String> },
    /// The SSO administrator's credentials were refused (`source_appliance.sso_admin_password`).
    #[error("{0}")]
    Login(String),
    /// The source answered, but refused or failed the call.
    #[error("{0}")]
    Refused(String),
}

/// What the source says of itself (`com.ferrocenter.deployment.export.source`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceAbout {
    /// The ferrocenter version it runs.
    pub version: String,
    /// Its store's schema version (its last migration).
    pub schema_version: i64,
    /// Its deployment state (`CONFIGURED` when it serves).
    pub state: String,
    pub sso_domain_name: String,
    /// Its name (the backup archives' system name).
    pub system_name: String,
    pub server_uuid: String,
    pub hosts: u64,
    pub vms: u64,
}

/// Opens sessions on sources.
#[async_trait]
pub trait UpgradeSources: Send + Sync {
    /// Connects to `at` (pinned) and logs in as the SSO administrator.
    async fn open(
        &self,
        at: &SourceAddress,
        user: &str,
        password: &str,
    ) -> Result<Box<dyn SourceSession>, UpgradeSourceError>;
}

/// A logged-in session on a source.
#[async_trait]
pub trait SourceSession: Send + Sync {
    async fn about(&self) -> Result<SourceAbout, UpgradeSourceError>;
}

/// No way to reach a source (a core without a server around it).
pub struct NoUpgradeSources;

#[async_trait]
impl UpgradeSources for NoUpgradeSources {
    async fn open(
        &self,
        _: &SourceAddress,
        _: &str,
        _: &str,
    ) -> Result<Box<dyn SourceSession>, UpgradeSourceError> {
        Err(UpgradeSourceError::Unreachable(
            "this server cannot reach an upgrade source (no HTTPS client is plugged in)".into(),
        ))
    }
}
