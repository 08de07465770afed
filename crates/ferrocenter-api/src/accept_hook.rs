//! The accept path every listener shares: the inbound firewall is consulted for each new TCP
//! connection before anything is read from it — before the TLS handshake on the HTTPS
//! listeners — and the connection's local address is put into each of its requests (the
//! firewall's lock-out check and `interface_name` need it).
//!
//! The kernel has already completed the TCP handshake when a userspace server sees a
//! connection, so a refused one cannot be made to look unanswered: IGNORE closes it at once
//! without sending a byte (the client sees the connection closed), REJECT resets it (SO_LINGER
//! 0: the client sees a reset). Either way no TLS handshake and no request reaches the server.
use std::future::{ready, Ready};
use std::io;
use std::sync::Arc;

use axum::middleware::AddExtension;
use axum::Extension;
use axum_server::accept::Accept;
use ferrocenter_core::appliance::firewall::Verdict;
use ferrocenter_core::Core;
use ferrocenter_http::peer::LocalAddr;
use tokio::net::TcpStream;
use tower::Layer;

use crate::metrics::Metrics;

/// The firewall in front of one listener.
#[derive(Clone)]
pub struct FirewallAcceptor {
    core: Arc<Core>,
    /// The listener's configuration key, for the log and the metrics.
    listener: &'static str,
    metrics: Option<Arc<Metrics>>,
}

impl FirewallAcceptor {
    pub fn new(core: Arc<Core>, listener: &'static str, metrics: Option<Arc<Metrics>>) -> Self {
        FirewallAcceptor {
            core,
            listener,
            metrics,
        }
    }
}

impl<S> Accept<TcpStream, S> for FirewallAcceptor {
    type Stream = TcpStream;
    type Service = AddExtension<S, LocalAddr>;
    type Future = Ready<io::Result<(Self::Stream, Self::Service)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let (peer, local) = match (stream.peer_addr(), stream.local_addr()) {
            (Ok(p), Ok(l)) => (p, l),
            // The peer left already.
            (Err(e), _) | (_, Err(e)) => return ready(Err(e)),
        };
        let verdict = self.core.firewall_verdict(peer.ip(), Some(local.ip()));
        if let Some(m) = &self.metrics {
            m.connection(self.listener, verdict);
        }
        match verdict {
            Verdict::Accept => ready(Ok((stream, Extension(LocalAddr(local)).layer(service)))),
            Verdict::Ignore | Verdict::Reject => {
                if verdict == Verdict::Reject {
                    // Dropping the stream now sends a reset instead of a FIN.
                    let _ = stream.set_zero_linger();
                }
                tracing::debug!(peer = %peer, listener = self.listener, ?verdict, "connection refused by the inbound firewall");
                ready(Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "refused by the inbound firewall",
                )))
            }
        }
    }
}
