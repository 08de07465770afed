//! Binding a listener's address: at start, and again when its service is started.
use std::net::SocketAddr;

/// Why a listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{key}: cannot listen on {addr}: {reason}")]
    Bind {
        key: &'static str,
        addr: SocketAddr,
        reason: String,
    },
    #[error("the TLS certificate or key cannot be loaded: {0}")]
    Tls(String),
}

/// Binds the socket here rather than inside the server task, so a failure is reported at once
/// and names the key.
pub(crate) fn bind(
    key: &'static str,
    addr: SocketAddr,
) -> Result<std::net::TcpListener, ServeError> {
    let fail = |e: std::io::Error| ServeError::Bind {
        key,
        addr,
        reason: e.to_string(),
    };
    let l = std::net::TcpListener::bind(addr).map_err(fail)?;
    l.set_nonblocking(true).map_err(fail)?;
    Ok(l)
}
