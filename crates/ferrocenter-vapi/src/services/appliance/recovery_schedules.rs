//! `com.vmware.appliance.recovery.backup.schedules` (create, get, list, update, delete, run)
//! over the core's `recovery::schedules`, which holds every rule and names the bad field.
//! `fast_backup` is accepted and ignored, as `backup.job.create` does.
use ferrocenter_core::ports::LocationSecret;
use ferrocenter_core::recovery::schedules::{day_name, RecurrenceSpec, ScheduleInfo, ScheduleSpec};
use serde_json::{json, Map, Value};

use super::recovery::{backup_job_status, BACKUP_JOB_STATUS};
use crate::registry::{http, http_action, op, Call, Op, Out, Reply};
use crate::rules::Rule;
use crate::types::{field, Field, StructDef, Ty};

const SERVICE: &str = "com.vmware.appliance.recovery.backup.schedules";
const PATH: &str = "/appliance/recovery/backup/schedules/{schedule}";

/// `day_of_week` of the schedules and of the update policy.
pub(crate) const DAYS: &[&str] = &[
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];

const RECURRENCE_INFO: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.schedules.recurrence_info",
    fields: &[
        field("minute", Ty::Rule(Rule::Minute)),
        field("hour", Ty::Rule(Rule::Hour)),
        field("days", Ty::Optional(&Ty::List(&Ty::Enum(DAYS)))),
    ],
};

const RETENTION_INFO: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.schedules.retention_info",
    fields: &[field("max_count", Ty::Long)],
};

const INFO: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.schedules.info",
    fields: &[
        field("parts", Ty::List(&Ty::String)),
        field("location", Ty::String),
        field("location_user", Ty::Optional(&Ty::String)),
        field("enable", Ty::Bool),
        field(
            "recurrence_info",
            Ty::Optional(&Ty::Struct(&RECURRENCE_INFO)),
        ),
        field("retention_info", Ty::Optional(&Ty::Struct(&RETENTION_INFO))),
        field("fast_backup", Ty::Optional(&Ty::Bool)),
    ],
};

/// The fields `create_spec` and `update_spec` share after the location.
macro_rules! spec_fields {
    ($location:expr) => {
        &[
            field("parts", Ty::Optional(&Ty::List(&Ty::String))),
            field("backup_password", Ty::Optional(&Ty::Secret)),
            field("location", $location),
            field("location_user", Ty::Optional(&Ty::String)),
            field("location_password", Ty::Optional(&Ty::Secret)),
            field("enable", Ty::Optional(&Ty::Bool)),
            field(
                "recurrence_info",
                Ty::Optional(&Ty::Struct(&RECURRENCE_INFO)),
            ),
            field("retention_info", Ty::Optional(&Ty::Struct(&RETENTION_INFO))),
            field("fast_backup", Ty::Optional(&Ty::Bool)),
        ]
    };
}

const CREATE_SPEC: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.schedules.create_spec",
    fields: spec_fields!(Ty::String),
};

const UPDATE_SPEC: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.schedules.update_spec",
    fields: spec_fields!(Ty::Optional(&Ty::String)),
};

const SCHEDULE: &[Field] = &[field("schedule", Ty::Id)];

/// `create` before `run`: they share a path and method, and the OpenAPI document keys the
/// second by its `?action=`.
pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "list",
        &[],
        Ty::Map(&Ty::Struct(&INFO)),
        &[http("GET", "/appliance/recovery/backup/schedules")],
        list,
    ),
    op(
        SERVICE,
        "get",
        SCHEDULE,
        Ty::Struct(&INFO),
        &[http("GET", PATH)],
        get,
    ),
    op(
        SERVICE,
        "create",
        &[
            field("schedule", Ty::Id),
            field("spec", Ty::Struct(&CREATE_SPEC)),
        ],
        Ty::Void,
        &[http("POST", PATH)],
        create,
    ),
    op(
        SERVICE,
        "run",
        &[
            field("schedule", Ty::Id),
            field("comment", Ty::Optional(&Ty::String)),
        ],
        Ty::Struct(&BACKUP_JOB_STATUS),
        &[http_action("POST", PATH, "run")],
        run,
    ),
    op(
        SERVICE,
        "update",
        &[
            field("schedule", Ty::Id),
            field("spec", Ty::Struct(&UPDATE_SPEC)),
        ],
        Ty::Void,
        &[http(
            "PUT",
            "/appliance/recovery/backup/schedules/update/{schedule}",
        )],
        update,
    ),
    op(
        SERVICE,
        "delete",
        SCHEDULE,
        Ty::Void,
        &[http("DELETE", PATH)],
        delete,
    ),
];

fn info(i: &ScheduleInfo) -> Value {
    let mut out = Map::new();
    out.insert("parts".into(), json!(i.parts));
    out.insert("location".into(), json!(i.location));
    if let Some(u) = &i.location_user {
        out.insert("location_user".into(), json!(u));
    }
    out.insert("enable".into(), json!(i.enable));
    if let Some(r) = &i.recurrence {
        out.insert(
            "recurrence_info".into(),
            json!({
                "minute": r.minute,
                "hour": r.hour,
                "days": r.days.iter().map(|d| day_name(*d)).collect::<Vec<_>>(),
            }),
        );
    }
    if let Some(n) = i.max_count {
        out.insert("retention_info".into(), json!({ "max_count": n }));
    }
    Value::Object(out)
}

/// The decoded `spec` (types already checked by the registry) as the core takes it.
fn spec(call: &Call) -> ScheduleSpec {
    let s = call.get("spec").cloned().unwrap_or_default();
    let text = |k: &str| s.get(k).and_then(Value::as_str).map(String::from);
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    ScheduleSpec {
        parts: s.get("parts").filter(|v| !v.is_null()).map(strings),
        backup_password: text("backup_password").map(LocationSecret::new),
        location: text("location"),
        location_user: text("location_user"),
        location_password: text("location_password").map(LocationSecret::new),
        enable: s.get("enable").and_then(Value::as_bool),
        recurrence: s
            .get("recurrence_info")
            .filter(|v| v.is_object())
            .map(|r| RecurrenceSpec {
                minute: r.get("minute").and_then(Value::as_i64).unwrap_or_default(),
                hour: r.get("hour").and_then(Value::as_i64).unwrap_or_default(),
                days: r.get("days").filter(|v| !v.is_null()).map(strings),
            }),
        max_count: s
            .get("retention_info")
            .and_then(|r| r.get("max_count"))
            .and_then(Value::as_i64),
    }
}

fn list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let all = call.state.core.backup_schedule_list(&caller).await?;
        let map: Map<String, Value> = all.iter().map(|i| (i.id.clone(), info(i))).collect();
        Ok(Out::Value(Value::Object(map)))
    })
}

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let i = call
            .state
            .core
            .backup_schedule_get(&caller, call.text("schedule"))
            .await?;
        Ok(Out::Value(info(&i)))
    })
}

fn create(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .backup_schedule_create(&caller, call.text("schedule"), spec(&call))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn update(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .backup_schedule_update(&caller, call.text("schedule"), spec(&call))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn delete(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .backup_schedule_delete(&caller, call.text("schedule"))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn run(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let comment = call
            .get("comment")
            .and_then(Value::as_str)
            .map(String::from);
        let job = call
            .state
            .core
            .backup_schedule_run(&caller, call.text("schedule"), comment)
            .await?;
        Ok(Out::Value(backup_job_status(&job)))
    })
}
