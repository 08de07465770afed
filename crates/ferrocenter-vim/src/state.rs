//! What every vim handler of one listener shares.
use std::net::IpAddr;
use std::sync::Arc;

use ferrocenter_core::auth::{Listener, Origin, SessionKind};
use ferrocenter_core::Core;

use crate::session_objects::CollectorState;

#[derive(Clone)]
pub struct VimState {
    pub core: Arc<Core>,
    pub listener: Listener,
    pub max_body_bytes: usize,
    /// Property collectors, filters and views (shared by every listener).
    pub vim: Arc<CollectorState>,
    /// This service's URL as the Lookup Service registers it (`https://<external
    /// address>/sdk`): the audience a token must name to log in here, when it names any.
    pub service_url: Arc<str>,
}

impl VimState {
    /// A request to this listener from `peer`: vim shares vSphere sessions with vAPI.
    pub fn origin(&self, peer: Option<IpAddr>) -> Origin {
        Origin::new(self.listener, SessionKind::Vsphere, peer)
    }
}
