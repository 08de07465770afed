//! The agent's HTTPS JSON API (`/api/v1`). Handlers parse, authenticate and call `Agent`.
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use ferrocenter_agent_client::wire::*;
use ferrocenter_http::peer::Peer;
use serde::de::DeserializeOwned;

use crate::agent::Agent;
use crate::driver::Resize;
use crate::error::{ApiError, ApiResult};

type S = State<Arc<Agent>>;

const MAX_BODY: usize = 1 << 20;

/// Parses a JSON body, naming the offending field on error.
fn parse<T: DeserializeOwned>(body: &Bytes) -> ApiResult<T> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let field = if path == "." {
            // "missing field `x`" names the field in the message.
            inner
                .split('`')
                .nth(1)
                .map(str::to_string)
                .unwrap_or_else(|| "body".into())
        } else {
            path
        };
        ApiError::invalid(&field, inner)
    })
}

fn caller(agent: &Agent, headers: &HeaderMap) -> ApiResult<String> {
    let token = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "no session"))?;
    agent.session_user(token)
}

/// Authenticated and awake: what most operations need.
fn ready(agent: &Agent, headers: &HeaderMap) -> ApiResult<String> {
    let user = caller(agent, headers)?;
    agent.check_awake()?;
    Ok(user)
}

fn ok<T: serde::Serialize>(v: T) -> Response {
    Json(v).into_response()
}

fn done(r: ApiResult<Response>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

fn force(q: &HashMap<String, String>) -> ApiResult<bool> {
    match q.get("force").map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::invalid("force", "must be true or false")),
    }
}

/// Runs a VM operation as a task of its own, so a caller that goes away mid-request does not
/// cut it short between the hypervisor's change and the agent recording it.
async fn detached<T, F>(f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = ApiResult<T>> + Send + 'static,
{
    tokio::spawn(f).await.unwrap_or_else(|e| {
        Err(ApiError::new(
            ErrorCode::Internal,
            format!("the operation stopped: {e}"),
        ))
    })
}

async fn about(State(a): S) -> Response {
    ok(a.about())
}

async fn login(State(a): S, Peer(peer): Peer, body: Bytes) -> Response {
    done((|| {
        let req: LoginRequest = parse(&body)?;
        Ok(ok(a.login(&req.user, &req.password, peer)?))
    })())
}

async fn logout(State(a): S, headers: HeaderMap) -> Response {
    done((|| {
        caller(&a, &headers)?;
        if let Some(t) = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
            a.logout(t);
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

async fn create_account(State(a): S, headers: HeaderMap, body: Bytes) -> Response {
    done((|| {
        let user = caller(&a, &headers)?;
        let req: CreateAccountRequest = parse(&body)?;
        Ok((StatusCode::CREATED, Json(a.create_account(&user, &req)?)).into_response())
    })())
}

async fn change_password(
    State(a): S,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    done((|| {
        let user = caller(&a, &headers)?;
        let req: ChangePasswordRequest = parse(&body)?;
        a.change_password(&user, &name, &req.password)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

async fn delete_account(State(a): S, Path(name): Path<String>, headers: HeaderMap) -> Response {
    done((|| {
        let user = caller(&a, &headers)?;
        a.delete_account(&user, &name)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

async fn get_claim(State(a): S, headers: HeaderMap) -> Response {
    done((|| {
        caller(&a, &headers)?;
        Ok(ok(a.current_claim()))
    })())
}

async fn claim(State(a): S, headers: HeaderMap, body: Bytes) -> Response {
    done((|| {
        ready(&a, &headers)?;
        let req: ClaimRequest = parse(&body)?;
        Ok(ok(a.claim(&req)?))
    })())
}

async fn release_claim(
    State(a): S,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    done((|| {
        ready(&a, &headers)?;
        let uuid = q
            .get("server_uuid")
            .ok_or_else(|| ApiError::invalid("server_uuid", "is required"))?;
        a.release_claim(uuid)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

async fn facts(State(a): S, headers: HeaderMap) -> Response {
    let r = async {
        ready(&a, &headers)?;
        Ok(ok(a.facts().await?))
    }
    .await;
    done(r)
}

async fn runtime(State(a): S, headers: HeaderMap) -> Response {
    // Served in standby too: it is how a server sees the host sleeping.
    done(caller(&a, &headers).map(|_| ok(a.runtime())))
}

async fn list_vms(State(a): S, headers: HeaderMap) -> Response {
    done(ready(&a, &headers).map(|_| ok(a.vms())))
}

async fn create_vm(State(a): S, headers: HeaderMap, body: Bytes) -> Response {
    let r = async {
        ready(&a, &headers)?;
        let spec: VmSpec = parse(&body)?;
        let vm = detached(async move { a.create_vm(spec).await }).await?;
        Ok((StatusCode::CREATED, Json(vm)).into_response())
    }
    .await;
    done(r)
}

async fn get_vm(State(a): S, Path(uuid): Path<String>, headers: HeaderMap) -> Response {
    done((|| {
        ready(&a, &headers)?;
        Ok(ok(a.vm(&uuid)?))
    })())
}

async fn delete_vm(State(a): S, Path(uuid): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        ready(&a, &headers)?;
        Ok(ok(
            detached(async move { a.unregister_vm(&uuid).await }).await?
        ))
    }
    .await;
    done(r)
}

async fn reconfigure_vm(
    State(a): S,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = async {
        ready(&a, &headers)?;
        let r: VmReconfigure = parse(&body)?;
        let resize = Resize {
            vcpus: r.vcpus,
            memory_bytes: r.memory_bytes,
        };
        Ok(ok(detached(async move {
            a.reconfigure_vm(&uuid, resize).await
        })
        .await?))
    }
    .await;
    done(r)
}

async fn power(State(a): S, Path(uuid): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let r = async {
        ready(&a, &headers)?;
        let req: PowerRequest = parse(&body)?;
        Ok(ok(detached(
            async move { a.power(&uuid, req.action).await },
        )
        .await?))
    }
    .await;
    done(r)
}

async fn migrate(
    State(a): S,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = async {
        ready(&a, &headers)?;
        let req: MigrateRequest = parse(&body)?;
        Ok(ok(a.migrate_out(&uuid, req).await?))
    }
    .await;
    done(r)
}

async fn migration_progress(State(a): S, Path(uuid): Path<String>, headers: HeaderMap) -> Response {
    done((|| {
        ready(&a, &headers)?;
        Ok(ok(a.migration_progress(&uuid)?))
    })())
}

async fn cancel_migration(State(a): S, Path(uuid): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        ready(&a, &headers)?;
        Ok(ok(
            detached(async move { a.cancel_migration(&uuid).await }).await?
        ))
    }
    .await;
    done(r)
}

async fn prepare_incoming(State(a): S, headers: HeaderMap, body: Bytes) -> Response {
    done((|| {
        ready(&a, &headers)?;
        let req: PrepareIncoming = parse(&body)?;
        Ok((StatusCode::CREATED, Json(a.prepare_incoming(req.vm)?)).into_response())
    })())
}

async fn incoming_step(
    State(a): S,
    Path((id, step)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let r = async {
        a.check_awake()?;
        let req: TicketRequest = parse(&body)?;
        Ok(ok(detached(async move {
            a.incoming_step(&id, &step, &req).await
        })
        .await?))
    }
    .await;
    done(r)
}

async fn set_flag(
    State(a): S,
    Path(flag): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = async {
        ready(&a, &headers)?;
        match flag.as_str() {
            "maintenance" => Ok(ok(a
                .set_maintenance(parse::<FlagRequest>(&body)?.enabled)
                .await)),
            "quarantine" => Ok(ok(a.set_quarantine(parse::<FlagRequest>(&body)?.enabled))),
            "lockdown" => Ok(ok(a.set_lockdown(parse::<LockdownRequest>(&body)?.mode))),
            "name" => Ok(ok(a
                .rename(&parse::<RenameRequest>(&body)?.hostname)
                .await?)),
            other => Err(ApiError::not_found("host setting", other)),
        }
    }
    .await;
    done(r)
}

async fn reboot(
    State(a): S,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    done((|| {
        ready(&a, &headers)?;
        a.reboot(force(&q)?)?;
        Ok(StatusCode::ACCEPTED.into_response())
    })())
}

async fn shutdown(
    State(a): S,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    done((|| {
        ready(&a, &headers)?;
        a.shutdown(force(&q)?)?;
        Ok(StatusCode::ACCEPTED.into_response())
    })())
}

async fn standby(State(a): S, headers: HeaderMap, body: Bytes) -> Response {
    done((|| {
        caller(&a, &headers)?;
        let req: StandbyRequest = parse(&body)?;
        Ok(ok(a.standby(req.action)?))
    })())
}

async fn uptime(State(a): S, headers: HeaderMap) -> Response {
    done(ready(&a, &headers).map(|_| ok(a.uptime())))
}

/// The `since` query parameter of the event reads (0 when absent).
fn since(q: &HashMap<String, String>) -> Result<u64, ApiError> {
    match q.get("since") {
        None => Ok(0),
        Some(s) => s
            .parse()
            .map_err(|_| ApiError::invalid("since", "must be a non-negative integer")),
    }
}

async fn events(
    State(a): S,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    done((|| {
        caller(&a, &headers)?;
        Ok(ok(a.events(since(&q)?)))
    })())
}

/// The runtime and the events in one answer: a server's heartbeat. Served in standby too, as
/// the runtime is.
async fn heartbeat(
    State(a): S,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    done((|| {
        caller(&a, &headers)?;
        let since = since(&q)?;
        Ok(ok(Heartbeat {
            runtime: a.runtime(),
            events: a.events(since),
        }))
    })())
}

async fn unknown() -> Response {
    ApiError::new(ErrorCode::NotFound, "no such agent endpoint").into_response()
}

async fn wrong_method() -> Response {
    let mut r = ApiError::new(
        ErrorCode::NotSupported,
        "method not allowed on this endpoint",
    )
    .into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}

/// Reads every body before the handler: one over `MAX_BODY` is drained and refused (413, as
/// an ApiError naming `body`), so the client reads the answer rather than a reset.
async fn bounded_body(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    match ferrocenter_http::body::read_limited(body, MAX_BODY).await {
        Ok(b) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(b)))
                .await
        }
        Err(e) => {
            let too_large = matches!(e, ferrocenter_http::body::BodyError::TooLarge { .. });
            let mut r = ApiError::invalid("body", e).into_response();
            if too_large {
                *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            }
            r
        }
    }
}

/// The "answer slowly" fault.
async fn slow(State(a): S, req: Request, next: Next) -> Response {
    let ms = a.faults.slow_ms.load(Ordering::Relaxed);
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    next.run(req).await
}

pub fn router(agent: Arc<Agent>) -> Router {
    Router::new()
        .route("/api/v1/about", get(about))
        .route("/api/v1/session", post(login).delete(logout))
        .route("/api/v1/accounts", post(create_account))
        .route("/api/v1/accounts/{name}", delete(delete_account))
        .route("/api/v1/accounts/{name}/password", put(change_password))
        .route(
            "/api/v1/claim",
            get(get_claim).post(claim).delete(release_claim),
        )
        .route("/api/v1/facts", get(facts))
        .route("/api/v1/runtime", get(runtime))
        .route("/api/v1/vms", get(list_vms).post(create_vm))
        .route(
            "/api/v1/vms/{uuid}",
            get(get_vm).delete(delete_vm).patch(reconfigure_vm),
        )
        .route("/api/v1/vms/{uuid}/power", post(power))
        .route("/api/v1/vms/{uuid}/migrate", post(migrate))
        .route(
            "/api/v1/vms/{uuid}/migration",
            get(migration_progress).delete(cancel_migration),
        )
        .route("/api/v1/migrations", post(prepare_incoming))
        .route("/api/v1/migrations/{id}/{step}", post(incoming_step))
        .route("/api/v1/host/{flag}", put(set_flag))
        .route("/api/v1/host/reboot", post(reboot))
        .route("/api/v1/host/shutdown", post(shutdown))
        .route("/api/v1/host/standby", post(standby))
        .route("/api/v1/host/uptime", get(uptime))
        .route("/api/v1/events", get(events))
        .route("/api/v1/heartbeat", get(heartbeat))
        .fallback(unknown)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(bounded_body))
        .layer(middleware::from_fn_with_state(agent.clone(), slow))
        .with_state(agent)
}
