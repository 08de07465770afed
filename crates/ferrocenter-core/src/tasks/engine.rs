use parking_lot::Mutex;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use super::model::{Task, TaskSpec, TaskState};
use super::TaskResult;

use crate::model::new_uuid;
use crate::ports::{Clock, Store, StoreError, TaskFilter};
use crate::CoreError;

tokio::task_local! {
    /// The id a client chose for the next task the current call submits (ZStack's X-Job-UUID).
    static REQUESTED_ID: std::cell::RefCell<Option<String>>;
}

/// Runs `f` so that the first task it submits takes `id` (32 lower-case hex digits) instead of
/// a new one: a client that names its job finds it under that name, and since the task is
/// persisted, so does a poll after a restart. An id already taken fails the submit with
/// AlreadyExists and nothing starts.
pub async fn with_task_id<F: Future>(id: String, f: F) -> F::Output {
    REQUESTED_ID
        .scope(std::cell::RefCell::new(Some(id)), f)
        .await
}

fn requested_id() -> Option<String> {
    REQUESTED_ID
        .try_with(|r| r.borrow_mut().take())
        .ok()
        .flatten()
}

#[derive(Debug, Clone)]
pub struct TaskEngineConfig {
    /// After a timeout or cancel, how long a task body may take to unwind before it is dropped.
    pub unwind_grace: Duration,
}

impl Default for TaskEngineConfig {
    fn default() -> Self {
        TaskEngineConfig {
            unwind_grace: Duration::from_secs(10),
        }
    }
}

/// A task that has been submitted and not yet finished in this process.
struct Live {
    cancel: CancellationToken,
    /// Why the token was tripped: a cancel request, a timeout, or shutdown.
    reason: Arc<Mutex<Option<CoreError>>>,
    cancelable: bool,
    task: Arc<tokio::sync::Mutex<Task>>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: TaskEngineConfig,
    live: Mutex<HashMap<String, Live>>,
    /// moId → id of the live tasks: a client polling `Task/task-N/info` reads memory only.
    live_moids: Mutex<HashMap<String, String>>,
    queues: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    tracker: TaskTracker,
    accepting: AtomicBool,
}

/// Runs tasks: persists each change, serialises tasks on one entity, and enforces cancel and
/// timeout. Cheap to clone.
#[derive(Clone)]
pub struct TaskEngine {
    inner: Arc<Inner>,
}

/// Handed to a task body: progress reporting and cooperative cancellation.
#[derive(Clone)]
pub struct TaskContext {
    task: Arc<tokio::sync::Mutex<Task>>,
    cancel: CancellationToken,
    reason: Arc<Mutex<Option<CoreError>>>,
    id: String,
}

impl TaskContext {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Records progress (clamped to 0–100) with a message. Progress lives in memory while the task runs (reads and lists of a live task see it);
    /// the store gets it with the next state change. A task cut short by a crash is failed on
    /// restart, so its last percentage has no use: not writing each step keeps busy servers
    /// off the database.
    pub async fn progress(&self, percent: u8, message: impl Into<String>) {
        let mut t = self.task.lock().await;
        t.progress = percent.min(100);
        t.progress_message = Some(message.into());
    }

    /// `Err` once the task has been cancelled or has timed out: bodies call this between steps.
    pub fn check(&self) -> Result<(), CoreError> {
        if self.cancel.is_cancelled() {
            Err(self.stop_reason())
        } else {
            Ok(())
        }
    }

    /// Resolves when the task is asked to stop.
    pub async fn stopped(&self) {
        self.cancel.cancelled().await;
    }

    /// Runs `f` unless the task is asked to stop first; then `f` is dropped and the stop
    /// reason returned.
    pub async fn or_stop<F: Future>(&self, f: F) -> Result<F::Output, CoreError> {
        tokio::select! {
            r = f => Ok(r),
            _ = self.cancel.cancelled() => Err(self.stop_reason()),
        }
    }

    /// Sleeps, returning early with the stop reason if the task is asked to stop.
    pub async fn sleep(&self, d: Duration) -> Result<(), CoreError> {
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = self.cancel.cancelled() => Err(self.stop_reason()),
        }
    }

    fn stop_reason(&self) -> CoreError {
        self.reason.lock().clone().unwrap_or(CoreError::Cancelled {
            message: "the task was cancelled".into(),
        })
    }
}

async fn persist(inner: &Inner, task: &Task) {
    if let Err(e) = inner.store.update_task(task).await {
        error!(task = %task.id, error = %e, "could not persist task state");
    }
}

impl TaskEngine {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: TaskEngineConfig) -> Self {
        TaskEngine {
            inner: Arc::new(Inner {
                store,
                clock,
                config,
                live: Mutex::new(HashMap::new()),
                live_moids: Mutex::new(HashMap::new()),
                queues: Mutex::new(HashMap::new()),
                tracker: TaskTracker::new(),
                accepting: AtomicBool::new(true),
            }),
        }
    }

    /// Called once at start, before serving: tasks the previous process left queued or running
    /// can no longer finish, so they end in error with a reason that says so.
    pub async fn recover(&self) -> Result<u64, CoreError> {
        let n = self
            .inner
            .store
            .fail_unfinished_tasks(&restart_error(), self.inner.clock.now())
            .await?;
        if n > 0 {
            warn!(
                count = n,
                "failed tasks left queued or running by the previous server process"
            );
        }
        Ok(n)
    }

    /// Persists a new task as queued and starts it. Returns the queued task at once.
    pub async fn submit<F, Fut>(&self, spec: TaskSpec, body: F) -> Result<Task, CoreError>
    where
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<TaskResult, CoreError>> + Send + 'static,
    {
        if !self.inner.accepting.load(Ordering::SeqCst) {
            return Err(CoreError::Unavailable {
                message: if self.inner.tracker.is_closed() {
                    "the server is shutting down".into()
                } else {
                    "the task engine is stopped (appliance service task-engine); start it to \
                     run tasks"
                        .into()
                },
            });
        }
        let id = match requested_id() {
            Some(id) => {
                if !crate::validate::is_uuid(&id) {
                    return Err(CoreError::invalid(
                        "taskId",
                        "must be 32 lower-case hexadecimal digits",
                    ));
                }
                id
            }
            None => new_uuid(),
        };
        let seq = self.inner.store.next_sequence("task").await?;
        let task = Task {
            id,
            moid: format!("task-{seq}"),
            kind: spec.kind,
            target: spec.target,
            initiator: spec.initiator,
            description: spec.description,
            state: TaskState::Queued,
            progress: 0,
            progress_message: None,
            result: None,
            error: None,
            cancelable: spec.cancelable,
            cancelled: false,
            queued_at: self.inner.clock.now(),
            started_at: None,
            completed_at: None,
        };
        self.inner
            .store
            .insert_task(&task)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => CoreError::AlreadyExists {
                    what: "task".into(),
                    name: task.id.clone(),
                },
                other => other.into(),
            })?;

        let cancel = CancellationToken::new();
        let reason = Arc::new(Mutex::new(None));
        let shared = Arc::new(tokio::sync::Mutex::new(task.clone()));
        self.inner
            .live_moids
            .lock()
            .insert(task.moid.clone(), task.id.clone());
        self.inner.live.lock().insert(
            task.id.clone(),
            Live {
                cancel: cancel.clone(),
                reason: reason.clone(),
                cancelable: task.cancelable,
                task: shared.clone(),
            },
        );
        let queue_key = task
            .target
            .as_ref()
            .map(super::super::model::EntityRef::queue_key)
            .unwrap_or_else(|| format!("task/{}", task.id));
        let ctx = TaskContext {
            task: shared,
            cancel,
            reason,
            id: task.id.clone(),
        };
        self.inner
            .tracker
            .spawn(run(self.inner.clone(), queue_key, spec.timeout, ctx, body));
        Ok(task)
    }

    /// The running task with this moId as it is now; None once it has finished (then the
    /// store has its final state).
    pub async fn live_by_moid(&self, moid: &str) -> Option<Task> {
        let id = self.inner.live_moids.lock().get(moid).cloned()?;
        self.live(&id).await
    }

    /// The running task with this id as it is now; None once it has finished.
    pub async fn live(&self, id: &str) -> Option<Task> {
        let live = self.inner.live.lock().get(id).map(|l| l.task.clone())?;
        let t = live.lock().await.clone();
        Some(t)
    }

    pub async fn get(&self, id: &str) -> Result<Task, CoreError> {
        if let Some(t) = self.live(id).await {
            return Ok(t);
        }
        self.inner
            .store
            .get_task(id)
            .await?
            .ok_or_else(|| CoreError::not_found("task", id))
    }

    /// Gives a task the previous server process ended by stopping (an update install, which
    /// that process could not see through) the outcome the process that followed learned.
    pub async fn settle(
        &self,
        id: &str,
        outcome: Result<TaskResult, CoreError>,
    ) -> Result<(), CoreError> {
        let mut t = self
            .inner
            .store
            .get_task(id)
            .await?
            .ok_or_else(|| CoreError::not_found("task", id))?;
        // What the stopping process recorded gives way to the outcome.
        t.error = None;
        t.result = None;
        t.cancelled = false;
        finish(&mut t, outcome, self.inner.clock.now());
        self.inner.store.update_task(&t).await?;
        Ok(())
    }

    /// The task once it has finished. Polls, so it suits a handful of waiters (a cascade
    /// waiting on its steps, a web hook), not thousands.
    pub async fn wait(&self, id: &str) -> Result<Task, CoreError> {
        let mut pause = Duration::from_millis(10);
        loop {
            let t = self.get(id).await?;
            if t.state.is_finished() {
                return Ok(t);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    pub async fn list(&self, filter: &TaskFilter) -> Result<Vec<Task>, CoreError> {
        let mut tasks = self.inner.store.list_tasks(filter).await?;
        // Running tasks as they are now (progress is kept in memory).
        let live: Vec<(usize, Arc<tokio::sync::Mutex<Task>>)> = {
            let live = self.inner.live.lock();
            tasks
                .iter()
                .enumerate()
                .filter_map(|(i, t)| live.get(&t.id).map(|l| (i, l.task.clone())))
                .collect()
        };
        for (i, t) in live {
            tasks[i] = t.lock().await.clone();
        }
        Ok(tasks)
    }

    /// Asks a task to stop. A queued task never starts; a running one must be cancelable.
    pub async fn cancel(&self, id: &str, requested_by: &str) -> Result<(), CoreError> {
        let entry = {
            let live = self.inner.live.lock();
            live.get(id).map(|l| {
                (
                    l.cancel.clone(),
                    l.reason.clone(),
                    l.cancelable,
                    l.task.clone(),
                )
            })
        };
        let Some((token, reason, cancelable, task)) = entry else {
            let t = self
                .inner
                .store
                .get_task(id)
                .await?
                .ok_or_else(|| CoreError::not_found("task", id))?;
            return Err(CoreError::invalid_state(format!(
                "task {} has already completed ({})",
                t.id, t.state
            )));
        };
        let state = task.lock().await.state;
        if state == TaskState::Running && !cancelable {
            return Err(CoreError::invalid_state(format!(
                "task {id} is running and cannot be cancelled"
            )));
        }
        reason.lock().get_or_insert(CoreError::Cancelled {
            message: format!("cancelled by {requested_by}"),
        });
        token.cancel();
        info!(task = %id, by = %requested_by, "task cancel requested");
        Ok(())
    }

    /// Whether new tasks are accepted: true until [`TaskEngine::shutdown`] begins.
    pub fn is_accepting(&self) -> bool {
        self.inner.accepting.load(Ordering::SeqCst)
    }

    /// Stops taking new tasks; those already running go on to their end. What stopping the
    /// appliance service `task-engine` does.
    pub fn pause(&self) {
        self.inner.accepting.store(false, Ordering::SeqCst);
    }

    /// Takes new tasks again after [`TaskEngine::pause`]; false once shutdown has begun, which
    /// is for good.
    pub fn resume(&self) -> bool {
        if self.inner.tracker.is_closed() {
            return false;
        }
        self.inner.accepting.store(true, Ordering::SeqCst);
        true
    }

    pub fn running_count(&self) -> usize {
        self.inner.live.lock().len()
    }

    /// Stops accepting tasks, asks every live task to stop, waits up to `grace`, and records
    /// whatever is still unfinished as failed so nothing stays "running" in the store.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.accepting.store(false, Ordering::SeqCst);
        let live: Vec<(CancellationToken, Arc<Mutex<Option<CoreError>>>)> = self
            .inner
            .live
            .lock()
            .values()
            .map(|l| (l.cancel.clone(), l.reason.clone()))
            .collect();
        for (token, reason) in live {
            reason.lock().get_or_insert(shutdown_error());
            token.cancel();
        }
        self.inner.tracker.close();
        if tokio::time::timeout(grace, self.inner.tracker.wait())
            .await
            .is_err()
        {
            let leftovers: Vec<Arc<tokio::sync::Mutex<Task>>> = self
                .inner
                .live
                .lock()
                .values()
                .map(|l| l.task.clone())
                .collect();
            for t in leftovers {
                let mut t = t.lock().await;
                finish(&mut t, Err(shutdown_error()), self.inner.clock.now());
                persist(&self.inner, &t).await;
            }
        }
    }
}

fn restart_error() -> CoreError {
    CoreError::Internal {
        message: "server restarted while the task was queued or running".into(),
    }
}

fn shutdown_error() -> CoreError {
    CoreError::Unavailable {
        message: "server shut down while the task was queued or running".into(),
    }
}

fn finish(task: &mut Task, outcome: Result<TaskResult, CoreError>, now: time::OffsetDateTime) {
    task.completed_at = Some(now);
    match outcome {
        Ok(v) => {
            task.state = TaskState::Success;
            task.progress = 100;
            task.result = Some(v);
        }
        Err(e) => {
            task.state = TaskState::Error;
            task.cancelled = matches!(e, CoreError::Cancelled { .. });
            task.error = Some(e);
        }
    }
}

async fn run<F, Fut>(
    inner: Arc<Inner>,
    queue_key: String,
    timeout: Option<Duration>,
    ctx: TaskContext,
    body: F,
) where
    F: FnOnce(TaskContext) -> Fut + Send + 'static,
    Fut: Future<Output = Result<TaskResult, CoreError>> + Send + 'static,
{
    let id = ctx.id.clone();
    let shared = ctx.task.clone();
    let token = ctx.cancel.clone();
    let reason = ctx.reason.clone();

    let queue = {
        let mut queues = inner.queues.lock();
        queues.entry(queue_key.clone()).or_default().clone()
    };
    // Waiting for the entity's queue is the "queued" state; a stop request ends the wait.
    let guard = tokio::select! {
        g = queue.clone().lock_owned() => Some(g),
        _ = token.cancelled() => None,
    };

    let outcome = match guard {
        None => Err(ctx.stop_reason()),
        Some(_guard) => {
            let snapshot = {
                let mut t = shared.lock().await;
                t.state = TaskState::Running;
                t.started_at = Some(inner.clock.now());
                t.clone()
            };
            persist(&inner, &snapshot).await;
            let outcome = execute(&inner, timeout, ctx, body, &token, &reason).await;
            drop(_guard);
            outcome
        }
    };

    let moid = {
        let mut t = shared.lock().await;
        finish(&mut t, outcome, inner.clock.now());
        persist(&inner, &t).await;
        t.moid.clone()
    };
    inner.live_moids.lock().remove(&moid);
    inner.live.lock().remove(&id);
    let mut queues = inner.queues.lock();
    if queues
        .get(&queue_key)
        .is_some_and(|q| Arc::strong_count(q) == 2)
    {
        queues.remove(&queue_key);
    }
    drop(queues);
    drop(queue);
}

async fn execute<F, Fut>(
    inner: &Inner,
    timeout: Option<Duration>,
    ctx: TaskContext,
    body: F,
    token: &CancellationToken,
    reason: &Arc<Mutex<Option<CoreError>>>,
) -> Result<TaskResult, CoreError>
where
    F: FnOnce(TaskContext) -> Fut + Send + 'static,
    Fut: Future<Output = Result<TaskResult, CoreError>> + Send + 'static,
{
    let fut = body(ctx);
    tokio::pin!(fut);
    let deadline = async {
        match timeout {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    // Phase 1: the body runs until it finishes, the deadline passes, or someone asks it to stop.
    tokio::select! {
        r = &mut fut => return r,
        _ = deadline => {
            reason.lock().get_or_insert(CoreError::Timeout {
                message: format!("the task did not finish within {} s", timeout.unwrap_or_default().as_secs()),
            });
            token.cancel();
        }
        _ = token.cancelled() => {}
    }
    // Phase 2: the body has been told to stop and gets a bounded time to unwind its steps.
    let stop = reason.lock().clone().unwrap_or(CoreError::Cancelled {
        message: "the task was cancelled".into(),
    });
    match tokio::time::timeout(inner.config.unwind_grace, &mut fut).await {
        // A body that noticed the stop reports it in its own words unless it reports the
        // generic cancel; the recorded reason (timeout, shutdown) is more precise then.
        Ok(Err(CoreError::Cancelled { .. })) => Err(stop),
        Ok(r) => r,
        Err(_) => {
            warn!("task body did not unwind within the grace period; dropped");
            Err(stop)
        }
    }
}
