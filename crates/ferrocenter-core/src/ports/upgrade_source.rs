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
    /// The sizes of its data (absent from a source older than these fields: all zero).
    #[serde(default)]
    pub data: SourceData,
    /// The filesystem it writes its export on, when it could read it.
    #[serde(default)]
    pub disk: Option<SourceDisk>,
}

/// A source's data by what an upgrade takes of it, in bytes as written into an archive before
/// compression (an upper bound of what they take compressed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceData {
    /// Configuration, identities and inventory (the backup part `common`).
    pub core_bytes: u64,
    /// Its events and tasks.
    pub events_tasks_bytes: u64,
    /// Its statistics.
    pub statistics_bytes: u64,
}

/// The filesystem holding a source's work directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceDisk {
    pub mount_point: String,
    pub size_bytes: u64,
    pub used_bytes: u64,
    pub free_bytes: u64,
}

/// One file of an export, as the source lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportFile {
    pub name: String,
    pub bytes: u64,
}

/// An export the source made for an upgrade (`com.ferrocenter.deployment.export`), written: a
/// backup archive in a directory of its own, encrypted under the password the upgrade gave,
/// downloadable file by file under `token` until it is deleted (or swept, idle).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceExport {
    pub export: String,
    /// The download's credential: never logged.
    pub token: String,
    pub files: Vec<ExportFile>,
}

impl std::fmt::Debug for SourceExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceExport")
            .field("export", &self.export)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

/// Where a source serves an export's files: `{EXPORT_DOWNLOAD_PATH}{token}/{file}`.
pub const EXPORT_DOWNLOAD_PATH: &str = "/ferrocenter/upgrade-export/";

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
    /// Has the source export its data (`history` adds the seat part) under `password`, and
    /// returns once the export is written: the source writes it as a job, which the adapter
    /// starts and polls (`com.ferrocenter.deployment.export` `create`, then `get`), so no
    /// request stays open meanwhile. A FAILED export is an error naming it.
    async fn export_create(
        &self,
        password: &str,
        history: bool,
    ) -> Result<SourceExport, UpgradeSourceError>;
    /// Downloads one file of an export into `dest`; returns its bytes.
    async fn download(
        &self,
        export: &SourceExport,
        file: &str,
        dest: &std::path::Path,
    ) -> Result<u64, UpgradeSourceError>;
    /// Has the source remove the export (its files are gone once this returns).
    async fn export_delete(&self, export: &str) -> Result<(), UpgradeSourceError>;
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
