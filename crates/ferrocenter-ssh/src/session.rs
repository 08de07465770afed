//! One SSH login: the host key checked against the expected fingerprint, password or key
//! authentication, and commands run with their exit status and output.
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use russh::client::{self, AuthResult, Handle};
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use russh::ChannelMsg;
use tokio::io::AsyncRead;

use crate::error::SshError;

/// Checks the key the server presents; keeps what it saw for the caller.
struct HostKeyCheck {
    expected: Option<String>,
    seen: Arc<Mutex<Option<String>>>,
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(&mut self, key: &PublicKey) -> Result<bool, Self::Error> {
        let presented = fingerprint(key);
        let accepted = self.expected.as_deref().is_none_or(|e| e == presented);
        *self.seen.lock() = Some(presented);
        Ok(accepted)
    }
}

/// A key's OpenSSH SHA-256 fingerprint (`SHA256:<base64>`), as `ssh-keygen -lf` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// What a command printed and how it ended.
#[derive(Debug, Default)]
pub struct Output {
    pub status: Option<u32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The last lines of standard error, for a fault's text.
    pub fn stderr_tail(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(3)..].join(" / ")
    }
}

pub enum Credential<'a> {
    Password(&'a str),
    Key(&'a PrivateKey),
}

pub struct Session {
    handle: Handle<HostKeyCheck>,
    /// The host key's fingerprint.
    pub host_key: String,
    command_timeout: Duration,
}

impl Session {
    /// Connects, checks the host key and logs in.
    pub async fn open(
        address: &str,
        port: u16,
        expected_host_key: Option<&str>,
        user: &str,
        credential: Credential<'_>,
        connect_timeout: Duration,
        command_timeout: Duration,
    ) -> Result<Session, SshError> {
        let stream = match tokio::time::timeout(
            connect_timeout,
            tokio::net::TcpStream::connect((address, port)),
        )
        .await
        {
            Err(_) => {
                return Err(SshError::Unreachable(format!(
                    "no answer within {} s",
                    connect_timeout.as_secs()
                )))
            }
            Ok(Err(e)) => return Err(SshError::Unreachable(e.to_string())),
            Ok(Ok(s)) => s,
        };
        let _ = stream.set_nodelay(true);
        let seen = Arc::new(Mutex::new(None));
        let handler = HostKeyCheck {
            expected: expected_host_key.map(str::to_string),
            seen: seen.clone(),
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: Some(command_timeout),
            ..client::Config::default()
        });
        let connected = tokio::time::timeout(
            connect_timeout,
            client::connect_stream(config, stream, handler),
        )
        .await;
        let presented = seen.lock().clone();
        let mut handle = match connected {
            Err(_) => return Err(SshError::Protocol("the SSH handshake timed out".into())),
            Ok(Ok(h)) => h,
            Ok(Err(e)) => {
                return Err(match (expected_host_key, presented) {
                    (Some(expected), Some(presented)) if expected != presented => {
                        SshError::HostKeyChanged {
                            expected: expected.to_string(),
                            presented,
                        }
                    }
                    _ => SshError::Protocol(e.to_string()),
                })
            }
        };
        let host_key = presented
            .ok_or_else(|| SshError::Protocol("the server presented no host key".into()))?;
        let auth = match credential {
            Credential::Password(p) => handle.authenticate_password(user, p).await,
            Credential::Key(k) => {
                handle
                    .authenticate_publickey(
                        user,
                        PrivateKeyWithHashAlg::new(Arc::new(k.clone()), None),
                    )
                    .await
            }
        }
        .map_err(|e| SshError::Protocol(e.to_string()))?;
        if !matches!(auth, AuthResult::Success) {
            return Err(SshError::LoginRefused);
        }
        Ok(Session {
            handle,
            host_key,
            command_timeout,
        })
    }

    /// Runs `command` with `stdin` as its standard input (streamed), to its end.
    pub async fn run(
        &self,
        command: &str,
        stdin: Option<&mut (dyn AsyncRead + Unpin + Send)>,
    ) -> Result<Output, SshError> {
        tokio::time::timeout(self.command_timeout, self.run_inner(command, stdin))
            .await
            .map_err(|_| {
                SshError::Protocol(format!(
                    "a command did not finish within {} s",
                    self.command_timeout.as_secs()
                ))
            })?
    }

    async fn run_inner(
        &self,
        command: &str,
        stdin: Option<&mut (dyn AsyncRead + Unpin + Send)>,
    ) -> Result<Output, SshError> {
        let proto = |e: russh::Error| SshError::Protocol(e.to_string());
        let mut channel = self.handle.channel_open_session().await.map_err(proto)?;
        channel.exec(true, command).await.map_err(proto)?;
        if let Some(input) = stdin {
            channel.data(input).await.map_err(proto)?;
        }
        channel.eof().await.map_err(proto)?;
        let mut out = Output::default();
        while let Some(msg) = channel.wait().await {
            match msg {
                ChannelMsg::Data { data } => out.stdout.extend_from_slice(&data),
                ChannelMsg::ExtendedData { data, .. } => out.stderr.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => out.status = Some(exit_status),
                _ => {}
            }
        }
        Ok(out)
    }

    pub async fn close(self) {
        let _ = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
    }
}
