//! What every ZStack handler of one listener shares.
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ferrocenter_core::auth::{Listener, Origin, SessionKind};
use ferrocenter_core::Core;

use crate::job_store::JobStore;

#[derive(Clone)]
pub struct ZstackState {
    pub core: Arc<Core>,
    pub listener: Listener,
    /// Jobs that finished without a task (shared by every listener).
    pub jobs: Arc<JobStore>,
    /// ZStack's `identity.session.timeout`.
    pub session_lifetime: Duration,
    /// Whether AddKVMHost pins the agent's certificate on first contact.
    pub trust_agent_on_first_use: bool,
    /// Whether this listener speaks TLS (job locations name the scheme).
    pub tls: bool,
}

impl ZstackState {
    /// A request to this listener from `peer`: ZStack sessions are a kind of their own.
    pub fn origin(&self, peer: Option<IpAddr>) -> Origin {
        Origin::new(self.listener, SessionKind::Zstack, peer)
    }
}
