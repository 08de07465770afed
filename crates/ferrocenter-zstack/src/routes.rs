//! The ZStack routes: sessions, zones, clusters, hosts, VMs (create, destroy, expunge) and jobs
//! (docs/api/zstack.md); any other path answers as ZStack answers a path it has no API for.
use axum::extract::FromRef;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::clusters::{self, Clusters};
use crate::hosts::Hosts;
use crate::state::ZstackState;
use crate::vms::Vms;
use crate::zones::{self, Zones};
use crate::{host_actions, jobs, listing, session, vm_actions};

/// The ZStack routes, for any router whose state hands out a [`ZstackState`].
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    ZstackState: FromRef<S>,
{
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
            get(listing::query::<Zones>).post(zones::create),
        )
        .route(
            "/zstack/v1/zones/{uuid}",
            get(listing::get::<Zones>).delete(zones::delete),
        )
        .route("/zstack/v1/zones/{uuid}/actions", put(zones::actions))
        .route(
            "/zstack/v1/clusters",
            get(listing::query::<Clusters>).post(clusters::create),
        )
        .route(
            "/zstack/v1/clusters/{uuid}",
            get(listing::get::<Clusters>).delete(clusters::delete),
        )
        .route("/zstack/v1/clusters/{uuid}/actions", put(clusters::actions))
        .route(
            "/zstack/v1/vm-instances",
            get(listing::query::<Vms>).post(vm_actions::create),
        )
        .route(
            "/zstack/v1/vm-instances/{uuid}",
            get(listing::get::<Vms>).delete(vm_actions::destroy),
        )
        .route(
            "/zstack/v1/vm-instances/{uuid}/actions",
            put(vm_actions::actions),
        )
        .route("/zstack/v1/hosts", get(listing::query::<Hosts>))
        .route("/zstack/v1/hosts/kvm", post(host_actions::add_kvm_host))
        .route(
            "/zstack/v1/hosts/kvm/{uuid}/actions",
            put(host_actions::kvm_actions),
        )
        .route(
            "/zstack/v1/hosts/{uuid}",
            get(listing::get::<Hosts>).delete(host_actions::delete),
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

/// ZStack puts session ids in paths (`/zstack/v1/accounts/sessions/{uuid}`); logs show the path
/// with that segment replaced. Other paths are returned as they are.
pub fn loggable_path(path: &str) -> String {
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
}
