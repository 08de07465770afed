//! Appliance services (`com.vmware.appliance.services`): ferrocenter's own components — the
//! API listeners, the task engine, the heartbeat loop, the statistics collector — listed with
//! their state and started, stopped or restarted in-process.
//!
//! The registry holds each component behind the `ports::Component` trait; the task engine and
//! the heartbeat loop are the core's own (`components.rs`) and registered when the core is
//! made, the listeners are the server's and registered by it. The rules live here: reading
//! needs `System.Read`, control `Appliance.Administer`; one start, stop or restart of a
//! component at a time (a second waits its turn); while one runs the component is reported
//! STARTING or STOPPING; and a call may not stop or restart the listener it came through —
//! the answer would be cut off and the caller locked out.
mod components;

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;

use crate::auth::{Caller, Listener, Privilege};
use crate::ports::{Component, ComponentState};
use crate::{Core, CoreError};
use components::{HeartbeatLoop, TaskEngineService};

pub use components::{HEARTBEAT, TASK_ENGINE};

/// One service as `services.get` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    pub name: String,
    pub description: String,
    pub state: ComponentState,
}

struct Entry {
    component: Arc<dyn Component>,
    /// STARTING or STOPPING while a start or stop runs.
    transition: Mutex<Option<ComponentState>>,
    /// Serialises the starts and stops of this component.
    control: tokio::sync::Mutex<()>,
}

impl Entry {
    fn info(&self) -> ServiceInfo {
        ServiceInfo {
            name: self.component.name().to_string(),
            description: self.component.description().to_string(),
            state: self
                .transition
                .lock()
                .unwrap_or_else(|| self.component.state()),
        }
    }
}

/// The registry of components.
pub struct Services {
    entries: RwLock<Vec<Arc<Entry>>>,
    heartbeat: Arc<HeartbeatLoop>,
}

impl Services {
    pub(crate) fn new(core: std::sync::Weak<Core>, tasks: crate::tasks::TaskEngine) -> Self {
        let heartbeat = Arc::new(HeartbeatLoop::new(core));
        let s = Services {
            entries: RwLock::new(Vec::new()),
            heartbeat: heartbeat.clone(),
        };
        s.register(Arc::new(TaskEngineService::new(tasks)));
        s.register(heartbeat);
        s
    }

    /// Adds a component, or replaces the one of the same name.
    /// Every service as listed (without the caller's authorization: for the core's own use).
    pub(crate) fn infos(&self) -> Vec<ServiceInfo> {
        self.entries.read().iter().map(|e| e.info()).collect()
    }

    pub fn register(&self, component: Arc<dyn Component>) {
        let entry = Arc::new(Entry {
            component,
            transition: Mutex::new(None),
            control: tokio::sync::Mutex::new(()),
        });
        let mut entries = self.entries.write();
        entries.retain(|e| e.component.name() != entry.component.name());
        entries.push(entry);
        entries.sort_by(|a, b| a.component.name().cmp(b.component.name()));
    }

    fn find(&self, name: &str) -> Result<Arc<Entry>, CoreError> {
        self.entries
            .read()
            .iter()
            .find(|e| e.component.name() == name)
            .cloned()
            .ok_or_else(|| CoreError::not_found("service", name))
    }

    /// Starts a registered component by name (a setup starting the main listener); nothing if
    /// none has that name (a core without listeners).
    pub(crate) async fn start_by_name(&self, name: &str) -> Result<(), CoreError> {
        match self.find(name) {
            Ok(entry) => run(&entry, Control::Start).await,
            Err(_) => Ok(()),
        }
    }

    /// Stops a registered component by name; nothing if none has that name.
    pub(crate) async fn stop_by_name(&self, name: &str) -> Result<(), CoreError> {
        match self.find(name) {
            Ok(entry) => run(&entry, Control::Stop).await,
            Err(_) => Ok(()),
        }
    }

    /// Starts the heartbeat loop under `stop`: cancelling it ends the loop for good (server
    /// shutdown), as does a stop of the service until it is started again.
    pub(crate) fn start_heartbeats(&self, stop: CancellationToken) {
        self.heartbeat.launch_under(stop);
    }
}

/// What a control call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Start,
    Stop,
    Restart,
}

impl Control {
    fn verb(self) -> &'static str {
        match self {
            Control::Start => "started",
            Control::Stop => "stopped",
            Control::Restart => "restarted",
        }
    }
}

async fn run(entry: &Entry, control: Control) -> Result<(), CoreError> {
    let _turn = entry.control.lock().await;
    let c = &entry.component;
    let step = |state: ComponentState| *entry.transition.lock() = Some(state);
    let failed = |e: crate::ports::ComponentError| {
        CoreError::internal(format!(
            "the service '{}' could not be {}: {e}",
            c.name(),
            control.verb()
        ))
    };
    let result = async {
        if matches!(control, Control::Stop | Control::Restart) {
            step(ComponentState::Stopping);
            c.stop().await.map_err(failed)?;
        }
        if matches!(control, Control::Start | Control::Restart) {
            step(ComponentState::Starting);
            c.start().await.map_err(failed)?;
        }
        Ok(())
    }
    .await;
    *entry.transition.lock() = None;
    if result.is_ok() {
        tracing::info!(service = c.name(), "appliance service {}", control.verb());
    }
    result
}

impl Core {
    /// Every service, by name.
    pub async fn services_list(&self, caller: &Caller) -> Result<Vec<ServiceInfo>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(self
            .services
            .entries
            .read()
            .iter()
            .map(|e| e.info())
            .collect())
    }

    /// One service; an unknown name is not found, named.
    pub async fn service_get(&self, caller: &Caller, name: &str) -> Result<ServiceInfo, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(self.services.find(name)?.info())
    }

    /// Starts a service; one already started is left as it is.
    pub async fn service_start(&self, caller: &Caller, name: &str) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        run(&*self.services.find(name)?, Control::Start).await
    }

    /// Stops a service; one already stopped is left as it is. `via` is the listener the call
    /// came through, which may not be stopped by it.
    pub async fn service_stop(
        &self,
        caller: &Caller,
        name: &str,
        via: Listener,
    ) -> Result<(), CoreError> {
        self.control(caller, name, via, Control::Stop).await
    }

    /// Stops (if started) and starts a service.
    pub async fn service_restart(
        &self,
        caller: &Caller,
        name: &str,
        via: Listener,
    ) -> Result<(), CoreError> {
        self.control(caller, name, via, Control::Restart).await
    }

    async fn control(
        &self,
        caller: &Caller,
        name: &str,
        via: Listener,
        control: Control,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let entry = self.services.find(name)?;
        if entry.component.listener() == Some(via) {
            let what = if control == Control::Stop {
                "stopped"
            } else {
                "restarted"
            };
            return Err(CoreError::invalid_state(format!(
                "the service '{name}' cannot be {what} by a call that came through it: the \
                 answer would be cut off and the caller locked out; use the other listener"
            )));
        }
        run(&entry, control).await
    }
}
