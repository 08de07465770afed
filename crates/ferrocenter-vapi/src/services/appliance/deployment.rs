//! `com.vmware.vcenter.deployment` (get, rollback) with `install` (get, check, start, cancel)
//! and `question` (get, answer), over the core's `deployment`: setting a server up by API
//! (seeds/003 chapter 5, install stage 2).
use ferrocenter_core::appliance::health::Text;
use ferrocenter_core::deployment::{
    install::InstallSpec, Deployment, Notification, Notifications, Progress, Question, Subtask,
};
use ferrocenter_core::CoreError;
use serde_json::{json, Map, Value};

use crate::errors::{encode_error, ApiError};
use crate::registry::{http, http_action, op, Call, Op, Out, Reply};
use crate::services::std_types::{
    task_fields, LOCALIZABLE_MESSAGE, PROGRESS, STD_TASK_RULE, TASK_COMMON,
};
use crate::types::{self, field, Field, Form, StructDef, Ty, Union};
use crate::wire::{datetime, text_msg};

const SERVICE: &str = "com.vmware.vcenter.deployment";
const INSTALL: &str = "com.vmware.vcenter.deployment.install";
const QUESTION: &str = "com.vmware.vcenter.deployment.question";

const APPLIANCE_STATE: &[&str] = &[
    "NOT_INITIALIZED",
    "INITIALIZED",
    "CONFIG_IN_PROGRESS",
    "QUESTION_RAISED",
    "FAILED",
    "CONFIGURED",
];
const CHECK_STATUS: &[&str] = &["SUCCESS", "FAILED"];
const QUESTION_TYPE: &[&str] = &["YES_NO", "OK_CANCEL", "ABORT_RETRY_IGNORE"];

pub(crate) const NOTIFICATION: StructDef = StructDef {
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

pub(crate) const NOTIFICATIONS: StructDef = StructDef {
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

/// A step of a deployment (`deployment.task`), shaped as `import_history.info` is.
pub(crate) const TASK_FIELDS: [Field; 13] = task_fields(Ty::Optional(&Ty::Struct(&NOTIFICATIONS)));

const TASK: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.task",
    fields: &TASK_FIELDS,
};

const INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.info",
    fields: &{
        let c = TASK_COMMON;
        [
            field("state", Ty::Enum(APPLIANCE_STATE)),
            field("progress", Ty::Optional(&Ty::Struct(&PROGRESS))),
            field("subtask_order", Ty::Optional(&Ty::List(&Ty::String))),
            field("subtasks", Ty::Optional(&Ty::Map(&Ty::Struct(&TASK)))),
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

/// The SDK's StdTaskRule on the deployment's info and on each of its tasks.
pub const INFO_UNION: Union = Union {
    structure: "com.vmware.vcenter.deployment.info",
    discriminant: "status",
    cases: STD_TASK_RULE,
};

pub const TASK_UNION: Union = Union {
    structure: "com.vmware.vcenter.deployment.task",
    ..INFO_UNION
};

const STANDALONE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.standalone_spec",
    fields: &[
        field("sso_admin_password", Ty::String),
        field("sso_domain_name", Ty::Optional(&Ty::String)),
    ],
};

const REPLICATED_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.replicated_spec",
    fields: &[
        field("partner_hostname", Ty::String),
        field("https_port", Ty::Optional(&Ty::Long)),
        field("sso_admin_password", Ty::String),
        field("ssl_thumbprint", Ty::Optional(&Ty::String)),
        field("ssl_certificate", Ty::Optional(&Ty::String)),
        field("ssl_verify", Ty::Optional(&Ty::Bool)),
    ],
};

const VCSA_EMBEDDED_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.install.vcsa_embedded_spec",
    fields: &[
        field("standalone", Ty::Optional(&Ty::Struct(&STANDALONE_SPEC))),
        field("replicated", Ty::Optional(&Ty::Struct(&REPLICATED_SPEC))),
        field("ceip_enabled", Ty::Bool),
    ],
};

const INSTALL_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.install.install_spec",
    fields: &[
        field("vcsa_embedded", Ty::Struct(&VCSA_EMBEDDED_SPEC)),
        field("auto_answer", Ty::Optional(&Ty::Bool)),
    ],
};

const APPLIANCE_TYPE: &[&str] = &["VCSA_EMBEDDED", "VCSA_EXTERNAL", "PSC_EXTERNAL"];
const APPLIANCE_SIZE: &[&str] = &["TINY", "SMALL", "MEDIUM", "LARGE", "XLARGE"];
const MIGRATION_ESTIMATE: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.data_migration_estimate",
    fields: &[
        field("estimated_export_time", Ty::Long),
        field("estimated_import_time", Ty::Long),
        field("required_free_disk_space_on_source", Ty::Double),
    ],
};

const DATA_MIGRATION_INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.data_migration_info",
    fields: &[
        field("core", Ty::Struct(&MIGRATION_ESTIMATE)),
        field("core_events_tasks", Ty::Struct(&MIGRATION_ESTIMATE)),
        field("all", Ty::Struct(&MIGRATION_ESTIMATE)),
        field(
            "core_events_tasks_with_deferred",
            Ty::Optional(&Ty::Struct(&MIGRATION_ESTIMATE)),
        ),
        field(
            "all_with_deferred",
            Ty::Optional(&Ty::Struct(&MIGRATION_ESTIMATE)),
        ),
    ],
};

const DISK_INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.disk_info",
    fields: &[
        field("used", Ty::Double),
        field("free", Ty::Double),
        field("size", Ty::Double),
        field("mount_point", Ty::String),
    ],
};

/// `deployment.source_info`: what ferrocenter knows of a source.
pub(super) const SOURCE_INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.source_info",
    fields: &[
        field("hostname", Ty::String),
        field("version", Ty::String),
        field("deployment_type", Ty::Enum(APPLIANCE_TYPE)),
        field("deployment_size", Ty::Enum(APPLIANCE_SIZE)),
        field("sso_domain_name", Ty::String),
        field("active_directory_domain", Ty::String),
        field("dns_servers", Ty::List(&Ty::String)),
        field(
            "data_migration_info",
            Ty::Optional(&Ty::Struct(&DATA_MIGRATION_INFO)),
        ),
        field(
            "disk_info",
            Ty::Optional(&Ty::List(&Ty::Struct(&DISK_INFO))),
        ),
        field("replicated_partners", Ty::Optional(&Ty::List(&Ty::String))),
    ],
};

pub(super) const CHECK_INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.check_info",
    fields: &[
        field("status", Ty::Enum(CHECK_STATUS)),
        field("result", Ty::Optional(&Ty::Struct(&NOTIFICATIONS))),
        field("source_info", Ty::Optional(&Ty::Struct(&SOURCE_INFO))),
    ],
};

const QUESTION_DEF: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.question.question",
    fields: &[
        field("id", Ty::String),
        field("question", Ty::Struct(&LOCALIZABLE_MESSAGE)),
        field("type", Ty::Enum(QUESTION_TYPE)),
        field("default_answer", Ty::String),
        field("possible_answers", Ty::List(&Ty::String)),
    ],
};

const QUESTION_INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.question.info",
    fields: &[field("questions", Ty::List(&Ty::Struct(&QUESTION_DEF)))],
};

const ANSWER_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.question.answer_spec",
    fields: &[
        field("question_id", Ty::String),
        field("answer_val", Ty::String),
    ],
};

pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "get",
        &[],
        Ty::Struct(&INFO),
        &[http("GET", "/vcenter/deployment")],
        get,
    ),
    op(
        SERVICE,
        "rollback",
        &[],
        Ty::Void,
        &[http_action("POST", "/vcenter/deployment", "rollback")],
        rollback,
    ),
    op(
        INSTALL,
        "get",
        &[],
        Ty::Struct(&INSTALL_SPEC),
        &[http("GET", "/vcenter/deployment/install")],
        install_get,
    ),
    // The spec is read by the core, which names every problem in the check's result (an
    // unknown field too) rather than refusing the call on the first.
    op(
        INSTALL,
        "check",
        &[field("spec", Ty::Opaque)],
        Ty::Struct(&CHECK_INFO),
        &[http_action("POST", "/vcenter/deployment/install", "check")],
        install_check,
    ),
    op(
        INSTALL,
        "start",
        &[field("spec", Ty::Struct(&INSTALL_SPEC))],
        Ty::Void,
        &[http_action("POST", "/vcenter/deployment/install", "start")],
        install_start,
    ),
    op(
        INSTALL,
        "cancel",
        &[],
        Ty::Void,
        &[http_action("POST", "/vcenter/deployment/install", "cancel")],
        install_cancel,
    ),
    op(
        QUESTION,
        "get",
        &[],
        Ty::Struct(&QUESTION_INFO),
        &[http("GET", "/vcenter/deployment/question")],
        question_get,
    ),
    op(
        QUESTION,
        "answer",
        &[field("spec", Ty::Struct(&ANSWER_SPEC))],
        Ty::Void,
        &[http_action(
            "POST",
            "/vcenter/deployment/question",
            "answer",
        )],
        question_answer,
    ),
];

fn progress(p: &Progress) -> Value {
    json!({"total": p.total, "completed": p.completed, "message": text_msg(&p.message)})
}

fn notification(n: &Notification) -> Value {
    let mut v = json!({"id": n.id, "message": text_msg(&n.message)});
    if let Some(t) = n.time {
        v["time"] = json!(datetime(t));
    }
    if let Some(r) = &n.resolution {
        v["resolution"] = text_msg(r);
    }
    v
}

pub(crate) fn notifications(n: &Notifications) -> Value {
    let mut v = json!({});
    for (name, list) in [
        ("info", &n.info),
        ("warnings", &n.warnings),
        ("errors", &n.errors),
    ] {
        if !list.is_empty() {
            v[name] = Value::Array(list.iter().map(notification).collect());
        }
    }
    v
}

/// A failed step's error as a std error in the wire form of the door it goes out of.
fn error(t: &Text, form: Form) -> Value {
    let e = ApiError::Core(CoreError::internal(t.default_message.clone()));
    match form {
        Form::Rpc => encode_error(&e),
        _ => e.fields().1,
    }
}

/// The task fields of the info and of each subtask, under the union rule on `status`.
#[allow(clippy::too_many_arguments)]
fn common(
    v: &mut Value,
    status: &str,
    progress_v: Option<&Progress>,
    start: Option<time::OffsetDateTime>,
    end: Option<time::OffsetDateTime>,
    err: Option<&Text>,
    form: Form,
) {
    v["status"] = json!(status);
    if status != "PENDING" {
        let p = progress_v.cloned().unwrap_or(Progress {
            completed: 0,
            total: 1,
            message: Text {
                id: "com.ferrocenter.deployment.progress".into(),
                default_message: String::new(),
                args: vec![],
            },
        });
        v["progress"] = progress(&p);
        if let Some(s) = start.or(end) {
            v["start_time"] = json!(datetime(s));
        }
    }
    if matches!(status, "SUCCEEDED" | "FAILED") {
        if let Some(e) = end.or(start) {
            v["end_time"] = json!(datetime(e));
        }
    }
    if let Some(e) = err.filter(|_| status == "FAILED") {
        v["error"] = error(e, form);
    }
}

fn subtask(t: &Subtask, service: &str, operation: &str, form: Form) -> Value {
    let mut v = json!({
        "description": text_msg(&t.description),
        "service": service,
        "operation": operation,
        "cancelable": false,
    });
    common(
        &mut v,
        t.status.as_str(),
        t.progress.as_ref(),
        t.start_time,
        t.end_time,
        t.error.as_ref(),
        form,
    );
    if let Some(r) = &t.result {
        v["result"] = notifications(r);
    }
    v
}

fn info(d: &Deployment, form: Form) -> Value {
    let operation = d.operation.map_or("NONE", |o| o.as_str());
    let service = match d.operation {
        Some(ferrocenter_core::deployment::Operation::Install) => INSTALL,
        Some(ferrocenter_core::deployment::Operation::Upgrade) => {
            "com.vmware.vcenter.deployment.upgrade"
        }
        _ => SERVICE,
    };
    let mut v = json!({
        "state": d.state.as_str(),
        "description": text_msg(&d.description),
        "service": service,
        "operation": operation,
        "cancelable": d.cancelable,
    });
    if let Some(u) = &d.user {
        v["user"] = json!(u);
    }
    common(
        &mut v,
        d.status.as_str(),
        d.progress.as_ref(),
        d.start_time,
        d.end_time,
        d.error.as_ref(),
        form,
    );
    if !d.subtask_order.is_empty() {
        v["subtask_order"] = json!(d.subtask_order);
        let subtasks: Map<String, Value> = d
            .subtasks
            .iter()
            .map(|(k, t)| (k.clone(), subtask(t, service, k, form)))
            .collect();
        v["subtasks"] = Value::Object(subtasks);
    }
    v
}

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let d = call.state.core.deployment_get(&caller).await?;
        Ok(Out::Value(info(&d, call.form)))
    })
}

fn rollback(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state.core.deployment_rollback(&caller).await?;
        Ok(Out::Value(Value::Null))
    })
}

fn install_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let s: InstallSpec = call.state.core.install_get(&caller).await?;
        // The password is never returned: the field is required, so it says so instead.
        Ok(Out::Value(json!({
            "vcsa_embedded": {
                "ceip_enabled": s.ceip_enabled,
                "standalone": {
                    "sso_domain_name": s.sso_domain_name,
                    "sso_admin_password": "(withheld)",
                },
            },
            "auto_answer": s.auto_answer,
        })))
    })
}

/// The spec in its JSON form whichever door it came through.
fn native_spec(call: &Call) -> Result<Value, ApiError> {
    let raw = call.get("spec").cloned().unwrap_or(Value::Null);
    Ok(match call.form {
        Form::Rpc => types::decode(&Ty::Struct(&INSTALL_SPEC), &raw, Form::Rpc, "spec")?,
        _ => raw,
    })
}

fn install_check(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let spec = native_spec(&call)?;
        let c = call.state.core.install_check(&caller, &spec).await?;
        let mut v = json!({"status": if c.ok { "SUCCESS" } else { "FAILED" }});
        if !c.result.is_empty() {
            v["result"] = notifications(&c.result);
        }
        Ok(Out::Value(v))
    })
}

fn install_start(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let spec = call.get("spec").cloned().unwrap_or(Value::Null);
        call.state.core.install_start(&caller, &spec).await?;
        Ok(Out::Value(Value::Null))
    })
}

fn install_cancel(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state.core.install_cancel(&caller).await?;
        Ok(Out::Value(Value::Null))
    })
}

fn question(q: &Question) -> Value {
    json!({
        "id": q.id,
        "question": text_msg(&q.question),
        "type": q.kind.as_str(),
        "default_answer": q.default_answer,
        "possible_answers": q.possible_answers(),
    })
}

fn question_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let qs = call.state.core.deployment_questions(&caller).await?;
        Ok(Out::Value(
            json!({"questions": qs.iter().map(question).collect::<Vec<_>>()}),
        ))
    })
}

fn question_answer(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let spec = call.get("spec").cloned().unwrap_or(Value::Null);
        let text = |k: &str| {
            spec.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        call.state
            .core
            .deployment_answer(&caller, &text("question_id"), &text("answer_val"))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}
