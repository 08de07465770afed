//! `FTP` and `FTPS` through suppaftp's tokio client. FTPS is explicit (`AUTH TLS` on the control
//! port, then protected data connections), as vsftpd and most servers offer it; `ftps://` URLs
//! default to port 21 as well.
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_core::ports::{
    BackupTarget, GetSink, Location, LocationEntry, LocationError, LocationType, PutBody,
};
use suppaftp::list::File as ListedFile;
use suppaftp::tokio::{AsyncRustlsConnector, AsyncRustlsFtpStream};
use suppaftp::types::FileType;
use suppaftp::FtpError;
use tokio::io::AsyncWriteExt;

use super::{probe_write, Endpoint};

pub(super) struct Ftp {
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
}

type Conn = AsyncRustlsFtpStream;

impl Ftp {
    pub(super) fn new(tls: Arc<rustls::ClientConfig>, timeout: Duration) -> Ftp {
        Ftp { tls, timeout }
    }

    async fn open(&self, location: &Location) -> Result<(Conn, Endpoint), LocationError> {
        let secure = location.kind == LocationType::Ftps;
        let endpoint = Endpoint::parse(
            location,
            if secure { &["ftps", "ftp"] } else { &["ftp"] },
            21,
        )?;
        let stream = tokio::time::timeout(
            self.timeout,
            tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port)),
        )
        .await
        .map_err(|_| endpoint.unreachable("no answer in time"))?
        .map_err(|e| endpoint.unreachable(e))?;
        let mut conn = Conn::connect_with_stream(stream)
            .await
            .map_err(|e| endpoint.unreachable(e))?;
        if secure {
            let connector =
                AsyncRustlsConnector::from(tokio_rustls::TlsConnector::from(self.tls.clone()));
            conn = conn
                .into_secure(connector, &endpoint.host)
                .await
                .map_err(|e| LocationError::Protocol {
                    reason: format!("the TLS handshake with {} failed: {e}", endpoint.address()),
                })?;
        }
        let user = location.user_name().to_string();
        let password = location
            .password
            .as_ref()
            .map_or("", |p| p.expose())
            .to_string();
        match conn.login(user.as_str(), password.as_str()).await {
            Ok(()) => {}
            // 530: not logged in.
            Err(FtpError::UnexpectedResponse(r)) if r.status.code() == 530 => {
                return Err(LocationError::AuthRefused { user });
            }
            Err(e) => return Err(protocol(&endpoint, e)),
        }
        conn.transfer_type(FileType::Binary)
            .await
            .map_err(|e| protocol(&endpoint, e))?;
        Ok((conn, endpoint))
    }
}

fn protocol(endpoint: &Endpoint, e: FtpError) -> LocationError {
    match e {
        FtpError::ConnectionError(e) => endpoint.unreachable(e),
        other => LocationError::Protocol {
            reason: format!("{}: {other}", endpoint.address()),
        },
    }
}

/// An FTP error on `path`, by reply code: 550 is "no such file", 452/552/553 refuse a write.
fn on_path(endpoint: &Endpoint, path: &str, writing: bool, e: FtpError) -> LocationError {
    if let FtpError::UnexpectedResponse(r) = &e {
        let text = String::from_utf8_lossy(&r.body).trim().to_string();
        return match r.status.code() {
            550 if !writing => LocationError::NotFound { path: path.into() },
            450..=453 | 550..=553 => LocationError::WriteRefused {
                path: path.into(),
                reason: text,
            },
            _ => LocationError::Protocol {
                reason: format!("{path}: {text}"),
            },
        };
    }
    protocol(endpoint, e)
}

/// Creates each missing directory of `components` from the root.
async fn mkdirs_in(
    conn: &mut Conn,
    endpoint: &Endpoint,
    components: &[String],
) -> Result<(), LocationError> {
    let mut path = String::new();
    for part in components {
        path.push('/');
        path.push_str(part);
        if conn.cwd(&path).await.is_ok() {
            continue;
        }
        conn.mkdir(&path)
            .await
            .map_err(|e| on_path(endpoint, &path, true, e))?;
    }
    Ok(())
}

async fn list_in(
    conn: &mut Conn,
    endpoint: &Endpoint,
    dir: &str,
) -> Result<Vec<LocationEntry>, LocationError> {
    // CWD first: LIST of a missing directory answers an empty listing on some servers.
    conn.cwd(dir)
        .await
        .map_err(|e| on_path(endpoint, dir, false, e))?;
    let lines = conn
        .list(None)
        .await
        .map_err(|e| on_path(endpoint, dir, false, e))?;
    let mut entries = Vec::new();
    for line in &lines {
        let file = ListedFile::try_from(line.as_str()).map_err(|e| LocationError::Protocol {
            reason: format!("an unreadable LIST line {line:?}: {e}"),
        })?;
        if matches!(file.name(), "." | "..") {
            continue;
        }
        entries.push(LocationEntry {
            name: file.name().to_string(),
            size: if file.is_directory() {
                0
            } else {
                file.size() as u64
            },
            is_dir: file.is_directory(),
        });
    }
    Ok(entries)
}

/// Removes a file, or a directory depth-first.
async fn delete_in(conn: &mut Conn, endpoint: &Endpoint, path: &str) -> Result<(), LocationError> {
    if conn.cwd(path).await.is_err() {
        return conn
            .rm(path)
            .await
            .map_err(|e| on_path(endpoint, path, false, e));
    }
    let mut stack = vec![(path.to_string(), false)];
    while let Some((dir, emptied)) = stack.pop() {
        if emptied {
            conn.cwd("/").await.map_err(|e| protocol(endpoint, e))?;
            conn.rmdir(&dir)
                .await
                .map_err(|e| on_path(endpoint, &dir, true, e))?;
            continue;
        }
        stack.push((dir.clone(), true));
        for entry in list_in(conn, endpoint, &dir).await? {
            let child = format!("{dir}/{}", entry.name);
            if entry.is_dir {
                stack.push((child, false));
            } else {
                conn.rm(&child)
                    .await
                    .map_err(|e| on_path(endpoint, &child, true, e))?;
            }
        }
    }
    Ok(())
}

#[async_trait]
impl BackupTarget for Ftp {
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
        let (mut conn, endpoint) = self.open(location).await?;
        let components = endpoint.components(path)?;
        mkdirs_in(
            &mut conn,
            &endpoint,
            &components[..components.len().saturating_sub(1)],
        )
        .await?;
        let target = endpoint.absolute(path)?;
        let mut body = body;
        conn.put_file(&target, &mut body)
            .await
            .map_err(|e| on_path(&endpoint, &target, true, e))?;
        let _ = conn.quit().await;
        Ok(())
    }

    async fn get(
        &self,
        location: &Location,
        path: &str,
        sink: GetSink<'_>,
    ) -> Result<u64, LocationError> {
        let (mut conn, endpoint) = self.open(location).await?;
        let source = endpoint.absolute(path)?;
        let mut stream = conn
            .retr_as_stream(&source)
            .await
            .map_err(|e| on_path(&endpoint, &source, false, e))?;
        let copied = tokio::io::copy(&mut stream, sink).await;
        let n = copied.map_err(|e| endpoint.unreachable(e))?;
        stream
            .finish()
            .await
            .map_err(|e| on_path(&endpoint, &source, false, e))?;
        sink.flush().await.map_err(|e| LocationError::Protocol {
            reason: format!("writing what {source} held: {e}"),
        })?;
        let _ = conn.quit().await;
        Ok(n)
    }

    async fn list(
        &self,
        location: &Location,
        dir: &str,
    ) -> Result<Vec<LocationEntry>, LocationError> {
        let (mut conn, endpoint) = self.open(location).await?;
        let dir = endpoint.absolute(dir)?;
        let entries = list_in(&mut conn, &endpoint, &dir).await?;
        let _ = conn.quit().await;
        Ok(entries)
    }

    async fn delete(&self, location: &Location, path: &str) -> Result<(), LocationError> {
        let (mut conn, endpoint) = self.open(location).await?;
        let target = endpoint.absolute(path)?;
        delete_in(&mut conn, &endpoint, &target).await?;
        let _ = conn.quit().await;
        Ok(())
    }

    async fn mkdirs(&self, location: &Location, dir: &str) -> Result<(), LocationError> {
        let (mut conn, endpoint) = self.open(location).await?;
        let components = endpoint.components(dir)?;
        mkdirs_in(&mut conn, &endpoint, &components).await?;
        let _ = conn.quit().await;
        Ok(())
    }
}
