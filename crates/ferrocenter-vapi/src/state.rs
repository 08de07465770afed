//! What every vAPI handler of one listener shares.
use std::sync::Arc;

use std::net::IpAddr;

use ferrocenter_core::auth::{Listener, Origin, SessionKind};
use ferrocenter_core::Core;

#[derive(Clone)]
pub struct VapiState {
    pub core: Arc<Core>,
    pub listener: Listener,
    pub max_body_bytes: usize,
}

impl VapiState {
    /// A request to this listener from `peer`: vAPI sessions are of the vSphere kind.
    pub fn origin(&self, peer: Option<IpAddr>) -> Origin {
        Origin::new(self.listener, SessionKind::Vsphere, peer)
    }
}
