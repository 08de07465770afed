//! ServiceInstance and SessionManager.
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use ferrocenter_core::auth::{Caller, SessionView};
use ferrocenter_core::CoreError;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::faults::{moref, VimFault};
use super::Call;
use crate::vapi::wire::datetime;
use crate::AppState;

const SESSION_HEADER: &str = "vmware-api-session-id";
/// The API version ferrocenter reports in AboutInfo.
const API_VERSION: &str = "8.0.3.0";

fn json_ok(v: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// An unset value: 200 with an empty body, which clients read as "none".
fn unset() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")]).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn token(call: &Call) -> Option<String> {
    call.headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

fn session(state: &AppState, call: &Call) -> Result<(Caller, SessionView, String), VimFault> {
    let t = token(call).ok_or(VimFault::from(CoreError::Unauthenticated))?;
    let (caller, view) = state.core.auth.resolve_session(&t)?;
    Ok((caller, view, t))
}

/// UserSession. Its key identifies the session without revealing the token.
fn user_session(caller: &Caller, view: &SessionView, token: &str, call: &Call) -> Value {
    let key = hex::encode(&Sha256::digest(token.as_bytes())[..16]);
    json!({
        "_typeName": "UserSession",
        "key": key,
        "userName": caller.domain_qualified(),
        "fullName": caller.user,
        "loginTime": datetime(view.created),
        "lastActiveTime": datetime(view.last_accessed),
        "locale": "en",
        "messageLocale": "en",
        "extensionSession": false,
        "ipAddress": "",
        "userAgent": call.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or(""),
        "callCount": 0,
    })
}

async fn service_content(state: &AppState) -> Result<Value, VimFault> {
    let uuid = state.core.server_uuid().await?;
    Ok(json!({
        "_typeName": "ServiceContent",
        "rootFolder": moref("Folder", "group-d1"),
        "propertyCollector": moref("PropertyCollector", "propertyCollector"),
        "viewManager": moref("ViewManager", "ViewManager"),
        "about": {
            "_typeName": "AboutInfo",
            "name": "ferrocenter",
            "fullName": format!("ferrocenter {} (VI/JSON {API_VERSION})", env!("CARGO_PKG_VERSION")),
            "vendor": "ferrocenter project",
            "version": API_VERSION.rsplit_once('.').map(|(v, _)| v).unwrap_or(API_VERSION),
            "build": env!("CARGO_PKG_VERSION"),
            "osType": "linux-x64",
            "productLineId": "vpx",
            "apiType": "VirtualCenter",
            "apiVersion": API_VERSION,
            "instanceUuid": uuid,
            "licenseProductName": "ferrocenter",
            "licenseProductVersion": env!("CARGO_PKG_VERSION"),
        },
        "sessionManager": moref("SessionManager", "SessionManager"),
        "taskManager": moref("TaskManager", "TaskManager"),
        "eventManager": moref("EventManager", "EventManager"),
        "searchIndex": moref("SearchIndex", "SearchIndex"),
    }))
}

/// Every method and property vim defines on the singletons served here; a name not listed is
/// MethodNotFound, a listed one not yet implemented is NotSupported.
const VIM_NAMES: &[(&str, &[&str])] = &[
    (
        "ServiceInstance",
        &[
            "CurrentTime",
            "RetrieveServiceContent",
            "RetrieveProductComponents",
            "ValidateMigration",
            "QueryVMotionCompatibility",
            "content",
            "capability",
            "serverClock",
        ],
    ),
    (
        "SessionManager",
        &[
            "Login",
            "Logout",
            "AcquireCloneTicket",
            "CloneSession",
            "SessionIsActive",
            "TerminateSession",
            "LoginByToken",
            "LoginExtensionByCertificate",
            "LoginExtensionBySubjectName",
            "LoginBySSPI",
            "ImpersonateUser",
            "AcquireLocalTicket",
            "AcquireGenericServiceTicket",
            "SetLocale",
            "UpdateServiceMessage",
            "currentSession",
            "sessionList",
            "defaultLocale",
            "supportedLocaleList",
            "message",
            "messageLocaleList",
        ],
    ),
];

/// The managed-object types and ids this part of the binding serves.
const SINGLETONS: &[(&str, &str)] = &[
    ("ServiceInstance", "ServiceInstance"),
    ("SessionManager", "SessionManager"),
];

pub async fn dispatch(state: &AppState, call: Call) -> Result<Response, VimFault> {
    let known_type = SINGLETONS.iter().find(|(t, _)| *t == call.mo_type);
    match known_type {
        None => {
            return Err(CoreError::not_supported(format!(
                "{}.{} (VI/JSON object type not served yet)",
                call.mo_type, call.name
            ))
            .into())
        }
        Some((t, id)) if *id != call.mo_id => return Err(VimFault::not_found(t, &call.mo_id)),
        Some(_) => {}
    }
    let is_post = call.method == Method::POST;
    if !is_post && call.method != Method::GET {
        return Err(VimFault::invalid_request(format!(
            "{} is not a VI/JSON verb: properties are read with GET, methods called with POST",
            call.method
        )));
    }
    match (call.mo_type.as_str(), call.name.as_str(), is_post) {
        ("ServiceInstance", "content", false)
        | ("ServiceInstance", "RetrieveServiceContent", true) => {
            Ok(json_ok(service_content(state).await?))
        }
        ("ServiceInstance", "CurrentTime", true) | ("ServiceInstance", "serverClock", false) => {
            Ok(json_ok(json!(datetime(state.core.clock.now()))))
        }
        ("SessionManager", "Login", true) => {
            let user = call
                .params
                .get("userName")
                .and_then(Value::as_str)
                .ok_or_else(|| VimFault::from(CoreError::invalid("userName", "is required")))?;
            let password = call
                .params
                .get("password")
                .and_then(Value::as_str)
                .ok_or_else(|| VimFault::from(CoreError::invalid("password", "is required")))?;
            let (token, _) = match state.core.auth.login(state.listener, user, password).await {
                Ok(t) => t,
                Err(CoreError::Unauthenticated) => {
                    return Err(VimFault::new(
                        "InvalidLogin",
                        "Cannot complete login due to an incorrect user name or password.",
                    ))
                }
                Err(e) => return Err(e.into()),
            };
            let (caller, view) = state.core.auth.resolve_session(token.expose())?;
            let body = user_session(&caller, &view, token.expose(), &call);
            let mut resp = json_ok(body);
            if let Ok(v) = HeaderValue::from_str(token.expose()) {
                resp.headers_mut().insert(SESSION_HEADER, v);
            }
            Ok(resp)
        }
        ("SessionManager", "AcquireCloneTicket", true) => {
            let (_, _, t) = session(state, &call)?;
            Ok(json_ok(json!(state.core.auth.acquire_clone_ticket(&t)?)))
        }
        ("SessionManager", "CloneSession", true) => {
            let ticket = call
                .params
                .get("cloneTicket")
                .and_then(Value::as_str)
                .ok_or_else(|| VimFault::from(CoreError::invalid("cloneTicket", "is required")))?;
            let (token, _) = state.core.auth.clone_session(ticket)?;
            let (caller, view) = state.core.auth.resolve_session(token.expose())?;
            let mut resp = json_ok(user_session(&caller, &view, token.expose(), &call));
            if let Ok(v) = HeaderValue::from_str(token.expose()) {
                resp.headers_mut().insert(SESSION_HEADER, v);
            }
            Ok(resp)
        }
        ("SessionManager", "Logout", true) => {
            let (_, _, t) = session(state, &call)?;
            state.core.auth.logout(&t)?;
            Ok(no_content())
        }
        ("SessionManager", "currentSession", false) => match token(&call) {
            None => Ok(unset()),
            Some(t) => match state.core.auth.resolve_session(&t) {
                Ok((caller, view)) => Ok(json_ok(user_session(&caller, &view, &t, &call))),
                Err(_) => Ok(unset()),
            },
        },
        (t, name, _) => {
            let defined = VIM_NAMES
                .iter()
                .any(|(ty, names)| *ty == t && names.contains(&name));
            if !defined {
                return Err(VimFault::method_not_found(t, &call.mo_id, name));
            }
            // Everything else on these objects needs a session first.
            session(state, &call)?;
            Err(CoreError::not_supported(format!("{t}.{name}")).into())
        }
    }
}
