//! ZStack's asynchronous calls: 202 with `{"location","apiTimeout"}` in the body, polled at
//! `GET /zstack/v1/api-jobs/{uuid}` (202 `{}` while running, 200 with the result, 503 with the
//! error, 404 in plain text once unknown or expired). A job that starts a core task is that
//! task, under the client's `X-Job-UUID` (`tasks::with_task_id`), so it outlives a restart; a
//! job that ends before any task exists (a refused call, a synchronous change) is kept here, in
//! memory, for the same three hours.
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ferrocenter_core::auth::Caller;
use ferrocenter_core::model::new_uuid;
use ferrocenter_core::tasks::{Task, TaskKind, TaskState};
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use super::caller::caller;
use super::errors::ZsError;
use super::render;
use super::state::ZstackState;

/// ZStack's `rest.completedApi.expiredPeriod`.
const KEEP: Duration = Duration::from_secs(10_800);
/// Jobs kept in memory at most; the oldest go first.
const MAX_EARLY: usize = 100_000;
/// `apiTimeout` when the client sets no `X-API-Timeout` (ms; ZStack's default for AddKVMHost).
const DEFAULT_TIMEOUT_MS: u64 = 3 * 3600 * 1000;

/// ZStack's web hook retries: 15 attempts, 2 s apart.
const HOOK_ATTEMPTS: u32 = 15;
const HOOK_PAUSE: Duration = Duration::from_secs(2);

/// The job id: the client's `X-Job-UUID` (32 characters, hex) or a new one.
pub fn job_id(headers: &HeaderMap) -> Result<String, ZsError> {
    match headers.get("X-Job-UUID") {
        None => Ok(new_uuid()),
        Some(v) => {
            let s = v.to_str().unwrap_or("").trim().to_ascii_lowercase();
            if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ZsError::BadRequest(format!(
                    "invalid header[X-Job-UUID]: '{}' is not 32 hexadecimal characters",
                    v.to_str().unwrap_or("?")
                )));
            }
            Ok(s)
        }
    }
}

/// The `X-Web-Hook` URL of a request, if any: http or https only.
pub fn web_hook(headers: &HeaderMap) -> Result<Option<String>, ZsError> {
    let Some(v) = headers.get("X-Web-Hook") else {
        return Ok(None);
    };
    let url = v.to_str().unwrap_or("").trim();
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(Some(url.to_string())),
        _ => Err(ZsError::BadRequest(format!(
            "invalid header[X-Web-Hook]: '{url}' is not an http or https URL"
        ))),
    }
}

/// The job id and the caller of an asynchronous call. A malformed header is a 400 at once; a bad
/// session ends the job, as ZStack checks it inside.
fn job_and_caller(
    state: &ZstackState,
    headers: &HeaderMap,
) -> Result<(String, Caller), Box<Response>> {
    let job = job_id(headers).map_err(|e| Box::new(e.into_response()))?;
    web_hook(headers).map_err(|e| Box::new(e.into_response()))?;
    match caller(state, headers) {
        Ok(c) => Ok((job, c)),
        Err(ZsError::BadRequest(m)) => Err(Box::new(ZsError::BadRequest(m).into_response())),
        Err(e) => Err(Box::new(finished(state, headers, &job, Err(e)))),
    }
}

/// The job of an asynchronous call and who makes it, as an extractor: a malformed `X-Job-UUID`
/// or `X-Web-Hook` is a 400 at once; a bad session ends the job (202, then 503 on the poll).
pub struct Job {
    pub id: String,
    pub caller: Caller,
}

impl<S> FromRequestParts<S> for Job
where
    S: Send + Sync,
    ZstackState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        job_and_caller(&ZstackState::from_ref(state), &parts.headers)
            .map(|(id, caller)| Job { id, caller })
            .map_err(|r| *r)
    }
}

/// 202 with where to poll; with `X-Web-Hook`, the result is also posted there once the job
/// ends (with `X-Job-UUID` and `X-Job-Success`).
pub fn accepted(state: &ZstackState, headers: &HeaderMap, job: &str) -> Response {
    if let Ok(Some(url)) = web_hook(headers) {
        tokio::spawn(deliver(state.clone(), job.to_string(), url));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.tls { "https" } else { "http" };
    let timeout = headers
        .get("X-API-Timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| s * 1000)
        .unwrap_or(DEFAULT_TIMEOUT_MS);
    (
        StatusCode::ACCEPTED,
        [(header::CONTENT_TYPE, "application/json")],
        json!({
            "location": format!("{scheme}://{host}/zstack/v1/api-jobs/{job}"),
            "apiTimeout": timeout,
        })
        .to_string(),
    )
        .into_response()
}

/// Records a job that ended without a task, and answers 202 as for any job.
pub fn finished(
    state: &ZstackState,
    headers: &HeaderMap,
    job: &str,
    outcome: Result<Value, ZsError>,
) -> Response {
    let (status, body) = match outcome {
        Ok(v) => (StatusCode::OK, v),
        Err(ZsError::BadRequest(m)) => return ZsError::BadRequest(m).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.body()),
    };
    {
        let mut g = state.jobs.early.lock();
        if g.contains_key(job) {
            return ZsError::BadRequest(format!("duplicate job uuid[{job}]")).into_response();
        }
        let now = Instant::now();
        g.retain(|_, (t, _, _)| now.duration_since(*t) < KEEP);
        if g.len() >= MAX_EARLY {
            if let Some(oldest) = g
                .iter()
                .min_by_key(|(_, (t, _, _))| *t)
                .map(|(k, _)| k.clone())
            {
                g.remove(&oldest);
            }
        }
        g.insert(job.to_string(), (now, status, body));
    }
    accepted(state, headers, job)
}

/// The failure of a call that was to start a task: a taken job id is the client's error (400),
/// anything else ends the job.
pub fn task_refused(
    state: &ZstackState,
    headers: &HeaderMap,
    job: &str,
    e: CoreError,
    wrap: Wrap,
) -> Response {
    match e {
        CoreError::AlreadyExists { ref what, .. } if what == "task" => {
            ZsError::BadRequest(format!("duplicate job uuid[{job}]")).into_response()
        }
        other => finished(state, headers, job, Err(wrap.error(other))),
    }
}

/// How a host operation's failure is reported: ZStack wraps some in an operation code.
#[derive(Debug, Clone, Copy)]
pub enum Wrap {
    Plain,
    Maintenance,
    Reconnect,
    Delete,
}

impl Wrap {
    fn for_kind(kind: TaskKind) -> Wrap {
        use ferrocenter_core::tasks::TaskKind as K;
        match kind {
            K::HostEnterMaintenance => Wrap::Maintenance,
            K::HostReconnect => Wrap::Reconnect,
            K::HostRemove | K::ClusterDelete | K::DatacenterDelete => Wrap::Delete,
            _ => Wrap::Plain,
        }
    }

    pub fn error(self, e: CoreError) -> ZsError {
        let code = match self {
            Wrap::Plain => return e.into(),
            Wrap::Maintenance => "HOST.1001",
            Wrap::Reconnect => "HOST.1002",
            Wrap::Delete => "SYS.1004",
        };
        ZsError::Api {
            code,
            details: e.to_string(),
            cause: Some(Box::new(e.into())),
        }
    }
}

/// The result body of a finished task, as the call that started it answers.
async fn task_result(state: &ZstackState, t: &Task) -> Result<Value, ZsError> {
    use ferrocenter_core::tasks::TaskKind as K;
    match t.kind {
        K::HostAdd | K::HostEnterMaintenance | K::HostExitMaintenance | K::HostReconnect => {
            match state.core.task_host(&t.id).await? {
                Some(h) => {
                    let cap = state.core.host_capacity(&h).await?;
                    Ok(json!({"inventory": render::host(&h, &cap)}))
                }
                None => Ok(json!({})),
            }
        }
        _ => Ok(json!({})),
    }
}

/// Where a job stands.
enum Outcome {
    Running,
    Done(StatusCode, Value),
    Expired,
}

async fn outcome(state: &ZstackState, uuid: &str) -> Outcome {
    if let Some((t, status, body)) = state.jobs.early.lock().get(uuid).cloned() {
        if t.elapsed() >= KEEP {
            return Outcome::Expired;
        }
        return Outcome::Done(status, body);
    }
    let Ok(task) = state.core.tasks.get(uuid).await else {
        return Outcome::Expired;
    };
    let now = state.core.clock.now();
    match task.state {
        TaskState::Queued | TaskState::Running => Outcome::Running,
        _ if task
            .completed_at
            .is_some_and(|c| (now - c).whole_seconds() >= KEEP.as_secs() as i64) =>
        {
            Outcome::Expired
        }
        TaskState::Success => match task_result(state, &task).await {
            Ok(v) => Outcome::Done(StatusCode::OK, v),
            Err(e) => Outcome::Done(StatusCode::SERVICE_UNAVAILABLE, e.body()),
        },
        TaskState::Error => {
            let e = task
                .error
                .clone()
                .unwrap_or_else(|| CoreError::internal("the task failed without an error"));
            Outcome::Done(
                StatusCode::SERVICE_UNAVAILABLE,
                Wrap::for_kind(task.kind).error(e).body(),
            )
        }
    }
}

/// `GET /zstack/v1/api-jobs/{uuid}`. ZStack checks no session here: the job id is the key.
pub async fn poll(State(state): State<ZstackState>, Path(uuid): Path<String>) -> Response {
    let uuid = uuid.trim().to_ascii_lowercase();
    let json = [(header::CONTENT_TYPE, "application/json")];
    match outcome(&state, &uuid).await {
        Outcome::Running => (StatusCode::ACCEPTED, json, "{}".to_string()).into_response(),
        Outcome::Done(status, body) => (status, json, body.to_string()).into_response(),
        Outcome::Expired => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "the job has been expired",
        )
            .into_response(),
    }
}

/// Waits for the job to end, then posts its result to the hook, retrying as ZStack does.
async fn deliver(state: ZstackState, job: String, url: String) {
    let mut pause = Duration::from_millis(20);
    let (status, body) = loop {
        match outcome(&state, &job).await {
            Outcome::Running => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            Outcome::Done(status, body) => break (status, body),
            Outcome::Expired => return,
        }
    };
    let success = if status == StatusCode::OK {
        "true"
    } else {
        "false"
    };
    for attempt in 1..=HOOK_ATTEMPTS {
        let sent = state
            .jobs
            .hooks
            .post(&url)
            .header("X-Job-UUID", &job)
            .header("X-Job-Success", success)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => {
                tracing::warn!(job = %job, attempt, status = %r.status(), "web hook refused the result");
            }
            Err(e) => tracing::warn!(job = %job, attempt, error = %e, "web hook unreachable"),
        }
        tokio::time::sleep(HOOK_PAUSE).await;
    }
}
