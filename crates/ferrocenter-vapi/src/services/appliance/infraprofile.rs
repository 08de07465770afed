//! `com.vmware.appliance.infraprofile.configs` (list, export, validate$task,
//! import_profile$task) over the core's `appliance::infraprofile`, which reads, checks and
//! applies the profiles; this module reads the request and renders the answer.
use ferrocenter_core::appliance::firewall::CallOrigin;
use ferrocenter_core::appliance::infraprofile::{
    ImportSpec, Notification, ProfilesSpec, ValidationOutcome,
};
use ferrocenter_core::tasks::{Task, TaskKind, TaskResult};
use serde_json::{json, Value};

use crate::registry::{http, op, Call, Http, Op, Out, Reply, TaskVariant};
use crate::services::std_types::LOCALIZABLE_MESSAGE;
use crate::types::{field, StructDef, Ty};
use crate::wire::loc_msg;

const SERVICE: &str = "com.vmware.appliance.infraprofile.configs";
const PATH: &str = "/appliance/infraprofile/configs";

const PROFILE_INFO: StructDef = StructDef {
    name: "com.vmware.appliance.infraprofile.configs.profile_info",
    fields: &[field("name", Ty::Id), field("info", Ty::String)],
};

const PROFILES_SPEC: StructDef = StructDef {
    name: "com.vmware.appliance.infraprofile.configs.profiles_spec",
    fields: &[
        field("encryption_key", Ty::Optional(&Ty::Secret)),
        field("description", Ty::Optional(&Ty::String)),
        field("profiles", Ty::Optional(&Ty::Set(&Ty::Id))),
    ],
};

const IMPORT_PROFILE_SPEC: StructDef = StructDef {
    name: "com.vmware.appliance.infraprofile.configs.import_profile_spec",
    fields: &[
        field("config_spec", Ty::String),
        field("profile_spec", Ty::Optional(&Ty::Struct(&PROFILES_SPEC))),
    ],
};

const NOTIFICATION: StructDef = StructDef {
    name: "com.vmware.appliance.infraprofile.notification",
    fields: &[
        field("notification", Ty::Id),
        field("time", Ty::Optional(&Ty::DateTime)),
        field("message", Ty::Struct(&LOCALIZABLE_MESSAGE)),
        field(
            "resolution",
            Ty::Optional(&Ty::Struct(&LOCALIZABLE_MESSAGE)),
        ),
    ],
};

const NOTIFICATION_LIST: Ty = Ty::Optional(&Ty::List(&Ty::Struct(&NOTIFICATION)));

const NOTIFICATIONS: StructDef = StructDef {
    name: "com.vmware.appliance.infraprofile.notifications",
    fields: &[
        field("info", NOTIFICATION_LIST),
        field("warnings", NOTIFICATION_LIST),
        field("errors", NOTIFICATION_LIST),
    ],
};

const VALIDATION_RESULT: StructDef = StructDef {
    name: "com.vmware.appliance.infraprofile.configs.validation_result",
    fields: &[
        field("status", Ty::Enum(&["VALID", "INVALID"])),
        field("notifications", Ty::Optional(&Ty::Struct(&NOTIFICATIONS))),
    ],
};

/// The SDK's binding: `action=…` with the spec alone as the body; `/rest` wraps it as
/// `{"spec": …}`.
const fn with_spec(action: &'static str) -> Http {
    Http {
        method: "POST",
        path: PATH,
        action: Some(action),
        body: Some("spec"),
    }
}

pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "list",
        &[],
        Ty::List(&Ty::Struct(&PROFILE_INFO)),
        &[http("GET", PATH)],
        list,
    ),
    Op {
        rest: Some(&[crate::registry::http_action("POST", PATH, "export")]),
        ..op(
            SERVICE,
            "export",
            &[field("spec", Ty::Optional(&Ty::Struct(&PROFILES_SPEC)))],
            Ty::String,
            &[with_spec("export")],
            export,
        )
    },
    Op {
        task: TaskVariant::Also,
        task_kind: Some(TaskKind::ApplianceProfileValidate),
        result: validation_result,
        rest: Some(&[crate::registry::http_action("POST", PATH, "validate")]),
        ..op(
            SERVICE,
            "validate",
            &[field("spec", Ty::Struct(&IMPORT_PROFILE_SPEC))],
            Ty::Struct(&VALIDATION_RESULT),
            &[with_spec("validate")],
            validate,
        )
    },
    Op {
        task: TaskVariant::Also,
        task_kind: Some(TaskKind::ApplianceProfileImport),
        result: import_result,
        rest: Some(&[crate::registry::http_action("POST", PATH, "import")]),
        ..op(
            SERVICE,
            "import_profile",
            &[field("spec", Ty::Struct(&IMPORT_PROFILE_SPEC))],
            Ty::String,
            &[with_spec("import")],
            import,
        )
    },
];

fn profiles_spec(v: &Value) -> ProfilesSpec {
    ProfilesSpec {
        encryption_key: v["encryption_key"].as_str().map(str::to_string),
        description: v["description"].as_str().map(str::to_string),
        profiles: v["profiles"].as_array().map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        }),
    }
}

fn import_spec(call: &Call) -> ImportSpec {
    let spec = call.get("spec").cloned().unwrap_or_default();
    ImportSpec {
        config_spec: spec["config_spec"].as_str().unwrap_or_default().to_string(),
        profile_spec: spec
            .get("profile_spec")
            .filter(|p| !p.is_null())
            .map(profiles_spec),
    }
}

fn notification(n: &Notification) -> Value {
    json!({
        "notification": n.id,
        "message": loc_msg(&n.id, &n.message, &[]),
    })
}

fn render_validation(v: &ValidationOutcome) -> Value {
    let list = |l: &[Notification]| Value::Array(l.iter().map(notification).collect());
    json!({
        "status": if v.valid { "VALID" } else { "INVALID" },
        "notifications": {
            "info": list(&v.notifications.info),
            "warnings": list(&v.notifications.warnings),
            "errors": list(&v.notifications.errors),
        },
    })
}

fn validation_result(t: &Task) -> Value {
    match &t.result {
        Some(TaskResult::ProfileValidation { validation }) => render_validation(validation),
        _ => Value::Null,
    }
}

fn import_result(t: &Task) -> Value {
    match &t.result {
        Some(TaskResult::ProfileImport { imported }) => json!(imported),
        _ => Value::Null,
    }
}

fn list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let profiles = call.state.core.infraprofile_list(&caller).await?;
        Ok(Out::Value(Value::Array(
            profiles
                .iter()
                .map(|p| json!({"name": p.name, "info": p.info}))
                .collect(),
        )))
    })
}

fn export(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let spec = call.get("spec").map(profiles_spec).unwrap_or_default();
        let text = call.state.core.infraprofile_export(&caller, spec).await?;
        Ok(Out::Value(json!(text)))
    })
}

fn validate(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let task = call
            .state
            .core
            .infraprofile_validate(&caller, import_spec(&call))
            .await?;
        Ok(Out::task(task))
    })
}

fn import(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let origin = CallOrigin {
            peer: call.peer,
            local: call.local,
        };
        let task = call
            .state
            .core
            .infraprofile_import(&caller, origin, import_spec(&call))
            .await?;
        Ok(Out::task(task))
    })
}
