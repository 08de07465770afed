//! ServiceInstance and SessionManager, and the dispatch of every call: anonymous calls first,
//! then the session, the object, and the property or method.
use axum::http::{header, HeaderMap, Method};
use ferrocenter_core::auth::{Caller, SessionView, TokenLogin};
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use super::call::Call;
use super::content::service_content;
use super::ctx::Ctx;
use super::faults::VimFault;
use super::reply::{no_content, ok, unset, Answer, Reply};
use super::state::VimState;
use super::{methods, mo, names, read};
use ferrocenter_http::saml_header;
use ferrocenter_http::time::datetime;

pub const SESSION_HEADER: &str = "vmware-api-session-id";

fn token(call: &Call) -> Option<String> {
    call.headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

fn user_session(caller: &Caller, view: &SessionView, call: &Call) -> Value {
    json!({
        "_typeName": "UserSession",
        "key": view.key,
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

/// The SAML token a VI/JSON `LoginByToken` presents in its `Authorization` header:
/// `Bearer <base64 of the assertion>` (or the XML itself), or vAPI REST's
/// `SIGN token="<base64 of the gzipped assertion>"`. VMware documents no JSON transport for the
/// token, so these are ferrocenter's; a holder-of-key token cannot log in this way (nothing
/// carries its signature), and the core says so.
fn bearer_token(headers: &HeaderMap) -> Result<String, VimFault> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match saml_header::assertion_in(value, true) {
        Ok(Some(xml)) => Ok(xml),
        Ok(None) => Err(VimFault::new(
            "InvalidLogin",
            "LoginByToken over VI/JSON takes the SAML token in an Authorization: Bearer (or SIGN) header",
        )),
        Err(e) => Err(VimFault::new("InvalidLogin", e.to_string())),
    }
}

/// vCenter's words for any refused login: they do not say which part was wrong.
const BAD_CREDENTIALS: &str = "Cannot complete login due to an incorrect user name or password.";

/// A refused login is vim's `InvalidLogin`; other errors keep their own fault.
fn invalid_login(message: &'static str) -> impl FnOnce(CoreError) -> VimFault {
    move |e| match e {
        CoreError::Unauthenticated => VimFault::new("InvalidLogin", message),
        other => other.into(),
    }
}

/// The answer to a login that opened session `token`: its `UserSession`, and the session
/// handed to the client.
fn logged_in(state: &VimState, call: &Call, token: &str) -> Result<Answer, VimFault> {
    let (caller, view) = state.core.auth.resolve_session(state.origin(None), token)?;
    Ok(with_session(ok(user_session(&caller, &view, call)), token))
}

fn with_session(reply: Reply, token: &str) -> Answer {
    Answer {
        reply,
        new_session: Some(token.to_string()),
    }
}

/// Calls answered without a session, or None.
async fn anonymous(
    state: &VimState,
    call: &Call,
    is_post: bool,
) -> Result<Option<Answer>, VimFault> {
    let singleton = |t: &str| call.mo_type == t && call.mo_id == t;
    if singleton("ServiceInstance") {
        match (call.name.as_str(), is_post) {
            ("content", false) | ("RetrieveServiceContent", true) => {
                return Ok(Some(ok(service_content(state).await?).into()))
            }
            ("CurrentTime", true) | ("serverClock", false) => {
                return Ok(Some(ok(json!(datetime(state.core.clock.now()))).into()))
            }
            _ => {}
        }
    }
    if !singleton("SessionManager") {
        return Ok(None);
    }
    let r = match (call.name.as_str(), is_post) {
        ("Login", true) => {
            let p = &call.params;
            let field = |n: &str| {
                p.get(n)
                    .and_then(Value::as_str)
                    .ok_or_else(|| VimFault::from(CoreError::invalid(n, "is required")))
            };
            let (user, password) = (field("userName")?, field("password")?);
            let (token, _) = state
                .core
                .auth
                .login(state.origin(call.peer), user, password)
                .await
                .map_err(invalid_login(BAD_CREDENTIALS))?;
            logged_in(state, call, token.expose())?
        }
        ("LoginByToken", true) => {
            let bare;
            let presented = match &call.envelope {
                Some(envelope) => TokenLogin::SoapEnvelope(envelope),
                None => {
                    bare = bearer_token(&call.headers)?;
                    TokenLogin::Bare(&bare)
                }
            };
            let (token, _) = state
                .core
                .login_by_token(state.origin(call.peer), presented, Some(&state.service_url))
                .await
                .map_err(invalid_login(BAD_CREDENTIALS))?;
            logged_in(state, call, token.expose())?
        }
        ("CloneSession", true) => {
            let ticket = call
                .params
                .get("cloneTicket")
                .and_then(Value::as_str)
                .ok_or_else(|| VimFault::from(CoreError::invalid("cloneTicket", "is required")))?;
            let (token, _) = state
                .core
                .auth
                .clone_session(state.origin(None), ticket)
                .map_err(invalid_login(
                    "the clone ticket is unknown, used or expired",
                ))?;
            logged_in(state, call, token.expose())?
        }
        ("currentSession", false) => match token(call) {
            None => unset().into(),
            Some(t) => match state.core.auth.resolve_session(state.origin(None), &t) {
                Ok((caller, view)) => ok(user_session(&caller, &view, call)).into(),
                Err(_) => unset().into(),
            },
        },
        _ => return Ok(None),
    };
    Ok(Some(r))
}

/// SessionManager calls that need a session.
fn session_method(
    state: &VimState,
    ctx: &Ctx<'_>,
    token: &str,
    name: &str,
) -> Result<Option<Reply>, VimFault> {
    Ok(Some(match name {
        "AcquireCloneTicket" => ok(json!(state
            .core
            .auth
            .acquire_clone_ticket(state.origin(None), token)?)),
        "Logout" => {
            state.core.auth.logout(state.origin(None), token)?;
            state.vim.end_session(&ctx.session_key);
            no_content()
        }
        "SessionIsActive" => {
            let key = ctx.req_str("sessionID")?;
            let user = ctx.req_str("userName")?;
            ok(json!(state.core.auth.session_is_active(
                &ctx.caller,
                key,
                user
            )?))
        }
        "TerminateSession" => {
            let keys: Vec<String> = match ctx.params.get("sessionId") {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect(),
                _ => {
                    return Err(
                        CoreError::invalid("sessionId", "must be an array of session keys").into(),
                    )
                }
            };
            state
                .core
                .auth
                .terminate_sessions(&ctx.caller, &ctx.session_key, &keys)?;
            for k in &keys {
                state.vim.end_session(k);
            }
            no_content()
        }
        _ => return Ok(None),
    }))
}

pub async fn dispatch(state: &VimState, call: Call) -> Result<Answer, VimFault> {
    let is_post = call.method == Method::POST;
    if !is_post && call.method != Method::GET {
        return Err(VimFault::invalid_request(format!(
            "{} is not a VI/JSON verb: properties are read with GET, methods called with POST",
            call.method
        )));
    }
    if !names::served(&call.mo_type) {
        return Err(CoreError::not_supported(format!(
            "{}.{} (the managed object type {} is not served)",
            call.mo_type, call.name, call.mo_type
        ))
        .into());
    }
    if let Some(r) = anonymous(state, &call, is_post).await? {
        return Ok(r);
    }
    let t = token(&call).ok_or(VimFault::from(CoreError::Unauthenticated))?;
    let (caller, view) = state.core.auth.resolve_session(state.origin(None), &t)?;
    let ctx = Ctx {
        state,
        caller,
        session_key: view.key,
        params: &call.params,
    };
    let mo = mo::resolve(&ctx, &call.mo_type, &call.mo_id).await?;
    let name = call.name.as_str();
    if is_post && call.mo_type == "SessionManager" {
        if let Some(r) = session_method(state, &ctx, &t, name)? {
            return Ok(r.into());
        }
    }
    if !names::defines(&call.mo_type, name) {
        return Err(if is_post {
            VimFault::method_not_found(&call.mo_type, &call.mo_id, name)
        } else {
            VimFault::new(
                "InvalidProperty",
                format!("{} has no property {name}", call.mo_type),
            )
            .with("name", json!(name))
        });
    }
    Ok(if is_post {
        methods::invoke(&ctx, &mo, name).await?
    } else {
        match read::get(&ctx, &mo, name).await? {
            Some(v) => ok(v),
            None => unset(),
        }
    }
    .into())
}
