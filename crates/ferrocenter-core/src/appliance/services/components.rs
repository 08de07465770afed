//! The core's own components: the task engine and the heartbeat loop.
use std::sync::Weak;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::ports::{Component, ComponentError, ComponentState};
use crate::tasks::TaskEngine;
use crate::Core;

/// The service id of the task engine.
pub const TASK_ENGINE: &str = "task-engine";
/// The service id of the heartbeat loop.
pub const HEARTBEAT: &str = "heartbeat";

/// Stopped, the engine takes no new task (callers are told it is stopped) while the ones
/// running go on: STOPPING until they have ended. A migration half done is better finished
/// than abandoned.
pub(super) struct TaskEngineService {
    tasks: TaskEngine,
}

impl TaskEngineService {
    pub(super) fn new(tasks: TaskEngine) -> Self {
        TaskEngineService { tasks }
    }
}

#[async_trait]
impl Component for TaskEngineService {
    fn name(&self) -> &str {
        TASK_ENGINE
    }

    fn description(&self) -> &str {
        "The task engine: runs and records every task (host adds, migrations, power \
         operations)."
    }

    fn state(&self) -> ComponentState {
        if self.tasks.is_accepting() {
            ComponentState::Started
        } else if self.tasks.running_count() > 0 {
            ComponentState::Stopping
        } else {
            ComponentState::Stopped
        }
    }

    async fn start(&self) -> Result<(), ComponentError> {
        if self.tasks.resume() {
            Ok(())
        } else {
            Err(ComponentError("the server is shutting down".into()))
        }
    }

    async fn stop(&self) -> Result<(), ComponentError> {
        self.tasks.pause();
        Ok(())
    }
}

/// The heartbeat loop, running as a task of its own while started.
pub(crate) struct HeartbeatLoop {
    core: Weak<Core>,
    /// The server's token: once cancelled (shutdown), the loop is not started again.
    parent: Mutex<Option<CancellationToken>>,
    running: Mutex<Option<(CancellationToken, JoinHandle<()>)>>,
}

impl HeartbeatLoop {
    pub(crate) fn new(core: Weak<Core>) -> Self {
        HeartbeatLoop {
            core,
            parent: Mutex::new(None),
            running: Mutex::new(None),
        }
    }

    /// Starts the loop under the server's token.
    pub(crate) fn launch_under(&self, parent: CancellationToken) {
        *self.parent.lock() = Some(parent);
        // Started from the server, which holds the core: it is alive.
        let _ = self.launch();
    }

    fn launch(&self) -> Result<(), ComponentError> {
        let mut running = self.running.lock();
        if running.as_ref().is_some_and(|(_, j)| !j.is_finished()) {
            return Ok(());
        }
        let Some(parent) = self.parent.lock().clone() else {
            return Err(ComponentError(
                "the server has not started heartbeats (a core without its server)".into(),
            ));
        };
        if parent.is_cancelled() {
            return Err(ComponentError("the server is shutting down".into()));
        }
        let core = self
            .core
            .upgrade()
            .ok_or_else(|| ComponentError("the server is shutting down".into()))?;
        let stop = parent.child_token();
        let join = core.spawn_heartbeat_loop(stop.clone());
        *running = Some((stop, join));
        Ok(())
    }
}

#[async_trait]
impl Component for HeartbeatLoop {
    fn name(&self) -> &str {
        HEARTBEAT
    }

    fn description(&self) -> &str {
        "The heartbeat loop: checks every connected host each heartbeat interval and \
         reconnects hosts that answer again."
    }

    fn state(&self) -> ComponentState {
        match &*self.running.lock() {
            Some((_, j)) if !j.is_finished() => ComponentState::Started,
            _ => ComponentState::Stopped,
        }
    }

    async fn start(&self) -> Result<(), ComponentError> {
        self.launch()
    }

    /// Returns once the loop has ended: a round under way is finished first.
    async fn stop(&self) -> Result<(), ComponentError> {
        let Some((stop, join)) = self.running.lock().take() else {
            return Ok(());
        };
        stop.cancel();
        let _ = join.await;
        Ok(())
    }
}
