//! `SFTP` through russh and russh-sftp. The URL's path is absolute on the server
//! (`sftp://host:22/srv/backups`).
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_core::ports::{
    BackupTarget, GetSink, Location, LocationEntry, LocationError, PutBody,
};
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::client::SftpSession;
use russh_sftp::protocol::StatusCode;
use tokio::io::AsyncWriteExt;

use super::ssh::{self, SshHandle};
use super::{probe_write, Endpoint};

pub(super) struct Sftp {
    timeout: Duration,
}

impl Sftp {
    pub(super) fn new(timeout: Duration) -> Sftp {
        Sftp { timeout }
    }
}

/// An SFTP error on `path`, by status: no such file, or a refused write.
pub(super) fn on_path(path: &str, writing: bool, e: SftpError) -> LocationError {
    if let SftpError::Status(status) = &e {
        match status.status_code {
            StatusCode::NoSuchFile if !writing => {
                return LocationError::NotFound { path: path.into() }
            }
            StatusCode::NoSuchFile | StatusCode::PermissionDenied | StatusCode::Failure
                if writing =>
            {
                return LocationError::WriteRefused {
                    path: path.into(),
                    reason: status.error_message.clone(),
                }
            }
            StatusCode::PermissionDenied => {
                return LocationError::WriteRefused {
                    path: path.into(),
                    reason: status.error_message.clone(),
                }
            }
            _ => {}
        }
    }
    LocationError::Protocol {
        reason: format!("{path}: {e}"),
    }
}

pub(super) async fn mkdirs_in(
    sftp: &SftpSession,
    components: &[String],
) -> Result<(), LocationError> {
    let mut path = String::new();
    for part in components {
        path.push('/');
        path.push_str(part);
        match sftp.metadata(path.as_str()).await {
            Ok(meta) if meta.is_dir() => continue,
            Ok(_) => {
                return Err(LocationError::WriteRefused {
                    path,
                    reason: "a file is in the way of a directory".into(),
                })
            }
            Err(_) => sftp
                .create_dir(path.as_str())
                .await
                .map_err(|e| on_path(&path, true, e))?,
        }
    }
    Ok(())
}

pub(super) async fn list_in(
    sftp: &SftpSession,
    dir: &str,
) -> Result<Vec<LocationEntry>, LocationError> {
    let read = sftp
        .read_dir(dir)
        .await
        .map_err(|e| on_path(dir, false, e))?;
    Ok(read
        .filter(|e| !matches!(e.file_name().as_str(), "." | ".."))
        .map(|e| {
            let meta = e.metadata();
            LocationEntry {
                name: e.file_name(),
                size: if meta.is_dir() { 0 } else { meta.len() },
                is_dir: meta.is_dir(),
            }
        })
        .collect())
}

pub(super) async fn delete_in(sftp: &SftpSession, path: &str) -> Result<(), LocationError> {
    let meta = sftp
        .symlink_metadata(path)
        .await
        .map_err(|e| on_path(path, false, e))?;
    if !meta.is_dir() {
        return sftp
            .remove_file(path)
            .await
            .map_err(|e| on_path(path, true, e));
    }
    let mut stack = vec![(path.to_string(), false)];
    while let Some((dir, emptied)) = stack.pop() {
        if emptied {
            sftp.remove_dir(dir.as_str())
                .await
                .map_err(|e| on_path(&dir, true, e))?;
            continue;
        }
        stack.push((dir.clone(), true));
        for entry in list_in(sftp, &dir).await? {
            let child = format!("{dir}/{}", entry.name);
            if entry.is_dir {
                stack.push((child, false));
            } else {
                sftp.remove_file(child.as_str())
                    .await
                    .map_err(|e| on_path(&child, true, e))?;
            }
        }
    }
    Ok(())
}

/// A fresh login with its SFTP session; closed explicitly after each operation.
pub(super) struct SftpConn {
    handle: SshHandle,
    pub(super) session: SftpSession,
    pub(super) endpoint: Endpoint,
}

impl SftpConn {
    pub(super) async fn open(
        location: &Location,
        schemes: &[&str],
        timeout: Duration,
    ) -> Result<SftpConn, LocationError> {
        let (handle, endpoint) = ssh::login(location, schemes, timeout).await?;
        let session = match ssh::sftp(&handle, &endpoint).await {
            Ok(s) => s,
            Err(e) => {
                ssh::close(handle).await;
                return Err(e);
            }
        };
        Ok(SftpConn {
            handle,
            session,
            endpoint,
        })
    }

    /// Closes the connection and hands back `result`.
    pub(super) async fn finish<T>(
        self,
        result: Result<T, LocationError>,
    ) -> Result<T, LocationError> {
        let _ = self.session.close().await;
        ssh::close(self.handle).await;
        result
    }

    pub(super) async fn list(self, dir: &str) -> Result<Vec<LocationEntry>, LocationError> {
        let result = match self.endpoint.absolute(dir) {
            Ok(path) => list_in(&self.session, &path).await,
            Err(e) => Err(e),
        };
        self.finish(result).await
    }

    pub(super) async fn delete(self, path: &str) -> Result<(), LocationError> {
        let result = match self.endpoint.absolute(path) {
            Ok(path) => delete_in(&self.session, &path).await,
            Err(e) => Err(e),
        };
        self.finish(result).await
    }

    pub(super) async fn mkdirs(self, dir: &str) -> Result<(), LocationError> {
        let result = match self.endpoint.components(dir) {
            Ok(components) => mkdirs_in(&self.session, &components).await,
            Err(e) => Err(e),
        };
        self.finish(result).await
    }
}

const SCHEMES: &[&str] = &["sftp"];

#[async_trait]
impl BackupTarget for Sftp {
    async fn check(&self, location: &Location) -> Result<(), LocationError> {
        probe_write(self, location).await
    }

    async fn put(
        &self,
        location: &Location,
        path: &str,
        body: PutBody<'_>,
        _len: u64,
    ) -> Result<(), LocationError> {
        let conn = SftpConn::open(location, SCHEMES, self.timeout).await?;
        let result = async {
            let components = conn.endpoint.components(path)?;
            mkdirs_in(
                &conn.session,
                &components[..components.len().saturating_sub(1)],
            )
            .await?;
            let target = conn.endpoint.absolute(path)?;
            let mut file = conn
                .session
                .create(target.as_str())
                .await
                .map_err(|e| on_path(&target, true, e))?;
            let write_refused = |e: std::io::Error| LocationError::WriteRefused {
                path: target.clone(),
                reason: e.to_string(),
            };
            tokio::io::copy(body, &mut file)
                .await
                .map_err(write_refused)?;
            file.shutdown().await.map_err(write_refused)?;
            Ok(())
        }
        .await;
        conn.finish(result).await
    }

    async fn get(
        &self,
        location: &Location,
        path: &str,
        sink: GetSink<'_>,
    ) -> Result<u64, LocationError> {
        let conn = SftpConn::open(location, SCHEMES, self.timeout).await?;
        let result = async {
            let source = conn.endpoint.absolute(path)?;
            let mut file = conn
                .session
                .open(source.as_str())
                .await
                .map_err(|e| on_path(&source, false, e))?;
            let failed = |e: std::io::Error| LocationError::Protocol {
                reason: format!("reading {source}: {e}"),
            };
            let n = tokio::io::copy(&mut file, sink).await.map_err(failed)?;
            sink.flush().await.map_err(failed)?;
            Ok(n)
        }
        .await;
        conn.finish(result).await
    }

    async fn list(
        &self,
        location: &Location,
        dir: &str,
    ) -> Result<Vec<LocationEntry>, LocationError> {
        SftpConn::open(location, SCHEMES, self.timeout)
            .await?
            .list(dir)
            .await
    }

    async fn delete(&self, location: &Location, path: &str) -> Result<(), LocationError> {
        SftpConn::open(location, SCHEMES, self.timeout)
            .await?
            .delete(path)
            .await
    }

    async fn mkdirs(&self, location: &Location, dir: &str) -> Result<(), LocationError> {
        SftpConn::open(location, SCHEMES, self.timeout)
            .await?
            .mkdirs(dir)
            .await
    }
}
