//! Host actions (`PUT /zstack/v1/hosts/{uuid}/actions`: changeHostState, reconnectHost) and
//! DeleteHost (`DELETE /zstack/v1/hosts/{uuid}?deleteMode=`), all asynchronous jobs.
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use ferrocenter_core::auth::Caller;
use ferrocenter_core::hosts::{ReconnectSpec, RemoveMode};
use ferrocenter_core::inventory::{AdminState, HostState};
use ferrocenter_core::tasks::{with_task_id, Task};
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use super::errors::ZsError;
use super::jobs::{self, Wrap};
use super::{render, session};
use crate::AppState;

/// A task started for the job, or why it could not start.
fn started(
    state: &AppState,
    headers: &HeaderMap,
    job: &str,
    r: Result<Task, CoreError>,
    wrap: Wrap,
) -> Response {
    match r {
        Ok(_) => jobs::accepted(state, headers, job),
        Err(e) => jobs::task_refused(state, headers, job, e, wrap),
    }
}

/// The job id and the caller of an asynchronous call. A malformed header is a 400 at once; a bad
/// session ends the job, as ZStack checks it inside.
fn job_and_caller(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(String, Caller), Box<Response>> {
    let job = jobs::job_id(headers).map_err(|e| Box::new(e.into_response()))?;
    match session::caller(state, headers) {
        Ok(c) => Ok((job, c)),
        Err(ZsError::BadRequest(m)) => Err(Box::new(ZsError::BadRequest(m).into_response())),
        Err(e) => Err(Box::new(jobs::finished(state, headers, &job, Err(e)))),
    }
}

pub async fn actions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    body: Bytes,
) -> Response {
    let (job, caller) = match job_and_caller(&state, &headers) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return ZsError::BadRequest(format!("the body is not JSON: {e}")).into_response(),
    };
    let Some((action, params)) = v.as_object().and_then(|o| o.iter().next()) else {
        return no_action(&uuid);
    };
    let core = &state.core;
    match action.as_str() {
        "changeHostState" => {
            let event = params
                .get("stateEvent")
                .and_then(Value::as_str)
                .unwrap_or("");
            match event {
                "maintain" => {
                    let r = with_task_id(
                        job.clone(),
                        core.enter_maintenance(&caller, &uuid, 0, false),
                    )
                    .await;
                    started(&state, &headers, &job, r, Wrap::Maintenance)
                }
                "enable" | "disable" => {
                    let host = match core.get_host(&caller, &uuid).await {
                        Ok(h) => h,
                        Err(e) => return jobs::finished(&state, &headers, &job, Err(e.into())),
                    };
                    // Leaving maintenance is how ZStack enables a host in it.
                    if event == "enable"
                        && matches!(
                            host.state,
                            HostState::Maintenance | HostState::PreMaintenance
                        )
                    {
                        let r = with_task_id(job.clone(), core.exit_maintenance(&caller, &uuid, 0))
                            .await;
                        return started(&state, &headers, &job, r, Wrap::Plain);
                    }
                    let want = if event == "enable" {
                        AdminState::Enabled
                    } else {
                        AdminState::Disabled
                    };
                    let outcome = async {
                        let h = core.set_host_admin_state(&caller, &uuid, want).await?;
                        let cap = core.host_capacity(&h).await?;
                        Ok::<_, CoreError>(json!({"inventory": render::host(&h, &cap)}))
                    }
                    .await
                    .map_err(|e| match e {
                        CoreError::InvalidState { .. } => ZsError::api("SYS.1005", e.to_string()),
                        other => other.into(),
                    });
                    jobs::finished(&state, &headers, &job, outcome)
                }
                other => jobs::finished(
                    &state,
                    &headers,
                    &job,
                    Err(CoreError::invalid(
                        "stateEvent",
                        format!("'{other}' is not enable, disable or maintain"),
                    )
                    .into()),
                ),
            }
        }
        "reconnectHost" => {
            let r = with_task_id(
                job.clone(),
                core.reconnect_host(
                    &caller,
                    &uuid,
                    ReconnectSpec {
                        also_when_connected: true,
                        ..Default::default()
                    },
                ),
            )
            .await;
            started(&state, &headers, &job, r, Wrap::Reconnect)
        }
        _ => no_action(&uuid),
    }
}

fn no_action(uuid: &str) -> Response {
    ZsError::BadRequest(format!(
        "the body doesn't contain action mapping to the URL[/v1/hosts/{uuid}/actions]"
    ))
    .into_response()
}

/// DeleteHost: Permissive (default) or Enforcing; an unknown host is a success.
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let (job, caller) = match job_and_caller(&state, &headers) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let mode = match pairs
        .iter()
        .find(|(k, _)| k == "deleteMode")
        .map(|(_, v)| v.as_str())
    {
        None | Some("Permissive") => RemoveMode::Permissive,
        Some("Enforcing") => RemoveMode::Enforcing,
        Some(other) => {
            let e = CoreError::invalid(
                "deleteMode",
                format!("'{other}' is not Permissive or Enforcing"),
            );
            return jobs::finished(&state, &headers, &job, Err(e.into()));
        }
    };
    match state.core.get_host(&caller, &uuid).await {
        Err(CoreError::NotFound { .. }) => jobs::finished(&state, &headers, &job, Ok(json!({}))),
        Err(e) => jobs::finished(&state, &headers, &job, Err(e.into())),
        Ok(_) => {
            let r = with_task_id(job.clone(), state.core.remove_host(&caller, &uuid, mode)).await;
            started(&state, &headers, &job, r, Wrap::Delete)
        }
    }
}
