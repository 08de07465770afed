//! `com.vmware.cis.tasks` over REST, and the rendering of core tasks as `cis.task.info`.
use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use ferrocenter_core::diagnostics::SLEEP_KIND;
use ferrocenter_core::ports::TaskFilter;
use ferrocenter_core::tasks::{Task, TaskState};
use ferrocenter_core::CoreError;
use serde_json::{json, Map, Value};

use super::caller::caller;
use super::errors::{Answer, ApiError, Reply};
use super::wire::{datetime, loc_msg, Flavor};
use crate::http_util::json_body;
use crate::AppState;

/// Core task kinds and the vAPI service and operation that start them.
const OPERATIONS: &[(&str, &str, &str)] = &[(SLEEP_KIND, "com.ferrocenter.diagnostics", "sleep")];
const UNMAPPED_SERVICE: &str = "com.ferrocenter.tasks";

fn service_operation(kind: &str) -> (&str, &str) {
    OPERATIONS
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map(|(_, s, o)| (*s, *o))
        .unwrap_or((UNMAPPED_SERVICE, kind))
}

/// vAPI task ids read `<uuid>:<serviceId>`; the part before the colon is the core id.
pub fn external_id(t: &Task) -> String {
    format!("{}:{}", t.id, service_operation(&t.kind).0)
}

fn core_id(external: &str) -> &str {
    external.split(':').next().unwrap_or(external)
}

/// The vim type name a target kind is shown as in `DynamicID`.
fn dynamic_type(kind: &str) -> &str {
    match kind {
        "host" => "HostSystem",
        "cluster" => "ClusterComputeResource",
        "datacenter" => "Datacenter",
        "folder" => "Folder",
        "vm" => "VirtualMachine",
        other => other,
    }
}

fn status(state: TaskState) -> &'static str {
    match state {
        TaskState::Queued => "PENDING",
        TaskState::Running => "RUNNING",
        TaskState::Success => "SUCCEEDED",
        TaskState::Error => "FAILED",
    }
}

fn status_from(s: &str) -> Result<Option<TaskState>, CoreError> {
    match s {
        "PENDING" => Ok(Some(TaskState::Queued)),
        "RUNNING" => Ok(Some(TaskState::Running)),
        // ferrocenter tasks never block on a question: the filter matches nothing.
        "BLOCKED" => Ok(None),
        "SUCCEEDED" => Ok(Some(TaskState::Success)),
        "FAILED" => Ok(Some(TaskState::Error)),
        other => Err(CoreError::invalid(
            "filter_spec.status",
            format!("unknown status '{other}'"),
        )),
    }
}

/// `cis.task.info` respecting the union rule on `status`: PENDING carries no progress or times;
/// RUNNING has progress and start; SUCCEEDED and FAILED have progress, start and end.
pub fn info(t: &Task, exclude_result: bool) -> Value {
    let (service, operation) = service_operation(&t.kind);
    let mut v = json!({
        "description": loc_msg(&format!("com.ferrocenter.task.{}", t.kind), &t.description, &[]),
        "service": service,
        "operation": operation,
        "status": status(t.state),
        "cancelable": t.cancelable && !t.state.is_finished(),
        "user": t.initiator,
    });
    if let Some(target) = &t.target {
        v["target"] = json!({ "type": dynamic_type(&target.kind), "id": target.id });
    }
    if t.state != TaskState::Queued {
        let message = t.progress_message.clone().unwrap_or_default();
        v["progress"] = json!({
            "total": 100,
            "completed": t.progress,
            "message": loc_msg("com.ferrocenter.task.progress", &message, &[]),
        });
        // A task cancelled while queued never started; its start is its end.
        let start = t.started_at.or(t.completed_at).unwrap_or(t.queued_at);
        v["start_time"] = json!(datetime(start));
    }
    if t.state.is_finished() {
        v["end_time"] = json!(datetime(t.completed_at.unwrap_or(t.queued_at)));
    }
    if t.state == TaskState::Success && !exclude_result {
        if let Some(r) = &t.result {
            v["result"] = r.clone();
        }
    }
    if let Some(e) = &t.error {
        v["error"] = ApiError::Core(e.clone()).fields().1;
    }
    v
}

fn flag(spec: Option<&Value>, name: &str, field: &str) -> Result<bool, CoreError> {
    match spec.and_then(|s| s.get(name)) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(CoreError::invalid(field, "must be a boolean")),
    }
}

fn strings(spec: &Value, name: &str) -> Result<Vec<String>, CoreError> {
    let field = format!("filter_spec.{name}");
    match spec.get(name) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| CoreError::invalid(&field, "must be a list of strings"))
            })
            .collect(),
        Some(_) => Err(CoreError::invalid(&field, "must be a list of strings")),
    }
}

/// Translates `cis.tasks.filter_spec` into the core's filter.
fn filter_from(spec: Option<&Value>) -> Result<(TaskFilter, bool), CoreError> {
    let mut filter = TaskFilter {
        limit: Some(1000),
        ..Default::default()
    };
    let mut matches_nothing = false;
    let Some(spec) = spec else {
        return Ok((filter, false));
    };
    if !spec.is_object() {
        return Err(CoreError::invalid("filter_spec", "must be an object"));
    }
    filter.ids = strings(spec, "tasks")?
        .iter()
        .map(|t| core_id(t).to_string())
        .collect();
    let statuses = strings(spec, "status")?;
    for s in &statuses {
        if let Some(state) = status_from(s)? {
            filter.states.push(state);
        }
    }
    matches_nothing |= !statuses.is_empty() && filter.states.is_empty();
    let services = strings(spec, "services")?;
    let operations = strings(spec, "operations")?;
    if !services.is_empty() || !operations.is_empty() {
        filter.kinds = OPERATIONS
            .iter()
            .filter(|(_, s, o)| {
                (services.is_empty() || services.iter().any(|x| x == s))
                    && (operations.is_empty() || operations.iter().any(|x| x == o))
            })
            .map(|(k, _, _)| k.to_string())
            .collect();
        matches_nothing |= filter.kinds.is_empty();
    }
    if let Some(targets) = spec.get("targets").filter(|t| !t.is_null()) {
        let list = targets
            .as_array()
            .ok_or_else(|| CoreError::invalid("filter_spec.targets", "must be a list"))?;
        for t in list {
            let id = t.get("id").and_then(Value::as_str).ok_or_else(|| {
                CoreError::invalid("filter_spec.targets", "each target needs a string 'id'")
            })?;
            filter.target_ids.push(id.to_string());
        }
    }
    // Users may be given as `administrator@vsphere.local` or `VSPHERE.LOCAL\administrator`.
    filter.initiators = strings(spec, "users")?
        .iter()
        .map(|u| match u.split_once('\\') {
            Some((domain, name)) => format!(
                "{}@{}",
                name.to_ascii_lowercase(),
                domain.to_ascii_lowercase()
            ),
            None => u.to_ascii_lowercase(),
        })
        .collect();
    Ok((filter, matches_nothing))
}

async fn get(state: &AppState, headers: &HeaderMap, task: &str) -> Result<Value, ApiError> {
    let caller = caller(state, headers).await?;
    let t = state.core.get_task(&caller, core_id(task)).await?;
    Ok(info(&t, false))
}

pub async fn api_get(
    State(state): State<AppState>,
    Path(task): Path<String>,
    headers: HeaderMap,
) -> Answer {
    Answer {
        flavor: Flavor::Api,
        result: get(&state, &headers, &task)
            .await
            .map(|v| Reply::Value(StatusCode::OK, v)),
    }
}

pub async fn rest_get(
    State(state): State<AppState>,
    Path(task): Path<String>,
    headers: HeaderMap,
) -> Answer {
    Answer {
        flavor: Flavor::Rest,
        result: get(&state, &headers, &task)
            .await
            .map(|v| Reply::Value(StatusCode::OK, v)),
    }
}

async fn list(
    state: &AppState,
    headers: &HeaderMap,
    body: Option<Value>,
) -> Result<Value, ApiError> {
    let caller = caller(state, headers).await?;
    let body = body.unwrap_or(Value::Null);
    if !(body.is_object() || body.is_null()) {
        return Err(CoreError::invalid("body", "must be an object").into());
    }
    let (filter, nothing) = filter_from(body.get("filter_spec").filter(|v| !v.is_null()))?;
    let result_spec = body.get("result_spec").filter(|v| !v.is_null());
    let exclude = flag(result_spec, "exclude_result", "result_spec.exclude_result")?;
    let mut out = Map::new();
    if !nothing {
        for t in state.core.list_tasks(&caller, &filter).await? {
            out.insert(external_id(&t), info(&t, exclude));
        }
    }
    Ok(Value::Object(out))
}

async fn cancel(state: &AppState, headers: &HeaderMap, task: &str) -> Result<(), ApiError> {
    let caller = caller(state, headers).await?;
    state.core.cancel_task(&caller, core_id(task)).await?;
    Ok(())
}

/// `POST /api/cis/tasks?action=list`.
pub async fn api_collection_post(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let result = async {
        match query.get("action").map(String::as_str) {
            Some("list") => {
                let body = json_body(&headers, body, state.max_body_bytes)?;
                list(&state, &headers, body)
                    .await
                    .map(|v| Reply::Value(StatusCode::OK, v))
            }
            other => Err(ApiError::OperationNotFound(format!(
                "POST /api/cis/tasks?action={}",
                other.unwrap_or("")
            ))),
        }
    }
    .await;
    Answer {
        flavor: Flavor::Api,
        result,
    }
}

/// `POST /api/cis/tasks/{task}?action=cancel` (and the same under `/rest`).
pub async fn item_post(
    flavor: Flavor,
    state: AppState,
    task: String,
    query: HashMap<String, String>,
    headers: HeaderMap,
) -> Answer {
    let action = query
        .get("action")
        .or_else(|| query.get("~action"))
        .map(String::as_str);
    let result = match action {
        Some("cancel") => cancel(&state, &headers, &task).await.map(|_| Reply::Void),
        other => Err(ApiError::OperationNotFound(format!(
            "POST cis/tasks/{{task}}?action={}",
            other.unwrap_or("")
        ))),
    };
    Answer { flavor, result }
}

pub async fn api_item_post(
    State(state): State<AppState>,
    Path(task): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    item_post(Flavor::Api, state, task, query, headers).await
}

pub async fn rest_item_post(
    State(state): State<AppState>,
    Path(task): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    item_post(Flavor::Rest, state, task, query, headers).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocenter_core::model::EntityRef;
    use time::OffsetDateTime;

    fn task(state: TaskState) -> Task {
        let t0 = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        Task {
            id: "abc".into(),
            moid: "task-1".into(),
            kind: SLEEP_KIND.into(),
            target: Some(EntityRef::new("host", "h1")),
            initiator: "administrator@vsphere.local".into(),
            description: "Sleep".into(),
            state,
            progress: 40,
            progress_message: Some("m".into()),
            result: Some(json!({"slept_ms": 5})),
            error: None,
            cancelable: true,
            cancelled: false,
            queued_at: t0,
            started_at: (state != TaskState::Queued).then_some(t0),
            completed_at: state.is_finished().then_some(t0),
        }
    }

    #[test]
    fn union_rule_per_status() {
        let pending = info(&task(TaskState::Queued), false);
        for absent in ["progress", "start_time", "end_time", "result", "error"] {
            assert!(pending.get(absent).is_none(), "PENDING has {absent}");
        }
        let running = info(&task(TaskState::Running), false);
        assert!(running.get("progress").is_some() && running.get("start_time").is_some());
        assert!(running.get("end_time").is_none() && running.get("error").is_none());
        let done = info(&task(TaskState::Success), false);
        assert_eq!(done["status"], "SUCCEEDED");
        assert_eq!(done["result"]["slept_ms"], 5);
        assert_eq!(done["cancelable"], false);
        assert!(info(&task(TaskState::Success), true)
            .get("result")
            .is_none());
        assert_eq!(done["target"]["type"], "HostSystem");
    }

    #[test]
    fn ids_carry_the_service() {
        let t = task(TaskState::Queued);
        assert_eq!(external_id(&t), "abc:com.ferrocenter.diagnostics");
        assert_eq!(core_id(&external_id(&t)), "abc");
    }

    #[test]
    fn bad_filters_name_the_field() {
        let e = filter_from(Some(&json!({"status": ["DONE"]}))).unwrap_err();
        assert!(
            matches!(e, CoreError::InvalidArgument { ref field, .. } if field == "filter_spec.status")
        );
        let e = filter_from(Some(&json!({"tasks": "x"}))).unwrap_err();
        assert!(
            matches!(e, CoreError::InvalidArgument { ref field, .. } if field == "filter_spec.tasks")
        );
    }
}
