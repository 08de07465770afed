//! `com.vmware.appliance.update` (get, cancel) and `.staged` (get, delete) over the core's
//! `update` service, and the structures `.pending` shares. A stage or install runs as a core task: `get`
//! shows it as `appliance.task_info` with one subtask, `stage` or `install`.
use ferrocenter_core::tasks::{Task, TaskKind};
use ferrocenter_core::update::UpdateSummary;
use serde_json::{json, Map, Value};

use super::health::NOTIFICATION;
use crate::registry::{http, http_action, op, Call, Op, Out, Reply};
use crate::services::std_types::{LOCALIZABLE_MESSAGE, PROGRESS, TASK_COMMON};
use crate::types::{field, StructDef, Ty};
use crate::wire::{datetime, loc_msg};

const SERVICE: &str = "com.vmware.appliance.update";
const STAGED: &str = "com.vmware.appliance.update.staged";

const STATE: &[&str] = &[
    "UP_TO_DATE",
    "UPDATES_PENDING",
    "STAGE_IN_PROGRESS",
    "INSTALL_IN_PROGRESS",
    "INSTALL_FAILED",
    "ROLLBACK_IN_PROGRESS",
];
pub(super) const PRIORITY: &[&str] = &["HIGH", "MEDIUM", "LOW"];
pub(super) const SEVERITY: &[&str] = &["CRITICAL", "IMPORTANT", "MODERATE", "LOW"];
pub(super) const CATEGORY: &[&str] = &["SECURITY", "FIX", "UPDATE", "UPGRADE"];
const ROLLBACK_STATE: &[&str] = &[
    "ROLLBACK_NOT_STARTED",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_SUCCEEDED",
    "ROLLBACK_FAILED",
];

pub(super) const NOTIFICATIONS: StructDef = StructDef {
    name: "com.vmware.appliance.notifications",
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

pub(super) const SUMMARY: StructDef = StructDef {
    name: "com.vmware.appliance.update.summary",
    fields: &[
        field("version", Ty::Id),
        field("name", Ty::String),
        field("description", Ty::Struct(&LOCALIZABLE_MESSAGE)),
        field("priority", Ty::Enum(PRIORITY)),
        field("severity", Ty::Enum(SEVERITY)),
        field("update_type", Ty::Enum(CATEGORY)),
        field("release_date", Ty::DateTime),
        field("quick_patch", Ty::Optional(&Ty::Bool)),
        field("reboot_required", Ty::Bool),
        field("size", Ty::Long),
    ],
};

const STAGED_INFO: StructDef = StructDef {
    name: "com.vmware.appliance.update.staged.info",
    fields: &[
        field("staging_complete", Ty::Bool),
        field("component", Ty::Optional(&Ty::String)),
        field("version", Ty::Id),
        field("name", Ty::String),
        field("description", Ty::Struct(&LOCALIZABLE_MESSAGE)),
        field("priority", Ty::Enum(PRIORITY)),
        field("severity", Ty::Enum(SEVERITY)),
        field("update_type", Ty::Enum(CATEGORY)),
        field("release_date", Ty::DateTime),
        field("quick_patch", Ty::Optional(&Ty::Bool)),
        field("reboot_required", Ty::Bool),
        field("size", Ty::Long),
    ],
};

const SUBTASK_INFO: StructDef = StructDef {
    name: "com.vmware.appliance.subtask_info",
    fields: &{
        let c = TASK_COMMON;
        [
            field("progress", Ty::Optional(&Ty::Struct(&PROGRESS))),
            field("result", Ty::Optional(&Ty::Struct(&NOTIFICATIONS))),
            field(
                "auto_rollback_state",
                Ty::Optional(&Ty::Enum(ROLLBACK_STATE)),
            ),
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5],
            c[6],
            c[7],
            c[8],
            c[9],
            c[10],
        ]
    },
};

const TASK_INFO: StructDef = StructDef {
    name: "com.vmware.appliance.task_info",
    fields: &{
        let c = TASK_COMMON;
        [
            field("progress", Ty::Optional(&Ty::Struct(&PROGRESS))),
            field("subtask_order", Ty::List(&Ty::String)),
            field("subtasks", Ty::Map(&Ty::Struct(&SUBTASK_INFO))),
            field(
                "auto_rollback_state",
                Ty::Optional(&Ty::Enum(ROLLBACK_STATE)),
            ),
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5],
            c[6],
            c[7],
            c[8],
            c[9],
            c[10],
        ]
    },
};

const INFO: StructDef = StructDef {
    name: "com.vmware.appliance.update.info",
    fields: &[
        field("state", Ty::Enum(STATE)),
        field("task", Ty::Optional(&Ty::Struct(&TASK_INFO))),
        field("version", Ty::String),
        field("latest_query_time", Ty::Optional(&Ty::DateTime)),
    ],
};

pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "get",
        &[],
        Ty::Struct(&INFO),
        &[http("GET", "/appliance/update")],
        get,
    ),
    op(
        SERVICE,
        "cancel",
        &[],
        Ty::Void,
        &[http_action("POST", "/appliance/update", "cancel")],
        cancel,
    ),
    op(
        STAGED,
        "get",
        &[],
        Ty::Struct(&STAGED_INFO),
        &[http("GET", "/appliance/update/staged")],
        staged_get,
    ),
    op(
        STAGED,
        "delete",
        &[],
        Ty::Void,
        &[http("DELETE", "/appliance/update/staged")],
        staged_delete,
    ),
];

/// The summary fields of an update, into `out`.
pub(super) fn summary_into(out: &mut Map<String, Value>, s: &UpdateSummary) {
    out.insert("version".into(), json!(s.version));
    out.insert("name".into(), json!(s.name));
    out.insert(
        "description".into(),
        loc_msg(
            "com.ferrocenter.appliance.update.description",
            &s.description,
            &[],
        ),
    );
    out.insert("priority".into(), json!(s.priority.as_str()));
    out.insert("severity".into(), json!(s.severity.as_str()));
    out.insert("update_type".into(), json!(s.update_type.as_str()));
    out.insert("release_date".into(), json!(datetime(s.release_date)));
    out.insert("reboot_required".into(), json!(s.reboot_required));
    out.insert("size".into(), json!(s.size));
}

pub(super) fn summary(s: &UpdateSummary) -> Value {
    let mut out = Map::new();
    summary_into(&mut out, s);
    Value::Object(out)
}

/// The stage or install task as `appliance.task_info`: the cis task's fields, and itself as
/// the one subtask, `stage` or `install`.
fn task_info(call: &Call, t: &Task) -> Value {
    let name = if t.kind == TaskKind::ApplianceUpdateInstall {
        "install"
    } else {
        "stage"
    };
    let mut v = crate::tasks::info(call.catalog, t, true, call.form);
    if let Some(o) = v.as_object_mut() {
        o.remove("result");
    }
    let sub = v.clone();
    v["subtask_order"] = json!([name]);
    v["subtasks"] = json!({ name: sub });
    v
}

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let i = call.state.core.update_get(&caller).await?;
        let mut out = json!({
            "state": i.state.as_str(),
            "version": i.version,
        });
        if let Some(t) = &i.task {
            out["task"] = task_info(&call, t);
        }
        if let Some(q) = i.latest_query_time {
            out["latest_query_time"] = json!(datetime(q));
        }
        Ok(Out::Value(out))
    })
}

fn cancel(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state.core.update_cancel(&caller).await?;
        Ok(Out::Value(Value::Null))
    })
}

fn staged_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let s = call.state.core.update_staged_get(&caller).await?;
        let mut out = Map::new();
        out.insert("staging_complete".into(), json!(s.staging_complete));
        summary_into(&mut out, &s.summary);
        Ok(Out::Value(Value::Object(out)))
    })
}

fn staged_delete(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state.core.update_staged_delete(&caller).await?;
        Ok(Out::Value(Value::Null))
    })
}
