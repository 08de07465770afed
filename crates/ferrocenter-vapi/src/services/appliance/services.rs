//! `com.vmware.appliance.services` (list, get, start, stop, restart): ferrocenter's own
//! components over the core's `appliance::services`, which holds the rules — including that a
//! call may not stop the listener it came through, which is why the listener is passed.
use ferrocenter_core::appliance::services::ServiceInfo;
use serde_json::{json, Map, Value};

use crate::registry::{http, op, Call, Op, Out, Reply};
use crate::types::{field, Field, StructDef, Ty};

const SERVICE: &str = "com.vmware.appliance.services";

const INFO: StructDef = StructDef {
    name: "com.vmware.appliance.services.info",
    fields: &[
        field("description", Ty::String),
        field(
            "state",
            Ty::Enum(&["STARTING", "STOPPING", "STARTED", "STOPPED"]),
        ),
    ],
};

const ID: &[Field] = &[field("service", Ty::Id)];

pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "list",
        &[],
        Ty::Map(&Ty::Struct(&INFO)),
        &[http("GET", "/appliance/services")],
        list,
    ),
    op(
        SERVICE,
        "get",
        ID,
        Ty::Struct(&INFO),
        &[http("GET", "/appliance/services/{service}")],
        get,
    ),
    op(
        SERVICE,
        "start",
        ID,
        Ty::Void,
        &[http("POST", "/appliance/services/{service}/start")],
        start,
    ),
    op(
        SERVICE,
        "stop",
        ID,
        Ty::Void,
        &[http("POST", "/appliance/services/{service}/stop")],
        stop,
    ),
    op(
        SERVICE,
        "restart",
        ID,
        Ty::Void,
        &[http("POST", "/appliance/services/{service}/restart")],
        restart,
    ),
];

fn info(s: &ServiceInfo) -> Value {
    json!({"description": s.description, "state": s.state.as_str()})
}

fn list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let all = call.state.core.services_list(&caller).await?;
        let map: Map<String, Value> = all.iter().map(|s| (s.name.clone(), info(s))).collect();
        Ok(Out::Value(Value::Object(map)))
    })
}

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let s = call
            .state
            .core
            .service_get(&caller, call.text("service"))
            .await?;
        Ok(Out::Value(info(&s)))
    })
}

fn start(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .service_start(&caller, call.text("service"))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn stop(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .service_stop(&caller, call.text("service"), call.state.listener)
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn restart(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .service_restart(&caller, call.text("service"), call.state.listener)
            .await?;
        Ok(Out::Value(Value::Null))
    })
}
