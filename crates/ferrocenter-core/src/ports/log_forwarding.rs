//! Where the server's own log records go besides its log files: the remote syslog receivers of
//! `appliance.logging.forwarding`. The adapter owns the delivery (queues, connections,
//! retries); the core owns which receivers there are.
use async_trait::async_trait;

use crate::appliance::log_forwarding::{ConnectionState, ForwardTarget};

/// Delivery figures of one receiver since it was configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardCounters {
    pub target: ForwardTarget,
    /// Messages the receiver took (written to its connection; for RELP, acknowledged).
    pub sent: u64,
    /// Messages lost because the queue was full (the receiver down or too slow).
    pub dropped: u64,
    /// Messages waiting in the queue now.
    pub queued: u64,
    /// Bytes waiting in the queue now.
    pub queued_bytes: u64,
}

#[async_trait]
pub trait LogForwarder: Send + Sync {
    /// Forward every record from now on to exactly these receivers (none: forwarding off).
    /// Never waits for a receiver.
    fn apply(&self, targets: &[ForwardTarget]);

    /// Opens a fresh connection to each receiver and reports its state, in order; when `send`,
    /// a test message goes to each (over UDP too, where the state cannot be known).
    async fn test(&self, targets: &[ForwardTarget], send: bool) -> Vec<ConnectionState>;

    /// The figures of the receivers applied last.
    fn counters(&self) -> Vec<ForwardCounters>;
}

/// No forwarding: a core without the server's log pipeline (library tests). Applying records
/// nothing; a test reports every receiver down, saying why.
pub struct NoLogForwarder;

#[async_trait]
impl LogForwarder for NoLogForwarder {
    fn apply(&self, _targets: &[ForwardTarget]) {}

    async fn test(&self, targets: &[ForwardTarget], _send: bool) -> Vec<ConnectionState> {
        targets
            .iter()
            .map(|_| ConnectionState::Down("this server has no log forwarding".into()))
            .collect()
    }

    fn counters(&self) -> Vec<ForwardCounters> {
        Vec::new()
    }
}
