//! `com.vmware.appliance.logging.forwarding` (get, set, test): syslog forwarding over the
//! core's `appliance::log_forwarding`, which validates the receivers, keeps them and tests
//! them. RELP is declared in the protocol enumeration beyond the SDK's TLS, UDP and TCP (the
//! management guide lists it; docs/appliance.md).
use ferrocenter_core::appliance::log_forwarding::{
    ConnectionState, ConnectionStatus, ForwardTarget, ForwardTargetSpec,
};
use serde_json::{json, Value};

use crate::registry::{http, http_action, op, Call, Op, Out, Reply};
use crate::rules::Rule;
use crate::services::std_types::LOCALIZABLE_MESSAGE;
use crate::types::{field, StructDef, Ty, Union};
use crate::wire::loc_msg;

const SERVICE: &str = "com.vmware.appliance.logging.forwarding";
const PATH: &str = "/appliance/logging/forwarding";

/// The SDK's order, then the extension.
const PROTOCOLS: &[&str] = &["TLS", "UDP", "TCP", "RELP"];
const STATES: &[&str] = &["UP", "DOWN", "UNKNOWN"];

const CONFIG: StructDef = StructDef {
    name: "com.vmware.appliance.logging.forwarding.config",
    fields: &[
        field("hostname", Ty::Rule(Rule::HostName)),
        field("port", Ty::Rule(Rule::Port)),
        field("protocol", Ty::Enum(PROTOCOLS)),
    ],
};

const CONNECTION_STATUS: StructDef = StructDef {
    name: "com.vmware.appliance.logging.forwarding.connection_status",
    fields: &[
        field("hostname", Ty::String),
        field("state", Ty::Enum(STATES)),
        field("message", Ty::Optional(&Ty::Struct(&LOCALIZABLE_MESSAGE))),
    ],
};

pub const CONNECTION_STATUS_UNION: Union = Union {
    structure: "com.vmware.appliance.logging.forwarding.connection_status",
    discriminant: "state",
    cases: &[
        ("DOWN", &[("message", true)]),
        ("UP", &[]),
        ("UNKNOWN", &[]),
    ],
};

pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "test",
        &[field("send_test_message", Ty::Optional(&Ty::Bool))],
        Ty::List(&Ty::Struct(&CONNECTION_STATUS)),
        &[http_action("POST", PATH, "test")],
        test,
    ),
    op(
        SERVICE,
        "set",
        &[field("cfg_list", Ty::List(&Ty::Struct(&CONFIG)))],
        Ty::Void,
        &[http("PUT", PATH)],
        set,
    ),
    op(
        SERVICE,
        "get",
        &[],
        Ty::List(&Ty::Struct(&CONFIG)),
        &[http("GET", PATH)],
        get,
    ),
];

fn render(t: &ForwardTarget) -> Value {
    json!({"hostname": t.hostname, "port": t.port, "protocol": t.protocol.as_str()})
}

fn render_status(s: &ConnectionStatus) -> Value {
    match &s.state {
        ConnectionState::Up => json!({"hostname": s.hostname, "state": "UP"}),
        ConnectionState::Unknown => json!({"hostname": s.hostname, "state": "UNKNOWN"}),
        ConnectionState::Down(reason) => json!({
            "hostname": s.hostname,
            "state": "DOWN",
            "message": loc_msg(
                "com.ferrocenter.appliance.logging.forwarding.down",
                reason,
                &[reason],
            ),
        }),
    }
}

/// A receiver as decoded (types checked by the declaration; the rules are the core's).
fn parse(v: &Value) -> ForwardTargetSpec {
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
    ForwardTargetSpec {
        hostname: text("hostname").to_string(),
        port: v.get("port").and_then(Value::as_i64).unwrap_or(-1),
        protocol: text("protocol").to_string(),
    }
}

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let targets = call.state.core.log_forwarding(&caller).await?;
        Ok(Out::Value(Value::Array(
            targets.iter().map(render).collect(),
        )))
    })
}

fn set(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let specs = call
            .get("cfg_list")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(parse)
            .collect();
        call.state.core.set_log_forwarding(&caller, specs).await?;
        Ok(Out::Value(Value::Null))
    })
}

fn test(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let send = call
            .get("send_test_message")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let statuses = call.state.core.test_log_forwarding(&caller, send).await?;
        Ok(Out::Value(Value::Array(
            statuses.iter().map(render_status).collect(),
        )))
    })
}
