//! The vSphere Automation API binding: REST `/api` and `/rest`, and JSON-RPC on `POST /api`.
mod caller;
mod diagnostics;
pub mod errors;
mod jsonrpc;
mod params;
mod session;
mod tasks;
pub mod wire;

use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

pub use errors::ApiError;

/// Every vAPI route. Kept in one list so the coverage table and the authorization test can be
/// checked against it.
pub fn routes(diagnostics: bool) -> Router<AppState> {
    let r = Router::new()
        .route("/api", post(jsonrpc::invoke))
        .route(
            "/api/session",
            post(session::api_create)
                .get(session::api_get)
                .delete(session::api_delete),
        )
        .route("/api/cis/tasks", post(tasks::api_collection_post))
        .route(
            "/api/cis/tasks/{task}",
            get(tasks::api_get).post(tasks::api_item_post),
        )
        .route(
            "/rest/com/vmware/cis/session",
            post(session::rest_post).delete(session::rest_delete),
        )
        .route(
            "/rest/cis/tasks/{task}",
            get(tasks::rest_get).post(tasks::rest_item_post),
        );
    if diagnostics {
        r.route(
            "/api/ferrocenter/diagnostics/sleep",
            post(diagnostics::api_sleep),
        )
    } else {
        r
    }
}
