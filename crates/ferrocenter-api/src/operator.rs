//! The operator's endpoints on every listener, unauthenticated, as orchestrators and service
//! managers expect them: `GET /healthz` (the process answers), `GET /readyz` (the store answers
//! a trivial query and the task engine takes tasks; 503 naming what is not ready) and, when
//! `enable_metrics` is set, `GET /metrics` (Prometheus). None of them reveals a secret, a name
//! or an address: a status, the reasons for not being ready, and counts.
use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ferrocenter_core::Core;
use serde_json::json;

use crate::metrics::Metrics;

/// What the operator's endpoints read, taken from a listener's state.
#[derive(Clone)]
pub struct OperatorState {
    pub core: Arc<Core>,
    pub metrics: Option<Arc<Metrics>>,
}

async fn healthz() -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok").into_response()
}

async fn readyz(State(state): State<OperatorState>) -> Response {
    let r = state.core.readiness().await;
    let part = |p: &Result<(), String>| match p {
        Ok(()) => json!({"ready": true}),
        Err(e) => json!({"ready": false, "reason": e}),
    };
    let store = match &r.store {
        Ok(d) => json!({"ready": true, "seconds": d.as_secs_f64()}),
        Err(e) => json!({"ready": false, "reason": e}),
    };
    let body = json!({
        "ready": r.is_ready(),
        "store": store,
        "task_engine": part(&r.tasks),
    });
    let status = if r.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn metrics(State(state): State<OperatorState>) -> Response {
    match state.metrics {
        Some(m) => crate::metrics::serve(m, state.core).await,
        // Routed only when enabled; kept for a router built otherwise.
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The operator's routes; `/metrics` only when metrics are enabled.
pub fn routes<S>(metrics_enabled: bool) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    OperatorState: FromRef<S>,
{
    let r = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if metrics_enabled {
        r.route("/metrics", get(metrics))
    } else {
        r
    }
}
