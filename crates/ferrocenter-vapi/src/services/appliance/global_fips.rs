//! `com.vmware.appliance.system.security.global_fips` (get, update) over the core's
//! `appliance::global_fips`: whether the server's TLS runs on a FIPS-validated module. An update
//! to a new value answers, then the server process restarts to apply it.
use serde_json::{json, Value};

use crate::registry::{http, op, Call, Http, Op, Out, Reply};
use crate::types::{field, StructDef, Ty};

const SERVICE: &str = "com.vmware.appliance.system.security.global_fips";
const PATH: &str = "/appliance/system/global-fips";

const INFO: StructDef = StructDef {
    name: "com.vmware.appliance.system.security.global_fips.info",
    fields: &[field("enabled", Ty::Bool)],
};

const UPDATE_SPEC: StructDef = StructDef {
    name: "com.vmware.appliance.system.security.global_fips.update_spec",
    fields: &[field("enabled", Ty::Optional(&Ty::Bool))],
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
    Op {
        rest: Some(&[http("PUT", PATH)]),
        ..op(
            SERVICE,
            "update",
            &[field("spec", Ty::Struct(&UPDATE_SPEC))],
            Ty::Void,
            // `/api` takes the spec as the body (`{"enabled": true}`), `/rest` wraps it.
            &[Http {
                method: "PUT",
                path: PATH,
                action: None,
                body: Some("spec"),
            }],
            update,
        )
    },
];

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let f = call.state.core.global_fips_get(&caller).await?;
        Ok(Out::Value(json!({"enabled": f.enabled})))
    })
}

fn update(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let enabled = call
            .get("spec")
            .and_then(|s| s.get("enabled"))
            .and_then(Value::as_bool);
        call.state.core.global_fips_update(&caller, enabled).await?;
        Ok(Out::Value(Value::Null))
    })
}
