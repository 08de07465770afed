//! Connections to a receiver: UDP (RFC 5426, one message per datagram), TCP with octet
//! counting (RFC 6587: `LEN SP MSG`), TLS (RFC 5425: the same framing inside TLS, the
//! receiver verified against the trusted roots) and RELP.
use std::io;
use std::sync::Arc;
use std::time::Duration;

use ferrocenter_core::appliance::log_forwarding::{ForwardTarget, Protocol};
use rustls::pki_types::ServerName;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::relp::Relp;

/// How long a connect (with its TLS handshake or RELP open) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one message may take to be written (and, for RELP, acknowledged).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

pub enum Connection {
    Udp(UdpSocket),
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Relp(Relp<TcpStream>),
}

/// The reason a connection failed, naming the receiver.
pub fn reason(target: &ForwardTarget, what: &str, e: impl std::fmt::Display) -> String {
    format!(
        "{what} {} over {} failed: {e}",
        target.address(),
        target.protocol.as_str()
    )
}

async fn tcp(target: &ForwardTarget) -> io::Result<TcpStream> {
    let s = TcpStream::connect((target.hostname.as_str(), target.port)).await?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// Connects (and for TLS handshakes, for RELP opens a session), within [`CONNECT_TIMEOUT`].
pub async fn connect(
    target: &ForwardTarget,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Connection, String> {
    let work = async {
        Ok::<_, io::Error>(match target.protocol {
            Protocol::Udp => {
                let addr = tokio::net::lookup_host((target.hostname.as_str(), target.port))
                    .await?
                    .next()
                    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
                let local = if addr.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let s = UdpSocket::bind(local).await?;
                s.connect(addr).await?;
                Connection::Udp(s)
            }
            Protocol::Tcp => Connection::Tcp(tcp(target).await?),
            Protocol::Tls => {
                let name = ServerName::try_from(target.hostname.clone())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                let tls = tls.ok_or_else(|| {
                    io::Error::new(io::ErrorKind::Unsupported, "no TLS client configuration")
                })?;
                let s = TlsConnector::from(tls.clone())
                    .connect(name, tcp(target).await?)
                    .await?;
                Connection::Tls(Box::new(s))
            }
            Protocol::Relp => Connection::Relp(Relp::open(tcp(target).await?).await?),
        })
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, work).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(reason(target, "connecting to", e)),
        Err(_) => Err(reason(
            target,
            "connecting to",
            format!("no answer in {} s", CONNECT_TIMEOUT.as_secs()),
        )),
    }
}

/// Appends `LEN SP MSG` to `out`.
fn octet_counted(message: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(message.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(message);
}

/// The octet-counted frames of `messages`, one after the other.
fn frames(messages: &[impl AsRef<[u8]>]) -> Vec<u8> {
    let len = messages.iter().map(|m| m.as_ref().len() + 6).sum();
    let mut out = Vec::with_capacity(len);
    for m in messages {
        octet_counted(m.as_ref(), &mut out);
    }
    out
}

impl Connection {
    /// Whether a stream receiver has closed its end (TCP: a read says end of file), so that
    /// the next message goes over a new connection instead of into a dead one.
    pub fn peer_closed(&self) -> bool {
        let mut buf = [0u8; 64];
        match self {
            Connection::Tcp(s) => match s.try_read(&mut buf) {
                Ok(n) => n == 0,
                Err(e) => e.kind() != io::ErrorKind::WouldBlock,
            },
            _ => false,
        }
    }

    pub async fn send(&mut self, message: &[u8]) -> io::Result<()> {
        self.send_all(&[message]).await
    }

    /// Sends messages in order, within one [`SEND_TIMEOUT`]: over TCP and TLS all their frames
    /// in one write, so that a burst of records costs one system call rather than one each.
    /// On an error it is unknown how many arrived; the caller sends them all again (at least
    /// once, as a plain TCP syslog sender can promise no better).
    pub async fn send_all(&mut self, messages: &[impl AsRef<[u8]>]) -> io::Result<()> {
        let work = async {
            match self {
                Connection::Udp(s) => {
                    for m in messages {
                        s.send(m.as_ref()).await?;
                    }
                    Ok(())
                }
                Connection::Tcp(s) => s.write_all(&frames(messages)).await,
                Connection::Tls(s) => {
                    s.write_all(&frames(messages)).await?;
                    s.flush().await
                }
                Connection::Relp(r) => {
                    for m in messages {
                        r.syslog(m.as_ref()).await?;
                    }
                    Ok(())
                }
            }
        };
        tokio::time::timeout(SEND_TIMEOUT, work)
            .await
            .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "send timed out")))
    }

    /// Ends the connection cleanly (TLS close_notify, RELP close).
    pub async fn close(self) {
        let _ = tokio::time::timeout(CONNECT_TIMEOUT, async {
            match self {
                Connection::Udp(_) => {}
                Connection::Tcp(mut s) => {
                    let _ = s.shutdown().await;
                }
                Connection::Tls(mut s) => {
                    let _ = s.shutdown().await;
                }
                Connection::Relp(r) => {
                    let _ = r.close().await;
                }
            }
        })
        .await;
    }
}
