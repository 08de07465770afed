//! `com.vmware.appliance.shutdown` (get, reboot, poweroff, cancel) over the core's
//! `appliance::shutdown`: a pending reboot or power-off with its delay and reason.
use ferrocenter_core::appliance::shutdown::ShutdownAction;
use serde_json::{json, Value};

use crate::errors::ApiError;
use crate::registry::{http, op, Call, Op, Out, Reply};
use crate::rules::Rule;
use crate::types::{field, Field, StructDef, Ty};
use crate::wire::datetime;

const SERVICE: &str = "com.vmware.appliance.shutdown";

const CONFIG: StructDef = StructDef {
    name: "com.vmware.appliance.shutdown.shutdown_config",
    fields: &[
        field("shutdown_time", Ty::Optional(&Ty::DateTime)),
        field("action", Ty::String),
        field("reason", Ty::String),
    ],
};

const WHEN: &[Field] = &[
    field("delay", Ty::Rule(Rule::ShutdownDelay)),
    field("reason", Ty::Rule(Rule::ShutdownReason)),
];

pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "get",
        &[],
        Ty::Struct(&CONFIG),
        &[http("GET", "/appliance/shutdown")],
        get,
    ),
    op(
        SERVICE,
        "reboot",
        WHEN,
        Ty::Void,
        &[http("POST", "/appliance/shutdown/reboot")],
        reboot,
    ),
    op(
        SERVICE,
        "poweroff",
        WHEN,
        Ty::Void,
        &[http("POST", "/appliance/shutdown/poweroff")],
        poweroff,
    ),
    op(
        SERVICE,
        "cancel",
        &[],
        Ty::Void,
        &[http("POST", "/appliance/shutdown/cancel")],
        cancel,
    ),
];

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let c = call.state.core.shutdown_get(&caller).await?;
        let mut v = json!({"action": c.action, "reason": c.reason});
        if let Some(at) = c.shutdown_time {
            v["shutdown_time"] = json!(datetime(at));
        }
        Ok(Out::Value(v))
    })
}

async fn schedule(call: Call, action: ShutdownAction) -> Result<Out, ApiError> {
    let caller = call.caller().await?;
    let delay = call.get("delay").and_then(Value::as_i64).unwrap_or(0);
    call.state
        .core
        .shutdown_schedule(&caller, action, delay, call.text("reason"))
        .await?;
    Ok(Out::Value(Value::Null))
}

fn reboot(call: Call) -> Reply {
    Box::pin(schedule(call, ShutdownAction::Reboot))
}

fn poweroff(call: Call) -> Reply {
    Box::pin(schedule(call, ShutdownAction::PowerOff))
}

fn cancel(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state.core.shutdown_cancel(&caller).await?;
        Ok(Out::Value(Value::Null))
    })
}
