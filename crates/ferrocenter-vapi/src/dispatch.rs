//! The registry's three front doors: JSON-RPC 2.0 on `POST /api` (the official SDK), REST
//! `/api/…` and REST `/rest/…` (curl users). Each decodes the operation's input from its own
//! form, runs the one handler, and encodes the output or the error in its own form.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, RawPathParams, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use ferrocenter_core::CoreError;
use serde_json::{json, Map, Value};

use base64::Engine;

use super::caller::{credentials, Credentials, RequestProof, SamlCredential, SESSION_HEADER};
use super::errors::{encode_error, Answer, ApiError, Reply};
use super::registry::{BodyAlias, Call, Catalog, Http, Op, Out, TaskVariant};
use super::tasks::external_id;
use super::types::{self, Form, Ty};
use super::wire::Flavor;
use crate::state::VapiState;
use ferrocenter_http::body::{body_bytes, json_body};
use ferrocenter_http::peer::{Local, Peer};

/// Runs the handler; a task-backed operation called plainly waits for its task. An input that
/// breaks a union rule is the caller's argument error; a reply that breaks one is a server bug,
/// answered as one rather than sent to a client that would reject it.
async fn run(op: &'static Op, call: Call) -> Result<Out, ApiError> {
    // A server awaiting its setup serves the deployment's operations only.
    call.state.core.admit_before_setup(op.service)?;
    let catalog = call.catalog;
    let unions: Vec<_> = catalog.union_rules().collect();
    types::check_input_unions(op.input, &call.input, &unions)?;
    let state = call.state.clone();
    let as_task = call.as_task;
    let out = match (op.handler)(call).await? {
        Out::Task(t) if !as_task => {
            let done = state.core.tasks.wait(&t.id).await?;
            match done.error {
                Some(e) => return Err(e.into()),
                None => Out::Value((op.result)(&done)),
            }
        }
        other => other,
    };
    if let Out::Value(v) = &out {
        if let Err(broken) = types::check_unions(&op.output, v, &unions) {
            tracing::error!(operation = %op.id(), %broken, "reply breaks a union rule");
            return Err(CoreError::internal(format!(
                "{} produced an invalid reply: {broken}",
                op.id()
            ))
            .into());
        }
    }
    Ok(out)
}

/// Who calls a non-public operation: an unauthenticated call ends here, before its input is
/// read, as vCenter answers 401 before looking at arguments.
async fn authenticate(
    state: &VapiState,
    op: &Op,
    creds: &Credentials,
) -> Result<Option<ferrocenter_core::auth::Caller>, ApiError> {
    if op.public {
        return Ok(None);
    }
    Ok(Some(super::caller::resolve(state, creds).await?))
}

/// The operation a name calls, with or without `$task`.
fn resolve(
    catalog: &'static Catalog,
    service: &str,
    operation: &str,
) -> Result<(&'static Op, bool), ApiError> {
    let (name, as_task) = match operation.strip_suffix("$task") {
        Some(n) => (n, true),
        None => (operation, false),
    };
    let not_found = || {
        if !std::ptr::eq(catalog, &super::catalog::MAIN)
            && super::catalog::MAIN.find(service, name).is_some()
        {
            return ApiError::Std {
                id: "operation_not_found",
                message: format!(
                    "{service}.{name} is served on the main listener, not on this one"
                ),
            };
        }
        super::services::appliance::planned::not_found(service, operation)
    };
    let op = catalog.find(service, name).ok_or_else(not_found)?;
    if op.task == TaskVariant::Also || !as_task {
        Ok((op, as_task))
    } else {
        Err(not_found())
    }
}

// ---- JSON-RPC

fn rpc_reply(body: Value) -> Response {
    // vAPI errors travel inside HTTP 200: the SDK raises on any other status before reading.
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn protocol_error(id: Value, code: i64, message: &str) -> Response {
    rpc_reply(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
}

/// The security context of a JSON-RPC call (`params.ctx.securityCtx` of `req`); the
/// `vmware-api-session-id` header overrides it, as the vAPI runtime's own server does.
fn rpc_credentials(
    headers: &HeaderMap,
    req: &Value,
    peer: Option<IpAddr>,
) -> Result<Credentials, ApiError> {
    if let Some(v) = headers.get(SESSION_HEADER) {
        let token = v.to_str().map_err(|_| CoreError::Unauthenticated)?;
        return Ok(Credentials::Session(token.trim().to_string()));
    }
    let Some(sec) = req
        .pointer("/params/ctx/securityCtx")
        .filter(|s| !s.is_null())
    else {
        return Ok(Credentials::None);
    };
    let text = |k: &str| sec.get(k).and_then(Value::as_str).map(str::to_string);
    match text("schemeId").as_deref() {
        Some("com.vmware.vapi.std.security.user_pass") => Ok(Credentials::Basic {
            user: text("userName").unwrap_or_default(),
            password: text("password").unwrap_or_default(),
            peer,
        }),
        Some("com.vmware.vapi.std.security.session_id") => {
            Ok(Credentials::Session(text("sessionId").unwrap_or_default()))
        }
        Some("com.vmware.vapi.std.security.saml_bearer_token") => {
            Ok(Credentials::Saml(Box::new(SamlCredential {
                token: text("samlToken").ok_or(CoreError::Unauthenticated)?,
                proof: None,
            })))
        }
        Some("com.vmware.vapi.std.security.saml_hok_token") => {
            Ok(Credentials::Saml(Box::new(signed_request(req, sec)?)))
        }
        _ => Err(ApiError::InvalidRequest(
            "ctx.securityCtx.schemeId is not a known security scheme".into(),
        )),
    }
}

/// A `saml_hok_token` context as the vAPI runtime's signer writes it: `signatureAlgorithm`,
/// `timestamp{created,expires}` and `signature{samlToken,value}`, where `value` signs the
/// whole request without `signature`. Anything missing or unreadable is unauthenticated.
fn signed_request(req: &Value, sec: &Value) -> Result<SamlCredential, CoreError> {
    let field = |v: &Value, path: &str| -> Result<String, CoreError> {
        v.pointer(path)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or(CoreError::Unauthenticated)
    };
    let time = |path: &str| -> Result<time::OffsetDateTime, CoreError> {
        time::OffsetDateTime::parse(
            &field(sec, path)?,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|_| CoreError::Unauthenticated)
    };
    let signature = base64::engine::general_purpose::STANDARD
        .decode(field(sec, "/signature/value")?.as_bytes())
        .map_err(|_| CoreError::Unauthenticated)?;
    let mut unsigned = req.clone();
    if let Some(Value::Object(ctx)) = unsigned.pointer_mut("/params/ctx/securityCtx") {
        ctx.remove("signature");
    }
    Ok(SamlCredential {
        token: field(sec, "/signature/samlToken")?,
        proof: Some(RequestProof {
            algorithm: field(sec, "/signatureAlgorithm")?,
            created: time("/timestamp/created")?,
            expires: time("/timestamp/expires")?,
            signature,
            unsigned,
        }),
    })
}

/// `POST /api` with `{"jsonrpc":"2.0","method":"invoke","params":{serviceId, operationId,
/// input, ctx},"id"}`.
pub async fn rpc(
    State(state): State<VapiState>,
    Peer(peer): Peer,
    Local(local): Local,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let bytes = match body_bytes(body, state.max_body_bytes) {
        Ok(b) => b,
        Err(e) => return protocol_error(Value::Null, -32600, &e.to_string()),
    };
    let req: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return protocol_error(Value::Null, -32700, "Parse error"),
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    if req.get("jsonrpc").and_then(Value::as_str) != Some("2.0") || !req.is_object() {
        return protocol_error(Value::Null, -32600, "Invalid Request");
    }
    if req.get("method").and_then(Value::as_str) != Some("invoke") {
        return protocol_error(id, -32601, "Method not found: only 'invoke' exists");
    }
    let params = req.get("params");
    let text = |k: &str| params.and_then(|p| p.get(k)).and_then(Value::as_str);
    let (Some(service), Some(operation)) = (text("serviceId"), text("operationId")) else {
        return protocol_error(
            id,
            -32602,
            "Invalid params: serviceId and operationId are required",
        );
    };
    for (h, v) in [("vapi-service", service), ("vapi-operation", operation)] {
        if let Some(hv) = headers.get(h) {
            if hv.to_str().ok() != Some(v) {
                return protocol_error(id, -31001, &format!("header {h} does not match the body"));
            }
        }
    }
    let result = async {
        let (op, as_task) = resolve(
            super::catalog::for_listener(state.listener),
            service,
            operation,
        )?;
        let creds = rpc_credentials(&headers, &req, peer)?;
        let authenticated = authenticate(&state, op, &creds).await?;
        let input = params
            .and_then(|p| p.get("input"))
            .and_then(|i| i.get("STRUCTURE"))
            .and_then(|s| s.get("operation-input"))
            .and_then(Value::as_object)
            .ok_or_else(|| {
                ApiError::InvalidRequest(
                    "params.input must be {\"STRUCTURE\":{\"operation-input\":{…}}}".into(),
                )
            })?;
        let input = types::decode_fields(op.input, input, Form::Rpc, "")?;
        let out = run(
            op,
            Call {
                state: state.clone(),
                creds,
                authenticated,
                input,
                as_task,
                peer,
                local,
                form: Form::Rpc,
                catalog: super::catalog::for_listener(state.listener),
                host: host_header(&headers),
            },
        )
        .await?;
        Ok::<_, ApiError>(match out {
            Out::Task(t) => json!(external_id(
                super::catalog::for_listener(state.listener),
                &t
            )),
            Out::Session(token) => types::encode(&op.output, &json!(token), Form::Rpc),
            Out::Value(v) => types::encode(&op.output, &v, Form::Rpc),
        })
    }
    .await;
    match result {
        Ok(output) => rpc_reply(json!({"jsonrpc": "2.0", "id": id, "result": {"output": output}})),
        Err(e) => {
            let mut r = rpc_reply(
                json!({"jsonrpc": "2.0", "id": id, "result": {"error": encode_error(&e)}}),
            );
            if let Ok(v) = HeaderValue::from_str(&e.mapped().id.to_ascii_uppercase()) {
                r.headers_mut().insert("vapi-error", v);
            }
            r
        }
    }
}

// ---- REST

/// The operations bound at one REST path, with the binding that put each there.
pub type PathOps = Arc<Vec<(&'static Op, Http)>>;

/// Every REST path of the registry under `prefix` (`/api` or `/rest`), with its operations.
pub fn rest_paths(catalog: &'static Catalog, flavor: Flavor) -> Vec<(String, PathOps)> {
    let mut by_path: Vec<(String, Vec<(&'static Op, Http)>)> = Vec::new();
    for op in catalog.all() {
        let (prefix, bindings) = match flavor {
            Flavor::Api => ("/api", op.api),
            Flavor::Rest => ("/rest", op.rest_bindings()),
        };
        for b in bindings {
            let path = format!("{prefix}{}", b.path);
            match by_path.iter_mut().find(|(p, _)| *p == path) {
                Some((_, ops)) => ops.push((op, *b)),
                None => by_path.push((path, vec![(op, *b)])),
            }
        }
    }
    by_path
        .into_iter()
        .map(|(p, ops)| (p, Arc::new(ops)))
        .collect()
}

fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// What a REST request carries besides its body.
struct RestParts<'a> {
    vars: &'a HashMap<String, String>,
    pairs: &'a [(String, String)],
    headers: &'a HeaderMap,
}

/// Reads the input of a REST call: path variables, then the query string (GET, DELETE) or the
/// JSON body (other methods).
fn rest_input(
    op: &'static Op,
    binding: &Http,
    form: Form,
    parts: RestParts<'_>,
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<Map<String, Value>, ApiError> {
    let RestParts {
        vars,
        pairs,
        headers,
    } = parts;
    let mut given = match binding.method {
        "GET" | "DELETE" => types::from_query(op.input, pairs, &["action", "~action", "vmw-task"])?,
        _ => {
            let body = json_body(headers, body, limit)?.map(|b| unalias(op, binding, b));
            match (binding.body, body) {
                (Some(p), Some(b)) => {
                    let mut m = Map::new();
                    m.insert(p.to_string(), b);
                    m
                }
                (_, None) => Map::new(),
                (None, Some(Value::Object(m))) => {
                    if let Some(k) = m
                        .keys()
                        .find(|k| !op.input.iter().any(|f| f.name == k.as_str()))
                    {
                        return Err(CoreError::invalid(
                            k.as_str(),
                            format!("is not a parameter of {}", op.id()),
                        )
                        .into());
                    }
                    m
                }
                (None, Some(_)) => {
                    return Err(CoreError::invalid(
                        "body",
                        "must be an object keyed by parameter name",
                    )
                    .into())
                }
            }
        }
    };
    for (name, value) in vars {
        let f = op
            .input
            .iter()
            .find(|f| f.name == name.as_str())
            .ok_or_else(|| ApiError::InvalidRequest(format!("unexpected path variable {name}")))?;
        given.insert(name.clone(), types::from_text(&f.ty, value, name)?);
    }
    Ok(types::decode_fields(op.input, &given, form, "")?)
}

/// Whether a parameter's structure (plain or optional) has a field of this name.
fn has_field(ty: &Ty, name: &str) -> bool {
    match ty {
        Ty::Optional(t) => has_field(t, name),
        Ty::Struct(def) => def.fields.iter().any(|f| f.name == name),
        _ => false,
    }
}

/// A REST body with the operation's documented aliases (`BodyAlias`) read as the SDK's shape.
fn unalias(op: &Op, binding: &Http, mut body: Value) -> Value {
    for alias in op.body_alias {
        match *alias {
            BodyAlias::Wrapped => {
                let Some(p) = binding.body else { continue };
                let own_field = op
                    .input
                    .iter()
                    .find(|f| f.name == p)
                    .is_some_and(|f| has_field(&f.ty, p));
                let inner = match &body {
                    Value::Object(m) if m.len() == 1 && !own_field => m.get(p).cloned(),
                    _ => None,
                };
                if let Some(inner) = inner {
                    body = inner;
                }
            }
            BodyAlias::Field {
                param,
                alias,
                field,
            } => {
                let target = match binding.body {
                    Some(p) if p == param => Some(&mut body),
                    Some(_) => None,
                    None => body.get_mut(param),
                };
                if let Some(Value::Object(m)) = target {
                    if !m.contains_key(field) {
                        if let Some(v) = m.remove(alias) {
                            m.insert(field.to_string(), v);
                        }
                    }
                }
            }
        }
    }
    body
}

/// A REST call at one of the registry's paths: the method and `?action=` pick the operation.
#[allow(clippy::too_many_arguments)]
pub async fn rest(
    flavor: Flavor,
    ops: PathOps,
    state: VapiState,
    method: Method,
    vars: HashMap<String, String>,
    pairs: Vec<(String, String)>,
    headers: HeaderMap,
    (peer, local): (Option<IpAddr>, Option<IpAddr>),
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // One operation per request: two different `action`s name no single one. (The same one
    // twice is what a client of the OpenAPI document sends for the operations whose path there
    // carries its `?action=` to keep it apart from its siblings.)
    let mut actions = pairs
        .iter()
        .filter(|(k, _)| k == "action" || k == "~action")
        .map(|(_, v)| v);
    if let Some(first) = actions.next() {
        if actions.any(|a| a != first) {
            return ApiError::Core(CoreError::invalid(
                "action",
                "is given more than once with different values",
            ))
            .render(flavor);
        }
    }
    let action = query_value(&pairs, "action").or_else(|| query_value(&pairs, "~action"));
    let Some((op, binding)) = ops
        .iter()
        .find(|(_, b)| b.method == method.as_str() && b.action == action)
        .copied()
    else {
        let path = ops.first().map(|(_, b)| b.path).unwrap_or("");
        return ApiError::OperationNotFound(format!(
            "{method} {path}{}",
            action.map(|a| format!("?action={a}")).unwrap_or_default()
        ))
        .render(flavor);
    };
    let vmw_task = query_value(&pairs, "vmw-task");
    let as_task = flavor == Flavor::Api && vmw_task == Some("true");
    let form = match flavor {
        Flavor::Api => Form::Native,
        Flavor::Rest => Form::Legacy,
    };
    let task_ok = op.task == TaskVariant::Also || !as_task;
    let result = async {
        if !task_ok {
            return Err(ApiError::OperationNotFound(format!(
                "{}$task (the operation has no task form)",
                op.id()
            )));
        }
        let creds = credentials(&headers, peer)?;
        let authenticated = authenticate(&state, op, &creds).await?;
        if let Some(v) = vmw_task.filter(|v| !matches!(*v, "true" | "false")) {
            return Err(CoreError::invalid(
                "vmw-task",
                format!(
                    "'{}' is neither true nor false",
                    v.chars().take(32).collect::<String>()
                ),
            )
            .into());
        }
        let parts = RestParts {
            vars: &vars,
            pairs: &pairs,
            headers: &headers,
        };
        let input = rest_input(op, &binding, form, parts, body, state.max_body_bytes)?;
        run(
            op,
            Call {
                state: state.clone(),
                creds,
                authenticated,
                input,
                as_task,
                peer,
                local,
                form,
                catalog: super::catalog::for_listener(state.listener),
                host: host_header(&headers),
            },
        )
        .await
    }
    .await;
    match result {
        Ok(Out::Session(token)) => session_created(flavor, &token, &headers),
        Ok(Out::Task(t)) => Answer {
            flavor,
            result: Ok(Reply::Value(
                StatusCode::ACCEPTED,
                json!(external_id(
                    super::catalog::for_listener(state.listener),
                    &t
                )),
            )),
        }
        .into_response(),
        Ok(Out::Value(v)) => Answer {
            flavor,
            result: Ok(match op.output {
                Ty::Void => Reply::Void,
                ref ty => Reply::Value(StatusCode::OK, types::encode(ty, &v, form)),
            }),
        }
        .into_response(),
        Err(e) => e.render(flavor),
    }
}

/// `/api` answers 201 with the token; `/rest` 200 `{"value":token}` and, unless the client
/// asks for header authentication, the session cookie.
fn session_created(flavor: Flavor, token: &str, headers: &HeaderMap) -> Response {
    match flavor {
        Flavor::Api => Answer {
            flavor,
            result: Ok(Reply::Value(StatusCode::CREATED, json!(token))),
        }
        .into_response(),
        Flavor::Rest => {
            let mut resp = Answer {
                flavor,
                result: Ok(Reply::Value(StatusCode::OK, json!(token))),
            }
            .into_response();
            if headers.get("vmware-use-header-authn").is_none() {
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "{SESSION_HEADER}={token}; Path=/rest; Secure; HttpOnly"
                )) {
                    resp.headers_mut().insert(header::SET_COOKIE, v);
                }
            }
            resp
        }
    }
}

/// An axum handler for one REST path, bound to the methods its operations declare (others get
/// the router's 405).
pub fn rest_handler<S>(
    flavor: Flavor,
    ops: PathOps,
    methods: &[Method],
) -> axum::routing::MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
    VapiState: axum::extract::FromRef<S>,
{
    let handler = move |State(state): State<VapiState>,
                        method: Method,
                        vars: RawPathParams,
                        Query(pairs): Query<Vec<(String, String)>>,
                        Peer(peer): Peer,
                        Local(local): Local,
                        headers: HeaderMap,
                        body: Result<Bytes, BytesRejection>| {
        let ops = ops.clone();
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        async move {
            rest(
                flavor,
                ops,
                state,
                method,
                vars,
                pairs,
                headers,
                (peer, local),
                body,
            )
            .await
        }
    };
    let mut router = axum::routing::MethodRouter::new();
    #[allow(
        clippy::expect_used,
        reason = "methods come from the operations' static declarations, all standard ones"
    )]
    for m in methods {
        let filter = axum::routing::MethodFilter::try_from(m.clone())
            .expect("declared methods are standard");
        router = router.on(filter, handler.clone());
    }
    router
}

/// The `Host` a request named, for answers that give the client a URL back on the same
/// listener (a support bundle's download).
fn host_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
