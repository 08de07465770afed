//! `SCP`: files travel over the classic scp protocol (`scp -t` / `scp -f` run on the server
//! through an SSH exec channel); making directories, listing and deleting, which scp cannot do,
//! go over the SFTP subsystem of the same login. The path rule: `scp://host:22/srv/backups` names
//! an absolute directory on the server, as for SFTP; names are quoted for the remote shell and
//! must not contain a newline (the scp protocol's header is one line).
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_core::ports::{
    BackupTarget, GetSink, Location, LocationEntry, LocationError, PutBody,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use super::sftp::{mkdirs_in, SftpConn};
use super::ssh::{self, SshHandle};
use super::{file_name_of, probe_write, Endpoint};

pub(super) struct Scp {
    timeout: Duration,
}

impl Scp {
    pub(super) fn new(timeout: Duration) -> Scp {
        Scp { timeout }
    }
}

const SCHEMES: &[&str] = &["scp"];

/// A path as one single-quoted word for the remote shell.
fn shell_quote(path: &str) -> String {
    format!("'{}'", path.replace('\'', r"'\''"))
}

fn refuse_newline(path: &str) -> Result<(), LocationError> {
    if path.contains('\n') || path.contains('\r') {
        return Err(LocationError::Invalid {
            reason: "an SCP path cannot contain a line break".into(),
        });
    }
    Ok(())
}

async fn exec_stream(
    handle: &SshHandle,
    endpoint: &Endpoint,
    command: &str,
) -> Result<russh::ChannelStream<russh::client::Msg>, LocationError> {
    let proto = |e: russh::Error| LocationError::Protocol {
        reason: format!("{}: {e}", endpoint.address()),
    };
    let channel = handle.channel_open_session().await.map_err(proto)?;
    channel.exec(true, command).await.map_err(proto)?;
    Ok(channel.into_stream())
}

/// Reads one scp acknowledgement: 0 is OK; 1 and 2 carry a message line.
async fn read_ack<R: tokio::io::AsyncBufRead + Unpin>(
    stream: &mut R,
    path: &str,
    writing: bool,
) -> Result<(), LocationError> {
    let mut code = [0u8; 1];
    stream
        .read_exact(&mut code)
        .await
        .map_err(|e| LocationError::Protocol {
            reason: format!("scp ended early on {path}: {e}"),
        })?;
    if code[0] == 0 {
        return Ok(());
    }
    let mut message = String::new();
    let _ = stream.read_line(&mut message).await;
    Err(scp_refusal(path, writing, message.trim()))
}

fn scp_refusal(path: &str, writing: bool, message: &str) -> LocationError {
    if !writing && message.contains("No such file") {
        LocationError::NotFound { path: path.into() }
    } else if writing {
        LocationError::WriteRefused {
            path: path.into(),
            reason: message.into(),
        }
    } else {
        LocationError::Protocol {
            reason: format!("scp on {path}: {message}"),
        }
    }
}

fn broken(path: &str, e: std::io::Error) -> LocationError {
    LocationError::Protocol {
        reason: format!("scp of {path} broke off: {e}"),
    }
}

#[async_trait]
impl BackupTarget for Scp {
    async fn check(&self, location: &Location) -> Result<(), LocationError> {
        probe_write(self, location).await
    }

    async fn put(
        &self,
        location: &Location,
        path: &str,
        body: PutBody<'_>,
        len: u64,
    ) -> Result<(), LocationError> {
        refuse_newline(path)?;
        let (handle, endpoint) = ssh::login(location, SCHEMES, self.timeout).await?;
        let result = async {
            let components = endpoint.components(path)?;
            let sftp = ssh::sftp(&handle, &endpoint).await?;
            let made = mkdirs_in(&sftp, &components[..components.len().saturating_sub(1)]).await;
            let _ = sftp.close().await;
            made?;
            let target = endpoint.absolute(path)?;
            let name = file_name_of(path)?;
            let stream = exec_stream(
                &handle,
                &endpoint,
                &format!("scp -t {}", shell_quote(&target)),
            )
            .await?;
            let mut stream = BufReader::new(stream);
            read_ack(&mut stream, &target, true).await?;
            stream
                .get_mut()
                .write_all(format!("C0644 {len} {name}\n").as_bytes())
                .await
                .map_err(|e| broken(&target, e))?;
            read_ack(&mut stream, &target, true).await?;
            let sent = tokio::io::copy(&mut body.take(len), stream.get_mut())
                .await
                .map_err(|e| broken(&target, e))?;
            if sent != len {
                return Err(LocationError::Protocol {
                    reason: format!("the archive part ended after {sent} of {len} bytes"),
                });
            }
            stream
                .get_mut()
                .write_all(&[0])
                .await
                .map_err(|e| broken(&target, e))?;
            stream
                .get_mut()
                .flush()
                .await
                .map_err(|e| broken(&target, e))?;
            read_ack(&mut stream, &target, true).await?;
            let _ = stream.get_mut().shutdown().await;
            Ok(())
        }
        .await;
        ssh::close(handle).await;
        result
    }

    async fn get(
        &self,
        location: &Location,
        path: &str,
        sink: GetSink<'_>,
    ) -> Result<u64, LocationError> {
        refuse_newline(path)?;
        let (handle, endpoint) = ssh::login(location, SCHEMES, self.timeout).await?;
        let result = async {
            let source = endpoint.absolute(path)?;
            let stream = exec_stream(
                &handle,
                &endpoint,
                &format!("scp -f {}", shell_quote(&source)),
            )
            .await?;
            let mut stream = BufReader::new(stream);
            stream
                .get_mut()
                .write_all(&[0])
                .await
                .map_err(|e| broken(&source, e))?;
            stream
                .get_mut()
                .flush()
                .await
                .map_err(|e| broken(&source, e))?;
            let mut header = String::new();
            stream
                .read_line(&mut header)
                .await
                .map_err(|e| broken(&source, e))?;
            let len = match header.as_bytes().first() {
                Some(b'C') => header
                    .split_whitespace()
                    .nth(1)
                    .and_then(|n| n.parse::<u64>().ok())
                    .ok_or_else(|| LocationError::Protocol {
                        reason: format!("scp sent an unreadable header {header:?}"),
                    })?,
                Some(1 | 2) => return Err(scp_refusal(&source, false, header[1..].trim())),
                _ => {
                    return Err(LocationError::Protocol {
                        reason: format!("scp sent {header:?} for {source}, not a file"),
                    })
                }
            };
            stream
                .get_mut()
                .write_all(&[0])
                .await
                .map_err(|e| broken(&source, e))?;
            stream
                .get_mut()
                .flush()
                .await
                .map_err(|e| broken(&source, e))?;
            let n = tokio::io::copy(&mut (&mut stream).take(len), sink)
                .await
                .map_err(|e| broken(&source, e))?;
            if n != len {
                return Err(LocationError::Protocol {
                    reason: format!("scp of {source} ended after {n} of {len} bytes"),
                });
            }
            read_ack(&mut stream, &source, false).await?;
            stream
                .get_mut()
                .write_all(&[0])
                .await
                .map_err(|e| broken(&source, e))?;
            let _ = stream.get_mut().shutdown().await;
            sink.flush().await.map_err(|e| broken(&source, e))?;
            Ok(n)
        }
        .await;
        ssh::close(handle).await;
        result
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
    }
}
