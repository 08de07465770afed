//! Reading a repository through the [`UpdateSources`] port: the signature is checked before the
//! manifest is even parsed (an untrusted document is not interpreted), then the manifest; the
//! package is downloaded only up to the size the signed manifest gives and kept only if its
//! SHA-256 is the signed one.
use std::path::{Path, PathBuf};

use crate::ports::{DownloadProgress, UpdateLocation, UpdateSources};
use crate::version::compare_versions;

use super::{verify_signature, Manifest, TrustedKeys, UpdateError, UpdateSummary};

/// The most `manifest.json` (and its signature) may weigh.
pub const MANIFEST_LIMIT: u64 = 1 << 20;

/// A repository whose manifest is signed by a trusted key.
#[derive(Debug, Clone)]
pub struct Repository {
    pub manifest: Manifest,
    /// The trusted key that signed it.
    pub key_id: String,
}

/// An update newer than the running version, which the running version may install.
#[derive(Debug, Clone)]
pub struct PendingUpdate {
    pub summary: UpdateSummary,
    pub repository: Repository,
}

/// Reads and verifies the repository at `at`.
pub async fn read_repository(
    sources: &dyn UpdateSources,
    at: &UpdateLocation,
    keys: &TrustedKeys,
) -> Result<Repository, UpdateError> {
    if keys.is_empty() {
        return Err(UpdateError::NoTrustedKeys);
    }
    let files = sources.read_manifest(at, MANIFEST_LIMIT).await?;
    let key = verify_signature(keys, &files.manifest, &files.signature)?;
    let manifest = Manifest::parse(&files.manifest)?;
    Ok(Repository {
        manifest,
        key_id: key.key_id(),
    })
}

/// The update the repository at `location` offers a server running `running_version`: `None`
/// when it is not newer; an error when the running version is below its minimum.
pub async fn check_source(
    sources: &dyn UpdateSources,
    location: &UpdateLocation,
    keys: &TrustedKeys,
    running_version: &str,
) -> Result<Option<PendingUpdate>, UpdateError> {
    let repository = read_repository(sources, location, keys).await?;
    let m = &repository.manifest;
    if compare_versions(&m.version, running_version).is_le() {
        return Ok(None);
    }
    if compare_versions(running_version, &m.minimum_version).is_lt() {
        return Err(UpdateError::BelowMinimum {
            version: m.version.clone(),
            minimum: m.minimum_version.clone(),
            running: running_version.to_string(),
        });
    }
    Ok(Some(PendingUpdate {
        summary: m.summary(),
        repository,
    }))
}

/// Downloads the package of `manifest` from `at` into `staging_dir` and checks it against the
/// manifest; returns its path. A package that does not match is removed.
pub async fn fetch_package(
    sources: &dyn UpdateSources,
    at: &UpdateLocation,
    manifest: &Manifest,
    staging_dir: &Path,
    progress: DownloadProgress<'_>,
) -> Result<PathBuf, UpdateError> {
    tokio::fs::create_dir_all(staging_dir)
        .await
        .map_err(|e| UpdateError::io(staging_dir, e))?;
    let package = &manifest.package;
    let dest = staging_dir.join(&package.file);
    sources
        .download(at, &package.file, &dest, package.size, progress)
        .await?;
    let path = dest.clone();
    let (actual_size, actual) = tokio::task::spawn_blocking(move || super::sha256_file(&path))
        .await
        .map_err(|e| UpdateError::io(&dest, e))??;
    if actual != package.sha256 || actual_size != package.size {
        if let Err(e) = tokio::fs::remove_file(&dest).await {
            tracing::warn!(path = %dest.display(), error = %e, "a refused package could not be removed");
        }
        return Err(UpdateError::Checksum {
            file: package.file.clone(),
            expected: package.sha256.clone(),
            actual,
            expected_size: package.size,
            actual_size,
        });
    }
    Ok(dest)
}
