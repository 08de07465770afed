//! ZStack's asynchronous calls: 202 with `{"location","apiTimeout"}` in the body, polled at
//! `GET /zstack/v1/api-jobs/{uuid}` (202 `{}` while running, 200 with the result, 503 with the
//! error, 404 in plain text once unknown or expired). A job that starts a core task is that
//! task, under the client's `X-Job-UUID` (`tasks::with_task_id`), so it outlives a restart; a
//! job that ends before any task exists (a refused call, a synchronous change) is kept here, in
//! memory, for the same three hours.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ferrocenter_core::model::new_uuid;
use ferrocenter_core::tasks::{Task, TaskState};
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use super::errors::ZsError;
use super::render;
use crate::AppState;

/// ZStack's `rest.completedApi.expiredPeriod`.
const KEEP: Duration = Duration::from_secs(10_800);
/// Jobs kept in memory at most; the oldest go first.
const MAX_EARLY: usize = 100_000;
/// `apiTimeout` when the client sets no `X-API-Timeout` (ms; ZStack's default for AddKVMHost).
const DEFAULT_TIMEOUT_MS: u64 = 3 * 3600 * 1000;

#[derive(Default)]
pub struct ZsState {
    early: Mutex<HashMap<String, (Instant, StatusCode, Value)>>,
}

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

/// 202 with where to poll.
pub fn accepted(state: &AppState, headers: &HeaderMap, job: &str) -> Response {
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
    state: &AppState,
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
        let mut g = state.zstack.early.lock().unwrap();
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
    state: &AppState,
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
    fn for_kind(kind: &str) -> Wrap {
        match kind {
            "host.enterMaintenance" => Wrap::Maintenance,
            "host.reconnect" => Wrap::Reconnect,
            "host.remove" => Wrap::Delete,
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
async fn task_result(state: &AppState, t: &Task) -> Result<Value, ZsError> {
    match t.kind.as_str() {
        "host.enterMaintenance" | "host.exitMaintenance" | "host.reconnect" => {
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

/// `GET /zstack/v1/api-jobs/{uuid}`. ZStack checks no session here: the job id is the key.
pub async fn poll(State(state): State<AppState>, Path(uuid): Path<String>) -> Response {
    let uuid = uuid.trim().to_ascii_lowercase();
    let expired = || {
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "the job has been expired",
        )
            .into_response()
    };
    if let Some((t, status, body)) = state.zstack.early.lock().unwrap().get(&uuid).cloned() {
        if t.elapsed() >= KEEP {
            return expired();
        }
        return (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
    }
    let Ok(task) = state.core.tasks.get(&uuid).await else {
        return expired();
    };
    let now = state.core.clock.now();
    match task.state {
        TaskState::Queued | TaskState::Running => (
            StatusCode::ACCEPTED,
            [(header::CONTENT_TYPE, "application/json")],
            "{}",
        )
            .into_response(),
        _ if task
            .completed_at
            .is_some_and(|c| (now - c).whole_seconds() >= KEEP.as_secs() as i64) =>
        {
            expired()
        }
        TaskState::Success => match task_result(&state, &task).await {
            Ok(v) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                v.to_string(),
            )
                .into_response(),
            Err(e) => e.into_response(),
        },
        TaskState::Error => {
            let e = task
                .error
                .clone()
                .unwrap_or_else(|| CoreError::internal("the task failed without an error"));
            Wrap::for_kind(&task.kind).error(e).into_response()
        }
    }
}
