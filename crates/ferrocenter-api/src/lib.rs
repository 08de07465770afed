//! The listeners: each composes the protocol bindings' routers (vAPI, VI/JSON, ZStack — one
//! crate each) and serves them over TLS.
//!
//! Bindings parse, authenticate, call one core operation and render the answer in their own
//! shapes; each owns one table mapping core errors to its faults. No rule of the control plane
//! lives here.

mod accept_hook;
mod bind;
mod downloads;
mod listener_service;
pub mod listeners;
mod login_budget;
mod metrics;
mod operator;
mod routes;

pub use bind::ServeError;
pub use ferrocenter_http::login_limit::LoginRate;
pub use ferrocenter_vapi as vapi;
pub use ferrocenter_vim as vim;
pub use ferrocenter_zstack::HookDestinations;
pub use listeners::{start, BoundAddrs, ListenerOptions, Listeners, TlsReload};
