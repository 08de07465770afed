//! One SSH login for the SFTP and SCP locations. The vAPI location carries no host key, so the
//! server's key is accepted as presented (as vCenter's own backup client does); the transport is
//! still encrypted and the password is only sent after the key exchange.
use std::sync::Arc;
use std::time::Duration;

use ferrocenter_core::ports::{Location, LocationError};
use russh::client::{self, AuthResult, Handle};
use russh::keys::PublicKey;
use russh_sftp::client::SftpSession;

use super::Endpoint;

pub(super) struct AcceptPresentedKey;

impl client::Handler for AcceptPresentedKey {
    type Error = russh::Error;

    async fn check_server_key(&mut self, _key: &PublicKey) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

pub(super) type SshHandle = Handle<AcceptPresentedKey>;

/// Connects and logs in with the location's user and password.
pub(super) async fn login(
    location: &Location,
    schemes: &[&str],
    timeout: Duration,
) -> Result<(SshHandle, Endpoint), LocationError> {
    let endpoint = Endpoint::parse(location, schemes, 22)?;
    let stream = tokio::time::timeout(
        timeout,
        tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port)),
    )
    .await
    .map_err(|_| endpoint.unreachable("no answer in time"))?
    .map_err(|e| endpoint.unreachable(e))?;
    let _ = stream.set_nodelay(true);
    let config = Arc::new(client::Config {
        inactivity_timeout: Some(Duration::from_secs(120)),
        ..client::Config::default()
    });
    let mut handle = tokio::time::timeout(
        timeout,
        client::connect_stream(config, stream, AcceptPresentedKey),
    )
    .await
    .map_err(|_| endpoint.unreachable("the SSH handshake timed out"))?
    .map_err(|e| endpoint.unreachable(format!("SSH handshake: {e}")))?;
    let user = location.user_name().to_string();
    let password = location.password.as_ref().map_or("", |p| p.expose());
    let auth = handle
        .authenticate_password(user.as_str(), password)
        .await
        .map_err(|e| LocationError::Protocol {
            reason: format!("{}: SSH authentication: {e}", endpoint.address()),
        })?;
    if !matches!(auth, AuthResult::Success) {
        return Err(LocationError::AuthRefused { user });
    }
    Ok((handle, endpoint))
}

/// The SFTP subsystem on a logged-in connection.
pub(super) async fn sftp(
    handle: &SshHandle,
    endpoint: &Endpoint,
) -> Result<SftpSession, LocationError> {
    let proto = |e: &dyn std::fmt::Display| LocationError::Protocol {
        reason: format!("{}: SFTP: {e}", endpoint.address()),
    };
    let channel = handle.channel_open_session().await.map_err(|e| proto(&e))?;
    channel
        .request_subsystem(true, "sftp")
        .await
        .map_err(|e| proto(&e))?;
    SftpSession::new(channel.into_stream())
        .await
        .map_err(|e| proto(&e))
}

pub(super) async fn close(handle: SshHandle) {
    let _ = handle
        .disconnect(russh::Disconnect::ByApplication, "", "en")
        .await;
}
