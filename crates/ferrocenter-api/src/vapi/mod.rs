//! The vSphere Automation API binding: REST `/api` and `/rest`, and JSON-RPC on `POST /api`.
mod caller;
mod diagnostics;
pub mod errors;
mod jsonrpc;
mod params;
mod session;
mod tasks;
pub mod wire;

use axum::http::Method;
use axum::routing::{get, post, MethodRouter};
use axum::Router;

use crate::AppState;

pub use errors::ApiError;

/// Builds the router and, beside it, the table of (method, path) it serves, so tests and the
/// coverage documentation can be checked against what is really routed.
struct Routes {
    router: Router<AppState>,
    table: Vec<(Method, &'static str)>,
}

impl Routes {
    fn add(
        mut self,
        path: &'static str,
        methods: &[Method],
        handler: MethodRouter<AppState>,
    ) -> Self {
        self.router = self.router.route(path, handler);
        self.table.extend(methods.iter().map(|m| (m.clone(), path)));
        self
    }
}

fn build(diagnostics: bool) -> Routes {
    let r = Routes {
        router: Router::new(),
        table: Vec::new(),
    }
    .add("/api", &[Method::POST], post(jsonrpc::invoke))
    .add(
        "/api/session",
        &[Method::POST, Method::GET, Method::DELETE],
        post(session::api_create)
            .get(session::api_get)
            .delete(session::api_delete),
    )
    .add(
        "/api/cis/tasks",
        &[Method::POST],
        post(tasks::api_collection_post),
    )
    .add(
        "/api/cis/tasks/{task}",
        &[Method::GET, Method::POST],
        get(tasks::api_get).post(tasks::api_item_post),
    )
    .add(
        "/rest/com/vmware/cis/session",
        &[Method::POST, Method::DELETE],
        post(session::rest_post).delete(session::rest_delete),
    )
    .add(
        "/rest/cis/tasks/{task}",
        &[Method::GET, Method::POST],
        get(tasks::rest_get).post(tasks::rest_item_post),
    );
    if diagnostics {
        r.add(
            "/api/ferrocenter/diagnostics/sleep",
            &[Method::POST],
            post(diagnostics::api_sleep),
        )
    } else {
        r
    }
}

/// Every vAPI route.
pub fn routes(diagnostics: bool) -> Router<AppState> {
    build(diagnostics).router
}

/// The (method, path) pairs [`routes`] serves.
pub fn route_table(diagnostics: bool) -> Vec<(Method, &'static str)> {
    build(diagnostics).table
}
