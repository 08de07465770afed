//! The routers of each listener, and the per-surface answers for unknown paths and methods.
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;

use ferrocenter_vapi::wire::Flavor;
use ferrocenter_vapi::{self as vapi, ApiError};
use ferrocenter_vim as vim;
use ferrocenter_zstack as zstack;

/// The state of every binding one listener serves.
#[derive(Clone)]
pub struct ListenerState {
    pub vapi: vapi::AppState,
    pub vim: vim::AppState,
    pub zstack: zstack::AppState,
    pub max_body_bytes: usize,
    pub diagnostics: bool,
}

/// The surface a path belongs to decides the shape of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Api,
    Rest,
    Sdk,
    Zstack,
    Other,
}

fn surface(path: &str) -> Surface {
    let under = |p: &str| path == p || path.starts_with(&format!("{p}/"));
    if under("/api") {
        Surface::Api
    } else if under("/rest") {
        Surface::Rest
    } else if under("/sdk") {
        Surface::Sdk
    } else if under("/zstack") {
        Surface::Zstack
    } else {
        Surface::Other
    }
}

fn plain(status: StatusCode, text: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn unknown_path(method: Method, uri: Uri) -> Response {
    let what = format!("{method} {}", uri.path());
    match surface(uri.path()) {
        Surface::Api => ApiError::OperationNotFound(what).render(Flavor::Api),
        Surface::Rest => ApiError::OperationNotFound(what).render(Flavor::Rest),
        Surface::Sdk => vim::not_supported(uri).await,
        Surface::Zstack => zstack::no_api_mapping(uri).await,
        Surface::Other => plain(
            StatusCode::NOT_FOUND,
            format!("no such path: {}", uri.path()),
        ),
    }
}

async fn wrong_method(method: Method, uri: Uri) -> Response {
    let what = format!("{method} {}", uri.path());
    match surface(uri.path()) {
        Surface::Api | Surface::Rest => {
            let flavor = if surface(uri.path()) == Surface::Api {
                Flavor::Api
            } else {
                Flavor::Rest
            };
            let mut r = ApiError::OperationNotFound(what).render(flavor);
            *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            r
        }
        Surface::Sdk => vim::fault(
            "MethodNotFound",
            &format!("{method} is not allowed on {}", uri.path()),
        ),
        Surface::Zstack => plain(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("the method {method} is not allowed on {}", uri.path()),
        ),
        Surface::Other => plain(StatusCode::METHOD_NOT_ALLOWED, what),
    }
}

/// ZStack puts session ids in paths (`/zstack/v1/accounts/sessions/{uuid}`); logs show the path
/// with that segment replaced.
fn loggable_path(path: &str) -> String {
    const SESSIONS: &str = "/zstack/v1/accounts/sessions/";
    match path.strip_prefix(SESSIONS) {
        Some(rest) => {
            let tail = rest
                .split_once('/')
                .map(|(_, t)| format!("/{t}"))
                .unwrap_or_default();
            format!("{SESSIONS}<session>{tail}")
        }
        None => path.to_string(),
    }
}

/// Logs each request's method, path (never the query: it may carry credentials; never a
/// session id), status and time taken.
async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = loggable_path(req.uri().path());
    let start = Instant::now();
    let resp = next.run(req).await;
    tracing::info!(
        %method,
        %path,
        status = resp.status().as_u16(),
        ms = start.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    resp
}

fn finish(router: Router, limit: usize) -> Router {
    router
        .fallback(unknown_path)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(log_request))
}

/// `--listen` and `--http-listen`: `/api`, `/rest`, `/sdk`, `/zstack`.
pub fn api_router(state: ListenerState) -> Router {
    finish(
        vapi::routes(state.diagnostics)
            .with_state(state.vapi)
            .merge(vim::routes().with_state(state.vim))
            .merge(zstack::routes().with_state(state.zstack)),
        state.max_body_bytes,
    )
}

/// `--appliance-listen`: appliance management, authenticated with local accounts.
pub fn appliance_router(state: ListenerState) -> Router {
    finish(
        vapi::routes(false).with_state(state.vapi),
        state.max_body_bytes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_in_paths_are_not_logged() {
        assert_eq!(
            loggable_path("/zstack/v1/accounts/sessions/0123abcd/valid"),
            "/zstack/v1/accounts/sessions/<session>/valid"
        );
        assert_eq!(
            loggable_path("/zstack/v1/accounts/sessions/0123abcd"),
            "/zstack/v1/accounts/sessions/<session>"
        );
        assert_eq!(loggable_path("/zstack/v1/hosts"), "/zstack/v1/hosts");
    }

    #[test]
    fn surfaces_by_prefix() {
        assert_eq!(surface("/api"), Surface::Api);
        assert_eq!(surface("/api/x"), Surface::Api);
        assert_eq!(surface("/apix"), Surface::Other);
        assert_eq!(surface("/rest/com"), Surface::Rest);
        assert_eq!(surface("/sdk/vim25/8.0.1.0/x"), Surface::Sdk);
        assert_eq!(surface("/zstack/v1/hosts"), Surface::Zstack);
    }
}
