//! ZStack (`/zstack/v1/…`): sessions, zones, clusters, hosts, read-only VMs and jobs
//! (docs/api/zstack.md); any other path
//! answers as ZStack answers a path it has no API for.
mod clusters;
mod errors;
mod host_actions;
mod hosts;
mod jobs;
mod listing;
mod params;
mod query;
mod render;
mod session;
mod vms;
mod zones;

pub use jobs::ZsState;

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;


use std::sync::Arc;

use ferrocenter_core::auth::Listener;
use ferrocenter_core::Core;

/// What every ZStack handler of one listener shares.
#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    pub listener: Listener,
    /// ZStack jobs that finished without a task (shared by every listener).
    pub zstack: Arc<ZsState>,
    /// Whether this listener speaks TLS (job locations name the scheme).
    pub tls: bool,
}

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
        .route(
            "/zstack/v1/accounts/sessions/{uuid}/renew",
            put(session::renew),
        )
        .route(
            "/zstack/v1/zones",
            get(zones::query_zones).post(zones::create),
        )
        .route(
            "/zstack/v1/zones/{uuid}",
            get(zones::get_zone).delete(zones::delete),
        )
        .route("/zstack/v1/zones/{uuid}/actions", put(zones::actions))
        .route(
            "/zstack/v1/clusters",
            get(clusters::query_clusters).post(clusters::create),
        )
        .route(
            "/zstack/v1/clusters/{uuid}",
            get(clusters::get_cluster).delete(clusters::delete),
        )
        .route("/zstack/v1/clusters/{uuid}/actions", put(clusters::actions))
        .route("/zstack/v1/vm-instances", get(vms::query_vms))
        .route("/zstack/v1/vm-instances/{uuid}", get(vms::get_vm))
        .route("/zstack/v1/hosts", get(hosts::query_hosts))
        .route("/zstack/v1/hosts/kvm", post(host_actions::add_kvm_host))
        .route(
            "/zstack/v1/hosts/kvm/{uuid}/actions",
            put(host_actions::kvm_actions),
        )
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
