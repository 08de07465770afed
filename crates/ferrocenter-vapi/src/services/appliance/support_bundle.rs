//! `com.vmware.appliance.support_bundle` (list, create$task, delete) and its `components`
//! service over the core's `appliance::support_bundle`. The download URL a bundle is served
//! at is the HTTP layer's (`ferrocenter-api`); every rule is the core's.
use std::collections::BTreeMap;

use ferrocenter_core::appliance::support_bundle::{
    BundleInfo, ContentType, CreateSpec, CreationStatus, ListFilter, RequestOrigin,
};
use serde_json::{json, Value};

use crate::registry::{http, op, Call, Http, Op, Out, Reply, TaskVariant};
use crate::rules::Rule;
use crate::services::std_types::LOCALIZABLE_MESSAGE;
use crate::types::{field, StructDef, Ty, Union};
use crate::wire::{datetime, loc_msg};
use ferrocenter_core::tasks::TaskKind;

const SERVICE: &str = "com.vmware.appliance.support_bundle";
const COMPONENTS: &str = "com.vmware.appliance.support_bundle.components";

const CREATION_STATUS: &[&str] = &["SUCCEEDED", "FAILED", "CANCELLED"];
const CONTENT_TYPE: &[&str] = &["LOGS", "CORES", "ALL"];

const ITERATION_SPEC: StructDef = StructDef {
    name: "com.vmware.appliance.support_bundle.iteration_spec",
    fields: &[field("size", Ty::Optional(&Ty::Rule(Rule::IterationSize)))],
};

const FILTER_SPEC: StructDef = StructDef {
    name: "com.vmware.appliance.support_bundle.filter_spec",
    fields: &[
        field("available", Ty::Optional(&Ty::Bool)),
        field("creation_status", Ty::Optional(&Ty::Enum(CREATION_STATUS))),
    ],
};

const CREATE_SPEC: StructDef = StructDef {
    name: "com.vmware.appliance.support_bundle.create_spec",
    fields: &[
        field("description", Ty::String),
        field("components", Ty::Optional(&Ty::Map(&Ty::List(&Ty::String)))),
        field("content_type", Ty::Optional(&Ty::Enum(CONTENT_TYPE))),
        field("partition", Ty::Optional(&Ty::String)),
    ],
};

const INFO: StructDef = StructDef {
    name: "com.vmware.appliance.support_bundle.info",
    fields: &[
        field("description", Ty::String),
        field("status", Ty::Enum(CREATION_STATUS)),
        field("generation_time", Ty::Optional(&Ty::DateTime)),
        field("url", Ty::Optional(&Ty::String)),
        field("expiration_time", Ty::Optional(&Ty::DateTime)),
        field("downloadable", Ty::Optional(&Ty::Bool)),
        field("size", Ty::Optional(&Ty::Long)),
        field(
            "failure_reason",
            Ty::Optional(&Ty::Struct(&LOCALIZABLE_MESSAGE)),
        ),
        field("checksum_value", Ty::Optional(&Ty::String)),
        field("id", Ty::Optional(&Ty::Id)),
        field("content_type", Ty::Optional(&Ty::Enum(CONTENT_TYPE))),
    ],
};

/// The SDK's rule for `info`: what a bundle shows depends on how its creation ended.
pub const INFO_UNION: Union = Union {
    structure: "com.vmware.appliance.support_bundle.info",
    discriminant: "status",
    cases: &[
        (
            "SUCCEEDED",
            &[
                ("generation_time", true),
                ("url", true),
                ("expiration_time", true),
                ("downloadable", true),
                ("size", true),
                ("checksum_value", false),
                ("content_type", false),
            ],
        ),
        ("FAILED", &[("failure_reason", false)]),
        ("CANCELLED", &[]),
    ],
};

const LIST_RESULT: StructDef = StructDef {
    name: "com.vmware.appliance.support_bundle.list_result",
    fields: &[field(
        "supportbundle_operations",
        Ty::List(&Ty::Struct(&INFO)),
    )],
};

pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "list",
        &[
            field("iteration", Ty::Optional(&Ty::Struct(&ITERATION_SPEC))),
            field("filter", Ty::Optional(&Ty::Struct(&FILTER_SPEC))),
        ],
        Ty::Struct(&LIST_RESULT),
        &[http("GET", "/appliance/support-bundle")],
        list,
    ),
    Op {
        task: TaskVariant::Also,
        task_kind: Some(TaskKind::ApplianceSupportBundle),
        // `/api` takes the spec as the body, `/rest` wraps it as {"spec": …}.
        rest: Some(&[http("POST", "/appliance/support-bundle")]),
        ..op(
            SERVICE,
            "create",
            &[field("spec", Ty::Struct(&CREATE_SPEC))],
            Ty::Void,
            &[Http {
                method: "POST",
                path: "/appliance/support-bundle",
                action: None,
                body: Some("spec"),
            }],
            create,
        )
    },
    op(
        SERVICE,
        "delete",
        &[field("id", Ty::Id)],
        Ty::Void,
        &[http("DELETE", "/appliance/support-bundle/{id}")],
        delete,
    ),
    op(
        COMPONENTS,
        "get",
        &[],
        Ty::Map(&Ty::List(&Ty::String)),
        &[http("GET", "/appliance/support-bundle/components")],
        components_get,
    ),
];

fn components_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let c = call.state.core.support_bundle_components(&caller).await?;
        Ok(Out::Value(json!(c)))
    })
}

fn list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let size = call
            .get("iteration")
            .and_then(|i| i.get("size"))
            .and_then(Value::as_i64);
        let filter = call.get("filter");
        let status = filter
            .and_then(|f| f.get("creation_status"))
            .and_then(Value::as_str);
        let filter = ListFilter {
            available: filter
                .and_then(|f| f.get("available"))
                .and_then(Value::as_bool),
            creation_status: status.and_then(CreationStatus::parse),
        };
        let all = call
            .state
            .core
            .support_bundle_list(&caller, size, &filter)
            .await?;
        Ok(Out::Value(json!({
            "supportbundle_operations": all.iter().map(info).collect::<Vec<_>>(),
        })))
    })
}

fn info(b: &BundleInfo) -> Value {
    let mut v = json!({
        "description": b.description,
        "status": b.status.as_str(),
        "id": b.id,
    });
    match b.status {
        CreationStatus::Succeeded => {
            v["generation_time"] = json!(datetime(b.generation_time));
            v["url"] = json!(b.url.clone().unwrap_or_default());
            if let Some(e) = b.expiration_time {
                v["expiration_time"] = json!(datetime(e));
            }
            v["downloadable"] = json!(b.downloadable);
            v["size"] = json!(b.size.unwrap_or(0));
            if let Some(c) = &b.checksum {
                v["checksum_value"] = json!(c);
            }
            v["content_type"] = json!(b.content_type.as_str());
        }
        CreationStatus::Failed => {
            if let Some(r) = &b.failure_reason {
                v["failure_reason"] = loc_msg("com.vmware.appliance.support_bundle.failed", r, &[]);
            }
        }
        CreationStatus::Cancelled => {}
    }
    v
}

fn create(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let spec = call.get("spec").cloned().unwrap_or(Value::Null);
        let text = |k: &str| spec.get(k).and_then(Value::as_str).map(str::to_string);
        let components = spec.get("components").and_then(Value::as_object).map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let names = v
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default();
                    (k.clone(), names)
                })
                .collect::<BTreeMap<String, Vec<String>>>()
        });
        let origin = RequestOrigin {
            listener: call.state.listener,
            scheme: "https",
            authority: call.host.clone().unwrap_or_default(),
        };
        let t = call
            .state
            .core
            .support_bundle_create(
                &caller,
                CreateSpec {
                    description: text("description").unwrap_or_default(),
                    components,
                    content_type: text("content_type").and_then(|c| ContentType::parse(&c)),
                    partition: text("partition"),
                },
                origin,
            )
            .await?;
        Ok(Out::task(t))
    })
}

fn delete(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .support_bundle_delete(&caller, call.text("id"))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}
