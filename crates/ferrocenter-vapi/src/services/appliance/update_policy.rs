//! `com.vmware.appliance.update.policy` (get, set) over the core's `update::policy`, which
//! holds every rule and names the bad field. The seed's curl line sets it with a body
//! `{"policy": {...}}`, which is the SDK's own shape.
use ferrocenter_core::ports::LocationSecret;
use ferrocenter_core::update::policy::{CheckTimeSpec, PolicyInfo, PolicySpec};
use ferrocenter_core::weekly::day_name;
use serde_json::{json, Map, Value};

use super::recovery_schedules::DAYS;
use crate::registry::{http, op, Call, Op, Out, Reply};
use crate::rules::Rule;
use crate::types::{field, StructDef, Ty};

const SERVICE: &str = "com.vmware.appliance.update.policy";
const PATH: &str = "/appliance/update/policy";

const TIME: StructDef = StructDef {
    name: "com.vmware.appliance.update.policy.time",
    fields: &[
        field("day", Ty::Enum(DAYS)),
        field("hour", Ty::Rule(Rule::Hour)),
        field("minute", Ty::Rule(Rule::Minute)),
    ],
};

const INFO: StructDef = StructDef {
    name: "com.vmware.appliance.update.policy.info",
    fields: &[
        field("custom_URL", Ty::Optional(&Ty::String)),
        field("default_URL", Ty::String),
        field("username", Ty::Optional(&Ty::String)),
        field("check_schedule", Ty::List(&Ty::Struct(&TIME))),
        field("auto_stage", Ty::Bool),
        field("auto_update", Ty::Bool),
        field("manual_control", Ty::Bool),
        field("certificate_check", Ty::Bool),
    ],
};

const CONFIG: StructDef = StructDef {
    name: "com.vmware.appliance.update.policy.config",
    fields: &[
        field("custom_URL", Ty::Optional(&Ty::String)),
        field("username", Ty::Optional(&Ty::String)),
        field("password", Ty::Optional(&Ty::Secret)),
        field("check_schedule", Ty::List(&Ty::Struct(&TIME))),
        field("auto_stage", Ty::Bool),
        field("certificate_check", Ty::Optional(&Ty::Bool)),
    ],
};

pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "get",
        &[],
        Ty::Struct(&INFO),
        &[http("GET", PATH)],
        get,
    ),
    op(
        SERVICE,
        "set",
        &[field("policy", Ty::Struct(&CONFIG))],
        Ty::Void,
        &[http("PUT", PATH)],
        set,
    ),
];

fn render(p: &PolicyInfo) -> Value {
    let mut out = Map::new();
    if let Some(u) = &p.custom_url {
        out.insert("custom_URL".into(), json!(u));
    }
    out.insert("default_URL".into(), json!(p.default_url));
    if let Some(u) = &p.username {
        out.insert("username".into(), json!(u));
    }
    out.insert(
        "check_schedule".into(),
        Value::Array(
            p.check_schedule
                .iter()
                .map(|t| json!({"day": day_name(t.day), "hour": t.hour, "minute": t.minute}))
                .collect(),
        ),
    );
    out.insert("auto_stage".into(), json!(p.auto_stage));
    out.insert("auto_update".into(), json!(p.auto_update));
    out.insert("manual_control".into(), json!(p.manual_control));
    out.insert("certificate_check".into(), json!(p.certificate_check));
    Value::Object(out)
}

/// The decoded `policy` (types checked by the declaration) as the core takes it.
fn spec(v: &Value) -> PolicySpec {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    PolicySpec {
        custom_url: text("custom_URL"),
        username: text("username"),
        password: text("password").map(LocationSecret::new),
        check_schedule: v
            .get("check_schedule")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|t| CheckTimeSpec {
                day: t
                    .get("day")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                hour: t.get("hour").and_then(Value::as_i64).unwrap_or(-1),
                minute: t.get("minute").and_then(Value::as_i64).unwrap_or(-1),
            })
            .collect(),
        auto_stage: v
            .get("auto_stage")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        certificate_check: v.get("certificate_check").and_then(Value::as_bool),
    }
}

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let p = call.state.core.update_policy(&caller).await?;
        Ok(Out::Value(render(&p)))
    })
}

fn set(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let s = spec(call.get("policy").unwrap_or(&Value::Null));
        call.state.core.set_update_policy(&caller, s).await?;
        Ok(Out::Value(Value::Null))
    })
}
