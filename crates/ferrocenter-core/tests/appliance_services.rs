//! Appliance services and shutdown through the core's operations: the registry's state machine
//! (STARTING/STOPPING while a start or stop runs, one at a time, the listener a call came
//! through not stopped by it), the core's own components (the task engine stops taking tasks,
//! the heartbeat loop really ends), authorization, and the pending reboot or power-off (its
//! delay on tokio's clock, cancel, replace, the machine only when the lifecycle says so).
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_core::appliance::services::{HEARTBEAT, TASK_ENGINE};
use ferrocenter_core::appliance::shutdown::{ShutdownAction, DELAY_MAX_MINUTES};
use ferrocenter_core::auth::{Caller, Listener, Role};
use ferrocenter_core::ports::{
    Clock, Component, ComponentError, ComponentState, Lifecycle, MachineAction, MachineError,
    ManualClock, NoMachine, ProcessAction,
};
use ferrocenter_core::tasks::{TaskKind, TaskResult, TaskSpec};
use ferrocenter_core::{Core, CoreError, Machine};
use parking_lot::Mutex;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// Records what it was asked to do.
#[derive(Default)]
struct Recorder {
    machine_allowed: bool,
    process: Mutex<Vec<ProcessAction>>,
    machine: Mutex<Vec<MachineAction>>,
}

#[async_trait]
impl Lifecycle for Recorder {
    fn acts_on_machine(&self) -> bool {
        self.machine_allowed
    }
    async fn process(&self, action: ProcessAction) -> Result<(), MachineError> {
        self.process.lock().push(action);
        Ok(())
    }
    async fn machine(&self, action: MachineAction) -> Result<(), MachineError> {
        self.machine.lock().push(action);
        Ok(())
    }
}

struct Env {
    core: Arc<Core>,
    clock: Arc<ManualClock>,
    lifecycle: Arc<Recorder>,
    admin: Caller,
    operator: Caller,
    _dir: tempfile::TempDir,
}

async fn env_with(machine_allowed: bool) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    ));
    let lifecycle = Arc::new(Recorder {
        machine_allowed,
        ..Recorder::default()
    });
    let core = common::appliance_core(
        dir.path(),
        clock.clone(),
        Machine {
            probe: Arc::new(NoMachine),
            lifecycle: lifecycle.clone(),
        },
    )
    .await;
    Env {
        core,
        clock,
        lifecycle,
        admin: common::sso_caller(Role::Admin),
        operator: common::sso_caller(Role::Operator),
        _dir: dir,
    }
}

async fn env() -> Env {
    env_with(false).await
}

impl Env {
    async fn state(&self, name: &str) -> ComponentState {
        self.core
            .service_get(&self.operator, name)
            .await
            .unwrap()
            .state
    }
}

/// A component whose start and stop wait for the test's word, acting as a listener.
struct Gate {
    name: &'static str,
    listener: Option<Listener>,
    running: Mutex<bool>,
    open: tokio::sync::Semaphore,
    calls: Mutex<Vec<&'static str>>,
}

impl Gate {
    fn new(name: &'static str, listener: Option<Listener>) -> Arc<Gate> {
        Arc::new(Gate {
            name,
            listener,
            running: Mutex::new(true),
            open: tokio::sync::Semaphore::new(0),
            calls: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait]
impl Component for Gate {
    fn name(&self) -> &str {
        self.name
    }
    fn description(&self) -> &str {
        "a gated component"
    }
    fn state(&self) -> ComponentState {
        if *self.running.lock() {
            ComponentState::Started
        } else {
            ComponentState::Stopped
        }
    }
    async fn start(&self) -> Result<(), ComponentError> {
        self.open.acquire().await.unwrap().forget();
        self.calls.lock().push("start");
        *self.running.lock() = true;
        Ok(())
    }
    async fn stop(&self) -> Result<(), ComponentError> {
        self.open.acquire().await.unwrap().forget();
        self.calls.lock().push("stop");
        *self.running.lock() = false;
        Ok(())
    }
    fn listener(&self) -> Option<Listener> {
        self.listener
    }
}

/// Lets every spawned task run as far as it can.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

async fn eventually<F: std::future::Future<Output = bool>>(what: &str, f: impl Fn() -> F) {
    for _ in 0..500 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} did not happen");
}

#[tokio::test]
async fn the_core_lists_its_own_components_and_refuses_unknown_names() {
    let e = env().await;
    let names: Vec<String> = e
        .core
        .services_list(&e.operator)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, [HEARTBEAT, TASK_ENGINE]);
    assert_eq!(e.state(TASK_ENGINE).await, ComponentState::Started);
    // A core without its server has no heartbeat loop running.
    assert_eq!(e.state(HEARTBEAT).await, ComponentState::Stopped);
    let err = e.core.service_get(&e.operator, "vpxd").await.unwrap_err();
    assert_eq!(err.to_string(), "service 'vpxd' was not found");
    let err = e
        .core
        .service_stop(&e.admin, "vpxd", Listener::Api)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn operators_read_and_only_administrators_control() {
    let e = env().await;
    assert!(e.core.services_list(&e.operator).await.is_ok());
    for r in [
        e.core
            .service_stop(&e.operator, TASK_ENGINE, Listener::Api)
            .await,
        e.core.service_start(&e.operator, TASK_ENGINE).await,
        e.core
            .service_restart(&e.operator, TASK_ENGINE, Listener::Api)
            .await,
    ] {
        assert!(
            matches!(r, Err(CoreError::NoPermission { ref privilege }) if privilege == "Appliance.Administer"),
            "{r:?}"
        );
    }
    assert_eq!(e.state(TASK_ENGINE).await, ComponentState::Started);
    assert!(matches!(
        e.core
            .shutdown_schedule(&e.operator, ShutdownAction::Reboot, 5, "x")
            .await,
        Err(CoreError::NoPermission { .. })
    ));
    assert!(matches!(
        e.core.shutdown_cancel(&e.operator).await,
        Err(CoreError::NoPermission { .. })
    ));
    assert_eq!(e.core.shutdown_get(&e.operator).await.unwrap().action, "");
}

async fn submit_sleep(core: &Core) -> Result<(), CoreError> {
    core.tasks
        .submit(
            TaskSpec {
                kind: TaskKind::DiagnosticsSleep,
                target: None,
                initiator: "t".into(),
                description: "sleep".into(),
                cancelable: true,
                timeout: None,
            },
            |ctx| async move {
                ctx.sleep(Duration::from_millis(300)).await?;
                Ok(TaskResult::Slept { slept_ms: 300 })
            },
        )
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_stopped_task_engine_takes_no_task_and_lets_running_ones_finish() {
    let e = env().await;
    submit_sleep(&e.core).await.unwrap();
    e.core
        .service_stop(&e.admin, TASK_ENGINE, Listener::Api)
        .await
        .unwrap();
    // The running task goes on: STOPPING until it ends.
    assert_eq!(e.state(TASK_ENGINE).await, ComponentState::Stopping);
    let err = submit_sleep(&e.core).await.unwrap_err();
    assert!(err.to_string().contains("task engine is stopped"), "{err}");
    eventually("the running task's end", || async {
        e.state(TASK_ENGINE).await == ComponentState::Stopped
    })
    .await;
    e.core.service_start(&e.admin, TASK_ENGINE).await.unwrap();
    assert_eq!(e.state(TASK_ENGINE).await, ComponentState::Started);
    submit_sleep(&e.core).await.unwrap();
    // Shutdown is for good: the service cannot start the engine again.
    e.core.tasks.shutdown(Duration::from_secs(2)).await;
    let err = e
        .core
        .service_start(&e.admin, TASK_ENGINE)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("shutting down"), "{err}");
}

#[tokio::test]
async fn the_heartbeat_loop_really_ends_and_starts_again() {
    let e = env().await;
    let err = e.core.service_start(&e.admin, HEARTBEAT).await.unwrap_err();
    assert!(
        err.to_string().contains("has not started heartbeats"),
        "{err}"
    );
    let server = CancellationToken::new();
    e.core.start_heartbeats(server.clone());
    assert_eq!(e.state(HEARTBEAT).await, ComponentState::Started);
    e.core
        .service_stop(&e.admin, HEARTBEAT, Listener::Appliance)
        .await
        .unwrap();
    // Stop returns once the loop's task has ended.
    assert_eq!(e.state(HEARTBEAT).await, ComponentState::Stopped);
    e.core
        .service_stop(&e.admin, HEARTBEAT, Listener::Appliance)
        .await
        .unwrap();
    e.core.service_start(&e.admin, HEARTBEAT).await.unwrap();
    assert_eq!(e.state(HEARTBEAT).await, ComponentState::Started);
    e.core
        .service_restart(&e.admin, HEARTBEAT, Listener::Api)
        .await
        .unwrap();
    assert_eq!(e.state(HEARTBEAT).await, ComponentState::Started);
    // The server's shutdown ends it for good.
    server.cancel();
    eventually("the loop's end", || async {
        e.state(HEARTBEAT).await == ComponentState::Stopped
    })
    .await;
    let err = e.core.service_start(&e.admin, HEARTBEAT).await.unwrap_err();
    assert!(err.to_string().contains("shutting down"), "{err}");
}

#[tokio::test]
async fn transitions_are_reported_and_taken_one_at_a_time() {
    let e = env().await;
    let gate = Gate::new("gate", None);
    e.core.services.register(gate.clone());
    let core = e.core.clone();
    let admin = e.admin.clone();
    let stop = tokio::spawn(async move { core.service_stop(&admin, "gate", Listener::Api).await });
    eventually("STOPPING", || async {
        e.state("gate").await == ComponentState::Stopping
    })
    .await;
    let core = e.core.clone();
    let admin = e.admin.clone();
    let start = tokio::spawn(async move { core.service_start(&admin, "gate").await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The start waits for the stop's end.
    assert_eq!(e.state("gate").await, ComponentState::Stopping);
    gate.open.add_permits(1);
    stop.await.unwrap().unwrap();
    eventually("STARTING", || async {
        e.state("gate").await == ComponentState::Starting
    })
    .await;
    gate.open.add_permits(1);
    start.await.unwrap().unwrap();
    assert_eq!(e.state("gate").await, ComponentState::Started);
    assert_eq!(*gate.calls.lock(), ["stop", "start"]);
}

#[tokio::test]
async fn a_call_does_not_stop_or_restart_the_listener_it_came_through() {
    let e = env().await;
    let gate = Gate::new("appliance-listener", Some(Listener::Appliance));
    e.core.services.register(gate.clone());
    // Were a stop or restart let through, it would run (and the test fail) rather than hang.
    gate.open.add_permits(3);
    for r in [
        e.core
            .service_stop(&e.admin, "appliance-listener", Listener::Appliance)
            .await,
        e.core
            .service_restart(&e.admin, "appliance-listener", Listener::Appliance)
            .await,
    ] {
        let err = r.unwrap_err();
        assert!(matches!(err, CoreError::InvalidState { .. }), "{err}");
        assert!(err.to_string().contains("'appliance-listener'"), "{err}");
    }
    assert!(gate.calls.lock().is_empty());
    assert_eq!(e.state("appliance-listener").await, ComponentState::Started);
    // Through the other listener it stops.
    e.core
        .service_stop(&e.admin, "appliance-listener", Listener::Api)
        .await
        .unwrap();
    assert_eq!(e.state("appliance-listener").await, ComponentState::Stopped);
}

#[tokio::test]
async fn a_pending_reboot_is_shown_and_cancelled_and_never_acts() {
    let e = env().await;
    e.core
        .shutdown_schedule(&e.admin, ShutdownAction::Reboot, 5, "kernel update")
        .await
        .unwrap();
    let c = e.core.shutdown_get(&e.operator).await.unwrap();
    assert_eq!(c.action, "reboot");
    assert_eq!(c.reason, "kernel update");
    assert_eq!(
        c.shutdown_time,
        Some(e.clock.now() + Duration::from_secs(300))
    );
    e.core.shutdown_cancel(&e.admin).await.unwrap();
    let c = e.core.shutdown_get(&e.operator).await.unwrap();
    assert_eq!(
        (c.action.as_str(), c.reason.as_str(), c.shutdown_time),
        ("", "", None)
    );
    // Cancelling nothing is no error.
    e.core.shutdown_cancel(&e.admin).await.unwrap();
    settle().await;
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(600)).await;
    settle().await;
    assert!(e.lifecycle.process.lock().is_empty());
}

#[tokio::test]
async fn the_delay_is_waited_and_a_new_request_replaces_the_pending_one() {
    let e = env().await;
    e.core
        .shutdown_schedule(&e.admin, ShutdownAction::Reboot, 1, "first")
        .await
        .unwrap();
    e.core
        .shutdown_schedule(&e.admin, ShutdownAction::PowerOff, 2, "second")
        .await
        .unwrap();
    assert_eq!(
        e.core.shutdown_get(&e.admin).await.unwrap().action,
        "poweroff"
    );
    // The timers start when their tasks first run: let them, then stop the clock.
    settle().await;
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(90)).await;
    settle().await;
    // The replaced reboot did not act; the power-off waits for its two minutes.
    assert!(e.lifecycle.process.lock().is_empty());
    tokio::time::advance(Duration::from_secs(31)).await;
    settle().await;
    assert_eq!(*e.lifecycle.process.lock(), [ProcessAction::Stop]);
    assert_eq!(e.core.shutdown_get(&e.admin).await.unwrap().action, "");
}

#[tokio::test]
async fn a_delay_of_zero_acts_at_once_on_the_process_unless_the_machine_is_allowed() {
    let e = env().await;
    e.core
        .shutdown_schedule(&e.admin, ShutdownAction::Reboot, 0, "now")
        .await
        .unwrap();
    eventually("the restart", || async {
        !e.lifecycle.process.lock().is_empty()
    })
    .await;
    assert_eq!(*e.lifecycle.process.lock(), [ProcessAction::Restart]);
    assert!(e.lifecycle.machine.lock().is_empty());

    let e = env_with(true).await;
    e.core
        .shutdown_schedule(&e.admin, ShutdownAction::PowerOff, 0, "")
        .await
        .unwrap();
    eventually("the power-off", || async {
        !e.lifecycle.machine.lock().is_empty()
    })
    .await;
    assert_eq!(*e.lifecycle.machine.lock(), [MachineAction::PowerOff]);
    assert!(e.lifecycle.process.lock().is_empty());
}

#[tokio::test]
async fn bad_delays_and_reasons_are_refused_by_name_and_nothing_is_pending() {
    let e = env().await;
    for (delay, reason, field) in [
        (-1, "x".to_string(), "delay"),
        (DELAY_MAX_MINUTES + 1, "x".to_string(), "delay"),
        (5, "r".repeat(1025), "reason"),
    ] {
        let err = e
            .core
            .shutdown_schedule(&e.admin, ShutdownAction::Reboot, delay, &reason)
            .await
            .unwrap_err();
        assert!(
            matches!(err, CoreError::InvalidArgument { field: ref f, .. } if f == field),
            "{err}"
        );
    }
    assert_eq!(e.core.shutdown_get(&e.admin).await.unwrap().action, "");
    e.core
        .shutdown_schedule(&e.admin, ShutdownAction::Reboot, DELAY_MAX_MINUTES, "")
        .await
        .unwrap();
    e.core.shutdown_cancel(&e.admin).await.unwrap();
}
