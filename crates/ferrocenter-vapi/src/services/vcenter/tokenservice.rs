//! `com.vmware.vcenter.tokenservice.token_exchange` (RFC 8693): a federated user's
//! provider-issued JWT traded for a session over the core's `exchange_token`, which holds every
//! rule. The operation takes no session (the subject token is the credential); the issued
//! `access_token` is a session id, used as `vmware-api-session-id` like `cis.session.create`'s.
use ferrocenter_core::identity_providers::exchange::ExchangeRequest;
use serde_json::{json, Value};

use crate::registry::{http, op, Call, Op, Out, Reply};
use crate::types::{field, StructDef, Ty};

const SERVICE: &str = "com.vmware.vcenter.tokenservice.token_exchange";

const EXCHANGE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.tokenservice.token_exchange.exchange_spec",
    fields: &[
        field("grant_type", Ty::String),
        field("resource", Ty::Optional(&Ty::String)),
        field("audience", Ty::Optional(&Ty::String)),
        field("scope", Ty::Optional(&Ty::String)),
        field("requested_token_type", Ty::Optional(&Ty::String)),
        field("subject_token", Ty::Secret),
        field("subject_token_type", Ty::String),
        field("actor_token", Ty::Optional(&Ty::Secret)),
        field("actor_token_type", Ty::Optional(&Ty::String)),
    ],
};

const INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.tokenservice.token_exchange.info",
    fields: &[
        field("access_token", Ty::String),
        field("issued_token_type", Ty::String),
        field("token_type", Ty::String),
        field("expires_in", Ty::Optional(&Ty::Long)),
        field("scope", Ty::Optional(&Ty::String)),
        field("refresh_token", Ty::Optional(&Ty::String)),
    ],
};

pub const OPS: &[Op] = &[Op {
    public: true,
    ..op(
        SERVICE,
        "exchange",
        &[field("spec", Ty::Struct(&EXCHANGE_SPEC))],
        Ty::Struct(&INFO),
        &[http("POST", "/vcenter/tokenservice/token-exchange")],
        exchange,
    )
}];

fn request(call: &Call) -> ExchangeRequest {
    let s = call.get("spec").cloned().unwrap_or(Value::Null);
    let text = |k: &str| s.get(k).and_then(Value::as_str).map(String::from);
    ExchangeRequest {
        grant_type: text("grant_type").unwrap_or_default(),
        subject_token: text("subject_token").unwrap_or_default(),
        subject_token_type: text("subject_token_type").unwrap_or_default(),
        requested_token_type: text("requested_token_type"),
        actor_token: text("actor_token"),
        actor_token_type: text("actor_token_type"),
        resource: text("resource"),
        audience: text("audience"),
        scope: text("scope"),
    }
}

fn exchange(call: Call) -> Reply {
    Box::pin(async move {
        let done = call
            .state
            .core
            .exchange_token(call.state.origin(call.peer), &request(&call))
            .await?;
        Ok(Out::Value(json!({
            "access_token": done.session.expose(),
            "issued_token_type": done.issued_token_type,
            "token_type": done.token_type,
        })))
    })
}
