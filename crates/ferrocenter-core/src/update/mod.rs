//! Update repositories of ferrocenter itself (issue 26, part 1): the signed manifest, the
//! package, the trusted keys, and reading, checking and downloading a repository through the
//! [`UpdateSources`](crate::ports::UpdateSources) port. docs/update.md describes the format.
//! Staging, installing and the vAPI `appliance.update` operations build on these.
mod error;
mod keys;
mod manifest;
mod package;
mod repository;

pub use error::UpdateError;
pub use keys::{verify_signature, PublicKey, SignatureFile, SigningKey, TrustedKeys};
pub use manifest::{
    Manifest, PackageRef, Priority, Severity, UpdateSummary, UpdateType, MANIFEST_FORMAT,
    MAX_PACKAGE_SIZE,
};
pub use package::{build_package, sha256_file, unpack, PACKAGE_FILE};
pub use repository::{
    check_source, fetch_package, read_repository, PendingUpdate, Repository, MANIFEST_LIMIT,
};

/// The update settings of the server configuration.
#[derive(Debug, Clone, Default)]
pub struct UpdateConfig {
    /// The keys a repository's manifest must be signed with (`update_trusted_keys`); none:
    /// every repository is refused.
    pub trusted_keys: TrustedKeys,
}
