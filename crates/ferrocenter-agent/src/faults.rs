//! Faults a simulated fleet injects per agent. The TLS gate sits in front of the TLS handshake,
//! so a host can stop answering or refuse TLS as a real one would.
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
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
    /// When non-zero, `about` reports this value minus one as its API version (an older agent).
    pub api_version: AtomicU32,
}

impl Faults {
    pub fn clear(&self) {
        self.stop_answering.store(false, Ordering::SeqCst);
        self.refuse_tls.store(false, Ordering::SeqCst);
        self.slow_ms.store(0, Ordering::SeqCst);
        self.api_version.store(0, Ordering::SeqCst);
    }
}

/// Refuses a new connection when the host is unreachable or refuses TLS; otherwise wraps it so
/// that the faults also reach it later (a host that stops answering or reboots does not keep
/// serving its old connections).
pub fn gate(faults: &Arc<Faults>, stream: TcpStream) -> io::Result<FaultyStream> {
    if faults.unreachable.load(Ordering::SeqCst) || faults.refuse_tls.load(Ordering::SeqCst) {
        return Err(io::Error::new(io::ErrorKind::ConnectionRefused, "fault"));
    }
    let _ = stream.set_nodelay(true);
    Ok(FaultyStream {
        inner: stream,
        faults: faults.clone(),
    })
}

pub struct FaultyStream {
    inner: TcpStream,
    faults: Arc<Faults>,
}

impl FaultyStream {
    /// `Some` when the connection must not move: an error to end it, or `Pending` to hang.
    fn blocked(&self, cx: &mut Context<'_>) -> Option<Poll<io::Result<()>>> {
        if self.faults.unreachable.load(Ordering::SeqCst) {
            return Some(Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "host unreachable",
            ))));
        }
        if self.faults.stop_answering.load(Ordering::SeqCst) {
            // Say nothing; look again a little later.
            let waker = cx.waker().clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                waker.wake();
            });
            return Some(Poll::Pending);
        }
        None
    }
}

impl AsyncRead for FaultyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(p) = self.blocked(cx) {
            return p;
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(p) = self.blocked(cx) {
            return p.map(|r| r.map(|_| 0));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
