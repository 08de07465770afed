//! A part of the running server that can be started and stopped in-process (the API
//! listeners, the task engine, the heartbeat loop, the statistics collector): what
//! `com.vmware.appliance.services` lists and controls. Each part implements this where it
//! lives; `appliance::services` holds the registry and the rules (who may, which transitions).
use async_trait::async_trait;

use crate::auth::Listener;

/// A component's state, as `com.vmware.appliance.services.state` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComponentState {
    Starting,
    Stopping,
    Started,
    Stopped,
}

impl ComponentState {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentState::Starting => "STARTING",
            ComponentState::Stopping => "STOPPING",
            ComponentState::Started => "STARTED",
            ComponentState::Stopped => "STOPPED",
        }
    }
}

/// Why a component could not be started or stopped (a port already taken by another
/// process, for example); the text says what happened.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ComponentError(pub String);

#[async_trait]
pub trait Component: Send + Sync + 'static {
    /// The service id (`task-engine`): stable, what clients name it by.
    fn name(&self) -> &str;
    fn description(&self) -> &str;
    /// Whether it runs now. Transitions (STARTING, STOPPING) are reported by the registry while
    /// a start or stop is under way, so a component answers STARTED or STOPPED.
    fn state(&self) -> ComponentState;
    /// Starts it; returns once it runs. Starting a started component does nothing.
    async fn start(&self) -> Result<(), ComponentError>;
    /// Stops it; returns once it has stopped. Stopping a stopped component does nothing.
    async fn stop(&self) -> Result<(), ComponentError>;
    /// The listener it is, if it is one: a call may not stop the listener it came through.
    fn listener(&self) -> Option<Listener> {
        None
    }
}
