//! The update repositories' adapter ([`UpdateSources`]): a URL over HTTP or HTTPS (basic
//! authentication, the certificate checked against the web PKI and `update_ca_file`, or not
//! checked when the policy says so), a local directory (such as a mounted ISO image), or an ISO
//! 9660 image file read in place. Every read is bounded by the caller's limit, so a hostile
//! repository cannot fill the disk or the memory.
mod http;
mod iso;
mod local;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_core::ports::{
    partial_path, DownloadProgress, ManifestFiles, UpdateLocation, UpdateSourceError,
    UpdateSources, MANIFEST_FILE, SIGNATURE_FILE,
};
use tokio::io::AsyncWriteExt;

pub use iso::{write_iso, IsoFile};

/// Reads update repositories from URLs, directories and ISO image files.
pub struct RepositorySources {
    http: http::Http,
}

impl RepositorySources {
    /// `trusted_ca`: DER certificates from `update_ca_file`, trusted besides the web PKI roots.
    pub fn new(trusted_ca: Vec<Vec<u8>>) -> Result<RepositorySources, UpdateSourceError> {
        Ok(RepositorySources {
            http: http::Http::new(&trusted_ca, Duration::from_secs(20))?,
        })
    }
}

#[async_trait]
impl UpdateSources for RepositorySources {
    async fn read_manifest(
        &self,
        at: &UpdateLocation,
        limit: u64,
    ) -> Result<ManifestFiles, UpdateSourceError> {
        let manifest = self.read(at, MANIFEST_FILE, limit).await?;
        let signature = self.read(at, SIGNATURE_FILE, limit).await?;
        Ok(ManifestFiles {
            manifest,
            signature,
        })
    }

    async fn download(
        &self,
        at: &UpdateLocation,
        file: &str,
        dest: &Path,
        limit: u64,
        progress: DownloadProgress<'_>,
    ) -> Result<u64, UpdateSourceError> {
        let part = partial_path(dest);
        let io = |e: std::io::Error| UpdateSourceError::Io {
            location: at.describe(),
            file: file.into(),
            reason: format!("{}: {e}", part.display()),
        };
        let mut out = tokio::fs::File::create(&part).await.map_err(io)?;
        let copied = match at {
            UpdateLocation::Url { .. } => self.http.copy(at, file, &mut out, limit, progress).await,
            UpdateLocation::Local(path) => {
                let span = local::locate(at, path, file).await?;
                local::copy(at, file, &span, &mut out, limit, progress).await
            }
        };
        let finished = match copied {
            Ok(n) => match out.flush().await.and(out.sync_all().await) {
                Ok(()) => tokio::fs::rename(&part, dest).await.map(|()| n).map_err(io),
                Err(e) => Err(io(e)),
            },
            Err(e) => Err(e),
        };
        if finished.is_err() {
            let _ = tokio::fs::remove_file(&part).await;
        }
        finished
    }
}

impl RepositorySources {
    async fn read(
        &self,
        at: &UpdateLocation,
        file: &str,
        limit: u64,
    ) -> Result<Vec<u8>, UpdateSourceError> {
        let mut out = Vec::new();
        let none = |_: u64| {};
        match at {
            UpdateLocation::Url { .. } => {
                self.http.copy(at, file, &mut out, limit, &none).await?;
            }
            UpdateLocation::Local(path) => {
                let span = local::locate(at, path, file).await?;
                local::copy(at, file, &span, &mut out, limit, &none).await?;
            }
        }
        Ok(out)
    }
}

/// Writes `chunk` to `out` unless the total would pass `limit`; returns the new total.
async fn write_bounded<W: tokio::io::AsyncWrite + Unpin + Send>(
    at: &UpdateLocation,
    file: &str,
    out: &mut W,
    written: u64,
    chunk: &[u8],
    limit: u64,
) -> Result<u64, UpdateSourceError> {
    let total = written + chunk.len() as u64;
    if total > limit {
        return Err(UpdateSourceError::TooLarge {
            location: at.describe(),
            file: file.into(),
            limit,
        });
    }
    out.write_all(chunk)
        .await
        .map_err(|e| UpdateSourceError::Io {
            location: at.describe(),
            file: file.into(),
            reason: e.to_string(),
        })?;
    Ok(total)
}
