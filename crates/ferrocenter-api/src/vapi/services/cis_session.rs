//! `com.vmware.cis.session`: create (user and password, or Basic), get, delete.
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use super::super::caller::Credentials;
use super::super::errors::ApiError;
use super::super::registry::{http, http_action, no_result, Call, Op, Out, Reply, TaskVariant};
use super::super::types::{field, StructDef, Ty};
use super::super::wire::datetime;

const SESSION_INFO: StructDef = StructDef {
    name: "com.vmware.cis.session.info",
    fields: &[
        field("user", Ty::String),
        field("created_time", Ty::DateTime),
        field("last_accessed_time", Ty::DateTime),
    ],
};

const SERVICE: &str = "com.vmware.cis.session";
const REST_PATH: &str = "/com/vmware/cis/session";

pub const OPS: &[Op] = &[
    Op {
        service: SERVICE,
        name: "create",
        input: &[],
        output: Ty::Secret,
        api: &[http("POST", "/session")],
        rest: Some(&[http("POST", REST_PATH)]),
        task: TaskVariant::None,
        task_kind: None,
        result: no_result,
        handler: create,
        public: true,
    },
    Op {
        service: SERVICE,
        name: "get",
        input: &[],
        output: Ty::Struct(&SESSION_INFO),
        api: &[http("GET", "/session")],
        rest: Some(&[http_action("POST", REST_PATH, "get")]),
        task: TaskVariant::None,
        task_kind: None,
        result: no_result,
        handler: get,
        public: true,
    },
    Op {
        service: SERVICE,
        name: "delete",
        input: &[],
        output: Ty::Void,
        api: &[http("DELETE", "/session")],
        rest: Some(&[http("DELETE", REST_PATH)]),
        task: TaskVariant::None,
        task_kind: None,
        result: no_result,
        handler: delete,
        public: true,
    },
];

fn create(call: Call) -> Reply {
    Box::pin(async move {
        match &call.creds {
            Credentials::Basic { user, password } => {
                let (token, _) = call
                    .state
                    .core
                    .auth
                    .login(call.state.listener, user, password)
                    .await?;
                Ok(Out::Session(token.expose().to_string()))
            }
            _ => Err(ApiError::from(CoreError::Unauthenticated)),
        }
    })
}

fn session_token(call: &Call) -> Result<&str, ApiError> {
    match &call.creds {
        Credentials::Session(t) => Ok(t),
        _ => Err(CoreError::Unauthenticated.into()),
    }
}

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let token = session_token(&call)?;
        let (caller, view) = call.state.core.auth.resolve_session(token)?;
        Ok(Out::Value(json!({
            "user": caller.domain_qualified(),
            "created_time": datetime(view.created),
            "last_accessed_time": datetime(view.last_accessed),
        })))
    })
}

fn delete(call: Call) -> Reply {
    Box::pin(async move {
        let token = session_token(&call)?;
        call.state.core.auth.logout(token)?;
        Ok(Out::Value(Value::Null))
    })
}
