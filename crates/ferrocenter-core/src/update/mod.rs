//! Software update of ferrocenter itself (`appliance.update`, management guide chapter 9):
//! update repositories — the signed manifest, the package, the trusted keys, and reading,
//! checking and downloading a repository through the
//! [`UpdateSources`](crate::ports::UpdateSources) port (docs/update.md describes the format) —
//! and the update policy.
mod error;
mod install;
mod keys;
mod manifest;
mod package;
pub mod policy;
mod repository;
mod schedule;
mod service;
mod stage;
mod state;

use std::path::PathBuf;
use std::time::Duration;

pub use error::UpdateError;
pub use install::{InstallOutcome, InstallPlan, INSTALLED_EVENT, SKIP_BACKUP, VMDIR_PASSWORD};
pub use keys::{verify_signature, PublicKey, SignatureFile, SigningKey, TrustedKeys};
pub use manifest::{
    Manifest, PackageRef, Priority, Severity, UpdateSummary, UpdateType, MANIFEST_FORMAT,
    MAX_PACKAGE_SIZE,
};
pub use package::{build_package, sha256_file, unpack, PACKAGE_FILE};
pub use repository::{
    check_source, fetch_package, read_repository, PendingUpdate, Repository, MANIFEST_LIMIT,
};
pub use schedule::SCHEDULER;
pub use service::{
    PendingInfo, PrecheckResult, QuestionKind, SourceType, StagedInfo, StoppedService, UpdateInfo,
    UpdateQuestion, UpdateServiceState, CHECKED_EVENT, RUNNING_VERSION,
};
pub use stage::{BINARY, CONTENT_DIR, STAGED_EVENT};
pub use state::{FoundAt, UpdateState};

/// The update settings of the server configuration.
#[derive(Debug, Clone)]
pub struct UpdateConfig {
    /// The keys a repository's manifest must be signed with (`update_trusted_keys`); none:
    /// every repository is refused.
    pub trusted_keys: TrustedKeys,
    /// The repository checked when neither the request nor the policy names one
    /// (`policy.info.default_URL`); empty: none.
    pub default_url: String,
    /// How often the policy's check schedule looks at the clock.
    pub schedule_tick: Duration,
    /// The LOCAL source (`update_local_source`): an ISO image file or a directory.
    pub local_source: Option<PathBuf>,
    /// Where updates are staged, each in a directory named by its version.
    pub staging_dir: PathBuf,
    /// The install plan the install task leaves for the server process (in the data dir).
    pub install_plan: PathBuf,
    /// How long an install waits for running tasks to end (`update_drain_timeout_secs`).
    pub drain_timeout: Duration,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            trusted_keys: TrustedKeys::default(),
            default_url: String::new(),
            schedule_tick: Duration::from_secs(5),
            local_source: None,
            staging_dir: std::env::temp_dir().join("ferrocenter-update-staged"),
            install_plan: std::env::temp_dir().join("ferrocenter-update-install.json"),
            drain_timeout: Duration::from_secs(300),
        }
    }
}
