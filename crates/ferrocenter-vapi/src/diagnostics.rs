//! `POST /api/ferrocenter/diagnostics/sleep`: a task that only sleeps (see core::diagnostics).
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use ferrocenter_core::diagnostics::SleepSpec;
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use super::caller::caller;
use super::errors::{Answer, ApiError, Reply};
use super::params::Params;
use super::tasks::external_id;
use super::wire::Flavor;
use crate::state::VapiState;
use ferrocenter_http::body::json_body;
use ferrocenter_http::peer::Peer;

async fn sleep(
    state: &VapiState,
    headers: &HeaderMap,
    peer: Peer,
    body: Result<Bytes, BytesRejection>,
) -> Result<Value, ApiError> {
    let caller = caller(state, headers, peer.0).await?;
    let body = json_body(headers, body, state.max_body_bytes)?.unwrap_or(json!({}));
    let p = Params::new(
        &body,
        &[
            "duration_ms",
            "target",
            "cancelable",
            "timeout_ms",
            "fail_message",
        ],
    )?;
    let spec = SleepSpec {
        duration_ms: p
            .u64("duration_ms")?
            .ok_or_else(|| CoreError::invalid("duration_ms", "is required"))?,
        target: p.string("target")?,
        cancelable: p.bool("cancelable")?.unwrap_or(true),
        timeout_ms: p.u64("timeout_ms")?,
        fail_message: p.string("fail_message")?,
    };
    let task = state.core.diagnostic_sleep(&caller, spec).await?;
    Ok(json!(external_id(
        super::catalog::for_listener(state.listener),
        &task
    )))
}

pub async fn api_sleep(
    State(state): State<VapiState>,
    peer: Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    Answer {
        flavor: Flavor::Api,
        result: sleep(&state, &headers, peer, body)
            .await
            .map(|v| Reply::Value(StatusCode::ACCEPTED, v)),
    }
}
