//! The routers of each listener, and the per-surface answers for unknown paths and methods.
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::Router;
use ferrocenter_http::logging::{log_request, Redact};

use ferrocenter_vapi::wire::Flavor;
use ferrocenter_vapi::{self as vapi, ApiError};
use ferrocenter_vim as vim;
use ferrocenter_zstack as zstack;

/// One listener's state: each binding's own, handed to its handlers through [`FromRef`], so
/// no binding sees another's.
#[derive(Clone)]
pub struct ListenerState {
    pub vapi: vapi::VapiState,
    pub vim: vim::VimState,
    pub zstack: zstack::ZstackState,
    pub lookup: ferrocenter_lookup::LookupState,
    pub sts: ferrocenter_saml::StsState,
    pub max_body_bytes: usize,
    pub diagnostics: bool,
    /// Set when `enable_metrics` is: requests are counted and `/metrics` is served.
    pub metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
}

impl FromRef<ListenerState> for vapi::VapiState {
    fn from_ref(s: &ListenerState) -> Self {
        s.vapi.clone()
    }
}

impl FromRef<ListenerState> for vim::VimState {
    fn from_ref(s: &ListenerState) -> Self {
        s.vim.clone()
    }
}

impl FromRef<ListenerState> for crate::operator::OperatorState {
    fn from_ref(s: &ListenerState) -> Self {
        crate::operator::OperatorState {
            core: s.vapi.core.clone(),
            metrics: s.metrics.clone(),
        }
    }
}

impl FromRef<ListenerState> for ferrocenter_lookup::LookupState {
    fn from_ref(s: &ListenerState) -> Self {
        s.lookup.clone()
    }
}

impl FromRef<ListenerState> for ferrocenter_saml::StsState {
    fn from_ref(s: &ListenerState) -> Self {
        s.sts.clone()
    }
}

impl FromRef<ListenerState> for zstack::ZstackState {
    fn from_ref(s: &ListenerState) -> Self {
        s.zstack.clone()
    }
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

/// An unknown `/api` or `/rest` path: an operation of the API not served yet is named as such.
fn vapi_not_found(method: &Method, uri: &Uri, flavor: Flavor) -> Response {
    let target = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    match vapi::planned_at(method.as_str(), target) {
        Some(id) => vapi::errors::not_served(&id).render(flavor),
        None => ApiError::OperationNotFound(format!("{method} {}", uri.path())).render(flavor),
    }
}

async fn unknown_path(method: Method, uri: Uri) -> Response {
    match surface(uri.path()) {
        Surface::Api => vapi_not_found(&method, &uri, Flavor::Api),
        Surface::Rest => vapi_not_found(&method, &uri, Flavor::Rest),
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

/// Reads every body before the handler (see `ferrocenter_http::body::bounded`): one over the
/// limit is drained, so the client reads the surface's refusal rather than a reset.
async fn bounded_body(
    State(limit): State<usize>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    match ferrocenter_http::body::bounded(req, limit).await {
        Ok(req) => next.run(req).await,
        Err(e) => plain(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

fn finish(router: Router<ListenerState>, state: ListenerState) -> Router {
    let limit = state.max_body_bytes;
    let metrics = state.metrics.clone();
    let router = router
        .fallback(unknown_path)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(crate::downloads::host_from_authority))
        .layer(middleware::from_fn_with_state(limit, bounded_body))
        .layer(middleware::from_fn_with_state(
            crate::downloads::loggable_path as Redact,
            log_request,
        ))
        // After the request log: probes every few seconds would drown it.
        .merge(crate::operator::routes(metrics.is_some()));
    let router = match metrics {
        Some(m) => router.layer(middleware::from_fn_with_state(
            m,
            crate::metrics::count_requests,
        )),
        None => router,
    };
    router.with_state(state)
}

/// `--listen` and `--http-listen`: `/api`, `/rest`, `/sdk`, `/zstack`, `/lookupservice`, `/sts`.
pub fn api_router(state: ListenerState) -> Router {
    finish(
        vapi::routes(state.diagnostics)
            .merge(vim::routes())
            .merge(zstack::routes())
            .merge(ferrocenter_lookup::routes())
            .merge(ferrocenter_saml::routes())
            .merge(crate::downloads::routes()),
        state,
    )
}

/// `--appliance-listen`: appliance management, authenticated with local accounts.
pub fn appliance_router(state: ListenerState) -> Router {
    finish(
        vapi::appliance_routes().merge(crate::downloads::routes()),
        state,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
