//! Request logging for every listener: method, path, status and time taken. Never the query
//! (it may carry credentials), and never a session id: a binding that puts one in its paths
//! gives the rewrite that hides it.
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Rewrites a path for the log (hiding what must not be logged).
pub type Redact = fn(&str) -> String;

/// The middleware, for `axum::middleware::from_fn_with_state(redact, log_request)`.
pub async fn log_request(State(redact): State<Redact>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = redact(req.uri().path());
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
