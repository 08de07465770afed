//! Core tasks as `com.vmware.cis.task.info`, their vAPI ids, and `cis.tasks` filters.
use ferrocenter_core::ports::TaskFilter;
use ferrocenter_core::tasks::{Task, TaskKind, TaskState};
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use super::errors::{encode_error, ApiError};
use super::registry::Catalog;
use super::types::{self, Form};
use super::wire::{datetime, loc_msg};

/// Task kinds no registry operation starts as a task (ferrocenter's diagnostics, the update
/// stage).
const OTHER_OPERATIONS: &[(TaskKind, &str, &str)] = &[
    (
        TaskKind::DiagnosticsSleep,
        "com.ferrocenter.diagnostics",
        "sleep",
    ),
    // `pending.stage` answers void; its task is shown by `update.get` and `cis.tasks`.
    (
        TaskKind::ApplianceUpdateStage,
        "com.vmware.appliance.update.pending",
        "stage",
    ),
    // So do `install` and `stage_and_install`, one kind: the install ends in a restart.
    (
        TaskKind::ApplianceUpdateInstall,
        "com.vmware.appliance.update.pending",
        "install",
    ),
];
const UNMAPPED_SERVICE: &str = "com.ferrocenter.tasks";

/// The vAPI service and operation that start tasks of `kind`.
fn service_operation(catalog: &Catalog, kind: TaskKind) -> (&'static str, String) {
    if let Some(op) = catalog.for_task_kind(kind) {
        return (op.service, op.name.to_string());
    }
    OTHER_OPERATIONS
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map(|(_, s, o)| (*s, o.to_string()))
        .unwrap_or((UNMAPPED_SERVICE, kind.to_string()))
}

/// Every (kind, service, operation) a task can be listed under.
fn known_operations(catalog: &Catalog) -> Vec<(TaskKind, &'static str, &'static str)> {
    catalog
        .all()
        .filter_map(|op| op.task_kind.map(|k| (k, op.service, op.name)))
        .chain(OTHER_OPERATIONS.iter().copied())
        .collect()
}

/// vAPI task ids read `<uuid>:<serviceId>`; the part before the colon is the core id.
pub fn external_id(catalog: &Catalog, t: &Task) -> String {
    format!("{}:{}", t.id, service_operation(catalog, t.kind).0)
}

pub fn core_id(external: &str) -> &str {
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
/// `result` and `error` are already in `form` (an operation's output type decides how its
/// result is written; JSON-RPC errors are `ERROR` values).
pub fn info(catalog: &Catalog, t: &Task, exclude_result: bool, form: Form) -> Value {
    let (service, operation) = service_operation(catalog, t.kind);
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
        match catalog.for_task_kind(t.kind) {
            Some(op) => {
                let out = (op.result)(t);
                if !out.is_null() {
                    v["result"] = types::encode(&op.output, &out, form);
                }
            }
            None => {
                if let Some(r) = &t.result {
                    v["result"] = json!(r);
                }
            }
        }
    }
    if let Some(e) = &t.error {
        let e = ApiError::Core(e.clone());
        v["error"] = match form {
            Form::Rpc => encode_error(&e),
            _ => e.fields().1,
        };
    }
    v
}

pub fn flag(spec: Option<&Value>, name: &str, field: &str) -> Result<bool, CoreError> {
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
pub fn filter_from(
    catalog: &Catalog,
    spec: Option<&Value>,
) -> Result<(TaskFilter, bool), CoreError> {
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
        filter.kinds = known_operations(catalog)
            .iter()
            .filter(|(_, s, o)| {
                (services.is_empty() || services.iter().any(|x| x == s))
                    && (operations.is_empty() || operations.iter().any(|x| x == o))
            })
            .map(|(k, _, _)| *k)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::MAIN as CATALOG;
    use ferrocenter_core::model::EntityRef;
    use ferrocenter_core::tasks::TaskResult;
    use time::OffsetDateTime;

    fn task(state: TaskState) -> Task {
        let t0 = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        Task {
            id: "abc".into(),
            moid: "task-1".into(),
            kind: TaskKind::DiagnosticsSleep,
            target: Some(EntityRef::new("host", "h1")),
            initiator: "administrator@vsphere.local".into(),
            description: "Sleep".into(),
            state,
            progress: 40,
            progress_message: Some("m".into()),
            result: Some(TaskResult::Slept { slept_ms: 5 }),
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
        let pending = info(&CATALOG, &task(TaskState::Queued), false, Form::Native);
        for absent in ["progress", "start_time", "end_time", "result", "error"] {
            assert!(pending.get(absent).is_none(), "PENDING has {absent}");
        }
        let running = info(&CATALOG, &task(TaskState::Running), false, Form::Native);
        assert!(running.get("progress").is_some() && running.get("start_time").is_some());
        assert!(running.get("end_time").is_none() && running.get("error").is_none());
        let done = info(&CATALOG, &task(TaskState::Success), false, Form::Native);
        assert_eq!(done["status"], "SUCCEEDED");
        assert_eq!(done["result"]["slept_ms"], 5);
        assert_eq!(done["cancelable"], false);
        assert!(
            info(&CATALOG, &task(TaskState::Success), true, Form::Native)
                .get("result")
                .is_none()
        );
        assert_eq!(done["target"]["type"], "HostSystem");
    }

    #[test]
    fn ids_carry_the_service() {
        let t = task(TaskState::Queued);
        assert_eq!(external_id(&CATALOG, &t), "abc:com.ferrocenter.diagnostics");
        assert_eq!(core_id(&external_id(&CATALOG, &t)), "abc");
    }

    #[test]
    fn bad_filters_name_the_field() {
        let e = filter_from(&CATALOG, Some(&json!({"status": ["DONE"]}))).unwrap_err();
        assert!(
            matches!(e, CoreError::InvalidArgument { ref field, .. } if field == "filter_spec.status")
        );
        let e = filter_from(&CATALOG, Some(&json!({"tasks": "x"}))).unwrap_err();
        assert!(
            matches!(e, CoreError::InvalidArgument { ref field, .. } if field == "filter_spec.tasks")
        );
    }
}
