//! `com.vmware.cis.tasks`: get, list and cancel any task, whichever surface started it.
use serde_json::{Map, Value};

use crate::errors::ApiError;
use crate::registry::{http, http_action, op, Call, Op, Out, Reply};
use crate::services::std_types::{task_fields, DYNAMIC_ID, STD_TASK_RULE, TASK_STATUS};
use crate::tasks::{core_id, external_id, filter_from, flag, info};
use crate::types::{field, StructDef, Ty, Union};

pub const TASK_INFO: StructDef = StructDef {
    name: "com.vmware.cis.task.info",
    fields: &task_fields(Ty::Optional(&Ty::Opaque)),
};

/// Reference §10's StdTaskRule.
pub const TASK_INFO_UNION: Union = Union {
    structure: "com.vmware.cis.task.info",
    discriminant: "status",
    cases: STD_TASK_RULE,
};

const GET_SPEC: StructDef = StructDef {
    name: "com.vmware.cis.tasks.get_spec",
    fields: &[
        field("return_all", Ty::Optional(&Ty::Bool)),
        field("exclude_result", Ty::Optional(&Ty::Bool)),
    ],
};

const FILTER_SPEC: StructDef = StructDef {
    name: "com.vmware.cis.tasks.filter_spec",
    fields: &[
        field("tasks", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("services", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("operations", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("status", Ty::Optional(&Ty::Set(&Ty::Enum(TASK_STATUS)))),
        field("targets", Ty::Optional(&Ty::List(&Ty::Struct(&DYNAMIC_ID)))),
        field("users", Ty::Optional(&Ty::Set(&Ty::String))),
    ],
};

const SERVICE: &str = "com.vmware.cis.tasks";

pub const OPS: &[Op] = &[
    Op {
        // The management guide polls a stage at `/rest/appliance/task/<id>`: the same task.
        rest: Some(&[
            http("GET", "/cis/tasks/{task}"),
            http("GET", "/appliance/task/{task}"),
        ]),
        ..op(
            SERVICE,
            "get",
            &[
                field("task", Ty::Id),
                field("spec", Ty::Optional(&Ty::Struct(&GET_SPEC))),
            ],
            Ty::Struct(&TASK_INFO),
            &[http("GET", "/cis/tasks/{task}")],
            get,
        )
    },
    // The SDK's metadata says GET; vCenter's documented form is POST ?action=list.
    op(
        SERVICE,
        "list",
        &[
            field("filter_spec", Ty::Optional(&Ty::Struct(&FILTER_SPEC))),
            field("result_spec", Ty::Optional(&Ty::Struct(&GET_SPEC))),
        ],
        Ty::Map(&Ty::Struct(&TASK_INFO)),
        &[
            http("GET", "/cis/tasks"),
            http_action("POST", "/cis/tasks", "list"),
        ],
        list,
    ),
    op(
        SERVICE,
        "cancel",
        &[field("task", Ty::Id)],
        Ty::Void,
        &[http_action("POST", "/cis/tasks/{task}", "cancel")],
        cancel,
    ),
];

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let exclude = flag(call.get("spec"), "exclude_result", "spec.exclude_result")?;
        let t = call
            .state
            .core
            .get_task(&caller, core_id(call.text("task")))
            .await?;
        Ok(Out::Value(info(call.catalog, &t, exclude, call.form)))
    })
}

fn list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let (filter, nothing) = filter_from(call.catalog, call.get("filter_spec"))?;
        let exclude = flag(
            call.get("result_spec"),
            "exclude_result",
            "result_spec.exclude_result",
        )?;
        let mut out = Map::new();
        if !nothing {
            for t in call.state.core.list_tasks(&caller, &filter).await? {
                out.insert(
                    external_id(call.catalog, &t),
                    info(call.catalog, &t, exclude, call.form),
                );
            }
        }
        Ok(Out::Value(Value::Object(out)))
    })
}

fn cancel(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .cancel_task(&caller, core_id(call.text("task")))
            .await
            .map_err(ApiError::from)?;
        Ok(Out::Value(Value::Null))
    })
}
