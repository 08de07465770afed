//! `com.vmware.appliance.update.pending` (list, get, precheck, validate, stage, install,
//! stage_and_install, rollback) over the
//! core's `update` service. `source_type=DEFAULT`, which the management guide's curl line
//! sends, is read as LOCAL_AND_ONLINE. ferrocenter has no components: the core refuses a
//! `component`, naming it.
use std::collections::BTreeMap;

use ferrocenter_core::update::SourceType;
use serde_json::{json, Map, Value};

use super::deployment::notifications;
use super::update::{summary, summary_into, NOTIFICATIONS, SUMMARY};
use crate::registry::{http, http_action, op, Call, Op, Out, Reply};
use crate::services::std_types::LOCALIZABLE_MESSAGE;
use crate::types::{field, StructDef, Ty};
use crate::wire::{datetime, loc_msg};

const SERVICE: &str = "com.vmware.appliance.update.pending";
const PATH: &str = "/appliance/update/pending";
const ITEM: &str = "/appliance/update/pending/{version}";

const SOURCE_TYPE: &[&str] = &["LAST_CHECK", "LOCAL", "LOCAL_AND_ONLINE", "DEFAULT"];
const INPUT_TYPE: &[&str] = &["PLAIN_TEXT", "BOOLEAN", "PASSWORD"];

const SERVICE_INFO: StructDef = StructDef {
    name: "com.vmware.appliance.update.service_info",
    fields: &[
        field("service", Ty::Id),
        field("description", Ty::Struct(&LOCALIZABLE_MESSAGE)),
    ],
};

const INFO: StructDef = StructDef {
    name: "com.vmware.appliance.update.pending.info",
    fields: &[
        field("name", Ty::String),
        field("contents", Ty::List(&Ty::Struct(&LOCALIZABLE_MESSAGE))),
        field(
            "services_will_be_stopped",
            Ty::List(&Ty::Struct(&SERVICE_INFO)),
        ),
        field("estimated_time_to_install", Ty::Optional(&Ty::Long)),
        field("workload_management_impact", Ty::Optional(&Ty::Bool)),
        field("eulas", Ty::List(&Ty::Struct(&LOCALIZABLE_MESSAGE))),
        field("staged", Ty::Bool),
        field("knowledge_base", Ty::String),
        field("description", Ty::Struct(&LOCALIZABLE_MESSAGE)),
        field("priority", Ty::Enum(super::update::PRIORITY)),
        field("severity", Ty::Enum(super::update::SEVERITY)),
        field("update_type", Ty::Enum(super::update::CATEGORY)),
        field("release_date", Ty::DateTime),
        field("quick_patch", Ty::Optional(&Ty::Bool)),
        field("reboot_required", Ty::Bool),
        field("size", Ty::Long),
    ],
};

const QUESTION: StructDef = StructDef {
    name: "com.vmware.appliance.update.pending.question",
    fields: &[
        field("data_item", Ty::Id),
        field("text", Ty::Struct(&LOCALIZABLE_MESSAGE)),
        field("description", Ty::Struct(&LOCALIZABLE_MESSAGE)),
        field("type", Ty::Enum(INPUT_TYPE)),
        field("allowed_values", Ty::Optional(&Ty::List(&Ty::String))),
        field("regexp", Ty::Optional(&Ty::String)),
        field("default_answer", Ty::Optional(&Ty::String)),
    ],
};

const PRECHECK_RESULT: StructDef = StructDef {
    name: "com.vmware.appliance.update.pending.precheck_result",
    fields: &[
        field("check_time", Ty::DateTime),
        field("estimated_time_to_install", Ty::Optional(&Ty::Long)),
        field("estimated_time_to_rollback", Ty::Optional(&Ty::Long)),
        field("reboot_required", Ty::Bool),
        field("issues", Ty::Optional(&Ty::Struct(&NOTIFICATIONS))),
        field("questions", Ty::List(&Ty::Struct(&QUESTION))),
    ],
};

const VERSION: crate::types::Field = field("version", Ty::Id);
const USER_DATA: crate::types::Field = field("user_data", Ty::Map(&Ty::String));
const COMPONENT: crate::types::Field = field("component", Ty::Optional(&Ty::String));

pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "list",
        &[
            field("source_type", Ty::Enum(SOURCE_TYPE)),
            field("url", Ty::Optional(&Ty::String)),
            field(
                "enable_list_major_upgrade_versions",
                Ty::Optional(&Ty::Bool),
            ),
        ],
        Ty::List(&Ty::Struct(&SUMMARY)),
        &[http("GET", PATH)],
        list,
    ),
    op(
        SERVICE,
        "get",
        &[VERSION, COMPONENT],
        Ty::Struct(&INFO),
        &[http("GET", ITEM)],
        get,
    ),
    op(
        SERVICE,
        "precheck",
        &[VERSION, COMPONENT],
        Ty::Struct(&PRECHECK_RESULT),
        &[http_action("POST", ITEM, "precheck")],
        precheck,
    ),
    op(
        SERVICE,
        "validate",
        &[VERSION, USER_DATA, COMPONENT],
        Ty::Struct(&NOTIFICATIONS),
        &[http_action("POST", ITEM, "validate")],
        validate,
    ),
    op(
        SERVICE,
        "stage",
        &[VERSION, COMPONENT],
        Ty::Void,
        &[http_action("POST", ITEM, "stage")],
        stage,
    ),
    op(
        SERVICE,
        "install",
        &[VERSION, USER_DATA, COMPONENT],
        Ty::Void,
        &[http_action("POST", ITEM, "install")],
        install,
    ),
    op(
        SERVICE,
        "stage_and_install",
        &[VERSION, USER_DATA, COMPONENT],
        Ty::Void,
        &[http_action("POST", ITEM, "stage-and-install")],
        stage_and_install,
    ),
    op(
        SERVICE,
        "rollback",
        &[],
        Ty::Void,
        &[http_action("POST", PATH, "rollback")],
        rollback,
    ),
];

/// The `component` asked for (the core refuses any: ferrocenter is updated whole).
fn component(call: &Call) -> Option<&str> {
    call.get("component").and_then(Value::as_str)
}

fn list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let source = SourceType::parse(call.text("source_type"))?;
        let url = call.get("url").and_then(Value::as_str);
        let found = call
            .state
            .core
            .update_pending_list(&caller, source, url)
            .await?;
        Ok(Out::Value(Value::Array(
            found.iter().map(summary).collect(),
        )))
    })
}

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let version = call.text("version");
        let p = call
            .state
            .core
            .update_pending_get(&caller, version, component(&call))
            .await?;
        let m = &p.manifest;
        let mut out = Map::new();
        summary_into(&mut out, &m.summary());
        out.remove("version");
        let msgs = |id: &str, list: &[String]| {
            Value::Array(list.iter().map(|t| loc_msg(id, t, &[])).collect())
        };
        out.insert(
            "contents".into(),
            msgs("com.ferrocenter.appliance.update.contents", &m.contents),
        );
        out.insert(
            "eulas".into(),
            msgs("com.ferrocenter.appliance.update.eula", &m.eulas),
        );
        out.insert(
            "services_will_be_stopped".into(),
            Value::Array(
                p.services_will_be_stopped
                    .iter()
                    .map(|s| {
                        json!({
                            "service": s.service,
                            "description": loc_msg(
                                "com.ferrocenter.appliance.services.description",
                                &s.description,
                                &[],
                            ),
                        })
                    })
                    .collect(),
            ),
        );
        out.insert("staged".into(), json!(p.staged));
        out.insert(
            "knowledge_base".into(),
            json!(m.knowledge_base.clone().unwrap_or_default()),
        );
        Ok(Out::Value(Value::Object(out)))
    })
}

fn precheck(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let r = call
            .state
            .core
            .update_pending_precheck(&caller, call.text("version"), component(&call))
            .await?;
        Ok(Out::Value(json!({
            "check_time": datetime(r.check_time),
            "reboot_required": r.reboot_required,
            "issues": notifications(&r.issues),
            "questions": r.questions.iter().map(|q| json!({
                "data_item": q.data_item,
                "text": loc_msg("com.ferrocenter.appliance.update.question.text", q.text, &[]),
                "description": loc_msg(
                    "com.ferrocenter.appliance.update.question.description",
                    q.description,
                    &[],
                ),
                "type": q.kind.as_str(),
            })).collect::<Vec<_>>(),
        })))
    })
}

fn validate(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let n = call
            .state
            .core
            .update_pending_validate(
                &caller,
                call.text("version"),
                &user_data(&call),
                component(&call),
            )
            .await?;
        Ok(Out::Value(notifications(&n)))
    })
}

fn stage(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .update_pending_stage(&caller, call.text("version"), component(&call))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

/// The answers; the registry has checked every value is a string.
fn user_data(call: &Call) -> BTreeMap<String, String> {
    call.get("user_data")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn install(call: Call) -> Reply {
    install_with(call, false)
}

fn stage_and_install(call: Call) -> Reply {
    install_with(call, true)
}

/// `install`, or with `stage_first` `stage_and_install`: the same request.
fn install_with(call: Call, stage_first: bool) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let (core, version) = (&call.state.core, call.text("version"));
        let (answers, component) = (user_data(&call), component(&call));
        if stage_first {
            core.update_pending_stage_and_install(&caller, version, &answers, component)
                .await?;
        } else {
            core.update_pending_install(&caller, version, &answers, component)
                .await?;
        }
        Ok(Out::Value(Value::Null))
    })
}

fn rollback(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state.core.update_pending_rollback(&caller).await?;
        Ok(Out::Value(Value::Null))
    })
}
