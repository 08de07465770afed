//! ZStack (`/zstack/v1/…`): sessions, QueryHost, host actions, DeleteHost and jobs so far (docs/api/zstack.md); any other path
//! answers as ZStack answers a path it has no API for.
mod errors;
mod host_actions;
mod hosts;
mod jobs;
mod query;
mod render;
mod session;

pub use jobs::ZsState;

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/zstack/v1/accounts/login", put(session::login))
        .route(
            "/zstack/v1/accounts/sessions/{uuid}",
            delete(session::logout),
        )
        .route(
            "/zstack/v1/accounts/sessions/{uuid}/valid",
            get(session::validate),
        )
        .route("/zstack/v1/hosts", get(hosts::query_hosts))
        .route(
            "/zstack/v1/hosts/{uuid}",
            get(hosts::get_host).delete(host_actions::delete),
        )
        .route(
            "/zstack/v1/hosts/{uuid}/actions",
            put(host_actions::actions),
        )
        .route("/zstack/v1/api-jobs/{uuid}", get(jobs::poll))
}

/// ZStack's own answer for a path it has no API for: 404 and plain text.
pub async fn no_api_mapping(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("no api mapping to {}", uri.path()),
    )
        .into_response()
}
