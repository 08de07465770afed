//! `com.vmware.cis.session`: create (user and password, Basic, or a SAML token), get, delete.
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use crate::caller::Credentials;
use crate::errors::ApiError;
use crate::registry::{http, http_action, op, Call, Op, Out, Reply};
use crate::types::{field, StructDef, Ty};
use crate::wire::datetime;

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
        rest: Some(&[http("POST", REST_PATH)]),
        public: true,
        ..op(
            SERVICE,
            "create",
            &[],
            Ty::Secret,
            &[http("POST", "/session")],
            create,
        )
    },
    Op {
        rest: Some(&[http_action("POST", REST_PATH, "get")]),
        public: true,
        ..op(
            SERVICE,
            "get",
            &[],
            Ty::Struct(&SESSION_INFO),
            &[http("GET", "/session")],
            get,
        )
    },
    Op {
        rest: Some(&[http("DELETE", REST_PATH)]),
        public: true,
        ..op(
            SERVICE,
            "delete",
            &[],
            Ty::Void,
            &[http("DELETE", "/session")],
            delete,
        )
    },
];

fn create(call: Call) -> Reply {
    Box::pin(async move {
        match &call.creds {
            Credentials::Basic {
                user,
                password,
                peer,
            } => {
                let (token, _) = call
                    .state
                    .core
                    .auth
                    .login(call.state.origin(*peer), user, password)
                    .await?;
                Ok(Out::Session(token.expose().to_string()))
            }
            Credentials::Saml(saml) => {
                let (token, _) = call
                    .state
                    .core
                    .login_with_token(call.state.origin(call.peer), &saml.presentation(), None)
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
        let (caller, view) = call
            .state
            .core
            .auth
            .resolve_session(call.state.origin(None), token)?;
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
        call.state
            .core
            .auth
            .logout(call.state.origin(None), token)?;
        Ok(Out::Value(Value::Null))
    })
}
