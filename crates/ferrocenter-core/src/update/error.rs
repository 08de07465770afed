//! Why an update repository was refused, each naming the file or field at fault.
use crate::ports::UpdateSourceError;
use crate::CoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// The repository could not be read.
    #[error(transparent)]
    Source(#[from] UpdateSourceError),
    /// No key is trusted, so no repository can be.
    #[error("no update repository can be trusted: update_trusted_keys is empty")]
    NoTrustedKeys,
    /// A configured trusted key is unusable (`update_trusted_keys`).
    #[error("update_trusted_keys: {entry}: {reason}")]
    Key { entry: String, reason: String },
    /// `manifest.json.sig` is not a signature file ferrocenter reads; `field` is its JSON path.
    #[error("the signature file {field}: {reason}")]
    SignatureFile { field: String, reason: String },
    /// Signed with a key that is not among `update_trusted_keys`.
    #[error(
        "the manifest is signed with the key {key_id}, which is not among update_trusted_keys"
    )]
    UntrustedKey { key_id: String },
    /// The signature of a trusted key does not match the manifest: it was changed after
    /// signing, or the signature is not the key's.
    #[error("the manifest does not match its signature by the key {key_id}: it was changed after signing or the signature is forged")]
    SignatureMismatch { key_id: String },
    /// A manifest field is missing or wrong; `field` is its JSON path (`manifest.severity`).
    #[error("{field}: {reason}")]
    Manifest { field: String, reason: String },
    /// The downloaded file is not the one the manifest signs for.
    #[error("the package {file} has the SHA-256 {actual} and {actual_size} bytes; the manifest says {expected} and {expected_size} bytes")]
    Checksum {
        file: String,
        expected: String,
        actual: String,
        expected_size: u64,
        actual_size: u64,
    },
    /// The running version is older than the oldest one the update applies to.
    #[error(
        "the update to {version} applies from version {minimum} on; this server runs {running}"
    )]
    BelowMinimum {
        version: String,
        minimum: String,
        running: String,
    },
    /// The package's content is refused (an entry escaping the directory, a link, too large).
    #[error("the package {file}: {reason}")]
    Package { file: String, reason: String },
    /// A local file could not be read or written.
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
}

impl UpdateError {
    pub(crate) fn manifest(field: impl Into<String>, reason: impl Into<String>) -> UpdateError {
        UpdateError::Manifest {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: &std::path::Path, e: impl std::fmt::Display) -> UpdateError {
        UpdateError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }
}

/// What callers of the core see. A repository's content problem is the repository's (`url`,
/// the vAPI field that names it); a local failure is the server's.
impl From<UpdateError> for CoreError {
    fn from(e: UpdateError) -> Self {
        match &e {
            UpdateError::Source(UpdateSourceError::NotFound { location, file }) => {
                CoreError::not_found("update repository file", format!("{location}/{file}"))
            }
            // Gone, or gone part-way through a file: the repository's outage, not a bad request.
            UpdateError::Source(
                UpdateSourceError::Unreachable { .. } | UpdateSourceError::Io { .. },
            ) => CoreError::Unavailable {
                message: e.to_string(),
            },
            UpdateError::Source(UpdateSourceError::AuthRefused { .. }) => {
                CoreError::invalid("username", e.to_string())
            }
            UpdateError::NoTrustedKeys | UpdateError::BelowMinimum { .. } => {
                CoreError::invalid_state(e.to_string())
            }
            UpdateError::Key { .. } => CoreError::invalid("update_trusted_keys", e.to_string()),
            UpdateError::Io { .. } => {
                tracing::error!(error = %e, "update staging failed");
                CoreError::internal(e.to_string())
            }
            _ => CoreError::invalid("url", e.to_string()),
        }
    }
}
