//! Where backup archives are written and read: a location (a type, a URL, credentials) and the
//! operations a backup, a restore and retention need on it. Adapters speak each type's real
//! protocol; the core only ever sees this port.
use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite};

/// The vAPI `location_type` values, plus the seed's `PATH` (a directory on this machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LocationType {
    Ftp,
    Ftps,
    Http,
    Https,
    Scp,
    Sftp,
    Nfs,
    Smb,
    Path,
}

impl LocationType {
    pub const ALL: [LocationType; 9] = [
        LocationType::Ftp,
        LocationType::Ftps,
        LocationType::Http,
        LocationType::Https,
        LocationType::Scp,
        LocationType::Sftp,
        LocationType::Nfs,
        LocationType::Smb,
        LocationType::Path,
    ];

    /// The name the vAPI uses.
    pub fn as_str(self) -> &'static str {
        match self {
            LocationType::Ftp => "FTP",
            LocationType::Ftps => "FTPS",
            LocationType::Http => "HTTP",
            LocationType::Https => "HTTPS",
            LocationType::Scp => "SCP",
            LocationType::Sftp => "SFTP",
            LocationType::Nfs => "NFS",
            LocationType::Smb => "SMB",
            LocationType::Path => "PATH",
        }
    }
}

impl fmt::Display for LocationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LocationType {
    type Err = LocationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LocationType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| LocationError::Invalid {
                reason: format!("unknown location type {s:?}"),
            })
    }
}

/// A password that never shows in `Debug`, `Display` or logs; only `expose` reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct LocationSecret(String);

impl LocationSecret {
    pub fn new(secret: impl Into<String>) -> LocationSecret {
        LocationSecret(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LocationSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocationSecret(<redacted>)")
    }
}

/// A backup location as the vAPI request gives it: `location` is a URL such as
/// `sftp://10.0.0.5:22/backups` or, for `PATH`, an absolute directory (`/srv/backups` or
/// `file:///srv/backups`).
#[derive(Debug, Clone)]
pub struct Location {
    pub kind: LocationType,
    pub url: String,
    pub user: Option<String>,
    pub password: Option<LocationSecret>,
}

impl Location {
    pub fn new(kind: LocationType, url: impl Into<String>) -> Location {
        Location {
            kind,
            url: url.into(),
            user: None,
            password: None,
        }
    }

    pub fn with_login(mut self, user: impl Into<String>, password: impl Into<String>) -> Location {
        self.user = Some(user.into());
        self.password = Some(LocationSecret::new(password));
        self
    }

    /// The user for messages, `anonymous` when none was given.
    pub fn user_name(&self) -> &str {
        self.user.as_deref().unwrap_or("anonymous")
    }
}

/// One name in a listed directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationEntry {
    pub name: String,
    pub size: u64,
    pub is_dir: bool,
}

/// What failed at a location. Never carries a password.
#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    #[error("the backup location {address} is unreachable: {reason}")]
    Unreachable { address: String, reason: String },
    #[error("the backup location refused the login of user {user}")]
    AuthRefused { user: String },
    #[error("{path} does not exist at the backup location")]
    NotFound { path: String },
    #[error("the backup location refused to write {path}: {reason}")]
    WriteRefused { path: String, reason: String },
    #[error("location type {kind} is not supported: {reason}")]
    Unsupported { kind: LocationType, reason: String },
    #[error("invalid backup location: {reason}")]
    Invalid { reason: String },
    #[error("the backup location answered unexpectedly: {reason}")]
    Protocol { reason: String },
}

/// A readable body for `put`.
pub type PutBody<'a> = &'a mut (dyn AsyncRead + Unpin + Send);
/// Where `get` writes what it reads.
pub type GetSink<'a> = &'a mut (dyn AsyncWrite + Unpin + Send);

/// The operations on a backup location. Paths are relative to the location's URL path, use `/`
/// and never contain `..`. Each call opens its own connection: backups are rare and long, and a
/// connection kept between them would only go stale.
#[async_trait]
pub trait BackupTarget: Send + Sync {
    /// The location answers, accepts the credentials and takes a write (a probe file is written
    /// and removed in the location's directory, created if missing).
    async fn check(&self, location: &Location) -> Result<(), LocationError>;

    /// Writes `len` bytes from `body` to `path`, creating missing parent directories. Streams
    /// where the protocol allows.
    async fn put(
        &self,
        location: &Location,
        path: &str,
        body: PutBody<'_>,
        len: u64,
    ) -> Result<(), LocationError>;

    /// Copies the file at `path` into `sink`; returns the byte count.
    async fn get(
        &self,
        location: &Location,
        path: &str,
        sink: GetSink<'_>,
    ) -> Result<u64, LocationError>;

    /// The entries of the directory `dir` (`""` for the location itself), without `.` and `..`.
    async fn list(
        &self,
        location: &Location,
        dir: &str,
    ) -> Result<Vec<LocationEntry>, LocationError>;

    /// Removes a file, or a directory with everything under it.
    async fn delete(&self, location: &Location, path: &str) -> Result<(), LocationError>;

    /// Creates `dir` and its missing parents.
    async fn mkdirs(&self, location: &Location, dir: &str) -> Result<(), LocationError>;
}

/// No location reachable: what a core built without the system adapters gets. Every call is
/// refused naming the location type.
pub struct NoBackupTarget;

impl NoBackupTarget {
    fn refuse(location: &Location) -> LocationError {
        LocationError::Unsupported {
            kind: location.kind,
            reason: "this server was built without backup location adapters".into(),
        }
    }
}

#[async_trait]
impl BackupTarget for NoBackupTarget {
    async fn check(&self, location: &Location) -> Result<(), LocationError> {
        Err(Self::refuse(location))
    }
    async fn put(
        &self,
        location: &Location,
        _: &str,
        _: PutBody<'_>,
        _: u64,
    ) -> Result<(), LocationError> {
        Err(Self::refuse(location))
    }
    async fn get(
        &self,
        location: &Location,
        _: &str,
        _: GetSink<'_>,
    ) -> Result<u64, LocationError> {
        Err(Self::refuse(location))
    }
    async fn list(
        &self,
        location: &Location,
        _: &str,
    ) -> Result<Vec<LocationEntry>, LocationError> {
        Err(Self::refuse(location))
    }
    async fn delete(&self, location: &Location, _: &str) -> Result<(), LocationError> {
        Err(Self::refuse(location))
    }
    async fn mkdirs(&self, location: &Location, _: &str) -> Result<(), LocationError> {
        Err(Self::refuse(location))
    }
}

/// Splits a relative path into its non-empty components, refusing `..` and `.` so a path can
/// never leave the location.
pub fn location_path_components(path: &str) -> Result<Vec<&str>, LocationError> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts
        .iter()
        .any(|p| *p == ".." || *p == "." || p.contains('\0'))
    {
        return Err(LocationError::Invalid {
            reason: format!("the path {path:?} must stay inside the location"),
        });
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_debug_prints() {
        let loc = Location::new(LocationType::Sftp, "sftp://h/b").with_login("bk", "hunter2");
        let shown = format!("{loc:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("bk"));
    }

    #[test]
    fn types_parse_as_the_vapi_names() {
        for t in LocationType::ALL {
            assert_eq!(t.as_str().parse::<LocationType>().unwrap(), t);
        }
        assert!("GOPHER".parse::<LocationType>().is_err());
    }

    #[test]
    fn paths_cannot_escape() {
        assert_eq!(
            location_path_components("/a//b/c.tar").unwrap(),
            vec!["a", "b", "c.tar"]
        );
        assert!(location_path_components("a/../../etc").is_err());
    }
}
