//! Where update repositories are read from (`update`): a URL served over HTTP(S), or a local
//! directory or ISO 9660 image file. ferrocenter has no CD drive: an "ISO source" is an image file
//! on the server's disk or the directory it is mounted on. The real adapter is in
//! ferrocenter-system (`RepositorySources`).
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::LocationSecret;

/// The manifest's file name at the top of a repository.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Its detached signature.
pub const SIGNATURE_FILE: &str = "manifest.json.sig";

/// One update repository.
#[derive(Debug, Clone)]
pub enum UpdateLocation {
    /// `http://` or `https://`, the repository's top directory.
    Url {
        url: String,
        /// Basic authentication: user and password.
        login: Option<(String, LocationSecret)>,
        /// `false` accepts any server certificate (the policy's `certificate_check`); the
        /// signature still decides whether the content is trusted.
        certificate_check: bool,
    },
    /// A directory (for example a mounted ISO image) or an ISO 9660 image file.
    Local(PathBuf),
}

impl UpdateLocation {
    /// For messages: the URL or path, never the login.
    pub fn describe(&self) -> String {
        match self {
            UpdateLocation::Url { url, .. } => url.clone(),
            UpdateLocation::Local(p) => p.display().to_string(),
        }
    }
}

/// The manifest and its signature, as read, unparsed.
#[derive(Debug, Clone)]
pub struct ManifestFiles {
    pub manifest: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Why a repository's file could not be read, each naming what was asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateSourceError {
    /// The location is not usable as given (bad URL, not a directory or ISO image).
    #[error("the update location {location} is not usable: {reason}")]
    Invalid { location: String, reason: String },
    /// Nothing answered at the address, or the local path is gone.
    #[error("the update repository {location} cannot be reached: {reason}")]
    Unreachable { location: String, reason: String },
    /// The server refused the user and password (or asked for some and none were given).
    #[error("the update repository {location} refused the login{}", user.as_deref().map(|u| format!(" of {u}")).unwrap_or_default())]
    AuthRefused {
        location: String,
        user: Option<String>,
    },
    /// The server's certificate could not be verified.
    #[error("the certificate of the update repository {location} could not be verified: {reason}")]
    Certificate { location: String, reason: String },
    /// The repository has no such file.
    #[error("the update repository {location} has no file {file}")]
    NotFound { location: String, file: String },
    /// The file is larger than it may be (a hostile or broken repository).
    #[error("the file {file} of the update repository {location} is larger than {limit} bytes")]
    TooLarge {
        location: String,
        file: String,
        limit: u64,
    },
    /// Reading or writing failed part-way.
    #[error("reading {file} from the update repository {location} failed: {reason}")]
    Io {
        location: String,
        file: String,
        reason: String,
    },
}

/// Called with the bytes written so far.
pub type DownloadProgress<'a> = &'a (dyn Fn(u64) + Send + Sync);

#[async_trait]
pub trait UpdateSources: Send + Sync {
    /// `manifest.json` and `manifest.json.sig`, each refused past `limit` bytes.
    async fn read_manifest(
        &self,
        at: &UpdateLocation,
        limit: u64,
    ) -> Result<ManifestFiles, UpdateSourceError>;

    /// Copies the repository's `file` to `dest` through `<dest>.part`, renamed only once
    /// complete, so that `dest` never holds a partial file; refused past `limit` bytes.
    /// Returns the bytes written.
    async fn download(
        &self,
        at: &UpdateLocation,
        file: &str,
        dest: &Path,
        limit: u64,
        progress: DownloadProgress<'_>,
    ) -> Result<u64, UpdateSourceError>;
}

/// No repository can be read (a core without the system adapter).
pub struct NoUpdateSources;

#[async_trait]
impl UpdateSources for NoUpdateSources {
    async fn read_manifest(
        &self,
        at: &UpdateLocation,
        _limit: u64,
    ) -> Result<ManifestFiles, UpdateSourceError> {
        Err(unavailable(at))
    }

    async fn download(
        &self,
        at: &UpdateLocation,
        _file: &str,
        _dest: &Path,
        _limit: u64,
        _progress: DownloadProgress<'_>,
    ) -> Result<u64, UpdateSourceError> {
        Err(unavailable(at))
    }
}

fn unavailable(at: &UpdateLocation) -> UpdateSourceError {
    UpdateSourceError::Unreachable {
        location: at.describe(),
        reason: "this server has no update sources".into(),
    }
}

/// The `<dest>.part` a download writes before renaming it to `dest`.
pub fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}
