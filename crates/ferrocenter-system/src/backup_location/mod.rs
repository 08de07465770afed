//! The backup location adapters, one per `location_type`, and [`BackupLocations`], which picks
//! the adapter by the location's type. See docs/backup-restore.md "Locations".
mod ftp;
mod path;
mod scp;
mod sftp;
mod smb;
mod ssh;
mod webdav;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_core::ports::{
    location_path_components, BackupTarget, GetSink, Location, LocationEntry, LocationError,
    LocationType, PutBody,
};

/// Certificates trusted for FTPS and HTTPS besides the public web roots (an organisation's own
/// CA, or a test's).
#[derive(Clone, Default)]
pub struct LocationTrust {
    pub extra_roots_der: Vec<Vec<u8>>,
}

impl LocationTrust {
    fn rustls_config(&self) -> Result<Arc<rustls::ClientConfig>, LocationError> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for der in &self.extra_roots_der {
            roots
                .add(rustls::pki_types::CertificateDer::from(der.clone()))
                .map_err(|e| LocationError::Invalid {
                    reason: format!("a trusted certificate is unusable: {e}"),
                })?;
        }
        let provider = ferrocenter_tls::provider();
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| LocationError::Invalid {
                reason: e.to_string(),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// Why NFS is refused (no sound userspace NFS client in Rust; mounting is the kernel's job).
pub const NFS_UNSUPPORTED: &str = "ferrocenter has no NFS client built in; mount the export \
     (mount -t nfs) and back up to a PATH location, or use SFTP, FTPS or HTTPS";

/// Every location type behind one [`BackupTarget`].
pub struct BackupLocations {
    ftp: ftp::Ftp,
    sftp: sftp::Sftp,
    scp: scp::Scp,
    webdav: webdav::WebDav,
    smb: smb::Smb,
    path: path::LocalPath,
}

impl BackupLocations {
    pub fn new(trust: LocationTrust) -> Result<BackupLocations, LocationError> {
        let timeout = Duration::from_secs(20);
        Ok(BackupLocations {
            ftp: ftp::Ftp::new(trust.rustls_config()?, timeout),
            sftp: sftp::Sftp::new(timeout),
            scp: scp::Scp::new(timeout),
            webdav: webdav::WebDav::new(&trust, timeout)?,
            smb: smb::Smb::new(timeout),
            path: path::LocalPath,
        })
    }

    fn adapter(&self, kind: LocationType) -> Result<&dyn BackupTarget, LocationError> {
        match kind {
            LocationType::Ftp | LocationType::Ftps => Ok(&self.ftp),
            LocationType::Sftp => Ok(&self.sftp),
            LocationType::Scp => Ok(&self.scp),
            LocationType::Http | LocationType::Https => Ok(&self.webdav),
            LocationType::Smb => Ok(&self.smb),
            LocationType::Path => Ok(&self.path),
            LocationType::Nfs => Err(LocationError::Unsupported {
                kind,
                reason: NFS_UNSUPPORTED.into(),
            }),
        }
    }
}

#[async_trait]
impl BackupTarget for BackupLocations {
    async fn check(&self, location: &Location) -> Result<(), LocationError> {
        self.adapter(location.kind)?.check(location).await
    }

    async fn put(
        &self,
        location: &Location,
        path: &str,
        body: PutBody<'_>,
        len: u64,
    ) -> Result<(), LocationError> {
        self.adapter(location.kind)?
            .put(location, path, body, len)
            .await
    }

    async fn get(
        &self,
        location: &Location,
        path: &str,
        sink: GetSink<'_>,
    ) -> Result<u64, LocationError> {
        self.adapter(location.kind)?.get(location, path, sink).await
    }

    async fn list(
        &self,
        location: &Location,
        dir: &str,
    ) -> Result<Vec<LocationEntry>, LocationError> {
        self.adapter(location.kind)?.list(location, dir).await
    }

    async fn delete(&self, location: &Location, path: &str) -> Result<(), LocationError> {
        self.adapter(location.kind)?.delete(location, path).await
    }

    async fn mkdirs(&self, location: &Location, dir: &str) -> Result<(), LocationError> {
        self.adapter(location.kind)?.mkdirs(location, dir).await
    }
}

/// A network location's URL taken apart: where to connect and the base directory.
struct Endpoint {
    host: String,
    port: u16,
    /// The URL's path, decoded, as components.
    base: Vec<String>,
}

impl Endpoint {
    fn parse(
        location: &Location,
        schemes: &[&str],
        default_port: u16,
    ) -> Result<Self, LocationError> {
        let invalid = |reason: String| LocationError::Invalid { reason };
        let url = url::Url::parse(&location.url)
            .map_err(|e| invalid(format!("{:?} is not a URL: {e}", location.url)))?;
        if !schemes.contains(&url.scheme()) {
            return Err(invalid(format!(
                "a {} location's URL starts with {}://, not {}://",
                location.kind,
                schemes.join(":// or "),
                url.scheme()
            )));
        }
        let host = url
            .host_str()
            .ok_or_else(|| invalid(format!("{:?} names no host", location.url)))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let mut base = Vec::new();
        for part in url.path().split('/').filter(|p| !p.is_empty()) {
            let decoded = percent_decode(part);
            if decoded == ".." || decoded == "." {
                return Err(invalid(format!("{:?} has a relative path", location.url)));
            }
            base.push(decoded);
        }
        Ok(Endpoint {
            host,
            port: url.port().unwrap_or(default_port),
            base,
        })
    }

    fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The components of `relative` under the base directory.
    fn components(&self, relative: &str) -> Result<Vec<String>, LocationError> {
        let mut all = self.base.clone();
        all.extend(
            location_path_components(relative)?
                .into_iter()
                .map(str::to_string),
        );
        Ok(all)
    }

    /// `relative` as an absolute path on the server.
    fn absolute(&self, relative: &str) -> Result<String, LocationError> {
        Ok(format!("/{}", self.components(relative)?.join("/")))
    }

    fn unreachable(&self, reason: impl std::fmt::Display) -> LocationError {
        LocationError::Unreachable {
            address: self.address(),
            reason: reason.to_string(),
        }
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The name of the probe file `check` writes and removes.
const PROBE_NAME: &str = ".ferrocenter-write-probe";

/// `check` for adapters with put/delete: create the base directory, write and remove a probe.
async fn probe_write(target: &dyn BackupTarget, location: &Location) -> Result<(), LocationError> {
    target.mkdirs(location, "").await?;
    let body = b"ferrocenter backup location probe\n";
    let mut reader: &[u8] = body;
    target
        .put(location, PROBE_NAME, &mut reader, body.len() as u64)
        .await?;
    target.delete(location, PROBE_NAME).await
}

/// The parent directory of a relative path (`""` for a top-level name).
fn parent_of(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    parts[..parts.len().saturating_sub(1)].join("/")
}

/// The last component of a relative path.
fn file_name_of(path: &str) -> Result<String, LocationError> {
    location_path_components(path)?
        .last()
        .map(|s| (*s).to_string())
        .ok_or_else(|| LocationError::Invalid {
            reason: "an empty file path".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_host_port_and_decoded_base() {
        let loc = Location::new(LocationType::Ftp, "ftp://127.0.0.1:2121/backups/a%20b");
        let e = Endpoint::parse(&loc, &["ftp"], 21).unwrap();
        assert_eq!(e.address(), "127.0.0.1:2121");
        assert_eq!(e.base, vec!["backups", "a b"]);
        assert_eq!(e.absolute("x/y.tar").unwrap(), "/backups/a b/x/y.tar");
        let wrong = Location::new(LocationType::Ftp, "sftp://h/b");
        assert!(matches!(
            Endpoint::parse(&wrong, &["ftp"], 21),
            Err(LocationError::Invalid { .. })
        ));
    }

    #[test]
    fn parents_and_names() {
        assert_eq!(parent_of("a/b/c"), "a/b");
        assert_eq!(parent_of("c"), "");
        assert_eq!(file_name_of("a/b/c").unwrap(), "c");
    }
}
