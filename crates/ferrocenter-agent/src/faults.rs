//! Faults a simulated fleet injects per agent. The TLS gate sits in front of the TLS handshake,
//! so a host can stop answering or refuse TLS as a real one would.
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::net::TcpStream;

#[derive(Debug, Default)]
pub struct Faults {
    /// Accept connections and never answer.
    pub stop_answering: AtomicBool,
    /// Close connections before the TLS handshake.
    pub refuse_tls: AtomicBool,
    /// Delay every request by this many milliseconds.
    pub slow_ms: AtomicU64,
    /// Set while the host reboots or is powered off: connections are dropped.
    pub unreachable: AtomicBool,
}

impl Faults {
    pub fn clear(&self) {
        self.stop_answering.store(false, Ordering::SeqCst);
        self.refuse_tls.store(false, Ordering::SeqCst);
        self.slow_ms.store(0, Ordering::SeqCst);
    }
}

/// An acceptor that applies the connection-level faults before handing the stream on.
#[derive(Clone)]
pub struct FaultGate {
    pub faults: Arc<Faults>,
}

impl<S: Send + 'static> Accept<TcpStream, S> for FaultGate {
    type Stream = TcpStream;
    type Service = S;
    type Future = Pin<Box<dyn Future<Output = io::Result<(TcpStream, S)>> + Send>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let faults = self.faults.clone();
        Box::pin(async move {
            if faults.unreachable.load(Ordering::SeqCst) || faults.refuse_tls.load(Ordering::SeqCst)
            {
                return Err(io::Error::new(io::ErrorKind::ConnectionRefused, "fault"));
            }
            if faults.stop_answering.load(Ordering::SeqCst) {
                // Hold the connection open, saying nothing, until the fault is cleared.
                while faults.stop_answering.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                return Err(io::Error::new(io::ErrorKind::TimedOut, "fault cleared"));
            }
            let _ = stream.set_nodelay(true);
            Ok((stream, service))
        })
    }
}
