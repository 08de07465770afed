//! The core of ferrocenter: every rule of the control plane lives here, once.
//!
//! Bindings (vAPI, VI/JSON, ZStack) translate wire requests into calls on [`Core`] and render
//! its answers; persistence and the outside world are reached only through the [`ports`].

pub mod auth;
pub mod diagnostics;
pub mod error;
pub mod model;
pub mod ports;
pub mod tasks;
mod time_util;

pub use error::CoreError;
pub use time_util::{from_millis, to_millis};

use std::sync::Arc;

use auth::{AuthConfig, AuthService};
use ports::{Clock, Store};
use tasks::{TaskEngine, TaskEngineConfig};

/// Everything a binding needs, wired once at start.
pub struct Core {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub auth: AuthService,
    pub tasks: TaskEngine,
}

/// Tunables of the core, filled from the server configuration.
#[derive(Debug, Clone, Default)]
pub struct CoreConfig {
    pub auth: AuthConfig,
    pub tasks: TaskEngineConfig,
}

impl Core {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: CoreConfig) -> Arc<Core> {
        Arc::new(Core {
            auth: AuthService::new(store.clone(), clock.clone(), config.auth),
            tasks: TaskEngine::new(store.clone(), clock.clone(), config.tasks),
            store,
            clock,
        })
    }
}
