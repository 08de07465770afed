//! Structures shared across services (`com.vmware.vapi.std`, `com.vmware.cis.task`).
use super::super::types::{field, Field, StructDef, Ty};

pub const LOCALIZABLE_MESSAGE: StructDef = StructDef {
    name: "com.vmware.vapi.std.localizable_message",
    fields: &[
        field("id", Ty::String),
        field("default_message", Ty::String),
        field("args", Ty::List(&Ty::String)),
        field("params", Ty::Optional(&Ty::Map(&Ty::Opaque))),
        field("localized", Ty::Optional(&Ty::String)),
    ],
};

pub const DYNAMIC_ID: StructDef = StructDef {
    name: "com.vmware.vapi.std.dynamic_ID",
    fields: &[field("type", Ty::String), field("id", Ty::Id)],
};

pub const PROGRESS: StructDef = StructDef {
    name: "com.vmware.cis.task.progress",
    fields: &[
        field("total", Ty::Long),
        field("completed", Ty::Long),
        field("message", Ty::Struct(&LOCALIZABLE_MESSAGE)),
    ],
};

pub const TASK_STATUS: &[&str] = &["PENDING", "RUNNING", "BLOCKED", "SUCCEEDED", "FAILED"];

/// `cis.task.common`'s fields, which every task-shaped structure embeds after its own.
pub const TASK_COMMON: [Field; 11] = [
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
];

/// `progress` and `result`, then [`TASK_COMMON`]: the fields of `cis.task.info` and of the task
/// structures shaped like it (`result` typed by each).
pub const fn task_fields(result: Ty) -> [Field; 13] {
    let c = TASK_COMMON;
    [
        field("progress", Ty::Optional(&Ty::Struct(&PROGRESS))),
        field("result", result),
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
}

/// Reference §10's StdTaskRule: what each task status requires (true) or allows (false).
pub const STD_TASK_RULE: &[(&str, &[(&str, bool)])] = &[
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
];
