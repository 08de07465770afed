//! `com.vmware.appliance.networking.firewall.inbound` (get, set): the inbound firewall over the
//! core's `appliance::firewall`, which validates the rules, refuses a set that would lock the
//! caller out, and hands the listeners the rules in force.
use ferrocenter_core::appliance::firewall::{CallOrigin, FirewallRule, Policy};
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use crate::registry::{http, op, Call, Op, Out, Reply};
use crate::rules::Rule;
use crate::types::{field, StructDef, Ty};

const SERVICE: &str = "com.vmware.appliance.networking.firewall.inbound";
const PATH: &str = "/appliance/networking/firewall/inbound";

/// The SDK's order of the policy enumeration.
const POLICIES: &[&str] = &["IGNORE", "ACCEPT", "REJECT", "RETURN"];

const RULE: StructDef = StructDef {
    name: "com.vmware.appliance.networking.firewall.inbound.rule",
    fields: &[
        field("address", Ty::Rule(Rule::IpAddress)),
        field("prefix", Ty::Rule(Rule::PrefixLength)),
        field("policy", Ty::Enum(POLICIES)),
        field(
            "interface_name",
            Ty::Optional(&Ty::Rule(Rule::InterfaceName)),
        ),
    ],
};

pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "set",
        &[field("rules", Ty::List(&Ty::Struct(&RULE)))],
        Ty::Void,
        &[http("PUT", PATH)],
        set,
    ),
    op(
        SERVICE,
        "get",
        &[],
        Ty::List(&Ty::Struct(&RULE)),
        &[http("GET", PATH)],
        get,
    ),
];

fn render(r: &FirewallRule) -> Value {
    let mut v = json!({"address": r.address, "prefix": r.prefix, "policy": r.policy.as_str()});
    if let Some(name) = &r.interface_name {
        v["interface_name"] = json!(name);
    }
    v
}

/// A rule as decoded (types checked by the input's declaration; the rules are the core's).
fn parse(i: usize, v: &Value) -> Result<FirewallRule, CoreError> {
    let text = |k: &str| v.get(k).and_then(Value::as_str);
    let policy = text("policy")
        .and_then(Policy::parse)
        .ok_or_else(|| CoreError::invalid(format!("rules[{i}].policy"), "is not a policy"))?;
    Ok(FirewallRule {
        address: text("address").unwrap_or_default().to_string(),
        prefix: v.get("prefix").and_then(Value::as_i64).unwrap_or(-1),
        policy,
        interface_name: text("interface_name").map(str::to_string),
    })
}

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let rules = call.state.core.firewall_inbound(&caller).await?;
        Ok(Out::Value(Value::Array(rules.iter().map(render).collect())))
    })
}

fn set(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let rules = call
            .get("rules")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, v)| parse(i, v))
            .collect::<Result<Vec<_>, _>>()?;
        let origin = CallOrigin {
            peer: call.peer,
            local: call.local,
        };
        call.state
            .core
            .set_firewall_inbound(&caller, origin, rules)
            .await?;
        Ok(Out::Value(Value::Null))
    })
}
