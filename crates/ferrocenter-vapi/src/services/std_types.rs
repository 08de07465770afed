//! Structures shared across services (`com.vmware.vapi.std`, `com.vmware.cis.task`).
use super::super::types::{field, StructDef, Ty};

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
