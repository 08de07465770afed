//! Syslog forwarding's adapter: the [`LogForwarder`] port over a tracing layer. The layer sees
//! every event the server writes to its JSON log, formats it once as an RFC 5424 message and
//! offers it to each receiver's bounded queue without waiting: a full queue drops the message
//! and counts it. One worker task per receiver drains its queue over one connection, and
//! reconnects with a doubling backoff when the receiver goes away.
mod format;
mod relp;
mod transport;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_core::appliance::log_forwarding::{ConnectionState, ForwardTarget, Protocol};
use ferrocenter_core::ports::{ForwardCounters, LogForwarder};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

pub use format::{FACILITY, MESSAGE_MAX_BYTES, SD_ID};

/// Messages each receiver's queue holds before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 10_000;
/// The first wait before reconnecting, doubled after each failure up to [`BACKOFF_MAX`].
pub const BACKOFF_MIN: Duration = Duration::from_millis(250);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long a woken sender lets further messages gather before it writes: the delay a record
/// may see on its way out.
pub const LINGER: Duration = Duration::from_millis(20);
/// The most messages one write carries.
pub const BATCH_MAX_MESSAGES: usize = 256;

/// Field names whose values never leave the process, whatever logged them.
const SECRET_WORDS: [&str; 5] = ["password", "secret", "token", "session", "cookie"];

type Message = Arc<[u8]>;

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    dropped: AtomicU64,
    queued: AtomicU64,
    queued_bytes: AtomicU64,
}

/// One receiver: its queue and the worker draining it.
struct Receiver {
    target: ForwardTarget,
    queue: mpsc::Sender<Message>,
    counters: Arc<Counters>,
    worker: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.worker.abort();
    }
}

impl Receiver {
    fn offer(&self, message: &Message) {
        // Counted before the send, so the worker's decrement never comes first.
        let len = message.len() as u64;
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        self.counters.queued_bytes.fetch_add(len, Ordering::Relaxed);
        if self.queue.try_send(message.clone()).is_err() {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
            self.counters.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

struct Shared {
    origin: format::Origin,
    receivers: RwLock<Arc<Vec<Arc<Receiver>>>>,
    /// None: no TLS client could be built (TLS receivers are reported down).
    tls: RwLock<Option<Arc<rustls::ClientConfig>>>,
    capacity: usize,
}

/// The forwarder: one per process, shared by the tracing layer and the core's port.
#[derive(Clone)]
pub struct SyslogForwarder {
    shared: Arc<Shared>,
}

/// Builds the TLS client configuration: the public web roots and the given certificates.
pub fn tls_config(extra_roots_der: &[Vec<u8>]) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for der in extra_roots_der {
        roots
            .add(rustls::pki_types::CertificateDer::from(der.clone()))
            .map_err(|e| format!("a trusted certificate is unusable: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(s) if rc == 0 && !s.is_empty() => s.to_string(),
        _ => "-".into(),
    }
}

impl Default for SyslogForwarder {
    fn default() -> Self {
        SyslogForwarder::new(QUEUE_CAPACITY)
    }
}

impl SyslogForwarder {
    /// A forwarder with no receiver, trusting the public web roots for TLS.
    pub fn new(capacity: usize) -> SyslogForwarder {
        let tls = tls_config(&[]).ok();
        SyslogForwarder {
            shared: Arc::new(Shared {
                origin: format::Origin {
                    hostname: host_name(),
                    procid: std::process::id().to_string(),
                },
                receivers: RwLock::new(Arc::new(Vec::new())),
                tls: RwLock::new(tls),
                capacity: capacity.max(1),
            }),
        }
    }

    /// Trusts these certificates (DER) besides the public web roots for TLS receivers; applies
    /// to connections made from now on.
    pub fn trust(&self, extra_roots_der: &[Vec<u8>]) -> Result<(), String> {
        let config = tls_config(extra_roots_der)?;
        if let Ok(mut tls) = self.shared.tls.write() {
            *tls = Some(config);
        }
        Ok(())
    }

    /// The layer that feeds this forwarder from the process's tracing events.
    pub fn layer(&self) -> SyslogLayer {
        SyslogLayer {
            shared: self.shared.clone(),
        }
    }

    fn receivers(&self) -> Arc<Vec<Arc<Receiver>>> {
        self.shared
            .receivers
            .read()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    fn tls(&self) -> Option<Arc<rustls::ClientConfig>> {
        tls_of(&self.shared)
    }

    fn test_message(&self) -> Message {
        let r = format::Record {
            time: time::OffsetDateTime::now_utc(),
            severity: format::severity(&tracing::Level::INFO),
            target: module_path!(),
            msgid: "test",
            message: "ferrocenter syslog forwarding test message",
            fields: &[],
        };
        format::rfc5424(&self.shared.origin, &r).into()
    }
}

fn tls_of(shared: &Shared) -> Option<Arc<rustls::ClientConfig>> {
    match shared.tls.read() {
        Ok(t) => t.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

/// Drains one receiver's queue for as long as the receiver is configured. Woken by a message,
/// the worker waits [`LINGER`] for more to gather and sends them together: its wake-ups and
/// writes stay near 1/`LINGER` a second whatever the rate of records, where one wake-up and one
/// write per record cost more than formatting them.
async fn work(
    target: ForwardTarget,
    mut queue: mpsc::Receiver<Message>,
    counters: Arc<Counters>,
    shared: std::sync::Weak<Shared>,
) {
    let mut connection: Option<transport::Connection> = None;
    let mut backoff = BACKOFF_MIN;
    let mut reported_down = false;
    let mut batch: Vec<Message> = Vec::with_capacity(BATCH_MAX_MESSAGES);
    loop {
        if queue.recv_many(&mut batch, BATCH_MAX_MESSAGES).await == 0 {
            break;
        }
        if batch.len() < BATCH_MAX_MESSAGES {
            tokio::time::sleep(LINGER).await;
            while batch.len() < BATCH_MAX_MESSAGES {
                match queue.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(_) => break,
                }
            }
        }
        let bytes: usize = batch.iter().map(|m| m.len()).sum();
        counters
            .queued
            .fetch_sub(batch.len() as u64, Ordering::Relaxed);
        counters
            .queued_bytes
            .fetch_sub(bytes as u64, Ordering::Relaxed);
        // Until the batch is taken: reconnect, with backoff, as often as it takes.
        loop {
            if connection
                .as_ref()
                .is_some_and(transport::Connection::peer_closed)
            {
                connection = None;
            }
            let c = match connection.as_mut() {
                Some(c) => c,
                None => {
                    let Some(tls) = shared.upgrade().map(|s| tls_of(&s)) else {
                        return;
                    };
                    match transport::connect(&target, tls.as_ref()).await {
                        Ok(c) => {
                            if reported_down {
                                tracing::info!(receiver = %target.address(), "syslog receiver reachable again");
                                reported_down = false;
                            }
                            backoff = BACKOFF_MIN;
                            connection.insert(c)
                        }
                        Err(reason) => {
                            if !reported_down {
                                tracing::warn!("syslog receiver unreachable, retrying: {reason}");
                                reported_down = true;
                            }
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(BACKOFF_MAX);
                            continue;
                        }
                    }
                }
            };
            match c.send_all(&batch).await {
                Ok(()) => {
                    counters
                        .sent
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    break;
                }
                Err(_) => {
                    connection = None;
                }
            }
        }
        batch.clear();
    }
    if let Some(c) = connection {
        c.close().await;
    }
}

#[async_trait]
impl LogForwarder for SyslogForwarder {
    fn apply(&self, targets: &[ForwardTarget]) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!("syslog forwarding needs a runtime to run its senders");
            return;
        };
        let old = self.receivers();
        let mut next = Vec::with_capacity(targets.len());
        for t in targets {
            // An unchanged receiver keeps its queue, connection and counts.
            if let Some(r) = old.iter().find(|r| &r.target == t) {
                next.push(r.clone());
                continue;
            }
            let (queue, rx) = mpsc::channel(self.shared.capacity);
            let counters = Arc::new(Counters::default());
            let worker = runtime.spawn(work(
                t.clone(),
                rx,
                counters.clone(),
                Arc::downgrade(&self.shared),
            ));
            next.push(Arc::new(Receiver {
                target: t.clone(),
                queue,
                counters,
                worker,
            }));
        }
        if let Ok(mut r) = self.shared.receivers.write() {
            *r = Arc::new(next);
        }
    }

    async fn test(&self, targets: &[ForwardTarget], send: bool) -> Vec<ConnectionState> {
        let tls = self.tls();
        let message = self.test_message();
        let tests = targets.iter().map(|t| {
            let tls = tls.clone();
            let message = message.clone();
            async move {
                let mut c = match transport::connect(t, tls.as_ref()).await {
                    Ok(c) => c,
                    Err(reason) => return ConnectionState::Down(reason),
                };
                let mut state = if t.protocol == Protocol::Udp {
                    ConnectionState::Unknown
                } else {
                    ConnectionState::Up
                };
                if send {
                    if let Err(e) = c.send(&message).await {
                        state = ConnectionState::Down(transport::reason(
                            t,
                            "sending a test message to",
                            e,
                        ));
                    }
                }
                c.close().await;
                state
            }
        });
        futures_util::future::join_all(tests).await
    }

    fn counters(&self) -> Vec<ForwardCounters> {
        self.receivers()
            .iter()
            .map(|r| ForwardCounters {
                target: r.target.clone(),
                sent: r.counters.sent.load(Ordering::Relaxed),
                dropped: r.counters.dropped.load(Ordering::Relaxed),
                queued: r.counters.queued.load(Ordering::Relaxed),
                queued_bytes: r.counters.queued_bytes.load(Ordering::Relaxed),
            })
            .collect()
    }
}

/// The tracing layer: formats each event once and offers it to every receiver.
pub struct SyslogLayer {
    shared: Arc<Shared>,
}

/// Collects an event's message and fields, secrets left out.
#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(String, String)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: String) {
        let name = field.name();
        if name == "message" {
            self.message = value;
            return;
        }
        let lower = name.to_ascii_lowercase();
        let value = if SECRET_WORDS.iter().any(|w| lower.contains(w)) {
            "(redacted)".to_string()
        } else {
            value
        };
        self.fields.push((name.to_string(), value));
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.push(field, format!("{value:?}"));
    }
}

impl<S: Subscriber> Layer<S> for SyslogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let receivers = match self.shared.receivers.read() {
            Ok(r) if !r.is_empty() => r.clone(),
            _ => return,
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let record = format::Record {
            time: time::OffsetDateTime::now_utc(),
            severity: format::severity(meta.level()),
            target: meta.target(),
            msgid: format::msgid_of(meta.target()),
            message: &fields.message,
            fields: &fields.fields,
        };
        let message: Message = format::rfc5424(&self.shared.origin, &record).into();
        for r in receivers.iter() {
            r.offer(&message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// Splits octet-counted frames (`LEN SP MSG`).
    fn frames(mut buf: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(sp) = buf.iter().position(|b| *b == b' ') {
            let len: usize = std::str::from_utf8(&buf[..sp]).unwrap().parse().unwrap();
            out.push(String::from_utf8(buf[sp + 1..sp + 1 + len].to_vec()).unwrap());
            buf = &buf[sp + 1 + len..];
        }
        assert!(buf.is_empty(), "a frame was cut");
        out
    }

    #[tokio::test]
    async fn a_burst_larger_than_a_batch_arrives_whole_and_in_order() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let forwarder = SyslogForwarder::new(1_000);
        forwarder.apply(&[ForwardTarget {
            hostname: "127.0.0.1".into(),
            port,
            protocol: Protocol::Tcp,
        }]);
        let n = BATCH_MAX_MESSAGES * 2 + 7;
        let receivers = forwarder.receivers();
        for i in 0..n {
            let m: Message = format!("message {i}").into_bytes().into();
            receivers[0].offer(&m);
        }
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while frames_complete(&buf) < n {
            let read = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut chunk))
                .await
                .expect("the messages arrive")
                .unwrap();
            assert!(read > 0, "the sender closed early");
            buf.extend_from_slice(&chunk[..read]);
        }
        let got = frames(&buf);
        let want: Vec<String> = (0..n).map(|i| format!("message {i}")).collect();
        assert_eq!(got, want);
        // The sender counts a batch once its write returned, which may come after the read.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while forwarder.counters()[0].sent < n as u64 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let c = &forwarder.counters()[0];
        assert_eq!(
            (c.sent, c.dropped, c.queued, c.queued_bytes),
            (n as u64, 0, 0, 0)
        );
    }

    /// How many whole frames `buf` holds.
    fn frames_complete(mut buf: &[u8]) -> usize {
        let mut n = 0;
        while let Some(sp) = buf.iter().position(|b| *b == b' ') {
            let len: usize = std::str::from_utf8(&buf[..sp]).unwrap().parse().unwrap();
            if buf.len() < sp + 1 + len {
                break;
            }
            buf = &buf[sp + 1 + len..];
            n += 1;
        }
        n
    }
}
