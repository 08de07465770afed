//! ZStack's asynchronous calls: 202 with `{"location","apiTimeout"}` in the body, polled at
//! `GET /zstack/v1/api-jobs/{uuid}` (202 `{}` while running, 200 with the result, 503 with the
//! error, 404 in plain text once unknown or expired). A job that starts a core task is that
//! task, under the client's `X-Job-UUID` (`tasks::with_task_id`), so it outlives a restart; a
//! job that ends before any task exists (a refused call, a synchronous change) is kept here, in
//! memory, for the same three hours (at most `MAX_JOBS` of them).
//!
//! Unlike ZStack, a call without a valid session, or one the caller lacks the privilege for,
//! creates no job: its ID.1001 or ID.1002 is the answer at once, so that callers who cannot
//! act cannot fill memory or make the server post anywhere.
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

use reqwest::Url;

use super::caller::caller;
use super::errors::ZsError;
use super::job_store::{loggable_url, KEEP, MAX_JOBS};
use super::render;
use super::state::ZstackState;

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

/// The `X-Web-Hook` URL of a request, if any: http or https only. Its query is never shown
/// (it may carry the receiver's token).
pub fn web_hook(headers: &HeaderMap) -> Result<Option<Url>, ZsError> {
    let Some(v) = headers.get("X-Web-Hook") else {
        return Ok(None);
    };
    match Url::parse(v.to_str().unwrap_or("").trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(Some(u)),
        _ => Err(ZsError::BadRequest(
            "invalid header[X-Web-Hook]: not an http or https URL".into(),
        )),
    }
}

/// The job id and the caller of an asynchronous call. A malformed header is a 400, a bad
/// session 503 ID.1001, both at once and without a job. A web hook needs a caller who may
/// change the inventory (the core's rule) and a destination the server allows.
fn job_and_caller(
    state: &ZstackState,
    headers: &HeaderMap,
) -> Result<(String, Caller), Box<Response>> {
    let refuse = |e: ZsError| Box::new(e.into_response());
    let job = job_id(headers).map_err(refuse)?;
    let hook = web_hook(headers).map_err(refuse)?;
    let caller = caller(state, headers).map_err(refuse)?;
    if let Some(url) = hook {
        state
            .core
            .auth
            .authorize_web_hook(&caller)
            .map_err(|e| refuse(e.into()))?;
        if !state.jobs.destinations.allows(&url) {
            return Err(refuse(ZsError::BadRequest(format!(
                "invalid header[X-Web-Hook]: {} is not a destination this server allows \
                 (setting zstack_web_hook_allow)",
                loggable_url(&url)
            ))));
        }
    }
    Ok((job, caller))
}

/// The job of an asynchronous call and who makes it, as an extractor: a malformed `X-Job-UUID`
/// or `X-Web-Hook`, a bad session, or a web hook the caller may not have, is answered at once.
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
    // The extractor checked caller and destination; the destination is checked again here so
    // that no path to a delivery skips it.
    if let Ok(Some(url)) = web_hook(headers) {
        if state.jobs.destinations.allows(&url) {
            tokio::spawn(deliver(state.clone(), job.to_string(), url));
        }
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
        Err(e @ ZsError::BadRequest(_)) => return e.into_response(),
        // Who may not act gets no job (and no web hook): the answer is the error.
        Err(e) if e.is_auth_failure() => return e.into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.body()),
    };
    let recorded = state
        .jobs
        .early
        .lock()
        .insert(job, (Instant::now(), status, body), MAX_JOBS);
    if !recorded {
        return ZsError::BadRequest(format!("duplicate job uuid[{job}]")).into_response();
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
        K::VmCreate => match state.core.task_vm(&t.id).await? {
            Some((vm, host)) => Ok(json!({"inventory": render::vm(&vm, host.as_ref())})),
            None => Ok(json!({})),
        },
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
    let held = state.jobs.early.lock().get(uuid);
    if let Some((t, status, body)) = held {
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
async fn deliver(state: ZstackState, job: String, url: Url) {
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
    let destination = loggable_url(&url);
    for attempt in 1..=HOOK_ATTEMPTS {
        let sent = state
            .jobs
            .hooks
            .post(url.clone())
            .header("X-Job-UUID", &job)
            .header("X-Job-Success", success)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => {
                tracing::warn!(job = %job, attempt, %destination, status = %r.status(), "web hook refused the result");
            }
            // reqwest's error names the URL, query included: it is left out.
            Err(e) => {
                tracing::warn!(job = %job, attempt, %destination, error = %e.without_url(), "web hook unreachable");
            }
        }
        tokio::time::sleep(HOOK_PAUSE).await;
    }
}
