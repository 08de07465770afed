//! Protocol bindings and the listeners that serve them.
//!
//! Bindings parse, authenticate, call one core operation and render the answer in their own
//! shapes; each owns one table mapping core errors to its faults. No rule of the control plane
//! lives here.

mod http_util;
pub mod listeners;
mod routes;
pub mod vapi;
pub mod vim;
mod zstack;

use std::sync::Arc;

use ferrocenter_core::auth::Listener;
use ferrocenter_core::Core;

pub use listeners::{start, BoundAddrs, ListenerOptions, Listeners, ServeError};

/// Shared by every handler of one listener.
#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    pub listener: Listener,
    pub max_body_bytes: usize,
    pub diagnostics: bool,
    /// VI/JSON property collectors, filters and views (shared by every listener).
    pub vim: Arc<vim::CollectorState>,
    /// ZStack jobs that finished without a task (shared by every listener).
    pub zstack: Arc<zstack::ZsState>,
    /// Whether this listener speaks TLS (ZStack job locations name the scheme).
    pub tls: bool,
}
