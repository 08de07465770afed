//! `com.vmware.vcenter.deployment.import_history` (get, start, pause, resume, cancel) over the
//! core's `history_import`: the deferred import of a source server's tasks, events and
//! statistics. Served on both listeners, as the management guide says (5480 with root, 443
//! with SSO credentials); only a superAdmin may call any of it, which is the core's rule.
use ferrocenter_core::history_import::{ImportInfo, NoteLevel, StartSpec, Status};
use serde_json::{json, Value};

use crate::errors::{encode_error, ApiError};
use crate::registry::{http, http_action, op, Call, Op, Out, Reply};
use crate::services::std_types::{DYNAMIC_ID, LOCALIZABLE_MESSAGE, PROGRESS, TASK_STATUS};
use crate::types::{field, Form, StructDef, Ty, Union};
use crate::wire::{datetime, loc_msg};

const SERVICE: &str = "com.vmware.vcenter.deployment.import_history";
const PATH: &str = "/vcenter/deployment/history";

const NOTIFICATION: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.notification",
    fields: &[
        field("id", Ty::String),
        field("time", Ty::Optional(&Ty::DateTime)),
        field("message", Ty::Struct(&LOCALIZABLE_MESSAGE)),
        field(
            "resolution",
            Ty::Optional(&Ty::Struct(&LOCALIZABLE_MESSAGE)),
        ),
    ],
};

const NOTIFICATIONS: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.notifications",
    fields: &[
        field("info", Ty::Optional(&Ty::List(&Ty::Struct(&NOTIFICATION)))),
        field(
            "warnings",
            Ty::Optional(&Ty::List(&Ty::Struct(&NOTIFICATION))),
        ),
        field(
            "errors",
            Ty::Optional(&Ty::List(&Ty::Struct(&NOTIFICATION))),
        ),
    ],
};

const INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.import_history.info",
    fields: &[
        field("progress", Ty::Optional(&Ty::Struct(&PROGRESS))),
        field("result", Ty::Optional(&Ty::Struct(&NOTIFICATIONS))),
        field("description", Ty::Struct(&LOCALIZABLE_MESSAGE)),
        field("service", Ty::Id),
        field("operation", Ty::Id),
        field("parent", Ty::Optional(&Ty::Id)),
        field("target", Ty::Optional(&Ty::Struct(&DYNAMIC_ID))),
        field("status", Ty::Enum(TASK_STATUS)),
        field("cancelable", Ty::Bool),
        field("error", Ty::Optional(&Ty::Opaque)),
        field("start_time", Ty::Optional(&Ty::DateTime)),
        field("end_time", Ty::Optional(&Ty::DateTime)),
        field("user", Ty::Optional(&Ty::String)),
    ],
};

/// The SDK's rule for `import_history.info` (reference §10's StdTaskRule): a BLOCKED import
/// carries no `error`, so why it is blocked is in `result`'s notifications.
pub const INFO_UNION: Union = Union {
    structure: "com.vmware.vcenter.deployment.import_history.info",
    discriminant: "status",
    cases: &[
        ("PENDING", &[]),
        (
            "RUNNING",
            &[("progress", true), ("result", false), ("start_time", true)],
        ),
        (
            "BLOCKED",
            &[("progress", true), ("result", false), ("start_time", true)],
        ),
        (
            "SUCCEEDED",
            &[
                ("progress", true),
                ("result", false),
                ("start_time", true),
                ("end_time", true),
            ],
        ),
        (
            "FAILED",
            &[
                ("progress", true),
                ("result", false),
                ("error", false),
                ("start_time", true),
                ("end_time", true),
            ],
        ),
    ],
};

const CREATE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.import_history.create_spec",
    fields: &[field("name", Ty::String), field("description", Ty::String)],
};

pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "get",
        &[],
        Ty::Struct(&INFO),
        &[http("GET", PATH)],
        get,
    ),
    op(
        SERVICE,
        "start",
        &[field("spec", Ty::Optional(&Ty::Struct(&CREATE_SPEC)))],
        Ty::Void,
        &[http_action("POST", PATH, "start")],
        start,
    ),
    op(
        SERVICE,
        "pause",
        &[],
        Ty::Void,
        &[http_action("POST", PATH, "pause")],
        pause,
    ),
    op(
        SERVICE,
        "resume",
        &[],
        Ty::Void,
        &[http_action("POST", PATH, "resume")],
        resume,
    ),
    op(
        SERVICE,
        "cancel",
        &[],
        Ty::Void,
        &[http_action("POST", PATH, "cancel")],
        cancel,
    ),
];

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let i = call.state.core.history_import_get(&caller).await?;
        Ok(Out::Value(info(&i, call.form)))
    })
}

fn info(i: &ImportInfo, form: Form) -> Value {
    let mut v = json!({
        "description": loc_msg("com.vmware.vcenter.deployment.history.import", &i.description, &[]),
        "service": SERVICE,
        "operation": "start",
        "status": i.status.as_str(),
        "cancelable": i.cancelable,
    });
    if let Some(u) = &i.user {
        v["user"] = json!(u);
    }
    if i.status == Status::Pending {
        return v;
    }
    if let Some(p) = &i.progress {
        let table = p.table.as_deref().unwrap_or("");
        v["progress"] = json!({
            "total": p.total,
            "completed": p.completed,
            "message": loc_msg("com.ferrocenter.history_import.progress", &p.message, &[table]),
        });
    }
    if let Some(t) = i.start_time {
        v["start_time"] = json!(datetime(t));
    }
    if matches!(i.status, Status::Succeeded | Status::Failed) {
        if let Some(t) = i.end_time {
            v["end_time"] = json!(datetime(t));
        }
    }
    if !i.notes.is_empty() {
        let mut result = json!({});
        for (level, key) in [
            (NoteLevel::Info, "info"),
            (NoteLevel::Warning, "warnings"),
            (NoteLevel::Error, "errors"),
        ] {
            let notes: Vec<Value> = i
                .notes
                .iter()
                .filter(|n| n.level == level)
                .map(|n| {
                    json!({
                        "id": n.id,
                        "time": datetime(n.time),
                        "message": loc_msg(n.id, &n.message, &[]),
                    })
                })
                .collect();
            if !notes.is_empty() {
                result[key] = json!(notes);
            }
        }
        v["result"] = result;
    }
    if let (Status::Failed, Some(e)) = (i.status, &i.error) {
        let e = ApiError::Core(e.clone());
        v["error"] = match form {
            Form::Rpc => encode_error(&e),
            _ => e.fields().1,
        };
    }
    v
}

fn start(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let spec = call.get("spec").map(|s| {
            let text = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            StartSpec {
                name: text("name"),
                description: text("description"),
            }
        });
        call.state.core.history_import_start(&caller, spec).await?;
        Ok(Out::Value(Value::Null))
    })
}

enum Change {
    Pause,
    Resume,
    Cancel,
}

async fn change(call: Call, what: Change) -> Result<Out, ApiError> {
    let caller = call.caller().await?;
    let core = &call.state.core;
    match what {
        Change::Pause => core.history_import_pause(&caller).await?,
        Change::Resume => core.history_import_resume(&caller).await?,
        Change::Cancel => core.history_import_cancel(&caller).await?,
    }
    Ok(Out::Value(Value::Null))
}

fn pause(call: Call) -> Reply {
    Box::pin(change(call, Change::Pause))
}

fn resume(call: Call) -> Reply {
    Box::pin(change(call, Change::Resume))
}

fn cancel(call: Call) -> Reply {
    Box::pin(change(call, Change::Cancel))
}
